// A domain held by a long operation delays only itself: while a migration
// waits on a peer that never answers (or a save is held mid-way by the
// TXEND_FAULT stall hook), reads of every domain — the held one included —
// and operations on other domains answer at once, and an operation on the held
// domain is refused as busy within its bounded wait.
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/host_view.h"
#include "tests/support/sockets.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Far below what the held operation lasts (a 60 s migration timeout, a 60 s
// stall), far above what an answer takes under ASan on a loaded machine.
constexpr int kAnswerWithinS = 10;

bool Suspended(const HostView& view, const std::string& name) {
  auto it = view.listed.find(name);
  return it != view.listed.end() && it->second.state.size() > 3 && it->second.state[3] == 's';
}

class BusyDomainTest : public ::testing::Test {
 protected:
  void Start(TxendStack::Options options, std::vector<std::string> env = {}) {
    auto s = TxendStack::Start(options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    if (!env.empty()) {
      ASSERT_TRUE(stack_->RestartTxend(SIGKILL, env).ok());
    }
  }

  XendClient Client() const { return stack_->client().set_timeout_s(kAnswerWithinS); }
  void Create(const std::string& name) {
    auto r =
        Client().Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config(name, 1, 1)}});
    ASSERT_EQ(r.status, 201) << name << ": " << r.body;
    ASSERT_EQ(Client().Post("/xend/domain/" + name, {{"op", "unpause"}}).status, 200);
  }

  // Everything that must not wait for `held`'s operation, each answered
  // within kAnswerWithinS: reads of the list, of `held` and through the real
  // xm, then a whole create / pause / destroy of another domain.
  void ExpectNothingWaitsFor(const std::string& held) {
    auto t0 = Clock::now();
    auto list = Client().Get("/xend/domain?detail=1");
    EXPECT_EQ(list.status, 200) << list.body;
    auto one = Client().Get("/xend/domain/" + held + "?detail=1");
    EXPECT_EQ(one.status, 200) << one.body;
    EXPECT_TRUE(HostView::Of(*stack_).xm_list_names.count(held)) << "xm list";
    Create("other");
    EXPECT_EQ(Client().Post("/xend/domain/other", {{"op", "pause"}}).status, 200);
    EXPECT_EQ(
        Client().Post("/xend/domain/other", {{"op", "mem_target_set"}, {"target", "48"}}).status,
        200);
    EXPECT_EQ(Client().Post("/xend/domain/other", {{"op", "destroy"}}).status, 202);
    auto took = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf(
        "behind %s's operation: 2 GETs, xm list, create/pause/mem_target_set/destroy of "
        "another domain took %.2f s\n",
        held.c_str(), took);
    EXPECT_LT(took, kAnswerWithinS)
        << "reads and another domain's operations took " << took << " s behind " << held << "'s";
  }

  // A change to the held domain is refused as busy, not left waiting.
  void ExpectBusy(const std::string& held) {
    auto r = Client().Post("/xend/domain/" + held, {{"op", "mem_target_set"}, {"target", "48"}});
    EXPECT_NE(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("busy"), std::string::npos) << r.body;
  }

  std::unique_ptr<TxendStack> stack_;
};

// The peer accepts the connection (the kernel does, from its backlog) and
// never says a word. Closing the listener resets the connection and ends the
// migration: the domain runs on at the source.
TEST_F(BusyDomainTest, AMigrationToASilentPeerDelaysOnlyItsDomain) {
  TxendStack::Options o;
  o.extra_args = {"--relocation-timeout", "60"};
  Start(o);
  Create("mover");
  LoopbackListener silent = ListenOnLoopback();
  ASSERT_TRUE(silent.fd.valid());

  XendReply migrated;
  std::thread migration([&] {
    migrated = stack_->client().set_timeout_s(90).Post("/xend/domain/mover",
                                                       {{"op", "migrate"},
                                                        {"destination", "127.0.0.1"},
                                                        {"port", std::to_string(silent.port)},
                                                        {"live", "1"}});
  });
  // In progress once its connection waits in the listener's backlog.
  pollfd pending{silent.fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pending, 1, kAnswerWithinS * 1000), 1) << "the migration never connected";
  ExpectNothingWaitsFor("mover");
  ExpectBusy("mover");

  auto t0 = Clock::now();
  silent.fd.reset();
  migration.join();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), kAnswerWithinS);
  EXPECT_NE(migrated.status, 200) << migrated.body;
  ASSERT_TRUE(HostView::Of(*stack_).listed.count("mover")) << "the domain is gone from the source";
  EXPECT_TRUE(Eventually(std::chrono::seconds(kAnswerWithinS), [&] {
    return !Suspended(HostView::Of(*stack_), "mover");
  })) << "left suspended";
}

// The same with a save held after suspending the domain (the TXEND_FAULT stall
// lasts 60 s).
TEST_F(BusyDomainTest, ASaveInProgressDelaysOnlyItsDomain) {
  Start({}, {"TXEND_FAULT=save.suspended:stall"});
  Create("kept");
  std::thread save([&] {
    stack_->client().set_timeout_s(90).Post("/xend/domain/kept",
                                            {{"op", "save"}, {"file", stack_->path("kept.save")}});
  });
  ASSERT_TRUE(Eventually(std::chrono::seconds(kAnswerWithinS), [&] {
    return Suspended(HostView::Of(*stack_), "kept");
  })) << "the save never suspended the domain";
  ExpectNothingWaitsFor("kept");
  ExpectBusy("kept");
  ASSERT_TRUE(stack_->RestartTxend(SIGKILL).ok());  // ends the stall; recovery resumes "kept"
  save.join();
}

}  // namespace
}  // namespace txend::testing
