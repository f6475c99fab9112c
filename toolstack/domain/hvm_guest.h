// Building HVM and PVH guests for Lifecycle: the hypervisor's HvmBuildRequest
// from a config (firmware and BIOS resolved to the host's paths, libxl's
// paging pool and video memory), and the memory limit they are built under.
#pragma once

#include <cstdint>

#include "toolstack/bootloader/bootloader_output.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/domain/domain_context.h"

namespace txend::toolstack {

// The domain's maximum memory in KiB: maxmem, plus libxl's 1 MiB of slack
// (LIBXL_MAXMEM_CONSTANT) for HVM and PVH guests, whose special pages count.
uint64_t MaxMemoryKib(const DomainConfig& config);

// The guest type a config asks the hypervisor for.
GuestType GuestTypeOf(const DomainConfig& config);

// Sets the paging pool (libxl's default unless shadow_memory asks for more)
// and builds the HVM or PVH guest of `config` into created domain `domid`; a
// PVH guest boots `kernel` (the config's, or what its bootloader chose).
Result<GuestRings> BuildHvmGuest(const DomainContext& ctx, uint32_t domid,
                                 const DomainConfig& config, const BootImage& kernel,
                                 uint32_t store_port, uint32_t console_port);

}  // namespace txend::toolstack
