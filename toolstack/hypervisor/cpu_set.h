// CpuSet: a set of physical CPU numbers — a vcpu's affinity, as Xen's cpumap
// bitmaps hold it — with xm's "0-3,^1,6" notation.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace txend::toolstack {

class CpuSet {
 public:
  // Highest CPU number Parse accepts (Xen's NR_CPUS is at most 4096).
  static constexpr uint32_t kMaxCpu = 4095;

  CpuSet() = default;
  CpuSet(std::initializer_list<uint32_t> cpus) : cpus_(cpus) {}
  // {0, 1, ..., n-1}: every CPU of an n-CPU host.
  static CpuSet FirstN(uint32_t n);
  // xm's syntax: "all", or comma-separated "N", "N-M" and "^N" (exclude),
  // e.g. "0-3,^1,6" = {0,2,3,6}. "all" needs the host's CPU count.
  static Result<CpuSet> Parse(std::string_view text, uint32_t nr_cpus);

  void Add(uint32_t cpu) { cpus_.insert(cpu); }
  void Remove(uint32_t cpu) { cpus_.erase(cpu); }
  size_t Count() const { return cpus_.size(); }
  bool Empty() const { return cpus_.empty(); }
  std::optional<uint32_t> Max() const;
  // The n-th smallest member (n < Count()).
  uint32_t Nth(size_t n) const;
  std::vector<uint32_t> ToVector() const { return {cpus_.begin(), cpus_.end()}; }
  // Compact ranges: "0-2,5"; "" when empty.
  std::string ToString() const;

  bool operator==(const CpuSet&) const = default;

 private:
  std::set<uint32_t> cpus_;
};

}  // namespace txend::toolstack
