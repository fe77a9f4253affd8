#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include "tftp_port.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int tftp_port_open(struct tftp_port *p, struct event_base *base, const ck_netaddr *local, event_callback_fn cb,
                   void *owner, ck_err *err)
{
    memset(p, 0, sizeof *p);
    p->owner = owner;
    p->local = *local;
    p->fd = socket(local->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return ck_fail(err, CK_EIO, "socket: %s", strerror(errno));
    /* Each port carries the ACKs of many transfers: room for a burst of
     * them (FORCE works as root, beyond net.core.rmem_max). The send
     * buffer stays the default: a 4 MB one cost 15 % more CPU per
     * transfer on loopback (docs/benchmarks.md, eighth session); a
     * datagram refused for a full buffer waits for its retransmission. */
    int rcv = 4 << 20;
    if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
        setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (bind(p->fd, (const struct sockaddr *)&local->ss, local->len) != 0 ||
        getsockname(p->fd, (struct sockaddr *)&bound, &blen) != 0) {
        int e = errno;
        close(p->fd);
        p->fd = -1;
        return ck_fail(err, CK_EIO, "bind: %s", strerror(e));
    }
    p->number = ck_netaddr_port((const struct sockaddr *)&bound);
    if (!(p->ev = event_new(base, p->fd, EV_READ | EV_PERSIST, cb, p)) || event_add(p->ev, NULL) != 0) {
        tftp_port_close(p);
        return ck_fail(err, CK_ENOMEM, "cannot register a transfer port with the event loop");
    }
    return 0;
}

void tftp_port_close(struct tftp_port *p)
{
    if (p->ev)
        event_free(p->ev);
    p->ev = NULL;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->nout = 0;
}

void tftp_port_queue(struct tftp_port *p, const ck_netaddr *to, const uint8_t *hdr, const uint8_t *data,
                     size_t len)
{
    if (p->nout == TFTP_PORT_OUT_MAX)
        tftp_port_flush(p);
    unsigned i = p->nout++;
    size_t alen = (size_t)to->len <= sizeof p->to[i] ? (size_t)to->len : sizeof p->to[i];
    memcpy(&p->to[i], &to->ss, alen);
    unsigned n = 0;
    if (hdr) {
        memcpy(p->hdr[i], hdr, 4);
        p->iov[i][n++] = (struct iovec){p->hdr[i], 4};
    }
    if (len)
        p->iov[i][n++] = (struct iovec){(void *)data, len};
    p->out[i].msg_hdr = (struct msghdr){
        .msg_name = &p->to[i], .msg_namelen = (socklen_t)alen, .msg_iov = p->iov[i], .msg_iovlen = n};
}

void tftp_port_flush(struct tftp_port *p)
{
    unsigned done = 0;
    while (done < p->nout) {
        int n = sendmmsg(p->fd, p->out + done, p->nout - done, 0);
        if (n > 0)
            done += (unsigned)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            done++; /* the kernel refused this one: left to the retransmission timer */
    }
    p->nout = 0;
}

void tftp_port_send_now(struct tftp_port *p, const ck_netaddr *to, const void *data, size_t len)
{
    (void)sendto(p->fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)&to->ss, to->len);
}
