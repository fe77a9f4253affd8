/* lib/x509's helpers for the rest of lib (not part of the public API). */
#ifndef CTLKIT_LIB_X509_INTERNAL_H
#define CTLKIT_LIB_X509_INTERNAL_H

#include <openssl/x509.h>

/* Adds one extension, written as openssl's config syntax ("critical,CA:FALSE"),
 * to cert with issuer as its issuer context. 1 on success, 0 on failure. */
int ck__x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

#endif
