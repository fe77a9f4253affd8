/* Private to lib/cluster. */
#ifndef CTLKIT_CLUSTER_INTERNAL_H
#define CTLKIT_CLUSTER_INTERNAL_H

#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctlkit/cluster.h"
#include "ctlkit/trustlist.h"

/* A file written for a node's TFTP folder, waiting for the commit. */
typedef struct staged_file {
    char dest[PATH_MAX];
    char tmp[PATH_MAX];
} staged_file;

/* A unit's certificate and key kept decoded across operations
 * (unit_cache.c): valid while the store's row is pem and the key file is
 * the file stat'ed as key_st. */
typedef struct ck__unit_slot {
    char node[64], unit[32];
    char *pem;        /* the certificate row it was decoded from; NULL: empty slot */
    X509 *cert;
    EVP_PKEY *key;    /* NULL until a caller needed it */
    unsigned key_flags;
    struct stat key_st;
} ck__unit_slot;
#define CK__UNIT_SLOTS 4

struct ck_cluster {
    char dir[PATH_MAX];      /* the cluster folder; "" across hosts */
    char name[PATH_MAX];     /* for messages: dir, or the masked URL */
    bool url;                /* the store is PostgreSQL: only here_dir is on this host */
    char here[64];           /* this host's node when here_dir is set */
    char here_dir[PATH_MAX]; /* its folder ("" : DIR/nodes/NAME for every node) */
    char who[64];
    ck_store *store;
    int lock_fd;   /* the folder cluster's flock during a changing operation, -1 otherwise */
    bool in_op;    /* inside a changing operation (lock and transaction held) */
    staged_file *staged; /* what the open operation publishes */
    size_t n_staged;
    /* Set (ck__op_device) inside an operation that changes one device row
     * and nothing else (a CAPF session's update): ck__op_end records the
     * change for the daemons (device_changes.c) and brings only that
     * device's files up to date, not every file of every device
     * (docs/benchmarks.md, "CAPF"). Cleared by ck__op_end. */
    char op_device[16];
    int64_t op_counter; /* the change counter when the operation began */
    /* Set by ck__op_end between its commit and its device pass: the
     * counter read after the commit, recorded with each device whose files
     * that pass brought up to date (device_written.c); -1 otherwise. */
    int64_t written_at;
    size_t devices_done; /* device rows materialized through this handle (a work measure) */
    /* Decoded once, used while unchanged (unit_cache.c, capf_cluster.c,
     * device_files.c); a handle is one thread's, so no lock. */
    ck__unit_slot units[CK__UNIT_SLOTS];
    unsigned unit_next;     /* the slot to reuse when all are taken */
    size_t keys_loaded;     /* private keys read from their files (a work measure) */
    char *capf_roots_pem;   /* the CAPF-trust rows' PEM texts the roots below were decoded from */
    size_t capf_roots_len;
    X509 **capf_roots;
    size_t n_capf_roots;
    char *lsc_pem;          /* the last LSC an encrypted configuration was built for */
    X509 *lsc_cert;
};

/* A changing operation: the cluster lock (flock, so that two admins'
 * shells serialize) and a store transaction. ck__op_end commits when ok,
 * rolls back otherwise, and always releases the lock. */
/* The local lock file of c (the folder cluster's cluster.lock, a node
 * folder's run/node.lock across hosts); false when there is none. */
bool ck__lock_path(const ck_cluster *c, char *out, size_t outsz);
CK_MUST_USE int ck__op_begin(ck_cluster *c, ck_err *err);
/* The same without waiting: 1 (nothing held) when another process holds
 * the local lock or the store's. */
CK_MUST_USE int ck__op_try_begin(ck_cluster *c, ck_err *err);
CK_MUST_USE int ck__op_end(ck_cluster *c, bool ok, ck_err *err);
/* Marks the open operation as changing only device name's row (call it
 * right after ck__op_begin, before any write). */
void ck__op_device(ck_cluster *c, const char *name);
/* Records in the store (before the commit) that the open operation changed
 * only c->op_device, extending the run of device-only changes the daemons
 * have not yet seen (device_changes.c). */
CK_MUST_USE int ck__device_change_record(ck_cluster *c, ck_err *err);
/* The device operations' common steps (devices.c), shared with the CSV
 * import (device_import.c): CAPFOperationExpiresInDays as set (or its
 * default); adding a new row inside an open operation (a name already
 * there is refused); ending the operation (commit when ok), -1 unless ok. */
