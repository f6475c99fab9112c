// xsd's command line: the flags that choose its transports.
#include "xsd/options.h"

#include <gtest/gtest.h>

namespace txend::xsd {
namespace {

TEST(XsdOptions, RingsAndDom0RingByDefault) {
  const char* argv[] = {"xsd", "-N"};
  auto o = ParseOptions(2, argv, nullptr);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->server.dom0_ring);
  EXPECT_FALSE(o->sockets_only);
}

TEST(XsdOptions, NoDomainInitAndSocketsOnly) {
  const char* argv[] = {"xsd", "-D", "--sockets-only", "-R", "-K"};
  auto o = ParseOptions(5, argv, nullptr);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->server.dom0_ring);
  EXPECT_TRUE(o->sockets_only);
  const char* long_form[] = {"xsd", "--no-domain-init"};
  EXPECT_FALSE(ParseOptions(2, long_form, nullptr)->server.dom0_ring);
}

TEST(XsdOptions, GuestLimitsAndTransactionLifetime) {
  const char* argv[] = {
      "xsd",     "-Q", "connections=3", "-Q", "queued-bytes=4096", "--quota=rate=50", "-Q",
      "burst=5", "-w", "transaction=2", "-w", "watch-event=20"};
  auto o = ParseOptions(12, argv, nullptr);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->quota.connections, 3u);
  EXPECT_EQ(o->quota.queued_bytes, 4096u);
  EXPECT_EQ(o->quota.request_rate, 50u);
  EXPECT_EQ(o->quota.request_burst, 5u);
  EXPECT_EQ(o->quota.transaction_seconds, 2u);
  const char* unknown[] = {"xsd", "-w", "nap=3"};
  auto bad = ParseOptions(3, unknown, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("transaction"), std::string::npos)
      << "the error should name what is known: " << bad.status().message();
  const char* negative[] = {"xsd", "-Q", "rate=-1"};
  EXPECT_FALSE(ParseOptions(3, negative, nullptr).ok());
}

}  // namespace
}  // namespace txend::xsd
