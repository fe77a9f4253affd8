/* TFTP client transfer. RFC 1350: the server answers from a new port (its
 * transfer ID); the first answer fixes it, and packets from any other port
 * are not ours. Each DATA block is acknowledged; a block shorter than the
 * block size ends the file. On a silent timer the last packet is sent
 * again, at most params.retries times. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/netaddr.h"
#include "ctlkit/tftp.h"
#include "source.h"
#include "tftp_client.h"

struct ph_tftp_xfer {
    int fd;
    struct event *ev_read, *ev_timer, *ev_deadline;
    ph_addr server;
    bool have_tid;
    struct sockaddr_storage tid;   /* the server's transfer address */
    socklen_t tid_len;
    ph_tftp_params p;
    unsigned blksize;              /* agreed */
    uint16_t expect;               /* next DATA block wanted */
    unsigned tries;
    uint8_t last[CK_TFTP_REQUEST_MAX]; /* last packet sent (RRQ or ACK) */
    size_t last_len;
    bool last_to_tid;
    ck_buf data;
    ph_tftp_cb cb;
    void *arg;
};

const char *ph_tftp_status_name(ph_tftp_status st)
{
    switch (st) {
    case PH_TFTP_OK: return "ok";
    case PH_TFTP_NOTFOUND: return "not-found";
    case PH_TFTP_REFUSED: return "refused";
    case PH_TFTP_TIMEOUT: return "timeout";
    case PH_TFTP_FAILED: return "failed";
    }
    return "unknown";
}

int ph_addr_parse(const char *s, ph_addr *a, ck_err *err)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->text, sizeof(a->text), "%s", s);
    /* the daemons' parser; port 0 stands for "none given": a phone must be told where */
    ck_netaddr n;
    if (ck_netaddr_parse_listen(s, 0, &n, err) < 0)
        return -1;
    if (ck_netaddr_port((const struct sockaddr *)&n.ss) == 0)
        return ck_fail(err, CK_EINVAL, "'%s' is not ADDR:PORT (a port from 1 to 65535)", s);
    memcpy(&a->ss, &n.ss, sizeof a->ss);
    a->len = n.len;
    return 0;
}

static void xfer_free(ph_tftp_xfer *x)
{
    if (x->ev_read)
        event_free(x->ev_read);
    if (x->ev_timer)
        event_free(x->ev_timer);
    if (x->ev_deadline)
        event_free(x->ev_deadline);
    if (x->fd >= 0)
        close(x->fd);
    ck_buf_free(&x->data);
    free(x);
}

void ph_tftp_cancel(ph_tftp_xfer *x)
{
    if (x)
        xfer_free(x);
}

