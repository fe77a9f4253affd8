/* A phone's trust rules as pure decisions (docs/phones.md, "Trust rules";
 * docs/cluster-behaviour.md, "Phone trust rules").
 *
 * Nothing here does I/O: the caller downloads the files, asks TVS and keeps
 * the state; these functions only say what a phone would do with what it
 * has. Signature checks are computation, not I/O, so they happen here.
 *
 * A judgement may need a TVS answer the phone does not have yet: the
 * verdict is then CK_PH_NEED_TVS naming the certificate to ask about. The
 * caller asks, stores the answer in the cache (ck_ph_cache_put) and judges
 * again; or, when no trusted TVS answered, judges again with tvs_error set. */
#ifndef CTLKIT_PHONE_H
#define CTLKIT_PHONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/trustlist.h"

/* --- the TVS answer cache ---------------------------------------------- */

#define CK_PH_CACHE_MAX_ROLES 16
/* A phone remembers a bounded number of verdicts (habit 4); the oldest
 * goes first when it is full. */
#define CK_PH_CACHE_MAX 16

typedef struct ck_ph_cache_entry {
    uint8_t sha1[20];          /* of the certificate's DER */
    bool valid;                /* TVS status 0 */
    uint8_t roles[CK_PH_CACHE_MAX_ROLES];
    size_t n_roles;
    int64_t expires;           /* Unix seconds: answer time + TTL */
} ck_ph_cache_entry;

typedef struct ck_ph_cache {
    ck_ph_cache_entry e[CK_PH_CACHE_MAX];
    size_t n;
} ck_ph_cache;

void ck_ph_cache_init(ck_ph_cache *c);
/* The unexpired answer for this certificate hash, or NULL. */
const ck_ph_cache_entry *ck_ph_cache_find(const ck_ph_cache *c, const uint8_t sha1[20], int64_t now);
/* Records an answer valid for ttl seconds from now (replaces an older answer
 * for the same certificate). Roles past CK_PH_CACHE_MAX_ROLES are dropped. */
void ck_ph_cache_put(ck_ph_cache *c, const uint8_t sha1[20], bool valid, const uint8_t *roles, size_t n_roles,
                     uint32_t ttl, int64_t now);
/* Drops expired answers; returns how many. */
size_t ck_ph_cache_expire(ck_ph_cache *c, int64_t now);
/* "Flushing TVS cache" after a trust list was installed on TVS's word. */
void ck_ph_cache_flush(ck_ph_cache *c);

/* --- trust-list judgement ------------------------------------------------ */

typedef enum ck_ph_kind { CK_PH_CTL = 0, CK_PH_ITL = 1 } ck_ph_kind;

typedef enum ck_ph_verdict {
    CK_PH_INSTALL = 0,   /* replace (or create) the held list with the new one */
    CK_PH_UNCHANGED = 1, /* the same bytes as held */
    CK_PH_REJECT = 2,    /* keep what is held: "Trust List Update Failed" */
    CK_PH_NEED_TVS = 3,  /* ask a TVS about need_cert, then judge again */
} ck_ph_verdict;

/* Why: a stable token (ck_ph_reason_name) for scripts and summaries. */
typedef enum ck_ph_reason {
    CK_PH_R_NONE = 0,
    CK_PH_R_LEAP_OF_FAITH,   /* nothing held: accepted a self-consistent list */
    CK_PH_R_KNOWN_SAST,      /* signer is a SAST of the held list */
    CK_PH_R_TVS_SAST,        /* a trusted TVS said: valid, role SAST */
    CK_PH_R_SAME_BYTES,      /* unchanged */
    CK_PH_R_MALFORMED,       /* does not parse */
    CK_PH_R_WRONG_KIND,      /* a CTL where an ITL was asked for, or back */
    CK_PH_R_BAD_SIGNATURE,   /* signature does not verify with the signer's certificate */
    CK_PH_R_UNKNOWN_SIGNER,  /* signer not a SAST of the held list, and no SBD */
    CK_PH_R_TVS_NOT_SAST,    /* TVS: valid, but without the SAST role */
    CK_PH_R_TVS_UNKNOWN,     /* TVS: invalid (does not know the certificate) */
    CK_PH_R_TVS_UNAVAILABLE, /* no TVS the phone trusts answered */
} ck_ph_reason;

