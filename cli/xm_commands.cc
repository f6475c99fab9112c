#include "cli/xm_commands.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ostream>

#include "cli/terminal_text.h"

namespace txend::xm {
namespace {

struct Alias {
  std::string_view old_name, new_name;
};
constexpr Alias kAliases[] = {{"balloon", "mem-set"},          {"set-vcpus", "vcpu-set"},
                              {"vif-list", "network-list"},    {"vbd-create", "block-attach"},
                              {"vbd-destroy", "block-detach"}, {"vbd-list", "block-list"}};

// The commands `xm` alone lists (xm's "common" set, those txend has).
constexpr std::string_view kCommon[] = {
    "console", "create",   "new",     "delete",  "destroy", "dump-core", "help",
    "list",    "mem-set",  "migrate", "pause",   "reboot",  "reset",     "restore",
    "save",    "shutdown", "start",   "unpause", "uptime",  "domstate",  "vcpu-set"};

std::string Row(std::string_view name, std::string_view description) {
  // ' %-20s %-50s', a description over 49 characters wrapping at a word onto lines indented 22.
  std::string out;
  std::string rest(description);
  bool first = true;
  while (first || !rest.empty()) {
    std::string line = rest;
    if (line.size() > 49) {
      auto cut = line.rfind(' ', 49);
      if (cut == std::string::npos) cut = 49;
      line = rest.substr(0, cut);
      rest = rest.substr(std::min(rest.size(), cut + 1));
    } else {
      rest.clear();
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, first ? " %-20s %-50s\n" : "%22s%-50s\n",
                  first ? std::string(name).c_str() : "", line.c_str());
    out += buf;
    first = false;
  }
  return out;
}

constexpr char kHeader[] =
    "Usage: xm <subcommand> [args]\n\nControl, list, and manipulate Xen guest instances.\n\n";
constexpr char kFooter[] =
    "\n<Domain> can either be the Domain Name or Id.\n"
    "For more help on 'xm' see the xm(1) man page.\n"
    "For more help on 'xm create' see the xmdomain.cfg(5)  man page.\n";

std::string ShortHelp() {
  std::string out = std::string(kHeader) + "Common 'xm' commands:\n\n";
  for (auto name : kCommon)
    for (const auto& c : XmCommands())
      if (c.name == name) out += Row(c.name, c.description);
  return out + kFooter + "\nFor a complete list of subcommands run 'xm help'.\n";
}

std::string LongHelp() {
  std::string out = std::string(kHeader) + "xm full list of subcommands:\n\n";
  for (const auto& c : XmCommands()) out += Row(c.name, c.description);
  return out + kFooter;
}

Status Help(XmContext& ctx, CommandLine&, const std::vector<std::string>&) {
  ctx.out << LongHelp();
  return Status::Ok();
}

// Exact name, then alias, then a unique prefix of two or more characters.
const XmCommand* Lookup(XmContext& ctx, const std::string& word) {
  const auto& all = XmCommands();
  for (const auto& c : all)
    if (c.name == word) return &c;
  for (const auto& a : kAliases)
    if (a.old_name == word) {
      ctx.err << "Command " << a.old_name << " is deprecated.  Please use xm " << a.new_name
              << " instead.\n";
      return Lookup(ctx, std::string(a.new_name));
    }
  if (word.size() < 2) return nullptr;
  const XmCommand* found = nullptr;
  for (const auto& c : all)
    if (c.name.starts_with(word)) {
      if (found) return nullptr;
      found = &c;
    }
  return found;
}

}  // namespace

const std::vector<XmCommand>& XmCommands() {
  static const std::vector<XmCommand> kCommands = {
      {"console", "[-q|--quiet] <Domain>", "Attach to <Domain>'s console.", XmConsole},
      {"create", "<ConfigFile> [options] [vars]", "Create a domain based on <ConfigFile>.",
       XmCreate},
      {"new", "<ConfigFile> [options] [vars]", "Adds a domain to Xend domain management", XmNew},
      {"delete", "<DomainName>", "Remove a domain from Xend domain management.", XmSimpleOp},
      {"destroy", "<Domain>", "Terminate a domain immediately.", XmSimpleOp},
      {"domid", "<DomainName>", "Convert a domain name to domain id.", XmDomid},
      {"domname", "<DomId>", "Convert a domain id to domain name.", XmDomname},
      {"dump-core", "[-L|--live] [-C|--crash] [-R|--reset] <Domain> [Filename]",
       "Dump core for a specific domain.", XmDumpCore},
      {"list", "[options] [Domain, ...]", "List information about all/some domains.", XmList},
      {"mem-max", "<Domain> <Mem>", "Set the maximum amount reservation for a domain.", XmMemory},
      {"mem-set", "<Domain> <Mem>", "Set the current memory usage for a domain.", XmMemory},
      {"migrate", "<Domain> <Host>", "Migrate a domain to another machine.", XmMigrate},
      {"pause", "<Domain>", "Pause execution of a domain.", XmSimpleOp},
      {"reboot", "<Domain> [-wa]", "Reboot a domain.", XmReboot},
      {"rename", "<Domain> <NewDomainName>", "Rename a domain.", XmRename},
      {"reset", "<Domain>", "Reset a domain.", XmSimpleOp},
      {"restore", "<CheckpointFile> [-p]", "Restore a domain from a saved state.", XmRestore},
      {"save", "[-c] <Domain> <CheckpointFile>", "Save a domain state to restore later.", XmSave},
      {"shutdown", "<Domain> [-waRH]", "Shutdown a domain.", XmShutdown},
      {"start", "<DomainName>", "Start a Xend managed domain", XmStart},
      {"sysrq", "<Domain> <letter>", "Send a sysrq to a domain.", XmSysrq},
      {"unpause", "<Domain>", "Unpause a paused domain.", XmSimpleOp},
      {"uptime", "[-s] [Domain, ...]", "Print uptime for all/some domains.", XmUptime},
      {"domstate", "<domain> ", "get the state of a domain", XmDomstate},
      {"vcpu-list", "[Domain, ...]", "List the VCPUs for all/some domains.", XmVcpuList},
      {"vcpu-pin", "<Domain> <VCPU|all> <CPUs|all>", "Set which CPUs a VCPU can use.", XmVcpuPin},
      {"vcpu-set", "<Domain> <vCPUs>", "Set the number of active VCPUs allowed for the domain.",
       XmVcpuSet},
      {"dmesg", "[-c|--clear]", "Read and/or clear Xend's message buffer.", XmDmesg},
      {"info", "[-c|--config] [-n|--numa]", "Get information about Xen host.", XmInfo},
      {"log", "", "Print Xend log", XmLog},
      {"top", "[-b] [-d <Delay>] [-i <Iterations>]", "Monitor a host and the domains in real time.",
       XmTop},
      {"sched-credit", "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]",
       "Get/set credit scheduler parameters.", XmSchedCredit},
      {"block-attach", "<Domain> <BackDev> <FrontDev> <Mode> [BackDomain]",
       "Create a new virtual block device.", XmBlockAttach},
      {"block-detach", "<Domain> <DevId> [-f|--force]", "Destroy a domain's virtual block device.",
       XmBlockDetach},
      {"block-list", "<Domain> [--long]", "List virtual block devices for a domain.", XmBlockList},
      {"block-configure", "<Domain> <BackDev> <FrontDev> <Mode> [BackDomain]",
       "Change block device configuration", XmBlockAttach},
      {"network-attach",
       "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] "
       "[backend=<BackDomain>] "
       "[vifname=<name>] [rate=<rate>] [model=<model>][accel=<accel>]",
       "Create a new virtual network device.", XmNetworkAttach},
      {"network-detach", "<Domain> <DevId|mac> [-f|--force]",
       "Destroy a domain's virtual network device.", XmNetworkDetach},
      {"network-list", "<Domain> [--long]", "List virtual network interfaces for a domain.",
       XmNetworkList},
      {"pci-attach", "[-o|--options=<opt>] <Domain> <domain:bus:slot.func> [virtual slot]",
       "Insert a new pass-through pci device.", XmPciAttach},
      {"pci-detach", "<Domain> <domain:bus:slot.func>",
       "Remove a domain's pass-through pci device.", XmPciDetach},
      {"pci-list", "<Domain>", "List pass-through pci devices for a domain.", XmPciList},
      {"pci-list-assignable-devices", "", "List all the assignable pci devices",
       XmPciListAssignable},
      {"help", "", "Display this message.", Help},
  };
  return kCommands;
}

int RunXm(XmContext& raw, const std::vector<std::string>& argv) {
  // Every byte printed passes here: what txend sends reaches the terminal escaped.
  TerminalSafeStream out(raw.out), err(raw.err);
  XmContext ctx{raw.xend, out, err, raw.xend_endpoint};
  if (argv.empty()) {
    ctx.out << ShortHelp();
    return 1;
  }
  if (argv[0] == "-h" || argv[0] == "--help") {
    ctx.out << LongHelp();
    return 0;
  }
  const XmCommand* cmd = Lookup(ctx, argv[0]);
  if (!cmd) {
    ctx.err << "Error: Subcommand " << argv[0] << " not found!\n";
    ctx.out << ShortHelp();
    return 1;
  }
  CommandLine cl(cmd->name, cmd->synopsis, cmd->description);
  Status st = cmd->run(ctx, cl, std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (st.ok()) return 0;
  switch (st.code()) {
    case ECANCELED:
      ctx.out << cl.Help();
      return 1;
    case ESRCH:
      ctx.err << "Error: " << st.message() << "\n";
      return 3;
    case EINVAL:
    case EREMOTEIO:
      ctx.err << "Error: " << st.message() << "\n";
      ctx.out << cl.Help();
      return 1;
    default:
      if (!st.message().empty())
        ctx.err << "Error: " << st.message() << "\n";  // empty: quiet failure
      return 1;
  }
}

}  // namespace txend::xm
