#include "tests/support/headless_chromium.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <vector>

#include "base/numbers.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"

namespace txend::testing {
namespace {

// Runs in the forked child: its own process group, dies with the test, output to `log`.
[[noreturn]] void ExecChromium(pid_t parent, std::vector<std::string> argv,
                               const std::string& log) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// The port and browser path in DevToolsActivePort ("<port>\n/devtools/browser/<id>\n").
bool ReadActivePort(const std::string& file, uint16_t& port, std::string& path) {
  std::istringstream in(ReadFile(file));
  std::string port_line;
  if (!std::getline(in, port_line) || !std::getline(in, path)) return false;
  auto parsed = ParseInteger<uint16_t>(port_line);
  if (!parsed.ok() || *parsed == 0 || !path.starts_with("/devtools/browser/")) return false;
  port = *parsed;
  return true;
}

// True when some live process names `text` on its command line.
bool AnyProcessNames(const std::string& text) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string cmdline = ReadFile(entry.path() / "cmdline");
    if (cmdline.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::string HeadlessChromium::Program() {
  const char* path = getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/chromium";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

Result<std::unique_ptr<HeadlessChromium>> HeadlessChromium::Start(
    std::chrono::milliseconds timeout) {
  std::string program = Program();
  if (program.empty()) return Status::Error(ENOENT, "chromium is not installed");
  std::unique_ptr<HeadlessChromium> browser(new HeadlessChromium());
  std::string profile = browser->profile_ / "profile";
  std::vector<std::string> argv = {program,
                                   "--headless=new",
                                   "--no-sandbox",
                                   "--remote-debugging-port=0",
                                   "--user-data-dir=" + profile,
                                   "--no-first-run",
                                   "--disable-gpu",
                                   "--window-size=1100,700",
                                   "about:blank"};
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::Error(errno, "cannot fork for chromium");
  if (pid == 0) ExecChromium(parent, argv, browser->profile_ / "chromium.log");
  setpgid(pid, pid);  // also here, so the group exists before either side goes on
  browser->pid_ = pid;
  std::string active = profile + "/DevToolsActivePort";
  bool up = Eventually(timeout, [&] {
    return ReadActivePort(active, browser->port_, browser->browser_path_) ||
           waitpid(pid, nullptr, WNOHANG) == pid;
  });
  if (!up || browser->port_ == 0)
    return Status::Error(ETIMEDOUT, "chromium did not open its DevTools port: " + browser->Log());
  return browser;
}

bool HeadlessChromium::Kill() {
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string profile = profile_ / "profile";
  return Eventually(
      std::chrono::seconds(10), [&] { return !AnyProcessNames(profile); },
      std::chrono::milliseconds(50));
}

HeadlessChromium::~HeadlessChromium() { Kill(); }

std::string HeadlessChromium::Log() const { return ReadFile(profile_ / "chromium.log"); }

}  // namespace txend::testing
