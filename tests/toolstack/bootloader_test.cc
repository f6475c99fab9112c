// The PV bootloader as xend ran it: pygrub from xen-utils-4.17 on real disk
// images made by the test, and hostile bootloaders and disks.
#include "toolstack/bootloader/bootloader.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/guest_disk.h"
#include "toolstack/bootloader/pty_process.h"

namespace txend::toolstack {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// A PV config booted by `bootloader` from `disk` (file:), with `args` for it.
DomainConfig PvConfig(const std::string& disk, std::optional<std::string> bootloader,
                      std::string args = "-q") {
  DomainConfig c;
  c.name = "guest";
  c.memory_mb = 64;
  c.bootloader = std::move(bootloader);
  c.bootloader_args = std::move(args);
  VbdConfig vbd;
  vbd.uname = "file:" + disk;
  vbd.dev = "xvda";
  vbd.mode = "w";
  vbd.bootable = true;
  c.vbds.push_back(vbd);
  return c;
}

TEST(SplitShellWords, AsPythonShlexSplit) {
  auto words = [](std::string_view text) { return SplitShellWords(text).value(); };
  using W = std::vector<std::string>;
  EXPECT_EQ(words("-q"), W({"-q"}));
  EXPECT_EQ(words("  --entry=xvda1:/boot/vmlinuz,/boot/initrd.img  -q "),
            W({"--entry=xvda1:/boot/vmlinuz,/boot/initrd.img", "-q"}));
  EXPECT_EQ(words("--args='console=hvc0 quiet' -q"), W({"--args=console=hvc0 quiet", "-q"}));
  EXPECT_EQ(words(R"(a\ b "c \"d\" \x" 'e\f')"), W({"a b", "c \"d\" \\x", "e\\f"}));
  EXPECT_EQ(words("''"), W({""}));
  EXPECT_EQ(words(""), W{});
  EXPECT_EQ(SplitShellWords("'open").status().message(), "bootloader_args: no closing quotation");
  EXPECT_EQ(SplitShellWords("end\\").status().message(), "bootloader_args: no escaped character");
}

TEST(BootloaderProgram, PygrubByNameOrByAPathThatIsNotHere) {
  DomainConfig c;
  auto program = [&](std::optional<std::string> named) {
    c.bootloader = std::move(named);
    return BootloaderProgram(c, "/opt/pygrub");
  };
  EXPECT_EQ(program(""), "/opt/pygrub") << "libvirt's (bootloader): xend's default";
  EXPECT_EQ(program("pygrub"), "/opt/pygrub");
  EXPECT_EQ(program("/usr/lib/xen/bin/pygrub"), "/opt/pygrub") << "Xen's own path, absent here";
  EXPECT_EQ(program("/no/such/dir/pygrub"), "/opt/pygrub");
  EXPECT_EQ(program("/usr/lib/xen-4.17/bin/pygrub"), "/usr/lib/xen-4.17/bin/pygrub")
      << "one that exists is run as named";
  EXPECT_EQ(program("/usr/bin/pypxeboot"), "/usr/bin/pypxeboot");
}

TEST(BootDiskPath, FirstBootableRawDisk) {
  DomainConfig c = PvConfig("/img", "");
  EXPECT_EQ(BootDiskPath(c).value(), "/img");
  c.vbds[0].uname = "phy:vg0/root";
  EXPECT_EQ(BootDiskPath(c).value(), "/dev/vg0/root");
  c.vbds[0].uname = "tap:aio:/srv/a.img";
  EXPECT_EQ(BootDiskPath(c).value(), "/srv/a.img");
  c.vbds[0].uname = "tap2:tapdisk:aio:/srv/b.img";
  EXPECT_EQ(BootDiskPath(c).value(), "/srv/b.img");
  c.vbds[0].uname = "tap:qcow2:/srv/c.qcow2";
  EXPECT_EQ(BootDiskPath(c).status().message(),
            "disk xvda (tap:qcow2:/srv/c.qcow2) is not a raw image: a bootloader reads raw "
            "images and devices only");
  c.vbds[0].bootable = false;
  EXPECT_EQ(BootDiskPath(c).status().message(), "the domain has no bootable disk");
}

