/* SQLite backend of the cluster store (include/ctlkit/store.h). */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/store.h"
#include "ctlkit/x509.h"

struct ck_store {
    sqlite3 *db;
    bool in_tx;
};

/* Table and column names follow CUCM where admins query them with
 * `run sql` (processconfig: paramname, paramvalue). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS node("
    "  name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK(role IN ('publisher','subscriber')),"
    "  ipaddress TEXT NOT NULL, tftp_port INTEGER NOT NULL, tvs_port INTEGER NOT NULL,"
    "  provider_port INTEGER NOT NULL, position INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS certificate("
    "  node TEXT NOT NULL, unit TEXT NOT NULL, serial TEXT NOT NULL, subject TEXT NOT NULL,"
    "  issuer TEXT NOT NULL, notafter INTEGER NOT NULL, changed INTEGER NOT NULL, pem TEXT NOT NULL,"
    "  PRIMARY KEY(node, unit));"
    "CREATE TABLE IF NOT EXISTS trust("
    "  id INTEGER PRIMARY KEY, purpose TEXT NOT NULL, serial TEXT NOT NULL, subject TEXT NOT NULL,"
    "  issuer TEXT NOT NULL, notafter INTEGER NOT NULL, changed INTEGER NOT NULL, description TEXT NOT NULL,"
    "  pem TEXT NOT NULL, UNIQUE(purpose, serial, issuer));"
    "CREATE TABLE IF NOT EXISTS processconfig(paramname TEXT PRIMARY KEY, paramvalue TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS publishedfile("
    "  node TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, md5 TEXT NOT NULL, sha1 TEXT NOT NULL,"
    "  version INTEGER NOT NULL, modified INTEGER NOT NULL, PRIMARY KEY(node, name));"
    "CREATE TABLE IF NOT EXISTS auditlog("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, who TEXT NOT NULL, node TEXT NOT NULL, action TEXT NOT NULL);";

static int db_fail(ck_store *s, ck_err *err, const char *what)
{
    return ck_fail(err, sqlite3_errcode(s->db) == SQLITE_BUSY ? CK_ESTATE : CK_EIO, "cluster database: %s: %s", what,
                   sqlite3_errmsg(s->db));
}

static int exec(ck_store *s, const char *sql, ck_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ck_fail(err, CK_EIO, "cluster database: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static sqlite3_stmt *prep(ck_store *s, const char *sql, ck_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, err, "prepare");
        return NULL;
    }
    return st;
}

int ck_store_open(const char *path, bool create, ck_store **out, ck_err *err)
{
    ck_store *s = calloc(1, sizeof *s);
    if (!s)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        ck_fail(err, create ? CK_EIO : CK_ENOTFOUND, "%s: cannot open the cluster database: %s", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        return -1;
    }
    /* Other admins and the daemons use the same file: wait for their
     * transactions rather than failing. */
    sqlite3_busy_timeout(s->db, 15000);
    if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err) < 0 ||
        (create && exec(s, schema, err) < 0)) {
        ck_store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void ck_store_close(ck_store *s)
{
    if (!s)
        return;
    if (s->in_tx)
        ck_store_rollback(s);
    sqlite3_close(s->db);
    free(s);
}

int ck_store_begin(ck_store *s, ck_err *err)
{
    if (s->in_tx)
        return ck_fail(err, CK_ESTATE, "cluster database: transaction already open");
    if (exec(s, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    s->in_tx = true;
    return 0;
}

int ck_store_commit(ck_store *s, ck_err *err)
{
    if (!s->in_tx)
        return 0;
    if (exec(s, "COMMIT", err) < 0)
        return -1;
    s->in_tx = false;
    return 0;
}

void ck_store_rollback(ck_store *s)
{
    if (s->in_tx) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_tx = false;
    }
}

static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static char *dup_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t ? (const char *)t : "");
}

/* --- nodes --- */

int ck_store_add_node(ck_store *s, const ck_node *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT INTO node VALUES(?,?,?,?,?,?,?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->publisher ? "publisher" : "subscriber", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, n->tftp_port);
    sqlite3_bind_int(st, 5, n->tvs_port);
    sqlite3_bind_int(st, 6, n->provider_port);
    sqlite3_bind_int(st, 7, n->position);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "add node");
    sqlite3_finalize(st);
    return rc;
}

