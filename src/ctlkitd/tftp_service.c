#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg, struct in6_pktinfo */
#endif
#include "tftp_service.h"
#include "service.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ctlkit/text.h"
#include "ctlkit/tftp.h"
#include "log.h"
#include "log_limit.h"
#include "phone_track.h"
#include "tftp_cache.h"
#include "tftp_port.h"
#include "tftp_sign.h"
#include "tftp_sources.h"
#include "tftp_watch.h"
#include "tftp_xfer.h"

/* The longest per-packet timeout a client may ask for (seconds). */
#define MAX_CLIENT_TIMEOUT_S 30
/* Requests read per wake-up of the listening socket (one recvmmsg), and
 * one datagram per transfer socket per wake-up: bounded, so that neither
 * starves the other or the rest of the loop. */
#define RX_BATCH 64
/* The retransmission clock: one scan of the active transfers every tick
 * instead of a timer per transfer re-armed on every ACK. A scan of up to a
 * few thousand deadlines costs microseconds, a tick is well below any
 * TFTP timeout (1 s and up), and nothing is re-armed per packet. */
#define TICK_US 100000
/* A window never holds more than this many bytes, so that it fits the
 * socket's send buffer in one sendmmsg. */
#define WINDOW_BYTES (128 * 1024)
/* Rejected requests logged per second at most (a flood must not fill the
 * disk); successful transfers are always logged. */
#define REJECT_LOG_PER_SEC 100
/* Server ports per local address, shared by the transfers from that
 * address (tftp_port.h). More ports mean smaller batches; fewer, a larger
 * share of every client's ACKs in each port's receive buffer. With 1,000
 * transfers, 16 ports read about 60 ACKs per recvmmsg. At most 256 (a
 * port's index is kept in a byte). */
#define PORTS_PER_ADDRESS 16
/* Local addresses served at once: one for a listener bound to an address,
 * one per address that requests came to for a wildcard listener. */
#define MAX_LOCAL_ADDRESSES 64

/* The ports of one local address. */
struct port_set {
    ck_netaddr local;
    struct tftp_port ports[PORTS_PER_ADDRESS];
};

struct rx_slot {
    uint8_t buf[CK_TFTP_REQUEST_MAX + 4];
    struct sockaddr_storage from;
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
};

struct tftp_service {
    struct tftp_config cfg;
    char *root;
    int lfd;                    /* the well-known port */
    struct event_base *base;
    struct event *ev_listen, *ev_tick;
    struct tftp_cache *cache;
    struct tftp_watch *watch;
    struct tftp_signer signer;  /* for X.sgn on request (tftp_sign.h) */
    char *sign_path;            /* cfg.sign_pem made absolute (cfg.sign_pem then points here) */

    struct tftp_xfer **active;  /* dense, for the tick's scan */
    size_t nactive;
    unsigned long long ntotal;  /* transfers started since the daemon started (stats) */
    struct tftp_xfer **peers;   /* hash on the client's address and port */
    struct tftp_sources *sources; /* transfers per client address */
    size_t peer_mask;
    /* Per peer bucket, the index of the port its last transfer was given:
     * the next transfer of that client port gets another (RFC 1350 wants
     * a transfer ID not to be used again "in immediate succession", lest
     * old duplicates be taken for new packets). */
    uint8_t *last_port;
    unsigned next_port;         /* spreads transfers over the ports */
    struct port_set *sets[MAX_LOCAL_ADDRESSES];
    size_t nsets;
    /* idle structs: file == NULL */
    struct tftp_xfer *free_head, *free_tail;

    struct rx_slot rx[RX_BATCH];
    struct mmsghdr rxm[RX_BATCH];
    struct iovec rxv[RX_BATCH];