TEST(BootloaderOutput, XendsSxpReport) {
  auto image = ParseBootloaderOutput(
      "linux (kernel '/b/boot_kernel.x')(ramdisk '/b/boot_ramdisk.y')(args 'root=/dev/xvda1 ro')");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(*image, (BootImage{"/b/boot_kernel.x", "/b/boot_ramdisk.y", "root=/dev/xvda1 ro"}));
  EXPECT_EQ(ParseBootloaderOutput("linux (kernel /k)").value(), (BootImage{"/k", "", ""}));
  EXPECT_EQ(ParseBootloaderOutput("").status().message(), "it reported nothing");
  EXPECT_EQ(ParseBootloaderOutput("linux (ramdisk /r)").status().message(),
            "it reported no kernel");
  EXPECT_EQ(ParseBootloaderOutput("linux (kernel (a b))").status().message(),
            "(kernel ...) is not one string");
  EXPECT_NE(ParseBootloaderOutput("linux (kernel '/k").status().message().find("not SXP"),
            std::string::npos);
  EXPECT_EQ(ParseBootloaderOutput("\x01\x02garbage").status().code(), EINVAL);
}

TEST(PtyProcess, LastConsoleLineDropsEscapes) {
  EXPECT_EQ(LastConsoleLine("Using x\r\n\x1b[1;1HTraceback\r\nRuntimeError: no kernel\r\n\r\n"),
            "RuntimeError: no kernel");
  EXPECT_EQ(LastConsoleLine("\x1b[?1l\x1b>"), "");
}

class BootloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.work_dir = dir_ / "boot";
    options_.timeout = std::chrono::seconds(20);
  }
  std::string Disk(const testing::GuestDisk& disk, const std::string& name = "disk.img") {
    auto path = testing::WriteGuestDisk(disk, dir_ / name);
    EXPECT_TRUE(path.ok()) << path.status().ToString();
    return path.value_or("");
  }
  // A shell script standing in for a bootloader.
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = testing::WriteFile(dir_ / name, Bytes("#!/bin/sh\n" + body + "\n"));
    chmod(path.c_str(), 0755);
    return path;
  }
  // The --output=PATH argument of a script's command line.
  static constexpr char kOutput[] =
      "for a in \"$@\"; do case $a in --output=*) out=${a#--output=};; esac; done\n";
  bool WorkDirEmpty() {
    std::error_code ec;
    return !fs::exists(options_.work_dir) || fs::is_empty(options_.work_dir, ec);
  }
  TempDir dir_;
  BootloaderOptions options_;
};

TEST_F(BootloaderTest, PygrubExtractsTheDefaultEntryFromAPartitionedDisk) {
  std::string disk = Disk(testing::StandardGuestDisk());
  std::string dir;
  {
    auto booted = RunBootloader(PvConfig(disk, "/usr/bin/pygrub"), options_);
    ASSERT_TRUE(booted.ok()) << booted.status().ToString();
    const BootImage& image = booted->image();
    EXPECT_EQ(image.args, "root=/dev/xvda1 ro quiet");
    dir = booted->dir();
    EXPECT_TRUE(image.kernel.starts_with(dir + "/")) << image.kernel;
    std::vector<uint8_t> kernel = testing::GuestKernelBytes();
    EXPECT_EQ(testing::ReadFile(image.kernel), std::string(kernel.begin(), kernel.end()));
    EXPECT_EQ(testing::ReadFile(image.ramdisk), "an initial ramdisk\n");
    struct stat st;
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << "a private directory";
  }
  EXPECT_FALSE(fs::exists(dir)) << "its files go with it";
  EXPECT_TRUE(WorkDirEmpty());
}

