// HttpServer over real unix and TCP sockets, with raw client bytes.
#include "http/http_server.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http/awaiting_close.h"
#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/process_usage.h"
#include "tests/support/sockets.h"

namespace txend::http {
namespace {

using testing::Eventually;
using testing::TempDir;

// A connected client socket; reads everything until the server closes.
class RawClient {
 public:
  static RawClient Unix(const std::string& path) {
    int fd = testing::DialUnix(path);
    EXPECT_GE(fd, 0) << "cannot connect to " << path;
    return RawClient(fd);
  }
  static RawClient Tcp(uint16_t port, const std::string& from = "127.0.0.1") {
    int fd = testing::DialTcpFrom(from, port);
    EXPECT_GE(fd, 0) << "cannot connect to port " << port << " from " << from;
    return RawClient(fd);
  }
  static RawClient Adopt(int fd) { return RawClient(fd); }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(RawClient&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

  void Send(const std::string& bytes) {  // a server that closed fails this, not the binary
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), (ssize_t)bytes.size());
  }
  // Bounds every later read: one that times out ends ReadAll / ReadUntil early.
  void ReadTimeout(std::chrono::milliseconds limit) {
    timeval tv{limit.count() / 1000, static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
    ASSERT_EQ(setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  }
  // Sends what the peer takes before it closes.
  bool TrySend(const std::string& bytes) { return testing::SendAll(fd_, bytes); }
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd_, buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }
  // Reads until `marker` has been seen (for keep-alive replies).
  std::string ReadUntil(const std::string& marker) {
    std::string out;
    char buf[4096];
    while (out.find(marker) == std::string::npos) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, n);
    }
    return out;
  }

 private:
  explicit RawClient(int fd) : fd_(fd) {}
  int fd_;
};