    struct log_limit reject_log;
    /* Counters for stats and metrics: plain, since only the loop's thread
     * (where the metrics are also read) touches them. */
    unsigned long long n_ok, n_failed, n_rejected, n_not_found, bytes_sent;
    struct phone_track *track; /* or NULL */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void tftp_config_defaults(struct tftp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ck_netaddr_parse("0.0.0.0:69", 69, &cfg->listen, NULL);
    cfg->max_transfers = 4000;
    /* A phone fetches its files one after the other; 16 leaves room for a
     * few phones behind one NAT address (rare for TFTP in CUCM networks),
     * while one address can no longer take every slot. */
    cfg->max_per_source = 16;
    cfg->timeout_ms = 1000;
    cfg->retries = 5;
    cfg->max_blksize = CK_TFTP_BLKSIZE_MAX;
    cfg->max_window = XFER_MAX_WINDOW;
    cfg->max_file_bytes = 64u << 20;
    cfg->max_cache_bytes = 1u << 30;
}

/* ---- logging of rejected requests, rate-limited ------------------------ */

static bool reject_log_ok(struct tftp_service *svc)
{
    return dlog_limit_ok(&svc->reject_log, DLOG_NOTICE, "TFTP: %u more rejected requests not logged");
}

/* ---- the client tables ------------------------------------------------- */

static uint32_t peer_hash(const ck_netaddr *a)
{
    const uint8_t *p;
    size_t n;
    uint32_t h = 2166136261u;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&a->ss;
        p = (const uint8_t *)&s->sin_addr;
        n = 4;
        h = (h ^ s->sin_port) * 16777619u;
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->ss;
        p = (const uint8_t *)&s->sin6_addr;
        n = 16;
        h = (h ^ s->sin6_port) * 16777619u;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void tables_remove(struct tftp_service *svc, struct tftp_xfer *x)
{
    struct tftp_xfer **pp = &svc->peers[x->peer_hash & svc->peer_mask];
    while (*pp != x)
        pp = &(*pp)->hnext;
    *pp = x->hnext;
    tftp_sources_drop(svc->sources, x->src);
    x->src = NULL;
    struct tftp_xfer *last = svc->active[--svc->nactive];
    svc->active[x->slot] = last;
    last->slot = x->slot;
}

/* Sends what every port has queued. Called at the end of each callback
 * and before a transfer ends (queued datagrams point into its file). */
static void flush_all(struct tftp_service *svc)
{
    for (size_t i = 0; i < svc->nsets; i++)
        for (size_t j = 0; j < PORTS_PER_ADDRESS; j++)
            if (svc->sets[i]->ports[j].nout)
                tftp_port_flush(&svc->sets[i]->ports[j]);
}

static void free_push(struct tftp_service *svc, struct tftp_xfer *x)
{
    x->hnext = NULL;
    if (svc->free_tail)
        svc->free_tail->hnext = x;
    else
        svc->free_head = x;
    svc->free_tail = x;
}

static struct tftp_xfer *free_pop(struct tftp_service *svc)
{
    struct tftp_xfer *x = svc->free_head;
    if (x && !(svc->free_head = x->hnext))
        svc->free_tail = NULL;
    return x;
}

static void finish(struct tftp_service *svc, struct tftp_xfer *x, enum xfer_result r, uint64_t now)
{
    flush_all(svc);
    xfer_log_end(x, r, now);
    if (r == XFER_DONE) {
        svc->n_ok++;
        svc->bytes_sent += x->len;
        if (svc->track)
            phone_track_tftp_done(svc->track, (const struct sockaddr *)&x->peer.ss, x->file->name,
                                  tftp_file_md5(x->file));
    } else {
        svc->n_failed++;
    }
    tftp_file_unref(x->file);
    x->file = NULL;
    free(x->oack);
    x->oack = NULL;
    tables_remove(svc, x);
    x->port = NULL;
    free_push(svc, x);
}

/* ---- replies from the well-known port ---------------------------------- */

/* Sends an ERROR from the listening socket, from the address the request
 * was sent to (local, from IP_PKTINFO), as the client expects. */
static void reply_error(struct tftp_service *svc, const struct sockaddr *to, socklen_t tolen,
                        const struct msghdr *req, uint16_t code, const char *msg)
{
    ck_buf b;
    ck_buf_init(&b, 600);
    if (ck_tftp_build_error(&b, code, msg, NULL) == 0) {
        struct iovec iov = {b.data, b.len};
        struct msghdr m = {.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1};
        union {
            char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
            struct cmsghdr align;
        } ctl;
        for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)req); c; c = CMSG_NXTHDR((struct msghdr *)req, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi = *(struct in_pktinfo *)CMSG_DATA(c);
                pi.ipi_ifindex = 0;
                m.msg_control = ctl.buf;
                m.msg_controllen = CMSG_SPACE(sizeof pi);
                struct cmsghdr *o = CMSG_FIRSTHDR(&m);
                o->cmsg_level = IPPROTO_IP;
                o->cmsg_type = IP_PKTINFO;
                o->cmsg_len = CMSG_LEN(sizeof pi);
                memcpy(CMSG_DATA(o), &pi, sizeof pi);
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                m.msg_control = ctl.buf;
                m.msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
                struct cmsghdr *o = CMSG_FIRSTHDR(&m);
                o->cmsg_level = IPPROTO_IPV6;
                o->cmsg_type = IPV6_PKTINFO;
                o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
                memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
            }
        }
        (void)sendmsg(svc->lfd, &m, MSG_DONTWAIT);
    }
    ck_buf_free(&b);
}

/* Why a request gets no transfer: the ERROR the client is sent and the
 * line the log gets. */
struct refusal {
    uint16_t code;
    char reply[sizeof(((ck_err *)0)->msg)]; /* "" = the code's standard text */
    char why[400];
};

enum start_result { START_OK, START_IGNORED, START_REFUSED };

