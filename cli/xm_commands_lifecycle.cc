// xm's commands that change a domain's life: create, new, start, shutdown,
// reboot, the one-op commands (pause, destroy, ...), memory, vcpus, save,
// restore, dump-core, migrate, console.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include <climits>

#include "cli/xm_commands.h"
#include "cli/xm_config.h"
#include "cli/xm_console.h"
#include "cli/xm_format.h"
#include "cli/xm_make_config.h"

namespace txend::xm {
namespace {

using Args = std::vector<std::string>;
constexpr size_t kMany = 1 << 20;
// How long a rebooting domain may be missing before xm reports it destroyed.
constexpr auto kRebootGrace = std::chrono::seconds(30);

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

// The config file as xm finds it: as given when absolute, else in each
// directory of `search_path` (".:/etc/xen" by default).
Result<std::string> FindConfigFile(const std::string& name, const std::string& search_path) {
  if (name.starts_with("/")) {
    if (access(name.c_str(), R_OK) == 0) return name;
    return Status::Error(EINVAL, "Unable to open config file: " + name);
  }
  std::stringstream dirs(search_path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return Status::Error(EINVAL, "Unable to open config file: " + name);
}

struct CreateOptions {
  bool quiet = false, dryrun = false, paused = false, console = false;
  std::string path = ".:/etc/xen", defconfig, sxp_config;
};

void DefineCreateOptions(CommandLine& cl, CreateOptions& o) {
  cl.app().add_flag("-q,--quiet", o.quiet, "Quiet.");
  cl.app().add_option("--path", o.path, "Search path for configuration scripts.");
  cl.app().add_option("-f,--defconfig", o.defconfig, "Use the given Python configuration script.");
  cl.app().add_option("-F,--config", o.sxp_config, "Domain configuration to use (SXP).");
  cl.app().add_flag(
      "-n,--dryrun", o.dryrun,
      "Dry run - prints the resulting configuration in SXP but does not create the domain.");
  cl.app().add_flag("-p,--paused", o.paused, "Leave the domain paused after it is created.");
  cl.app().add_flag("-c,--console_autoconnect", o.console,
                    "Connect to the console after the domain is created.");
}

// The (vm ...) SXP create/new send: from -F's SXP file, or the config script
// (the first positional argument unless -f named it) with VAR=VALUE overrides.
Result<sxp::Value> BuildVmConfig(XmContext& ctx, const CommandLine& cl, const CreateOptions& o) {
  if (!o.sxp_config.empty()) {
    if (access(o.sxp_config.c_str(), R_OK) != 0)
      return Status::Error(EINVAL, "Cannot read file " + o.sxp_config);
    TXEND_ASSIGN_OR_RETURN(std::string text,
                           ReadXmConfigBytes(o.sxp_config, sxp::ParseLimits{}.max_bytes));
    auto v = sxp::Parse(text);
    if (!v.ok()) return Status::Error(EINVAL, o.sxp_config + ": " + v.status().message());
    return v;
  }
  Args vars = cl.args();
  std::string file = o.defconfig;
  if (file.empty()) {
    auto it = std::find_if(vars.begin(), vars.end(),
                           [](const std::string& a) { return a.find('=') == std::string::npos; });
    if (it == vars.end()) return Status::Error(EINVAL, "No domain config file given");
    file = *it;
    vars.erase(it);
  }
  for (const auto& v : vars)
    if (v.find('=') == std::string::npos)
      return Status::Error(EINVAL, "Invalid argument: " + v + " (expected VAR=VALUE)");
  TXEND_ASSIGN_OR_RETURN(std::string path, FindConfigFile(file, o.path));
  if (!o.quiet) ctx.out << "Using config file \"" << path << "\".\n";
  auto config = ParseXmConfigFile(path, vars);
  if (!config.ok()) return Status::Error(EINVAL, config.status().message());
  for (const auto& w : config->warnings) ctx.err << "Warning: " << w << "\n";
  XmSxpOptions sxp_options;
  if (const char* d = std::getenv("DISPLAY")) sxp_options.display = d;
  if (const char* x = std::getenv("XAUTHORITY")) sxp_options.xauthority = x;
  sxp_options.console_autoconnect = o.console;
  auto vm = MakeVmSxp(*config, sxp_options);
  if (!vm.ok()) return Status::Error(EINVAL, vm.status().message());
  return vm;
}

// create's and new's command line: the (vm ...) SXP to send, or nullopt when
// -n printed it instead (a dry run).
Result<std::optional<sxp::Value>> ParseCreate(XmContext& ctx, CommandLine& cl, const Args& argv,
                                              CreateOptions& o) {
  DefineCreateOptions(cl, o);
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  TXEND_ASSIGN_OR_RETURN(sxp::Value vm, BuildVmConfig(ctx, cl, o));
  if (!o.dryrun) return std::optional<sxp::Value>(std::move(vm));
  ctx.out << sxp::PrettyPrint(vm);
  return std::optional<sxp::Value>();
}

// op=<op> on `ref` with more form fields.
Status DomainOp(XmContext& ctx, const std::string& ref, const std::string& op, Form more = {}) {
  more.insert(more.begin(), {"op", op});
  return ctx.xend.PostDomain(ref, more).status();
}

// A domain whose shutdown action keeps it (preserve) is done when it shows 's' or 'c'.
bool KeptAfterShutdown(const sxp::Value& d) {
  std::string state = sxp::ChildValue(d, "state");
  auto kept = [&](const char* key) {
    return sxp::ChildValue(d, key).find("preserve") != std::string::npos;
  };
  return (state.find('s') != std::string::npos && kept("on_poweroff")) ||
         (state.find('c') != std::string::npos && kept("on_crash"));
}

// The waited-for domains as txend has them now (absent: gone): each one
// looked up when there are few, else one list of every domain.
Result<std::map<std::string, sxp::Value>> CurrentDomains(
    XmContext& ctx, const std::map<std::string, std::string>& waiting) {
  constexpr size_t kLookUpEach = 8;
  std::map<std::string, sxp::Value> now;
  if (waiting.size() > kLookUpEach) {
    TXEND_ASSIGN_OR_RETURN(auto all, ctx.xend.Domains("all"));
    for (auto& d : all)
      if (waiting.count(sxp::ChildValue(d, "name"))) now[sxp::ChildValue(d, "name")] = std::move(d);
    return now;
  }
  for (const auto& [name, domid] : waiting) {
    auto d = ctx.xend.Domain(name);
    if (d.ok())
      now[name] = std::move(*d);
    else if (d.status().code() != ESRCH)
      return d.status();
  }
  return now;
}

// Waits for the domains (name -> domid at the request) to go, or to come back
// with a new domid when `reboot`, printing xm's lines. Looks again each time
// txend reports a domain change (GET /xend/events), never on a timer alone.
Status WaitForShutdown(XmContext& ctx, std::map<std::string, std::string> waiting, bool reboot) {
  using Clock = std::chrono::steady_clock;
  std::map<std::string, Clock::time_point> missing_since;
  TXEND_ASSIGN_OR_RETURN(uint64_t since, ctx.xend.ChangesStart());
  for (bool first = true; !waiting.empty(); first = false) {
    if (!first) {
      TXEND_ASSIGN_OR_RETURN(DomainChanges changes, ctx.xend.WaitForChanges(since));
      since = changes.next;
      if (!changes.changed && !reboot) continue;  // a reboot's grace period may have run out
    }
    TXEND_ASSIGN_OR_RETURN(auto current, CurrentDomains(ctx, waiting));
    for (auto it = waiting.begin(); it != waiting.end();) {
      auto found = current.find(it->first);
      const sxp::Value* now = found == current.end() ? nullptr : &found->second;
      std::string domid = now ? sxp::ChildValue(*now, "domid") : "";
      bool done = false;
      if (reboot) {
        if (!domid.empty() && domid != it->second) {
          ctx.out << "Domain " << it->first << " rebooted\n";
          done = true;
        } else if (domid.empty() &&
                   Clock::now() - missing_since.try_emplace(it->first, Clock::now()).first->second >
                       kRebootGrace) {
          ctx.out << "Domain " << it->first << " destroyed for failing to reboot\n";
          done = true;
        }
      } else if (domid != it->second || KeptAfterShutdown(*now)) {
        ctx.out << "Domain " << it->first << " terminated\n";
        done = true;
      }
      it = done ? waiting.erase(it) : std::next(it);
    }
    ctx.out.flush();
  }
  ctx.out << (reboot ? "All domains rebooted\n" : "All domains terminated\n");
  return Status::Ok();
}

Status Shutdown(XmContext& ctx, CommandLine& cl, const Args& argv, bool reboot_command) {
  bool all = false, wait = false, halt = false, reboot = reboot_command;
  cl.app().add_flag("-a,--all", all, "Shutdown all guest domains.");
  cl.app().add_flag("-w,--wait", wait, "Wait for the domain to finish shutting down.");
  if (!reboot_command) {
    cl.app().add_flag("-H,--halt", halt, "Shutdown without reboot.");
    cl.app().add_flag("-R,--reboot", reboot, "Shutdown and reboot.");
  }
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  if (argv.empty())
    return Status::Error(EINVAL, "'xm " + cl.name() + "' requires between 1 and 4 arguments.");
  if (halt && reboot) return Status::Error(EINVAL, "Can't specify halt and reboot");
  if (!all && cl.args().empty()) return Status::Error(EINVAL, "No domain parameter given");
  if (!all && cl.args().size() > 1)
    return Status::Error(EINVAL, "No multiple domain parameters allowed");
  std::vector<sxp::Value> targets;
  if (all) {
    TXEND_ASSIGN_OR_RETURN(auto running, ctx.xend.Domains("all"));
    for (auto& d : running)
      if (!sxp::ChildValue(d, "domid").empty() && sxp::ChildValue(d, "domid") != "0")
        targets.push_back(std::move(d));
  } else {
    TXEND_ASSIGN_OR_RETURN(auto d, ctx.xend.Domain(cl.args()[0]));
    targets.push_back(std::move(d));
  }
  std::string reason = halt ? "halt" : reboot ? "reboot" : "poweroff";
  std::map<std::string, std::string> waiting;
  for (const auto& d : targets) {
    std::string name = sxp::ChildValue(d, "name");
    TXEND_RETURN_IF_ERROR(DomainOp(ctx, name, "shutdown", {{"reason", reason}}));
    waiting[name] = sxp::ChildValue(d, "domid");
  }
  return wait ? WaitForShutdown(ctx, std::move(waiting), reboot) : Status::Ok();
}

}  // namespace

Status XmCreate(XmContext& ctx, CommandLine& cl, const Args& argv) {
  CreateOptions o;
  TXEND_ASSIGN_OR_RETURN(std::optional<sxp::Value> config, ParseCreate(ctx, cl, argv, o));
  if (!config) return Status::Ok();
  const sxp::Value& vm = *config;
  TXEND_ASSIGN_OR_RETURN(sxp::Value created,
                         ctx.xend.PostDomains({{"op", "create"}, {"config", sxp::ToString(vm)}}));
  std::string name = sxp::ChildValue(created, "name", sxp::ChildValue(vm, "name"));
  std::string domid = sxp::ChildValue(created, "domid");
  if (Status st = DomainOp(ctx, name, "wait_for_devices"); !st.ok()) {
    (void)DomainOp(ctx, name, "destroy");
    return st;
  }
  if (!o.paused && !DomainOp(ctx, name, "unpause").ok()) {
    (void)DomainOp(ctx, name, "destroy");
    return Status::Error(EREMOTEIO, "Failed to unpause domain " + name);
  }
  ctx.out << "Started domain " << name << " (id=" << domid << ")\n";
  if (o.console) return AttachConsole(ctx, name);
  return Status::Ok();
}

Status XmNew(XmContext& ctx, CommandLine& cl, const Args& argv) {
  CreateOptions o;
  TXEND_ASSIGN_OR_RETURN(std::optional<sxp::Value> vm, ParseCreate(ctx, cl, argv, o));
  if (!vm) return Status::Ok();
  return ctx.xend.PostDomains({{"op", "new"}, {"config", sxp::ToString(*vm)}}).status();
}

Status XmStart(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool paused = false, console = false;
  cl.app().add_flag("-p,--paused", paused, "Do not unpause domain after starting it");
  cl.app().add_flag("-c,--console_autoconnect", console,
                    "Connect to the console after the domain is created");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 1));
  const std::string& ref = cl.args()[0];
  Form form;
  if (paused) form.emplace_back("paused", "1");
  TXEND_RETURN_IF_ERROR(DomainOp(ctx, ref, "start", form));
  TXEND_ASSIGN_OR_RETURN(auto d, ctx.xend.Domain(ref));
  std::string domid = sxp::ChildValue(d, "domid");
  if (domid.empty()) return Status::Error(EREMOTEIO, "Domain '" + ref + "' is not started");
  if (console) return AttachConsole(ctx, ref);
  return Status::Ok();
}

