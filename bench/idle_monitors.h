// IdleMonitors: N clients parked in `GET /xend/events` long polls while
// nothing changes, and what xsd + txend spend meanwhile over a fixed window.
// The clients are spread over child processes of at most kPerProcess
// connections each (txend admits 64 per client process).
#pragma once

#include <string>

#include "base/result.h"
#include "bench/stack_meter.h"

namespace txend::bench {

struct IdleFigures {
  int monitors = 0;  // asked for
  int waiting = 0;   // still parked in their long poll at the end of the window
  StackCost cost;    // the window
};

inline constexpr int kIdleMonitorsPerProcess = 50;

// The number the next domain event will get (GET /xend/events): where monitors wait from.
// Asked once, before any monitor: txend serves /xend/events on its pool for waits, which
// the long polls of earlier (killed) monitors may still hold for up to their 30 s.
Result<std::string> NextEvent(const std::string& xend_socket);

Result<IdleFigures> MeasureIdleMonitors(const std::string& xend_socket, const std::string& since,
                                        StackMeter& meter, int monitors, double seconds);

}  // namespace txend::bench
