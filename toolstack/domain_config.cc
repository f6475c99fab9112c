#include "toolstack/domain_config.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace txend::toolstack {
namespace {

Status Bad(const std::string& field, const std::string& why) {
  return Status::Error(EINVAL, "invalid " + field + ": " + why);
}

template <typename T>
Result<T> Number(const std::string& field, const std::string& text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return Bad(field, "'" + text + "' is not a number");
  return v;
}

bool StartsWithAny(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes)
    if (s.starts_with(p)) return true;
  return false;
}

Status ValidName(const std::string& name) {
  if (name.empty()) return Bad("name", "a domain needs a name");
  if (name.size() > 64) return Bad("name", "longer than 64 characters");
  bool digits_only = true;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '+' && c != ':')
      return Bad("name", "'" + name + "' may contain only letters, digits and - _ . + :");
    digits_only = digits_only && std::isdigit(static_cast<unsigned char>(c));
  }
  if (digits_only) return Bad("name", "'" + name + "' is a number and would be taken for a domain id");
  return Status::Ok();
}

Result<DiskSpec> DiskFromSxp(const sxp::Value& vbd) {
  DiskSpec d{vbd.Get("uname"), vbd.Get("dev"), vbd.Get("mode", "w")};
  return d;
}

Result<VifSpec> VifFromSxp(const sxp::Value& v) {
  VifSpec vif{v.Get("mac"),     v.Get("bridge"), v.Get("ip"),   v.Get("script"),
              v.Get("vifname"), v.Get("model"),  v.Get("type"), v.Get("rate"), std::nullopt};
  if (auto devid = v.Find("devid")) {
    TXEND_ASSIGN_OR_RETURN(vif.devid, Number<uint32_t>("vif devid", *devid));
  }
  return vif;
}

VfbSpec VfbFromSxp(const sxp::Value& v) {
  VfbSpec f;
  for (const sxp::Value* kv : v.Children())
    if (kv->is_list() && kv->items().size() == 2 && kv->items()[1].is_atom())
      f.options[std::string(kv->name())] = kv->items()[1].atom();
  return f;
}

void AddIf(sxp::Value& list, const std::string& name, const std::string& value) {
  if (!value.empty()) list.Add(name, value);
}

}  // namespace

bool IsValidAction(std::string_view a) {
  return a == "destroy" || a == "restart" || a == "preserve" || a == "rename-restart" ||
         a == "coredump-destroy" || a == "coredump-restart";
}

bool IsValidUuid(std::string_view u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < u.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (u[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(u[i]))) return false;
  }
  return true;
}

std::string FormatUuid(uint64_t hi, uint64_t lo) {
  hi = (hi & ~0xf000ull) | 0x4000ull;                  // version 4
  lo = (lo & ~(0xc000ull << 48)) | (0x8000ull << 48);  // RFC 4122 variant
  char buf[37];
  snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", (unsigned long long)(hi >> 32),
           (unsigned long long)((hi >> 16) & 0xffff), (unsigned long long)(hi & 0xffff),
           (unsigned long long)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffull));
  return buf;
}

Result<uint32_t> VbdDevid(std::string_view dev) {
  dev = dev.substr(0, dev.find(':'));  // "hdc:cdrom"
  if (dev.starts_with("ioemu:")) dev.remove_prefix(6);
  uint32_t number = 0;
  auto [end, ec] = std::from_chars(dev.data(), dev.data() + dev.size(), number);
  if (ec == std::errc() && end == dev.data() + dev.size()) return number;
  auto letters_and_part = [&](std::string_view rest, uint32_t& disk, uint32_t& part) -> bool {
    size_t i = 0;
    disk = 0;
    while (i < rest.size() && std::islower(static_cast<unsigned char>(rest[i]))) disk = disk * 26 + (rest[i++] - 'a' + 1);
    if (i == 0) return false;
    --disk;
    part = 0;
    if (i < rest.size()) {
      auto [e, c] = std::from_chars(rest.data() + i, rest.data() + rest.size(), part);
      if (c != std::errc() || e != rest.data() + rest.size()) return false;
    }
    return true;
  };
  uint32_t disk = 0, part = 0;
  if (dev.starts_with("xvd") && letters_and_part(dev.substr(3), disk, part)) {
    if (disk < 16 && part < 16) return (202u << 8) | (disk << 4) | part;
    return (1u << 28) | (disk << 8) | part;  // extended scheme
  }
  if (dev.starts_with("sd") && letters_and_part(dev.substr(2), disk, part) && disk < 16 && part < 16)
    return (8u << 8) | (disk << 4) | part;
  if (dev.starts_with("hd") && letters_and_part(dev.substr(2), disk, part) && disk < 4 && part < 64) {
    static constexpr uint32_t kMajor[] = {3, 3, 22, 22};
    return (kMajor[disk] << 8) | ((disk % 2) << 6) | part;
  }
  return Status::Error(EINVAL, "invalid disk device name '" + std::string(dev) + "'");
}

