// ManagedDomains: domains defined without running (xm new / start / delete),
// whose configs survive shutdown and txend restarts. Each holds the domain's
// lock; start writes an intent, as create does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {

class ManagedDomains {
 public:
  ManagedDomains(DomainContext& ctx, Lifecycle& lifecycle) : ctx_(ctx), lifecycle_(lifecycle) {}

  Status New(ValidConfig config);
  Result<uint32_t> Start(std::string_view ref, bool paused);
  Status Delete(std::string_view ref);

  // A domain Autostart() tried to start, and how that went.
  struct Autostarted {
    std::string name;
    Result<uint32_t> domid;
  };
  // Starts every managed domain not running whose config says (on_xend_start start), as
  // xend did once it was up (libvirt's autostart sets it); one failing does not stop the rest.
  std::vector<Autostarted> Autostart();

 private:
  DomainContext& ctx_;
  Lifecycle& lifecycle_;
};

}  // namespace txend::toolstack
