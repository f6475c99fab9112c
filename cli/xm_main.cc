// xm: Xen's domain management command, speaking xend's HTTP/SXP API to txend.
#include <csignal>
#include <iostream>

#include "cli/xm_commands.h"

int main(int argc, char** argv) {
  using namespace txend::xm;
  std::signal(SIGINT, SIG_DFL);  // like xm: Ctrl-C simply ends the command
  auto endpoint = EndpointFromEnvironment();
  if (!endpoint.ok()) {
    std::cerr << "Error: " << endpoint.status().message() << "\n";
    return 1;
  }
  auto timeouts = TimeoutsFromEnvironment();
  if (!timeouts.ok()) {
    std::cerr << "Error: " << timeouts.status().message() << "\n";
    return 1;
  }
  XendClient client(*endpoint, *timeouts);
  Xend xend(client);
  XmContext ctx{xend, std::cout, std::cerr, endpoint->ToString()};
  return RunXm(ctx, std::vector<std::string>(argv + 1, argv + argc));
}
