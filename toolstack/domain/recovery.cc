#include "toolstack/domain/recovery.h"

#include "base/numbers.h"

namespace txend::toolstack {

Status RecoverDomains(DomainContext& ctx) {
  MutexLock lock(&ctx.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(auto domains, ctx.hv.ListDomains());
  std::vector<std::pair<DomainInfo, std::shared_ptr<const RegisteredConfig>>> ours;
  std::vector<std::string> start_paths;
  for (const auto& info : domains) {
    auto config = info.domid == 0 ? nullptr : ctx.registry.RunningConfig(info.uuid.ToString());
    if (!config) continue;
    ours.emplace_back(info, config);
    start_paths.push_back(VmPath(config->config->uuid) + "/start_time");
  }
  std::vector<xs::Transaction::NodeWrite> writes = {
      {DomainHome(0) + "/name", kDom0Name, std::nullopt},
      {DomainHome(0) + "/domid", "0", std::nullopt}};
  {
    TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(ctx.xs));
    auto starts = snap.ReadMany(start_paths);
    for (size_t i = 0; i < ours.size(); ++i) {
      const auto& [info, config] = ours[i];
      bool known = starts[i].ok();
      double start_time = known ? ParseDouble(*starts[i]).value_or(ctx.options.wall_clock())
                                : ctx.options.wall_clock();
      TXEND_RETURN_IF_ERROR(ctx.registry.AddRunning(config, info.domid, start_time).status());
      if (known) continue;  // xenstore forgot this domain (xsd restarted without persistence)
      TXEND_ASSIGN_OR_RETURN(auto nodes,
                             DomainNodes(*config->config, {info.domid, 0, 0, 0, 0, start_time}));
      writes.insert(writes.end(), nodes.begin(), nodes.end());
    }
  }
  TXEND_RETURN_IF_ERROR(ctx.WriteInTransaction(writes));
  for (const auto& [info, config] : ours) {
    auto introduced = ctx.xs.IsDomainIntroduced(info.domid);
    if (introduced.ok() && !*introduced) TXEND_RETURN_IF_ERROR(ctx.xs.Introduce(info.domid, 0, 0));
  }
  return Status::Ok();
}

}  // namespace txend::toolstack
