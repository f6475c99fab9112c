// Files a request or an operator names: opened without blocking, regular files only,
// bounded in size; replaced whole.
#include "base/host_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/files.h"

namespace txend {
namespace {

constexpr uint64_t kLimit = 1ull << 30;

using txend::testing::ReadFile;
using txend::testing::TempDir;
using txend::testing::WriteFile;

TEST(HostFiles, ReadsRegularFilesAndRefusesEverythingElseWithoutBlocking) {
  TempDir dir;
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto from_fifo = OpenRegularFileToRead(fifo, "kernel", kLimit);
  EXPECT_EQ(from_fifo.status().code(), EINVAL);
  EXPECT_EQ(from_fifo.status().message(), "kernel " + fifo + ": not a regular file (a FIFO)");
  EXPECT_EQ(OpenRegularFileToRead("/dev/zero", "ramdisk", kLimit).status().message(),
            "ramdisk /dev/zero: not a regular file (a character device)");
  EXPECT_EQ(OpenRegularFileToRead(dir.path(), "kernel", 1).status().code(), EISDIR);
  EXPECT_EQ(OpenRegularFileToRead(dir / "missing", "kernel", 1).status().code(), ENOENT);
  EXPECT_EQ(OpenRegularFileToRead("", "kernel", 1).status().message(), "no kernel path given");

  const std::string small = WriteFile(dir / "small", {1, 2, 3});
  auto fd = OpenRegularFileToRead(small, "kernel", 3);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK, 0);
  char buf[4];
  EXPECT_EQ(::read(fd->get(), buf, sizeof buf), 3);
  auto big = OpenRegularFileToRead(small, "kernel", 2);
  EXPECT_EQ(big.status().code(), EFBIG);
  EXPECT_NE(big.status().message().find("larger than"), std::string::npos);
}

// Read to the end whatever fstat says of the size; a read that fails is an error value, where
// an ifstream read through istreambuf_iterator threw (a /proc entry whose process exited
// between the open and the read: ESRCH; /proc/self/mem at address 0: EIO, every time).
TEST(HostFiles, ReadsWholeFilesAndTurnsFailedReadsIntoErrors) {
  TempDir dir;
  EXPECT_EQ(*ReadRegularFile(WriteFile(dir / "three", {'a', 'b', 'c'}), "state", 3), "abc");
  auto cmdline = ReadRegularFile("/proc/self/cmdline", "command line", 1 << 20);
  ASSERT_TRUE(cmdline.ok()) << cmdline.status().ToString();
  EXPECT_NE(cmdline->find("base_test"), std::string::npos);  // fstat says 0 bytes
  EXPECT_EQ(ReadRegularFile("/proc/self/maps", "maps", 10).status().code(), EFBIG);
  auto failed = ReadRegularFile("/proc/self/mem", "memory", 1 << 20);
  EXPECT_EQ(failed.status().code(), EIO);
  EXPECT_EQ(failed.status().message(), "memory /proc/self/mem: " + std::string(strerror(EIO)));
  EXPECT_EQ(ReadRegularFile(dir.path(), "state", 1).status().code(), EISDIR);
  EXPECT_EQ(ReadFile("/proc/self/mem"), "");  // the tests' own helper does not throw either
}

// A log of any size gives its last bytes, read at its end: never refused for its size, never
// read whole.
TEST(HostFiles, ReadsTheTailOfAFileOfAnySize) {
  TempDir dir;
  const std::string log = dir / "log";
  {
    UniqueFd fd(::open(log.c_str(), O_WRONLY | O_CREAT, 0600));
    ASSERT_EQ(::ftruncate(fd.get(), off_t{64} << 30), 0);  // sparse: 64 GiB, no disk used
    ASSERT_EQ(::pwrite(fd.get(), "last words\n", 11, off_t{64} << 30), 11);
  }
  EXPECT_EQ(*ReadRegularFileTail(log, "log", 11), "last words\n");
  EXPECT_EQ(*ReadRegularFileTail(log, "log", 13), std::string(2, '\0') + "last words\n");
  EXPECT_EQ(*ReadRegularFileTail(WriteFile(dir / "short", {'a', 'b'}), "log", 400), "ab");
  EXPECT_EQ(*ReadRegularFileTail(WriteFile(dir / "empty", {}), "log", 400), "");
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadRegularFileTail(fifo, "log", 400).status().code(), EINVAL);
  EXPECT_EQ(ReadRegularFileTail(dir / "missing", "log", 400).status().code(), ENOENT);
}

TEST(HostFiles, WritesOnlyRegularFilesAndLeavesOthersUntouched) {
  TempDir dir;
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(CreateRegularFileToWrite(fifo, "save file").status().message(),
            "save file " + fifo + ": not a regular file (a FIFO)");
  // With a reader waiting on the FIFO, opening it would succeed: still refused.
  UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
  ASSERT_TRUE(reader.valid());
  EXPECT_EQ(CreateRegularFileToWrite(fifo, "save file").status().code(), EINVAL);
  EXPECT_EQ(CreateRegularFileToWrite("/dev/null", "core file").status().message(),
            "core file /dev/null: not a regular file (a character device)");
  EXPECT_EQ(CreateRegularFileToWrite(dir.path(), "save file").status().code(), EISDIR);
  EXPECT_EQ(CreateRegularFileToWrite(dir / "no/such/dir", "save file").status().code(), ENOENT);

  const std::string old = WriteFile(dir / "old", {'o', 'l', 'd'});
  auto fd = CreateRegularFileToWrite(old, "save file");
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(ReadFile(old), "");  // truncated
  EXPECT_EQ(::write(fd->get(), "new", 3), 3);
  EXPECT_EQ(ReadFile(old), "new");
  auto fresh = CreateRegularFileToWrite(dir / "fresh", "save file");
  ASSERT_TRUE(fresh.ok());
  struct stat st;
  ASSERT_EQ(::stat((dir / "fresh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace txend
