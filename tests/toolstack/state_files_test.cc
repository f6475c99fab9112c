// txend's state files: replaced whole, never through a FIFO, read within bounds.
#include "toolstack/domain/state_files.h"

#include <fcntl.h>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/files.h"

namespace txend::toolstack {
namespace {

using testing::ReadFile;

TEST(StateFiles, AreReplacedWholeAndReadBack) {
  testing::TempDir dir;
  const std::string path = dir / "a.sxp";
  for (Durability d : {Durability::kProcessCrash, Durability::kHostCrash}) {
    ASSERT_TRUE(WriteStateFile(path, "(vm (name first))\n", d).ok());
    ASSERT_TRUE(WriteStateFile(path, "(vm (name second))\n", d).ok());
    EXPECT_EQ(ReadFile(path), "(vm (name second))\n");
    EXPECT_EQ(sxp::ChildValue(*ReadStateFile(path), "name"), "second");
  }
  struct stat st;
  EXPECT_NE(::stat((path + ".tmp").c_str(), &st), 0) << "no temporary left";
  EXPECT_EQ(ListStateFiles(dir.path()), std::vector<std::string>{path});
  EXPECT_TRUE(ListStateFiles(dir / "missing").empty());
  RemoveStateFile(path, Durability::kHostCrash);
  EXPECT_TRUE(ListStateFiles(dir.path()).empty());
}

// A FIFO where the temporary goes is refused, not opened (a writer would wait for a reader),
// and the file it would have replaced is untouched.
TEST(StateFiles, AFifoInTheWayIsRefusedAndTheOldFileKept) {
  testing::TempDir dir;
  const std::string path = dir / "a.sxp";
  ASSERT_TRUE(WriteStateFile(path, "(old)", Durability::kProcessCrash).ok());
  ASSERT_EQ(::mkfifo((path + ".tmp").c_str(), 0600), 0);
  EXPECT_EQ(WriteStateFile(path, "(new)", Durability::kHostCrash).code(), EINVAL);
  EXPECT_EQ(ReadFile(path), "(old)");
  EXPECT_EQ(ReadStateFile(path + ".tmp").status().code(), EINVAL);
}

}  // namespace
}  // namespace txend::toolstack
