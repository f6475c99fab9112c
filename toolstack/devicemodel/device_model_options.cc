#include "toolstack/devicemodel/device_model_options.h"

#include <array>
#include <span>
#include <string_view>

namespace txend::toolstack {
namespace {

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// xend's and xl's spellings of the stock programs, in /usr/lib/xen/... or bare.
bool IsStockName(std::string_view path, std::span<const std::string_view> names) {
  std::string_view base = BaseName(path);
  bool stock_dir = path.find('/') == std::string_view::npos || path.starts_with("/usr/lib/xen/") ||
                   path.starts_with("/usr/lib64/xen/") || path.starts_with("/usr/lib/xen-");
  for (std::string_view name : names)
    if (base == name && stock_dir) return true;
  return false;
}

}  // namespace

std::string ResolveFirmware(const std::string& loader, const DeviceModelOptions& options) {
  static constexpr std::array<std::string_view, 1> kNames = {"hvmloader"};
  if (loader.empty() || IsStockName(loader, kNames)) return options.firmware_dir + "/hvmloader";
  return loader;
}

std::string ResolveDeviceModel(const std::string& device_model, const DeviceModelOptions& options) {
  static constexpr std::array<std::string_view, 4> kNames = {
      "qemu-dm", "qemu-system-xen", "qemu-system-i386", "xen-qemu-system-i386"};
  if (device_model.empty() || IsStockName(device_model, kNames)) return options.qemu;
  return device_model;
}

}  // namespace txend::toolstack
