// Readiness for a service manager: sd_notify(3)'s READY=1 to $NOTIFY_SOCKET (systemd's
// Type=notify); nothing when the variable is unset, so plain runs are unaffected.
#pragma once

#include "base/status.h"

namespace txend {

// Sends READY=1 and removes NOTIFY_SOCKET from the environment, so programs this
// process starts later do not speak for it. Ok when no service manager listens.
Status NotifyServiceReady();

}  // namespace txend
