#include "base/service_notify.h"

#include <cstring>
#include <systemd/sd-daemon.h>

namespace txend {

Status NotifyServiceReady() {
  int rc = sd_notify(/*unset_environment=*/1, "READY=1");
  if (rc < 0) return Status::Error(-rc, std::string("sd_notify READY=1: ") + strerror(-rc));
  return Status::Ok();
}

}  // namespace txend
