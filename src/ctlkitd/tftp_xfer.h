/* One TFTP read transfer: all of its state in one struct (after OpenBSD
 * tftpd), served from one of the service's shared ports (tftp_port.h;
 * RFC 1350's transfer ID is the pair of ports, and the service never gives
 * a client port the server port it had last). The service owns the ports,
 * reads their datagrams, keeps the tables and the clock; this file only
 * speaks the protocol: lock-step or RFC 7440 windows, retransmission, the
 * end of a transfer. What it sends is queued on the port and leaves in
 * one sendmmsg with other transfers' packets.
 *
 * DATA packets of small files come prebuilt from the cache (one
 * contiguous buffer per packet). Larger files are sent as two pieces, a
 * 4-byte header and a slice of the cached file, so they cost no extra
 * memory. */
#ifndef CTLKITD_TFTP_XFER_H
#define CTLKITD_TFTP_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "ctlkit/tftp.h"
#include "ctlkit/netaddr.h"
#include "tftp_cache.h"
#include "tftp_port.h"
#include "tftp_sources.h"

/* Largest window this server sends (it may answer a smaller windowsize
 * than asked, RFC 7440); bounded so that a window fits on the stack. */
#define XFER_MAX_WINDOW 64

enum xfer_result { XFER_CONTINUE, XFER_DONE, XFER_FAILED };

struct tftp_xfer {
    struct tftp_port *port;   /* the server port this transfer is served from */
    struct tftp_file *file;   /* reference held for the whole transfer */
    const uint8_t *data;      /* file->data or its netascii form */
    size_t len;
    const uint8_t *image;     /* prebuilt DATA packets (tftp_file_image), or NULL */
    ck_tftp_mode mode;
    uint32_t blksize, window; /* negotiated */
    uint32_t nblocks;         /* blocks 1..nblocks; the last is shorter than blksize */
    uint32_t acked;           /* blocks acknowledged */
    uint32_t sent;            /* highest block sent */
    bool oack_pending;        /* waiting for the ACK 0 of our OACK (RFC 2347) */
    bool heard;               /* the client has sent something on this transfer */
    uint8_t tries, max_tries;
    uint32_t timeout_us;
    uint32_t retransmits;
    uint64_t start_us, deadline_us;
    uint64_t progress_us;     /* last ACK that moved the transfer on (start_us until then); duplicate and
                               * stale ACKs do not count, so that a client cannot hold its slot with them */
    uint8_t *oack;            /* our OACK, kept for retransmission */
    size_t oack_len;
    char why[160];            /* reason of a failure, for the log line */
    ck_netaddr peer;
    /* service bookkeeping */
    void *owner;              /* the service */
    uint32_t peer_hash;
    struct tftp_source *src;  /* the client address's transfer count */
    struct tftp_xfer *hnext;  /* peer hash chain, or free list */
    size_t slot;              /* index in the service's active array */
};

/* Sends the OACK, or the first window. */
enum xfer_result xfer_begin(struct tftp_xfer *x, uint64_t now_us);
/* One datagram from the peer on the transfer's port (the service has
 * matched its source: RFC 1350 says a packet with the wrong source TID
 * "should be discarded", and the service does). */
enum xfer_result xfer_on_packet(struct tftp_xfer *x, const uint8_t *buf, size_t n, uint64_t now_us);
/* Retransmits when the deadline passed, fails after max_tries. */
enum xfer_result xfer_on_tick(struct tftp_xfer *x, uint64_t now_us);
/* The one log line of a transfer. */
void xfer_log_end(const struct tftp_xfer *x, enum xfer_result r, uint64_t now_us);

#endif
