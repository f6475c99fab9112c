// SIGKILL of txend at every step of every lifecycle operation (the TXEND_FAULT
// hook of toolstack/domain/intents.h, compiled into the real daemon), then a
// restart: the operation is finished or undone, and the hypervisor, xenstore,
// `xm list` and the state directory agree, with no memory or node left behind.
// Then SIGKILL of xsd in the middle of creates and destroys.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/host_view.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

constexpr std::chrono::seconds kWait{20};

// What recovery makes of an operation a kill cut off.
enum class Outcome { kUndone, kFinished, kHandedOver };

struct Step {
  const char* name;
  Outcome outcome;
};

class CrashRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    empty_free_mib_ = HostView::Of(*stack_).free_mib;
    Create("bystander", 1, 1);  // untouched by every operation: recovery must leave it be
  }

  XendReply Post(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& form) {
    return stack_->client().Post(path, form);
  }
  void Create(const std::string& name, int disks = 1, int vifs = 1) {
    auto r =
        Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config(name, disks, vifs)}});
    ASSERT_EQ(r.status, 201) << name << ": " << r.body;
    ASSERT_EQ(Post("/xend/domain/" + name, {{"op", "unpause"}}).status, 200);
  }
  void Destroy(const std::string& name) {
    ASSERT_EQ(Post("/xend/domain/" + name, {{"op", "destroy"}}).status, 202);
  }
  bool Listed(const std::string& name) { return HostView::Of(*stack_).listed.count(name) > 0; }

  // Restarts txend with TXEND_FAULT=<op>.<step>, runs `op` (cut off by the
  // kill), waits for txend to die there, and starts it again without the fault.
  void KillDuring(const std::string& fault, const std::function<void()>& op) {
    ASSERT_TRUE(stack_->RestartTxend(SIGKILL, {"TXEND_FAULT=" + fault}).ok());
    op();
    ASSERT_TRUE(Eventually(kWait, [&] { return !stack_->txend().Running(); }))
        << fault << " was never reached";
    Recover(*stack_);
  }

  // Starts `host`'s killed txend again and times it until it answers (its
  // recovery is done by then: start-up is recovery).
  void Recover(TxendStack& host) {
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(host.RestartTxend(SIGKILL).ok());
    recoveries_ms_.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }

  void TearDown() override {
    if (recoveries_ms_.empty()) return;
    std::sort(recoveries_ms_.begin(), recoveries_ms_.end());
    std::printf(
        "%zu kills of txend survived; restart with recovery until it answers: median "
        "%.0f ms, max %.0f ms\n",
        recoveries_ms_.size(), recoveries_ms_[recoveries_ms_.size() / 2], recoveries_ms_.back());
  }

  // Every source of truth agrees (waiting out backends that let go of a domain late).
  void ExpectAgreement(const std::string& when) {
    std::string last;
    bool agreed = Eventually(kWait, [&] {
      last = Disagreements(HostView::Of(*stack_), empty_free_mib_);
      return last.empty();
    });
    EXPECT_TRUE(agreed) << when << ":\n" << last;
    EXPECT_TRUE(Listed("bystander")) << when;
  }

  bool LogSays(const std::string& what) {
    return ReadFile(stack_->log_file()).find(what) != std::string::npos;
  }

  std::unique_ptr<TxendStack> stack_;
  uint64_t empty_free_mib_ = 0;
  std::vector<double> recoveries_ms_;
};

TEST_F(CrashRecoveryTest, Create) {
  const Step steps[] = {{"intent", Outcome::kUndone},     {"domain", Outcome::kUndone},
                        {"built", Outcome::kUndone},      {"nodes", Outcome::kUndone},
                        {"introduced", Outcome::kUndone}, {"devices", Outcome::kUndone},
                        {"unpaused", Outcome::kUndone},   {"registered", Outcome::kFinished}};
  for (const auto& step : steps) {
    std::string fault = std::string("create.") + step.name;
    KillDuring(fault, [&] {
      Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config("fresh", 2, 1)}});
    });
    ExpectAgreement(fault);
    EXPECT_EQ(Listed("fresh"), step.outcome == Outcome::kFinished) << fault;
    if (Listed("fresh")) Destroy("fresh");
  }
  Create("fresh", 2, 1);  // nothing of the cut-off creates is in the way
  ExpectAgreement("after");
}

