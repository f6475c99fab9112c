// DescriptorStream on a real socket pair: reads and writes that never wait.
#include "http/descriptor_stream.h"

#include <unistd.h>

#include <string>
#include <sys/socket.h>
#include <vector>

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

namespace txend::http {
namespace {

class DescriptorStreamTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0); }
  void TearDown() override {
    for (int fd : fds_)
      if (fd >= 0) close(fd);
  }
  void ClosePeer() { close(std::exchange(fds_[1], -1)); }
  int fds_[2] = {-1, -1};  // blocking descriptors: the stream must not wait even so
};

TEST_F(DescriptorStreamTest, ANothingToReadIsWouldBlockAndAClosedPeerIsEof) {
  DescriptorStream stream(fds_[0]);
  char buf[16];
  boost::system::error_code ec;
  EXPECT_EQ(stream.read_some(boost::asio::buffer(buf), ec), 0u);
  EXPECT_EQ(ec, boost::asio::error::would_block);
  ASSERT_EQ(write(fds_[1], "hello", 5), 5);
  EXPECT_EQ(stream.read_some(boost::asio::buffer(buf), ec), 5u);
  EXPECT_FALSE(ec);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ClosePeer();
  EXPECT_EQ(stream.read_some(boost::asio::buffer(buf), ec), 0u);
  EXPECT_EQ(ec, boost::asio::error::eof);
}

TEST_F(DescriptorStreamTest, WritesGatherBuffersAndStopAtAFullSocket) {
  DescriptorStream stream(fds_[0]);
  std::vector<boost::asio::const_buffer> parts{boost::asio::buffer("GET ", 4),
                                               boost::asio::buffer("/x", 2),
                                               boost::asio::buffer(" HTTP", 5)};
  boost::system::error_code ec;
  EXPECT_EQ(stream.write_some(parts, ec), 11u);
  EXPECT_FALSE(ec);
  char buf[32];
  ASSERT_EQ(read(fds_[1], buf, sizeof buf), 11);
  EXPECT_EQ(std::string(buf, 11), "GET /x HTTP");
  std::string big(1 << 16, 'x');
  size_t sent = 0;
  while (!ec) sent += stream.write_some(boost::asio::buffer(big), ec);
  EXPECT_EQ(ec, boost::asio::error::would_block);  // the peer reads nothing
  EXPECT_GT(sent, 0u);
}

// No SIGPIPE (which would end this test binary): the error comes back instead.
TEST_F(DescriptorStreamTest, AWriteToAClosedPeerIsAnErrorNotASignal) {
  DescriptorStream stream(fds_[0]);
  ClosePeer();
  boost::system::error_code ec;
  EXPECT_EQ(stream.write_some(boost::asio::buffer("x", 1), ec), 0u);
  EXPECT_EQ(ec, boost::asio::error::broken_pipe);
  EXPECT_THROW(stream.write_some(boost::asio::buffer("x", 1)), boost::system::system_error);
}

}  // namespace
}  // namespace txend::http
