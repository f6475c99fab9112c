// DeviceModels: the device models (qemu) of HVM domains, started and stopped
// as libxl does on Xen 4.17. Nothing lives only in memory: a device model is
// found by its domain id (pid file and QMP socket in the run directory), so a
// restarted txend finds the ones that kept running.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/devicemodel/device_model_options.h"
#include "toolstack/xs/connection.h"

namespace txend::toolstack {

class DeviceModels {
 public:
  DeviceModels(xs::Connection& xs, DeviceModelOptions options)
      : xs_(xs), options_(std::move(options)) {}

  // Starts the device model of HVM domain `domid` (whose xenstore home exists),
  // logging to <log_dir>/qemu-dm-<name>.log, and waits (start_timeout) until it
  // writes device-model/<domid>/state = running; then publishes its VNC address
  // (console/vnc-listen, console/vnc-port) and pty serial ports (serial/N/tty)
  // from QMP. `restore_fd` >= 0: device state to load (SaveState's, read back
  // by ReadState). On failure nothing is left running; the error quotes the log.
  Status Start(uint32_t domid, const DomainConfig& config, int restore_fd);
  // Stops it (QMP quit, then SIGTERM, then SIGKILL; each bounded) and removes
  // its xenstore directory, pid file and socket. Nothing running is fine.
  void Stop(uint32_t domid);
  bool Running(uint32_t domid) const;
  // Stops emulation and appends the device state to `fd` as one record
  // ("TXDMSTATE <bytes>\n" + qemu's xen-save-devices-state output).
  Status SaveState(uint32_t domid, int fd);
  // Reads the record SaveState wrote from `fd` (exactly, no further) into a
  // file in the run directory, and returns it open for Start's restore_fd.
  Result<UniqueFd> ReadState(uint32_t domid, int fd);
  // Switches qemu's tracking of the pages it dirties (QMP xen-set-global-dirty-log).
  Status SetLogDirty(uint32_t domid, bool enable);
  // Puts `path` ("" ejects) into CD-ROM drive `dev` (hdc, ...) through QMP.
  Status ChangeMedia(uint32_t domid, const std::string& dev, const std::string& path);

  const DeviceModelOptions& options() const { return options_; }

 private:
  std::string PidFile(uint32_t domid) const;
  std::string StateDir(uint32_t domid) const;  // /local/domain/0/device-model/<domid>
  Result<int> Spawn(uint32_t domid, const DomainConfig& config, int restore_fd);
  Status WaitRunning(uint32_t domid, int pid, const std::string& log);
  Status Publish(uint32_t domid);

  xs::Connection& xs_;
  const DeviceModelOptions options_;
};

}  // namespace txend::toolstack
