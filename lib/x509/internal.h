/* lib/x509's helpers for the rest of lib (not part of the public API). */
#ifndef CTLKIT_LIB_X509_INTERNAL_H
#define CTLKIT_LIB_X509_INTERNAL_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Adds one extension, written as openssl's config syntax ("critical,CA:FALSE"),
 * to cert with issuer as its issuer context. 1 on success, 0 on failure. */
int ck__x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

/* The key hold (keyhold.c), for ck_load_key_pem: keeps a new reference to
 * what it read from path (holding on; cert may be NULL), and hands back new
 * references to the held copy (false: none held). */
void ck__key_hold_keep(const char *path, X509 *cert, EVP_PKEY *key);
bool ck__key_hold_take(const char *path, X509 **cert, EVP_PKEY **key);

#endif
