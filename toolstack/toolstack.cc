#include "toolstack/toolstack.h"

#include "toolstack/domain/device_ops.h"
#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/domain_exits.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/domain/lifecycle.h"
#include "toolstack/domain/managed_domains.h"
#include "toolstack/domain/recovery.h"
#include "toolstack/migration/migration.h"

namespace txend::toolstack {

Toolstack::Toolstack(std::unique_ptr<DomainContext> ctx)
    : ctx_(std::move(ctx)),
      queries_(std::make_unique<DomainQueries>(*ctx_)),
      lifecycle_(std::make_unique<Lifecycle>(*ctx_)),
      devices_(std::make_unique<DeviceOps>(*ctx_)),
      managed_(std::make_unique<ManagedDomains>(*ctx_, *lifecycle_)),
      migration_(std::make_unique<Migration>(*ctx_, *lifecycle_)),
      exits_(std::make_unique<DomainExits>(*ctx_, *lifecycle_)) {}

Toolstack::~Toolstack() = default;

Result<std::unique_ptr<Toolstack>> Toolstack::Open(xs::Connection& xs, Hypervisor& hv,
                                                   ToolstackOptions options) {
  TXEND_ASSIGN_OR_RETURN(auto ctx, DomainContext::Open(xs, hv, std::move(options)));
  std::unique_ptr<Toolstack> t(new Toolstack(std::move(ctx)));
  TXEND_RETURN_IF_ERROR(RecoverDomains(*t->ctx_, *t->lifecycle_));
  TXEND_RETURN_IF_ERROR(t->queries_->Start());
  TXEND_RETURN_IF_ERROR(t->exits_->Start());
  return t;
}

Result<ValidConfig> Toolstack::ParseConfig(const sxp::Value& vm) const {
  return ctx_->ParseConfig(vm);
}

const IncomingPolicy& Toolstack::incoming_policy() const { return ctx_->options.incoming; }

Result<ValidConfig> Toolstack::CheckConfig(DomainConfig config) const {
  return ctx_->CheckConfig(std::move(config));
}

DeviceModels& Toolstack::device_models() { return ctx_->device_models; }
DomainEvents& Toolstack::events() { return ctx_->registry.events(); }

}  // namespace txend::toolstack
