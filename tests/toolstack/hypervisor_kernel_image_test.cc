// Recognising kernel files before a domain build, with real files in a temp dir.
#include <unistd.h>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/fake_kernel.h"
#include "tests/support/files.h"
#include "tests/toolstack/hypervisor_test_util.h"
#include "toolstack/hypervisor/kernel_image.h"

namespace txend::toolstack {
namespace {

using testing::Elf64Header;
using testing::TempDir;
using testing::WriteFile;

TEST(KernelImage, RecognisesElfAndCompressedFormats) {
  auto elf = Elf64Header();
  EXPECT_EQ(*ProbeKernelImage(elf), KernelFormat::kElf64);
  elf[4] = 1;
  elf[18] = 3;
  EXPECT_EQ(*ProbeKernelImage(elf), KernelFormat::kElf32);
  std::vector<uint8_t> bz(kKernelProbeBytes, 0);
  bz[0x202] = 'H', bz[0x203] = 'd', bz[0x204] = 'r', bz[0x205] = 'S';
  EXPECT_EQ(*ProbeKernelImage(bz), KernelFormat::kBzImage);
  EXPECT_EQ(*ProbeKernelImage(std::vector<uint8_t>{0x1f, 0x8b, 8, 0}), KernelFormat::kGzip);
  EXPECT_EQ(*ProbeKernelImage(std::vector<uint8_t>{0xfd, '7', 'z', 'X', 'Z', 0}),
            KernelFormat::kXz);
  EXPECT_EQ(*ProbeKernelImage(std::vector<uint8_t>{0x28, 0xb5, 0x2f, 0xfd}), KernelFormat::kZstd);
  EXPECT_EQ(KernelFormatName(KernelFormat::kBzImage), "bzImage");
}

TEST(KernelImage, RejectsNonKernels) {
  std::vector<uint8_t> text = {'#', '!', '/', 'b', 'i', 'n', '/', 's', 'h'};
  auto r = ProbeKernelImage(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), EINVAL);
  auto arm = Elf64Header();
  arm[18] = 183;  // EM_AARCH64
  EXPECT_EQ(ProbeKernelImage(arm).status().message(), "ELF for machine 183, not x86");
  auto be = Elf64Header();
  be[5] = 2;
  EXPECT_EQ(ProbeKernelImage(be).status().code(), EINVAL);
  EXPECT_EQ(ProbeKernelImage(std::vector<uint8_t>{0x7f, 'E', 'L', 'F'}).status().message(),
            "truncated ELF header");
  EXPECT_FALSE(ProbeKernelImage({}).ok());
}

TEST(KernelImage, ChecksRealFiles) {
  txend::testing::TempDir dir;
  std::string kernel = testing::WriteFakeKernel(dir / "vmlinuz");
  EXPECT_EQ(*CheckKernelFile(kernel), KernelFormat::kElf64);

  auto missing = CheckKernelFile(dir / "nope");
  EXPECT_EQ(missing.status().code(), ENOENT);
  EXPECT_NE(missing.status().message().find(dir / "nope"), std::string::npos);

  EXPECT_EQ(CheckKernelFile(dir.path()).status().code(), EISDIR);

  std::string text = WriteFile(dir / "notes.txt", {'h', 'e', 'l', 'l', 'o'});
  auto bad = CheckKernelFile(text);
  EXPECT_EQ(bad.status().code(), EINVAL);
  EXPECT_NE(bad.status().message().find("not a kernel image"), std::string::npos);

  EXPECT_TRUE(CheckReadableFile(text, "ramdisk").ok());
  EXPECT_EQ(CheckReadableFile("", "ramdisk").code(), EINVAL);
  if (::geteuid() != 0) {  // root reads anything
    ::chmod(kernel.c_str(), 0);
    EXPECT_EQ(CheckKernelFile(kernel).status().code(), EACCES);
  }
}

TEST(HostFiles, KernelChecksRefuseFifosDevicesAndHugeFiles) {
  TempDir dir;
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(CheckKernelFile(fifo).status().code(), EINVAL);
  EXPECT_EQ(CheckReadableFile(fifo, "ramdisk").code(), EINVAL);
  EXPECT_EQ(CheckKernelFile("/dev/zero").status().code(), EINVAL);
  // A kernel header on a sparse file one byte over libxenguest's limit.
  const std::string huge = txend::testing::WriteFakeKernel(dir / "huge");
  ASSERT_EQ(::truncate(huge.c_str(), static_cast<off_t>(kMaxBootFileBytes + 1)), 0);
  EXPECT_EQ(CheckKernelFile(huge).status().code(), EFBIG);
  EXPECT_EQ(CheckReadableFile(huge, "ramdisk").code(), EFBIG);
  ASSERT_EQ(::truncate(huge.c_str(), static_cast<off_t>(kMaxBootFileBytes)), 0);
  EXPECT_EQ(*CheckKernelFile(huge), KernelFormat::kElf64);
}

}  // namespace
}  // namespace txend::toolstack
