// The PVH guest's ACPI tables, read back the way an OS walks them: RSDP -> XSDT -> tables.
#include "toolstack/hypervisor/pvh_acpi_tables.h"

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace txend::toolstack {
namespace {

uint64_t Read(const std::vector<uint8_t>& b, size_t at, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= uint64_t{b.at(at + i)} << (8 * i);
  return v;
}

uint8_t Sum(const std::vector<uint8_t>& b, size_t at, size_t length) {
  uint8_t sum = 0;
  for (size_t i = at; i < at + length; ++i) sum = static_cast<uint8_t>(sum + b.at(i));
  return sum;
}

// A table by guest address, checked on the way: inside the table pages, checksum 0.
struct Table {
  std::string signature;
  size_t offset;
  uint32_t length;
};

Table TableAt(const PvhAcpiTables& t, uint64_t address) {
  const auto& b = t.tables.bytes;
  EXPECT_GE(address, t.tables.guest_address);
  size_t at = address - t.tables.guest_address;
  EXPECT_LE(at + 36, b.size());
  Table table{std::string(b.begin() + at, b.begin() + at + 4), at,
              static_cast<uint32_t>(Read(b, at + 4, 4))};
  EXPECT_LE(at + table.length, b.size()) << table.signature;
  EXPECT_EQ(Sum(b, at, table.length), 0) << table.signature << " checksum";
  return table;
}

// The XSDT's entries, by way of the RSDP.
std::vector<uint64_t> XsdtEntries(const PvhAcpiTables& t) {
  Table xsdt = TableAt(t, Read(t.rsdp.bytes, 24, 8));
  EXPECT_EQ(xsdt.signature, "XSDT");
  std::vector<uint64_t> entries;
  for (size_t e = 36; e < xsdt.length; e += 8)
    entries.push_back(Read(t.tables.bytes, xsdt.offset + e, 8));
  return entries;
}

TEST(PvhAcpiTables, RsdpIsValidAndPointsAtTheRootTables) {
  auto t = BuildPvhAcpiTables({});
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto& r = t->rsdp.bytes;
  ASSERT_EQ(r.size(), 64u);
  EXPECT_EQ(std::string(r.begin(), r.begin() + 8), "RSD PTR ");
  EXPECT_EQ(Sum(r, 0, 20), 0) << "ACPI 1.0 checksum";
  EXPECT_EQ(Sum(r, 0, 36), 0) << "extended checksum";
  EXPECT_EQ(r[15], 2) << "revision";
  EXPECT_EQ(Read(r, 20, 4), 36u) << "length";
  EXPECT_EQ(TableAt(*t, Read(r, 16, 4)).signature, "RSDT");
  EXPECT_EQ(TableAt(*t, Read(r, 24, 8)).signature, "XSDT");
}

TEST(PvhAcpiTables, PlacedWhereLibxlPutsThem) {
  auto t = BuildPvhAcpiTables({});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->info.guest_address, 0xfc000000u);
  EXPECT_EQ(t->info.bytes.size(), 4096u);
  EXPECT_EQ(t->tables.guest_address, 0xfc001000u);
  ASSERT_FALSE(t->tables.bytes.empty());
  EXPECT_EQ(t->tables.bytes.size() % 4096, 0u);
  EXPECT_EQ(t->rsdp.guest_address, t->tables.guest_address + t->tables.bytes.size());

  PvhAcpiConfig old_linux;
  old_linux.rsdp_below_1mib = true;
  EXPECT_EQ(BuildPvhAcpiTables(old_linux)->rsdp.guest_address, 0xfffc0u);
}

TEST(PvhAcpiTables, XsdtListsFadtThenMadt) {
  auto t = BuildPvhAcpiTables({.vcpus = 2});
  ASSERT_TRUE(t.ok());
  auto entries = XsdtEntries(*t);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(TableAt(*t, entries[0]).signature, "FACP");
  EXPECT_EQ(TableAt(*t, entries[1]).signature, "APIC");

  Table rsdt = TableAt(*t, Read(t->rsdp.bytes, 16, 4));
  ASSERT_EQ(rsdt.length, 36u + 2 * 4);
  Table fadt1 = TableAt(*t, Read(t->tables.bytes, rsdt.offset + 36, 4));
  EXPECT_EQ(fadt1.signature, "FACP");
  EXPECT_EQ(fadt1.length, 116u) << "the RSDT's FADT is the ACPI 1.0 one";
  EXPECT_EQ(Read(t->tables.bytes, rsdt.offset + 40, 4), entries[1]);
}

TEST(PvhAcpiTables, FadtIsRevisionFiveWithoutLegacyDevices) {
  auto t = BuildPvhAcpiTables({});
  ASSERT_TRUE(t.ok());
  Table fadt = TableAt(*t, XsdtEntries(*t).at(0));
  const auto& b = t->tables.bytes;
  EXPECT_EQ(fadt.length, 268u);
  EXPECT_EQ(b[fadt.offset + 8], 5) << "revision";
  EXPECT_EQ(Read(b, fadt.offset + 76, 4), 0u) << "no PM timer";
  EXPECT_EQ(Read(b, fadt.offset + 109, 2), 0x24u) << "no VGA, no CMOS RTC";
  uint32_t flags = static_cast<uint32_t>(Read(b, fadt.offset + 112, 4));
  EXPECT_EQ(flags & 0x30, 0x30u) << "no fixed power and sleep buttons";
  EXPECT_EQ(flags & (1u << 20), 0u) << "libacpi does not mark it hardware-reduced";

  Table dsdt = TableAt(*t, Read(b, fadt.offset + 140, 8));
  EXPECT_EQ(dsdt.signature, "DSDT");
  EXPECT_EQ(Read(b, fadt.offset + 40, 4), Read(b, fadt.offset + 140, 8));
  uint64_t facs = Read(b, fadt.offset + 132, 8);
  EXPECT_EQ(facs % 64, 0u) << "FACS alignment";
  size_t facs_at = facs - t->tables.guest_address;
  EXPECT_EQ(std::string(b.begin() + facs_at, b.begin() + facs_at + 4), "FACS");
  EXPECT_EQ(Read(b, facs_at + 4, 4), 64u);
  EXPECT_EQ(Read(b, fadt.offset + 36, 4), facs);
}

TEST(PvhAcpiTables, MadtHasOneLocalApicPerVcpu) {
  PvhAcpiConfig config;
  config.vcpus = 4;
  config.vcpu_online = 0b1011;  // vcpu 2 offline at boot
  auto t = BuildPvhAcpiTables(config);
  ASSERT_TRUE(t.ok());
  Table madt = TableAt(*t, XsdtEntries(*t).at(1));
  const auto& b = t->tables.bytes;
  ASSERT_EQ(madt.length, 44u + 4 * 8);
  EXPECT_EQ(Read(b, madt.offset + 36, 4), 0xfee00000u) << "local APIC address";
  for (uint32_t v = 0; v < 4; ++v) {
    size_t e = madt.offset + 44 + 8 * v;
    EXPECT_EQ(b[e], 0) << "type: processor local APIC";
    EXPECT_EQ(b[e + 1], 8) << "length";
    EXPECT_EQ(b[e + 2], v) << "ACPI processor id";
    EXPECT_EQ(b[e + 3], 2 * v) << "APIC id";
    EXPECT_EQ(Read(b, e + 4, 4), v == 2 ? 0u : 1u) << "enabled flag of vcpu " << v;
  }
  // libacpi's info page tells the DSDT where the MADT's checksum and entries are.
  EXPECT_EQ(Read(t->info.bytes, 2, 2), 4u);
  EXPECT_EQ(Read(t->info.bytes, 12, 4), t->tables.guest_address + madt.offset + 9);
  EXPECT_EQ(Read(t->info.bytes, 16, 4), t->tables.guest_address + madt.offset + 44);
}

TEST(PvhAcpiTables, OneVcpuWithoutApicHasNoMadt) {
  PvhAcpiConfig config;
  config.apic = false;
  auto t = BuildPvhAcpiTables(config);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(XsdtEntries(*t).size(), 1u);
  EXPECT_EQ(XsdtEntries(*BuildPvhAcpiTables({})).size(), 2u) << "apic (the default) adds it";
}

TEST(PvhAcpiTables, MostVcpusFitAndMoreAreRefused) {
  auto t = BuildPvhAcpiTables({.vcpus = kPvhAcpiMaxVcpus});
  ASSERT_TRUE(t.ok());
  Table madt = TableAt(*t, XsdtEntries(*t).at(1));
  EXPECT_EQ(t->tables.bytes[madt.offset + 44 + 8 * 127 + 3], 254);
  auto too_many = BuildPvhAcpiTables({.vcpus = kPvhAcpiMaxVcpus + 1});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), EINVAL);
  EXPECT_EQ(too_many.status().message(), "ACPI tables for 129 vcpus: 1 to 128 supported");
  EXPECT_EQ(BuildPvhAcpiTables({.vcpus = 0}).status().code(), EINVAL);
}

}  // namespace
}  // namespace txend::toolstack
