/* ctlkit-phone: a Cisco phone's trust behaviour, and fleets of them,
 * against real ctlkitd nodes (docs/phones.md).
 *
 * Exit codes (every subcommand):
 *   0  trust lists installed or unchanged (show/erase: done)
 *   1  a trust-list update was rejected ("Trust List Update Failed")
 *   2  usage error, state error, or a network failure (a TFTP server or
 *      every server did not answer) */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "boot.h"
#include "capf_client.h"
#include "capf_enrol.h"
#include "keypool.h"
#include "ctlkit/capf.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "fleet.h"
#include "models.h"
#include "report.h"
#include "state.h"
#include "tvs_client.h"

#define EX_OK 0
#define EX_REJECTED 1
#define EX_USAGE 2

static void usage(FILE *to)
{
    fputs("usage: ctlkit-phone COMMAND [ARGS]\n"
          "  boot  --state DIR --mac MAC --model MODEL --tftp ADDR:PORT [--tftp ...] [--tvs ADDR:PORT ...]\n"
          "        [--auth-string DIGITS] [--source ADDR] [--json]\n"
          "        one phone boots: CTL, ITL (SBD models), configuration file (decrypted with DIR/LSC.pem or\n"
          "        DIR/MIC.pem when it comes encrypted), then the CAPF session the configuration asks for\n"
          "        (by authentication string only with --auth-string: the user typing it)\n"
          "  show  --state DIR [--mac MAC] [--json]      the phone's Trust List screen\n"
          "  erase --state DIR [--mac MAC|--model M] [ctl|itl|all]\n"
          "        delete trust lists by hand on the handset (Settings > Security > Trust List)\n"
          "  fleet --state DIR --count N --models 7975:70,8865:25,7960:5 --tftp ADDR:PORT [--tftp ...]\n"
          "        [--tvs ADDR:PORT ...] [--concurrency C] [--source-net A.B.C.D/N|none] [--json]   boot a new fleet\n"
          "  fleet reset --state DIR [--model M] [--concurrency C] [--source-net ...] [--json]   reboot the same fleet\n"
          "        --source-net: phone i speaks from the i-th address of the range whose last number is not 0 or 255\n"
          "        (the daemons tell phones apart by address); default " PH_SOURCE_NET_DEFAULT " when every --tftp and\n"
          "        --tvs is on 127.x, else none (the kernel's address: a 127.x source reaches only loopback);\n"
          "        fleet reset keeps the fleet's choice\n"
          "        fleet, fleet reset: phones whose configuration asks for CAPF enrol (DIR/phones/SEP<MAC>/LSC.pem):\n"
          "        [--capf-concurrency N] (sessions at once, default 20) [--key-pool D] (keys from ctlkit-phone\n"
          "        keypool) [--auth-string DIGITS | --auth-strings FILE.csv] (what the users type; the CSV of\n"
          "        `ctlkit device import`, columns name and string)\n"
          "  capf  --state DIR --mac MAC --model MODEL --capf HOST:PORT --trust CAPF.pem [--auth-string DIGITS]\n"
          "        [--key FILE] [--source ADDR] [--json]   one CAPF session: install, delete or hand over the LSC as the server\n"
          "        asks (DIR/LSC.pem; DIR/MIC.pem, when present, is the phone's manufacturing certificate;\n"
          "        --key: answer the key request with this key, e.g. from a pool, instead of making one)\n"
          "  keypool --dir D --count N [--key rsa:2048|ec:256|...]   pre-made key pairs D/key-NNNNNN.pem (0600)\n"
          "  models                                      the model table\n"
          "boot, capf: --source ADDR speaks from that address (default: the kernel's choice)\n"
          "Transfer options (boot, fleet): --blksize N (default 1428), --timeout MS (per packet, default 1000),\n"
          "  --retries N (default 4), --tftp-deadline MS (per file, default 60000), --tvs-timeout MS (per read,\n"
          "  default 5000), --tvs-deadline MS (per query, default 10000), --no-config, --verbose (fleet: every phone)\n"
          "CAPF (boot, capf, fleet): --capf-deadline MS (a whole session, however slowly the server trickles,\n"
          "  default 120000)\n"
          "Exit: 0 installed or unchanged, 1 a trust-list update was rejected, 2 usage/state/network failure.\n",
          to);
}

typedef struct opts {
    const char *state, *mac, *model, *models;
    ph_addr tftp[PH_MAX_SERVERS], tvs[PH_MAX_SERVERS];
    size_t n_tftp, n_tvs;
    long long count, concurrency;
    bool json, no_config, verbose;
    ph_tftp_params tp;
    unsigned tvs_timeout_ms, tvs_deadline_ms;
    unsigned capf_deadline_ms; /* boot, capf, fleet: a whole CAPF session */
    ph_addr capf;
    bool have_capf;
    const char *trust, *auth_string;
    const char *key, *dir; /* capf: a key file; keypool: the kind of key, and the pool's folder */
    const char *key_pool, *auth_strings; /* fleet */
    long long capf_concurrency;
    const char *source_net; /* fleet: --source-net (NULL: the fleet's choice) */
    ck_netaddr source;      /* boot, capf: --source */
    bool have_source;
    int argi; /* first positional argument */
} opts;

