#include "xsd/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <sys/stat.h>

#include "xsd/journal_record.h"

namespace txend::xsd {
namespace {

constexpr uint64_t kMinCompactBytes = 4u << 20;
constexpr uint64_t kCompactRetryGrowth = 1u << 20;

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::string();
    return Status::Error(errno, "cannot read " + path + ": " + strerror(errno));
  }
  std::string data;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  if (n < 0) return Status::Error(errno, "cannot read " + path + ": " + strerror(errno));
  return data;
}

// Where replay stands: the last sequence number applied, and whether any
// record carried one (until then, records of older versions are accepted).
struct Position {
  uint64_t last_seq = 0;
  bool sequenced = false;
};

// Applies the snapshot, which must be whole.
Status ReplaySnapshot(const std::string& path, std::string_view data, Tree& tree, Position& at) {
  for (size_t pos = 0; pos < data.size();) {
    auto record = ParseJournalRecord(data, pos);
    if (!record) return Status::Error(EIO, path + " is corrupt");
    ApplyJournalRecord(*record, tree);
    if (record->seq) at = {*record->seq, true};
    pos = record->end;
  }
  return Status::Ok();
}

// Applies the journal's records in sequence; returns the length of the
// prefix to keep. Bytes that are not a record (a failed write) are stepped
// over when the next record continues the sequence; a record whose
// predecessor is missing ends the replay: it was never acknowledged, and it
// may depend on the missing one.
size_t ReplayJournal(std::string_view data, Tree& tree, Position& at, JournalReplay& report) {
  size_t pos = 0, keep = 0;
  while (pos < data.size()) {
    auto record = ParseJournalRecord(data, pos);
    if (!record) {
      size_t next = FindJournalRecord(data, pos + 1, at.last_seq + 1, !at.sequenced);
      if (next == std::string_view::npos) break;
      pos = next;
      continue;
    }
    if (record->seq && at.sequenced && *record->seq <= at.last_seq) {  // already in the snapshot
      pos = keep = record->end;
      continue;
    }
    if (record->seq && *record->seq != at.last_seq + 1) break;
    if (record->seq) at = {*record->seq, true};
    ApplyJournalRecord(*record, tree);
    ++report.records;
    report.skipped_bytes += pos - keep;
    pos = keep = record->end;
  }
  report.dropped_bytes = data.size() - keep;
  return keep;
}

// `base`, or `base.1`, `base.2`, ... whichever does not exist yet ("" if none of 1000).
std::string UnusedName(const std::string& base) {
  for (int n = 0; n < 1000; ++n) {
    std::string name = n == 0 ? base : base + "." + std::to_string(n);
    if (access(name.c_str(), F_OK) != 0 && errno == ENOENT) return name;
  }
  return "";
}

Status SyncDir(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Status::Error(errno, "cannot open " + dir + ": " + strerror(errno));
  if (fsync(fd.get()) != 0) return Status::Error(errno, "fsync " + dir + ": " + strerror(errno));
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir, Tree& tree) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::Error(errno, "cannot create " + dir + ": " + strerror(errno));
  Position at;
  TXEND_ASSIGN_OR_RETURN(std::string snapshot, ReadFile(dir + "/snapshot"));
  TXEND_RETURN_IF_ERROR(ReplaySnapshot(dir + "/snapshot", snapshot, tree, at));
  std::string path = dir + "/journal";
  TXEND_ASSIGN_OR_RETURN(std::string journal, ReadFile(path));
  JournalReplay report;
  size_t keep = ReplayJournal(journal, tree, at, report);

  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Status::Error(errno, "cannot open " + path + ": " + strerror(errno));
  std::unique_ptr<Journal> j(new Journal(dir, UniqueFd()));
  if (keep != journal.size()) {
    // A torn tail, or records whose predecessor is damaged: they go, but
    // their bytes are kept aside first (the damage may be rot, not a crash).
    std::string cut = UnusedName(dir + "/journal.cut-" + std::to_string(at.last_seq + 1));
    if (!cut.empty() && j->WriteDurably(cut, journal.substr(keep)).ok()) report.cut_to = cut;
    if (ftruncate(fd.get(), static_cast<off_t>(keep)) != 0)
      return Status::Error(errno, "cannot cut the torn end off " + path + ": " + strerror(errno));
  }
  lseek(fd.get(), static_cast<off_t>(keep), SEEK_SET);
  j->fd_ = std::move(fd);
  j->next_seq_ = at.last_seq + 1;
  j->journal_size_ = keep;
  j->snapshot_size_ = snapshot.size();
  j->compaction_due_ = report.skipped_bytes > 0;
  j->replay_ = report;
  return j;
}

