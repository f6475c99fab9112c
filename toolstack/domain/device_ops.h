// DeviceOps: attaching devices to running domains and detaching them — xm
// block-attach/-detach, network-attach/-detach. Attach costs 2 transactions
// (write the nodes; read the backend's result), detach 2 (take the backend
// offline; remove the nodes once it closed). Both hold the lifecycle lock.
#pragma once

#include <string_view>

#include "base/mutex.h"
#include "sxp/sxp.h"
#include "toolstack/domain/domain_context.h"

namespace txend::toolstack {

class DeviceOps {
 public:
  explicit DeviceOps(DomainContext& ctx) : ctx_(ctx) {}

  // `device` is xend's (vbd ...)/(vif ...) SXP.
  Status AttachDevice(std::string_view ref, const sxp::Value& device)
      LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  // `dev`: a vbd's name (xvdb) or number, a vif's index. Without `force` the
  // backend must close first.
  Status DetachDevice(std::string_view ref, std::string_view type, std::string_view dev, bool force)
      LOCKS_EXCLUDED(ctx_.lifecycle_mu);

 private:
  // Takes the backend offline and removes the device's nodes once it reports Closed.
  Status CloseAndRemove(uint32_t domid, const DeviceRef& device)
      EXCLUSIVE_LOCKS_REQUIRED(ctx_.lifecycle_mu);

  DomainContext& ctx_;
};

}  // namespace txend::toolstack