static void node_from_row(sqlite3_stmt *st, ck_node *n)
{
    memset(n, 0, sizeof *n);
    copy_text(n->name, sizeof n->name, st, 0);
    const unsigned char *role = sqlite3_column_text(st, 1);
    n->publisher = role && strcmp((const char *)role, "publisher") == 0;
    copy_text(n->ip, sizeof n->ip, st, 2);
    n->tftp_port = sqlite3_column_int(st, 3);
    n->tvs_port = sqlite3_column_int(st, 4);
    n->provider_port = sqlite3_column_int(st, 5);
    n->position = sqlite3_column_int(st, 6);
}

#define NODE_COLS "name, role, ipaddress, tftp_port, tvs_port, provider_port, position"

int ck_store_get_node(ck_store *s, const char *name, ck_node *out, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " NODE_COLS " FROM node WHERE name=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        node_from_row(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return ck_fail(err, CK_ENOTFOUND, "no node named '%s' in this cluster", name);
    return db_fail(s, err, "get node");
}

int ck_store_publisher(ck_store *s, ck_node *out, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " NODE_COLS " FROM node WHERE role='publisher'", err);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        node_from_row(st, out);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : ck_fail(err, CK_ENOTFOUND, "the cluster has no publisher");
}

int ck_store_list_nodes(ck_store *s, ck_node **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " NODE_COLS " FROM node ORDER BY position", err);
    if (!st)
        return -1;
    size_t cap = 4, count = 0;
    ck_node *v = malloc(cap * sizeof *v);
    int rc;
    while (v && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            ck_node *p = realloc(v, (cap *= 2) * sizeof *v);
            if (!p) {
                free(v);
                v = NULL;
                break;
            }
            v = p;
        }
        node_from_row(st, &v[count++]);
    }
    sqlite3_finalize(st);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    *out = v;
    *n = count;
    return 0;
}

/* --- certificates --- */

typedef struct cert_facts {
    char serial[80];
    char *subject, *issuer;
    int64_t not_after;
} cert_facts;

static int facts_of(const char *pem, cert_facts *f, ck_err *err)
{
    X509 *c = NULL;
    if (ck_load_pem_mem(pem, strlen(pem), &c, NULL, false, err) < 0)
        return -1;
    ck_cert_serial_hex(c, f->serial, sizeof f->serial);
    f->subject = ck_name_cucm(X509_get_subject_name(c));
    f->issuer = ck_name_cucm(X509_get_issuer_name(c));
    struct tm tm;
    f->not_after = ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm) == 1 ? (int64_t)timegm(&tm) : 0;
    X509_free(c);
    if (!f->subject || !f->issuer) {
        free(f->subject);
        free(f->issuer);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    return 0;
}

int ck_store_put_cert(ck_store *s, const char *node, const char *unit, const char *pem, ck_err *err)
{
    cert_facts f;
    if (facts_of(pem, &f, err) < 0)
        return -1;
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO certificate VALUES(?,?,?,?,?,?,?,?)", err);
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, f.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, f.subject, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, f.issuer, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, f.not_after);
        sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
        sqlite3_bind_text(st, 8, pem, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store certificate");
        sqlite3_finalize(st);
    }
    free(f.subject);
    free(f.issuer);
    return rc;
}

static void cert_from_row(sqlite3_stmt *st, ck_cert_row *r)
{
    memset(r, 0, sizeof *r);
    copy_text(r->node, sizeof r->node, st, 0);
    copy_text(r->unit, sizeof r->unit, st, 1);
    copy_text(r->serial, sizeof r->serial, st, 2);
    r->subject = dup_text(st, 3);
    r->issuer = dup_text(st, 4);
    r->not_after = sqlite3_column_int64(st, 5);
    r->changed_at = sqlite3_column_int64(st, 6);
    r->pem = dup_text(st, 7);
    r->description = dup_text(st, 8);
    r->id = sqlite3_column_int64(st, 9);
}

#define CERT_COLS "node, unit, serial, subject, issuer, notafter, changed, pem, '', 0"
#define TRUST_COLS "'', purpose, serial, subject, issuer, notafter, changed, pem, description, id"

