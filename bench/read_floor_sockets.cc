#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "bench/read_floor_parts.h"
#include "tests/support/sockets.h"
#include "toolstack/xs/connection.h"
#include "xsd/published_generation.h"

namespace txend::bench {
namespace {

bool ReadFull(int fd, std::string& buf) {
  for (size_t got = 0; got < buf.size();) {
    ssize_t n = read(fd, buf.data() + got, buf.size() - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// The server's end of one connection: accept, the peer's credentials (whom the
// request is from), the read that sees the client's close, close.
bool ServeOneConnection(int listener) {
  UniqueFd fd(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) return false;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  char c;
  return read(fd.get(), &c, 1) == 0;
}

sockaddr_un UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  return addr;
}

Result<UniqueFd> ListenAt(const sockaddr_un& addr) {
  UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener ||
      bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener.get(), 128) != 0)
    return Status::Error(errno, std::string("cannot listen on ") + addr.sun_path);
  return listener;
}

bool ConnectAndClose(const sockaddr_un& addr) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

Result<SocketFloor> MeasureRoundTrips(size_t request_bytes, size_t reply_bytes,
                                      const FloorSettings& s) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Status::Error(errno, "socketpair");
  UniqueFd client(sv[0]), server(sv[1]);
  std::vector<double> server_us;
  bool server_failed = false;
  std::thread serving([&] {
    std::string in(request_bytes, '\0'), out(reply_bytes, 'r');
    for (int r = -1; r < s.repeats && !server_failed; ++r) {  // -1: PerOp's warm-up batch
      double start = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
      for (int i = 0; i < s.batch && !server_failed; ++i)
        server_failed = !ReadFull(server.get(), in) || !testing::SendAll(server.get(), out);
      if (r >= 0)
        server_us.push_back((CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / s.batch);
    }
    if (server_failed) shutdown(server.get(), SHUT_RDWR);
  });
  std::string out(request_bytes, 'q'), in(reply_bytes, '\0');
  bool failed = false;
  SocketFloor f;
  f.both_ends = PerOp(
      s.repeats, s.batch,
      [&] {
        failed = failed || !testing::SendAll(client.get(), out) || !ReadFull(client.get(), in);
      },
      CLOCK_PROCESS_CPUTIME_ID);
  if (failed) shutdown(client.get(), SHUT_RDWR);
  serving.join();
  if (failed || server_failed) return Status::Error(EIO, "a round trip failed");
  f.server_end = Summarize(std::move(server_us));
  return f;
}

Result<SocketFloor> MeasureNewConnections(const std::string& dir, const FloorSettings& s) {
  std::string path = dir + "/floor.sock";
  sockaddr_un addr = UnixAddress(path);
  TXEND_ASSIGN_OR_RETURN(UniqueFd listener, ListenAt(addr));
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Error(errno, "pipe");
  UniqueFd batch_done(fds[0]), batch_done_writer(fds[1]);
  std::vector<double> server_us;
  bool server_failed = false;
  std::thread serving([&] {
    for (int r = -1; r < s.repeats && !server_failed; ++r) {  // -1: a warm-up batch
      double start = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
      for (int i = 0; i < s.batch && !server_failed; ++i)
        server_failed = !ServeOneConnection(listener.get());
      if (r >= 0)
        server_us.push_back((CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / s.batch);
      (void)!write(batch_done_writer.get(), "x", 1);
    }
    if (server_failed) shutdown(listener.get(), SHUT_RDWR);  // connects are refused from now
    batch_done_writer.reset();  // the client's wait ends, whatever happened
  });
  std::vector<double> both_us;
  bool failed = false;
  for (int r = -1; r < s.repeats && !failed; ++r) {
    double start = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < s.batch && !failed; ++i) failed = !ConnectAndClose(addr);
    char c;
    // the server has served the batch: its CPU is in this batch's figure
    failed = failed || read(batch_done.get(), &c, 1) != 1;
    if (r >= 0) both_us.push_back((CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - start) * 1e6 / s.batch);
  }
  if (failed) shutdown(listener.get(), SHUT_RDWR);  // a blocked accept returns
  serving.join();
  unlink(path.c_str());
  if (failed || server_failed) return Status::Error(EIO, "a connection failed");
  return SocketFloor{Summarize(std::move(both_us)), Summarize(std::move(server_us))};
}

Result<CpuFigure> MeasureWriteGenerationRead(const std::string& dir, const FloorSettings& s) {
  std::string path = dir + "/generation.sock";
  TXEND_ASSIGN_OR_RETURN(UniqueFd listener, ListenAt(UnixAddress(path)));
  TXEND_ASSIGN_OR_RETURN(auto page, xsd::PublishedGeneration::Create(path, 7));
  TXEND_ASSIGN_OR_RETURN(auto conn, xs::Connection::Open(path));
  UniqueFd peer(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));  // the daemon's end
  if (!peer) return Status::Error(errno, "accept");
  bool failed = false;
  CpuFigure f =
      PerOp(s.repeats, s.batch, [&] { failed |= conn->PublishedWriteGeneration() != 7u; });
  if (failed) return Status::Error(EIO, "the write generation was not read");
  return f;
}

}  // namespace txend::bench