// Echoes what the handler saw, so tests can check decoding.
HttpResponse Echo(const HttpRequest& req) {
  std::string body = req.method + " " + req.path;
  for (const auto& [k, v] : req.params.entries()) body += " " + k + "=" + v;
  body += " peer=" + req.peer + " END";
  return HttpResponse{200, "text/plain", body};
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions opts, HttpServer::Handler handler = Echo) {
    auto s = HttpServer::Start(std::move(opts), std::move(handler));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  std::string sock() const { return dir_ / "xend-socket"; }
  ServerOptions UnixOnly() const {
    ServerOptions opts;
    opts.unix_socket = sock();
    return opts;
  }
  TempDir dir_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesLibvirtStyleGetAndPostOnUnixSocket) {
  StartServer(UnixOnly());
  auto c = RawClient::Unix(sock());
  c.Send(
      "GET /xend/domain/demo?detail=1 HTTP/1.1\r\nHost: localhost:8000\r\n"
      "Accept-Encoding: identity\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Connection: close\r\n\r\n");
  std::string reply = c.ReadAll();
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  EXPECT_NE(reply.find("GET /xend/domain/demo detail=1 peer=unix END"), std::string::npos) << reply;

  std::string body = "op=shutdown&reason=poweroff&name=a%20b+c";
  auto p = RawClient::Unix(sock());
  p.Send(
      "POST /xend/domain/demo HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  reply = p.ReadAll();
  EXPECT_NE(reply.find("POST /xend/domain/demo op=shutdown reason=poweroff name=a b c"),
            std::string::npos)
      << reply;
}

TEST_F(HttpServerTest, UnixSocketIsRootOnly) {
  StartServer(UnixOnly());
  struct stat st {};
  ASSERT_EQ(stat(sock().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer(UnixOnly());
  auto c = RawClient::Unix(sock());
  for (int i = 0; i < 3; ++i) {
    c.Send("GET /xend/node/ HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string reply = c.ReadUntil("END");
    EXPECT_NE(reply.find("GET /xend/node/"), std::string::npos) << i << reply;
  }
}

TEST_F(HttpServerTest, OversizedBodyGets413AndServerKeepsServing) {
  ServerOptions opts = UnixOnly();
  opts.max_body_bytes = 1024;
  StartServer(std::move(opts));
  auto c = RawClient::Unix(sock());
  std::string body(4096, 'x');
  c.Send("POST /xend/domain/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" + body);
  std::string reply = c.ReadAll();
  EXPECT_NE(reply.find("413"), std::string::npos) << reply;
  EXPECT_NE(reply.find("(xend.err"), std::string::npos) << reply;
  auto ok = RawClient::Unix(sock());
  ok.Send("GET /xend/node/ HTTP/1.0\r\n\r\n");
  EXPECT_NE(ok.ReadAll().find("200"), std::string::npos);
}

TEST_F(HttpServerTest, GarbageGets400) {
  StartServer(UnixOnly());
  auto c = RawClient::Unix(sock());
  c.Send("\x01\x02 nonsense\r\n\r\n");
  std::string reply = c.ReadAll();
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  auto bad_escape = RawClient::Unix(sock());
  bad_escape.Send("GET /xend/domain?x=%zz HTTP/1.0\r\n\r\n");
  reply = bad_escape.ReadAll();
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  EXPECT_NE(reply.find("malformed"), std::string::npos) << reply;
}

// A chunked body's trailer is a second header block: it has the head's limit
// too, and going over it is a 431 reply, not an exception out of a handler.
TEST_F(HttpServerTest, HugeChunkedTrailerGets431AndServerKeepsServing) {
  StartServer(UnixOnly());
  auto chunked_post = [](size_t trailer) {
    return "POST /xend/domain/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Transfer-Encoding: chunked\r\n\r\n4\r\nop=x\r\n0\r\nX-Trailer: " +
           std::string(trailer, 'a') + "\r\n\r\n";
  };
  for (size_t trailer : {size_t{17} << 10, size_t{64} << 10}) {
    auto c = RawClient::Unix(sock());
    c.Send(chunked_post(trailer));
    std::string reply = c.ReadAll();
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 431")) << trailer << ": " << reply.substr(0, 200);
    EXPECT_NE(reply.find("(xend.err"), std::string::npos) << reply.substr(0, 200);
  }
  // Larger than the socket buffers: the server may close before it is all sent.
  auto big = RawClient::Unix(sock());
  big.TrySend(chunked_post(size_t{4} << 20));
  big.ReadAll();
  auto small = RawClient::Unix(sock());
  small.Send(chunked_post(100));
  EXPECT_TRUE(small.ReadAll().starts_with("HTTP/1.1 200")) << "a small trailer is fine";
  auto ok = RawClient::Unix(sock());
  ok.Send("GET /xend/node/ HTTP/1.0\r\n\r\n");
  EXPECT_NE(ok.ReadAll().find("200"), std::string::npos);
  EXPECT_EQ(server_->stats().exceptions.load(), 0u);
}

TEST_F(HttpServerTest, SlowClientIsCutOff) {
  ServerOptions opts = UnixOnly();
  opts.header_timeout = std::chrono::milliseconds(200);
  StartServer(std::move(opts));
  auto slow = RawClient::Unix(sock());
  slow.Send("GET /xend/node/ HTTP/1.1\r\nHost:");  // never finishes
  EXPECT_EQ(slow.ReadAll(), "");                   // closed by the server
  // The socket closes before the timeout is counted; wait for the count.
  Eventually(std::chrono::seconds(2), [&] { return server_->stats().timeouts.load() != 0; });
  EXPECT_EQ(server_->stats().timeouts.load(), 1u);
}

// The head has one deadline however the bytes trickle in; so has the body.
TEST_F(HttpServerTest, TricklingHeadAndBodyAreCutOffAtTheirDeadlines) {
  ServerOptions opts = UnixOnly();
  opts.header_timeout = std::chrono::milliseconds(300);
  opts.body_timeout = std::chrono::milliseconds(300);
  StartServer(std::move(opts));
  // A byte every 50 ms until the server hangs up (or 2.5 s have passed).
  auto trickle = [](RawClient& c, const std::string& bytes) {
    for (char byte : bytes) {
      if (!c.TrySend(std::string(1, byte))) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  auto head = RawClient::Unix(sock());
  trickle(head, "GET /xend/node/ HTTP/1.1\r\nHost: a-long-host-name-trickled-in\r\n");
  EXPECT_EQ(head.ReadAll(), "");
  auto body = RawClient::Unix(sock());
  body.Send("POST /xend/domain/ HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n");
  trickle(body, std::string(50, 'x'));
  EXPECT_EQ(body.ReadAll(), "");
  EXPECT_TRUE(
      Eventually(std::chrono::seconds(2), [&] { return server_->stats().timeouts.load() == 2; }));
}

// One peer (here 127.0.0.2) holds at most max_connections_per_peer; the rest
// get a 503 at once, and other peers are served.
TEST_F(HttpServerTest, APeerOverItsConnectionLimitIsRefusedOthersAreServed) {
  ServerOptions opts;
  opts.tcp = TcpEndpoint{"127.0.0.1", 0};
  opts.max_connections_per_peer = 4;
  StartServer(std::move(opts));
  std::vector<RawClient> held;
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    held.push_back(RawClient::Tcp(server_->tcp_port(), "127.0.0.2"));
    held.back().TrySend("GET /xend/node/ HTTP/1.1\r\nHo");  // never more; refused: maybe closed
  }
  for (int i = 4; i < 10; ++i) {
    std::string reply = held[i].ReadAll();
    refused += reply.starts_with("HTTP/1.1 503");
    EXPECT_NE(reply.find("too many connections from this client"), std::string::npos) << reply;
  }
  EXPECT_EQ(refused, 6);
  auto other = RawClient::Tcp(server_->tcp_port(), "127.0.0.1");
  other.Send("GET /xend/node/ HTTP/1.0\r\n\r\n");
  EXPECT_NE(other.ReadAll().find("HTTP/1.0 200"), std::string::npos);
  held.clear();  // their slots free up: the peer is served again
  EXPECT_TRUE(Eventually(std::chrono::seconds(5), [&] {
    auto again = RawClient::Tcp(server_->tcp_port(), "127.0.0.2");
    again.Send("GET /xend/node/ HTTP/1.0\r\n\r\n");
    return again.ReadAll().find("HTTP/1.0 200") != std::string::npos;
  }));
}

// The first 200 bytes another process gets back for `request` on the unix
// socket at `path`: the child only makes system calls, as after a fork of a
// process with threads it must.
std::string AskFromAnotherProcess(const std::string& path, const std::string& request) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  int out[2];
  if (pipe(out) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(out[0]);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    char reply[200];
    ssize_t n = 0;
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      timeval limit{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      n = read(fd, reply, sizeof reply);
    }
    if (n > 0) (void)!write(out[1], reply, n);
    _exit(0);
  }
  close(out[1]);
  std::string reply = RawClient::Adopt(out[0]).ReadAll();
  waitpid(pid, nullptr, 0);
  return reply;
}

// On the unix socket a peer is a client process (SO_PEERCRED): this one holds
// at most max_connections_per_peer, another process is served meanwhile.
TEST_F(HttpServerTest, AUnixClientProcessOverItsLimitIsRefusedOthersAreServed) {
  ServerOptions opts = UnixOnly();
  opts.max_connections_per_peer = 4;
  StartServer(std::move(opts));
  std::vector<RawClient> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(RawClient::Unix(sock()));
    held.back().TrySend("GET /xend/node/ HTTP/1.1\r\nHo");  // never more; refused: maybe closed
  }
  int refused = 0;
  for (int i = 4; i < 10; ++i) {
    std::string reply = held[i].ReadAll();
    refused += reply.starts_with("HTTP/1.1 503");
    EXPECT_NE(
        reply.find("too many connections from this client (process " + std::to_string(getpid())),
        std::string::npos)
        << reply;
  }
  EXPECT_EQ(refused, 6);
  EXPECT_TRUE(AskFromAnotherProcess(sock(), "GET /xend/node/ HTTP/1.0\r\n\r\n")
                  .starts_with("HTTP/1.0 200"));
}

// A refused client that sends its request only after the refusal went out (as xm does:
// connect, then write) still writes it and reads why: the server lingers instead of
// closing at once, which failed the write with EPIPE and lost the 503's text.
TEST_F(HttpServerTest, ARefusedClientThatWritesLateStillReadsWhy) {
  ServerOptions opts = UnixOnly();
  opts.max_connections_per_peer = 1;
  StartServer(std::move(opts));
  RawClient held = RawClient::Unix(sock());
  held.Send("GET /xend/node/ HTTP/1.1\r\nHo");
  RawClient late = RawClient::Unix(sock());
  ASSERT_TRUE(
      Eventually(std::chrono::seconds(5), [&] { return server_->stats().refused.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the refusal has gone out
  late.Send("GET /xend/node/ HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string reply = late.ReadAll();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 503")) << reply;
  EXPECT_NE(reply.find("too many connections from this client"), std::string::npos) << reply;
}

// Every slot held by clients that never finish a request: a new client is
// still served, in the slot of the one that has waited longest.
TEST_F(HttpServerTest, AFullServerShedsTheLongestWaitingConnection) {
  ServerOptions opts = UnixOnly();
  opts.max_connections = 8;
  opts.max_connections_per_peer = 0;
  StartServer(std::move(opts));
  std::vector<RawClient> slow;
  uint64_t accepted = 0;
  auto add_slow = [&] {  // one at a time, so the first is the longest waiting
    slow.push_back(RawClient::Unix(sock()));
    slow.back().Send("GET /xend/node/ HTTP/1.1\r\nHo");
    ++accepted;
    return Eventually(std::chrono::seconds(5),
                      [&] { return server_->stats().connections.load() == accepted; });
  };
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(add_slow());
  for (int round = 0; round < 3; ++round) {
    auto fast = RawClient::Unix(sock());
    fast.Send("GET /xend/node/ HTTP/1.0\r\n\r\n");
    ++accepted;
    EXPECT_NE(fast.ReadAll().find("HTTP/1.0 200"), std::string::npos) << round;
    // Shed on its own I/O thread, which may run after the fast reply went out: counted
    // before it is closed.
    EXPECT_EQ(slow[round].ReadAll(), "") << "shed without a reply";
    EXPECT_EQ(server_->stats().evicted.load(), round + 1u);
    ASSERT_TRUE(add_slow());  // full again
  }
  EXPECT_EQ(server_->stats().refused.load(), 0u);
}

// Out of descriptors (EMFILE), accepting pauses instead of spinning, and
// resumes — serving the clients that waited — once descriptors are free.
TEST_F(HttpServerTest, AcceptingSurvivesRunningOutOfDescriptors) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizers check memory through a pipe of their own: with every
  // descriptor of the process taken, UBSan reports a fresh shared_ptr control
  // block as having an invalid vptr ("memory cannot be printed"). xsd's
  // EMFILE test (a daemon process of its own) runs under the sanitizers.
  GTEST_SKIP() << "needs every descriptor of the process, which the sanitizers need too";
#endif
  StartServer(UnixOnly());
  int waiting = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);  // made while there are some
  ASSERT_GE(waiting, 0);
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  int probe = dup(0);
  ASSERT_GE(probe, 0);
  close(probe);
  rlimit low = old_limit;
  low.rlim_cur = static_cast<rlim_t>(probe) + 8;  // a few above what is open now
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> clients;
  for (int fd; (fd = testing::DialUnix(sock(), 5)) >= 0;) clients.push_back(fd);
  // Every descriptor is taken, by clients and the server's side of them; one more client
  // (connecting needs no new descriptor) waits in the backlog, which the server cannot accept.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, sock().c_str(), sock().size());
  ASSERT_EQ(connect(waiting, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_TRUE(testing::SendAll(waiting, "GET /xend/node/ HTTP/1.0\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  uint64_t errors = server_->stats().accept_errors.load();
  for (int fd : clients) close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  RawClient served = RawClient::Adopt(waiting);
  EXPECT_NE(served.ReadAll().find("HTTP/1.0 200"), std::string::npos);
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 10u) << "accept retried without pausing";
}

// Every worker busy with a slow change (a create waiting for devices, a
// migration): reads are still answered, on workers of their own.
TEST_F(HttpServerTest, ReadsAreAnsweredWhileEveryWorkerIsBusyWithAChange) {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> busy{0};
  ServerOptions opts = UnixOnly();
  opts.worker_threads = 2;
  StartServer(std::move(opts), [&](const HttpRequest& req) {
    if (req.method == "POST") {
      ++busy;
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(20), [&] { return released; });
    }
    return Echo(req);
  });
  std::vector<RawClient> changes;
  for (int i = 0; i < 3; ++i) {
    changes.push_back(RawClient::Unix(sock()));
    changes.back().Send("POST /xend/domain/ HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  }
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return busy.load() == 2; }));
  auto read = RawClient::Unix(sock());
  read.Send("GET /xend/domain/ HTTP/1.0\r\n\r\n");
  EXPECT_NE(read.ReadAll().find("HTTP/1.0 200"), std::string::npos);
  {
    std::lock_guard lock(mu);
    released = true;
  }
  cv.notify_all();
  for (auto& c : changes) EXPECT_NE(c.ReadAll().find("HTTP/1.0 200"), std::string::npos);
}

// Reads that block (xenstore stalled, say) on every I/O thread that may run
// one and on every read worker: the two I/O threads kept for I/O go on
// reading heads and cutting off clients that trickle; changes are answered.
TEST_F(HttpServerTest, ReadsBlockedOnEveryThreadTheyMayTakeLeaveTheServerServing) {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> blocked{0};
  std::atomic<int> unblocked{0};  // reads that gave up waiting (20 s): the test's bound
  ServerOptions opts = UnixOnly();
  opts.inline_reads = 2;
  opts.read_worker_threads = 1;
  opts.header_timeout = std::chrono::milliseconds(300);
  StartServer(std::move(opts), [&](const HttpRequest& req) {
    if (req.method == "GET" && req.path == "/block") {
      ++blocked;
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(20), [&] { return released; })) ++unblocked;
    }
    return Echo(req);
  });
  std::vector<RawClient> reads;
  for (int i = 0; i < 4; ++i) {  // 2 inline, 1 on the read worker, 1 queued behind it
    reads.push_back(RawClient::Unix(sock()));
    reads.back().Send("GET /block HTTP/1.0\r\n\r\n");
  }
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return blocked.load() == 3; }));
  auto change = RawClient::Unix(sock());
  change.Send("POST /xend/domain/ HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(change.ReadAll().find("HTTP/1.0 200"), std::string::npos);
  auto slow = RawClient::Unix(sock());
  slow.Send("GET /xend/node/ HTTP/1.1\r\nHo");
  EXPECT_EQ(slow.ReadAll(), "");  // closed at its head deadline, without a reply
  EXPECT_EQ(unblocked.load(), 0) << "served only once the blocked reads gave up";
  {
    std::lock_guard lock(mu);
    released = true;
  }
  cv.notify_all();
  for (auto& r : reads) EXPECT_NE(r.ReadAll().find("HTTP/1.0 200"), std::string::npos);
}

