// The simulated guest's console shell: its boot log names the domain, typed
// input is echoed as a line discipline would, commands are answered, unknown
// ones are refused, and a line longer than the bound is cut, not grown.
#include "toolstack/agents/sim_console_shell.h"

#include <gtest/gtest.h>

namespace txend::toolstack {
namespace {

SimConsoleShell Shell() { return SimConsoleShell({7, "web1", 128 * 1024, 4}, 16); }

TEST(SimConsoleShellTest, BootLogNamesTheDomainAndEndsAtAPrompt) {
  std::string log = Shell().BootLog();
  EXPECT_NE(log.find("Memory: 128MiB"), std::string::npos) << log;
  EXPECT_NE(log.find("4 CPUs"), std::string::npos) << log;
  EXPECT_NE(log.find("domain 7"), std::string::npos) << log;
  EXPECT_TRUE(log.ends_with("root@web1:~# ")) << log;
}

TEST(SimConsoleShellTest, AnswersCommandsAndRefusesUnknownOnes) {
  auto shell = Shell();
  EXPECT_EQ(shell.Input("hostname\r"), "hostname\r\nweb1\r\nroot@web1:~# ");
  EXPECT_EQ(shell.Input("uname -a\n"),
            "uname -a\r\nLinux web1 6.1.0-txend-sim #1 SMP x86_64 GNU/Linux\r\nroot@web1:~# ");
  EXPECT_EQ(shell.Input("ls\r"), "ls\r\n-sh: ls: command not found\r\nroot@web1:~# ");
  EXPECT_EQ(shell.Input("\r"), "\r\nroot@web1:~# ");
  EXPECT_NE(shell.Input("uptime\r").find("load average"), std::string::npos);
  EXPECT_FALSE(shell.TakePoweroffRequest());
}

TEST(SimConsoleShellTest, BackspaceEditsAndLongLinesAreCut) {
  auto shell = Shell();
  EXPECT_EQ(shell.Input("hostx\x7fname\r"), "hostx\b \bname\r\nweb1\r\nroot@web1:~# ");
  std::string out = shell.Input(std::string(1000, 'a'));
  EXPECT_EQ(out, std::string(16, 'a')) << "the line stops at its bound";
  EXPECT_NE(shell.Input("\r").find("command not found"), std::string::npos);
}

TEST(SimConsoleShellTest, PoweroffIsRequestedOnce) {
  auto shell = Shell();
  EXPECT_NE(shell.Input("poweroff\r").find("Powering off."), std::string::npos);
  EXPECT_TRUE(shell.TakePoweroffRequest());
  EXPECT_FALSE(shell.TakePoweroffRequest());
}

}  // namespace
}  // namespace txend::toolstack
