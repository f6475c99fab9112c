// DomainRegistry on its own: one resolution for every spelling of a ref, and
// indexes that follow renames, starts and stops.
#include "toolstack/domain/domain_registry.h"

#include <fcntl.h>

#include <future>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "tests/support/daemon_process.h"
#include "tests/support/files.h"

namespace txend::toolstack {
namespace {

class DomainRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = DomainRegistry::Open(dir_.path(), SeededRandomBytes(1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(*r);
  }
  std::shared_ptr<const RegisteredConfig> Registered(const std::string& name,
                                                     const std::string& uuid) {
    DomainConfig c;
    c.name = name;
    c.uuid = uuid;
    c.memory_mb = 64;
    c.image.kernel = "/boot/vmlinuz";
    VbdConfig disk;
    disk.uname = "phy:/dev/vg/" + name;
    disk.dev = "xvda";
    c.vbds.push_back(disk);
    return RegisteredConfig::Make(ValidConfig::Check(c, SeededRandomBytes(2)).value()).value();
  }

  testing::TempDir dir_;
  std::unique_ptr<DomainRegistry> registry_;
};

constexpr char kUuid[] = "11111111-2222-4333-8444-555555555555";

TEST_F(DomainRegistryTest, EverySpellingOfDomain0ResolvesToIt) {
  for (const char* ref : {"0", "Domain-0", "00000000-0000-0000-0000-000000000000"}) {
    auto r = registry_->Resolve(ref);
    ASSERT_TRUE(r.ok()) << ref;
    EXPECT_TRUE(r->is_dom0()) << ref;
    EXPECT_EQ(r->domid(), 0u);
  }
  EXPECT_EQ(registry_->Lookup("Domain-0").status().code(), ESRCH);
  EXPECT_EQ(registry_->Running("0").status().message(), "Domain '0' does not exist.");
  EXPECT_EQ(registry_->Resolve("nobody").status().code(), ESRCH);
}

TEST_F(DomainRegistryTest, NameDomidAndUuidFindTheSameSharedConfig) {
  auto config = Registered("web", kUuid);
  ASSERT_EQ(config->devices.size(), 1u) << "devices computed when registered";
  ASSERT_TRUE(registry_->AddRunning(config, 7, 100).ok());
  for (const char* ref : {"web", "7", kUuid}) {
    auto d = registry_->Running(ref);
    ASSERT_TRUE(d.ok()) << ref;
    EXPECT_EQ(d->registered, config) << "shared, not copied";
    EXPECT_EQ(d->domid, 7u);
  }
  EXPECT_EQ(registry_->Resolve("8").status().code(), ESRCH);
  EXPECT_EQ(registry_->CheckNameFree("web", "another").code(), EEXIST);
  EXPECT_TRUE(registry_->CheckNameFree("web", kUuid).ok());
}

TEST_F(DomainRegistryTest, IndexesFollowRenamesAndStops) {
  ASSERT_TRUE(registry_->Define(Registered("kept", kUuid)).ok());
  EXPECT_EQ(registry_->Running("kept").status().code(), EINVAL);
  EXPECT_EQ(registry_->ResolveRunning("kept").status().code(), EINVAL);
  ASSERT_TRUE(registry_->AddRunning(Registered("kept", kUuid), 3, 100).ok());
  ASSERT_TRUE(registry_->Update(Registered("renamed", kUuid)).ok());
  EXPECT_EQ(registry_->Resolve("kept").status().code(), ESRCH);
  EXPECT_EQ(registry_->Running("renamed")->domid, 3u);
  EXPECT_TRUE(registry_->CheckNameFree("kept", "another").ok());

  registry_->RemoveRunning(3);
  EXPECT_EQ(registry_->Resolve("3").status().code(), ESRCH);
  auto defined = registry_->Lookup("renamed");
  ASSERT_TRUE(defined.ok()) << "managed domains stay defined";
  EXPECT_FALSE(defined->domid);
  ASSERT_TRUE(registry_->Undefine(kUuid).ok());
  EXPECT_EQ(registry_->Resolve("renamed").status().code(), ESRCH);
  EXPECT_TRUE(registry_->All().empty());
}

TEST_F(DomainRegistryTest, ARestartedRegistryFindsManagedAndRunningConfigs) {
  ASSERT_TRUE(registry_->Define(Registered("kept", kUuid)).ok());
  ASSERT_TRUE(registry_->AddRunning(Registered("kept", kUuid), 4, 100).ok());
  auto reopened = DomainRegistry::Open(dir_.path(), SeededRandomBytes(1));
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->Lookup("kept")->managed);
  ASSERT_NE((*reopened)->RunningConfig(kUuid), nullptr);
  EXPECT_EQ((*reopened)->RunningConfig(kUuid)->config->name, "kept");
}

// A config txend cannot read — a FIFO, garbage, an empty file (an unsynced write a host crash
// lost), one no longer valid — is set aside, kept for the operator, and the rest load: start-up
// neither waits on a FIFO nor stops at one bad file.
TEST_F(DomainRegistryTest, UnreadableConfigsAreSetAsideAndTheRestLoad) {
  ASSERT_TRUE(registry_->Define(Registered("kept", kUuid)).ok());
  auto text = [](std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  const std::string fifo = dir_ / "domains/fifo.sxp";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::vector<std::string> bad = {
      fifo, testing::WriteFile(dir_ / "domains/garbage.sxp", text("(vm (name")),
      testing::WriteFile(dir_ / "domains/invalid.sxp", text("(vm (name bad) (memory -5))")),
      testing::WriteFile(dir_ / "running/empty.sxp", {})};
  auto opening = std::async(
      std::launch::async, [&] { return DomainRegistry::Open(dir_.path(), SeededRandomBytes(1)); });
  if (opening.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    UniqueFd writer(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK));  // lets the blocked open end
    FAIL() << "Open waited on a FIFO";
  }
  auto reopened = opening.get();
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_TRUE((*reopened)->Lookup("kept").ok());
  EXPECT_EQ((*reopened)->set_aside().size(), bad.size());
  for (const std::string& path : bad) {
    struct stat st;
    EXPECT_NE(::lstat(path.c_str(), &st), 0) << path << " set aside";
    std::string aside = path.substr(0, path.size() - 4) + ".unreadable";
    EXPECT_EQ(::lstat(aside.c_str(), &st), 0) << aside << " kept";
  }
  for (const std::string& line : (*reopened)->set_aside())
    EXPECT_NE(line.find(".unreadable)"), std::string::npos) << line;  // says where it went
}

}  // namespace
}  // namespace txend::toolstack
