// The status page's script: keeps the domain table live from xend's own API (the SXP list,
// woken early by GET /xend/events), a CPU-use graph per domain from cpu_time deltas in a
// bounded ring, and pause/unpause/shutdown buttons that POST the API's ops.
#pragma once

namespace txend::daemon {

// Plain JavaScript, no external resources. Names reach the page only through textContent
// and attribute setters, never through markup or script text.
extern const char kStatusPageScript[];

}  // namespace txend::daemon
