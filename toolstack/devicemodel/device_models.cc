#include "toolstack/devicemodel/device_models.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>

#include "base/host_files.h"
#include "base/numbers.h"
#include "toolstack/config/block_device_name.h"
#include "toolstack/config/hvm_config.h"
#include "toolstack/devicemodel/qemu_command.h"
#include "toolstack/devicemodel/qmp_client.h"
#include "toolstack/layout/xenstore_layout.h"
#include "toolstack/xs/transaction.h"
#include "wire/wire.h"

extern char** environ;

namespace txend::toolstack {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kStateMagic[] = "TXDMSTATE";
constexpr uint64_t kMaxStateBytes = uint64_t{256} << 20;
constexpr uint64_t kMaxCommandLineBytes = uint64_t{1} << 20;
constexpr uint64_t kMaxPidFileBytes = 64;
constexpr uint64_t kLogTailBytes = 400;  // of a device model's log, quoted in an error
constexpr milliseconds kQmpTimeout{5000};

std::string Seconds(milliseconds t) {
  std::string whole = std::to_string(t.count() / 1000);
  return t.count() % 1000 ? whole + "." + std::to_string(t.count() % 1000 / 100) + " s"
                          : whole + " s";
}

std::string LogPath(const DeviceModelOptions& o, const std::string& name) {
  return o.log_dir + "/qemu-dm-" + name + ".log";
}

// The last lines of a log, for an error message.
std::string LogTail(const std::string& path) {
  auto read = ReadRegularFileTail(path, "log", kLogTailBytes + 1);
  if (!read.ok()) return "(" + read.status().message() + ")";
  std::string& text = *read;
  if (text.size() > kLogTailBytes) text = "..." + text.substr(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (char& c : text)
    if (c == '\n') c = '|';
  return text.empty() ? "(its log " + path + " is empty)" : "(" + path + ": " + text + ")";
}

// A live process: zombies count as gone (init may be slow to reap them).
bool ProcessAlive(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

// A live process whose command line is the device model of `domid` — not
// another process that reused the pid.
bool IsDeviceModelOf(int pid, uint32_t domid) {
  if (!ProcessAlive(pid)) return false;
  // Gone meanwhile (ESRCH), or not readable: not a device model of ours.
  auto args = ReadRegularFile("/proc/" + std::to_string(pid) + "/cmdline", "command line",
                              kMaxCommandLineBytes);
  if (!args.ok()) return false;
  std::string want = std::string("-xen-domid") + '\0' + std::to_string(domid) + '\0';
  return args->find(want) != std::string::npos;
}

Result<int> ReadPid(const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(std::string text, ReadRegularFile(path, "pid file", kMaxPidFileBytes));
  return ParseInteger<int>(TrimBlanks(text.substr(0, text.find('\n'))));
}

// Waits until `pid` is no longer the device model of `domid`.
bool WaitGone(int pid, uint32_t domid, milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (IsDeviceModelOf(pid, domid)) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// What hvmloader reads, as libxl writes it for qemu-xen: SeaBIOS (Debian's
// hvmloader has no ROMBIOS), no memory relocation, the ACPI switches.
std::vector<xs::Transaction::NodeWrite> FirmwareNodes(uint32_t domid, const DomainConfig& c) {
  std::string home = DomainHome(domid);
  bool acpi = ReadHvmConfig(c).acpi;
  return {{home + "/hvmloader/bios", "seabios", std::nullopt},
          {home + "/hvmloader/allow-memory-relocate", "0", std::nullopt},
          {home + "/platform/acpi", acpi ? "1" : "0", std::nullopt},
          {home + "/platform/acpi_s3", "1", std::nullopt},
          {home + "/platform/acpi_s4", "1", std::nullopt},
          {home + "/platform/acpi_laptop_slate", "0", std::nullopt},
          {home + "/platform/device-model", "qemu_xen", std::nullopt}};
}

}  // namespace

std::string DeviceModels::PidFile(uint32_t domid) const {
  return options_.run_dir + "/qemu-dm-" + std::to_string(domid) + ".pid";
}

std::string DeviceModels::StateDir(uint32_t domid) const {
  return DomainHome(0) + "/device-model/" + std::to_string(domid);
}

bool DeviceModels::Running(uint32_t domid) const {
  auto pid = ReadPid(PidFile(domid));
  return pid.ok() && IsDeviceModelOf(*pid, domid);
}

// Double fork, so the device model outlives txend (restarts) and init reaps it.
Result<int> DeviceModels::Spawn(uint32_t domid, const DomainConfig& config, int restore_fd) {
  QemuCommand q = BuildQemuCommand(domid, config, options_, restore_fd);
  if (access(q.argv[0].c_str(), X_OK) != 0)
    return Status::Error(ENOENT, "the device model " + q.argv[0] + " is missing or not executable" +
                                     " (Debian: apt-get install qemu-system-xen)");
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), q.env.begin(), q.env.end());
  std::vector<char*> argv = CStrings(q.argv), envp = CStrings(env);
  std::string log = LogPath(options_, config.name);
  UniqueFd log_fd(open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log_fd) return Status::Error(errno, "cannot open " + log + ": " + strerror(errno));
  std::string started = "txend: starting";
  for (const std::string& arg : q.argv) started += " " + arg;
  started += "\n";
  TXEND_RETURN_IF_ERROR(WriteAll(log_fd.get(), started, log));
  UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::Error(errno, "pipe failed");
  UniqueFd pid_in(pipe_fds[0]), pid_out(pipe_fds[1]);
  pid_t middle = fork();
  if (middle < 0) return Status::Error(errno, "fork failed");
  if (middle == 0) {
    setsid();
    pid_t child = fork();
    if (child == 0) {
      dup2(null_fd.get(), 0);
      dup2(log_fd.get(), 1);
      dup2(log_fd.get(), 2);
      close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // nothing of txend's but what it passes on
      if (restore_fd >= 0) fcntl(restore_fd, F_SETFD, 0);
      execve(argv[0], argv.data(), envp.data());
      const char msg[] = "txend: cannot execute the device model\n";
      (void)!write(2, msg, sizeof msg - 1);
      _exit(127);
    }
    (void)!write(pid_out.get(), &child, sizeof child);
    _exit(child > 0 ? 0 : 1);
  }
  pid_out.reset();
  int status = 0;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t child = -1;
  if (read(pid_in.get(), &child, sizeof child) != sizeof child || child <= 0)
    return Status::Error(EAGAIN, "could not start the device model " + q.argv[0]);
  // Without its pid file nothing could find the process again to stop it: stop it now.
  if (Status saved = ReplaceRegularFile(PidFile(domid), std::to_string(child) + "\n", false);
      !saved.ok()) {
    kill(child, SIGKILL);
    return Status::Error(saved.code(), "the device model's pid file: " + saved.message());
  }
  return static_cast<int>(child);
}

// Polls the state node (and the process) until "running"; a watch would need
// the process check anyway, and a start takes seconds, so 50 ms steps cost nothing.
Status DeviceModels::WaitRunning(uint32_t domid, int pid, const std::string& log) {
  auto deadline = Clock::now() + options_.start_timeout;
  std::string path = StateDir(domid) + "/state";
  while (true) {
    auto state = xs_.Call(wire::MsgType::kRead, 0, wire::JoinFields({path}));
    if (state.ok() && *state == "running") return Status::Ok();
    if (!ProcessAlive(pid))  // just started: its command line may not be qemu's yet
      return Status::Error(EIO, "the device model of domain " + std::to_string(domid) +
                                    " exited before it was running " + LogTail(log));
    if (Clock::now() > deadline)
      return Status::Error(ETIMEDOUT, "the device model of domain " + std::to_string(domid) +
                                          " did not reach 'running' within " +
                                          Seconds(options_.start_timeout) + " " + LogTail(log));
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// What libxl's device_model_postconfig_* publish: pty serial ports and the VNC address.
Status DeviceModels::Publish(uint32_t domid) {
  TXEND_ASSIGN_OR_RETURN(QmpClient qmp,
                         QmpClient::Connect(QmpSocketPath(options_, domid), kQmpTimeout));
  std::vector<xs::Transaction::NodeWrite> writes;
  std::string home = DomainHome(domid);
  TXEND_ASSIGN_OR_RETURN(nlohmann::json chardevs, qmp.Execute("query-chardev"));
  for (const auto& c : chardevs) {
    if (!c.is_object() || !c.value("label", "").starts_with("serial")) continue;
    std::string file = c.value("filename", "");
    if (file.starts_with("pty:"))
      writes.push_back({home + "/serial/" + c.value("label", "").substr(6) + "/tty", file.substr(4),
                        std::nullopt});
  }
  TXEND_ASSIGN_OR_RETURN(nlohmann::json vnc, qmp.Execute("query-vnc"));
  if (vnc.is_object() && vnc.value("enabled", false)) {
    writes.push_back({home + "/console/vnc-listen", vnc.value("host", ""), std::nullopt});
    writes.push_back({home + "/console/vnc-port", vnc.value("service", ""), std::nullopt});
  }
  if (writes.empty()) return Status::Ok();
  return xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.WriteMany(writes); });
}

Status DeviceModels::Start(uint32_t domid, const DomainConfig& config, int restore_fd) {
  std::error_code ec;
  fs::create_directories(options_.run_dir, ec);
  fs::create_directories(options_.log_dir, ec);
  fs::remove(QmpSocketPath(options_, domid), ec);
  std::string state_dir = StateDir(domid);
  std::vector<xs::Transaction::NodeWrite> firmware = FirmwareNodes(domid, config);
  TXEND_RETURN_IF_ERROR(xs::RunTransaction(xs_, [&](xs::Transaction& tx) -> Status {
    TXEND_RETURN_IF_ERROR(tx.RmMany(std::vector<std::string>{state_dir}, true));
    TXEND_RETURN_IF_ERROR(tx.WriteMany(firmware));
    return tx.Mkdir(state_dir);
  }));
  TXEND_ASSIGN_OR_RETURN(int pid, Spawn(domid, config, restore_fd));
  Status st = WaitRunning(domid, pid, LogPath(options_, config.name));
  if (st.ok()) st = Publish(domid);
  if (!st.ok()) Stop(domid);
  return st;
}

void DeviceModels::Stop(uint32_t domid) {
  auto pid = ReadPid(PidFile(domid));
  if (pid.ok() && IsDeviceModelOf(*pid, domid)) {
    if (auto qmp = QmpClient::Connect(QmpSocketPath(options_, domid), milliseconds(1000)); qmp.ok())
      (void)qmp->Execute("quit");
    if (!WaitGone(*pid, domid, milliseconds(2000))) {
      kill(*pid, SIGTERM);
      if (!WaitGone(*pid, domid, milliseconds(2000))) {
        kill(*pid, SIGKILL);
        WaitGone(*pid, domid, milliseconds(2000));
      }
    }
  }
  std::error_code ec;
  fs::remove(PidFile(domid), ec);
  fs::remove(QmpSocketPath(options_, domid), ec);
  (void)xs::RunTransaction(xs_, [&](xs::Transaction& tx) {
    return tx.RmMany(std::vector<std::string>{StateDir(domid)}, true);
  });
}

Status DeviceModels::SaveState(uint32_t domid, int fd) {
  TXEND_ASSIGN_OR_RETURN(QmpClient qmp,
                         QmpClient::Connect(QmpSocketPath(options_, domid), kQmpTimeout));
  TXEND_RETURN_IF_ERROR(qmp.Execute("stop").status());
  std::string file = options_.run_dir + "/qemu-save-" + std::to_string(domid);
  TXEND_RETURN_IF_ERROR(
      qmp.Execute("xen-save-devices-state", {{"filename", file}, {"live", false}}).status());
  auto data = ReadRegularFile(file, "device model state", kMaxStateBytes);
  std::error_code ec;
  fs::remove(file, ec);
  if (!data.ok()) return data.status();
  if (data->empty())
    return Status::Error(EIO,
                         "the device model of domain " + std::to_string(domid) + " saved no state");
  std::string header = std::string(kStateMagic) + " " + std::to_string(data->size()) + "\n";
  TXEND_RETURN_IF_ERROR(WriteAll(fd, header, "the device model's state"));
  return WriteAll(fd, *data, "the device model's state");
}

Result<UniqueFd> DeviceModels::ReadState(uint32_t domid, int fd) {
  std::string header;
  char c;
  while (header.size() < 40) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1 || c == '\n') break;
    header.push_back(c);
  }
  std::string magic = std::string(kStateMagic) + " ";
  auto size = header.starts_with(magic) ? ParseInteger<uint64_t>(header.substr(magic.size()))
                                        : Result<uint64_t>(Status::Error(EINVAL, ""));
  if (!size.ok() || *size == 0 || *size > kMaxStateBytes)
    return Status::Error(EINVAL, "corrupt save image: no device model state after the memory");
  std::error_code ec;
  fs::create_directories(options_.run_dir, ec);
  std::string file = options_.run_dir + "/qemu-restore-" + std::to_string(domid);
  UniqueFd out(open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) return Status::Error(errno, "cannot create " + file + ": " + strerror(errno));
  fs::remove(file, ec);  // the descriptor keeps it
  char buffer[65536];
  for (uint64_t left = *size; left > 0;) {
    ssize_t n = read(fd, buffer, std::min<uint64_t>(left, sizeof buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Error(EINVAL, "corrupt save image: device model state truncated");
    TXEND_RETURN_IF_ERROR(
        WriteAll(out.get(), std::string_view(buffer, static_cast<size_t>(n)), file));
    left -= static_cast<uint64_t>(n);
  }
  if (lseek(out.get(), 0, SEEK_SET) != 0) return Status::Error(errno, "cannot rewind " + file);
  return out;
}

Status DeviceModels::SetLogDirty(uint32_t domid, bool enable) {
  TXEND_ASSIGN_OR_RETURN(QmpClient qmp,
                         QmpClient::Connect(QmpSocketPath(options_, domid), kQmpTimeout));
  return qmp.Execute("xen-set-global-dirty-log", {{"enable", enable}}).status();
}

Status DeviceModels::ChangeMedia(uint32_t domid, const std::string& dev, const std::string& path) {
  auto number = BlockDeviceNumber(dev);
  if (!number) return Status::Error(EINVAL, "'" + dev + "' is not a drive name");
  TXEND_ASSIGN_OR_RETURN(QmpClient qmp,
                         QmpClient::Connect(QmpSocketPath(options_, domid), kQmpTimeout));
  std::string id = "ide-" + std::to_string(*number);
  if (path.empty()) return qmp.Execute("eject", {{"id", id}, {"force", true}}).status();
  return qmp.Execute("blockdev-change-medium", {{"id", id}, {"filename", path}, {"format", "raw"}})
      .status();
}

}  // namespace txend::toolstack
