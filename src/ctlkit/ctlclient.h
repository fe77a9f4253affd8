/* The CTL Client (ctlkit ctl-client) and the token commands: terminal
 * helpers, the TLS connection to the CTL Provider, and building the
 * eToken CTL from the cluster view. */
#ifndef CTLKIT_CTLCLIENT_H
#define CTLKIT_CTLCLIENT_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ctlkit/error.h"
#include "ctlkit/provider.h"
#include "ctlkit/token.h"

/* --- terminal (ctlclient_term.c) --- */

/* Reads a secret: the first line of file when file is not NULL, else from
 * the terminal (/dev/tty) with echo off after printing prompt. The newline
 * is dropped. Returns the length, or -1 (err says why). The caller wipes
 * out with OPENSSL_cleanse. */
int cc_read_secret(const char *prompt, const char *file, char *out, size_t outsz, ck_err *err);
/* Asks a question on the terminal; the answer (trimmed) lands in out.
 * Returns -1 at end of input. */
int cc_ask(const char *prompt, char *out, size_t outsz);
/* The "Security Token Information" screen: subject, issuer, validity. */
void cc_show_token_cert(FILE *out, const ck_token_info *ti, X509 *cert);
/* MM/DD/YYYY, as the CTL Client prints dates. */
void cc_date(const ASN1_TIME *t, char *out, size_t outsz);
/* The PKCS#11 module: --module, else $CTLKIT_P11_MODULE. */
const char *cc_module(const char *arg);

/* --- connection (ctlclient_net.c) --- */

typedef struct cc_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char fingerprint[96];   /* the server certificate's SHA-256, hex with ':' */
    char subject[256];      /* and its subject */
} cc_conn;

/* host may be "ADDR", "ADDR:PORT" or "[ADDR6]:PORT"; port defaults to 2444.
 * pin_pem: the server certificate to expect (the publisher's CallManager
 * certificate); NULL accepts any and the caller shows the fingerprint. */
int cc_connect(const char *host, const char *pin_pem, int timeout_s, cc_conn *c, ck_err *err);
/* Sends req, reads the response into resp; *hold keeps the frame bytes
 * the response's spans point into (free it after resp). */
int cc_call(cc_conn *c, const ck_pv_msg *req, ck_pv_msg *resp, uint8_t **hold, ck_err *err);
/* LOGIN; CK_EDENIED with the server's words when refused. */
int cc_login(cc_conn *c, const char *user, const char *password, ck_err *err);
void cc_close(cc_conn *c);

/* --- the CTL (ctlclient_build.c) --- */

#define CC_MAX_TOKENS CK_TL_MAX_SAST

/* A Security Token in the CTL being built: inserted now (token non-NULL)
 * or kept from the CTL on the server (token NULL). */
typedef struct cc_sast {
    X509 *cert;
    ck_token *token;
    char label[64];
} cc_sast;

/* Builds the eToken CTL: CAPF, every node's CCM+TFTP, then the Security
 * Tokens; signed by signer (logged-in token). */
int cc_build_ctl(const ck_pv_msg *view, const cc_sast *tokens, size_t n_tokens, ck_tl_signer *signer,
                 uint8_t **out, size_t *len, ck_err *err);
/* Security Token certificates among the SAST records of a CTL (those that
 * are not any node's CallManager certificate); X509s are the caller's. */
size_t cc_ctl_tokens(const ck_pv_msg *view, X509 **out, size_t max);
/* True when cert is a SAST record of the server's current CTL. */
bool cc_in_ctl(const ck_pv_msg *view, X509 *cert);
/* Prints the CTL Entries table (Type, Hostname/IP, Issuer, Subject). */
void cc_show_entries(FILE *out, const ck_pv_msg *view, const cc_sast *tokens, size_t n_tokens);

#endif
