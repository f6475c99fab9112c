// What a bootloader reports through its --output file: xend's protocol is an
// SXP image body, `linux (kernel '/path')(ramdisk '/path')(args '...')`
// (pygrub's default format), which xend read with sxp.Parser.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace txend::toolstack {

// The kernel a bootloader chose, as files on dom0 and a command line.
struct BootImage {
  std::string kernel;   // never empty
  std::string ramdisk;  // "" for none
  std::string args;
  bool operator==(const BootImage&) const = default;
};

// EINVAL with a short reason for anything else: not SXP, no kernel, entries
// that are not strings, an empty report.
Result<BootImage> ParseBootloaderOutput(std::string_view text);

}  // namespace txend::toolstack
