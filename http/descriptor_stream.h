#pragma once

#include <array>
#include <cstddef>
#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

namespace txend::http {

// One recvmsg / sendmsg on a connected socket that never waits (EAGAIN is would_block),
// never raises SIGPIPE and needs no event loop; a read of nothing at the peer's end is eof.
size_t ReceiveNow(int fd, iovec* iov, size_t count, boost::system::error_code& ec);
size_t SendNow(int fd, const iovec* iov, size_t count, boost::system::error_code& ec);

// A socket's descriptor as a Beast synchronous stream for I/O tried at once: a connection
// read and written through it need not be registered with an event loop.
class DescriptorStream {
 public:
  explicit DescriptorStream(int fd) : fd_(fd) {}

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    Iovecs iov;
    size_t count = Gather(buffers, iov);
    return ReceiveNow(fd_, iov.data(), count, ec);
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    Iovecs iov;
    size_t count = Gather(buffers, iov);
    return SendNow(fd_, iov.data(), count, ec);
  }
  // The throwing forms the stream concepts ask for.
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    return OrThrow([&](auto& ec) { return read_some(buffers, ec); });
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    return OrThrow([&](auto& ec) { return write_some(buffers, ec); });
  }

 private:
  using Iovecs = std::array<iovec, 16>;  // more buffers go in a later call

  template <class Buffers>
  static size_t Gather(const Buffers& buffers, Iovecs& iov) {
    size_t count = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && count < iov.size(); ++it) {
      auto b = boost::asio::buffer(*it);
      iov[count++] = iovec{const_cast<void*>(static_cast<const void*>(b.data())), b.size()};
    }
    return count;
  }

  template <class Call>
  static size_t OrThrow(Call call) {
    boost::system::error_code ec;
    size_t n = call(ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  int fd_;
};

}  // namespace txend::http
