/* The trust cache: the certificates a TVS vouches for, with their roles
 * (docs/tvs-protocol.md, "What the server trusts").
 *
 * Two sources, looked up in CUCM's order: the "DB cache" (the cluster
 * database's certificates: every node's CallManager, TVS, CAPF,
 * ITLRecovery and the CallManager-trust / Phone-SAST-trust stores) first,
 * then the "CTL cache" (the records of the current CTL file).
 *
 * Lifecycle: build it (ck_trustcache_new, add_*), then seal it; a sealed
 * cache never changes, so any number of threads may look things up in it
 * without locks. It is reference-counted: a server swaps in a new cache on
 * reload while requests in flight finish with the one they hold. */
#ifndef CTLKIT_TRUSTCACHE_H
#define CTLKIT_TRUSTCACHE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/trustlist.h"

#define CK_TC_MAX_ROLES 16
#define CK_TC_MAX_SERIAL 64

typedef enum ck_tc_source {
    CK_TC_DB = 0,  /* "CertificateDBCache" */
    CK_TC_CTL = 1, /* "CertificateCTLCache" */
} ck_tc_source;

/* One certificate of one source. All strings NUL-terminated; owned by the
 * cache and valid as long as the caller holds a reference. */
typedef struct ck_tc_entry {
    const uint8_t *der;
    size_t der_len;
    uint8_t sha1[20];                 /* of the DER: the lookup key */
    uint8_t serial[CK_TC_MAX_SERIAL]; /* magnitude bytes, as ck_cert_serial */
    size_t serial_len;
    char serial_hex[2 * CK_TC_MAX_SERIAL + 1];
    const char *subject;              /* CUCM style, ck_name_cucm */
    const char *issuer;
    const char *map_id;               /* CUCM's "Unique MAP ID": serial hex + issuer */
    uint8_t roles[CK_TC_MAX_ROLES];   /* in the order they were added, no duplicates */
    size_t n_roles;
    ck_tc_source source;
} ck_tc_entry;

typedef struct ck_trustcache ck_trustcache;

/* An empty, unsealed cache with one reference. */
ck_trustcache *ck_trustcache_new(ck_err *err);
/* Takes another reference; returns tc. Thread-safe. */
ck_trustcache *ck_trustcache_ref(ck_trustcache *tc);
/* Drops a reference; the last one frees the cache. NULL is fine. */
void ck_trustcache_free(ck_trustcache *tc);

/* Adds every record of a parsed CTL (or ITL) that carries a certificate,
 * with its FUNCTION as the role; a certificate in several records gets
 * several roles (the publisher's CallManager certificate: SAST and CCM+TFTP,
 * "rolecount 2"). The caller should have verified the file. */
int ck_trustcache_add_ctl(ck_trustcache *tc, const ck_tl_file *ctl, ck_err *err);
/* Adds one DB certificate (DER) with the given roles (merged with any roles
 * it already has in the DB cache). */
int ck_trustcache_add_db(ck_trustcache *tc, const uint8_t *der, size_t der_len, const unsigned *roles,
                         size_t n_roles, ck_err *err);
/* Makes the cache immutable; further adds fail with CK_ESTATE. Idempotent. */
void ck_trustcache_seal(ck_trustcache *tc);
bool ck_trustcache_sealed(const ck_trustcache *tc);

/* The entry for exactly these DER bytes in one source, or NULL. sha1 is the
 * SHA-1 of der (the caller computes it once for both sources). A hash probe
 * plus one memcmp of the DER, so that a SHA-1 collision cannot borrow
 * another certificate's roles. */
const ck_tc_entry *ck_trustcache_find(const ck_trustcache *tc, ck_tc_source src, const uint8_t sha1[20],
                                      const uint8_t *der, size_t der_len);
/* CUCM's order: the DB cache, then the CTL cache. *src says which answered. */
const ck_tc_entry *ck_trustcache_lookup(const ck_trustcache *tc, const uint8_t *der, size_t der_len,
                                        ck_tc_source *src);
/* By serial (magnitude bytes) and CUCM-style issuer, in one source. */
const ck_tc_entry *ck_trustcache_find_serial_issuer(const ck_trustcache *tc, ck_tc_source src,
                                                    const uint8_t *serial, size_t serial_len, const char *issuer);

size_t ck_trustcache_count(const ck_trustcache *tc, ck_tc_source src);
/* The i-th entry of a source in the order added (for logging a recache). */
const ck_tc_entry *ck_trustcache_entry(const ck_trustcache *tc, ck_tc_source src, size_t i);

/* --- Building a cache: the one way both TVS modes do it ---
 *
 * Standalone (ctlkitd --tvs-db-cert PEM:ROLES --tvs-ctl FILE) and cluster
 * mode (the node's store and its CTLFile.tlv) give the same two inputs to
 * ck_trustcache_build, so they trust the same things the same way. */

/* How often a TVS looks at its CTL file (a stat) for a change. */
#define CK_TC_WATCH_MS 1000

/* One certificate of the DB cache: PEM or DER, from memory (data, len) or,
 * when data is NULL, read from path. label names it in errors (a file
 * name; the store's unit); NULL uses path. */
typedef struct ck_tc_db_cert {
    const char *label;
    const char *path;
    const void *data;
    size_t len;
    unsigned roles[CK_TC_MAX_ROLES];
    size_t n_roles;
} ck_tc_db_cert;

typedef enum ck_tc_ctl_state {
    CK_TC_CTL_NONE = 0, /* no CTL path given, or no file there (a non-secure cluster) */
    CK_TC_CTL_LOADED,   /* parsed and its signature verified: its records are the CTL cache */
    CK_TC_CTL_REJECTED, /* unreadable, malformed or not verifying: the CTL cache is empty */
} ck_tc_ctl_state;

#define CK_TC_MAX_REFUSED 4

/* What a build found that is not an error but must be told. */
typedef struct ck_tc_report {
    ck_tc_ctl_state ctl;
    char ctl_problem[512]; /* REJECTED: "PATH: why", one line; else empty */
    /* Certificates the cluster builder left out of the DB cache (a
     * Phone-SAST-trust certificate that is not a trusted eToken): how many,
     * and the first CK_TC_MAX_REFUSED as one line each. */
    size_t n_refused;
    char refused[CK_TC_MAX_REFUSED][512];
} ck_tc_report;

/* Builds a sealed cache: every DB certificate with its roles (one that does
 * not load is an error: the caller keeps its old cache), then the CTL at
 * ctl_path (may be NULL). The one rule for a CTL that cannot be believed:
 * it vouches for nothing (an empty CTL cache, the DB cache still built),
 * rep says why, and the build succeeds. rep may be NULL. */
int ck_trustcache_build(const ck_tc_db_cert *db, size_t n_db, const char *ctl_path, ck_trustcache **out,
                        ck_tc_report *rep, ck_err *err);

/* "CertificateDBCache" / "CertificateCTLCache", as CUCM's log names them. */
const char *ck_tc_source_name(ck_tc_source src);

#endif
