// scenario_bench: runs the seed scenario (bench/seed_scenario.h) for each
// requested domain count, prints the table, optionally writes it into
// bench/RESULTS.md, and with --check fails when a count budget is exceeded.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "bench/seed_report.h"
#include "bench/seed_scenario.h"
#include "tests/support/daemon_process.h"

namespace txend::bench {
namespace {

// Default polling time: long at 20 domains (the 1 Hz CPU figure), shorter as
// N grows so a full 20/200/1000 run stays within minutes.
double DefaultSeconds(int domains) { return domains <= 20 ? 20 : domains <= 200 ? 10 : 5; }

std::string CommandLine(int argc, char** argv) {
  std::string s = "./build/bin/scenario_bench";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

// The 1-minute load average: how busy the shared machine was.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "Seed scenario: N domains read once per second through txend; costs per read and per create",
      "scenario_bench"};
  std::vector<int> domains{20, 200, 1000};
  std::vector<double> seconds;
  int rounds = 0;
  ScenarioOptions base;
  base.xm_program = testing::BinPath("xm");
  std::string results;
  bool check = false;
  app.add_option("--domains", domains, "domain counts, one fresh stack each")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option(
         "--seconds", seconds,
         "polling time per domain count (default 20 s up to 20 domains, 10 s up to 200, else 5 s)")
      ->delimiter(',');
  app.add_option("--rounds", rounds, "polling rounds, overriding --seconds");
  app.add_option("--interval", base.interval_s, "seconds between round starts; 0: back to back")
      ->capture_default_str();
  app.add_option("--memory", base.domain_memory_mib, "MiB of memory per domain")
      ->capture_default_str();
  app.add_option("--repeats", base.repeats, "runs of GET-all and `xm list`")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--detail-reads", base.detail_reads,
                 "back-to-back reads of one domain, for its CPU per read (0: none)")
      ->capture_default_str();
  app.add_option("--xm", base.xm_program,
                 "the xm program (`xm list` is skipped if it does not exist)")
      ->capture_default_str();
  app.add_option("--baseline-xm", base.baseline_xm,
                 "an older xm whose `xm shutdown -w` is timed beside --xm's (e.g. main's build)");
  app.add_option("--results", results,
                 "markdown file whose seed-scenario section is replaced (e.g. bench/RESULTS.md)");
  app.add_option(
         "--idle-monitors", base.idle_monitors,
         "monitor counts parked in GET /xend/events, one idle window each (e.g. 0,100,1000)")
      ->delimiter(',');
  app.add_option("--idle-seconds", base.idle_seconds, "the idle window")->capture_default_str();
  app.add_flag("--hold", base.hold,
               "after each domain count, keep its stack up until Enter (for inspection)");
  app.add_flag("--check", check, "exit 1 if a transaction or disk-byte budget is exceeded");
  CLI11_PARSE(app, argc, argv);

  std::string load_before = LoadAverage();
  std::vector<ScenarioFigures> runs;
  for (size_t i = 0; i < domains.size(); ++i) {
    ScenarioOptions o = base;
    o.domains = domains[i];
    double s =
        seconds.empty() ? DefaultSeconds(o.domains) : seconds[std::min(i, seconds.size() - 1)];
    o.rounds = rounds > 0
                   ? rounds
                   : std::max(1, static_cast<int>(s / (o.interval_s > 0 ? o.interval_s : 1)));
    std::fprintf(stderr, "scenario: %d domains: %d rounds, one every %.1f s\n", o.domains, o.rounds,
                 o.interval_s);
    auto figures = RunSeedScenario(o);
    if (!figures.ok()) {
      std::fprintf(stderr, "scenario_bench: %d domains: %s\n", o.domains,
                   figures.status().ToString().c_str());
      return 2;
    }
    runs.push_back(std::move(*figures));
  }
  std::string conditions =
      "1-minute load average " + load_before + " before the run, " + LoadAverage() + " after";
  std::string section = SeedSection(runs, CommandLine(argc, argv), conditions);
  std::cout << section;
  if (!results.empty()) {
    Status st = WriteSection(results, kSeedHeading, section);
    if (!st.ok()) {
      std::fprintf(stderr, "scenario_bench: %s\n", st.ToString().c_str());
      return 2;
    }
  }
  auto violations = BudgetViolations(runs);
  for (const auto& v : violations) std::fprintf(stderr, "BUDGET EXCEEDED: %s\n", v.c_str());
  return check && !violations.empty() ? 1 : 0;
}

}  // namespace
}  // namespace txend::bench

int main(int argc, char** argv) { return txend::bench::Main(argc, argv); }
