/* The phone's state on disk. Files are replaced atomically (write, fsync,
 * rename: ck_write_file_atomic) so that a simulator killed mid-boot leaves
 * the phone as it was, like a phone losing power before it commits. */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "state.h"

/* ---- pool ---- */

static int digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out, unsigned want)
{
    unsigned got = 0;
    return EVP_Digest(p, n, out, &got, md, NULL) == 1 && got == want ? 0 : -1;
}

ph_list *ph_pool_intern(ph_pool *pool, const uint8_t *data, size_t len, ck_tl_file *parsed, ck_err *err)
{
    uint8_t sha1[20];
    if (digest(EVP_sha1(), data, len, sha1, 20) < 0) {
        ck_tl_free(parsed);
        ck_fail_ssl(err, CK_ECRYPTO, "cannot hash a trust list");
        return NULL;
    }
    for (ph_list *l = pool->head; l; l = l->next)
        if (memcmp(l->sha1, sha1, 20) == 0 && l->len == len && memcmp(l->data, data, len) == 0) {
            ck_tl_free(parsed);
            l->refs++;
            return l;
        }
    ph_list *l = calloc(1, sizeof(*l));
    if (!l || !(l->data = malloc(len ? len : 1))) {
        free(l);
        ck_tl_free(parsed);
        ck_fail(err, CK_ENOMEM, "out of memory for a trust list");
        return NULL;
    }
    memcpy(l->data, data, len);
    l->len = len;
    memcpy(l->sha1, sha1, 20);
    if (digest(EVP_md5(), data, len, l->md5, 16) < 0) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot hash a trust list");
        goto fail;
    }
    ck_hex(l->md5, 16, 0, false, l->md5hex, sizeof(l->md5hex));
    ck_hex(l->sha1, 20, 0, false, l->sha1hex, sizeof(l->sha1hex));
    l->parsed = parsed;
    parsed = NULL;
    if (!l->parsed && ck_tl_parse(data, len, &l->parsed, err) < 0)
        goto fail;
    l->refs = 1;
    l->next = pool->head;
    pool->head = l;
    return l;
fail:
    ck_tl_free(l->parsed); /* taken over: freed on every path, as the caller was promised */
    ck_tl_free(parsed);
    free(l->data);
    free(l);
    return NULL;
}

void ph_pool_unref(ph_pool *pool, ph_list *l)
{
    if (!l || --l->refs > 0)
        return;
    for (ph_list **pp = &pool->head; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    ck_tl_free(l->parsed);
    free(l->data);
    free(l);
}

void ph_pool_free(ph_pool *pool)
{
    ph_list *l = pool->head;
    while (l) {
        ph_list *n = l->next;
        ck_tl_free(l->parsed);
        free(l->data);
        free(l);
        l = n;
    }
    pool->head = NULL;
}

const char *ph_list_sum(const ph_list *l, ph_checksum c) { return c == PH_SUM_SHA1 ? l->sha1hex : l->md5hex; }

/* ---- phone ---- */

int ph_mac_parse(const char *s, char out[13], ck_err *err)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ':' || *p == '-' || *p == '.')
            continue;
        if (!isxdigit((unsigned char)*p) || n == 12)
            return ck_fail(err, CK_EINVAL, "MAC address '%s' must be 12 hexadecimal digits", s);
        out[n++] = (char)toupper((unsigned char)*p);
    }
    if (n != 12)
        return ck_fail(err, CK_EINVAL, "MAC address '%s' must be 12 hexadecimal digits", s);
    out[12] = '\0';
    return 0;
}

void ph_phone_set(ph_pool *pool, ph_phone *p, ck_ph_kind kind, ph_list *l)
{
    ph_list **slot = kind == CK_PH_CTL ? &p->ctl : &p->itl;
    ph_pool_unref(pool, *slot);
    *slot = l;
}

void ph_phone_clear(ph_pool *pool, ph_phone *p)
{
    ph_phone_set(pool, p, CK_PH_CTL, NULL);
    ph_phone_set(pool, p, CK_PH_ITL, NULL);
    X509_free(p->lsc);
    X509_free(p->mic);
    EVP_PKEY_free(p->lsc_key);
    EVP_PKEY_free(p->mic_key);
    p->lsc = p->mic = NULL;
    p->lsc_key = p->mic_key = NULL;
}

