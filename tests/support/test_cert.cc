#include "tests/support/test_cert.h"

#include <cstdio>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace txend::testing {

Status WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path,
                           const std::string& common_name) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) return Status::Error(EIO, "cannot generate a key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return Status::Error(EIO, "cannot sign the certificate");
  FILE* c = fopen(cert_path.c_str(), "w");
  FILE* k = fopen(key_path.c_str(), "w");
  bool ok = c && k && PEM_write_X509(c, cert.get()) == 1 &&
            PEM_write_PrivateKey(k, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (c) fclose(c);
  if (k) fclose(k);
  return ok ? Status::Ok() : Status::Error(EIO, "cannot write " + cert_path + " or " + key_path);
}

}  // namespace txend::testing
