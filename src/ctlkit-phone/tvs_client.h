/* A TVS VERIFY over TLS (docs/tvs-protocol.md), as a phone asks it: one
 * request per connection. The server's certificate must be a TVS record of
 * the phone's installed ITL; any other server is not asked anything. */
#ifndef PHONE_TVS_CLIENT_H
#define PHONE_TVS_CLIENT_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/trustlist.h"
#include "models.h"
#include "tftp_client.h"

typedef enum ph_tvs_status {
    PH_TVS_ANSWERED = 0, /* a trusted TVS answered: see valid/roles/ttl */
    PH_TVS_UNTRUSTED,    /* the server's certificate is not a TVS of the ITL */
    PH_TVS_NETWORK,      /* connect, TLS, timeout, closed, malformed answer */
} ph_tvs_status;

typedef struct ph_tvs_result {
    ph_tvs_status status;
    bool valid;
    uint8_t roles[32];
    size_t n_roles;
    uint32_t ttl;
    char msg[256];
} ph_tvs_result;

typedef void (*ph_tvs_cb)(void *arg, const ph_tvs_result *r);
typedef struct ph_tvs_query ph_tvs_query;

/* One TLS client context for every phone of the process (with one derived
 * context per model, made on first use and freed with it). */
SSL_CTX *ph_tvs_ssl_ctx(ck_err *err);

/* Asks server whether cert (DER) is trusted. itl is the phone's installed
 * ITL (borrowed until the callback). device is CP-<model>-SEP<MAC>. */
/* The connection speaks model's TLS (versions and suites, models.h); a
 * handshake the server refuses says which TLS the model offered. It comes
 * from source (NULL: the kernel's choice; source.h).
 * timeout_ms bounds each read and write; deadline_ms (0 = none) the whole
 * query, so that a server trickling a byte at a time cannot keep the
 * phone. */
ph_tvs_query *ph_tvs_verify(struct event_base *base, SSL_CTX *ctx, const ph_model *model, const ph_addr *server,
                            const ck_netaddr *source,
                            const ck_tl_file *itl, const char *device, const uint8_t *cert, size_t cert_len, unsigned timeout_ms,
                            unsigned deadline_ms, ph_tvs_cb cb, void *arg, ck_err *err);
void ph_tvs_cancel(ph_tvs_query *q);

#endif
