// xsd_bench: round trips per second against xsd over its unix socket, for
// READ, WRITE and a transaction commit (START + WRITE + END), with 1 and 8
// client connections — each beside a floor measured in the same run: an echo
// server on a unix socket that answers every message with the same bytes, so
// the ratio shows what xsd costs above the socket round trip itself. Also xsd's
// CPU time (user + sys) per request over the whole run, which a busy machine
// disturbs far less than throughput. Then the cost of a one-node commit in
// process (bench/xsd_commit_cost.h) in stores of growing size and with one
// large directory, as ratios to the smallest store measured in the same run.
// Last, the loop's longest turn while the journal compacts a store of 100k
// nodes against its longest turn without a compaction (bench/xsd_compaction_stall.h).
//
//   xsd_bench [--xsd PATH] [--seconds S] [--markdown FILE]
//             [--commit-domains 10,1000,10000] [--flat-entries 100000]
//             [--compaction-nodes 100000]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "base/numbers.h"
#include "base/unique_fd.h"
#include "bench/xsd_commit_cost.h"
#include "bench/xsd_compaction_stall.h"
#include "wire/wire.h"

namespace {

using namespace std::string_literals;
using txend::UniqueFd;
using txend::wire::MsgType;
using Clock = std::chrono::steady_clock;

UniqueFd Dial(const std::string& path) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    fd.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::cerr << "cannot connect to " << path << "\n";
  exit(1);
}

// Sends one message and reads one whole reply; returns the reply payload.
std::string RoundTrip(int fd, MsgType type, uint32_t tx, const std::string& payload) {
  std::string req = txend::wire::Encode(type, 1, tx, payload);
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) exit(2);
  txend::wire::Header h;
  size_t got = 0;
  while (got < sizeof h) {
    ssize_t n = read(fd, reinterpret_cast<char*>(&h) + got, sizeof h - got);
    if (n <= 0) exit(3);
    got += static_cast<size_t>(n);
  }
  std::string body(h.len, '\0');
  for (got = 0; got < h.len;) {
    ssize_t n = read(fd, body.data() + got, h.len - got);
    if (n <= 0) exit(3);
    got += static_cast<size_t>(n);
  }
  return body;
}

// The floor: a single-threaded epoll server echoing every byte it reads.
void RunEchoServer(const std::string& path) {
  UniqueFd lfd(socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  unlink(path.c_str());
  if (bind(lfd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(lfd.get(), 64) != 0)
    _exit(1);
  UniqueFd ep(epoll_create1(0));
  epoll_event ev{EPOLLIN, {.fd = lfd.get()}};
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, lfd.get(), &ev);
  std::map<int, UniqueFd> clients;  // by descriptor
  epoll_event events[64];
  char buf[65536];
  while (true) {
    int n = epoll_wait(ep.get(), events, 64, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd.get()) {
        UniqueFd c(accept(lfd.get(), nullptr, nullptr));
        epoll_event cev{EPOLLIN, {.fd = c.get()}};
        epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.get(), &cev);
        int key = c.get();
        clients[key] = std::move(c);
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0 || write(fd, buf, static_cast<size_t>(r)) != r) clients.erase(fd);
    }
  }
}

pid_t Spawn(const std::function<void()>& child) {
  pid_t pid = fork();
  if (pid == 0) {
    child();
    _exit(0);
  }
  return pid;
}

enum class Op { kRead, kWrite, kCommit };
const char* Name(Op op) { return op == Op::kRead ? "read" : op == Op::kWrite ? "write" : "commit"; }

// One operation's round trips on `fd`; `echo` sends the same messages to the floor.
void DoOp(int fd, Op op, int conn) {
  std::string key = "/bench/k" + std::to_string(conn);
  switch (op) {
    case Op::kRead:
      RoundTrip(fd, MsgType::kRead, 0, key + '\0');
      break;
    case Op::kWrite:
      RoundTrip(fd, MsgType::kWrite, 0, key + '\0' + "value-16-bytes!!");
      break;
    case Op::kCommit: {
      std::string id = RoundTrip(fd, MsgType::kTransactionStart, 0, "\0"s);
      // "<id>\0" from xsd; the echo floor's "\0" reads as transaction 0.
      uint32_t tx = txend::ParseInteger<uint32_t>(id.substr(0, id.find('\0'))).value_or(0);
      RoundTrip(fd, MsgType::kWrite, tx, key + '\0' + "value-16-bytes!!");
      RoundTrip(fd, MsgType::kTransactionEnd, tx, "T\0"s);
      break;
    }
  }
}

int RequestsPerOp(Op op) { return op == Op::kCommit ? 3 : 1; }

