/* ctlkit-phone's deadlines per exchange (src/ctlkit-phone/tftp_client.c,
 * tvs_client.c, capf_client.c): a server that sends one TFTP block, or one
 * byte of TLS, a little before each per-packet timeout must not keep a
 * phone. Fake
 * servers on the test's own event loop trickle for at most TRICKLE_MS;
 * the phone's deadline is far shorter and its per-packet timeout longer
 * than a trickle step, so only the deadline can end the exchange while
 * the server trickles. No timing is asserted: the exchange must end with
 * the deadline's error, not the per-packet timeout's or the server's
 * close (what the code without deadlines reports when the trickle stops). */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "capf_client.h"
#include "ctlkit/tftp.h"
#include "models.h"
#include "tftp_client.h"
#include "tvs_client.h"

#define STEP_MS 20        /* one block / one byte this often */
#define TRICKLE_MS 10000  /* then the fake server stops */
#define PER_PACKET_MS 3000
#define DEADLINE_MS 400

static struct timeval ms(unsigned v) { return (struct timeval){v / 1000, (v % 1000) * 1000}; }

/* Binds a socket of type to 127.0.0.1 on a free port; a->text names it. */
static int bound(int type, ph_addr *a)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    char text[64];
    snprintf(text, sizeof text, "127.0.0.1:%u", ntohs(sin.sin_port));
    ck_err err = {0};
    assert_int_equal(ph_addr_parse(text, a, &err), 0);
    return fd;
}

/* --- TFTP: a full 512-byte block STEP_MS after each ACK, for ever --- */

typedef struct tftp_fake {
    struct event_base *base;
    int fd;
    struct event *ev_read, *ev_step;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint16_t next;      /* block to send at the next step */
    unsigned steps;
    bool done;          /* the phone's callback ran */
    ph_tftp_status st;
    char msg[256];
} tftp_fake;

static void tftp_send_block(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    tftp_fake *f = arg;
    if (++f->steps * STEP_MS > TRICKLE_MS)
        return; /* stop trickling: only the phone's own timers are left */
    uint8_t pkt[4 + 512] = {0, CK_TFTP_DATA, (uint8_t)(f->next >> 8), (uint8_t)f->next};
    memset(pkt + 4, 'x', 512);
    (void)sendto(f->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&f->peer, f->peer_len);
}

static void tftp_on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    tftp_fake *f = arg;
    uint8_t buf[600];
    f->peer_len = sizeof f->peer;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&f->peer, &f->peer_len);
    if (n < 4)
        return;
    if (buf[1] == CK_TFTP_RRQ)
        f->next = 1;
    else if (buf[1] == CK_TFTP_ACK)
        f->next = (uint16_t)(((buf[2] << 8) | buf[3]) + 1);
    else
        return;
    struct timeval tv = ms(STEP_MS);
    evtimer_add(f->ev_step, &tv);
}

static void tftp_done(void *arg, ph_tftp_status st, uint8_t *data, size_t len, const char *msg)
{
    (void)len;
    tftp_fake *f = arg;
    free(data);
    f->done = true;
    f->st = st;
    snprintf(f->msg, sizeof f->msg, "%s", msg);
    event_base_loopbreak(f->base);
}

static void test_tftp_deadline(void **state)
{
    (void)state;
    tftp_fake f = {.base = event_base_new()};
    ph_addr server;
    f.fd = bound(SOCK_DGRAM, &server);
    f.ev_read = event_new(f.base, f.fd, EV_READ | EV_PERSIST, tftp_on_read, &f);
    f.ev_step = evtimer_new(f.base, tftp_send_block, &f);
    event_add(f.ev_read, NULL);
    ph_tftp_params p = {.blksize = 0, .timeout_ms = PER_PACKET_MS, .retries = 0, .deadline_ms = DEADLINE_MS,
                        .max_size = (size_t)1 << 30};
    ck_err err = {0};
    ph_tftp_xfer *x = ph_tftp_get(f.base, &server, NULL, "CTLFile.tlv", &p, tftp_done, &f, &err);
    assert_non_null(x);
    event_base_dispatch(f.base);
    assert_true(f.done);
    assert_int_equal(f.st, PH_TFTP_TIMEOUT);
    if (!strstr(f.msg, "400 ms deadline"))
        fail_msg("not ended by the deadline: %s", f.msg);
    assert_true(f.next > 1); /* it was trickling, not silent */
    event_free(f.ev_read);
    event_free(f.ev_step);
    close(f.fd);
    event_base_free(f.base);
}

/* --- TLS (the TVS, CAPF): a record header announcing 16 KB, then a byte a step --- */

typedef struct tls_fake {
    struct event_base *base;
    int lfd, cfd;
    struct event *ev_accept, *ev_step;
    unsigned steps;
    bool done, hung_up;
    ph_tvs_result r;
} tls_fake;

