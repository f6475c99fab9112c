#include "tests/support/files.h"

#include <fstream>
#include <sstream>

namespace txend::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  // Not istreambuf_iterator: a failed read (a /proc entry whose process has exited) throws
  // there; here it ends the copy.
  bytes << in.rdbuf();
  return bytes.str();
}

std::string WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace txend::testing
