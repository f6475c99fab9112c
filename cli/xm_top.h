// `xm top`: xentop's screen as a pure function of two samples of txend's domain list (the
// CPU % is the CPU time used between them), the node, and the host's I/O counters.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sxp/sxp.h"

namespace txend::xm {

// A vif's or vbd's counters as dom0's backends see them; nullopt where the host has none
// (the simulator, or a backend without statistics).
struct DomainIo {
  std::optional<uint64_t> net_tx_bytes, net_rx_bytes;  // from the guest's side, as xentop
  std::optional<uint64_t> vbd_reads, vbd_writes;       // requests
};

// One look at the host: every running domain's SXP, the node's SXP, the I/O per domid,
// and when it was taken (monotonic seconds, for CPU %; wall clock for the header).
struct TopSample {
  std::vector<sxp::Value> domains;
  sxp::Value node;
  std::map<std::string, DomainIo> io;  // by domid
  double monotonic_s = 0;
  time_t wall = 0;
};

// The screen for `now`, with CPU % against `before` (0.0 for a domain it did not hold).
std::string FormatTop(const TopSample& now, const TopSample* before);

}  // namespace txend::xm
