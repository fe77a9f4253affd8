/* The boot state machine. Every step ends in a callback from the loop
 * (TFTP done, TVS answered), which judges, updates the phone and starts the
 * next step; a boot never blocks and holds no thread, so one loop runs
 * thousands of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot.h"
#include "ctlkit/encsgn.h"
#include "tvs_client.h"

typedef enum step { S_CTL_SEP, S_CTL, S_ITL_SEP, S_ITL, S_CNF, S_ENC, S_DONE } step;

struct ph_boot {
    struct event_base *base;
    ph_pool *pool;
    ph_phone *phone;
    const ph_boot_cfg *cfg;
    ck_netaddr source;      /* the phone's own address, when has_source */
    bool has_source;
    ph_boot_cb cb;
    void *arg;
    step st;
    size_t tftp_i;          /* current TFTP server; stays on a backup once there */
    char file[64];
    ph_tftp_xfer *xfer;
    /* a downloaded list waiting for a TVS answer */
    uint8_t *pending;
    size_t pending_len;
    ck_ph_kind pending_kind;
    size_t tvs_i;
    char tvs_error[256];
    bool have_fresh;
    ck_ph_cache_entry fresh;
    ph_tvs_query *tvs;
    struct timespec t0;
    ph_boot_report r;
    char cert_hash[33];     /* the stub .sgn's certHash: whom the .enc.sgn is for */
};

static const ck_netaddr *source_of(const ph_boot *b)
{
    return b->has_source ? &b->source : NULL;
}

const char *ph_file_status_name(ph_file_status s)
{
    switch (s) {
    case PH_F_SKIPPED: return "skipped";
    case PH_F_NOT_FOUND: return "not-found";
    case PH_F_INSTALLED: return "installed";
    case PH_F_UNCHANGED: return "unchanged";
    case PH_F_REJECTED: return "rejected";
    case PH_F_FAILED: return "failed";
    case PH_F_LOADED: return "loaded";
    case PH_F_VERIFIED: return "verified";
    }
    return "unknown";
}

const char *ph_outcome_name(ph_outcome o)
{
    switch (o) {
    case PH_OUT_INSTALLED: return "installed";
    case PH_OUT_UNCHANGED: return "unchanged";
    case PH_OUT_REJECTED: return "rejected";
    case PH_OUT_FAILED: return "failed";
    }
    return "unknown";
}

static void run_step(ph_boot *b);

static ph_file_report *report_of(ph_boot *b, ck_ph_kind k) { return k == CK_PH_CTL ? &b->r.ctl : &b->r.itl; }

static void finish(ph_boot *b)
{
    ph_boot_report *r = &b->r;
    const ph_file_report *lists[3] = {&r->ctl, &r->itl, &r->cnf};
    bool failed = false, rejected = false, installed = false;
    for (int i = 0; i < 3; i++) {
        failed |= lists[i]->status == PH_F_FAILED;
        if (i < 2 && lists[i]->status == PH_F_REJECTED) {
            if (!rejected)
                r->reason = lists[i]->reason;
            rejected = true;
        }
        installed |= lists[i]->status == PH_F_INSTALLED;
    }
    r->outcome = failed ? PH_OUT_FAILED : rejected ? PH_OUT_REJECTED : installed ? PH_OUT_INSTALLED : PH_OUT_UNCHANGED;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->ms = (double)(t1.tv_sec - b->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - b->t0.tv_nsec) / 1e6;
    ph_boot_report copy = *r;
    ph_boot_cb cb = b->cb;
    void *arg = b->arg;
    ph_phone *phone = b->phone;
    free(b->pending);
    free(b);
    cb(arg, phone, &copy);
}

/* ---- judging a trust list ---- */

static void judge(ph_boot *b);