enum { O_STATE = 256, O_MAC, O_MODEL, O_MODELS, O_TFTP, O_TVS, O_COUNT, O_CONC, O_JSON, O_BLK, O_TIMEOUT, O_RETRIES,
       O_TVS_TIMEOUT, O_NOCONFIG, O_VERBOSE, O_CAPF, O_TRUST, O_AUTH_STRING, O_KEY, O_DIR, O_KEY_POOL,
       O_AUTH_STRINGS, O_CAPF_CONC, O_TFTP_DEADLINE, O_TVS_DEADLINE, O_CAPF_DEADLINE, O_SOURCE, O_SOURCE_NET, O_HELP };

static int num(const char *name, const char *s, long long min, long long max, long long *out)
{
    if (!ck_parse_ll(s, min, max, out)) {
        fprintf(stderr, "ctlkit-phone: %s must be a number from %lld to %lld\n", name, min, max);
        return -1;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, bool need_state, opts *o)
{
    static const struct option lo[] = {
        {"state", required_argument, NULL, O_STATE},     {"mac", required_argument, NULL, O_MAC},
        {"model", required_argument, NULL, O_MODEL},     {"models", required_argument, NULL, O_MODELS},
        {"tftp", required_argument, NULL, O_TFTP},       {"tvs", required_argument, NULL, O_TVS},
        {"count", required_argument, NULL, O_COUNT},     {"concurrency", required_argument, NULL, O_CONC},
        {"json", no_argument, NULL, O_JSON},             {"blksize", required_argument, NULL, O_BLK},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"retries", required_argument, NULL, O_RETRIES},
        {"tvs-timeout", required_argument, NULL, O_TVS_TIMEOUT},
        {"tftp-deadline", required_argument, NULL, O_TFTP_DEADLINE},
        {"tvs-deadline", required_argument, NULL, O_TVS_DEADLINE},
        {"capf-deadline", required_argument, NULL, O_CAPF_DEADLINE},
        {"no-config", no_argument, NULL, O_NOCONFIG},    {"verbose", no_argument, NULL, O_VERBOSE},
        {"capf", required_argument, NULL, O_CAPF},       {"trust", required_argument, NULL, O_TRUST},
        {"auth-string", required_argument, NULL, O_AUTH_STRING},
        {"key", required_argument, NULL, O_KEY},         {"dir", required_argument, NULL, O_DIR},
        {"key-pool", required_argument, NULL, O_KEY_POOL},
        {"auth-strings", required_argument, NULL, O_AUTH_STRINGS},
        {"capf-concurrency", required_argument, NULL, O_CAPF_CONC},
        {"source", required_argument, NULL, O_SOURCE},   {"source-net", required_argument, NULL, O_SOURCE_NET},
        {"help", no_argument, NULL, O_HELP},             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    /* Deadlines per exchange: a server that answers just before each
     * per-packet timeout must not keep a phone forever (docs/phones.md). */
    o->tp = (ph_tftp_params){.blksize = 1428, .timeout_ms = 1000, .retries = 4, .deadline_ms = 60000,
                             .max_size = CK_TL_MAX_PARSE};
    o->tvs_timeout_ms = 5000;
    o->tvs_deadline_ms = 10000;
    o->capf_deadline_ms = 120000; /* real phones take seconds to make a key, not minutes */
    o->concurrency = 200;
    o->capf_concurrency = 20;
    optind = 1;
    int c;
    long long v;
    ck_err err = {0};
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_STATE: o->state = optarg; break;
        case O_MAC: o->mac = optarg; break;
        case O_MODEL: o->model = optarg; break;
        case O_MODELS: o->models = optarg; break;
        case O_TFTP:
        case O_TVS: {
            ph_addr *a = c == O_TFTP ? o->tftp : o->tvs;
            size_t *n = c == O_TFTP ? &o->n_tftp : &o->n_tvs;
            if (*n == PH_MAX_SERVERS) {
                fprintf(stderr, "ctlkit-phone: at most %d servers of a kind\n", PH_MAX_SERVERS);
                return -1;
            }
            if (ph_addr_parse(optarg, &a[*n], &err) < 0) {
                fprintf(stderr, "ctlkit-phone: %s: %s\n", c == O_TFTP ? "--tftp" : "--tvs", err.msg);
                return -1;
            }
            (*n)++;
            break;
        }
        case O_COUNT:
            if (num("--count", optarg, 1, 1000000, &o->count) < 0)
                return -1;
            break;
        case O_CONC:
            if (num("--concurrency", optarg, 1, 100000, &o->concurrency) < 0)
                return -1;
            break;
        case O_JSON: o->json = true; break;
        case O_BLK:
            if (num("--blksize", optarg, 0, 65464, &v) < 0 || (v && v < 8))
                return v && v < 8 ? (fprintf(stderr, "ctlkit-phone: --blksize must be 0 or 8 to 65464\n"), -1) : -1;
            o->tp.blksize = (unsigned)v;
            break;
        case O_TIMEOUT:
            if (num("--timeout", optarg, 10, 60000, &v) < 0)
                return -1;
            o->tp.timeout_ms = (unsigned)v;
            break;
        case O_RETRIES:
            if (num("--retries", optarg, 0, 100, &v) < 0)
                return -1;
            o->tp.retries = (unsigned)v;
            break;
        case O_TVS_TIMEOUT:
            if (num("--tvs-timeout", optarg, 10, 600000, &v) < 0)
                return -1;
            o->tvs_timeout_ms = (unsigned)v;
            break;
        case O_TFTP_DEADLINE:
            if (num("--tftp-deadline", optarg, 10, 3600000, &v) < 0)
                return -1;
            o->tp.deadline_ms = (unsigned)v;
            break;
        case O_TVS_DEADLINE:
            if (num("--tvs-deadline", optarg, 10, 600000, &v) < 0)
                return -1;
            o->tvs_deadline_ms = (unsigned)v;
            break;
        case O_CAPF_DEADLINE:
            if (num("--capf-deadline", optarg, 10, 3600000, &v) < 0)
                return -1;
            o->capf_deadline_ms = (unsigned)v;
            break;
        case O_NOCONFIG: o->no_config = true; break;
        case O_CAPF:
            if (ph_addr_parse(optarg, &o->capf, &err) < 0) {
                fprintf(stderr, "ctlkit-phone: --capf: %s\n", err.msg);
                return -1;
            }
            o->have_capf = true;
            break;
        case O_TRUST: o->trust = optarg; break;
        case O_AUTH_STRING: o->auth_string = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_DIR: o->dir = optarg; break;
        case O_KEY_POOL: o->key_pool = optarg; break;
        case O_AUTH_STRINGS: o->auth_strings = optarg; break;
        case O_CAPF_CONC:
            if (num("--capf-concurrency", optarg, 1, 1000, &o->capf_concurrency) < 0)
                return -1;
            break;
        case O_SOURCE:
            /* port 0 stands for "none given": the kernel picks each socket's port */
            if (ck_netaddr_parse_listen(optarg, 0, &o->source, &err) < 0 ||
                ck_netaddr_port((const struct sockaddr *)&o->source.ss) != 0) {
                fprintf(stderr, "ctlkit-phone: --source: %s\n",
                        err.code ? err.msg : "an address without a port (each connection gets its own)");
                return -1;
            }
            o->have_source = true;
            break;
        case O_SOURCE_NET: o->source_net = optarg; break;
        case O_VERBOSE: o->verbose = true; break;
        case O_HELP:
        case 'h': usage(stdout); return 1;
        default: return -1;
        }
    }
    o->argi = optind;
    if (need_state && !o->state) {
        fprintf(stderr, "ctlkit-phone: --state DIR is required\n");
        return -1;
    }
    return 0;
}

