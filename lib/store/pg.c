/* PostgreSQL backend of the cluster store (include/ctlkit/store.h): one
 * database per cluster, reached through libpq with a postgresql:// URL.
 *
 * The tables have the same names and columns as on SQLite so that `run
 * sql` answers alike. Admins serialize on a transaction-scoped advisory
 * lock; every write bumps changecounter and sends NOTIFY ctlkit_store in
 * the writing transaction (delivered at commit).
 *
 * Every statement runs with a deadline (exec_statement, pg_wait.h): a
 * server that stops answering costs a caller at most that long, then the
 * connection is given up and every later call on it fails at once; its
 * owner reconnects (ctlkitd, with back-off) or reports. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/backend.h"
#include "store/pg_wait.h"

/* The advisory lock every admin transaction takes ("ctlk"). */
#define CLUSTER_LOCK_KEY "1668574315"
#define NOTIFY_CHANNEL "ctlkit_store"
/* A role with SELECT only, used by `run sql` where it could be created. */
#define SQL_READER_ROLE "ctlkit_sql_reader"
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct pg_store {
    ck_store base;
    PGconn *conn;
    bool in_tx;
    int timeout_s; /* how long the server may stay silent (CTLKIT_PG_TIMEOUT) */
    bool broken;   /* a statement outlived its deadline: the connection is given up */
    char masked[512]; /* the address without its password: names the database in every error */
} pg_store;

static PGconn *CONN(ck_store *s) { return ((pg_store *)s)->conn; }

/* Lock waits (55P03) and serialization failures are "try again" states,
 * the rest input/output errors. */
static int pg_fail(ck_err *err, const PGresult *r, ck_store *s, const char *what)
{
    PGconn *c = CONN(s);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(c);
    ck_code code = state && (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0) ? CK_ESTATE : CK_EIO;
    /* An admin on a host far from the database must see which one failed. */
    ck_fail(err, code, "cluster database %s: %s: %s", ((pg_store *)s)->masked, what, msg);
    /* libpq's messages end in a newline: one line only. */
    if (err)
        err->msg[strcspn(err->msg, "\n")] = 0;
    return -1;
}

/* The server let a statement's deadline pass: ask it to cancel the
 * statement and give the connection up. */
static void give_up(ck_store *s, int waited_s, const char *what, ck_err *err)
{
    pg_store *q = (pg_store *)s;
    q->broken = true;
    ck_pg_cancel(q->conn, ck_pg_deadline(0)); /* the connection is dropped: no later statement to spare */
    ck_fail(err, CK_EIO, "cluster database %s: %s: the server did not answer within %d s; giving the connection up",
            q->masked, what, waited_s);
}

/* Whether a statement may be sent on this connection. */
static bool usable(ck_store *s, const char *what, ck_err *err)
{
    pg_store *q = (pg_store *)s;
    if (q->broken)
        ck_fail(err, CK_EIO,
                "cluster database %s: %s: the connection was given up after the server did not answer within %d s",
                q->masked, what, q->timeout_s);
    return !q->broken;
}

/* The next result of the statement sent, as PQgetResult, but waiting no
 * later than the deadline: NULL when the statement is done; NULL and
 * *failed (and *err) when the deadline passed or the connection broke. */
static PGresult *next_result(ck_store *s, int64_t deadline, int waited_s, const char *what, bool *failed,
                             ck_err *err)
{
    int rc = ck_pg_wait(CONN(s), deadline);
    *failed = rc != 0;
    if (rc > 0)
        give_up(s, waited_s, what, err);
    else if (rc < 0)
        pg_fail(err, NULL, s, what);
    return rc == 0 ? PQgetResult(CONN(s)) : NULL;
}

/* Sends a statement without waiting (simple: the simple protocol, several
 * statements of our own at once; else one statement with n text
 * parameters, binary where lens says so); its results come through
 * next_result. Every statement of this backend is sent here. */
static bool send_statement(ck_store *s, const char *sql, bool simple, int n, const char *const *vals, const int *lens,
                           const char *what, ck_err *err)
{
    if (!usable(s, what, err))
        return false;
    int fmts[8] = {0};
    for (int i = 0; lens && i < n && i < 8; i++)
        fmts[i] = lens[i] >= 0;
    int sent = simple ? PQsendQuery(CONN(s), sql)
                      : PQsendQueryParams(CONN(s), sql, n, NULL, vals, lens, lens ? fmts : NULL, 0);
    if (!sent)
        pg_fail(err, NULL, s, what);
    return sent;
}

/* Runs a statement (send_statement) and waits for its answer until
 * timeout_s plus wait_s (what the statement may wait on purpose: a lock).
 * The first error result, else the last; NULL and *err when the deadline
 * passed or the connection was lost. */
static PGresult *exec_statement(ck_store *s, const char *sql, bool simple, int n, const char *const *vals,
                                const int *lens, int wait_s, const char *what, ck_err *err)
{
    if (!send_statement(s, sql, simple, n, vals, lens, what, err))
        return NULL;
    int waited_s = ((pg_store *)s)->timeout_s + wait_s;
    int64_t deadline = ck_pg_deadline(waited_s);
    PGresult *keep = NULL, *r;
    bool failed = false;
    while ((r = next_result(s, deadline, waited_s, what, &failed, err)) != NULL) {
        ExecStatusType st = PQresultStatus(keep);
        if (keep && (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE)) {
            PQclear(r); /* the first error is the one to report */
            continue;
        }
        PQclear(keep);
        keep = r;
    }
    if (failed) {
        PQclear(keep);
        return NULL;
    }
    if (!keep)
        pg_fail(err, NULL, s, what);
    return keep;
}

/* One statement; NULL and *err filled unless it returned `want`. */
static PGresult *run_waiting(ck_store *s, const char *sql, int n, const char *const *vals, const int *lens,
                             ExecStatusType want, int wait_s, const char *what, ck_err *err)
{
    PGresult *r = exec_statement(s, sql, false, n, vals, lens, wait_s, what, err);
    if (!r || PQresultStatus(r) == want)
        return r;
    pg_fail(err, r, s, what);
    PQclear(r);
    return NULL;
}

static PGresult *run(ck_store *s, const char *sql, int n, const char *const *vals, const int *lens,
                     ExecStatusType want, const char *what, ck_err *err)
{
    return run_waiting(s, sql, n, vals, lens, want, 0, what, err);
}

static int run_cmd(ck_store *s, const char *sql, int n, const char *const *vals, const char *what, ck_err *err)
{
    PGresult *r = run(s, sql, n, vals, NULL, PGRES_COMMAND_OK, what, err);
    PQclear(r);
    return r ? 0 : -1;
}

/* Several statements of our own (the schema): the simple protocol. */
static int run_script(ck_store *s, const char *sql, const char *what, ck_err *err)
{
    PGresult *r = exec_statement(s, sql, true, 0, NULL, NULL, 0, what, err);
    if (!r)
        return -1;
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(err, r, s, what);
    PQclear(r);
    return rc;
}

/* A statement whose failure the caller has nothing to add to (ROLLBACK
 * after a failure, the optional reader role's savepoint). */
static void run_quietly(ck_store *s, const char *sql)
{
    run_cmd(s, sql, 0, NULL, "", NULL);
}

