// create.py's make_config, step by step, over a parsed XmConfig.
#include "cli/xm_make_config.h"

#include <cctype>

#include "cli/xm_options.h"
#include "toolstack/config/device_config.h"

namespace txend::xm {
namespace {

using sxp::Value;
using Kind = PyValue::Kind;

// A device string's comma-separated key=value pairs, in order; a repeated key
// keeps its first position and takes the last value (a Python dict).
using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string Trim(std::string_view s) {
  size_t first = s.find_first_not_of(" \t\n");
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(" \t\n") - first + 1));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t pos; (pos = s.find(sep, start)) != std::string_view::npos; start = pos + 1)
    parts.emplace_back(s.substr(start, pos - start));
  parts.emplace_back(s.substr(start));
  return parts;
}

void SetPair(Pairs& pairs, const std::string& key, const std::string& value) {
  for (auto& [k, v] : pairs) {
    if (k == key) {
      v = value;
      return;
    }
  }
  pairs.emplace_back(key, value);
}

bool HasKey(const Pairs& pairs, std::string_view key) {
  for (const auto& p : pairs)
    if (p.first == key) return true;
  return false;
}

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> set) {
  for (auto x : set)
    if (x == s) return true;
  return false;
}

Value Entry(std::string_view key, Value value) { return Value::List({key, std::move(value)}); }

// A config value as an SXP item: a list of atoms, or one atom printed as Python's str().
Value ToSxpItem(const PyValue& v) {
  if (!v.is(Kind::kList) && !v.is(Kind::kTuple)) return Value(v.Str());
  Value list = Value::List();
  for (const PyValue& item : v.items()) list.Add(ToSxpItem(item));
  return list;
}

bool IsEmpty(const PyValue& v) {
  return v.is(Kind::kNone) || (v.is(Kind::kStr) && v.as_str().empty()) ||
         ((v.is(Kind::kList) || v.is(Kind::kTuple)) && v.items().empty());
}

class VmBuilder {
 public:
  VmBuilder(const XmConfig& config, const XmSxpOptions& options)
      : config_(config), options_(options) {}

  Result<Value> Build() {
    Value vm = Value::List({"vm"});
    for (std::string_view n :
         {"name", "memory", "maxmem", "shadow_memory", "restart", "on_poweroff", "tsc_mode",
          "nomigrate", "on_reboot", "on_crash", "features", "on_xend_start", "on_xend_stop",
          "target", "machine_address_size", "suppress_spurious_page_faults", "description"})
      if (Get(n).Truthy()) vm.Add(Entry(n, ToSxpItem(Get(n))));
    for (std::string_view n : {"cpuid", "cpuid_check", "vscsi", "vusb", "vif2", "access_control"})
      if (Get(n).Truthy()) return Fail(n, "not supported by txend's xm");
    TXEND_RETURN_IF_ERROR(AddVcpus(vm));
    for (std::string_view n : {"uuid", "cpu", "cpus", "cpu_cap", "cpu_weight"})
      if (!Get(n).is(Kind::kNone)) vm.Add(Entry(n, ToSxpItem(Get(n))));
    for (std::string_view n : {"blkif", "netif", "tpmif"})
      if (Get(n).Truthy()) vm.Add(Entry("backend", Value::List({n})));
    if (Get("localtime").Truthy()) vm.Add(Entry("localtime", ToSxpItem(Get("localtime"))));
    if (Get("oos").Truthy()) vm.Add(Entry("oos", ToSxpItem(Get("oos"))));
    if (Get("pool").Truthy()) vm.Add(Entry("pool_name", ToSxpItem(Get("pool"))));
    TXEND_ASSIGN_OR_RETURN(Value image, Image());
    TXEND_RETURN_IF_ERROR(AddBootloader(vm));
    vm.Add(Entry("image", std::move(image)));
    vm.Add(Entry("s3_integrity", ToSxpItem(Get("s3_integrity"))));
    TXEND_RETURN_IF_ERROR(AddDisks(vm));
    TXEND_RETURN_IF_ERROR(AddPci(vm));
    TXEND_RETURN_IF_ERROR(AddIoports(vm));
    TXEND_RETURN_IF_ERROR(AddIrqs(vm));
    TXEND_RETURN_IF_ERROR(AddVifs(vm));
    TXEND_RETURN_IF_ERROR(AddVtpm(vm));
    TXEND_RETURN_IF_ERROR(AddVfbs(vm));
    return vm;
  }

