#include "tests/support/libvirt_domain.h"

#include <bit>
#include <cctype>
#include <cstdio>
#include <regex>

namespace txend::testing {
namespace {

constexpr char kDefaultVifScript[] = "vif-bridge";  // DEFAULT_VIF_SCRIPT

Status Invalid(const std::string& message) { return Status::Error(EINVAL, message); }

// virBufferEscapeSexpr: ' and \ get a backslash.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Quoted(const std::string& key, const std::string& value) {
  return "(" + key + " '" + Escape(value) + "')";
}

// virUUIDParse + virUUIDFormat: 32 hex digits, dashes anywhere; lowercase 8-4-4-4-12.
Result<std::string> CanonicalUuid(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return Invalid("bad uuid " + text);
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 32) return Invalid("bad uuid " + text);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

bool IsLifecycle(const std::string& s, bool crash) {
  for (const char* a : {"destroy", "restart", "preserve", "rename-restart"})
    if (s == a) return true;
  return crash && (s == "coredump-destroy" || s == "coredump-restart");
}

// xenParseSxprVifRate.
Result<uint64_t> VifRate(const std::string& rate) {
  std::string head = rate.substr(0, rate.find('@'));
  if (!std::regex_match(head, std::regex("^[0-9]+[GMK]?[Bb]/s$")))
    return Invalid("Invalid rate '" + rate + "' specified");
  size_t digits = head.find_first_not_of("0123456789");
  uint64_t v = std::stoull(head.substr(0, digits));
  char suffix = head[digits];
  if (suffix == 'G') v *= 1024 * 1024;
  if (suffix == 'M') v *= 1024;
  if (suffix == 'b' || head[digits + 1] == 'b') v /= 8;
  return v;
}

Result<LvDisk> ParseDisk(const LvSexpr& node, const std::string& cls) {
  auto src = LvNode(node, "device/" + cls + "/uname");
  auto dst = LvNode(node, "device/" + cls + "/dev");
  auto mode = LvNode(node, "device/" + cls + "/mode");
  if (!dst) return Invalid("domain information incomplete, vbd has no dev");
  if (!src) return Invalid("domain information incomplete, vbd has no src");  // PV
  LvDisk disk;
  size_t colon = src->find(':');
  if (colon == std::string::npos) return Invalid("cannot parse vbd filename, missing driver name");
  disk.driver = cls == "tap2" && src->starts_with("tap:") ? "tap2" : src->substr(0, colon);
  std::string rest = src->substr(colon + 1);
  if (disk.driver == "tap" || disk.driver == "tap2") {
    size_t type_end = rest.find(':');
    if (type_end == std::string::npos)
      return Invalid("cannot parse vbd filename, missing driver type");
    disk.format = rest.substr(0, type_end) == "aio" ? "raw" : rest.substr(0, type_end);
    rest = rest.substr(type_end + 1);
  }
  disk.src = rest;
  std::string d = *dst;
  if (d.starts_with("ioemu:")) d = d.substr(6);
  size_t suffix = d.rfind(':');
  if (suffix != std::string::npos) {
    disk.cdrom = d.substr(suffix) == ":cdrom";
    d = d.substr(0, suffix);
  }
  disk.dst = d;
  disk.readonly = mode && mode->find('r') != std::string::npos;
  disk.shareable = mode && mode->find('!') != std::string::npos;
  return disk;
}

Status ParseDisks(const LvSexpr& root, LvDomain& def) {
  for (const LvSexpr& node : root.items) {
    std::string cls = LvLookup(node, "device/vbd")    ? "vbd"
                      : LvLookup(node, "device/tap2") ? "tap2"
                      : LvLookup(node, "device/tap")  ? "tap"
                                                      : "";
    if (cls.empty()) continue;
    TXEND_ASSIGN_OR_RETURN(LvDisk disk, ParseDisk(node, cls));
    if (LvNode(node, "device/" + cls + "/bootable") == "1" && !def.disks.empty()) {
      def.disks.push_back(def.disks[0]);  // libvirt swaps the bootable disk to the front
      def.disks[0] = disk;
    } else {
      def.disks.push_back(disk);
    }
  }
  return Status::Ok();
}

Status ParseNets(const LvSexpr& root, LvDomain& def) {
  int index = 0;
  for (const LvSexpr& node : root.items) {
    if (!LvLookup(node, "device/vif")) continue;
    LvNet net;
    auto script = LvNode(node, "device/vif/script");
    auto bridge = LvNode(node, "device/vif/bridge");
    net.bridge = bridge.value_or("");
    net.script = script.value_or("");
    net.ip = LvNode(node, "device/vif/ip").value_or("");
    if (auto vifname = LvNode(node, "device/vif/vifname"))
      net.ifname = *vifname;
    else if (def.id != -1)
      net.ifname = "vif" + std::to_string(def.id) + "." + std::to_string(index);
    net.mac = LvNode(node, "device/vif/mac").value_or("");
    auto model = LvNode(node, "device/vif/model");
    net.model = model.value_or(LvNode(node, "device/vif/type") == "netfront" ? "netfront" : "");
    if (auto rate = LvNode(node, "device/vif/rate")) {
      TXEND_ASSIGN_OR_RETURN(net.rate_kbytes, VifRate(*rate));
    }
    def.nets.push_back(net);
    ++index;
  }
  return Status::Ok();
}

Status ParsePci(const LvSexpr& root, LvDomain& def) {
  const LvSexpr* pci = nullptr;
  for (const LvSexpr& node : root.items)
    if (LvLookup(node, "device/pci")) {
      pci = LvLookupKey(node, "device/pci");
      break;
    }
  if (pci == nullptr) return Status::Ok();
  for (const LvSexpr& node : pci->items) {
    if (!LvLookup(node, "dev")) continue;
    LvPci dev;
    int* fields[] = {&dev.domain, &dev.bus, &dev.slot, &dev.function};
    const char* names[] = {"domain", "bus", "slot", "func"};
    for (int i = 0; i < 4; ++i) {
      auto text = LvNode(node, std::string("dev/") + names[i]);
      if (!text) return Invalid(std::string("missing PCI ") + names[i]);
      char* end = nullptr;
      long v = std::strtol(text->c_str(), &end, 0);
      if (end == text->c_str() || *end != '\0')
        return Invalid(std::string("cannot parse PCI ") + names[i] + " '" + *text + "'");
      *fields[i] = static_cast<int>(v);
    }
    def.pci.push_back(dev);
  }
  return Status::Ok();
}

// xenParseSxprGraphicsNew, with no vnc-port in xenstore.
Status ParseGraphics(const LvSexpr& root, LvDomain& def) {
  for (const LvSexpr& node : root.items) {
    if (!LvLookup(node, "device/vfb")) continue;
    LvGraphics g;
    if (auto type = LvNode(node, "device/vfb/type"))
      g.type = *type;
    else if (LvNode(node, "device/vfb/vnc"))
      g.type = "vnc";
    else if (LvNode(node, "device/vfb/sdl"))
      g.type = "sdl";
    else
      return Invalid("unknown graphics type 'unknown'");
    if (g.type == "sdl") {
      g.display = LvNode(node, "device/vfb/display").value_or("");
      g.xauth = LvNode(node, "device/vfb/xauthority").value_or("");
    } else if (g.type == "vnc") {
      int port = -1;
      if (auto display = LvNode(node, "device/vfb/vncdisplay")) {
        char* end = nullptr;
        long v = std::strtol(display->c_str(), &end, 0);
        if (end != display->c_str() && *end == '\0') port = static_cast<int>(v);
      }
      g.autoport = LvNode(node, "device/vfb/vncunused") == "1" || port == -1;
      if (port >= 0 && port < 5900) port += 5900;
      g.port = port;
      g.listen = LvNode(node, "device/vfb/vnclisten").value_or("");
      g.passwd = LvNode(node, "device/vfb/vncpasswd").value_or("");
      g.keymap = LvNode(node, "device/vfb/keymap").value_or("");
    } else {
      return Invalid("unknown graphics type '" + g.type + "'");
    }
    def.graphics = g;
    return Status::Ok();
  }
  return Status::Ok();
}

Status ParseOs(const LvSexpr& root, LvDomain& def) {
  if (def.id == 0 || !LvLookup(root, "domain/image")) return Status::Ok();
  def.kernel = LvNodeCopy(root, "domain/image/linux/kernel");
  def.initrd = LvNodeCopy(root, "domain/image/linux/ramdisk");
  def.cmdline = LvNodeCopy(root, "domain/image/linux/args");
  def.root = LvNodeCopy(root, "domain/image/linux/root");
  if (!def.kernel && !def.bootloader)
    return Invalid("domain information incomplete, missing kernel & bootloader");
  return Status::Ok();
}

std::string FormatDisk(const LvDisk& d) {
  std::string out =
      "(" + std::string(d.driver == "tap" || d.driver == "tap2" ? d.driver : "vbd") + " ";
  out += d.cdrom ? "(dev '" + Escape(d.dst) + ":cdrom')" : Quoted("dev", d.dst);
  if (!d.src.empty()) {
    if (d.driver == "tap" || d.driver == "tap2")
      out += "(uname '" + Escape(d.driver) + ":" +
             Escape(d.format.empty() || d.format == "raw" ? "aio" : d.format) + ":" +
             Escape(d.src) + "')";
    else
      out += "(uname '" + Escape(d.driver) + ":" + Escape(d.src) + "')";
  }
  out += d.readonly ? "(mode 'r')" : d.shareable ? "(mode 'w!')" : "(mode 'w')";
  return out + ")";
}

std::string FormatNet(const LvNet& n) {
  std::string out = "(vif (mac '" + n.mac + "')";
  if (n.rate_kbytes) out += "(rate '" + std::to_string(n.rate_kbytes) + "KB/s')";
  if (!n.bridge.empty()) {
    out += Quoted("bridge", n.bridge) +
           Quoted("script", n.script.empty() ? kDefaultVifScript : n.script);
  } else if (!n.script.empty()) {
    out += Quoted("script", n.script);
  }
  if (!n.ip.empty()) out += Quoted("ip", n.ip);
  if (!n.ifname.empty() && !n.ifname.starts_with("vif")) out += Quoted("vifname", n.ifname);
  if (!n.model.empty()) out += Quoted("model", n.model);
  return out + ")";
}

std::string FormatPciDev(const LvPci& p) {
  char buf[96];
  snprintf(buf, sizeof buf, "(dev (domain 0x%04x)(bus 0x%02x)(slot 0x%02x)(func 0x%x))", p.domain,
           p.bus, p.slot, p.function);
  return buf;
}

std::string FormatGraphics(const LvGraphics& g) {
  std::string out = "(device (vkbd))(device (vfb ";
  if (g.type == "sdl") {
    out += "(type sdl)";
    if (!g.display.empty()) out += "(display '" + g.display + "')";
    if (!g.xauth.empty()) out += "(xauthority '" + g.xauth + "')";
  } else {
    out += "(type vnc)";
    out += g.autoport ? "(vncunused 1)"
                      : "(vncunused 0)(vncdisplay " + std::to_string(g.port - 5900) + ")";
    if (!g.listen.empty()) out += "(vnclisten '" + g.listen + "')";
    if (!g.passwd.empty()) out += "(vncpasswd '" + g.passwd + "')";
    if (!g.keymap.empty()) out += "(keymap '" + g.keymap + "')";
  }
  return out + "))";
}

}  // namespace

