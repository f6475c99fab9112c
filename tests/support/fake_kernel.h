// Test support: a file a domain builder accepts as a guest kernel (an x86-64 ELF header).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace txend::testing {

// The first 64 bytes of an x86-64 ELF executable, enough for ProbeKernelImage.
std::vector<uint8_t> Elf64Header();

// Writes Elf64Header() to `path`; returns `path`.
std::string WriteFakeKernel(const std::string& path);

}  // namespace txend::testing
