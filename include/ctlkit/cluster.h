/* Cluster operations: what CUCM's security subsystem does when an admin
 * changes the security mode, updates the CTL, regenerates or imports a
 * certificate. Decisions live here; programs only wire them to the CLI.
 *
 * On disk a cluster is a folder:
 *   DIR/cluster.db            the store (SQLite), public data only
 *   DIR/cluster.lock          serializes changing operations (flock)
 *   DIR/nodes/NAME/tftp/      the node's TFTP directory (CTLFile.tlv, ITLFile.tlv ...)
 *   DIR/nodes/NAME/keys/      the node's private keys, mode 0700, files 0600
 *   DIR/nodes/NAME/run/       the node daemon's pid file
 * Each operation runs "on" a node (the --node of `ctlkit admin`): only that
 * node's keys are used to sign.
 *
 * Across hosts (docs/cluster-across-hosts.md) the store is a postgresql://
 * URL and each host holds only its own node's folder (--dir DIR: keys/,
 * tftp/, run/); the cluster-wide lock is the store's advisory lock. A
 * ck_cluster then sees one node's folder: operations sign only with keys
 * found there, and publish only to that folder; every other node's daemon
 * materializes its own from the store. */
#ifndef CTLKIT_CLUSTER_H
#define CTLKIT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/store.h"
#include "ctlkit/trustlist.h" /* CK_CTL_NAME, CK_ITL_NAME */

typedef struct ck_cluster ck_cluster;

/* Certificate units a node owns. */
#define CK_UNIT_CALLMANAGER "CallManager"
#define CK_UNIT_TVS "TVS"
#define CK_UNIT_CAPF "CAPF"
#define CK_UNIT_ITLRECOVERY "ITLRecovery"
/* All four, in this order: a subscriber owns the first two, the publisher
 * all four (lib/cluster/certs.c). */
#define CK_N_UNITS 4
extern const char *const ck_units[CK_N_UNITS];

/* Trust-store purposes (cluster-wide). */
#define CK_TRUST_CALLMANAGER "CallManager-trust"
#define CK_TRUST_PHONE_SAST "Phone-SAST-trust"
/* The CAs that issue USB eTokens (Cisco Manufacturing CA): a Security
 * Token in a CTL must chain to one of them (docs/etokens.md). */
#define CK_TRUST_ETOKEN_ISSUER "CTL-eToken-issuer-trust"
/* Every purpose, for messages. */
#define CK_TRUST_PURPOSE_NAMES                                                                                        \
    "CallManager-trust, Phone-SAST-trust, Phone-trust, CAPF-trust, TVS-trust, " CK_TRUST_ETOKEN_ISSUER

typedef struct ck_node_spec {
    const char *name;
    const char *ip;
    int tftp_port, tvs_port, provider_port; /* 0: 69, 2445, 2444 */
} ck_node_spec;

typedef struct ck_cluster_init_opts {
    const ck_node_spec *nodes; /* nodes[0] is the publisher */
    size_t n_nodes;
    const char *ou, *o, *l, *st, *c; /* subject fields of every certificate */
    int rsa_bits;                    /* default 2048 */
    const char *digest;              /* "sha1" or "sha256" (NULL: sha256) */
    const char *who;                 /* for the audit log */
    int capf_port;                   /* the CAPFPhonePort parameter; 0: its default (3804) */
} ck_cluster_init_opts;

/* Creates DIR with its database, every node's folders, keys and
 * certificates (RSA, SHA256withRSA or SHA1withRSA as o->digest asks,
 * self-signed, with CUCM's extensions per unit), every node's ITL, in
 * non-secure mode. Refuses a DIR that already holds a cluster. */
CK_MUST_USE int ck_cluster_create(const char *dir, const ck_cluster_init_opts *o, ck_err *err);
/* NULL when digest is one a node certificate may be signed with (NULL,
 * "sha1", "sha256"), else the refusal (without the value). */
const char *ck_cluster_digest_problem(const char *digest);

