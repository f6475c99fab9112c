#include "toolstack/domain/hvm_guest.h"

#include <algorithm>
#include <ctime>

#include "toolstack/config/hvm_config.h"
#include "toolstack/devicemodel/qemu_command.h"

namespace txend::toolstack {
namespace {

constexpr uint64_t kMaxmemSlackKib = 1024;

// libxl_get_required_shadow_memory: 4 KiB x (256 per vcpu + 2 per MiB of memory).
uint64_t RequiredPagingPoolKib(const DomainConfig& c) {
  return 4 * (256 * static_cast<uint64_t>(c.vcpus) + 2 * static_cast<uint64_t>(c.maxmem_mb));
}

// Dom0's offset from UTC now, for localtime=1 (libxl adds tm_gmtoff).
int64_t LocalOffsetSeconds() {
  time_t now = time(nullptr);
  tm local{};
  return localtime_r(&now, &local) ? local.tm_gmtoff : 0;
}

}  // namespace

uint64_t MaxMemoryKib(const DomainConfig& c) {
  uint64_t kib = static_cast<uint64_t>(c.maxmem_mb) * 1024;
  return c.image.builder == Builder::kLinux ? kib : kib + kMaxmemSlackKib;
}

GuestType GuestTypeOf(const DomainConfig& c) {
  switch (c.image.builder) {
    case Builder::kHvm:
      return GuestType::kHvm;
    case Builder::kPvh:
      return GuestType::kPvh;
    case Builder::kLinux:
      break;
  }
  return GuestType::kPv;
}

Result<GuestRings> BuildHvmGuest(const DomainContext& ctx, uint32_t domid, const DomainConfig& c,
                                 const BootImage& kernel, uint32_t store_port,
                                 uint32_t console_port) {
  HvmConfig hvm = ReadHvmConfig(c);
  uint64_t pool =
      std::max(RequiredPagingPoolKib(c), static_cast<uint64_t>(c.shadow_memory_mb) * 1024);
  TXEND_RETURN_IF_ERROR(ctx.hv.SetShadowMemory(domid, pool));
  HvmBuildRequest r;
  r.type = GuestTypeOf(c);
  r.memory_kib = static_cast<uint64_t>(c.memory_mb) * 1024;
  if (r.type == GuestType::kHvm) {
    r.firmware = ResolveFirmware(c.image.loader, ctx.options.device_model);
    r.system_firmware = ctx.options.device_model.seabios;
    r.video_memory_kib = static_cast<uint64_t>(VideoMemoryMib(hvm)) * 1024;
  } else {
    r.kernel = kernel.kernel;
    r.ramdisk = kernel.ramdisk;
    r.cmdline = kernel.args;
  }
  if (c.vcpu_avail) r.vcpu_avail = *c.vcpu_avail;
  r.apic = hvm.apic;
  r.hpet = hvm.hpet;
  r.vpt_align = hvm.vpt_align;
  r.viridian = hvm.viridian;
  r.timer_mode = static_cast<uint32_t>(hvm.timer_mode);
  r.tsc_mode = static_cast<uint32_t>(hvm.tsc_mode);
  r.rtc_offset_s = hvm.rtc_timeoffset + (hvm.localtime ? LocalOffsetSeconds() : 0);
  r.store_port = store_port;
  r.console_port = console_port;
  return ctx.hv.BuildHvm(domid, r);
}

}  // namespace txend::toolstack
