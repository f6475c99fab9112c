// SimConsoleShell: what a simulated guest says on its console — a boot log
// with the domain's name, memory and vcpus, then a tiny shell that echoes what
// is typed, as a guest's line discipline would, and answers a few commands.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace txend::toolstack {

// The facts a simulated guest's console shows.
struct GuestFacts {
  uint32_t domid = 0;
  std::string name;
  uint64_t memory_kib = 0;
  uint32_t vcpus = 1;
};

class SimConsoleShell {
 public:
  // `max_line`: bytes kept of one typed line; the rest of a longer line is dropped.
  SimConsoleShell(GuestFacts facts, size_t max_line);

  // The first output of a guest that boots, resumes from a saved image, or
  // whose console was reopened (txend restarted); each ends at a prompt.
  std::string BootLog() const;
  std::string ResumeLog() const;
  std::string ReopenLog() const;

  // Takes typed bytes; returns what the guest writes back.
  std::string Input(std::string_view bytes);
  // Someone typed `poweroff` since the last call.
  bool TakePoweroffRequest() { return std::exchange(poweroff_, false); }

 private:
  std::string Prompt() const;
  std::string Run(std::string_view line);
  std::string Uptime() const;

  GuestFacts facts_;
  size_t max_line_;
  std::chrono::steady_clock::time_point started_;
  std::string line_;
  bool poweroff_ = false;
};

}  // namespace txend::toolstack
