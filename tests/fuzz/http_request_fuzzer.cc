// Fuzz target: txend's HTTP request path up to the handler — Boost.Beast's
// request parser with the server's limits, DecodeRequest (target, query and
// form decoding), and the domain config a create/new request carries
// (sxp::Parse + FromSxp), as XendApi reads it. Checked: a config FromSxp
// accepts comes back unchanged from its own SXP (ToSxp -> FromSxp), which is
// how managed domains are stored and reloaded.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <boost/asio/buffer.hpp>

#include "http/request_decoder.h"
#include "sxp/sxp.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/config/random_ids.h"

namespace {

using namespace txend;
namespace bhttp = boost::beast::http;

// Parses `bytes` as one request, as the server's async_read would.
std::optional<http::BeastRequest> ParseHttp(std::string_view bytes) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 10);
  parser.header_limit(http::kMaxHeaderBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  while (!bytes.empty() && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == bhttp::error::need_more) break;
    if (ec) return std::nullopt;
    bytes.remove_prefix(used);
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return std::nullopt;
  }
  return parser.release();
}

void CheckConfig(const std::string& text) {
  auto vm = sxp::Parse(text);
  if (!vm.ok()) return;
  auto config = toolstack::FromSxp(*vm, toolstack::SeededRandomBytes(1));
  if (!config.ok()) return;
  sxp::Value stored = toolstack::ToSxp(*config);
  auto reloaded = toolstack::FromSxp(stored, toolstack::SeededRandomBytes(2));
  if (reloaded.ok() && *reloaded == *config) return;
  fprintf(stderr, "http_request_fuzzer: config does not survive ToSxp -> FromSxp (%s):\n%s\n",
          reloaded.ok() ? "changed" : reloaded.status().ToString().c_str(),
          sxp::ToString(stored).c_str());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto req = ParseHttp(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!req) return 0;
  auto decoded = http::DecodeRequest(*req, "unix");
  if (!decoded.ok()) {
    (void)http::XendError(400, decoded.status().message());
    return 0;
  }
  for (const std::string& config : decoded->params.GetAll("config")) CheckConfig(config);
  return 0;
}
