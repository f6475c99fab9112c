#include "toolstack/devicemodel/qemu_command.h"

#include <algorithm>

#include "toolstack/config/block_device_name.h"
#include "toolstack/config/device_config.h"

namespace txend::toolstack {
namespace {

// "ioemu:hdc:cdrom" -> "hdc".
std::string GuestDiskName(std::string dev) {
  if (dev.starts_with("ioemu:")) dev = dev.substr(6);
  if (size_t colon = dev.find(':'); colon != std::string::npos) dev = dev.substr(0, colon);
  return dev;
}

bool IsCdrom(const VbdConfig& vbd) { return vbd.dev.ends_with(":cdrom"); }

// IDE disks and CD-ROMs (hda..hdd); xvd* disks reach the guest through its PV drivers only.
void AddDisks(const DomainConfig& c, std::vector<std::string>& a) {
  for (const VbdConfig& vbd : c.vbds) {
    std::string name = GuestDiskName(vbd.dev);
    if (name.size() != 3 || !name.starts_with("hd") || name[2] < 'a' || name[2] > 'd') continue;
    int disk = name[2] - 'a';
    std::string path = vbd.uname.empty() ? "" : BlockBackingPath(vbd.uname);
    if (IsCdrom(vbd)) {
      std::string id = "ide-" + std::to_string(VbdDeviceNumber(vbd.dev).value_or(0));
      std::string drive = "if=none,readonly=on,id=" + id;
      if (!path.empty()) drive += ",file=" + path + ",format=raw";
      a.insert(a.end(), {"-drive", drive, "-device",
                         "ide-cd,id=" + id + ",drive=" + id + ",bus=ide." +
                             std::to_string(disk / 2) + ",unit=" + std::to_string(disk % 2)});
    } else {
      a.insert(a.end(), {"-drive", "file=" + path + ",if=ide,index=" + std::to_string(disk) +
                                       ",media=disk,format=raw,cache=writeback"});
    }
  }
}

// Every vif but libvirt's (type netfront) gets an emulated NIC, as xend's image.py did.
void AddNics(uint32_t domid, const DomainConfig& c, std::vector<std::string>& a) {
  for (size_t i = 0; i < c.vifs.size(); ++i) {
    const VifConfig& vif = c.vifs[i];
    if (vif.type == "netfront") continue;
    std::string n = std::to_string(i);
    std::string model = vif.model.empty() ? "rtl8139" : vif.model;
    std::string ifname = "vif" + std::to_string(domid) + "." + n + "-emu";
    a.insert(a.end(),
             {"-device", model + ",id=nic" + n + ",netdev=net" + n + ",mac=" + vif.mac, "-netdev",
              "type=tap,id=net" + n + ",ifname=" + ifname + ",br=" +
                  (vif.bridge.empty() ? "xenbr0" : vif.bridge) + ",script=no,downscript=no"});
  }
}

void AddDisplay(const HvmConfig& hvm, std::vector<std::string>& a) {
  if (hvm.vnc) {
    std::string vnc = hvm.vnclisten + ":" + std::to_string(hvm.vncdisplay.value_or(0));
    if (!hvm.vncpasswd.empty()) vnc += ",password=on";
    if (hvm.vncunused) vnc += ",to=99";
    a.insert(a.end(), {"-vnc", vnc});
  } else {
    a.insert(a.end(), {"-vnc", "none"});
  }
  a.insert(a.end(), {"-display", hvm.sdl ? "sdl" : "none"});
  if (!hvm.keymap.empty()) a.insert(a.end(), {"-k", hvm.keymap});
  if (hvm.nographic && !hvm.vnc && !hvm.sdl) a.push_back("-nographic");
  std::string vgamem = ",vgamem_mb=" + std::to_string(VideoMemoryMib(hvm));
  a.insert(a.end(), {"-device", (hvm.stdvga ? "VGA" : "cirrus-vga") + vgamem});
}

void AddPorts(const HvmConfig& hvm, std::vector<std::string>& a) {
  for (const std::string& serial : hvm.serial) a.insert(a.end(), {"-serial", serial});
  if (!hvm.parallel.empty() && hvm.parallel != "none")
    a.insert(a.end(), {"-parallel", hvm.parallel});
  if (hvm.usb || !hvm.usbdevice.empty()) a.push_back("-usb");
  for (const std::string& device : hvm.usbdevice) a.insert(a.end(), {"-usbdevice", device});
  if (hvm.soundhw == "hda")
    a.insert(a.end(), {"-device", "intel-hda", "-device", "hda-duplex"});
  else if (!hvm.soundhw.empty())
    a.insert(a.end(), {"-device", hvm.soundhw});
}

int OnlineVcpus(const DomainConfig& c) {
  if (!c.vcpu_avail) return c.vcpus;
  int n = 0;
  for (int v = 0; v < c.vcpus && v < 64; ++v) n += (*c.vcpu_avail >> v) & 1;
  return n;
}

}  // namespace

int VideoMemoryMib(const HvmConfig& hvm) { return std::max(hvm.videoram_mib, hvm.stdvga ? 16 : 8); }

std::string QmpSocketPath(const DeviceModelOptions& options, uint32_t domid) {
  return options.run_dir + "/qmp-libxl-" + std::to_string(domid);
}

QemuCommand BuildQemuCommand(uint32_t domid, const DomainConfig& c,
                             const DeviceModelOptions& options, int restore_fd) {
  HvmConfig hvm = ReadHvmConfig(c);
  std::string id = std::to_string(domid);
  QemuCommand q;
  std::vector<std::string>& a = q.argv;
  a = {ResolveDeviceModel(hvm.device_model, options),
       "-xen-domid",
       id,
       "-no-shutdown",
       "-chardev",
       "socket,id=libxl-cmd,path=" + QmpSocketPath(options, domid) + ",server=on,wait=off",
       "-mon",
       "chardev=libxl-cmd,mode=control",
       "-nodefaults",
       "-no-user-config",
       "-name",
       c.name};
  AddDisplay(hvm, a);
  AddPorts(hvm, a);
  a.insert(a.end(), {"-boot", "order=" + hvm.boot});
  if (!hvm.acpi) a.push_back("-no-acpi");
  if (c.vcpus > 1)
    a.insert(a.end(),
             {"-smp", std::to_string(OnlineVcpus(c)) + ",maxcpus=" + std::to_string(c.vcpus)});
  AddNics(domid, c, a);
  if (restore_fd >= 0) a.insert(a.end(), {"-incoming", "fd:" + std::to_string(restore_fd)});
  a.insert(a.end(), {"-machine", hvm.xen_platform_pci ? "xenfv,suppress-vmdesc=on"
                                                      : "pc,accel=xen,suppress-vmdesc=on"});
  a.insert(a.end(), {"-m", std::to_string(c.memory_mb - VideoMemoryMib(hvm))});
  AddDisks(c, a);
  q.env.push_back("XEN_DOMAIN_ID=" + id);
  if (!options.xenstored_path.empty()) q.env.push_back("XENSTORED_PATH=" + options.xenstored_path);
  if (hvm.sdl && !hvm.display.empty()) q.env.push_back("DISPLAY=" + hvm.display);
  if (hvm.sdl && !hvm.xauthority.empty()) q.env.push_back("XAUTHORITY=" + hvm.xauthority);
  return q;
}

}  // namespace txend::toolstack
