/* ctlkit-phone's CAPF client (src/ctlkit-phone/capf_client.c) against a
 * scripted server that misbehaves: after an install it asks for a second
 * key in the same session and ends with success. The phone must not come
 * out of it with the second key paired with the first key's LSC (which it
 * would save as its LSC and key): it refuses the second request. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capf_client.h"
#include "ctlkit/capf.h"
#include "ctlkit/capf_server.h"
#include "models.h"

#define DEV "SEP001122334455"
#define SESSION 7u

typedef struct script {
    int lfd;
    tu_keypair capf;
    int second_keygen_answered; /* the phone sent a KEY_GENERATE_RESPONSE to the second request */
} script;

/* cmocka's asserts belong to the test's thread: the server thread notes
 * the line of its first failed check and stops. */
static int server_failed_line;
#define CHECK(x)                                                                                                      \
    do {                                                                                                              \
        if (!(x)) {                                                                                                   \
            server_failed_line = __LINE__;                                                                            \
            goto out;                                                                                                 \
        }                                                                                                             \
    } while (0)
#define CHECK_EQ(a, b) CHECK((a) == (b))

static int read_full(SSL *ssl, uint8_t *p, size_t n)
{
    while (n) {
        int r = SSL_read(ssl, p, (int)n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* The next frame from the phone (buf holds CK_CAPF_MAX_FRAME); -1 when it hung up. */
static int recv_frame(SSL *ssl, uint8_t *buf, ck_capf_msg *m)
{
    ck_err err = {0};
    if (read_full(ssl, buf, CK_CAPF_HEADER_LEN) < 0)
        return -1;
    size_t body = (size_t)buf[6] << 8 | buf[7];
    if (read_full(ssl, buf + CK_CAPF_HEADER_LEN, body) < 0)
        return -1;
    return ck_capf_parse(buf, CK_CAPF_HEADER_LEN + body, m, &err);
}

static int send_buf(SSL *ssl, ck_buf *b)
{
    int ok = !b->failed && SSL_write(ssl, b->data, (int)b->len) == (int)b->len;
    b->len = 0;
    return ok ? 0 : -1;
}

/* The phone's answer to a KEY_GENERATE_REQUEST (after REQUEST_IN_PROGRESS);
 * -1 when it hung up instead. */
static int keygen_answer(SSL *ssl, uint8_t *buf, ck_capf_msg *m)
{
    while (recv_frame(ssl, buf, m) == 0)
        if (m->hdr.command == CK_CAPF_KEYGEN_RESP)
            return 0;
    return -1;
}

static void *serve(void *arg)
{
    script *sc = arg;
    ck_err err = {0};
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    X509 *lsc = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    ck_capf_msg m;
    ck_buf out;
    ck_buf_init(&out, 0);
    uint8_t *buf = malloc(CK_CAPF_MAX_FRAME);
    int c = accept(sc->lfd, NULL, NULL);
    CHECK(c >= 0 && buf);
    CHECK((ctx = SSL_CTX_new(TLS_server_method())) != NULL);
    CHECK_EQ(SSL_CTX_use_certificate(ctx, sc->capf.cert), 1);
    CHECK_EQ(SSL_CTX_use_PrivateKey(ctx, sc->capf.key), 1);
    CHECK((ssl = SSL_new(ctx)) != NULL);
    SSL_set_fd(ssl, c);
    CHECK_EQ(SSL_accept(ssl), 1);

    CHECK_EQ(ck_capf_build_auth_request(SESSION, &out, &err), 0);
    CHECK_EQ(send_buf(ssl, &out), 0);
    CHECK_EQ(recv_frame(ssl, buf, &m), 0);
    CHECK_EQ(m.hdr.command, CK_CAPF_AUTH_RESP);

    /* Install: an EC P-256 key (quick to make), its LSC, stored. */
    CHECK_EQ(ck_capf_build_keygen_request(SESSION, CK_CAPF_KEY_EC, 0, CK_CAPF_CURVE_P256, &out, &err), 0);
    CHECK_EQ(send_buf(ssl, &out), 0);
    CHECK_EQ(keygen_answer(ssl, buf, &m), 0);
    ck_capf_issuer iss = {.cert = sc->capf.cert, .key = sc->capf.key};
    CHECK_EQ(ck_capf_issue_lsc(&iss, DEV, m.public_key, m.public_key_len, CK_CAPF_KEY_EC, 0,
                                       CK_CAPF_CURVE_P256, 1800000000, &lsc, &err), 0);
    CHECK_EQ(ck_cert_to_der(lsc, &der, &der_len, &err), 0);
    CHECK_EQ(ck_capf_build_store_request(SESSION, der, der_len, &out, &err), 0);
    CHECK_EQ(send_buf(ssl, &out), 0);
    CHECK_EQ(recv_frame(ssl, buf, &m), 0);
    CHECK_EQ(m.hdr.command, CK_CAPF_STORE_CERT_RESP);
    CHECK_EQ(m.reason, CK_CAPF_REASON_UPDATE);

    /* The misbehaviour: a second key in the same session, then success. */
    CHECK_EQ(ck_capf_build_keygen_request(SESSION, CK_CAPF_KEY_EC, 0, CK_CAPF_CURVE_P256, &out, &err), 0);
    CHECK_EQ(send_buf(ssl, &out), 0);
    if (keygen_answer(ssl, buf, &m) == 0) {
        sc->second_keygen_answered = 1;
        CHECK_EQ(ck_capf_build_end_session(SESSION, CK_CAPF_REASON_UPDATE, &out, &err), 0);
        CHECK_EQ(send_buf(ssl, &out), 0);
    }
out:
    ck_buf_free(&out);
    free(der);
    X509_free(lsc);
    free(buf);
    if (ssl)
        SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (c >= 0)
        close(c);
    return NULL;
}

static void test_second_keygen_refused(void **state)
{
    (void)state;
    script sc = {0};
    ck_cert_params p = {.cn = "CAPF-test", .ou = "CAPF", .o = "ctlkit tests", .rsa_bits = 2048,
                        .key_usage = "digitalSignature,keyCertSign"};
    tu_keypair_gen(&sc.capf, &p);
    sc.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(sc.lfd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(sc.lfd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(sc.lfd, (struct sockaddr *)&sin, &len), 0);
    assert_int_equal(listen(sc.lfd, 1), 0);
    char text[64];
    snprintf(text, sizeof text, "127.0.0.1:%u", ntohs(sin.sin_port));
    ph_addr server;
    ck_err err = {0};
    assert_int_equal(ph_addr_parse(text, &server, &err), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve, &sc), 0);

    ph_capf_cfg cfg = {.model = ph_model_find("8865"), .device = DEV, .server = &server,
                       .trust_certs = &sc.capf.cert, .n_trust_certs = 1, .timeout_ms = 30000};
    assert_non_null(cfg.model);
    ph_capf_result r;
    int rc = ph_capf_run(&cfg, &r, &err);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (server_failed_line)
        fail_msg("the scripted server failed its check at line %d (%s)", server_failed_line, err.msg);
    /* Whatever the phone keeps, its LSC is for its key. */
    if (rc == 0 && r.new_lsc && r.new_key)
        assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(r.new_lsc), r.new_key), 1);
    assert_int_equal(rc, -1);
    if (!strstr(err.msg, "KEY_GENERATE_REQUEST after starting install"))
        fail_msg("not refused as a second operation: %s", err.msg);
    assert_int_equal(sc.second_keygen_answered, 0);
    X509_free(r.new_lsc);
    EVP_PKEY_free(r.new_key);
    close(sc.lfd);
    tu_keypairs_free((tu_keypair *const[]){&sc.capf}, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_keygen_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
