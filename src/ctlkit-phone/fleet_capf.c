/* A fleet's phones enrolling from their configuration (fleet.h,
 * docs/phones-capf.md "A fleet enrols"). The CAPF client blocks (one
 * phone, one session, as capf_client.c says), so a few worker threads
 * each take the next phone that has a session to run: --capf-concurrency
 * sessions in flight, whatever the size of the fleet. Each phone's LSC
 * goes to its own folder, DIR/phones/SEP<MAC>. */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capf_enrol.h"
#include "ctlkit/capf.h"
#include "fleet.h"
#include "keypool.h"

typedef struct outcome {
    ph_enrol what;
    int rc;              /* ph_capf_enrol's */
    bool stored;
    int end_reason;
    char operation[16];
    char error[256];
} outcome;

typedef struct enrol_ctx {
    ph_fleet *f;
    const ph_fleet_opts *o;
    size_t *todo;        /* phone indexes with a session to run */
    size_t n_todo, next;
    unsigned long pool_keys;
    outcome *out;        /* per phone index */
    pthread_mutex_t lock;
} enrol_ctx;

/* How many keys the pool holds: key-000000.pem, key-000001.pem, ... */
static unsigned long pool_size(const char *dir)
{
    char path[PATH_MAX];
    unsigned long n = 0;
    for (;; n++) {
        ph_keypool_path(dir, n, path, sizeof path);
        if (access(path, R_OK) != 0)
            return n;
    }
}

static const char *typed_string(const ph_fleet_opts *o, const ph_phone *p)
{
    char name[16];
    snprintf(name, sizeof name, "SEP%s", p->mac);
    if (o->auth_strings)
        return ph_auth_strings_find(o->auth_strings, name);
    return o->auth_string;
}

static void enrol_one(enrol_ctx *c, size_t i)
{
    ph_phone *p = &c->f->phones[i];
    outcome *oc = &c->out[i];
    ck_err err = {0};
    EVP_PKEY *key = NULL;
    if (c->pool_keys) { /* the pool's keys in turn; the server cannot tell they were made in advance */
        char path[PATH_MAX];
        ph_keypool_path(c->o->key_pool, i % c->pool_keys, path, sizeof path);
        if (!(key = ph_keypool_load(path, &err))) {
            oc->rc = -1;
            snprintf(oc->error, sizeof oc->error, "%s", err.msg);
            return;
        }
    }
    char dir[4096];
    ph_fleet_phone_dir(c->f, p, dir, sizeof dir);
    ph_capf_result r = {0};
    ck_netaddr src;
    oc->rc = ph_capf_enrol(dir, p, ph_fleet_source(c->f, i, &src), typed_string(c->o, p), key,
                           c->o->capf_timeout_ms, c->o->capf_deadline_ms, &oc->what, &r, &oc->stored, &err);
    oc->end_reason = r.end_reason;
    snprintf(oc->operation, sizeof oc->operation, "%s", r.operation ? r.operation : "none");
    if (oc->rc < 0)
        snprintf(oc->error, sizeof oc->error, "%s", err.msg);
    X509_free(r.new_lsc);
    EVP_PKEY_free(r.new_key);
    EVP_PKEY_free(key);
}

static void *worker(void *arg)
{
    enrol_ctx *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        size_t k = c->next < c->n_todo ? c->next++ : SIZE_MAX;
        pthread_mutex_unlock(&c->lock);
        if (k == SIZE_MAX)
            return NULL;
        enrol_one(c, c->todo[k]);
    }
}

/* Counts a phone's session in s and describes it (as `boot --json`'s "capf"). */
static json_t *account(ph_summary *s, const outcome *oc)
{
    if (oc->rc < 0) {
        s->capf_failed++;
        return json_pack("{s:s, s:s}", "result", "failed", "error", oc->error);
    }
    if (oc->what == PH_ENROL_NEEDS_STRING) {
        s->capf_waiting++;
        return json_pack("{s:s}", "result", "waiting for the authentication string");
    }
    const char *result;
    if (oc->stored) {
        s->lsc_issued++;
        result = "LSC installed";
    } else if (oc->end_reason == CK_CAPF_REASON_UPDATE || oc->end_reason == CK_CAPF_REASON_NO_ACTION) {
        result = "done"; /* deleted, handed over, or nothing pending after all */
    } else {
        s->lsc_refused++;
        result = "refused by the server";
    }
    return json_pack("{s:s, s:s, s:i, s:s}", "result", result, "operation", oc->operation, "end_reason",
                     oc->end_reason, "end_reason_name", ck_capf_reason_name((uint8_t)oc->end_reason));
}

int ph_fleet_enrol(ph_fleet *f, const ph_fleet_opts *o, const bool *ran, ph_summary *s, json_t **slots, ck_err *err)
{
    enrol_ctx c = {.f = f, .o = o};
    int rc = -1;
    pthread_t *threads = NULL;
    size_t started = 0;
    if (!(c.todo = calloc(f->n ? f->n : 1, sizeof *c.todo)) || !(c.out = calloc(f->n ? f->n : 1, sizeof *c.out))) {
        ck_fail(err, CK_ENOMEM, "out of memory for %zu CAPF sessions", f->n);
        goto out;
    }
    for (size_t i = 0; i < f->n; i++) {
        const ph_cnf *cn = &f->phones[i].cnf;
        if (ran[i] && cn->known && cn->capf_auth_mode != 0)
            c.todo[c.n_todo++] = i;
    }
    if (!c.n_todo) {
        rc = 0;
        goto out;
    }
    if (o->key_pool && !(c.pool_keys = pool_size(o->key_pool))) {
        ck_fail(err, CK_ENOTFOUND, "--key-pool %s holds no key (make them: ctlkit-phone keypool --dir %s --count N)",
                o->key_pool, o->key_pool);
        goto out;
    }
    size_t n_threads = o->capf_concurrency ? o->capf_concurrency : 1;
    if (n_threads > c.n_todo)
        n_threads = c.n_todo;
    if (!(threads = calloc(n_threads, sizeof *threads))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_init(&c.lock, NULL);
    for (; started < n_threads; started++)
        if (pthread_create(&threads[started], NULL, worker, &c) != 0)
            break;
    if (!started) {
        pthread_mutex_destroy(&c.lock);
        ck_fail(err, CK_EIO, "cannot start a CAPF worker thread");
        goto out;
    }
    for (size_t t = 0; t < started; t++) /* fewer workers than asked still finish the work */
        pthread_join(threads[t], NULL);
    pthread_mutex_destroy(&c.lock);
    for (size_t k = 0; k < c.n_todo; k++) {
        size_t i = c.todo[k];
        json_t *j = account(s, &c.out[i]);
        if (slots && slots[i])
            json_object_set_new(slots[i], "capf", j ? j : json_null());
        else
            json_decref(j);
    }
    rc = 0;
out:
    free(threads);
    free(c.todo);
    free(c.out);
    return rc;
}
