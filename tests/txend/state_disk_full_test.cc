// txend's state files (domain configs, running configs, intents) on a disk that fills up:
// `xm new` and `xm create` fail with the disk's error and leave nothing half-written or
// half-made, what was there is kept, and with space back everything works and survives a
// restart.
#include <signal.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/host_view.h"
#include "tests/support/small_filesystem.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

namespace fs = std::filesystem;

std::set<std::string> FilesIn(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename() != "filler") names.insert(fs::relative(e.path(), dir).string());
  return names;
}

TEST(StateDiskFull, DefinesAndCreatesFailCleanlyAndWhatWasThereIsKept) {
  auto disk = SmallFilesystem::Mount(1 << 20);
  if (!disk.ok()) GTEST_SKIP() << disk.status().ToString();
  auto started = TxendStack::Start();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  TxendStack& stack = **started;
  for (const char* sub : {"domains", "running", "intents"}) {  // onto the small disk
    fs::create_directories((*disk)->path() + "/" + sub);
    fs::remove_all(stack.path(std::string("state/") + sub));
    fs::create_directory_symlink((*disk)->path() + "/" + sub,
                                 stack.path(std::string("state/") + sub));
  }
  auto post = [&](const std::string& path, const std::string& op, const std::string& name) {
    return stack.client().Post(path, {{"op", op}, {"config", stack.Config(name, 1, 1)}});
  };
  ASSERT_EQ(post("/xend/domain/", "new", "kept").status, 200);
  const std::set<std::string> before = FilesIn((*disk)->path());
  const HostView empty = HostView::Of(stack);

  (*disk)->Fill();
  auto defined = post("/xend/domain/", "new", "full");
  EXPECT_EQ(defined.status, 500);
  EXPECT_NE(defined.body.find("No space left on device"), std::string::npos) << defined.body;
  EXPECT_EQ(stack.client().Get("/xend/domain/full").status, 404);
  auto created = post("/xend/domain/", "create", "made");
  EXPECT_EQ(created.status, 500);
  EXPECT_NE(created.body.find("No space left on device"), std::string::npos) << created.body;
  const HostView full = HostView::Of(stack);
  EXPECT_TRUE(full.listed.empty()) << "no domain half made";
  EXPECT_EQ(full.hypervisor_domids, empty.hypervisor_domids);
  EXPECT_EQ(full.homes, empty.homes);
  EXPECT_EQ(FilesIn((*disk)->path()), before) << "nothing half-written, nothing lost";
  EXPECT_EQ(stack.client().Get("/xend/domain/kept").status, 200);

  (*disk)->Unfill();
  EXPECT_EQ(post("/xend/domain/", "new", "full").status, 200);
  EXPECT_EQ(post("/xend/domain/", "create", "made").status, 201);
  ASSERT_TRUE(stack.RestartTxend(SIGTERM).ok());
  for (const char* name : {"kept", "full", "made"})
    EXPECT_EQ(stack.client().Get(std::string("/xend/domain/") + name).status, 200) << name;
}

}  // namespace
}  // namespace txend::testing
