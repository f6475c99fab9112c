// CONTROL (aka DEBUG): xenstore-control's commands, as far as they make sense here.
#include <sstream>

#include "base/numbers.h"
#include "xsd/xenstore.h"

namespace txend::xsd {
namespace {

const std::string kOk("OK\0", 3);

std::string WithNul(std::string s) {
  s.push_back('\0');
  return s;
}

constexpr const char* kHelp =
    "Supported commands:\n"
    "help                  this list\n"
    "stats                 counters and sizes, one 'name value' per line\n"
    "quota [<what> <n>]    show quotas, or set one (entries, node-size, watches,\n"
    "                      transactions, perms, path-length, transaction-nodes, outstanding,\n"
    "                      connections, queued-bytes, rate, burst, transaction-seconds,\n"
    "                      transaction-bytes)\n"
    "check                 verify the store's internal accounting\n"
    "memreport             node count and bytes held\n"
    "log on|off            enable or disable the daemon log\n"
    "print <string>        write <string> to the daemon log\n";

struct QuotaField {
  const char* name;
  size_t Quota::*field;
};
constexpr QuotaField kQuotaFields[] = {
    {"entries", &Quota::entries},
    {"node-size", &Quota::node_size},
    {"watches", &Quota::watches},
    {"transactions", &Quota::transactions},
    {"perms", &Quota::perms},
    {"path-length", &Quota::path_length},
    {"transaction-nodes", &Quota::transaction_nodes},
    {"outstanding", &Quota::outstanding},
    {"connections", &Quota::connections},
    {"queued-bytes", &Quota::queued_bytes},
    {"rate", &Quota::request_rate},
    {"burst", &Quota::request_burst},
    {"transaction-seconds", &Quota::transaction_seconds},
    {"transaction-bytes", &Quota::transaction_bytes},
};

}  // namespace

Xenstore::Reply Xenstore::DoControl(const wire::Message& m) {
  auto f = wire::SplitFields(m.payload);
  if (f.empty()) return Status::Error(EINVAL, "CONTROL needs a command");
  std::string_view cmd = f[0];
  if (cmd == "help") return WithNul(kHelp);
  if (cmd == "stats") {
    RefreshDiskStats();
    return WithNul(FormatStats(stats_, gauges()));
  }
  if (cmd == "quota") {
    if (f.size() == 1) {
      std::string out;
      for (const auto& q : kQuotaFields)
        out += std::string(q.name) + " " + std::to_string(quota_.*q.field) + "\n";
      return WithNul(out);
    }
    if (f.size() != 3) return Status::Error(EINVAL, "quota <what> <n>");
    auto n = ParseInteger<size_t>(f[2]);
    if (!n.ok()) return Status::Error(EINVAL, "bad number");
    for (const auto& q : kQuotaFields)
      if (f[1] == q.name) {
        quota_.*q.field = *n;
        return kOk;
      }
    return Status::Error(EINVAL, "unknown quota");
  }
  if (cmd == "check") {
    size_t nodes = 0, with_perms = 0;
    tree_.ForEach([&](const std::string&, const Node& node) {
      ++nodes;
      if (!node.perms.empty()) ++with_perms;
    });
    if (with_perms != nodes) return Status::Error(EIO, "node without permissions");
    if (nodes != tree_.node_count()) return Status::Error(EIO, "node count out of step");
    return kOk;
  }
  if (cmd == "memreport") {
    size_t nodes = 0, bytes = 0;
    tree_.ForEach([&](const std::string& path, const Node& node) {
      ++nodes;
      bytes += path.size() + node.value.size() + node.perms.size() * sizeof(wire::Perm);
    });
    std::ostringstream out;
    out << "nodes " << nodes << "\nnode_bytes " << bytes << "\nwatches " << watches_.size()
        << "\nconnections " << sessions_.size() << "\n";
    return WithNul(out.str());
  }
  if (cmd == "log") {
    if (f.size() != 2 || (f[1] != "on" && f[1] != "off"))
      return Status::Error(EINVAL, "log on|off");
    logging_ = f[1] == "on";
    return kOk;
  }
  if (cmd == "print") {
    if (f.size() != 2) return Status::Error(EINVAL, "print <string>");
    if (logging_ && log_) log_(std::string(f[1]));
    return kOk;
  }
  return Status::Error(EINVAL, "unknown control command '" + std::string(cmd) + "'");
}

}  // namespace txend::xsd
