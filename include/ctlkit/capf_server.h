/* The CAPF server's decisions, without I/O (docs/capf.md, "The server"):
 * one session per phone connection, fed the frames the phone sends and
 * answering with the frames to send back. The session asks a device table
 * (ck_capf_devices: the cluster store in ctlkitd, an array in the tests)
 * for the phone's row and tells it what changed; it never touches a socket
 * or a file.
 *
 * A session runs: AUTH_REQUEST (at begin) -> AUTH_RESPONSE -> the row's
 * pending operation (install: KEY_GENERATE_REQUEST, any number of
 * REQUEST_IN_PROGRESS within CK_CAPF_KEYGEN_MAX_MS, KEY_GENERATE_RESPONSE,
 * STORE_CERTIFICATE_REQUEST, STORE_CERTIFICATE_RESPONSE; delete;
 * troubleshoot = fetch) -> END_SESSION.
 * Every refusal (no operation pending, unknown device, an expired
 * operation, a wrong string or certificate, a malformed or unexpected
 * frame) is an END_SESSION with the protocol's reason, after which the
 * session is done. */
#ifndef CTLKIT_CAPF_SERVER_H
#define CTLKIT_CAPF_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctlkit/bytes.h"
#include "ctlkit/capf.h"
#include "ctlkit/error.h"
#include "ctlkit/provider_guard.h"
#include "ctlkit/store.h"

/* How long an issued LSC is valid (the reference server's default). */
#define CK_CAPF_LSC_DAYS 365
/* How long a phone may make its key, from KEY_GENERATE_REQUEST: each
 * REQUEST_IN_PROGRESS restarts the connection's time-out, so without a
 * bound of its own a phone (or anyone with a null string) could hold a
 * connection slot for ever. Ten minutes: old phones take a few minutes
 * for RSA-4096. */
#define CK_CAPF_KEYGEN_MAX_MS (10u * 60u * 1000u)

/* What signs LSCs and what vouches for the certificates phones
 * authenticate with. */
typedef struct ck_capf_issuer {
    X509 *cert;              /* the CAPF certificate: LSC issuer, and root for LSC authentication */
    EVP_PKEY *key;
    X509 **mic_roots;        /* the CAPF-trust store (manufacturing CAs) */
    size_t n_mic_roots;
    int lsc_days;            /* 0: CK_CAPF_LSC_DAYS */
} ck_capf_issuer;

/* What a session changes in a device row; ck_capf_update_apply applies it. */
typedef struct ck_capf_update {
    bool clear_operation;    /* the operation is done: none, no deadline ... */
    const char *if_operation; /* ... if the row's operation is still this one (NULL: whatever it is):
                               * an admin who scheduled another operation during the session keeps it */
    bool set_lsc, clear_lsc; /* a new LSC (the fields below) / the phone deleted its LSC */
    const char *lsc_pem;
    char lsc_serial[80];
    int64_t lsc_not_before, lsc_not_after;
    char result[128];        /* the row's last CAPF result */
    int64_t at;
} ck_capf_update;

void ck_capf_update_apply(ck_device_row *d, const ck_capf_update *u);

/* The device table a session reads and writes. get: CK_ENOTFOUND for an
 * unknown device. update: applies u to the row named (in one transaction
 * for a store, so an admin's concurrent change of other fields stays). */
typedef struct ck_capf_devices {
    void *arg;
    int (*get)(void *arg, const char *name, ck_device_row *out, ck_err *err);
    int (*update)(void *arg, const char *name, const ck_capf_update *u, ck_err *err);
} ck_capf_devices;

typedef enum ck_capf_state {
    CK_CAPF_ST_AUTH,     /* AUTH_REQUEST sent, waiting for AUTH_RESPONSE */
    CK_CAPF_ST_KEYGEN,   /* waiting for KEY_GENERATE_RESPONSE (or REQUEST_IN_PROGRESS) */
    CK_CAPF_ST_STORE,    /* waiting for STORE_CERTIFICATE_RESPONSE */
    CK_CAPF_ST_FETCH,    /* waiting for FETCH_CERTIFICATE_RESPONSE */
    CK_CAPF_ST_DELETE,   /* waiting for DELETE_CERTIFICATE_RESPONSE */
    CK_CAPF_ST_DONE,     /* END_SESSION sent */
} ck_capf_state;

/* How a finished session ended, for counters. */
typedef enum ck_capf_outcome {
    CK_CAPF_OUT_NONE = 0,    /* not finished */
    CK_CAPF_OUT_ISSUED,      /* an LSC issued */
    CK_CAPF_OUT_DELETED,
    CK_CAPF_OUT_FETCHED,
    CK_CAPF_OUT_NO_OPERATION,
    CK_CAPF_OUT_REFUSED,     /* unknown device, expired operation, authentication failed, phone failure */
    CK_CAPF_OUT_BAD_INPUT,   /* a frame that does not parse or does not belong */
    CK_CAPF_OUT_ERROR,       /* ours: the store, signing */
    CK_CAPF_OUT_N
} ck_capf_outcome;

const char *ck_capf_outcome_name(ck_capf_outcome o);

