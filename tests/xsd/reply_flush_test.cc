// When xsd's Server sends a reply: as soon as the client's requests are
// handled while no commit awaits the round's fdatasync (so a reply never waits
// behind the rest of a loop round), and only after that fdatasync once one
// does. The loop reads the store's clock once a round after handling requests
// (to expire transactions); the tests hold that read shut, freezing the round
// before its group commit, and look at what the client has got by then.
#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/raw_wire.h"
#include "tests/support/sockets.h"
#include "xsd/server.h"

namespace txend::xsd {
namespace {

using namespace std::string_literals;
using testing::Eventually;
using wire::MsgType;

constexpr std::chrono::seconds kWait{5};

// A clock whose `block_at`-th reading waits until Open() (or 30 s).
class ClockGate {
 public:
  explicit ClockGate(int block_at) : block_at_(block_at) {}
  Xenstore::Clock::time_point Now() {
    std::unique_lock lock(mu_);
    if (++readings_ == block_at_) {
      held_ = true;
      cv_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
      held_ = false;
    }
    return Xenstore::Clock::now();
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool held() {
    std::lock_guard lock(mu_);
    return held_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int block_at_;
  int readings_ = 0;
  bool held_ = false;
  bool open_ = false;
};

// An in-process server whose client connected and sent `request` before the
// loop started: the loop's first round accepts it, its second reads the
// request and is held at its clock reading.
class ReplyFlushTest : public ::testing::Test {
 protected:
  ~ReplyFlushTest() override {
    gate_.Open();
    if (thread_.joinable()) {
      server_->RequestStop();
      thread_.join();
    }
  }

  void Start(bool persist, MsgType type, const std::string& payload) {
    std::unique_ptr<Journal> journal;
    std::optional<Tree> tree;
    if (persist) {
      tree.emplace();
      auto j = Journal::Open(dir_ / "store", *tree);
      ASSERT_TRUE(j.ok()) << j.status().ToString();
      journal = std::move(*j);
    }
    store_.emplace(Quota{}, std::move(journal), std::move(tree));
    store_->set_clock([this] { return gate_.Now(); });
    ServerOptions opts;
    opts.socket_path = dir_ / "socket";
    auto s = Server::Create(opts, *store_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    client_.reset(testing::DialUnix(opts.socket_path));
    ASSERT_TRUE(client_);
    ASSERT_TRUE(testing::SendAll(client_.get(), wire::Encode(type, 7, 0, payload)));
    thread_ = std::thread([this] { EXPECT_TRUE(server_->Run().ok()); });
  }

  bool ReplyWaiting() {
    pollfd p{client_.get(), POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }

  testing::TempDir dir_;
  ClockGate gate_{2};
  std::optional<Xenstore> store_;
  std::unique_ptr<Server> server_;
  UniqueFd client_;
  std::thread thread_;
};

TEST_F(ReplyFlushTest, AReplyLeavesBeforeTheRoundEnds) {
  Start(false, MsgType::kRead, "/\0"s);
  auto reply = testing::ReceiveMessage(client_.get());  // gives up after 5 s
  ASSERT_TRUE(reply) << "no reply while the round is held";
  EXPECT_EQ(reply->type(), MsgType::kRead);
  EXPECT_EQ(reply->header.req_id, 7u);
  EXPECT_TRUE(Eventually(kWait, [&] { return gate_.held(); }));
}

TEST_F(ReplyFlushTest, WithPersistenceAReadLeavesBeforeTheRoundEnds) {
  Start(true, MsgType::kRead, "/\0"s);
  auto reply = testing::ReceiveMessage(client_.get());
  ASSERT_TRUE(reply) << "no reply while the round is held";
  EXPECT_EQ(reply->type(), MsgType::kRead);
}

TEST_F(ReplyFlushTest, WithPersistenceACommitIsAnsweredOnlyAfterTheRoundsSync) {
  Start(true, MsgType::kWrite, "/flush/key\0value"s);
  ASSERT_TRUE(Eventually(kWait, [&] { return gate_.held(); }));
  EXPECT_FALSE(ReplyWaiting()) << "a write was acknowledged before its fdatasync";
  gate_.Open();
  auto reply = testing::ReceiveMessage(client_.get());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type(), MsgType::kWrite);
  EXPECT_EQ(reply->payload, "OK\0"s);
}

}  // namespace
}  // namespace txend::xsd
