#include "toolstack/domain/domain_sxp.h"

#include <algorithm>
#include <charconv>

namespace txend::toolstack {
namespace {

void AppendEntry(std::string& out, std::string_view key, std::string_view value) {
  out += " (";
  out += key;
  out += ' ';
  sxp::AppendAtom(value, out);
  out += ')';
}

// xend 4.2's order: start_time, cpu_time and online_vcpus just before (image ...).
void AppendBeforeImage(const DomainRecord& r, std::string& out) {
  if (!r.info) return;
  if (r.info->domid != 0) AppendEntry(out, "start_time", Seconds(r.start_time));
  AppendEntry(out, "cpu_time", Seconds(static_cast<double>(r.info->cpu_time_ns) / 1e9));
  AppendEntry(out, "online_vcpus", std::to_string(r.info->online_vcpus));
}

// ... and status and state just after it.
void AppendAfterImage(const DomainRecord& r, std::string& out) {
  AppendEntry(out, "status", std::to_string(static_cast<int>(r.power_state())));
  if (r.info) AppendEntry(out, "state", r.info->StateString());
}

// One config item, with the runtime fields it carries or precedes.
void AppendItem(const DomainRecord& r, const PrintedConfig::Item& item, bool& memory_done,
                bool& vnc_done, std::string& out) {
  if (item.name == "memory" && r.memory_target_kib && !memory_done) {
    memory_done = true;
    AppendEntry(out, "memory", std::to_string(r.memory_target_kib / 1024));
    return;
  }
  if (item.name == "image") AppendBeforeImage(r, out);
  out += ' ';
  if (item.vfb && !r.vnc_location.empty() && !vnc_done) {
    vnc_done = true;  // (location HOST:PORT) inside the first vfb: where libvirt and xm look
    out.append(item.text, 0, item.text.size() - 2);
    AppendEntry(out, "location", r.vnc_location);
    out += "))";
  } else {
    out += item.text;
  }
  if (item.name == "image") AppendAfterImage(r, out);
}

}  // namespace

std::string Seconds(double s) {
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof buf, s, std::chars_format::general, 12).ptr;
  std::string out(buf, end);  // as printf's %.12g, at a fraction of its cost (two per read)
  if (out.find('.') == std::string::npos && out.find('e') == std::string::npos) out += ".0";
  return out;
}

void AppendDomainSxp(const DomainRecord& r, std::string& out) {
  PrintedConfig own;
  if (!r.printed) own = PrintedConfig::Of(*r.config);
  const PrintedConfig& p = r.printed ? *r.printed : own;
  out += '(';
  out += p.head;
  if (r.info) AppendEntry(out, "domid", std::to_string(r.info->domid));
  bool memory_done = false, vnc_done = false;
  for (const auto& item : p.items) AppendItem(r, item, memory_done, vnc_done, out);
  bool has_image = std::any_of(p.items.begin(), p.items.end(),
                               [](const auto& item) { return item.name == "image"; });
  if (!has_image) {
    AppendBeforeImage(r, out);
    AppendAfterImage(r, out);
  }
  // Where `xm console` attaches; libvirt reads the same path from xenstore.
  if (!r.console_tty.empty()) AppendEntry(out, "console_tty", r.console_tty);
  out += ')';
}

sxp::Value DomainSxp(const DomainRecord& r) {
  std::string text;
  AppendDomainSxp(r, text);
  auto v = sxp::Parse(text);
  return v.ok() ? std::move(*v) : sxp::Value();  // printed by us: it always parses
}

}  // namespace txend::toolstack