 private:
  // The setting, else the option's default, else None.
  PyValue Get(std::string_view name) const {
    if (const XmSetting* s = config_.Find(name)) return s->value;
    if (const XmOption* o = FindXmOption(name)) return o->default_value;
    return PyValue();
  }
  std::string Str(std::string_view name) const {
    PyValue v = Get(name);
    return v.is(Kind::kNone) ? "" : v.Str();
  }
  std::vector<std::string> Strings(std::string_view name) const {
    std::vector<std::string> out;
    PyValue v = Get(name);
    if (v.is(Kind::kList))
      for (const PyValue& item : v.items()) out.push_back(item.Str());
    return out;
  }
  Status Fail(std::string_view name, const std::string& message) const {
    const XmSetting* s = config_.Find(name);
    std::string where = s && s->origin != "default" ? s->origin + ": " : "";
    bool named = message.compare(0, name.size(), name) == 0;
    return Status::Error(EINVAL, where + (named ? "" : std::string(name) + ": ") + message);
  }
  Status Check(std::string_view name, const Status& st) const {
    return st.ok() ? st : Fail(name, st.message());
  }

  Status AddVcpus(Value& vm) {
    PyValue max = Get("maxvcpus"), vcpus = Get("vcpus");
    if (max.Truthy() && !AsInteger(max))
      return Fail("maxvcpus", "expected an integer, got " + max.Repr());
    if (max.Truthy() && vcpus.Truthy()) {
      int64_t n = *AsInteger(vcpus);
      if (n < 0 || n > 63) return Fail("vcpus", "with maxvcpus, vcpus must be 0..63");
      vm.Add(Entry("vcpu_avail", Value::Int((int64_t{1} << n) - 1)));
    }
    if (max.Truthy())
      vm.Add(Entry("vcpus", Value::Int(*AsInteger(max))));
    else if (vcpus.Truthy())
      vm.Add(Entry("vcpus", ToSxpItem(vcpus)));
    return Status::Ok();
  }

  Status AddBootloader(Value& vm) {
    std::string bootloader = Str("bootloader");
    if (bootloader.empty()) return Status::Ok();
    if (bootloader == "pygrub") bootloader = options_.pygrub_path;
    vm.Add(Entry("bootloader", bootloader));
    TXEND_ASSIGN_OR_RETURN(std::string args, BootloaderArgs());
    vm.Add(Entry("bootloader_args", args));
    return Status::Ok();
  }

  // bootargs; else xl's bootloader_args (a string, or a list of arguments);
  // else Xen 3.x's deprecated bootentry, as --entry=; else -q ('' with -c).
  Result<std::string> BootloaderArgs() const {
    if (!Str("bootargs").empty()) return Str("bootargs");
    PyValue xl = Get("bootloader_args");
    if (xl.is(Kind::kStr) && !xl.as_str().empty()) return xl.as_str();
    if (xl.is(Kind::kList) || xl.is(Kind::kTuple)) return ShellJoin(xl);
    if (!xl.is(Kind::kNone) && !xl.is(Kind::kStr))
      return Fail("bootloader_args", "expected a string or a list of strings, got " + xl.Repr());
    if (!Str("bootentry").empty()) return "--entry=" + Str("bootentry");
    return std::string(options_.console_autoconnect ? "" : "-q");
  }

