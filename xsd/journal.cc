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

// Writes `bytes` at `fd`'s offset; `*written` counts what reached the file.
Status WriteBytes(int fd, const std::string& bytes, size_t* written) {
  *written = 0;
  while (*written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + *written, bytes.size() - *written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(errno, std::string("journal write: ") + strerror(errno));
    *written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Writes `bytes` as the whole of a new file at `path` and fsyncs it.
Status WriteDurably(const std::string& path, const std::string& bytes, size_t* written) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Status::Error(errno, "cannot create " + path + ": " + strerror(errno));
  TXEND_RETURN_IF_ERROR(WriteBytes(fd.get(), bytes, written));
  if (fsync(fd.get()) != 0) return Status::Error(errno, "fsync " + path + ": " + strerror(errno));
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Status::Error(errno, "cannot open " + dir + ": " + strerror(errno));
  if (fsync(fd.get()) != 0) return Status::Error(errno, "fsync " + dir + ": " + strerror(errno));
  return Status::Ok();
}

// Replays the journal file at `path` (created if missing) onto `tree`, cuts
// off what must not stay (kept aside in DIR/journal.cut-<seq> first), and
// returns it open for appending, with its size.
Result<std::pair<UniqueFd, size_t>> ReplayFile(const std::string& dir, const std::string& path,
                                               Tree& tree, Position& at, JournalReplay& report) {
  TXEND_ASSIGN_OR_RETURN(std::string journal, ReadFile(path));
  JournalReplay file;
  size_t keep = ReplayJournal(journal, tree, at, file);
  report.records += file.records;
  report.skipped_bytes += file.skipped_bytes;
  report.dropped_bytes += file.dropped_bytes;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Status::Error(errno, "cannot open " + path + ": " + strerror(errno));
  if (keep != journal.size()) {
    // A torn tail, or records whose predecessor is damaged: they go, but
    // their bytes are kept aside first (the damage may be rot, not a crash).
    std::string cut = UnusedName(dir + "/journal.cut-" + std::to_string(at.last_seq + 1));
    size_t written = 0;
    if (!cut.empty() && WriteDurably(cut, journal.substr(keep), &written).ok()) report.cut_to = cut;
    if (ftruncate(fd.get(), static_cast<off_t>(keep)) != 0)
      return Status::Error(errno, "cannot cut the torn end off " + path + ": " + strerror(errno));
  }
  lseek(fd.get(), static_cast<off_t>(keep), SEEK_SET);
  return std::make_pair(std::move(fd), keep);
}

}  // namespace

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir, Tree& tree) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::Error(errno, "cannot create " + dir + ": " + strerror(errno));
  Position at;
  TXEND_ASSIGN_OR_RETURN(std::string snapshot, ReadFile(dir + "/snapshot"));
  TXEND_RETURN_IF_ERROR(ReplaySnapshot(dir + "/snapshot", snapshot, tree, at));
  JournalReplay report;
  TXEND_ASSIGN_OR_RETURN(auto journal, ReplayFile(dir, dir + "/journal", tree, at, report));
  // A compaction was under way: its records continue in journal.next.
  std::string next = dir + "/journal.next";
  bool next_file = access(next.c_str(), F_OK) == 0;
  if (next_file) {
    TXEND_ASSIGN_OR_RETURN(journal, ReplayFile(dir, next, tree, at, report));
  }
  std::unique_ptr<Journal> j(new Journal(dir, std::move(journal.first)));
  j->next_seq_ = at.last_seq + 1;
  j->journal_size_ = journal.second;
  j->snapshot_size_ = snapshot.size();
  j->next_file_ = next_file;
  j->compaction_due_ = report.skipped_bytes > 0 || next_file;
  j->replay_ = report;
  return j;
}

Journal::~Journal() {
  (void)Sync();
  if (compactor_.joinable()) compactor_.join();
}

Status Journal::WriteAll(int fd, const std::string& bytes, size_t* written) {
  Status st = WriteBytes(fd, bytes, written);
  bytes_written_ += *written;
  return st;
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
  if (dir_unsynced_) {  // the records in journal.next need its name on disk too
    if (Status st = SyncDir(dir_); !st.ok()) {
      ++write_errors_;
      return st;
    }
    dir_unsynced_ = false;
  }
  dirty_ = false;
  ++syncs_;
  return Status::Ok();
}