static void print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

/* ---- boot ---- */

typedef struct one_ctx {
    ph_boot_report r;
    bool done;
} one_ctx;

static void on_one(void *arg, ph_phone *p, const ph_boot_report *r)
{
    one_ctx *c = arg;
    c->r = *r;
    c->done = true;
}

static int capf_report(const char *device, const ph_capf_result *r, bool stored, json_t **j);

static int cmd_boot(opts *o)
{
    ck_err err;
    if (!o->mac || !o->model || !o->n_tftp) {
        fprintf(stderr, "ctlkit-phone boot: --mac, --model and --tftp are required\n");
        return EX_USAGE;
    }
    ph_phone p;
    memset(&p, 0, sizeof(p));
    char mac[13];
    const ph_model *m = ph_model_find(o->model);
    if (ph_mac_parse(o->mac, mac, &err) < 0 || !m) {
        fprintf(stderr, "ctlkit-phone boot: %s\n", m ? err.msg : "unknown model (see ctlkit-phone models)");
        return EX_USAGE;
    }
    ph_pool pool = {0};
    int rc = EX_USAGE;
    struct event_base *base = NULL;
    SSL_CTX *ssl = NULL;
    if (ph_state_load(o->state, &pool, &p, &err) < 0) {
        fprintf(stderr, "ctlkit-phone boot: %s\n", err.msg);
        goto out;
    }
    if ((p.mac[0] && strcmp(p.mac, mac) != 0) || (p.model && p.model != m)) {
        fprintf(stderr, "ctlkit-phone boot: %s holds the state of SEP%s (%s); use another --state\n", o->state, p.mac,
                p.model ? p.model->name : "?");
        goto out;
    }
    memcpy(p.mac, mac, sizeof(mac));
    p.model = m;
    if (ph_phone_load_certs(o->state, &p, &err) < 0) {
        fprintf(stderr, "ctlkit-phone boot: %s\n", err.msg);
        goto out;
    }
    ck_ph_cache_expire(&p.cache, (int64_t)time(NULL));
    if (!(base = event_base_new()) || !(ssl = ph_tvs_ssl_ctx(&err))) {
        fprintf(stderr, "ctlkit-phone boot: cannot set up the event loop or TLS\n");
        goto out;
    }
    ph_boot_cfg cfg = {.tftp = o->tftp, .n_tftp = o->n_tftp, .tvs = o->tvs, .n_tvs = o->n_tvs, .tftp_params = o->tp,
                       .tvs_timeout_ms = o->tvs_timeout_ms, .tvs_deadline_ms = o->tvs_deadline_ms, .ssl = ssl,
                       .no_config = o->no_config};
    one_ctx c = {0};
    const ck_netaddr *source = o->have_source ? &o->source : NULL;
    if (!ph_boot_start(base, &pool, &p, &cfg, source, on_one, &c, &err)) {
        fprintf(stderr, "ctlkit-phone boot: %s\n", err.msg);
        goto out;
    }
    event_base_dispatch(base);
    if (!c.done) {
        fprintf(stderr, "ctlkit-phone boot: the event loop ended before the boot did\n");
        goto out;
    }
    /* The configuration read at this boot (or, when none came, the last
     * one) may ask for a CAPF operation. */
    ph_enrol what = PH_ENROL_NONE;
    ph_capf_result cr = {0};
    bool stored = false;
    ck_err capf_err = {0};
    int capf_rc = c.r.outcome == PH_OUT_FAILED || o->no_config
                      ? 0
                      : ph_capf_enrol(o->state, &p, source, o->auth_string, NULL, 180000, o->capf_deadline_ms, &what,
                                      &cr, &stored, &capf_err);
    if (ph_state_save(o->state, &p, &err) < 0) {
        fprintf(stderr, "ctlkit-phone boot: cannot save the phone state: %s\n", err.msg);
        X509_free(cr.new_lsc);
        EVP_PKEY_free(cr.new_key);
        goto out;
    }
    char device[16];
    snprintf(device, sizeof device, "SEP%s", p.mac);
    json_t *capf = NULL;
    if (capf_rc < 0)
        capf = json_pack("{s:s, s:s}", "result", "failed", "error", capf_err.msg);
    else if (what == PH_ENROL_NEEDS_STRING)
        capf = json_pack("{s:s}", "result", "waiting for the authentication string");
    if (o->json) {
        json_t *j = ph_report_boot_json(&p, &c.r);
        if (capf_rc == 0 && what == PH_ENROL_RAN)
            capf_report(device, &cr, stored, &capf);
        json_object_set_new(j, "capf", capf ? capf : json_null());
        print_json(j);
    } else {
        ph_report_boot_text(stdout, &p, &c.r);
        json_decref(capf);
        if (capf_rc < 0)
            printf("%s: CAPF session failed: %s\n", device, capf_err.msg);
        else if (what == PH_ENROL_NEEDS_STRING)
            printf("%s: CAPF: the configuration asks for the authentication string (--auth-string)\n", device);
        else if (what == PH_ENROL_RAN)
            capf_report(device, &cr, stored, NULL);
    }
    X509_free(cr.new_lsc);
    EVP_PKEY_free(cr.new_key);
    rc = c.r.outcome == PH_OUT_FAILED || capf_rc < 0 ? EX_USAGE : c.r.outcome == PH_OUT_REJECTED ? EX_REJECTED : EX_OK;
out:
    ph_phone_clear(&pool, &p);
    ph_pool_free(&pool);
    SSL_CTX_free(ssl);
    if (base)
        event_base_free(base);
    return rc;
}