// A read blocked on the I/O thread that read it (xenstore stalled) holds up
// only that thread's connections: clients that connect meanwhile are placed on
// the others, and their reads (on the read workers, the one inline slot taken)
// are answered. Placed by load alone, the second client would share the
// blocked thread with the first and never get its reply.
TEST_F(HttpServerTest, NewClientsAreNotPlacedOnAnIoThreadBlockedInARead) {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> blocked{0};
  std::atomic<int> unblocked{0};  // the blocked read gave up waiting (20 s): the test's bound
  ServerOptions opts = UnixOnly();
  opts.inline_reads = 1;  // three I/O threads: the listeners' and two for sessions
  opts.read_worker_threads = 2;
  StartServer(std::move(opts), [&](const HttpRequest& req) {
    if (req.path == "/block") {
      ++blocked;
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(20), [&] { return released; })) ++unblocked;
    }
    return Echo(req);
  });
  auto stuck = RawClient::Unix(sock());
  stuck.Send("GET /block HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return blocked.load() == 1; }));
  std::vector<RawClient> others;
  for (int i = 0; i < 3; ++i) others.push_back(RawClient::Unix(sock()));
  for (auto& c : others) {
    c.Send("GET /xend/node/ HTTP/1.0\r\n\r\n");
    EXPECT_NE(c.ReadAll().find("HTTP/1.0 200"), std::string::npos);
  }
  EXPECT_EQ(unblocked.load(), 0) << "answered only once the blocked read gave up";
  {
    std::lock_guard lock(mu);
    released = true;
  }
  cv.notify_all();
  EXPECT_NE(stuck.ReadAll().find("HTTP/1.0 200"), std::string::npos);
}

