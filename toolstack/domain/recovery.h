// Start-up is recovery: the running domains the hypervisor reports are matched
// to the configs recorded for them, and what xenstore lost is written again.
#pragma once

#include "base/status.h"
#include "toolstack/domain/domain_context.h"

namespace txend::toolstack {

// Registers every running domain that has a recorded config; rewrites the
// nodes of those xenstore forgot (an xsd restarted without persistence) in one
// transaction, and re-introduces them to xenstore. One snapshot, one transaction.
Status RecoverDomains(DomainContext& ctx) LOCKS_EXCLUDED(ctx.lifecycle_mu);

}  // namespace txend::toolstack
