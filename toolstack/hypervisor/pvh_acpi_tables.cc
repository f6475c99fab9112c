#include "toolstack/hypervisor/pvh_acpi_tables.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace txend::toolstack {
namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kHeaderBytes = 36;
constexpr size_t kRsdpBytes = 36, kRsdpModuleBytes = 64;
constexpr size_t kFacsBytes = 64;
constexpr size_t kFadt1Bytes = 116;  // the ACPI 1.0 FADT the RSDT points at
constexpr size_t kFadt5Bytes = 268;  // revision 5: up to sleep_status
constexpr size_t kMadtEntryBytes = 8;
constexpr size_t kMaxTablePages = 16;  // libxl's NUM_ACPI_PAGES

// libacpi's fixed-hardware block addresses (I/O ports) and FADT flag bits.
constexpr uint32_t kPm1aEvtBlk = 0xb000, kPm1aCntBlk = 0xb004, kPmTmrBlk = 0xb008;
constexpr uint32_t kGpe0Blk = 0xafe0;
constexpr uint32_t kFadtFlags = 0x1 /*WBINVD*/ | 0x4 /*PROC_C1*/ | 0x40 /*FIX_RTC*/ |
                                0x100 /*TMR_VAL_EXT*/ | 0x8000 /*USE_PLATFORM_CLOCK*/;
constexpr uint32_t kNoFixedButtons = 0x10 /*PWR_BUTTON*/ | 0x20 /*SLP_BUTTON*/;
constexpr uint16_t kBootArchNoVgaNoCmosRtc = (1 << 2) | (1 << 5);

