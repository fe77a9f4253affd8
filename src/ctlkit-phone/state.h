/* What a phone keeps between boots: its installed CTL and ITL and its TVS
 * answer cache, on disk (docs/phones.md, "State directory").
 *
 * Installed lists are interned in a pool: ten thousand phones holding the
 * same CTL share one copy of its bytes and one parse. */
#ifndef PHONE_STATE_H
#define PHONE_STATE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/phone.h"
#include "ctlkit/trustlist.h"
#include "cnf.h"
#include "models.h"

typedef struct ph_list {
    unsigned refs;
    uint8_t *data;
    size_t len;
    ck_tl_file *parsed;      /* owned */
    uint8_t md5[16], sha1[20];
    char md5hex[33], sha1hex[41];
    struct ph_list *next;
} ph_list;

typedef struct ph_pool {
    ph_list *head;
} ph_pool;

/* Returns the pooled list for these bytes with one more reference. parsed
 * (may be NULL) is taken over: kept if the bytes are new, freed otherwise;
 * when NULL the bytes are parsed here. data is copied. */
ph_list *ph_pool_intern(ph_pool *pool, const uint8_t *data, size_t len, ck_tl_file *parsed, ck_err *err);
void ph_pool_unref(ph_pool *pool, ph_list *l);
void ph_pool_free(ph_pool *pool);
/* The checksum a model's screen shows, as hex (static storage of l). */
const char *ph_list_sum(const ph_list *l, ph_checksum c);

typedef struct ph_phone {
    char mac[13];            /* 12 upper-case hex digits */
    const ph_model *model;
    ph_list *ctl, *itl;      /* NULL: none installed */
    ck_ph_cache cache;
    unsigned group;          /* fleet: CallManager group index */
    ph_cnf cnf;              /* what the last configuration said (phone.json "config") */
    /* The phone's certificates and keys that open an encrypted
     * configuration; loaded by the caller from the state folder, freed
     * by ph_phone_clear. */
    X509 *lsc, *mic;
    EVP_PKEY *lsc_key, *mic_key;
} ph_phone;

/* Checks and upper-cases a MAC (12 hex digits, ':' '-' '.' separators ok). */
int ph_mac_parse(const char *s, char out[13], ck_err *err);

/* Replaces the phone's CTL or ITL (l may be NULL: erase), dropping the old. */
void ph_phone_set(ph_pool *pool, ph_phone *p, ck_ph_kind kind, ph_list *l);
void ph_phone_clear(ph_pool *pool, ph_phone *p);

/* One phone, in DIR: phone.json (MAC, model, TVS cache), CTLFile.tlv,
 * ITLFile.tlv. Loading a directory that does not exist yet gives an empty
 * phone (the caller sets MAC/model). want_mac/want_model may be NULL. */
int ph_state_load(const char *dir, ph_pool *pool, ph_phone *p, ck_err *err);
int ph_state_save(const char *dir, const ph_phone *p, ck_err *err);

/* JSON pieces shared with the fleet file. */
json_t *ph_cnf_to_json(const ph_cnf *c);
void ph_cnf_from_json(json_t *o, ph_cnf *c);
json_t *ph_cache_to_json(const ck_ph_cache *c);
int ph_cache_from_json(json_t *a, ck_ph_cache *c, ck_err *err);

/* Loads DIR/lists/<sha1>.tlv through the pool (fleet state). */
ph_list *ph_pool_load_hash(ph_pool *pool, const char *dir, const char *sha1hex, ck_err *err);
/* Writes every list in the pool to DIR/lists/<sha1>.tlv unless present. */
int ph_pool_save_all(const ph_pool *pool, const char *dir, ck_err *err);

#endif
