#include "xsd/published_generation.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <sys/mman.h>

#include "base/unique_fd.h"

namespace txend::xsd {

Result<std::unique_ptr<PublishedGeneration>> PublishedGeneration::Create(
    const std::string& socket_path, uint64_t generation) {
  std::string path = wire::WriteGenerationPath(socket_path);
  std::string temp = path + ".new";
  unlink(temp.c_str());
  UniqueFd fd(open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Status::Error(errno, "cannot create " + temp + ": " + strerror(errno));
  size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* mem = ftruncate(fd.get(), static_cast<off_t>(size)) == 0
                  ? mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0)
                  : MAP_FAILED;
  wire::WriteGenerationPage* page = nullptr;
  if (mem != MAP_FAILED) {  // filled in before a client can open it
    page = new (mem) wire::WriteGenerationPage;
    page->pid = getpid();
    page->generation.store(generation, std::memory_order_release);
  }
  if (!page || rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (page) munmap(mem, size);
    unlink(temp.c_str());
    return Status::Error(err, "cannot publish " + path + ": " + strerror(err));
  }
  return std::unique_ptr<PublishedGeneration>(new PublishedGeneration(path, page, generation));
}

PublishedGeneration::~PublishedGeneration() {
  unlink(path_.c_str());
  munmap(page_, static_cast<size_t>(sysconf(_SC_PAGESIZE)));
}

}  // namespace txend::xsd
