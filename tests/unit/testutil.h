/* Small helpers shared by the unit test programs. */
#ifndef CTLKIT_TESTUTIL_H
#define CTLKIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Reads a whole file (fails the test if it cannot); malloc'd. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Path of a file in tests/data/vectors (static buffer). */
const char *tu_vector(const char *name);
/* Path of a file in tests/data (static buffer). */
const char *tu_data(const char *name);
/* A fresh temporary directory (static buffer); removed by tu_rmtree. */
const char *tu_tmpdir(void);
void tu_rmtree(const char *path);

/* ---------- certificates and trust lists ---------- */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

/* A certificate with its private key. */
typedef struct tu_keypair {
    X509 *cert;
    EVP_PKEY *key;
} tu_keypair;
/* Generates kp from p (fails the test when it cannot). */
void tu_keypair_gen(tu_keypair *kp, const ck_cert_params *p);
/* Frees the n keypairs that kps points to. */
void tu_keypairs_free(tu_keypair *const *kps, size_t n);
/* Parses a trust list (fails the test when it does not parse); ck_tl_free. */
ck_tl_file *tu_tl_parse(const uint8_t *p, size_t n);

/* ---------- a cluster in a temporary folder ---------- */
#include <limits.h>

#include "ctlkit/cluster.h"

/* The names CUCM's own technote uses. */
#define TU_PUB "cucm-1051-a-pub"
#define TU_SUB "cucm-1051-a-sub1"

typedef struct tu_cluster {
    char root[PATH_MAX]; /* the temporary folder, removed by tu_cluster_free */
    char dir[PATH_MAX];  /* root/cl: the cluster (SQLite) */
    ck_cluster *c;       /* opened as "test"; on PostgreSQL, on the publisher's host */
    ck_cluster *sub;     /* PostgreSQL only: the subscriber's host (its own folder), or NULL */
    char db[64];         /* PostgreSQL only: the database, dropped by tu_cluster_free */
} tu_cluster;

/* tu_use_pg(STATEFILE): from now on tu_cluster_new makes its clusters on
 * the PostgreSQL server of tests/tools/pg_server.sh (one fresh database
 * each, the publisher's and the subscriber's folders apart, the subscriber
 * joined as on its own host). false when the state file names no server.
 * Programs call it for `test_X pg` (the pg.* tests). */
bool tu_use_pg(const char *state_file);
bool tu_pg(void);
/* For a program's main: with the argument "pg", tu_use_pg on the state
 * file CTLKIT_TEST_PG_STATE names. false (said on stderr) when "pg" was
 * asked for and there is no server, or the argument is unknown. */
bool tu_backend_from_args(int argc, char **argv);

/* A cluster of TU_PUB (127.0.0.11) and, with two nodes, TU_SUB
 * (127.0.0.12), subject TAC/Cisco/Krakow/Malopolska/PL, 1024-bit keys
 * (fast; the key size does not matter to the decisions under test), in
 * non-secure mode, or mixed mode when mixed. NULL (with the reason on
 * stderr) when it cannot be made. */
tu_cluster *tu_cluster_new(size_t n_nodes, bool mixed);
void tu_cluster_free(tu_cluster *t);
/* cmocka group set-up/tear-down around tu_cluster_new(2, true) in *state. */
int tu_cluster_setup_mixed(void **state);
int tu_cluster_teardown(void **state);
/* The handle on node's own host: on PostgreSQL the subscriber's commands
 * run where its folder and keys are; on SQLite every node is here. */
ck_cluster *tu_host(tu_cluster *t, const char *node);
/* The file NAME in node's TFTP folder (malloc'd), NULL when missing. On
 * PostgreSQL the subscriber's folder is first brought to the database's
 * state, as its daemon would. */
uint8_t *tu_node_file(tu_cluster *t, const char *node, const char *name, size_t *len);

#endif
