#include "tests/support/eventually.h"

#include <thread>

namespace txend::testing {

bool Eventually(std::chrono::milliseconds limit, const std::function<bool()>& done,
                std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

}  // namespace txend::testing
