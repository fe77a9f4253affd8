/* The cluster store: nodes, certificates, trust stores, enterprise
 * parameters, published files and the audit log of one cluster.
 *
 * One interface, two backends chosen by the address given to
 * ck_store_open: a file path opens SQLite (one database file per cluster,
 * WAL mode), a postgresql:// or postgres:// URL opens PostgreSQL through
 * libpq (clusters spread over several hosts). Every change happens inside a
 * transaction (ck_store_begin / commit / rollback) that takes the
 * cluster-wide write lock at once so that concurrent admins serialize:
 * SQLite's write lock, an advisory lock on PostgreSQL.
 *
 * Backends only store: certificate parsing and every decision live in
 * lib/cluster, which hands the store finished rows. Both backends carry a
 * schema version and upgrade an older database when opening it.
 *
 * Private keys never enter the store: they stay in each node's key
 * directory (lib/cluster). Strings returned in rows are owned by the row
 * and freed by the matching _free function. */
#ifndef CTLKIT_STORE_H
#define CTLKIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"

typedef struct ck_store ck_store;

typedef struct ck_node {
    char name[64];
    bool publisher;
    char ip[16];          /* dotted IPv4 */
    int tftp_port;        /* 69 on CUCM; demo and tests use high ports */
    int tvs_port;         /* 2445 */
    int provider_port;    /* CTL Provider, 2444, publisher only */
    int position;         /* order of creation: the publisher is 0 */
    int64_t joined;       /* Unix seconds the node joined (cluster join); 0: made with the cluster */
} ck_node;

typedef struct ck_cert_row {
    char node[64];        /* owning node ("" for trust-store rows) */
    char unit[32];        /* CallManager, TVS, CAPF, ITLRecovery; or the trust purpose */
    int64_t id;           /* trust rows: row id */
    char serial[80];      /* upper-case hex, no separators */
    char *subject;        /* CUCM style */
    char *issuer;
    char *description;    /* trust rows: friendly name */
    char *pem;
    int64_t not_after;    /* Unix seconds */
    int64_t changed_at;   /* when generated, regenerated or uploaded */
} ck_cert_row;

typedef struct ck_file_row {
    char node[64];        /* "" for cluster-wide files (the CTL) */
    char name[128];
    uint8_t *data;
    size_t len;
    char md5[33];
    char sha1[41];
    int64_t version;      /* increases with every publish of this file */
    int64_t modified;
} ck_file_row;

/* What a node's daemon reports it serves from its TFTP folder: per node
 * and file name, the version of the published file those bytes are (0
 * when they are no published version: a hand edit, a copy from elsewhere),
 * their digests and since when the daemon serves them. */
typedef struct ck_served_row {
    char node[64];
    char name[128];
    int64_t version;
    char md5[33];
    char sha1[41];
    int64_t since; /* Unix seconds */
} ck_served_row;

typedef struct ck_audit_row {
    int64_t id, at;
    char who[64], node[64];
    char *action;
} ck_audit_row;

/* A phone (issue 12): its security profile, its CAPF settings and the
 * LSC CAPF issued it. Values are the words lib/cluster/devices.c checks
 * (the store keeps them as text so that `run sql` reads them). */
typedef struct ck_device_row {
    char name[16];            /* SEP + 12 upper-case hex */
    char model[16];           /* "7975" */
    char profile[16];         /* non-secure, authenticated, encrypted */
    bool encrypted_config;    /* "TFTP Encrypted Config" of the profile */
    char *template_xml;       /* per-device configuration template; NULL: the cluster's */
    char operation[16];       /* CAPF: none, install, delete, troubleshoot */
    char auth_mode[8];        /* string, null, lsc, mic */
    char auth_string[16];     /* 4-10 digits when auth_mode is string, else "" */
    char key_type[4];         /* rsa, ec */
    int key_size;             /* 1024/2048/4096, or 256/384/521 */
    int64_t completes_by;     /* Unix seconds the operation expires at; 0 with no operation */
    char lsc_serial[80];      /* the issued LSC: upper-case hex, "" when none */
    int64_t lsc_not_before, lsc_not_after;
    char *lsc_pem;            /* NULL when none */
    char last_result[128];    /* the last CAPF session's outcome, "" before any */
    int64_t last_result_at;
    int64_t changed_at;       /* stamped by the store */
} ck_device_row;

/* The schema version this code writes; older databases are upgraded on open,
 * newer ones refused. */
