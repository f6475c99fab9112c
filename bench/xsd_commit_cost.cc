#include "bench/xsd_commit_cost.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "wire/wire.h"
#include "xsd/xenstore.h"

namespace txend::bench {
namespace {

using Clock = std::chrono::steady_clock;
using wire::MsgType;

constexpr size_t kDirsPerDomain = 10;  // /local/domain/<d>/d<j>/k<k>: 1 + 10 + 90 nodes
constexpr size_t kKeysPerDir = 9;

// One request through the handler; the reply's payload (exits on an error reply).
std::string Request(xsd::Xenstore& store, xsd::ConnId conn, MsgType type, uint32_t tx,
                    std::string payload) {
  wire::Message m{{static_cast<uint32_t>(type), 1, tx, static_cast<uint32_t>(payload.size())},
                  std::move(payload)};
  xsd::Outbox out;
  store.Handle(conn, m, out);
  if (out.messages.empty()) std::exit(4);
  const std::string& reply = out.messages.front().second;
  wire::Header h;
  std::copy_n(reply.data(), sizeof h, reinterpret_cast<char*>(&h));
  if (h.type == static_cast<uint32_t>(MsgType::kError)) {
    std::cerr << "xsd refused a bench request: " << reply.substr(sizeof h) << "\n";
    std::exit(4);
  }
  return reply.substr(sizeof h);
}

void Write(xsd::Xenstore& store, xsd::ConnId conn, uint32_t tx, const std::string& path) {
  Request(store, conn, MsgType::kWrite, tx, path + '\0' + "value-16-bytes!!");
}

std::string DomainKey(size_t domain, size_t dir, size_t key) {
  return "/local/domain/" + std::to_string(domain + 1) + "/d" + std::to_string(dir) + "/k" +
         std::to_string(key);
}

std::string FlatKey(size_t i) { return "/bench/flat/e" + std::to_string(i); }

// The node the i-th commit writes: every domain in turn, or the flat entries in turn.
std::string Target(const StoreShape& shape, size_t i) {
  if (shape.domains == 0) return FlatKey((i * 7919) % shape.flat_entries);
  return DomainKey(i % shape.domains, (i / shape.domains) % kDirsPerDomain, 0);
}

void Fill(xsd::Xenstore& store, xsd::ConnId conn, const StoreShape& shape) {
  for (size_t d = 0; d < shape.domains; ++d)
    for (size_t j = 0; j < kDirsPerDomain; ++j)
      for (size_t k = 0; k < kKeysPerDir; ++k) Write(store, conn, 0, DomainKey(d, j, k));
  for (size_t i = 0; i < shape.flat_entries; ++i) Write(store, conn, 0, FlatKey(i));
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Times one-node commits for `seconds`: to a different node each time (`cycle`)
// or to the same one; `times` is scratch space reserved by the caller.
CommitTimes Commits(xsd::Xenstore& store, xsd::ConnId conn, const StoreShape& shape, double seconds,
                    bool cycle, std::vector<double>& times) {
  times.clear();
  auto end = Clock::now() +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (size_t i = 0; Clock::now() < end && times.size() < times.capacity(); ++i) {
    std::string target = Target(shape, cycle ? i : 0);
    auto start = Clock::now();
    std::string id = Request(store, conn, MsgType::kTransactionStart, 0, std::string(1, '\0'));
    uint32_t tx = static_cast<uint32_t>(std::stoul(id));
    Write(store, conn, tx, target);
    Request(store, conn, MsgType::kTransactionEnd, tx, std::string("T\0", 2));
    times.push_back(Micros(Clock::now() - start));
  }
  std::sort(times.begin(), times.end());
  return {times.size(), times[times.size() / 2], times[times.size() * 99 / 100]};
}

}  // namespace

CommitCost MeasureCommitCost(const StoreShape& shape, double seconds) {
  xsd::Xenstore store(xsd::Quota{});
  xsd::ConnId conn = store.Connect(0);
  CommitCost cost;
  std::vector<double> times;
  times.reserve(1 << 20);  // no large allocation (and heap consolidation) between timed commits
  auto built = Clock::now();
  Fill(store, conn, shape);
  cost.build_seconds = std::chrono::duration<double>(Clock::now() - built).count();
  cost.nodes = store.tree().node_count();
  cost.cycling = Commits(store, conn, shape, seconds / 2, true, times);
  cost.repeated = Commits(store, conn, shape, seconds / 2, false, times);
  return cost;
}

}  // namespace txend::bench
