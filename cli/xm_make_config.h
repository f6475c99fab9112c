// The (vm ...) SXP `xm create` sends to xend for a parsed config file:
// create.py's preprocess + make_config, minus the filesystem and network probing.
#pragma once

#include <string>

#include "base/result.h"
#include "cli/xm_config.h"
#include "sxp/sxp.h"
#include "toolstack/bootloader/bootloader_command.h"

namespace txend::xm {

// The environment-dependent inputs of make_config, explicit so the conversion is pure.
struct XmSxpOptions {
  std::string display;     // $DISPLAY (SDL framebuffers, HVM); "" = left out
  std::string xauthority;  // $XAUTHORITY or ~/.Xauthority; "" = left out
  std::string pygrub_path = toolstack::kDefaultPygrub;  // what bootloader = 'pygrub' means
  bool console_autoconnect = false;  // xm create -c: pygrub then runs interactively
};

// Builds the (vm ...) SXP. Device strings are checked as xend would check them,
// with errors naming where the setting came from:
// "demo.cfg:5: disk: invalid disk specifier 'phy:/dev/x' (expected ...)".
Result<sxp::Value> MakeVmSxp(const XmConfig& config, const XmSxpOptions& options = {});

}  // namespace txend::xm