// Operations per second with `conns` connections for `seconds`; adds the
// requests sent (and the keys' set-up writes) to `requests`.
double Measure(const std::string& socket, Op op, int conns, double seconds, uint64_t& requests) {
  std::vector<UniqueFd> fds;
  for (int i = 0; i < conns; ++i) fds.push_back(Dial(socket));
  for (int i = 0; i < conns; ++i) DoOp(fds[i].get(), Op::kWrite, i);  // keys exist before reads
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> total{0};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int i = 0; i < conns; ++i)
    threads.emplace_back([&, i] {
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        DoOp(fds[i].get(), op, i);
        ++n;
      }
      total += n;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  fds.clear();
  requests += total * RequestsPerOp(op) + conns;
  return static_cast<double>(total) / elapsed;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double CpuSeconds(const rusage& u) {
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// "10,1000" -> {10, 1000}; nullopt when an item is not a count.
std::optional<std::vector<size_t>> ParseCounts(const std::string& list) {
  std::vector<size_t> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    auto n = txend::ParseInteger<size_t>(item);
    if (!n.ok()) return std::nullopt;
    out.push_back(*n);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// The commit-cost table: each shape's per-commit time beside the first
// shape's, and whether the largest stays within 2x of it.
std::string CommitCostTable(const std::vector<size_t>& domains, size_t flat_entries,
                            double seconds) {
  std::vector<txend::bench::StoreShape> shapes;
  for (size_t d : domains) shapes.push_back({std::to_string(d) + " domains x 101 nodes", d, 0});
  if (flat_entries)
    shapes.push_back(
        {"one directory of " + std::to_string(flat_entries) + " entries", 0, flat_entries});
  std::ostringstream table;
  table << "| store | nodes | cycling: median us | p99 us | ratio to the first | same node: "
           "median us | p99 us | ratio to the first |\n"
        << "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  double cycling_base = 0, repeated_base = 0, worst = 0, worst_repeated = 0;
  for (const auto& shape : shapes) {
    txend::bench::CommitCost c = txend::bench::MeasureCommitCost(shape, seconds);
    if (cycling_base == 0) cycling_base = c.cycling.median_us;
    if (repeated_base == 0) repeated_base = c.repeated.median_us;
    double ratio = c.cycling.median_us / cycling_base;
    double repeated_ratio = c.repeated.median_us / repeated_base;
    worst = std::max(worst, ratio);
    worst_repeated = std::max(worst_repeated, repeated_ratio);
    char line[400];
    snprintf(line, sizeof line, "| %s | %zu | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
             shape.name.c_str(), c.nodes, c.cycling.median_us, c.cycling.p99_us, ratio,
             c.repeated.median_us, c.repeated.p99_us, repeated_ratio);
    table << line;
  }
  char verdict[300];
  snprintf(verdict, sizeof verdict,
           "commit cost target (every store <= 2x the first, cycling): %s (worst %.2fx; same "
           "node: worst %.2fx)\n",
           worst <= 2.0 ? "met" : "MISSED", worst, worst_repeated);
  table << "\n" << verdict;
  return table.str();
}

// The compaction-stall figure: the loop's longest turns while a compaction of
// a large store runs beside those without one, and the synchronous cost.
std::string CompactionStallTable(const std::string& dir, size_t nodes, double seconds) {
  txend::bench::CompactionStall c = txend::bench::MeasureCompactionStall(dir, nodes, seconds);
  std::ostringstream out;
  char line[600];
  snprintf(line, sizeof line,
           "journal compaction while writing, in process (--persist in %s): %zu nodes, snapshot "
           "%.1f MB, %zu compactions timed; a loop turn is one 16 KiB WRITE and its group commit "
           "(fdatasync), 2000 turns a second\n",
           dir.c_str(), c.nodes, static_cast<double>(c.snapshot_bytes) / 1e6, c.compactions);
  out << line << "| loop turns | turns | p99 us | longest us |\n| --- | ---: | ---: | ---: |\n";
  for (auto [name, t] : {std::pair{"while a compaction runs", c.during},
                         std::pair{"no compaction running", c.outside}}) {
    snprintf(line, sizeof line, "| %s | %zu | %.0f | %.0f |\n", name, t.turns, t.p99_us, t.max_us);
    out << line;
  }
  double extra_ms = (c.during.max_us - c.outside.max_us) / 1000;
  bool ok = c.compactions > 0 && c.outside.turns > 0 && extra_ms <= 1.0;
  snprintf(line, sizeof line,
           "one synchronous compaction of the same store (what the loop used to do): %.1f ms\n"
           "compaction stall target (the longest turn during a compaction <= 1 ms longer than "
           "the longest without one): %s (%+.2f ms; longest %.2f ms during, %.2f ms without)\n",
           c.synchronous_ms, ok ? "met" : "MISSED", extra_ms, c.during.max_us / 1000,
           c.outside.max_us / 1000);
  out << line;
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string xsd = TXEND_BIN_DIR "/xsd";
  double seconds = 1.0;
  std::string markdown;
  std::vector<size_t> commit_domains = {10, 1000, 10000};
  size_t flat_entries = 100000;
  size_t compaction_nodes = 100000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--xsd" && i + 1 < argc)
      xsd = argv[++i];
    else if (a == "--seconds" && i + 1 < argc && txend::ParseDouble(argv[i + 1]).ok())
      seconds = *txend::ParseDouble(argv[++i]);
    else if (a == "--markdown" && i + 1 < argc)
      markdown = argv[++i];
    else if (a == "--commit-domains" && i + 1 < argc && ParseCounts(argv[i + 1]))
      commit_domains = *ParseCounts(argv[++i]);
    else if (a == "--flat-entries" && i + 1 < argc && txend::ParseInteger<size_t>(argv[i + 1]).ok())
      flat_entries = *txend::ParseInteger<size_t>(argv[++i]);
    else if (a == "--compaction-nodes" && i + 1 < argc &&
             txend::ParseInteger<size_t>(argv[i + 1]).ok())
      compaction_nodes = *txend::ParseInteger<size_t>(argv[++i]);
    else {
      std::cerr << "usage: xsd_bench [--xsd PATH] [--seconds S] [--markdown FILE]\n"
                   "                 [--commit-domains N,N,...] [--flat-entries N]\n"
                   "                 [--compaction-nodes N]\n";
      return 2;
    }
  }
  char tmpl[] = "/tmp/xsd-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string xsd_sock = dir + "/xsd.sock", echo_sock = dir + "/echo.sock";
  pid_t xsd_pid =
      Spawn([&] { execl(xsd.c_str(), xsd.c_str(), "-N", "--socket", xsd_sock.c_str(), nullptr); });
  pid_t echo_pid = Spawn([&] { RunEchoServer(echo_sock); });
  Dial(xsd_sock);  // both are up once they answer
  Dial(echo_sock);

  std::ostringstream table;
  table << "| operation | connections | xsd ops/s | echo floor ops/s | ratio | rounds' ratios "
           "min–max |\n"
        << "| --- | ---: | ---: | ---: | ---: | ---: |\n";
  bool floor_ok = true;
  uint64_t xsd_requests = 0, echo_requests = 0;
  for (Op op : {Op::kRead, Op::kWrite, Op::kCommit}) {
    for (int conns : {1, 8}) {
      std::vector<double> ours, floor;
      for (int round = 0; round < 3; ++round) {  // interleaved, medians: the machine is noisy
        floor.push_back(Measure(echo_sock, op, conns, seconds / 3, echo_requests));
        ours.push_back(Measure(xsd_sock, op, conns, seconds / 3, xsd_requests));
      }
      double o = Median(ours), f = Median(floor), ratio = o / f;
      if (op != Op::kCommit && ratio < 0.9) floor_ok = false;
      std::vector<double> rounds;  // each round's pair, measured back to back
      for (size_t r = 0; r < ours.size(); ++r) rounds.push_back(ours[r] / floor[r]);
      auto [low, high] = std::minmax_element(rounds.begin(), rounds.end());
      char line[200];
      snprintf(line, sizeof line, "| %s | %d | %.0f | %.0f | %.2f | %.2f–%.2f |\n", Name(op), conns,
               o, f, ratio, *low, *high);
      table << line;
    }
  }
  kill(xsd_pid, SIGTERM);
  kill(echo_pid, SIGKILL);
  rusage usage{}, echo_usage{};
  wait4(xsd_pid, nullptr, 0, &usage);
  wait4(echo_pid, nullptr, 0, &echo_usage);

  std::cout << table.str();
  std::cout << "(a commit is 3 round trips: TRANSACTION_START, WRITE, TRANSACTION_END; the floor "
               "sends the same 3 messages)\n";
  double cpu = CpuSeconds(usage), echo_cpu = CpuSeconds(echo_usage);
  double per_request = cpu / static_cast<double>(xsd_requests) * 1e6;
  double echo_per_request = echo_cpu / static_cast<double>(echo_requests) * 1e6;
  char cpu_line[400];
  snprintf(cpu_line, sizeof cpu_line,
           "xsd CPU per request: %.2f us (user + sys %.2f s over %llu requests); echo floor: "
           "%.2f us (%.2f s over %llu); floor / xsd: %.2f\n",
           per_request, cpu, static_cast<unsigned long long>(xsd_requests), echo_per_request,
           echo_cpu, static_cast<unsigned long long>(echo_requests),
           echo_per_request / per_request);
  std::cout << cpu_line;
  std::cout << (floor_ok ? "read/write target (>= 0.9 of the floor at 1 and 8 connections): met\n"
                         : "read/write target (>= 0.9 of the floor at 1 and 8 connections): "
                           "MISSED\n");
  std::string commits = CommitCostTable(commit_domains, flat_entries, std::max(seconds / 2, 0.2));
  std::cout << "\none-node commit (START + WRITE + END) handled in process:\n" << commits;
  std::filesystem::remove_all(dir);
  // On tmpfs: this VM's disk takes up to tens of ms per fdatasync with or
  // without a compaction, which would hide the loop's own work.
  char shm[] = "/dev/shm/xsd-compaction-XXXXXX", tmp[] = "/tmp/xsd-compaction-XXXXXX";
  std::string stall_dir = mkdtemp(shm) ? shm : mkdtemp(tmp);
  std::string stall = CompactionStallTable(stall_dir, compaction_nodes, std::max(seconds / 2, 0.2));
  std::filesystem::remove_all(stall_dir);
  std::cout << "\n" << stall;
  if (!markdown.empty()) std::ofstream(markdown) << table.str() << "\n" << commits << "\n" << stall;
  return 0;
}
