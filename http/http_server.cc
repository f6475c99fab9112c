#include "http/http_server.h"

#include <unistd.h>

#include <sys/stat.h>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/request_decoder.h"

namespace txend::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

// State every session shares with the server.
struct Shared {
  ServerOptions options;
  HttpServer::Handler handler;
  asio::thread_pool* workers = nullptr;
  ServerStats stats;
  std::atomic<size_t> open_connections{0};
};

bhttp::response<bhttp::string_body> ToBeast(const HttpResponse& r, unsigned version,
                                            bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::server, "txend");
  res.set(bhttp::field::content_type, r.content_type);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

// One client connection: read a request, run the handler on the worker pool,
// write the reply, repeat while the client keeps the connection alive.
template <class Protocol>
class Session : public std::enable_shared_from_this<Session<Protocol>> {
 public:
  Session(typename Protocol::socket socket, Shared& shared, std::string peer)
      : stream_(std::move(socket)), shared_(shared), peer_(std::move(peer)) {
    ++shared_.open_connections;
  }
  ~Session() { --shared_.open_connections; }

  void Start() { Read(); }

  // Replies once with `response` and closes (used for refused clients).
  void RefuseWith(const HttpResponse& response) {
    ++shared_.stats.refused;
    Send(response, 11, false);
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(shared_.options.max_body_bytes);
    parser_->header_limit(kMaxHeaderBytes);
    stream_.expires_after(shared_.options.io_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset)
      return Close();
    if (ec == beast::error::timeout) {
      ++shared_.stats.timeouts;
      return Close();
    }
    if (ec == bhttp::error::body_limit)
      return Send(XendError(413, "request body larger than " +
                                     std::to_string(shared_.options.max_body_bytes) + " bytes"),
                  11, false);
    if (ec) return Send(XendError(400, "malformed HTTP request: " + ec.message()), 11, false);

    auto req = parser_->release();
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    ++shared_.stats.requests;
    asio::post(*shared_.workers,
               [self = this->shared_from_this(), req = std::move(req), version, keep_alive] {
                 auto decoded = DecodeRequest(req, self->peer_);
                 HttpResponse response = decoded.ok() ? self->shared_.handler(*decoded)
                                                      : XendError(400, decoded.status().message());
                 asio::post(self->stream_.get_executor(),
                            [self, response = std::move(response), version, keep_alive] {
                              self->Send(response, version, keep_alive);
                            });
               });
  }

  void Send(const HttpResponse& response, unsigned version, bool keep_alive) {
    if (response.status >= 400) ++shared_.stats.error_replies;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        ToBeast(response, version, keep_alive));
    stream_.expires_after(shared_.options.io_timeout);
    bhttp::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive) return self->Close();
          self->Read();
        });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(Protocol::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::basic_stream<Protocol> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Shared& shared_;
  std::string peer_;
};

template <class Protocol>
class Listener : public std::enable_shared_from_this<Listener<Protocol>> {
 public:
  Listener(asio::io_context& ioc, typename Protocol::acceptor acceptor, Shared& shared)
      : ioc_(ioc), acceptor_(std::move(acceptor)), shared_(shared) {}

  void Accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_),
        [self = this->shared_from_this()](beast::error_code ec, typename Protocol::socket s) {
          if (ec == asio::error::operation_aborted) return;
          if (!ec) self->Serve(std::move(s));
          self->Accept();
        });
  }

  void Cancel() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void Serve(typename Protocol::socket socket) {
    ++shared_.stats.connections;
    std::string peer = PeerOf(socket);
    auto session = std::make_shared<Session<Protocol>>(std::move(socket), shared_, peer);
    if (shared_.open_connections > shared_.options.max_connections)
      return session->RefuseWith(XendError(503, "too many connections"));
    if constexpr (std::is_same_v<Protocol, tcp>) {
      if (!shared_.options.hosts_allow.Allows(peer))
        return session->RefuseWith(
            XendError(403, "client " + peer + " is not in xend-hosts-allow"));
    }
    session->Start();
  }

  static std::string PeerOf(typename Protocol::socket& socket) {
    if constexpr (std::is_same_v<Protocol, tcp>) {
      beast::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      return ec ? std::string("unknown") : ep.address().to_string();
    } else {
      return "unix";
    }
  }

  asio::io_context& ioc_;
  typename Protocol::acceptor acceptor_;
  Shared& shared_;
};

}  // namespace