#define CK_STORE_SCHEMA_VERSION 6

/* `address` is a SQLite file path or a PostgreSQL URL (which may carry a
 * password; libpq's PGPASSFILE, service files and sslmode also apply).
 * No message ever shows the password. */
int ck_store_open(const char *address, bool create, ck_store **out, ck_err *err);
void ck_store_close(ck_store *s);

/* A write transaction: takes the cluster-wide write lock at once (waits
 * for another admin's transaction up to a timeout). */
CK_MUST_USE int ck_store_begin(ck_store *s, ck_err *err);
/* The same without waiting: 1 (and no transaction) when another
 * transaction holds the lock, for a daemon's loop that tries again later. */
CK_MUST_USE int ck_store_try_begin(ck_store *s, ck_err *err);
CK_MUST_USE int ck_store_commit(ck_store *s, ck_err *err);
void ck_store_rollback(ck_store *s);

/* Nodes */
CK_MUST_USE int ck_store_add_node(ck_store *s, const ck_node *n, ck_err *err);
int ck_store_get_node(ck_store *s, const char *name, ck_node *out, ck_err *err);
int ck_store_list_nodes(ck_store *s, ck_node **out, size_t *n, ck_err *err); /* free(*out) */
int ck_store_publisher(ck_store *s, ck_node *out, ck_err *err);
/* Records when node joined (its certificates' changed_at from the join
 * is then no regeneration). CK_ENOTFOUND when there is no such node. */
CK_MUST_USE int ck_store_set_node_joined(ck_store *s, const char *node, int64_t at, ck_err *err);

/* Each node's own certificates, one per unit. The row carries node, unit,
 * serial, subject, issuer, not_after and pem (lib/cluster fills them from
 * the certificate); the store stamps changed_at with the time unless the
 * row carries one (cluster init gives every certificate the same). */
CK_MUST_USE int ck_store_put_cert(ck_store *s, const ck_cert_row *c, ck_err *err);
int ck_store_get_cert(ck_store *s, const char *node, const char *unit, ck_cert_row *out, ck_err *err);
int ck_store_list_certs(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err);

/* Cluster-wide trust stores (CallManager-trust, Phone-SAST-trust, ...). */
/* The row's unit is the purpose; description the friendly name. */
CK_MUST_USE int ck_store_add_trust(ck_store *s, const ck_cert_row *c, ck_err *err);
/* Deletes by purpose and serial (hex); *deleted gets the row count. */
CK_MUST_USE int ck_store_delete_trust(ck_store *s, const char *purpose, const char *serial, int *deleted, ck_err *err);
int ck_store_list_trust(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err);

void ck_cert_row_clear(ck_cert_row *r);
void ck_cert_rows_free(ck_cert_row *rows, size_t n);

/* Enterprise parameters (processconfig). Values are text; the parameter
 * table in lib/cluster checks them. */
int ck_store_get_param(ck_store *s, const char *name, char *out, size_t outsz, ck_err *err);
CK_MUST_USE int ck_store_set_param(ck_store *s, const char *name, const char *value, ck_err *err);
/* The processconfig row (no enterprise parameter) recording the latest
 * run of device-only changes for the daemons (lib/cluster/device_changes.c):
 * "FIRST LAST NAME:AT...", change counter values. Never copied to another
 * store: its counter values mean nothing there. */
#define CK_DEVICE_CHANGES_PARAM "DeviceChanges"

/* Published files: the CTL (node "") and each node's ITL. */
CK_MUST_USE int ck_store_put_file(ck_store *s, const char *node, const char *name, const uint8_t *data, size_t len,
                      ck_err *err);
/* CK_ENOTFOUND when absent. */
int ck_store_get_file(ck_store *s, const char *node, const char *name, ck_file_row *out, ck_err *err);
CK_MUST_USE int ck_store_delete_file(ck_store *s, const char *node, const char *name, ck_err *err);
void ck_file_row_clear(ck_file_row *r);

/* What each daemon serves (ck_served_row). Written by the daemons outside
 * any admin transaction, and not counted as a change (ck_store_change_counter
 * and the notifications stay quiet: a report must not wake every daemon).
 * put replaces the row of (node, name); on SQLite it waits for the
 * database's write lock briefly only and fails rather than stall a daemon. */
CK_MUST_USE int ck_store_put_served(ck_store *s, const ck_served_row *r, ck_err *err);
CK_MUST_USE int ck_store_delete_served(ck_store *s, const char *node, const char *name, ck_err *err);
/* node NULL: every node's rows; ordered by node position, then name.
 * free(*out). */