static enum start_result refuse(struct refusal *no, uint16_t code, const char *reply, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum start_result refuse(struct refusal *no, uint16_t code, const char *reply, const char *fmt, ...)
{
    va_list ap;
    no->code = code;
    snprintf(no->reply, sizeof no->reply, "%s", reply ? reply : "");
    va_start(ap, fmt);
    vsnprintf(no->why, sizeof no->why, fmt, ap);
    va_end(ap);
    return START_REFUSED;
}

/* The one way a refusal leaves: an ERROR to the client, a rate-limited log line. */
static void reject(struct tftp_service *svc, const ck_netaddr *peer, const struct msghdr *req, const struct refusal *no)
{
    if (no->code == CK_TFTP_ENOTFOUND)
        svc->n_not_found++;
    else
        svc->n_rejected++;
    reply_error(svc, (const struct sockaddr *)&peer->ss, peer->len, req, no->code, no->reply[0] ? no->reply : NULL);
    if (dlog_enabled(DLOG_INFO) && reject_log_ok(svc)) {
        char who[CK_NETADDR_STRLEN];
        dlog(DLOG_INFO, "TFTP %s %s -> error %u", ck_netaddr_format((const struct sockaddr *)&peer->ss, who, sizeof who),
             no->why, no->code);
    }
}

/* ---- making room: evicting a silent transfer ----------------------------- */

/* The table is full and a client with no transfer in flight asks: the
 * transfer that has gone the longest without progress goes, if it has made
 * none (no ACK of a new block) for at least our own retransmission
 * timeout. Duplicate ACKs are not progress: a client that keeps sending
 * them while it never moves on would otherwise hold its slot for ever.
 * Only then is the table scanned, so the cost falls on the full table,
 * not on every request. */
static bool evict_silent(struct tftp_service *svc, uint64_t now)
{
    uint64_t silent_us = (uint64_t)svc->cfg.timeout_ms * 1000u;
    struct tftp_xfer *victim = NULL;
    for (size_t i = 0; i < svc->nactive; i++) {
        struct tftp_xfer *x = svc->active[i];
        if (now - x->progress_us >= silent_us && (!victim || x->progress_us < victim->progress_us))
            victim = x;
    }
    if (!victim)
        return false;
    ck_buf b;
    ck_buf_init(&b, 128);
    if (ck_tftp_build_error(&b, CK_TFTP_EUNDEF, "Server busy: transfer cancelled, no answer from you", NULL) == 0)
        tftp_port_send_now(victim->port, &victim->peer, b.data, b.len);
    ck_buf_free(&b);
    snprintf(victim->why, sizeof victim->why,
             "evicted: no progress for %.1f s, all %u slots taken (--max-transfers) and a new client asked",
             (double)(now - victim->progress_us) / 1e6, svc->cfg.max_transfers);
    finish(svc, victim, XFER_FAILED, now);
    return true;
}

/* ---- starting a transfer ----------------------------------------------- */

/* The local address a request came to (port 0), so that the transfer
 * answers from it: a multi-homed server must not answer from another. */
static void local_of(const struct msghdr *m, int family, ck_netaddr *out)
{
    memset(out, 0, sizeof *out);
    out->ss.ss_family = (sa_family_t)family;
    out->len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            ((struct sockaddr_in *)&out->ss)->sin_addr = pi.ipi_spec_dst;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
            s6->sin6_addr = pi.ipi6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
                s6->sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
        }
    }
}

static void on_port_readable(evutil_socket_t fd, short what, void *arg);

/* The ports of a local address, opened at its first request. */
static struct port_set *port_set_of(struct tftp_service *svc, const ck_netaddr *local, ck_err *err)
{
    for (size_t i = 0; i < svc->nsets; i++)
        if (ck_netaddr_same_host((const struct sockaddr *)&svc->sets[i]->local.ss,
                                 (const struct sockaddr *)&local->ss))
            return svc->sets[i];
    if (svc->nsets == MAX_LOCAL_ADDRESSES) {
        ck_fail(err, CK_ELIMIT, "requests came to more than %d local addresses", MAX_LOCAL_ADDRESSES);
        return NULL;
    }
    struct port_set *set = calloc(1, sizeof *set);
    if (!set) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    set->local = *local;
    for (size_t j = 0; j < PORTS_PER_ADDRESS; j++)
        set->ports[j].fd = -1;
    for (size_t j = 0; j < PORTS_PER_ADDRESS; j++)
        if (tftp_port_open(&set->ports[j], svc->base, local, on_port_readable, svc, err) < 0) {
            for (size_t k = 0; k < j; k++)
                tftp_port_close(&set->ports[k]);
            free(set);
            return NULL;
        }
    svc->sets[svc->nsets++] = set;
    return set;
}

/* Gives x a server port of the address its request came to: never the one
 * its client port had last, nor one where that client port has a transfer
 * now (a datagram must name one transfer). */
static int assign_port(struct tftp_service *svc, struct tftp_xfer *x, const ck_netaddr *local, ck_err *err)
{
    struct port_set *set = port_set_of(svc, local, err);
    if (!set)
        return -1;
    uint32_t h = peer_hash(&x->peer);
    unsigned last = svc->last_port[h & svc->peer_mask];
    unsigned idx = (last + 1 + svc->next_port++ % (PORTS_PER_ADDRESS - 1)) % PORTS_PER_ADDRESS;
    for (unsigned tries = 0; tries < PORTS_PER_ADDRESS; tries++, idx = (idx + 1) % PORTS_PER_ADDRESS) {
        if (idx == last && tries + 1 < PORTS_PER_ADDRESS)
            continue;
        bool busy = false;
        for (struct tftp_xfer *o = svc->peers[h & svc->peer_mask]; o && !busy; o = o->hnext)
            busy = o->port == &set->ports[idx] &&
                   ck_netaddr_equal((const struct sockaddr *)&o->peer.ss, (const struct sockaddr *)&x->peer.ss);
        if (!busy) {
            x->port = &set->ports[idx];
            svc->last_port[h & svc->peer_mask] = (uint8_t)idx;
            return 0;
        }
    }
    ck_fail(err, CK_ELIMIT, "the client port has a transfer on every server port");
    return -1;
}

static void start_tick(struct tftp_service *svc)
{
    if (!evtimer_pending(svc->ev_tick, NULL)) {
        struct timeval tv = {0, TICK_US};
        evtimer_add(svc->ev_tick, &tv);
    }
}

static struct tftp_xfer *xfer_alloc(struct tftp_service *svc)
{
    struct tftp_xfer *x = free_pop(svc);
    if (!x && !(x = malloc(sizeof *x)))
        return NULL;
    memset(x, 0, sizeof *x);
    x->owner = svc;
    return x;
}

static void xfer_release(struct tftp_service *svc, struct tftp_xfer *x)
{
    free(x->oack);
    x->oack = NULL;
    x->file = NULL;
    free_push(svc, x);
}

