// ToolstackOptions: how a Toolstack is set up — its state directory, its
// timeouts, and the sources of randomness and time it uses (tests pass their own).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "toolstack/config/random_ids.h"

namespace txend::toolstack {

struct ToolstackOptions {
  std::string state_dir = "/var/lib/txend";
  std::chrono::milliseconds device_timeout{10000};    // backends must report within this
  std::chrono::milliseconds shutdown_timeout{60000};  // for save's suspend
  RandomBytes random;                                 // uuids and MACs; default SystemRandomBytes()
  std::function<double()> wall_clock;  // seconds since the epoch; default system clock
};

}  // namespace txend::toolstack