int ck_store_list_served(ck_store *s, const char *node, ck_served_row **out, size_t *n, ck_err *err);
/* Devices (phones). put inserts or replaces the row by name. */
CK_MUST_USE int ck_store_put_device(ck_store *s, const ck_device_row *d, ck_err *err);
/* CK_ENOTFOUND when there is no such device. */
int ck_store_get_device(ck_store *s, const char *name, ck_device_row *out, ck_err *err);
/* Sorted by name. */
int ck_store_list_devices(ck_store *s, ck_device_row **out, size_t *n, ck_err *err);
CK_MUST_USE int ck_store_delete_device(ck_store *s, const char *name, int *deleted, ck_err *err);
void ck_device_row_clear(ck_device_row *d);
void ck_device_rows_free(ck_device_row *rows, size_t n);

/* Audit log: who did what, when. */
CK_MUST_USE int ck_store_audit(ck_store *s, const char *who, const char *node, const char *action, ck_err *err);
int ck_store_list_audit(ck_store *s, size_t limit, ck_audit_row **out, size_t *n, ck_err *err);
void ck_audit_rows_free(ck_audit_row *rows, size_t n);

/* Service restart requests (`utils service restart` on any host): the
 * admin adds a row naming the node, the node's daemon sees it through the
 * change counter (and NOTIFY), does what a restart does and marks the row
 * done; the admin waits for that. */
typedef struct ck_restart_row {
    int64_t id;
    char node[64];
    char service[64];     /* "Cisco Tftp", "Cisco Trust Verification Service" */
    char who[64];
    int64_t requested;
    int64_t done;         /* 0: pending; else when it was answered (or given up) */
    char result[160];     /* the daemon's answer ("STARTED") or why it was given up */
} ck_restart_row;
/* Adds a pending request; *id gets its row id. Answered requests older
 * than a day are pruned on the way. */
CK_MUST_USE int ck_store_request_restart(ck_store *s, const char *node, const char *service, const char *who,
                                         int64_t *id, ck_err *err);
/* node's pending requests, oldest first; free(*out). */
int ck_store_pending_restarts(ck_store *s, const char *node, ck_restart_row **out, size_t *n, ck_err *err);
/* Marks a pending request answered with result; a request already
 * answered (or given up) keeps its first answer. */
CK_MUST_USE int ck_store_finish_restart(ck_store *s, int64_t id, const char *result, ck_err *err);
/* CK_ENOTFOUND when there is no such request. */
int ck_store_get_restart(ck_store *s, int64_t id, ck_restart_row *out, ck_err *err);
/* Phones the nodes have seen (ctlkitd's phone tracking): one row per MAC,
 * merged from every node. A row given to ck_store_merge_phones is what one
 * node learned since its last flush: empty text and zero times leave the
 * stored value alone, the TVS counts are added, and the newer of two
 * downloads (or TVS answers) wins. Phone rows do not bump the change
 * counter: daemons must not recache for them. */
typedef struct ck_phone_row {
    char mac[13];       /* 12 upper-case hex digits */
    char model[16];     /* from TVS's device name CP-<model>-SEP<MAC>; "" unknown */
    char ip[16];        /* dotted IPv4 it last came from */
    char node[64];      /* the node that heard it last */
    char ctl_md5[33];   /* the CTL it last downloaded completely, and when */
    int64_t ctl_at;
    char itl_md5[33];   /* the same for the ITL */
    int64_t itl_at;
    int64_t tvs_valid, tvs_invalid; /* TVS answers given to it */
    char tvs_last[8];   /* "valid", "invalid" or "" */
    int64_t tvs_at;
    int64_t last_seen;  /* Unix seconds */
} ck_phone_row;

/* Merges n rows in one transaction of their own (not the admins' cluster
 * lock: phone rows never conflict with a change to the cluster). */
CK_MUST_USE int ck_store_merge_phones(ck_store *s, const ck_phone_row *rows, size_t n, ck_err *err);
/* Every phone, by MAC; free(*out). */
int ck_store_list_phones(ck_store *s, ck_phone_row **out, size_t *n, ck_err *err);

/* Copies src's cluster into dst, a new empty store, through this interface
 * only (either backend to either): nodes with their join times, the nodes'
 * certificates, the trust stores, the parameters, the published CTL and
 * ITLs, the devices and the phones. Not copied: the audit log, restart
 * requests and what the daemons report serving (a copy is nobody's
 * served state). One transaction on dst for everything but the phones,
 * which merge in their own afterwards (as always). */
