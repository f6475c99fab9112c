// Ops libvirt's xend driver sends to running domains besides create and
// destroy: dump-core with crash (virsh dump --crash) and CD-ROM media changes
// through op=device_configure (virsh change-media, attach-disk --type cdrom).
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/files.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::testing {
namespace {

class DeviceConfigureTest : public ::testing::Test {
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
  // Creates and unpauses `name` from `config` as `virsh create` does; its domid.
  std::string Create(const std::string& name, const std::string& config) {
    auto created = Post("/xend/domain/", {{"op", "create"}, {"config", config}});
    EXPECT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(Post("/xend/domain/" + name, {{"op", "unpause"}}).status, 200);
    return sxp::ChildValue(Get("/xend/domain/" + name + "?detail=1").sxp, "domid");
  }
  // A PV guest with a disk and a CD-ROM drive holding `iso` ("" = empty).
  std::string CdromConfig(const std::string& name, const std::string& iso) const {
    std::string cdrom = "(device (vbd (dev 'xvdc:cdrom')" +
                        (iso.empty() ? std::string() : "(uname 'file:" + iso + "')") +
                        "(mode 'r')))";
    return "(vm (name '" + name + "')(memory 64)(maxmem 64)(vcpus 1)(image (linux (kernel '" +
           stack_->kernel() + "')))(device (vbd (dev 'xvda')(uname 'phy:/dev/vg0/" + name +
           "')(mode 'w')))" + cdrom + ")";
  }
  std::string Read(const std::string& path) {
    auto xs = xs::Connection::Open(stack_->xs_socket());
    if (!xs.ok()) return "<" + xs.status().ToString() + ">";
    auto snap = xs::Snapshot::Begin(**xs);
    if (!snap.ok()) return "<" + snap.status().ToString() + ">";
    auto value = snap->Read(path);
    return value.ok() ? *value : "<" + value.status().ToString() + ">";
  }
  // The config as read back: the (uname ..) of the vbd whose dev starts with `dev`.
  std::string UnameOf(const std::string& name, const std::string& dev) {
    XendReply reply = Get("/xend/domain/" + name + "?detail=1");
    for (const sxp::Value* d : sxp::Children(reply.sxp, "device")) {
      const sxp::Value* vbd = sxp::ChildAt(*d, 0);
      if (vbd && sxp::Name(*vbd) == "vbd" && sxp::ChildValue(*vbd, "dev").starts_with(dev))
        return sxp::ChildValue(*vbd, "uname", "<none>");
    }
    return "<no such vbd>";
  }
  std::unique_ptr<TxendStack> stack_;
};

TEST_F(DeviceConfigureTest, DumpWithCrashDestroysTheDomain) {
  Create("dumped", stack_->Config("dumped", 1, 0));
  std::string core = stack_->path("dumped.core");
  // virsh dump --crash: xenDaemonDomainCoreDump's exact parameters.
  auto r = Post("/xend/domain/dumped",
                {{"op", "dump"}, {"file", core}, {"live", "0"}, {"crash", "1"}, {"reset", "0"}});
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_TRUE(std::filesystem::exists(core));
  EXPECT_EQ(Get("/xend/domain/dumped").status, 404) << "xend destroyed it after the dump";
}

TEST_F(DeviceConfigureTest, DumpWithoutCrashLeavesItRunningUnpaused) {
  Create("kept", stack_->Config("kept", 1, 0));
  std::string core = stack_->path("kept.core");
  auto r = Post("/xend/domain/kept",
                {{"op", "dump"}, {"file", core}, {"live", "0"}, {"crash", "0"}, {"reset", "0"}});
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_TRUE(std::filesystem::exists(core));
  auto d = Get("/xend/domain/kept?detail=1");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(sxp::ChildValue(d.sxp, "state").find('p'), std::string::npos)
      << "paused for the dump, unpaused after: " << sxp::ChildValue(d.sxp, "state");
}

TEST_F(DeviceConfigureTest, CdromMediaChangeAndEject) {
  std::string iso1 = WriteFile(stack_->path("one.iso"), {'1'});
  std::string iso2 = WriteFile(stack_->path("two.iso"), {'2'});
  std::string domid = Create("cd", CdromConfig("cd", iso1));
  ASSERT_FALSE(domid.empty());
  std::string backend = "/local/domain/0/backend/vbd/" + domid + "/51744";  // xvdc
  ASSERT_EQ(Read(backend + "/params"), iso1);

  // virsh change-media cd xvdc two.iso: libvirt's update-device.
  auto r = Post("/xend/domain/cd",
                {{"op", "device_configure"},
                 {"config", "(vbd (dev 'xvdc:cdrom')(uname 'file:" + iso2 + "')(mode 'r'))"},
                 {"dev", "51744"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Read(backend + "/params"), iso2);
  EXPECT_EQ(Read(backend + "/type"), "file");
  EXPECT_EQ(UnameOf("cd", "xvdc"), "file:" + iso2) << "the config follows the media";

  // virsh change-media --eject: no source.
  r = Post("/xend/domain/cd", {{"op", "device_configure"},
                               {"config", "(vbd (dev 'xvdc:cdrom')(mode 'r'))"},
                               {"dev", "51744"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Read(backend + "/params"), "");
  EXPECT_EQ(UnameOf("cd", "xvdc"), "<none>");

  // And in again.
  r = Post("/xend/domain/cd",
           {{"op", "device_configure"},
            {"config", "(vbd (dev 'xvdc:cdrom')(uname 'file:" + iso1 + "')(mode 'r'))"},
            {"dev", "51744"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Read(backend + "/params"), iso1);
}

TEST_F(DeviceConfigureTest, OnlyReadOnlyCdromsChangeMedia) {
  std::string iso = WriteFile(stack_->path("one.iso"), {'1'});
  Create("disk", CdromConfig("disk", iso));
  // A disk is not a CD-ROM: xend refused to reconfigure it.
  auto r = Post("/xend/domain/disk", {{"op", "device_configure"},
                                      {"config",
                                       "(vbd (dev 'xvda')(uname 'phy:/dev/vg0/other')"
                                       "(mode 'w'))"},
                                      {"dev", "51712"}});
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("xvda is not a CD-ROM"), std::string::npos) << r.body;
  EXPECT_EQ(UnameOf("disk", "xvda"), "phy:/dev/vg0/disk");
  // A CD-ROM stays read-only.
  r = Post("/xend/domain/disk",
           {{"op", "device_configure"},
            {"config", "(vbd (dev 'xvdc:cdrom')(uname 'file:" + iso + "')(mode 'w'))"}});
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("read-only"), std::string::npos) << r.body;
  // A drive the domain does not have.
  r = Post("/xend/domain/disk",
           {{"op", "device_configure"},
            {"config", "(vbd (dev 'xvdd:cdrom')(uname 'file:" + iso + "')(mode 'r'))"}});
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("has no vbd xvdd"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace txend::testing
