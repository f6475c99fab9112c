// DecodeRequest: a request as Boost.Beast parsed it, turned into what txend's
// handlers see (decoded path, query parameters, then form-body parameters).
// Pure, so the HTTP request path is fuzzed without sockets.
#pragma once

#include <cstddef>
#include <string>

#include <boost/beast/http.hpp>

#include "base/result.h"
#include "http/http_message.h"

namespace txend::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Largest request head (request line + headers) txend reads.
inline constexpr size_t kMaxHeaderBytes = 16 * 1024;

// EINVAL (a 400 for the client) for a malformed target or form body.
Result<HttpRequest> DecodeRequest(const BeastRequest& req, const std::string& peer);

}  // namespace txend::http