TEST_F(BootloaderTest, PygrubHonoursEntryKernelAndWholeDiskFilesystems) {
  testing::GuestDisk plain = testing::StandardGuestDisk();
  plain.partitioned = false;
  std::string disk = Disk(plain);
  auto single = RunBootloader(PvConfig(disk, "pygrub", "-q --entry=1"), options_);
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_EQ(single->image().args, "root=/dev/xvda1 single");
  EXPECT_EQ(single->image().ramdisk, "");

  // kernel= names a file inside the image; pygrub then reads no menu.
  DomainConfig c = PvConfig(disk, "pygrub");
  c.image.kernel = "/boot/notakernel";
  c.image.args = "console=hvc0";
  auto direct = RunBootloader(c, options_);
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_EQ(testing::ReadFile(direct->image().kernel), "just text\n");
  EXPECT_EQ(direct->image().args, "console=hvc0");
}

TEST_F(BootloaderTest, InteractivePygrubBootsTheDefaultWhenItsMenuTimesOut) {
  // No -q (libvirt sends no bootloader_args): pygrub draws its curses menu on
  // the pseudo-terminal and boots the default entry after the menu's timeout.
  std::string disk = Disk(testing::StandardGuestDisk(1));
  auto booted = RunBootloader(PvConfig(disk, "", ""), options_);
  ASSERT_TRUE(booted.ok()) << booted.status().ToString();
  EXPECT_EQ(booted->image().args, "root=/dev/xvda1 ro quiet");
}

TEST_F(BootloaderTest, PygrubErrorsNameIt) {
  testing::GuestDisk empty;
  empty.files["/etc/hostname"] = Bytes("nothing to boot\n");
  std::string disk = Disk(empty);
  auto r = RunBootloader(PvConfig(disk, "pygrub"), options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), EIO);
  EXPECT_TRUE(r.status().message().starts_with("bootloader " + std::string(kDefaultPygrub) +
                                               " failed (exit status 1)"))
      << r.status().message();
  EXPECT_NE(r.status().message().find("Unable to find partition containing kernel"),
            std::string::npos)
      << r.status().message();
  EXPECT_TRUE(WorkDirEmpty()) << "nothing left behind";
}

TEST_F(BootloaderTest, MissingOrNotExecutableBootloader) {
  std::string disk = Disk(testing::StandardGuestDisk());
  auto missing = RunBootloader(PvConfig(disk, "/usr/bin/pypxeboot"), options_);
  EXPECT_EQ(missing.status().message(), "bootloader /usr/bin/pypxeboot: No such file or directory");
  std::string plain = testing::WriteFile(dir_ / "plain", Bytes("#!/bin/sh\n"));
  chmod(plain.c_str(), 0644);
  EXPECT_EQ(RunBootloader(PvConfig(disk, plain), options_).status().message(),
            "bootloader " + plain + " is not executable");
  EXPECT_EQ(RunBootloader(PvConfig(disk, dir_.path()), options_).status().message(),
            "bootloader " + dir_.path() + " is not executable");
  std::string bad_interpreter = Script("badint", "");
  testing::WriteFile(bad_interpreter, Bytes("#!/no/such/interpreter\n"));
  EXPECT_EQ(RunBootloader(PvConfig(disk, bad_interpreter), options_).status().message(),
            "bootloader " + bad_interpreter + ": cannot run: No such file or directory");
  EXPECT_TRUE(WorkDirEmpty());
}

TEST_F(BootloaderTest, DisksItCannotRead) {
  std::string pygrub = kDefaultPygrub;
  auto message = [&](const std::string& disk) {
    return RunBootloader(PvConfig(disk, "pygrub"), options_).status().message();
  };
  EXPECT_EQ(message(dir_ / "absent.img"), "bootloader " + pygrub + ": disk " + dir_ / "absent.img" +
                                              ": No such file or directory");
  std::string fifo = dir_ / "fifo";
  mkfifo(fifo.c_str(), 0600);
  EXPECT_EQ(message(fifo),
            "bootloader " + pygrub + ": disk " + fifo + " is not a disk image or a block device");
  EXPECT_EQ(message("/dev/zero"),
            "bootloader " + pygrub + ": disk /dev/zero is not a disk image or a block device");
  DomainConfig none = PvConfig("/x", "pygrub");
  none.vbds.clear();
  EXPECT_EQ(RunBootloader(none, options_).status().message(),
            "bootloader " + pygrub + ": the domain has no bootable disk");
  EXPECT_TRUE(WorkDirEmpty());
}