typedef struct ck_ph_input {
    ck_ph_kind kind;
    bool sbd;                    /* the model supports Security by Default */
    const ck_tl_file *held;      /* the installed list of this kind, or NULL */
    const uint8_t *data;         /* the downloaded file */
    size_t len;
    const ck_ph_cache *cache;    /* TVS answers (may be NULL: none) */
    int64_t now;                 /* for the cache's expiry */
    const char *tvs_error;       /* set after asking failed: no trusted TVS answered */
    /* The answer just received for this signer, used even when its TTL is
     * 0 (the cache would not keep it); NULL to consult only the cache. */
    const ck_ph_cache_entry *fresh;
} ck_ph_input;

typedef struct ck_ph_decision {
    ck_ph_verdict verdict;
    ck_ph_reason reason;
    bool via_tvs;                /* installed on TVS's word: flush the cache */
    bool from_cache;             /* the TVS answer came from the cache */
    /* NEED_TVS: the signer's DER certificate (points into *parsed) and hash */
    const uint8_t *need_cert;
    size_t need_cert_len;
    uint8_t need_sha1[20];
    /* The parsed new file when it parsed; ownership passes to the caller,
     * who frees it with ck_tl_free (the installer keeps it). */
    ck_tl_file *parsed;
    char detail[320];            /* one line for the phone's log / the report */
} ck_ph_decision;

/* Judges one downloaded CTL or ITL (rules in docs/phones.md). Returns 0 with
 * a decision, -1 only for a caller error or an allocation failure. */
int ck_ph_judge(const ck_ph_input *in, ck_ph_decision *out, ck_err *err);

const char *ck_ph_verdict_name(ck_ph_verdict v);  /* "installed", "unchanged", "rejected", "need-tvs" */
const char *ck_ph_reason_name(ck_ph_reason r);    /* "leap-of-faith", "unknown-signer", ... */

/* Does a model have Security by Default (an ITL, TVS)? 1 yes, 0 no (7940,
 * 7960, Jabber), -1 not known ("" or a name this table lacks). The same
 * split as ctlkit-phone's model table. */
int ck_ph_model_sbd(const char *model);

/* --- signed configuration files ----------------------------------------- */

/* The record of list that may sign the .sgn sgn, as a phone sees it: a
 * TFTP or CCM+TFTP record with a certificate whose serial and issuer are
 * the file's signer's; NULL for none (a SAST record does not sign
 * configuration files). */
const ck_tl_record *ck_ph_sgn_signer_record(const ck_tl_file *list, const ck_tl_file *sgn);

/* Checks a .sgn with the TFTP or CCM+TFTP record, of the held CTL then ITL,
 * whose serial and issuer match the file's signer, and that its signed
 * FILENAME is name, the file the phone asked for (upper and lower case
 * alike; NULL: not checked): every file the TFTP signs verifies with the
 * same key, so without it another phone's configuration (or any signed
 * file) served under this name would be taken for this phone's. On
 * success *content points at the original bytes inside data. */
int ck_ph_check_sgn(const ck_tl_file *ctl, const ck_tl_file *itl, const char *name, const uint8_t *data, size_t len,
                    const uint8_t **content, size_t *content_len, ck_err *err);

/* --- TVS server trust ---------------------------------------------------- */

/* True when der is the certificate of a TVS record (role 21) of the ITL: a
 * phone talks only to a TVS its ITL names. */
bool ck_ph_itl_trusts_tvs(const ck_tl_file *itl, const uint8_t *der, size_t der_len);

#endif
