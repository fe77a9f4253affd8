/* The TVS trust cache: per source, an array of entries indexed by two
 * open-addressing hash tables (SHA-1 of the DER; serial + issuer).
 *
 * Why open addressing with the SHA-1's own bits as the hash: the key is
 * already uniformly distributed, so a probe is one or two cache lines, and
 * an unknown certificate costs the same as a known one (both end at the
 * first empty slot or the match; the table is kept at most half full). */
#include "ctlkit/trustcache.h"

#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/x509.h"

typedef struct table {
    uint32_t *slots; /* entry index + 1; 0 = empty */
    size_t cap;      /* power of two */
} table;

typedef struct source {
    ck_tc_entry **entries;
    size_t n, cap;
    table by_sha1, by_id;
} source;

struct ck_trustcache {
    atomic_int refs;
    bool sealed;
    source src[2];
};

const char *ck_tc_source_name(ck_tc_source src)
{
    return src == CK_TC_DB ? "CertificateDBCache" : "CertificateCTLCache";
}

ck_trustcache *ck_trustcache_new(ck_err *err)
{
    ck_trustcache *tc = calloc(1, sizeof *tc);
    if (!tc) {
        ck_fail(err, CK_ENOMEM, "out of memory creating the trust cache");
        return NULL;
    }
    atomic_init(&tc->refs, 1);
    return tc;
}

ck_trustcache *ck_trustcache_ref(ck_trustcache *tc)
{
    if (tc)
        atomic_fetch_add_explicit(&tc->refs, 1, memory_order_relaxed);
    return tc;
}

static void entry_free(ck_tc_entry *e)
{
    if (!e)
        return;
    free((void *)e->der);
    free((void *)e->subject);
    free((void *)e->issuer);
    free((void *)e->map_id);
    free(e);
}

void ck_trustcache_free(ck_trustcache *tc)
{
    if (!tc)
        return;
    /* acq_rel: the thread that frees must see every other holder's reads done. */
    if (atomic_fetch_sub_explicit(&tc->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < tc->src[s].n; i++)
            entry_free(tc->src[s].entries[i]);
        free(tc->src[s].entries);
        free(tc->src[s].by_sha1.slots);
        free(tc->src[s].by_id.slots);
    }
    free(tc);
}

void ck_trustcache_seal(ck_trustcache *tc) { tc->sealed = true; }
bool ck_trustcache_sealed(const ck_trustcache *tc) { return tc->sealed; }

static uint64_t sha1_hash(const uint8_t sha1[20])
{
    uint64_t h;
    memcpy(&h, sha1, sizeof h);
    return h;
}

/* FNV-1a over serial bytes, a separator, then the issuer string. */
static uint64_t id_hash(const uint8_t *serial, size_t n, const char *issuer)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ serial[i]) * 0x100000001b3ull;
    h = (h ^ 0xffu) * 0x100000001b3ull;
    for (const char *p = issuer; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

static uint64_t entry_id_hash(const ck_tc_entry *e) { return id_hash(e->serial, e->serial_len, e->issuer); }

static void table_put(table *t, uint64_t h, uint32_t idx1)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;
    while (t->slots[i])
        i = (i + 1) & mask;
    t->slots[i] = idx1;
}

/* Keeps both tables at most half full. */
static int grow_tables(source *s, ck_err *err)
{
    if ((s->n + 1) * 2 <= s->by_sha1.cap)
        return 0;
    size_t cap = s->by_sha1.cap ? s->by_sha1.cap * 2 : 16;
    uint32_t *a = calloc(cap, sizeof *a), *b = calloc(cap, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return ck_fail(err, CK_ENOMEM, "out of memory growing the trust cache");
    }
    free(s->by_sha1.slots);
    free(s->by_id.slots);
    s->by_sha1 = (table){a, cap};
    s->by_id = (table){b, cap};
    for (size_t i = 0; i < s->n; i++) {
        table_put(&s->by_sha1, sha1_hash(s->entries[i]->sha1), (uint32_t)(i + 1));
        table_put(&s->by_id, entry_id_hash(s->entries[i]), (uint32_t)(i + 1));
    }
    return 0;
}

