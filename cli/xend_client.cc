#include "cli/xend_client.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include "base/numbers.h"

namespace txend::xm {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

constexpr char kDefaultSocket[] = "/var/lib/xend/xend-socket";
constexpr uint16_t kDefaultPort = 8000;
constexpr size_t kReadChunk = 64 << 10;

Status TransportError(const boost::system::error_code& ec) {
  int code = ec.category() == boost::system::system_category() ||
                     ec.category() == boost::system::generic_category()
                 ? ec.value()
                 : EIO;
  return Status::Error(code ? code : EIO, ec.message());
}

Result<XendEndpoint> ParseServerUri(const std::string& uri) {
  XendEndpoint e;
  if (uri.starts_with("httpu://")) {
    e.unix_path = uri.substr(8);
    if (e.unix_path.empty())
      return Status::Error(EINVAL, "XM_SERVER: no socket path in '" + uri + "'");
    return e;
  }
  bool https = uri.starts_with("https://");
  if (!uri.starts_with("http://") && !https)
    return Status::Error(EINVAL,
                         "XM_SERVER: expected httpu:///path, http://host:port/ or "
                         "https://host:port/, got '" +
                             uri + "'");
  if (https) e.tls = ClientTls{};
  std::string rest = uri.substr(https ? 8 : 7);
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  e.host = rest.substr(0, colon);
  e.port = kDefaultPort;
  if (colon != std::string::npos) {
    auto port = ParseInteger<uint16_t>(std::string_view(rest).substr(colon + 1));
    if (!port.ok() || *port == 0)
      return Status::Error(EINVAL, "XM_SERVER: bad port in '" + uri + "'");
    e.port = *port;
  }
  if (e.host.empty()) return Status::Error(EINVAL, "XM_SERVER: no host in '" + uri + "'");
  return e;
}

std::string Seconds(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

Status ConnectFailure(const beast::error_code& ec, std::chrono::milliseconds limit) {
  if (ec == beast::error::timeout)
    return Status::Error(ETIMEDOUT, "Unable to connect to xend: no connection within " +
                                        Seconds(limit) + ". Is xend running?");
  return TransportError(ec);
}

Status ReplyFailure(const beast::error_code& ec, std::chrono::milliseconds limit) {
  if (ec == beast::error::timeout)
    return Status::Error(ETIMEDOUT, "xend did not answer within " + Seconds(limit) +
                                        "; the request may still be carried out "
                                        "(XM_TIMEOUT=SECONDS waits longer).");
  return TransportError(ec);
}

// A unix socket's connect fails with EAGAIN, rather than waiting, while the
// server's backlog is full: it is tried again until the deadline.
Status ConnectUnix(asio::local::stream_protocol::socket& socket, const std::string& path,
                   std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  beast::error_code ec;
  socket.open(asio::local::stream_protocol(), ec);
  if (!ec) socket.non_blocking(true, ec);
  while (!ec) {
    socket.connect(asio::local::stream_protocol::endpoint(path), ec);
    // Asio reports that EAGAIN as no_buffer_space.
    if (ec != asio::error::no_buffer_space && ec != asio::error::try_again) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return ConnectFailure(beast::error::timeout, limit);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ec = {};
  }
  return ec ? ConnectFailure(ec, limit) : Status::Ok();
}

// Connects to one of `addresses` within `limit`.
Status ConnectTcp(asio::io_context& io, beast::tcp_stream& stream,
                  const asio::ip::tcp::resolver::results_type& addresses,
                  std::chrono::milliseconds limit) {
  Status st = Status::Ok();
  stream.expires_after(limit);
  stream.async_connect(addresses, [&](beast::error_code ec, const auto&) {
    if (ec) st = ConnectFailure(ec, limit);
  });
  io.run();
  io.restart();
  return st;
}

// TLS 1.2 or later, xm's certificate if it has one, the server's checked against the CAs.
Result<std::unique_ptr<asio::ssl::context>> ClientContext(const ClientTls& tls) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  auto fail = [&](const std::string& what) {
    return Status::Error(EINVAL, what + ": " + ec.message());
  };
  if (tls.ca_file.empty())
    ctx->set_default_verify_paths(ec);
  else
    ctx->load_verify_file(tls.ca_file, ec);
  if (ec) return fail("XM_CA " + tls.ca_file);
  if (!tls.cert_file.empty()) {
    if (ctx->use_certificate_chain_file(tls.cert_file, ec); ec)
      return fail("XM_CERT " + tls.cert_file);
    if (ctx->use_private_key_file(tls.key_file.empty() ? tls.cert_file : tls.key_file,
                                  asio::ssl::context::pem, ec);
        ec)
      return fail("XM_KEY " + tls.key_file);
  }
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (ec) return fail("TLS");
  return ctx;
}

// Handshakes within `limit`, checking that the server's certificate names `host`.
Status Handshake(asio::io_context& io, beast::ssl_stream<beast::tcp_stream>& stream,
                 const std::string& host, std::chrono::milliseconds limit) {
  SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  stream.set_verify_callback(asio::ssl::host_name_verification(host));
  Status st = Status::Ok();
  beast::get_lowest_layer(stream).expires_after(limit);
  stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec) {
    if (ec) st = Status::Error(EPROTO, "TLS with txend at " + host + " failed: " + ec.message());
  });
  io.run();
  io.restart();
  return st;
}

