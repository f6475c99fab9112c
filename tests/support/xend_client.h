// Test support: an HTTP client that talks to txend exactly as libvirt's xend
// driver does — one connection per request, HTTP/1.1, its three headers,
// form-encoded POST bodies — over a unix socket or TCP.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sxp/sxp.h"

namespace txend::testing {

struct XendReply {
  int status = 0;
  std::string body;
  sxp::Value sxp;  // parsed body; empty list when the body is not SXP
};

class XendClient {
 public:
  static XendClient Unix(std::string path) { return XendClient(std::move(path), 0); }
  static XendClient Tcp(uint16_t port) { return XendClient("", port); }
  // How long a reply may take (default 30 s; migrations of big domains take longer).
  XendClient& set_timeout_s(int seconds) {
    timeout_s_ = seconds;
    return *this;
  }

  XendReply Get(const std::string& path);
  XendReply Post(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& form);
  // Sends raw bytes; returns the raw reply.
  std::string Raw(const std::string& bytes);

 private:
  XendClient(std::string path, uint16_t port) : path_(std::move(path)), port_(port) {}
  XendReply Request(const std::string& head, const std::string& body);
  std::string path_;
  uint16_t port_;
  int timeout_s_ = 30;
};

// libvirt's URI encoding of form values.
std::string UriEncode(const std::string& s);

}  // namespace txend::testing
