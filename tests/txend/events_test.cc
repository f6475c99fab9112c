// GET /xend/events against a real txend and xsd: a long poll that answers
// when a domain's life changes (started, shutdown, stopped ...), waits that
// never hold up other requests, and clear errors for bad parameters.
#include <future>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
  }
  XendReply Get(const std::string& path) { return stack_->client().Get(path); }
  XendReply Post(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& form) {
    return stack_->client().Post(path, form);
  }
  std::string Next() {
    auto now = Get("/xend/events");
    EXPECT_EQ(now.status, 200) << now.body;
    EXPECT_EQ(sxp::Name(now.sxp), "events") << now.body;
    EXPECT_EQ(sxp::ChildValue(now.sxp, "lost"), "0");
    EXPECT_TRUE(sxp::Children(now.sxp, "event").empty()) << now.body;
    return sxp::ChildValue(now.sxp, "next");
  }
  // The changes of the events in `reply` that name `name`, in order.
  static std::vector<std::string> ChangesOf(const XendReply& reply, const std::string& name) {
    std::vector<std::string> out;
    for (const sxp::Value* e : sxp::Children(reply.sxp, "event"))
      if (sxp::ChildValue(*e, "name") == name) out.push_back(sxp::ChildValue(*e, "change"));
    return out;
  }
  std::unique_ptr<TxendStack> stack_;
};

TEST_F(EventsTest, ALongPollAnswersWhenADomainStartsAndStops) {
  std::string since = Next();
  auto waiter = std::async(std::launch::async, [&] {
    return stack_->client().Get("/xend/events?since=" + since + "&wait=20");
  });
  auto created = Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config("ev", 1, 0)}});
  ASSERT_EQ(created.status, 201) << created.body;
  XendReply started = waiter.get();  // answered by the start, well before 20 s
  ASSERT_EQ(started.status, 200) << started.body;
  ASSERT_FALSE(ChangesOf(started, "ev").empty()) << started.body;
  EXPECT_EQ(ChangesOf(started, "ev")[0], "started");
  const sxp::Value* first = sxp::Children(started.sxp, "event")[0];
  EXPECT_EQ(sxp::ChildValue(*first, "domid"), sxp::ChildValue(created.sxp, "domid"));
  EXPECT_EQ(sxp::ChildValue(*first, "uuid"), sxp::ChildValue(created.sxp, "uuid"));

  std::string after_start = sxp::ChildValue(started.sxp, "next");
  ASSERT_EQ(Post("/xend/domain/ev", {{"op", "unpause"}}).status, 200);
  ASSERT_EQ(Post("/xend/domain/ev", {{"op", "shutdown"}, {"reason", "poweroff"}}).status, 202);
  std::vector<std::string> seen;
  for (int i = 0; i < 5 && (seen.empty() || seen.back() != "stopped"); ++i) {
    auto more = Get("/xend/events?since=" + after_start + "&wait=20");
    ASSERT_EQ(more.status, 200) << more.body;
    for (auto& c : ChangesOf(more, "ev")) seen.push_back(c);
    after_start = sxp::ChildValue(more.sxp, "next");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"shutdown", "stopped"}));
}

TEST_F(EventsTest, WaitersNeverHoldUpOtherRequests) {
  std::string since = Next();
  std::vector<std::future<XendReply>> waiters;
  for (int i = 0; i < 12; ++i)  // more than txend's read and write workers together
    waiters.push_back(std::async(std::launch::async, [&] {
      return stack_->client().Get("/xend/events?since=" + since + "&wait=15");
    }));
  EXPECT_EQ(Get("/xend/domain/Domain-0").status, 200);
  auto created = Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config("w", 0, 0)}});
  EXPECT_EQ(created.status, 201) << created.body;
  for (auto& w : waiters) {
    XendReply r = w.get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(ChangesOf(r, "w"), std::vector<std::string>{"started"}) << r.body;
  }
}

TEST_F(EventsTest, BadParametersAreBadRequests) {
  for (const char* q : {"?wait=31", "?wait=-1", "?wait=soon", "?since=abc", "?since=-4"}) {
    auto r = Get(std::string("/xend/events") + q);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(sxp::Name(r.sxp), "xend.err") << q;
  }
  EXPECT_EQ(Post("/xend/events", {{"op", "x"}}).status, 501);
  auto stale = Get("/xend/events?since=999999&wait=0");  // from an earlier txend, say
  ASSERT_EQ(stale.status, 200);
  EXPECT_EQ(sxp::ChildValue(stale.sxp, "lost"), "1");
}

}  // namespace
}  // namespace txend::testing
