#include "toolstack/bootloader/bootloader.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <sys/stat.h>

#include "base/unique_fd.h"
#include "toolstack/bootloader/pty_process.h"

extern char** environ;

namespace txend::toolstack {
namespace {

Result<std::string> MakePrivateDir(const std::string& work_dir, const std::string& name) {
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) return Status::Error(ec.value(), "cannot create " + work_dir + ": " + ec.message());
  ::chmod(work_dir.c_str(), 0700);
  std::string dir = work_dir + "/" + name + ".XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr)
    return Status::Error(errno,
                         "cannot create a directory in " + work_dir + ": " + std::strerror(errno));
  return dir;
}

// xend's: our environment with TERM=vt100 (pygrub's menu); temporary files go
// to the private directory.
std::vector<std::string> Environment(const std::string& dir) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with("TERM=") && !entry.starts_with("TMPDIR=")) env.emplace_back(entry);
  }
  env.push_back("TERM=vt100");
  env.push_back("TMPDIR=" + dir);
  return env;
}

std::string Seconds(std::chrono::milliseconds ms) {
  char text[32];
  snprintf(text, sizeof text, "%g s", static_cast<double>(ms.count()) / 1000);
  return text;
}

// Why a finished run yields no kernel; Ok when it exited 0.
Status CheckOutcome(const std::string& program, const PtyOutcome& out,
                    const BootloaderOptions& options) {
  std::string said = LastConsoleLine(out.console_tail);
  std::string last = said.empty() ? "" : ": " + said;
  if (out.timed_out)
    return Status::Error(ETIMEDOUT, "bootloader " + program + " did not finish within " +
                                        Seconds(options.timeout) +
                                        " and was stopped (a menu waiting for a choice? "
                                        "bootloader_args -q boots the default entry)" +
                                        last);
  if (out.report_overflow)
    return Status::Error(E2BIG, "bootloader " + program + " reported more than " +
                                    std::to_string(options.max_report_bytes) +
                                    " bytes and was stopped");
  if (out.signal == SIGXFSZ)
    return Status::Error(EFBIG, "bootloader " + program + " wrote a file larger than " +
                                    std::to_string(options.max_file_bytes) + " bytes" + last);
  if (out.signal != 0)
    return Status::Error(EIO, "bootloader " + program + " was killed by signal " +
                                  std::to_string(out.signal) + " (" + strsignal(out.signal) + ")" +
                                  last);
  if (out.exit_status != 0)
    return Status::Error(EIO, "bootloader " + program + " failed (exit status " +
                                  std::to_string(out.exit_status) + ")" + last);
  return Status::Ok();
}

}  // namespace

BootedKernel::BootedKernel(BootedKernel&& other) noexcept
    : program_(std::move(other.program_)),
      dir_(std::exchange(other.dir_, "")),
      image_(std::move(other.image_)) {}

BootedKernel& BootedKernel::operator=(BootedKernel&& other) noexcept {
  if (this != &other) {
    BootedKernel gone(std::move(*this));
    program_ = std::move(other.program_);
    dir_ = std::exchange(other.dir_, "");
    image_ = std::move(other.image_);
  }
  return *this;
}

BootedKernel::~BootedKernel() {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Result<BootedKernel> RunBootloader(const DomainConfig& config, const BootloaderOptions& options) {
  TXEND_ASSIGN_OR_RETURN(std::string dir, MakePrivateDir(options.work_dir, config.name));
  BootedKernel booted(BootloaderProgram(config, options.pygrub), dir);  // removed on any failure
  std::string report = dir + "/report";
  if (::mkfifo(report.c_str(), 0600) != 0)
    return Status::Error(errno, "cannot create " + report + ": " + std::strerror(errno));
  // Held open for reading and writing, the FIFO never blocks the bootloader's
  // open(O_WRONLY) nor ends before the bootloader does.
  UniqueFd report_fd(::open(report.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!report_fd)
    return Status::Error(errno, "cannot open " + report + ": " + std::strerror(errno));
  TXEND_ASSIGN_OR_RETURN(BootloaderCommand command,
                         MakeBootloaderCommand(config, options.pygrub, report, dir));
  PtyRun run{command.argv,    Environment(dir),         options.timeout,
             report_fd.get(), options.max_report_bytes, options.max_file_bytes};
  auto outcome = RunOnPty(run);
  if (!outcome.ok())
    return Status::Error(outcome.status().code(), "bootloader " + outcome.status().message());
  TXEND_RETURN_IF_ERROR(CheckOutcome(command.program, *outcome, options));
  auto image = ParseBootloaderOutput(outcome->report);
  if (!image.ok())
    return Status::Error(
        EINVAL, "bootloader " + command.program + " gave no kernel: " + image.status().message());
  booted.set_image(std::move(*image));
  return booted;
}

}  // namespace txend::toolstack
