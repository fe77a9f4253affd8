/* SQLite backend of the cluster store (include/ctlkit/store.h): one
 * database file per cluster. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/backend.h"

/* Prepared statements kept for the connection's life (prep, unprep). Why:
 * sqlite3_prepare_v2 parses and plans the SQL every time, and a CAPF
 * enrolment runs some twenty statements: preparing them was a tenth of a
 * CAPF worker's CPU (docs/benchmarks.md, "CAPF", branch capfcpu2). A kept
 * statement is reset and its bindings cleared when it is handed back;
 * SQLite prepares it again by itself after a schema change. */
#define SQ_KEPT 32

typedef struct sq_kept {
    sqlite3_stmt *st;
    bool busy; /* handed out, not back yet (a statement used while it runs is prepared anew) */
} sq_kept;

typedef struct sq_store {
    ck_store base;
    sqlite3 *db;
    bool in_tx;
    sq_kept kept[SQ_KEPT];
    unsigned kept_next; /* the next slot to give up when all are taken */
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

/* The statement for sql: a kept one that is not in use, or a new one,
 * kept when a slot is free or can be freed. */
static int prepare_kept(ck_store *s, const char *sql, sqlite3_stmt **out)
{
    sq_store *q = (sq_store *)s;
    sq_kept *slot = NULL;
    *out = NULL;
    for (size_t i = 0; i < SQ_KEPT; i++) {
        sq_kept *k = &q->kept[i];
        if (!k->st) {
            if (!slot)
                slot = k;
        } else if (!k->busy && strcmp(sqlite3_sql(k->st), sql) == 0) {
            k->busy = true;
            *out = k->st;
            return SQLITE_OK;
        }
    }
    int rc = sqlite3_prepare_v2(DB(s), sql, -1, out, NULL);
    if (rc != SQLITE_OK || !*out)
        return rc;
    for (size_t i = 0; !slot && i < SQ_KEPT; i++) {
        sq_kept *k = &q->kept[q->kept_next++ % SQ_KEPT];
        if (!k->busy) {
            sqlite3_finalize(k->st);
            k->st = NULL;
            slot = k;
        }
    }
    if (slot) {
        slot->st = *out;
        slot->busy = true;
    }
    return SQLITE_OK;
}

/* Hands a statement back: a kept one is reset (which also ends its read)
 * for the next use, any other finalized. */
static void unprep(ck_store *s, sqlite3_stmt *st)
{
    sq_store *q = (sq_store *)s;
    if (!st)
        return;
    for (size_t i = 0; i < SQ_KEPT; i++)
        if (q->kept[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            q->kept[i].busy = false;
            return;
        }
    sqlite3_finalize(st);
}

static void kept_clear(sq_store *q)
{
    for (size_t i = 0; i < SQ_KEPT; i++) {
        sqlite3_finalize(q->kept[i].st);
        q->kept[i].st = NULL;
        q->kept[i].busy = false;
    }
}

static sqlite3_stmt *prep(ck_store *s, const char *sql, ck_err *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare_kept(s, sql, &st) != SQLITE_OK) {
        db_fail(s, err, "prepare");
        return NULL;
    }
    return st;
}

/* Version 1: a change counter that every write bumps in its own
 * transaction, so that any connection sees other connections' changes. */
static const char *const counted_tables[] = {"node", "certificate", "trust", "processconfig", "publishedfile",
                                             "auditlog"};

/* Every write to table bumps the change counter. */
static int count_changes_of(ck_store *s, const char *table, ck_err *err)
{
    static const char *const ops[] = {"INSERT", "UPDATE", "DELETE"};
    for (size_t o = 0; o < 3; o++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "CREATE TRIGGER %s_%s_counts AFTER %s ON %s BEGIN "
                 "UPDATE changecounter SET value=value+1; END;",
                 table, ops[o], ops[o], table);
        if (exec(s, sql, err) < 0)
            return -1;
    }
    return 0;
}