TEST_F(BootloaderTest, XendsCommandLine) {
  std::string disk = testing::WriteFile(dir_ / "raw.img", Bytes("raw"));
  std::string argv_file = dir_ / "argv";
  std::string bl = Script("pypxeboot", std::string(kOutput) + "printf '%s\\n' \"$@\" > " +
                                           argv_file + "\necho \"linux (kernel /k)\" > \"$out\"");
  DomainConfig c = PvConfig(disk, bl, "mac=00:16:3e:00:00:01 'two words'");
  c.image.kernel = "/boot/vmlinuz";
  c.image.ramdisk = "/boot/initrd";
  c.image.args = "root=/dev/xvda1";
  auto booted = RunBootloader(c, options_);
  ASSERT_TRUE(booted.ok()) << booted.status().ToString();
  EXPECT_EQ(booted->image().kernel, "/k");
  std::string report = booted->dir() + "/report";
  EXPECT_EQ(testing::ReadFile(argv_file),
            "--kernel=/boot/vmlinuz\n--ramdisk=/boot/initrd\n--args=root=/dev/xvda1\n--output=" +
                report + "\nmac=00:16:3e:00:00:01\ntwo words\n" + disk + "\n")
      << "no --output-directory for a bootloader other than pygrub";
}

TEST_F(BootloaderTest, HostileBootloadersAreStoppedWithAClearError) {
  std::string disk = testing::WriteFile(dir_ / "raw.img", Bytes("raw"));
  options_.timeout = std::chrono::milliseconds(1500);
  struct Case {
    std::string body;
    int code;
    std::string says;
  };
  std::string pidfile = dir_ / "child.pid";
  std::vector<Case> cases = {
      {"echo 'Please choose an entry'; sleep 1000 & echo $! > " + pidfile + "; wait", ETIMEDOUT,
       "did not finish within 1.5 s and was stopped (a menu waiting for a choice? bootloader_args "
       "-q boots the default entry): Please choose an entry"},
      {std::string(kOutput) + "echo 'linux (kernel /k)((' > \"$out\"", EINVAL,
       "gave no kernel: its report is not SXP"},
      {std::string(kOutput) + "printf '\\001\\002\\003' > \"$out\"", EINVAL,
       "gave no kernel: its report is not SXP"},
      {std::string(kOutput) + "echo '(ramdisk /r)' > \"$out\"", EINVAL,
       "gave no kernel: it reported no kernel"},
      {"exit 0", EINVAL, "gave no kernel: it reported nothing"},
      {std::string(kOutput) + "yes linux > \"$out\"", E2BIG, "reported more than 65536 bytes"},
      {"exec head -c 5000000 /dev/zero > $TMPDIR/huge", EFBIG,
       "wrote a file larger than 1048576 bytes"},
      {"echo 'Error: no such entry' >&2; exit 3", EIO,
       "failed (exit status 3): Error: no such entry"},
      {"kill -SEGV $$", EIO, "was killed by signal 11"},
  };
  options_.max_file_bytes = 1 << 20;
  for (const Case& c : cases) {
    std::string bl = Script("bl", c.body);
    auto start = std::chrono::steady_clock::now();
    auto r = RunBootloader(PvConfig(disk, bl, ""), options_);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), c.code) << c.body << ": " << r.status().message();
    EXPECT_NE(r.status().message().find("bootloader " + bl + " " + c.says), std::string::npos)
        << c.body << ": " << r.status().message();
    EXPECT_LT(took, std::chrono::seconds(10)) << c.body;
    EXPECT_TRUE(WorkDirEmpty()) << c.body;
  }
  // The hung bootloader's background child went with it (gone, or a zombie
  // waiting for a reaper).
  pid_t child = std::stoi(testing::ReadFile(pidfile));
  EXPECT_TRUE(testing::Eventually(
      std::chrono::seconds(5),
      [&] {
        std::string stat = testing::ReadFile("/proc/" + std::to_string(child) + "/stat");
        size_t paren = stat.rfind(')');
        return stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z");
      }))
      << "pid " << child << " survived";
}

}  // namespace
}  // namespace txend::toolstack
