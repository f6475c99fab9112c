// StoreDir: an xsd store directory (journal and snapshot) for a fuzzer process,
// on tmpfs when there is one; emptied between inputs, removed at exit.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace txend::fuzz {

class StoreDir {
 public:
  StoreDir() {
    const char* tmp = getenv("TMPDIR");
    std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp ? tmp : "/tmp");
    path_ = base + "/xsd-fuzz-XXXXXX";
    if (mkdtemp(path_.data()) == nullptr) {
      perror("fuzzer: cannot create a store directory");
      abort();
    }
  }
  ~StoreDir() {
    Empty();
    rmdir(path_.c_str());
  }
  // Removes every file: journal, snapshot, and the journal.cut-* files replay keeps aside.
  void Empty() const {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path_, ec))
      std::filesystem::remove(e.path(), ec);
  }
  void Write(const char* name, const std::string& bytes) const {
    std::ofstream(path_ + name, std::ios::binary) << bytes;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace txend::fuzz
