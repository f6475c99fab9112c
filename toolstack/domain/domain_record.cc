#include "toolstack/domain/domain_record.h"

namespace txend::toolstack {

DomainRecord DomainRecord::Of(const RegisteredDomain& d, std::optional<DomainInfo> info) {
  DomainRecord r;
  r.config = std::shared_ptr<const DomainConfig>(d.registered, &d.config());
  r.printed = std::shared_ptr<const PrintedConfig>(d.registered, &d.registered->printed);
  r.info = std::move(info);
  r.managed = d.managed;
  r.start_time = d.start_time;
  if (r.info)
    for (const auto& ref : d.registered->devices)
      r.devices.push_back(
          {ref, XenbusState::kUnknown, XenbusState::kUnknown, ref.BackendPath(r.info->domid)});
  return r;
}

DomainRecord DomainRecord::Dom0(const DomainInfo& info) {
  auto config = std::make_shared<DomainConfig>();
  config->name = kDom0Name;
  config->uuid = kDom0Uuid;
  config->memory_mb = static_cast<int64_t>(info.memory_kib / 1024);
  config->maxmem_mb = static_cast<int64_t>(info.max_memory_kib / 1024);
  config->vcpus = static_cast<int>(info.MaxVcpus());
  config->on_poweroff = config->on_reboot = config->on_crash = ShutdownAction::kDestroy;
  DomainRecord r;
  r.config = std::move(config);
  r.info = info;
  r.memory_target_kib = info.memory_kib;
  return r;
}

}  // namespace txend::toolstack