int ck_store_get_cert(ck_store *s, const char *node, const char *unit, ck_cert_row *out, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " CERT_COLS " FROM certificate WHERE node=? AND unit=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, unit, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        cert_from_row(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return ck_fail(err, CK_ENOTFOUND, "node %s has no %s certificate", node, unit);
}

static int list_rows(ck_store *s, const char *sql, ck_cert_row **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, sql, err);
    if (!st)
        return -1;
    size_t cap = 8, count = 0;
    ck_cert_row *v = malloc(cap * sizeof *v);
    while (v && sqlite3_step(st) == SQLITE_ROW) {
        if (count == cap) {
            ck_cert_row *p = realloc(v, (cap *= 2) * sizeof *v);
            if (!p) {
                ck_cert_rows_free(v, count);
                v = NULL;
                break;
            }
            v = p;
        }
        cert_from_row(st, &v[count++]);
    }
    sqlite3_finalize(st);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    *out = v;
    *n = count;
    return 0;
}

int ck_store_list_certs(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return list_rows(s,
                     "SELECT " CERT_COLS " FROM certificate JOIN node ON node.name=certificate.node "
                     "ORDER BY node.position, unit",
                     out, n, err);
}

int ck_store_list_trust(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return list_rows(s, "SELECT " TRUST_COLS " FROM trust ORDER BY purpose, id", out, n, err);
}

int ck_store_add_trust(ck_store *s, const char *purpose, const char *pem, const char *description, ck_err *err)
{
    cert_facts f;
    if (facts_of(pem, &f, err) < 0)
        return -1;
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO trust(purpose, serial, subject, issuer, notafter, changed, "
                               "description, pem) VALUES(?,?,?,?,?,?,?,?)",
                            err);
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, purpose, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, f.serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, f.subject, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, f.issuer, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, f.not_after);
        sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
        sqlite3_bind_text(st, 7, description ? description : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, pem, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store trust certificate");
        sqlite3_finalize(st);
    }
    free(f.subject);
    free(f.issuer);
    return rc;
}

int ck_store_delete_trust(ck_store *s, const char *purpose, const char *serial, int *deleted, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "DELETE FROM trust WHERE purpose=? AND upper(serial)=upper(?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, purpose, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "delete trust certificate");
    if (rc == 0)
        *deleted = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return rc;
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

/* --- parameters --- */

int ck_store_get_param(ck_store *s, const char *name, char *out, size_t outsz, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT paramvalue FROM processconfig WHERE paramname=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_text(out, outsz, st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : ck_fail(err, CK_ENOTFOUND, "no enterprise parameter '%s'", name);
}

int ck_store_set_param(ck_store *s, const char *name, const char *value, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO processconfig VALUES(?,?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "set parameter");
    sqlite3_finalize(st);
    return rc;
}

/* --- published files --- */

int ck_store_put_file(ck_store *s, const char *node, const char *name, const uint8_t *data, size_t len, ck_err *err)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dn;
    char md5[33], sha1[41];
    EVP_Digest(data, len, d, &dn, EVP_md5(), NULL);
    ck_hex(d, dn, 0, false, md5, sizeof md5);
    EVP_Digest(data, len, d, &dn, EVP_sha1(), NULL);
    ck_hex(d, dn, 0, false, sha1, sizeof sha1);
    sqlite3_stmt *st = prep(s,
                            "INSERT INTO publishedfile VALUES(?1,?2,?3,?4,?5,1,?6) ON CONFLICT(node,name) DO UPDATE "
                            "SET data=?3, md5=?4, sha1=?5, version=version+1, modified=?6",
                            err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, data, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, md5, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, sha1, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store published file");
    sqlite3_finalize(st);
    return rc;
}

int ck_store_get_file(ck_store *s, const char *node, const char *name, ck_file_row *out, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT node, name, data, md5, sha1, version, modified FROM publishedfile "
                               "WHERE node=? AND name=?",
                            err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        copy_text(out->node, sizeof out->node, st, 0);
        copy_text(out->name, sizeof out->name, st, 1);
        out->len = (size_t)sqlite3_column_bytes(st, 2);
        out->data = malloc(out->len ? out->len : 1);
        if (out->data && out->len)
            memcpy(out->data, sqlite3_column_blob(st, 2), out->len);
        copy_text(out->md5, sizeof out->md5, st, 3);
        copy_text(out->sha1, sizeof out->sha1, st, 4);
        out->version = sqlite3_column_int64(st, 5);
        out->modified = sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return out->data ? 0 : ck_fail(err, CK_ENOMEM, "out of memory");
    return ck_fail(err, CK_ENOTFOUND, "no published %s%s%s", name, *node ? " for node " : "", node);
}

int ck_store_delete_file(ck_store *s, const char *node, const char *name, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "DELETE FROM publishedfile WHERE node=? AND name=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "delete published file");
    sqlite3_finalize(st);
    return rc;
}

void ck_file_row_clear(ck_file_row *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

/* --- audit --- */

int ck_store_audit(ck_store *s, const char *who, const char *node, const char *action, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT INTO auditlog(at, who, node, action) VALUES(?,?,?,?)", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
    sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, node ? node : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "audit");
    sqlite3_finalize(st);
    return rc;
}

int ck_store_list_audit(ck_store *s, size_t limit, ck_audit_row **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT id, at, who, node, action FROM (SELECT * FROM auditlog ORDER BY id DESC LIMIT ?) "
                               "ORDER BY id",
                            err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)limit);
    ck_audit_row *v = calloc(limit ? limit : 1, sizeof *v);
    size_t count = 0;
    while (v && count < limit && sqlite3_step(st) == SQLITE_ROW) {
        v[count].id = sqlite3_column_int64(st, 0);
        v[count].at = sqlite3_column_int64(st, 1);
        copy_text(v[count].who, sizeof v[count].who, st, 2);
        copy_text(v[count].node, sizeof v[count].node, st, 3);
        v[count].action = dup_text(st, 4);
        count++;
    }
    sqlite3_finalize(st);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    *out = v;
    *n = count;
    return 0;
}

