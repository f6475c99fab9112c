#include "bench/cpu_figure.h"

#include <algorithm>

namespace txend::bench {

double CpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

CpuFigure Summarize(std::vector<double> per_op_us) {
  if (per_op_us.empty()) return {};
  std::sort(per_op_us.begin(), per_op_us.end());
  return {per_op_us[per_op_us.size() / 2], per_op_us.front(), per_op_us.back()};
}

}  // namespace txend::bench