bool Journal::WantsCompaction() const {
  if (compacting() || journal_size_ < compact_after_size_) return false;
  return compaction_due_ ||
         (journal_size_ > kMinCompactBytes && journal_size_ > 2 * snapshot_size_);
}

Journal::Compacted Journal::WriteSnapshot(const std::string& dir, const Tree& tree, uint64_t seq,
                                          bool merge_next) {
  JournalRecordWriter snapshot(seq);  // holds every record up to `seq`
  tree.ForEach([&](const std::string& path, const Node& node) { snapshot.Set(path, node); });
  std::string bytes = snapshot.Framed();
  std::string tmp = dir + "/snapshot.tmp";
  Compacted done;
  size_t written = 0;
  done.status = WriteDurably(tmp, bytes, &written);
  done.bytes_written = written;
  if (done.status.ok() && rename(tmp.c_str(), (dir + "/snapshot").c_str()) != 0)
    done.status = Status::Error(errno, std::string("rename snapshot: ") + strerror(errno));
  if (!done.status.ok()) {
    unlink(tmp.c_str());  // give back the space a partial snapshot took
    return done;
  }
  // The journal holds nothing past `seq` now; journal.next (if any) takes its
  // name. ENOENT: an earlier attempt renamed it already.
  std::string next = dir + "/journal.next";
  if (merge_next && rename(next.c_str(), (dir + "/journal").c_str()) != 0 && errno != ENOENT)
    done.status = Status::Error(errno, std::string("rename journal.next: ") + strerror(errno));
  if (done.status.ok()) done.status = SyncDir(dir);
  done.snapshot_bytes = bytes.size();
  return done;
}

Status Journal::StartCompaction(const Tree& tree) {
  if (compacting()) return Status::Error(EBUSY, "a compaction is already running");
  TXEND_RETURN_IF_ERROR(Sync());  // what the replaced journal holds must be durable first
  UniqueFd old;
  if (!next_file_) {
    // From here on, records go to journal.next; the journal keeps those up to
    // the snapshot's number and is replaced by journal.next once it is written.
    std::string next = dir_ + "/journal.next";
    UniqueFd fd(open(next.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) {
      compact_after_size_ = journal_size_ + kCompactRetryGrowth;
      return Status::Error(errno, "cannot create " + next + ": " + strerror(errno));
    }
    old = std::move(fd_);
    fd_ = std::move(fd);
    journal_size_ = 0;
    next_file_ = dir_unsynced_ = true;
  }
  compaction_due_ = false;
  compacted_.store(false, std::memory_order_relaxed);
  compacting_tree_ = tree;  // O(1): the thread writes this snapshot
  compactor_ = std::thread([this, seq = next_seq_ - 1, old = std::move(old)]() mutable {
    compactor_result_ = WriteSnapshot(dir_, compacting_tree_, seq, true);
    old.reset();  // closing the replaced journal frees its blocks: not on the loop
    compacted_.store(true, std::memory_order_release);
  });
  return Status::Ok();
}

std::optional<Status> Journal::FinishCompaction() {
  if (!compactor_.joinable() || !compacted_.load(std::memory_order_acquire)) return std::nullopt;
  compactor_.join();
  // The nodes only the snapshot still holds are freed here, on the loop that
  // allocated them: freed on the thread, they took the allocator's lock from
  // under the loop (turns of up to 20 ms while a compaction ran).
  compacting_tree_ = Tree();
  return Account(std::move(compactor_result_));
}

Status Journal::Account(Compacted done) {
  bytes_written_ += done.bytes_written;
  if (!done.status.ok()) {
    ++write_errors_;
    compaction_due_ = true;
    compact_after_size_ = journal_size_ + kCompactRetryGrowth;
    return done.status;
  }
  snapshot_size_ = done.snapshot_bytes;
  next_file_ = false;
  compact_after_size_ = 0;
  ++compactions_;
  return Status::Ok();
}

Status Journal::Compact(const Tree& tree) {
  if (compactor_.joinable()) {
    compactor_.join();
    compacting_tree_ = Tree();
    (void)Account(std::move(compactor_result_));
  }
  Status st = Account(WriteSnapshot(dir_, tree, next_seq_ - 1, next_file_));
  if (!st.ok()) return st;
  compaction_due_ = false;
  dirty_ = dir_unsynced_ = false;
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
