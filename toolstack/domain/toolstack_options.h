// ToolstackOptions: how a Toolstack is set up — its state directory, its
// timeouts, and the sources of randomness and time it uses (tests pass their own).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "toolstack/bootloader/bootloader.h"
#include "toolstack/config/incoming_policy.h"
#include "toolstack/config/random_ids.h"
#include "toolstack/devicemodel/device_model_options.h"

namespace txend::toolstack {

struct ToolstackOptions {
  std::string state_dir = "/var/lib/txend";
  std::chrono::milliseconds device_timeout{10000};    // backends must report within this
  std::chrono::milliseconds shutdown_timeout{60000};  // for save's suspend
  // How long an operation waits for a domain another operation holds (then EBUSY).
  std::chrono::milliseconds busy_timeout{5000};
  // TXEND_FAULT, a test hook: "<op>.<step>[:stall]" (toolstack/domain/intents.h).
  std::string fault;
  // Where start-up recovery says what it finished, undid or removed; default: nowhere.
  std::function<void(const std::string&)> log;
  RandomBytes random;                  // uuids and MACs; default SystemRandomBytes()
  std::function<double()> wall_clock;  // seconds since the epoch; default system clock
  DeviceModelOptions device_model;     // HVM guests' firmware, qemu, logs
  BootloaderOptions bootloader;  // PV and PVH guests' pygrub; work_dir defaults to <state_dir>/boot
  std::string sysfs_root = "/sys";  // where the host's pciback and pci-stub devices are listed
  IncomingPolicy incoming;          // what an arriving migration's domain may use
};

}  // namespace txend::toolstack
