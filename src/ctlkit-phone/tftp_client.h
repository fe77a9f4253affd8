/* A TFTP read (RFC 1350) with the blksize option (RFC 2348), as a phone
 * fetches its files: one UDP socket per transfer, on a libevent loop,
 * with a retransmit timer and a bounded retry count. */
#ifndef PHONE_TFTP_CLIENT_H
#define PHONE_TFTP_CLIENT_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctlkit/error.h"
#include "ctlkit/netaddr.h"

typedef enum ph_tftp_status {
    PH_TFTP_OK = 0,
    PH_TFTP_NOTFOUND,  /* ERROR 1: the server has no such file */
    PH_TFTP_REFUSED,   /* another TFTP ERROR from the server */
    PH_TFTP_TIMEOUT,   /* no answer after every retry, or not done by the deadline */
    PH_TFTP_FAILED,    /* local failure, malformed answer, file too large */
} ph_tftp_status;

typedef struct ph_tftp_params {
    unsigned blksize;      /* asked for in the RRQ; 0 = no option (512) */
    unsigned timeout_ms;   /* per packet */
    unsigned retries;      /* retransmissions before giving up */
    unsigned deadline_ms;  /* the whole file, however steadily it comes; 0 = none.
                            * Without it a server that sends one block just
                            * before each timeout keeps the phone forever. */
    size_t max_size;       /* refuse files larger than this */
} ph_tftp_params;

typedef struct ph_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64];         /* as given: "127.0.0.11:16969" */
} ph_addr;

/* "ADDR:PORT" or "[v6]:PORT" into a. */
int ph_addr_parse(const char *s, ph_addr *a, ck_err *err);

/* Called once per transfer. data (malloc'd, the callee frees it) is set
 * for PH_TFTP_OK; msg says what went wrong otherwise. The transfer is
 * already gone when this runs. */
typedef void (*ph_tftp_cb)(void *arg, ph_tftp_status st, uint8_t *data, size_t len, const char *msg);

typedef struct ph_tftp_xfer ph_tftp_xfer;

/* Starts fetching file from server, speaking from source (NULL: the
 * kernel's choice; source.h). NULL (and err) when it cannot start. */
ph_tftp_xfer *ph_tftp_get(struct event_base *base, const ph_addr *server, const ck_netaddr *source, const char *file,
                          const ph_tftp_params *params, ph_tftp_cb cb, void *arg, ck_err *err);
/* Stops a transfer without calling its callback. */
void ph_tftp_cancel(ph_tftp_xfer *x);

const char *ph_tftp_status_name(ph_tftp_status st);

#endif
