// The I/O counters xentop reads on a dom0: netback vifs in /proc/net/dev (vif<domid>.<n>)
// and blkback statistics in /sys/devices/xen-backend/vbd-<domid>-<devid>/statistics.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/xm_top.h"

namespace txend::xm {

// Per domid: the sum over its vifs (from /proc/net/dev text) and vbds (under `backend_dir`).
// Domains without any keep nullopt fields.
std::map<std::string, DomainIo> HostDomainIo(const std::vector<std::string>& domids,
                                             const std::string& net_dev_text,
                                             const std::string& backend_dir);

// The same from this host's /proc/net/dev and /sys/devices/xen-backend.
std::map<std::string, DomainIo> ReadHostDomainIo(const std::vector<std::string>& domids);

}  // namespace txend::xm