std::string DomainConfig::CommandLine() const {
  std::string cmd = root.empty() ? "" : "root=" + root;
  if (!args.empty()) cmd += (cmd.empty() ? "" : " ") + args;
  return cmd;
}

Status DomainConfig::Validate() const {
  TXEND_RETURN_IF_ERROR(ValidName(name));
  if (!uuid.empty() && !IsValidUuid(uuid)) return Bad("uuid", "'" + uuid + "' is not a uuid");
  if (memory_mib == 0) return Bad("memory", "must be at least 1 MiB");
  if (maxmem_mib && maxmem_mib < memory_mib)
    return Bad("maxmem", std::to_string(maxmem_mib) + " MiB is less than memory " + std::to_string(memory_mib) + " MiB");
  if (vcpus == 0 || vcpus > 512) return Bad("vcpus", std::to_string(vcpus) + " is not in 1..512");
  if (cpu_weight == 0 || cpu_weight > 65535) return Bad("cpu_weight", "must be 1..65535");
  if (builder != "linux" && builder != "hvm") return Bad("builder", "'" + builder + "' (expected linux or hvm)");
  if (builder == "linux" && kernel.empty() && bootloader.empty())
    return Bad("kernel", "a PV (linux) domain needs a kernel or a bootloader");
  for (const auto& [field, value] : {std::pair{"on_poweroff", on_poweroff}, {"on_reboot", on_reboot}, {"on_crash", on_crash}})
    if (!IsValidAction(value))
      return Bad(field, "'" + value + "' (expected destroy, restart, preserve, rename-restart, coredump-destroy or coredump-restart)");
  for (const auto& d : disks) {
    if (!StartsWithAny(d.uname, {"phy:", "file:", "tap:", "tap2:", "drbd:", "iscsi:", "npiv:"}))
      return Bad("disk", "'" + d.uname + "': expected phy:, file: or tap:aio: followed by a path");
    if (d.uname.find(':') + 1 == d.uname.size()) return Bad("disk", "'" + d.uname + "' names no device or file");
    TXEND_RETURN_IF_ERROR(VbdDevid(d.dev).status());
    if (d.mode != "r" && d.mode != "w" && d.mode != "w!")
      return Bad("disk", "mode '" + d.mode + "' of " + d.dev + " (expected r, w or w!)");
  }
  for (const auto& v : vifs) {
    if (v.mac.empty()) continue;
    bool ok = v.mac.size() == 17;
    for (size_t i = 0; ok && i < 17; ++i) ok = (i % 3 == 2) ? v.mac[i] == ':' : std::isxdigit(static_cast<unsigned char>(v.mac[i]));
    if (!ok) return Bad("vif", "mac '" + v.mac + "' is not of the form 00:16:3e:xx:xx:xx");
  }
  return Status::Ok();
}

void DomainConfig::FillDefaults(const std::function<uint64_t()>& random) {
  if (uuid.empty()) uuid = FormatUuid(random(), random());
  if (maxmem_mib < memory_mib) maxmem_mib = memory_mib;
  for (auto& v : vifs) {
    if (!v.mac.empty()) continue;
    uint64_t r = random();
    char mac[18];
    snprintf(mac, sizeof mac, "00:16:3e:%02x:%02x:%02x", unsigned(r & 0x7f), unsigned((r >> 8) & 0xff),
             unsigned((r >> 16) & 0xff));
    v.mac = mac;
  }
}

