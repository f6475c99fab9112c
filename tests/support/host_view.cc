#include "tests/support/host_view.h"

#include <filesystem>
#include <sstream>

#include "base/numbers.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";

// File names in `dir` with `suffix` removed (only those with it), prefix `prefix` removed.
std::set<std::string> Names(const std::string& dir, const std::string& prefix,
                            const std::string& suffix) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() < prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    names.insert(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
  }
  return names;
}

std::set<std::string> Children(xs::ReadContext& snap, const std::string& path) {
  auto listed = snap.DirectoryIfExists(path);
  if (!listed.ok()) return {};
  return {listed->begin(), listed->end()};
}

template <typename T>
std::string Show(const std::set<T>& items) {
  std::ostringstream out;
  out << "{";
  for (const auto& i : items) out << " " << i;
  out << " }";
  return out.str();
}

}  // namespace

HostView HostView::Of(const TxendStack& stack) {
  HostView v;
  XendClient client = stack.client();
  XendReply list = client.Get("/xend/domain?detail=1&state=all");
  for (const auto& d : list.sxp.items()) {
    std::string name = sxp::ChildValue(d, "name");
    auto domid = ParseInteger<uint32_t>(sxp::ChildValue(d, "domid"));
    if (name == "Domain-0" || !domid.ok()) continue;
    v.listed[name] = {*domid, sxp::ChildValue(d, "uuid"),
                      ParseInteger<uint64_t>(sxp::ChildValue(d, "memory")).value_or(0),
                      sxp::ChildValue(d, "state"), sxp::Children(d, "device").size()};
  }
  auto xm =
      RunCommand("TXEND_SOCKET=" + stack.xend_socket() + " " + BinPath("xm") + " list 2>/dev/null");
  std::istringstream lines(xm.out);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::string name = line.substr(0, line.find(' '));
    if (!name.empty() && name != "Domain-0") v.xm_list_names.insert(name);
  }
  for (const auto& id : Names(stack.path("state/sim"), "domain-", ".json"))
    if (auto domid = ParseInteger<uint32_t>(id); domid.ok()) v.hypervisor_domids.insert(*domid);
  v.free_mib = ParseInteger<uint64_t>(sxp::ChildValue(client.Get("/xend/node").sxp, "free_memory"))
                   .value_or(0);
  if (auto conn = xs::Connection::Open(stack.xs_socket()); conn.ok()) {
    if (auto snap = xs::Snapshot::Begin(**conn); snap.ok()) {
      v.homes = Children(*snap, "/local/domain");
      v.vms = Children(*snap, "/vm");
      const std::string backend = "/local/domain/0/backend";
      for (const auto& type : Children(*snap, backend))
        for (const auto& id : Children(*snap, backend + "/" + type))
          v.backends.insert(type + "/" + id);
    }
  }
  v.running_configs = Names(stack.path("state/running"), "", ".sxp");
  v.intents = Names(stack.path("state/intents"), "", "");
  return v;
}

std::string Disagreements(const HostView& v, uint64_t empty_free_mib) {
  std::set<uint32_t> domids;
  std::set<std::string> homes = {"0"}, uuids, names;
  uint64_t used = 0;
  for (const auto& [name, d] : v.listed) {
    domids.insert(d.domid);
    homes.insert(std::to_string(d.domid));
    uuids.insert(d.uuid);
    names.insert(name);
    used += d.memory_mib;
  }
  std::ostringstream out;
  if (v.xm_list_names != names)
    out << "xm list shows " << Show(v.xm_list_names) << ", txend " << Show(names) << "\n";
  if (v.hypervisor_domids != domids)
    out << "the hypervisor runs " << Show(v.hypervisor_domids) << ", xm list shows " << Show(domids)
        << "\n";
  if (v.homes != homes) out << "/local/domain has " << Show(v.homes) << "\n";
  std::set<std::string> vms = v.vms;
  vms.erase(kNilUuid);
  if (vms != uuids) out << "/vm has " << Show(v.vms) << ", domains " << Show(uuids) << "\n";
  for (const auto& b : v.backends) {
    auto id = ParseInteger<uint32_t>(b.substr(b.find('/') + 1));
    if (!id.ok() || !domids.count(*id)) out << "backend " << b << " of no domain\n";
  }
  if (v.running_configs != uuids)
    out << "running configs " << Show(v.running_configs) << ", domains " << Show(uuids) << "\n";
  if (!v.intents.empty()) out << "intents left: " << Show(v.intents) << "\n";
  if (v.free_mib + used != empty_free_mib)
    out << "free memory " << v.free_mib << " MiB, expected " << empty_free_mib - used << "\n";
  return out.str();
}

}  // namespace txend::testing