static int64_t num(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void copy_val(char *dst, size_t n, const PGresult *r, int row, int col)
{
    snprintf(dst, n, "%s", PQgetvalue(r, row, col));
}

/* --- schema --- */

/* Version 0: the tables, as SQLite's version 0 has them. */
static const char schema_v0[] =
    "CREATE TABLE node("
    "  name text PRIMARY KEY, role text NOT NULL CHECK(role IN ('publisher','subscriber')),"
    "  ipaddress text NOT NULL, tftp_port integer NOT NULL, tvs_port integer NOT NULL,"
    "  provider_port integer NOT NULL, position integer NOT NULL);"
    "CREATE TABLE certificate("
    "  node text NOT NULL, unit text NOT NULL, serial text NOT NULL, subject text NOT NULL,"
    "  issuer text NOT NULL, notafter bigint NOT NULL, changed bigint NOT NULL, pem text NOT NULL,"
    "  PRIMARY KEY(node, unit));"
    "CREATE TABLE trust("
    "  id bigserial PRIMARY KEY, purpose text NOT NULL, serial text NOT NULL, subject text NOT NULL,"
    "  issuer text NOT NULL, notafter bigint NOT NULL, changed bigint NOT NULL, description text NOT NULL,"
    "  pem text NOT NULL, UNIQUE(purpose, serial, issuer));"
    "CREATE TABLE processconfig(paramname text PRIMARY KEY, paramvalue text NOT NULL);"
    "CREATE TABLE publishedfile("
    "  node text NOT NULL, name text NOT NULL, data bytea NOT NULL, md5 text NOT NULL, sha1 text NOT NULL,"
    "  version bigint NOT NULL, modified bigint NOT NULL, PRIMARY KEY(node, name));"
    "CREATE TABLE auditlog("
    "  id bigserial PRIMARY KEY, at bigint NOT NULL, who text NOT NULL, node text NOT NULL, action text NOT NULL);"
    "CREATE TABLE ctlkit_schema(version integer NOT NULL);"
    "INSERT INTO ctlkit_schema VALUES(0);";

/* Version 1: the change counter, bumped (and NOTIFY sent) by a statement
 * trigger on every table, in the writing transaction. */
static const char schema_v1[] =
    "CREATE TABLE changecounter(id integer PRIMARY KEY CHECK(id=1), value bigint NOT NULL);"
    "INSERT INTO changecounter VALUES(1, 0);"
    "CREATE FUNCTION ctlkit_count_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  UPDATE changecounter SET value = value + 1;"
    "  PERFORM pg_notify('" NOTIFY_CHANNEL "', '');"
    "  RETURN NULL; END $$;"
    "CREATE TRIGGER node_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON node"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();"
    "CREATE TRIGGER certificate_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON certificate"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();"
    "CREATE TRIGGER trust_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trust"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();"
    "CREATE TRIGGER processconfig_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON processconfig"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();"
    "CREATE TRIGGER publishedfile_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON publishedfile"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();"
    "CREATE TRIGGER auditlog_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON auditlog"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();";

/* Version 2: what each node's daemon reports it serves; no trigger: a
 * daemon's report is no change of the cluster and wakes nobody. */
static const char schema_v2[] =
    "CREATE TABLE servedfile("
    "  node text NOT NULL, name text NOT NULL, version bigint NOT NULL, md5 text NOT NULL, sha1 text NOT NULL,"
    "  since bigint NOT NULL, PRIMARY KEY(node, name));";
/* Version 3: devices (phones), as on SQLite. */
static const char schema_v3[] =
    "CREATE TABLE device("
    "  name text PRIMARY KEY, model text NOT NULL,"
    "  profile text NOT NULL CHECK(profile IN ('non-secure','authenticated','encrypted')),"
    "  encrconfig integer NOT NULL, template text,"
    "  capfoperation text NOT NULL, capfauth text NOT NULL, capfstring text NOT NULL,"
    "  keytype text NOT NULL, keysize integer NOT NULL, completesby bigint NOT NULL,"
    "  lscserial text NOT NULL, lscnotbefore bigint NOT NULL, lscnotafter bigint NOT NULL, lscpem text,"
    "  capfresult text NOT NULL, capfresultat bigint NOT NULL, changed bigint NOT NULL);"
    "CREATE TRIGGER device_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON device"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();";

/* Version 4: service restart requests (the counter's trigger wakes the
 * node's daemon when a request is added). */
static const char schema_v4[] =
    "CREATE TABLE servicerestart("
    "  id bigserial PRIMARY KEY, node text NOT NULL, service text NOT NULL, who text NOT NULL,"
    "  requested bigint NOT NULL, done bigint NOT NULL DEFAULT 0, result text NOT NULL DEFAULT '');"
    "CREATE TRIGGER servicerestart_counts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON servicerestart"
    "  FOR EACH STATEMENT EXECUTE FUNCTION ctlkit_count_change();";

/* Version 5: the phones the nodes have seen, without a change-counter
 * trigger (a flush of sightings is no change of the cluster). */
static const char schema_v5[] = CK_PHONE_TABLE_SQL("bigint");

/* Version 6: when each node joined (0: made with the cluster). A node
 * that joined before this version gets the time of its audit row. */
static const char schema_v6[] =
    "ALTER TABLE node ADD COLUMN joined bigint NOT NULL DEFAULT 0;"
    "UPDATE node SET joined = COALESCE((SELECT max(at) FROM auditlog WHERE auditlog.node = node.name"
    "  AND auditlog.action = 'node ' || node.name || ' joined the cluster'), 0);";

static const char *const migrations[CK_STORE_SCHEMA_VERSION] = {schema_v1, schema_v2, schema_v3, schema_v4,
                                                                schema_v5, schema_v6};

/* The read-only role for `run sql`: needs CREATEROLE, so it is tried in a
 * savepoint and skipped where the cluster's database user may not. */
static void try_reader_role(ck_store *s)
{
    run_quietly(s, "SAVEPOINT reader");
    PGresult *r = run(s, "DO $$ BEGIN"
                                  "  IF to_regrole('" SQL_READER_ROLE "') IS NULL THEN"
                                  "    CREATE ROLE " SQL_READER_ROLE " NOLOGIN; END IF;"
                                  "  EXECUTE format('GRANT " SQL_READER_ROLE " TO %I', current_user);"
                                  "  GRANT USAGE ON SCHEMA public TO " SQL_READER_ROLE ";"
                                  "  GRANT SELECT ON ALL TABLES IN SCHEMA public TO " SQL_READER_ROLE ";"
                                  "END $$", 0, NULL, NULL, PGRES_COMMAND_OK, "reader role", NULL);
    bool ok = r != NULL;
    PQclear(r);
    run_quietly(s, ok ? "RELEASE SAVEPOINT reader" : "ROLLBACK TO SAVEPOINT reader");
}

static int upgrade(ck_store *s, const char *masked, bool create, ck_err *err)
{
    if (run_cmd(s, "BEGIN", 0, NULL, "begin", err) < 0)
        return -1;
    /* Two programs opening a new cluster at once: one creates, the other
     * waits and then finds the tables. */
    PGresult *r = run(s, "SELECT pg_advisory_xact_lock(" CLUSTER_LOCK_KEY "), to_regclass('ctlkit_schema') IS NULL",
                      0, NULL, NULL, PGRES_TUPLES_OK, "lock", err);
    int rc = r ? 0 : -1;
    bool empty = r && strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if (rc == 0 && empty && !create)
        rc = ck_fail(err, CK_ENOTFOUND, "%s: no ctlkit cluster in this database", masked);
    else if (rc == 0 && empty)
        rc = run_script(s, schema_v0, "create tables", err);
    int version = -1;
    if (rc == 0 && (r = run(s, "SELECT version FROM ctlkit_schema", 0, NULL, NULL, PGRES_TUPLES_OK, "schema version",
                            err)) != NULL) {
        version = PQntuples(r) == 1 ? (int)num(r, 0, 0) : -1;
        PQclear(r);
    } else
        rc = -1;
    if (rc == 0 && version < 0)
        rc = ck_fail(err, CK_EFORMAT, "%s: the schema version table is damaged", masked);
    if (rc == 0 && version > CK_STORE_SCHEMA_VERSION)
        rc = ck_fail(err, CK_ESTATE, "%s: cluster database schema version %d is newer than this ctlkit (%d)", masked,
                     version, CK_STORE_SCHEMA_VERSION);
    for (int v = version; rc == 0 && v < CK_STORE_SCHEMA_VERSION; v++) {
        char sql[64];
        snprintf(sql, sizeof sql, "UPDATE ctlkit_schema SET version=%d", v + 1);
        rc = run_script(s, migrations[v], "upgrade", err) == 0 && run_cmd(s, sql, 0, NULL, "upgrade", err) == 0
                 ? 0
                 : -1;
    }
    if (rc == 0 && version < CK_STORE_SCHEMA_VERSION)
        try_reader_role(s);
    if (rc == 0)
        return run_cmd(s, "COMMIT", 0, NULL, "commit", err);
    run_quietly(s, "ROLLBACK");
    return -1;
}

/* --- connection --- */

/* Replaces every occurrence of the password in a libpq message with "***",
 * in place and bounded by size: the text is rebuilt into a copy, scanning on
 * after each replacement (a password of "*" must not match its own mask),
 * and cut rather than grown past the buffer. */
static void scrub(char *msg, size_t size, const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (!n || !size)
        return;
    char out[1024];
    size_t o = 0, cap = size < sizeof out ? size : sizeof out;
    for (const char *p = msg; *p && o + 1 < cap;) {
        if (strncmp(p, password, n) == 0) {
            for (const char *m = "***"; *m && o + 1 < cap; m++)
                out[o++] = *m;
            p += n;
        } else
            out[o++] = *p++;
    }
    out[o] = 0;
    memcpy(msg, out, o + 1);
}

static char *password_of(const char *url)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    char *pw = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val)
            pw = strdup(o->val);
    PQconninfoFree(opts);
    return pw;
}

