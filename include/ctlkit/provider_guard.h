/* Back-off against guessing, per source address and per account, across
 * connections: the CTL Provider's logins (docs/ctl-provider.md, "Failed
 * logins") and CAPF's authentication strings, where the account is the
 * device (docs/capf.md, "Wrong authentication strings"). It remembers
 * failures and says how long a new attempt must wait. It also decides
 * which failures reach the audit log: the first from a source gets a row,
 * later ones are summed up at most once per summary interval.
 *
 * Pure logic: no I/O, no clock of its own (every call takes now_ms, a
 * monotonic time in milliseconds), so tests drive it without sleeping.
 * Memory is bounded: a fixed table, the least recently seen entry not
 * backed off gives way to a new one (the least recently seen of all only
 * when every entry is backed off); a refusal unchecked makes no entry for
 * its user name. Thread-safe: a service's workers share one guard. */
#ifndef CTLKIT_PROVIDER_GUARD_H
#define CTLKIT_PROVIDER_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ck_pv_guard_cfg {
    unsigned free_failures;    /* failures before the back-off starts (3) */
    uint64_t backoff_ms;       /* the first back-off, doubled by each further failure (1000) */
    uint64_t backoff_max_ms;   /* the longest back-off (300000); this long without a failure forgets them */
    uint64_t summary_ms;       /* at most one audit summary per source in this time (60000) */
    size_t slots;              /* table size: sources and users together (1024) */
    /* The audit rows' words: "LABEL: FAILURE for 'USER' from ADDR" and
     * "LABEL: N FAILURES for 'USER' from ADDR in the last S s" (or "for
     * several ACCOUNTS (last 'USER')"). Defaults: "CTL Provider", "failed
     * login", "failed logins", "users". */
    const char *label, *failure, *failures, *accounts;
} ck_pv_guard_cfg;

void ck_pv_guard_cfg_init(ck_pv_guard_cfg *cfg);

typedef struct ck_pv_guard ck_pv_guard;

/* NULL when out of memory. Zero fields of cfg take the defaults. */
ck_pv_guard *ck_pv_guard_new(const ck_pv_guard_cfg *cfg);
void ck_pv_guard_free(ck_pv_guard *g);

/* 0 when a login from addr as user (for CAPF: the device) may be checked now; else how many ms
 * of back-off are left (the longer of the source's and the user's). */
uint64_t ck_pv_guard_wait(ck_pv_guard *g, const char *addr, const char *user, uint64_t now_ms);

/* Records a failed login. checked: the password was checked and was
 * wrong (it extends the back-off); false: refused unchecked while backed
 * off (counted for the audit only, so that waiting out the back-off
 * works). Returns true, with audit filled, when this failure is due an
 * audit row. */
bool ck_pv_guard_failed(ck_pv_guard *g, const char *addr, const char *user, bool checked, uint64_t now_ms,
                        char *audit, size_t audit_size);

/* A successful login: forgets the user's and the source's failures (a
 * summary still pending for the source is kept for ck_pv_guard_flush). */
void ck_pv_guard_succeeded(ck_pv_guard *g, const char *addr, const char *user, uint64_t now_ms);

/* A summary due for a source whose failures stopped: returns true with
 * audit filled, one per call; call until false (e.g. once a second). */
bool ck_pv_guard_flush(ck_pv_guard *g, uint64_t now_ms, char *audit, size_t audit_size);

#endif
