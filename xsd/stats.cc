#include "xsd/stats.h"

#include <cctype>

namespace txend::xsd {
namespace {

void Line(std::string& out, std::string_view name, uint64_t value) {
  out.append(name);
  out.push_back(' ');
  out.append(std::to_string(value));
  out.push_back('\n');
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string FormatStats(const Stats& s, const Gauges& g) {
  std::string out;
  Line(out, "requests_total", s.requests_total);
  Line(out, "transactions_started", s.transactions_started);
  Line(out, "transactions_committed", s.transactions_committed);
  Line(out, "transactions_conflicted", s.transactions_conflicted);
  Line(out, "transactions_aborted", s.transactions_aborted);
  Line(out, "implicit_transactions", s.implicit_transactions);
  Line(out, "watch_events", s.watch_events);
  Line(out, "error_replies", s.error_replies);
  Line(out, "disk_bytes_written", s.disk_bytes_written);
  Line(out, "disk_syncs", s.disk_syncs);
  Line(out, "journal_records", s.journal_records);
  Line(out, "compactions", s.compactions);
  Line(out, "journal_write_errors", s.journal_write_errors);
  Line(out, "commits_refused", s.commits_refused);
  Line(out, "connections_opened", s.connections_opened);
  Line(out, "connections_dropped", s.connections_dropped);
  Line(out, "connections_refused", s.connections_refused);
  Line(out, "transactions_expired", s.transactions_expired);
  Line(out, "requests_throttled", s.requests_throttled);
  Line(out, "accept_pauses", s.accept_pauses);
  Line(out, "listeners_parked", s.listeners_parked);
  Line(out, "nodes", g.nodes);
  Line(out, "connections", g.connections);
  Line(out, "watches", g.watches);
  Line(out, "open_transactions", g.open_transactions);
  Line(out, "domains_introduced", g.domains_introduced);
  Line(out, "persistence_degraded", g.persistence_degraded);
  Line(out, "compacting", g.compacting);
  for (uint32_t t = 0; t < wire::kTypeCount; ++t)
    if (wire::IsKnownType(t))
      Line(out, "requests_" + Lower(wire::TypeName(t)), s.requests_by_type[t]);
  return out;
}

}  // namespace txend::xsd