struct HttpServer::Impl {
  Shared shared;
  asio::io_context ioc;
  asio::thread_pool workers;
  std::shared_ptr<Listener<local>> unix_listener;
  std::shared_ptr<Listener<tcp>> tcp_listener;
  uint16_t tcp_port = 0;
  std::vector<std::thread> io_threads;

  explicit Impl(int worker_threads) : workers(static_cast<size_t>(worker_threads)) {}
};

namespace {

Result<local::acceptor> BindUnix(asio::io_context& ioc, const std::string& path, unsigned mode) {
  ::unlink(path.c_str());  // a stale socket from a previous run
  beast::error_code ec;
  local::acceptor acceptor(ioc);
  acceptor.open(local::endpoint(path).protocol(), ec);
  mode_t old_mask = ::umask(0177);  // never world-accessible, even briefly
  if (!ec) acceptor.bind(local::endpoint(path), ec);
  ::umask(old_mask);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error(ec.value(), "cannot listen on " + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0) return Status::Error(errno, "cannot chmod " + path);
  return acceptor;
}

Result<tcp::acceptor> BindTcp(asio::io_context& ioc, const TcpEndpoint& where) {
  beast::error_code ec;
  auto address = asio::ip::make_address(where.address, ec);
  if (ec) return Status::Error(EINVAL, "bad listen address '" + where.address + "'");
  tcp::endpoint ep(address, where.port);
  tcp::acceptor acceptor(ioc);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::Error(ec.value(), "cannot listen on " + where.address + ":" +
                                         std::to_string(where.port) + ": " + ec.message());
  return acceptor;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options, Handler handler) {
  if (options.unix_socket.empty() && !options.tcp)
    return Status::Error(EINVAL, "no listener configured (neither unix socket nor TCP)");
  auto impl = std::make_unique<Impl>(options.worker_threads);
  impl->shared.options = std::move(options);
  impl->shared.handler = std::move(handler);
  impl->shared.workers = &impl->workers;
  const ServerOptions& opts = impl->shared.options;
  if (!opts.unix_socket.empty()) {
    TXEND_ASSIGN_OR_RETURN(auto acceptor, BindUnix(impl->ioc, opts.unix_socket, opts.unix_mode));
    impl->unix_listener =
        std::make_shared<Listener<local>>(impl->ioc, std::move(acceptor), impl->shared);
    impl->unix_listener->Accept();
  }
  if (opts.tcp) {
    TXEND_ASSIGN_OR_RETURN(auto acceptor, BindTcp(impl->ioc, *opts.tcp));
    impl->tcp_port = acceptor.local_endpoint().port();
    impl->tcp_listener =
        std::make_shared<Listener<tcp>>(impl->ioc, std::move(acceptor), impl->shared);
    impl->tcp_listener->Accept();
  }
  Impl* raw = impl.get();
  for (int i = 0; i < 2; ++i) impl->io_threads.emplace_back([raw] { raw->ioc.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  impl_->workers.join();
  impl_->ioc.stop();
  for (auto& t : impl_->io_threads) t.join();
  if (!impl_->shared.options.unix_socket.empty())
    ::unlink(impl_->shared.options.unix_socket.c_str());
}

uint16_t HttpServer::tcp_port() const { return impl_->tcp_port; }
const ServerStats& HttpServer::stats() const { return impl_->shared.stats; }

}  // namespace txend::http
