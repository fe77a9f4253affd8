/* Private to lib/cluster. */
#ifndef CTLKIT_CLUSTER_INTERNAL_H
#define CTLKIT_CLUSTER_INTERNAL_H

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctlkit/cluster.h"
#include "ctlkit/trustlist.h"

struct ck_cluster {
    char dir[PATH_MAX];
    char who[64];
    ck_store *store;
    int lock_fd;   /* held during a changing operation, -1 otherwise */
};

/* A changing operation: the cluster lock (flock, so that two admins'
 * shells serialize) and a store transaction. op_end commits when ok,
 * rolls back otherwise, and always releases the lock. */
int op_begin(ck_cluster *c, ck_err *err);
int op_end(ck_cluster *c, bool ok, ck_err *err);
int audit(ck_cluster *c, const char *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Loads a node's certificate from the store and (when key is not NULL) its
 * private key from the node's key directory, checking the key file's mode. */
int load_unit(ck_cluster *c, const char *node, const char *unit, X509 **cert, EVP_PKEY **key, ck_err *err);
/* Creates a new key and certificate for a unit and stores both (key file
 * 0600, certificate in the store). */
int make_unit(ck_cluster *c, const ck_node *n, const char *unit, const char *ou, const char *o, const char *l,
              const char *st, const char *country, int bits, ck_err *err);

/* Publishes data as NAME into each listed node's TFTP directory so that
 * either every node has the new bytes or every node keeps its old file. */
int publish_to_nodes(ck_cluster *c, const ck_node *nodes, size_t n, const char *name, const uint8_t *data,
                     size_t len, ck_err *err);

/* Builds the tokenless CTL (mixed) or the blank-record CTL (non-secure). */
int build_ctl(ck_cluster *c, bool mixed, uint8_t **out, size_t *len, ck_err *err);
/* Builds node's ITL. */
int build_itl(ck_cluster *c, const char *node, uint8_t **out, size_t *len, ck_err *err);

/* Rebuilds and publishes node's ITL inside an open operation. */
int rebuild_itl_locked(ck_cluster *c, const char *node, ck_err *err);

/* Does a Security Token certificate chain to a CA in CTL-eToken-issuer-trust
 * (signatures and names, not dates)? 0 yes; 1 no, with why saying why (an
 * empty store included); -1 when the store cannot be read. */
int etoken_issuer_verify(ck_cluster *c, X509 *token, char *why, size_t whysz, ck_err *err);

int require_publisher(ck_cluster *c, const char *node, const char *command, ck_err *err);

#endif
