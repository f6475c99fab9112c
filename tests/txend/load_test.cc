// txend and xsd under load: many concurrent libvirt-style HTTP clients (one
// connection per request, as libvirt's xend driver) and xenstore clients for
// a bounded time, over loopback sockets. Proven: no request fails, and after a
// first round of load (warm-up) a second, equal round grows neither daemon's
// RSS beyond a small slack nor its count of open file descriptors.
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/process_usage.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/transaction.h"

namespace txend::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kHttpClients = 12;
constexpr int kXsClients = 4;
constexpr auto kRound = std::chrono::seconds(3);
constexpr int kDomains = 3;
// RSS growth allowed between two equal rounds of load: generous, a leak of a
// few hundred bytes per request still shows. Sanitizer builds cache more.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssSlackKiB = 128 << 10;
#else
constexpr long kRssSlackKiB = 16 << 10;
#endif

// What `pid`'s open fds point at, one per line.
std::string FdList(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::string out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[512] = {};
    ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    out += std::string(e->d_name) + " -> " + (n > 0 ? target : "?") + "\n";
  }
  closedir(d);
  return out;
}

// Waits (bounded) for `pid`'s fd count to come back to `expected`: sessions
// close asynchronously after the client hangs up.
int SettledFdCount(pid_t pid, int expected) {
  int n = -1;
  Eventually(std::chrono::seconds(5), [&] {
    n = FdCount(pid);
    return n == expected;
  });
  return n;
}

struct Counts {
  std::atomic<uint64_t> http{0}, xs{0}, errors{0};
  std::string first_error;
  std::mutex mu;
  void Error(const std::string& what) {
    ++errors;
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = what;
  }
};

class Load : public ::testing::Test {
 protected:
  void SetUp() override {
    // Keep ASan's quarantine small so RSS reflects live memory (no effect elsewhere).
    std::string asan = getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "";
    setenv("ASAN_OPTIONS", (asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=16").c_str(), 1);
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    for (int i = 0; i < kDomains; ++i) {
      std::string name = "load" + std::to_string(i);
      ASSERT_EQ(
          Client()
              .Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config(name, 2, 1)}})
              .status,
          201);
      ASSERT_EQ(Client().Post("/xend/domain/" + name, {{"op", "unpause"}}).status, 200);
    }
  }
  XendClient Client() { return stack_->client(); }

  void HttpClient(int id, Clock::time_point end) {
    XendClient c = Client();
    for (int i = 0; Clock::now() < end; ++i) {
      std::string dom = "/xend/domain/load" + std::to_string((id + i) % kDomains);
      XendReply r;
      switch (i % 4) {
        case 0:
          r = c.Get("/xend/domain?detail=1");
          break;
        case 1:
          r = c.Get(dom + "?detail=1");
          break;
        case 2:
          r = c.Get("/xend/node/");
          break;
        default:
          r = c.Post(dom, {{"op", "mem_target_set"}, {"target", std::to_string(48 + i % 16)}});
          break;
      }
      ++counts_.http;
      if (r.status != 200) counts_.Error("HTTP " + std::to_string(r.status) + " " + r.body);
    }
  }

  void XsClient(int id, Clock::time_point end) {
    auto conn = xs::Connection::Open(stack_->xs_socket());
    if (!conn.ok()) return counts_.Error(conn.status().ToString());
    for (int i = 0; Clock::now() < end; ++i) {
      std::string key = "/load/" + std::to_string(id) + "/" + std::to_string(i % 64);
      Status st = xs::RunTransaction(
          **conn, [&](xs::Transaction& tx) { return tx.Write(key, std::to_string(i)); });
      auto snap = xs::Snapshot::Begin(**conn);
      auto domains = snap.ok() ? snap->Directory("/local/domain")
                               : Result<std::vector<std::string>>(snap.status());
      counts_.xs += 2;
      if (!st.ok()) counts_.Error(st.ToString());
      if (!domains.ok() || domains->size() < kDomains) counts_.Error("cannot list /local/domain");
    }
  }

  void Round() {
    auto end = Clock::now() + kRound;
    std::vector<std::thread> threads;
    for (int i = 0; i < kHttpClients; ++i)
      threads.emplace_back([this, i, end] { HttpClient(i, end); });
    for (int i = 0; i < kXsClients; ++i) threads.emplace_back([this, i, end] { XsClient(i, end); });
    for (auto& t : threads) t.join();
  }

  std::unique_ptr<TxendStack> stack_;
  Counts counts_;
};

TEST_F(Load, ManyClientsNoErrorsNoMemoryGrowthNoFdLeaks) {
  pid_t txend = stack_->txend().pid(), xsd = stack_->xsd().pid();
  Round();  // warms caches, pools and allocators; guests finish connecting
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int txend_fds = FdCount(txend), xsd_fds = FdCount(xsd);
  std::string txend_fd_list = FdList(txend), xsd_fd_list = FdList(xsd);
  long txend_rss = RssKiB(txend), xsd_rss = RssKiB(xsd);
  uint64_t first_round = counts_.http;
  Round();
  EXPECT_EQ(SettledFdCount(txend, txend_fds), txend_fds) << "txend leaks fds; before:\n"
                                                         << txend_fd_list << "after:\n"
                                                         << FdList(txend);
  EXPECT_EQ(SettledFdCount(xsd, xsd_fds), xsd_fds) << "xsd leaks fds; before:\n"
                                                   << xsd_fd_list << "after:\n"
                                                   << FdList(xsd);
  long txend_growth = RssKiB(txend) - txend_rss, xsd_growth = RssKiB(xsd) - xsd_rss;
  EXPECT_EQ(counts_.errors.load(), 0u) << counts_.first_error;
  EXPECT_LT(txend_growth, kRssSlackKiB)
      << "txend RSS grew by " << txend_growth << " KiB in the second round";
  EXPECT_LT(xsd_growth, kRssSlackKiB)
      << "xsd RSS grew by " << xsd_growth << " KiB in the second round";
  EXPECT_GT(counts_.http.load(), first_round) << "the second round served nothing";
  EXPECT_TRUE(stack_->txend().Running());
  EXPECT_TRUE(stack_->xsd().Running());
  printf(
      "load: %d HTTP + %d xenstore clients, 2 x %lld s: %llu HTTP requests, %llu xenstore "
      "transactions, "
      "%llu errors; RSS growth in round 2: txend %ld KiB (of %ld), xsd %ld KiB (of %ld); fds txend "
      "%d, xsd %d "
      "before and after\n",
      kHttpClients, kXsClients, static_cast<long long>(kRound.count()),
      static_cast<unsigned long long>(counts_.http.load()),
      static_cast<unsigned long long>(counts_.xs.load()),
      static_cast<unsigned long long>(counts_.errors.load()), txend_growth, txend_rss, xsd_growth,
      xsd_rss, txend_fds, xsd_fds);
}

}  // namespace
}  // namespace txend::testing
