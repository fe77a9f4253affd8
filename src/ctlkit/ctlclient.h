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

/* An entry the admin added on the CTL Entries screen: an alternate TFTP
 * server (Add TFTP, a TFTP record) or a firewall that proxies the phones'
 * TLS (Add Firewall, a CCM+TFTP record: phones must trust it as they trust
 * CallManager). ip is its IPv4 address, written as DNSNAME and IPADDRESS. */
enum cc_extra_kind { CC_EXTRA_TFTP, CC_EXTRA_FIREWALL };
typedef struct cc_extra {
    enum cc_extra_kind kind;
    char ip[16];
    X509 *cert;
} cc_extra;

#define CC_MAX_EXTRA 8

/* The CTL Entries being built: the Security Tokens (the first signs) and
 * the added TFTP servers and firewalls. */
typedef struct cc_entries {
    const cc_sast *tokens;
    size_t n_tokens;
    const cc_extra *extras;
    size_t n_extras;
} cc_entries;

/* Builds the eToken CTL as the CTL Client writes it (the seed's 5728-byte
 * CTL): the tokens that do not sign, CAPF, every node's CCM+TFTP, the
 * added entries, the signing token last; signed by signer (logged-in
 * token). */
int cc_build_ctl(const ck_pv_msg *view, const cc_entries *entries, ck_tl_signer *signer, uint8_t **out, size_t *len,
                 ck_err *err);
/* Security Token certificates among the SAST records of a CTL (those that
 * are not any node's CallManager certificate); X509s are the caller's. */
size_t cc_ctl_tokens(const ck_pv_msg *view, X509 **out, size_t max);
/* The TFTP servers and firewalls an admin added to the server's current
 * CTL (TFTP records, and CCM+TFTP records that are no node's CallManager
 * certificate); the X509s are the caller's. */
size_t cc_ctl_extras(const ck_pv_msg *view, cc_extra *out, size_t max);
/* True when cert is a SAST record of the server's current CTL. */
bool cc_in_ctl(const ck_pv_msg *view, X509 *cert);
/* The CTL Entries screen's rows, in the seed's order: CAPF, the
 * subscribers' then the publisher's CCM+TFTP, the added TFTP servers and
 * firewalls, the Security Tokens in the order inserted. */
enum cc_row_kind { CC_ROW_CAPF, CC_ROW_NODE, CC_ROW_EXTRA, CC_ROW_TOKEN };
typedef struct cc_row {
    enum cc_row_kind kind;
    size_t index; /* into view->nodes, extras or tokens */
} cc_row;
/* Fills rows (at most max) and returns how many there are. */
size_t cc_entry_rows(const ck_pv_msg *view, const cc_entries *entries, cc_row *rows, size_t max);
/* Prints the CTL Entries table (#, Type, Hostname/IP, Issuer, Subject);
 * the row numbers are what Delete Selected takes. */
void cc_show_entries(FILE *out, const ck_pv_msg *view, const cc_entries *entries);

#endif