const ck_tc_entry *ck_trustcache_find(const ck_trustcache *tc, ck_tc_source src, const uint8_t sha1[20],
                                      const uint8_t *der, size_t der_len)
{
    const source *s = &tc->src[src];
    if (!s->by_sha1.cap)
        return NULL;
    size_t mask = s->by_sha1.cap - 1;
    for (size_t i = (size_t)sha1_hash(sha1) & mask;; i = (i + 1) & mask) {
        uint32_t v = s->by_sha1.slots[i];
        if (!v)
            return NULL;
        const ck_tc_entry *e = s->entries[v - 1];
        if (memcmp(e->sha1, sha1, 20) == 0 && ck_bytes_equal(e->der, e->der_len, der, der_len))
            return e;
    }
}

const ck_tc_entry *ck_trustcache_lookup(const ck_trustcache *tc, const uint8_t *der, size_t der_len,
                                        ck_tc_source *src)
{
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1(der, der_len, md);
    const ck_tc_entry *e = ck_trustcache_find(tc, CK_TC_DB, md, der, der_len);
    if (!e)
        e = ck_trustcache_find(tc, CK_TC_CTL, md, der, der_len);
    if (e && src)
        *src = e->source;
    return e;
}

const ck_tc_entry *ck_trustcache_find_serial_issuer(const ck_trustcache *tc, ck_tc_source src,
                                                    const uint8_t *serial, size_t serial_len, const char *issuer)
{
    const source *s = &tc->src[src];
    if (!s->by_id.cap || !issuer)
        return NULL;
    size_t mask = s->by_id.cap - 1;
    for (size_t i = (size_t)id_hash(serial, serial_len, issuer) & mask;; i = (i + 1) & mask) {
        uint32_t v = s->by_id.slots[i];
        if (!v)
            return NULL;
        const ck_tc_entry *e = s->entries[v - 1];
        if (ck_bytes_equal(e->serial, e->serial_len, serial, serial_len) && strcmp(e->issuer, issuer) == 0)
            return e;
    }
}

size_t ck_trustcache_count(const ck_trustcache *tc, ck_tc_source src) { return tc->src[src].n; }

const ck_tc_entry *ck_trustcache_entry(const ck_trustcache *tc, ck_tc_source src, size_t i)
{
    return i < tc->src[src].n ? tc->src[src].entries[i] : NULL;
}

static int merge_roles(ck_tc_entry *e, const unsigned *roles, size_t n, ck_err *err)
{
    /* Check everything first so that a refused add changes nothing. */
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++) {
        if (roles[i] > 255)
            return ck_fail(err, CK_EINVAL, "role %u does not fit the one-byte TVS role code", roles[i]);
        bool have = false;
        for (size_t j = 0; j < e->n_roles; j++)
            have |= e->roles[j] == roles[i];
        for (size_t j = 0; j < i; j++)
            have |= roles[j] == roles[i];
        fresh += !have;
    }
    if (e->n_roles + fresh > CK_TC_MAX_ROLES)
        return ck_fail(err, CK_ELIMIT, "certificate %s would have more than %d roles", e->subject, CK_TC_MAX_ROLES);
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        for (size_t j = 0; j < e->n_roles; j++)
            have |= e->roles[j] == roles[i];
        if (!have)
            e->roles[e->n_roles++] = (uint8_t)roles[i];
    }
    return 0;
}

/* Parses the certificate once, here, at load time: requests are then served
 * from the strings computed now. */
