#include "tests/support/fake_kernel.h"

#include "tests/support/files.h"

namespace txend::testing {

std::vector<uint8_t> Elf64Header() {
  std::vector<uint8_t> h(64, 0);
  h[0] = 0x7f, h[1] = 'E', h[2] = 'L', h[3] = 'F';
  h[4] = 2;    // ELFCLASS64
  h[5] = 1;    // little-endian
  h[6] = 1;    // EI_VERSION
  h[16] = 2;   // ET_EXEC
  h[18] = 62;  // EM_X86_64
  h[20] = 1;   // EV_CURRENT
  return h;
}

std::string WriteFakeKernel(const std::string& path) { return WriteFile(path, Elf64Header()); }

}  // namespace txend::testing