static const ck_store_ops pg_ops;

/* libpq prints server notices (and "FATAL: terminating connection" when the
 * server goes away) on stderr by default, into a daemon's log, outside its
 * format; the failures that matter come back through the calls. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

int ck_store_open_pg(const char *url, bool create, ck_store **out, ck_err *err)
{
    char masked[512];
    ck_store_mask_address(url, masked, sizeof masked);
    pg_store *q = calloc(1, sizeof *q);
    if (!q)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    q->base.ops = &pg_ops;
    snprintf(q->masked, sizeof q->masked, "%s", masked);
    /* The URL comes last so that what it says wins; libpq also reads
     * PGPASSFILE, PGSERVICE and the sslmode/sslrootcert it names. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    int connect_s = 0;
    if (ck_pg_timeouts(&q->timeout_s, &connect_s, err) < 0) {
        free(q);
        return -1;
    }
    char connect_timeout[16];
    snprintf(connect_timeout, sizeof connect_timeout, "%d", connect_s);
    const char *const vals[] = {connect_timeout, "ctlkit", url, NULL};
    q->conn = PQconnectdbParams(keys, vals, 1);
    /* Nonblocking: a large statement is sent piece by piece within its
     * deadline (pg_wait.c) instead of blocking on a full socket. */
    if (!q->conn || PQstatus(q->conn) != CONNECTION_OK || PQsetnonblocking(q->conn, 1) != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", q->conn ? PQerrorMessage(q->conn) : "out of memory");
        msg[strcspn(msg, "\n")] = 0;
        char *pw = password_of(url);
        scrub(msg, sizeof msg, pw);
        free(pw);
        ck_fail(err, create ? CK_EIO : CK_ENOTFOUND, "%s: cannot open the cluster database: %s", masked, msg);
        PQfinish(q->conn);
        free(q);
        return -1;
    }
    PQsetNoticeProcessor(q->conn, quiet_notice, NULL);
    if (upgrade(&q->base, masked, create, err) < 0 ||
        run_cmd(&q->base, "LISTEN " NOTIFY_CHANNEL, 0, NULL, "listen", err) < 0) {
        PQfinish(q->conn);
        free(q);
        return -1;
    }
    *out = &q->base;
    return 0;
}

static void pg_rollback(ck_store *s)
{
    pg_store *q = (pg_store *)s;
    if (q->in_tx) {
        run_quietly(s, "ROLLBACK");
        q->in_tx = false;
    }
}

static void pg_close(ck_store *s)
{
    pg_rollback(s);
    PQfinish(CONN(s));
    free(s);
}

/* Waits up to 15 s (as SQLite's busy timeout) for another admin. */
static int pg_begin(ck_store *s, ck_err *err)
{
    pg_store *q = (pg_store *)s;
    if (q->in_tx)
        return ck_fail(err, CK_ESTATE, "cluster database: transaction already open");
    if (run_cmd(s, "BEGIN", 0, NULL, "begin", err) < 0)
        return -1;
    PGresult *r = NULL;
    if (run_cmd(s, "SET LOCAL lock_timeout = '15s'", 0, NULL, "begin", err) < 0 ||
        !(r = run(s, "SELECT pg_advisory_xact_lock(" CLUSTER_LOCK_KEY ")", 0, NULL, NULL, PGRES_TUPLES_OK,
                  "wait for another admin's change", err))) {
        run_quietly(s, "ROLLBACK");
        return -1;
    }
    PQclear(r);
    q->in_tx = true;
    return 0;
}

static int pg_try_begin(ck_store *s, ck_err *err)
{
    pg_store *q = (pg_store *)s;
    if (q->in_tx)
        return ck_fail(err, CK_ESTATE, "cluster database: transaction already open");
    if (run_cmd(s, "BEGIN", 0, NULL, "begin", err) < 0)
        return -1;
    PGresult *r = run(s, "SELECT pg_try_advisory_xact_lock(" CLUSTER_LOCK_KEY ")", 0, NULL, NULL, PGRES_TUPLES_OK,
                      "try the cluster lock", err);
    bool got = r && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!got) {
        run_quietly(s, "ROLLBACK");
        return r ? 1 : -1;
    }
    q->in_tx = true;
    return 0;
}

static int pg_commit(ck_store *s, ck_err *err)
{
    pg_store *q = (pg_store *)s;
    if (!q->in_tx)
        return 0;
    q->in_tx = false;
    return run_cmd(s, "COMMIT", 0, NULL, "commit", err);
}

/* --- nodes --- */

#define NODE_COLS "name, role, ipaddress, tftp_port, tvs_port, provider_port, position, joined"

static int pg_add_node(ck_store *s, const ck_node *n, ck_err *err)
{
    char tftp[16], tvs[16], prov[16], pos[16], joined[24];
    snprintf(tftp, sizeof tftp, "%d", n->tftp_port);
    snprintf(tvs, sizeof tvs, "%d", n->tvs_port);
    snprintf(prov, sizeof prov, "%d", n->provider_port);
    snprintf(pos, sizeof pos, "%d", n->position);
    snprintf(joined, sizeof joined, "%lld", (long long)n->joined);
    const char *v[] = {n->name, n->publisher ? "publisher" : "subscriber", n->ip, tftp, tvs, prov, pos, joined};
    return run_cmd(s, "INSERT INTO node(" NODE_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8)", 8, v, "add node", err);
}

