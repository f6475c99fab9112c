// xsd_bench: round trips per second against xsd over its unix socket, for
// READ, WRITE and a transaction commit (START + WRITE + END), with 1 and 8
// client connections — each beside a floor measured in the same run: an echo
// server on a unix socket that answers every message with the same bytes, so
// the ratio shows what xsd costs above the socket round trip itself. Also xsd's
// CPU time (user + sys) per request over the whole run, which a busy machine
// disturbs far less than throughput.
//
//   xsd_bench [--xsd PATH] [--seconds S] [--markdown FILE]
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

}  // namespace

int main(int argc, char** argv) {
  std::string xsd = TXEND_BIN_DIR "/xsd";
  double seconds = 1.0;
  std::string markdown;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--xsd" && i + 1 < argc)
      xsd = argv[++i];
    else if (a == "--seconds" && i + 1 < argc && txend::ParseDouble(argv[i + 1]).ok())
      seconds = *txend::ParseDouble(argv[++i]);
    else if (a == "--markdown" && i + 1 < argc)
      markdown = argv[++i];
    else {
      std::cerr << "usage: xsd_bench [--xsd PATH] [--seconds S] [--markdown FILE]\n";
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
  table << "| operation | connections | xsd ops/s | echo floor ops/s | ratio |\n"
        << "| --- | ---: | ---: | ---: | ---: |\n";
  bool read_ok = true;
  uint64_t xsd_requests = 0, echo_requests = 0;
  for (Op op : {Op::kRead, Op::kWrite, Op::kCommit}) {
    for (int conns : {1, 8}) {
      std::vector<double> ours, floor;
      for (int round = 0; round < 3; ++round) {  // interleaved, medians: the machine is noisy
        floor.push_back(Measure(echo_sock, op, conns, seconds / 3, echo_requests));
        ours.push_back(Measure(xsd_sock, op, conns, seconds / 3, xsd_requests));
      }
      double o = Median(ours), f = Median(floor), ratio = o / f;
      if (op == Op::kRead && ratio < 0.7) read_ok = false;
      char line[200];
      snprintf(line, sizeof line, "| %s | %d | %.0f | %.0f | %.2f |\n", Name(op), conns, o, f,
               ratio);
      table << line;
    }
  }
  kill(xsd_pid, SIGTERM);
  kill(echo_pid, SIGKILL);
  rusage usage{};
  wait4(xsd_pid, nullptr, 0, &usage);
  waitpid(echo_pid, nullptr, 0);
  std::filesystem::remove_all(dir);

  std::cout << table.str();
  std::cout << "(a commit is 3 round trips: TRANSACTION_START, WRITE, TRANSACTION_END; the floor "
               "sends the same 3 messages)\n";
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  char cpu_line[200];
  snprintf(cpu_line, sizeof cpu_line,
           "xsd CPU per request: %.2f us (user + sys %.2f s over %llu requests)\n",
           cpu / static_cast<double>(xsd_requests) * 1e6, cpu,
           static_cast<unsigned long long>(xsd_requests));
  std::cout << cpu_line;
  std::cout << (read_ok ? "read target (>= 0.7 of the floor): met\n"
                        : "read target (>= 0.7 of the floor): MISSED\n");
  if (!markdown.empty()) std::ofstream(markdown) << table.str();
  return 0;
}
