#include "toolstack/domain/domain_exits.h"

#include <map>
#include <sys/stat.h>

namespace txend::toolstack {
namespace {

// A domain that crashes again this soon after starting is not restarted.
constexpr double kMinRestartSeconds = 10;

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
  while (true) {
    {
      MutexLock lock(&mu_);
      while (!stopping_ && !pending_) wake_.Wait();
      if (stopping_) return;
      pending_ = false;
    }
    HandlePending();
  }
}

void DomainExits::HandlePending() {
  MutexLock lock(&lifecycle_.mu());
  auto infos = ctx_.hv.ListDomains();
  if (!infos.ok()) return;
  std::map<uint32_t, DomainInfo> by_domid;
  for (auto& i : *infos) by_domid[i.domid] = i;
  for (const auto& d : ctx_.registry.All()) {
    if (!d.domid) continue;
    auto it = by_domid.find(*d.domid);
    if (it == by_domid.end()) {  // destroyed behind our back: tidy up
      (void)lifecycle_.DestroyLocked(d);
      continue;
    }
    const DomainInfo& info = it->second;
    bool exited =
        info.crashed || (info.shutdown && info.shutdown_reason != ShutdownReason::kSuspend);
    if (exited) OnDomainExit(d, info);
  }
}

void DomainExits::OnDomainExit(const RegisteredDomain& d, const DomainInfo& info) {
  bool crashed = info.crashed || info.shutdown_reason == ShutdownReason::kWatchdog;
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
  if (action == ShutdownAction::kRenameRestart && restart) {
    if (!KeepUnderAnotherName(d, info.domid).ok()) return;
  } else {
    (void)lifecycle_.DestroyLocked(d);
    if (!restart) return;
  }
  (void)lifecycle_.CreateLocked(d.registered, false);
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
