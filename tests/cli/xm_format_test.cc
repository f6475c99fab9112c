// xm's output formats against the samples in docs/reference/xm.md.
#include "cli/xm_format.h"

#include <gtest/gtest.h>

namespace txend::xm {
namespace {

sxp::Value P(const std::string& text) { return *sxp::Parse(text); }

TEST(XmFormat, ListMatchesXmColumns) {
  std::vector<DomainRow> rows = {
      ParseDomainRow(P("(domain (domid 0) (name Domain-0) (memory 1024) (vcpus 2) (state r-----) "
                       "(cpu_time 1234.56))")),
      ParseDomainRow(P("(domain (domid 5) (name demo) (memory 512) (vcpus 4) (online_vcpus 2) "
                       "(state -b----) (cpu_time 266.8))")),
      ParseDomainRow(P("(domain (name olddom) (memory 256) (vcpus 1))"))};
  EXPECT_EQ(FormatDomainList(rows),
            "Name                                        ID   Mem VCPUs      State   Time(s)\n"
            "Domain-0                                     0  1024     2     r-----   1234.6\n"
            "demo                                         5   512     2     -b----    266.8\n"
            "olddom                                           256     1                 0.0\n");
}

TEST(XmFormat, LongListDropsVcpuAvail) {
  std::string text = FormatDomainLong(P("(domain (domid 5) (vcpu_avail 3) (name demo))"));
  EXPECT_EQ(text, "(domain (domid 5) (name demo))\n");
}

TEST(XmFormat, VcpuListRowsAndAffinity) {
  DomainRow demo = ParseDomainRow(P("(domain (domid 5) (name demo))"));
  auto info =
      P("(domain (vcpu (number 1) (online 1) (blocked 0) (running 1) (cpu_time 9.9) (cpu 3) "
        "(cpumap (0 1)))"
        " (vcpu (number 2) (online 0) (blocked 0) (running 0) (cpu_time 0) (cpu -1) (cpumap (0 1 2 "
        "3))))");
  EXPECT_EQ(VcpuListHeader(),
            "Name                                ID  VCPU   CPU State   Time(s) CPU Affinity\n");
  EXPECT_EQ(FormatVcpuRows(demo, info, 4),
            "demo                                 5     1     3   r--       9.9 0-1\n"
            "demo                                 5     2     -   --p       0.0 any cpu\n");
  EXPECT_EQ(FormatCpuAffinity({0, 1, 2, 3, 6}, 8), "0-3,6");
  EXPECT_EQ(FormatCpuAffinity({}, 8), "no cpus");
  EXPECT_EQ(FormatCpuAffinity({0, 1, 2, 3, 9}, 4), "any cpu");
}

TEST(XmFormat, Uptime) {
  std::vector<DomainRow> rows = {
      ParseDomainRow(P("(domain (domid 5) (name demo) (start_time 1000))")),
      ParseDomainRow(P("(domain (domid 0) (name Domain-0))")),
      ParseDomainRow(P("(domain (name off))"))};
  time_t now = 1000 + 86400 + 2 * 3600 + 3 * 60 + 4;
  EXPECT_EQ(FormatUptime(rows, false, now, 12 * 3600 + 3 * 60 + 4.4),
            "Name                                ID Uptime \n"
            "demo                                 5 1 day,  2:03:04\n"
            "Domain-0                             0 12:03:04\n"
            "off                                     0:00:00\n");
  std::string short_form = FormatUptime({rows[0]}, true, now, 0);
  EXPECT_EQ(short_form.substr(9), " up 1 day,  2:03, demo (5)\n");
  EXPECT_EQ(short_form[0], ' ');
}

TEST(XmFormat, InfoSkipsSystemAndNumaUnlessAsked) {
  auto node =
      P("(node (system Linux) (host xen1) (cpu_topology ((cpu 0))) (numa_info none) "
        "(xen_commandline '')"
        " (xend_config_format 4))");
  EXPECT_EQ(FormatNodeInfo(node, false),
            "host                   : xen1\n"
            "xen_commandline        : (none)\n"
            "xend_config_format     : 4\n");
  EXPECT_NE(FormatNodeInfo(node, true).find("numa_info              : none\n"), std::string::npos);
}

TEST(XmFormat, BlockAndNetworkLists) {
  auto vbds =
      P("((51712 ((backend-id 0) (state 4) (event-channel 10) (ring-ref 8)"
        " (backend /local/domain/0/backend/vbd/5/51712))))");
  EXPECT_EQ(FormatBlockList(vbds),
            "Vdev  BE handle state evt-ch ring-ref BE-path\n"
            "51712  0    0     4      10     8     /local/domain/0/backend/vbd/5/51712  \n");
  auto vifs =
      P("((0 ((backend-id 0) (mac 00:16:3e:5a:10:01) (handle 0) (state 4) (event-channel 12)"
        " (tx-ring-ref 768) (rx-ring-ref 769) (backend /local/domain/0/backend/vif/5/0))))");
  EXPECT_EQ(FormatNetworkList(vifs),
            "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n"
            "0   0  00:16:3e:5a:10:01    0     4      12    768  /769     "
            "/local/domain/0/backend/vif/5/0  \n");
  EXPECT_EQ(FormatBlockList(P("()")), "");
}

TEST(XmFormat, SchedCredit) {
  std::vector<DomainRow> rows = {
      ParseDomainRow(P("(domain (domid 5) (name demo) (cpu_weight 256) (cpu_cap 0))"))};
  EXPECT_EQ(FormatSchedCredit(rows),
            "Name                                ID Weight  Cap\n"
            "demo                                 5    256    0\n");
}

TEST(XmFormat, DomainStateWordKeepsXmsQuirks) {
  EXPECT_EQ(DomainStateWord("-b----"), "idle");
  EXPECT_EQ(DomainStateWord("--p---"), "paused");
  EXPECT_EQ(DomainStateWord("---s--"), "shutoff");
  EXPECT_EQ(DomainStateWord("----c-"), "crashed");
  EXPECT_EQ(DomainStateWord(""), "shutoff");
  EXPECT_EQ(DomainStateWord("r-----"), "");  // xm looks for flags after the first column
}

TEST(XmFormat, MemoryUnits) {
  EXPECT_EQ(*ParseMemoryMib("512"), 512);
  EXPECT_EQ(*ParseMemoryMib("512m"), 512);
  EXPECT_EQ(*ParseMemoryMib("524288k"), 512);
  EXPECT_EQ(*ParseMemoryMib("1g"), 1024);
  EXPECT_EQ(*ParseMemoryMib("1G"), 1024);
  EXPECT_FALSE(ParseMemoryMib("lots").ok());
  EXPECT_FALSE(ParseMemoryMib("").ok());
  EXPECT_FALSE(ParseMemoryMib("12q").ok());
}

TEST(XmFormat, CpuLists) {
  EXPECT_EQ(*ParseCpuList("0-3,^1"), "0,2,3");
  EXPECT_EQ(*ParseCpuList("3,1"), "1,3");
  EXPECT_EQ(ParseCpuList("all")->substr(0, 8), "0,1,2,3,");
  EXPECT_FALSE(ParseCpuList("3-1").ok());
  EXPECT_FALSE(ParseCpuList("x").ok());
  EXPECT_FALSE(ParseCpuList("").ok());
}

}  // namespace
}  // namespace txend::xm