// Which I/O threads a server's connections live on: a deferred reply's watch
// is armed on the thread of the connection it parks (the read itself may run
// on a read worker); the reply is due at once.
class ThreadLog {
 public:
  HandlerReply Handle(const HttpRequest& req) {
    std::thread::id handler = std::this_thread::get_id();
    auto watch = [this, handler](std::function<void()> wake) {
      {
        std::lock_guard lock(mu_);
        seen_.push_back({handler, std::this_thread::get_id()});
      }
      wake();
      return std::shared_ptr<void>();
    };
    return DeferredReply{std::chrono::seconds(30), watch, [req] { return Echo(req); }};
  }
  struct Seen {
    std::thread::id handler, connection;
  };
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<Seen> seen_;
};

// Eight clients connected at once are served by more than one I/O thread.
TEST_F(HttpServerTest, ConcurrentClientsAreSpreadOverSeveralIoThreads) {
  ThreadLog log;
  StartServer(UnixOnly(), [&](const HttpRequest& req) { return log.Handle(req); });
  std::vector<RawClient> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(RawClient::Unix(sock()));
  for (auto& c : clients) c.Send("GET /where HTTP/1.1\r\nHost: x\r\n\r\n");
  for (auto& c : clients) EXPECT_NE(c.ReadUntil("END").find("HTTP/1.1 200"), std::string::npos);
  std::set<std::thread::id> threads;
  for (const auto& s : log.seen()) threads.insert(s.connection);
  EXPECT_EQ(log.seen().size(), 8u);
  EXPECT_GT(threads.size(), 1u) << "every connection on one I/O thread";
  std::cout << "8 clients on " << threads.size() << " I/O threads\n";
}

