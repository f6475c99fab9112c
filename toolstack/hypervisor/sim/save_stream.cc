#include "toolstack/hypervisor/sim/save_stream.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace txend::toolstack {
namespace {

constexpr std::string_view kMagic = "TXSIMSAV";
constexpr size_t kPage = 4096;

class ByteWriter {
 public:
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Bytes(std::string_view b) { out_.append(b); }
  std::string Take() { return std::move(out_); }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  std::string out_;
};

// Reads fields in order; once a read runs past the end, every later read
// fails too and ok() turns false.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  uint32_t U32() { return static_cast<uint32_t>(Le(4)); }
  uint64_t U64() { return Le(8); }
  std::string_view Bytes(size_t n) {
    if (!ok_ || in_.size() < n) return Fail();
    auto b = in_.substr(0, n);
    in_.remove_prefix(n);
    return b;
  }
  bool ok() const { return ok_; }
  bool AtEnd() const { return ok_ && in_.empty(); }

 private:
  std::string_view Fail() {
    ok_ = false;
    return {};
  }
  uint64_t Le(int n) {
    auto b = Bytes(static_cast<size_t>(n));
    uint64_t v = 0;
    for (size_t i = 0; i < b.size(); ++i) v |= uint64_t(static_cast<uint8_t>(b[i])) << (8 * i);
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

Status Corrupt(std::string_view what) {
  return Status::Error(EINVAL, "corrupt save image: " + std::string(what));
}

void PutCpuSet(ByteWriter& w, const CpuSet& s) {
  w.U32(static_cast<uint32_t>(s.Count()));
  for (uint32_t c : s.ToVector()) w.U32(c);
}

CpuSet GetCpuSet(ByteReader& r) {
  CpuSet s;
  uint32_t n = r.U32();
  for (uint32_t i = 0; i < n && r.ok(); ++i) s.Add(r.U32());
  return s;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::Error(errno, std::string("writing save image: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Fills `buf` exactly; EINVAL ("truncated") if the stream ends first.
Status ReadExact(int fd, char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = ::read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::Error(errno, std::string("reading save image: ") + std::strerror(errno));
    if (n == 0) return Corrupt("truncated");
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeDomain(const SavedDomain& d) {
  ByteWriter w;
  w.U32(d.hvm);
  w.U32(d.ssidref);
  w.U32(d.vcpus);
  w.U64(d.max_pages);
  w.U64(d.nr_pages);
  w.U64(d.memory_seed);
  return w.Take();
}

Result<SavedDomain> DecodeDomain(std::string_view payload) {
  ByteReader r(payload);
  SavedDomain d;
  d.hvm = r.U32() != 0;
  d.ssidref = r.U32();
  d.vcpus = r.U32();
  d.max_pages = r.U64();
  d.nr_pages = r.U64();
  d.memory_seed = r.U64();
  if (!r.AtEnd()) return Corrupt("bad DOMAIN record");
  return d;
}

std::string EncodeContext(const SavedContext& c) {
  ByteWriter w;
  w.U32(static_cast<uint32_t>(c.vcpus.size()));
  for (const auto& v : c.vcpus) {
    w.U32(v.online | (v.blocked << 1));
    PutCpuSet(w, v.affinity);
  }
  w.U32(c.credit.weight);
  w.U32(c.credit.cap);
  w.U64(c.store_pfn);
  w.U64(c.console_pfn);
  w.U64(c.shadow_kib);
  return w.Take();
}

Result<SavedContext> DecodeContext(std::string_view payload) {
  ByteReader r(payload);
  SavedContext c;
  uint32_t n = r.U32();
  if (n > payload.size() / 8) return Corrupt("bad vcpu count in CONTEXT record");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    uint32_t flags = r.U32();
    c.vcpus.push_back({(flags & 1) != 0, (flags & 2) != 0, GetCpuSet(r)});
  }
  c.credit.weight = r.U32();
  c.credit.cap = r.U32();
  c.store_pfn = r.U64();
  c.console_pfn = r.U64();
  c.shadow_kib = r.U64();
  if (!r.AtEnd()) return Corrupt("bad CONTEXT record");
  return c;
}

std::string EncodePages(const PageBatch& batch) {
  ByteWriter w;
  w.U32(static_cast<uint32_t>(batch.pfns.size()));
  w.U32(0);
  for (uint64_t pfn : batch.pfns) w.U64(pfn);
  w.Bytes(batch.data);
  return w.Take();
}

Result<PageBatch> DecodePages(std::string_view payload) {
  ByteReader r(payload);
  uint32_t n = r.U32();
  r.U32();
  if (!r.ok() || n > payload.size() / kPage) return Corrupt("bad page count in PAGE_DATA record");
  PageBatch batch;
  batch.pfns.reserve(n);
  for (uint32_t i = 0; i < n; ++i) batch.pfns.push_back(r.U64());
  batch.data = std::string(r.Bytes(size_t{n} * kPage));
  if (!r.AtEnd()) return Corrupt("bad PAGE_DATA record length");
  return batch;
}

Status SaveStreamWriter::WriteHeader() {
  ByteWriter w;
  w.Bytes(kMagic);
  w.U32(kSaveStreamVersion);
  w.U32(0);
  return WriteAll(fd_, w.Take());
}

Status SaveStreamWriter::WriteRecord(RecordType type, std::string_view payload) {
  ByteWriter w;
  w.U32(static_cast<uint32_t>(type));
  w.U32(0);
  w.U64(payload.size());
  TXEND_RETURN_IF_ERROR(WriteAll(fd_, w.Take()));
  return WriteAll(fd_, payload);
}

Status SaveStreamReader::ReadHeader() {
  char header[16];
  TXEND_RETURN_IF_ERROR(ReadExact(fd_, header, sizeof header));
  ByteReader r(std::string_view(header, sizeof header));
  if (r.Bytes(kMagic.size()) != kMagic)
    return Status::Error(EINVAL, "not a simulated-hypervisor save image (bad magic)");
  uint32_t version = r.U32();
  if (version != kSaveStreamVersion)
    return Status::Error(EINVAL, "save image version " + std::to_string(version) +
                                     " not supported (want " + std::to_string(kSaveStreamVersion) +
                                     ")");
  return Status::Ok();
}

Result<Record> SaveStreamReader::ReadRecord() {
  char header[16];
  TXEND_RETURN_IF_ERROR(ReadExact(fd_, header, sizeof header));
  ByteReader r(std::string_view(header, sizeof header));
  uint32_t type = r.U32();
  r.U32();
  uint64_t length = r.U64();
  if (type > static_cast<uint32_t>(RecordType::kContext))
    return Corrupt("unknown record type " + std::to_string(type));
  if (length > kMaxRecordBytes) return Corrupt("record of " + std::to_string(length) + " bytes");
  Record rec{static_cast<RecordType>(type), std::string(length, '\0')};
  TXEND_RETURN_IF_ERROR(ReadExact(fd_, rec.payload.data(), rec.payload.size()));
  return rec;
}

}  // namespace txend::toolstack
