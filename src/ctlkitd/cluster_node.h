/* ctlkitd --cluster DIR --node NAME: the daemon as one node of a cluster.
 * Across hosts (--cluster postgresql://... --dir DIR) it wakes on the
 * store's notifications (a slow poll as safety net), rebuilds and signs its
 * own ITL when the cluster's certificates change, and keeps serving its
 * last files when the database is down (logged once, reconnects with
 * back-off).
 * Fills the TFTP and TVS settings from the node's entry in the cluster
 * database (its address, ports, TFTP directory and TVS key), keeps the
 * TVS's trust cache equal to what the cluster trusts (the node's CTL and
 * the database's certificates), and notices by itself when either changes,
 * as CUCM's TVS does ("CTLFile.tlv has been modified. Recaching CTL
 * Certificate Cache"). Once started, every call to the store runs on a
 * thread of the node's own, so that a database that hangs never stalls
 * the TFTP/TVS loop; the loop only runs what that thread hands it. */
#ifndef CTLKITD_CLUSTER_NODE_H
#define CTLKITD_CLUSTER_NODE_H

#include <stdbool.h>
#include <time.h>

#include "ctlkit/error.h"
#include "tftp_service.h"
#include "tvs_service.h"

struct event_base;
typedef struct cluster_node cluster_node;

/* Opens the cluster (address: the cluster folder or a postgresql:// URL;
 * node_dir: this host's node folder, NULL for the folder cluster's
 * nodes/NAME), reads the node's entry and the enterprise parameters, and
 * brings the node's TFTP folder to the database's state. */
cluster_node *cluster_node_open(const char *address, const char *node_dir, const char *node, ck_err *err);
/* What the cluster says for a setting the command line left unset
 * (options.c names these per option): one of the node's own below, or an
 * enterprise parameter by name. NULL when the cluster has no value. The
 * text lives as long as cn. */
#define CLUSTER_NODE_TFTP "node's TFTP address"
#define CLUSTER_NODE_TFTP_ROOT "node's TFTP folder"
#define CLUSTER_NODE_TVS "node's TVS address"
#define CLUSTER_NODE_TVS_KEY "node's TVS key"
#define CLUSTER_NODE_TFTP_SIGN "node's CallManager key"
const char *cluster_node_value(const cluster_node *cn, const char *source);
/* Before leaving root (ctlkitd --user): reads the node's unit keys that
 * are on this host (CallManager, TVS, CAPF, ITLRecovery; flags: how each
 * file is checked, CK_KEY_*) into the process's key hold
 * (ck_key_hold_start), so that the services and the ITL's re-signing use
 * them from memory once the keys/ folder is closed to the daemon. */
int cluster_node_hold_keys(cluster_node *cn, unsigned flags, ck_err *err);
/* ctlkitd's exit status when a held key was regenerated (set cert regen)
 * and the daemon, unable to read the new file, stops to be started again
 * (the systemd unit's Restart=on-failure); EX_TEMPFAIL. */
#define CLUSTER_NODE_EXIT_RESTART 75
/* Did the node stop the daemon's loop for that reason? */
bool cluster_node_restart_asked(const cluster_node *cn);
/* After the services exist (and after detaching): installs the cluster's
 * trust cache, writes the pid file (on this host, whether a daemon runs),
 * and starts watching for changes: the store's, and the restart requests
 * of `utils service restart` (from any host) for this node, which it
 * answers after rebuilding its ITL and reloading tftp (may be NULL) and the
 * TVS. With the parameter TFTPReloadOnChange False, tftp and the TVS keep
 * what they have until such a request (CUCM's order of steps). */
int cluster_node_start(cluster_node *cn, struct event_base *base, struct tvs_service *tvs,
                       struct tftp_service *tftp, ck_err *err);
/* Rebuilds the TVS trust cache now (SIGHUP, or a change seen). */
void cluster_node_reload(cluster_node *cn, const char *why);
void cluster_node_free(cluster_node *cn);
/* For the metrics (the loop's thread): when the TVS caches were last
 * rebuilt (0: never), a trust file's (CTLFile.tlv, ITLFile.tlv) publish
 * version in the store (-1: none or unknown), and the family
 * ctlkit_database_up; the last two as the database thread last saw them. */
struct evbuffer;
time_t cluster_node_last_reload(const cluster_node *cn);
long long cluster_node_file_version(cluster_node *cn, const char *name);
void cluster_node_metrics(cluster_node *cn, struct evbuffer *out);

#endif