// A keep-alive connection lives on one I/O thread: each of its reads runs
// there (inline, no worker free or needed) and so does everything after it.
TEST_F(HttpServerTest, AConnectionIsServedOnOneIoThreadForItsWholeLife) {
  ThreadLog log;
  StartServer(UnixOnly(), [&](const HttpRequest& req) { return log.Handle(req); });
  auto c = RawClient::Unix(sock());
  for (int i = 0; i < 20; ++i) {
    c.Send("GET /where HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(c.ReadUntil("END").find("HTTP/1.1 200"), std::string::npos);
  }
  auto seen = log.seen();
  ASSERT_EQ(seen.size(), 20u);
  for (const auto& s : seen) {
    EXPECT_EQ(s.connection, seen[0].connection) << "the connection moved between I/O threads";
    EXPECT_EQ(s.handler, s.connection) << "a read left the I/O thread that read it";
  }
}

// Which thread ran each request's handler, by path, in order.
class HandlerThreads {
 public:
  HttpResponse Handle(const HttpRequest& req) {
    std::lock_guard lock(mu_);
    seen_.push_back({req.path, std::this_thread::get_id()});
    return Echo(req);
  }
  std::vector<std::pair<std::string, std::thread::id>> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, std::thread::id>> seen_;
};

// A client that connects once per request (libvirt) wakes one thread: the one that
// accepts answers a first read the handler answers at once. A connection's second
// request, and a first one the handler may wait in, run on another I/O thread.
TEST_F(HttpServerTest, AQuickFirstReadIsAnsweredByTheAcceptingThreadAndNothingElse) {
  HandlerThreads log;
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [](const HttpRequest& req) { return req.path == "/quick"; };
  StartServer(std::move(opts), [&](const HttpRequest& req) { return log.Handle(req); });
  for (int i = 0; i < 3; ++i) {
    auto once = RawClient::Unix(sock());
    once.Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(once.ReadUntil("END").find("GET /quick"), std::string::npos);
  }
  auto kept = RawClient::Unix(sock());
  kept.Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(kept.ReadUntil("END").find("GET /quick"), std::string::npos);
  kept.Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(kept.ReadUntil("END").find("GET /quick"), std::string::npos);
  auto slow = RawClient::Unix(sock());
  slow.Send("GET /slow HTTP/1.0\r\n\r\n");
  EXPECT_NE(slow.ReadAll().find("GET /slow"), std::string::npos);
  auto change = RawClient::Unix(sock());
  change.Send("POST /quick HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(change.ReadAll().find("POST /quick"), std::string::npos);

  auto seen = log.seen();
  ASSERT_EQ(seen.size(), 7u);
  std::thread::id accepting = seen[0].second;
  for (int i = 1; i < 4; ++i) EXPECT_EQ(seen[i].second, accepting) << "request " << i;
  EXPECT_NE(seen[4].second, accepting) << "a connection's second request stayed";
  EXPECT_NE(seen[5].second, accepting) << "a read the handler may wait in ran there";
  EXPECT_NE(seen[6].second, accepting) << "a change ran there";
  EXPECT_EQ(server_->stats().answered_on_accept.load(), 4u);
}

// Holds the accepting thread in answers_at_once until the test lets it go, so a client can
// connect and send while nothing accepts: its request is there when it is accepted. (Else
// the accepting thread, woken by the connect, may read before the client has sent, on a
// loaded machine or one CPU; that connection then waits registered, rightly.)
class AcceptingThreadGate {
 public:
  void Hold() {  // in answers_at_once, on the accepting thread
    std::unique_lock lock(mu_);
    ++held_;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(5), [&] { return released_ >= held_; });
  }
  // Waits until the accepting thread has been held `n` times in all.
  bool WaitHeld(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return held_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    ++released_;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int held_ = 0, released_ = 0;
};

// A client that connects once per request and closes once answered (libvirt) costs no
// registration with an event loop: the accepting thread reads, answers and sees the close
// on the bare descriptor, looking for the close again when the next connection wakes it.
// The tick is long here, so only those looks can close a connection in time.
TEST_F(HttpServerTest, AConnectionPerRequestClientIsServedWithoutRegisteringItsConnections) {
  AcceptingThreadGate gate;
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [&](const HttpRequest&) {
    gate.Hold();
    return true;
  };
  opts.awaiting_close_tick = std::chrono::seconds(30);
  StartServer(std::move(opts));
  auto held = std::make_unique<RawClient>(RawClient::Unix(sock()));
  held->Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(gate.WaitHeld(1));
  uint64_t registered_before = server_->stats().registered.load();  // the first may race
  int descriptors_before = testing::FdCount(getpid());
  constexpr int kReads = 100;
  for (int i = 1; i <= kReads; ++i) {
    auto next = std::make_unique<RawClient>(RawClient::Unix(sock()));
    next->Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");  // while nothing accepts
    gate.Release();
    ASSERT_NE(held->ReadUntil("END").find("GET /quick"), std::string::npos) << i;
    held = std::move(next);  // the answered one closes
    ASSERT_TRUE(gate.WaitHeld(i + 1));
  }
  gate.Release();
  ASSERT_NE(held->ReadUntil("END").find("GET /quick"), std::string::npos);
  EXPECT_EQ(server_->stats().answered_on_accept.load(), uint64_t{kReads + 1});
  EXPECT_EQ(server_->stats().registered.load(), registered_before);
  // Each closed connection's descriptor was closed by a later accept's look, not the tick.
  EXPECT_LE(testing::FdCount(getpid()),
            descriptors_before + static_cast<int>(AwaitingClose::kLooksPerWake));
}

// A connection answered at once whose client neither closes nor sends again is registered
// to wait after one to two ticks, and then served like any other.
TEST_F(HttpServerTest, AQuietConnectionAnsweredAtOnceIsRegisteredAfterItsTicks) {
  AcceptingThreadGate gate;
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [&](const HttpRequest& req) {
    if (req.path == "/hold") gate.Hold();
    return true;
  };
  // Long enough that the check right after the reply comes before it on a loaded machine.
  constexpr auto kTick = std::chrono::milliseconds(300);
  opts.awaiting_close_tick = kTick;
  StartServer(std::move(opts));
  auto hold = RawClient::Unix(sock());
  hold.Send("GET /hold HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(gate.WaitHeld(1));
  uint64_t registered_before = server_->stats().registered.load();  // `hold` may race
  auto kept = RawClient::Unix(sock());
  kept.ReadTimeout(std::chrono::seconds(5));
  kept.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n");  // while nothing accepts
  auto asked = std::chrono::steady_clock::now();      // before the tick can start
  gate.Release();
  EXPECT_NE(hold.ReadAll().find("GET /hold"), std::string::npos);
  EXPECT_NE(kept.ReadUntil("END").find("GET /one"), std::string::npos);
  EXPECT_EQ(server_->stats().registered.load(), registered_before);
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] {
    return server_->stats().registered.load() == registered_before + 1;
  }));
  EXPECT_GE(std::chrono::steady_clock::now() - asked, kTick);
  kept.Send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(kept.ReadUntil("END").find("GET /two"), std::string::npos);
}