/* Grants what the client asked within our limits; builds the OACK. */
static int negotiate(struct tftp_service *svc, struct tftp_xfer *x, const ck_tftp_request *r)
{
    ck_tftp_opts ack = {0};
    const ck_tftp_opts *o = &r->opts;
    x->blksize = CK_TFTP_SEGSIZE;
    x->window = 1;
    x->timeout_us = svc->cfg.timeout_ms * 1000u;
    if (o->present & CK_TFTP_OPT_BLKSIZE) {
        x->blksize = o->blksize < svc->cfg.max_blksize ? o->blksize : svc->cfg.max_blksize;
        ack.blksize = x->blksize;
        ack.present |= CK_TFTP_OPT_BLKSIZE;
    }
    if (o->present & CK_TFTP_OPT_WINDOWSIZE) {
        uint32_t w = o->windowsize < svc->cfg.max_window ? o->windowsize : svc->cfg.max_window;
        uint32_t by_bytes = WINDOW_BYTES / x->blksize;
        if (w > by_bytes)
            w = by_bytes ? by_bytes : 1;
        x->window = w;
        ack.windowsize = w;
        ack.present |= CK_TFTP_OPT_WINDOWSIZE;
    }
    if ((o->present & CK_TFTP_OPT_TIMEOUT) && o->timeout <= MAX_CLIENT_TIMEOUT_S) {
        /* RFC 2349: the server uses the client's timeout as is. Above
         * MAX_CLIENT_TIMEOUT_S the option is declined (left out of the OACK,
         * RFC 2347) and our own timeout applies: a client asking 255 s and
         * going silent would otherwise hold a transfer slot for 25 minutes,
         * and a few thousand such requests would fill every slot. */
        x->timeout_us = o->timeout * 1000000u;
        ack.timeout = o->timeout;
        ack.present |= CK_TFTP_OPT_TIMEOUT;
    }
    if (o->present & CK_TFTP_OPT_TSIZE) {
        /* RFC 2349: in a read request the client sends 0 and "the server
         * ... returns the size of the file"; for netascii that is the size
         * of what is transferred. */
        ack.tsize = x->len;
        ack.present |= CK_TFTP_OPT_TSIZE;
    }
    if (!ack.present)
        return 0;
    ck_buf b;
    ck_buf_init(&b, CK_TFTP_REQUEST_MAX);
    if (ck_tftp_build_oack(&b, &ack, NULL) < 0) {
        ck_buf_free(&b);
        return -1;
    }
    x->oack = ck_buf_take(&b, &x->oack_len);
    x->oack_pending = true;
    return 0;
}

/* The packet itself: a read request that fits and parses. */
static enum start_result accept_packet(const uint8_t *pkt, size_t n, const struct msghdr *m, ck_tftp_packet *pk,
                                       struct refusal *no)
{
    ck_err err;
    if (m->msg_flags & MSG_TRUNC)
        return refuse(no, CK_TFTP_EBADOP, "Request longer than 512 bytes (RFC 2347)", "request of more than %u bytes",
                      CK_TFTP_REQUEST_MAX);
    if (ck_tftp_parse(pkt, n, pk, &err) < 0) /* the client gets the parser's words: they say what to fix */
        return refuse(no, pk->reply_code, err.msg, "%s", err.msg);
    switch (pk->opcode) {
    case CK_TFTP_RRQ:
        return START_OK;
    case CK_TFTP_WRQ: {
        char shown[104];
        return refuse(no, CK_TFTP_EACCESS, "Access violation: this server does not accept writes", "WRQ %s refused",
                      ck_printable(pk->u.req.filename, pk->u.req.filename_len, shown, sizeof shown, 0));
    }
    case CK_TFTP_ERROR:
    case CK_TFTP_ACK:
        /* Never answer an ERROR (RFC 1350: no error loops), nor a stray
         * ACK: some clients (tftp-hpa) acknowledge the ERROR that ended
         * their request, and an answer would only bounce back. */
        return START_IGNORED;
    default:
        return refuse(no, CK_TFTP_EBADOP, "Illegal TFTP operation: only read requests are served here",
                      "%s sent to the server port", ck_tftp_opcode_name(pk->opcode));
    }
}

/* Room for one more transfer of f to peer. */
static enum start_result admit(struct tftp_service *svc, const ck_netaddr *peer, const struct tftp_file *f,
                               const char *shown, uint64_t now, struct refusal *no)
{
    /* A retransmitted request (the client did not hear us yet) must not
     * start a second transfer: ours retransmits on its own. Once the
     * client has answered on the transfer, the same request from the same
     * port is a new one: a client that closed its socket after the last
     * ACK may get the same port again, and its next request can arrive
     * before that last ACK is read. */
    uint32_t h = peer_hash(peer);
    for (struct tftp_xfer *o = svc->peers[h & svc->peer_mask]; o; o = o->hnext)
        if (o->peer_hash == h && !o->heard && o->file == f &&
            ck_netaddr_equal((const struct sockaddr *)&o->peer.ss, (const struct sockaddr *)&peer->ss)) {
            char who[CK_NETADDR_STRLEN];
            dlog(DLOG_DEBUG, "TFTP %s: RRQ %s again, already being answered",
                 ck_netaddr_format((const struct sockaddr *)&peer->ss, who, sizeof who), shown);
            return START_IGNORED;
        }
    unsigned from_here = tftp_sources_count(svc->sources, peer);
    if (svc->cfg.max_per_source && from_here >= svc->cfg.max_per_source)
        return refuse(no, CK_TFTP_EUNDEF, "Server busy: too many transfers from your address, try again later",
                      "RRQ %s refused: %u transfers from this address in progress (--max-transfers-per-source)",
                      shown, from_here);
    if (svc->nactive >= svc->cfg.max_transfers && (from_here > 0 || !evict_silent(svc, now)))
        return refuse(no, CK_TFTP_EUNDEF, "Server busy: too many transfers, try again later",
                      "RRQ %s refused: %zu transfers in progress (--max-transfers)", shown, svc->nactive);
    return START_OK;
}

