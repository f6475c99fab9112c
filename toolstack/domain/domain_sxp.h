// xend's (domain ...) SXP of a DomainRecord — the config's ToSxp with the
// running domain's fields where xend puts them — and xend's way of printing
// seconds.
#pragma once

#include <string>

#include "sxp/sxp.h"
#include "toolstack/domain/domain_record.h"

namespace txend::toolstack {

// The one place runtime fields (domid, start_time, cpu_time, online_vcpus,
// status, state) are interleaved with the config, and the memory target
// replaces the configured memory: printed (compact) onto `out`, from the
// config's PrintedConfig, without building a tree.
void AppendDomainSxp(const DomainRecord& r, std::string& out);
// The same as a value (the status page, tests).
sxp::Value DomainSxp(const DomainRecord& r);

// Seconds as xend printed floats (Python 2 str(): 12 significant digits).
std::string Seconds(double s);

}  // namespace txend::toolstack
