/* The Trust Verification Service of a node daemon (docs/tvs-protocol.md):
 * a TLS server on port 2445 that answers phones' VERIFY requests from the
 * trust cache (DB cache, then CTL cache).
 *
 * Threads: the service runs on the daemon's TLS model (tls_conn.h) with
 * one worker thread per online CPU by default, each with its own
 * event_base and listening socket on the same address (SO_REUSEPORT): the
 * kernel spreads new connections over the workers, and every worker does
 * its own TLS handshakes, which are what a TVS spends its CPU on. The
 * daemon's event_base only carries a timer that watches the CTL file.
 * (SO_REUSEPORT lets another process of the same user bind the same port;
 * a daemon started twice with several workers therefore shares the port
 * instead of failing.) */
#ifndef CTLKITD_TVS_SERVICE_H
#define CTLKITD_TVS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/trustcache.h"

struct event_base;

typedef struct tvs_db_cert {
    char *path;                       /* PEM or DER certificate */
    unsigned roles[CK_TC_MAX_ROLES];
    size_t n_roles;
} tvs_db_cert;

typedef struct tvs_config {
    const char *listen;        /* "ADDR:PORT" or "[ADDR6]:PORT" (port 0 picks one); NULL: the
                                * daemon runs no TVS (tvs_service_new then uses 0.0.0.0:2445) */
    const char *cert_key_pem;  /* the node's TVS certificate and private key, one PEM */
    const char *ctl_path;      /* CTLFile.tlv for the CTL cache; NULL: none */
    tvs_db_cert *db_certs;     /* the DB cache (owned: tvs_config_clear frees) */
    size_t n_db_certs;
    uint32_t ttl;              /* seconds a phone may cache a "valid" (86400) */
    int tls_min;               /* TLS1_*_VERSION: the cluster's TLSMinVersion; 1.2 without a cluster */
    bool session_tickets;      /* offer TLS session tickets (off: phones seldom resume) */
    int workers;               /* 0: one per online CPU */
    int max_conns;             /* connections at once over all workers (1024) */
    int max_per_source;        /* connections at once from one address (0: no cap) */
    int timeout_ms;            /* from accept to the end of the first request (10000) */
    int idle_ms;               /* from a response to the end of the next request (10000) */
    int watch_ms;              /* how often to look at the CTL file for changes; 0 off (CK_TC_WATCH_MS) */
} tvs_config;

/* The most worker threads a TVS runs. */
#define TVS_MAX_WORKERS 64

void tvs_config_init(tvs_config *cfg);
/* Adds a DB certificate from "PATH:ROLE[,ROLE...]" (roles by name, e.g.
 * "SAST,CCM+TFTP", or by code). */
int tvs_config_add_db_cert(tvs_config *cfg, const char *spec, ck_err *err);
void tvs_config_clear(tvs_config *cfg);

typedef struct tvs_service tvs_service;

/* Loads the TLS identity, builds the first trust cache and binds the
 * listening sockets, so that every configuration error shows before the
 * daemon detaches. Starts no thread. Copies what it needs from cfg. */
tvs_service *tvs_service_new(const tvs_config *cfg, ck_err *err);
/* Starts the worker threads (after any fork). base (may be NULL) gets the
 * CTL watch timer. */
int tvs_service_start(tvs_service *svc, struct event_base *base, ck_err *err);
/* Installs a sealed cache (the service takes the caller's reference):
 * requests already being answered finish with the old one. Thread-safe. */
void tvs_service_set_cache(tvs_service *svc, ck_trustcache *cache);
/* The same after a rebuild, from the daemon's event loop: logs what the
 * build reported (a CTL that does not verify: one warning until the CTL
 * changes) and the cache's contents, then installs it. Both modes install
 * their rebuilt caches this way. */
void tvs_service_install(tvs_service *svc, ck_trustcache *cache, const ck_tc_report *rep);
/* Rebuilds the cache from the configured CTL and DB certificates and swaps
 * it in; on failure the old cache stays and the error says why. why (may be
 * NULL) is logged, e.g. "CTLFile.tlv has been modified". */
int tvs_service_reload(tvs_service *svc, const char *why, ck_err *err);
/* One line of counters for SIGUSR1: connections open and accepted,
 * VERIFY answers. Thread-safe (the workers count with atomics). */
void tvs_service_stats(tvs_service *svc, char *buf, size_t len);
/* Prometheus families: verifications by answer, connections, handshake
 * failures. Reads the workers' atomics: no lock. */
struct evbuffer;
void tvs_service_metrics(tvs_service *svc, struct evbuffer *out);
/* Phone tracking (phone_track.h): call before tvs_service_start. */
struct phone_track;
void tvs_service_set_tracker(tvs_service *svc, struct phone_track *t);
unsigned tvs_service_workers(const tvs_service *svc);
/* The bound port (useful with port 0). */
int tvs_service_port(const tvs_service *svc);
/* Stops the workers, closes every connection, frees everything. NULL ok. */
void tvs_service_free(tvs_service *svc);

/* Builds a sealed trust cache from a configuration (the DB certificates and
 * the CTL) with ck_trustcache_build. */
int tvs_cache_build(const tvs_config *cfg, ck_trustcache **out, ck_tc_report *rep, ck_err *err);

#endif
