#include "toolstack/domain/device_waits.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace txend::toolstack {
namespace {

using Clock = std::chrono::steady_clock;

bool NeedsHotplug(const DeviceRef& d) { return d.type == "vbd" || d.type == "vif"; }

// Watch events per path, counted on the watch thread.
struct EventCounts {
  Mutex mu;
  CondVar changed{&mu};
  std::map<std::string, int> by_path GUARDED_BY(mu);
  uint64_t total GUARDED_BY(mu) = 0;
};

Result<xs::Watch> CountEvents(const DomainContext& ctx, const std::string& path,
                              const std::shared_ptr<EventCounts>& counts) {
  return ctx.xs.AddWatch(path, [counts, path](const std::string&, const std::string&) {
    MutexLock lock(&counts->mu);
    ++counts->by_path[path];
    ++counts->total;
    counts->changed.SignalAll();
  });
}

std::string Seconds(std::chrono::milliseconds timeout) {
  return std::to_string(timeout.count() / 1000) + " s";
}

}  // namespace

Status WaitForBackends(const DomainContext& ctx, uint32_t domid,
                       const std::vector<DeviceRef>& devices,
                       const std::function<Status()>& trigger) {
  auto counts = std::make_shared<EventCounts>();
  std::vector<const DeviceRef*> watched;
  std::vector<std::string> paths;
  std::vector<xs::Watch> watches;
  for (const auto& d : devices) {
    if (!NeedsHotplug(d)) continue;
    watched.push_back(&d);
    paths.push_back(d.BackendPath(domid) + "/hotplug-status");
    TXEND_ASSIGN_OR_RETURN(xs::Watch w, CountEvents(ctx, paths.back(), counts));
    watches.push_back(std::move(w));
  }
  TXEND_RETURN_IF_ERROR(trigger());
  if (paths.empty()) return Status::Ok();
  {
    MutexLock lock(&counts->mu);
    // A watch's first event is the daemon's initial one; a second is the backend's report.
    auto first_silent = [&]() EXCLUSIVE_LOCKS_REQUIRED(counts->mu) -> std::optional<size_t> {
      for (size_t i = 0; i < paths.size(); ++i)
        if (counts->by_path[paths[i]] < 2) return i;
      return std::nullopt;
    };
    const auto deadline = Clock::now() + ctx.options.device_timeout;
    while (first_silent() && counts->changed.WaitUntil(deadline)) {
    }
    if (auto silent = first_silent()) {
      const DeviceRef& d = *watched[*silent];
      return Status::Error(ETIMEDOUT, "Device " + d.type + " " + std::to_string(d.devid) +
                                          " could not be connected: its backend did not report "
                                          "within " +
                                          Seconds(ctx.options.device_timeout) +
                                          " (hotplug scripts not working?)");
    }
  }
  TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(ctx.xs));
  auto results = snap.ReadMany(paths);
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok() && *results[i] == "connected") continue;
    std::string why = results[i].ok() ? *results[i] : results[i].status().ToString();
    return Status::Error(EIO, paths[i].substr(0, paths[i].rfind('/')) +
                                  " could not be connected: hotplug-status " + why);
  }
  return Status::Ok();
}

Status WaitDevicesConnected(const DomainContext& ctx, uint32_t domid,
                            const std::vector<DeviceRef>& devices) {
  auto counts = std::make_shared<EventCounts>();
  std::vector<std::string> paths;
  std::vector<xs::Watch> watches;
  for (const auto& dev : devices) {
    for (const std::string& path :
         {dev.FrontendPath(domid) + "/state", dev.BackendPath(domid) + "/state"}) {
      paths.push_back(path);
      TXEND_ASSIGN_OR_RETURN(xs::Watch w, CountEvents(ctx, path, counts));
      watches.push_back(std::move(w));
    }
  }
  const auto deadline = Clock::now() + ctx.options.device_timeout;
  while (true) {
    uint64_t seen;
    {
      MutexLock lock(&counts->mu);
      seen = counts->total;
    }
    TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(ctx.xs));
    auto states = snap.ReadMany(paths);
    std::optional<size_t> waiting;
    for (size_t i = 0; i < states.size() && !waiting; ++i)
      if (!states[i].ok() || XenbusStateFromNode(*states[i]) != XenbusState::kConnected)
        waiting = i;
    if (!waiting) return Status::Ok();
    MutexLock lock(&counts->mu);
    while (counts->total == seen && counts->changed.WaitUntil(deadline)) {
    }
    if (counts->total == seen) {
      std::string state =
          states[*waiting].ok() ? *states[*waiting] : states[*waiting].status().message();
      return Status::Error(ETIMEDOUT, paths[*waiting] + " did not reach Connected within " +
                                          Seconds(ctx.options.device_timeout) + " (state " + state +
                                          ")");
    }
  }
}

}  // namespace txend::toolstack
