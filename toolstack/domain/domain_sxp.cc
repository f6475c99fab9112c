#include "toolstack/domain/domain_sxp.h"

#include <algorithm>
#include <cstdio>

namespace txend::toolstack {
namespace {

using sxp::Value;

Value Entry(std::string_view key, std::string value) {
  return Value::List({key, std::move(value)});
}

// The config's (key ...) entry among `items`, or end.
Value::Items::iterator FindEntry(Value::Items& items, std::string_view key) {
  return std::find_if(items.begin(), items.end(),
                      [&](const Value& v) { return sxp::Name(v) == key; });
}

// xend's (location HOST:PORT) in the first vfb: where libvirt and xm find the VNC server.
void AddVncLocation(Value::Items& items, const std::string& location) {
  for (Value& item : items) {
    if (sxp::Name(item) != "device" || item.items().size() < 2) continue;
    Value& device = item.items()[1];
    if (sxp::Name(device) != "vfb") continue;
    device.Add(Entry("location", location));
    return;
  }
}

}  // namespace

std::string Seconds(double s) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.12g", s);
  std::string out = buf;
  if (out.find('.') == std::string::npos && out.find('e') == std::string::npos) out += ".0";
  return out;
}

Value DomainSxp(const DomainRecord& r) {
  Value d = ToSxp(*r.config);
  Value::Items& items = d.items();
  if (r.memory_target_kib)
    if (auto memory = FindEntry(items, "memory"); memory != items.end())
      *memory = Entry("memory", std::to_string(r.memory_target_kib / 1024));
  // xend 4.2's order: (domid) first; start_time, cpu_time and online_vcpus
  // just before (image ...); status and state just after it.
  Value::Items before_image, after_image;
  if (r.info && r.info->domid != 0)
    before_image.push_back(Entry("start_time", Seconds(r.start_time)));
  if (r.info) {
    before_image.push_back(
        Entry("cpu_time", Seconds(static_cast<double>(r.info->cpu_time_ns) / 1e9)));
    before_image.push_back(Entry("online_vcpus", std::to_string(r.info->online_vcpus)));
  }
  after_image.push_back(Entry("status", std::to_string(static_cast<int>(r.power_state()))));
  if (r.info) after_image.push_back(Entry("state", r.info->StateString()));
  auto image = FindEntry(items, "image");
  image = items.insert(image + 1, after_image.begin(), after_image.end()) - 1;
  items.insert(image, before_image.begin(), before_image.end());
  if (r.info) items.insert(items.begin() + 1, Entry("domid", std::to_string(r.info->domid)));
  if (!r.vnc_location.empty()) AddVncLocation(items, r.vnc_location);
  // Where `xm console` attaches; libvirt reads the same path from xenstore.
  if (!r.console_tty.empty()) items.push_back(Entry("console_tty", r.console_tty));
  return d;
}

}  // namespace txend::toolstack
