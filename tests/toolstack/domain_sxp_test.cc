// DomainSxp: a record's (domain ...) SXP, runtime fields where xend puts them.
#include "toolstack/domain/domain_sxp.h"

#include <gtest/gtest.h>

namespace txend::toolstack {
namespace {

// What `xm create` sends for a PV guest with two disks and one vif.
constexpr std::string_view kXmPv =
    "(vm (name web01) (memory 512) (maxmem 1024) (on_xend_start ignore) (on_xend_stop ignore)"
    " (vcpus 2) (uuid 6F8D2A4E-0C1B-4A5D-9E7F-102030405060) (cpus '0-3,^1') (oos 1)"
    " (image (linux (kernel /boot/vmlinuz-3.2.0-4-amd64) (ramdisk /boot/initrd.img-3.2.0-4-amd64)"
    "   (root '/dev/xvda1 ro') (args console=hvc0) (videoram 4) (tsc_mode 0) (nomigrate 0)))"
    " (s3_integrity 1)"
    " (device (vbd (uname phy:/dev/vg0/web01-root) (dev xvda1) (mode w)))"
    " (device (vbd (uname file:/srv/xen/web01-swap.img) (dev xvda2) (mode w)))"
    " (device (vif (bridge xenbr0) (mac 00:16:3E:4A:01:02) (script vif-bridge))))";

DomainRecord Running() {
  DomainRecord r;
  r.config = std::make_shared<DomainConfig>(*FromSxp(*sxp::Parse(kXmPv), SeededRandomBytes(42)));
  DomainInfo info;
  info.domid = 7;
  info.cpu_time_ns = 266840330081;
  info.online_vcpus = 2;
  info.blocked = true;
  r.info = info;
  r.start_time = 1467059760.94;
  return r;
}

// Floats as xend printed them (Python 2 str(): 12 significant digits, ".0" on whole ones).
TEST(DomainSxp, SecondsArePrintedAsPython2PrintedFloats) {
  EXPECT_EQ(Seconds(0), "0.0");
  EXPECT_EQ(Seconds(1.5), "1.5");
  EXPECT_EQ(Seconds(12), "12.0");
  EXPECT_EQ(Seconds(1764950000.123456), "1764950000.12");
  EXPECT_EQ(Seconds(0.000123456789012345), "0.000123456789012");
  EXPECT_EQ(Seconds(1e-7), "1e-07");
  EXPECT_EQ(Seconds(1e15), "1e+15");
  EXPECT_EQ(Seconds(-2.25), "-2.25");
}

TEST(DomainSxp, RuntimeFieldsGoWhereXendPutsThem) {
  std::string pretty = sxp::PrettyPrint(DomainSxp(Running()));
  EXPECT_EQ(pretty.substr(0, 45), "(domain\n    (domid 7)\n    (cpu_weight 256)\n  ");
  EXPECT_NE(pretty.find("    (on_xend_stop ignore)\n    (start_time 1467059760.94)\n"
                        "    (cpu_time 266.840330081)\n    (online_vcpus 2)\n    (image\n"
                        "        (linux\n            (kernel /boot/vmlinuz-3.2.0-4-amd64)\n"),
            std::string::npos)
      << pretty;
  EXPECT_NE(pretty.find("        )\n    )\n    (status 2)\n    (state -b----)\n    (device\n"),
            std::string::npos)
      << pretty;
  EXPECT_EQ(pretty.substr(pretty.size() - 2), ")\n");
}

TEST(DomainSxp, TheMemoryTargetReplacesTheConfiguredMemory) {
  DomainRecord r = Running();
  r.memory_target_kib = 300 * 1024;
  std::string text = sxp::ToString(DomainSxp(r));
  EXPECT_NE(text.find("(maxmem 1024) (memory 300) (shadow_memory 0)"), std::string::npos) << text;
  EXPECT_EQ(r.config->memory_mb, 512) << "the shared config is not touched";
}

TEST(DomainSxp, AnInactiveDomainIsHaltedWithoutRuntimeFields) {
  DomainRecord r = Running();
  r.info.reset();
  std::string text = sxp::ToString(DomainSxp(r));
  EXPECT_EQ(text.find("(domid"), std::string::npos);
  EXPECT_EQ(text.find("(cpu_time"), std::string::npos);
  EXPECT_NE(text.find(" (nomigrate 0))) (status 0) (device (vbd"), std::string::npos) << text;
}

TEST(DomainSxp, Domain0HasNoStartTime) {
  DomainInfo info;
  info.memory_kib = 1024 * 1024;
  info.max_memory_kib = 2048 * 1024;
  info.running = true;
  std::string text = sxp::ToString(DomainSxp(DomainRecord::Dom0(info)));
  EXPECT_EQ(text.substr(0, 28), "(domain (domid 0) (cpu_weigh");
  EXPECT_EQ(text.find("(start_time"), std::string::npos);
  EXPECT_NE(text.find("(name Domain-0)"), std::string::npos);
  EXPECT_NE(text.find("(memory 1024)"), std::string::npos);
  EXPECT_NE(text.find("(on_xend_stop ignore) (cpu_time 0.0) (online_vcpus 0) (image"),
            std::string::npos)
      << text;
}

TEST(DomainSxp, TheVncLocationGoesIntoTheFirstVfb) {
  DomainRecord r = Running();
  auto config = std::make_shared<DomainConfig>(*r.config);
  VfbConfig vfb;
  vfb.type = "vnc";
  config->vfbs = {vfb, vfb};
  r.config = config;
  r.vnc_location = "127.0.0.1:5901";
  std::string text = sxp::ToString(DomainSxp(r));
  size_t at = text.find("(location 127.0.0.1:5901)))");
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_EQ(text.find("(location", at + 1), std::string::npos) << "only the first vfb";
  EXPECT_LT(text.rfind("(device (vfb", at), at);
}

TEST(DomainSxp, ARegisteredConfigPrintsAsItsTreeWould) {
  DomainRecord r = Running();
  r.memory_target_kib = 256 * 1024;
  std::string from_tree;
  AppendDomainSxp(r, from_tree);  // no PrintedConfig: printed from the config on the spot
  r.printed = std::make_shared<PrintedConfig>(PrintedConfig::Of(*r.config));
  std::string from_printed;
  AppendDomainSxp(r, from_printed);
  EXPECT_EQ(from_printed, from_tree);
  auto parsed = sxp::Parse(from_printed);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(sxp::ToString(*parsed), from_printed) << "one compact line, as sxp prints it";
}

TEST(PowerState, NamesAndNumbersAsXendHasThem) {
  EXPECT_EQ(ToString(PowerState::kSuspended), "suspended");
  EXPECT_EQ(ParsePowerState("crashed"), PowerState::kCrashed);
  EXPECT_EQ(ParsePowerState("all"), std::nullopt);
  EXPECT_EQ(PowerStateOf(std::nullopt), PowerState::kHalted);
  DomainInfo info;
  info.shutdown = true;
  info.shutdown_reason = ShutdownReason::kSuspend;
  EXPECT_EQ(PowerStateOf(info), PowerState::kSuspended);
  info.shutdown_reason = ShutdownReason::kReboot;
  EXPECT_EQ(static_cast<int>(PowerStateOf(info)), 4);
}

}  // namespace
}  // namespace txend::toolstack
