/* Many phones booting at once on one event loop (docs/phones.md, "State directory").
 * The fleet's state is one file, DIR/fleet.json (every phone's MAC, model,
 * CallManager group, installed lists by SHA1 and TVS cache), plus each
 * distinct trust list once under DIR/lists/<sha1>.tlv: ten thousand phones
 * holding the same CTL cost one file, not ten thousand. */
#ifndef PHONE_FLEET_H
#define PHONE_FLEET_H

#include <jansson.h>

#include "boot.h"
#include "report.h"
#include "source.h"
#include "state.h"

#define PH_MAX_SERVERS 8

typedef struct ph_fleet {
    char dir[3072];
    ph_pool pool;
    ph_phone *phones;
    size_t n;
    char models[256];               /* the --models spec it was made with */
    ph_addr tftp[PH_MAX_SERVERS], tvs[PH_MAX_SERVERS];
    size_t n_tftp, n_tvs;
    /* where the phones speak from (source.h): phone i from the i-th address
     * of the range, or "none" (the kernel's choice); "" until chosen */
    char source_net[32];
    ck_netrange sources;
} ph_fleet;

typedef struct ph_fleet_opts {
    unsigned concurrency;           /* boots in flight at once */
    ph_tftp_params tftp_params;
    unsigned tvs_timeout_ms;
    unsigned tvs_deadline_ms;
    bool no_config;
    const char *only_model;         /* reboot only this model (NULL: all) */
    /* CAPF sessions the phones' configurations ask for (fleet_capf.c) */
    unsigned capf_concurrency;      /* sessions in flight at once */
    unsigned capf_timeout_ms;       /* per read */
    unsigned capf_deadline_ms;      /* per session (0: none) */
    const char *key_pool;           /* draw keys from this pool (NULL: the phones make them) */
    const char *auth_string;        /* what every user types (NULL: none) */
    const struct ph_auth_strings *auth_strings; /* or each phone's own (NULL: none) */
} ph_fleet_opts;

/* A new fleet of count phones: deterministic MACs (0CC0 + 8 hex digits of
 * the index + 1), models in the proportions of spec "7975:70,8865:25",
 * phone i in CallManager group i % groups. */
int ph_fleet_create(ph_fleet *f, const char *dir, unsigned count, const char *spec, ck_err *err);
/* Chooses where the phones speak from: spec "A.B.C.D/N" or "none"; NULL
 * keeps the fleet's earlier choice, or (a new fleet) takes
 * PH_SOURCE_NET_DEFAULT when its servers are all on loopback, else none.
 * Fails when the range has fewer addresses than the fleet has phones. */
int ph_fleet_set_sources(ph_fleet *f, const char *spec, ck_err *err);
/* Phone i's address into buf; NULL when the fleet binds none. */
const ck_netaddr *ph_fleet_source(const ph_fleet *f, size_t i, ck_netaddr *buf);
int ph_fleet_load(ph_fleet *f, const char *dir, ck_err *err);
int ph_fleet_save(ph_fleet *f, ck_err *err);
void ph_fleet_free(ph_fleet *f);
bool ph_fleet_exists(const char *dir);

/* DIR/phones/SEP<MAC>: the phone's LSC.pem (and MIC.pem, when it has one). */
void ph_fleet_phone_dir(const ph_fleet *f, const ph_phone *p, char *out, size_t n);

/* Boots every phone; fills s; when details is not NULL appends one JSON
 * object per phone to it. Returns -1 only when the loop could not run. */
int ph_fleet_run(ph_fleet *f, const ph_fleet_opts *o, ph_summary *s, json_t *details, ck_err *err);

/* The CAPF sessions of the phones marked in ran whose configuration asks
 * for one (fleet_capf.c); counts them in s and adds "capf" to slots[i]
 * (when not NULL). -1 (err) only when the sessions could not start. */
int ph_fleet_enrol(ph_fleet *f, const ph_fleet_opts *o, const bool *ran, ph_summary *s, json_t **slots, ck_err *err);

/* SEP<MAC> -> authentication string, from a CSV whose header names the
 * columns name and string (the `ctlkit device import` file; other columns
 * are ignored). */
typedef struct ph_auth_strings {
    struct ph_auth_entry {
        char name[16];
        char string[17];
    } *e;
    size_t n;
} ph_auth_strings;

int ph_auth_strings_load(const char *file, ph_auth_strings *a, ck_err *err);
const char *ph_auth_strings_find(const ph_auth_strings *a, const char *name);
void ph_auth_strings_free(ph_auth_strings *a);

#endif
