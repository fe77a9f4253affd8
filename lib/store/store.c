/* The store's public functions: pick the backend from the address, then
 * hand each call to it. Work common to both backends (file digests, time
 * stamps, row memory, address masking) happens here, once. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "store/backend.h"

static bool is_pg_url(const char *address)
{
    return strncmp(address, "postgresql://", 13) == 0 || strncmp(address, "postgres://", 11) == 0;
}

int ck_store_open(const char *address, bool create, ck_store **out, ck_err *err)
{
    if (!address || !*address)
        return ck_fail(err, CK_EINVAL, "no cluster database address given");
    return is_pg_url(address) ? ck_store_open_pg(address, create, out, err)
                              : ck_store_open_sqlite(address, create, out, err);
}

void ck_store_mask_address(const char *address, char *out, size_t outsz)
{
    /* scheme://user:password@host... : the password runs from the first ':'
     * after "//" up to the last '@' before the path. */
    if (!outsz)
        return;
    const char *auth = strstr(address, "://");
    snprintf(out, outsz, "%s", address);
    if (!auth)
        return;
    auth += 3;
    size_t hostpart = strcspn(auth, "/?");
    const char *at = NULL;
    for (const char *p = auth; p < auth + hostpart; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon)
        snprintf(out, outsz, "%.*s***%s", (int)(colon + 1 - address), address, at);
    /* key=value form (?password=...&...): every parameter named exactly
     * "password" (not "sslpassword"), rebuilt into a copy and bounded. */
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", out);
    size_t o = 0;
    for (const char *p = copy; *p && o + 1 < outsz;) {
        bool param_start = p > copy && (p[-1] == '?' || p[-1] == '&');
        if (param_start && strncmp(p, "password=", 9) == 0) {
            for (const char *m = "password=***"; *m && o + 1 < outsz; m++)
                out[o++] = *m;
            p += 9 + strcspn(p + 9, "&");
        } else
            out[o++] = *p++;
    }
    out[o] = 0;
}

void ck_store_close(ck_store *s)
{
    if (s)
        s->ops->close(s);
}

int ck_store_begin(ck_store *s, ck_err *err)
{
    return s->ops->begin(s, err);
}
int ck_store_try_begin(ck_store *s, ck_err *err)
{
    return s->ops->try_begin(s, err);
}
int ck_store_commit(ck_store *s, ck_err *err)
{
    return s->ops->commit(s, err);
}
void ck_store_rollback(ck_store *s)
{
    s->ops->rollback(s);
}

int ck_store_add_node(ck_store *s, const ck_node *n, ck_err *err)
{
    return s->ops->add_node(s, n, err);
}
int ck_store_get_node(ck_store *s, const char *name, ck_node *out, ck_err *err)
{
    return s->ops->get_node(s, name, out, err);
}
int ck_store_set_node_joined(ck_store *s, const char *node, int64_t at, ck_err *err)
{
    return s->ops->set_node_joined(s, node, at, err);
}
int ck_store_list_nodes(ck_store *s, ck_node **out, size_t *n, ck_err *err)
{
    return s->ops->list_nodes(s, out, n, err);
}
int ck_store_publisher(ck_store *s, ck_node *out, ck_err *err)
{
    return s->ops->publisher(s, out, err);
}

int ck_store_put_cert(ck_store *s, const ck_cert_row *c, ck_err *err)
{
    if (!c->pem || !c->subject || !c->issuer || !*c->node || !*c->unit)
        return ck_fail(err, CK_EINVAL, "cluster database: incomplete certificate row");
    return s->ops->put_cert(s, c, c->changed_at ? c->changed_at : (int64_t)time(NULL), err);
}
int ck_store_get_cert(ck_store *s, const char *node, const char *unit, ck_cert_row *out, ck_err *err)
{
    return s->ops->get_cert(s, node, unit, out, err);
}
int ck_store_list_certs(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return s->ops->list_certs(s, out, n, err);
}
int ck_store_add_trust(ck_store *s, const ck_cert_row *c, ck_err *err)
{
    if (!c->pem || !c->subject || !c->issuer || !*c->unit)
        return ck_fail(err, CK_EINVAL, "cluster database: incomplete certificate row");
    return s->ops->add_trust(s, c, (int64_t)time(NULL), err);
}
int ck_store_delete_trust(ck_store *s, const char *purpose, const char *serial, int *deleted, ck_err *err)
{
    return s->ops->delete_trust(s, purpose, serial, deleted, err);
}
int ck_store_list_trust(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return s->ops->list_trust(s, out, n, err);
}