TEST_F(CrashRecoveryTest, Destroy) {
  for (const char* step : {"intent", "removed", "destroyed"}) {
    std::string fault = std::string("destroy.") + step;
    Create("doomed");
    KillDuring(fault, [&] { Post("/xend/domain/doomed", {{"op", "destroy"}}); });
    ExpectAgreement(fault);
    EXPECT_FALSE(Listed("doomed")) << fault;
    EXPECT_TRUE(LogSays("recovery: finished the destroy of 'doomed'")) << fault;
  }
}

// Until the image is written the save is undone (the domain runs on, the
// partial file is removed); once the domain is being destroyed it is finished,
// and the file restores.
TEST_F(CrashRecoveryTest, Save) {
  const Step steps[] = {{"intent", Outcome::kUndone},
                        {"suspended", Outcome::kUndone},
                        {"written", Outcome::kUndone},
                        {"removed", Outcome::kFinished},
                        {"destroyed", Outcome::kFinished}};
  const std::string file = stack_->path("kept.save");
  for (const auto& step : steps) {
    std::string fault = std::string("save.") + step.name;
    Create("kept");
    KillDuring(fault, [&] { Post("/xend/domain/kept", {{"op", "save"}, {"file", file}}); });
    ExpectAgreement(fault);
    if (step.outcome == Outcome::kUndone) {
      ASSERT_TRUE(Listed("kept")) << fault;
      EXPECT_TRUE(
          Eventually(kWait, [&] { return HostView::Of(*stack_).listed["kept"].state[3] != 's'; }))
          << fault << ": still suspended";
      EXPECT_NE(::access(file.c_str(), F_OK), 0) << fault << ": the partial image is left";
    } else {
      EXPECT_FALSE(Listed("kept")) << fault;
      auto restored = Post("/xend/domain/", {{"op", "restore"}, {"file", file}});
      EXPECT_EQ(restored.status, 201) << fault << ": " << restored.body;
    }
    Destroy("kept");
    ExpectAgreement(fault + ", then destroyed");
  }
}

TEST_F(CrashRecoveryTest, Restore) {
  const std::string file = stack_->path("image.save");
  Create("image");
  ASSERT_EQ(Post("/xend/domain/image", {{"op", "save"}, {"file", file}}).status, 202);
  for (const char* step :
       {"intent", "domain", "built", "nodes", "introduced", "devices", "unpaused", "registered"}) {
    std::string fault = std::string("restore.") + step;
    KillDuring(fault, [&] { Post("/xend/domain/", {{"op", "restore"}, {"file", file}}); });
    ExpectAgreement(fault);
    bool finished = std::string(step) == "registered";
    EXPECT_EQ(Listed("image"), finished) << fault;
    if (finished) {
      ASSERT_EQ(Post("/xend/domain/image", {{"op", "save"}, {"file", file}}).status, 202);
    }
  }
  EXPECT_EQ(Post("/xend/domain/", {{"op", "restore"}, {"file", file}}).status, 201);
  ExpectAgreement("after");
}

// A device is the domain's once its config has it: before that an attach is
// undone (nodes removed), a detach is always finished.
TEST_F(CrashRecoveryTest, AttachAndDetach) {
  Create("host", 1, 0);
  const std::string disk = "(vbd (dev 'xvdb')(uname 'phy:/dev/vg0/hot')(mode 'w'))";
  auto devices = [&] { return HostView::Of(*stack_).listed["host"].devices; };
  const Step attach[] = {{"intent", Outcome::kUndone},
                         {"nodes", Outcome::kUndone},
                         {"connected", Outcome::kUndone},
                         {"registered", Outcome::kFinished}};
  for (const auto& step : attach) {
    std::string fault = std::string("attach.") + step.name;
    KillDuring(fault, [&] {
      Post("/xend/domain/host", {{"op", "device_create"}, {"config", disk}});
    });
    ExpectAgreement(fault);
    EXPECT_EQ(devices(), step.outcome == Outcome::kFinished ? 2u : 1u) << fault;
    if (devices() == 2u) {
      ASSERT_EQ(Post("/xend/domain/host",
                     {{"op", "device_destroy"}, {"type", "vbd"}, {"dev", "xvdb"}, {"force", "1"}})
                    .status,
                200);
    }
  }
  for (const char* step : {"intent", "offline", "removed"}) {
    std::string fault = std::string("detach.") + step;
    ASSERT_EQ(Post("/xend/domain/host", {{"op", "device_create"}, {"config", disk}}).status, 200);
    KillDuring(fault, [&] {
      Post("/xend/domain/host", {{"op", "device_destroy"}, {"type", "vbd"}, {"dev", "xvdb"}});
    });
    ExpectAgreement(fault);
    EXPECT_EQ(devices(), 1u) << fault;
  }
  // The disk's nodes are all gone: it attaches again.
  EXPECT_EQ(Post("/xend/domain/host", {{"op", "device_create"}, {"config", disk}}).status, 200);
  EXPECT_EQ(devices(), 2u);
}