  // Arguments quoted as Python's shlex.quote does, so that shlex.split (the
  // server's split of bootloader_args) gives them back.
  Result<std::string> ShellJoin(const PyValue& list) const {
    std::string out;
    for (const PyValue& item : list.items()) {
      if (!item.is(Kind::kStr))
        return Fail("bootloader_args",
                    "expected a string or a list of strings, got " + list.Repr());
      const std::string& arg = item.as_str();
      bool safe = !arg.empty() && arg.find_first_not_of(
                                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789_@%+=:,./-") == std::string::npos;
      if (!out.empty()) out += ' ';
      if (safe) {
        out += arg;
        continue;
      }
      out += '\'';
      for (char c : arg) out += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
      out += '\'';
    }
    return out;
  }

  // preprocess_ip: the kernel's ip= autoconfiguration string.
  std::string KernelIp() const {
    if (Str("ip").empty() && Str("dhcp") == "off") return "";
    return Str("ip") + ":" + Str("nfs_server") + ":" + Str("gateway") + ":" + Str("netmask") + ":" +
           Str("hostname") + ":" + Str("interface") + ":" + Str("dhcp");
  }

  static std::string StripPrefix(std::string s, std::string_view prefix) {
    return s.compare(0, prefix.size(), prefix) == 0 ? s.substr(prefix.size()) : s;
  }

  // xm's `builder`, or xl's `type` (pv, pvh, hvm), which names the same thing.
  Result<std::string> Builder() const {
    std::string builder = Str("builder");
    if (builder != "linux" && builder != "hvm" && builder != "pvh")
      return Fail("builder", "unknown builder '" + builder + "' (expected linux, hvm or pvh)");
    const XmSetting* type = config_.Find("type");
    if (type == nullptr || type->value.is(Kind::kNone)) return builder;
    std::string named = type->value.Str();
    std::string from_type = named == "pv" ? "linux" : named;
    if (from_type != "linux" && from_type != "hvm" && from_type != "pvh")
      return Fail("type", "unknown guest type '" + named + "' (expected pv, pvh or hvm)");
    const XmSetting* explicit_builder = config_.Find("builder");
    if (explicit_builder && explicit_builder->origin != "default" && builder != from_type)
      return Fail("type", "guest type '" + named + "' contradicts builder '" + builder + "'");
    return from_type;
  }

  Result<Value> Image() {
    TXEND_ASSIGN_OR_RETURN(std::string builder, Builder());
    bool pvh = builder == "pvh";
    Value image = Value::List({builder});
    auto add_if = [&](std::string_view key, const PyValue& v) {
      if (v.Truthy()) image.Add(Entry(key, ToSxpItem(v)));
    };
    add_if("kernel", Get("kernel"));
    add_if("ramdisk", Get("ramdisk"));
    add_if("loader", Get("loader"));
    if (std::string ip = KernelIp(); !ip.empty()) image.Add(Entry("ip", StripPrefix(ip, "ip=")));
    if (std::string root = Str("root"); !root.empty())
      image.Add(Entry("root", StripPrefix(root, "root=")));
    if (!pvh) AddEmulatedDevices(image);
    TXEND_ASSIGN_OR_RETURN(std::string extra, KernelExtra());
    if (!extra.empty()) image.Add(Entry("args", extra));
    add_if("superpages", Get("superpages"));
    if (builder == "hvm") AddHvm(image);
    if (AsInteger(Get("vhpt")).value_or(0) != 0) image.Add(Entry("vhpt", ToSxpItem(Get("vhpt"))));
    add_if("machine_address_size", Get("machine_address_size"));
    add_if("suppress_spurious_page_faults", Get("suppress_spurious_page_faults"));
    for (std::string_view key : {"tsc_mode", "nomigrate"})
      if (!Get(key).is(Kind::kNone)) image.Add(Entry(key, ToSxpItem(Get(key))));
    return image;
  }

  // The display and ports xm writes for PV and HVM guests; a PVH guest has none.
  void AddEmulatedDevices(Value& image) const {
    for (std::string_view key : {"videoram", "parallel", "serial"})
      if (Get(key).Truthy()) image.Add(Entry(key, ToSxpItem(Get(key))));
    if (Get("monitor_path").Truthy()) {
      image.Add(Entry("monitor_path", Str("monitor_path")));
      image.Add(Entry("monitor", "1"));
    } else if (Get("monitor").Truthy()) {
      image.Add(Entry("monitor", ToSxpItem(Get("monitor"))));
    }
  }

  // preprocess_nfs: nfsroot= goes in front of `extra`.
  Result<std::string> KernelExtra() const {
    std::string extra = Str("extra");
    if (Str("nfs_root").empty()) return extra;
    if (Str("nfs_server").empty()) return Fail("nfs_root", "needs nfs_server as well");
    return "nfsroot=" + Str("nfs_server") + ":" + Str("nfs_root") + " " + extra;
  }

  // configure_hvm. Unlike xm, options whose value is '' or [] are left out:
  // xend ignores them (XendConfig keeps only non-empty platform values).
  void AddHvm(Value& image) {
    static constexpr std::string_view kKeys[] = {"acpi",
                                                 "apic",
                                                 "boot",
                                                 "actmem",
                                                 "xenpaging_file",
                                                 "xenpaging_extra",
                                                 "device_model",
                                                 "display",
                                                 "smbios_firmware",
                                                 "acpi_firmware",
                                                 "fda",
                                                 "fdb",
                                                 "gfx_passthru",
                                                 "guest_os_type",
                                                 "hap",
                                                 "hpet",
                                                 "isa",
                                                 "keymap",
                                                 "localtime",
                                                 "nestedhvm",
                                                 "nographic",
                                                 "opengl",
                                                 "oos",
                                                 "pae",
                                                 "pci_msitranslate",
                                                 "pci_power_mgmt",
                                                 "rtc_timeoffset",
                                                 "sdl",
                                                 "soundhw",
                                                 "stdvga",
                                                 "timer_mode",
                                                 "usb",
                                                 "usbdevice",
                                                 "vcpus",
                                                 "vnc",
                                                 "vncconsole",
                                                 "vncdisplay",
                                                 "vnclisten",
                                                 "vncunused",
                                                 "vpt_align",
                                                 "watchdog",
                                                 "watchdog_action",
                                                 "xauthority",
                                                 "xen_extended_power_mgmt",
                                                 "xen_platform_pci",
                                                 "memory_sharing"};
    for (std::string_view key : kKeys) {
      PyValue v = Get(key);
      if (v.is(Kind::kNone) && key == "display" && !options_.display.empty())
        v = PyValue::Str(options_.display);
      if (v.is(Kind::kNone) && key == "xauthority" && !options_.xauthority.empty())
        v = PyValue::Str(options_.xauthority);
      if (!IsEmpty(v)) image.Add(Entry(key, ToSxpItem(v)));
    }
    if (!IsEmpty(Get("vncpasswd"))) image.Add(Entry("vncpasswd", Str("vncpasswd")));
    if (AsInteger(Get("extid")).value_or(0) == 1)
      image.Add(Entry("viridian", "1"));
    else if (Get("viridian").Truthy())
      image.Add(Entry("viridian", ToSxpItem(Get("viridian"))));
  }

  Status AddDisks(Value& vm) {
    for (const std::string& spec : Strings("disk")) {
      std::vector<std::string> parts = Split(spec, ',');
      if (parts.size() < 3 || parts.size() > 5)
        return Fail("disk", "invalid disk specifier '" + spec +
                                "' (expected UNAME,DEV,MODE[,BACKEND[,PROTOCOL]])");
      const std::string& uname = parts[0];
      std::string type = uname.rfind("tap2:", 0) == 0  ? "tap2"
                         : uname.rfind("tap:", 0) == 0 ? "tap"
                                                       : "vbd";
      Value vbd = Value::List(
          {type, Entry("uname", uname), Entry("dev", parts[1]), Entry("mode", parts[2])});
      if (parts.size() > 3 && !parts[3].empty()) vbd.Add(Entry("backend", parts[3]));
      if (parts.size() > 4 && !parts[4].empty()) vbd.Add(Entry("protocol", parts[4]));
      TXEND_RETURN_IF_ERROR(Check("disk", toolstack::ParseVbd(vbd).status()));
      vm.Add(Entry("device", std::move(vbd)));
    }
    return Status::Ok();
  }

  Status AddPci(Value& vm) {
    std::vector<toolstack::PciDevice> devices;
    for (const std::string& spec : Strings("pci")) {
      auto pci = toolstack::ParsePciSpec(spec);
      if (!pci.ok()) return Fail("pci", pci.status().message());
      devices.push_back(std::move(*pci));
    }
    if (!devices.empty()) vm.Add(Entry("device", toolstack::DeviceToSxp(devices)));
    return Status::Ok();
  }

  Status AddIoports(Value& vm) {
    for (const std::string& spec : Strings("ioports")) {
      std::vector<std::string> range = Split(spec, '-');
      if (range.size() == 1) range.push_back(range[0]);
      bool hex = range.size() == 2;
      for (const std::string& r : range)
        hex =
            hex && !r.empty() && r.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
      if (!hex)
        return Fail("ioports", "invalid i/o port range '" + spec + "' (expected hex FROM[-TO])");
      vm.Add(Entry("device", Value::List({"ioports", Entry("from", "0x" + range[0]),
                                          Entry("to", "0x" + range[1])})));
    }
    return Status::Ok();
  }

  Status AddIrqs(Value& vm) {
    for (const std::string& irq : Strings("irq")) {
      if (!AsInteger(PyValue::Str(irq)))
        return Fail("irq", "expected an interrupt number, got '" + irq + "'");
      vm.Add(Entry("device", Value::List({"irq", Entry("irq", irq)})));
    }
    return Status::Ok();
  }

  // comma_sep_kv_to_dict.
  Result<Pairs> KeyValues(std::string_view name, const std::string& spec) const {
    Pairs pairs;
    std::string text = Trim(spec);
    if (text.empty()) return pairs;
    for (const std::string& item : Split(text, ',')) {
      size_t eq = item.find('=');
      if (eq == std::string::npos)
        return Fail(name, "'" + item + "' should be a pair, separated by an equals sign");
      SetPair(pairs, Trim(item.substr(0, eq)), Trim(item.substr(eq + 1)));
    }
    return pairs;
  }

  Status AddVifs(Value& vm) {
    std::vector<std::string> vifs = Strings("vif");
    int64_t nics = AsInteger(Get("nics")).value_or(-1);  // deprecated: pad with default vifs
    while (nics > 0 && static_cast<int64_t>(vifs.size()) < nics && vifs.size() < 1024)
      vifs.emplace_back();
    for (const std::string& spec : vifs) {
      TXEND_ASSIGN_OR_RETURN(Pairs pairs, KeyValues("vif", spec));
      Value vif = Value::List({"vif"});
      for (const auto& [key, value] : pairs) {
        if (!IsOneOf(key, {"backend", "bridge", "ip", "mac", "script", "type", "vifname", "rate",
                           "model", "accel", "policy", "label"}))
          return Fail("vif", "invalid vif option '" + key + "'");
        vif.Add(Entry(key, value));
      }
      TXEND_RETURN_IF_ERROR(Check("vif", toolstack::ParseVif(vif).status()));
      vm.Add(Entry("device", std::move(vif)));
    }
    return Status::Ok();
  }

  Status AddVtpm(Value& vm) {
    std::vector<std::string> vtpms = Strings("vtpm");
    if (vtpms.empty()) return Status::Ok();
    Pairs pairs;
    for (const std::string& item : Split(vtpms[0], ',')) {
      size_t eq = item.find('=');
      std::string key = Trim(item.substr(0, eq));
      if (eq == std::string::npos || !IsOneOf(key, {"backend", "instance", "uuid"}))
        return Fail("vtpm", "invalid vtpm specifier '" + vtpms[0] + "'");
      SetPair(pairs, key, Trim(item.substr(eq + 1)));
    }
    Value vtpm = Value::List({"vtpm"});
    for (auto& [key, value] : pairs) {
      if (key == "instance") {
        if (value == "VTPMD")
          value = "0";
        else if (!AsInteger(PyValue::Str(value)))
          return Fail("vtpm", "could not parse instance number '" + value + "'");
        else if (*AsInteger(PyValue::Str(value)) == 0)
          return Fail("vtpm", "instance must not be 0");
      }
      if (!value.empty()) vtpm.Add(Entry(key == "instance" ? "pref_instance" : key, value));
    }
    vm.Add(Entry("device", std::move(vtpm)));
    return Status::Ok();
  }

  Status AddVfbs(Value& vm) {
    for (const std::string& spec : Strings("vfb")) {
      TXEND_ASSIGN_OR_RETURN(Pairs pairs, KeyValues("vfb", spec));
      for (size_t i = 0; i < pairs.size(); ++i) {
        if (pairs[i].first != "type") continue;  // legacy type=vnc means vnc=1
        std::string type = pairs[i].second;
        pairs.erase(pairs.begin() + static_cast<long>(i));
        SetPair(pairs, type, "1");
        break;
      }
      Value vfb = Value::List({"vfb"});
      for (const auto& [key, value] : pairs) {
        if (!IsOneOf(key,
                     {"vnclisten", "vncunused", "vncdisplay", "display", "videoram", "xauthority",
                      "sdl", "vnc", "vncpasswd", "opengl", "keymap", "serial", "monitor"}))
          return Fail("vfb", "configuration option '" + key + "' unknown to vfbs");
        vfb.Add(Entry(key, value));
      }
      if (!HasKey(pairs, "keymap") && Get("keymap").Truthy())
        vfb.Add(Entry("keymap", Str("keymap")));
      if (!HasKey(pairs, "display") && !options_.display.empty())
        vfb.Add(Entry("display", options_.display));
      if (!HasKey(pairs, "xauthority") && !options_.xauthority.empty())
        vfb.Add(Entry("xauthority", options_.xauthority));
      TXEND_RETURN_IF_ERROR(Check("vfb", toolstack::ParseVfb(vfb).status()));
      vm.Add(Entry("device", Value::List({"vkbd"})));
      vm.Add(Entry("device", std::move(vfb)));
    }
    return Status::Ok();
  }

  const XmConfig& config_;
  const XmSxpOptions& options_;
};

}  // namespace

Result<sxp::Value> MakeVmSxp(const XmConfig& config, const XmSxpOptions& options) {
  return VmBuilder(config, options).Build();
}

}  // namespace txend::xm
