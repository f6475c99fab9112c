// The simulated guest memory (lazy pages, dirty logging) and the save-stream
// codec the simulated hypervisor writes.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "toolstack/hypervisor/sim/guest_memory.h"
#include "toolstack/hypervisor/sim/save_stream.h"

namespace txend::toolstack {
namespace {

using Page = GuestMemory::Page;

Page Read(const GuestMemory& m, uint64_t pfn) {
  Page p;
  EXPECT_TRUE(m.Read(pfn, p).ok());
  return p;
}

TEST(GuestMemory, PagesAreGeneratedFromTheSeedWithoutStorage) {
  GuestMemory a(42, 1 << 20), b(42, 1 << 20), c(43, 1 << 20);  // 4 GiB each
  EXPECT_EQ(Read(a, 12345), Read(b, 12345));
  EXPECT_NE(Read(a, 12345), Read(c, 12345));
  EXPECT_NE(Read(a, 1), Read(a, 2));
  EXPECT_EQ(a.stored_pages(), 0u);
  Page out;
  EXPECT_EQ(a.Read(1 << 20, out).code(), EINVAL);
}

TEST(GuestMemory, WritesAreStoredOnlyWhenTheyDiffer) {
  GuestMemory m(7, 16);
  Page p = Read(m, 3);
  ASSERT_TRUE(m.Write(3, p).ok());  // same as generated
  EXPECT_EQ(m.stored_pages(), 0u);
  p[100] ^= 0xff;
  ASSERT_TRUE(m.Write(3, p).ok());
  EXPECT_EQ(m.stored_pages(), 1u);
  EXPECT_EQ(Read(m, 3), p);
  ASSERT_TRUE(m.Touch(5, 99).ok());
  EXPECT_EQ(m.stored_pages(), 2u);
  EXPECT_EQ(m.Write(16, p).code(), EINVAL);
}

TEST(GuestMemory, DigestFollowsContents) {
  GuestMemory a(1, 64), b(1, 64);
  EXPECT_EQ(a.Digest(), b.Digest());
  ASSERT_TRUE(a.Touch(10, 1).ok());
  EXPECT_NE(a.Digest(), b.Digest());
  ASSERT_TRUE(b.Write(10, Read(a, 10)).ok());
  EXPECT_EQ(a.Digest(), b.Digest());
  EXPECT_NE(GuestMemory(1, 64).Digest(), GuestMemory(1, 65).Digest());
}

TEST(GuestMemory, LogDirtyRecordsWritesUntilTaken) {
  GuestMemory m(3, 100);
  ASSERT_TRUE(m.Touch(1, 1).ok());  // before logging: not recorded
  m.EnableLogDirty();
  EXPECT_TRUE(m.log_dirty());
  for (uint64_t pfn : {50u, 7u, 50u, 99u}) ASSERT_TRUE(m.Touch(pfn, pfn).ok());
  EXPECT_EQ(m.dirty_count(), 3u);
  EXPECT_EQ(m.TakeDirty(), (std::vector<uint64_t>{7, 50, 99}));
  EXPECT_EQ(m.dirty_count(), 0u);
  EXPECT_TRUE(m.TakeDirty().empty());
  ASSERT_TRUE(m.Touch(8, 8).ok());
  m.Resize(8);  // drops page 8 and its dirty bit
  EXPECT_TRUE(m.TakeDirty().empty());
  m.DisableLogDirty();
  ASSERT_TRUE(m.Touch(2, 2).ok());
  EXPECT_EQ(m.dirty_count(), 0u);
}

TEST(GuestMemory, ResizeKeepsLowPagesAndGeneratesNewOnes) {
  GuestMemory m(9, 10);
  ASSERT_TRUE(m.Touch(2, 5).ok());
  ASSERT_TRUE(m.Touch(9, 5).ok());
  Page two = Read(m, 2);
  m.Resize(5);
  EXPECT_EQ(m.stored_pages(), 1u);
  m.Resize(20);
  EXPECT_EQ(Read(m, 2), two);
  EXPECT_EQ(Read(m, 9), Read(GuestMemory(9, 20), 9));  // regenerated, not the touched one
}

TEST(SaveStream, RecordsRoundTrip) {
  SavedDomain d{true, 5, 3, 1000, 900, 0xabc};
  EXPECT_EQ(*DecodeDomain(EncodeDomain(d)), d);
  SavedContext c;
  c.vcpus = {{true, false, CpuSet{0, 2}}, {false, true, CpuSet{1}}};
  c.credit = {512, 50};
  c.store_pfn = 898;
  c.console_pfn = 899;
  c.shadow_kib = 4096;
  EXPECT_EQ(*DecodeContext(EncodeContext(c)), c);
  PageBatch b;
  b.pfns = {4, 1};
  b.data = std::string(2 * 4096, 'x');
  auto back = DecodePages(EncodePages(b));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pfns, b.pfns);
  EXPECT_EQ(back->data, b.data);
}

TEST(SaveStream, DecodersRejectDamagedPayloads) {
  std::string d = EncodeDomain({});
  EXPECT_EQ(DecodeDomain(d.substr(1)).status().code(), EINVAL);
  EXPECT_EQ(DecodeDomain(d + "x").status().code(), EINVAL);
  std::string c = EncodeContext({});
  EXPECT_EQ(DecodeContext(c.substr(0, c.size() - 1)).status().code(), EINVAL);
  std::string huge = c;
  huge[0] = huge[1] = huge[2] = huge[3] = '\xff';  // 4 billion vcpus
  EXPECT_EQ(DecodeContext(huge).status().code(), EINVAL);
  PageBatch b;
  b.pfns = {1};
  b.data = std::string(4096, 'y');
  std::string p = EncodePages(b);
  EXPECT_EQ(DecodePages(p.substr(0, p.size() - 1)).status().code(), EINVAL);
  EXPECT_EQ(DecodePages(p + "z").status().code(), EINVAL);
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void CloseWriter() {
    ::close(w);
    w = -1;
  }
};

TEST(SaveStream, ReaderStopsAtEndAndLeavesTheRest) {
  Pipe p;
  SaveStreamWriter w(p.w);
  ASSERT_TRUE(w.WriteHeader().ok());
  ASSERT_TRUE(w.WriteRecord(RecordType::kDomain, "abc").ok());
  ASSERT_TRUE(w.WriteRecord(RecordType::kEnd, "").ok());
  ASSERT_EQ(::write(p.w, "TAIL", 4), 4);
  p.CloseWriter();
  SaveStreamReader r(p.r);
  ASSERT_TRUE(r.ReadHeader().ok());
  auto rec = r.ReadRecord();
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->type, RecordType::kDomain);
  EXPECT_EQ(rec->payload, "abc");
  EXPECT_EQ(r.ReadRecord()->type, RecordType::kEnd);
  char tail[8] = {};
  EXPECT_EQ(::read(p.r, tail, sizeof tail), 4);
  EXPECT_STREQ(tail, "TAIL");
}

