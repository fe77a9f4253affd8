/* ctlkitd's one model for a TLS service over TCP (the TVS, the CTL
 * Provider, and the next ones): a service describes its frames and answers
 * them; this module does everything else.
 *
 * Threads: a service runs on worker threads of its own (tls_srv_config's
 * workers), each with its own event_base and its own listening socket on
 * the same address (SO_REUSEPORT when there are several): the kernel
 * spreads connections over the workers and no lock is on the accept path.
 * The daemon's loop (TFTP's) never sees a TCP byte. Blocking work (a
 * password hash, the cluster lock, a store transaction, a key operation)
 * therefore runs in the frame handler itself: it holds up only its own
 * worker's connections, never TFTP. A service that keeps state which is not
 * thread-safe (a store handle) runs one worker; a handler that needs the
 * daemon's loop is the one thing this model does not offer (none does).
 *
 * Per connection: TLS handshake and the first request within timeout_ms of
 * accept, each next request within idle_ms of the previous answer (absolute
 * deadlines: a client trickling bytes is cut off as surely as a silent one),
 * at most max_frame bytes buffered, one request at a time (nothing more is
 * read until its answer is written, so a client that pipelines without
 * reading cannot make the server buffer answers), at most max_conns open
 * over all workers. */
#ifndef CTLKITD_TLS_CONN_H
#define CTLKITD_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "ctlkit/bytes.h"
#include "ctlkit/error.h"

/* The most worker threads one service runs. */
#define TLS_SRV_MAX_WORKERS 64

typedef struct tls_srv tls_srv;
typedef struct tls_conn tls_conn;

typedef enum tls_frame { TLS_FRAME_MORE, TLS_FRAME_READY, TLS_FRAME_BAD } tls_frame;

/* What a handler answers: bytes appended to out (none: nothing to send),
 * held back delay_ms (a failed login), then the connection closed if
 * close_after. */
typedef struct tls_reply {
    ck_buf *out;
    unsigned delay_ms;
    bool close_after;
} tls_reply;

typedef struct tls_srv_ops {
    /* How long the frame at the start of in is: READY with *flen (at most
     * max_frame), MORE to read on, BAD to close (the service logs why). */
    tls_frame (*frame_len)(tls_conn *c, const uint8_t *in, size_t len, size_t *flen);
    /* Answers one whole frame; -1 closes the connection at once. */
    int (*handle)(tls_conn *c, const uint8_t *frame, size_t len, tls_reply *r);
    /* Optional: a connection accepted (after its data is zeroed; before
     * its SSL is made, so that a service that swaps its context with
     * tls_srv_set_ctx here serves this connection with the new one) and
     * about to be freed (wipe what its data holds). */
    void (*open)(tls_conn *c);
    void (*close)(tls_conn *c);
    /* Optional: for a protocol where the server speaks first (CAPF): the
     * first frame to send, right after the TLS handshake (nothing
     * appended: wait for the client as usual). The client then has
     * idle_ms for its first request. */
    void (*greet)(tls_conn *c, tls_reply *r);
    /* Optional: every tick_ms on each worker (e.g. summaries that came due). */
    void (*tick)(void *arg, int worker);
} tls_srv_ops;

typedef struct tls_srv_config {
    const char *name;        /* log prefix: "tvs", "CTL Provider" */
    const char *thread_name; /* at most 10 characters: "tvs-worker" -> "tvs-worker-3" */
    const char *listen;      /* "ADDR:PORT", "[ADDR6]:PORT"; port 0 picks one */
    uint16_t default_port;
    SSL_CTX *ctx;            /* taken over: tls_srv_free frees it (also on failure); see tls_srv_set_ctx */
    const tls_srv_ops *ops;
    void *arg;               /* the service, for its handlers (tls_conn_arg) */
    int workers;             /* 0: one per online CPU */
    int max_conns;           /* connections at once over all workers */
    int max_per_source;      /* connections at once from one address (0: no cap) */
    int timeout_ms;          /* from accept to the end of the first request */
    int idle_ms;             /* from an answer to the end of the next request */
    size_t max_frame;        /* the largest frame frame_len may announce */
    size_t conn_data_size;   /* bytes of per-connection data (tls_conn_data), zeroed */
    bool secret_input;       /* frames may hold a password: wipe every copy of the input */
    unsigned tick_ms;        /* 0: no tick */
} tls_srv_config;

typedef struct tls_srv_counts {
    int active;                   /* connections open */
    unsigned long long accepted;  /* connections accepted so far */
    unsigned long long requests;  /* frames handled */
    unsigned long long handshake_failed; /* closed before their TLS handshake ended */
    unsigned long long refused_full;     /* closed at accept: max_conns were open */
    unsigned long long refused_source;   /* closed at accept: max_per_source were open from the address */
} tls_srv_counts;

/* Binds the listening sockets (errors show before the daemon detaches);
 * starts no thread. Copies what it needs from cfg. */
tls_srv *tls_srv_new(const tls_srv_config *cfg, ck_err *err);
/* Starts the workers (after any fork). */
int tls_srv_start(tls_srv *s, ck_err *err);
int tls_srv_port(const tls_srv *s);
int tls_srv_workers(const tls_srv *s);
/* The bound address, "127.0.0.1:2445". */
const char *tls_srv_address(const tls_srv *s);
/* Any thread: new connections get ctx from now on (each worker takes it
 * at its next accept; connections open keep theirs). Takes ctx over and
 * frees the previous context's reference. For a certificate that changes
 * under a running daemon (CAPF's, capf_service.c). */
void tls_srv_set_ctx(tls_srv *s, SSL_CTX *ctx);
/* Any thread: atomics, no lock. */
void tls_srv_counts_get(const tls_srv *s, tls_srv_counts *out);
/* Stops the workers (each finishes the frame in hand), closes every
 * connection, frees everything. NULL ok. */
void tls_srv_free(tls_srv *s);

/* For the handlers, on the connection's worker thread. */
void *tls_conn_arg(const tls_conn *c);
void *tls_conn_data(tls_conn *c);
const char *tls_conn_peer(const tls_conn *c);
const struct sockaddr *tls_conn_peer_addr(const tls_conn *c);
unsigned long long tls_conn_id(const tls_conn *c);
int tls_conn_worker(const tls_conn *c);
unsigned tls_conn_requests(const tls_conn *c);

#endif
