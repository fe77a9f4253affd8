#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include "tftp_xfer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ctlkit/text.h"
#include "log.h"

static enum xfer_result failed(struct tftp_xfer *x, const char *what, const char *detail)
{
    snprintf(x->why, sizeof x->why, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    return XFER_FAILED;
}

/* A send error is fatal only when the peer is known to be gone; a full
 * buffer (EAGAIN, ENOBUFS) is left to the retransmission timer. */
static enum xfer_result send_error_result(struct tftp_xfer *x, int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR)
        return XFER_CONTINUE;
    if (e == ECONNREFUSED)
        return failed(x, "client went away (port unreachable)", NULL);
    return failed(x, "send", strerror(e));
}

/* Sends blocks first..last (1-based, inclusive) in one system call. */
static enum xfer_result send_blocks(struct tftp_xfer *x, uint32_t first, uint32_t last)
{
    struct mmsghdr mm[XFER_MAX_WINDOW];
    struct iovec iov[XFER_MAX_WINDOW][2];
    uint8_t hdr[XFER_MAX_WINDOW][4];
    unsigned n = last - first + 1;

    if (n == 1 && x->image) {
        size_t off = (size_t)(first - 1) * x->blksize;
        size_t sz = x->len - off < x->blksize ? x->len - off : x->blksize;
        if (send(x->fd, x->image + (size_t)(first - 1) * (4 + x->blksize), 4 + sz, 0) < 0)
            return send_error_result(x, errno);
        if (last > x->sent)
            x->sent = last;
        return XFER_CONTINUE;
    }
    for (unsigned i = 0; i < n; i++) {
        uint32_t blk = first + i;
        size_t off = (size_t)(blk - 1) * x->blksize;
        size_t sz = x->len - off < x->blksize ? x->len - off : x->blksize;
        /* RFC 1350 numbers blocks from 1 in 16 bits; past 65535 the
         * number rolls over to 0, as tftp-hpa and most clients expect. */
        ck_tftp_data_header(hdr[i], (uint16_t)blk);
        iov[i][0] = (struct iovec){hdr[i], 4};
        iov[i][1] = (struct iovec){(void *)(x->data + off), sz};
        mm[i].msg_hdr = (struct msghdr){.msg_iov = iov[i], .msg_iovlen = sz ? 2 : 1};
    }
    if (n == 1) {
        if (sendmsg(x->fd, &mm[0].msg_hdr, 0) < 0)
            return send_error_result(x, errno);
    } else if (sendmmsg(x->fd, mm, n, 0) < 0) {
        return send_error_result(x, errno);
    }
    if (last > x->sent)
        x->sent = last;
    return XFER_CONTINUE;
}

/* RFC 7440: after an ACK the server sends the next window, starting right
 * after the acknowledged block (which also resends what a partial ACK
 * says was lost). With window 1 this is RFC 1350's lock-step. */
static enum xfer_result send_window(struct tftp_xfer *x)
{
    uint32_t first = x->acked + 1;
    uint32_t last = x->nblocks - x->acked > x->window ? x->acked + x->window : x->nblocks;
    return send_blocks(x, first, last);
}

enum xfer_result xfer_begin(struct tftp_xfer *x, uint64_t now_us)
{
    x->start_us = now_us;
    x->heard_us = now_us;
    x->deadline_us = now_us + x->timeout_us;
    if (x->oack_pending) {
        if (send(x->fd, x->oack, x->oack_len, 0) < 0)
            return send_error_result(x, errno);
        return XFER_CONTINUE;
    }
    return send_window(x);
}

static enum xfer_result on_ack(struct tftp_xfer *x, uint16_t block, uint64_t now_us)
{
    if (x->oack_pending) {
        /* RFC 2347: the client answers an OACK with ACK 0. */
        if (block != 0)
            return XFER_CONTINUE;
        x->oack_pending = false;
    } else {
        /* How far this ACK moves us, in 16-bit block arithmetic. A
         * duplicate or stale ACK does nothing: answering it with a
         * retransmission would start the "Sorcerer's Apprentice"
         * doubling (RFC 1123 4.2.3.1); the timer retransmits instead. */
        uint16_t diff = (uint16_t)(block - (uint16_t)x->acked);
        if (diff == 0 || diff > x->sent - x->acked)
            return XFER_CONTINUE;
        x->acked += diff;
        if (x->acked == x->nblocks)
            return XFER_DONE;
    }
    x->tries = 0;
    x->deadline_us = now_us + x->timeout_us;
    return send_window(x);
}