/* The size of the largest ITL a node of this cluster can get (every TVS,
 * the CAPF, the CallManager and ITLRecovery as SAST), measured by building
 * one with a throwaway key of the cluster's size. Fails with CK_ELIMIT,
 * naming the node count and key size, when it would pass 64 KiB. */
int ck_cluster_itl_size(const ck_cluster_init_opts *o, size_t *itl_len, ck_err *err);

int ck_cluster_open(const char *dir, const char *who, ck_cluster **out, ck_err *err);

/* Where a cluster is, seen from one host: the store's address (a cluster
 * folder, or a postgresql:// URL) and this host's node with its folder.
 * dir NULL: on a cluster folder, every node's folder DIR/nodes/NAME (one
 * host holds them all, today's layout); on PostgreSQL, no node folder at
 * all (status only). node NULL with dir: refused. */
typedef struct ck_cluster_where {
    const char *address;
    const char *dir;
    const char *node;
} ck_cluster_where;
int ck_cluster_open_at(const ck_cluster_where *w, const char *who, ck_cluster **out, ck_err *err);
/* Is address a PostgreSQL URL (a cluster across hosts)? */
bool ck_cluster_address_is_url(const char *address);
/* `cluster init` on PostgreSQL: the schema, every node's row, the
 * publisher's keys and certificates in dir (a new or empty folder) and the
 * publisher's ITL. Subscribers get no certificates until they join. */
CK_MUST_USE int ck_cluster_create_at(const char *address, const char *dir, const ck_cluster_init_opts *o, ck_err *err);
/* `cluster join` on the subscriber's host: makes node's keys in dir (a new
 * or empty folder) and its certificates shaped as the publisher's
 * (subject fields, key size, digest), registers the public halves and the
 * node's ITL. Refuses a node that is not in the cluster or has joined. */
CK_MUST_USE int ck_cluster_join(const char *address, const char *dir, const char *node, const char *who, ck_err *err);
/* Can this process reach node's folder (and so its keys)? */
bool ck_cluster_node_here(const ck_cluster *c, const char *node);
/* How messages name the cluster: its folder, or its URL with the password
 * masked. */
const char *ck_cluster_name(const ck_cluster *c);
/* True when the cluster's store is a PostgreSQL database. */
bool ck_cluster_is_url(const ck_cluster *c);
/* Is node's published ITL built from the certificates the store holds
 * now? (A node's ITL lists every TVS: another node's join or regeneration
 * makes it stale, and only its own host can sign a new one.) */
int ck_cluster_itl_stale(ck_cluster *c, const char *node, bool *stale, ck_err *err);
void ck_cluster_close(ck_cluster *c);
ck_store *ck_cluster_store(ck_cluster *c);
/* The cluster folder; across hosts, this host's node folder (where the
 * CTL Provider's users file lives). */
const char *ck_cluster_dir(const ck_cluster *c);
void ck_cluster_node_path(const ck_cluster *c, const char *node, const char *sub, const char *file, char *out,
                          size_t outsz);

/* Where a node's things are (programs never build these paths): the
 * private key of a unit ("CallManager" -> keys/CallManager.pem) and the
 * daemon's pid file. */
void ck_cluster_key_path(const ck_cluster *c, const char *node, const char *unit, char *out, size_t outsz);
void ck_cluster_pid_path(const ck_cluster *c, const char *node, char *out, size_t outsz);
/* For a process holding keys in memory (ck_key_hold_start) that can no
 * longer read their files: 1 and *unit when the cluster's certificate for
 * one of node's units no longer belongs to the key held for it (the unit
 * was regenerated: only a restart with the right to read can load the new
 * key), 0 when every held key is current, -1 when the store cannot say. */
int ck_cluster_held_key_changed(ck_cluster *c, const char *node, const char **unit, ck_err *err);
/* For a process about to lose the right to read keys/ (ctlkit-web leaving
 * root): holds in memory (ck_key_hold_start) every unit's key of the node
 * folders on this host, so that a rehearsal's throw-away copy can still
 * have them. Keys that cannot be read are skipped. -1 when the store
 * cannot list the nodes. */
int ck_cluster_hold_keys_here(ck_cluster *c, ck_err *err);