// A reset (and a restart on exit) is finished: the domain runs again.
TEST_F(CrashRecoveryTest, Reset) {
  Create("again");
  for (const char* step : {"intent", "removed", "destroyed", "domain", "built", "nodes",
                           "introduced", "devices", "unpaused", "registered"}) {
    std::string fault = std::string("reset.") + step;
    KillDuring(fault, [&] { Post("/xend/domain/again", {{"op", "reset"}}); });
    ExpectAgreement(fault);
    EXPECT_TRUE(Listed("again")) << fault;
  }
}

// xsd SIGKILLed while txend is in the middle of a create or a destroy (held
// there by TXEND_FAULT=<op>.<step>:stall): its journal keeps the nodes written
// so far, txend restarts itself once xsd is back, and its recovery removes the
// nodes of the domain that exists nowhere.
TEST_F(CrashRecoveryTest, XsdKilledDuringCreatesAndDestroys) {
  auto homes = [&] { return HostView::Of(*stack_).homes.size(); };
  // Past create.devices a create needs xenstore no more: it finishes.
  const Step steps[] = {{"create.nodes", Outcome::kUndone},
                        {"create.introduced", Outcome::kUndone},
                        {"create.devices", Outcome::kFinished},
                        {"destroy.intent", Outcome::kFinished},
                        {"destroy.destroyed", Outcome::kFinished}};
  for (const auto& step : steps) {
    const std::string fault = step.name;
    bool creating = fault.starts_with("create");
    if (!creating) Create("victim");
    size_t before = homes();
    ASSERT_TRUE(
        stack_->RestartTxend(SIGKILL, {"TXEND_FAULT=" + std::string(fault) + ":stall"}).ok());
    int pid = stack_->txend().pid();
    std::thread op([&] {
      if (creating)
        Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config("victim", 2, 1)}});
      else
        Post("/xend/domain/victim", {{"op", "destroy"}});
    });
    // Stalled with its nodes written (or, for destroy.intent, not yet removed).
    if (creating) {
      ASSERT_TRUE(Eventually(kWait, [&] { return homes() > before; })) << fault;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(stack_->RestartXsd(SIGKILL).ok()) << fault;
    op.join();
    EXPECT_TRUE(Eventually(kWait, [&] { return LogSays("lost the xenstore connection"); }));
    ExpectAgreement(fault);
    EXPECT_EQ(stack_->txend().pid(), pid) << fault << ": txend restarts itself in place";
    bool created = creating && step.outcome == Outcome::kFinished;
    EXPECT_EQ(Listed("victim"), created) << fault;
    if (created) Destroy("victim");
  }
  Create("victim", 2, 1);
  ExpectAgreement("after");
}

// Two hosts on loopback: the source's txend or the destination's is killed at
// each step of a live migration. Before the handover the domain runs on at the
// source and nothing is left at the destination; after it the destination
// runs it and the source keeps its copy suspended (it cannot know, so never
// two copies running), or has destroyed it.
class MigrationCrashTest : public CrashRecoveryTest {
 protected:
  void SetUp() override {
    CrashRecoveryTest::SetUp();
    port_ = FreeTcpPort();
    TxendStack::Options o;
    o.extra_args = {"--relocation", "127.0.0.1:" + std::to_string(port_), "--relocation-insecure"};
    auto d = TxendStack::Start(o);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    dst_ = std::move(*d);
    dst_empty_free_mib_ = HostView::Of(*dst_).free_mib;
  }

  // Migrates "mover" from the source in the background; returns its thread,
  // which leaves the reply in `reply`.
  std::thread StartMigration(XendReply& reply) {
    return std::thread([this, &reply] {
      reply = stack_->client().set_timeout_s(60).Post("/xend/domain/mover",
                                                      {{"op", "migrate"},
                                                       {"destination", "127.0.0.1"},
                                                       {"port", std::to_string(port_)},
                                                       {"live", "1"}});
    });
  }