Result<LvDomain> LvParseDomain(const LvSexpr& root) {
  LvDomain def;
  def.id = LvNode(root, "domain/domid") ? LvInt(root, "domain/domid") : -1;
  auto name = LvNodeCopy(root, "domain/name");
  if (!name) return Invalid("domain information incomplete, missing name");
  def.name = *name;
  auto uuid = LvNode(root, "domain/uuid");
  if (!uuid) return Invalid("domain information incomplete, missing name");
  TXEND_ASSIGN_OR_RETURN(def.uuid, CanonicalUuid(*uuid));
  def.description = LvNodeCopy(root, "domain/description");
  if (LvLookup(root, "domain/image/hvm")) return Invalid("HVM domains are not covered here");
  def.bootloader = LvNodeCopy(root, "domain/bootloader");
  if (!def.bootloader && LvHas(root, "domain/bootloader")) def.bootloader = "";
  if (def.bootloader) def.bootloader_args = LvNodeCopy(root, "domain/bootloader_args");
  TXEND_RETURN_IF_ERROR(ParseOs(root, def));
  def.max_kib = LvU64(root, "domain/maxmem") << 10;
  def.cur_kib = std::min(LvU64(root, "domain/memory") << 10, def.max_kib);
  def.vcpus_max = static_cast<unsigned>(LvInt(root, "domain/vcpus"));
  def.vcpus = static_cast<unsigned>(std::popcount(LvU64(root, "domain/vcpu_avail")));
  if (def.vcpus == 0 || def.vcpus_max < def.vcpus) def.vcpus = def.vcpus_max;
  struct {
    const char* key;
    std::string* field;
    const char* fallback;
    bool crash;
  } actions[] = {{"domain/on_poweroff", &def.on_poweroff, "destroy", false},
                 {"domain/on_reboot", &def.on_reboot, "restart", false},
                 {"domain/on_crash", &def.on_crash, "destroy", true}};
  for (auto& a : actions) {
    *a.field = LvNode(root, a.key).value_or(a.fallback);
    if (!IsLifecycle(*a.field, a.crash)) return Invalid("unknown lifecycle type " + *a.field);
  }
  int localtime = LvInt(root, "domain/localtime");
  if (auto value = LvNode(root, "domain/image/linux/localtime")) {
    char* end = nullptr;
    long v = std::strtol(value->c_str(), &end, 0);
    if (end == value->c_str() || *end != '\0') return Invalid("unknown localtime offset " + *value);
    localtime = static_cast<int>(v);
  }
  def.localtime = localtime != 0;
  TXEND_RETURN_IF_ERROR(ParseDisks(root, def));
  TXEND_RETURN_IF_ERROR(ParseNets(root, def));
  TXEND_RETURN_IF_ERROR(ParsePci(root, def));
  TXEND_RETURN_IF_ERROR(ParseGraphics(root, def));
  return def;
}

