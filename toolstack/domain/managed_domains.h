// ManagedDomains: domains defined without running (xm new / start / delete),
// whose configs survive shutdown and txend restarts. Each holds the domain's
// lock; start writes an intent, as create does.
#pragma once

#include <cstdint>
#include <string_view>

#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {

class ManagedDomains {
 public:
  ManagedDomains(DomainContext& ctx, Lifecycle& lifecycle) : ctx_(ctx), lifecycle_(lifecycle) {}

  Status New(ValidConfig config);
  Result<uint32_t> Start(std::string_view ref, bool paused);
  Status Delete(std::string_view ref);

 private:
  DomainContext& ctx_;
  Lifecycle& lifecycle_;
};

}  // namespace txend::toolstack