/* ---- show / erase ---- */

/* A one-phone state directory (not a fleet), loaded into pool and p; on
 * failure the error goes to stderr under cmd's name. */
/* The phones `show` and `erase` act on, loaded the same way for both: a
 * fleet's, of which --mac and --model select some, or the one phone of a
 * single-phone state folder (always selected). */
typedef struct phones {
    const char *state; /* the --state folder */
    bool fleet;
    ph_fleet f;   /* when fleet */
    ph_pool pool; /* otherwise: the one phone */
    ph_phone one;
    char mac[13]; /* --mac, upper-case hex; "" for any */
} phones;

static void phones_free(phones *ps)
{
    if (ps->fleet) {
        ph_fleet_free(&ps->f);
    } else {
        ph_phone_clear(&ps->pool, &ps->one);
        ph_pool_free(&ps->pool);
    }
}

/* -1 (said on stderr, nothing to free) when --mac is no MAC address or the
 * state cannot be loaded. */
static int phones_load(const char *cmd, const opts *o, phones *ps)
{
    ck_err err;
    memset(ps, 0, sizeof *ps);
    ps->state = o->state;
    if (o->mac && ph_mac_parse(o->mac, ps->mac, &err) < 0) {
        fprintf(stderr, "ctlkit-phone %s: %s\n", cmd, err.msg);
        return -1;
    }
    ps->fleet = ph_fleet_exists(o->state);
    int rc = ps->fleet ? ph_fleet_load(&ps->f, o->state, &err) : ph_state_load(o->state, &ps->pool, &ps->one, &err);
    if (rc < 0) {
        fprintf(stderr, "ctlkit-phone %s: %s\n", cmd, err.msg);
        if (!ps->fleet) /* a fleet that fails to load frees its part itself */
            phones_free(ps);
        return -1;
    }
    return 0;
}

