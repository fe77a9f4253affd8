/* USB eTokens (SAST tokens) through PKCS#11: list the tokens a module
 * sees, open one by label or slot, read its certificate, log in with the
 * token password and sign trust lists with the key on the token.
 *
 * A module is any PKCS#11 library (SafeNet's eToken driver on the admin's
 * PC, SoftHSM2 in tests: /usr/lib/softhsm/libsofthsm2.so). The private key
 * never leaves the token: ck_token_signer hands the trust-list builder a
 * sign callback that asks the token to sign.
 *
 * Ownership: ck_p11_load/ck_p11_free and ck_token_open/ck_token_close pair
 * up; a token borrows its module (close tokens before freeing the module).
 * Certificates returned through X509** are the caller's. */
#ifndef CTLKIT_TOKEN_H
#define CTLKIT_TOKEN_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctlkit/error.h"
#include "ctlkit/trustlist.h"

/* PKCS#11 token passwords are short; eToken PINs are at most 255 bytes. */
#define CK_TOKEN_PIN_MAX 255

typedef struct ck_p11 ck_p11;
typedef struct ck_token ck_token;

typedef struct ck_token_info {
    unsigned long slot;       /* PKCS#11 slot ID */
    char label[33];           /* trailing blanks removed */
    char serial[17];
    char manufacturer[33];
    char model[17];
    bool present;             /* a token is in the slot */
    bool initialized;
    bool locked;              /* user PIN locked after too many wrong tries */
    bool final_try;           /* one more wrong PIN locks it */
} ck_token_info;

/* dlopen()s the module at path and initializes it. */
int ck_p11_load(const char *path, ck_p11 **out, ck_err *err);
void ck_p11_free(ck_p11 *m);
/* Slots with a token present, in the module's order. *out is malloc'd. */
int ck_p11_list(ck_p11 *m, ck_token_info **out, size_t *n, ck_err *err);

/* Opens the token whose label is label (trailing blanks ignored), or, with
 * label NULL, the one in slot (slot < 0: the only token present; several
 * present is an error that lists them). CK_ENOTFOUND names the tokens that
 * are present when the wanted one is not. */
int ck_token_open(ck_p11 *m, const char *label, long slot, ck_token **out, ck_err *err);
void ck_token_close(ck_token *t);
const ck_token_info *ck_token_get_info(const ck_token *t);

/* The token's SAST certificate: the first X.509 certificate on it that is
 * not a CA (eTokens may carry their issuer too). Readable without logging
 * in. CK_ENOTFOUND: "no certificate on the token". */
int ck_token_cert(ck_token *t, X509 **cert, ck_err *err);

/* Logs in as the user with the token password. The caller wipes its copy;
 * the token keeps none. CK_EDENIED with "wrong token password" (and how
 * many tries the token reports left), or "the token is locked". */
int ck_token_login(ck_token *t, const char *pin, size_t pin_len, ck_err *err);

/* A trust-list signer backed by the token (after ck_token_login): finds the
 * private key whose CKA_ID matches the certificate's, and signs with
 * CKM_SHA{1,256,512}_RSA_PKCS, or hashes in software and signs a DigestInfo
 * with CKM_RSA_PKCS when the token lacks those. s->cert is borrowed from t
 * and lives until ck_token_close. Each signature is checked against the
 * certificate before it is returned. */
int ck_token_signer(ck_token *t, ck_tl_signer *s, ck_err *err);

#endif
