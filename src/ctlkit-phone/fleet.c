/* The fleet runner. One event loop, a bounded number of boots in flight
 * (--concurrency), each finished boot starting the next: the same shape as
 * a building's phones coming back after a reset, without a thread or a
 * process per phone. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "capf_enrol.h"
#include "fleet.h"
#include "tvs_client.h"

bool ph_fleet_exists(const char *dir)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/fleet.json", dir);
    return stat(path, &st) == 0;
}

void ph_fleet_free(ph_fleet *f)
{
    for (size_t i = 0; i < f->n; i++)
        ph_phone_clear(&f->pool, &f->phones[i]);
    free(f->phones);
    ph_pool_free(&f->pool);
    memset(f, 0, sizeof(*f));
}

/* "7975:70,8865:25,7960:5" -> counts by largest remainder, so that the
 * total is exactly count and the proportions are as close as they can be. */
static int split_models(const char *spec, unsigned count, const ph_model **models, unsigned *counts, size_t *n,
                        ck_err *err)
{
    char buf[256];
    if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
        return ck_fail(err, CK_EINVAL, "--models is too long");
    unsigned long long weights[PH_MAX_MODELS], sum = 0;
    *n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == PH_MAX_MODELS)
            return ck_fail(err, CK_EINVAL, "--models names too many models");
        char *colon = strchr(tok, ':');
        long long w = 1;
        if (colon) {
            *colon = '\0';
            if (!ck_parse_ll(colon + 1, 0, 1000000, &w))
                return ck_fail(err, CK_EINVAL, "--models: weight of %s must be a number from 0 to 1000000", tok);
        }
        if (!(models[*n] = ph_model_find(tok)))
            return ck_fail(err, CK_EINVAL, "--models: unknown model '%s' (see ctlkit-phone models)", tok);
        weights[*n] = (unsigned long long)w;
        sum += (unsigned long long)w;
        (*n)++;
    }
    if (*n == 0 || sum == 0)
        return ck_fail(err, CK_EINVAL, "--models must give at least one model a weight above 0");
    unsigned given = 0;
    unsigned long long rem[PH_MAX_MODELS];
    for (size_t i = 0; i < *n; i++) {
        counts[i] = (unsigned)(weights[i] * count / sum);
        rem[i] = weights[i] * count % sum;
        given += counts[i];
    }
    while (given < count) {
        size_t best = 0;
        for (size_t i = 1; i < *n; i++)
            if (rem[i] > rem[best])
                best = i;
        counts[best]++;
        rem[best] = 0;
        given++;
    }
    return 0;
}

int ph_fleet_create(ph_fleet *f, const char *dir, unsigned count, const char *spec, ck_err *err)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
    snprintf(f->models, sizeof(f->models), "%s", spec);
    const ph_model *models[PH_MAX_MODELS];
    unsigned counts[PH_MAX_MODELS];
    size_t nm = 0;
    if (split_models(spec, count, models, counts, &nm, err) < 0)
        return -1;
    if (!(f->phones = calloc(count ? count : 1, sizeof(*f->phones))))
        return ck_fail(err, CK_ENOMEM, "out of memory for %u phones", count);
    f->n = count;
    size_t i = 0;
    for (size_t m = 0; m < nm; m++)
        for (unsigned k = 0; k < counts[m]; k++, i++) {
            ph_phone *p = &f->phones[i];
            snprintf(p->mac, sizeof(p->mac), "0CC0%08X", (unsigned)(i + 1));
            p->model = models[m];
            ck_ph_cache_init(&p->cache);
        }
    return 0;
}