CK_MUST_USE int ck_store_copy(ck_store *src, ck_store *dst, ck_err *err);

/* Where a phone stands against the cluster's current CTL (the drift of
 * include/ctlkit/drift.h): CURRENT includes STRANDED, AGED_OUT phones are
 * in none of the others. */
typedef enum ck_phone_state {
    CK_PHONE_ANY = 0,
    CK_PHONE_CURRENT,
    CK_PHONE_OLDER,
    CK_PHONE_NONE,
    CK_PHONE_STRANDED,
    CK_PHONE_AGED_OUT,
} ck_phone_state;

/* Which phones a page lists. */
typedef struct ck_phone_query {
    const char *model;    /* NULL: any; "": the phones TVS never named */
    const char *mac;      /* NULL: any; else only this one */
    ck_phone_state state; /* judged with the two below */
    const char *ctl_md5;  /* the cluster's current CTL ("" or NULL: none published) */
    int64_t since;        /* heard from at or after this: not aged out */
} ck_phone_query;

/* One page of the phones q selects, by MAC (a stable order: the primary
 * key's index walks it, so a page costs its offset, not the whole table),
 * at most limit rows from offset; *total: how many q selects in all.
 * free(*out). */
int ck_store_page_phones(ck_store *s, const ck_phone_query *q, size_t offset, size_t limit, ck_phone_row **out,
                         size_t *n, size_t *total, ck_err *err);
/* One phone by MAC (12 hex digits); CK_ENOTFOUND when none. */
int ck_store_get_phone(ck_store *s, const char *mac, ck_phone_row *out, ck_err *err);

/* Read-only SQL for `run sql`: refuses anything that writes. For each
 * result row calls row(ctx, ncols, names, values); after the last row once
 * more with values NULL. A row callback that returns non-zero stops the
 * query (the caller's own bound).
 *
 * Bounds: a single value longer than CK_SQL_MAX_BYTES is refused with an
 * error; the rows stop (without error) once their text reaches
 * CK_SQL_MAX_BYTES in total, and `outcome` says so; a statement running
 * longer than CK_SQL_MAX_SECONDS is cancelled. On SQLite only an explicit
 * list of ordinary functions may be called; on PostgreSQL the statement
 * runs in a READ ONLY transaction (as a read-only role where one exists). */
#define CK_SQL_MAX_BYTES (1024 * 1024)
#define CK_SQL_MAX_SECONDS 10
typedef struct ck_sql_outcome {
    size_t rows;    /* rows handed to the callback */
    size_t bytes;   /* their text, in bytes */
    bool truncated; /* rows were left out (byte bound or callback) */
} ck_sql_outcome;
typedef int (*ck_store_row_fn)(void *ctx, int ncols, const char *const *names, const char *const *values);
int ck_store_query_readonly(ck_store *s, const char *sql, ck_store_row_fn row, void *ctx, ck_sql_outcome *outcome,
                            ck_err *err);

/* A number that changes whenever anything in the store changes, by this
 * or any other connection (a counter row bumped by triggers in the same
 * transaction); cheap to poll. -1 on error. */
int64_t ck_store_change_counter(ck_store *s);
/* The same, saying why it failed (-1 and *err): a database that did not
 * answer in time, a lost connection. */
int64_t ck_store_read_change_counter(ck_store *s, ck_err *err);

/* A file descriptor that becomes readable when another connection commits
 * a change (PostgreSQL LISTEN/NOTIFY), or -1 where the backend has none
 * (SQLite: poll ck_store_change_counter). After it turns readable, call
 * ck_store_drain_notifications before waiting again. A notification that
 * arrives while a query runs on the same connection is read with the
 * query's answer and leaves the descriptor quiet: drain after your own
 * queries too. true when a notification was waiting. */
int ck_store_notify_fd(ck_store *s);
bool ck_store_drain_notifications(ck_store *s);

/* The digests the store keeps of a file (lower-case hex), as the
 * publishedfile and servedfile rows carry them. 0, or -1 on a crypto error. */
int ck_store_digests(const uint8_t *data, size_t len, char md5[33], char sha1[41]);

/* Copies address into out with any password replaced by "***"; for messages. */
void ck_store_mask_address(const char *address, char *out, size_t outsz);

#endif
