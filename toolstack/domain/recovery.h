// Start-up is recovery. In order:
//  1. the running domains the hypervisor reports are matched to the configs
//     recorded for them (DomainRegistry);
//  2. every operation a killed txend left (its intent, intents.h) is
//     finished or undone — a create, restore or start is undone unless it had
//     registered its domain; a destroy is finished; a save is undone while the
//     domain exists (resumed, the partial file removed) and finished once it
//     is gone; a migration resumes its domain unless it had handed it over
//     (then the copy stays suspended: it may run at the destination); an
//     arrival is destroyed unless handed over (then it runs); an attach is
//     undone, a detach finished; a reset creates the domain again;
//  3. what xenstore forgot of the running domains is written again (an xsd
//     restarted without persistence) and they are introduced again;
//  4. xenstore is reconciled with the hypervisor: /local/domain/<id>, /vm
//     entries and backend directories of domains that exist nowhere are
//     removed, and running configs no domain matched are forgotten.
// Nothing else runs meanwhile. Each step says what it did through options.log.
#pragma once

#include "base/status.h"
#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {

Status RecoverDomains(DomainContext& ctx, Lifecycle& lifecycle);

}  // namespace txend::toolstack
