// xm's connection to txend: one HTTP/1.1 request per call, over txend's unix
// socket or TCP, with form-encoded POST bodies (what xend's HTTP API expects).
// Connecting and the whole reply each have a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace txend::xm {

// xm's side of HTTPS: its certificate and key (optional; a txend with mutual
// TLS requires them) and the CAs the server's certificate must chain to ("":
// the system's). The server's certificate must name the host xm dialed.
struct ClientTls {
  std::string cert_file, key_file, ca_file;  // XM_CERT, XM_KEY, XM_CA
};

// Where txend listens: a unix socket path, or a TCP host and port (HTTPS when tls is set).
struct XendEndpoint {
  std::string unix_path;
  std::string host;
  uint16_t port = 0;
  std::optional<ClientTls> tls;
  std::string ToString() const;
};

// TXEND_SOCKET (a path) wins; else XM_SERVER (httpu:///path, http://host[:port]/
// or https://host[:port]/ with XM_CERT, XM_KEY, XM_CA); else xend's default
// socket /var/lib/xend/xend-socket.
Result<XendEndpoint> EndpointFromEnvironment();

// How long xm waits for txend: to connect, and for a whole reply to a query or
// quick operation, or to one that may take long (creating, saving, migrating).
struct XendTimeouts {
  std::chrono::milliseconds connect{std::chrono::seconds(10)};
  std::chrono::milliseconds reply{std::chrono::seconds(60)};
  std::chrono::milliseconds long_reply{std::chrono::hours(1)};
};

// The defaults, or with XM_TIMEOUT=SECONDS (1 to 86400) that many seconds for
// every reply (and at most that for connecting). EINVAL for anything else.
Result<XendTimeouts> TimeoutsFromEnvironment();

struct XendReply {
  int status = 0;
  std::string body;
};

using Form = std::vector<std::pair<std::string, std::string>>;

// Which reply deadline a request gets.
enum class ReplyWait { kShort, kLong };

class XendClient {
 public:
  explicit XendClient(XendEndpoint endpoint, XendTimeouts timeouts = {})
      : endpoint_(std::move(endpoint)), timeouts_(timeouts) {}
  // Transport failures are errno-coded Status values (ECONNREFUSED, ENOENT, EIO...);
  // a deadline passed is ETIMEDOUT with the whole message for the user.
  Result<XendReply> Get(const std::string& target);
  Result<XendReply> Post(const std::string& target, const Form& form, ReplyWait wait);
  const XendEndpoint& endpoint() const { return endpoint_; }
  const XendTimeouts& timeouts() const { return timeouts_; }

 private:
  Result<XendReply> Request(bool post, const std::string& target, const std::string& body,
                            std::chrono::milliseconds reply_timeout);
  XendEndpoint endpoint_;
  XendTimeouts timeouts_;
};

// application/x-www-form-urlencoded encoding of one value.
std::string FormEncode(const std::string& s);

}  // namespace txend::xm
