/* A phone's CAPF session (docs/capf.md, "The phone"): one TLS connection
 * to a CAPF server, which decides what happens (install a new LSC, delete
 * it, or hand it over for troubleshooting). Blocking: one phone, one
 * session. */
#ifndef PHONE_CAPF_CLIENT_H
#define PHONE_CAPF_CLIENT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include "ctlkit/error.h"
#include "models.h"
#include "tftp_client.h"

typedef struct ph_capf_cfg {
    const ph_model *model;     /* its TLS versions and suites */
    const char *device;        /* SEP + 12 upper-case hex */
    const ph_addr *server;
    const ck_netaddr *source;  /* the phone's own address (NULL: the kernel's choice; source.h) */
    const char *trust_pem;     /* the CAPF certificate(s) the server must present */
    X509 *const *trust_certs;  /* or these (the CAPF records of the phone's CTL/ITL) when trust_pem is NULL */
    size_t n_trust_certs;
    const char *auth_string;   /* what the user typed; NULL: the null string */
    X509 *lsc, *mic;           /* the certificates the phone holds (either may be NULL) */
    EVP_PKEY *lsc_key, *mic_key;
    EVP_PKEY *given_key;       /* answer KEY_GENERATE_REQUEST with this key (a pool's) instead of
                                  making one; it must be the kind the server asks for */
    unsigned timeout_ms;       /* per read or write */
    unsigned deadline_ms;      /* the whole session, connection to END_SESSION, however steadily
                                  the server trickles; 0 = none */
} ph_capf_cfg;

typedef struct ph_capf_result {
    int end_reason;            /* END_SESSION's REASON; -1 when the session broke off */
    const char *operation;     /* "install", "delete", "troubleshoot", or "none" */
    X509 *new_lsc;             /* install: the LSC stored (the caller frees) */
    EVP_PKEY *new_key;
    bool deleted;              /* delete: the phone deleted its LSC */
    unsigned session;
} ph_capf_result;

/* 0 when the session ran to END_SESSION; -1 (err) on a network, TLS or
 * protocol failure, or when the deadline passed first. */
int ph_capf_run(const ph_capf_cfg *cfg, ph_capf_result *r, ck_err *err);

/* --- the phone's certificates in its state directory (capf_state.c) --- */
#include <jansson.h>
#include <stdio.h>

#define PH_LSC_FILE "LSC.pem" /* key and certificate, 0600 */
#define PH_MIC_FILE "MIC.pem" /* the manufacturing certificate and key (tests/tokens/make-mic) */

/* DIR/NAME's certificate and key: 0, 1 when there is no such file, -1 (err). */
int ph_cert_load(const char *dir, const char *name, X509 **cert, EVP_PKEY **key, ck_err *err);
int ph_lsc_save(const char *dir, EVP_PKEY *key, X509 *cert, ck_err *err);
int ph_lsc_remove(const char *dir, ck_err *err);
/* "LSC: issued by ..., serial ..., valid ... to ..." (or "LSC: none"). */
void ph_lsc_text(FILE *out, const char *dir);
/* {issuer, subject, serial, not_before, not_after} or JSON null. */
json_t *ph_lsc_json(const char *dir);

#endif
