// The waits for a domain's devices, on xenstore watches (never polling):
// for the backends to run their hotplug scripts after the write that creates
// the devices, and for every frontend and backend to reach Connected.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "base/status.h"
#include "toolstack/domain/domain_context.h"
#include "toolstack/layout/xenstore_layout.h"

namespace txend::toolstack {

// Watches each vbd's and vif's backend hotplug-status, runs `trigger` (which
// creates the devices), waits (up to the device timeout) until every watch
// has fired past its initial event, then reads every result in one snapshot:
// 1 transaction besides the trigger's.
Status WaitForBackends(const DomainContext& ctx, uint32_t domid,
                       const std::vector<DeviceRef>& devices,
                       const std::function<Status()>& trigger);

// Waits until every device's frontend and backend are Connected (a snapshot
// per round of watch events), up to the device timeout.
Status WaitDevicesConnected(const DomainContext& ctx, uint32_t domid,
                            const std::vector<DeviceRef>& devices);

}  // namespace txend::toolstack
