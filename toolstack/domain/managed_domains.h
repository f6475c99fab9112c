// ManagedDomains: domains defined without running (xm new / start / delete),
// whose configs survive shutdown and txend restarts, and what txend's start and
// stop do to domains as their configs ask (on_xend_start, on_xend_stop). Each
// holds the domain's lock; start writes an intent, as create does.
#pragma once

#include <chrono>
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

  // What Autostop() did to a running domain whose config says (on_xend_stop shutdown) or
  // (on_xend_stop suspend): `status` is why it keeps running, if it does.
  struct Autostopped {
    std::string name;
    std::string action;  // shutdown | suspend
    Status status;
  };
  // As xend did when it stopped (not when it restarted): asks each running domain marked
  // shutdown to power off, then waits up to `wait` for them to be gone (ETIMEDOUT for
  // one still running). Suspend is not done: with no managed save images here, such a
  // domain keeps running (ENOTSUP).
  std::vector<Autostopped> Autostop(std::chrono::milliseconds wait);

 private:
  DomainContext& ctx_;
  Lifecycle& lifecycle_;
};

}  // namespace txend::toolstack
