// xsd --persist on a filesystem that fills up (a small tmpfs). A dom0 client
// rewrites keys, by plain writes and by transactions, while the disk fills,
// while it is full (a compaction is due and cannot be written) and after the
// space came back; then xsd is SIGKILLed and restarted. Proven: every
// acknowledged write is found after the restart, no refused one is; refusals
// are ENOSPC; reads go on meanwhile; xsd stays up, says it is degraded (log
// and stats) and that it recovered.
#include <signal.h>

#include <cstdio>
#include <map>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/small_filesystem.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/plain.h"
#include "toolstack/xs/transaction.h"

namespace txend::xsd {
namespace {

// Room for the journal, the records appended while a background compaction
// writes the snapshot, and the snapshot; it is filled up to 3 MiB below.
constexpr size_t kDisk = 12u << 20;
constexpr int kKeys = 300;
const std::string kPadding(3500, 'p');  // big values: few writes fill the disk

std::string Key(int i) { return "/data/k" + std::to_string(i); }
std::string Value(int i, uint64_t version) {
  return std::to_string(version) + ":" + std::to_string(i) + ":" + kPadding;
}

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fs = testing::SmallFilesystem::Mount(kDisk);
    if (!fs.ok()) GTEST_SKIP() << "no small filesystem to fill: " << fs.status().ToString();
    disk_ = std::move(*fs);
    Start();
  }

  void Start() {
    // xsd's stderr (its log) goes to a file the test reads.
    auto d = testing::DaemonProcess::Start(
        {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>>\"$XSD_LOG\"", testing::BinPath("xsd"),
         "--no-fork", "--socket", sock(), "--persist", *disk_ / "db"},
        sock(), {"XSD_LOG=" + log()});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
    auto c = xs::Connection::Open(sock());
    ASSERT_TRUE(c.ok());
    conn_ = std::move(*c);
  }

  std::string sock() const { return dir_ / "socket"; }
  std::string log() const { return dir_ / "xsd.log"; }

  // One write of key `i` at `version`, alternately plain and in a transaction
  // that also rewrites its neighbour (so both change or neither). Records
  // what was acknowledged; returns the error name of a refusal, "" if acked.
  std::string Rewrite(int i, uint64_t version) {
    Status st;
    if (version % 2 == 0) {
      st = xs::PlainWrite(*conn_, Key(i), Value(i, version));
    } else {
      int j = (i + 1) % kKeys;
      st = xs::RunTransaction(*conn_, [&](xs::Transaction& tx) {
        TXEND_RETURN_IF_ERROR(tx.Write(Key(i), Value(i, version)));
        return tx.Write(Key(j), Value(j, version));
      });
      if (st.ok()) acked_[j] = version;
    }
    if (st.ok()) {
      acked_[i] = version;
      ++acknowledged_;
      return "";
    }
    ++refused_;
    return ErrnoName(st.code());
  }

  // Keys whose value is not the last acknowledged one.
  int Mismatches(xs::Connection& conn) {
    int bad = 0;
    for (auto [i, version] : acked_)
      if (xs::PlainRead(conn, Key(i)).value_or("?") != Value(i, version)) ++bad;
    return bad;
  }

  uint64_t Stat(const std::string& name) { return testing::XsdStat(*conn_, name); }

  testing::TempDir dir_;
  std::unique_ptr<testing::SmallFilesystem> disk_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
  std::unique_ptr<xs::Connection> conn_;
  std::map<int, uint64_t> acked_;
  uint64_t acknowledged_ = 0, refused_ = 0;
};

TEST_F(DiskFull, AcknowledgedWritesSurviveAndRefusedOnesLeaveNoTrace) {
  uint64_t version = 1;
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(Rewrite(i, version), "");

  // Leave room for the journal to pass 4 MiB (a compaction is then due) but
  // not for the snapshot that compaction writes. The compaction runs on a
  // thread: go on until its failure was logged, not only until 50 refusals.
  disk_->Fill(3u << 20);
  std::map<std::string, int> refusals;
  auto compaction_failed = [&] {
    return testing::ReadFile(log()).find("cannot compact the journal") != std::string::npos;
  };
  std::string err;
  for (int round = 0;
       refusals.size() < 1 || refusals.begin()->second < 50 || !compaction_failed() || err.empty();
       ++round) {
    ASSERT_LT(round, 5000) << "the disk never filled up, or its compaction never failed: "
                           << testing::ReadFile(log());
    err = Rewrite(round % kKeys, ++version);
    if (!err.empty()) ++refusals[err];
  }
  EXPECT_EQ(refusals.size(), 1u) << "refusals other than ENOSPC";
  EXPECT_EQ(refusals.count("ENOSPC"), 1u);
  EXPECT_EQ(Stat("persistence_degraded"), 1u);
  EXPECT_GT(Stat("journal_write_errors"), 0u);
  EXPECT_EQ(Mismatches(*conn_), 0) << "reads while full do not show the acknowledged state";
  uint64_t acked_while_filling = acknowledged_;

  disk_->Unfill();
  uint64_t compactions_before = Stat("compactions");
  for (int n = 0; n < 2 * kKeys; ++n) ASSERT_EQ(Rewrite(n % kKeys, ++version), "");
  EXPECT_EQ(Stat("persistence_degraded"), 0u);
  EXPECT_TRUE(testing::Eventually(std::chrono::seconds(10), [&] {
    return Stat("compactions") > compactions_before;
  })) << "the compaction was not retried";
  EXPECT_TRUE(xsd_->Running());

  conn_.reset();
  xsd_->Stop(SIGKILL);
  Start();
  int lost = Mismatches(*conn_);
  EXPECT_EQ(lost, 0) << "acknowledged writes lost across the restart";
  std::string log_text = testing::ReadFile(log());
  EXPECT_NE(log_text.find("persistence degraded: ENOSPC"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("persistence recovered"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("cannot compact the journal"), std::string::npos) << log_text;
  printf(
      "disk-full: %llu writes acknowledged (%llu before space came back), %llu refused "
      "(ENOSPC), %zu keys checked after SIGKILL + restart, %d lost\n",
      static_cast<unsigned long long>(acknowledged_),
      static_cast<unsigned long long>(acked_while_filling),
      static_cast<unsigned long long>(refused_), acked_.size(), lost);
}

// A pid file the full disk cannot take: xsd does not start, and says why (it used to run with
// an empty pid file, which no script or service manager could use), leaving no file behind.
TEST_F(DiskFull, APidFileThatCannotBeWrittenStopsTheStart) {
  disk_->Fill();
  const std::string pid_file = *disk_ / "xsd.pid";
  auto run = testing::RunCommand(testing::BinPath("xsd") + " --socket " + (dir_ / "other") +
                                     " --pid-file " + pid_file + " 2>&1",
                                 false);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("cannot write the pid file " + pid_file + ": No space left on device"),
            std::string::npos)
      << run.out;
  EXPECT_EQ(testing::ReadFile(pid_file), "");
  EXPECT_EQ(testing::ReadFile(pid_file + ".tmp"), "");
}

}  // namespace
}  // namespace txend::xsd
