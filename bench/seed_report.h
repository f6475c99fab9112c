// The seed scenario's report: a markdown table of every run beside xend's
// figures and the targets, the budget check the CTest test relies on, and
// the update of one section of bench/RESULTS.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "bench/seed_scenario.h"

namespace txend::bench {

// One row per figure, one column per domain count.
std::string SeedTable(const std::vector<ScenarioFigures>& runs);

inline constexpr const char* kSeedHeading = "## Seed scenario (issue 6)";

// The whole RESULTS.md section: heading, `command`, machine and `conditions`
// (e.g. the load average), method, table.
std::string SeedSection(const std::vector<ScenarioFigures>& runs, const std::string& command,
                        const std::string& conditions);

// The idle-monitor table and its verdict line ("" when no run measured monitors).
std::string IdleTable(const std::vector<ScenarioFigures>& runs);
// What N parked monitors may cost above none: a share of one core.
inline constexpr double kIdleShareLimit = 0.005;

// The most xenstore transactions one `xm create` may cost (create, wait_for_devices, unpause).
inline constexpr uint64_t kCreateTransactionBudget = 3;

// Count budgets exceeded in any run (per read > 1 transaction or > 0 xsd disk
// bytes, per create > kCreateTransactionBudget transactions); empty when all are met.
std::vector<std::string> BudgetViolations(const std::vector<ScenarioFigures>& runs);

// Replaces the section of markdown file `path` that starts with line `heading`
// (up to the next "## " heading) with `text`, or appends it.
Status WriteSection(const std::string& path, const std::string& heading, const std::string& text);

}  // namespace txend::bench
