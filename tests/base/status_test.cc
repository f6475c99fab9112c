#include <gtest/gtest.h>

#include "base/result.h"

namespace txend {
namespace {

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, ErrorCarriesErrnoNameAndMessage) {
  Status s = Status::Error(ENOENT, "no such domain demo");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ENOENT);
  EXPECT_EQ(s.ToString(), "ENOENT: no such domain demo");
}

TEST(Status, ZeroCodeIsNeverOk) { EXPECT_FALSE(Status::Error(0, "x").ok()); }

TEST(Status, ErrnoNamesRoundTrip) {
  for (int e : {EINVAL, EACCES, EAGAIN, E2BIG, EDQUOT, EPERM, EISCONN})
    EXPECT_EQ(ErrnoFromName(ErrnoName(e)), e) << ErrnoName(e);
  EXPECT_EQ(ErrnoName(EDQUOT), "EQUOTA");
  EXPECT_EQ(ErrnoFromName("ENOTHING"), 0);
}

Result<int> Half(int x) {
  if (x % 2) return Status::Error(EINVAL, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  TXEND_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Result, ValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_EQ(r.value_or(-1), -1);
}

}  // namespace
}  // namespace txend
