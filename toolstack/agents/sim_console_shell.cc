#include "toolstack/agents/sim_console_shell.h"

#include <cstdio>
#include <map>

namespace txend::toolstack {
namespace {

constexpr std::string_view kKernel = "6.1.0-txend-sim";
constexpr char kBackspace = 0x08, kDelete = 0x7f;

// A typed line's first word and the rest.
std::pair<std::string_view, std::string_view> SplitCommand(std::string_view line) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  line = trim(line);
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return {line, {}};
  return {line.substr(0, space), trim(line.substr(space + 1))};
}

std::string Lines(std::initializer_list<std::string> lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  return out;
}

}  // namespace

SimConsoleShell::SimConsoleShell(GuestFacts facts, size_t max_line)
    : facts_(std::move(facts)), max_line_(max_line), started_(std::chrono::steady_clock::now()) {}

std::string SimConsoleShell::Prompt() const { return "root@" + facts_.name + ":~# "; }

std::string SimConsoleShell::BootLog() const {
  std::string mib = std::to_string(facts_.memory_kib / 1024);
  std::string cpus = std::to_string(facts_.vcpus);
  return Lines(
             {"Linux version " + std::string(kKernel) + " (txend simulator) #1 SMP",
              "Booting paravirtualized kernel on Xen (domain " + std::to_string(facts_.domid) + ")",
              "Memory: " + mib + "MiB available", "smp: Brought up 1 node, " + cpus + " CPUs",
              "xen_netfront: Initialising Xen virtual ethernet driver",
              "blkfront: xvda: barrier or flush: enabled", "Run /sbin/init as init process", "",
              facts_.name + " login: root (automatic login)", ""}) +
         Prompt();
}

std::string SimConsoleShell::ResumeLog() const {
  return Lines(
             {"", "PM: resumed from a saved image (domain " + std::to_string(facts_.domid) + ")"}) +
         Prompt();
}

std::string SimConsoleShell::ReopenLog() const {
  return Lines({"", "[console reopened: the toolstack restarted]"}) + Prompt();
}

std::string SimConsoleShell::Input(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    if (c == '\r' || c == '\n') {
      out += "\r\n" + Run(line_) + Prompt();
      line_.clear();
    } else if (c == kBackspace || c == kDelete) {
      if (!line_.empty()) {
        line_.pop_back();
        out += "\b \b";
      }
    } else if (c >= 0x20 && c < 0x7f && line_.size() < max_line_) {
      line_ += c;
      out += c;
    }
  }
  return out;
}

std::string SimConsoleShell::Uptime() const {
  auto up =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count();
  char buf[96];
  snprintf(buf, sizeof buf, " up %lld:%02lld, 1 user, load average: 0.00, 0.00, 0.00",
           static_cast<long long>(up / 60), static_cast<long long>(up % 60));
  return buf;
}

std::string SimConsoleShell::Run(std::string_view line) {
  using Command = std::string (*)(SimConsoleShell&, std::string_view args);
  static const std::map<std::string_view, Command> kCommands = {
      {"help",
       [](SimConsoleShell&, std::string_view) {
         return std::string(
             "commands: hostname, uname [-a], uptime, free, nproc, echo, poweroff, help");
       }},
      {"hostname", [](SimConsoleShell& s, std::string_view) { return s.facts_.name; }},
      {"uname",
       [](SimConsoleShell& s, std::string_view args) {
         return args == "-a" ? "Linux " + s.facts_.name + " " + std::string(kKernel) +
                                   " #1 SMP x86_64 GNU/Linux"
                             : std::string("Linux");
       }},
      {"uptime", [](SimConsoleShell& s, std::string_view) { return s.Uptime(); }},
      {"free",
       [](SimConsoleShell& s, std::string_view) {
         return "Mem: " + std::to_string(s.facts_.memory_kib) + " kB total";
       }},
      {"nproc",
       [](SimConsoleShell& s, std::string_view) { return std::to_string(s.facts_.vcpus); }},
      {"echo", [](SimConsoleShell&, std::string_view args) { return std::string(args); }},
      {"poweroff",
       [](SimConsoleShell& s, std::string_view) {
         s.poweroff_ = true;
         return std::string("Powering off.");
       }},
  };
  auto [command, args] = SplitCommand(line);
  if (command.empty()) return "";
  auto it = kCommands.find(command);
  if (it == kCommands.end()) return "-sh: " + std::string(command) + ": command not found\r\n";
  return it->second(*this, args) + "\r\n";
}

}  // namespace txend::toolstack
