/* What a store backend implements (include/ctlkit/store.h is the caller's
 * side). store.c dispatches each public function to the open backend's
 * table; a backend's handle starts with struct ck_store. */
#ifndef CTLKIT_STORE_BACKEND_H
#define CTLKIT_STORE_BACKEND_H

#include "ctlkit/store.h"

typedef struct ck_store_ops {
    void (*close)(ck_store *s);
    int (*begin)(ck_store *s, ck_err *err);
    int (*try_begin)(ck_store *s, ck_err *err); /* 1: the lock is held elsewhere */
    int (*commit)(ck_store *s, ck_err *err);
    void (*rollback)(ck_store *s);
    int (*add_node)(ck_store *s, const ck_node *n, ck_err *err);
    /* where: "name=$1" style condition is the backend's business; these
     * three cover lookup by name, the publisher and the whole list. */
    int (*get_node)(ck_store *s, const char *name, ck_node *out, ck_err *err);
    int (*publisher)(ck_store *s, ck_node *out, ck_err *err);
    int (*list_nodes)(ck_store *s, ck_node **out, size_t *n, ck_err *err);
    int (*set_node_joined)(ck_store *s, const char *node, int64_t at, ck_err *err);
    int (*put_cert)(ck_store *s, const ck_cert_row *c, int64_t now, ck_err *err);
    int (*get_cert)(ck_store *s, const char *node, const char *unit, ck_cert_row *out, ck_err *err);
    int (*list_certs)(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err);
    int (*add_trust)(ck_store *s, const ck_cert_row *c, int64_t now, ck_err *err);
    int (*delete_trust)(ck_store *s, const char *purpose, const char *serial, int *deleted, ck_err *err);
    int (*list_trust)(ck_store *s, ck_cert_row **out, size_t *n, ck_err *err);
    int (*get_param)(ck_store *s, const char *name, char *out, size_t outsz, ck_err *err);
    int (*set_param)(ck_store *s, const char *name, const char *value, ck_err *err);
    /* md5 and sha1 are computed by store.c. */
    int (*put_file)(ck_store *s, const char *node, const char *name, const uint8_t *data, size_t len,
                    const char *md5, const char *sha1, int64_t now, ck_err *err);
    int (*get_file)(ck_store *s, const char *node, const char *name, ck_file_row *out, ck_err *err);
    int (*delete_file)(ck_store *s, const char *node, const char *name, ck_err *err);
    int (*put_served)(ck_store *s, const ck_served_row *r, ck_err *err);
    int (*delete_served)(ck_store *s, const char *node, const char *name, ck_err *err);
    int (*list_served)(ck_store *s, const char *node, ck_served_row **out, size_t *n, ck_err *err);
    int (*put_device)(ck_store *s, const ck_device_row *d, int64_t now, ck_err *err);
    int (*get_device)(ck_store *s, const char *name, ck_device_row *out, ck_err *err);
    int (*list_devices)(ck_store *s, ck_device_row **out, size_t *n, ck_err *err);
    int (*delete_device)(ck_store *s, const char *name, int *deleted, ck_err *err);
    int (*audit)(ck_store *s, int64_t now, const char *who, const char *node, const char *action, ck_err *err);
    int (*list_audit)(ck_store *s, size_t limit, ck_audit_row **out, size_t *n, ck_err *err);
    int (*request_restart)(ck_store *s, const char *node, const char *service, const char *who, int64_t now,
                           int64_t *id, ck_err *err);
    int (*pending_restarts)(ck_store *s, const char *node, ck_restart_row **out, size_t *n, ck_err *err);
    int (*finish_restart)(ck_store *s, int64_t id, const char *result, int64_t now, ck_err *err);
    int (*get_restart)(ck_store *s, int64_t id, ck_restart_row *out, ck_err *err);
    int (*merge_phones)(ck_store *s, const ck_phone_row *rows, size_t n, ck_err *err);
    int (*list_phones)(ck_store *s, ck_phone_row **out, size_t *n, ck_err *err);
    int (*page_phones)(ck_store *s, const ck_phone_query *q, size_t offset, size_t limit, ck_phone_row **out,
                       size_t *n, size_t *total, ck_err *err);
    int (*query_readonly)(ck_store *s, const char *sql, ck_store_row_fn row, void *ctx, ck_sql_outcome *outcome,
                          ck_err *err);
    int64_t (*change_counter)(ck_store *s, ck_err *err); /* -1 and *err on error */
    int (*notify_fd)(ck_store *s);
    bool (*drain_notifications)(ck_store *s);
} ck_store_ops;

struct ck_store {
    const ck_store_ops *ops;
};

