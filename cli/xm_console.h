// Attaching this terminal to a domain's console: the pty txend reports as the
// domain's console_tty (console/tty in xenstore: xenconsoled's pty on Xen, the
// simulator's in txend), in raw mode until Ctrl-] detaches, the domain goes
// away or a signal comes; the terminal's settings are restored in every case.
#pragma once

#include <string>

#include "base/status.h"
#include "cli/xm_commands.h"

namespace txend::xm {

// The key that detaches, as xenconsole's: Ctrl-].
inline constexpr char kConsoleEscape = 0x1d;

Status AttachConsole(XmContext& ctx, const std::string& ref);

}  // namespace txend::xm
