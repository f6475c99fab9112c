#include "toolstack/domain/domain_state_cache.h"

#include <algorithm>
#include <string_view>

#include "base/numbers.h"

namespace txend::toolstack {
namespace {

constexpr std::string_view kLocalDomain = "/local/domain/";

// The path's next component after `prefix` as a domid, and the rest after it.
std::optional<uint32_t> DomidAfter(std::string_view path, std::string_view prefix,
                                   std::string_view* rest) {
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  path.remove_prefix(prefix.size());
  size_t slash = path.find('/');
  auto domid = ParseInteger<uint32_t>(path.substr(0, slash));
  if (!domid.ok()) return std::nullopt;
  *rest = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  return *domid;
}

// The domain whose state a write to `path` may change: the owner of
// /local/domain/<id>/..., or for a backend (/local/domain/<b>/backend/<type>/<id>/...) <id>.
std::optional<uint32_t> DomainOf(std::string_view path) {
  std::string_view rest;
  auto owner = DomidAfter(path, kLocalDomain, &rest);
  if (!owner) return std::nullopt;
  if (rest.substr(0, 9) != "/backend/") return owner;
  rest.remove_prefix(9);
  size_t type_end = rest.find('/');
  if (type_end == std::string_view::npos) return std::nullopt;  // a whole backend class
  std::string_view id_rest;
  return DomidAfter(rest, rest.substr(0, type_end + 1), &id_rest);
}

}  // namespace

Status DomainStateCache::Start(xs::Connection& xs) {
  xs_ = &xs;
  TXEND_ASSIGN_OR_RETURN(
      xs::Watch w,
      xs.AddWatch(
          "/local/domain", [this](const std::string& path, const std::string&) { Changed(path); },
          xs::WatchDelivery::kReader));  // marked before any later reply: CatchUp relies on it
  watch_.emplace(std::move(w));
  MutexLock lock(&mu_);
  watching_ = true;
  return Status::Ok();
}

void DomainStateCache::Changed(const std::string& path) {
  auto domid = DomainOf(path);
  MutexLock lock(&mu_);
  ++epoch_;
  if (domid)
    changed_[*domid] = epoch_;
  else
    all_changed_ = epoch_;
}

Status DomainStateCache::CatchUp() {
  if (!xs_) return Status::Ok();  // not started: nothing is cached, every read reads
  std::optional<uint64_t> written = xs_->PublishedWriteGeneration();
  if (written && *written == caught_up_.load(std::memory_order_acquire))
    return Status::Ok();  // nothing written since a completed round trip began
  TXEND_RETURN_IF_ERROR(xs_->Sync());
  if (!written) return Status::Ok();
  uint64_t seen = caught_up_.load(std::memory_order_relaxed);
  while (seen < *written && !caught_up_.compare_exchange_weak(seen, *written)) {
  }
  return Status::Ok();
}

bool DomainStateCache::HoldsClean(const RegisteredDomain& d) const {
  if (!xs_ || !d.domid) return false;
  std::optional<uint64_t> written = xs_->PublishedWriteGeneration();
  if (!written || *written != caught_up_.load(std::memory_order_acquire)) return false;
  MutexLock lock(&mu_);
  auto it = entries_.find(*d.domid);
  return it != entries_.end() && it->second.config == d.registered &&
         CleanLocked(*d.domid, it->second);
}

uint64_t DomainStateCache::Epoch() const {
  MutexLock lock(&mu_);
  return epoch_;
}

bool DomainStateCache::CleanLocked(uint32_t domid, const Entry& e) const {
  if (!watching_ || !xs_->alive() || all_changed_ > e.read_at) return false;
  auto it = changed_.find(domid);
  return it == changed_.end() || it->second <= e.read_at;
}

bool DomainStateCache::Fill(DomainRecord& r, const RegisteredDomain& d) const {
  if (!r.info) return true;  // not running: nothing in xenstore to show
  MutexLock lock(&mu_);
  auto it = entries_.find(r.info->domid);
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  if (e.config != d.registered || e.states.size() != r.devices.size() ||
      !CleanLocked(r.info->domid, e))
    return false;
  r.memory_target_kib = e.memory_target_kib;
  r.vnc_location = e.vnc_location;
  r.console_tty = e.console_tty;
  for (size_t i = 0; i < r.devices.size(); ++i)
    std::tie(r.devices[i].backend_state, r.devices[i].frontend_state) = e.states[i];
  return true;
}

void DomainStateCache::Store(const DomainRecord& r, const RegisteredDomain& d, uint64_t epoch) {
  if (!r.info) return;
  Entry e{d.registered, epoch, r.memory_target_kib, r.vnc_location, r.console_tty, {}};
  e.states.reserve(r.devices.size());
  for (const auto& dev : r.devices) e.states.emplace_back(dev.backend_state, dev.frontend_state);
  MutexLock lock(&mu_);
  if (!watching_) return;
  entries_[r.info->domid] = std::move(e);
}

void DomainStateCache::Keep(const std::vector<uint32_t>& domids) {
  MutexLock lock(&mu_);
  std::erase_if(entries_, [&](const auto& kv) {
    return !std::binary_search(domids.begin(), domids.end(), kv.first);
  });
  std::erase_if(changed_, [&](const auto& kv) {
    return !std::binary_search(domids.begin(), domids.end(), kv.first);
  });
}

}  // namespace txend::toolstack
