/* SQLite backend of the cluster store (include/ctlkit/store.h): one
 * database file per cluster. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/backend.h"

typedef struct sq_store {
    ck_store base;
    sqlite3 *db;
    bool in_tx;
} sq_store;

static sqlite3 *DB(ck_store *s) { return ((sq_store *)s)->db; }

/* Table and column names follow CUCM where admins query them with
 * `run sql` (processconfig: paramname, paramvalue). */
/* Schema version 0: the tables as the first ctlkit made them (no version
 * recorded, PRAGMA user_version 0). Later versions are migrations below. */
static const char schema_v0[] =
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
    return ck_fail(err, sqlite3_errcode(DB(s)) == SQLITE_BUSY ? CK_ESTATE : CK_EIO, "cluster database: %s: %s", what,
                   sqlite3_errmsg(DB(s)));
}

static int exec(ck_store *s, const char *sql, ck_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(DB(s), sql, NULL, NULL, &msg) != SQLITE_OK) {
        ck_fail(err, CK_EIO, "cluster database: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static sqlite3_stmt *prep(ck_store *s, const char *sql, ck_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(DB(s), sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, err, "prepare");
        return NULL;
    }
    return st;
}

/* Version 1: a change counter that every write bumps in its own
 * transaction, so that any connection sees other connections' changes. */
static const char *const counted_tables[] = {"node", "certificate", "trust", "processconfig", "publishedfile",
                                             "auditlog"};

static int migrate_to_v1(ck_store *s, ck_err *err)
{
    if (exec(s, "CREATE TABLE changecounter(id INTEGER PRIMARY KEY CHECK(id=1), value INTEGER NOT NULL);"
                "INSERT INTO changecounter VALUES(1, 0);",
             err) < 0)
        return -1;
    static const char *const ops[] = {"INSERT", "UPDATE", "DELETE"};
    for (size_t t = 0; t < sizeof counted_tables / sizeof counted_tables[0]; t++)
        for (size_t o = 0; o < 3; o++) {
            char sql[256];
            snprintf(sql, sizeof sql,
                     "CREATE TRIGGER %s_%s_counts AFTER %s ON %s BEGIN "
                     "UPDATE changecounter SET value=value+1; END;",
                     counted_tables[t], ops[o], ops[o], counted_tables[t]);
            if (exec(s, sql, err) < 0)
                return -1;
        }
    return 0;
}

/* Version 2: the phones the nodes have seen. Not counted: a daemon's
 * flush of phone sightings is no change of the cluster to recache for. */
static int migrate_to_v2(ck_store *s, ck_err *err)
{
    return exec(s, CK_PHONE_TABLE_SQL("INTEGER"), err);
}

static int (*const migrations[CK_STORE_SCHEMA_VERSION])(ck_store *, ck_err *) = {migrate_to_v1, migrate_to_v2};

