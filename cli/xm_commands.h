// xm's commands: the table of names, synopses and descriptions (xm's
// SUBCOMMAND_HELP), and the dispatcher that runs one and maps its Status to
// xm's output and exit code.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cli/xend.h"
#include "cli/xm_command_line.h"

namespace txend::xm {

// What every command gets: the xend API and the two output streams.
struct XmContext {
  Xend& xend;
  std::ostream& out;
  std::ostream& err;
  std::string xend_endpoint;  // where txend was reached, for messages
};

// A command defines its options on `cl`, parses, and runs. Failures are
// Status values: ESRCH (unknown domain: exit 3), EINVAL and EREMOTEIO
// (message plus the command's help), ENOTCONN and others (message only).
using CommandFn = Status (*)(XmContext& ctx, CommandLine& cl, const std::vector<std::string>& argv);

struct XmCommand {
  std::string_view name;
  std::string_view synopsis;
  std::string_view description;
  CommandFn run;
};

// Every command, in the order `xm help` lists them.
const std::vector<XmCommand>& XmCommands();

// Runs `xm argv...` (argv without the program name); returns the exit code.
// Everything it prints is made safe for a terminal (cli/terminal_text.h).
int RunXm(XmContext& ctx, const std::vector<std::string>& argv);

// The commands, by group (xm_commands_*.cc).
Status XmList(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmInfo(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmVcpuList(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmUptime(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmDomid(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmDomname(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmDomstate(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmDmesg(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmLog(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmSchedCredit(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmBlockList(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmNetworkList(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmPciAttach(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmPciDetach(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmPciList(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmPciListAssignable(XmContext&, CommandLine&, const std::vector<std::string>&);

Status XmCreate(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmNew(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmStart(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmShutdown(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmReboot(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmSimpleOp(XmContext&, CommandLine&,
                  const std::vector<std::string>&);  // pause, destroy, ...
Status XmRename(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmMemory(XmContext&, CommandLine&, const std::vector<std::string>&);  // mem-set, mem-max
Status XmVcpuSet(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmVcpuPin(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmSysrq(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmSave(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmRestore(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmDumpCore(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmMigrate(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmConsole(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmTop(XmContext&, CommandLine&, const std::vector<std::string>&);

Status XmBlockAttach(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmBlockDetach(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmNetworkAttach(XmContext&, CommandLine&, const std::vector<std::string>&);
Status XmNetworkDetach(XmContext&, CommandLine&, const std::vector<std::string>&);

}  // namespace txend::xm