static void node_from_row(const PGresult *r, int i, ck_node *n)
{
    memset(n, 0, sizeof *n);
    copy_val(n->name, sizeof n->name, r, i, 0);
    n->publisher = strcmp(PQgetvalue(r, i, 1), "publisher") == 0;
    copy_val(n->ip, sizeof n->ip, r, i, 2);
    n->tftp_port = (int)num(r, i, 3);
    n->tvs_port = (int)num(r, i, 4);
    n->provider_port = (int)num(r, i, 5);
    n->position = (int)num(r, i, 6);
    n->joined = num(r, i, 7);
}

static int one_node(ck_store *s, const char *sql, const char *arg, ck_node *out, ck_err *err)
{
    PGresult *r = run(s, sql, arg ? 1 : 0, &arg, NULL, PGRES_TUPLES_OK, "get node", err);
    if (!r)
        return -1;
    int found = PQntuples(r) > 0;
    if (found)
        node_from_row(r, 0, out);
    PQclear(r);
    return found ? 0 : 1;
}

static int pg_set_node_joined(ck_store *s, const char *node, int64_t at, ck_err *err)
{
    char when[24];
    snprintf(when, sizeof when, "%lld", (long long)at);
    const char *v[] = {when, node};
    PGresult *r = run(s, "UPDATE node SET joined=$1 WHERE name=$2", 2, v, NULL, PGRES_COMMAND_OK, "record the join",
                      err);
    if (!r)
        return -1;
    bool found = atoi(PQcmdTuples(r)) > 0;
    PQclear(r);
    return found ? 0 : ck_fail(err, CK_ENOTFOUND, "no node named '%s' in this cluster", node);
}

static int pg_get_node(ck_store *s, const char *name, ck_node *out, ck_err *err)
{
    int rc = one_node(s, "SELECT " NODE_COLS " FROM node WHERE name=$1", name, out, err);
    return rc <= 0 ? rc : ck_fail(err, CK_ENOTFOUND, "no node named '%s' in this cluster", name);
}

static int pg_publisher(ck_store *s, ck_node *out, ck_err *err)
{
    int rc = one_node(s, "SELECT " NODE_COLS " FROM node WHERE role='publisher'", NULL, out, err);
    return rc <= 0 ? rc : ck_fail(err, CK_ENOTFOUND, "the cluster has no publisher");
}

static int pg_list_nodes(ck_store *s, ck_node **out, size_t *n, ck_err *err)
{
    PGresult *r = run(s, "SELECT " NODE_COLS " FROM node ORDER BY position", 0, NULL, NULL, PGRES_TUPLES_OK,
                      "list nodes", err);
    if (!r)
        return -1;
    int count = PQntuples(r);
    ck_node *v = calloc((size_t)count + 1, sizeof *v);
    for (int i = 0; v && i < count; i++)
        node_from_row(r, i, &v[i]);
    PQclear(r);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    *out = v;
    *n = (size_t)count;
    return 0;
}

/* --- certificates --- */

#define CERT_COLS "node, unit, serial, subject, issuer, notafter, changed, pem, '', 0"
#define TRUST_COLS "'', purpose, serial, subject, issuer, notafter, changed, pem, description, id"

static bool cert_from_row(const PGresult *r, int i, ck_cert_row *c)
{
    memset(c, 0, sizeof *c);
    copy_val(c->node, sizeof c->node, r, i, 0);
    copy_val(c->unit, sizeof c->unit, r, i, 1);
    copy_val(c->serial, sizeof c->serial, r, i, 2);
    c->subject = strdup(PQgetvalue(r, i, 3));
    c->issuer = strdup(PQgetvalue(r, i, 4));
    c->not_after = num(r, i, 5);
    c->changed_at = num(r, i, 6);
    c->pem = strdup(PQgetvalue(r, i, 7));
    c->description = strdup(PQgetvalue(r, i, 8));
    c->id = num(r, i, 9);
    return c->subject && c->issuer && c->pem && c->description;
}

static int pg_put_cert(ck_store *s, const ck_cert_row *c, int64_t now, ck_err *err)
{
    char na[24], ch[24];
    snprintf(na, sizeof na, "%lld", (long long)c->not_after);
    snprintf(ch, sizeof ch, "%lld", (long long)now);
    const char *v[] = {c->node, c->unit, c->serial, c->subject, c->issuer, na, ch, c->pem};
    return run_cmd(s,
                   "INSERT INTO certificate VALUES($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT(node, unit) DO UPDATE SET "
                   "serial=$3, subject=$4, issuer=$5, notafter=$6, changed=$7, pem=$8",
                   8, v, "store certificate", err);
}