static ph_pool *phones_pool(phones *ps) { return ps->fleet ? &ps->f.pool : &ps->pool; }

/* The selected phones one after the other (*i starts at 0); NULL after the
 * last. */
static ph_phone *phones_next(const opts *o, phones *ps, size_t *i)
{
    if (!ps->fleet)
        return (*i)++ == 0 ? &ps->one : NULL;
    while (*i < ps->f.n) {
        ph_phone *p = &ps->f.phones[(*i)++];
        if ((!ps->mac[0] || strcmp(ps->mac, p->mac) == 0) && (!o->model || p->model == ph_model_find(o->model)))
            return p;
    }
    return NULL;
}

static int phones_save(const char *cmd, phones *ps)
{
    ck_err err;
    int rc = ps->fleet ? ph_fleet_save(&ps->f, &err) : ph_state_save(ps->state, &ps->one, &err);
    if (rc < 0)
        fprintf(stderr, "ctlkit-phone %s: %s\n", cmd, err.msg);
    return rc;
}

/* The handset's manual deletion (Settings > Security > Trust List). */
static void erase_lists(ph_pool *pool, ph_phone *p, bool ctl, bool itl)
{
    if (ctl)
        ph_phone_set(pool, p, CK_PH_CTL, NULL);
    if (itl)
        ph_phone_set(pool, p, CK_PH_ITL, NULL);
}

static int cmd_show(opts *o)
{
    phones ps;
    if (phones_load("show", o, &ps) < 0)
        return EX_USAGE;
    json_t *arr = o->json && ps.fleet ? json_array() : NULL;
    size_t shown = 0;
    for (size_t i = 0; true; shown++) {
        ph_phone *p = phones_next(o, &ps, &i);
        if (!p)
            break;
        if (arr)
            json_array_append_new(arr, ph_show_json(p));
        else if (o->json) {
            json_t *j = ph_show_json(p);
            if (!ps.fleet) /* a single phone's state folder may hold its LSC */
                json_object_set_new(j, "lsc", ph_lsc_json(o->state));
            print_json(j);
        } else if (ps.mac[0] || !ps.fleet) {
            ph_show_text(stdout, p);
            if (!ps.fleet)
                ph_lsc_text(stdout, o->state);
        }
        else /* the whole fleet: one line a phone */
            printf("SEP%s %-6s CTL %s ITL %s\n", p->mac, p->model->name,
                   p->ctl ? ph_list_sum(p->ctl, p->model->checksum) : "-",
                   p->itl ? ph_list_sum(p->itl, p->model->checksum) : "-");
    }
    if (arr)
        print_json(arr);
    int rc = EX_OK;
    if (!shown && ps.mac[0]) {
        fprintf(stderr, "ctlkit-phone show: no phone SEP%s in this fleet\n", ps.mac);
        rc = EX_USAGE;
    }
    phones_free(&ps);
    return rc;
}

static int erase_what(opts *o, int argc, char **argv, bool *ctl, bool *itl)
{
    const char *w = o->argi < argc ? argv[o->argi] : "all";
    if (o->argi + 1 < argc) {
        fprintf(stderr, "ctlkit-phone erase: one of ctl, itl, all\n");
        return -1;
    }
    *ctl = strcmp(w, "ctl") == 0 || strcmp(w, "all") == 0;
    *itl = strcmp(w, "itl") == 0 || strcmp(w, "all") == 0;
    if (!*ctl && !*itl) {
        fprintf(stderr, "ctlkit-phone erase: '%s': say ctl, itl or all\n", w);
        return -1;
    }
    return 0;
}