/* Decisions that both the library's operations and the programs need,
 * made here once; a program maps the reason to CUCM's words. */
typedef enum ck_cluster_refusal {
    CK_REFUSAL_NONE = 0,
    CK_REFUSAL_SUBSCRIBER,  /* the command runs on the publisher only */
    CK_REFUSAL_NONSECURE,   /* non-secure mode: there is no CTL to update */
    CK_REFUSAL_BAD_NAME,    /* not a file name in a node's TFTP directory */
    CK_REFUSAL_NO_NODE,     /* the node is not in the cluster (or the store failed: err says) */
} ck_cluster_refusal;
/* May node run a publisher-only command (security mode, CTL update, the
 * CTL Provider)? */
ck_cluster_refusal ck_cluster_publisher_only(ck_cluster *c, const char *node, ck_err *err);
/* May node run `utils ctl update CTLFile` (the publisher, mixed mode)? */
ck_cluster_refusal ck_cluster_ctl_updatable(ck_cluster *c, const char *node, ck_err *err);
/* Is name a file name in a node's TFTP directory (`file delete tftp`):
 * not empty, no '/', not hidden (so neither "." nor ".."), under 128 bytes. */
ck_cluster_refusal ck_cluster_tftp_name(const char *name);

/* A node's copy of a published file against the cluster database's row
 * (the cluster's CTL, the node's own ITL). */
typedef enum ck_copy_state {
    CK_COPY_ABSENT,      /* neither published nor on the node */
    CK_COPY_MISSING,     /* published, not on the node */
    CK_COPY_UNPUBLISHED, /* on the node, no row in the database */
    CK_COPY_OK,          /* the same bytes */
    CK_COPY_DIFFERS,     /* other bytes */
    CK_COPY_ELSEWHERE,   /* the node's folder is on another host */
} ck_copy_state;
/* md5 (may be NULL) gets the node copy's MD5, "" when there is none. */
ck_copy_state ck_cluster_copy_state(ck_cluster *c, const char *node, const char *name, char md5[33]);
/* The word `cluster status` and the dashboard show for a state ("ok", "DIFFERS", ...). */
const char *ck_copy_state_word(ck_copy_state st);
/* The same decision for bytes already read (copy NULL: not on the node). */
ck_copy_state ck_cluster_compare_copy(const uint8_t *copy, size_t copy_len, const ck_file_row *published);

/* A node's TFTP directory as the admin sees it (`file list tftp`): sorted
 * by name, without hidden files and what a publish stages (NAME.tmp.*,
 * NAME.prev). size is -1 when the file cannot be stat'ed. */
typedef struct ck_tftp_entry {
    char name[256];
    long long size;
} ck_tftp_entry;
int ck_cluster_tftp_list(ck_cluster *c, const char *node, ck_tftp_entry **out, size_t *n, ck_err *err);

/* `utils ctl set-cluster mixed-mode` / `non-secure-mode` (publisher only). */
CK_MUST_USE int ck_cluster_set_mixed_mode(ck_cluster *c, const char *node, ck_err *err);
CK_MUST_USE int ck_cluster_set_nonsecure_mode(ck_cluster *c, const char *node, ck_err *err);
/* `utils ctl update CTLFile` (publisher only, mixed mode): a new tokenless
 * CTL from the current certificates; eToken records are dropped. */
CK_MUST_USE int ck_cluster_update_ctl(ck_cluster *c, const char *node, ck_err *err);
/* What materializing a node's folder changed, one line each (for the
 * daemon's log): "CTLFile.tlv brought to version 7 from the cluster
 * database", "CTLFile.tlv removed: ...", "2 files left by an interrupted
 * publish removed from tftp/". busy: another process held the cluster
 * lock, nothing was done, try again later. */
#define CK_MATERIALIZE_LINES 8
typedef struct ck_materialize_report {
    bool busy;
    size_t n;
    char lines[CK_MATERIALIZE_LINES][160];
} ck_materialize_report;
/* Brings node's TFTP folder to the store's state: CTLFile.tlv and
 * ITLFile.tlv get the stored bytes when the folder's copy differs (hand
 * edits included; atomic: staged in run/, fsynced, renamed), are removed
 * when the admin deleted this node's copy with `file delete tftp` since the
 * last publish of it (without a row the copy is left as it is: deleting the
 * CTL on the publisher leaves the other nodes' copies), and what an
 * interrupted publish left (NAME.tmp.*, NAME.prev) is removed. Other files
 * are never touched. Every changing operation does this for every node
 * after its commit; the node's daemon does it for its own node. */