static int list_rows(ck_store *s, const char *sql, int nargs, const char *const *args, ck_cert_row **out, size_t *n,
                     ck_err *err)
{
    PGresult *r = run(s, sql, nargs, args, NULL, PGRES_TUPLES_OK, "list certificates", err);
    if (!r)
        return -1;
    int count = PQntuples(r);
    ck_cert_row *v = calloc((size_t)count + 1, sizeof *v);
    bool ok = v != NULL;
    for (int i = 0; ok && i < count; i++)
        ok = cert_from_row(r, i, &v[i]);
    PQclear(r);
    if (!ok) {
        ck_cert_rows_free(v, (size_t)count);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    *out = v;
    *n = (size_t)count;
    return 0;
}

static int pg_get_cert(ck_store *s, const char *node, const char *unit, ck_cert_row *out, ck_err *err)
{
    const char *v[] = {node, unit};
    ck_cert_row *rows = NULL;
    size_t n = 0;
    if (list_rows(s, "SELECT " CERT_COLS " FROM certificate WHERE node=$1 AND unit=$2", 2, v, &rows, &n, err) < 0)
        return -1;
    if (n == 0) {
        free(rows);
        return ck_fail(err, CK_ENOTFOUND, "node %s has no %s certificate", node, unit);
    }
    *out = rows[0];
    free(rows);
    return 0;
}

static int pg_list_certs(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return list_rows(s,
                     "SELECT " CERT_COLS " FROM certificate JOIN node ON node.name=certificate.node "
                     "ORDER BY node.position, unit",
                     0, NULL, out, n, err);
}

static int pg_list_trust(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err)
{
    return list_rows(s, "SELECT " TRUST_COLS " FROM trust ORDER BY purpose, id", 0, NULL, out, n, err);
}

static int pg_add_trust(ck_store *s, const ck_cert_row *c, int64_t now, ck_err *err)
{
    char na[24], ch[24];
    snprintf(na, sizeof na, "%lld", (long long)c->not_after);
    snprintf(ch, sizeof ch, "%lld", (long long)now);
    const char *v[] = {c->unit, c->serial, c->subject, c->issuer, na, ch, c->description ? c->description : "", c->pem};
    return run_cmd(s,
                   "INSERT INTO trust(purpose, serial, subject, issuer, notafter, changed, description, pem) "
                   "VALUES($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT(purpose, serial, issuer) DO UPDATE SET "
                   "subject=$3, notafter=$5, changed=$6, description=$7, pem=$8",
                   8, v, "store trust certificate", err);
}

static int pg_delete_trust(ck_store *s, const char *purpose, const char *serial, int *deleted, ck_err *err)
{
    const char *v[] = {purpose, serial};
    PGresult *r = run(s, "DELETE FROM trust WHERE purpose=$1 AND upper(serial)=upper($2)", 2, v, NULL,
                      PGRES_COMMAND_OK, "delete trust certificate", err);
    if (!r)
        return -1;
    *deleted = atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

/* --- parameters --- */

static int pg_get_param(ck_store *s, const char *name, char *out, size_t outsz, ck_err *err)
{
    PGresult *r = run(s, "SELECT paramvalue FROM processconfig WHERE paramname=$1", 1, &name, NULL, PGRES_TUPLES_OK,
                      "get parameter", err);
    if (!r)
        return -1;
    int found = PQntuples(r) > 0;
    if (found)
        copy_val(out, outsz, r, 0, 0);
    PQclear(r);
    return found ? 0 : ck_fail(err, CK_ENOTFOUND, "no enterprise parameter '%s'", name);
}

static int pg_set_param(ck_store *s, const char *name, const char *value, ck_err *err)
{
    const char *v[] = {name, value};
    return run_cmd(s,
                   "INSERT INTO processconfig VALUES($1,$2) ON CONFLICT(paramname) DO UPDATE SET paramvalue=$2", 2,
                   v, "set parameter", err);
}

/* --- published files --- */

static int pg_put_file(ck_store *s, const char *node, const char *name, const uint8_t *data, size_t len,
                       const char *md5, const char *sha1, int64_t now, ck_err *err)
{
    if (len > 64u * 1024 * 1024)
        return ck_fail(err, CK_ELIMIT, "published file %s is too large for the cluster database", name);
    char mod[24];
    snprintf(mod, sizeof mod, "%lld", (long long)now);
    const char *v[] = {node, name, (const char *)data, md5, sha1, mod};
    const int lens[] = {-1, -1, (int)len, -1, -1, -1};
    PGresult *r = run(s,
                      "INSERT INTO publishedfile VALUES($1,$2,$3,$4,$5,1,$6) ON CONFLICT(node, name) DO UPDATE "
                      "SET data=$3, md5=$4, sha1=$5, version=publishedfile.version+1, modified=$6",
                      6, v, lens, PGRES_COMMAND_OK, "store published file", err);
    PQclear(r);
    return r ? 0 : -1;
}

static int pg_get_file(ck_store *s, const char *node, const char *name, ck_file_row *out, ck_err *err)
{
    const char *v[] = {node, name};
    PGresult *r = run(s,
                      "SELECT node, name, data, md5, sha1, version, modified FROM publishedfile "
                      "WHERE node=$1 AND name=$2",
                      2, v, NULL, PGRES_TUPLES_OK, "get published file", err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ck_fail(err, CK_ENOTFOUND, "no published %s%s%s", name, *node ? " for node " : "", node);
    }
    memset(out, 0, sizeof *out);
    copy_val(out->node, sizeof out->node, r, 0, 0);
    copy_val(out->name, sizeof out->name, r, 0, 1);
    size_t len = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 2), &len);
    if (raw) {
        out->data = malloc(len ? len : 1);
        if (out->data)
            memcpy(out->data, raw, len);
        out->len = len;
        PQfreemem(raw);
    }
    copy_val(out->md5, sizeof out->md5, r, 0, 3);
    copy_val(out->sha1, sizeof out->sha1, r, 0, 4);
    out->version = num(r, 0, 5);
    out->modified = num(r, 0, 6);
    PQclear(r);
    return out->data ? 0 : ck_fail(err, CK_ENOMEM, "out of memory");
}

static int pg_delete_file(ck_store *s, const char *node, const char *name, ck_err *err)
{
    const char *v[] = {node, name};
    return run_cmd(s, "DELETE FROM publishedfile WHERE node=$1 AND name=$2", 2, v, "delete published file", err);
}

/* --- what the daemons serve --- */

static int pg_put_served(ck_store *s, const ck_served_row *r, ck_err *err)
{
    char version[24], since[24];
    snprintf(version, sizeof version, "%lld", (long long)r->version);
    snprintf(since, sizeof since, "%lld", (long long)r->since);
    const char *v[] = {r->node, r->name, version, r->md5, r->sha1, since};
    return run_cmd(s,
                   "INSERT INTO servedfile VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(node, name) DO UPDATE SET "
                   "version=$3, md5=$4, sha1=$5, since=$6",
                   6, v, "record a served file", err);
}

static int pg_delete_served(ck_store *s, const char *node, const char *name, ck_err *err)
{
    const char *v[] = {node, name};
    return run_cmd(s, "DELETE FROM servedfile WHERE node=$1 AND name=$2", 2, v, "forget a served file", err);
}

static int pg_list_served(ck_store *s, const char *node, ck_served_row **out, size_t *n, ck_err *err)
{
    const char *v[] = {node};
    PGresult *r = run(s,
                      "SELECT servedfile.node, servedfile.name, version, md5, sha1, since FROM servedfile "
                      "LEFT JOIN node ON node.name=servedfile.node WHERE $1::text IS NULL OR servedfile.node=$1 "
                      "ORDER BY node.position, servedfile.node, servedfile.name",
                      1, v, NULL, PGRES_TUPLES_OK, "list served files", err);
    if (!r)
        return -1;
    int count = PQntuples(r);
    ck_served_row *rows = calloc((size_t)count + 1, sizeof *rows);
    for (int i = 0; rows && i < count; i++) {
        copy_val(rows[i].node, sizeof rows[i].node, r, i, 0);
        copy_val(rows[i].name, sizeof rows[i].name, r, i, 1);
        rows[i].version = num(r, i, 2);
        copy_val(rows[i].md5, sizeof rows[i].md5, r, i, 3);
        copy_val(rows[i].sha1, sizeof rows[i].sha1, r, i, 4);
        rows[i].since = num(r, i, 5);
    }
    PQclear(r);
    if (!rows)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    *out = rows;
    *n = (size_t)count;
    return 0;
}

/* --- devices --- */

#define DEVICE_COLS                                                                                                   \
    "name, model, profile, encrconfig, template, capfoperation, capfauth, capfstring, keytype, keysize, completesby, " \
    "lscserial, lscnotbefore, lscnotafter, lscpem, capfresult, capfresultat, changed"

static int pg_put_device(ck_store *s, const ck_device_row *d, int64_t now, ck_err *err)
{
    char enc[4], ks[16], cb[24], nb[24], na[24], ra[24], ch[24];
    snprintf(enc, sizeof enc, "%d", d->encrypted_config ? 1 : 0);
    snprintf(ks, sizeof ks, "%d", d->key_size);
    snprintf(cb, sizeof cb, "%lld", (long long)d->completes_by);
    snprintf(nb, sizeof nb, "%lld", (long long)d->lsc_not_before);
    snprintf(na, sizeof na, "%lld", (long long)d->lsc_not_after);
    snprintf(ra, sizeof ra, "%lld", (long long)d->last_result_at);
    snprintf(ch, sizeof ch, "%lld", (long long)now);
    /* A NULL parameter is SQL NULL (no template, no LSC). */
    const char *v[] = {d->name,       d->model,    d->profile,    enc, d->template_xml, d->operation,
                       d->auth_mode,  d->auth_string, d->key_type, ks, cb,              d->lsc_serial,
                       nb,            na,          d->lsc_pem,    d->last_result, ra,   ch};
    return run_cmd(s,
                   "INSERT INTO device(" DEVICE_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,"
                   "$17,$18) ON CONFLICT(name) DO UPDATE SET model=$2, profile=$3, encrconfig=$4, template=$5, "
                   "capfoperation=$6, capfauth=$7, capfstring=$8, keytype=$9, keysize=$10, completesby=$11, "
                   "lscserial=$12, lscnotbefore=$13, lscnotafter=$14, lscpem=$15, capfresult=$16, capfresultat=$17, "
                   "changed=$18",
                   18, v, "store device", err);
}

