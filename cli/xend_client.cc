#include "cli/xend_client.h"

#include <cerrno>
#include <cstdlib>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "base/numbers.h"

namespace txend::xm {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

constexpr char kDefaultSocket[] = "/var/lib/xend/xend-socket";
constexpr uint16_t kDefaultPort = 8000;

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
  if (!uri.starts_with("http://"))
    return Status::Error(
        EINVAL, "XM_SERVER: expected httpu:///path or http://host:port/, got '" + uri + "'");
  std::string rest = uri.substr(7);
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

template <typename Stream>
Result<XendReply> Exchange(Stream& stream, const http::request<http::string_body>& req) {
  boost::system::error_code ec;
  http::write(stream, req, ec);
  if (ec) return TransportError(ec);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser, ec);
  if (ec) return TransportError(ec);
  return XendReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace

std::string XendEndpoint::ToString() const {
  return unix_path.empty() ? "http://" + host + ":" + std::to_string(port) + "/" : unix_path;
}

Result<XendEndpoint> EndpointFromEnvironment() {
  if (const char* path = std::getenv("TXEND_SOCKET"); path && *path)
    return XendEndpoint{path, "", 0};
  if (const char* uri = std::getenv("XM_SERVER"); uri && *uri) return ParseServerUri(uri);
  return XendEndpoint{kDefaultSocket, "", 0};
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

Result<XendReply> XendClient::Get(const std::string& target) { return Request(false, target, ""); }

Result<XendReply> XendClient::Post(const std::string& target, const Form& form) {
  std::string body;
  for (const auto& [k, v] : form)
    body += (body.empty() ? "" : "&") + FormEncode(k) + "=" + FormEncode(v);
  return Request(true, target, body);
}

Result<XendReply> XendClient::Request(bool post, const std::string& target,
                                      const std::string& body) {
  http::request<http::string_body> req{post ? http::verb::post : http::verb::get, target, 11};
  req.set(http::field::host, endpoint_.unix_path.empty() ? endpoint_.host : "localhost");
  req.set(http::field::user_agent, "xm (txend)");
  req.set(http::field::accept_encoding, "identity");
  if (post) req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = body;
  req.prepare_payload();

  asio::io_context io;
  boost::system::error_code ec;
  if (!endpoint_.unix_path.empty()) {
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(endpoint_.unix_path), ec);
    if (ec) return TransportError(ec);
    return Exchange(socket, req);
  }
  asio::ip::tcp::resolver resolver(io);
  auto addresses = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
  if (ec) return TransportError(ec);
  asio::ip::tcp::socket socket(io);
  asio::connect(socket, addresses, ec);
  if (ec) return TransportError(ec);
  return Exchange(socket, req);
}

}  // namespace txend::xm