int ck_cluster_materialize_node(ck_cluster *c, const char *node, ck_materialize_report *r, ck_err *err);
/* The same without the device files (SEP*.cnf.xml*), which cost a read
 * and a signature check each: a daemon's periodic check of a folder
 * nothing has changed, which looks at the device files less often. */
int ck_cluster_materialize_node_files(ck_cluster *c, const char *node, ck_materialize_report *r, ck_err *err);
/* Device-only changes (a CAPF session's update of one device row): the
 * operation records them in the store, so that a node's daemon that sees
 * the change counter move brings only those devices' files up to date
 * instead of every file of every device (docs/benchmarks.md, "CAPF"). A
 * run of such changes is remembered for its latest CK_DEVICE_CHANGES_MAX
 * devices; anything else in between means a full pass. */
#define CK_DEVICE_CHANGES_MAX 64
typedef struct ck_device_changes {
    size_t n;
    char names[CK_DEVICE_CHANGES_MAX][16];
    /* The change counter after each one's last change, as the record says,
     * and the counter the record was read at (it holds while the counter
     * is still there); 0: not known (then only files this process wrote at
     * the current counter are taken as up to date). */
    int64_t at[CK_DEVICE_CHANGES_MAX];
    int64_t upto;
    char why[160]; /* when not: what the record held (a daemon's debug line) */
} ck_device_changes;
/* true when everything committed after the change counter read seen, up
 * to now (the counter read since), changed only device rows, and out
 * names the devices changed after seen; false when a full pass is needed
 * (another change, seen older than the last CK_DEVICE_CHANGES_MAX
 * devices' changes, no record, the database away), and out->why says
 * which, with what the record held. */
bool ck_cluster_device_changes_since(ck_cluster *c, int64_t seen, int64_t now, ck_device_changes *out);
/* ck_cluster_materialize_node for the files of d's devices only (the
 * same lock rules: r->busy when another process holds the lock, and then
 * d keeps only the devices still to do). A device without a row fails: do
 * the full pass. */
int ck_cluster_materialize_devices(ck_cluster *c, const char *node, ck_device_changes *d, ck_materialize_report *r,
                                   ck_err *err);
/* Test hook (builds with CTLKIT_TEST_HOOKS, docs/architecture.md "Test
 * hooks"): CTLKIT_TEST_STOP_AT=STEP stops the process there (SIGSTOP), for
 * a program's own points, such as ctlkitd's watcher's "watch-pass-done"
 * (reached on every tick, after a pass and before it records what it has
 * seen). Unlike the operations' points, these are neither counted by
 * CTLKIT_TEST_KILL_AT_N nor listed in CTLKIT_TEST_POINTS: a daemon reaches
 * them once a second, which would make the crash tests' enumeration of an
 * operation's points depend on time. */
void ck_test_stop_point(const char *step);
/* How many device rows materializing through c has built the files of
 * (checked, rewritten or not): a work measure for tests and benchmarks. */
size_t ck_cluster_devices_materialized(const ck_cluster *c);
/* How many private keys this handle has read from their files: a handle
 * keeps a unit's certificate and key decoded while the store's row and the
 * key file stay the same (a work measure for tests and benchmarks). */
size_t ck_cluster_keys_loaded(const ck_cluster *c);
/* Records in the store what node's TFTP folder now serves (CTLFile.tlv,
 * ITLFile.tlv: version, MD5, SHA-1, since when), writing only the rows
 * that changed; changed (may be NULL) gets how many. The node's daemon
 * calls it after materializing; a failure (the database away) changes
 * nothing on disk, and the next call catches up. */