int ck__device_expires_days(ck_cluster *c);
CK_MUST_USE int ck__device_add_locked(ck_cluster *c, ck_device_row *d, ck_err *err);
CK_MUST_USE int ck__device_op_finish(ck_cluster *c, bool ok, ck_err *err);
/* One audit row for a change; a row that cannot be written fails the
 * operation, with err saying why. */
CK_MUST_USE int ck__audit(ck_cluster *c, ck_err *err, const char *node, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Loads a node's certificate from the store and (when key is not NULL) its
 * private key from the node's key directory, checking the key file's mode. */
CK_MUST_USE int ck__load_unit(ck_cluster *c, const char *node, const char *unit, X509 **cert, EVP_PKEY **key, ck_err *err);
/* The same with the key file checked by key_flags (ck_load_key_pem's
 * CK_KEY_*; ck__load_unit: CK_KEY_PRIVATE_DIR). Both hand out references
 * to copies kept in c while the row and the key file stay the same
 * (unit_cache.c): the caller frees them as its own. */
CK_MUST_USE int ck__load_unit_flags(ck_cluster *c, const char *node, const char *unit, unsigned key_flags, X509 **cert,
                                    EVP_PKEY **key, ck_err *err);
/* Frees what c keeps decoded (keys wiped by OpenSSL's free). */
void ck__unit_cache_clear(ck_cluster *c);
/* Creates a new key and certificate for a unit, shaped as CUCM's (name,
 * extensions, validity), signed with digest ("sha1" or "sha256"; NULL:
 * sha256), and stores both (key file 0600, certificate in the store),
 * stamped changed_at (0: now). */
CK_MUST_USE int ck__make_unit(ck_cluster *c, const ck_node *n, const char *unit, const char *ou, const char *o,
                              const char *l, const char *st, const char *country, int bits, const char *digest,
                              int64_t changed_at, ck_err *err);

/* Publishing (publish.c): stages data as NAME for each listed node inside
 * an open operation; ck__op_end installs what was staged after the commit, or
 * discards it on rollback. */
CK_MUST_USE int ck__publish_to_nodes(ck_cluster *c, const ck_node *nodes, size_t n, const char *name, const uint8_t *data,
                     size_t len, ck_err *err);
void ck__staged_install(ck_cluster *c);
void ck__staged_discard(ck_cluster *c);
/* run/NAME.tmp.PID of a node: where its files are staged. */
void ck__stage_path(const ck_cluster *c, const char *node, const char *name, char *out, size_t outsz);
void ck__test_kill_point(const char *step);
/* While muted (nested calls count), this thread passes no test point. */
void ck__test_points_mute(bool mute);
/* Publishes the CTL (database row and every node's copy) inside an open
 * operation: the one publish path of the admin commands and the CTL
 * Provider. */
CK_MUST_USE int ck__publish_ctl_locked(ck_cluster *c, const uint8_t *data, size_t len, ck_err *err);
/* Brings every node's folder on this host to the store's state while the
 * cluster lock is held (materialize.c): the whole folder (names NULL) or
 * only the n named devices' files; errors are left for the daemons to
 * retry. */
void ck__materialize_here_locked(ck_cluster *c, const char *const *names, size_t n);
/* The names a node's folder gets from the store: CTLFile.tlv (the
 * cluster's row, node "") and ITLFile.tlv (the node's own row). */
#define CK__N_MANAGED 2
extern const char *const ck__managed_files[CK__N_MANAGED];
/* The store's owner of a managed name for node: "" for the CTL. */
static inline const char *ck__file_owner(const char *node, const char *name)
{
    return strcmp(name, CK_CTL_NAME) == 0 ? "" : node;
}
/* Records that the admin deleted node's copy of NAME at the row's current
 * version, so that materializing does not bring it back until the next
 * publish of NAME. */
CK_MUST_USE int ck__mark_deleted(ck_cluster *c, const char *node, const char *name, ck_err *err);

/* Has node made its certificates (a subscriber across hosts has none
 * until it joins)? */
bool ck__joined(ck_cluster *c, const char *node);
/* Refuses to make or use node's keys when its folder is on another host. */
CK_MUST_USE int ck__require_here(const ck_cluster *c, const char *node, const char *what, ck_err *err);

/* Builds the tokenless CTL (mixed) or the blank-record CTL (non-secure). */
CK_MUST_USE int ck__build_ctl(ck_cluster *c, bool mixed, uint8_t **out, size_t *len, ck_err *err);
/* Builds node's ITL. */
CK_MUST_USE int ck__build_itl(ck_cluster *c, const char *node, uint8_t **out, size_t *len, ck_err *err);
/* Builds node's ITL signed by recovery_node's ITLRecovery key ("": the
 * publisher's), or by node's CallManager key when recovery_node is NULL. */
CK_MUST_USE int ck__build_itl_signed(ck_cluster *c, const char *node, const char *recovery_node, uint8_t **out,
                                     size_t *len, ck_err *err);

/* Rebuilds and publishes node's ITL inside an open operation. */
CK_MUST_USE int ck__rebuild_itl_locked(ck_cluster *c, const char *node, ck_err *err);

/* Does a Security Token certificate chain to a CA in CTL-eToken-issuer-trust
 * (signatures and names, not dates)? 0 yes; 1 no, with why saying why (an
 * empty store included); -1 when the store cannot be read. */
CK_MUST_USE int ck__etoken_issuer_verify(ck_cluster *c, X509 *token, char *why, size_t whysz, ck_err *err);
/* The same check against trust rows the caller already listed (the TVS
 * cache builder checks every Phone-SAST-trust row with one listing). */
CK_MUST_USE int ck__etoken_issuer_verify_rows(const ck_cert_row *trust, size_t n_trust, X509 *token, char *why,
                                              size_t whysz, ck_err *err);

/* Brings node's TFTP folder's device files (SEP<MAC>.cnf.xml, and its
 * .sgn signed with node's CallManager key in mixed mode) to the store's
 * devices (device_files.c): written atomically when their bytes would
 * change, removed for devices that are gone. Part of materializing. */
int ck__materialize_devices(ck_cluster *c, const char *node, ck_materialize_report *r, ck_err *err);
/* Only the named devices' files in node's folder, from their rows; a name
 * without a row fails (CK_ENOTFOUND: the caller does the full pass). */
int ck__materialize_named_devices(ck_cluster *c, const char *node, const char *const *names, size_t n,
                                  ck_materialize_report *r, ck_err *err);
/* Writes data as node's tftp/NAME when the folder's copy differs (staged in
 * run/, fsynced, renamed); *changed says whether it did (materialize.c). */
CK_MUST_USE int ck__bring_file(ck_cluster *c, const char *node, const char *name, const uint8_t *data, size_t len,
                               bool *changed, ck_err *err);
/* The same with ck_write_file_staged_flags's flags (CK_WRITE_NO_SYNC for
 * the derived device files, device_files.c). */
CK_MUST_USE int ck__bring_file_flags(ck_cluster *c, const char *node, const char *name, const uint8_t *data, size_t len,
                                     unsigned flags, bool *changed, ck_err *err);
/* The process's record of device files brought up to date right after
 * its own commit, at change counter value counter (device_written.c);
 * written_last: the value node's files of device were last brought up to
 * date at by this process, -1 when never. */
void ck__device_written(ck_cluster *c, const char *node, const char *device, int64_t counter);
int64_t ck__device_written_last(ck_cluster *c, const char *node, const char *device);
/* The length of the device file name entry starts with
 * (SEP<12 hex>.cnf.xml, .cnf.xml.sgn or .cnf.xml.enc.sgn), 0 when it does
 * not start with one (device_files.c). */
size_t ck__device_file_base(const char *entry);
/* The old key file of a unit kept in run/ while `set cert regen` replaces
 * it; put back or removed by ck__key_backups_recover, which materializing
 * a node runs under the cluster lock (key_backup.c). */
CK_MUST_USE int ck__key_backup_save(ck_cluster *c, const char *node, const char *unit, const uint8_t *data,
                                    size_t len, ck_err *err);
void ck__key_backup_drop(ck_cluster *c, const char *node, const char *unit);
void ck__key_backups_recover(ck_cluster *c, const char *node, ck_materialize_report *r);
/* A line for the materialize report (materialize.c). */
void ck__materialize_note(ck_materialize_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

CK_MUST_USE int ck__require_publisher(ck_cluster *c, const char *node, const char *command, ck_err *err);

#endif
