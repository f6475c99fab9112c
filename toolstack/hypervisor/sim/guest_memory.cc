#include "toolstack/hypervisor/sim/guest_memory.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace txend::toolstack {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void Fill(uint64_t state, std::span<uint8_t, GuestMemory::kPageSize> out) {
  for (size_t i = 0; i < out.size(); i += 8) {
    uint64_t v = SplitMix64(state);
    std::memcpy(out.data() + i, &v, 8);
  }
}

uint64_t PageState(uint64_t seed, uint64_t pfn) { return seed ^ (pfn * 0xD1B54A32D192ED03ull); }

}  // namespace

void GuestMemory::Resize(uint64_t nr_pages) {
  if (nr_pages < nr_pages_)
    std::erase_if(stored_, [&](const auto& kv) { return kv.first >= nr_pages; });
  nr_pages_ = nr_pages;
  if (log_dirty_) {
    for (uint64_t p = nr_pages; p < dirty_.size(); ++p) dirty_count_ -= dirty_[p];
    dirty_.resize(nr_pages, false);
  }
}

Status GuestMemory::CheckPfn(uint64_t pfn) const {
  if (pfn >= nr_pages_)
    return Status::Error(EINVAL, "page " + std::to_string(pfn) + " beyond the domain's " +
                                     std::to_string(nr_pages_) + " pages");
  return Status::Ok();
}

void GuestMemory::Generate(uint64_t pfn, std::span<uint8_t, kPageSize> out) const {
  Fill(PageState(seed_, pfn), out);
}

Status GuestMemory::Read(uint64_t pfn, std::span<uint8_t, kPageSize> out) const {
  TXEND_RETURN_IF_ERROR(CheckPfn(pfn));
  auto it = stored_.find(pfn);
  if (it == stored_.end())
    Generate(pfn, out);
  else
    std::memcpy(out.data(), it->second->data(), kPageSize);
  return Status::Ok();
}

Status GuestMemory::Write(uint64_t pfn, std::span<const uint8_t, kPageSize> data) {
  TXEND_RETURN_IF_ERROR(CheckPfn(pfn));
  Page generated;
  Generate(pfn, generated);
  if (std::memcmp(generated.data(), data.data(), kPageSize) == 0) {
    stored_.erase(pfn);
  } else {
    auto& page = stored_[pfn];
    if (!page) page = std::make_unique<Page>();
    std::memcpy(page->data(), data.data(), kPageSize);
  }
  MarkDirty(pfn);
  return Status::Ok();
}

Status GuestMemory::Touch(uint64_t pfn, uint64_t salt) {
  TXEND_RETURN_IF_ERROR(CheckPfn(pfn));
  Page page;
  Fill(PageState(seed_ ^ SplitMix64(salt), pfn), page);
  return Write(pfn, page);
}

void GuestMemory::MarkDirty(uint64_t pfn) {
  if (!log_dirty_ || dirty_[pfn]) return;
  dirty_[pfn] = true;
  ++dirty_count_;
}

void GuestMemory::EnableLogDirty() {
  if (log_dirty_) return;
  log_dirty_ = true;
  dirty_.assign(nr_pages_, false);
  dirty_count_ = 0;
}

void GuestMemory::DisableLogDirty() {
  log_dirty_ = false;
  dirty_.clear();
  dirty_.shrink_to_fit();
  dirty_count_ = 0;
}

std::vector<uint64_t> GuestMemory::TakeDirty() {
  std::vector<uint64_t> pfns;
  pfns.reserve(dirty_count_);
  for (uint64_t p = 0; p < dirty_.size() && pfns.size() < dirty_count_; ++p)
    if (dirty_[p]) {
      pfns.push_back(p);
      dirty_[p] = false;
    }
  dirty_count_ = 0;
  return pfns;
}

uint64_t GuestMemory::Digest() const {
  uint64_t h = (0xcbf29ce484222325ull ^ nr_pages_) * 0x100000001b3ull;  // FNV-1a over words
  Page page;
  for (uint64_t pfn = 0; pfn < nr_pages_; ++pfn) {
    (void)Read(pfn, page);
    for (size_t i = 0; i < kPageSize; i += 8) {
      uint64_t w;
      std::memcpy(&w, page.data() + i, 8);
      h = (h ^ w) * 0x100000001b3ull;
    }
  }
  return h;
}

}  // namespace txend::toolstack
