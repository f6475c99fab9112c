#include "tls/peer_certificate.h"

#include <openssl/bio.h>
#include <openssl/x509.h>

namespace txend::tls {

std::string PeerCertificateSubject(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return "";
  BIO* out = BIO_new(BIO_s_mem());
  if (!out) return "";
  X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* text = nullptr;
  long len = BIO_get_mem_data(out, &text);
  std::string subject(text, len > 0 ? static_cast<size_t>(len) : 0);
  BIO_free(out);
  return subject;
}

}  // namespace txend::tls