static int cmd_erase(opts *o, int argc, char **argv)
{
    bool ctl, itl;
    if (erase_what(o, argc, argv, &ctl, &itl) < 0)
        return EX_USAGE;
    if (o->model && !ph_model_find(o->model)) {
        fprintf(stderr, "ctlkit-phone erase: unknown model %s\n", o->model);
        return EX_USAGE;
    }
    phones ps;
    if (phones_load("erase", o, &ps) < 0)
        return EX_USAGE;
    size_t n = 0;
    for (size_t i = 0; true; n++) {
        ph_phone *p = phones_next(o, &ps, &i);
        if (!p)
            break;
        erase_lists(phones_pool(&ps), p, ctl, itl);
    }
    int rc = phones_save("erase", &ps) < 0 ? EX_USAGE : EX_OK;
    const char *what_ctl = ctl ? "CTL" : "", *and = ctl && itl ? " and " : "", *what_itl = itl ? "ITL" : "";
    if (rc == EX_OK && ps.fleet)
        printf("Erased %s%s%s on %zu phone(s)\n", what_ctl, and, what_itl, n);
    else if (rc == EX_OK)
        printf("Erased %s%s%s\n", what_ctl, and, what_itl);
    phones_free(&ps);
    return rc;
}

/* ---- fleet ---- */

static bool auth_string_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 4 && n <= 16 && strspn(s, "0123456789") == n;
}

static int cmd_fleet(opts *o, bool reset)
{
    ck_err err;
    ph_fleet f;
    if (reset) {
        if (ph_fleet_load(&f, o->state, &err) < 0) {
            fprintf(stderr, "ctlkit-phone fleet reset: %s\n", err.msg);
            return EX_USAGE;
        }
        /* a reset may move the fleet to other servers (a new group layout) */
        if (o->n_tftp) {
            memcpy(f.tftp, o->tftp, sizeof(o->tftp));
            f.n_tftp = o->n_tftp;
        }
        if (o->n_tvs) {
            memcpy(f.tvs, o->tvs, sizeof(o->tvs));
            f.n_tvs = o->n_tvs;
        }
    } else {
        if (!o->count || !o->models || !o->n_tftp) {
            fprintf(stderr, "ctlkit-phone fleet: --count, --models and --tftp are required\n");
            return EX_USAGE;
        }
        if (ph_fleet_exists(o->state)) {
            fprintf(stderr, "ctlkit-phone fleet: %s already holds a fleet: reboot it with `ctlkit-phone fleet reset "
                            "--state %s`, or remove the directory\n", o->state, o->state);
            return EX_USAGE;
        }
        if (ph_fleet_create(&f, o->state, (unsigned)o->count, o->models, &err) < 0) {
            fprintf(stderr, "ctlkit-phone fleet: %s\n", err.msg);
            return EX_USAGE;
        }
        memcpy(f.tftp, o->tftp, sizeof(o->tftp));
        f.n_tftp = o->n_tftp;
        memcpy(f.tvs, o->tvs, sizeof(o->tvs));
        f.n_tvs = o->n_tvs;
    }
    if (o->model && !ph_model_find(o->model)) {
        fprintf(stderr, "ctlkit-phone fleet: unknown model %s\n", o->model);
        ph_fleet_free(&f);
        return EX_USAGE;
    }
    if (ph_fleet_set_sources(&f, o->source_net, &err) < 0) {
        fprintf(stderr, "ctlkit-phone fleet: %s\n", err.msg);
        ph_fleet_free(&f);
        return EX_USAGE;
    }
    /* Each phone in flight holds one socket: raise the open-file limit as far
     * as allowed, and boot no more phones at once than it leaves room for,
     * rather than let them fail for want of a descriptor. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        long long room = rl.rlim_cur == RLIM_INFINITY ? o->concurrency : (long long)rl.rlim_cur - 64;
        if (room < 1)
            room = 1;
        if (o->concurrency > room) {
            fprintf(stderr, "ctlkit-phone fleet: --concurrency lowered from %lld to %lld (open-file limit %llu)\n",
                    o->concurrency, room, (unsigned long long)rl.rlim_cur);
            o->concurrency = room;
        }
    }
    ph_auth_strings strings = {0};
    ph_fleet_opts fo = {.concurrency = (unsigned)o->concurrency, .tftp_params = o->tp,
                        .tvs_timeout_ms = o->tvs_timeout_ms, .tvs_deadline_ms = o->tvs_deadline_ms,
                        .no_config = o->no_config, .only_model = o->model,
                        .capf_concurrency = (unsigned)o->capf_concurrency, .capf_timeout_ms = 180000,
                        .capf_deadline_ms = o->capf_deadline_ms,
                        .key_pool = o->key_pool, .auth_string = o->auth_string};
    ph_summary *s = calloc(1, sizeof(*s));
    json_t *details = (o->json || o->verbose) ? json_array() : NULL;
    int rc = EX_USAGE;
    if (!s) {
        fprintf(stderr, "ctlkit-phone fleet: out of memory\n");
        goto out;
    }
    if (o->auth_string && o->auth_strings) {
        fprintf(stderr, "ctlkit-phone fleet: --auth-string or --auth-strings, not both\n");
        goto out;
    }
    if (o->auth_string && !auth_string_ok(o->auth_string)) {
        fprintf(stderr, "ctlkit-phone fleet: --auth-string must be 4 to 16 digits\n");
        goto out;
    }
    if (o->auth_strings) {
        if (ph_auth_strings_load(o->auth_strings, &strings, &err) < 0) {
            fprintf(stderr, "ctlkit-phone fleet: --auth-strings: %s\n", err.msg);
            goto out;
        }
        fo.auth_strings = &strings;
    }
    signal(SIGPIPE, SIG_IGN); /* a CAPF server that hung up is a session to report, not a silent death */
    if (ph_fleet_run(&f, &fo, s, details, &err) < 0 || ph_fleet_save(&f, &err) < 0) {
        fprintf(stderr, "ctlkit-phone fleet: %s\n", err.msg);
        goto out;
    }
    if (o->json) {
        json_t *root = json_pack("{s:o, s:O}", "summary", ph_summary_json(s), "phones", details);
        print_json(root);
    } else {
        if (o->verbose) {
            size_t i;
            json_t *d;
            json_array_foreach(details, i, d) /* one line a phone, from the same facts as --json */
                printf("SEP%s %-6s %-9s %s\n", json_string_value(json_object_get(d, "mac")),
                       json_string_value(json_object_get(d, "model")), json_string_value(json_object_get(d, "outcome")),
                       json_string_value(json_object_get(d, "reason")) ? json_string_value(json_object_get(d, "reason")) : "");
        }
        ph_summary_text(stdout, s);
    }
    unsigned rej = 0, fail = 0;
    for (unsigned i = 0; i < PH_MAX_MODELS; i++) {
        rej += s->by[i][PH_OUT_REJECTED];
        fail += s->by[i][PH_OUT_FAILED];
    }
    fail += s->capf_failed;
    rej += s->lsc_refused;
    rc = fail ? EX_USAGE : rej ? EX_REJECTED : EX_OK;
out:
    ph_auth_strings_free(&strings);
    json_decref(details);
    free(s);
    ph_fleet_free(&f);
    return rc;
}

