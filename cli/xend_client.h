// xm's connection to txend: one HTTP/1.1 request per call, over txend's unix
// socket or TCP, with form-encoded POST bodies (what xend's HTTP API expects).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace txend::xm {

// Where txend listens: a unix socket path, or a TCP host and port.
struct XendEndpoint {
  std::string unix_path;
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
};

// TXEND_SOCKET (a path) wins; else XM_SERVER (httpu:///path or
// http://host[:port]/); else xend's default socket /var/lib/xend/xend-socket.
Result<XendEndpoint> EndpointFromEnvironment();

struct XendReply {
  int status = 0;
  std::string body;
};

using Form = std::vector<std::pair<std::string, std::string>>;

class XendClient {
 public:
  explicit XendClient(XendEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
  // Transport failures are errno-coded Status values (ECONNREFUSED, ENOENT, EIO...).
  Result<XendReply> Get(const std::string& target);
  Result<XendReply> Post(const std::string& target, const Form& form);
  const XendEndpoint& endpoint() const { return endpoint_; }

 private:
  Result<XendReply> Request(bool post, const std::string& target, const std::string& body);
  XendEndpoint endpoint_;
};

// application/x-www-form-urlencoded encoding of one value.
std::string FormEncode(const std::string& s);

}  // namespace txend::xm
