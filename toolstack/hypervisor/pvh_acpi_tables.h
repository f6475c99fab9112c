// The ACPI tables libxl 4.17 gives a PVH guest (libacpi with no emulated devices), as bytes:
// RSDP -> XSDT/RSDT -> FADT (revision 5) and MADT (one local APIC per vcpu), FACS, a DSDT.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"

namespace txend::toolstack {

// libacpi's ACPI_INFO_PHYSICAL_ADDRESS: its info page, the tables on the pages after it.
inline constexpr uint64_t kAcpiInfoAddress = 0xfc000000;
// Xen's LAPIC_BASE_ADDRESS, the MADT's local APIC address.
inline constexpr uint64_t kLocalApicAddress = 0xfee00000;
// At most this many vcpus get a MADT entry (HVM_MAX_VCPUS: APIC id 2 × vcpu fits a byte).
inline constexpr uint32_t kPvhAcpiMaxVcpus = 128;

struct PvhAcpiConfig {
  uint32_t vcpus = 1;                   // the domain's vcpu count (max_vcpu_id + 1)
  uint64_t vcpu_online = ~uint64_t{0};  // bit N set: vcpu N enabled at boot (64 and up: online)
  bool apic = true;                     // libxl's `apic`: a MADT even for one vcpu
  // Where the RSDP goes: libxl puts it in the BIOS area's last 64 bytes (0xFFFC0) for a Linux
  // that does not announce XENFEAT_linux_rsdp_unrestricted, else on the page after the tables.
  bool rsdp_below_1mib = false;
};

// One piece of guest memory to fill (libxenguest's acpi_modules, in libxl's order).
struct AcpiModule {
  uint64_t guest_address = 0;
  std::vector<uint8_t> bytes;
};

struct PvhAcpiTables {
  AcpiModule rsdp;    // 64 bytes (the 36-byte ACPI 2.0 RSDP, zero-padded)
  AcpiModule info;    // libacpi's acpi_info page at kAcpiInfoAddress (4096 bytes)
  AcpiModule tables;  // the tables, whole pages from kAcpiInfoAddress + 4096
};

// The tables for `config`, every checksum set; EINVAL for 0 or more than kPvhAcpiMaxVcpus vcpus.
Result<PvhAcpiTables> BuildPvhAcpiTables(const PvhAcpiConfig& config);

}  // namespace txend::toolstack
