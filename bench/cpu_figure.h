// CpuFigure: the CPU time one operation costs, measured as repeated batches on
// a CPU-time clock (the calling thread's, or the whole process's), to the
// nanosecond; the median and the spread over the batches.
#pragma once

#include <time.h>

#include <vector>

namespace txend::bench {

struct CpuFigure {
  double median_us = 0;  // per operation, median over the batches
  double min_us = 0;
  double max_us = 0;
};

// Seconds on `clock` (CLOCK_THREAD_CPUTIME_ID, CLOCK_PROCESS_CPUTIME_ID).
double CpuSeconds(clockid_t clock);

// Median, min and max of per-operation figures in microseconds.
CpuFigure Summarize(std::vector<double> per_op_us);

// Runs `op` `repeats` batches of `batch` times, after one batch not measured (caches,
// allocator and CPU clock warmed up); each batch's CPU on `clock` over `batch`.
template <typename F>
CpuFigure PerOp(int repeats, int batch, F&& op, clockid_t clock = CLOCK_THREAD_CPUTIME_ID) {
  for (int i = 0; i < batch; ++i) op();
  std::vector<double> per_op;
  for (int r = 0; r < repeats; ++r) {
    double start = CpuSeconds(clock);
    for (int i = 0; i < batch; ++i) op();
    per_op.push_back((CpuSeconds(clock) - start) * 1e6 / batch);
  }
  return Summarize(std::move(per_op));
}

inline CpuFigure operator+(const CpuFigure& a, const CpuFigure& b) {
  return {a.median_us + b.median_us, a.min_us + b.min_us, a.max_us + b.max_us};
}

}  // namespace txend::bench
