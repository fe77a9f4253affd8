/* A pool of pre-made phone key pairs (docs/phones-capf.md, "Key pools"):
 * a real phone spends seconds making its CAPF key; a simulated one can
 * draw a key made in advance, and the server cannot tell the difference.
 * That keeps a benchmark of the CAPF server (or a fleet of thousands)
 * from measuring the clients' key generation. */
#ifndef PHONE_KEYPOOL_H
#define PHONE_KEYPOOL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctlkit/error.h"

/* A key as CAPF asks for it: RSA of bits, or EC on a curve of bits. */
typedef struct ph_keyspec {
    bool ec;
    unsigned bits; /* RSA: 1024, 2048, 3072, 4096; EC: 256, 384, 521 */
} ph_keyspec;

/* "rsa:2048", "ec:256" (as `ctlkit device capf --key`). */
int ph_keyspec_parse(const char *text, ph_keyspec *out, ck_err *err);
/* "RSA-2048", "EC P-256". */
const char *ph_keyspec_name(const ph_keyspec *k, char *buf, size_t n);
/* Whether key is of that type and size. */
bool ph_keyspec_matches(const ph_keyspec *k, EVP_PKEY *key);
/* A fresh key pair. NULL (err) on failure. */
EVP_PKEY *ph_keyspec_generate(const ph_keyspec *k, ck_err *err);

/* The file of pool key index (from 0): DIR/key-NNNNNN.pem. */
void ph_keypool_path(const char *dir, unsigned long index, char *out, size_t n);

/* Makes DIR (0700) and keys 0 .. count-1 in it, each alone in its file,
 * mode 0600, written atomically. A key already there is kept when it is
 * of the kind asked for (so that a pool can grow), refused otherwise.
 * *made: how many were new. */
int ph_keypool_fill(const char *dir, unsigned long count, const ph_keyspec *k, unsigned long *made, ck_err *err);

/* The key in file (0600, as every key ctlkit reads). NULL (err) on failure. */
EVP_PKEY *ph_keypool_load(const char *file, ck_err *err);

#endif
