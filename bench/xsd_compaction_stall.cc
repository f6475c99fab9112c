#include "bench/xsd_compaction_stall.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "wire/wire.h"
#include "xsd/journal.h"
#include "xsd/xenstore.h"

namespace txend::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kPerDirectory = 1000;
constexpr size_t kChurnKeys = 64;
constexpr size_t kMinCompactions = 2;
// Turns are paced (a busy xsd, not a loop that never waits): 2000 writes of
// 16 KiB a second, 32 MB/s of journal, a compaction every half second or so.
constexpr auto kTurnInterval = std::chrono::microseconds(500);

void Write(xsd::Xenstore& store, xsd::ConnId conn, const std::string& path,
           const std::string& value) {
  std::string payload = path + '\0' + value;
  wire::Message m{
      {static_cast<uint32_t>(wire::MsgType::kWrite), 1, 0, static_cast<uint32_t>(payload.size())},
      std::move(payload)};
  xsd::Outbox out;
  store.Handle(conn, m, out);
}

void SyncOrExit(xsd::Xenstore& store) {
  if (Status st = store.Sync(); !st.ok()) {
    std::cerr << "compaction bench: " << st.ToString() << "\n";
    std::exit(4);
  }
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

TurnTimes Summary(std::vector<double>& times) {
  TurnTimes t;
  t.turns = times.size();
  if (times.empty()) return t;
  std::sort(times.begin(), times.end());
  t.p99_us = times[times.size() * 99 / 100];
  t.max_us = times.back();
  return t;
}

// Fills the store, in group commits of 256 writes, and lets any compaction
// the filling started finish.
void Fill(xsd::Xenstore& store, xsd::ConnId conn, size_t nodes) {
  for (size_t i = 0; i < nodes; ++i) {
    Write(store, conn,
          "/bench/d" + std::to_string(i / kPerDirectory) + "/k" + std::to_string(i % kPerDirectory),
          "value-16-bytes!!");
    if (i % 256 == 255) SyncOrExit(store);
  }
  for (auto end = Clock::now() + std::chrono::seconds(60);
       store.compacting() && Clock::now() < end;)
    SyncOrExit(store);
}

}  // namespace

CompactionStall MeasureCompactionStall(const std::string& dir, size_t nodes, double seconds) {
  xsd::Tree tree;
  auto journal = xsd::Journal::Open(dir + "/db", tree);
  if (!journal.ok()) {
    std::cerr << "compaction bench: " << journal.status().ToString() << "\n";
    std::exit(4);
  }
  xsd::Xenstore store(xsd::Quota{}, std::move(*journal), std::move(tree));
  xsd::ConnId conn = store.Connect(0);
  Fill(store, conn, nodes);
  CompactionStall result;
  result.nodes = store.tree().node_count();

  std::vector<double> during, outside;
  during.reserve(1 << 16);
  outside.reserve(1 << 16);
  std::string value(16 << 10, 'v');
  uint64_t compactions_before = store.stats().compactions;
  auto start = Clock::now();
  auto min_end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto max_end = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(std::max(20 * seconds, 30.0)));
  auto next_turn = start;
  for (size_t i = 0;; ++i) {
    next_turn += kTurnInterval;
    std::this_thread::sleep_until(next_turn);
    auto now = Clock::now();
    size_t done = store.stats().compactions - compactions_before;
    if (now >= max_end || (now >= min_end && done >= kMinCompactions)) break;
    bool compacting = store.compacting();
    uint64_t booked = store.stats().compactions;
    auto turn = Clock::now();
    Write(store, conn, "/bench/churn/c" + std::to_string(i % kChurnKeys), value);
    SyncOrExit(store);
    double us = Micros(Clock::now() - turn);
    compacting = compacting || store.compacting() || store.stats().compactions != booked;
    (compacting ? during : outside).push_back(us);
  }
  result.compactions = store.stats().compactions - compactions_before;
  result.during = Summary(during);
  result.outside = Summary(outside);

  // What the loop used to spend: the same store compacted synchronously.
  xsd::Tree empty;
  auto sync = xsd::Journal::Open(dir + "/synchronous", empty);
  if (sync.ok()) {
    auto begin = Clock::now();
    if ((*sync)->Compact(store.tree()).ok())
      result.synchronous_ms = Micros(Clock::now() - begin) / 1000;
    result.snapshot_bytes = std::filesystem::file_size(dir + "/synchronous/snapshot");
  }
  return result;
}

}  // namespace txend::bench
