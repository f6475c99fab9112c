// Test support: what each source of truth on a txend host says about its
// domains — txend's list (as `xm list` shows it), the simulated hypervisor's
// state files, xenstore, and txend's state directory — and whether they agree.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "tests/support/txend_stack.h"

namespace txend::testing {

// One domain of txend's list (GET /xend/domain?detail=1).
struct ListedDomain {
  uint32_t domid = 0;
  std::string uuid;
  uint64_t memory_mib = 0;
  std::string state;  // xm's "-b----"
  size_t devices = 0;
};

struct HostView {
  std::map<std::string, ListedDomain> listed;  // by name; running domains, Domain-0 excluded
  std::set<std::string> xm_list_names;         // the real xm's `xm list`, Domain-0 excluded
  std::set<uint32_t> hypervisor_domids;        // <state>/sim/domain-N.json
  uint64_t free_mib = 0;                       // the node's free memory
  std::set<std::string> homes;                 // children of /local/domain
  std::set<std::string> vms;                   // children of /vm
  std::set<std::string> backends;              // "<type>/<domid>" under dom0's backend dir
  std::set<std::string> running_configs;       // uuids in <state>/running
  std::set<std::string> intents;               // files in <state>/intents

  static HostView Of(const TxendStack& stack);
};

// "" when every source agrees — each listed domain runs in the hypervisor,
// has its xenstore home, /vm entry and running config and nothing else does,
// no intent is left, and free memory is `empty_free_mib` less the listed
// domains' memory — else what disagrees.
std::string Disagreements(const HostView& view, uint64_t empty_free_mib);

}  // namespace txend::testing
