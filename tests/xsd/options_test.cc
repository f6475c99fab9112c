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

}  // namespace
}  // namespace txend::xsd
