#include "http/descriptor_stream.h"

#include <cerrno>
#include <sys/socket.h>

#include <boost/asio/error.hpp>

namespace txend::http {
namespace {

size_t Requested(const iovec* iov, size_t count) {
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) total += iov[i].iov_len;
  return total;
}

// The result of one call: bytes moved, or the error.
size_t Done(ssize_t n, boost::system::error_code& ec) {
  if (n >= 0) {
    ec = {};
    return static_cast<size_t>(n);
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    ec = boost::asio::error::would_block;
  else
    ec.assign(errno, boost::system::system_category());
  return 0;
}

}  // namespace

size_t ReceiveNow(int fd, iovec* iov, size_t count, boost::system::error_code& ec) {
  if (Requested(iov, count) == 0) {
    ec = {};
    return 0;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  size_t got = Done(n, ec);
  if (n == 0) ec = boost::asio::error::eof;
  return got;
}

size_t SendNow(int fd, const iovec* iov, size_t count, boost::system::error_code& ec) {
  if (Requested(iov, count) == 0) {
    ec = {};
    return 0;
  }
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return Done(n, ec);
}

}  // namespace txend::http