// Little-endian writes into a byte vector.
void Put8(std::vector<uint8_t>& b, size_t at, uint8_t v) { b[at] = v; }
void Put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  for (size_t i = 0; i < 2; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutText(std::vector<uint8_t>& b, size_t at, std::string_view text) {
  std::memcpy(b.data() + at, text.data(), text.size());
}

// The byte at `at` set so that bytes [start, start + length) sum to 0.
void SetChecksum(std::vector<uint8_t>& b, size_t start, size_t length, size_t at) {
  b[at] = 0;
  uint8_t sum = 0;
  for (size_t i = start; i < start + length; ++i) sum = static_cast<uint8_t>(sum + b[i]);
  b[at] = static_cast<uint8_t>(-sum);
}

// ACPI 2.0 Generic Address Structure for an I/O port register.
void PutIoRegister(std::vector<uint8_t>& b, size_t at, uint8_t bits, uint64_t port) {
  Put8(b, at, 1);  // system I/O
  Put8(b, at + 1, bits);
  Put64(b, at + 4, port);
}

// Allocates tables in the table pages as libxl's allocator does (16-byte aligned at least).
class TableArea {
 public:
  explicit TableArea(uint64_t base) : base_(base) {}
  // Offset of a new zeroed table of `size` bytes; the area grows as needed.
  size_t Alloc(size_t size, size_t align = 16) {
    size_t at = (bytes_.size() + align - 1) / align * align;
    bytes_.resize(at + size, 0);
    return at;
  }
  uint64_t Address(size_t offset) const { return base_ + offset; }
  std::vector<uint8_t>& bytes() { return bytes_; }

  // Standard header: signature, length, revision, libacpi's OEM and creator ids; checksum later.
  void PutHeader(size_t at, std::string_view signature, uint32_t length, uint8_t revision) {
    PutText(bytes_, at, signature);
    Put32(bytes_, at + 4, length);
    Put8(bytes_, at + 8, revision);
    PutText(bytes_, at + 10, "Xen");   // OEM id, NUL-padded to 6
    PutText(bytes_, at + 16, "HVM");   // OEM table id, NUL-padded to 8
    PutText(bytes_, at + 28, "HVML");  // creator id (hvmloader's); revisions 0
  }
  void Seal(size_t at, uint32_t length) { SetChecksum(bytes_, at, length, at + 9); }

 private:
  uint64_t base_;
  std::vector<uint8_t> bytes_;
};

size_t PutFadt1(TableArea& area, uint64_t facs, uint64_t dsdt) {
  size_t at = area.Alloc(kFadt1Bytes);
  auto& b = area.bytes();
  area.PutHeader(at, "FACP", kFadt1Bytes, 1);
  Put32(b, at + 36, static_cast<uint32_t>(facs));
  Put32(b, at + 40, static_cast<uint32_t>(dsdt));
  Put16(b, at + 46, 9);  // SCI interrupt
  Put32(b, at + 56, kPm1aEvtBlk);
  Put32(b, at + 64, kPm1aCntBlk);
  Put32(b, at + 76, kPmTmrBlk);  // libacpi's template, before it drops the PM timer
  Put32(b, at + 80, kGpe0Blk);
  Put8(b, at + 88, 4);
  Put8(b, at + 89, 2);
  Put8(b, at + 91, 4);
  Put8(b, at + 92, 4);
  Put16(b, at + 96, 0x0fff);  // no C2
  Put16(b, at + 98, 0x0fff);  // no C3
  Put32(b, at + 112, kFadtFlags);
  area.Seal(at, kFadt1Bytes);
  return at;
}

// Revision 5, as libxl asks for PVH: no PM timer, no fixed buttons, no VGA, no CMOS RTC.
size_t PutFadt5(TableArea& area, uint64_t facs, uint64_t dsdt) {
  size_t at = area.Alloc(kFadt5Bytes);
  auto& b = area.bytes();
  area.PutHeader(at, "FACP", kFadt5Bytes, 5);
  Put32(b, at + 36, static_cast<uint32_t>(facs));
  Put32(b, at + 40, static_cast<uint32_t>(dsdt));
  Put16(b, at + 46, 9);
  Put32(b, at + 56, kPm1aEvtBlk);
  Put32(b, at + 64, kPm1aCntBlk);
  Put32(b, at + 80, kGpe0Blk);
  Put8(b, at + 88, 4);
  Put8(b, at + 89, 2);
  Put8(b, at + 92, 4);
  Put16(b, at + 96, 0x0fff);
  Put16(b, at + 98, 0x0fff);
  Put16(b, at + 109, kBootArchNoVgaNoCmosRtc);
  Put32(b, at + 112, kFadtFlags | kNoFixedButtons);
  PutIoRegister(b, at + 116, 8, 0xcf9);  // reset register (not flagged as supported)
  Put8(b, at + 128, 6);
  Put64(b, at + 132, facs);
  Put64(b, at + 140, dsdt);
  PutIoRegister(b, at + 148, 32, kPm1aEvtBlk);
  PutIoRegister(b, at + 172, 16, kPm1aCntBlk);
  area.Seal(at, kFadt5Bytes);
  return at;
}

bool VcpuOnline(const PvhAcpiConfig& config, uint32_t vcpu) {
  return vcpu >= 64 || (config.vcpu_online >> vcpu) & 1;
}

// MADT: the local APIC address and one entry per vcpu (APIC id 2 × vcpu, as Xen numbers them).
size_t PutMadt(TableArea& area, const PvhAcpiConfig& config, std::vector<uint8_t>& info) {
  uint32_t length = 44 + kMadtEntryBytes * config.vcpus;
  size_t at = area.Alloc(length);
  auto& b = area.bytes();
  area.PutHeader(at, "APIC", length, 2);
  Put32(b, at + 36, static_cast<uint32_t>(kLocalApicAddress));
  Put32(b, at + 40, 1);  // PCAT_COMPAT
  for (uint32_t v = 0; v < config.vcpus; ++v) {
    size_t e = at + 44 + kMadtEntryBytes * v;
    Put8(b, e, 0);  // processor local APIC
    Put8(b, e + 1, kMadtEntryBytes);
    Put8(b, e + 2, static_cast<uint8_t>(v));
    Put8(b, e + 3, static_cast<uint8_t>(2 * v));
    Put32(b, e + 4, VcpuOnline(config, v) ? 1 : 0);
  }
  area.Seal(at, length);
  Put32(info, 12, static_cast<uint32_t>(area.Address(at + 9)));   // MADT checksum
  Put32(info, 16, static_cast<uint32_t>(area.Address(at + 44)));  // first LAPIC entry
  return at;
}

// XSDT (64-bit entries) or RSDT (32-bit): the FADT first, then the others.
size_t PutRoot(TableArea& area, std::string_view signature, size_t entry_bytes,
               const std::vector<uint64_t>& entries) {
  auto length = static_cast<uint32_t>(kHeaderBytes + entry_bytes * entries.size());
  size_t at = area.Alloc(length);
  area.PutHeader(at, signature, length, 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    size_t e = at + kHeaderBytes + entry_bytes * i;
    if (entry_bytes == 8)
      Put64(area.bytes(), e, entries[i]);
    else
      Put32(area.bytes(), e, static_cast<uint32_t>(entries[i]));
  }
  area.Seal(at, length);
  return at;
}

std::vector<uint8_t> Rsdp(uint64_t rsdt, uint64_t xsdt) {
  std::vector<uint8_t> b(kRsdpModuleBytes, 0);
  PutText(b, 0, "RSD PTR ");
  PutText(b, 9, "Xen");
  Put8(b, 15, 2);
  Put32(b, 16, static_cast<uint32_t>(rsdt));
  Put32(b, 20, kRsdpBytes);
  Put64(b, 24, xsdt);
  SetChecksum(b, 0, 20, 8);
  SetChecksum(b, 0, kRsdpBytes, 32);
  return b;
}

}  // namespace

