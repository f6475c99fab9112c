// The xenstore ring protocol on a page in ordinary memory: byte flow, 32-bit
// index wraparound, partial and full rings, messages across the ring's end, and
// a hostile peer's impossible indexes.
#include "xsd/ring.h"

#include <cstring>
#include <memory>
#include <random>

#include <gtest/gtest.h>

#include "wire/wire.h"

namespace txend::xsd {
namespace {

using namespace std::string_literals;
constexpr size_t kSize = XENSTORE_RING_SIZE;

std::unique_ptr<xenstore_domain_interface> Page() {
  auto p = std::make_unique<xenstore_domain_interface>();
  std::memset(p.get(), 0, sizeof *p);
  return p;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

TEST(Ring, BytesFlowBothWays) {
  auto page = Page();
  RingEnds xsd = ServerEnds(page.get());
  RingEnds guest = GuestEnds(page.get());
  EXPECT_EQ(guest.out.Write("hello", 5), 5);
  EXPECT_EQ(page->req_prod, 5u);
  char buf[16];
  EXPECT_EQ(xsd.in.Read(buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(page->req_cons, 5u);
  EXPECT_EQ(xsd.in.Read(buf, sizeof buf), 0);  // empty
  EXPECT_EQ(xsd.out.Write("ok", 2), 2);
  EXPECT_EQ(guest.in.Read(buf, sizeof buf), 2);
  EXPECT_EQ(std::string(buf, 2), "ok");
}

TEST(Ring, IndexesWrapAroundTwoToThe32) {
  auto page = Page();
  page->req_cons = page->req_prod = 0xfffffff0u;  // at ring offset 1008
  RingEnds xsd = ServerEnds(page.get());
  RingEnds guest = GuestEnds(page.get());
  std::string msg = Pattern(100);
  EXPECT_EQ(guest.out.Write(msg.data(), msg.size()), 100);
  EXPECT_EQ(page->req_prod, 0x54u);                                 // 0xfffffff0 + 100, modulo 2^32
  EXPECT_EQ(std::string(page->req + 1008, 16), msg.substr(0, 16));  // the ring's end...
  EXPECT_EQ(std::string(page->req, 84), msg.substr(16));            // ...then its start
  char buf[200];
  EXPECT_EQ(xsd.in.Read(buf, sizeof buf), 100);
  EXPECT_EQ(std::string(buf, 100), msg);
  EXPECT_EQ(page->req_cons, 0x54u);
  // Full across the wrap: prod - cons is still the fill level.
  page->rsp_cons = page->rsp_prod = 0xffffff00u;
  std::string big = Pattern(kSize);
  EXPECT_EQ(xsd.out.Write(big.data(), big.size()), static_cast<ssize_t>(kSize));
  EXPECT_EQ(page->rsp_prod, 0x300u);
  EXPECT_EQ(xsd.out.Write("x", 1), 0);
  std::string got(kSize, '\0');
  EXPECT_EQ(guest.in.Read(got.data(), got.size()), static_cast<ssize_t>(kSize));
  EXPECT_EQ(got, big);
}

TEST(Ring, PartialWritesAndReads) {
  auto page = Page();
  RingEnds xsd = ServerEnds(page.get());
  RingEnds guest = GuestEnds(page.get());
  std::string big = Pattern(3000);
  size_t sent = static_cast<size_t>(guest.out.Write(big.data(), big.size()));
  EXPECT_EQ(sent, kSize);  // as much as fits
  std::string got;
  char buf[97];  // reads that do not divide the ring
  while (got.size() < big.size()) {
    ssize_t n = xsd.in.Read(buf, sizeof buf);
    ASSERT_GE(n, 0);
    ASSERT_LE(static_cast<size_t>(n), sizeof buf);
    got.append(buf, static_cast<size_t>(n));
    ssize_t w = guest.out.Write(big.data() + sent, big.size() - sent);
    ASSERT_GE(w, 0);
    sent += static_cast<size_t>(w);
  }
  EXPECT_EQ(got, big);
}

TEST(Ring, FullRingTakesNothingUntilTheConsumerMovesOn) {
  auto page = Page();
  RingEnds xsd = ServerEnds(page.get());
  RingEnds guest = GuestEnds(page.get());
  std::string big = Pattern(kSize);
  ASSERT_EQ(xsd.out.Write(big.data(), big.size()), static_cast<ssize_t>(kSize));
  EXPECT_EQ(xsd.out.Write("more", 4), 0);
  EXPECT_EQ(page->rsp_prod, kSize);
  char buf[10];
  ASSERT_EQ(guest.in.Read(buf, sizeof buf), 10);
  EXPECT_EQ(xsd.out.Write(big.data(), 50), 10);  // exactly the room made
  EXPECT_EQ(xsd.out.Write("x", 1), 0);
}

TEST(Ring, MessagesSplitAcrossTheRingEndDecodeWhole) {
  auto page = Page();
  page->req_cons = page->req_prod = kSize - 7;  // the header itself straddles the end
  RingEnds xsd = ServerEnds(page.get());
  RingEnds guest = GuestEnds(page.get());
  std::string bytes = wire::Encode(wire::MsgType::kWrite, 42, 0, "/a/b\0value"s) +
                      wire::Encode(wire::MsgType::kRead, 43, 0, "/a/b\0"s);
  ASSERT_EQ(guest.out.Write(bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  wire::MessageReader reader;
  char buf[5];  // and arrives in small pieces
  for (ssize_t n; (n = xsd.in.Read(buf, sizeof buf)) > 0;)
    reader.Feed(std::string_view(buf, static_cast<size_t>(n)));
  auto write = reader.Next();
  ASSERT_TRUE(write);
  EXPECT_EQ(write->header.req_id, 42u);
  EXPECT_EQ(write->payload, "/a/b\0value"s);
  auto read = reader.Next();
  ASSERT_TRUE(read);
  EXPECT_EQ(read->type(), wire::MsgType::kRead);
  EXPECT_FALSE(reader.Next());
}

TEST(Ring, ImpossibleIndexesAreRefusedWithoutTouchingAnything) {
  auto page = Page();
  RingEnds xsd = ServerEnds(page.get());
  char buf[64];
  page->req_prod = kSize + 1;  // producer more than a ring ahead
  EXPECT_EQ(xsd.in.Read(buf, sizeof buf), -1);
  EXPECT_EQ(page->req_cons, 0u);
  page->rsp_cons = 5;  // consumer ahead of the producer
  EXPECT_EQ(xsd.out.Write("x", 1), -1);
  EXPECT_EQ(page->rsp_prod, 0u);
}

TEST(Ring, ChannelReportsAHostilePeerAndSetsTheErrorField) {
  auto page = Page();
  int kicks = 0;
  bool released = false;
  {
    RingChannel ch(
        page.get(), [&] { ++kicks; }, [&] { released = true; });
    EXPECT_TRUE(page->server_features & XENSTORE_SERVER_FEATURE_ERROR);
    EXPECT_EQ(ch.fd(), -1);
    char buf[16];
    EXPECT_EQ(ch.Read(buf, sizeof buf), 0);
    EXPECT_EQ(kicks, 0);  // nothing moved, nobody kicked
    EXPECT_EQ(ch.Write("hi", 2), 2);
    EXPECT_EQ(kicks, 1);
    page->req_cons = 100;  // the guest rewinds its consumer... of our ring: impossible
    page->req_prod = 99;
    EXPECT_EQ(ch.Read(buf, sizeof buf), -1);
    EXPECT_EQ(page->error, static_cast<uint32_t>(XENSTORE_ERROR_RINGIDX));
    EXPECT_FALSE(released);
  }
  EXPECT_TRUE(released);
}

// Any index values a peer may write: results stay within the ring and the
// request ring's neighbours are never written (ASan checks the page itself).
TEST(Ring, RandomIndexesNeverReachOutsideTheRing) {
  std::mt19937 rng(12345);
  auto page = Page();
  std::memset(page->rsp, 0x5a, sizeof page->rsp);
  RingEnds xsd = ServerEnds(page.get());
  RingEnds guest = GuestEnds(page.get());
  std::string data = Pattern(3 * kSize);
  std::string buf(3 * kSize, '\0');
  for (int i = 0; i < 20000; ++i) {
    page->req_cons = rng();
    page->req_prod = (i % 2) ? page->req_cons + rng() % (2 * kSize) : static_cast<uint32_t>(rng());
    size_t n = rng() % (3 * kSize);
    ssize_t got = (i % 3) ? xsd.in.Read(buf.data(), n) : guest.out.Write(data.data(), n);
    ASSERT_GE(got, -1);
    ASSERT_LE(got, static_cast<ssize_t>(std::min(n, kSize)));
  }
  EXPECT_EQ(std::string(page->rsp, sizeof page->rsp), std::string(sizeof page->rsp, '\x5a'));
}

}  // namespace
}  // namespace txend::xsd