Status XmShutdown(XmContext& ctx, CommandLine& cl, const Args& argv) {
  return Shutdown(ctx, cl, argv, false);
}

Status XmReboot(XmContext& ctx, CommandLine& cl, const Args& argv) {
  return Shutdown(ctx, cl, argv, true);
}

Status XmSimpleOp(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 1));
  return DomainOp(ctx, cl.args()[0], cl.name());
}

Status XmRename(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 2, 2));
  return DomainOp(ctx, cl.args()[0], "rename", {{"name", cl.args()[1]}});
}

Status XmMemory(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 2, 2));
  TXEND_ASSIGN_OR_RETURN(int64_t mib, ParseMemoryMib(cl.args()[1]));
  if (cl.name() == "mem-set")
    return DomainOp(ctx, cl.args()[0], "mem_target_set", {{"target", std::to_string(mib)}});
  return DomainOp(ctx, cl.args()[0], "maxmem_set", {{"memory", std::to_string(mib)}});
}

Status XmVcpuSet(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 2, 2));
  const std::string& n = cl.args()[1];
  if (n.empty() || n.size() > 4 || !std::all_of(n.begin(), n.end(), ::isdigit))
    return Status::Error(EINVAL, "Invalid argument.");
  return DomainOp(ctx, cl.args()[0], "set_vcpus", {{"vcpus", n}});
}