// Sends `req` on the connected `stream` and reads the whole reply within `limit`.
template <typename Stream>
Result<XendReply> Exchange(asio::io_context& io, Stream& stream,
                           const http::request<http::string_body>& req,
                           std::chrono::milliseconds limit) {
  // Beast reads as much as the buffer has room for, and at least 512 bytes: with
  // room for 64 KiB, a 760 KiB reply is 13 reads rather than 1500 (each one a
  // wake-up, a timer reset and a recvmsg).
  beast::flat_buffer buffer;
  buffer.reserve(kReadChunk);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  Result<XendReply> result = Status::Error(EIO, "no reply");
  beast::get_lowest_layer(stream).expires_after(limit);
  http::async_write(stream, req, [&](beast::error_code ec, size_t) {
    if (ec) return void(result = ReplyFailure(ec, limit));
    http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
      if (ec) return void(result = ReplyFailure(ec, limit));
      result =
          XendReply{static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
    });
  });
  io.run();
  return result;
}

}  // namespace

Result<XendTimeouts> TimeoutsFromEnvironment() {
  XendTimeouts t;
  const char* text = std::getenv("XM_TIMEOUT");
  if (!text || !*text) return t;
  auto seconds = ParseInteger<uint32_t>(text);
  if (!seconds.ok() || *seconds < 1 || *seconds > 86400)
    return Status::Error(
        EINVAL, "XM_TIMEOUT: expected a number of seconds (1 to 86400), got " + Quoted(text));
  t.reply = t.long_reply = std::chrono::seconds(*seconds);
  t.connect = std::min(t.connect, t.reply);
  return t;
}

std::string XendEndpoint::ToString() const {
  if (!unix_path.empty()) return unix_path;
  return (tls ? "https://" : "http://") + host + ":" + std::to_string(port) + "/";
}

Result<XendEndpoint> EndpointFromEnvironment() {
  if (const char* path = std::getenv("TXEND_SOCKET"); path && *path)
    return XendEndpoint{path, "", 0, std::nullopt};
  if (const char* uri = std::getenv("XM_SERVER"); uri && *uri) {
    TXEND_ASSIGN_OR_RETURN(XendEndpoint e, ParseServerUri(uri));
    auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v ? v : "");
    };
    if (e.tls) e.tls = ClientTls{env("XM_CERT"), env("XM_KEY"), env("XM_CA")};
    return e;
  }
  return XendEndpoint{kDefaultSocket, "", 0, std::nullopt};
}

std::string FormEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<XendReply> XendClient::Get(const std::string& target) {
  return Request(false, target, "", timeouts_.reply);
}

Result<XendReply> XendClient::Post(const std::string& target, const Form& form, ReplyWait wait) {
  std::string body;
  for (const auto& [k, v] : form)
    body += (body.empty() ? "" : "&") + FormEncode(k) + "=" + FormEncode(v);
  return Request(true, target, body,
                 wait == ReplyWait::kLong ? timeouts_.long_reply : timeouts_.reply);
}

Result<XendReply> XendClient::Request(bool post, const std::string& target, const std::string& body,
                                      std::chrono::milliseconds reply_timeout) {
  http::request<http::string_body> req{post ? http::verb::post : http::verb::get, target, 11};
  req.set(http::field::host, endpoint_.unix_path.empty() ? endpoint_.host : "localhost");
  req.set(http::field::user_agent, "xm (txend)");
  req.set(http::field::accept, "application/sxp");  // xend answers HTML to other agents
  req.set(http::field::accept_encoding, "identity");
  if (post) req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = body;
  req.prepare_payload();

  asio::io_context io;
  if (!endpoint_.unix_path.empty()) {
    asio::local::stream_protocol::socket socket(io);
    TXEND_RETURN_IF_ERROR(ConnectUnix(socket, endpoint_.unix_path, timeouts_.connect));
    beast::basic_stream<asio::local::stream_protocol> stream(std::move(socket));
    return Exchange(io, stream, req, reply_timeout);
  }
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto addresses = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
  if (ec) return TransportError(ec);
  if (endpoint_.tls) {
    TXEND_ASSIGN_OR_RETURN(auto ctx, ClientContext(*endpoint_.tls));
    beast::ssl_stream<beast::tcp_stream> stream(io, *ctx);
    TXEND_RETURN_IF_ERROR(
        ConnectTcp(io, beast::get_lowest_layer(stream), addresses, timeouts_.connect));
    TXEND_RETURN_IF_ERROR(Handshake(io, stream, endpoint_.host, timeouts_.connect));
    return Exchange(io, stream, req, reply_timeout);
  }
  beast::tcp_stream stream(io);
  TXEND_RETURN_IF_ERROR(ConnectTcp(io, stream, addresses, timeouts_.connect));
  return Exchange(io, stream, req, reply_timeout);
}

}  // namespace txend::xm
