#include "base/numbers.h"

#include <fcntl.h>

#include <gtest/gtest.h>

#include "base/unique_fd.h"

namespace txend {
namespace {

TEST(Numbers, IntegersMustBeWholeAndFitTheirType) {
  EXPECT_EQ(*ParseInteger<uint32_t>("42"), 42u);
  EXPECT_EQ(*ParseInteger<int64_t>("-7"), -7);
  EXPECT_EQ(*ParseInteger<uint32_t>("ff", 16), 255u);
  EXPECT_EQ(*ParseInteger<uint64_t>("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", " 1", "1 ", "1x", "+1", "0x10", "-1"})
    EXPECT_FALSE(ParseInteger<uint32_t>(bad).ok()) << bad;
  auto huge = ParseInteger<int32_t>("2147483648");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), EINVAL);
  EXPECT_EQ(huge.status().message(), "'2147483648' is out of range (-2147483648 to 2147483647)");
  EXPECT_EQ(ParseInteger<uint8_t>("abc").status().message(), "'abc' is not an integer");
}

TEST(Numbers, DoublesAreFinite) {
  EXPECT_DOUBLE_EQ(*ParseDouble("12.5"), 12.5);
  EXPECT_DOUBLE_EQ(*ParseDouble("1e3"), 1000);
  for (const char* bad : {"", "nan", "inf", "1e999", "1.5s", " 1"})
    EXPECT_FALSE(ParseDouble(bad).ok()) << bad;
}

TEST(Numbers, BoolsTakeXendsWordsInAnyCase) {
  for (const char* yes : {"1", "yes", "Y", "on", "TRUE"}) EXPECT_TRUE(*ParseBool(yes)) << yes;
  for (const char* no : {"0", "No", "n", "off", "false"}) EXPECT_FALSE(*ParseBool(no)) << no;
  for (const char* bad : {"", "2", "maybe", "yes "}) EXPECT_FALSE(ParseBool(bad).ok()) << bad;
}

TEST(Numbers, QuotedCutsLongText) {
  EXPECT_EQ(Quoted("x"), "'x'");
  EXPECT_EQ(Quoted(std::string(100, 'a')), "'" + std::string(80, 'a') + "...'");
  EXPECT_EQ(TrimBlanks(" \t12 "), "12");
}

TEST(UniqueFd, ClosesWhatItOwnsOnce) {
  int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b = std::move(a);
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
    EXPECT_NE(fcntl(raw, F_GETFD), -1);
  }
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);  // closed by b
  UniqueFd c(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int kept = c.release();
  EXPECT_NE(fcntl(kept, F_GETFD), -1);
  close(kept);
}

}  // namespace
}  // namespace txend