static bool dup_nullable(const PGresult *r, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return true;
    return (*out = strdup(PQgetvalue(r, row, col))) != NULL;
}

static bool device_from_row(const PGresult *r, int i, ck_device_row *d)
{
    memset(d, 0, sizeof *d);
    copy_val(d->name, sizeof d->name, r, i, 0);
    copy_val(d->model, sizeof d->model, r, i, 1);
    copy_val(d->profile, sizeof d->profile, r, i, 2);
    d->encrypted_config = num(r, i, 3) != 0;
    copy_val(d->operation, sizeof d->operation, r, i, 5);
    copy_val(d->auth_mode, sizeof d->auth_mode, r, i, 6);
    copy_val(d->auth_string, sizeof d->auth_string, r, i, 7);
    copy_val(d->key_type, sizeof d->key_type, r, i, 8);
    d->key_size = (int)num(r, i, 9);
    d->completes_by = num(r, i, 10);
    copy_val(d->lsc_serial, sizeof d->lsc_serial, r, i, 11);
    d->lsc_not_before = num(r, i, 12);
    d->lsc_not_after = num(r, i, 13);
    copy_val(d->last_result, sizeof d->last_result, r, i, 15);
    d->last_result_at = num(r, i, 16);
    d->changed_at = num(r, i, 17);
    return dup_nullable(r, i, 4, &d->template_xml) && dup_nullable(r, i, 14, &d->lsc_pem);
}

static int device_rows(ck_store *s, const char *sql, const char *arg, ck_device_row **out, size_t *n, ck_err *err)
{
    PGresult *r = run(s, sql, arg ? 1 : 0, &arg, NULL, PGRES_TUPLES_OK, "list devices", err);
    if (!r)
        return -1;
    int count = PQntuples(r);
    ck_device_row *v = calloc((size_t)count + 1, sizeof *v);
    bool ok = v != NULL;
    for (int i = 0; ok && i < count; i++)
        ok = device_from_row(r, i, &v[i]);
    PQclear(r);
    if (!ok) {
        ck_device_rows_free(v, (size_t)count);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    *out = v;
    *n = (size_t)count;
    return 0;
}

static int pg_get_device(ck_store *s, const char *name, ck_device_row *out, ck_err *err)
{
    ck_device_row *rows = NULL;
    size_t n = 0;
    if (device_rows(s, "SELECT " DEVICE_COLS " FROM device WHERE name=$1", name, &rows, &n, err) < 0)
        return -1;
    if (n == 0) {
        free(rows);
        return ck_fail(err, CK_ENOTFOUND, "no device named '%s' in this cluster", name);
    }
    *out = rows[0];
    free(rows);
    return 0;
}

static int pg_list_devices(ck_store *s, ck_device_row **out, size_t *n, ck_err *err)
{
    return device_rows(s, "SELECT " DEVICE_COLS " FROM device ORDER BY name", NULL, out, n, err);
}

static int pg_delete_device(ck_store *s, const char *name, int *deleted, ck_err *err)
{
    PGresult *r = run(s, "DELETE FROM device WHERE name=$1", 1, &name, NULL, PGRES_COMMAND_OK, "delete device", err);
    if (!r)
        return -1;
    *deleted = atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

/* --- audit --- */

static int pg_audit(ck_store *s, int64_t now, const char *who, const char *node, const char *action, ck_err *err)
{
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)now);
    const char *v[] = {at, who, node, action};
    return run_cmd(s, "INSERT INTO auditlog(at, who, node, action) VALUES($1,$2,$3,$4)", 4, v, "audit", err);
}

static int pg_list_audit(ck_store *s, size_t limit, ck_audit_row **out, size_t *n, ck_err *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *v[] = {lim};
    PGresult *r = run(s,
                      "SELECT id, at, who, node, action FROM (SELECT * FROM auditlog ORDER BY id DESC LIMIT $1) a "
                      "ORDER BY id",
                      1, v, NULL, PGRES_TUPLES_OK, "list audit", err);
    if (!r)
        return -1;
    int count = PQntuples(r);
    ck_audit_row *rows = calloc((size_t)count + 1, sizeof *rows);
    bool ok = rows != NULL;
    for (int i = 0; ok && i < count; i++) {
        rows[i].id = num(r, i, 0);
        rows[i].at = num(r, i, 1);
        copy_val(rows[i].who, sizeof rows[i].who, r, i, 2);
        copy_val(rows[i].node, sizeof rows[i].node, r, i, 3);
        ok = (rows[i].action = strdup(PQgetvalue(r, i, 4))) != NULL;
    }
    PQclear(r);
    if (!ok) {
        ck_audit_rows_free(rows, (size_t)count);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    *out = rows;
    *n = (size_t)count;
    return 0;
}

/* --- phones --- */

/* MAC order; one phone's rows (a batch sent again has them twice) keep
 * theirs, the later sighting merged last. */
static int by_mac(const void *a, const void *b)
{
    const ck_phone_row *x = *(const ck_phone_row *const *)a, *y = *(const ck_phone_row *const *)b;
    int c = strcmp(x->mac, y->mac);
    return c ? c : (x > y) - (x < y);
}

static int pg_merge_phones(ck_store *s, const ck_phone_row *rows, size_t n, ck_err *err)
{
    /* In MAC order: the nodes' flushers merge at once, each its batch in
     * one transaction; two batches holding the same phones in different
     * orders would each lock a row the other waits for (a deadlock, and a
     * batch failed and sent again; tests/unit/test_store.c
     * test_pg_phone_merge_order). In one order the second just waits. */
    const ck_phone_row **order = calloc(n + 1, sizeof *order);
    if (!order)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        order[i] = &rows[i];
    qsort(order, n, sizeof *order, by_mac);
    bool own_tx = !((pg_store *)s)->in_tx;
    if (own_tx && run_cmd(s, "BEGIN", 0, NULL, "begin", err) < 0) {
        free(order);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const ck_phone_row *p = order[i];
        char nums[7][24];
        const int64_t v[7] = {p->ctl_at, p->itl_at, p->tvs_valid, p->tvs_invalid, p->tvs_at, p->last_seen, 0};
        for (int k = 0; k < 6; k++)
            snprintf(nums[k], sizeof nums[k], "%lld", (long long)v[k]);
        const char *const vals[13] = {p->mac,   p->model,  p->ip,    p->node,     p->ctl_md5, nums[0],  p->itl_md5,
                                      nums[1], nums[2], nums[3], p->tvs_last, nums[4],    nums[5]};
        rc = run_cmd(s, CK_PHONE_MERGE_SQL, 13, vals, "store phone sightings", err);
    }
    free(order);
    if (own_tx && rc == 0)
        rc = run_cmd(s, "COMMIT", 0, NULL, "commit", err);
    if (own_tx && rc < 0)
        run_quietly(s, "ROLLBACK");
    return rc;
}

/* Every row of r, as phones. */
static int read_phones(PGresult *r, ck_phone_row **out, size_t *n, ck_err *err)
{
    size_t count = (size_t)PQntuples(r);
    ck_phone_row *v = calloc(count ? count : 1, sizeof *v);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        ck_phone_row *p = &v[i];
        int row = (int)i;
        copy_val(p->mac, sizeof p->mac, r, row, 0);
        copy_val(p->model, sizeof p->model, r, row, 1);
        copy_val(p->ip, sizeof p->ip, r, row, 2);
        copy_val(p->node, sizeof p->node, r, row, 3);
        copy_val(p->ctl_md5, sizeof p->ctl_md5, r, row, 4);
        p->ctl_at = num(r, row, 5);
        copy_val(p->itl_md5, sizeof p->itl_md5, r, row, 6);
        p->itl_at = num(r, row, 7);
        p->tvs_valid = num(r, row, 8);
        p->tvs_invalid = num(r, row, 9);
        copy_val(p->tvs_last, sizeof p->tvs_last, r, row, 10);
        p->tvs_at = num(r, row, 11);
        p->last_seen = num(r, row, 12);
    }
    *out = v;
    *n = count;
    return 0;
}