static int user_version(ck_store *s)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(DB(s), "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Brings the schema to CK_STORE_SCHEMA_VERSION in one transaction: a
 * database from older code is upgraded, one from newer code refused. */
static int upgrade(ck_store *s, const char *path, bool create, ck_err *err)
{
    if (exec(s, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    int v = user_version(s);
    int rc = 0;
    if (v < 0)
        rc = db_fail(s, err, "read the schema version");
    else if (v > CK_STORE_SCHEMA_VERSION)
        rc = ck_fail(err, CK_ESTATE, "%s: cluster database schema version %d is newer than this ctlkit (%d)", path, v,
                     CK_STORE_SCHEMA_VERSION);
    else if (v < CK_STORE_SCHEMA_VERSION) {
        if (create && v == 0)
            rc = exec(s, schema_v0, err);
        for (int i = v; rc == 0 && i < CK_STORE_SCHEMA_VERSION; i++)
            rc = migrations[i](s, err);
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", CK_STORE_SCHEMA_VERSION);
        if (rc == 0)
            rc = exec(s, sql, err);
    }
    if (rc == 0)
        return exec(s, "COMMIT", err);
    sqlite3_exec(DB(s), "ROLLBACK", NULL, NULL, NULL);
    ck_err_prefix(err, "%s: upgrading the cluster database", path);
    return -1;
}

static const ck_store_ops sqlite_ops;
static void sq_close(ck_store *s);
static void sq_rollback(ck_store *s);

int ck_store_open_sqlite(const char *path, bool create, ck_store **out, ck_err *err)
{
    sq_store *q = calloc(1, sizeof *q);
    if (!q)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    q->base.ops = &sqlite_ops;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &q->db, flags, NULL) != SQLITE_OK) {
        ck_fail(err, create ? CK_EIO : CK_ENOTFOUND, "%s: cannot open the cluster database: %s", path,
                q->db ? sqlite3_errmsg(q->db) : "out of memory");
        sqlite3_close(q->db);
        free(q);
        return -1;
    }
    /* Other admins and the daemons use the same file: wait for their
     * transactions rather than failing. */
    sqlite3_busy_timeout(q->db, 15000);
    if (exec(&q->base, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err) < 0 ||
        upgrade(&q->base, path, create, err) < 0) {
        sq_close(&q->base);
        return -1;
    }
    *out = &q->base;
    return 0;
}

static void sq_close(ck_store *s)
{
    if (((sq_store *)s)->in_tx)
        sq_rollback(s);
    sqlite3_close(DB(s));
    free(s);
}

static int sq_begin(ck_store *s, ck_err *err)
{
    if (((sq_store *)s)->in_tx)
        return ck_fail(err, CK_ESTATE, "cluster database: transaction already open");
    if (exec(s, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    ((sq_store *)s)->in_tx = true;
    return 0;
}

static int sq_commit(ck_store *s, ck_err *err)
{
    if (!((sq_store *)s)->in_tx)
        return 0;
    if (exec(s, "COMMIT", err) < 0)
        return -1;
    ((sq_store *)s)->in_tx = false;
    return 0;
}

static void sq_rollback(ck_store *s)
{
    if (((sq_store *)s)->in_tx) {
        sqlite3_exec(DB(s), "ROLLBACK", NULL, NULL, NULL);
        ((sq_store *)s)->in_tx = false;
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

static int sq_add_node(ck_store *s, const ck_node *n, ck_err *err)
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

static int sq_get_node(ck_store *s, const char *name, ck_node *out, ck_err *err)
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

static int sq_publisher(ck_store *s, ck_node *out, ck_err *err)
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

static int sq_list_nodes(ck_store *s, ck_node **out, size_t *n, ck_err *err)
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

static int sq_put_cert(ck_store *s, const ck_cert_row *c, int64_t now, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO certificate VALUES(?,?,?,?,?,?,?,?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, c->issuer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, c->not_after);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_text(st, 8, c->pem, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store certificate");
    sqlite3_finalize(st);
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

static int sq_get_cert(ck_store *s, const char *node, const char *unit, ck_cert_row *out, ck_err *err)
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

static int sq_list_certs(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return list_rows(s,
                     "SELECT " CERT_COLS " FROM certificate JOIN node ON node.name=certificate.node "
                     "ORDER BY node.position, unit",
                     out, n, err);
}

static int sq_list_trust(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return list_rows(s, "SELECT " TRUST_COLS " FROM trust ORDER BY purpose, id", out, n, err);
}

static int sq_add_trust(ck_store *s, const ck_cert_row *c, int64_t now, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO trust(purpose, serial, subject, issuer, notafter, changed, "
                               "description, pem) VALUES(?,?,?,?,?,?,?,?)",
                            err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, c->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->issuer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, c->not_after);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_text(st, 7, c->description ? c->description : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, c->pem, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store trust certificate");
    sqlite3_finalize(st);
    return rc;
}

static int sq_delete_trust(ck_store *s, const char *purpose, const char *serial, int *deleted, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "DELETE FROM trust WHERE purpose=? AND upper(serial)=upper(?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, purpose, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "delete trust certificate");
    if (rc == 0)
        *deleted = sqlite3_changes(DB(s));
    sqlite3_finalize(st);
    return rc;
}

/* --- parameters --- */

static int sq_get_param(ck_store *s, const char *name, char *out, size_t outsz, ck_err *err)
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

static int sq_set_param(ck_store *s, const char *name, const char *value, ck_err *err)
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

static int sq_put_file(ck_store *s, const char *node, const char *name, const uint8_t *data, size_t len,
                       const char *md5, const char *sha1, int64_t now, ck_err *err)
{
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
    sqlite3_bind_int64(st, 6, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store published file");
    sqlite3_finalize(st);
    return rc;
}

static int sq_get_file(ck_store *s, const char *node, const char *name, ck_file_row *out, ck_err *err)
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

static int sq_delete_file(ck_store *s, const char *node, const char *name, ck_err *err)
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

/* --- audit --- */

static int sq_audit(ck_store *s, int64_t now, const char *who, const char *node, const char *action, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT INTO auditlog(at, who, node, action) VALUES(?,?,?,?)", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "audit");
    sqlite3_finalize(st);
    return rc;
}

static int sq_list_audit(ck_store *s, size_t limit, ck_audit_row **out, size_t *n, ck_err *err)
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

/* --- phones --- */

static int sq_merge_phones(ck_store *s, const ck_phone_row *rows, size_t n, ck_err *err)
{
    bool own_tx = !((sq_store *)s)->in_tx;
    if (own_tx && exec(s, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    sqlite3_stmt *st = prep(s, CK_PHONE_MERGE_SQL, err);
    int rc = st ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const ck_phone_row *p = &rows[i];
        const char *texts[] = {p->mac, p->model, p->ip, p->node, p->ctl_md5};
        for (int t = 0; t < 5; t++)
            sqlite3_bind_text(st, t + 1, texts[t], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, p->ctl_at);
        sqlite3_bind_text(st, 7, p->itl_md5, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, p->itl_at);
        sqlite3_bind_int64(st, 9, p->tvs_valid);
        sqlite3_bind_int64(st, 10, p->tvs_invalid);
        sqlite3_bind_text(st, 11, p->tvs_last, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 12, p->tvs_at);
        sqlite3_bind_int64(st, 13, p->last_seen);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store phone sightings");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (own_tx && rc == 0)
        rc = exec(s, "COMMIT", err);
    if (own_tx && rc < 0)
        sqlite3_exec(DB(s), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sq_list_phones(ck_store *s, ck_phone_row **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " CK_PHONE_COLS " FROM phone ORDER BY mac", err);
    if (!st)
        return -1;
    ck_phone_row *v = NULL;
    size_t cap = 0, count = 0;
    int rc = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (ck_store_grow((void **)&v, &cap, count, sizeof *v) < 0) {
            rc = ck_fail(err, CK_ENOMEM, "out of memory");
            break;
        }
        ck_phone_row *p = &v[count++];
        memset(p, 0, sizeof *p);
        copy_text(p->mac, sizeof p->mac, st, 0);
        copy_text(p->model, sizeof p->model, st, 1);
        copy_text(p->ip, sizeof p->ip, st, 2);
        copy_text(p->node, sizeof p->node, st, 3);
        copy_text(p->ctl_md5, sizeof p->ctl_md5, st, 4);
        p->ctl_at = sqlite3_column_int64(st, 5);
        copy_text(p->itl_md5, sizeof p->itl_md5, st, 6);
        p->itl_at = sqlite3_column_int64(st, 7);
        p->tvs_valid = sqlite3_column_int64(st, 8);
        p->tvs_invalid = sqlite3_column_int64(st, 9);
        copy_text(p->tvs_last, sizeof p->tvs_last, st, 10);
        p->tvs_at = sqlite3_column_int64(st, 11);
        p->last_seen = sqlite3_column_int64(st, 12);
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        free(v);
        return -1;
    }
    *out = v;
    *n = count;
    return 0;
}

/* --- run sql --- */

/* `run sql` may read tables and call ordinary functions, nothing else:
 * ATTACH (which would create files), PRAGMA and the like count as
 * read-only to sqlite3_stmt_readonly, so an authorizer refuses them
 * outright. Functions are allowed by name: Debian's SQLite has extras such
 * as fts3_tokenizer (which changes connection state and shows a memory
 * address) or load_extension that a read-only query must not reach. */
static const char *const allowed_functions[] = {
    "abs",      "avg",        "char",     "coalesce", "count",   "date",      "datetime", "dense_rank",
    "format",   "glob",       "group_concat", "hex",  "ifnull",  "iif",       "instr",    "julianday",
    "lag",      "lead",       "length",   "like",     "lower",   "ltrim",     "max",      "min",
    "nullif",   "printf",     "quote",    "rank",     "replace", "round",     "row_number", "rtrim",
    "strftime", "substr",     "substring", "sum",     "time",    "total",     "trim",     "typeof",
    "unicode",  "unixepoch",  "upper",
};

static int readonly_authorizer(void *ctx, int action, const char *a, const char *b, const char *c, const char *d)
{
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        for (size_t i = 0; b && i < sizeof allowed_functions / sizeof allowed_functions[0]; i++)
            if (strcasecmp(b, allowed_functions[i]) == 0)
                return SQLITE_OK;
        snprintf(ctx, 64, "%s", b ? b : "?");
        return SQLITE_DENY;
    }
    return SQLITE_DENY;
}

/* Cancels a statement that runs past its deadline (an endless recursive
 * query, a huge join). */
static int past_deadline(void *ctx)
{
    return time(NULL) > *(time_t *)ctx;
}

static int sq_query_readonly(ck_store *s, const char *sql, ck_store_row_fn row, void *ctx, ck_sql_outcome *outcome,
                             ck_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    char denied_function[64] = "";
    sqlite3_set_authorizer(DB(s), readonly_authorizer, denied_function);
    int prc = sqlite3_prepare_v2(DB(s), sql, -1, &st, &tail);
    sqlite3_set_authorizer(DB(s), NULL, NULL);
    /* A refused function fails the prepare as a plain error. */
    if (prc != SQLITE_OK && *denied_function)
        return ck_fail(err, CK_EDENIED, "run sql: the function %s is not allowed", denied_function);
    if (prc == SQLITE_AUTH)
        return ck_fail(err, CK_EDENIED, "run sql is read-only: only SELECT statements are allowed");
    if (prc != SQLITE_OK)
        return ck_fail(err, CK_EINVAL, "%s", sqlite3_errmsg(DB(s)));
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
    int rc = 0, step = SQLITE_DONE;
    if (!names || !vals) {
        rc = ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, i);
    /* No single value may grow past the bound: SQLite refuses to build it
     * (SQLITE_TOOBIG) instead of allocating it. */
    int old_length = sqlite3_limit(DB(s), SQLITE_LIMIT_LENGTH, CK_SQL_MAX_BYTES);
    time_t deadline = time(NULL) + CK_SQL_MAX_SECONDS;
    sqlite3_progress_handler(DB(s), 10000, past_deadline, &deadline);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++)
            vals[i] = sqlite3_column_type(st, i) == SQLITE_BLOB ? "<blob>" : (const char *)sqlite3_column_text(st, i);
        if (!ck_sql_row_fits(outcome, ncols, vals))
            break;
        if (row(ctx, ncols, names, vals) != 0) {
            outcome->truncated = sqlite3_step(st) == SQLITE_ROW;
            break;
        }
    }
    sqlite3_progress_handler(DB(s), 0, NULL, NULL);
    sqlite3_limit(DB(s), SQLITE_LIMIT_LENGTH, old_length);
    if (step == SQLITE_TOOBIG)
        rc = ck_fail(err, CK_ELIMIT, "run sql: a value in the result is larger than the %d bytes one query may return",
                     CK_SQL_MAX_BYTES);
    else if (step == SQLITE_INTERRUPT)
        rc = ck_fail(err, CK_ELIMIT, "run sql: the query ran longer than %d seconds and was stopped",
                     CK_SQL_MAX_SECONDS);
    else if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = ck_fail(err, CK_EINVAL, "%s", sqlite3_errmsg(DB(s)));
    else
        row(ctx, ncols, names, NULL); /* end of rows: lets the caller print */
out:
    free(names);
    free(vals);
    sqlite3_finalize(st);
    return rc;
}

static int64_t sq_change_counter(ck_store *s)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(DB(s), "SELECT value FROM changecounter", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int sq_notify_fd(ck_store *s)
{
    return -1;
}

static void sq_drain_notifications(ck_store *s)
{
}

static const ck_store_ops sqlite_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .add_node = sq_add_node,
    .get_node = sq_get_node,
    .publisher = sq_publisher,
    .list_nodes = sq_list_nodes,
    .put_cert = sq_put_cert,
    .get_cert = sq_get_cert,
    .list_certs = sq_list_certs,
    .add_trust = sq_add_trust,
    .delete_trust = sq_delete_trust,
    .list_trust = sq_list_trust,
    .get_param = sq_get_param,
    .set_param = sq_set_param,
    .put_file = sq_put_file,
    .get_file = sq_get_file,
    .delete_file = sq_delete_file,
    .audit = sq_audit,
    .list_audit = sq_list_audit,
    .merge_phones = sq_merge_phones,
    .list_phones = sq_list_phones,
    .query_readonly = sq_query_readonly,
    .change_counter = sq_change_counter,
    .notify_fd = sq_notify_fd,
    .drain_notifications = sq_drain_notifications,
};
