// Helpers for hypervisor tests: fake kernel files and a built PV domain.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "toolstack/hypervisor/hypervisor.h"

namespace txend::toolstack::testing {

// The first bytes of an x86-64 ELF executable, enough for ProbeKernelImage.
inline std::vector<uint8_t> Elf64Header() {
  std::vector<uint8_t> h(64, 0);
  h[0] = 0x7f, h[1] = 'E', h[2] = 'L', h[3] = 'F';
  h[4] = 2;    // ELFCLASS64
  h[5] = 1;    // little-endian
  h[6] = 1;    // version
  h[16] = 2;   // ET_EXEC
  h[18] = 62;  // EM_X86_64
  return h;
}

inline std::string WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Creates, sizes and builds a PV domain of `memory_kib` with `vcpus` vcpus.
struct BuiltDomain {
  DomId domid = 0;
  uint32_t store_port = 0;
  uint32_t console_port = 0;
  GuestRings rings;
};

inline BuiltDomain BuildDomain(Hypervisor& hv, const std::string& kernel, uint64_t memory_kib,
                               uint32_t vcpus = 1, Uuid uuid = Uuid::FromRandomBits(1, 2)) {
  BuiltDomain b;
  CreateRequest create;
  create.uuid = uuid;
  create.max_vcpus = vcpus;
  auto domid = hv.CreateDomain(create);
  EXPECT_TRUE(domid.ok()) << domid.status().ToString();
  b.domid = *domid;
  EXPECT_TRUE(hv.SetMaxMemory(b.domid, memory_kib).ok());
  b.store_port = hv.AllocUnboundPort(b.domid, kDom0).value();
  b.console_port = hv.AllocUnboundPort(b.domid, kDom0).value();
  PvBuildRequest build;
  build.kernel = kernel;
  build.memory_kib = memory_kib;
  build.store_port = b.store_port;
  build.console_port = b.console_port;
  auto rings = hv.BuildPv(b.domid, build);
  EXPECT_TRUE(rings.ok()) << rings.status().ToString();
  if (rings.ok()) b.rings = *rings;
  return b;
}

// An fd on a new file at `path`, closed on destruction.
class File {
 public:
  File(const std::string& path, int flags) : fd_(::open(path.c_str(), flags | O_CLOEXEC, 0600)) {
    EXPECT_GE(fd_, 0) << path;
  }
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace txend::toolstack::testing