int ck_store_open_sqlite(const char *path, bool create, ck_store **out, ck_err *err);
int ck_store_open_pg(const char *url, bool create, ck_store **out, ck_err *err);

/* Grows *v (elements of size elem) so that index count fits; 0 or -1. */
int ck_store_grow(void **v, size_t *cap, size_t count, size_t elem);

/* Adds one row's text to the outcome of a read-only query and says whether
 * it still fits in CK_SQL_MAX_BYTES (false: stop before handing it over). */
bool ck_sql_row_fits(ck_sql_outcome *o, int ncols, const char *const *values);

/* The phone table (schema version 2), alike on both backends, and the
 * merge ck_store_merge_phones runs per row: $1..$13 are mac, model,
 * ipaddress, node, ctlmd5, ctlat, itlmd5, itlat, tvsvalid, tvsinvalid,
 * tvslast, tvsat, lastseen. */
#define CK_PHONE_TABLE_SQL(INT)                                                                                        \
    "CREATE TABLE phone(mac TEXT PRIMARY KEY, model TEXT NOT NULL, ipaddress TEXT NOT NULL, node TEXT NOT NULL,"     \
    "  ctlmd5 TEXT NOT NULL, ctlat " INT " NOT NULL, itlmd5 TEXT NOT NULL, itlat " INT " NOT NULL,"                   \
    "  tvsvalid " INT " NOT NULL, tvsinvalid " INT " NOT NULL, tvslast TEXT NOT NULL, tvsat " INT " NOT NULL,"        \
    "  lastseen " INT " NOT NULL);"
#define CK_PHONE_MERGE_SQL                                                                                             \
    "INSERT INTO phone(mac, model, ipaddress, node, ctlmd5, ctlat, itlmd5, itlat, tvsvalid, tvsinvalid, tvslast,"      \
    " tvsat, lastseen) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT(mac) DO UPDATE SET"              \
    " model = CASE WHEN excluded.model <> '' THEN excluded.model ELSE phone.model END,"                               \
    " ipaddress = CASE WHEN excluded.ipaddress <> '' THEN excluded.ipaddress ELSE phone.ipaddress END,"               \
    " node = excluded.node,"                                                                                           \
    " ctlmd5 = CASE WHEN excluded.ctlat > phone.ctlat THEN excluded.ctlmd5 ELSE phone.ctlmd5 END,"                     \
    " ctlat = CASE WHEN excluded.ctlat > phone.ctlat THEN excluded.ctlat ELSE phone.ctlat END,"                        \
    " itlmd5 = CASE WHEN excluded.itlat > phone.itlat THEN excluded.itlmd5 ELSE phone.itlmd5 END,"                     \
    " itlat = CASE WHEN excluded.itlat > phone.itlat THEN excluded.itlat ELSE phone.itlat END,"                        \
    " tvsvalid = phone.tvsvalid + excluded.tvsvalid, tvsinvalid = phone.tvsinvalid + excluded.tvsinvalid,"           \
    " tvslast = CASE WHEN excluded.tvsat > phone.tvsat THEN excluded.tvslast ELSE phone.tvslast END,"                  \
    " tvsat = CASE WHEN excluded.tvsat > phone.tvsat THEN excluded.tvsat ELSE phone.tvsat END,"                        \
    " lastseen = CASE WHEN excluded.lastseen > phone.lastseen THEN excluded.lastseen ELSE phone.lastseen END"
#define CK_PHONE_COLS                                                                                                  \
    "mac, model, ipaddress, node, ctlmd5, ctlat, itlmd5, itlat, tvsvalid, tvsinvalid, tvslast, tvsat, lastseen"
/* The phones a ck_phone_query selects, alike on both backends: $1 model
 * ('*' any), $2 MAC ('' any), $3 the ck_phone_state, $4 the current CTL's
 * MD5 ('' none), $5 the oldest last sighting that still counts. The same
 * rules as ck_drift_build's (test_store checks the two agree). */
#define CK_PHONE_WHERE_SQL                                                                                             \
    " WHERE ($1 = '*' OR model = $1) AND ($2 = '' OR mac = $2) AND ($3 = 0"                                          \
    " OR ($3 = 1 AND $4 <> '' AND ctlmd5 = $4 AND lastseen >= $5)"                                                  \
    " OR ($3 = 2 AND ctlmd5 <> '' AND ctlmd5 <> $4 AND lastseen >= $5)"                                             \
    " OR ($3 = 3 AND ctlmd5 = '' AND lastseen >= $5)"                                                                \
    " OR ($3 = 4 AND $4 <> '' AND ctlmd5 = $4 AND lastseen >= $5 AND tvslast = 'invalid' AND tvsat >= ctlat)"        \
    " OR ($3 = 5 AND lastseen < $5))"

#endif