int ck_cluster_record_served(ck_cluster *c, const char *node, size_t *changed, ck_err *err);
/* Rebuilds and publishes one node's ITL, signed on that node. */
CK_MUST_USE int ck_cluster_rebuild_itl(ck_cluster *c, const char *node, ck_err *err);
/* The same for a daemon's loop: never waits for the cluster lock; *busy
 * (and 0, nothing done) when another process holds it: try again later. */
CK_MUST_USE int ck_cluster_try_rebuild_itl(ck_cluster *c, const char *node, bool *busy, ck_err *err);

/* `set cert regen UNIT` on node: new key (at least 2048 bits, as CUCM
 * 10.5) and serial, signed with digest ("sha1" or "sha256"; NULL: sha256).
 * warning gets what the change does to phones and what to run next. */
CK_MUST_USE int ck_cluster_regen_cert(ck_cluster *c, const char *node, const char *unit, const char *digest, char *warning,
                          size_t warnsz, ck_err *err);
/* Canonical spelling of a unit ("callmanager" -> "CallManager") or a trust
 * purpose; NULL when unknown. */
const char *ck_cluster_unit_name(const char *unit);
const char *ck_cluster_trust_purpose(const char *purpose);

/* `set cert import trust PURPOSE FILE` (cluster-wide). */
CK_MUST_USE int ck_cluster_import_trust(ck_cluster *c, const char *node, const char *purpose, const char *pem,
                            const char *description, ck_err *err);
CK_MUST_USE int ck_cluster_delete_trust(ck_cluster *c, const char *node, const char *purpose, const char *serial, int *deleted,
                            ck_err *err);
/* `file delete tftp NAME` on one node. */
CK_MUST_USE int ck_cluster_delete_tftp_file(ck_cluster *c, const char *node, const char *name, int *found, int *deleted,
                                ck_err *err);
/* `set param NAME VALUE` (range-checked from the parameter table). */
CK_MUST_USE int ck_cluster_set_param(ck_cluster *c, const char *node, const char *name, const char *value, ck_err *err);

/* Recovery (lib/cluster/recovery.c). `utils ctl reset localkey`
 * (publisher, mixed mode): the tokenless CTL signed with the publisher's
 * ITLRecovery key (the CallManager key is not needed), and
 * TrustListSigningKey set to ITLRecovery so that later updates keep that
 * signer. */
CK_MUST_USE int ck_cluster_ctl_reset_localkey(ck_cluster *c, const char *node, ck_err *err);
/* `utils itl reset localkey` (key_node NULL: node's own ITLRecovery key)
 * or `remotekey KEY_NODE`: every node's ITL signed with that ITLRecovery
 * key, until the node's TFTP service is restarted. n_reset gets how many;
 * skipped (may be NULL) the names, comma-separated, of the nodes that have
 * not joined the cluster yet (no certificates, no ITL), which are left
 * out. */
CK_MUST_USE int ck_cluster_itl_reset(ck_cluster *c, const char *node, const char *key_node, size_t *n_reset,
                                     char *skipped, size_t skippedsz, ck_err *err);
/* The TFTP file name in an activelog path ("cm/tftpdata/CTLFile.tlv" ->
 * "CTLFile.tlv"); NULL when the path is not a file of cm/tftpdata/. */
const char *ck_cluster_activelog_tftp_name(const char *path);

/* Checks that protect the fleet (stale CTL in non-secure mode, a CTL not
 * signed by the publisher's current signer, node copies that differ from
 * the published file). node NULL: every node. Returns a malloc'd array of
 * malloc'd one-line warnings. */
int ck_cluster_checks(ck_cluster *c, const char *node, char ***warnings, size_t *n, ck_err *err);
void ck_strings_free(char **v, size_t n);

/* The cluster as `ctlkit cluster status` and the admin's `show` commands
 * report it (one view model, so that the JSON and the text say the same
 * things). For each node and managed file: what the publisher published,
 * the node folder's copy (when the folder is on this host) and what the
 * node's daemon last reported serving. */
