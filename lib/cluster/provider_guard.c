/* Failed CTL Provider logins per source and per user (provider_guard.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/provider.h"
#include "ctlkit/provider_guard.h"

enum { KIND_FREE = 0, KIND_SOURCE, KIND_USER };

typedef struct slot {
    int kind;
    char key[CK_PV_USER_MAX + 1];   /* an address or a user name (both fit) */
    unsigned failures;              /* checked failures since the last success or quiet spell */
    uint64_t last_failure_ms;
    uint64_t last_seen_ms;          /* for eviction */
    /* Audit (sources only). */
    bool reported;                  /* the first failure got its row */
    unsigned pending;               /* failures since the last row */
    uint64_t window_ms;             /* when the last row was written */
    char last_user[CK_PV_USER_MAX + 1];
    bool several_users;
} slot;

struct ck_pv_guard {
    ck_pv_guard_cfg cfg;
    slot *slots;
    pthread_mutex_t mu; /* every public call holds it */
};

void ck_pv_guard_cfg_init(ck_pv_guard_cfg *cfg)
{
    cfg->free_failures = 3;
    cfg->backoff_ms = 1000;
    cfg->backoff_max_ms = 300000;
    cfg->summary_ms = 60000;
    cfg->slots = 1024;
    cfg->label = "CTL Provider";
    cfg->failure = "failed login";
    cfg->failures = "failed logins";
    cfg->accounts = "users";
}

ck_pv_guard *ck_pv_guard_new(const ck_pv_guard_cfg *cfg)
{
    ck_pv_guard_cfg d;
    ck_pv_guard_cfg_init(&d);
    ck_pv_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->cfg = *cfg;
    if (!g->cfg.free_failures)
        g->cfg.free_failures = d.free_failures;
    if (!g->cfg.backoff_ms)
        g->cfg.backoff_ms = d.backoff_ms;
    if (!g->cfg.backoff_max_ms)
        g->cfg.backoff_max_ms = d.backoff_max_ms;
    if (g->cfg.backoff_max_ms < g->cfg.backoff_ms)
        g->cfg.backoff_max_ms = g->cfg.backoff_ms;
    if (!g->cfg.summary_ms)
        g->cfg.summary_ms = d.summary_ms;
    if (!g->cfg.slots)
        g->cfg.slots = d.slots;
    if (!g->cfg.label || !g->cfg.failure || !g->cfg.failures || !g->cfg.accounts) {
        g->cfg.label = d.label;
        g->cfg.failure = d.failure;
        g->cfg.failures = d.failures;
        g->cfg.accounts = d.accounts;
    }
    pthread_mutex_init(&g->mu, NULL);
    g->slots = calloc(g->cfg.slots, sizeof *g->slots);
    if (!g->slots) {
        free(g);
        return NULL;
    }
    return g;
}

void ck_pv_guard_free(ck_pv_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->mu);
    free(g->slots);
    free(g);
}

static slot *find(ck_pv_guard *g, int kind, const char *key)
{
    for (size_t i = 0; i < g->cfg.slots; i++)
        if (g->slots[i].kind == kind && strcmp(g->slots[i].key, key) == 0)
            return &g->slots[i];
    return NULL;
}

static uint64_t left(const ck_pv_guard *g, const slot *s, uint64_t now_ms);

/* The slot a new entry takes: a free one, else the least recently seen
 * of those not backed off, else (every one backed off) the least recently
 * seen; never keep (the entry the caller holds) unless it is the only
 * one. Entries whose back-off runs go last: otherwise a flood of
 * attempts that cost nothing (refused unchecked, from many sources or
 * under many names) would push a guessed user's or a guessing source's
 * back-off out of the table and start it afresh. */
static slot *victim(ck_pv_guard *g, const slot *keep, uint64_t now_ms)
{
    slot *any = NULL, *idle = NULL;
    for (size_t i = 0; i < g->cfg.slots; i++) {
        slot *s = &g->slots[i];
        if (s == keep)
            continue;
        if (s->kind == KIND_FREE)
            return s;
        if (!any || s->last_seen_ms < any->last_seen_ms)
            any = s;
        if (left(g, s, now_ms) == 0 && (!idle || s->last_seen_ms < idle->last_seen_ms))
            idle = s;
    }
    return idle ? idle : any ? any : (slot *)keep;
}

/* The entry for key, made (in victim's slot) when there is none. */
static slot *get(ck_pv_guard *g, int kind, const char *key, const slot *keep, uint64_t now_ms)
{
    slot *s = find(g, kind, key);
    if (!s) {
        s = victim(g, keep, now_ms);
        memset(s, 0, sizeof *s);
        s->kind = kind;
        snprintf(s->key, sizeof s->key, "%s", key);
    }
    /* Quiet for as long as the longest back-off: start afresh. */
    if (s->failures && now_ms - s->last_failure_ms >= g->cfg.backoff_max_ms)
        s->failures = 0;
    if (s->reported && !s->pending && now_ms - s->window_ms >= g->cfg.backoff_max_ms)
        s->reported = false;
    s->last_seen_ms = now_ms;
    return s;
}

