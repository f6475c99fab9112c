#include "wire/wire.h"

#include <gtest/gtest.h>

namespace txend::wire {
namespace {

TEST(Wire, TypeNumbersMatchXsWire) {
  EXPECT_EQ(static_cast<uint32_t>(MsgType::kWatchEvent), 15u);
  EXPECT_EQ(static_cast<uint32_t>(MsgType::kDirectoryPart), 22u);
  EXPECT_EQ(TypeName(2), "READ");
  EXPECT_FALSE(IsKnownType(20));  // XS_RESTRICT was removed
  EXPECT_EQ(TypeName(9999), "UNKNOWN");
}

TEST(Wire, SplitAndJoinFields) {
  using namespace std::literals;
  auto f = SplitFields("a\0bc\0"sv);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1], "bc");
  EXPECT_EQ(SplitFields("a\0b"sv).size(), 2u);
  EXPECT_EQ(SplitFields(""sv).size(), 0u);
  EXPECT_EQ(JoinFields({"x", "y"}), "x\0y\0"s);
}

TEST(Wire, ReaderFramesMessagesFedByteByByte) {
  std::string bytes = Encode(MsgType::kRead, 7, 3, std::string_view("/a\0", 3)) +
                      Encode(MsgType::kWrite, 8, 0, "x");
  MessageReader r;
  std::vector<Message> got;
  for (char c : bytes) {
    r.Feed(std::string_view(&c, 1));
    while (auto m = r.Next()) got.push_back(std::move(*m));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type(), MsgType::kRead);
  EXPECT_EQ(got[0].header.req_id, 7u);
  EXPECT_EQ(got[0].header.tx_id, 3u);
  EXPECT_EQ(got[0].payload.size(), 3u);
  EXPECT_EQ(got[1].payload, "x");
  EXPECT_EQ(r.pending(), 0u);
}

TEST(Wire, ReaderRejectsOversizedPayload) {
  Header h{2, 1, 0, kPayloadMax + 1};
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
  MessageReader r;
  r.Feed(bytes);
  EXPECT_FALSE(r.Next().has_value());
  EXPECT_EQ(r.error().code(), E2BIG);
}

}  // namespace
}  // namespace txend::wire
