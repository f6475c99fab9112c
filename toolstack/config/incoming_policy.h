// IncomingPolicy: what a domain that arrives from elsewhere (a migration, or
// op=create over TCP) may use on this host — which storage its disks name and
// which bridges its vifs join. A refusal names the rule it broke.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "toolstack/config/domain_config.h"

namespace txend::toolstack {

struct IncomingPolicy {
  // Allowed storage: path prefixes ("/srv/xen/") and LVM volume groups ("vg0":
  // /dev/vg0/ and /dev/mapper/vg0-). Empty: any path except dom0's own system
  // devices and directories (disks and partitions, /etc, /boot, /usr, ...).
  std::vector<std::string> storage;  // txend-incoming-storage
  std::vector<std::string> bridges;  // txend-incoming-bridges; empty: any bridge
};

// Splits a blank-separated config value ("vg0 /srv/xen/") into its words.
std::vector<std::string> PolicyWords(const std::string& text);

// EACCES naming the device and the rule when `config` breaks `policy`.
Status CheckIncomingPolicy(const IncomingPolicy& policy, const DomainConfig& config);

}  // namespace txend::toolstack
