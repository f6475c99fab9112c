// The incoming-domain policy: which storage and bridges an arriving domain may use.
#include "toolstack/config/incoming_policy.h"

#include <gtest/gtest.h>

namespace txend::toolstack {
namespace {

DomainConfig WithDisk(const std::string& uname, const std::string& bridge = "xenbr0") {
  DomainConfig c;
  c.name = "guest";
  VbdConfig vbd;
  vbd.uname = uname;
  vbd.dev = "xvda";
  c.vbds.push_back(vbd);
  VifConfig vif;
  vif.bridge = bridge;
  c.vifs.push_back(vif);
  return c;
}

TEST(IncomingPolicyTest, ByDefaultDom0sOwnDevicesAndDirectoriesAreRefused) {
  IncomingPolicy any;
  for (const char* ok : {"phy:/dev/vg0/guest", "file:/srv/xen/guest.img", "tap:aio:/srv/g.img",
                         "phy:/dev/mapper/vg0-guest", ""})
    EXPECT_TRUE(CheckIncomingPolicy(any, WithDisk(ok)).ok()) << ok;
  for (const char* bad : {"phy:/dev/sda", "phy:sda", "phy:/dev/nvme0n1p2", "file:/etc/shadow",
                          "file:/boot/vmlinuz", "phy:/dev/disk/by-id/ata-x", "file:relative.img",
                          "file:/srv/../etc/shadow", "phy:/dev/dm-0", "phy:/dev/mem"}) {
    Status st = CheckIncomingPolicy(any, WithDisk(bad));
    EXPECT_EQ(st.code(), EACCES) << bad;
    EXPECT_NE(st.message().find("refused by the incoming-domain policy: disk xvda ('" +
                                std::string(bad) + "')"),
              std::string::npos)
        << st.message();
  }
}

TEST(IncomingPolicyTest, ListedStorageAndBridgesOnly) {
  IncomingPolicy policy{PolicyWords(" vg0  /srv/xen/ "), PolicyWords("xenbr0 xenbr1")};
  ASSERT_EQ(policy.storage.size(), 2u);
  EXPECT_TRUE(CheckIncomingPolicy(policy, WithDisk("phy:/dev/vg0/guest")).ok());
  EXPECT_TRUE(CheckIncomingPolicy(policy, WithDisk("phy:/dev/mapper/vg0-guest")).ok());
  EXPECT_TRUE(CheckIncomingPolicy(policy, WithDisk("file:/srv/xen/g.img", "xenbr1")).ok());
  Status other_vg = CheckIncomingPolicy(policy, WithDisk("phy:/dev/vg1/guest"));
  EXPECT_EQ(other_vg.code(), EACCES);
  EXPECT_NE(other_vg.message().find("outside txend-incoming-storage (vg0 /srv/xen/)"),
            std::string::npos)
      << other_vg.message();
  EXPECT_EQ(CheckIncomingPolicy(policy, WithDisk("phy:/dev/mapper/vg01-guest")).code(), EACCES);
  Status bridge = CheckIncomingPolicy(policy, WithDisk("phy:/dev/vg0/guest", "br-mgmt"));
  EXPECT_EQ(bridge.code(), EACCES);
  EXPECT_NE(bridge.message().find("vif 0 joins bridge 'br-mgmt', not in txend-incoming-bridges "
                                  "(xenbr0 xenbr1)"),
            std::string::npos)
      << bridge.message();
}

}  // namespace
}  // namespace txend::toolstack