static int pg_list_phones(ck_store *s, ck_phone_row **out, size_t *n, ck_err *err)
{
    PGresult *r = run(s, "SELECT " CK_PHONE_COLS " FROM phone ORDER BY mac", 0, NULL, NULL, PGRES_TUPLES_OK,
                      "list phones", err);
    if (!r)
        return -1;
    int rc = read_phones(r, out, n, err);
    PQclear(r);
    return rc;
}

static int pg_page_phones(ck_store *s, const ck_phone_query *q, size_t offset, size_t limit, ck_phone_row **out,
                          size_t *n, size_t *total, ck_err *err)
{
    char state[16], since[32], lim[32], off[32];
    snprintf(state, sizeof state, "%d", (int)q->state);
    snprintf(since, sizeof since, "%lld", (long long)q->since);
    snprintf(lim, sizeof lim, "%zu", limit);
    snprintf(off, sizeof off, "%zu", offset);
    const char *vals[] = {q->model ? q->model : "*", q->mac ? q->mac : "", state, q->ctl_md5 ? q->ctl_md5 : "",
                          since, lim, off};
    PGresult *r = run(s, "SELECT count(*) FROM phone" CK_PHONE_WHERE_SQL, 5, vals, NULL, PGRES_TUPLES_OK,
                      "count phones", err);
    if (!r)
        return -1;
    *total = (size_t)num(r, 0, 0);
    PQclear(r);
    r = run(s, "SELECT " CK_PHONE_COLS " FROM phone" CK_PHONE_WHERE_SQL " ORDER BY mac LIMIT $6 OFFSET $7", 7, vals,
            NULL, PGRES_TUPLES_OK, "list phones", err);
    if (!r)
        return -1;
    int rc = read_phones(r, out, n, err);
    PQclear(r);
    return rc;
}

/* --- run sql --- */

/* Only statements that return rows: SET, RESET, LISTEN and their kind
 * would change the session even inside a read-only transaction. */
static bool starts_with_query_word(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '(')
        sql++;
    static const char *const words[] = {"select", "with", "values", "table"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (strncasecmp(sql, words[i], n) == 0 && (sql[n] == 0 || !((sql[n] | 32) >= 'a' && (sql[n] | 32) <= 'z')))
            return true;
    }
    return false;
}

/* Reads the rows of the query sent, hands them over within the bounds and
 * drains what is left after a stop; the server may take its
 * statement_timeout and then stay silent for timeout_s. */
static int read_rows(ck_store *s, ck_store_row_fn row, void *ctx, ck_sql_outcome *outcome, ck_err *err)
{
    const char **names = NULL, **vals = NULL;
    int ncols = -1, rc = 0;
    bool stopped = false, ended = false, failed = false;
    int waited_s = ((pg_store *)s)->timeout_s + CK_SQL_MAX_SECONDS;
    int64_t deadline = ck_pg_deadline(waited_s);
    PGresult *r;
    while ((r = next_result(s, deadline, waited_s, "run sql", &failed, rc == 0 ? err : NULL)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (rc == 0 && !stopped && (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) && ncols < 0) {
            ncols = PQnfields(r);
            names = calloc((size_t)ncols + 1, sizeof *names);
            vals = calloc((size_t)ncols + 1, sizeof *vals);
            for (int i = 0; names && i < ncols; i++)
                names[i] = strdup(PQfname(r, i));
            if (!names || !vals)
                rc = ck_fail(err, CK_ENOMEM, "out of memory");
        }
        if (rc == 0 && st == PGRES_SINGLE_TUPLE && stopped)
            outcome->truncated = true;
        else if (rc == 0 && st == PGRES_SINGLE_TUPLE) {
            for (int i = 0; i < ncols; i++) {
                vals[i] = PQgetisnull(r, 0, i) ? NULL : PQftype(r, i) == 17 ? "<blob>" : PQgetvalue(r, 0, i);
                if (PQgetlength(r, 0, i) > CK_SQL_MAX_BYTES)
                    rc = ck_fail(err, CK_ELIMIT,
                                 "run sql: a value in the result is larger than the %d bytes one query may return",
                                 CK_SQL_MAX_BYTES);
            }
            if (rc == 0 && !ck_sql_row_fits(outcome, ncols, vals))
                stopped = true;
            else if (rc == 0 && row(ctx, ncols, names, vals) != 0)
                stopped = true;
            if (stopped || rc < 0) {
                /* Ask the server to stop sending (and wait until it took
                 * the request, so that it cannot hit the next statement);
                 * the loop reads what is already on its way. */
                ck_pg_cancel(CONN(s), deadline);
            }
        } else if (st == PGRES_TUPLES_OK)
            ended = true;
        else if (rc == 0 && !stopped && st != PGRES_TUPLES_OK) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (state && strcmp(state, "57014") == 0)
                rc = ck_fail(err, CK_ELIMIT, "run sql: the query ran longer than %d seconds and was stopped",
                             CK_SQL_MAX_SECONDS);
            else if (state && strcmp(state, "25006") == 0)
                rc = ck_fail(err, CK_EDENIED, "run sql is read-only: only SELECT statements are allowed");
            else if (state && strcmp(state, "42601") == 0 && strstr(PQresultErrorMessage(r), "multiple commands"))
                rc = ck_fail(err, CK_EINVAL, "one statement at a time");
            else {
                /* 42501: the reader role lacks the right (a write, a
                 * server file). */
                const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
                rc = ck_fail(err, state && strcmp(state, "42501") == 0 ? CK_EDENIED : CK_EINVAL, "%s",
                             msg ? msg : PQerrorMessage(CONN(s)));
            }
        }
        PQclear(r);
    }
    if (failed && rc == 0)
        rc = -1;
    if (rc == 0 && (ended || stopped) && ncols >= 0)
        row(ctx, ncols, names, NULL);
    for (int i = 0; names && i < ncols; i++)
        free((char *)names[i]);
    free(names);
    free(vals);
    return rc;
}

