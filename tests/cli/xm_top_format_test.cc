// xm top's screen from two samples (CPU % over the time between them) and the host's
// I/O counters from /proc/net/dev text and a blkback statistics directory.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "cli/host_io_counters.h"
#include "cli/xm_top.h"
#include "tests/support/daemon_process.h"

namespace txend::xm {
namespace {

sxp::Value Domain(const std::string& domid, const std::string& cpu_time) {
  auto d = sxp::Parse("(domain (domid " + domid + ") (name guest" + domid +
                      ") (memory 512) (maxmem 1024) (vcpus 2) (state -b----) (cpu_time " +
                      cpu_time + ") (device (vif (bridge xenbr0))) (device (vbd (dev xvda))))");
  return *d;
}

TopSample Sample(double at, const std::string& cpu_time) {
  TopSample s;
  s.domains = {Domain("3", cpu_time)};
  s.node = *sxp::Parse("(node (total_memory 4096) (free_memory 1024) (nr_cpus 4) (cpu_mhz 2000))");
  s.monotonic_s = at;
  return s;
}

TEST(XmTopFormat, CpuPercentIsCpuTimeOverElapsedTime) {
  TopSample before = Sample(100, "10.0"), now = Sample(102, "11.0");
  std::string screen = FormatTop(now, &before);
  EXPECT_NE(screen.find("1 domains: 0 running, 1 blocked, 0 paused"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Mem: 4194304k total, 3145728k used, 1048576k free    CPUs: 4 @ 2000MHz"),
            std::string::npos)
      << screen;
  EXPECT_NE(screen.find("    guest3 -b----         11   50.0     524288   12.5    1048576      25.0"
                        "     2    1      n/a      n/a    1      n/a      n/a\n"),
            std::string::npos)
      << screen;
  EXPECT_NE(FormatTop(now, nullptr).find("         11    0.0 "), std::string::npos);
}

TEST(XmTopFormat, HostCountersSumVifsAndVbdsOfKnownDomains) {
  testing::TempDir dir;
  for (const char* vbd : {"vbd-3-51712", "vbd-3-51728", "vbd-30-51712"}) {
    std::filesystem::create_directories(dir / (std::string(vbd) + "/statistics"));
    std::ofstream(dir / (std::string(vbd) + "/statistics/rd_req")) << "100\n";
    std::ofstream(dir / (std::string(vbd) + "/statistics/wr_req")) << "7\n";
  }
  std::string net_dev =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes ...\n"
      "  vif3.0: 2048 1 0 0 0 0 0 0 4096 2 0 0 0 0 0 0\n"
      "  vif3.1: 1024 1 0 0 0 0 0 0 1024 2 0 0 0 0 0 0\n"
      "  vif30.0: 99999 1 0 0 0 0 0 0 99999 2 0 0 0 0 0 0\n"
      "    eth0: 5 1 0 0 0 0 0 0 5 2 0 0 0 0 0 0\n";
  auto io = HostDomainIo({"3", "4"}, net_dev, dir.path());
  EXPECT_EQ(io["3"].net_tx_bytes, 3072u);
  EXPECT_EQ(io["3"].net_rx_bytes, 5120u);
  EXPECT_EQ(io["3"].vbd_reads, 200u);
  EXPECT_EQ(io["3"].vbd_writes, 14u);
  EXPECT_FALSE(io["4"].net_tx_bytes.has_value());
  EXPECT_FALSE(io["4"].vbd_reads.has_value());
}

}  // namespace
}  // namespace txend::xm
