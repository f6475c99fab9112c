#include "tests/support/daemon_process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>

#include "tests/support/sockets.h"
#include "toolstack/xs/connection.h"

extern char** environ;

namespace txend::testing {

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/txend-test-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  path_ = made ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

bool SocketAccepts(const std::string& path) { return UniqueFd(DialUnix(path)).valid(); }

Result<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(std::vector<std::string> argv,
                                                            const std::string& socket_path,
                                                            std::vector<std::string> env,
                                                            std::chrono::milliseconds timeout) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::Error(errno, "cannot fork for " + argv[0]);
  if (pid == 0) {
    // Die with the test, even when it is killed: no daemon outlives its test.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  std::unique_ptr<DaemonProcess> proc(new DaemonProcess(pid));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!SocketAccepts(socket_path)) {
    if (!proc->Running()) return Status::Error(ECHILD, argv[0] + " exited during start-up");
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Error(ETIMEDOUT, argv[0] + " did not listen on " + socket_path);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return proc;
}

bool DaemonProcess::Running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

int DaemonProcess::Stop(int signal) {
  if (reaped_) return 0;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
  return status;
}

DaemonProcess::~DaemonProcess() { Stop(SIGKILL); }

std::string BinPath(const std::string& program) {
  return std::string(TXEND_BIN_DIR) + "/" + program;
}

Result<std::unique_ptr<DaemonProcess>> StartXsd(const std::string& socket_path,
                                                std::vector<std::string> extra_args) {
  std::vector<std::string> argv{BinPath("xsd"), "--no-fork", "--socket", socket_path};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return DaemonProcess::Start(argv, socket_path);
}

uint64_t XsdStat(const std::string& socket, const std::string& name) {
  auto c = xs::Connection::Open(socket);
  return c.ok() ? XsdStat(**c, name) : ~0ull;
}

uint64_t XsdStat(xs::Connection& conn, const std::string& name) {
  auto stats = conn.Control({"stats"});
  if (!stats.ok()) return ~0ull;
  std::string text = "\n" + *stats;
  size_t pos = text.find("\n" + name + " ");
  if (pos == std::string::npos) return ~0ull;
  return std::stoull(text.substr(pos + name.size() + 2));
}

CommandResult RunCommand(const std::string& command, bool merge_stderr) {
  CommandResult result;
  std::string cmd = merge_stderr ? command + " 2>&1" : command;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.out.append(buf, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace txend::testing