/* ---- capf ---- */

/* What the session did, in a line; the exit code (0 done or nothing to
 * do, 1 refused by the server). */
static int capf_report(const char *device, const ph_capf_result *r, bool stored, json_t **j)
{
    const char *what, *reason_name = ck_capf_reason_name((uint8_t)r->end_reason);
    int rc = EX_OK;
    if (stored)
        what = "LSC installed";
    else if (r->deleted && r->end_reason == CK_CAPF_REASON_UPDATE)
        what = "LSC deleted";
    else if (strcmp(r->operation, "troubleshoot") == 0)
        what = "certificate handed over for troubleshooting";
    else if (strcmp(r->operation, "none") == 0 && r->end_reason == CK_CAPF_REASON_NO_ACTION)
        what = "no operation pending";
    else if (r->end_reason == CK_CAPF_REASON_UNKNOWN_DEVICE)
        what = "the server does not know this phone", rc = EX_REJECTED;
    else
        what = "refused by the server", rc = EX_REJECTED;
    if (j)
        *j = json_pack("{s:s, s:s, s:i, s:s, s:i, s:s}", "device", device, "operation", r->operation, "session",
                       (int)r->session, "result", what, "end_reason", r->end_reason, "end_reason_name", reason_name);
    else
        printf("%s: CAPF session %u: %s (%s; END_SESSION %d %s)\n", device, r->session, what, r->operation,
               r->end_reason, reason_name);
    return rc;
}

