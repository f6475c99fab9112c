// GuestMemory: the memory of a simulated domain. Pages hold pseudo-random
// contents generated from a seed until something writes them, so a 4 GiB
// domain costs RAM only for the pages that differ from their generated
// contents. Like Xen's log-dirty mode, it records written pages while
// dirty logging is on, for live save and migration.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace txend::toolstack {

class GuestMemory {
 public:
  static constexpr size_t kPageSize = 4096;
  using Page = std::array<uint8_t, kPageSize>;

  explicit GuestMemory(uint64_t seed = 0, uint64_t nr_pages = 0)
      : seed_(seed), nr_pages_(nr_pages) {}

  uint64_t seed() const { return seed_; }
  uint64_t nr_pages() const { return nr_pages_; }
  // Pages held in RAM because they differ from their generated contents.
  size_t stored_pages() const { return stored_.size(); }

  // Growing adds generated pages at the end; shrinking drops the tail.
  void Resize(uint64_t nr_pages);
  Status Read(uint64_t pfn, std::span<uint8_t, kPageSize> out) const;
  // Stores `data` as page `pfn` and marks it dirty.
  Status Write(uint64_t pfn, std::span<const uint8_t, kPageSize> data);
  // What a running guest does: rewrites page `pfn` with contents derived from `salt`.
  Status Touch(uint64_t pfn, uint64_t salt);

  // Log-dirty mode: while on, writes are remembered until TakeDirty().
  void EnableLogDirty();
  void DisableLogDirty();
  bool log_dirty() const { return log_dirty_; }
  size_t dirty_count() const { return dirty_count_; }
  // Pages written since dirty logging began or the last TakeDirty(), ascending; clears them.
  std::vector<uint64_t> TakeDirty();

  // A hash of every page's contents in order (for comparing two memories).
  uint64_t Digest() const;

 private:
  Status CheckPfn(uint64_t pfn) const;
  void Generate(uint64_t pfn, std::span<uint8_t, kPageSize> out) const;
  void MarkDirty(uint64_t pfn);

  uint64_t seed_;
  uint64_t nr_pages_;
  std::unordered_map<uint64_t, std::unique_ptr<Page>> stored_;
  bool log_dirty_ = false;
  std::vector<bool> dirty_;
  size_t dirty_count_ = 0;
};

}  // namespace txend::toolstack
