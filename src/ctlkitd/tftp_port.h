/* The UDP ports TFTP transfers are served from. A few ports per local
 * address are shared by all transfers (RFC 1350's transfer ID is the pair
 * of ports: two clients may talk to the same server port at once), so
 * that one recvmmsg reads the ACKs of many transfers and one sendmmsg
 * sends their next blocks. A socket per transfer, as before, cost one
 * send and one recv system call per block: on loopback with 1,000
 * clients at blksize 512 a third of the daemon's CPU per transfer went to
 * entering and leaving those calls (docs/benchmarks.md, eighth session).
 *
 * Datagrams queued here are sent when the batch is full or when the
 * service flushes (at the end of each event callback, and before a
 * transfer ends, so that nothing queued points at a finished one). */
#ifndef CTLKITD_TFTP_PORT_H
#define CTLKITD_TFTP_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "ctlkit/error.h"
#include "ctlkit/netaddr.h"

/* Datagrams sent per sendmmsg at most (a window of 64 blocks fits twice). */
#define TFTP_PORT_OUT_MAX 128

struct tftp_port {
    int fd;
    struct event *ev;
    ck_netaddr local;  /* the address the port is bound to (port 0 asked) */
    uint16_t number;   /* the port the kernel gave it, host order */
    void *owner;       /* the service */
    unsigned nout;     /* queued datagrams */
    struct mmsghdr out[TFTP_PORT_OUT_MAX];
    struct iovec iov[TFTP_PORT_OUT_MAX][2];
    uint8_t hdr[TFTP_PORT_OUT_MAX][4];
    struct sockaddr_in6 to[TFTP_PORT_OUT_MAX]; /* large enough for AF_INET too */
};

/* Binds p to local (port 0) and registers cb for its readable events. */
int tftp_port_open(struct tftp_port *p, struct event_base *base, const ck_netaddr *local, event_callback_fn cb,
                   void *owner, ck_err *err);
void tftp_port_close(struct tftp_port *p);
/* Queues one datagram to `to`: hdr (4 bytes, copied; or NULL) then data
 * (not copied: it must live until the next flush). */
void tftp_port_queue(struct tftp_port *p, const ck_netaddr *to, const uint8_t *hdr, const uint8_t *data,
                     size_t len);
/* Sends what is queued. A datagram the kernel refuses (a full buffer, an
 * unreachable peer) is dropped: the transfer's retransmission timer
 * resends it, or gives up. */
void tftp_port_flush(struct tftp_port *p);
/* Sends one datagram now, from p (for ERROR packets, whose buffer does not
 * outlive the call). */
void tftp_port_send_now(struct tftp_port *p, const ck_netaddr *to, const void *data, size_t len);

#endif
