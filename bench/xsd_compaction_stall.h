// How long xsd's loop stalls while the journal compacts a large store: the
// loop's turns (one WRITE handled, then the group commit, as in the server)
// timed in process over a real --persist directory, those that overlap a
// compaction against the others of the same run; and what one synchronous
// compaction of the same store costs (what the loop used to spend in it).
#pragma once

#include <cstddef>
#include <string>

namespace txend::bench {

struct TurnTimes {
  size_t turns = 0;
  double p99_us = 0;
  double max_us = 0;
};

struct CompactionStall {
  size_t nodes = 0;
  size_t compactions = 0;     // compactions completed while timing
  TurnTimes during;           // turns that started, ended or booked a compaction
  TurnTimes outside;          // every other turn
  double synchronous_ms = 0;  // one Journal::Compact of the store, on the calling thread
  size_t snapshot_bytes = 0;  // size of that snapshot
};

// Fills a store persisted in `dir` with `nodes` nodes, then times turns that
// write 16 KiB values (so the journal soon outgrows the snapshot), 2000 a
// second, for at least `seconds` and until at least two compactions completed.
CompactionStall MeasureCompactionStall(const std::string& dir, size_t nodes, double seconds);

}  // namespace txend::bench