static int migrate_to_v1(ck_store *s, ck_err *err)
{
    if (exec(s, "CREATE TABLE changecounter(id INTEGER PRIMARY KEY CHECK(id=1), value INTEGER NOT NULL);"
                "INSERT INTO changecounter VALUES(1, 0);",
             err) < 0)
        return -1;
    for (size_t t = 0; t < sizeof counted_tables / sizeof counted_tables[0]; t++)
        if (count_changes_of(s, counted_tables[t], err) < 0)
            return -1;
    return 0;
}

/* Version 2: what each node's daemon reports it serves. Not counted by the
 * change counter: a daemon's report is no change of the cluster. */
static int migrate_to_v2(ck_store *s, ck_err *err)
{
    return exec(s,
                "CREATE TABLE servedfile("
                "  node TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, md5 TEXT NOT NULL,"
                "  sha1 TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY(node, name));",
                err);
}

/* Version 3: devices (phones), counted like every other table. Columns
 * as docs/phones-capf.md lists them. */
static int migrate_to_v3(ck_store *s, ck_err *err)
{
    if (exec(s,
             "CREATE TABLE device("
             "  name TEXT PRIMARY KEY, model TEXT NOT NULL,"
             "  profile TEXT NOT NULL CHECK(profile IN ('non-secure','authenticated','encrypted')),"
             "  encrconfig INTEGER NOT NULL, template TEXT,"
             "  capfoperation TEXT NOT NULL, capfauth TEXT NOT NULL, capfstring TEXT NOT NULL,"
             "  keytype TEXT NOT NULL, keysize INTEGER NOT NULL, completesby INTEGER NOT NULL,"
             "  lscserial TEXT NOT NULL, lscnotbefore INTEGER NOT NULL, lscnotafter INTEGER NOT NULL, lscpem TEXT,"
             "  capfresult TEXT NOT NULL, capfresultat INTEGER NOT NULL, changed INTEGER NOT NULL);",
             err) < 0)
        return -1;
    static const char *const ops[] = {"INSERT", "UPDATE", "DELETE"};
    for (size_t o = 0; o < 3; o++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "CREATE TRIGGER device_%s_counts AFTER %s ON device BEGIN "
                 "UPDATE changecounter SET value=value+1; END;",
                 ops[o], ops[o]);
        if (exec(s, sql, err) < 0)
            return -1;
    }
    return 0;
}

/* Version 4: service restart requests, counted so that the node's daemon
 * sees a new one on its next poll of the counter. */
static int migrate_to_v4(ck_store *s, ck_err *err)
{
    if (exec(s, "CREATE TABLE servicerestart("
                "  id INTEGER PRIMARY KEY, node TEXT NOT NULL, service TEXT NOT NULL, who TEXT NOT NULL,"
                "  requested INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, result TEXT NOT NULL DEFAULT '');",
             err) < 0)
        return -1;
    return count_changes_of(s, "servicerestart", err);
}

/* Version 5: the phones the nodes have seen. Not counted: a daemon's
 * flush of phone sightings is no change of the cluster to recache for. */
static int migrate_to_v5(ck_store *s, ck_err *err)
{
    return exec(s, CK_PHONE_TABLE_SQL("INTEGER"), err);
}

/* Version 6: when each node joined (0: made with the cluster). A node
 * that joined before this version gets the time of its audit row. */
static int migrate_to_v6(ck_store *s, ck_err *err)
{
    return exec(s,
                "ALTER TABLE node ADD COLUMN joined INTEGER NOT NULL DEFAULT 0;"
                "UPDATE node SET joined = COALESCE((SELECT max(at) FROM auditlog WHERE auditlog.node = node.name"
                "  AND auditlog.action = 'node ' || node.name || ' joined the cluster'), 0);",
                err);
}

static int (*const migrations[CK_STORE_SCHEMA_VERSION])(ck_store *, ck_err *) = {
    migrate_to_v1, migrate_to_v2, migrate_to_v3, migrate_to_v4, migrate_to_v5, migrate_to_v6};