TEST(SaveStream, ReaderRejectsForeignTruncatedAndOversizedInput) {
  {
    Pipe p;
    ASSERT_EQ(::write(p.w, "LinuxGuestRecord", 16), 16);
    p.CloseWriter();
    Status st = SaveStreamReader(p.r).ReadHeader();
    EXPECT_EQ(st.code(), EINVAL);
    EXPECT_NE(st.message().find("bad magic"), std::string::npos);
  }
  {
    Pipe p;
    ASSERT_EQ(::write(p.w, "TXSIM", 5), 5);
    p.CloseWriter();
    EXPECT_EQ(SaveStreamReader(p.r).ReadHeader().message(), "corrupt save image: truncated");
  }
  {
    Pipe p;
    SaveStreamWriter w(p.w);
    ASSERT_TRUE(w.WriteHeader().ok());
    const char header[16] = {2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0};  // 1 TiB record
    ASSERT_EQ(::write(p.w, header, 16), 16);
    p.CloseWriter();
    SaveStreamReader r(p.r);
    ASSERT_TRUE(r.ReadHeader().ok());
    EXPECT_EQ(r.ReadRecord().status().code(), EINVAL);
  }
  {
    Pipe p;
    SaveStreamWriter w(p.w);
    ASSERT_TRUE(w.WriteHeader().ok());
    const char header[16] = {9, 0, 0, 0};  // unknown type
    ASSERT_EQ(::write(p.w, header, 16), 16);
    p.CloseWriter();
    SaveStreamReader r(p.r);
    ASSERT_TRUE(r.ReadHeader().ok());
    EXPECT_EQ(r.ReadRecord().status().message(), "corrupt save image: unknown record type 9");
  }
}

}  // namespace
}  // namespace txend::toolstack
