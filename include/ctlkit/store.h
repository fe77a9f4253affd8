/* The cluster store: nodes, certificates, trust stores, enterprise
 * parameters, published files and the audit log of one cluster.
 *
 * The interface is backend-neutral: an opaque handle and operations on
 * rows, no SQL types in it, so that a PostgreSQL backend (clusters spread
 * over several hosts) can implement the same functions. SQLite is the
 * embedded default: one database file per cluster, WAL mode, and every
 * change inside a transaction (ck_store_begin / commit / rollback, which
 * take the write lock at once so that concurrent admins serialize).
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

typedef struct ck_audit_row {
    int64_t id, at;
    char who[64], node[64];
    char *action;
} ck_audit_row;

int ck_store_open(const char *path, bool create, ck_store **out, ck_err *err);
void ck_store_close(ck_store *s);

/* A write transaction: takes the cluster-wide write lock at once (waits
 * for another admin's transaction up to a timeout). */
int ck_store_begin(ck_store *s, ck_err *err);
int ck_store_commit(ck_store *s, ck_err *err);
void ck_store_rollback(ck_store *s);

/* Nodes */
int ck_store_add_node(ck_store *s, const ck_node *n, ck_err *err);
int ck_store_get_node(ck_store *s, const char *name, ck_node *out, ck_err *err);
int ck_store_list_nodes(ck_store *s, ck_node **out, size_t *n, ck_err *err); /* free(*out) */
int ck_store_publisher(ck_store *s, ck_node *out, ck_err *err);

/* Each node's own certificates, one per unit. */
int ck_store_put_cert(ck_store *s, const char *node, const char *unit, const char *pem, ck_err *err);
int ck_store_get_cert(ck_store *s, const char *node, const char *unit, ck_cert_row *out, ck_err *err);
int ck_store_list_certs(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err);

/* Cluster-wide trust stores (CallManager-trust, Phone-SAST-trust, ...). */
int ck_store_add_trust(ck_store *s, const char *purpose, const char *pem, const char *description, ck_err *err);
/* Deletes by purpose and serial (hex); *deleted gets the row count. */
int ck_store_delete_trust(ck_store *s, const char *purpose, const char *serial, int *deleted, ck_err *err);
int ck_store_list_trust(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err);

void ck_cert_row_clear(ck_cert_row *r);
void ck_cert_rows_free(ck_cert_row *rows, size_t n);

/* Enterprise parameters (processconfig). Values are text; the parameter
 * table in lib/cluster checks them. */
int ck_store_get_param(ck_store *s, const char *name, char *out, size_t outsz, ck_err *err);
int ck_store_set_param(ck_store *s, const char *name, const char *value, ck_err *err);

/* Published files: the CTL (node "") and each node's ITL. */
int ck_store_put_file(ck_store *s, const char *node, const char *name, const uint8_t *data, size_t len,
                      ck_err *err);
/* CK_ENOTFOUND when absent. */
int ck_store_get_file(ck_store *s, const char *node, const char *name, ck_file_row *out, ck_err *err);
int ck_store_delete_file(ck_store *s, const char *node, const char *name, ck_err *err);
void ck_file_row_clear(ck_file_row *r);

/* Audit log: who did what, when. */
int ck_store_audit(ck_store *s, const char *who, const char *node, const char *action, ck_err *err);
int ck_store_list_audit(ck_store *s, size_t limit, ck_audit_row **out, size_t *n, ck_err *err);
void ck_audit_rows_free(ck_audit_row *rows, size_t n);

/* Read-only SQL for `run sql`: refuses anything that writes. For each
 * result row calls row(ctx, ncols, names, values); values may be NULL. */
typedef int (*ck_store_row_fn)(void *ctx, int ncols, const char *const *names, const char *const *values);
int ck_store_query_readonly(ck_store *s, const char *sql, ck_store_row_fn row, void *ctx, ck_err *err);

/* A number that changes whenever anything in the store changes, cheap to
 * poll (daemons use it to notice certificate-store changes). */
int64_t ck_store_change_counter(ck_store *s);

#endif
