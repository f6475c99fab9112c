#include "tests/support/xend_client.h"

#include <unistd.h>

#include <cctype>
#include <cstring>

#include "tests/support/sockets.h"

namespace txend::testing {

// virBufferURIEncodeString: every byte but ASCII letters and digits as %xx, lowercase.
std::string UriEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      snprintf(buf, sizeof buf, "%%%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string XendClient::Raw(const std::string& bytes) {
  int fd = port_ ? DialTcp(port_, timeout_s_) : DialUnix(path_, timeout_s_);
  if (fd < 0) return "";
  SendAll(fd, bytes);  // a server that stops reading early may still have replied
  std::string out;
  char buf[65536];
  ssize_t n;
  // Read until the server closes (we send no keep-alive) or the length is met.
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    size_t end = out.find("\r\n\r\n");
    size_t cl = out.find("Content-Length: ");
    if (end != std::string::npos && cl != std::string::npos && cl < end &&
        out.size() >= end + 4 + std::stoul(out.substr(cl + 16)))
      break;
  }
  close(fd);
  return out;
}

XendReply XendClient::Request(const std::string& head, const std::string& body) {
  std::string raw = Raw(head + "\r\n" + body);
  XendReply r;
  if (raw.size() < 12) return r;
  r.status = std::atoi(raw.c_str() + 9);
  size_t end = raw.find("\r\n\r\n");
  r.body = end == std::string::npos ? "" : raw.substr(end + 4);
  auto parsed = sxp::Parse(r.body);
  if (parsed.ok()) r.sxp = *parsed;
  return r;
}

XendReply XendClient::Get(const std::string& path) {
  return Request("GET " + path +
                     " HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n",
                 "");
}

XendReply XendClient::Post(const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& form) {
  std::string body;
  for (const auto& [k, v] : form)
    body += (body.empty() ? "" : "&") + UriEncode(k) + "=" + UriEncode(v);
  return Request("POST " + path +
                     " HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n",
                 body);
}

}  // namespace txend::testing