Status XmVcpuPin(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 3, 3));
  const std::string& vcpu = cl.args()[1];
  if (vcpu != "all" &&
      (vcpu.empty() || vcpu.size() > 4 || !std::all_of(vcpu.begin(), vcpu.end(), ::isdigit)))
    return Status::Error(EINVAL, "Invalid argument.");
  TXEND_ASSIGN_OR_RETURN(std::string cpus, ParseCpuList(cl.args()[2]));
  return DomainOp(ctx, cl.args()[0], "pincpu", {{"vcpu", vcpu}, {"cpumap", cpus}});
}

Status XmSysrq(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 2, 2));
  return DomainOp(ctx, cl.args()[0], "sysrq", {{"key", cl.args()[1]}});
}

Status XmSave(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool checkpoint = false;
  cl.app().add_flag("-c,--checkpoint", checkpoint, "Leave domain running after creating snapshot");
  if (Status st = cl.Parse(argv, 0, kMany); !st.ok()) return st;
  if (cl.args().size() != 2) return Status::Error(EINVAL, "Wrong number of parameters");
  if (checkpoint)
    return Status::Error(EREMOTEIO, "checkpoint saves (-c) are not supported by txend");
  std::string file = Absolute(cl.args()[1]);
  std::string dir = std::filesystem::path(file).parent_path().string();
  if (access(dir.empty() ? "." : dir.c_str(), W_OK) != 0)
    return Status::Error(EIO, "xm save: Unable to create file " + file);
  return DomainOp(ctx, cl.args()[0], "save", {{"file", file}});
}

