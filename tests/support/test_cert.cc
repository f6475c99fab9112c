#include "tests/support/test_cert.h"

#include <arpa/inet.h>
#include <cstdio>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace txend::testing {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

bool IsIp(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext) X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` with the options' subject, names and validity, not yet signed.
Cert Unsigned(EVP_PKEY* key, const CertOptions& o, long serial) {
  Cert cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), o.not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), o.not_after_s);
  X509_set_pubkey(cert.get(), key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(o.common_name.c_str()), -1, -1,
                             0);
  return cert;
}

void AddExtensions(X509* cert, X509* issuer, const CertOptions& o) {
  AddExtension(cert, issuer, NID_basic_constraints, o.ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (o.ca) AddExtension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  std::string names;
  for (const auto& n : o.names)
    names += std::string(names.empty() ? "" : ",") + (IsIp(n) ? "IP:" : "DNS:") + n;
  if (!names.empty()) AddExtension(cert, issuer, NID_subject_alt_name, names);
}

Status Write(const std::string& cert_path, const std::string& key_path, X509* cert, EVP_PKEY* key) {
  FILE* c = fopen(cert_path.c_str(), "w");
  FILE* k = fopen(key_path.c_str(), "w");
  bool ok = c && k && PEM_write_X509(c, cert) == 1 &&
            PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (c) fclose(c);
  if (k) fclose(k);
  return ok ? Status::Ok() : Status::Error(EIO, "cannot write " + cert_path + " or " + key_path);
}

template <class T>
T* ReadPem(const std::string& path, T* (*read)(FILE*, T**, pem_password_cb*, void*)) {
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return nullptr;
  T* out = read(f, nullptr, nullptr, nullptr);
  fclose(f);
  return out;
}

}  // namespace

Status WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path,
                           const CertOptions& options) {
  Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) return Status::Error(EIO, "cannot generate a key");
  Cert cert = Unsigned(key.get(), options, 1);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  AddExtensions(cert.get(), cert.get(), options);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return Status::Error(EIO, "cannot sign the certificate");
  return Write(cert_path, key_path, cert.get(), key.get());
}

Status WriteSignedCert(const std::string& cert_path, const std::string& key_path,
                       const std::string& ca_cert_path, const std::string& ca_key_path,
                       const CertOptions& options) {
  Cert ca(ReadPem<X509>(ca_cert_path, PEM_read_X509), X509_free);
  Key ca_key(ReadPem<EVP_PKEY>(ca_key_path, PEM_read_PrivateKey), EVP_PKEY_free);
  Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!ca || !ca_key || !key) return Status::Error(EIO, "cannot read the CA or make a key");
  uint32_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  Cert cert = Unsigned(key.get(), options, static_cast<long>(serial >> 1) + 2);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  AddExtensions(cert.get(), ca.get(), options);
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0)
    return Status::Error(EIO, "cannot sign the certificate");
  return Write(cert_path, key_path, cert.get(), key.get());
}

}  // namespace txend::testing