static int pg_query_readonly(ck_store *s, const char *sql, ck_store_row_fn row, void *ctx, ck_sql_outcome *outcome,
                             ck_err *err)
{
    if (((pg_store *)s)->in_tx)
        return ck_fail(err, CK_ESTATE, "run sql: a change is in progress on this connection");
    if (strspn(sql, " \t\n;") == strlen(sql))
        return ck_fail(err, CK_EINVAL, "no SQL statement given");
    if (!starts_with_query_word(sql))
        return ck_fail(err, CK_EDENIED, "run sql is read-only: only SELECT statements are allowed");
    if (run_cmd(s, "BEGIN TRANSACTION READ ONLY", 0, NULL, "begin", err) < 0)
        return -1;
    int rc = run_cmd(s, "SET LOCAL statement_timeout = '" STR(CK_SQL_MAX_SECONDS) "s'", 0, NULL, "timeout", err);
    /* Where the reader role exists and this user may take it, the query
     * runs with SELECT rights only. */
    PGresult *r = rc == 0 ? run(s, "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname='" SQL_READER_ROLE "'",
                                0, NULL, NULL, PGRES_TUPLES_OK, "reader role", err)
                          : NULL;
    if (r && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0)
        rc = run_cmd(s, "SET LOCAL ROLE " SQL_READER_ROLE, 0, NULL, "reader role", err);
    else if (!r)
        rc = -1;
    PQclear(r);
    if (rc == 0 && !send_statement(s, sql, false, 0, NULL, NULL, "run sql", err))
        rc = -1;
    else if (rc == 0 && !PQsetSingleRowMode(CONN(s)))
        rc = pg_fail(err, NULL, s, "run sql");
    if (rc == 0)
        rc = read_rows(s, row, ctx, outcome, err);
    run_quietly(s, "ROLLBACK");
    return rc;
}

/* --- service restart requests --- */

#define RESTART_COLUMNS "id, node, service, who, requested, done, result"

static void restart_row(const PGresult *r, int i, ck_restart_row *out)
{
    memset(out, 0, sizeof *out);
    out->id = num(r, i, 0);
    copy_val(out->node, sizeof out->node, r, i, 1);
    copy_val(out->service, sizeof out->service, r, i, 2);
    copy_val(out->who, sizeof out->who, r, i, 3);
    out->requested = num(r, i, 4);
    out->done = num(r, i, 5);
    copy_val(out->result, sizeof out->result, r, i, 6);
}

static int pg_request_restart(ck_store *s, const char *node, const char *service, const char *who, int64_t now,
                              int64_t *id, ck_err *err)
{
    char at[24], old[24];
    snprintf(at, sizeof at, "%lld", (long long)now);
    snprintf(old, sizeof old, "%lld", (long long)now - 86400);
    const char *pv[] = {old};
    if (run_cmd(s, "DELETE FROM servicerestart WHERE done<>0 AND requested<$1", 1, pv, "prune restart requests",
                err) < 0)
        return -1;
    const char *v[] = {node, service, who, at};
    PGresult *r = run(s, "INSERT INTO servicerestart(node, service, who, requested) VALUES($1,$2,$3,$4) RETURNING id",
                      4, v, NULL, PGRES_TUPLES_OK, "request a restart", err);
    if (!r)
        return -1;
    *id = num(r, 0, 0);
    PQclear(r);
    return 0;
}

static int pg_pending_restarts(ck_store *s, const char *node, ck_restart_row **out, size_t *n, ck_err *err)
{
    PGresult *r = run(s, "SELECT " RESTART_COLUMNS " FROM servicerestart WHERE node=$1 AND done=0 ORDER BY id", 1,
                      &node, NULL, PGRES_TUPLES_OK, "list restart requests", err);
    if (!r)
        return -1;
    int count = PQntuples(r);
    ck_restart_row *rows = calloc((size_t)count + 1, sizeof *rows);
    for (int i = 0; rows && i < count; i++)
        restart_row(r, i, &rows[i]);
    PQclear(r);
    if (!rows)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    *out = rows;
    *n = (size_t)count;
    return 0;
}

static int pg_finish_restart(ck_store *s, int64_t id, const char *result, int64_t now, ck_err *err)
{
    char at[24], ids[24];
    snprintf(at, sizeof at, "%lld", (long long)(now ? now : 1));
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *v[] = {at, result, ids};
    return run_cmd(s, "UPDATE servicerestart SET done=$1, result=$2 WHERE id=$3 AND done=0", 3, v,
                   "answer a restart request", err);
}

static int pg_get_restart(ck_store *s, int64_t id, ck_restart_row *out, ck_err *err)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *v[] = {ids};
    PGresult *r = run(s, "SELECT " RESTART_COLUMNS " FROM servicerestart WHERE id=$1", 1, v, NULL, PGRES_TUPLES_OK,
                      "read a restart request", err);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        restart_row(r, 0, out);
    PQclear(r);
    return found ? 0 : ck_fail(err, CK_ENOTFOUND, "no restart request %lld", (long long)id);
}

/* --- changes --- */

static int64_t pg_change_counter(ck_store *s, ck_err *err)
{
    /* Inside a transaction the row is locked as it is read: a writer that
     * takes no advisory lock (a restart request, a daemon's answer) then
     * commits before this value or after our commit, never in between.
     * Otherwise its commit could land after the read and before our first
     * write, and a device-only operation's record, whose FIRST is this
     * value (lib/cluster/device_changes.c), would claim it as a device
     * change: the daemons would skip it (tests/scenarios/
     * hosts_pg_device_run.test). SQLite's BEGIN IMMEDIATE already keeps
     * every other writer out. */
    const char *sql = ((pg_store *)s)->in_tx ? "SELECT value FROM changecounter FOR UPDATE"
                                             : "SELECT value FROM changecounter";
    PGresult *r = run(s, sql, 0, NULL, NULL, PGRES_TUPLES_OK, "change counter", err);
    int64_t v = r && PQntuples(r) == 1 ? num(r, 0, 0) : -1;
    if (r && v < 0)
        ck_fail(err, CK_EFORMAT, "cluster database %s: the change counter row is missing", ((pg_store *)s)->masked);
    PQclear(r);
    return v;
}

static int pg_notify_fd(ck_store *s)
{
    return PQsocket(CONN(s));
}

static bool pg_drain_notifications(ck_store *s)
{
    bool any = false;
    PQconsumeInput(CONN(s));
    for (PGnotify *n; (n = PQnotifies(CONN(s))) != NULL; any = true)
        PQfreemem(n);
    return any;
}

static const ck_store_ops pg_ops = {
    .close = pg_close,
    .begin = pg_begin,
    .try_begin = pg_try_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .add_node = pg_add_node,
    .get_node = pg_get_node,
    .publisher = pg_publisher,
    .list_nodes = pg_list_nodes,
    .set_node_joined = pg_set_node_joined,
    .put_cert = pg_put_cert,
    .get_cert = pg_get_cert,
    .list_certs = pg_list_certs,
    .add_trust = pg_add_trust,
    .delete_trust = pg_delete_trust,
    .list_trust = pg_list_trust,
    .get_param = pg_get_param,
    .set_param = pg_set_param,
    .put_file = pg_put_file,
    .get_file = pg_get_file,
    .delete_file = pg_delete_file,
    .put_served = pg_put_served,
    .delete_served = pg_delete_served,
    .list_served = pg_list_served,
    .put_device = pg_put_device,
    .get_device = pg_get_device,
    .list_devices = pg_list_devices,
    .delete_device = pg_delete_device,
    .audit = pg_audit,
    .list_audit = pg_list_audit,
    .request_restart = pg_request_restart,
    .pending_restarts = pg_pending_restarts,
    .finish_restart = pg_finish_restart,
    .get_restart = pg_get_restart,
    .merge_phones = pg_merge_phones,
    .list_phones = pg_list_phones,
    .page_phones = pg_page_phones,
    .query_readonly = pg_query_readonly,
    .change_counter = pg_change_counter,
    .notify_fd = pg_notify_fd,
    .drain_notifications = pg_drain_notifications,
};