Result<PvhAcpiTables> BuildPvhAcpiTables(const PvhAcpiConfig& config) {
  if (config.vcpus == 0 || config.vcpus > kPvhAcpiMaxVcpus)
    return Status::Error(EINVAL, "ACPI tables for " + std::to_string(config.vcpus) +
                                     " vcpus: 1 to " + std::to_string(kPvhAcpiMaxVcpus) +
                                     " supported");
  PvhAcpiTables t;
  t.info.guest_address = kAcpiInfoAddress;
  t.info.bytes.assign(kPage, 0);
  Put16(t.info.bytes, 2, static_cast<uint16_t>(config.vcpus));

  TableArea area(kAcpiInfoAddress + kPage);
  size_t facs = area.Alloc(kFacsBytes, 64);
  PutText(area.bytes(), facs, "FACS");
  Put32(area.bytes(), facs + 4, kFacsBytes);
  Put8(area.bytes(), facs + 32, 1);  // version
  // The DSDT: a definition block with no objects (libxl's declares processor objects).
  size_t dsdt = area.Alloc(kHeaderBytes);
  area.PutHeader(dsdt, "DSDT", kHeaderBytes, 5);
  area.Seal(dsdt, kHeaderBytes);
  uint64_t facs_at = area.Address(facs), dsdt_at = area.Address(dsdt);
  uint64_t fadt1 = area.Address(PutFadt1(area, facs_at, dsdt_at));
  uint64_t fadt5 = area.Address(PutFadt5(area, facs_at, dsdt_at));
  std::vector<uint64_t> secondary;
  if (config.vcpus > 1 || config.apic)
    secondary.push_back(area.Address(PutMadt(area, config, t.info.bytes)));
  std::vector<uint64_t> x_entries{fadt5}, r_entries{fadt1};
  x_entries.insert(x_entries.end(), secondary.begin(), secondary.end());
  r_entries.insert(r_entries.end(), secondary.begin(), secondary.end());
  uint64_t xsdt = area.Address(PutRoot(area, "XSDT", 8, x_entries));
  uint64_t rsdt = area.Address(PutRoot(area, "RSDT", 4, r_entries));

  size_t pages = (area.bytes().size() + kPage - 1) / kPage;
  if (pages > kMaxTablePages)
    return Status::Error(EINVAL, "ACPI tables need " + std::to_string(pages) +
                                     " pages, more than " + std::to_string(kMaxTablePages));
  t.tables.guest_address = kAcpiInfoAddress + kPage;
  t.tables.bytes = std::move(area.bytes());
  t.tables.bytes.resize(pages * kPage, 0);
  t.rsdp.guest_address =
      config.rsdp_below_1mib ? 0x100000 - kRsdpModuleBytes : kAcpiInfoAddress + (1 + pages) * kPage;
  t.rsdp.bytes = Rsdp(rsdt, xsdt);
  return t;
}

}  // namespace txend::toolstack