Result<DomainConfig> DomainConfig::FromSxp(const sxp::Value& vm) {
  if (vm.name() != "vm" && vm.name() != "domain")
    return Status::Error(EINVAL, "expected a (vm ...) configuration, got (" + std::string(vm.name()) + " ...)");
  DomainConfig c;
  c.name = vm.Get("name");
  c.uuid = vm.Get("uuid");
  TXEND_ASSIGN_OR_RETURN(c.memory_mib, Number<uint64_t>("memory", vm.Get("memory", "128")));
  TXEND_ASSIGN_OR_RETURN(c.maxmem_mib, Number<uint64_t>("maxmem", vm.Get("maxmem", "0")));
  TXEND_ASSIGN_OR_RETURN(c.vcpus, Number<uint32_t>("vcpus", vm.Get("vcpus", "1")));
  TXEND_ASSIGN_OR_RETURN(c.vcpu_avail, Number<uint32_t>("vcpu_avail", vm.Get("vcpu_avail", "0")));
  TXEND_ASSIGN_OR_RETURN(c.cpu_weight, Number<uint32_t>("cpu_weight", vm.Get("cpu_weight", "256")));
  TXEND_ASSIGN_OR_RETURN(c.cpu_cap, Number<uint32_t>("cpu_cap", vm.Get("cpu_cap", "0")));
  c.cpus = vm.Get("cpus");
  c.bootloader = vm.Get("bootloader");
  c.bootloader_args = vm.Get("bootloader_args");
  c.on_poweroff = vm.Get("on_poweroff", c.on_poweroff);
  c.on_reboot = vm.Get("on_reboot", c.on_reboot);
  c.on_crash = vm.Get("on_crash", c.on_crash);
  c.localtime = vm.Get("localtime", "0") == "1";
  c.autostart = vm.Get("on_xend_start", "ignore") == "start";
  if (const sxp::Value* image = vm.Child("image")) {
    const auto kinds = image->Children();
    if (kinds.empty() || !kinds[0]->is_list()) return Bad("image", "expected (image (linux ...)) or (image (hvm ...))");
    const sxp::Value& kind = *kinds[0];
    c.builder = std::string(kind.name());
    for (const sxp::Value* kv : kind.Children()) {
      if (!kv->is_list() || kv->items().size() < 2 || !kv->items()[1].is_atom()) continue;
      std::string key(kv->name()), value = kv->items()[1].atom();
      if (key == "kernel") c.kernel = value;
      else if (key == "ramdisk") c.ramdisk = value;
      else if (key == "root") c.root = value;
      else if (key == "args") c.args = value;
      else c.image_options[key] = value;
    }
  }
  for (const sxp::Value* dev : vm.Children("device")) {
    const auto inner = dev->Children();
    if (inner.empty() || !inner[0]->is_list()) return Bad("device", "expected (device (<type> ...))");
    const sxp::Value& d = *inner[0];
    if (d.name() == "vbd" || d.name() == "tap" || d.name() == "tap2") {
      TXEND_ASSIGN_OR_RETURN(DiskSpec disk, DiskFromSxp(d));
      c.disks.push_back(std::move(disk));
    } else if (d.name() == "vif") {
      TXEND_ASSIGN_OR_RETURN(VifSpec vif, VifFromSxp(d));
      c.vifs.push_back(std::move(vif));
    } else if (d.name() == "vfb") {
      c.vfbs.push_back(VfbFromSxp(d));
    } else if (d.name() != "console" && d.name() != "vkbd") {
      c.other_devices.push_back(d);  // console/vkbd come with every PV domain and vfb
    }
  }
  TXEND_RETURN_IF_ERROR(c.Validate());
  return c;
}

sxp::Value DomainConfig::ToSxp() const {
  sxp::Value vm = sxp::Value::List({sxp::Value::Atom("vm")});
  vm.Add("name", name);
  AddIf(vm, "uuid", uuid);
  vm.Add("memory", std::to_string(memory_mib));
  vm.Add("maxmem", std::to_string(max_mib()));
  vm.Add("vcpus", std::to_string(vcpus));
  if (vcpu_avail) vm.Add("vcpu_avail", std::to_string(vcpu_avail));
  AddIf(vm, "cpus", cpus);
  vm.Add("cpu_weight", std::to_string(cpu_weight));
  vm.Add("cpu_cap", std::to_string(cpu_cap));
  AddIf(vm, "bootloader", bootloader);
  AddIf(vm, "bootloader_args", bootloader_args);
  vm.Add("on_poweroff", on_poweroff);
  vm.Add("on_reboot", on_reboot);
  vm.Add("on_crash", on_crash);
  if (localtime) vm.Add("localtime", "1");
  if (autostart) vm.Add("on_xend_start", "start");
  sxp::Value kind = sxp::Value::List({sxp::Value::Atom(builder)});
  AddIf(kind, "kernel", kernel);
  AddIf(kind, "ramdisk", ramdisk);
  AddIf(kind, "root", root);
  AddIf(kind, "args", args);
  for (const auto& [k, v] : image_options) kind.Add(k, v);
  vm.Add(sxp::Value::List({sxp::Value::Atom("image"), kind}));
  for (const auto& d : disks) {
    sxp::Value vbd = sxp::Value::List({sxp::Value::Atom("vbd")});
    vbd.Add("uname", d.uname).Add("dev", d.dev).Add("mode", d.mode);
    vm.Add(sxp::Value::List({sxp::Value::Atom("device"), vbd}));
  }
  for (const auto& v : vifs) {
    sxp::Value vif = sxp::Value::List({sxp::Value::Atom("vif")});
    AddIf(vif, "mac", v.mac);
    AddIf(vif, "bridge", v.bridge);
    AddIf(vif, "ip", v.ip);
    AddIf(vif, "script", v.script);
    AddIf(vif, "vifname", v.vifname);
    AddIf(vif, "model", v.model);
    AddIf(vif, "type", v.type);
    AddIf(vif, "rate", v.rate);
    if (v.devid) vif.Add("devid", std::to_string(*v.devid));
    vm.Add(sxp::Value::List({sxp::Value::Atom("device"), vif}));
  }
  for (const auto& f : vfbs) {
    sxp::Value vfb = sxp::Value::List({sxp::Value::Atom("vfb")});
    for (const auto& [k, v] : f.options) vfb.Add(k, v);
    vm.Add(sxp::Value::List({sxp::Value::Atom("device"), vfb}));
  }
  for (const auto& d : other_devices) vm.Add(sxp::Value::List({sxp::Value::Atom("device"), d}));
  return vm;
}

}  // namespace txend::toolstack
