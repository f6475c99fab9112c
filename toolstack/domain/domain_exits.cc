#include "toolstack/domain/domain_exits.h"

#include <chrono>
#include <map>
#include <sys/stat.h>

namespace txend::toolstack {
namespace {

// A domain that crashes again this soon after starting is not restarted.
constexpr double kMinRestartSeconds = 10;
// How soon an exit is looked at again when another operation held its domain.
constexpr std::chrono::milliseconds kBusyRetry{100};

// A crash, as on_crash sees it: the guest crashed, or its watchdog shut it down.
bool Crashed(const DomainInfo& info) {
  return info.crashed || info.shutdown_reason == ShutdownReason::kWatchdog;
}

// "domain NAME (ID)", as the log names a domain.
std::string Named(const RegisteredDomain& d, uint32_t domid) {
  return "domain " + d.config().name + " (" + std::to_string(domid) + ")";
}

ShutdownAction ActionFor(const DomainConfig& config, const DomainInfo& info, bool crashed) {
  if (info.shutdown_reason == ShutdownReason::kReboot) return config.on_reboot;
  return crashed ? config.on_crash : config.on_poweroff;
}

bool Restarts(ShutdownAction action) {
  return action == ShutdownAction::kRestart || action == ShutdownAction::kCoredumpRestart ||
         action == ShutdownAction::kRenameRestart;
}

bool DumpsCore(ShutdownAction action) {
  return action == ShutdownAction::kCoredumpDestroy || action == ShutdownAction::kCoredumpRestart;
}

}  // namespace

DomainExits::~DomainExits() {
  release_watch_.reset();
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

Status DomainExits::Start() {
  thread_ = std::thread([this] { Loop(); });
  TXEND_ASSIGN_OR_RETURN(
      xs::Watch w,
      ctx_.xs.AddWatch("@releaseDomain", [this](const std::string&, const std::string&) {
        MutexLock lock(&mu_);
        pending_ = true;
        wake_.Signal();
      }));
  release_watch_.emplace(std::move(w));
  return Status::Ok();
}

void DomainExits::Loop() {
  bool retry = false;
  while (true) {
    {
      MutexLock lock(&mu_);
      const auto until = std::chrono::steady_clock::now() + kBusyRetry;
      while (!stopping_ && !pending_) {
        if (!retry) {
          wake_.Wait();
        } else if (!wake_.WaitUntil(until)) {
          break;  // time to look at the busy domains again
        }
      }
      if (stopping_) return;
      pending_ = false;
    }
    retry = !HandlePending();
  }
}

bool DomainExits::HandlePending() {
  // The registry first: a domain it lists existed before the hypervisor was
  // asked, so one missing from the hypervisor's list is really gone.
  const auto registered = ctx_.registry.All();
  auto infos = ctx_.hv.ListDomains();
  if (!infos.ok()) return true;
  std::map<uint32_t, DomainInfo> by_domid;
  for (auto& i : *infos) by_domid[i.domid] = i;
  bool all_handled = true;
  for (const auto& listed : registered) {
    if (!listed.domid) continue;
    auto lock = ctx_.locks.Lock({listed.config().uuid}, "exit", listed.config().name,
                                std::chrono::milliseconds(0));
    if (!lock.ok()) {  // another operation has it: look again once it is done
      all_handled = false;
      continue;
    }
    auto d = ctx_.registry.Running(listed.config().uuid);
    if (!d.ok() || d->domid != listed.domid) continue;  // changed meanwhile
    auto it = by_domid.find(*d->domid);
    if (it == by_domid.end()) {  // destroyed behind our back: tidy up
      ctx_.Say(Named(*d, *d->domid) +
               " is gone from the hypervisor (destroyed outside txend): cleaning up");
      auto op = ctx_.Begin(std::move(*lock), Lifecycle::IntentFor(kOpDestroy, *d));
      if (op.ok()) (void)lifecycle_.DestroyLocked(*op, *d);
      continue;
    }
    const DomainInfo& info = it->second;
    bool exited =
        info.crashed || (info.shutdown && info.shutdown_reason != ShutdownReason::kSuspend);
    if (!exited) continue;
    PublishExit(*d, info);
    OnDomainExit(std::move(*lock), *d, info);
  }
  MutexLock lock(&mu_);
  std::erase_if(exits_published_, [&](uint32_t domid) { return !by_domid.count(domid); });
  return all_handled;
}

void DomainExits::PublishExit(const RegisteredDomain& d, const DomainInfo& info) {
  {
    MutexLock lock(&mu_);
    if (!exits_published_.insert(info.domid).second) return;
  }
  ctx_.registry.events().Publish(info.crashed ? "crashed" : "shutdown", d.config().name,
                                 d.config().uuid, info.domid);
  if (Crashed(info))  // as xend logged it: an operator's first question
    ctx_.Say(Named(d, info.domid) + " crashed; on_crash " +
             std::string(ToString(d.config().on_crash)));
}

void DomainExits::OnDomainExit(DomainLock lock, const RegisteredDomain& d, const DomainInfo& info) {
  bool crashed = Crashed(info);
  ShutdownAction action = ActionFor(d.config(), info, crashed);
  if (action == ShutdownAction::kPreserve) return;
  if (DumpsCore(action)) {
    std::string dir = ctx_.options.state_dir + "/dump";
    mkdir(dir.c_str(), 0700);
    (void)ctx_.hv.DumpCore(
        info.domid, dir + "/" + d.config().name + "." + std::to_string(info.domid) + ".core");
  }
  // A domain that crashes again right after starting is not restarted in a loop.
  bool restart = Restarts(action) &&
                 !(crashed && ctx_.options.wall_clock() - d.start_time < kMinRestartSeconds);
  Intent intent = Lifecycle::IntentFor(restart ? kOpReset : kOpDestroy, d);
  if (restart) intent.config = ToSxp(d.config());
  auto op = ctx_.Begin(std::move(lock), std::move(intent));
  if (!op.ok()) return;
  if (!restart) {
    (void)lifecycle_.DestroyLocked(*op, d);
    return;
  }
  if (action != ShutdownAction::kRenameRestart) {
    (void)lifecycle_.RecreateLocked(*op, d, d.registered);
    return;
  }
  if (!KeepUnderAnotherName(d, info.domid).ok() || !op->intent.Advance(kPhaseCreating).ok()) return;
  (void)lifecycle_.CreateLocked(*op, d.registered, false);
}

Status DomainExits::KeepUnderAnotherName(const RegisteredDomain& d, uint32_t domid) {
  DomainConfig old = d.config();
  old.name = d.config().name + "-" + std::to_string(domid);
  old.uuid = NewUuid(ctx_.options.random);
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, ctx_.CheckConfig(std::move(old)));
  TXEND_ASSIGN_OR_RETURN(auto kept, RegisteredConfig::Make(std::move(valid)));
  (void)xs::RunTransaction(ctx_.xs, [&](xs::Transaction& tx) {
    return tx.Write(DomainHome(domid) + "/name", kept->config->name);
  });
  ctx_.registry.RemoveRunning(domid);
  (void)ctx_.registry.AddRunning(kept, domid, d.start_time);
  return Status::Ok();
}

}  // namespace txend::toolstack
