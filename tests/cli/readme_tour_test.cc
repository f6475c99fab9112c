// README.md's "A 60-second tour", run as it stands: its indented lines are taken from the
// README, run by bash in a directory whose `build` is this build tree, against a real xsd
// and txend, with an empty tmpfs mounted over /boot in a private mount namespace.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/files.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

// The first indented block after the tour's heading, its four-space indent removed.
std::string TourScript(const std::string& readme) {
  std::istringstream lines(readme);
  std::string line, script;
  bool in_tour = false;
  while (std::getline(lines, line)) {
    if (line.starts_with("## ")) in_tour = line.find("tour") != std::string::npos;
    if (!in_tour) continue;
    if (line.starts_with("    "))
      script += line.substr(4) + "\n";
    else if (!script.empty())
      break;
  }
  return script;
}

bool CanMountPrivately() { return RunCommand("unshare --mount true 2>/dev/null").exit_code == 0; }

TEST(ReadmeTour, RunsVerbatimWithAnEmptyBoot) {
  if (!CanMountPrivately()) GTEST_SKIP() << "needs a private mount namespace (root)";
  std::string script = TourScript(ReadFile(TXEND_SOURCE_DIR "/README.md"));
  ASSERT_NE(script.find("xm create demo.cfg"), std::string::npos) << script;
  auto stack = TxendStack::Start();
  ASSERT_TRUE(stack.ok()) << stack.status().ToString();
  std::string dir = (*stack)->path("tour");
  std::filesystem::create_directories(dir);
  std::filesystem::create_directory_symlink(std::filesystem::path(TXEND_BIN_DIR).parent_path(),
                                            dir + "/build");
  std::ofstream(dir + "/tour.sh") << script;

  auto run = RunCommand("cd " + dir + " && TXEND_SOCKET=" + (*stack)->xend_socket() +
                            " timeout 120 unshare --mount sh -c "
                            "'mount -t tmpfs -o ro,size=4k none /boot && "
                            "[ -z \"$(ls -A /boot)\" ] && exec bash -eu tour.sh'",
                        /*merge_stderr=*/true);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("Started domain demo (id="), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\ndemo "), std::string::npos) << "xm list shows demo:\n" << run.out;
  EXPECT_NE(run.out.find("\n51712 "), std::string::npos) << "block-list shows xvda:\n" << run.out;
  EXPECT_NE(run.out.find("All domains terminated"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace txend::testing