int ph_fleet_set_sources(ph_fleet *f, const char *spec, ck_err *err)
{
    if (!spec)
        spec = f->source_net[0] ? f->source_net
               : ph_source_default_applies(f->tftp, f->n_tftp, f->tvs, f->n_tvs) ? PH_SOURCE_NET_DEFAULT
                                                                                 : "none";
    char chosen[sizeof f->source_net];
    if (snprintf(chosen, sizeof chosen, "%s", spec) >= (int)sizeof chosen)
        return ck_fail(err, CK_EINVAL, "--source-net '%s' is too long", spec);
    if (strcmp(chosen, "none") == 0) {
        memset(&f->sources, 0, sizeof f->sources);
    } else {
        ck_netrange r;
        if (ck_netrange_parse(chosen, &r, err) < 0) {
            ck_err_prefix(err, "--source-net (A.B.C.D/N or none)");
            return -1;
        }
        if (ck_netrange_count(&r) < f->n)
            return ck_fail(err, CK_EINVAL, "--source-net %s has %llu addresses for %zu phones", chosen,
                           (unsigned long long)ck_netrange_count(&r), f->n);
        f->sources = r;
    }
    memcpy(f->source_net, chosen, sizeof chosen);
    return 0;
}

const ck_netaddr *ph_fleet_source(const ph_fleet *f, size_t i, ck_netaddr *buf)
{
    if (strcmp(f->source_net, "none") == 0 || !f->source_net[0])
        return NULL;
    return ck_netrange_at(&f->sources, i, buf) == 0 ? buf : NULL;
}

void ph_fleet_phone_dir(const ph_fleet *f, const ph_phone *p, char *out, size_t n)
{
    snprintf(out, n, "%s/phones/SEP%s", f->dir, p->mac);
}

/* ---- fleet.json ---- */

static json_t *addrs_json(const ph_addr *a, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_string(a[i].text));
    return arr;
}

