// xsd --persist SIGKILLed while a journal compaction runs on its thread (the
// snapshot being written, records going to journal.next): after each restart
// every acknowledged write is there. A kill counts as landing during the
// compaction when journal.next is still on disk afterwards (the compaction
// renames it over the journal as its last step).
#include <signal.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/plain.h"

namespace txend::xsd {
namespace {

constexpr int kKeys = 400;
constexpr int kAttempts = 10;
constexpr int kKillsWanted = 3;
const std::string kPadding(3500, 'p');  // the journal passes 4 MiB after ~1200 writes

std::string Key(int i) { return "/compact/k" + std::to_string(i); }

TEST(CompactionKill, AcknowledgedWritesSurviveAKillDuringABackgroundCompaction) {
  testing::TempDir dir;
  std::string sock = dir / "socket", db = dir / "db";
  std::map<std::string, std::string> acked;
  uint64_t version = 0;
  int kills_during = 0, attempts = 0;
  for (; attempts < kAttempts && kills_during < kKillsWanted; ++attempts) {
    auto xsd = testing::StartXsd(sock, {"--persist", db});
    ASSERT_TRUE(xsd.ok()) << xsd.status().ToString();
    auto conn = xs::Connection::Open(sock);
    ASSERT_TRUE(conn.ok());
    for (const auto& [key, value] : acked)
      ASSERT_EQ(xs::PlainRead(**conn, key).value_or("(absent)"), value)
          << "an acknowledged write was lost across kill " << attempts;
    // Write until a compaction runs (after a restart that found journal.next,
    // one starts at once), then a few more: those records go to journal.next.
    bool running = false;
    for (int n = 0; n < 5000 && !running; ++n) {
      std::string key = Key(static_cast<int>(version % kKeys));
      std::string value = std::to_string(++version) + ":" + kPadding;
      ASSERT_TRUE(xs::PlainWrite(**conn, key, value).ok());
      acked[key] = value;
      running = testing::XsdStat(**conn, "compacting") == 1;
    }
    ASSERT_TRUE(running) << "no compaction started";
    for (int n = 0; n < 5; ++n) {
      std::string key = Key(static_cast<int>(version % kKeys));
      std::string value = std::to_string(++version) + ":" + kPadding;
      ASSERT_TRUE(xs::PlainWrite(**conn, key, value).ok());
      acked[key] = value;
    }
    (*xsd)->Stop(SIGKILL);
    if (std::filesystem::exists(db + "/journal.next")) ++kills_during;
  }
  auto xsd = testing::StartXsd(sock, {"--persist", db});
  ASSERT_TRUE(xsd.ok()) << xsd.status().ToString();
  auto conn = xs::Connection::Open(sock);
  ASSERT_TRUE(conn.ok());
  int lost = 0;
  for (const auto& [key, value] : acked)
    if (xs::PlainRead(**conn, key).value_or("(absent)") != value) ++lost;
  EXPECT_EQ(lost, 0) << "acknowledged writes lost";
  EXPECT_GE(kills_during, 1) << "no kill landed during a compaction in " << attempts;
  printf(
      "compaction kills: %d of %d SIGKILLs landed during a background compaction; %llu writes "
      "acknowledged, %d lost\n",
      kills_during, attempts, static_cast<unsigned long long>(version), lost);
}

}  // namespace
}  // namespace txend::xsd