Status XmRestore(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool paused = false;
  cl.app().add_flag("-p,--paused", paused, "Do not unpause domain after restoring it");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 1));
  std::string file = Absolute(cl.args()[0]);
  if (access(file.c_str(), R_OK) != 0)
    return Status::Error(EIO, "xm restore: Unable to read file " + file);
  Form form = {{"op", "restore"}, {"file", file}};
  if (paused) form.emplace_back("paused", "1");
  return ctx.xend.PostDomains(form).status();
}

Status XmDumpCore(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool live = false, crash = false, reset = false;
  cl.app().add_flag("-L,--live", live, "Dump core without pausing the domain");
  cl.app().add_flag("-C,--crash", crash, "Crash domain after dumping core");
  cl.app().add_flag("-R,--reset", reset, "Reset domain after dumping core");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  if (crash && reset)
    return Status::Error(EINVAL, "You may not specify more than one '-CR' option");
  if (cl.args().empty() || cl.args().size() > 2)
    return Status::Error(EINVAL, "Expects 1 or 2 argument(s)");
  const std::string& ref = cl.args()[0];
  TXEND_ASSIGN_OR_RETURN(auto d, ctx.xend.Domain(ref));
  std::string name = sxp::ChildValue(d, "name");
  std::string file;
  if (cl.args().size() == 2) {
    file = Absolute(cl.args()[1]);
  } else {  // xend's default: /var/xen/dump/<name>/<date>-<name>.<domid>.core
    char stamp[32];
    time_t now = std::time(nullptr);
    struct tm local;
    localtime_r(&now, &local);
    std::strftime(stamp, sizeof stamp, "%Y-%m%d-%H%M.%S", &local);
    std::string dir = "/var/xen/dump/" + name;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    file = (ec ? std::string("/var/xen/dump") : dir) + "/" + stamp + "-" + name + "." +
           sxp::ChildValue(d, "domid") + ".core";
  }
  ctx.out << "Dumping core of domain: " << ref << " ...\n";
  ctx.out.flush();
  TXEND_RETURN_IF_ERROR(DomainOp(ctx, name, "dump",
                                 {{"file", file},
                                  {"live", live ? "1" : "0"},
                                  {"crash", crash ? "1" : "0"},
                                  {"reset", reset ? "1" : "0"}}));
  if (crash) return DomainOp(ctx, name, "destroy");
  if (reset) return DomainOp(ctx, name, "reset");
  return Status::Ok();
}