static void on_tvs(void *arg, const ph_tvs_result *res)
{
    ph_boot *b = arg;
    b->tvs = NULL;
    b->r.tvs_queries++;
    ph_file_report *fr = report_of(b, b->pending_kind);
    snprintf(fr->tvs_server, sizeof(fr->tvs_server), "%s", b->cfg->tvs[b->tvs_i].text);
    switch (res->status) {
    case PH_TVS_ANSWERED:
        ck_ph_cache_put(&b->phone->cache, b->fresh.sha1, res->valid, res->roles, res->n_roles, res->ttl,
                        (int64_t)time(NULL));
        b->fresh.valid = res->valid;
        b->fresh.n_roles = res->n_roles > CK_PH_CACHE_MAX_ROLES ? CK_PH_CACHE_MAX_ROLES : res->n_roles;
        memcpy(b->fresh.roles, res->roles, b->fresh.n_roles);
        b->have_fresh = true;
        break;
    case PH_TVS_UNTRUSTED:
        /* A server the ITL does not name is not asked, and the phone does
         * not shop around for a friendlier one: CUCM's phones are stranded
         * the same way when the TVS certificate changed (the "trap"). */
        snprintf(b->tvs_error, sizeof(b->tvs_error), "%s", res->msg);
        break;
    case PH_TVS_NETWORK:
        if (b->tvs_i + 1 < b->cfg->n_tvs) { /* next TVS of the CallManager group */
            b->tvs_i++;
            break;
        }
        snprintf(b->tvs_error, sizeof(b->tvs_error), "%s", res->msg);
        break;
    }
    judge(b);
}

static void ask_tvs(ph_boot *b, const uint8_t *cert, size_t cert_len)
{
    char device[80];
    snprintf(device, sizeof(device), "CP-%s-SEP%s", b->phone->model->device, b->phone->mac);
    ph_file_report *fr = report_of(b, b->pending_kind);
    fr->tvs_asked = true;
    ck_err err;
    b->tvs = ph_tvs_verify(b->base, b->cfg->ssl, b->phone->model, &b->cfg->tvs[b->tvs_i], source_of(b),
                           b->phone->itl->parsed, device, cert, cert_len, b->cfg->tvs_timeout_ms, b->cfg->tvs_deadline_ms,
                           on_tvs, b, &err);
    if (!b->tvs) {
        snprintf(b->tvs_error, sizeof(b->tvs_error), "%s", err.msg);
        judge(b);
    }
}

static void next_step_after_list(ph_boot *b)
{
    free(b->pending);
    b->pending = NULL;
    b->have_fresh = false;
    b->tvs_error[0] = '\0';
    b->tvs_i = 0;
    b->st = b->pending_kind == CK_PH_CTL ? (b->phone->model->sbd ? S_ITL_SEP : S_CNF) : S_CNF;
    run_step(b);
}

