#include "txend/relocation_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cstring>
#include <list>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>

#include "base/unique_fd.h"
#include "toolstack/migration/migration_protocol.h"

namespace txend::daemon {
namespace {

std::string PeerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  char text[INET6_ADDRSTRLEN] = "?";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return text;
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
  else if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text);
  return text;
}

Result<UniqueFd> Listen(const http::TcpEndpoint& where) {
  std::string what = "relocation server on " + where.address + ":" + std::to_string(where.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const char* host = where.address.empty() ? nullptr : where.address.c_str();
  if (int rc = getaddrinfo(host, std::to_string(where.port).c_str(), &hints, &found); rc != 0)
    return Status::Error(EINVAL, what + ": " + gai_strerror(rc));
  UniqueFd fd(socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  bool ok = fd && setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            bind(fd.get(), found->ai_addr, found->ai_addrlen) == 0 && listen(fd.get(), 16) == 0;
  int err = errno;
  freeaddrinfo(found);
  if (!ok) return Status::Error(err, what + ": " + std::strerror(err));
  return fd;
}

}  // namespace

struct RelocationServer::Impl {
  Impl(toolstack::Toolstack& t, Options o, Log l)
      : toolstack(t), options(std::move(o)), log(std::move(l)) {}
  struct Connection {
    std::shared_ptr<toolstack::TcpSocket> socket;
    std::thread thread;
    bool finished = false;
  };

  void AcceptLoop();
  void Serve(UniqueFd fd);
  void Receive(Connection& c, const std::string& peer);
  void ReapFinished();  // mu held

  toolstack::Toolstack& toolstack;
  Options options;
  Log log;
  UniqueFd listen_fd;
  UniqueFd wake_in, wake_out;  // a pipe: the destructor writes to stop the acceptor
  uint16_t port = 0;
  std::thread acceptor;
  std::mutex mu;
  std::list<Connection> connections;
};

void RelocationServer::Impl::AcceptLoop() {
  while (true) {
    pollfd p[2] = {{listen_fd.get(), POLLIN, 0}, {wake_in.get(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) return;
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    UniqueFd fd(accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (fd) Serve(std::move(fd));
  }
}

void RelocationServer::Impl::Serve(UniqueFd fd) {
  std::string peer = PeerAddress(fd.get());
  if (!options.hosts_allow.Allows(peer)) {
    log("relocation: refused a connection from " + peer + " (not in xend-relocation-hosts-allow)");
    return;
  }
  std::lock_guard lock(mu);
  ReapFinished();
  if (connections.size() >= options.max_connections) {
    log("relocation: refused a connection from " + peer + " (" +
        std::to_string(connections.size()) + " migrations already in progress)");
    return;
  }
  Connection& c = connections.emplace_back();
  c.socket = std::make_shared<toolstack::TcpSocket>(std::move(fd));
  c.thread = std::thread([this, &c, peer] { Receive(c, peer); });
}

namespace {

// The source learns why (it reads the REFUSE after its HELLO); nothing is created.
Status RefuseUnauthenticated(toolstack::TcpSocket& socket) {
  Status why = Status::Error(
      EACCES,
      "this host takes no migrations from unauthenticated peers on its plain relocation port: "
      "migrate with ssl (xm migrate --ssl) and a certificate its CA signed, or set "
      "(txend-relocation-insecure yes) on it");
  (void)toolstack::ReadHello(socket.fd());
  (void)toolstack::SendMessage(socket.fd(),
                               {toolstack::MessageType::kRefuse, why.code(), why.message()});
  return why;
}

}  // namespace

void RelocationServer::Impl::Receive(Connection& c, const std::string& peer) {
  Status ready = c.socket->SetIoTimeout(options.io_timeout);  // bounds the TLS handshake too
  if (ready.ok() && options.tls) ready = c.socket->StartTls(true, *options.tls);
  if (!ready.ok() && options.tls) c.socket->Linger(std::chrono::seconds(2));  // the peer reads why
  std::string who = !options.tls                      ? "unauthenticated"
                    : c.socket->PeerSubject().empty() ? "no certificate"
                                                      : c.socket->PeerSubject();
  if (ready.ok())
    log("relocation: incoming migration from " + peer + (options.tls ? " (ssl)" : "") + " by " +
        who);
  if (ready.ok() && !options.tls && !options.insecure) ready = RefuseUnauthenticated(*c.socket);
  auto in = ready.ok() ? toolstack.migration().ReceiveMigration(*c.socket, options.io_timeout)
                       : Result<toolstack::IncomingMigration>(ready);
  char line[1024];
  if (in.ok())
    snprintf(line, sizeof line,
             "relocation: received '%s' from %s (%s) as domain %u (%s): %.1f MB in %.2f s",
             in->name.c_str(), peer.c_str(), who.c_str(), in->domid, in->live ? "live" : "not live",
             static_cast<double>(in->bytes_received) / 1e6, in->total_s);
  else
    snprintf(line, sizeof line,
             "relocation: incoming migration from %s failed: %s (%llu bytes received)",
             peer.c_str(), in.status().message().c_str(),
             static_cast<unsigned long long>(c.socket->BytesReceived()));
  log(line);
  std::shared_ptr<toolstack::TcpSocket> done;
  {
    std::lock_guard lock(mu);
    done = std::move(c.socket);
    c.finished = true;
  }
  done.reset();  // closes the connection now, not when the thread is reaped
}

void RelocationServer::Impl::ReapFinished() {
  for (auto it = connections.begin(); it != connections.end();) {
    if (!it->finished) {
      ++it;
      continue;
    }
    it->thread.join();
    it = connections.erase(it);
  }
}

Result<std::unique_ptr<RelocationServer>> RelocationServer::Start(toolstack::Toolstack& toolstack,
                                                                  Options options, Log log) {
  auto impl = std::make_unique<Impl>(toolstack, std::move(options), std::move(log));
  TXEND_ASSIGN_OR_RETURN(impl->listen_fd, Listen(impl->options.endpoint));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(impl->listen_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  impl->port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) return Status::Error(errno, "relocation server: pipe");
  impl->wake_in.reset(wake[0]);
  impl->wake_out.reset(wake[1]);
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<RelocationServer>(new RelocationServer(std::move(impl)));
}

RelocationServer::RelocationServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RelocationServer::~RelocationServer() {
  (void)!write(impl_->wake_out.get(), "x", 1);
  impl_->acceptor.join();
  std::list<Impl::Connection> open;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& c : impl_->connections)
      if (c.socket) c.socket->Shutdown();
    open.splice(open.end(), impl_->connections);
  }
  for (auto& c : open) c.thread.join();
}

uint16_t RelocationServer::port() const { return impl_->port; }

}  // namespace txend::daemon