/* ---- JSON ---- */

json_t *ph_cnf_to_json(const ph_cnf *c)
{
    if (!c->known)
        return json_null();
    return json_pack("{s:i, s:s, s:b, s:i, s:s, s:i}", "security_mode", c->security_mode, "security",
                     ph_cnf_mode_name(c->security_mode), "encrypted", c->encrypted, "capf_auth_mode",
                     c->capf_auth_mode, "capf_host", c->capf_host, "capf_port", c->capf_port);
}

void ph_cnf_from_json(json_t *o, ph_cnf *c)
{
    memset(c, 0, sizeof *c);
    const char *host = NULL;
    int enc = 0;
    if (!json_is_object(o) || json_unpack(o, "{s:i, s?b, s?i, s?s, s?i}", "security_mode", &c->security_mode,
                                          "encrypted", &enc, "capf_auth_mode", &c->capf_auth_mode, "capf_host",
                                          &host, "capf_port", &c->capf_port) != 0)
        return;
    c->known = true;
    c->encrypted = enc;
    snprintf(c->capf_host, sizeof c->capf_host, "%s", host ? host : "");
}

json_t *ph_cache_to_json(const ck_ph_cache *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->n; i++) {
        const ck_ph_cache_entry *e = &c->e[i];
        char hex[41];
        ck_hex(e->sha1, 20, 0, false, hex, sizeof(hex));
        json_t *roles = json_array();
        for (size_t r = 0; roles && r < e->n_roles; r++)
            json_array_append_new(roles, json_integer(e->roles[r]));
        json_array_append_new(a, json_pack("{s:s, s:b, s:o*, s:I}", "sha1", hex, "valid", e->valid, "roles", roles,
                                           "expires", (json_int_t)e->expires));
    }
    return a;
}

int ph_cache_from_json(json_t *a, ck_ph_cache *c, ck_err *err)
{
    ck_ph_cache_init(c);
    if (!a)
        return 0;
    if (!json_is_array(a))
        return ck_fail(err, CK_EFORMAT, "tvs_cache must be an array");
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o)
    {
        if (c->n == CK_PH_CACHE_MAX)
            break;
        const char *hex = NULL;
        int valid = 0;
        json_t *roles = NULL;
        json_int_t exp = 0;
        ck_ph_cache_entry *e = &c->e[c->n];
        size_t got = 0;
        if (json_unpack(o, "{s:s, s:b, s:o, s:I}", "sha1", &hex, "valid", &valid, "roles", &roles, "expires", &exp) ||
            !json_is_array(roles) || strlen(hex) != 40 || ck_hex_decode(hex, e->sha1, 20, &got) < 0 || got != 20)
            return ck_fail(err, CK_EFORMAT, "tvs_cache entry %zu is malformed", i);
        e->valid = valid;
        e->expires = exp;
        e->n_roles = 0;
        size_t j;
        json_t *r;
        json_array_foreach(roles, j, r)
        {
            if (e->n_roles < CK_PH_CACHE_MAX_ROLES && json_is_integer(r) && json_integer_value(r) >= 0 &&
                json_integer_value(r) <= 255)
                e->roles[e->n_roles++] = (uint8_t)json_integer_value(r);
        }
        c->n++;
    }
    return 0;
}

/* ---- one phone's directory ---- */

static const char *list_file(ck_ph_kind k) { return k == CK_PH_CTL ? "CTLFile.tlv" : "ITLFile.tlv"; }

static int load_list(const char *dir, ck_ph_kind k, ph_pool *pool, ph_list **out, ck_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, list_file(k));
    uint8_t *data = NULL;
    size_t len = 0;
    ck_err e2;
    ck_err_clear(&e2);
    *out = NULL;
    if (ck_read_file(path, CK_TL_MAX_PARSE, &data, &len, &e2) < 0) {
        if (e2.code == CK_ENOTFOUND)
            return 0;
        if (err)
            *err = e2;
        return -1;
    }
    *out = ph_pool_intern(pool, data, len, NULL, err);
    free(data);
    if (!*out) {
        ck_err_prefix(err, "%s", path);
        return -1;
    }
    return 0;
}

