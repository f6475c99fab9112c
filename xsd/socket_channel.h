// SocketChannel: a Channel over a connected, non-blocking unix socket (owned).
#pragma once

#include "xsd/channel.h"

namespace txend::xsd {

class SocketChannel final : public Channel {
 public:
  explicit SocketChannel(int fd) : fd_(fd) {}
  ~SocketChannel() override;
  SocketChannel(const SocketChannel&) = delete;
  SocketChannel& operator=(const SocketChannel&) = delete;

  ssize_t Read(char* buf, size_t n) override;
  ssize_t Write(const char* buf, size_t n) override;
  int fd() const override { return fd_; }

 private:
  int fd_;
};

}  // namespace txend::xsd
