// Physical CPU lists for vcpu affinity ("cpus" in xm and xend configs).
#pragma once

#include <string_view>
#include <vector>

#include "base/result.h"

namespace txend::toolstack {

// Highest physical CPU number accepted (Xen's NR_CPUS limit is 4096).
inline constexpr int kMaxPhysicalCpu = 4095;

// xend's XendConfig._convert_cpus_to_list: comma-separated items applied in
// order; "N" appends N, "A-B" appends A..B, "^N" removes every N so far.
// "0-3,^1" -> {0, 2, 3}; "0-3,^1,1" -> {0, 2, 3, 1}; "" -> {}.
Result<std::vector<int>> ParseCpuList(std::string_view text);

}  // namespace txend::toolstack
