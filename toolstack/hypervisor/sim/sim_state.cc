// SimHypervisor persistence: each domain's state as one JSON file in
// SimOptions::state_dir, written when an operation changed it, read back when
// a SimHypervisor opens the same directory.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "base/host_files.h"
#include "base/numbers.h"
#include "toolstack/hypervisor/sim/sim_domain.h"

namespace txend::toolstack {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path DomainFile(const std::string& dir, DomId domid) {
  return fs::path(dir) / ("domain-" + std::to_string(domid) + ".json");
}

// Replaces `path` with `text` whole (temp file, rename): a failed write (ENOSPC) leaves the
// old state in place, and says so.
bool WriteFile(const fs::path& path, const std::string& text) {
  return ReplaceRegularFile(path.string(), text, false).ok();
}

}  // namespace

void SimHypervisor::PersistDirty() {
  if (options_.state_dir.empty() || dirty_.empty()) {
    dirty_.clear();
    return;
  }
  decltype(dirty_) unwritten;
  for (DomId domid : dirty_) {
    if (domid == kDom0) continue;
    auto it = domains_.find(domid);
    if (it == domains_.end() || it->second->dying) {
      std::error_code ec;
      fs::remove(DomainFile(options_.state_dir, domid), ec);
      continue;
    }
    const Domain& d = *it->second;
    json vcpus = json::array();
    for (const auto& v : d.vcpus)
      vcpus.push_back({{"online", v.online},
                       {"blocked", v.blocked},
                       {"cpu_time_ns", v.cpu_time_ns},
                       {"affinity", v.affinity.ToVector()}});
    json ports = json::object();
    for (auto [port, remote] : d.ports) ports[std::to_string(port)] = remote;
    json j = {{"domid", d.domid},
              {"uuid", d.uuid.ToString()},
              {"ssidref", d.ssidref},
              {"hvm", d.hvm},
              {"pause_count", d.pause_count},
              {"shutdown", d.shutdown},
              {"reason", static_cast<uint32_t>(d.reason)},
              {"max_pages", d.max_pages},
              {"shadow_kib", d.shadow_kib},
              {"built", d.built},
              {"seed", d.memory.seed()},
              {"pages", d.memory.nr_pages()},
              {"vcpus", vcpus},
              {"weight", d.credit.weight},
              {"cap", d.credit.cap},
              {"max_evtchn_port", d.max_evtchn_port},
              {"ports", ports},
              {"store_port", d.store_port},
              {"console_port", d.console_port},
              {"mfn_base", d.mfn_base},
              {"store_pfn", d.store_pfn},
              {"console_pfn", d.console_pfn},
              {"settled_ns", d.settled_ns}};
    if (!WriteFile(DomainFile(options_.state_dir, domid), j.dump())) unwritten.insert(domid);
  }
  dirty_ = std::move(unwritten);  // written at the next change, once there is room
  json global = {
      {"rover", rover_}, {"next_mfn", next_mfn_}, {"seeds", seeds_}, {"settled_ns", settled_ns_}};
  WriteFile(fs::path(options_.state_dir) / "hypervisor.json", global.dump());
}

Status SimHypervisor::LoadState() {
  if (options_.state_dir.empty()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(options_.state_dir, ec);
  if (ec)
    return Status::Error(ec.value(), "cannot create " + options_.state_dir + ": " + ec.message());
  auto corrupt = [&](const std::string& why) {
    return Status::Error(EIO, "corrupt simulator state in " + options_.state_dir + ": " + why);
  };
  try {
    std::ifstream global_file(fs::path(options_.state_dir) / "hypervisor.json");
    if (global_file) {
      json g = json::parse(global_file);
      rover_ = g.at("rover");
      next_mfn_ = g.at("next_mfn");
      seeds_ = g.at("seeds");
      // Domains kept running while nobody watched: time since then accrues.
      settled_ns_ = std::min(g.at("settled_ns").get<uint64_t>(), settled_ns_);
    }
    for (const auto& entry : fs::directory_iterator(options_.state_dir)) {
      std::string name = entry.path().filename();
      if (name.ends_with(".tmp")) {  // a write that a kill cut short: never renamed, never read
        fs::remove(entry.path(), ec);
        continue;
      }
      if (!name.starts_with("domain-") || !name.ends_with(".json")) continue;
      json j = json::parse(std::ifstream(entry.path()));
      auto d = std::make_unique<Domain>();
      d->domid = j.at("domid");
      auto uuid = Uuid::Parse(j.at("uuid").get<std::string>());
      if (uuid.ok()) d->uuid = *uuid;
      d->ssidref = j.at("ssidref");
      d->hvm = j.at("hvm");
      d->pause_count = j.at("pause_count");
      d->shutdown = j.at("shutdown");
      d->reason = static_cast<ShutdownReason>(j.at("reason").get<uint32_t>());
      d->max_pages = j.at("max_pages");
      d->shadow_kib = j.at("shadow_kib");
      d->built = j.at("built");
      d->memory = GuestMemory(j.at("seed"), j.at("pages"));
      for (const auto& v : j.at("vcpus")) {
        CpuSet affinity;
        for (uint32_t cpu : v.at("affinity").get<std::vector<uint32_t>>()) affinity.Add(cpu);
        d->vcpus.push_back({v.at("online"), v.at("blocked"), v.at("cpu_time_ns"), affinity});
      }
      d->credit = {j.at("weight"), j.at("cap")};
      d->max_evtchn_port = j.at("max_evtchn_port");
      for (const auto& [key, remote] : j.at("ports").items()) {
        auto port = ParseInteger<uint32_t>(key);
        if (!port.ok()) return corrupt("event channel port " + port.status().message());
        d->ports[*port] = remote.get<DomId>();
      }
      d->store_port = j.at("store_port");
      d->console_port = j.at("console_port");
      d->mfn_base = j.at("mfn_base");
      d->store_pfn = j.at("store_pfn");
      d->console_pfn = j.at("console_pfn");
      // Time since it was last counted accrues (files written before this field: since the host's).
      d->settled_ns = std::min(j.value("settled_ns", settled_ns_), settled_ns_);
      domains_[d->domid] = std::move(d);
    }
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  return Status::Ok();
}

}  // namespace txend::toolstack
