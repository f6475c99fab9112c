// Test support: certificates and keys (PEM files) for TLS tests — a
// self-signed one (its own CA file), a CA, and certificates a CA signs, with
// the names (subjectAltName) and validity a test asks for.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace txend::testing {

struct CertOptions {
  std::string common_name = "txend-test";
  std::vector<std::string> names = {"127.0.0.1", "localhost"};  // IP addresses or DNS names
  long not_before_s = -60;                                      // from now
  long not_after_s = 24 * 3600;  // from now; negative: already expired
  bool ca = false;               // may sign certificates
};

Status WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path,
                           const CertOptions& options = {});
// A certificate signed by the CA in `ca_cert_path`/`ca_key_path`.
Status WriteSignedCert(const std::string& cert_path, const std::string& key_path,
                       const std::string& ca_cert_path, const std::string& ca_key_path,
                       const CertOptions& options);

}  // namespace txend::testing