void ck_audit_rows_free(ck_audit_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].action);
    free(rows);
}

/* --- run sql --- */

/* `run sql` may read tables and call functions, nothing else: ATTACH
 * (which would create files), PRAGMA and the like count as read-only to
 * sqlite3_stmt_readonly, so an authorizer refuses them outright. */
static int readonly_authorizer(void *ctx, int action, const char *a, const char *b, const char *c, const char *d)
{
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    }
    return SQLITE_DENY;
}

int ck_store_query_readonly(ck_store *s, const char *sql, ck_store_row_fn row, void *ctx, ck_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    sqlite3_set_authorizer(s->db, readonly_authorizer, NULL);
    int prc = sqlite3_prepare_v2(s->db, sql, -1, &st, &tail);
    sqlite3_set_authorizer(s->db, NULL, NULL);
    if (prc == SQLITE_AUTH)
        return ck_fail(err, CK_EDENIED, "run sql is read-only: only SELECT statements are allowed");
    if (prc != SQLITE_OK)
        return ck_fail(err, CK_EINVAL, "%s", sqlite3_errmsg(s->db));
    if (!st)
        return ck_fail(err, CK_EINVAL, "no SQL statement given");
    while (tail && (*tail == ' ' || *tail == ';' || *tail == '\n' || *tail == '\t'))
        tail++;
    if (tail && *tail) {
        sqlite3_finalize(st);
        return ck_fail(err, CK_EINVAL, "one statement at a time");
    }
    /* `run sql` is for reading: a statement that would write is refused
     * before it runs (use the admin commands to change the cluster). */
    if (!sqlite3_stmt_readonly(st)) {
        sqlite3_finalize(st);
        return ck_fail(err, CK_EDENIED, "run sql is read-only: only SELECT statements are allowed");
    }
    int ncols = sqlite3_column_count(st);
    const char **names = calloc((size_t)ncols + 1, sizeof *names);
    const char **vals = calloc((size_t)ncols + 1, sizeof *vals);
    int rc = 0, step;
    if (!names || !vals) {
        rc = ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, i);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++)
            vals[i] = sqlite3_column_type(st, i) == SQLITE_BLOB ? "<blob>" : (const char *)sqlite3_column_text(st, i);
        if (row(ctx, ncols, names, vals) != 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = ck_fail(err, CK_EINVAL, "%s", sqlite3_errmsg(s->db));
    else if (ncols >= 0)
        row(ctx, ncols, names, NULL); /* end of rows: lets the caller print */
out:
    free(names);
    free(vals);
    sqlite3_finalize(st);
    return rc;
}

int64_t ck_store_change_counter(ck_store *s)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}
