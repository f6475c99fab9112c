// The xend ops that POST requests name (op=pause, op=create, ...), as tables:
// op name -> HTTP status on success and the handler. Internal to txend/.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "toolstack/toolstack.h"
#include "toolstack/xs/connection.h"
#include "txend/migrations.h"
#include "txend/op_args.h"

namespace txend::daemon {

// What a handler works with: the daemon's parts, the domain the path names
// ("" for POST /xend/domain), the op's parameters, and whether the request
// came over TCP (its configs then pass the incoming-domain policy).
struct OpCall {
  toolstack::Toolstack& toolstack;
  xs::Connection& xs;
  Migrations& migrations;
  const std::string& dom;
  OpArgs args;
  bool remote = false;
};

// One op: its name, the HTTP status it answers with when it worked, and the
// handler, which returns the reply body (SXP text; "" for none).
struct XendOp {
  std::string_view name;
  int status;
  Result<std::string> (*run)(OpCall& call);
};

// The op of POST /xend/domain/<dom> and of POST /xend/domain; nullptr if none.
const XendOp* FindDomainOp(std::string_view name);
const XendOp* FindDomainsOp(std::string_view name);

// GET /xend/domain (and op=list): the domains in `state` ("running" by default,
// "all", or one power state's name), as names sorted, or with detail=1 as
// (domain ...) SXPs in list order, all printed into one buffer (no trees).
Result<std::string> ListDomains(toolstack::Toolstack& toolstack, const http::Params& params);

}  // namespace txend::daemon
