// `xm top -b` against a real xsd and txend on the simulated hypervisor: the frames, the
// domains' rows, and the errors for bad options or a missing terminal.
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/files.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

class XmTopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    auto created = stack_->client().Post(
        "/xend/domain/", {{"op", "create"}, {"config", stack_->Config("topdemo", 2, 1, 64)}});
    ASSERT_EQ(created.status, 201) << created.body;
    auto unpaused = stack_->client().Post("/xend/domain/topdemo", {{"op", "unpause"}});
    ASSERT_EQ(unpaused.status, 200) << unpaused.body;
  }

  CommandResult Xm(const std::string& args) {
    return RunCommand("TXEND_SOCKET=" + stack_->xend_socket() +
                          " timeout 30 " TXEND_BIN_DIR "/xm " + args + " </dev/null",
                      /*merge_stderr=*/true);
  }

  std::unique_ptr<TxendStack> stack_;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(XmTopTest, BatchModePrintsOneFramePerIteration) {
  auto run = Xm("top -b -i 2 -d 0.2");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(Count(run.out, "xm top - "), 2u) << run.out;
  EXPECT_EQ(Count(run.out, "      NAME  STATE   CPU(sec) CPU(%)"), 2u) << run.out;
  EXPECT_EQ(Count(run.out, "2 domains: "), 2u) << run.out;
  EXPECT_EQ(Count(run.out, "\n  Domain-0 "), 2u) << run.out;
  // NAME STATE CPU(sec) CPU(%) MEM(k) MEM(%) MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX NETRX VBDS ...
  std::regex row(
      "\n   topdemo [-rbpscd]{6} +[0-9]+ +[0-9.]+ +65536 +[0-9.]+ +[0-9]+ +[0-9.]+ +2 +1 +n/a "
      "+n/a +2 +n/a +n/a\n");
  auto rows = std::distance(std::sregex_iterator(run.out.begin(), run.out.end(), row),
                            std::sregex_iterator());
  EXPECT_EQ(rows, 2) << run.out;
  EXPECT_EQ(Count(run.out, "\x1b"), 0u) << "no screen control in batch mode";
}

TEST_F(XmTopTest, InteractiveModeWithoutATerminalSaysToUseBatch) {
  auto run = Xm("top -i 1");  // stdout is a pipe
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("Error: xm top needs a terminal; use -b for batch output"),
            std::string::npos)
      << run.out;
}

TEST_F(XmTopTest, BadDelayOrIterationsAreRefused) {
  for (const char* args : {"top -b -d 0", "top -b -d -1", "top -b -d x", "top -b -i -2"}) {
    auto run = Xm(args);
    EXPECT_EQ(run.exit_code, 1) << args << "\n" << run.out;
    EXPECT_NE(run.out.find("Error:"), std::string::npos) << args << "\n" << run.out;
  }
}

}  // namespace
}  // namespace txend::testing
