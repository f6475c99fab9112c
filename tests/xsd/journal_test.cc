// xsd's journal at start-up: what replay makes of bytes a failed write left
// between records, of records whose predecessor is missing, of records a
// snapshot already holds, of a journal.next a compaction left, and of journals
// older versions wrote.
#include "xsd/journal.h"

#include <filesystem>
#include <fstream>

#include <boost/crc.hpp>
#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/files.h"

namespace txend::xsd {
namespace {

class JournalReplayTest : public ::testing::Test {
 protected:
  std::string db() const { return dir_ / "db"; }
  std::string journal() const { return dir_ / "db/journal"; }

  std::unique_ptr<Journal> Open(Tree& tree) {
    auto j = Journal::Open(db(), tree);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(*j) : nullptr;
  }

  // Commits `path` = `value` through `j` and returns the bytes it appended.
  std::string Commit(Journal& j, Tree& tree, const std::string& path, const std::string& value) {
    size_t before = std::filesystem::file_size(journal());
    std::vector<Change> changes;
    tree.Write(path, value, std::nullopt, 2, &changes);
    EXPECT_TRUE(j.Append(changes, tree).ok());
    EXPECT_TRUE(j.Sync().ok());
    return testing::ReadFile(journal()).substr(before);
  }

  void Replace(const std::string& bytes) { std::ofstream(journal(), std::ios::binary) << bytes; }

  static std::string ValueAt(const Tree& tree, const std::string& path) {
    const Node* node = tree.Find(path);
    return node ? node->value : "(absent)";
  }