static void judge(ph_boot *b)
{
    ck_ph_kind k = b->pending_kind;
    ph_list *held = k == CK_PH_CTL ? b->phone->ctl : b->phone->itl;
    ck_ph_input in = {
        .kind = k,
        .sbd = b->phone->model->sbd,
        .held = held ? held->parsed : NULL,
        .data = b->pending,
        .len = b->pending_len,
        .cache = &b->phone->cache,
        .now = (int64_t)time(NULL),
        .tvs_error = b->tvs_error[0] ? b->tvs_error : NULL,
        .fresh = b->have_fresh ? &b->fresh : NULL,
    };
    ck_ph_decision d;
    ck_err err;
    ph_file_report *fr = report_of(b, k);
    if (ck_ph_judge(&in, &d, &err) < 0) {
        fr->status = PH_F_FAILED;
        snprintf(fr->detail, sizeof(fr->detail), "%s", err.msg);
        b->st = S_DONE;
        run_step(b);
        return;
    }
    if (d.verdict == CK_PH_NEED_TVS) {
        memcpy(b->fresh.sha1, d.need_sha1, 20);
        if (!b->phone->itl)
            snprintf(b->tvs_error, sizeof(b->tvs_error), "no ITL installed, so no TVS is trusted");
        else if (b->cfg->n_tvs == 0)
            snprintf(b->tvs_error, sizeof(b->tvs_error), "no TVS server configured");
        /* d.need_cert points into d.parsed: keep both until the request is built */
        if (b->tvs_error[0]) {
            ck_tl_free(d.parsed);
            judge(b);
        } else {
            ask_tvs(b, d.need_cert, d.need_cert_len);
            ck_tl_free(d.parsed); /* the request holds its own copy */
        }
        return;
    }
    fr->reason = d.reason;
    fr->tvs_cached = d.from_cache && (d.reason == CK_PH_R_TVS_SAST || d.reason == CK_PH_R_TVS_NOT_SAST ||
                                      d.reason == CK_PH_R_TVS_UNKNOWN);
    if (fr->tvs_cached)
        fr->tvs_asked = true;
    snprintf(fr->detail, sizeof(fr->detail), "%s", d.detail);
    if (d.verdict == CK_PH_INSTALL) {
        ph_list *l = ph_pool_intern(b->pool, b->pending, b->pending_len, d.parsed, &err);
        if (!l) {
            fr->status = PH_F_FAILED;
            snprintf(fr->detail, sizeof(fr->detail), "%s", err.msg);
            b->st = S_DONE;
            run_step(b);
            return;
        }
        ph_phone_set(b->pool, b->phone, k, l);
        if (d.via_tvs) /* the phone log in the seed: "Flushing TVS cache" */
            ck_ph_cache_flush(&b->phone->cache);
        fr->status = PH_F_INSTALLED;
    } else {
        ck_tl_free(d.parsed);
        fr->status = d.verdict == CK_PH_UNCHANGED ? PH_F_UNCHANGED : PH_F_REJECTED;
    }
    next_step_after_list(b);
}

/* ---- the encrypted configuration ---- */

/* The phone's key for the certificate whose MD5 the stub names (its LSC
 * or its MIC), or NULL. */
static EVP_PKEY *key_for(const ph_phone *p, const char *cert_hash, const char **which)
{
    X509 *certs[2] = {p->lsc, p->mic};
    EVP_PKEY *keys[2] = {p->lsc_key, p->mic_key};
    static const char *const names[2] = {"LSC", "MIC"};
    for (int i = 0; i < 2; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char hex[33] = "";
        if (!certs[i] || !keys[i] || X509_digest(certs[i], EVP_md5(), md, &n) != 1 || n != 16)
            continue;
        for (unsigned k = 0; k < 16; k++)
            snprintf(hex + 2 * k, 3, "%02x", md[k]);
        if (strcmp(hex, cert_hash) == 0) {
            *which = names[i];
            return keys[i];
        }
    }
    return NULL;
}

/* Checks the .enc.sgn's signer as for a .sgn, opens it with the key the
 * stub names and reads the full configuration from it. */
static void open_encrypted(ph_boot *b, ph_file_report *fr, const uint8_t *data, size_t len)
{
    const uint8_t *content;
    size_t clen;
    ck_err err = {0};
    ph_list *ctl = b->phone->ctl, *itl = b->phone->itl;
    ck_tl_file *f = NULL;
    uint8_t *plain = NULL;
    size_t plen = 0;
    const char *which = NULL;
    EVP_PKEY *key = key_for(b->phone, b->cert_hash, &which);
    if (ck_ph_check_sgn(ctl ? ctl->parsed : NULL, itl ? itl->parsed : NULL, b->file, data, len, &content, &clen, &err) < 0) {
        fr->status = PH_F_REJECTED;
        snprintf(fr->detail, sizeof(fr->detail), "encrypted configuration refused: %s", err.msg);
    } else if (!key) {
        fr->status = PH_F_REJECTED;
        snprintf(fr->detail, sizeof(fr->detail),
                 "encrypted configuration refused: it is for certificate %s, which the phone does not hold",
                 b->cert_hash[0] ? b->cert_hash : "(none named)");
    } else if (ck_sgn_parse(data, len, &f, &err) < 0 || ck_encsgn_decrypt(f, key, &plain, &plen, &err) < 0) {
        fr->status = PH_F_REJECTED;
        snprintf(fr->detail, sizeof(fr->detail), "encrypted configuration refused: %s", err.msg);
    } else {
        ph_cnf_read(plain, plen, &b->phone->cnf, NULL);
        b->phone->cnf.encrypted = true;
        fr->status = PH_F_VERIFIED;
        snprintf(fr->detail, sizeof(fr->detail), "signature verified, decrypted with the phone's %s, %zu bytes of "
                 "configuration", which, plen);
    }
    if (plain)
        OPENSSL_cleanse(plain, plen);
    free(plain);
    ck_tl_free(f);
}