typedef struct ck_status_file {
    bool published;         /* the store has a row (the CTL: the cluster's) */
    int64_t published_version;
    char published_md5[33];
    ck_copy_state copy;     /* the folder's copy; CK_COPY_ELSEWHERE: on its host */
    char copy_md5[33];      /* "" when there is no copy here */
    bool served;            /* the node's daemon reported serving it */
    int64_t served_version; /* 0: bytes that are no published version */
    char served_md5[33], served_sha1[41];
    int64_t served_since;
    bool served_differs;    /* served, but not the published bytes */
} ck_status_file;

typedef struct ck_status_node {
    ck_node node;
    bool joined;            /* has its certificates (across hosts: has run join) */
    ck_status_file ctl, itl;
} ck_status_node;

typedef struct ck_cluster_status {
    char name[512];         /* the folder, or the URL with the password masked */
    bool url;
    int security_mode;      /* 0 non-secure, 1 mixed */
    int tls_min_version;    /* TLS1_VERSION ... */
    char tls_warning[512];  /* "" when the minimum is TLS 1.2 or later */
    ck_file_row ctl;        /* the published CTL without its bytes; ctl.version 0: none */
    ck_status_node *nodes;
    size_t n_nodes;
    ck_cert_row *certs;     /* every node's certificates */
    size_t n_certs;
    /* One list, in this order: the TLS minimum (the cluster-wide view
     * only), the checks of ck_cluster_checks, then each daemon that
     * reports serving other bytes than the published ones (nodes whose
     * folder is on another host; a folder here is checked directly). */
    char **warnings;
    size_t n_warnings;
} ck_cluster_status;
/* node NULL: the whole cluster; else that node's view (its checks only, no
 * cluster-wide TLS warning, as `show status` has always printed). */
int ck_cluster_status_read(ck_cluster *c, const char *node, ck_cluster_status *out, ck_err *err);
void ck_cluster_status_free(ck_cluster_status *st);


/* `utils service restart SERVICE` on node (restart.c), through the store:
 * a request row that node's daemon answers, on whatever host it runs. */
#define CK_SERVICE_TFTP "Cisco Tftp"
#define CK_SERVICE_TVS "Cisco Trust Verification Service"
#define CK_RESTART_WAIT_MS 30000
/* The canonical spelling of a service that can be restarted, or NULL. */
const char *ck_cluster_service_name(const char *service);
/* Whether node's daemon runs, from its pid file: 1 yes, 0 no, -1 unknown
 * (the node's folder is on another host). */
int ck_cluster_daemon_running(ck_cluster *c, const char *node);
/* Asks node's daemon to restart service and waits up to wait_ms for its
 * answer (result gets it, "STARTED"). CK_ENOTFOUND when no daemon runs:
 * at once where node's pid file is on this host (a TFTP restart then still
 * rebuilds the node's ITL, as a starting TFTP service would), otherwise
 * once wait_ms passed without an answer (the request is withdrawn). */
int ck_cluster_restart_service(ck_cluster *c, const char *node, const char *service, unsigned wait_ms,
                               char *result, size_t resultsz, ck_err *err);

/* The security mode: 0 non-secure, 1 mixed. */
int ck_cluster_security_mode(ck_cluster *c);

#endif

#ifndef CTLKIT_CLUSTER_TVS
#define CTLKIT_CLUSTER_TVS
#include "ctlkit/trustcache.h"
/* What a node's TVS vouches for (docs/tvs-protocol.md): the "DB cache" from
 * the cluster database (every node's CallManager as SAST + CCM+TFTP, TVS,
 * CAPF, ITLRecovery as SAST; CallManager-trust as CCM; Phone-SAST-trust as
 * SAST) and the "CTL cache" from the node's own CTLFile.tlv, by
 * ck_trustcache_build's rule (a CTL that does not verify vouches for
 * nothing; rep, which may be NULL, says why). A Phone-SAST-trust
 * certificate that does not chain to CTL-eToken-issuer-trust (the CTL
 * Provider's check) is left out and named in rep->refused: uploading a
 * certificate by name must not make it a SAST every phone believes. The
 * cache comes back sealed. */
int ck_cluster_build_trustcache(ck_cluster *c, const char *node, ck_trustcache **out, ck_tc_report *rep,
                                ck_err *err);
#endif
