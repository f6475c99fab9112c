// SocketChannel: a Channel over a connected, non-blocking unix socket (owned).
#pragma once

#include "base/unique_fd.h"
#include "xsd/channel.h"

namespace txend::xsd {

class SocketChannel final : public Channel {
 public:
  explicit SocketChannel(UniqueFd fd) : fd_(std::move(fd)) {}

  ssize_t Read(char* buf, size_t n) override;
  ssize_t Write(const char* buf, size_t n) override;
  int fd() const override { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace txend::xsd