/* ---- TFTP steps ---- */

static void on_tftp(void *arg, ph_tftp_status st, uint8_t *data, size_t len, const char *msg);

static void fetch(ph_boot *b)
{
    ck_err err;
    b->xfer = ph_tftp_get(b->base, &b->cfg->tftp[b->tftp_i], source_of(b), b->file, &b->cfg->tftp_params, on_tftp, b, &err);
    if (!b->xfer)
        on_tftp(b, PH_TFTP_FAILED, NULL, 0, err.msg);
}

static ph_file_report *step_report(ph_boot *b)
{
    switch (b->st) {
    case S_CTL_SEP:
    case S_CTL: return &b->r.ctl;
    case S_ITL_SEP:
    case S_ITL: return &b->r.itl;
    default: return &b->r.cnf;
    }
}

static void on_tftp(void *arg, ph_tftp_status st, uint8_t *data, size_t len, const char *msg)
{
    ph_boot *b = arg;
    b->xfer = NULL;
    ph_file_report *fr = step_report(b);
    snprintf(fr->file, sizeof(fr->file), "%s", b->file);
    snprintf(fr->server, sizeof(fr->server), "%s", b->cfg->tftp[b->tftp_i].text);
    if (st == PH_TFTP_TIMEOUT && b->tftp_i + 1 < b->cfg->n_tftp) {
        b->tftp_i++; /* the next TFTP server of the phone's list */
        fetch(b);
        return;
    }
    if (st == PH_TFTP_NOTFOUND) {
        switch (b->st) {
        case S_CTL_SEP: b->st = S_CTL; break;
        case S_ITL_SEP: b->st = S_ITL; break;
        case S_CTL:
            fr->status = PH_F_NOT_FOUND;
            snprintf(fr->detail, sizeof(fr->detail), "no CTL on the server: %s",
                     b->phone->ctl ? "the installed one is kept" : "none installed");
            b->st = b->phone->model->sbd ? S_ITL_SEP : S_CNF;
            break;
        case S_ITL:
            fr->status = PH_F_NOT_FOUND;
            snprintf(fr->detail, sizeof(fr->detail), "no ITL on the server: %s",
                     b->phone->itl ? "the installed one is kept" : "none installed");
            b->st = S_CNF;
            break;
        case S_ENC:
            fr->status = PH_F_REJECTED;
            snprintf(fr->detail, sizeof(fr->detail), "the signed stub names an encrypted configuration the server "
                                                     "does not have");
            b->st = S_DONE;
            break;
        default:
            fr->status = PH_F_NOT_FOUND;
            snprintf(fr->detail, sizeof(fr->detail), "no configuration file: the phone uses its defaults");
            b->st = S_DONE;
            break;
        }
        run_step(b);
        return;
    }
    if (st != PH_TFTP_OK) {
        fr->status = PH_F_FAILED;
        snprintf(fr->detail, sizeof(fr->detail), "%s: %s", ph_tftp_status_name(st), msg);
        b->st = S_DONE;
        run_step(b);
        return;
    }
    fr->size = len;
    if (b->st == S_ENC) {
        open_encrypted(b, fr, data, len);
        free(data);
        b->st = S_DONE;
        run_step(b);
        return;
    }
    if (b->st == S_CNF) {
        if (strstr(b->file, ".sgn")) {
            const uint8_t *content;
            size_t clen;
            ck_err err;
            ph_list *ctl = b->phone->ctl, *itl = b->phone->itl;
            if (ck_ph_check_sgn(ctl ? ctl->parsed : NULL, itl ? itl->parsed : NULL, b->file, data, len, &content, &clen,
                                &err) < 0) {
                fr->status = PH_F_REJECTED;
                snprintf(fr->detail, sizeof(fr->detail), "signed configuration refused: %s", err.msg);
            } else {
                ph_cnf_stub stub;
                ph_cnf_read(content, clen, &b->phone->cnf, &stub);
                fr->status = PH_F_VERIFIED;
                snprintf(fr->detail, sizeof(fr->detail), "signature verified, %zu bytes of configuration", clen);
                if (stub.encr_config) { /* the stub: the full one comes encrypted */
                    snprintf(b->cert_hash, sizeof b->cert_hash, "%s", stub.cert_hash);
                    free(data);
                    b->st = S_ENC;
                    run_step(b);
                    return;
                }
            }
        } else {
            ph_cnf_read(data, len, &b->phone->cnf, NULL);
            fr->status = PH_F_LOADED;
            snprintf(fr->detail, sizeof(fr->detail), "%zu bytes of configuration", len);
        }
        free(data);
        b->st = S_DONE;
        run_step(b);
        return;
    }
    b->pending = data;
    b->pending_len = len;
    b->pending_kind = (b->st == S_CTL_SEP || b->st == S_CTL) ? CK_PH_CTL : CK_PH_ITL;
    judge(b);
}