void ck_cert_row_clear(ck_cert_row *r)
{
    free(r->subject);
    free(r->issuer);
    free(r->description);
    free(r->pem);
    memset(r, 0, sizeof *r);
}

void ck_cert_rows_free(ck_cert_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        ck_cert_row_clear(&rows[i]);
    free(rows);
}

int ck_store_get_param(ck_store *s, const char *name, char *out, size_t outsz, ck_err *err)
{
    return s->ops->get_param(s, name, out, outsz, err);
}
int ck_store_set_param(ck_store *s, const char *name, const char *value, ck_err *err)
{
    return s->ops->set_param(s, name, value, err);
}

int ck_store_digests(const uint8_t *data, size_t len, char md5[33], char sha1[41])
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dn;
    if (!EVP_Digest(data, len, d, &dn, EVP_md5(), NULL))
        return -1;
    ck_hex(d, dn, 0, false, md5, 33);
    if (!EVP_Digest(data, len, d, &dn, EVP_sha1(), NULL))
        return -1;
    ck_hex(d, dn, 0, false, sha1, 41);
    return 0;
}

int ck_store_put_file(ck_store *s, const char *node, const char *name, const uint8_t *data, size_t len, ck_err *err)
{
    char md5[33], sha1[41];
    if (ck_store_digests(data, len, md5, sha1) < 0)
        return ck_fail_ssl(err, CK_ECRYPTO, "digests of %s", name);
    return s->ops->put_file(s, node, name, data, len, md5, sha1, (int64_t)time(NULL), err);
}
int ck_store_get_file(ck_store *s, const char *node, const char *name, ck_file_row *out, ck_err *err)
{
    return s->ops->get_file(s, node, name, out, err);
}
int ck_store_delete_file(ck_store *s, const char *node, const char *name, ck_err *err)
{
    return s->ops->delete_file(s, node, name, err);
}
void ck_file_row_clear(ck_file_row *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

int ck_store_put_served(ck_store *s, const ck_served_row *r, ck_err *err)
{
    if (!*r->node || !*r->name || !*r->md5 || !*r->sha1)
        return ck_fail(err, CK_EINVAL, "cluster database: incomplete served-file row");
    return s->ops->put_served(s, r, err);
}
int ck_store_delete_served(ck_store *s, const char *node, const char *name, ck_err *err)
{
    return s->ops->delete_served(s, node, name, err);
}
int ck_store_list_served(ck_store *s, const char *node, ck_served_row **out, size_t *n, ck_err *err)
{
    return s->ops->list_served(s, node, out, n, err);
}
int ck_store_put_device(ck_store *s, const ck_device_row *d, ck_err *err)
{
    if (!d->name[0] || !d->model[0] || !d->profile[0] || !d->operation[0] || !d->auth_mode[0] || !d->key_type[0])
        return ck_fail(err, CK_EINVAL, "cluster database: incomplete device row");
    return s->ops->put_device(s, d, (int64_t)time(NULL), err);
}
int ck_store_get_device(ck_store *s, const char *name, ck_device_row *out, ck_err *err)
{
    return s->ops->get_device(s, name, out, err);
}
int ck_store_list_devices(ck_store *s, ck_device_row **out, size_t *n, ck_err *err)
{
    return s->ops->list_devices(s, out, n, err);
}
int ck_store_delete_device(ck_store *s, const char *name, int *deleted, ck_err *err)
{
    return s->ops->delete_device(s, name, deleted, err);
}
void ck_device_row_clear(ck_device_row *d)
{
    free(d->template_xml);
    free(d->lsc_pem);
    memset(d, 0, sizeof *d);
}
void ck_device_rows_free(ck_device_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        ck_device_row_clear(&rows[i]);
    free(rows);
}

int ck_store_audit(ck_store *s, const char *who, const char *node, const char *action, ck_err *err)
{
    return s->ops->audit(s, (int64_t)time(NULL), who, node ? node : "", action, err);
}
int ck_store_list_audit(ck_store *s, size_t limit, ck_audit_row **out, size_t *n, ck_err *err)
{
    return s->ops->list_audit(s, limit, out, n, err);
}
void ck_audit_rows_free(ck_audit_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].action);
    free(rows);
}

