// The TLS peer's identity as both ends of txend log it: its certificate's
// subject, shared by the HTTP server (the TCP API) and the relocation tunnel.
#pragma once

#include <string>

#include <openssl/ssl.h>

namespace txend::tls {

// The subject of the certificate the peer presented, "CN=admin,O=pool" (RFC 2253
// order), or "" when it presented none.
std::string PeerCertificateSubject(SSL* ssl);

}  // namespace txend::tls