// A kept connection whose next request comes later than at once, or never, is waited for
// like any other: answered when it comes, closed at the head deadline when it does not.
TEST_F(HttpServerTest, AKeptConnectionAnsweredAtOnceIsServedLaterAndTimedOutIdle) {
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [](const HttpRequest&) { return true; };
  opts.header_timeout = std::chrono::milliseconds(300);
  StartServer(std::move(opts));
  auto kept = RawClient::Unix(sock());
  kept.ReadTimeout(std::chrono::seconds(5));
  kept.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(kept.ReadUntil("END").find("GET /one"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // no other connection meanwhile
  kept.Send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(kept.ReadUntil("END").find("GET /two"), std::string::npos);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(kept.ReadAll(), "");  // closed by the server, idle
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(
      Eventually(std::chrono::seconds(2), [&] { return server_->stats().timeouts.load() == 1; }));
}

// A kept connection's requests share one head deadline timer, re-armed when it fires (about
// once per header_timeout), not set and cancelled for every request; its deadline still holds.
TEST_F(HttpServerTest, AKeptConnectionsRequestsShareOneHeadTimer) {
  ServerOptions opts = UnixOnly();
  opts.header_timeout = std::chrono::milliseconds(400);
  StartServer(std::move(opts));
  auto kept = RawClient::Unix(sock());
  kept.ReadTimeout(std::chrono::seconds(5));
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) {
    kept.Send("GET /kept HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(kept.ReadUntil("END").find("GET /kept"), std::string::npos) << i;
  }
  EXPECT_LT(server_->stats().head_timers_armed.load(), uint64_t{10});
  // Requests spread over longer than the timeout each get the whole timeout again.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    kept.Send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(kept.ReadUntil("END").find("GET /later"), std::string::npos) << i;
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(kept.ReadAll(), "");  // then closed by the server at its head deadline
  auto idle = std::chrono::steady_clock::now() - start;
  EXPECT_GE(idle, std::chrono::milliseconds(300));
  EXPECT_LT(idle, std::chrono::seconds(3));
  EXPECT_TRUE(
      Eventually(std::chrono::seconds(2), [&] { return server_->stats().timeouts.load() == 1; }));
}

// Under a flood of connections the accepting thread answers first reads only while few
// connections are there (4); the rest move to the other I/O threads, in parallel.
TEST_F(HttpServerTest, AFloodOfConnectionsSpillsFromTheAcceptingThread) {
  HandlerThreads log;
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [](const HttpRequest&) { return true; };
  StartServer(std::move(opts), [&](const HttpRequest& req) { return log.Handle(req); });
  std::vector<RawClient> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(RawClient::Unix(sock()));
  ASSERT_TRUE(Eventually(std::chrono::seconds(5),
                         [&] { return server_->stats().connections.load() == 8; }));
  for (auto& c : clients) {
    c.Send("GET /flood HTTP/1.0\r\n\r\n");
    EXPECT_NE(c.ReadAll().find("GET /flood"), std::string::npos);
  }
  std::set<std::thread::id> threads;
  for (const auto& [path, thread] : log.seen()) threads.insert(thread);
  EXPECT_EQ(server_->stats().answered_on_accept.load(), 4u);
  EXPECT_GT(threads.size(), 1u);
}

// Requests pipelined behind a first one the accepting thread answered move with the
// connection, bytes already read included, and are answered in order.
TEST_F(HttpServerTest, RequestsPipelinedBehindAQuickFirstReadMoveWithTheConnection) {
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [](const HttpRequest&) { return true; };
  StartServer(std::move(opts));
  auto c = RawClient::Unix(sock());
  c.Send(
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string replies = c.ReadAll();
  size_t one = replies.find("GET /one"), two = replies.find("GET /two"),
         three = replies.find("GET /three");
  ASSERT_NE(three, std::string::npos) << replies;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_EQ(server_->stats().answered_on_accept.load(), 1u);
}

// Bad requests pipelined on one connection the accepting thread serves are each
// answered 400, in order, however many: none waits, yet the thread never recurses into the next.
TEST_F(HttpServerTest, ThousandsOfBadRequestsPipelinedOnTheAcceptingThreadAreEachAnswered) {
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [](const HttpRequest&) { return true; };
  StartServer(std::move(opts));
  constexpr int kRequests = 20000;
  std::string bad;
  for (int i = 0; i < kRequests; ++i) bad += "GET bad HTTP/1.1\r\nHost: x\r\n\r\n";
  bad += "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto c = RawClient::Unix(sock());
  std::thread sender([&] { c.TrySend(bad); });
  std::string replies = c.ReadAll();
  sender.join();
  size_t refused = 0;
  for (size_t at = replies.find(" 400 "); at != std::string::npos;
       at = replies.find(" 400 ", at + 1))
    ++refused;
  EXPECT_EQ(refused, static_cast<size_t>(kRequests));
  EXPECT_NE(replies.find("GET /last"), std::string::npos);
}

// A first read the handler says it answers at once, but which blocks (the hint was
// wrong, or xenstore stalled that instant), holds up accepting only while it runs:
// once it returns, clients that connected meanwhile are served.
TEST_F(HttpServerTest, AQuickReadThatBlocksHoldsUpAcceptingOnlyWhileItRuns) {
  std::atomic<bool> release{false};
  ServerOptions opts = UnixOnly();
  opts.answers_at_once = [](const HttpRequest&) { return true; };
  StartServer(std::move(opts), [&](const HttpRequest& req) {
    if (req.path == "/block") Eventually(std::chrono::seconds(20), [&] { return release.load(); });
    return Echo(req);
  });
  auto stuck = RawClient::Unix(sock());
  stuck.Send("GET /block HTTP/1.0\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto waiting = RawClient::Unix(sock());  // in the backlog: connect() needs no accept
  waiting.Send("GET /after HTTP/1.0\r\n\r\n");
  release = true;
  EXPECT_NE(stuck.ReadAll().find("GET /block"), std::string::npos);
  EXPECT_NE(waiting.ReadAll().find("GET /after"), std::string::npos);
}

// Stopping the server with connections still open (one waiting for a head,
// one kept alive after a reply, one refused at its peer limit) frees every
// session while what it counts in is still there (under ASan: no
// use-after-free as the io_context drops their handlers).
TEST_F(HttpServerTest, StoppingWithConnectionsOpenFreesThemSafely) {
  ServerOptions opts = UnixOnly();
  opts.max_connections_per_peer = 2;
  StartServer(std::move(opts));
  auto waiting = RawClient::Unix(sock());
  waiting.Send("GET /xend/node/ HTTP/1.1\r\nHo");
  auto kept = RawClient::Unix(sock());
  kept.Send("GET /xend/node/ HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(kept.ReadUntil("END").find("HTTP/1.1 200"), std::string::npos);
  auto refused = RawClient::Unix(sock());
  ASSERT_TRUE(
      Eventually(std::chrono::seconds(5), [&] { return server_->stats().refused.load() == 1; }));
  server_.reset();
  EXPECT_EQ(waiting.ReadAll(), "");
  EXPECT_EQ(kept.ReadAll(), "");
}

// A source of news for deferred replies: parked requests' wakes, and how many
// watches are still held (a dropped handle lets its watch go).
class News {
 public:
  HandlerReply Handle(const HttpRequest& req) {
    if (req.path != "/wait") return Echo(req);
    auto ms = std::chrono::milliseconds(std::stoi(req.params.GetOr("ms", "30000")));
    auto watch = [this](std::function<void()> wake) {
      std::lock_guard lock(mu_);
      wakes_.push_back(std::move(wake));
      ++watching_;
      return std::shared_ptr<void>(nullptr, [this](void*) {
        std::lock_guard lock(mu_);
        --watching_;
      });
    };
    auto answer = [this] {
      std::lock_guard lock(mu_);
      return HttpResponse{200, "text/plain", "news=" + news_ + " END"};
    };
    return DeferredReply{ms, watch, answer};
  }
  void Publish(std::string news) {
    std::lock_guard lock(mu_);
    news_ = std::move(news);
    for (auto& wake : wakes_) wake();
    wakes_.clear();
  }
  int watching() {
    std::lock_guard lock(mu_);
    return watching_;
  }

 private:
  std::mutex mu_;
  std::string news_ = "none";
  std::vector<std::function<void()>> wakes_;
  int watching_ = 0;
};

TEST_F(HttpServerTest, ADeferredReplyIsSentWhenWokenOrAtItsDeadline) {
  News news;
  ServerOptions opts = UnixOnly();
  opts.wait_path_prefix = "/wait";
  StartServer(std::move(opts), [&](const HttpRequest& req) { return news.Handle(req); });
  auto woken = RawClient::Unix(sock());
  woken.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return news.watching() == 1; }));
  auto timed = RawClient::Unix(sock());
  timed.Send("GET /wait?ms=50 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(timed.ReadAll().find("news=none END"), std::string::npos);
  news.Publish("hello");
  EXPECT_NE(woken.ReadUntil("END").find("news=hello END"), std::string::npos);
  EXPECT_EQ(news.watching(), 0);
  woken.Send("GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");  // kept alive
  EXPECT_NE(woken.ReadAll().find("GET /after"), std::string::npos);
}

// A client that sends its next request while its long poll is parked gets
// both replies in order; the bytes it sent early are kept, not lost.
TEST_F(HttpServerTest, ARequestPipelinedBehindAParkedOneIsAnsweredAfterIt) {
  News news;
  ServerOptions opts = UnixOnly();
  opts.wait_path_prefix = "/wait";
  StartServer(std::move(opts), [&](const HttpRequest& req) { return news.Handle(req); });
  auto c = RawClient::Unix(sock());
  c.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return news.watching() == 1; }));
  c.Send("GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  timespec cpu0{}, cpu1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  std::cout << "CPU while parked with a pipelined request: "
            << (cpu1.tv_sec - cpu0.tv_sec) * 1000.0 + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e6
            << " ms in 300 ms\n";
  EXPECT_EQ(news.watching(), 1);  // still parked: early bytes are not a reason to answer
  news.Publish("first");
  std::string replies = c.ReadAll();
  size_t first = replies.find("news=first END"), next = replies.find("GET /next");
  EXPECT_NE(first, std::string::npos) << replies;
  EXPECT_NE(next, std::string::npos) << replies;
  EXPECT_LT(first, next) << replies;
}

// A parked client that goes away is dropped at once (its watch let go), and
// stopping the server with replies still parked sends nothing and frees them.
TEST_F(HttpServerTest, AParkedClientThatLeavesIsDroppedAndStoppingDropsTheRest) {
  News news;
  ServerOptions opts = UnixOnly();
  opts.wait_path_prefix = "/wait";
  StartServer(std::move(opts), [&](const HttpRequest& req) { return news.Handle(req); });
  {
    auto gone = RawClient::Unix(sock());
    gone.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return news.watching() == 1; }));
  }
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return news.watching() == 0; }));
  EXPECT_EQ(server_->stats().abandoned.load(), 1u);
  auto parked = RawClient::Unix(sock());
  parked.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(Eventually(std::chrono::seconds(5), [&] { return news.watching() == 1; }));
  server_.reset();
  EXPECT_EQ(parked.ReadAll(), "");
  EXPECT_EQ(news.watching(), 0);
  news.Publish("late");  // a stale wake finds its session gone
}

