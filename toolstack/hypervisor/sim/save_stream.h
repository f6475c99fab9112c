// The simulated hypervisor's save stream: a header, then typed records up to
// an END record. Self-delimiting, so it can follow a toolstack header in a
// file or travel through a pipe or socket. Integers are little-endian.
//   header  "TXSIMSAV", u32 version, u32 flags (0)
//   record  u32 type, u32 reserved (0), u64 payload length, payload
// Order: DOMAIN, PAGE_DATA..., CONTEXT, END.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "toolstack/hypervisor/cpu_set.h"
#include "toolstack/hypervisor/domain_info.h"

namespace txend::toolstack {

inline constexpr uint32_t kSaveStreamVersion = 1;
// Largest record payload a reader accepts (a page batch is ~4 MiB).
inline constexpr uint64_t kMaxRecordBytes = 16ull << 20;

// A stream carries each page at most this many times on average (pre-copy
// rounds, then the final copy): more page data is refused as a runaway stream.
inline constexpr uint64_t kMaxPagePasses = 8;

enum class RecordType : uint32_t { kEnd = 0, kDomain = 1, kPageData = 2, kContext = 3 };

// First record: what restore must allocate before pages arrive.
struct SavedDomain {
  bool hvm = false;
  uint32_t ssidref = 0;
  uint32_t vcpus = 0;
  uint64_t max_pages = 0;
  uint64_t nr_pages = 0;
  uint64_t memory_seed = 0;
  bool operator==(const SavedDomain&) const = default;
};

struct SavedVcpu {
  bool online = false;
  bool blocked = false;
  CpuSet affinity;
  bool operator==(const SavedVcpu&) const = default;
};

// Last record before END, taken once the guest is suspended.
struct SavedContext {
  std::vector<SavedVcpu> vcpus;
  SchedCredit credit;
  uint64_t store_pfn = 0;
  uint64_t console_pfn = 0;
  uint64_t shadow_kib = 0;
  bool operator==(const SavedContext&) const = default;
};

// Pages and their contents (pfns.size() * 4096 bytes).
struct PageBatch {
  std::vector<uint64_t> pfns;
  std::string data;
};

std::string EncodeDomain(const SavedDomain& d);
Result<SavedDomain> DecodeDomain(std::string_view payload);
std::string EncodeContext(const SavedContext& c);
Result<SavedContext> DecodeContext(std::string_view payload);
std::string EncodePages(const PageBatch& batch);
Result<PageBatch> DecodePages(std::string_view payload);

struct Record {
  RecordType type = RecordType::kEnd;
  std::string payload;
};

// Writes a stream to a file descriptor (blocking, retrying short writes).
class SaveStreamWriter {
 public:
  explicit SaveStreamWriter(int fd) : fd_(fd) {}
  Status WriteHeader();
  Status WriteRecord(RecordType type, std::string_view payload);

 private:
  int fd_;
};

// Reads a stream from a file descriptor, never past the END record.
class SaveStreamReader {
 public:
  explicit SaveStreamReader(int fd) : fd_(fd) {}
  // EINVAL if the stream is not a simulated-hypervisor save image.
  Status ReadHeader();
  // EINVAL for truncated or oversized records; the OS errno for read errors.
  Result<Record> ReadRecord();

 private:
  int fd_;
};

}  // namespace txend::toolstack