int ph_state_load(const char *dir, ph_pool *pool, ph_phone *p, ck_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/phone.json", dir);
    ck_ph_cache_init(&p->cache);
    struct stat st;
    if (stat(path, &st) == 0) {
        json_error_t je;
        json_t *root = json_load_file(path, 0, &je);
        if (!root)
            return ck_fail(err, CK_EFORMAT, "%s: %s (line %d)", path, je.text, je.line);
        const char *mac = NULL, *model = NULL;
        json_t *cache = NULL, *cnf = NULL;
        int rc = json_unpack(root, "{s?s, s?s, s?o, s?o}", "mac", &mac, "model", &model, "tvs_cache", &cache,
                             "config", &cnf);
        ph_cnf_from_json(cnf, &p->cnf);
        if (rc == 0 && mac && !p->mac[0])
            rc = ph_mac_parse(mac, p->mac, err);
        if (rc == 0 && model && !p->model && !(p->model = ph_model_find(model)))
            rc = ck_fail(err, CK_EFORMAT, "%s: unknown model %s", path, model);
        if (rc == 0)
            rc = ph_cache_from_json(cache, &p->cache, err);
        json_decref(root);
        if (rc)
            return -1;
    }
    if (load_list(dir, CK_PH_CTL, pool, &p->ctl, err) < 0 || load_list(dir, CK_PH_ITL, pool, &p->itl, err) < 0)
        return -1;
    return 0;
}

static int save_list(const char *dir, ck_ph_kind k, const ph_list *l, ck_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, list_file(k));
    if (!l) {
        if (unlink(path) < 0 && errno != ENOENT)
            return ck_fail(err, CK_EIO, "cannot delete %s: %s", path, strerror(errno));
        return 0;
    }
    return ck_write_file_atomic(path, l->data, l->len, 0644, err);
}

int ph_state_save(const char *dir, const ph_phone *p, ck_err *err)
{
    if (ck_mkdirs(dir, 0755, err) < 0)
        return -1;
    json_t *root = json_pack("{s:s, s:s, s:o, s:o}", "mac", p->mac, "model", p->model ? p->model->name : "",
                             "tvs_cache", ph_cache_to_json(&p->cache), "config", ph_cnf_to_json(&p->cnf));
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    if (!text)
        return ck_fail(err, CK_ENOMEM, "out of memory writing the phone state");
    char path[4096];
    snprintf(path, sizeof(path), "%s/phone.json", dir);
    int rc = ck_write_file_atomic(path, text, strlen(text), 0644, err);
    free(text);
    if (rc == 0)
        rc = save_list(dir, CK_PH_CTL, p->ctl, err);
    if (rc == 0)
        rc = save_list(dir, CK_PH_ITL, p->itl, err);
    return rc;
}

/* ---- fleet lists ---- */

ph_list *ph_pool_load_hash(ph_pool *pool, const char *dir, const char *sha1hex, ck_err *err)
{
    for (ph_list *l = pool->head; l; l = l->next)
        if (strcmp(l->sha1hex, sha1hex) == 0) {
            l->refs++;
            return l;
        }
    for (const char *c = sha1hex; *c; c++)
        if (!isxdigit((unsigned char)*c)) {
            ck_fail(err, CK_EFORMAT, "bad list hash '%s'", sha1hex);
            return NULL;
        }
    char path[4096];
    snprintf(path, sizeof(path), "%s/lists/%s.tlv", dir, sha1hex);
    uint8_t *data = NULL;
    size_t len = 0;
    if (ck_read_file(path, CK_TL_MAX_PARSE, &data, &len, err) < 0)
        return NULL;
    ph_list *l = ph_pool_intern(pool, data, len, NULL, err);
    free(data);
    if (l && strcmp(l->sha1hex, sha1hex) != 0) {
        ph_pool_unref(pool, l);
        ck_fail(err, CK_EFORMAT, "%s does not hash to its name", path);
        return NULL;
    }
    return l;
}

int ph_pool_save_all(const ph_pool *pool, const char *dir, ck_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/lists", dir);
    if (ck_mkdirs(path, 0755, err) < 0)
        return -1;
    for (const ph_list *l = pool->head; l; l = l->next) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/lists/%s.tlv", dir, l->sha1hex);
        /* named by content: an existing file already holds these bytes */
        if (stat(path, &st) == 0 && (size_t)st.st_size == l->len)
            continue;
        if (ck_write_file_atomic(path, l->data, l->len, 0644, err) < 0)
            return -1;
    }
    return 0;
}
