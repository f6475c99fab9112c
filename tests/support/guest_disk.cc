#include "tests/support/guest_disk.h"

#include <filesystem>
#include <fstream>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_kernel.h"
#include "tests/support/files.h"

namespace txend::testing {
namespace {

constexpr uint64_t kPartitionStart = 2048;  // sectors: 1 MiB, as fdisk aligns
constexpr uint64_t kSector = 512;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

void PutLe32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// An MBR with one active Linux partition from kPartitionStart for `sectors`.
std::vector<uint8_t> Mbr(uint64_t sectors) {
  std::vector<uint8_t> mbr(kSector, 0);
  mbr[446] = 0x80;  // active
  mbr[450] = 0x83;  // Linux
  PutLe32(mbr, 454, static_cast<uint32_t>(kPartitionStart));
  PutLe32(mbr, 458, static_cast<uint32_t>(sectors));
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

}  // namespace

std::vector<uint8_t> GuestKernelBytes() {
  std::vector<uint8_t> kernel = Elf64Header();
  for (int i = 0; i < 4096; ++i) kernel.push_back(static_cast<uint8_t>(i * 7));
  return kernel;
}

GuestDisk StandardGuestDisk(int timeout) {
  GuestDisk disk;
  disk.files["/boot/vmlinuz-guest"] = GuestKernelBytes();
  disk.files["/boot/initrd.img-guest"] = Bytes("an initial ramdisk\n");
  disk.files["/boot/notakernel"] = Bytes("just text\n");
  disk.files["/boot/grub/menu.lst"] = Bytes(
      "default 0\ntimeout " + std::to_string(timeout) +
      "\n\ntitle Guest Linux\n  root (hd0,0)\n"
      "  kernel /boot/vmlinuz-guest root=/dev/xvda1 ro quiet\n"
      "  initrd /boot/initrd.img-guest\n\n"
      "title Single user\n  root (hd0,0)\n  kernel /boot/vmlinuz-guest root=/dev/xvda1 single\n\n"
      "title Broken\n  root (hd0,0)\n  kernel /boot/notakernel\n");
  return disk;
}

Result<std::string> WriteGuestDisk(const GuestDisk& disk, const std::string& path) {
  namespace fs = std::filesystem;
  std::string tree = path + ".tree", fs_image = path + ".fs";
  std::error_code ec;
  fs::remove_all(tree, ec);
  for (const auto& [name, bytes] : disk.files) {
    fs::path file = fs::path(tree) / fs::path(name).relative_path();
    fs::create_directories(file.parent_path());
    WriteFile(file.string(), bytes);
  }
  std::string target = disk.partitioned ? fs_image : path;
  CommandResult made = RunCommand("/usr/sbin/mkfs.ext2 -q -F -d '" + tree + "' '" + target + "' " +
                                      std::to_string(disk.size_mib) + "M",
                                  true);
  fs::remove_all(tree, ec);
  if (made.exit_code != 0)
    return Status::Error(EIO,
                         "mkfs.ext2 failed (" + std::to_string(made.exit_code) + "): " + made.out);
  if (!disk.partitioned) return path;
  std::string filesystem = ReadFile(fs_image);
  fs::remove(fs_image, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<uint8_t> mbr = Mbr(filesystem.size() / kSector);
  out.write(reinterpret_cast<const char*>(mbr.data()), static_cast<std::streamsize>(mbr.size()));
  std::string gap((kPartitionStart - 1) * kSector, '\0');
  out << gap << filesystem;
  if (!out) return Status::Error(EIO, "cannot write " + path);
  return path;
}

}  // namespace txend::testing
