#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http.hpp>

#include "bench/read_floor_parts.h"
#include "http/request_decoder.h"

namespace txend::bench {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// Parsed by Beast and decoded as http_server.cc's connection does; false on an error.
bool ParseRequest(const std::string& bytes) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(http::kMaxHeaderBytes);
  parser.body_limit(1 << 20);
  beast::error_code ec;
  parser.put(boost::asio::buffer(bytes), ec);
  if (ec || !parser.is_done()) return false;
  auto decoded = http::DecodeRequest(parser.release(), "unix");
  return decoded.ok() && decoded->params.Has("detail");
}

// The reply built as http_server.cc's ToBeast does and serialized; its size.
size_t SerializeReply(std::string body) {
  bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
  res.set(bhttp::field::server, "txend");
  res.set(bhttp::field::content_type, "application/sxp");
  res.keep_alive(true);
  res.body() = std::move(body);
  res.prepare_payload();
  bhttp::response_serializer<bhttp::string_body> sr{res};
  size_t bytes = 0;
  beast::error_code ec;
  do {
    sr.next(ec, [&](beast::error_code&, const auto& buffers) {
      size_t n = beast::buffer_bytes(buffers);  // what one write(2) of the reply takes
      bytes += n;
      sr.consume(n);
    });
  } while (!ec && !sr.is_done());
  return ec ? 0 : bytes;
}

}  // namespace

std::string DetailReadRequest(const std::string& name) {
  return "GET /xend/domain/" + name +
         "?detail=1 HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n"
         "Content-Type: application/x-www-form-urlencoded\r\n\r\n";
}

Result<HttpFloor> MeasureHttpMessages(const std::string& request, const std::string& body,
                                      const FloorSettings& s) {
  HttpFloor f;
  f.reply_bytes = SerializeReply(body);
  bool failed = !ParseRequest(request) || f.reply_bytes == 0;
  f.cpu = PerOp(s.repeats, s.batch, [&] {
    failed |= !ParseRequest(request);
    failed |= SerializeReply(body) != f.reply_bytes;  // the body's copy: ~50 ns
  });
  if (failed) return Status::Error(EINVAL, "the request or the reply did not go through Beast");
  return f;
}

}  // namespace txend::bench