typedef struct ck_capf_session {
    uint32_t id;
    ck_capf_state state;
    ck_capf_outcome outcome;
    char device[CK_CAPF_DEVICE_LEN + 1]; /* "" until AUTH_RESPONSE named it */
    char operation[16];      /* the row's operation this session carries out */
    uint8_t key_type;        /* what was asked for (install) */
    uint16_t key_size;
    uint8_t curve;
    unsigned in_progress;    /* REQUEST_IN_PROGRESS seen */
    uint64_t keygen_since_ms; /* now_ms when KEY_GENERATE_REQUEST went out (CK_CAPF_KEYGEN_MAX_MS) */
    int64_t now;             /* Unix seconds; the caller sets it before each feed (0: time()) */
    /* Back-off against guessed authentication strings and certificates
     * (docs/capf.md, "Wrong authentication strings"): the guard shared by
     * every connection (NULL: none), the phone's address without its port,
     * and a monotonic clock in ms, set by the caller after begin / before
     * each feed. A backed-off device or source is refused unchecked, and
     * only the audit rows the guard asks for reach the store. */
    ck_pv_guard *guard;
    /* The other refusals that write the row's last result and an audit
     * row (an expired operation, which needs no authentication; a phone
     * that failed its part): a second guard, of ck_capf_refusal_cfg_init,
     * lets the first from a source and then one summary per interval
     * through, and backs nothing off (NULL: every refusal is written). */
    ck_pv_guard *refusals;
    char source[64];
    uint64_t now_ms;
    /* What the last feed did, in CUCM's manner, for the log (one line; ""
     * when nothing worth a line happened); warning for a refusal. */
    char log[320];
    bool log_warning;
} ck_capf_session;

/* Starts a session with the server's session id: *out gets AUTH_REQUEST. */
int ck_capf_session_begin(ck_capf_session *s, uint32_t id, ck_buf *out, ck_err *err);

/* Feeds one whole frame from the phone; appends the answer to out (nothing
 * for REQUEST_IN_PROGRESS). 0 when the frame was handled, refusals
 * included (s->state is DONE once END_SESSION is out); -1 only when out of
 * memory. A frame after DONE is refused without an answer. */
int ck_capf_session_feed(ck_capf_session *s, const ck_capf_issuer *iss, const ck_capf_devices *db,
                         const uint8_t *frame, size_t len, ck_buf *out, ck_err *err);

/* The guard's settings for CAPF: the CTL Provider's numbers, CAPF's words
 * ("CAPF: wrong authentication string for 'SEP...' from ADDR"). */
void ck_capf_guard_cfg_init(ck_pv_guard_cfg *cfg);
/* The refusals guard's settings: the same intervals, its words "CAPF:
 * refused session for 'SEP...' from ADDR", "CAPF: N refused sessions for
 * 'SEP...' from ADDR in the last S s". */
void ck_capf_refusal_cfg_init(ck_pv_guard_cfg *cfg);

/* --- the pieces, for the session and the tests --- */

/* The LSC for device over the phone's SubjectPublicKeyInfo (DER), which
 * must be the key asked for (RSA of bits, or EC on curve): subject
 * CN=<device> plus the O, OU, L, ST, C of the CAPF subject in its order,
 * issuer = the CAPF subject, 128-bit random serial, SHA-256, now .. now +
 * days, basicConstraints CA:FALSE and keyUsage digitalSignature,
 * keyEncipherment (both critical), EKU serverAuth, clientAuth, IPsec end
 * system, SAN URI:<device>. An RSA key is checked as DER (two positive
 * integers, odd modulus of bits, odd exponent above 1) and copied into
 * the LSC without being decoded: *out encodes in full (ck_cert_to_der,
 * ck_cert_to_pem) but its X509_get0_pubkey is NULL; decode its DER to use
 * the key (OpenSSL 3.0's key decoding and encoding cost as much as the
 * signature: docs/benchmarks.md, "CAPF"). */
int ck_capf_issue_lsc(const ck_capf_issuer *iss, const char *device, const uint8_t *spki, size_t spki_len,
                      uint8_t key_type, uint16_t bits, uint8_t curve, int64_t now, X509 **out, ck_err *err);

/* Certificate authentication of an AUTH_RESPONSE m: the certificate is
 * signed by the CAPF certificate or a CAPF-trust root whose subject is its
 * issuer, its CN holds the device name, it is within its dates at now
 * (seconds since 1970; a notBefore up to CK_CAPF_CLOCK_SKEW_S ahead
 * passes), and both proofs of possession (SHA-1 in SIGNED_DATA, SHA-512 in
 * SHA2_SIGNED_DATA) are good over device || 00 || DER. */
#define CK_CAPF_CLOCK_SKEW_S 300
int ck_capf_check_cert_auth(const ck_capf_issuer *iss, const ck_capf_msg *m, int64_t now, ck_err *err);

/* The phone's side of the proof: sig (at most *sig_len bytes in, the
 * length out) over device || 00 || cert_der with hash_id SHA-1 or SHA-512;
 * RSA keys make the raw PKCS#1 type-1 form, EC keys ECDSA. */
int ck_capf_prove(EVP_PKEY *key, const char *device, const uint8_t *cert_der, size_t cert_len, int hash_id,
                  uint8_t *sig, size_t *sig_len, ck_err *err);

/* --- the cluster as CAPF sees it (lib/cluster/capf_cluster.c) --- */
#include "ctlkit/cluster.h"

/* The publisher node's CAPF certificate and key, and the CAPF-trust
 * store; ck_capf_issuer_clear frees (and the key is freed with it).
 * key_flags: how the key file is checked (CK_KEY_* of ck_load_key_pem; a
 * daemon's --allow-loose-key-modes adds CK_KEY_LOOSE_WARN). */
int ck_cluster_capf_issuer(ck_cluster *c, const char *node, unsigned key_flags, ck_capf_issuer *out, ck_err *err);
void ck_capf_issuer_clear(ck_capf_issuer *iss);
/* The device table over the cluster store: get reads the row; update is
 * one cluster operation (lock, transaction, audit row, the node folders'
 * configuration files rebuilt). */
void ck_cluster_capf_devices(ck_cluster *c, ck_capf_devices *out);

#endif
