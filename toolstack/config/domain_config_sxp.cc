// DomainConfig <-> SXP: reading what `xm create` and libvirt send (as xend's
// XendConfig._parse_sxp does) and writing xend's (domain ...) form (to_sxp).
#include <algorithm>
#include <cmath>

#include "base/numbers.h"
#include "toolstack/config/config_values.h"
#include "toolstack/config/cpu_affinity.h"
#include "toolstack/config/domain_config.h"

namespace txend::toolstack {
namespace {

using sxp::Value;

Status Invalid(std::string message) { return Status::Error(EINVAL, std::move(message)); }

// Sets `out` from child `key` when present.
Status ReadInteger(const Value& list, std::string_view key, int64_t lo, int64_t hi, int64_t& out) {
  auto text = sxp::FindChildValue(list, key);
  if (!text) return Status::Ok();
  TXEND_ASSIGN_OR_RETURN(out, ReadIntegerInRange(key, *text, lo, hi));
  return Status::Ok();
}

Status ReadInteger(const Value& list, std::string_view key, int64_t lo, int64_t hi, int& out) {
  int64_t wide = out;
  TXEND_RETURN_IF_ERROR(ReadInteger(list, key, lo, hi, wide));
  out = static_cast<int>(wide);
  return Status::Ok();
}

void ReadString(const Value& list, std::string_view key, std::string& out) {
  if (auto text = sxp::FindChildValue(list, key)) out = *text;
}

Status ReadAction(const Value& vm, std::string_view key, ShutdownAction& out) {
  auto text = sxp::FindChildValue(vm, key);
  if (!text) return Status::Ok();
  auto action = ParseShutdownAction(*text);
  if (!action)
    return Invalid(std::string(key) + ": '" + *text +
                   "' is not one of destroy, restart, preserve, "
                   "rename-restart, coredump-destroy, coredump-restart");
  out = *action;
  return Status::Ok();
}

// The credit weight, 1..65535. xend 3.0 printed and read a float relative to
// other domains, default 1.0 (XendConfig's ('cpu_weight', float)): such a
// weight is scaled to the credit scheduler's, 1.0 being its default 256.
Status ReadCpuWeight(const Value& vm, int& out) {
  auto text = sxp::FindChildValue(vm, "cpu_weight");
  if (!text) return Status::Ok();
  if (text->find_first_of(".eE") == std::string::npos) {
    TXEND_ASSIGN_OR_RETURN(int64_t weight, ReadIntegerInRange("cpu_weight", *text, 1, 65535));
    out = static_cast<int>(weight);
    return Status::Ok();
  }
  auto relative = ParseDouble(TrimBlanks(*text));
  if (!relative.ok())
    return Invalid("cpu_weight: expected an integer or a decimal number, got " + Quoted(*text));
  double scaled = std::round(*relative * 256);
  if (!(scaled >= 1 && scaled <= 65535))
    return Invalid("cpu_weight: " + *text +
                   " is out of range (xend 3.0 weights are relative, 1.0 = 256; the credit "
                   "weight must be 1..65535)");
  out = static_cast<int>(scaled);
  return Status::Ok();
}

// An empty bootloader with a kernel boots the kernel (xend 4.x printed
// `(bootloader '')` for every guest); HVM guests have none.
void DropUnusedBootloader(DomainConfig& c) {
  if (c.bootloader == "" && (c.is_hvm() || !c.image.kernel.empty())) c.bootloader.reset();
  if (!c.bootloader) c.bootloader_args.clear();
}

// The deprecated (restart onreboot|always|never); explicit on_* entries override it.
void ReadDeprecatedRestart(const Value& vm, DomainConfig& c) {
  auto restart = sxp::FindChildValue(vm, "restart");
  if (!restart) return;
  using A = ShutdownAction;
  if (*restart == "onreboot") {
    c.on_poweroff = A::kDestroy, c.on_reboot = A::kRestart, c.on_crash = A::kDestroy;
  } else if (*restart == "always") {
    c.on_poweroff = c.on_reboot = c.on_crash = A::kRestart;
  } else if (*restart == "never") {  // xend stored the invalid mode "never" and failed
    c.on_poweroff = c.on_reboot = c.on_crash = A::kDestroy;
  }
}

// One vcpu's CPUs from an atom ("0-3,^1") or a list of atoms ((0 2 3)).
Result<std::vector<int>> CpusOfOneVcpu(const Value& item) {
  if (item.is_atom()) return ParseCpuList(item.atom());
  std::vector<int> cpus;
  for (const Value& cpu : item.items()) {
    if (!cpu.is_atom()) return Invalid("cpus: expected cpu numbers, got " + sxp::ToString(item));
    TXEND_ASSIGN_OR_RETURN(std::vector<int> more, ParseCpuList(cpu.atom()));
    cpus.insert(cpus.end(), more.begin(), more.end());
  }
  return cpus;
}

// (cpus "0-3,^1") for every vcpu, (cpus ("0" "1")) or (cpus ((0) (1))) per vcpu;
// the deprecated (cpu N) is prepended as xend does.
Result<std::vector<std::vector<int>>> ReadCpus(const Value& vm, int vcpus) {
  std::vector<std::vector<int>> per_vcpu;
  auto cpu = sxp::FindChildValue(vm, "cpu");
  const Value* entry = sxp::Child(vm, "cpus");
  const Value* value = entry ? sxp::ChildAt(*entry, 0) : nullptr;
  if (value == nullptr || value->is_atom()) {
    std::string text = value ? value->atom() : "";
    if (cpu) text = text.empty() ? *cpu : *cpu + "," + text;
    TXEND_ASSIGN_OR_RETURN(std::vector<int> all, ParseCpuList(text));
    if (!all.empty()) per_vcpu.assign(static_cast<size_t>(vcpus), all);
    return per_vcpu;
  }
  for (const Value& item : value->items()) {
    TXEND_ASSIGN_OR_RETURN(std::vector<int> cpus, CpusOfOneVcpu(item));
    per_vcpu.push_back(std::move(cpus));
  }
  if (std::all_of(per_vcpu.begin(), per_vcpu.end(), [](const auto& l) { return l.empty(); }))
    per_vcpu.clear();  // no affinity at all, however it was spelt
  return per_vcpu;
}

// xend's update_with_image_sxp: root= and ip= go in front of the user's args
// unless the args already set them.
std::string FoldKernelArgs(std::string args, const std::string& root, const std::string& ip) {
  auto has_ip = [&] {
    for (size_t p = args.find("ip="); p != std::string::npos; p = args.find("ip=", p + 1))
      if (p + 3 < args.size() && args[p + 3] != ' ') return true;
    return false;
  };
  auto prepend = [&](const std::string& item) { args = args.empty() ? item : item + " " + args; };
  if (!ip.empty() && !has_ip()) prepend("ip=" + ip);
  if (!root.empty() && args.find("root=") == std::string::npos) prepend("root=" + root);
  return args;
}

Status ReadImageEntry(const Value& entry, DomainConfig& c, std::string& root, std::string& ip) {
  std::string key(sxp::Name(entry));
  const Value* value = sxp::ChildAt(entry, 0);
  std::string text = value && value->is_atom() ? value->atom() : "";
  ImageConfig& image = c.image;
  if (key == "kernel")
    image.kernel = text;
  else if (key == "ramdisk")
    image.ramdisk = text;
  else if (key == "args")
    image.args = text;
  else if (key == "root")
    root = text;
  else if (key == "ip")
    ip = text;
  else if (key == "loader")
    image.loader = text;
  else if (key == "vcpu_avail") {
  }  // libvirt repeats it here; the top-level one counts
  else if (key == "superpages") {
    TXEND_ASSIGN_OR_RETURN(int64_t n, ReadIntegerInRange("image: superpages", text, 0, 1));
    image.superpages = static_cast<int>(n);
  } else if (key == "vcpus") {
    TXEND_ASSIGN_OR_RETURN(int64_t n, ReadIntegerInRange("image: vcpus", text, 1, kMaxVcpus));
    c.vcpus = static_cast<int>(n);  // xend: the image's vcpus win
  } else if (key == "localtime") {
    TXEND_ASSIGN_OR_RETURN(bool on, ReadFlag("image: localtime", text));
    c.localtime = on;
  } else if (value != nullptr && !(value->is_atom() && text.empty())) {
    image.options.push_back(entry);  // xend drops options whose value is ''
  }
  return Status::Ok();
}

Status ReadImage(const Value& vm, DomainConfig& c) {
  const Value* image = sxp::Child(vm, "image");
  if (image == nullptr) return Status::Ok();
  const Value* body = sxp::ChildAt(*image, 0);
  if (body == nullptr || !body->is_list())
    return Invalid("image: expected (image (linux ...)), (image (hvm ...)) or (image (pvh ...))");
  std::string_view name = sxp::Name(*body);
  auto builder = ParseBuilder(name);
  if (!builder)
    return Invalid("image: unknown builder '" + std::string(name) +
                   "' (expected linux, hvm or pvh)");
  c.image.builder = *builder;
  std::string root, ip;
  for (size_t i = 0; const Value* entry = sxp::ChildAt(*body, i); ++i)
    if (!sxp::Name(*entry).empty()) TXEND_RETURN_IF_ERROR(ReadImageEntry(*entry, c, root, ip));
  c.image.args = FoldKernelArgs(c.image.args, root, ip);
  if (c.is_hvm() && c.image.loader.empty()) {  // older configs name hvmloader as the kernel
    c.image.loader = c.image.kernel;
    c.image.kernel.clear();
  }
  return Status::Ok();
}

Status ReadScalars(const Value& vm, DomainConfig& c) {
  ReadString(vm, "name", c.name);
  ReadString(vm, "description", c.description);
  if (sxp::Child(vm, "bootloader")) c.bootloader = sxp::ChildValue(vm, "bootloader");
  ReadString(vm, "bootloader_args", c.bootloader_args);
  ReadString(vm, "pool_name", c.pool_name);
  ReadString(vm, "features", c.features);
  ReadString(vm, "on_xend_start", c.on_xend_start);
  ReadString(vm, "on_xend_stop", c.on_xend_stop);
  TXEND_RETURN_IF_ERROR(ReadInteger(vm, "memory", 0, int64_t{1} << 40, c.memory_mb));
  c.maxmem_mb = c.memory_mb;
  TXEND_RETURN_IF_ERROR(ReadInteger(vm, "maxmem", 0, int64_t{1} << 40, c.maxmem_mb));
  TXEND_RETURN_IF_ERROR(ReadInteger(vm, "shadow_memory", 0, int64_t{1} << 40, c.shadow_memory_mb));
  TXEND_RETURN_IF_ERROR(ReadInteger(vm, "vcpus", 1, kMaxVcpus, c.vcpus));
  TXEND_RETURN_IF_ERROR(ReadCpuWeight(vm, c.cpu_weight));
  TXEND_RETURN_IF_ERROR(ReadInteger(vm, "cpu_cap", 0, 100 * kMaxVcpus, c.cpu_cap));
  if (auto localtime = sxp::FindChildValue(vm, "localtime")) {
    TXEND_ASSIGN_OR_RETURN(bool on, ReadFlag("localtime", *localtime));
    c.localtime = on;
  }
  ReadDeprecatedRestart(vm, c);
  TXEND_RETURN_IF_ERROR(ReadAction(vm, "on_poweroff", c.on_poweroff));
  TXEND_RETURN_IF_ERROR(ReadAction(vm, "on_reboot", c.on_reboot));
  return ReadAction(vm, "on_crash", c.on_crash);
}

// (1 << n) - 1 in decimal, for any n: xend's default vcpu_avail is a Python long.
std::string AllOnes(int n) {
  std::string digits = "1";  // little-endian decimal digits of 2^k
  for (int k = 0; k < n; ++k) {
    int carry = 0;
    for (char& d : digits) {
      int v = (d - '0') * 2 + carry;
      d = static_cast<char>('0' + v % 10);
      carry = v / 10;
    }
    if (carry) digits += static_cast<char>('0' + carry);
  }
  digits[0] = static_cast<char>(digits[0] - 1);  // 2^n never ends in 0
  std::reverse(digits.begin(), digits.end());
  return digits;
}

// vcpu_avail, read after the image (whose vcpus win); "all online" is left unset.
Status ReadVcpuAvail(const Value& vm, DomainConfig& c) {
  auto text = sxp::FindChildValue(vm, "vcpu_avail");
  if (!text || *text == AllOnes(c.vcpus)) return Status::Ok();
  auto bits = ParseInteger<uint64_t>(*text);
  if (!bits.ok())
    return Invalid("vcpu_avail: expected a bitmap of online vcpus below 2^64, got '" + *text + "'");
  c.vcpu_avail = *bits;
  return Status::Ok();
}

Value CpusValue(const DomainConfig& c) {
  Value all = Value::List();
  for (int v = 0; v < c.vcpus; ++v) {
    Value one = Value::List();
    if (static_cast<size_t>(v) < c.cpus.size())
      for (int cpu : c.cpus[static_cast<size_t>(v)]) one.Add(Value::Int(cpu));
    all.Add(std::move(one));
  }
  return all;
}

Value ImageValue(const DomainConfig& c) {
  const ImageConfig& image = c.image;
  Value body = Value::List({ToString(image.builder), Value::List({"kernel", image.kernel})});
  if (!image.ramdisk.empty()) body.Add(Value::List({"ramdisk", image.ramdisk}));
  if (!image.args.empty()) body.Add(Value::List({"args", image.args}));
  body.Add(Value::List({"superpages", Value::Int(image.superpages)}));
  if (!image.loader.empty()) body.Add(Value::List({"loader", image.loader}));
  if (c.localtime) body.Add(Value::List({"localtime", *c.localtime ? "1" : "0"}));
  for (const Value& option : image.options) body.Add(option);
  return Value::List({"image", std::move(body)});
}

// xend turns an HVM guest's image-level VNC options into a vfb device unless
// the config already has a framebuffer.
Status AddHvmFramebuffer(DomainConfig& c, const RandomBytes& random) {
  auto vnc = c.image.Option("vnc");
  if (!c.is_hvm() || !c.vfbs.empty() || !vnc) return Status::Ok();
  TXEND_ASSIGN_OR_RETURN(bool on, ReadFlag("image: vnc", *vnc));
  if (!on) return Status::Ok();
  Value vfb = Value::List({"vfb", Value::List({"vnc", "1"})});
  for (std::string_view key : {"vncpasswd", "vncunused", "vncdisplay", "vnclisten", "keymap"})
    if (auto value = c.image.Option(key)) vfb.Add(Value::List({key, *value}));
  return AddDevice(c, vfb, random);
}

}  // namespace

Result<ValidConfig> FromSxp(const Value& vm, const RandomBytes& random) {
  std::string_view head = sxp::Name(vm);
  if (head != "vm" && head != "domain")
    return Invalid("expected a (vm ...) or (domain ...) config, got " +
                   (vm.is_atom() ? "an atom" : "(" + std::string(head) + " ...)"));
  DomainConfig c;
  TXEND_RETURN_IF_ERROR(ReadScalars(vm, c));
  if (auto uuid = sxp::FindChildValue(vm, "uuid"); uuid && !uuid->empty()) {
    TXEND_ASSIGN_OR_RETURN(c.uuid, NormalizeUuid(*uuid));
  } else {
    c.uuid = NewUuid(random);
  }
  TXEND_RETURN_IF_ERROR(ReadImage(vm, c));
  DropUnusedBootloader(c);
  TXEND_RETURN_IF_ERROR(ReadVcpuAvail(vm, c));
  TXEND_ASSIGN_OR_RETURN(c.cpus, ReadCpus(vm, c.vcpus));
  for (const Value* device : sxp::Children(vm, "device"))
    TXEND_RETURN_IF_ERROR(AddDevice(c, *device, random));
  TXEND_RETURN_IF_ERROR(AddHvmFramebuffer(c, random));
  TXEND_RETURN_IF_ERROR(ValidateSettings(c));  // the devices were checked as they were added
  return ValidConfig(std::move(c));
}

Value ToSxp(const DomainConfig& c) {
  Value d = Value::List({"domain"});
  auto add = [&](std::string_view key, Value v) { d.Add(Value::List({key, std::move(v)})); };
  add("cpu_weight", Value::Int(c.cpu_weight));
  add("cpu_cap", Value::Int(c.cpu_cap));
  add("pool_name", c.pool_name);
  if (c.bootloader) {  // libvirt reads any bootloader entry, even (bootloader), as one
    Value entry = Value::List({"bootloader"});
    if (!c.bootloader->empty()) entry.Add(*c.bootloader);
    d.Add(std::move(entry));
  }
  add("vcpus", Value::Int(c.vcpus));
  add("cpus", CpusValue(c));
  add("on_poweroff", ToString(c.on_poweroff));
  add("description", c.description);
  add("on_crash", ToString(c.on_crash));
  add("uuid", c.uuid);
  if (c.bootloader && !c.bootloader_args.empty()) add("bootloader_args", c.bootloader_args);
  add("name", c.name);
  add("on_reboot", ToString(c.on_reboot));
  add("maxmem", Value::Int(c.maxmem_mb));
  add("memory", Value::Int(c.memory_mb));
  add("shadow_memory", Value::Int(c.shadow_memory_mb));
  add("vcpu_avail", c.vcpu_avail ? std::to_string(*c.vcpu_avail) : AllOnes(c.vcpus));
  add("features", c.features);
  add("on_xend_start", c.on_xend_start);
  add("on_xend_stop", c.on_xend_stop);
  d.Add(ImageValue(c));
  for (const VbdConfig& vbd : c.vbds) add("device", DeviceToSxp(vbd));
  for (const VifConfig& vif : c.vifs) add("device", DeviceToSxp(vif));
  if (!c.pci.empty()) add("device", DeviceToSxp(c.pci));
  for (const VfbConfig& vfb : c.vfbs) add("device", DeviceToSxp(vfb));
  for (const ConsoleConfig& console : c.consoles) add("device", DeviceToSxp(console));
  for (const Value& other : c.other_devices) add("device", other);
  return d;
}

}  // namespace txend::toolstack