/* Everything a transfer needs before its first packet: data, options,
 * packet image and the shared port it is served from. */
static enum start_result prepare(struct tftp_service *svc, struct tftp_xfer *x, struct tftp_file *f,
                                 const ck_tftp_request *r, const struct msghdr *m, const char *shown,
                                 struct refusal *no)
{
    ck_err err;
    x->mode = r->mode;
    if (r->mode == CK_TFTP_NETASCII) {
        if (tftp_file_netascii(f, &x->data, &x->len, &err) < 0)
            return refuse(no, CK_TFTP_EUNDEF, "Server out of memory", "RRQ %s: %s", shown, err.msg);
    } else {
        x->data = f->data;
        x->len = f->len;
    }
    x->file = tftp_file_ref(f);
    x->max_tries = (uint8_t)(svc->cfg.retries > 255 ? 255 : svc->cfg.retries);
    if (negotiate(svc, x, r) < 0)
        return refuse(no, CK_TFTP_EUNDEF, "Server out of memory", "RRQ %s: out of memory", shown);
    x->nblocks = (uint32_t)(x->len / x->blksize + 1);
    x->image = tftp_file_image(f, x->mode, x->data, x->len, x->blksize);
    if (x->len / x->blksize + 1 > UINT32_MAX)
        return refuse(no, CK_TFTP_EUNDEF, "File too large for this block size", "RRQ %s: too large", shown);
    ck_netaddr local;
    local_of(m, x->peer.ss.ss_family, &local);
    if (assign_port(svc, x, &local, &err) < 0)
        return refuse(no, CK_TFTP_EUNDEF, "Server busy: no port for a new transfer",
                      "RRQ %s: no transfer port: %s", shown, err.msg);
    return START_OK;
}

/* Starts answering one datagram from the well-known port; says why not. */
static enum start_result start_transfer(struct tftp_service *svc, const uint8_t *pkt, size_t n,
                                        const struct msghdr *m, const ck_netaddr *peer, uint64_t now,
                                        struct refusal *no)
{
    ck_tftp_packet pk;
    enum start_result res = accept_packet(pkt, n, m, &pk, no);
    if (res != START_OK)
        return res;
    const ck_tftp_request *r = &pk.u.req;
    char shown[104];
    const char *key;
    size_t key_len;
    ck_printable(r->filename, r->filename_len, shown, sizeof shown, 0);
    if (!tftp_name_normalise(r->filename, r->filename_len, &key, &key_len))
        return refuse(no, CK_TFTP_EACCESS, "Access violation: '..' is not allowed in file names",
                      "RRQ %s refused: '..' in the name", shown);
    if (svc->track)
        phone_track_tftp_request(svc->track, (const struct sockaddr *)&peer->ss, key, key_len);
    struct tftp_file *f = tftp_cache_find(svc->cache, key, key_len);
    ck_err serr = {0};
    if (!f && !(f = tftp_cache_find_signed(svc->cache, key, key_len, &svc->signer, &serr)) &&
        serr.code != CK_ENOTFOUND)
        return refuse(no, CK_TFTP_EUNDEF, "Cannot sign the file", "RRQ %s: %s", shown, serr.msg);
    if (!f)
        return refuse(no, CK_TFTP_ENOTFOUND, NULL, "RRQ %s: file not found", shown);
    if ((res = admit(svc, peer, f, shown, now, no)) != START_OK)
        return res;

    struct tftp_xfer *x = xfer_alloc(svc);
    if (!x)
        return refuse(no, CK_TFTP_EUNDEF, "Server out of memory", "RRQ %s: out of memory", shown);
    x->peer = *peer;
    if (prepare(svc, x, f, r, m, shown, no) != START_OK) {
        if (x->file)
            tftp_file_unref(x->file);
        xfer_release(svc, x);
        return START_REFUSED;
    }
    x->peer_hash = peer_hash(peer);
    x->src = tftp_sources_add(svc->sources, peer); /* cannot fail: at most max_transfers entries */
    x->hnext = svc->peers[x->peer_hash & svc->peer_mask];
    svc->peers[x->peer_hash & svc->peer_mask] = x;
    x->slot = svc->nactive;
    svc->active[svc->nactive++] = x;
    svc->ntotal++;
    start_tick(svc);
    enum xfer_result xr = xfer_begin(x, now);
    if (xr != XFER_CONTINUE)
        finish(svc, x, xr, now);
    return START_OK;
}

static void handle_request(struct tftp_service *svc, const uint8_t *pkt, size_t n, const struct msghdr *m,
                           uint64_t now)
{
    ck_netaddr peer;
    memcpy(&peer.ss, m->msg_name, m->msg_namelen);
    peer.len = m->msg_namelen;
    if (peer.ss.ss_family != AF_INET && peer.ss.ss_family != AF_INET6)
        return;
    struct refusal no;
    if (start_transfer(svc, pkt, n, m, &peer, now, &no) == START_REFUSED)
        reject(svc, &peer, m, &no);
}

/* ---- event callbacks ----------------------------------------------------- */

/* Reads up to RX_BATCH datagrams from fd into svc->rx (one system call). */
static int rx_batch(struct tftp_service *svc, int fd)
{
    for (int i = 0; i < RX_BATCH; i++) {
        svc->rxv[i] = (struct iovec){svc->rx[i].buf, sizeof svc->rx[i].buf};
        svc->rxm[i].msg_hdr = (struct msghdr){
            .msg_name = &svc->rx[i].from,
            .msg_namelen = sizeof svc->rx[i].from,
            .msg_iov = &svc->rxv[i],
            .msg_iovlen = 1,
            .msg_control = svc->rx[i].ctl.buf,
            .msg_controllen = sizeof svc->rx[i].ctl.buf,
        };
    }
    return recvmmsg(fd, svc->rxm, RX_BATCH, MSG_DONTWAIT, NULL);
}