  testing::TempDir dir_;
};

TEST_F(JournalReplayTest, BytesOfAFailedWriteDoNotHideTheRecordsAfterThem) {
  std::string a, b;
  {
    Tree tree;
    auto j = Open(tree);
    a = Commit(*j, tree, "/a", "1");
    b = Commit(*j, tree, "/b", "2");
  }
  // The write of some commit failed halfway and could not be cut off; the
  // next commit (after space came back) got the same number and follows.
  Replace(a + b.substr(0, b.size() / 2) + b);
  Tree tree;
  auto j = Open(tree);
  EXPECT_EQ(ValueAt(tree, "/a"), "1");
  EXPECT_EQ(ValueAt(tree, "/b"), "2") << "an acknowledged record after torn bytes was lost";
  EXPECT_EQ(j->replay().records, 2u);
  EXPECT_EQ(j->replay().skipped_bytes, b.size() / 2);
  EXPECT_TRUE(j->WantsCompaction()) << "the torn bytes should be compacted away";
  ASSERT_TRUE(j->Compact(tree).ok());
  Commit(*j, tree, "/c", "3");
  j.reset();
  Tree again;
  Open(again);
  EXPECT_EQ(ValueAt(again, "/b"), "2");
  EXPECT_EQ(ValueAt(again, "/c"), "3");
}

TEST_F(JournalReplayTest, RecordsAfterAMissingOneAreNotApplied) {
  std::string a, b, c;
  {
    Tree tree;
    auto j = Open(tree);
    a = Commit(*j, tree, "/x", "1");
    b = Commit(*j, tree, "/x", "2");
    c = Commit(*j, tree, "/y", "3");
  }
  // Record 2 is gone (a crash tore a page of an unsynced group): record 3
  // may depend on it, and none of them was acknowledged.
  Replace(a + std::string(b.size(), '\0') + c);
  Tree tree;
  auto j = Open(tree);
  EXPECT_EQ(ValueAt(tree, "/x"), "1");
  EXPECT_EQ(ValueAt(tree, "/y"), "(absent)");
  EXPECT_EQ(j->replay().dropped_bytes, b.size() + c.size());
  EXPECT_EQ(std::filesystem::file_size(journal()), a.size());
  // What was cut off is kept aside, not destroyed: were record 2 bit rot
  // rather than a torn page, record 3 could still be recovered by hand.
  EXPECT_EQ(j->replay().cut_to, db() + "/journal.cut-2");
  EXPECT_EQ(testing::ReadFile(db() + "/journal.cut-2"), std::string(b.size(), '\0') + c);
  Commit(*j, tree, "/z", "4");  // numbered 2 again, after record 1
  j.reset();
  Tree again;
  Open(again);
  EXPECT_EQ(ValueAt(again, "/z"), "4");

  // Cut off at the same number again: the first cut is not overwritten.
  Replace(a + "torn");
  Tree third;
  EXPECT_EQ(Open(third)->replay().cut_to, db() + "/journal.cut-2.1");
  EXPECT_EQ(testing::ReadFile(db() + "/journal.cut-2.1"), "torn");
  EXPECT_EQ(testing::ReadFile(db() + "/journal.cut-2"), std::string(b.size(), '\0') + c);
}

TEST_F(JournalReplayTest, RecordsTheSnapshotHoldsAreNotReplayedOverIt) {
  std::string a, b;
  {
    Tree tree;
    auto j = Open(tree);
    a = Commit(*j, tree, "/x", "old");
    b = Commit(*j, tree, "/x", "new");
    ASSERT_TRUE(j->Compact(tree).ok());
  }
  // A crash after the snapshot was renamed but before the journal was
  // emptied, and only the first record's page made it to disk.
  Replace(a);
  Tree tree;
  Open(tree);
  EXPECT_EQ(ValueAt(tree, "/x"), "new") << "a record older than the snapshot was replayed";
}

TEST_F(JournalReplayTest, RecordsInJournalNextFollowTheJournalsAfterACrashMidCompaction) {
  std::string a, b, c;
  {
    Tree tree;
    auto j = Open(tree);
    a = Commit(*j, tree, "/x", "1");
    b = Commit(*j, tree, "/y", "2");
    c = Commit(*j, tree, "/x", "3");
  }
  // Killed during a background compaction: the snapshot was not written yet,
  // records 1-2 are in the journal and record 3 went to journal.next.
  Replace(a + b);
  std::ofstream(db() + "/journal.next", std::ios::binary) << c;
  Tree tree;
  auto j = Open(tree);
  EXPECT_EQ(ValueAt(tree, "/x"), "3") << "a record in journal.next was not replayed";
  EXPECT_EQ(ValueAt(tree, "/y"), "2");
  EXPECT_EQ(j->replay().records, 3u);
  EXPECT_TRUE(j->WantsCompaction()) << "the interrupted compaction should be redone";
  ASSERT_TRUE(j->Compact(tree).ok());
  EXPECT_FALSE(std::filesystem::exists(db() + "/journal.next"));
  j.reset();
  Tree again;
  Open(again);
  EXPECT_EQ(ValueAt(again, "/x"), "3");
  EXPECT_EQ(ValueAt(again, "/y"), "2");
}

// Frames a payload as every version does (u32 length, u32 CRC-32).
std::string Frame(const std::string& payload) {
  boost::crc_32_type crc;
  crc.process_bytes(payload.data(), payload.size());
  uint32_t len = static_cast<uint32_t>(payload.size()), sum = crc.checksum();
  return std::string(reinterpret_cast<const char*>(&len), 4) +
         std::string(reinterpret_cast<const char*>(&sum), 4) + payload;
}

// A record as versions before numbered records wrote it: one 'S' entry.
std::string LegacyRecord(const std::string& path, const std::string& value) {
  auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  return Frame("S" + u32(path.size()) + path + u32(value.size()) + value + u32(1) + "n" + u32(0));
}

TEST_F(JournalReplayTest, OlderJournalsLoadIncludingRecordsAfterATornOne) {
  std::filesystem::create_directories(db());
  std::string torn = LegacyRecord("/lost", "never acknowledged");
  // Older versions appended after a failed write's bytes: those records were acknowledged.
  Replace(LegacyRecord("/a", "1") + torn.substr(0, 20) + LegacyRecord("/b", "2"));
  Tree tree;
  auto j = Open(tree);
  EXPECT_EQ(ValueAt(tree, "/a"), "1");
  EXPECT_EQ(ValueAt(tree, "/b"), "2");
  EXPECT_EQ(ValueAt(tree, "/lost"), "(absent)");
  Commit(*j, tree, "/c", "3");  // the first numbered record
  j.reset();
  Tree again;
  Open(again);
  EXPECT_EQ(ValueAt(again, "/b"), "2");
  EXPECT_EQ(ValueAt(again, "/c"), "3");
}

}  // namespace
}  // namespace txend::xsd
