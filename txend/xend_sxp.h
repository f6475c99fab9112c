// The SXP shapes of xend's replies: (node ...), vcpuinfo, and (xend.err '...')
// errors (a domain's (domain ...) is toolstack/domain/domain_sxp.h) — as
// docs/reference/xend-http-api.md §4.3, §5, §6 describe them.
#pragma once

#include <string>
#include <vector>

#include "http/http_message.h"
#include "sxp/sxp.h"
#include "toolstack/domain/domain_events.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/domain/domain_record.h"

namespace txend::daemon {

// Facts about dom0's host OS that (node ...) reports (uname).
struct HostFacts {
  std::string system, host, release, version, machine;
  static HostFacts Read();
};

sxp::Value NodeSxp(const toolstack::NodeRecord& n, const HostFacts& host);
sxp::Value VcpuInfoSxp(const toolstack::DomainRecord& r,
                       const std::vector<toolstack::VcpuInfo>& vcpus);
// (weight N) (cap N), as op=domain_sched_credit_get answers.
sxp::Value SchedCreditSxp(const toolstack::SchedCredit& credit);
// ((devid ((node value) ...)) ...), as op=devices answers.
sxp::Value DeviceDetailsSxp(const std::vector<toolstack::DeviceDetail>& details);
// ((dev (domain 0x0000) (bus 0x03) (slot 0x00) (func 0x0)) ...), as xend's node pciinfo.
sxp::Value PciInfoSxp(const std::vector<toolstack::PciDevice>& devices);
// (events (next N) (lost 0|1) (event (seq N) (change C) (name ..) (uuid ..) [(domid N)]) ...),
// as GET /xend/events answers.
sxp::Value EventsSxp(const toolstack::DomainEventBatch& batch);
http::HttpResponse SxpReply(int status, const sxp::Value& v);

}  // namespace txend::daemon