Journal::~Journal() { (void)Sync(); }

Status Journal::WriteAll(int fd, const std::string& bytes, size_t* written) {
  *written = 0;
  while (*written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + *written, bytes.size() - *written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(errno, std::string("journal write: ") + strerror(errno));
    *written += static_cast<size_t>(n);
    bytes_written_ += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status Journal::WriteDurably(const std::string& path, const std::string& bytes) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Status::Error(errno, "cannot create " + path + ": " + strerror(errno));
  size_t written = 0;
  TXEND_RETURN_IF_ERROR(WriteAll(fd.get(), bytes, &written));
  if (fsync(fd.get()) != 0) return Status::Error(errno, "fsync " + path + ": " + strerror(errno));
  return Status::Ok();
}

void Journal::CutOff(size_t written) {
  if (written == 0) return;
  off_t end = static_cast<off_t>(journal_size_);
  if (ftruncate(fd_.get(), end) == 0 && lseek(fd_.get(), end, SEEK_SET) == end) return;
  // The torn bytes stay. The next record reuses their sequence number, so
  // replay steps over them; the next compaction removes them.
  journal_size_ += written;
  compaction_due_ = true;
}

Status Journal::Append(const std::vector<Change>& changes, const Tree& tree) {
  JournalRecordWriter record(next_seq_);
  for (const auto& c : changes) {
    if (c.kind == Change::kRemovedBelow) continue;  // covered by its kRemoved
    if (c.kind == Change::kRemoved)
      record.Remove(c.path);
    else if (const Node* node = tree.Find(c.path))
      record.Set(c.path, *node);
  }
  if (record.empty()) return Status::Ok();
  std::string bytes = record.Framed();
  size_t written = 0;
  if (Status st = WriteAll(fd_.get(), bytes, &written); !st.ok()) {
    ++write_errors_;
    CutOff(written);
    return st;
  }
  journal_size_ += bytes.size();
  ++next_seq_;
  ++records_;
  dirty_ = true;
  return Status::Ok();
}

Status Journal::Sync() {
  if (!dirty_) return Status::Ok();
  if (fdatasync(fd_.get()) != 0) {
    ++write_errors_;
    return Status::Error(errno, std::string("journal fdatasync: ") + strerror(errno));
  }
  dirty_ = false;
  ++syncs_;
  return Status::Ok();
}

bool Journal::WantsCompaction() const {
  if (journal_size_ < compact_after_size_) return false;
  return compaction_due_ ||
         (journal_size_ > kMinCompactBytes && journal_size_ > 2 * snapshot_size_);
}

Status Journal::Compact(const Tree& tree) {
  JournalRecordWriter snapshot(next_seq_ - 1);  // holds every record written so far
  tree.ForEach([&](const std::string& path, const Node& node) { snapshot.Set(path, node); });
  std::string bytes = snapshot.Framed();
  std::string tmp = dir_ + "/snapshot.tmp";
  Status st = WriteDurably(tmp, bytes);
  if (st.ok() && rename(tmp.c_str(), (dir_ + "/snapshot").c_str()) != 0)
    st = Status::Error(errno, std::string("rename snapshot: ") + strerror(errno));
  if (st.ok()) st = SyncDir(dir_);
  if (!st.ok()) {
    unlink(tmp.c_str());  // give back the space a partial snapshot took
    ++write_errors_;
    compact_after_size_ = journal_size_ + kCompactRetryGrowth;
    return st;
  }
  snapshot_size_ = bytes.size();
  compaction_due_ = false;
  compact_after_size_ = 0;
  dirty_ = false;
  ++compactions_;
  StartEmptyJournal();
  return Status::Ok();
}

// Every record is in the snapshot now. If the journal cannot be emptied, its
// records stay and replay skips them by their numbers.
void Journal::StartEmptyJournal() {
  if (ftruncate(fd_.get(), 0) != 0 || lseek(fd_.get(), 0, SEEK_SET) != 0) return;
  journal_size_ = 0;
  (void)fdatasync(fd_.get());
}

}  // namespace txend::xsd
