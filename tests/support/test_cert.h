// Test support: a fresh self-signed certificate and its key (PEM files), for
// TLS tests; the certificate also serves as its own CA file.
#pragma once

#include <string>

#include "base/result.h"

namespace txend::testing {

Status WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path,
                           const std::string& common_name = "txend-test");

}  // namespace txend::testing