enum xfer_result xfer_on_readable(struct tftp_xfer *x, uint8_t *buf, size_t bufsz, uint64_t now_us)
{
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(x->fd, buf, bufsz, 0, (struct sockaddr *)&from, &fromlen);
    if (n >= 0 && !ck_netaddr_equal((const struct sockaddr *)&from, (const struct sockaddr *)&x->peer.ss))
        return XFER_CONTINUE;
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return XFER_CONTINUE;
        if (errno == ECONNREFUSED)
            return failed(x, "client went away (port unreachable)", NULL);
        return failed(x, "recv", strerror(errno));
    }
    x->heard = true;
    x->heard_us = now_us;
    uint16_t block;
    if (n == 4 && ck_tftp_parse_ack(buf, 4, &block, NULL) == 0)
        return on_ack(x, block, now_us);

    ck_tftp_packet pk;
    ck_err err;
    ck_err_clear(&err);
    int rc = ck_tftp_parse(buf, (size_t)n, &pk, &err);
    if (rc == 0 && pk.opcode == CK_TFTP_ERROR) {
        /* RFC 2347: a client that does not like our OACK says so with an
         * ERROR (code 8); either way the transfer ends, without a reply
         * (RFC 1350: errors are not acknowledged). */
        const char *said = pk.u.error.msg_len ? pk.u.error.msg : ck_tftp_error_text(pk.u.error.code);
        char shown[128]; /* the client's words go to a log line */
        snprintf(x->why, sizeof x->why, "client sent error %u (%s)", pk.u.error.code,
                 ck_printable(said, strlen(said), shown, sizeof shown, 0));
        return XFER_FAILED;
    }
    /* Anything else on a transfer port is a protocol error: tell the peer
     * (RFC 1350 error 4, "Illegal TFTP operation") and stop. */
    snprintf(x->why, sizeof x->why, "illegal packet from the client: %s",
             rc < 0 ? err.msg : ck_tftp_opcode_name(pk.opcode));
    ck_buf b;
    ck_buf_init(&b, 0);
    if (ck_tftp_build_error(&b, CK_TFTP_EBADOP, NULL, NULL) == 0)
        (void)send(x->fd, b.data, b.len, 0);
    ck_buf_free(&b);
    return XFER_FAILED;
}

enum xfer_result xfer_on_tick(struct tftp_xfer *x, uint64_t now_us)
{
    if (now_us < x->deadline_us)
        return XFER_CONTINUE;
    if (++x->tries > x->max_tries) {
        if (!x->oack_pending && x->acked + 1 == x->nblocks && x->sent == x->nblocks)
            return failed(x, "no ACK for the last block (the client may still have the whole file)", NULL);
        snprintf(x->why, sizeof x->why, "timed out after %u tries", x->max_tries);
        return XFER_FAILED;
    }
    x->retransmits++;
    x->deadline_us = now_us + x->timeout_us;
    if (x->oack_pending) {
        if (send(x->fd, x->oack, x->oack_len, 0) < 0)
            return send_error_result(x, errno);
        return XFER_CONTINUE;
    }
    /* Resend what is outstanding (never more than one window). */
    return send_blocks(x, x->acked + 1, x->sent > x->acked ? x->sent : x->acked + 1);
}

void xfer_log_end(const struct tftp_xfer *x, enum xfer_result r, uint64_t now_us)
{
    enum dlog_level lv = r == XFER_DONE ? DLOG_INFO : DLOG_NOTICE;
    if (!dlog_enabled(lv))
        return;
    char peer[CK_NETADDR_STRLEN], opts[64] = "", rtx[32] = "";
    ck_netaddr_format((const struct sockaddr *)&x->peer.ss, peer, sizeof peer);
    if (x->blksize != CK_TFTP_SEGSIZE || x->window != 1)
        snprintf(opts, sizeof opts, " blksize=%u windowsize=%u", x->blksize, x->window);
    if (x->retransmits)
        snprintf(rtx, sizeof rtx, ", %u retransmissions", x->retransmits);
    double ms = (double)(now_us - x->start_us) / 1000.0;
    size_t done = x->acked >= x->nblocks ? x->len : (size_t)x->acked * x->blksize;
    if (r == XFER_DONE)
        dlog(lv, "TFTP %s RRQ %s %s%s: sent %zu bytes in %u blocks, %.1f ms%s", peer, x->file->name,
             ck_tftp_mode_name(x->mode), opts, x->len, x->nblocks, ms, rtx);
    else
        dlog(lv, "TFTP %s RRQ %s %s%s: failed after %zu of %zu bytes, %.1f ms%s: %s", peer, x->file->name,
             ck_tftp_mode_name(x->mode), opts, done, x->len, ms, rtx, x->why);
}
