// Device SXP parsing, validation and formatting (xend's XendConfig.device_add,
// server/blkif.py, netif.py, vfbif.py, util/pci.py).
#include "toolstack/config/device_config.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>

#include "base/numbers.h"
#include "toolstack/config/block_device_name.h"
#include "toolstack/config/config_values.h"
#include "toolstack/config/random_ids.h"

namespace txend::toolstack {
namespace {

using sxp::Value;

Status Invalid(std::string message) { return Status::Error(EINVAL, std::move(message)); }

// Walks a device's (key value) entries: `assign` returns false for keys it does
// not know, which are kept verbatim in `extra`. A key without a value reads "".
Status ReadEntries(
    const Value& dev, std::vector<Value>& extra,
    const std::function<Result<bool>(std::string_view, const std::string&)>& assign) {
  std::string_view kind = sxp::Name(dev);
  for (size_t i = 0;; ++i) {
    const Value* entry = sxp::ChildAt(dev, i);
    if (entry == nullptr) return Status::Ok();
    std::string_view key = sxp::Name(*entry);
    if (key.empty()) continue;  // not a (key ...) entry: xend ignores it too
    const Value* value = sxp::ChildAt(*entry, 0);
    if (value != nullptr && !value->is_atom()) {
      extra.push_back(*entry);
      continue;
    }
    auto known = assign(key, value ? value->atom() : std::string());
    if (!known.ok()) return Invalid(std::string(kind) + ": " + known.status().message());
    if (!*known) extra.push_back(*entry);
  }
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

void AddIf(Value& list, std::string_view key, const std::string& value) {
  if (!value.empty()) list.Add(Value::List({key, value}));
}

std::string Hex(const char* format, int value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

// Every blktap disk type xend knows (BlktapController blktap1 + blktap2 types).
bool IsBlktapType(std::string_view type) {
  static constexpr std::array<std::string_view, 10> kTypes = {
      "aio", "sync", "vmdk", "ram", "qcow", "qcow2", "cdrom", "ioemu", "vhd", "remus"};
  for (auto t : kTypes)
    if (t == type) return true;
  return false;
}

Status ValidateUname(const VbdConfig& vbd) {
  std::string where = "vbd " + vbd.dev + ": uname '" + vbd.uname + "'";
  size_t colon = vbd.uname.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == vbd.uname.size())
    return Invalid(where + ": expected TYPE:PATH (phy:/dev/..., file:/..., tap:aio:/...)");
  std::string_view type = std::string_view(vbd.uname).substr(0, colon);
  if (type != "tap" && type != "tap2") return Status::Ok();
  std::string_view rest = std::string_view(vbd.uname).substr(colon + 1);
  if (StartsWith(rest, "tapdisk:")) rest.remove_prefix(8);  // tap:tapdisk:aio:/x
  size_t colon2 = rest.find(':');
  std::string_view tap_type = rest.substr(0, colon2);
  if (colon2 == std::string_view::npos || colon2 + 1 == rest.size())
    return Invalid(where + ": expected " + std::string(type) + ":DISKTYPE:PATH");
  if (!IsBlktapType(tap_type))
    return Invalid(where + ": unknown blktap disk type '" + std::string(tap_type) + "'");
  return Status::Ok();
}

// netif.py's rate syntax: [0-9]+[GMK]?[Bb]/s(@[0-9]+[mu]?s)?, e.g. 10MB/s@20ms.
bool IsValidRate(std::string_view rate) {
  auto digits = [&](size_t& i) {
    size_t start = i;
    while (i < rate.size() && std::isdigit(static_cast<unsigned char>(rate[i]))) ++i;
    return i > start;
  };
  auto one_of = [&](size_t& i, std::string_view set) {
    if (i < rate.size() && set.find(rate[i]) != std::string_view::npos) ++i;
  };
  size_t i = 0;
  if (!digits(i)) return false;
  one_of(i, "GMK");
  if (i >= rate.size() || (rate[i] != 'B' && rate[i] != 'b')) return false;
  if (rate.substr(i + 1, 2) != "/s") return false;
  i += 3;
  if (i == rate.size()) return true;
  if (rate[i++] != '@' || !digits(i)) return false;
  one_of(i, "mu");
  return i + 1 == rate.size() && rate[i] == 's';
}

Result<int> HexField(std::string_view field, const std::string& text, int max) {
  std::string_view digits = text;
  if (StartsWith(digits, "0x") || StartsWith(digits, "0X")) digits.remove_prefix(2);
  int value = 0;
  bool ok = !digits.empty() && digits.size() <= 6;
  for (size_t k = 0; ok && k < digits.size(); ++k) {  // at most 6 digits: no overflow
    char c = digits[k];
    int d = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
            : std::isxdigit(static_cast<unsigned char>(c)) ? (c | 0x20) - 'a' + 10
                                                           : -1;
    if (d < 0) ok = false;
    value = value * 16 + (d < 0 ? 0 : d);
  }
  if (!ok) return Invalid(std::string(field) + ": expected a hex number, got '" + text + "'");
  if (value > max)
    return Invalid(std::string(field) + ": " + text + " is out of range (max " + Hex("0x%x", max) +
                   ")");
  return value;
}

std::string DefaultPciKey(const PciDevice& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x:%02x.%x", d.bus, d.slot, d.func);
  return buf;
}

Result<PciDevice> ParsePciDev(const Value& dev) {
  PciDevice pci;
  for (size_t i = 0;; ++i) {
    const Value* entry = sxp::ChildAt(dev, i);
    if (entry == nullptr) break;
    std::string_view key = sxp::Name(*entry);
    const Value* value = sxp::ChildAt(*entry, 0);
    if (key == "opts" && value && value->is_list()) {
      auto k = sxp::Name(*value);
      auto v = sxp::ChildAt(*value, 0);
      if (!k.empty() && v && v->is_atom()) pci.opts.emplace_back(std::string(k), v->atom());
      continue;
    }
    if (value == nullptr || !value->is_atom()) continue;
    const std::string& text = value->atom();
    if (key == "domain") {
      TXEND_ASSIGN_OR_RETURN(pci.domain, HexField("pci: domain", text, 0xffff));
    } else if (key == "bus") {
      TXEND_ASSIGN_OR_RETURN(pci.bus, HexField("pci: bus", text, 0xff));
    } else if (key == "slot") {
      TXEND_ASSIGN_OR_RETURN(pci.slot, HexField("pci: slot", text, 0x1f));
    } else if (key == "func") {
      TXEND_ASSIGN_OR_RETURN(pci.func, HexField("pci: func", text, 7));
    } else if (key == "vdevfn") {
      TXEND_ASSIGN_OR_RETURN(pci.vdevfn, HexField("pci: vdevfn", text, 0x1ff));
    } else if (key == "key") {
      pci.key = text;
    } else if (key == "uuid") {
      pci.uuid = text;
    }
  }
  if (!sxp::Child(dev, "bus") || !sxp::Child(dev, "slot") || !sxp::Child(dev, "func"))
    return Invalid("pci: (dev ...) needs bus, slot and func");
  if (pci.key.empty()) pci.key = DefaultPciKey(pci);
  TXEND_RETURN_IF_ERROR(Validate(pci));
  return pci;
}

}  // namespace

Result<VbdConfig> ParseVbd(const Value& dev) {
  VbdConfig vbd;
  vbd.device_class = std::string(sxp::Name(dev));
  TXEND_RETURN_IF_ERROR(
      ReadEntries(dev, vbd.extra, [&](std::string_view key, const std::string& v) -> Result<bool> {
        if (key == "uname")
          vbd.uname = v;
        else if (key == "dev")
          vbd.dev = v;
        else if (key == "mode")
          vbd.mode = v;
        else if (key == "backend")
          vbd.backend = v;
        else if (key == "uuid")
          vbd.uuid = v;
        else if (key == "bootable") {
          TXEND_ASSIGN_OR_RETURN(bool b, ReadFlag("bootable", v));
          vbd.bootable = b;
        } else
          return false;
        return true;
      }));
  TXEND_RETURN_IF_ERROR(Validate(vbd));
  return vbd;
}

Result<VifConfig> ParseVif(const Value& dev) {
  VifConfig vif;
  const std::map<std::string_view, std::string*> fields = {
      {"mac", &vif.mac},       {"bridge", &vif.bridge},   {"ip", &vif.ip},
      {"script", &vif.script}, {"vifname", &vif.vifname}, {"model", &vif.model},
      {"type", &vif.type},     {"rate", &vif.rate},       {"backend", &vif.backend},
      {"uuid", &vif.uuid}};
  TXEND_RETURN_IF_ERROR(
      ReadEntries(dev, vif.extra, [&](std::string_view key, const std::string& v) -> Result<bool> {
        auto it = fields.find(key);
        if (it == fields.end()) return false;
        *it->second = v;
        return true;
      }));
  TXEND_RETURN_IF_ERROR(Validate(vif));
  return vif;
}

Result<VfbConfig> ParseVfb(const Value& dev) {
  VfbConfig vfb;
  const std::map<std::string_view, std::string*> fields = {
      {"vnclisten", &vfb.vnclisten},   {"vncpasswd", &vfb.vncpasswd}, {"display", &vfb.display},
      {"xauthority", &vfb.xauthority}, {"keymap", &vfb.keymap},       {"uuid", &vfb.uuid}};
  TXEND_RETURN_IF_ERROR(
      ReadEntries(dev, vfb.extra, [&](std::string_view key, const std::string& v) -> Result<bool> {
        if (auto it = fields.find(key); it != fields.end()) {
          *it->second = v;
        } else if (key == "type") {
          vfb.type = v;
        } else if (key == "vnc" || key == "sdl") {  // xm's vnc=1 / sdl=1
          TXEND_ASSIGN_OR_RETURN(bool on, ReadFlag(key, v));
          if (on && vfb.type.empty()) vfb.type = std::string(key);
        } else if (key == "vncdisplay") {
          TXEND_ASSIGN_OR_RETURN(int64_t n, ReadIntegerInRange("vncdisplay", v, 0, kMaxVncDisplay));
          vfb.vncdisplay = static_cast<int>(n);
        } else if (key == "vncunused") {
          TXEND_ASSIGN_OR_RETURN(bool b, ReadFlag("vncunused", v));
          vfb.vncunused = b;
        } else {
          return false;
        }
        return true;
      }));
  TXEND_RETURN_IF_ERROR(Validate(vfb));
  return vfb;
}

Result<ConsoleConfig> ParseConsole(const Value& dev) {
  ConsoleConfig console;
  TXEND_RETURN_IF_ERROR(ReadEntries(
      dev, console.extra, [&](std::string_view key, const std::string& v) -> Result<bool> {
        if (key == "protocol")
          console.protocol = v;
        else if (key == "location")
          console.location = v;
        else if (key == "uuid")
          console.uuid = v;
        else
          return false;
        return true;
      }));
  return console;
}

Result<std::vector<PciDevice>> ParsePci(const Value& dev) {
  std::vector<PciDevice> out;
  for (const Value* d : sxp::Children(dev, "dev")) {
    const Value* first = sxp::ChildAt(*d, 0);
    if (first != nullptr && first->is_atom())
      return Invalid(
          "pci: old-style (pci (bus ..) (dev ..) ..) entries are not supported; "
          "use (pci (dev (domain ..) (bus ..) (slot ..) (func ..)))");
    TXEND_ASSIGN_OR_RETURN(PciDevice pci, ParsePciDev(*d));
    out.push_back(std::move(pci));
  }
  if (out.empty()) return Invalid("pci: no (dev ...) entries");
  return out;
}

Result<PciDevice> ParsePciSpec(std::string_view spec) {
  std::string text(spec);
  auto bad = [&] {
    return Invalid("pci: '" + text + "': expected [DDDD:]BB:SS.F[@VSLOT][,OPT=VAL...]");
  };
  size_t comma = text.find(',');
  std::string head = text.substr(0, comma);
  std::string bdf = head.substr(0, head.find('@'));
  size_t dot = bdf.rfind('.');
  if (dot == std::string::npos) return bad();
  std::string func = bdf.substr(dot + 1);
  std::vector<std::string_view> fields;
  for (std::string_view rest = std::string_view(bdf).substr(0, dot);;) {
    size_t colon = rest.find(':');
    fields.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (fields.size() < 2 || fields.size() > 3) return bad();
  if (fields.size() == 2) fields.insert(fields.begin(), "0");
  const std::array<size_t, 3> max_digits = {4, 2, 2};
  std::array<int, 3> address{};
  for (size_t i = 0; i < 3; ++i) {
    auto n = ParseInteger<uint16_t>(fields[i], 16);
    if (fields[i].size() > max_digits[i] || !n.ok()) return bad();
    address[i] = *n;
  }
  if (func.size() != 1 || func[0] < '0' || func[0] > '7')
    return Invalid("pci: '" + text +
                   "': function must be one digit 0-7 "
                   "(multi-function specs are not supported)");
  PciDevice pci;
  pci.domain = address[0];
  pci.bus = address[1];
  pci.slot = address[2];
  pci.func = func[0] - '0';
  pci.key = head;
  if (size_t at = head.find('@'); at != std::string::npos) {
    std::string_view vslot = std::string_view(head).substr(at + 1);
    auto slot = ParseInteger<uint8_t>(vslot, 16);
    if (vslot.size() > 2 || !slot.ok() || *slot > 0x1f) return bad();
    pci.vdevfn = *slot << 3;
  }
  if (comma != std::string::npos) {
    std::string opts = text.substr(comma + 1);
    for (size_t start = 0; start <= opts.size();) {
      size_t next = opts.find(',', start);
      std::string item =
          opts.substr(start, next == std::string::npos ? std::string::npos : next - start);
      if (!item.empty()) {
        size_t eq = item.find('=');
        pci.opts.emplace_back(item.substr(0, eq),
                              eq == std::string::npos ? "" : item.substr(eq + 1));
      }
      if (next == std::string::npos) break;
      start = next + 1;
    }
  }
  TXEND_RETURN_IF_ERROR(Validate(pci));
  return pci;
}

Status Validate(const VbdConfig& vbd) {
  if (vbd.device_class != "vbd" && vbd.device_class != "tap" && vbd.device_class != "tap2")
    return Invalid("vbd: device type '" + vbd.device_class + "': expected vbd, tap or tap2");
  if (vbd.dev.empty()) return Invalid("vbd: missing dev (the guest device, e.g. xvda)");
  if (!VbdDeviceNumber(vbd.dev))
    return Invalid("vbd: dev '" + vbd.dev + "': not a block device name (xvda, hda, sdb1, ...)");
  if (vbd.mode != "r" && vbd.mode != "w" && vbd.mode != "w!")
    return Invalid("vbd " + vbd.dev + ": mode '" + vbd.mode + "': expected r, w or w!");
  if (vbd.uname.empty()) {
    if (vbd.dev.ends_with(":cdrom")) return Status::Ok();
    return Invalid("vbd " + vbd.dev + ": missing uname (only a :cdrom drive may be empty)");
  }
  return ValidateUname(vbd);
}

Status Validate(const VifConfig& vif) {
  if (!vif.mac.empty() && !IsValidMac(vif.mac))
    return Invalid("vif: mac '" + vif.mac + "': expected six hex pairs like 00:16:3e:12:34:56");
  if (!vif.rate.empty() && !IsValidRate(vif.rate))
    return Invalid("vif: rate '" + vif.rate + "': expected e.g. 10MB/s, 512Kb/s or 5Mb/s@20ms");
  return Status::Ok();
}

Status Validate(const VfbConfig& vfb) {
  if (vfb.type != "vnc" && vfb.type != "sdl" && !vfb.type.empty())
    return Invalid("vfb: type '" + vfb.type + "': expected vnc or sdl");
  return Status::Ok();
}

Status Validate(const PciDevice& pci) {
  std::string where = "pci " + pci.key;
  if (pci.domain < 0 || pci.domain > 0xffff || pci.bus < 0 || pci.bus > 0xff || pci.slot < 0 ||
      pci.slot > 0x1f || pci.func < 0 || pci.func > 7)
    return Invalid(where + ": address out of range");
  for (const auto& [key, value] : pci.opts) {
    bool known_key = key == "msitranslate" || key == "power_mgmt" || key == "managed";
    bool known_value = value == "0" || value == "1" || value == "yes" || value == "no";
    if (!known_key || !known_value)
      return Invalid(where + ": invalid pci option " + key + "=" + value +
                     " (msitranslate, power_mgmt or managed = 0|1|yes|no)");
  }
  return Status::Ok();
}

Value DeviceToSxp(const VbdConfig& vbd) {
  Value v = Value::List({vbd.device_class});
  AddIf(v, "uname", vbd.uname);
  v.Add(Value::List({"dev", vbd.dev}));
  v.Add(Value::List({"mode", vbd.mode}));
  AddIf(v, "backend", vbd.backend);
  v.Add(Value::List({"bootable", vbd.bootable.value_or(false) ? "1" : "0"}));
  AddIf(v, "uuid", vbd.uuid);
  for (const Value& e : vbd.extra) v.Add(e);
  return v;
}

Value DeviceToSxp(const VifConfig& vif) {
  Value v = Value::List({"vif"});
  AddIf(v, "mac", vif.mac);
  AddIf(v, "bridge", vif.bridge);
  AddIf(v, "ip", vif.ip);
  AddIf(v, "script", vif.script);
  AddIf(v, "vifname", vif.vifname);
  AddIf(v, "model", vif.model);
  AddIf(v, "type", vif.type);
  AddIf(v, "rate", vif.rate);
  AddIf(v, "backend", vif.backend);
  AddIf(v, "uuid", vif.uuid);
  for (const Value& e : vif.extra) v.Add(e);
  return v;
}

Value DeviceToSxp(const VfbConfig& vfb) {
  Value v = Value::List({"vfb"});
  if (!vfb.type.empty()) {
    // Both spellings: libvirt reads (type vnc), xm/xend configs carry (vnc 1).
    v.Add(Value::List({"type", vfb.type}));
    v.Add(Value::List({vfb.type, "1"}));
  }
  if (vfb.vncunused) v.Add(Value::List({"vncunused", *vfb.vncunused ? "1" : "0"}));
  if (vfb.vncdisplay) v.Add(Value::List({"vncdisplay", Value::Int(*vfb.vncdisplay)}));
  AddIf(v, "vnclisten", vfb.vnclisten);
  AddIf(v, "vncpasswd", vfb.vncpasswd);
  AddIf(v, "display", vfb.display);
  AddIf(v, "xauthority", vfb.xauthority);
  AddIf(v, "keymap", vfb.keymap);
  AddIf(v, "uuid", vfb.uuid);
  for (const Value& e : vfb.extra) v.Add(e);
  return v;
}

Value DeviceToSxp(const ConsoleConfig& console) {
  Value v = Value::List({"console"});
  AddIf(v, "protocol", console.protocol);
  AddIf(v, "location", console.location);
  AddIf(v, "uuid", console.uuid);
  for (const Value& e : console.extra) v.Add(e);
  return v;
}

Value DeviceToSxp(const std::vector<PciDevice>& pci) {
  Value v = Value::List({"pci"});
  for (const PciDevice& d : pci) {
    Value dev = Value::List({"dev"});
    dev.Add(Value::List({"domain", Hex("0x%04x", d.domain)}));
    dev.Add(Value::List({"bus", Hex("0x%02x", d.bus)}));
    dev.Add(Value::List({"slot", Hex("0x%02x", d.slot)}));
    dev.Add(Value::List({"func", Hex("0x%x", d.func)}));
    dev.Add(Value::List({"vdevfn", Hex("0x%02x", d.vdevfn)}));
    dev.Add(Value::List({"key", d.key.empty() ? DefaultPciKey(d) : d.key}));
    for (const auto& [key, value] : d.opts)
      dev.Add(Value::List({"opts", Value::List({key, value})}));
    AddIf(dev, "uuid", d.uuid);
    v.Add(std::move(dev));
  }
  return v;
}

std::string BlockBackingPath(std::string_view uname) {
  size_t colon = uname.find(':');
  if (colon == std::string_view::npos) return std::string(uname);
  std::string_view type = uname.substr(0, colon);
  std::string_view path = uname.substr(colon + 1);
  if (type == "phy" && !StartsWith(path, "/")) return "/dev/" + std::string(path);
  if (type == "tap" || type == "tap2") {
    for (int strip = 0; strip < 2; ++strip) {
      size_t c = path.find(':');
      if (c == std::string_view::npos) break;
      std::string_view tap_type = path.substr(0, c);
      path = path.substr(c + 1);
      if (tap_type != "tapdisk" && tap_type != "ioemu") break;
    }
  }
  return std::string(path);
}

}  // namespace txend::toolstack
