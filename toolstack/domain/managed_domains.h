// ManagedDomains: domains defined without running (xm new / start / delete),
// whose configs survive shutdown and txend restarts. Each holds the lifecycle lock.
#pragma once

#include <cstdint>
#include <string_view>

#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {

class ManagedDomains {
 public:
  ManagedDomains(DomainContext& ctx, Lifecycle& lifecycle) : ctx_(ctx), lifecycle_(lifecycle) {}

  Status New(ValidConfig config) LOCKS_EXCLUDED(lifecycle_.mu());
  Result<uint32_t> Start(std::string_view ref, bool paused) LOCKS_EXCLUDED(lifecycle_.mu());
  Status Delete(std::string_view ref) LOCKS_EXCLUDED(lifecycle_.mu());

 private:
  DomainContext& ctx_;
  Lifecycle& lifecycle_;
};

}  // namespace txend::toolstack
