// The audit line: one line per change, whatever the client put in its path,
// op or error text, so no request can forge or split audit lines.
#include "txend/audit.h"

#include <gtest/gtest.h>

namespace txend::daemon {
namespace {

http::HttpRequest Post(std::string path, std::string op) {
  http::HttpRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.params.Add("op", std::move(op));
  r.identity = "CN=admin";
  return r;
}

TEST(AuditLine, ReadsAreNotAudited) {
  http::HttpRequest r = Post("/xend/domain/demo", "");
  r.method = "GET";
  EXPECT_FALSE(AuditLine(r, {200, "application/sxp", ""}).has_value());
}

TEST(AuditLine, NamesWhoTheOpAndTheResult) {
  auto line = AuditLine(Post("/xend/domain/demo", "destroy"), {202, "application/sxp", ""});
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "audit: CN=admin POST /xend/domain/demo op=destroy: 202 ok");
}

TEST(AuditLine, ControlCharactersFromTheClientCannotSplitOrForgeLines) {
  auto line = AuditLine(
      Post("/xend/domain/a\nb", "destroy\naudit: root via unix socket POST / op=x: 200 ok"),
      {500, "text/plain", "(xend.err 'no\r\ndomain\x1b[2J')"});
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->find_first_of(std::string("\n\r\x1b", 3)), std::string::npos) << *line;
}

TEST(AuditLine, WhatTheClientSentIsBounded) {
  auto line = AuditLine(Post("/xend/domain/" + std::string(100000, 'x'), std::string(100000, 'o')),
                        {200, "application/sxp", ""});
  ASSERT_TRUE(line.has_value());
  EXPECT_LT(line->size(), 2000u);
}

}  // namespace
}  // namespace txend::daemon