  // Kills `host`'s txend at `fault` during a migration, restarts it, and
  // waits for the migration request to end.
  void KillDuring(TxendStack& host, const std::string& fault) {
    ASSERT_TRUE(host.RestartTxend(SIGKILL, {"TXEND_FAULT=" + fault}).ok());
    XendReply reply;
    std::thread migration = StartMigration(reply);
    bool died = Eventually(kWait, [&] { return !host.txend().Running(); });
    migration.join();
    ASSERT_TRUE(died) << fault << " was never reached; the migration answered " << reply.status
                      << " " << reply.body;
    Recover(host);
  }

  void ExpectBothAgree(const std::string& when) {
    ExpectAgreement(when + " (source)");
    std::string last;
    bool agreed = Eventually(kWait, [&] {
      last = Disagreements(HostView::Of(*dst_), dst_empty_free_mib_);
      return last.empty();
    });
    EXPECT_TRUE(agreed) << when << " (destination):\n"
                        << last
                        << RunCommand("XENSTORED_PATH=" + dst_->xs_socket() +
                                      " xenstore-ls -f /local/domain/0/backend")
                               .out;
  }

  std::optional<ListedDomain> MoverOn(TxendStack& host) {
    auto view = HostView::Of(host);
    auto it = view.listed.find("mover");
    if (it == view.listed.end()) return std::nullopt;
    return it->second;
  }
  bool Suspended(const std::optional<ListedDomain>& d) { return d && d->state[3] == 's'; }

  // Back to the start: "mover" runs at the source only.
  void Reset() {
    for (TxendStack* host : {stack_.get(), dst_.get()})
      if (MoverOn(*host)) {
        ASSERT_EQ(host->client().Post("/xend/domain/mover", {{"op", "destroy"}}).status, 202);
      }
    Create("mover");
  }

  // Where the domain is once recovery is done.
  void ExpectOutcome(const std::string& fault, Outcome outcome) {
    ExpectBothAgree(fault);
    auto here = MoverOn(*stack_), there = MoverOn(*dst_);
    switch (outcome) {
      case Outcome::kUndone:  // runs on at the source (resumed)
        EXPECT_TRUE(here && !there) << fault;
        EXPECT_TRUE(Eventually(kWait, [&] { return !Suspended(MoverOn(*stack_)); })) << fault;
        break;
      case Outcome::kHandedOver:  // runs at the destination; the source's copy stays suspended
        EXPECT_TRUE(Suspended(here)) << fault;
        EXPECT_TRUE(there && !Suspended(there)) << fault;
        break;
      case Outcome::kFinished:
        EXPECT_TRUE(!here && there && !Suspended(there)) << fault;
        break;
    }
  }

  uint16_t port_ = 0;
  std::unique_ptr<TxendStack> dst_;
  uint64_t dst_empty_free_mib_ = 0;
};

TEST_F(MigrationCrashTest, SourceKilled) {
  const Step steps[] = {{"intent", Outcome::kUndone},     {"accepted", Outcome::kUndone},
                        {"suspended", Outcome::kUndone},  {"sent", Outcome::kUndone},
                        {"ready", Outcome::kUndone},      {"go", Outcome::kHandedOver},
                        {"done", Outcome::kHandedOver},   {"removed", Outcome::kFinished},
                        {"destroyed", Outcome::kFinished}};
  Create("mover");
  for (const auto& step : steps) {
    std::string fault = std::string("migrate.") + step.name;
    KillDuring(*stack_, fault);
    ExpectOutcome(fault, step.outcome);
    Reset();
  }
}

TEST_F(MigrationCrashTest, DestinationKilled) {
  const Step steps[] = {{"intent", Outcome::kUndone},       {"domain", Outcome::kUndone},
                        {"built", Outcome::kUndone},        {"nodes", Outcome::kUndone},
                        {"introduced", Outcome::kUndone},   {"devices", Outcome::kUndone},
                        {"unpaused", Outcome::kUndone},     {"registered", Outcome::kUndone},
                        {"go", Outcome::kHandedOver},       {"running", Outcome::kHandedOver},
                        {"connected", Outcome::kHandedOver}};
  Create("mover");
  for (const auto& step : steps) {
    std::string fault = std::string("receive.") + step.name;
    KillDuring(*dst_, fault);
    ExpectOutcome(fault, step.outcome);
    Reset();
  }
  // Killed right after READY: the source may have sent GO into the dying
  // connection (then it keeps its copy suspended) or not (then it resumes);
  // the destination never got GO and keeps nothing.
  KillDuring(*dst_, "receive.ready");
  ExpectBothAgree("receive.ready");
  EXPECT_TRUE(MoverOn(*stack_) && !MoverOn(*dst_));
}

}  // namespace
}  // namespace txend::testing
