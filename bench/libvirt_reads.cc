// libvirt_reads: GETs a path over a unix socket as libvirt's xend driver does, a new
// connection for each (HTTP/1.1, its three headers, the reply read to its Content-Length,
// then the client's close), so a server's CPU per such read can be measured from outside.
// Exits 1 at the first reply that is not a 200 with a body.
//
//   libvirt_reads --socket PATH --path /xend/domain/demo?detail=1 --count N
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "tests/support/xend_client.h"

int main(int argc, char** argv) {
  CLI::App app{"GETs a path over a unix socket, a new connection each, as libvirt does"};
  std::string socket, path;
  int count = 1;
  app.add_option("--socket", socket, "the server's unix socket")->required();
  app.add_option("--path", path, "the path to GET")->required();
  app.add_option("--count", count, "how many GETs")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  auto client = txend::testing::XendClient::Unix(socket);
  for (int i = 0; i < count; ++i) {
    auto reply = client.Get(path);
    if (reply.status != 200 || reply.body.empty()) {
      fprintf(stderr, "libvirt_reads: GET %s: status %d after %d replies\n", path.c_str(),
              reply.status, i);
      return 1;
    }
  }
  return 0;
}
