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

/* Queues blocks first..last (1-based, inclusive) on the transfer's port. */
static enum xfer_result send_blocks(struct tftp_xfer *x, uint32_t first, uint32_t last)
{
    for (uint32_t blk = first; blk <= last; blk++) {
        size_t off = (size_t)(blk - 1) * x->blksize;
        size_t sz = x->len - off < x->blksize ? x->len - off : x->blksize;
        if (x->image) {
            tftp_port_queue(x->port, &x->peer, NULL, x->image + (size_t)(blk - 1) * (4 + x->blksize), 4 + sz);
        } else {
            /* RFC 1350 numbers blocks from 1 in 16 bits; past 65535 the
             * number rolls over to 0, as tftp-hpa and most clients expect. */
            uint8_t hdr[4];
            ck_tftp_data_header(hdr, (uint16_t)blk);
            tftp_port_queue(x->port, &x->peer, hdr, x->data + off, sz);
        }
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
    x->progress_us = now_us;
    x->deadline_us = now_us + x->timeout_us;
    if (x->oack_pending) {
        tftp_port_queue(x->port, &x->peer, NULL, x->oack, x->oack_len);
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
    x->progress_us = now_us;
    x->deadline_us = now_us + x->timeout_us;
    return send_window(x);
}

enum xfer_result xfer_on_packet(struct tftp_xfer *x, const uint8_t *buf, size_t n, uint64_t now_us)
{
    x->heard = true;
    uint16_t block;
    if (n == 4 && ck_tftp_parse_ack(buf, 4, &block, NULL) == 0)
        return on_ack(x, block, now_us);

    ck_tftp_packet pk;
    ck_err err;
    ck_err_clear(&err);
    int rc = ck_tftp_parse(buf, n, &pk, &err);
    if (rc < 0 && n >= 2 && buf[0] == 0 && buf[1] == CK_TFTP_ERROR) {
        /* An ERROR ends the transfer and is never answered (RFC 1350),
         * even one cut by our buffer or otherwise malformed. */
        snprintf(x->why, sizeof x->why, "client sent a malformed error packet (%zu bytes)", n);
        return XFER_FAILED;
    }
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
        tftp_port_send_now(x->port, &x->peer, b.data, b.len);
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
        tftp_port_queue(x->port, &x->peer, NULL, x->oack, x->oack_len);
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
