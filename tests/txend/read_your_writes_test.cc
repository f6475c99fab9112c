// A domain's detail read comes from txend's cache of what xenstore holds for it
// (DomainStateCache) when nothing changed, yet shows every write that any
// xenstore client completed before the GET began: a real xsd and txend, the
// writes made by another client, as a guest, xenconsoled or `xenstore-write` would.
#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/plain.h"

namespace txend::testing {
namespace {

constexpr std::chrono::seconds kWait{10};

class ReadYourWritesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    auto created = stack_->client().Post("/xend/domain/",
                                         {{"op", "create"}, {"config", stack_->Config("ryw")}});
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_EQ(stack_->client().Post("/xend/domain/ryw", {{"op", "unpause"}}).status, 200);
    home_ = "/local/domain/" + sxp::ChildValue(created.sxp, "domid");
    auto xs = xs::Connection::Open(stack_->xs_socket());
    ASSERT_TRUE(xs.ok()) << xs.status().ToString();
    xs_ = std::move(*xs);
  }
  XendReply Detail() { return stack_->client().Get("/xend/domain/ryw?detail=1"); }
  // The transactions `reads` detail reads of the unchanged domain cost.
  uint64_t TransactionsOfReads(int reads) {
    uint64_t before = stack_->XsdStat("transactions_started");
    for (int i = 0; i < reads; ++i) EXPECT_EQ(Detail().status, 200);
    return stack_->XsdStat("transactions_started") - before;
  }

  std::unique_ptr<TxendStack> stack_;
  std::unique_ptr<xs::Connection> xs_;
  std::string home_;
};

TEST_F(ReadYourWritesTest, AReadOfAnUnchangedDomainOpensNoTransaction) {
  // Once the simulated guest and backends are quiet, 20 reads in a row open no
  // transaction. A late write of theirs (seen once after 3 quiet reads) makes the
  // next read read, so the 20 are retried until a quiet stretch holds them all.
  EXPECT_TRUE(Eventually(kWait, [&] { return TransactionsOfReads(20) == 0; }));
}

TEST_F(ReadYourWritesTest, AReadWhileNothingIsWrittenSendsXenstoreNothing) {
  // xsd's write generation is what it was when the last catch-up began: no
  // round trip. The two stats requests that measure it are all xsd sees.
  auto requests_of_reads = [&](int reads) {
    uint64_t before = stack_->XsdStat("requests_total");
    for (int i = 0; i < reads; ++i) EXPECT_EQ(Detail().status, 200);
    return stack_->XsdStat("requests_total") - before;
  };
  EXPECT_TRUE(Eventually(kWait, [&] { return requests_of_reads(20) <= 2; }));
}

TEST_F(ReadYourWritesTest, AWriteByAnotherClientIsSeenByTheNextRead) {
  ASSERT_TRUE(Eventually(kWait, [&] { return TransactionsOfReads(3) == 0; }));
  int stale = 0;
  for (int i = 1; i <= 200; ++i) {
    std::string mib = std::to_string(64 + i);
    ASSERT_TRUE(
        xs::PlainWrite(*xs_, home_ + "/memory/target", std::to_string((64 + i) * 1024)).ok());
    auto reply = Detail();  // begun after the write was acknowledged
    ASSERT_EQ(reply.status, 200) << reply.body;
    if (sxp::ChildValue(reply.sxp, "memory") != mib) ++stale;
  }
  EXPECT_EQ(stale, 0) << "reads that missed a write acknowledged before they began";
}

TEST_F(ReadYourWritesTest, AConsoleTtyWrittenByTheConsoleDaemonIsSeenByTheNextRead) {
  ASSERT_TRUE(Eventually(kWait, [&] { return TransactionsOfReads(3) == 0; }));
  int stale = 0;
  for (int i = 0; i < 100; ++i) {
    std::string tty = "/dev/pts/" + std::to_string(100 + i);
    ASSERT_TRUE(xs::PlainWrite(*xs_, home_ + "/console/tty", tty).ok());
    auto reply = Detail();
    ASSERT_EQ(reply.status, 200) << reply.body;
    if (sxp::ChildValue(reply.sxp, "console_tty") != tty) ++stale;
  }
  EXPECT_EQ(stale, 0) << "reads that missed a write acknowledged before they began";
}

}  // namespace
}  // namespace txend::testing