static uint64_t left(const ck_pv_guard *g, const slot *s, uint64_t now_ms)
{
    if (!s || s->failures < g->cfg.free_failures || now_ms - s->last_failure_ms >= g->cfg.backoff_max_ms)
        return 0;
    uint64_t d = g->cfg.backoff_ms;
    for (unsigned i = g->cfg.free_failures; i < s->failures && d < g->cfg.backoff_max_ms; i++)
        d *= 2;
    if (d > g->cfg.backoff_max_ms)
        d = g->cfg.backoff_max_ms;
    uint64_t until = s->last_failure_ms + d;
    return until > now_ms ? until - now_ms : 0;
}

uint64_t ck_pv_guard_wait(ck_pv_guard *g, const char *addr, const char *user, uint64_t now_ms)
{
    pthread_mutex_lock(&g->mu);
    uint64_t a = left(g, find(g, KIND_SOURCE, addr), now_ms);
    uint64_t u = left(g, find(g, KIND_USER, user), now_ms);
    pthread_mutex_unlock(&g->mu);
    return a > u ? a : u;
}

static void summary(const ck_pv_guard *g, slot *s, uint64_t now_ms, char *audit, size_t n)
{
    uint64_t secs = (now_ms - s->window_ms + 999) / 1000;
    if (s->several_users)
        snprintf(audit, n, "%s: %u %s for several %s (last '%s') from %s in the last %llu s", g->cfg.label, s->pending,
                 g->cfg.failures, g->cfg.accounts, s->last_user, s->key,
                 (unsigned long long)secs);
    else
        snprintf(audit, n, "%s: %u %s for '%s' from %s in the last %llu s", g->cfg.label, s->pending,
                 s->pending == 1 ? g->cfg.failure : g->cfg.failures, s->last_user, s->key, (unsigned long long)secs);
    s->pending = 0;
    s->several_users = false;
    s->window_ms = now_ms;
}

static bool failed_locked(ck_pv_guard *g, const char *addr, const char *user, bool checked, uint64_t now_ms,
                          char *audit, size_t audit_size)
{
    /* A refusal unchecked changes nothing about the user: it makes no
     * entry for a name never checked (names cost an attacker nothing). */
    slot *u = checked ? get(g, KIND_USER, user, NULL, now_ms) : find(g, KIND_USER, user);
    if (checked) {
        u->failures++;
        u->last_failure_ms = now_ms;
    } else if (u) {
        u->last_seen_ms = now_ms;
    }
    slot *s = get(g, KIND_SOURCE, addr, u, now_ms);
    if (checked) {
        s->failures++;
        s->last_failure_ms = now_ms;
    }
    if (!s->reported) {
        s->reported = true;
        s->pending = 0;
        s->several_users = false;
        s->window_ms = now_ms;
        snprintf(s->last_user, sizeof s->last_user, "%s", user);
        snprintf(audit, audit_size, "%s: %s for '%s' from %s", g->cfg.label, g->cfg.failure, user, addr);
        return true;
    }
    if (s->pending && strcmp(s->last_user, user) != 0)
        s->several_users = true;
    snprintf(s->last_user, sizeof s->last_user, "%s", user);
    s->pending++;
    if (now_ms - s->window_ms < g->cfg.summary_ms)
        return false;
    summary(g, s, now_ms, audit, audit_size);
    return true;
}

bool ck_pv_guard_failed(ck_pv_guard *g, const char *addr, const char *user, bool checked, uint64_t now_ms,
                        char *audit, size_t audit_size)
{
    pthread_mutex_lock(&g->mu);
    bool row = failed_locked(g, addr, user, checked, now_ms, audit, audit_size);
    pthread_mutex_unlock(&g->mu);
    return row;
}

void ck_pv_guard_succeeded(ck_pv_guard *g, const char *addr, const char *user, uint64_t now_ms)
{
    pthread_mutex_lock(&g->mu);
    slot *u = find(g, KIND_USER, user);
    if (u)
        memset(u, 0, sizeof *u);
    slot *s = find(g, KIND_SOURCE, addr);
    if (s) {
        s->failures = 0;
        s->last_seen_ms = now_ms;
    }
    pthread_mutex_unlock(&g->mu);
}

bool ck_pv_guard_flush(ck_pv_guard *g, uint64_t now_ms, char *audit, size_t audit_size)
{
    bool row = false;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->cfg.slots && !row; i++) {
        slot *s = &g->slots[i];
        if (s->kind == KIND_SOURCE && s->pending && now_ms - s->window_ms >= g->cfg.summary_ms) {
            summary(g, s, now_ms, audit, audit_size);
            row = true;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return row;
}