static int cmd_capf(opts *o)
{
    ck_err err = {0};
    if (!o->mac || !o->model || !o->have_capf || !o->trust) {
        fprintf(stderr, "ctlkit-phone capf: --mac, --model, --capf and --trust are required\n");
        return EX_USAGE;
    }
    char mac[13], device[16];
    const ph_model *m = ph_model_find(o->model);
    if (ph_mac_parse(o->mac, mac, &err) < 0 || !m) {
        fprintf(stderr, "ctlkit-phone capf: %s\n", m ? err.msg : "unknown model (see ctlkit-phone models)");
        return EX_USAGE;
    }
    snprintf(device, sizeof device, "SEP%s", mac);
    signal(SIGPIPE, SIG_IGN); /* a server that hung up is an error to report, not a silent death */
    if (o->auth_string && !auth_string_ok(o->auth_string)) {
        fprintf(stderr, "ctlkit-phone capf: --auth-string must be 4 to 16 digits\n");
        return EX_USAGE;
    }
    ph_pool pool = {0};
    ph_phone p;
    memset(&p, 0, sizeof p);
    ph_capf_cfg cfg = {.model = m, .device = device, .server = &o->capf, .source = o->have_source ? &o->source : NULL,
                       .trust_pem = o->trust,
                       .auth_string = o->auth_string, .timeout_ms = 180000,
                       .deadline_ms = o->capf_deadline_ms};
    ph_capf_result r = {0};
    int rc = EX_USAGE;
    if (ck_mkdirs(o->state, 0700, &err) < 0 || ph_state_load(o->state, &pool, &p, &err) < 0 ||
        ph_cert_load(o->state, PH_LSC_FILE, &cfg.lsc, &cfg.lsc_key, &err) < 0 ||
        ph_cert_load(o->state, PH_MIC_FILE, &cfg.mic, &cfg.mic_key, &err) < 0) {
        fprintf(stderr, "ctlkit-phone capf: %s\n", err.msg);
        goto out;
    }
    if (o->key && !(cfg.given_key = ph_keypool_load(o->key, &err))) {
        fprintf(stderr, "ctlkit-phone capf: --key: %s\n", err.msg);
        goto out;
    }
    if ((p.mac[0] && strcmp(p.mac, mac) != 0) || (p.model && p.model != m)) {
        fprintf(stderr, "ctlkit-phone capf: %s holds the state of SEP%s (%s); use another --state\n", o->state, p.mac,
                p.model ? p.model->name : "?");
        goto out;
    }
    memcpy(p.mac, mac, sizeof mac);
    p.model = m;
    if (ph_capf_run(&cfg, &r, &err) < 0) {
        fprintf(stderr, "ctlkit-phone capf: %s: %s\n", device, err.msg);
        goto out;
    }
    bool stored = r.new_lsc && r.end_reason == CK_CAPF_REASON_UPDATE;
    if ((stored && ph_lsc_save(o->state, r.new_key, r.new_lsc, &err) < 0) ||
        (r.deleted && r.end_reason == CK_CAPF_REASON_UPDATE && ph_lsc_remove(o->state, &err) < 0) ||
        ph_state_save(o->state, &p, &err) < 0) {
        fprintf(stderr, "ctlkit-phone capf: cannot save the phone state: %s\n", err.msg);
        goto out;
    }
    json_t *j = NULL;
    rc = capf_report(device, &r, stored, o->json ? &j : NULL);
    if (j) {
        json_object_set_new(j, "lsc", ph_lsc_json(o->state));
        print_json(j);
    } else if (stored) {
        ph_lsc_text(stdout, o->state);
    }
out:
    X509_free(cfg.lsc);
    X509_free(cfg.mic);
    EVP_PKEY_free(cfg.lsc_key);
    EVP_PKEY_free(cfg.mic_key);
    EVP_PKEY_free(cfg.given_key);
    X509_free(r.new_lsc);
    EVP_PKEY_free(r.new_key);
    ph_phone_clear(&pool, &p);
    ph_pool_free(&pool);
    return rc;
}

/* ---- keypool ---- */

static int cmd_keypool(opts *o)
{
    ck_err err = {0};
    if (!o->dir || !o->count) {
        fprintf(stderr, "ctlkit-phone keypool: --dir and --count are required\n");
        return EX_USAGE;
    }
    ph_keyspec k;
    if (ph_keyspec_parse(o->key ? o->key : "rsa:2048", &k, &err) < 0) {
        fprintf(stderr, "ctlkit-phone keypool: --key: %s\n", err.msg);
        return EX_USAGE;
    }
    unsigned long made = 0;
    char name[16];
    if (ph_keypool_fill(o->dir, (unsigned long)o->count, &k, &made, &err) < 0) {
        fprintf(stderr, "ctlkit-phone keypool: %s (%lu new keys written)\n", err.msg, made);
        return EX_USAGE;
    }
    printf("%s: %lld %s keys (%lu new)\n", o->dir, o->count, ph_keyspec_name(&k, name, sizeof name), made);
    return EX_OK;
}

static int cmd_models(void)
{
    printf("%-7s %-27s %-5s %s\n", "model", "name", "SBD", "CTL checksum shown");
    for (unsigned i = 0; ph_model_at(i); i++) {
        const ph_model *m = ph_model_at(i);
        printf("%-7s %-27s %-5s %s\n", m->name, m->label, m->sbd ? "yes" : "no", ph_checksum_name(m->checksum));
    }
    return EX_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : EX_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "models") == 0)
        return cmd_models();
    bool reset = strcmp(cmd, "fleet") == 0 && argc > 2 && strcmp(argv[2], "reset") == 0;
    int skip = reset ? 2 : 1;
    opts o;
    bool keypool = strcmp(cmd, "keypool") == 0;
    int pr = parse_opts(argc - skip, argv + skip, !keypool, &o);
    if (pr != 0) {
        if (pr < 0)
            usage(stderr);
        return pr < 0 ? EX_USAGE : EX_OK;
    }
    if (strcmp(cmd, "boot") == 0)
        return cmd_boot(&o);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(&o);
    if (strcmp(cmd, "capf") == 0)
        return cmd_capf(&o);
    if (keypool)
        return cmd_keypool(&o);
    if (strcmp(cmd, "erase") == 0)
        return cmd_erase(&o, argc - skip, argv + skip);
    if (strcmp(cmd, "fleet") == 0)
        return cmd_fleet(&o, reset);
    fprintf(stderr, "ctlkit-phone: unknown command '%s'\n", cmd);
    usage(stderr);
    return EX_USAGE;
}