TEST_F(HttpServerTest, TcpIsOffUnlessAskedAndHonoursHostsAllow) {
  StartServer(UnixOnly());
  EXPECT_EQ(server_->tcp_port(), 0);
  server_.reset();

  ServerOptions opts;
  opts.tcp = TcpEndpoint{"127.0.0.1", 0};
  opts.hosts_allow = *HostAllowList::Parse("^localhost$");
  StartServer(std::move(opts));
  auto c = RawClient::Tcp(server_->tcp_port());
  c.Send("GET /xend/node/ HTTP/1.0\r\n\r\n");
  EXPECT_NE(c.ReadAll().find("peer=127.0.0.1"), std::string::npos);
  server_.reset();

  ServerOptions strict;
  strict.tcp = TcpEndpoint{"127.0.0.1", 0};
  strict.hosts_allow = *HostAllowList::Parse("^10\\.1\\.");
  StartServer(std::move(strict));
  auto refused = RawClient::Tcp(server_->tcp_port());
  std::string reply = refused.ReadAll();
  EXPECT_NE(reply.find("403"), std::string::npos) << reply;
  EXPECT_NE(reply.find("xend-hosts-allow"), std::string::npos) << reply;
}

TEST(HostAllowList, MatchesLikeXend) {
  auto list = HostAllowList::Parse("^localhost$ ^192\\.168\\.1\\.");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Allows("127.0.0.1"));
  EXPECT_TRUE(list->Allows("192.168.1.20"));
  EXPECT_FALSE(list->Allows("192.168.2.20"));
  EXPECT_TRUE(HostAllowList::Parse("")->Allows("8.8.8.8"));
  EXPECT_FALSE(HostAllowList::Parse("([").ok());
}

TEST(Form, DecodesLikeBrowsersAndLibvirt) {
  auto p = ParseForm("op=create&config=%28vm+%28name+demo%29%29&x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->GetOr("config", ""), "(vm (name demo))");
  EXPECT_TRUE(p->Has("x"));
  EXPECT_FALSE(ParseForm("a=%4").ok());
  auto t = ParseTarget("/xend/domain/a%20b?detail=1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->first, "/xend/domain/a b");
  EXPECT_FALSE(ParseTarget("xend").ok());
}

TEST(Form, XendErrorQuotes) {
  auto r = XendError(404, "Domain 'x' not found");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "(xend.err 'Domain \\'x\\' not found')");
}

}  // namespace
}  // namespace txend::http
