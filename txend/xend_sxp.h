// The SXP shapes of xend's replies: (domain ...), (node ...), vcpuinfo, and
// (xend.err '...') errors — as docs/reference/xend-http-api.md §4.3, §5, §6
// describe them.
#pragma once

#include <string>
#include <vector>

#include "http/http_message.h"
#include "sxp/sxp.h"
#include "toolstack/toolstack.h"

namespace txend::http {

// Facts about dom0's host OS that (node ...) reports (uname).
struct HostFacts {
  std::string system, host, release, version, machine;
  static HostFacts Read();
};

sxp::Value DomainSxp(const toolstack::DomainRecord& r);
sxp::Value NodeSxp(const toolstack::NodeRecord& n, const HostFacts& host);
sxp::Value VcpuInfoSxp(const toolstack::DomainRecord& r,
                       const std::vector<toolstack::VcpuInfo>& vcpus);
// (weight N) (cap N), as op=domain_sched_credit_get answers.
sxp::Value SchedCreditSxp(const toolstack::SchedCredit& credit);
// ((devid ((node value) ...)) ...), as op=devices answers.
sxp::Value DeviceDetailsSxp(const std::vector<toolstack::Toolstack::DeviceDetail>& details);
// xend's power-state number: 0 halted, 1 paused, 2 running, 3 suspended, 4 shutting down, 5
// crashed.
int PowerState(const toolstack::DomainRecord& r);
// The name GET /xend/domain?state= uses for it: "halted", "paused", "running", ...
std::string_view PowerStateName(int state);

// Seconds as xend printed floats (Python 2 str(): 12 significant digits).
std::string Seconds(double s);

HttpResponse SxpReply(int status, const sxp::Value& v);

}  // namespace txend::http