static void tls_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    tls_fake *f = arg;
    if (++f->steps * STEP_MS > TRICKLE_MS) {
        close(f->cfd); /* the phone sees the close */
        f->cfd = -1;
        return;
    }
    uint8_t zero = 0;
    if (send(f->cfd, &zero, 1, MSG_NOSIGNAL) != 1) { /* the phone hung up */
        f->hung_up = true;
        event_base_loopbreak(f->base);
        return;
    }
    struct timeval tv = ms(STEP_MS);
    evtimer_add(f->ev_step, &tv);
}

static void tls_on_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    tls_fake *f = arg;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0 || f->cfd >= 0) {
        if (c >= 0)
            close(c);
        return;
    }
    f->cfd = c;
    static const uint8_t handshake_header[5] = {0x16, 0x03, 0x03, 0x3f, 0xff};
    (void)write(c, handshake_header, sizeof handshake_header);
    struct timeval tv = ms(STEP_MS);
    evtimer_add(f->ev_step, &tv);
}

/* A listener on 127.0.0.1 (server names it) that trickles to whoever connects. */
static void tls_fake_start(tls_fake *f, ph_addr *server)
{
    *f = (tls_fake){.base = event_base_new(), .cfd = -1};
    f->lfd = bound(SOCK_STREAM, server);
    assert_int_equal(listen(f->lfd, 4), 0);
    f->ev_accept = event_new(f->base, f->lfd, EV_READ | EV_PERSIST, tls_on_accept, f);
    f->ev_step = evtimer_new(f->base, tls_step, f);
    event_add(f->ev_accept, NULL);
}

static void tls_fake_free(tls_fake *f)
{
    if (f->cfd >= 0)
        close(f->cfd);
    event_free(f->ev_accept);
    event_free(f->ev_step);
    close(f->lfd);
    event_base_free(f->base);
}

static void tvs_done(void *arg, const ph_tvs_result *r)
{
    tls_fake *f = arg;
    f->done = true;
    f->r = *r;
    event_base_loopbreak(f->base);
}

static void test_tvs_deadline(void **state)
{
    (void)state;
    tls_fake f;
    ph_addr server;
    tls_fake_start(&f, &server);
    ck_err err = {0};
    SSL_CTX *ctx = ph_tvs_ssl_ctx(&err);
    assert_non_null(ctx);
    const ph_model *m = ph_model_find("8865");
    assert_non_null(m);
    static const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    /* The handshake never completes, so the ITL is never looked at. */
    ph_tvs_query *q = ph_tvs_verify(f.base, ctx, m, &server, NULL, NULL, "CP-8865-SEP001122334455", cert, sizeof cert,
                                    PER_PACKET_MS, DEADLINE_MS, tvs_done, &f, &err);
    if (!q)
        fail_msg("%s", err.msg);
    event_base_dispatch(f.base);
    assert_true(f.done);
    assert_int_equal(f.r.status, PH_TVS_NETWORK);
    if (!strstr(f.r.msg, "did not answer within the 400 ms deadline"))
        fail_msg("not ended by the deadline: %s", f.r.msg);
    assert_true(f.steps > 0);
    SSL_CTX_free(ctx);
    tls_fake_free(&f);
}

/* --- CAPF: the client blocks, so the trickler runs on its own thread --- */

static void *run_loop(void *arg)
{
    event_base_dispatch(((tls_fake *)arg)->base);
    return NULL;
}

static void test_capf_deadline(void **state)
{
    (void)state;
    tls_fake f;
    ph_addr server;
    tls_fake_start(&f, &server);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_loop, &f), 0);
    tu_keypair capf;
    ck_cert_params p = {.cn = "CAPF-test", .ou = "TAC", .o = "Cisco", .rsa_bits = 1024};
    tu_keypair_gen(&capf, &p);
    /* The handshake never completes, so nothing else of the phone is used. */
    ph_capf_cfg cfg = {.model = ph_model_find("8865"), .device = "SEP001122334455", .server = &server,
                       .trust_certs = &capf.cert, .n_trust_certs = 1, .timeout_ms = PER_PACKET_MS,
                       .deadline_ms = DEADLINE_MS};
    assert_non_null(cfg.model);
    ph_capf_result r;
    ck_err err = {0};
    assert_int_equal(ph_capf_run(&cfg, &r, &err), -1);
    if (!strstr(err.msg, "did not end the session within the 400 ms deadline"))
        fail_msg("not ended by the deadline: %s", err.msg);
    /* The trickler sees the phone hang up (or stops after TRICKLE_MS). */
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(f.hung_up);
    assert_true(f.steps > 0);
    tu_keypairs_free((tu_keypair *const[]){&capf}, 1);
    tls_fake_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tftp_deadline),
        cmocka_unit_test(test_tvs_deadline),
        cmocka_unit_test(test_capf_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
