// DomainExits: what happens when a domain stops — xend's on_poweroff,
// on_reboot and on_crash — and the @releaseDomain watch that triggers it.
// Exits are handled on a thread of their own (never on the watch thread),
// each holding its domain's lock (a domain another operation holds is tried
// again shortly); a domain destroyed behind txend's back is tidied up.
#pragma once

#include <optional>
#include <set>
#include <thread>

#include "base/mutex.h"
#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {

class DomainExits {
 public:
  DomainExits(DomainContext& ctx, Lifecycle& lifecycle) : ctx_(ctx), lifecycle_(lifecycle) {}
  // Stops watching and joins the thread.
  ~DomainExits();

  // Watches @releaseDomain and starts the thread that handles exits.
  Status Start();
  // Handles pending exits now (tests; normally on @releaseDomain); false if
  // some domain was busy with another operation and must be looked at again.
  bool HandlePending();

 private:
  void Loop() LOCKS_EXCLUDED(mu_);
  // on_poweroff / on_reboot / on_crash, as xend carried them out.
  void OnDomainExit(DomainLock lock, const RegisteredDomain& d, const DomainInfo& info);
  // rename-restart: keeps the dead domain under another name and uuid.
  Status KeepUnderAnotherName(const RegisteredDomain& d, uint32_t domid);
  // Publishes a domain's exit (shutdown or crashed) the first time it is seen.
  void PublishExit(const RegisteredDomain& d, const DomainInfo& info) LOCKS_EXCLUDED(mu_);

  DomainContext& ctx_;
  Lifecycle& lifecycle_;
  Mutex mu_;
  CondVar wake_{&mu_};
  bool pending_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::set<uint32_t> exits_published_ GUARDED_BY(mu_);  // domids that still exist
  std::optional<xs::Watch> release_watch_;
  std::thread thread_;
};

}  // namespace txend::toolstack
