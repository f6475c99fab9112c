// `xm top`: xentop over txend's API — a refreshing screen on a terminal, or frames one after
// another with -b; -d seconds between samples, -i samples in all.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ostream>
#include <thread>

#include "cli/host_io_counters.h"
#include "cli/xm_commands.h"
#include "cli/xm_top.h"

namespace txend::xm {
namespace {

constexpr double kMaxDelaySeconds = 3600;
constexpr char kHomeAndClear[] = "\x1b[H\x1b[2J";

// The running domains by name, the node, and the host's counters for them, taken now.
Result<TopSample> Sample(Xend& xend) {
  TopSample s;
  TXEND_ASSIGN_OR_RETURN(auto all, xend.Domains("all"));
  std::erase_if(all, [](const sxp::Value& d) { return sxp::ChildValue(d, "domid").empty(); });
  std::stable_sort(all.begin(), all.end(), [](const sxp::Value& a, const sxp::Value& b) {
    return sxp::ChildValue(a, "name") < sxp::ChildValue(b, "name");
  });
  std::vector<std::string> domids;
  for (const auto& d : all) domids.push_back(sxp::ChildValue(d, "domid"));
  s.domains = std::move(all);
  TXEND_ASSIGN_OR_RETURN(s.node, xend.Node());
  s.io = ReadHostDomainIo(domids);
  s.monotonic_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  s.wall = time(nullptr);
  return s;
}

// Our own fixed escape goes straight to the terminal; what txend sent stays filtered.
void ClearScreen(std::ostream& out) {
  out.flush();
  (void)!::write(STDOUT_FILENO, kHomeAndClear, sizeof kHomeAndClear - 1);
}

}  // namespace

Status XmTop(XmContext& ctx, CommandLine& cl, const std::vector<std::string>& argv) {
  double delay = 3;
  bool batch = false;
  int64_t iterations = 0;
  cl.app().add_option("-d,--delay", delay, "Seconds between updates (default 3)");
  cl.app().add_flag("-b,--batch", batch, "Batch mode: print every update, no screen control");
  cl.app().add_option("-i,--iterations", iterations, "Number of updates before exiting");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, 0));
  if (!(delay > 0 && delay <= kMaxDelaySeconds))
    return Status::Error(EINVAL, "Delay must be a number of seconds above 0 and at most 3600");
  if (iterations < 0) return Status::Error(EINVAL, "Iterations must be a positive number");
  if (!batch && !isatty(STDOUT_FILENO))
    return Status::Error(EINVAL, "xm top needs a terminal; use -b for batch output");
  std::optional<TopSample> before;
  for (int64_t i = 0; iterations == 0 || i < iterations; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    TXEND_ASSIGN_OR_RETURN(TopSample now, Sample(ctx.xend));
    if (!batch) ClearScreen(ctx.out);
    ctx.out << FormatTop(now, before ? &*before : nullptr);
    if (batch) ctx.out << "\n";
    ctx.out.flush();
    before = std::move(now);
  }
  return Status::Ok();
}

}  // namespace txend::xm