static void on_listen(evutil_socket_t fd, short what, void *arg)
{
    struct tftp_service *svc = arg;
    int n = rx_batch(svc, svc->lfd);
    uint64_t now = now_us();
    for (int i = 0; i < n; i++)
        handle_request(svc, svc->rx[i].buf, svc->rxm[i].msg_len, &svc->rxm[i].msg_hdr, now);
    flush_all(svc);
}

/* The transfer a datagram on port p belongs to: its source must be the
 * client of a transfer on that port (RFC 1350: a packet from another
 * transfer ID is discarded). */
static struct tftp_xfer *xfer_of(struct tftp_service *svc, const struct tftp_port *p, const struct sockaddr *from,
                                 socklen_t fromlen)
{
    ck_netaddr a;
    if (fromlen > sizeof a.ss || (from->sa_family != AF_INET && from->sa_family != AF_INET6))
        return NULL;
    memcpy(&a.ss, from, fromlen);
    a.len = fromlen;
    uint32_t h = peer_hash(&a);
    for (struct tftp_xfer *x = svc->peers[h & svc->peer_mask]; x; x = x->hnext)
        if (x->port == p && x->peer_hash == h &&
            ck_netaddr_equal((const struct sockaddr *)&x->peer.ss, (const struct sockaddr *)&a.ss))
            return x;
    return NULL;
}

static void on_port_readable(evutil_socket_t fd, short what, void *arg)
{
    struct tftp_port *p = arg;
    struct tftp_service *svc = p->owner;
    int n = rx_batch(svc, p->fd);
    uint64_t now = now_us();
    for (int i = 0; i < n; i++) {
        const struct msghdr *m = &svc->rxm[i].msg_hdr;
        struct tftp_xfer *x = xfer_of(svc, p, m->msg_name, m->msg_namelen);
        if (!x)
            continue; /* a late packet of a finished transfer, or a stranger */
        enum xfer_result r = xfer_on_packet(x, svc->rx[i].buf, svc->rxm[i].msg_len, now);
        if (r != XFER_CONTINUE)
            finish(svc, x, r, now);
    }
    flush_all(svc);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tftp_service *svc = arg;
    uint64_t now = now_us();
    /* Backwards, so that finish()'s swap-remove never skips an entry. */
    for (size_t i = svc->nactive; i-- > 0;) {
        struct tftp_xfer *x = svc->active[i];
        enum xfer_result r = xfer_on_tick(x, now);
        if (r != XFER_CONTINUE)
            finish(svc, x, r, now);
    }
    flush_all(svc);
    if (svc->nactive)
        start_tick(svc);
}

/* ---- cache reloads ------------------------------------------------------- */

static void log_change(void *arg, const struct tftp_file *f, enum tftp_change what)
{
    static const char *const verb[] = {"added", "changed", "removed"};
    if (what == TFTP_REMOVED)
        dlog(DLOG_NOTICE, "TFTP cache: %s removed", f->name);
    else
        dlog(DLOG_NOTICE, "TFTP cache: %s %s (%zu bytes), reloaded", f->name, verb[what], f->len);
    (*(unsigned *)arg)++;
}

/* A new CallManager key (set cert regen) re-signs every X.sgn on its next
 * request; a key that cannot be read leaves the previous one in use. */
static void refresh_signer(struct tftp_service *svc)
{
    ck_err err = {0};
    bool changed = false;
    if (!svc->cfg.sign_pem)
        return;
    if (tftp_signer_refresh(&svc->signer, svc->cfg.sign_pem, svc->cfg.sign_key_flags, &changed, &err) < 0)
        dlog(DLOG_ERR, "TFTP: %s; %s", err.msg,
             svc->signer.key ? "still signing with the previous key" : "X.sgn is not served");
    else if (changed && svc->signer.gen > 1)
        dlog(DLOG_NOTICE, "TFTP: signing key %s changed; signed files are rebuilt on request", svc->cfg.sign_pem);
}

/* names: the n entries the directory watch saw change, or NULL: read the
 * whole folder again. */
static void reload(struct tftp_service *svc, bool asked, const char *const *names, size_t n)
{
    ck_err err;
    refresh_signer(svc);
    struct tftp_cache_limits lim = {svc->cfg.max_file_bytes, svc->cfg.max_cache_bytes};
    struct tftp_cache *c = names ? tftp_cache_update(svc->root, svc->cache, names, n, &lim, &err)
                                 : tftp_cache_load(svc->root, svc->cache, &lim, &err);
    if (!c) {
        dlog(DLOG_ERR, "TFTP cache: reload failed, still serving the previous files: %s", err.msg);
        return;
    }
    unsigned changes = 0;
    tftp_cache_diff(svc->cache, c, log_change, &changes);
    if (asked || changes)
        dlog(DLOG_NOTICE, "TFTP cache: %zu files, %zu bytes from %s (%u changed)", tftp_cache_count(c),
             tftp_cache_bytes(c), svc->root, changes);
    tftp_cache_free(svc->cache); /* transfers keep their own file references */
    svc->cache = c;
    dlog_flush();
}

void tftp_service_reload(struct tftp_service *svc) { reload(svc, true, NULL, 0); }