Status XmMigrate(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool live = false, ssl = false, change_home = false;
  int port = 0, node = -1;
  cl.app().add_flag("-l,--live", live, "Use live migration.");
  cl.app().add_option("-p,--port", port, "Use specified port for migration.");
  cl.app().add_option("-n,--node", node, "Use specified NUMA node on target.");
  cl.app().add_flag("-s,--ssl", ssl, "Use ssl connection for migration.");
  cl.app().add_flag("-c,--change_home_server", change_home,
                    "Change home server for managed domains.");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  if (cl.args().size() != 2) return Status::Error(EINVAL, "Invalid number of arguments");
  return DomainOp(ctx, cl.args()[0], "migrate",
                  {{"destination", cl.args()[1]},
                   {"live", live ? "1" : "0"},
                   {"port", std::to_string(port)},
                   {"node", std::to_string(node)},
                   {"ssl", ssl ? "1" : "0"},
                   {"change_home_server", change_home ? "1" : "0"}});
}

Status XmConsole(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool quiet = false;
  int num = 0;
  cl.app().add_flag("-q,--quiet", quiet,
                    "Do not print an error message if the domain does not exist");
  cl.app().add_option("-n,--num", num, "Connect to console number <num>");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, 1));
  if (cl.args().empty()) return Status::Error(EINVAL, "No domain given");
  if (num != 0) return Status::Error(EINVAL, "Only console 0 (console/tty) can be attached");
  Status st = AttachConsole(ctx, cl.args()[0]);
  if (!st.ok() && quiet && st.code() != EINTR) return Status::Error(ECHILD, "");
  return st;
}

}  // namespace txend::xm
