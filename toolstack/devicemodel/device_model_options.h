// Where a host keeps what HVM guests need — the firmware, the device model
// program, its logs and sockets — and how long a device model may take to
// start; plus the mapping of xend's names for them to these paths, as xl does.
#pragma once

#include <chrono>
#include <string>

namespace txend::toolstack {

struct DeviceModelOptions {
  std::string qemu = "/usr/libexec/xen-qemu-system-i386";  // Debian's qemu-system-xen
  std::string firmware_dir = "/usr/lib/xen-4.17/boot";     // hvmloader
  std::string seabios = "/usr/share/seabios/bios-256k.bin";
  std::string log_dir = "/var/log/xen";  // qemu-dm-<name>.log
  std::string run_dir = "/var/run/xen";  // QMP sockets, pid files, saved device state
  std::string xenstored_path;            // XENSTORED_PATH for the device model; "" = its default
  std::chrono::milliseconds start_timeout{30000};  // until device-model/<domid>/state = running
};

// The firmware to load for an HVM config's loader: hvmloader by any of xend's
// names (bare, /usr/lib/xen/boot/..., /usr/lib64/xen/boot/...) is the host's;
// another absolute path is kept; "" means hvmloader.
std::string ResolveFirmware(const std::string& loader, const DeviceModelOptions& options);
// The device model program for an HVM config's device_model: "", qemu-dm,
// /usr/lib/xen/bin/qemu-dm, qemu-system-xen and qemu-system-i386 are the
// host's; another absolute path is kept.
std::string ResolveDeviceModel(const std::string& device_model, const DeviceModelOptions& options);

}  // namespace txend::toolstack
