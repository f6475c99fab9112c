// Helpers for hypervisor tests: a built PV domain and an fd on a file.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_kernel.h"
#include "tests/support/files.h"
#include "toolstack/hypervisor/hypervisor.h"

namespace txend::testing {

// Creates, sizes and builds a PV domain of `memory_kib` with `vcpus` vcpus.
struct BuiltDomain {
  toolstack::DomId domid = 0;
  uint32_t store_port = 0;
  uint32_t console_port = 0;
  toolstack::GuestRings rings;
};

inline BuiltDomain BuildDomain(toolstack::Hypervisor& hv, const std::string& kernel,
                               uint64_t memory_kib, uint32_t vcpus = 1,
                               toolstack::Uuid uuid = toolstack::Uuid::FromRandomBits(1, 2)) {
  BuiltDomain b;
  toolstack::CreateRequest create;
  create.uuid = uuid;
  create.max_vcpus = vcpus;
  auto domid = hv.CreateDomain(create);
  EXPECT_TRUE(domid.ok()) << domid.status().ToString();
  b.domid = *domid;
  EXPECT_TRUE(hv.SetMaxMemory(b.domid, memory_kib).ok());
  b.store_port = hv.AllocUnboundPort(b.domid, toolstack::kDom0).value();
  b.console_port = hv.AllocUnboundPort(b.domid, toolstack::kDom0).value();
  toolstack::PvBuildRequest build;
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

}  // namespace txend::testing