std::string LvFormatVm(const LvDomain& d) {
  std::string out = "(vm " + Quoted("name", d.name);
  out += "(memory " + std::to_string((d.cur_kib + 1023) / 1024) + ")(maxmem " +
         std::to_string((d.max_kib + 1023) / 1024) + ")";
  out += "(vcpus " + std::to_string(d.vcpus_max) + ")";
  if (d.vcpus < d.vcpus_max) out += "(vcpu_avail " + std::to_string((1ul << d.vcpus) - 1) + ")";
  out += "(uuid '" + d.uuid + "')";
  if (d.description) out += Quoted("description", *d.description);
  if (d.bootloader) {
    out += d.bootloader->empty() ? "(bootloader)" : Quoted("bootloader", *d.bootloader);
    if (d.bootloader_args) out += Quoted("bootloader_args", *d.bootloader_args);
  }
  out += "(on_poweroff '" + d.on_poweroff + "')(on_reboot '" + d.on_reboot + "')(on_crash '" +
         d.on_crash + "')";
  bool in_image = false;
  if (!d.bootloader) {
    out += "(image (linux ";
    in_image = true;
    if (d.kernel) out += Quoted("kernel", *d.kernel);
    if (d.initrd) out += Quoted("ramdisk", *d.initrd);
    if (d.root) out += Quoted("root", *d.root);
    if (d.cmdline) out += Quoted("args", *d.cmdline);
  } else if (d.cmdline) {
    out += "(image (linux " + Quoted("args", *d.cmdline);
    in_image = true;
  }
  if (!in_image) out += "(image (linux ";
  std::string localtime = "(localtime " + std::string(d.localtime ? "1" : "0") + ")";
  out += localtime + "))" + localtime;
  for (const LvDisk& disk : d.disks) out += "(device " + FormatDisk(disk) + ")";
  for (const LvNet& net : d.nets) out += "(device " + FormatNet(net) + ")";
  if (!d.pci.empty()) {
    out += "(device (pci ";
    for (const LvPci& p : d.pci) out += FormatPciDev(p);
    out += "))";
  }
  if (d.graphics) out += FormatGraphics(*d.graphics);
  return out + ")";
}

std::string LvFormatDiskAttach(const LvDisk& disk) { return FormatDisk(disk); }
std::string LvFormatNetAttach(const LvNet& net) { return FormatNet(net); }
std::string LvFormatPciAttach(const LvPci& pci, bool detach) {
  return "(pci " + FormatPciDev(pci) + (detach ? "(state 'Closing')" : "(state 'Initialising')") +
         ")";
}

LvDomain LvDefinition(LvDomain def) {
  def.id = -1;
  for (LvNet& net : def.nets)
    if (net.ifname.starts_with("vif")) net.ifname.clear();
  if (def.graphics && def.graphics->autoport) def.graphics->port = -1;
  return def;
}

}  // namespace txend::testing
