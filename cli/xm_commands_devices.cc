// xm's device commands: block-attach/-configure/-detach, network-attach/-detach.
#include <algorithm>
#include <cerrno>
#include <set>

#include "cli/xm_commands.h"

namespace txend::xm {
namespace {

using Args = std::vector<std::string>;

bool IsMac(const std::string& s) { return std::count(s.begin(), s.end(), ':') == 5; }

// The devid of the vif with `mac`, from the domain's op=devices list.
Result<std::string> VifByMac(XmContext& ctx, const std::string& dom, const std::string& mac) {
  TXEND_ASSIGN_OR_RETURN(auto devices,
                         ctx.xend.PostDomain(dom, {{"op", "devices"}, {"type", "vif"}}));
  if (devices.is_list())
    for (const auto& d : devices.items()) {
      const sxp::Value* id = sxp::ChildAt(sxp::Value::List({"dev", d}), 0);
      if (!d.is_list() || d.items().size() < 2 || !id) continue;
      sxp::Value nodes = sxp::Value::List({"nodes"});
      if (d.items()[1].is_list())
        for (const auto& n : d.items()[1].items()) nodes.Add(n);
      std::string have = sxp::ChildValue(nodes, "mac");
      std::transform(have.begin(), have.end(), have.begin(), ::tolower);
      std::string want = mac;
      std::transform(want.begin(), want.end(), want.begin(), ::tolower);
      if (have == want && d.items()[0].is_atom()) return d.items()[0].atom();
    }
  return Status::Error(EREMOTEIO, "Cannot find device '" + mac + "' in domain '" + dom + "'");
}

Status Detach(XmContext& ctx, CommandLine& cl, const Args& argv, const char* type) {
  bool force = false;
  cl.app().add_flag("-f,--force", force, "Force the device to be removed");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 2, 2));
  const std::string& dom = cl.args()[0];
  std::string dev = cl.args()[1];
  if (std::string(type) == "vif" && IsMac(dev)) {
    TXEND_ASSIGN_OR_RETURN(dev, VifByMac(ctx, dom, dev));
  }
  if (dev.starts_with(std::string(type) + "/")) dev = dev.substr(std::string(type).size() + 1);
  return ctx.xend
      .PostDomain(dom, {{"op", "device_destroy"},
                        {"type", type},
                        {"dev", dev},
                        {"force", force ? "1" : "0"},
                        {"rm_cfg", "1"}})
      .status();
}

}  // namespace

Status XmBlockAttach(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 4, 5));
  const Args& a = cl.args();
  std::string cls = a[1].starts_with("tap2:") ? "tap2" : a[1].starts_with("tap:") ? "tap" : "vbd";
  sxp::Value dev =
      sxp::Value::List({cls, sxp::Value::List({"uname", a[1]}), sxp::Value::List({"dev", a[2]}),
                        sxp::Value::List({"mode", a[3]})});
  if (a.size() == 5) dev.Add(sxp::Value::List({"backend", a[4]}));
  Form form = {{"op", cl.name() == "block-configure" ? "device_configure" : "device_create"},
               {"config", sxp::ToString(dev)}};
  if (cl.name() == "block-configure") form.emplace_back("dev", a[2]);
  return ctx.xend.PostDomain(a[0], form).status();
}

Status XmBlockDetach(XmContext& ctx, CommandLine& cl, const Args& argv) {
  return Detach(ctx, cl, argv, "vbd");
}

Status XmNetworkAttach(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 11));
  static const std::set<std::string> kKeys = {"type",    "mac",     "bridge", "ip",    "script",
                                              "backend", "vifname", "rate",   "model", "accel"};
  sxp::Value vif = sxp::Value::List({"vif"});
  for (size_t i = 1; i < cl.args().size(); ++i) {
    const std::string& arg = cl.args()[i];
    auto eq = arg.find('=');
    if (eq == std::string::npos || !kKeys.count(arg.substr(0, eq)))
      return Status::Error(EINVAL, "Invalid argument: " + arg);
    vif.Add(sxp::Value::List({arg.substr(0, eq), arg.substr(eq + 1)}));
  }
  return ctx.xend
      .PostDomain(cl.args()[0], {{"op", "device_create"}, {"config", sxp::ToString(vif)}})
      .status();
}

Status XmNetworkDetach(XmContext& ctx, CommandLine& cl, const Args& argv) {
  return Detach(ctx, cl, argv, "vif");
}

}  // namespace txend::xm
