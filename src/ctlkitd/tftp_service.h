/* ctlkitd's TFTP service: read requests (RFC 1350) with the blksize,
 * tsize, timeout and windowsize options (RFC 2347/2348/2349/7440), served
 * from the in-memory copy of the TFTP root (tftp_cache.h), which follows
 * the directory (tftp_watch.h, and SIGHUP through tftp_service_reload).
 * Writes are refused (error 2, Access violation).
 *
 * Life cycle: tftp_service_new binds and loads (errors reach the terminal
 * before the daemon detaches), tftp_service_start joins an event loop,
 * tftp_service_free aborts what is in flight and closes everything. */
#ifndef CTLKITD_TFTP_SERVICE_H
#define CTLKITD_TFTP_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "ctlkit/error.h"
#include "ctlkit/netaddr.h"

struct tftp_config {
    ck_netaddr listen;           /* default 0.0.0.0:69 */
    const char *root;         /* the TFTP directory */
    unsigned max_transfers;   /* concurrent transfers; past it: error 0 "server busy" */
    unsigned max_per_source;  /* concurrent transfers per client address; 0 = no cap */
    unsigned timeout_ms;      /* retransmission timeout unless the client sets one */
    unsigned retries;         /* retransmissions before giving up on a client */
    unsigned max_blksize;     /* largest blksize granted (RFC 2348 allows less) */
    unsigned max_window;      /* largest windowsize granted, at most XFER_MAX_WINDOW */
    size_t max_file_bytes;    /* files above are not served */
    size_t max_cache_bytes;   /* total size of the cache */
    const char *sign_pem;     /* key and certificate that sign X.sgn on request; NULL: none */
    unsigned sign_key_flags;  /* ck_load_key_pem flags for it */
};

/* Fills the defaults above (listen 0.0.0.0:69, 4000 transfers, 16 per
 * client address, 1 s, 5 retries, blksize 65464, window 64, 64 MiB per
 * file, 1 GiB in all).
 *
 * When every slot is taken, a request from an address with no transfer in
 * flight evicts the transfer whose client has been silent the longest,
 * if that client has sent nothing for at least timeout_ms (a phone answers
 * within milliseconds; a request asking "timeout 30" from a socket that
 * never answers would otherwise hold its slot for six times 30 s). The
 * evicted client gets error 0 and the transfer's log line says why. */
void tftp_config_defaults(struct tftp_config *cfg);

struct tftp_service;
struct evbuffer;

struct tftp_service *tftp_service_new(const struct tftp_config *cfg, ck_err *err);
int tftp_service_start(struct tftp_service *svc, struct event_base *base, ck_err *err);
/* Re-reads the TFTP root now (SIGHUP); logs what changed. */
void tftp_service_reload(struct tftp_service *svc);
/* Whether the cache follows the root by itself (the default) or changes
 * only on tftp_service_reload (the cluster's TFTPReloadOnChange False, as
 * CUCM's TFTP until restarted). Following again reloads at once. */
void tftp_service_follow_root(struct tftp_service *svc, bool follow);
/* One line of counters for SIGUSR1 (transfers active and started). */
void tftp_service_stats(const struct tftp_service *svc, char *buf, size_t len);
/* Prometheus families: requests by outcome, active transfers, bytes sent. */
void tftp_service_metrics(const struct tftp_service *svc, struct evbuffer *out);
/* Phone tracking (phone_track.h), or NULL for none. */
struct phone_track;
void tftp_service_set_tracker(struct tftp_service *svc, struct phone_track *t);
/* The cached bytes of the file called name (valid until the loop runs on). */
bool tftp_service_file(const struct tftp_service *svc, const char *name, const uint8_t **data, size_t *len);
void tftp_service_free(struct tftp_service *svc);

#endif
