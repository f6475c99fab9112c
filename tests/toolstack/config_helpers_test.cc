// Block device names, cpu lists, uuids and MACs, config value parsing.
#include <set>

#include <gtest/gtest.h>

#include "toolstack/config/block_device_name.h"
#include "toolstack/config/config_values.h"
#include "toolstack/config/cpu_affinity.h"
#include "toolstack/config/random_ids.h"

namespace txend::toolstack {
namespace {

TEST(BlockDeviceName, XendNumbers) {
  EXPECT_EQ(BlockDeviceNumber("xvda"), 51712u);
  EXPECT_EQ(BlockDeviceNumber("xvda1"), 51713u);
  EXPECT_EQ(BlockDeviceNumber("/dev/xvdb15"), 51743u);
  EXPECT_EQ(BlockDeviceNumber("xvdq"), (1u << 28) + (16u << 8));
  EXPECT_EQ(BlockDeviceNumber("xvdaa"), (1u << 28) + (26u << 8));
  EXPECT_EQ(BlockDeviceNumber("hda"), 768u);
  EXPECT_EQ(BlockDeviceNumber("hdb2"), 3u * 256 + 64 + 2);
  EXPECT_EQ(BlockDeviceNumber("hdc"), 22u * 256);
  EXPECT_EQ(BlockDeviceNumber("sda1"), 8u * 256 + 1);
  EXPECT_EQ(BlockDeviceNumber("sdq"), 65u * 256);
  EXPECT_EQ(BlockDeviceNumber("51712"), 51712u);
  EXPECT_EQ(BlockDeviceNumber("0xca00"), 51712u);
}

TEST(BlockDeviceName, RejectsUnknownNames) {
  for (const char* bad : {"", "xvd", "xvda0", "xvda16", "hdu", "hda64", "vda", "/tmp/xvda",
                          "xvda1x", "0xzz", "sda01", "-1"})
    EXPECT_EQ(BlockDeviceNumber(bad), std::nullopt) << bad;
}

TEST(BlockDeviceName, VbdDevStripsPrefixAndSuffix) {
  EXPECT_EQ(VbdDeviceNumber("ioemu:hda"), 768u);
  EXPECT_EQ(VbdDeviceNumber("hdc:cdrom"), 22u * 256);
  EXPECT_EQ(VbdDeviceNumber("xvda:disk"), 51712u);
  EXPECT_EQ(VbdDeviceNumber("ioemu:nope"), std::nullopt);
}

TEST(CpuAffinity, XendListSemantics) {
  EXPECT_EQ(ParseCpuList("0-3,^1").value(), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(ParseCpuList("0-3,^1,1").value(), (std::vector<int>{0, 2, 3, 1}));
  EXPECT_EQ(ParseCpuList("5").value(), (std::vector<int>{5}));
  EXPECT_EQ(ParseCpuList("").value(), (std::vector<int>{}));
  EXPECT_EQ(ParseCpuList("3-1").value(), (std::vector<int>{})) << "an empty range adds nothing";
}

TEST(CpuAffinity, Errors) {
  EXPECT_EQ(ParseCpuList("0,x").status().message(), "cpus: '0,x': not a cpu number: 'x'");
  EXPECT_EQ(ParseCpuList("0,,1").status().message(), "cpus: '0,,1': not a cpu number: ''");
  EXPECT_EQ(ParseCpuList("0-99999").status().message(),
            "cpus: '0-99999': cpu number out of range (0-4095): '99999'");
  std::string hostile;
  for (int i = 0; i < 10; ++i) hostile += "0-4095,";
  EXPECT_FALSE(ParseCpuList(hostile + "0").ok());
}

TEST(RandomIds, UuidV4FromTheGivenSource) {
  std::string a = NewUuid(SeededRandomBytes(1));
  EXPECT_EQ(a, NewUuid(SeededRandomBytes(1))) << "deterministic for a seed";
  EXPECT_NE(a, NewUuid(SeededRandomBytes(2)));
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
  EXPECT_EQ(NormalizeUuid(a).value(), a);
  EXPECT_NE(NewUuid(SystemRandomBytes()), NewUuid(SystemRandomBytes()));
}

TEST(RandomIds, NormalizeUuidLikeXend) {
  EXPECT_EQ(NormalizeUuid("6F8D2A4E0C1B4A5D9E7F102030405060").value(),
            "6f8d2a4e-0c1b-4a5d-9e7f-102030405060");
  EXPECT_EQ(NormalizeUuid("6f8d2a4e-0c1b4a5d-9e7f-1020-30405060").value(),
            "6f8d2a4e-0c1b-4a5d-9e7f-102030405060");
  EXPECT_EQ(
      NormalizeUuid("6f8d2a4e-0c1b-4a5d-9e7f-10203040506").status().message(),
      "uuid: '6f8d2a4e-0c1b-4a5d-9e7f-10203040506' is not a UUID (32 hex digits, dashes optional)");
  EXPECT_FALSE(NormalizeUuid("6f8d2a4e-0c1b-4a5d-9e7f-1020304050607").ok());
  EXPECT_FALSE(NormalizeUuid("zz8d2a4e-0c1b-4a5d-9e7f-102030405060").ok());
}

TEST(RandomIds, MacsInXensourceOui) {
  std::set<std::string> seen;
  auto random = SeededRandomBytes(7);
  for (int i = 0; i < 200; ++i) {
    std::string mac = RandomMac(random);
    ASSERT_TRUE(IsValidMac(mac)) << mac;
    EXPECT_EQ(mac.substr(0, 9), "00:16:3e:");
    EXPECT_LT(std::stoi(mac.substr(9, 2), nullptr, 16), 0x80);
    seen.insert(mac);
  }
  EXPECT_GT(seen.size(), 190u);
  EXPECT_FALSE(IsValidMac("00:16:3e:00:00"));
  EXPECT_FALSE(IsValidMac("00-16-3e-00-00-01"));
  EXPECT_FALSE(IsValidMac("00:16:3e:00:00:0g"));
}

TEST(ConfigValues, IntegersLikePythonInt) {
  EXPECT_EQ(ReadInteger("memory", " 512 ").value(), 512);
  EXPECT_EQ(ReadInteger("memory", "+7").value(), 7);
  EXPECT_EQ(ReadInteger("x", "-3").value(), -3);
  EXPECT_EQ(ReadInteger("memory", "lots").status().message(),
            "memory: expected an integer, got 'lots'");
  EXPECT_FALSE(ReadInteger("memory", "512.0").ok());
  EXPECT_FALSE(ReadInteger("memory", "99999999999999999999").ok());
  EXPECT_EQ(ReadIntegerInRange("vcpus", "0", 1, 512).status().message(),
            "vcpus: 0 is out of range (1..512)");
  EXPECT_TRUE(ReadFlag("acpi", "1").value());
  EXPECT_FALSE(ReadFlag("acpi", "0").value());
}

}  // namespace
}  // namespace txend::toolstack
