#include "toolstack/hypervisor/cpu_set.h"

#include <iterator>

#include "base/numbers.h"

namespace txend::toolstack {
namespace {

Result<uint32_t> ParseCpu(std::string_view s, std::string_view whole) {
  auto v = ParseInteger<uint32_t>(s);
  if (!v.ok()) return Status::Error(EINVAL, "invalid cpu list '" + std::string(whole) + "'");
  if (*v > CpuSet::kMaxCpu)
    return Status::Error(EINVAL, "cpu " + std::string(s) + " out of range (max " +
                                     std::to_string(CpuSet::kMaxCpu) + ")");
  return v;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

CpuSet CpuSet::FirstN(uint32_t n) {
  CpuSet s;
  for (uint32_t i = 0; i < n; ++i) s.Add(i);
  return s;
}

Result<CpuSet> CpuSet::Parse(std::string_view text, uint32_t nr_cpus) {
  std::string_view whole = Trim(text);
  if (whole == "all") return FirstN(nr_cpus);
  if (whole.empty()) return Status::Error(EINVAL, "empty cpu list");
  CpuSet set;
  std::vector<uint32_t> excluded;
  std::string_view rest = whole;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (!item.empty() && item.front() == '^') {
      TXEND_ASSIGN_OR_RETURN(uint32_t cpu, ParseCpu(item.substr(1), whole));
      excluded.push_back(cpu);
    } else {
      size_t dash = item.find('-');
      TXEND_ASSIGN_OR_RETURN(uint32_t lo, ParseCpu(item.substr(0, dash), whole));
      uint32_t hi = lo;
      if (dash != std::string_view::npos) {
        TXEND_ASSIGN_OR_RETURN(hi, ParseCpu(item.substr(dash + 1), whole));
      }
      if (hi < lo) return Status::Error(EINVAL, "invalid cpu range '" + std::string(item) + "'");
      for (uint32_t c = lo; c <= hi; ++c) set.Add(c);
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  for (uint32_t c : excluded) set.Remove(c);
  return set;
}

std::optional<uint32_t> CpuSet::Max() const {
  if (cpus_.empty()) return std::nullopt;
  return *cpus_.rbegin();
}

uint32_t CpuSet::Nth(size_t n) const { return *std::next(cpus_.begin(), static_cast<long>(n)); }

std::string CpuSet::ToString() const {
  std::string out;
  auto it = cpus_.begin();
  while (it != cpus_.end()) {
    uint32_t lo = *it, hi = lo;
    for (++it; it != cpus_.end() && *it == hi + 1; ++it) hi = *it;
    if (!out.empty()) out += ',';
    out += std::to_string(lo);
    if (hi != lo) out += '-' + std::to_string(hi);
  }
  return out;
}

}  // namespace txend::toolstack