static int addrs_load(json_t *arr, ph_addr *a, size_t *n, ck_err *err)
{
    *n = 0;
    if (!arr)
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (*n == PH_MAX_SERVERS || !json_is_string(v))
            return ck_fail(err, CK_EFORMAT, "fleet.json: bad server list");
        if (ph_addr_parse(json_string_value(v), &a[*n], err) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

int ph_fleet_save(ph_fleet *f, ck_err *err)
{
    if (ck_mkdirs(f->dir, 0755, err) < 0 || ph_pool_save_all(&f->pool, f->dir, err) < 0)
        return -1;
    json_t *phones = json_array();
    for (size_t i = 0; phones && i < f->n; i++) {
        const ph_phone *p = &f->phones[i];
        json_array_append_new(phones, json_pack("{s:s, s:s, s:i, s:s*, s:s*, s:o, s:o}", "mac", p->mac, "model",
                                                p->model->name, "group", (int)p->group, "ctl",
                                                p->ctl ? p->ctl->sha1hex : NULL, "itl", p->itl ? p->itl->sha1hex : NULL,
                                                "tvs_cache", ph_cache_to_json(&p->cache), "config",
                                                ph_cnf_to_json(&p->cnf)));
    }
    json_t *root = json_pack("{s:i, s:s, s:o, s:o, s:s*, s:o}", "version", 1, "models", f->models, "tftp",
                             addrs_json(f->tftp, f->n_tftp), "tvs", addrs_json(f->tvs, f->n_tvs), "source_net",
                             f->source_net[0] ? f->source_net : NULL, "phones", phones);
    /* compact: one phone per ~200 bytes matters at ten thousand phones */
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return ck_fail(err, CK_ENOMEM, "out of memory writing the fleet state");
    char path[4096];
    snprintf(path, sizeof(path), "%s/fleet.json", f->dir);
    int rc = ck_write_file_atomic(path, text, strlen(text), 0644, err);
    free(text);
    return rc;
}

int ph_fleet_load(ph_fleet *f, const char *dir, ck_err *err)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/fleet.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return ck_fail(err, CK_ENOTFOUND, "%s: %s (make a fleet first: ctlkit-phone fleet --state DIR --count N ...)",
                       path, je.text);
    int rc = -1;
    json_t *tftp = NULL, *tvs = NULL, *phones = NULL;
    const char *models = "", *source_net = NULL;
    if (json_unpack(root, "{s:s, s:o, s:o, s?s, s:o}", "models", &models, "tftp", &tftp, "tvs", &tvs, "source_net",
                    &source_net, "phones", &phones) ||
        !json_is_array(phones)) {
        ck_fail(err, CK_EFORMAT, "%s: not a fleet file", path);
        goto out;
    }
    snprintf(f->models, sizeof(f->models), "%s", models);
    if (addrs_load(tftp, f->tftp, &f->n_tftp, err) < 0 || addrs_load(tvs, f->tvs, &f->n_tvs, err) < 0)
        goto out;
    size_t n = json_array_size(phones);
    if (!(f->phones = calloc(n ? n : 1, sizeof(*f->phones)))) {
        ck_fail(err, CK_ENOMEM, "out of memory for %zu phones", n);
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(phones, i, o)
    {
        ph_phone *p = &f->phones[i];
        f->n = i + 1;
        const char *mac = NULL, *model = NULL, *ctl = NULL, *itl = NULL;
        int group = 0;
        json_t *cache = NULL, *cnf = NULL;
        if (json_unpack(o, "{s:s, s:s, s:i, s?s, s?s, s?o, s?o}", "mac", &mac, "model", &model, "group", &group, "ctl",
                        &ctl, "itl", &itl, "tvs_cache", &cache, "config", &cnf) ||
            group < 0 || ph_mac_parse(mac, p->mac, err) < 0 || !(p->model = ph_model_find(model))) {
            ck_fail(err, CK_EFORMAT, "%s: phone %zu is malformed", path, i + 1);
            goto out;
        }
        p->group = (unsigned)group;
        if ((ctl && !(p->ctl = ph_pool_load_hash(&f->pool, dir, ctl, err))) ||
            (itl && !(p->itl = ph_pool_load_hash(&f->pool, dir, itl, err))) ||
            ph_cache_from_json(cache, &p->cache, err) < 0)
            goto out;
        ph_cnf_from_json(cnf, &p->cnf);
        /* the LSC (or MIC) that opens the phone's encrypted configuration */
        char pdir[4096];
        ph_fleet_phone_dir(f, p, pdir, sizeof pdir);
        if (ph_phone_load_certs(pdir, p, err) < 0)
            goto out;
    }
    /* a fleet made before phones had their own addresses has none stored:
     * ph_fleet_set_sources chooses then */
    if (source_net && ph_fleet_set_sources(f, source_net, err) < 0) {
        ck_err_prefix(err, "%s", path);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0)
        ph_fleet_free(f);
    return rc;
}

/* ---- running ---- */

typedef struct run_ctx {
    ph_fleet *f;
    const ph_fleet_opts *o;
    struct event_base *base;
    ph_boot_cfg cfg[PH_MAX_SERVERS];
    ph_addr gtftp[PH_MAX_SERVERS][PH_MAX_SERVERS], gtvs[PH_MAX_SERVERS][PH_MAX_SERVERS];
    size_t groups;
    size_t next, in_flight;
    ph_summary *s;
    json_t *details;
    json_t **slots;  /* one report per phone, emitted in fleet order: runs compare */
    bool *ran;       /* phones whose boot got through (may enrol next) */
    ph_progress pg;
    int64_t now;
    bool failed_to_start;
} run_ctx;

static void start_more(run_ctx *c);

static void on_booted(void *arg, ph_phone *p, const ph_boot_report *r)
{
    run_ctx *c = arg;
    c->in_flight--;
    ph_summary_add(c->s, p, r);
    c->ran[p - c->f->phones] = r->outcome != PH_OUT_FAILED;
    if (c->slots)
        c->slots[p - c->f->phones] = ph_report_boot_json(p, r);
    ph_progress_step(&c->pg, c->s);
    start_more(c);
}

static bool selected(const run_ctx *c, const ph_phone *p)
{
    return !c->o->only_model || p->model == ph_model_find(c->o->only_model);
}

/* A boot that cannot start ends the run, but the boots already in flight
 * finish first: leaving the loop under them would leak each boot and its
 * transfer, and leave their phones half-booted in memory. */
static void start_more(run_ctx *c)
{
    while (!c->failed_to_start && c->in_flight < c->o->concurrency && c->next < c->f->n) {
        ph_phone *p = &c->f->phones[c->next++];
        if (!selected(c, p))
            continue;
        ck_ph_cache_expire(&p->cache, c->now);
        ck_err err;
        ck_netaddr src;
        if (!ph_boot_start(c->base, &c->f->pool, p, &c->cfg[p->group % c->groups],
                           ph_fleet_source(c->f, (size_t)(p - c->f->phones), &src), on_booted, c, &err)) {
            fprintf(stderr, "ctlkit-phone: SEP%s: %s\n", p->mac, err.msg);
            c->failed_to_start = true;
            return;
        }
        c->in_flight++;
    }
}

int ph_fleet_run(ph_fleet *f, const ph_fleet_opts *o, ph_summary *s, json_t *details, ck_err *err)
{
    run_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    int rc = -1;
    SSL_CTX *ssl = NULL;
    memset(s, 0, sizeof(*s));
    c->f = f;
    c->o = o;
    c->s = s;
    c->details = details;
    c->now = (int64_t)time(NULL);
    if (!f->n_tftp) {
        ck_fail(err, CK_EINVAL, "the fleet has no TFTP server");
        goto out;
    }
    if (details && !(c->slots = calloc(f->n ? f->n : 1, sizeof(*c->slots)))) {
        ck_fail(err, CK_ENOMEM, "out of memory for %zu reports", f->n);
        goto out;
    }
    if (!(c->ran = calloc(f->n ? f->n : 1, sizeof(*c->ran)))) {
        ck_fail(err, CK_ENOMEM, "out of memory for %zu phones", f->n);
        goto out;
    }
    if (!(c->base = event_base_new())) {
        ck_fail(err, CK_ENOMEM, "cannot create the event loop");
        goto out;
    }
    if (!(ssl = ph_tvs_ssl_ctx(err)))
        goto out;
    /* CallManager groups: group g lists the servers starting at g, so that
     * the phones of one group share a primary and fall back to the next. */
    c->groups = f->n_tftp > f->n_tvs ? f->n_tftp : f->n_tvs;
    for (size_t g = 0; g < c->groups; g++) {
        for (size_t k = 0; k < f->n_tftp; k++)
            c->gtftp[g][k] = f->tftp[(g + k) % f->n_tftp];
        for (size_t k = 0; k < f->n_tvs; k++)
            c->gtvs[g][k] = f->tvs[(g + k) % f->n_tvs];
        c->cfg[g] = (ph_boot_cfg){.tftp = c->gtftp[g], .n_tftp = f->n_tftp, .tvs = c->gtvs[g], .n_tvs = f->n_tvs,
                                  .tftp_params = o->tftp_params, .tvs_timeout_ms = o->tvs_timeout_ms,
                                  .tvs_deadline_ms = o->tvs_deadline_ms, .ssl = ssl, .no_config = o->no_config};
    }
    unsigned total = 0;
    for (size_t i = 0; i < f->n; i++) {
        f->phones[i].group = (unsigned)(i % c->groups);
        total += selected(c, &f->phones[i]);
    }
    ph_progress_init(&c->pg, total);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    start_more(c);
    if (c->in_flight && event_base_dispatch(c->base) < 0) {
        ck_fail(err, CK_EIO, "the event loop failed");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ph_progress_end(&c->pg);
    s->wall_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (c->failed_to_start) {
        ck_fail(err, CK_EIO, "a boot could not start");
        goto out;
    }
    /* then the CAPF sessions their configurations ask for, as a phone
     * enrols once its configuration is read */
    if (!o->no_config && ph_fleet_enrol(f, o, c->ran, s, c->slots, err) < 0)
        goto out;
    for (size_t i = 0; c->slots && i < f->n; i++)
        if (c->slots[i]) {
            json_array_append_new(details, c->slots[i]);
            c->slots[i] = NULL;
        }
    rc = 0;
out:
    for (size_t i = 0; c->slots && i < f->n; i++)
        json_decref(c->slots[i]);
    free(c->slots);
    free(c->ran);
    if (c->base)
        event_base_free(c->base);
    SSL_CTX_free(ssl);
    free(c);
    return rc;
}
