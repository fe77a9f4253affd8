/* The CTL Provider's decisions (lib/cluster/provider_ops.c): who may use
 * it, what the cluster view holds, whether a CTL that the CTL Client built
 * and signed with eTokens may be published, and publishing it. The daemon
 * only moves frames between TLS and ck_provider_handle.
 *
 * Admin credentials live in DIR/provider-users (mode 0600), one line per
 * user: NAME:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX (PKCS5_PBKDF2_HMAC
 * with SHA-256, CK_PROVIDER_PBKDF2_ITER iterations, 16-byte salt, 32-byte
 * hash). `ctlkit provider passwd --cluster DIR USER` writes it. */
#ifndef CTLKIT_PROVIDER_OPS_H
#define CTLKIT_PROVIDER_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/cluster.h"
#include "ctlkit/error.h"
#include "ctlkit/provider.h"
#include "ctlkit/provider_guard.h"

#define CK_PROVIDER_USERS_FILE "provider-users"
#define CK_PROVIDER_PBKDF2_ITER 200000
/* How long a failed login holds its answer back (guessing costs time). */
#define CK_PROVIDER_FAIL_DELAY_MS 1000
/* Failed logins after which a connection is closed. */
#define CK_PROVIDER_MAX_FAILURES 3

/* Sets (or replaces) user's password. User names: letters, digits, '.',
 * '_', '-', at most CK_PV_USER_MAX. */
int ck_provider_passwd(const char *cluster_dir, const char *user, const char *password, size_t pwlen, ck_err *err);
/* Where c's CTL Provider keeps its users (the folder for ck_provider_passwd
 * and ck_provider_auth): the cluster folder; across hosts the publisher's
 * node folder on this host. Refused (CK_EINVAL, CK_ESTATE) when c was
 * opened across hosts without a node folder, or with another node's. */
CK_MUST_USE int ck_cluster_provider_home(ck_cluster *c, const char **dir, ck_err *err);
/* Checks user's password (constant-time compare; an unknown user costs
 * the same time). CK_EDENIED on a wrong user or password; other codes
 * when the users file cannot be used (missing, readable by others). */
int ck_provider_auth(const char *cluster_dir, const char *user, const char *password, size_t pwlen, ck_err *err);

/* Checks a submitted CTL before it may be published:
 *  - it parses strictly, is a CTL (CTLFile.tlv), and its signature verifies;
 *  - it holds at least two SAST records, every one a Security Token
 *    certificate (issued by a CA, not self-signed, not a node's own) that
 *    chains to a CA in CTL-eToken-issuer-trust (dates not checked);
 *  - its signer is one of them;
 *  - its other records are exactly the cluster's: CCM+TFTP with each
 *    node's current CallManager certificate and IP address, CAPF with the
 *    publisher's current CAPF certificate and address, nothing else,
 *    nothing twice;
 *  - for "update", the cluster is mixed; for any action on a mixed
 *    cluster with a published CTL, the signer must be one of that CTL's
 *    Security Tokens ("The Security Token you have inserted does not
 *    exist in the CTL File").
 * CK_EINVAL / CK_ESIGNATURE / CK_ESTATE with a message saying which. */
int ck_provider_check_ctl(ck_cluster *c, const uint8_t *ctl, size_t len, unsigned action, ck_err *err);

/* Checks, then (one cluster operation) sets ClusterSecurityMode for the
 * mixed / non-secure actions, records the CTL and publishes it to every
 * node; then reads each node's TFTP copy back and reports Passed (the
 * bytes on disk are the CTL) or Failed per node in results (malloc'd). */
int ck_provider_submit(ck_cluster *c, const char *user, const uint8_t *ctl, size_t len, unsigned action,
                       ck_pv_result **results, size_t *n_results, ck_err *err);

/* Fills a GET_CLUSTER response's mode, CTL and nodes. The spans point into
 * *hold (malloc'd; free it after building the frame). */
int ck_provider_cluster_view(ck_cluster *c, ck_pv_msg *resp, uint8_t **hold, ck_err *err);

/* One connection's state. */
typedef struct ck_provider_session {
    char peer[64];          /* "ADDR:PORT", for logs and the audit */
    /* Failed logins across connections (shared by the daemon's sessions;
     * NULL: none, only the per-connection limit). now_ms: the caller's
     * monotonic clock, set before each request. */
    ck_pv_guard *guard;
    uint64_t now_ms;
    bool authed;
    char user[CK_PV_USER_MAX + 1];
    unsigned failures;
    /* Set by ck_provider_handle for the daemon's log: one line, no secret. */
    char log[384];
    bool log_warning;       /* a failure worth a warning (bad login, refused CTL) */
    /* A summary of earlier failed logins that the request also wrote to the
     * audit log (empty: none); the daemon logs it too. */
    char log_summary[256];
} ck_provider_session;

/* Answers one request frame. *resp (malloc'd) is the response frame;
 * *delay_ms says how long to hold it back (failed logins); *close_after
 * says to close the connection after sending it (unreadable frame, too
 * many failures). Returns -1 only when no response could be built (out
 * of memory). */
int ck_provider_handle(ck_cluster *c, ck_provider_session *s, const uint8_t *frame, size_t len, uint8_t **resp,
                       size_t *resp_len, unsigned *delay_ms, bool *close_after);

/* Writes one audit summary that came due for a source whose failed logins
 * stopped (provider_guard.h); true, with line (for the daemon's log)
 * filled, when it wrote one: call until false, e.g. once a second. */
bool ck_provider_audit_due(ck_cluster *c, ck_pv_guard *g, uint64_t now_ms, char *line, size_t line_size);

#endif