/* Ends the transfer: frees it first so the callback may start another. */
static void finish(ph_tftp_xfer *x, ph_tftp_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(ph_tftp_xfer *x, ph_tftp_status st, const char *fmt, ...)
{
    char msg[256] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    size_t len = 0;
    uint8_t *data = NULL;
    if (st == PH_TFTP_OK) {
        data = ck_buf_take(&x->data, &len);
        if (!data && len == 0)
            data = calloc(1, 1); /* an empty file is still a file */
        if (!data) {
            st = PH_TFTP_FAILED;
            snprintf(msg, sizeof(msg), "out of memory");
        }
    }
    ph_tftp_cb cb = x->cb;
    void *arg = x->arg;
    xfer_free(x);
    cb(arg, st, data, len, msg);
}

static void arm_timer(ph_tftp_xfer *x)
{
    struct timeval tv = {x->p.timeout_ms / 1000, (x->p.timeout_ms % 1000) * 1000};
    evtimer_add(x->ev_timer, &tv);
}

static int send_last(ph_tftp_xfer *x)
{
    const struct sockaddr *to = x->last_to_tid ? (const struct sockaddr *)&x->tid : (const struct sockaddr *)&x->server.ss;
    socklen_t tolen = x->last_to_tid ? x->tid_len : x->server.len;
    if (sendto(x->fd, x->last, x->last_len, 0, to, tolen) < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
        errno != ENOBUFS)
        return -1;
    arm_timer(x);
    return 0;
}

static int send_ack(ph_tftp_xfer *x, uint16_t block)
{
    uint8_t *p = x->last;
    p[0] = 0;
    p[1] = CK_TFTP_ACK;
    p[2] = (uint8_t)(block >> 8);
    p[3] = (uint8_t)block;
    x->last_len = 4;
    x->last_to_tid = true;
    x->tries = 0;
    return send_last(x);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    ph_tftp_xfer *x = arg;
    if (x->tries >= x->p.retries) {
        finish(x, PH_TFTP_TIMEOUT, "no answer from %s after %u tries", x->server.text, x->tries + 1);
        return;
    }
    x->tries++;
    if (send_last(x) < 0)
        finish(x, PH_TFTP_FAILED, "cannot send to %s: %s", x->server.text, strerror(errno));
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    ph_tftp_xfer *x = arg;
    finish(x, PH_TFTP_TIMEOUT, "%s did not send the whole file within the %u ms deadline (%zu bytes came)",
           x->server.text, x->p.deadline_ms, x->data.len);
}

/* One packet from the server's transfer port. Returns true when finished
 * (x is gone). */
static bool on_packet(ph_tftp_xfer *x, const uint8_t *buf, size_t n)
{
    ck_tftp_packet pk;
    ck_err e;
    if (ck_tftp_parse(buf, n, &pk, &e) < 0) {
        finish(x, PH_TFTP_FAILED, "malformed answer from %s: %s", x->server.text, e.msg);
        return true;
    }
    switch (pk.opcode) {
    case CK_TFTP_ERROR:
        finish(x, pk.u.error.code == CK_TFTP_ENOTFOUND ? PH_TFTP_NOTFOUND : PH_TFTP_REFUSED, "%s: TFTP error %u: %.*s",
               x->server.text, pk.u.error.code, (int)(pk.u.error.msg_len > 120 ? 120 : pk.u.error.msg_len),
               pk.u.error.msg);
        return true;
    case CK_TFTP_OACK:
        if (x->expect != 1 || x->data.len) /* a late duplicate OACK: answer it again */
            return false;
        if (pk.u.oack.present & CK_TFTP_OPT_BLKSIZE) {
            /* RFC 2348: the server may only lower what we asked for */
            if (!x->p.blksize || pk.u.oack.blksize > x->p.blksize) {
                finish(x, PH_TFTP_FAILED, "%s acknowledged blksize %u, more than asked", x->server.text,
                       pk.u.oack.blksize);
                return true;
            }
            x->blksize = pk.u.oack.blksize;
        }
        if (send_ack(x, 0) < 0) {
            finish(x, PH_TFTP_FAILED, "cannot send to %s: %s", x->server.text, strerror(errno));
            return true;
        }
        return false;
    case CK_TFTP_DATA:
        if (pk.u.data.block == (uint16_t)(x->expect - 1)) { /* our ACK was lost: repeat it */
            if (send_ack(x, pk.u.data.block) < 0) {
                finish(x, PH_TFTP_FAILED, "cannot send to %s: %s", x->server.text, strerror(errno));
                return true;
            }
            return false;
        }
        if (pk.u.data.block != x->expect)
            return false;
        if (pk.u.data.len > x->blksize) {
            finish(x, PH_TFTP_FAILED, "%s sent a %zu-byte block, more than the block size %u", x->server.text,
                   pk.u.data.len, x->blksize);
            return true;
        }
        if (x->data.len + pk.u.data.len > x->p.max_size) {
            finish(x, PH_TFTP_FAILED, "file from %s is larger than %zu bytes", x->server.text, x->p.max_size);
            return true;
        }
        ck_buf_bytes(&x->data, pk.u.data.data, pk.u.data.len);
        if (x->data.failed) {
            finish(x, PH_TFTP_FAILED, "out of memory");
            return true;
        }
        if (send_ack(x, x->expect) < 0) {
            finish(x, PH_TFTP_FAILED, "cannot send to %s: %s", x->server.text, strerror(errno));
            return true;
        }
        x->expect++;
        if (pk.u.data.len < x->blksize) {
            finish(x, PH_TFTP_OK, NULL);
            return true;
        }
        return false;
    default:
        finish(x, PH_TFTP_FAILED, "unexpected %s from %s", ck_tftp_opcode_name(pk.opcode), x->server.text);
        return true;
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    ph_tftp_xfer *x = arg;
    static uint8_t buf[CK_TFTP_PACKET_MAX]; /* one loop, one thread: shared scratch */
    /* bounded reads per wake-up (habit 9) */
    for (int i = 0; i < 16; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            if (errno == ECONNREFUSED) /* ICMP port unreachable: retry on the timer */
                return;
            finish(x, PH_TFTP_FAILED, "receive from %s: %s", x->server.text, strerror(errno));
            return;
        }
        if (!ck_netaddr_same_host((const struct sockaddr *)&from, (const struct sockaddr *)&x->server.ss))
            continue;
        if (!x->have_tid) {
            x->tid = from;
            x->tid_len = flen;
            x->have_tid = true;
        } else if (ck_netaddr_port((const struct sockaddr *)&from) != ck_netaddr_port((const struct sockaddr *)&x->tid)) {
            continue; /* RFC 1350: another transfer's packet */
        }
        if (on_packet(x, buf, (size_t)n))
            return;
    }
}

ph_tftp_xfer *ph_tftp_get(struct event_base *base, const ph_addr *server, const ck_netaddr *source, const char *file,
                          const ph_tftp_params *params, ph_tftp_cb cb, void *arg, ck_err *err)
{
    ph_tftp_xfer *x = calloc(1, sizeof(*x));
    if (!x) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    x->fd = -1;
    x->server = *server;
    x->p = *params;
    x->blksize = CK_TFTP_SEGSIZE;
    x->expect = 1;
    x->cb = cb;
    x->arg = arg;
    ck_buf_init(&x->data, 0);

    ck_buf req;
    ck_buf_init(&req, CK_TFTP_REQUEST_MAX);
    ck_tftp_opts o = {0};
    if (params->blksize) {
        o.present = CK_TFTP_OPT_BLKSIZE;
        o.blksize = params->blksize;
    }
    if (ck_tftp_build_request(&req, CK_TFTP_RRQ, file, CK_TFTP_OCTET, &o, err) < 0 || req.len > sizeof(x->last)) {
        ck_buf_free(&req);
        if (err && err->code == CK_OK)
            ck_fail(err, CK_EINVAL, "request for %s too long", file);
        goto fail;
    }
    memcpy(x->last, req.data, req.len);
    x->last_len = req.len;
    ck_buf_free(&req);

    if ((x->fd = ph_source_socket(source, server, SOCK_DGRAM | SOCK_NONBLOCK, err)) < 0)
        goto fail;
    x->ev_read = event_new(base, x->fd, EV_READ | EV_PERSIST, on_read, x);
    x->ev_timer = evtimer_new(base, on_timer, x);
    if (!x->ev_read || !x->ev_timer || event_add(x->ev_read, NULL) < 0) {
        ck_fail(err, CK_ENOMEM, "cannot set up events");
        goto fail;
    }
    if (x->p.deadline_ms) {
        struct timeval tv = {x->p.deadline_ms / 1000, (x->p.deadline_ms % 1000) * 1000};
        if (!(x->ev_deadline = evtimer_new(base, on_deadline, x)) || evtimer_add(x->ev_deadline, &tv) < 0) {
            ck_fail(err, CK_ENOMEM, "cannot set up events");
            goto fail;
        }
    }
    if (send_last(x) < 0) {
        ck_fail(err, CK_EIO, "cannot send to %s: %s", server->text, strerror(errno));
        goto fail;
    }
    return x;
fail:
    xfer_free(x);
    return NULL;
}