static int user_version(ck_store *s)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(DB(s), "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    unprep(s, st);
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
    kept_clear((sq_store *)s);
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

static int sq_try_begin(ck_store *s, ck_err *err)
{
    if (((sq_store *)s)->in_tx)
        return ck_fail(err, CK_ESTATE, "cluster database: transaction already open");
    sqlite3_busy_timeout(DB(s), 0);
    int rc = sqlite3_exec(DB(s), "BEGIN IMMEDIATE", NULL, NULL, NULL);
    sqlite3_busy_timeout(DB(s), 15000);
    if (rc == SQLITE_BUSY)
        return 1;
    if (rc != SQLITE_OK)
        return db_fail(s, err, "begin");
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

/* Truncates to n - 1 bytes like snprintf, without its cost: phone lists
 * copy a hundred thousand fields a page. */
static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(dst, t, len);
    dst[len] = '\0';
}

static char *dup_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t ? (const char *)t : "");
}

/* --- nodes --- */

#define NODE_COLS "name, role, ipaddress, tftp_port, tvs_port, provider_port, position, joined"

static int sq_add_node(ck_store *s, const ck_node *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT INTO node(" NODE_COLS ") VALUES(?,?,?,?,?,?,?,?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->publisher ? "publisher" : "subscriber", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, n->tftp_port);
    sqlite3_bind_int(st, 5, n->tvs_port);
    sqlite3_bind_int(st, 6, n->provider_port);
    sqlite3_bind_int(st, 7, n->position);
    sqlite3_bind_int64(st, 8, n->joined);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "add node");
    unprep(s, st);
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
    n->joined = sqlite3_column_int64(st, 7);
}

static int sq_set_node_joined(ck_store *s, const char *node, int64_t at, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "UPDATE node SET joined=? WHERE name=?", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, at);
    sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "record the join");
    if (rc == 0 && sqlite3_changes(DB(s)) == 0)
        rc = ck_fail(err, CK_ENOTFOUND, "no node named '%s' in this cluster", node);
    unprep(s, st);
    return rc;
}

static int sq_get_node(ck_store *s, const char *name, ck_node *out, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " NODE_COLS " FROM node WHERE name=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        node_from_row(st, out);
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
    return rc;
}

/* --- what the daemons serve --- */

/* A daemon's report must not stall its loop behind an admin's
 * transaction: a short wait, then the caller skips and retries later. */
#define SERVED_BUSY_MS 200

static int sq_put_served(ck_store *s, const ck_served_row *r, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO servedfile VALUES(?,?,?,?,?,?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, r->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->version);
    sqlite3_bind_text(st, 4, r->md5, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->sha1, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, r->since);
    sqlite3_busy_timeout(DB(s), SERVED_BUSY_MS);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "record a served file");
    sqlite3_busy_timeout(DB(s), 15000);
    unprep(s, st);
    return rc;
}

static int sq_delete_served(ck_store *s, const char *node, const char *name, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "DELETE FROM servedfile WHERE node=? AND name=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_busy_timeout(DB(s), SERVED_BUSY_MS);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "forget a served file");
    sqlite3_busy_timeout(DB(s), 15000);
    unprep(s, st);
    return rc;
}

