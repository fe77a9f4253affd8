/* tlsfloor: what OpenSSL alone charges a TLS server per full handshake on
 * this machine, with no sockets, no kernel and no application: a client
 * and a server SSL in one thread joined by a BIO pair, and only the
 * server's calls timed (thread CPU time).
 *
 *   tlsfloor KEY_AND_CERT.pem [N]
 *
 * Prints the server's CPU per handshake for TLS 1.3 (X25519, RSA-PSS,
 * AES-128-GCM-SHA256),
 * TLS 1.2 with ECDHE-RSA, and TLS 1.2 with RSA key exchange, each with the
 * TVS's settings (no tickets, no session cache, no client certificate).
 * The TVS cannot do better than its protocol's line: this is the floor the
 * benchmark's server-side figure is to be read against. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static SSL_CTX *server_ctx(const char *pem)
{
    SSL_CTX *s = SSL_CTX_new(TLS_server_method());
    if (!s || SSL_CTX_use_certificate_chain_file(s, pem) != 1 ||
        SSL_CTX_use_PrivateKey_file(s, pem, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "tlsfloor: cannot load %s\n", pem);
        exit(2);
    }
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    SSL_CTX_set1_groups_list(s, "X25519:P-256:P-384:P-521");
    /* The TVS's TLS 1.3 suite order (src/ctlkitd/tvs_tls.c); set
     * TLSFLOOR_SUITES to compare another, e.g. OpenSSL's default. */
    const char *suites = getenv("TLSFLOOR_SUITES");
    SSL_CTX_set_ciphersuites(s, suites ? suites
                                       : "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    SSL_CTX_set_options(s, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(s, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_num_tickets(s, 0);
    return s;
}

/* Server CPU per handshake in microseconds; -1 if a handshake failed. */
static double run(SSL_CTX *s, int maxv, const char *ciphers, int n, char *what, size_t whatsz)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(c, maxv);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (ciphers)
        SSL_CTX_set_cipher_list(c, ciphers);
    double spent = 0;
    for (int i = 0; i < n; i++) {
        SSL *S = SSL_new(s), *C = SSL_new(c);
        BIO *a = NULL, *b = NULL;
        BIO_new_bio_pair(&a, 0, &b, 0);
        SSL_set_bio(S, a, a);
        SSL_set_bio(C, b, b);
        SSL_set_accept_state(S);
        SSL_set_connect_state(C);
        int done = 0;
        for (int k = 0; k < 10 && !done; k++) {
            SSL_do_handshake(C);
            double t0 = cpu();
            int r = SSL_do_handshake(S);
            spent += cpu() - t0;
            done = r == 1;
        }
        if (!done || SSL_do_handshake(C) != 1) {
            SSL_free(S);
            SSL_free(C);
            SSL_CTX_free(c);
            return -1;
        }
        if (i == 0)
            snprintf(what, whatsz, "%s %s", SSL_get_version(S), SSL_get_cipher_name(S));
        double t0 = cpu();
        SSL_free(S);
        spent += cpu() - t0;
        SSL_free(C);
    }
    SSL_CTX_free(c);
    return spent / n * 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tlsfloor KEY_AND_CERT.pem [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    SSL_CTX *s = server_ctx(argv[1]);
    static const struct {
        const char *label;
        int maxv;
        const char *ciphers;
    } cases[] = {
        {"tls13", TLS1_3_VERSION, NULL},
        {"tls12-ecdhe", TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256"},
        {"tls12-rsa-kx", TLS1_2_VERSION, "AES128-GCM-SHA256"},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[128] = "?";
        double us = run(s, cases[i].maxv, cases[i].ciphers, n, what, sizeof what);
        if (us < 0) {
            printf("%s: handshake failed\n", cases[i].label);
            rc = 1;
            continue;
        }
        printf("%s: %.0f us (%s)\n", cases[i].label, us, what);
    }
    SSL_CTX_free(s);
    return rc;
}