static void run_step(ph_boot *b)
{
    const char *mac = b->phone->mac;
    switch (b->st) {
    case S_CTL_SEP: snprintf(b->file, sizeof(b->file), "CTLSEP%s.tlv", mac); break;
    case S_CTL: snprintf(b->file, sizeof(b->file), "CTLFile.tlv"); break;
    case S_ITL_SEP: snprintf(b->file, sizeof(b->file), "ITLSEP%s.tlv", mac); break;
    case S_ITL: snprintf(b->file, sizeof(b->file), "ITLFile.tlv"); break;
    case S_CNF:
        if (b->cfg->no_config) {
            b->st = S_DONE;
            run_step(b);
            return;
        }
        /* a phone holding a trust list asks for the signed configuration */
        snprintf(b->file, sizeof(b->file), "SEP%s.cnf.xml%s", mac, b->phone->ctl || b->phone->itl ? ".sgn" : "");
        break;
    case S_ENC: snprintf(b->file, sizeof(b->file), "SEP%s.cnf.xml.enc.sgn", mac); break;
    case S_DONE: finish(b); return;
    }
    fetch(b);
}

static void kick(evutil_socket_t fd, short what, void *arg) { run_step(arg); }

ph_boot *ph_boot_start(struct event_base *base, ph_pool *pool, ph_phone *phone, const ph_boot_cfg *cfg,
                       const ck_netaddr *source, ph_boot_cb cb, void *arg, ck_err *err)
{
    if (!cfg->n_tftp || !phone->model)
        return ck_fail(err, CK_EINVAL, "a boot needs a TFTP server and a model"), NULL;
    ph_boot *b = calloc(1, sizeof(*b));
    if (!b) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    b->base = base;
    b->pool = pool;
    b->phone = phone;
    b->cfg = cfg;
    if (source) {
        b->source = *source;
        b->has_source = true;
    }
    b->cb = cb;
    b->arg = arg;
    b->st = S_CTL_SEP;
    b->r.itl.status = PH_F_SKIPPED;
    clock_gettime(CLOCK_MONOTONIC, &b->t0);
    /* start from the loop, so the callback never runs inside this call */
    struct timeval zero = {0, 0};
    if (event_base_once(base, -1, EV_TIMEOUT, kick, b, &zero) < 0) {
        free(b);
        ck_fail(err, CK_ENOMEM, "cannot schedule the boot");
        return NULL;
    }
    return b;
}