static ck_tc_entry *entry_new(ck_tc_source src, const uint8_t *der, size_t der_len, const uint8_t sha1[20],
                              ck_err *err)
{
    ck_tc_entry *e = calloc(1, sizeof *e);
    uint8_t *copy = malloc(der_len ? der_len : 1);
    X509 *x = NULL;
    if (!e || !copy) {
        ck_fail(err, CK_ENOMEM, "out of memory adding a certificate to the trust cache");
        goto fail;
    }
    memcpy(copy, der, der_len);
    e->der = copy;
    copy = NULL;
    e->der_len = der_len;
    e->source = src;
    memcpy(e->sha1, sha1, 20);
    if (!(x = ck_cert_from_der(der, der_len, err)))
        goto fail;
    int sn = ck_cert_serial(x, e->serial, sizeof e->serial);
    if (sn < 0) {
        ck_fail(err, CK_EFORMAT, "certificate serial number is longer than %d bytes", CK_TC_MAX_SERIAL);
        goto fail;
    }
    e->serial_len = (size_t)sn;
    ck_hex(e->serial, e->serial_len, 0, true, e->serial_hex, sizeof e->serial_hex);
    e->subject = ck_name_cucm(X509_get_subject_name(x));
    e->issuer = ck_name_cucm(X509_get_issuer_name(x));
    if (!e->subject || !e->issuer) {
        ck_fail(err, CK_ENOMEM, "out of memory naming a trust cache certificate");
        goto fail;
    }
    size_t idlen = strlen(e->serial_hex) + strlen(e->issuer) + 1;
    char *id = malloc(idlen);
    if (!id) {
        ck_fail(err, CK_ENOMEM, "out of memory naming a trust cache certificate");
        goto fail;
    }
    snprintf(id, idlen, "%s%s", e->serial_hex, e->issuer);
    e->map_id = id;
    X509_free(x);
    return e;
fail:
    X509_free(x);
    free(copy);
    entry_free(e);
    return NULL;
}

static int add_entry(ck_trustcache *tc, ck_tc_source src, const uint8_t *der, size_t der_len,
                     const unsigned *roles, size_t n_roles, ck_err *err)
{
    if (tc->sealed)
        return ck_fail(err, CK_ESTATE, "the trust cache is sealed: build a new one");
    if (!der || der_len == 0)
        return ck_fail(err, CK_EINVAL, "empty certificate for the trust cache");
    if (n_roles == 0)
        return ck_fail(err, CK_EINVAL, "a trust cache certificate needs at least one role");
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1(der, der_len, md);
    ck_tc_entry *e = (ck_tc_entry *)ck_trustcache_find(tc, src, md, der, der_len);
    if (e)
        return merge_roles(e, roles, n_roles, err);

    source *s = &tc->src[src];
    if (s->n >= UINT32_MAX - 1)
        return ck_fail(err, CK_ELIMIT, "too many certificates in the trust cache");
    if (!(e = entry_new(src, der, der_len, md, err)))
        return -1;
    if (merge_roles(e, roles, n_roles, err) < 0)
        goto fail;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        ck_tc_entry **p = realloc(s->entries, cap * sizeof *p);
        if (!p) {
            ck_fail(err, CK_ENOMEM, "out of memory adding a certificate to the trust cache");
            goto fail;
        }
        s->entries = p;
        s->cap = cap;
    }
    if (grow_tables(s, err) < 0)
        goto fail;
    s->entries[s->n++] = e;
    table_put(&s->by_sha1, sha1_hash(e->sha1), (uint32_t)s->n);
    table_put(&s->by_id, entry_id_hash(e), (uint32_t)s->n);
    return 0;
fail:
    entry_free(e);
    return -1;
}

int ck_trustcache_add_db(ck_trustcache *tc, const uint8_t *der, size_t der_len, const unsigned *roles,
                         size_t n_roles, ck_err *err)
{
    if (add_entry(tc, CK_TC_DB, der, der_len, roles, n_roles, err) < 0) {
        ck_err_prefix(err, "DB certificate");
        return -1;
    }
    return 0;
}

int ck_trustcache_add_ctl(ck_trustcache *tc, const ck_tl_file *ctl, ck_err *err)
{
    for (size_t i = 0; i < ctl->n_records; i++) {
        const ck_tl_record *r = &ctl->records[i];
        if (!r->cert.p || r->cert.n == 0)
            continue; /* blank records (no certificate) vouch for nothing */
        if (!r->has_function) {
            ck_fail(err, CK_EFORMAT, "CTL record %zu at offset %zu has a certificate but no FUNCTION", i + 1,
                    r->offset);
            return -1;
        }
        unsigned role = r->function;
        if (add_entry(tc, CK_TC_CTL, r->cert.p, r->cert.n, &role, 1, err) < 0) {
            ck_err_prefix(err, "CTL record %zu at offset %zu", i + 1, r->offset);
            return -1;
        }
    }
    return 0;
}