int ck_store_request_restart(ck_store *s, const char *node, const char *service, const char *who, int64_t *id,
                             ck_err *err)
{
    return s->ops->request_restart(s, node, service, who ? who : "", (int64_t)time(NULL), id, err);
}
int ck_store_pending_restarts(ck_store *s, const char *node, ck_restart_row **out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    return s->ops->pending_restarts(s, node, out, n, err);
}
int ck_store_finish_restart(ck_store *s, int64_t id, const char *result, ck_err *err)
{
    return s->ops->finish_restart(s, id, result, (int64_t)time(NULL), err);
}
int ck_store_get_restart(ck_store *s, int64_t id, ck_restart_row *out, ck_err *err)
{
    return s->ops->get_restart(s, id, out, err);
}
int ck_store_merge_phones(ck_store *s, const ck_phone_row *rows, size_t n, ck_err *err)
{
    return n ? s->ops->merge_phones(s, rows, n, err) : 0;
}
int ck_store_list_phones(ck_store *s, ck_phone_row **out, size_t *n, ck_err *err)
{
    return s->ops->list_phones(s, out, n, err);
}
int ck_store_page_phones(ck_store *s, const ck_phone_query *q, size_t offset, size_t limit, ck_phone_row **out,
                         size_t *n, size_t *total, ck_err *err)
{
    return s->ops->page_phones(s, q, offset, limit, out, n, total, err);
}
int ck_store_get_phone(ck_store *s, const char *mac, ck_phone_row *out, ck_err *err)
{
    ck_phone_query q = {.mac = mac};
    ck_phone_row *rows = NULL;
    size_t n = 0, total = 0;
    if (s->ops->page_phones(s, &q, 0, 1, &rows, &n, &total, err) < 0)
        return -1;
    int rc = n ? 0 : ck_fail(err, CK_ENOTFOUND, "no phone SEP%s has been seen", mac);
    if (n)
        *out = rows[0];
    free(rows);
    return rc;
}

int ck_store_query_readonly(ck_store *s, const char *sql, ck_store_row_fn row, void *ctx, ck_sql_outcome *outcome,
                            ck_err *err)
{
    ck_sql_outcome local;
    if (!outcome)
        outcome = &local;
    memset(outcome, 0, sizeof *outcome);
    return s->ops->query_readonly(s, sql, row, ctx, outcome, err);
}

bool ck_sql_row_fits(ck_sql_outcome *o, int ncols, const char *const *values)
{
    size_t bytes = 0;
    for (int i = 0; i < ncols; i++)
        bytes += values[i] ? strlen(values[i]) : 0;
    if (o->bytes + bytes > CK_SQL_MAX_BYTES) {
        o->truncated = true;
        return false;
    }
    o->bytes += bytes;
    o->rows++;
    return true;
}

int64_t ck_store_change_counter(ck_store *s)
{
    return s->ops->change_counter(s, NULL);
}

int64_t ck_store_read_change_counter(ck_store *s, ck_err *err)
{
    return s->ops->change_counter(s, err);
}
int ck_store_notify_fd(ck_store *s)
{
    return s->ops->notify_fd(s);
}
bool ck_store_drain_notifications(ck_store *s)
{
    return s->ops->drain_notifications(s);
}

int ck_store_grow(void **v, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*v, ncap * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = ncap;
    return 0;
}