static int sq_list_served(ck_store *s, const char *node, ck_served_row **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s,
                            "SELECT servedfile.node, servedfile.name, version, md5, sha1, since FROM servedfile "
                            "LEFT JOIN node ON node.name=servedfile.node WHERE ?1 IS NULL OR servedfile.node=?1 "
                            "ORDER BY node.position, servedfile.node, servedfile.name",
                            err);
    if (!st)
        return -1;
    if (node)
        sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    ck_served_row *v = NULL;
    size_t cap = 0, count = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (ck_store_grow((void **)&v, &cap, count, sizeof *v) < 0) {
            unprep(s, st);
            free(v);
            return ck_fail(err, CK_ENOMEM, "out of memory");
        }
        ck_served_row *r = &v[count++];
        memset(r, 0, sizeof *r);
        copy_text(r->node, sizeof r->node, st, 0);
        copy_text(r->name, sizeof r->name, st, 1);
        r->version = sqlite3_column_int64(st, 2);
        copy_text(r->md5, sizeof r->md5, st, 3);
        copy_text(r->sha1, sizeof r->sha1, st, 4);
        r->since = sqlite3_column_int64(st, 5);
    }
    int rc = step == SQLITE_DONE ? 0 : db_fail(s, err, "list served files");
    unprep(s, st);
    if (rc < 0) {
        free(v);
        return -1;
    }
    *out = v;
    *n = count;
    return 0;
}

/* --- devices --- */

#define DEVICE_COLS                                                                                                   \
    "name, model, profile, encrconfig, template, capfoperation, capfauth, capfstring, keytype, keysize, completesby, " \
    "lscserial, lscnotbefore, lscnotafter, lscpem, capfresult, capfresultat, changed"

static int sq_put_device(ck_store *s, const ck_device_row *d, int64_t now, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO device(" DEVICE_COLS ") "
                               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            err);
    if (!st)
        return -1;
    int i = 1;
    sqlite3_bind_text(st, i++, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->profile, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, d->encrypted_config);
    if (d->template_xml)
        sqlite3_bind_text(st, i++, d->template_xml, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i++);
    sqlite3_bind_text(st, i++, d->operation, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->auth_mode, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->auth_string, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, d->key_type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, d->key_size);
    sqlite3_bind_int64(st, i++, d->completes_by);
    sqlite3_bind_text(st, i++, d->lsc_serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, i++, d->lsc_not_before);
    sqlite3_bind_int64(st, i++, d->lsc_not_after);
    if (d->lsc_pem)
        sqlite3_bind_text(st, i++, d->lsc_pem, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i++);
    sqlite3_bind_text(st, i++, d->last_result, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, i++, d->last_result_at);
    sqlite3_bind_int64(st, i++, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "store device");
    unprep(s, st);
    return rc;
}

/* NULL stays NULL (no template, no LSC); false when out of memory. */
static bool dup_nullable(sqlite3_stmt *st, int col, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return true;
    return (*out = dup_text(st, col)) != NULL;
}

static bool device_from_row(sqlite3_stmt *st, ck_device_row *d)
{
    memset(d, 0, sizeof *d);
    copy_text(d->name, sizeof d->name, st, 0);
    copy_text(d->model, sizeof d->model, st, 1);
    copy_text(d->profile, sizeof d->profile, st, 2);
    d->encrypted_config = sqlite3_column_int(st, 3) != 0;
    copy_text(d->operation, sizeof d->operation, st, 5);
    copy_text(d->auth_mode, sizeof d->auth_mode, st, 6);
    copy_text(d->auth_string, sizeof d->auth_string, st, 7);
    copy_text(d->key_type, sizeof d->key_type, st, 8);
    d->key_size = sqlite3_column_int(st, 9);
    d->completes_by = sqlite3_column_int64(st, 10);
    copy_text(d->lsc_serial, sizeof d->lsc_serial, st, 11);
    d->lsc_not_before = sqlite3_column_int64(st, 12);
    d->lsc_not_after = sqlite3_column_int64(st, 13);
    copy_text(d->last_result, sizeof d->last_result, st, 15);
    d->last_result_at = sqlite3_column_int64(st, 16);
    d->changed_at = sqlite3_column_int64(st, 17);
    return dup_nullable(st, 4, &d->template_xml) && dup_nullable(st, 14, &d->lsc_pem);
}