static void on_dir_changed(void *arg, const char *const *names, size_t n) { reload(arg, false, names, n); }

void tftp_service_follow_root(struct tftp_service *svc, bool follow)
{
    if (!svc->base || follow == (svc->watch != NULL))
        return;
    if (!follow) {
        tftp_watch_free(svc->watch);
        svc->watch = NULL;
        return;
    }
    ck_err err = {0};
    if (!(svc->watch = tftp_watch_new(svc->base, svc->root, on_dir_changed, svc, &err)))
        dlog(DLOG_ERR, "TFTP: cannot follow %s again (SIGHUP reloads it): %s", svc->root, err.msg);
    reload(svc, false, NULL, 0); /* what changed while it was not followed */
}

/* ---- life cycle ---------------------------------------------------------- */

static int bind_listener(struct tftp_service *svc, ck_err *err)
{
    const ck_netaddr *a = &svc->cfg.listen;
    char where[CK_NETADDR_STRLEN];
    ck_netaddr_format((const struct sockaddr *)&a->ss, where, sizeof where);
    int one = 1;
    svc->lfd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (svc->lfd < 0)
        return ck_fail(err, CK_EIO, "TFTP: socket: %s", strerror(errno));
    if (a->ss.ss_family == AF_INET6) {
        setsockopt(svc->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        setsockopt(svc->lfd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    } else {
        setsockopt(svc->lfd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    }
    /* A boot storm sends thousands of requests at once: a large receive
     * buffer keeps them until we read them (FORCE works as root, beyond
     * net.core.rmem_max; otherwise the kernel caps the plain request). */
    int rcv = 8 << 20;
    if (setsockopt(svc->lfd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
        setsockopt(svc->lfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    if (bind(svc->lfd, (const struct sockaddr *)&a->ss, a->len) != 0)
        return ck_fail(err, CK_EIO, "TFTP: cannot bind %s: %s", where, strerror(errno));
    return 0;
}

struct tftp_service *tftp_service_new(const struct tftp_config *cfg, ck_err *err)
{
    struct tftp_service *svc = calloc(1, sizeof *svc);
    if (!svc) {
        ck_fail(err, CK_ENOMEM, "out of memory for the TFTP service");
        return NULL;
    }
    svc->cfg = *cfg;
    svc->lfd = -1;
    svc->reject_log = (struct log_limit)LOG_LIMIT_INIT(REJECT_LOG_PER_SEC);
    if (svc->cfg.max_window > XFER_MAX_WINDOW || svc->cfg.max_window == 0)
        svc->cfg.max_window = XFER_MAX_WINDOW;
    if (svc->cfg.max_blksize > CK_TFTP_BLKSIZE_MAX || svc->cfg.max_blksize < CK_TFTP_BLKSIZE_MIN)
        svc->cfg.max_blksize = CK_TFTP_BLKSIZE_MAX;
    if (svc->cfg.max_transfers == 0)
        svc->cfg.max_transfers = 1;
    size_t buckets = 16;
    while (buckets < 2 * (size_t)svc->cfg.max_transfers)
        buckets *= 2;
    svc->peer_mask = buckets - 1;
    /* Absolute, so that reloads still find it once the daemon has
     * detached (and changed directory to /). */
    svc->root = realpath(cfg->root, NULL);
    if (!svc->root && errno != ENOMEM) {
        ck_fail(err, CK_EIO, "TFTP root %s: %s", cfg->root, strerror(errno));
        goto fail;
    }
    svc->active = calloc(svc->cfg.max_transfers, sizeof *svc->active);
    svc->peers = calloc(buckets, sizeof *svc->peers);
    svc->last_port = calloc(buckets, sizeof *svc->last_port);
    svc->sources = tftp_sources_new(svc->cfg.max_transfers);
    if (!svc->root || !svc->active || !svc->peers || !svc->last_port || !svc->sources) {
        ck_fail(err, CK_ENOMEM, "out of memory for the TFTP service");
        goto fail;
    }
    struct tftp_cache_limits lim = {svc->cfg.max_file_bytes, svc->cfg.max_cache_bytes};
    if (!(svc->cache = tftp_cache_load(svc->root, NULL, &lim, err)))
        goto fail;
    bool changed;
    /* Absolute, as the root: a detached daemon re-reads it from '/'. A
     * cluster's path already is, and its keys/ folder may be closed to
     * this process (docs/installing.md). */
    if (cfg->sign_pem && !(svc->cfg.sign_pem = svc->sign_path = cfg->sign_pem[0] == '/'
                                                                    ? strdup(cfg->sign_pem)
                                                                    : realpath(cfg->sign_pem, NULL))) {
        ck_fail(err, CK_EIO, "TFTP signing key %s: %s", cfg->sign_pem, strerror(errno));
        goto fail;
    }
    if (svc->cfg.sign_pem &&
        tftp_signer_refresh(&svc->signer, svc->cfg.sign_pem, svc->cfg.sign_key_flags, &changed, err) < 0)
        goto fail;
    if (bind_listener(svc, err) < 0)
        goto fail;
    return svc;
fail:
    tftp_service_free(svc);
    return NULL;
}

int tftp_service_start(struct tftp_service *svc, struct event_base *base, ck_err *err)
{
    char where[CK_NETADDR_STRLEN];
    svc->base = base;
    svc->ev_listen = event_new(base, svc->lfd, EV_READ | EV_PERSIST, on_listen, svc);
    svc->ev_tick = evtimer_new(base, on_tick, svc);
    if (!svc->ev_listen || !svc->ev_tick || event_add(svc->ev_listen, NULL) != 0)
        return ck_fail(err, CK_ENOMEM, "TFTP: cannot register with the event loop");
    if (!(svc->watch = tftp_watch_new(base, svc->root, on_dir_changed, svc, err)))
        return -1;
    dlog(DLOG_NOTICE, "TFTP: serving %s on %s (%zu files, %zu bytes; up to %u transfers, %u per client address)",
         svc->root, ck_netaddr_format((const struct sockaddr *)&svc->cfg.listen.ss, where, sizeof where),
         tftp_cache_count(svc->cache), tftp_cache_bytes(svc->cache), svc->cfg.max_transfers,
         svc->cfg.max_per_source);
    return 0;
}

void tftp_service_metrics(const struct tftp_service *svc, struct evbuffer *out)
{
    evbuffer_add_printf(out,
                        "# HELP ctlkit_tftp_requests_total TFTP read requests by outcome: ok (sent whole), failed "
                        "(timed out or aborted), not_found, refused (limits, bad request).\n"
                        "# TYPE ctlkit_tftp_requests_total counter\n"
                        "ctlkit_tftp_requests_total{result=\"ok\"} %llu\n"
                        "ctlkit_tftp_requests_total{result=\"failed\"} %llu\n"
                        "ctlkit_tftp_requests_total{result=\"not_found\"} %llu\n"
                        "ctlkit_tftp_requests_total{result=\"refused\"} %llu\n"
                        "# HELP ctlkit_tftp_transfers_active TFTP transfers in progress.\n"
                        "# TYPE ctlkit_tftp_transfers_active gauge\n"
                        "ctlkit_tftp_transfers_active %zu\n"
                        "# HELP ctlkit_tftp_bytes_sent_total File bytes of the TFTP transfers completed.\n"
                        "# TYPE ctlkit_tftp_bytes_sent_total counter\n"
                        "ctlkit_tftp_bytes_sent_total %llu\n",
                        svc->n_ok, svc->n_failed, svc->n_not_found, svc->n_rejected, svc->nactive, svc->bytes_sent);
}

bool tftp_service_file(const struct tftp_service *svc, const char *name, const uint8_t **data, size_t *len)
{
    const struct tftp_file *f = tftp_cache_find(svc->cache, name, strlen(name));
    if (!f)
        return false;
    *data = f->data;
    *len = f->len;
    return true;
}

void tftp_service_stats(const struct tftp_service *svc, char *buf, size_t len)
{
    const struct tftp_cache_stats *cs = tftp_cache_stats(svc->cache);
    snprintf(buf, len,
             "%zu transfers active, %llu started, %zu files cached; %llu loads (%llu of the whole folder), "
             "%llu files examined, %llu read",
             svc->nactive, svc->ntotal, tftp_cache_count(svc->cache), cs->loads, cs->full, cs->examined,
             cs->read);
}

void tftp_service_free(struct tftp_service *svc)
{
    if (!svc)
        return;
    uint64_t now = now_us();
    if (svc->nactive)
        dlog(DLOG_NOTICE, "TFTP: stopping, %zu transfers aborted", svc->nactive);
    while (svc->nactive) {
        struct tftp_xfer *x = svc->active[svc->nactive - 1];
        snprintf(x->why, sizeof x->why, "server stopping");
        finish(svc, x, XFER_FAILED, now);
    }
    unsigned long long rejected = svc->n_rejected + svc->n_not_found;
    if (svc->n_ok || svc->n_failed || rejected)
        dlog(DLOG_NOTICE, "TFTP: %llu transfers completed, %llu failed, %llu requests rejected", svc->n_ok,
             svc->n_failed, rejected);
    struct tftp_xfer *x;
    while ((x = free_pop(svc)) != NULL)
        free(x);
    for (size_t i = 0; i < svc->nsets; i++) {
        for (size_t j = 0; j < PORTS_PER_ADDRESS; j++)
            tftp_port_close(&svc->sets[i]->ports[j]);
        free(svc->sets[i]);
    }
    tftp_watch_free(svc->watch);
    if (svc->ev_listen)
        event_free(svc->ev_listen);
    if (svc->ev_tick)
        event_free(svc->ev_tick);
    if (svc->lfd >= 0)
        close(svc->lfd);
    tftp_cache_free(svc->cache);
    tftp_signer_clear(&svc->signer);
    free(svc->sign_path);
    free(svc->active);
    free(svc->peers);
    free(svc->last_port);
    tftp_sources_free(svc->sources);
    free(svc->root);
    free(svc);
    dlog_flush();
}

void tftp_service_set_tracker(struct tftp_service *svc, struct phone_track *t) { svc->track = t; }

/* The row of ctlkitd's service table (service.h). */

static int tftp_row_new(daemon_ctx *d, void **out, ck_err *err)
{
    *out = d->tftp_svc = tftp_service_new(&d->tftp, err);
    if (*out && d->track)
        tftp_service_set_tracker(*out, d->track);
    return *out ? 0 : -1;
}

static int tftp_row_start(void *svc, daemon_ctx *d, ck_err *err) { return tftp_service_start(svc, d->base, err); }

static void tftp_reload(void *svc, daemon_ctx *d)
{
    (void)d;
    tftp_service_reload(svc);
}

static void tftp_stats(void *svc, char *buf, size_t len) { tftp_service_stats(svc, buf, len); }

static void tftp_free(void *svc) { tftp_service_free(svc); }

static void tftp_metrics(void *svc, struct evbuffer *out) { tftp_service_metrics(svc, out); }

const daemon_service tftp_service_row = {"TFTP",    tftp_row_new,  tftp_row_start,  tftp_reload,
                                        tftp_stats, tftp_free, tftp_metrics};