static int sq_get_device(ck_store *s, const char *name, ck_device_row *out, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " DEVICE_COLS " FROM device WHERE name=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW && device_from_row(st, out);
    unprep(s, st);
    if (rc == SQLITE_ROW && !ok) {
        ck_device_row_clear(out);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return ck_fail(err, CK_ENOTFOUND, "no device named '%s' in this cluster", name);
    return db_fail(s, err, "get device");
}

static int sq_list_devices(ck_store *s, ck_device_row **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " DEVICE_COLS " FROM device ORDER BY name", err);
    if (!st)
        return -1;
    ck_device_row *v = NULL;
    size_t cap = 0, count = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (ck_store_grow((void **)&v, &cap, count, sizeof *v) < 0) {
            rc = ck_fail(err, CK_ENOMEM, "out of memory");
            break;
        }
        if (!device_from_row(st, &v[count++])) {
            rc = ck_fail(err, CK_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_fail(s, err, "list devices");
    unprep(s, st);
    if (rc < 0) {
        ck_device_rows_free(v, count);
        return -1;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sq_delete_device(ck_store *s, const char *name, int *deleted, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "DELETE FROM device WHERE name=?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "delete device");
    if (rc == 0)
        *deleted = sqlite3_changes(DB(s));
    unprep(s, st);
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
    unprep(s, st);
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
    unprep(s, st);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    *out = v;
    *n = count;
    return 0;
}

/* --- service restart requests --- */

static void restart_row(sqlite3_stmt *st, ck_restart_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    copy_text(r->node, sizeof r->node, st, 1);
    copy_text(r->service, sizeof r->service, st, 2);
    copy_text(r->who, sizeof r->who, st, 3);
    r->requested = sqlite3_column_int64(st, 4);
    r->done = sqlite3_column_int64(st, 5);
    copy_text(r->result, sizeof r->result, st, 6);
}

#define RESTART_COLUMNS "id, node, service, who, requested, done, result"

static int sq_request_restart(ck_store *s, const char *node, const char *service, const char *who, int64_t now,
                              int64_t *id, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "DELETE FROM servicerestart WHERE done<>0 AND requested<?", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now - 86400);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "prune restart requests");
    unprep(s, st);
    if (rc < 0 || !(st = prep(s, "INSERT INTO servicerestart(node, service, who, requested) VALUES(?,?,?,?)", err)))
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "request a restart");
    unprep(s, st);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(DB(s));
    return rc;
}

static int sq_pending_restarts(ck_store *s, const char *node, ck_restart_row **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st =
        prep(s, "SELECT " RESTART_COLUMNS " FROM servicerestart WHERE node=? AND done=0 ORDER BY id", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    ck_restart_row *v = NULL;
    size_t count = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (ck_store_grow((void **)&v, &cap, count, sizeof *v) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        restart_row(st, &v[count++]);
    }
    int ret = rc == SQLITE_DONE ? 0 : db_fail(s, err, "list restart requests");
    unprep(s, st);
    if (ret < 0) {
        free(v);
        return -1;
    }
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
    unprep(s, st);
    if (own_tx && rc == 0)
        rc = exec(s, "COMMIT", err);
    if (own_tx && rc < 0)
        sqlite3_exec(DB(s), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void read_phone(sqlite3_stmt *st, ck_phone_row *p)
{
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

/* Every row st yields, as phones. */
static int read_phones(ck_store *s, sqlite3_stmt *st, ck_phone_row **out, size_t *n, ck_err *err)
{
    ck_phone_row *v = NULL;
    size_t cap = 0, count = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (ck_store_grow((void **)&v, &cap, count, sizeof *v) < 0) {
            rc = ck_fail(err, CK_ENOMEM, "out of memory");
            break;
        }
        read_phone(st, &v[count++]);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_fail(s, err, "list phones");
    if (rc < 0) {
        free(v);
        return -1;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sq_list_phones(ck_store *s, ck_phone_row **out, size_t *n, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " CK_PHONE_COLS " FROM phone ORDER BY mac", err);
    if (!st)
        return -1;
    int rc = read_phones(s, st, out, n, err);
    unprep(s, st);
    return rc;
}

static void bind_phone_query(sqlite3_stmt *st, const ck_phone_query *q)
{
    sqlite3_bind_text(st, 1, q->model ? q->model : "*", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, q->mac ? q->mac : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)q->state);
    sqlite3_bind_text(st, 4, q->ctl_md5 ? q->ctl_md5 : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, q->since);
}

static int sq_page_phones(ck_store *s, const ck_phone_query *q, size_t offset, size_t limit, ck_phone_row **out,
                          size_t *n, size_t *total, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT count(*) FROM phone" CK_PHONE_WHERE_SQL, err);
    if (!st)
        return -1;
    bind_phone_query(st, q);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : db_fail(s, err, "count phones");
    if (rc == 0)
        *total = (size_t)sqlite3_column_int64(st, 0);
    unprep(s, st);
    if (rc < 0)
        return -1;
    st = prep(s, "SELECT " CK_PHONE_COLS " FROM phone" CK_PHONE_WHERE_SQL " ORDER BY mac LIMIT $6 OFFSET $7", err);
    if (!st)
        return -1;
    bind_phone_query(st, q);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)limit);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)offset);
    rc = read_phones(s, st, out, n, err);
    unprep(s, st);
    return rc;
}

static int sq_finish_restart(ck_store *s, int64_t id, const char *result, int64_t now, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "UPDATE servicerestart SET done=?, result=? WHERE id=? AND done=0", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now ? now : 1);
    sqlite3_bind_text(st, 2, result, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, "answer a restart request");
    unprep(s, st);
    return rc;
}

static int sq_get_restart(ck_store *s, int64_t id, ck_restart_row *out, ck_err *err)
{
    sqlite3_stmt *st = prep(s, "SELECT " RESTART_COLUMNS " FROM servicerestart WHERE id=?", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        restart_row(st, out);
    unprep(s, st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? ck_fail(err, CK_ENOTFOUND, "no restart request %lld", (long long)id)
                             : db_fail(s, err, "read a restart request");
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
        unprep(s, st);
        return ck_fail(err, CK_EINVAL, "one statement at a time");
    }
    /* `run sql` is for reading: a statement that would write is refused
     * before it runs (use the admin commands to change the cluster). */
    if (!sqlite3_stmt_readonly(st)) {
        unprep(s, st);
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
    unprep(s, st);
    return rc;
}

static int64_t sq_change_counter(ck_store *s, ck_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (prepare_kept(s, "SELECT value FROM changecounter", &st) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        ck_fail(err, CK_EIO, "cluster database: change counter: %s", sqlite3_errmsg(DB(s)));
    unprep(s, st);
    return v;
}

static int sq_notify_fd(ck_store *s)
{
    return -1;
}

static bool sq_drain_notifications(ck_store *s)
{
    return false;
}

static const ck_store_ops sqlite_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .try_begin = sq_try_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .add_node = sq_add_node,
    .get_node = sq_get_node,
    .publisher = sq_publisher,
    .list_nodes = sq_list_nodes,
    .set_node_joined = sq_set_node_joined,
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
    .put_served = sq_put_served,
    .delete_served = sq_delete_served,
    .list_served = sq_list_served,
    .put_device = sq_put_device,
    .get_device = sq_get_device,
    .list_devices = sq_list_devices,
    .delete_device = sq_delete_device,
    .audit = sq_audit,
    .list_audit = sq_list_audit,
    .request_restart = sq_request_restart,
    .pending_restarts = sq_pending_restarts,
    .finish_restart = sq_finish_restart,
    .get_restart = sq_get_restart,
    .merge_phones = sq_merge_phones,
    .list_phones = sq_list_phones,
    .page_phones = sq_page_phones,
    .query_readonly = sq_query_readonly,
    .change_counter = sq_change_counter,
    .notify_fd = sq_notify_fd,
    .drain_notifications = sq_drain_notifications,
};
