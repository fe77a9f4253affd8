/* tlsfloor: what OpenSSL alone charges a TLS server per full handshake on
 * this machine, with no sockets, no kernel and no application: a client
 * and a server SSL in one thread joined by a BIO pair, and only the
 * server's calls timed (thread CPU time).
 *
 *   tlsfloor KEY_AND_CERT.pem [N [PROFILE ...]]
 *
 * A PROFILE is VERSION[:CIPHERS], what a client offers as tvsstorm's
 * TVSSTORM_TLS and TVSSTORM_CIPHERS say: 1.0:AES128-SHA (79xx phones),
 * 1.2:AES128-SHA, 1.2:ECDHE-RSA-AES256-GCM-SHA384 (88xx), 1.3 (the
 * default four). For each it prints the server's CPU per connection: one
 * full handshake, one TVS-sized request read (1,100 bytes) and its answer
 * written (40 bytes), and SSL_free, with the TVS's settings (TLS 1.0 and
 * later with the legacy suites as ctlkit/tls_policy.h allows them, no
 * tickets, no session cache, no client certificate). The TVS cannot do
 * better than its protocol's line: this is the floor the benchmark's
 * server-side figure is to be read against.
 *
 *   tlsfloor --capf KEY_AND_CERT.pem [N [PROFILE ...]]
 *
 * The same for one CAPF enrolment (bench/capf): the handshake, the
 * session's messages at their sizes (AUTH_REQUEST 20 bytes out,
 * AUTH_RESPONSE 40 in, KEY_GENERATE_REQUEST 20 out, an RSA-2048
 * KEY_GENERATE_RESPONSE 306 in, STORE_CERTIFICATE_REQUEST 1,000 out,
 * STORE_CERTIFICATE_RESPONSE 12 in, END_SESSION 12 out) and one RSA-2048
 * signature (SHA-256, PKCS#1 v1.5) with the server's key: the LSC.
 *
 *   tlsfloor --capf-sgn KEY_AND_CERT.pem [N [PROFILE ...]]
 *
 * --capf plus the two signatures an enrolment on an encrypted-config
 * profile also needs (the phone's new SEP<MAC>.cnf.xml.enc.sgn and its stub
 * .cnf.xml.sgn: RSA-2048, SHA-1, PKCS#1 v1.5, made with the node's
 * CallManager key; timed here with the given key, of the same size). An
 * informational floor: issue 12's floor is --capf's. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    /* The TVS with the cluster's TLS minimum at 1.0 (lib/x509/tls_policy.c). */
    SSL_CTX_set_security_level(s, 0);
    SSL_CTX_set_cipher_list(s, "DEFAULT:AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(s, TLS1_VERSION);
    SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(s, SSL_MODE_NO_AUTO_CHAIN | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(s, 1);
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

/* The exchange after the handshake: positive sizes the client sends
 * (the server reads), negative the server writes. */
static const int tvs_exchange[] = {1100, -40, 0};
static const int capf_exchange[] = {-20, 40, -20, 306, -1000, 12, -12, 0};
static const int *exchange = tvs_exchange;
static EVP_PKEY *sign_key; /* --capf: one signature per connection with it */

/* One message of n bytes from from to to; the server's part timed. */
static int pass_msg(SSL *from, SSL *to, int n, bool server_writes, double *spent)
{
    static unsigned char msg[2048], buf[4096];
    double t0 = cpu();
    int w = SSL_write(from, msg, n);
    if (server_writes)
        *spent += cpu() - t0;
    if (w != n)
        return -1;
    int got = 0;
    for (int k = 0; k < 10 && got < n; k++) {
        double t1 = cpu();
        int r = SSL_read(to, buf + got, (int)sizeof buf - got);
        if (!server_writes)
            *spent += cpu() - t1;
        if (r > 0)
            got += r;
    }
    return got == n ? 0 : -1;
}

static int config_signatures; /* --capf-sgn: 2 more per connection */

static int sign_once(const EVP_MD *alg, double *spent)
{
    unsigned char tbs[1000] = {1}, sig[512];
    size_t siglen = sizeof sig;
    double t0 = cpu();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, alg, NULL, sign_key) == 1 &&
             EVP_DigestSign(md, sig, &siglen, tbs, sizeof tbs) == 1;
    EVP_MD_CTX_free(md);
    *spent += cpu() - t0;
    return ok ? 0 : -1;
}

/* Server CPU per handshake in microseconds; -1 if a handshake failed. */
static double run(SSL_CTX *s, int maxv, const char *ciphers, int n, char *what, size_t whatsz)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(c, maxv);
    if (maxv < TLS1_2_VERSION)
        SSL_CTX_set_security_level(c, 0);
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
        /* The protocol's messages: a phone's VERIFY and its answer, or a
         * CAPF enrolment. */
        bool ok = done && SSL_do_handshake(C) == 1;
        for (const int *m = exchange; ok && *m; m++)
            ok = pass_msg(*m > 0 ? C : S, *m > 0 ? S : C, abs(*m), *m < 0, &spent) == 0;
        if (ok && sign_key)
            ok = sign_once(EVP_sha256(), &spent) == 0;
        for (int k = 0; ok && k < config_signatures; k++)
            ok = sign_once(EVP_sha1(), &spent) == 0;
        if (!ok) {
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
    if (argc > 1 && (strcmp(argv[1], "--capf") == 0 || strcmp(argv[1], "--capf-sgn") == 0)) {
        exchange = capf_exchange;
        config_signatures = strcmp(argv[1], "--capf-sgn") == 0 ? 2 : 0;
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: tlsfloor [--capf|--capf-sgn] KEY_AND_CERT.pem [N [PROFILE ...]]\n");
        return 2;
    }
    if (exchange == capf_exchange) {
        FILE *f = fopen(argv[1], "r");
        sign_key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (!sign_key) {
            fprintf(stderr, "tlsfloor: no private key in %s\n", argv[1]);
            return 2;
        }
    }
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    SSL_CTX *s = server_ctx(argv[1]);
    static const char *const defaults[] = {"1.0:AES128-SHA", "1.2:AES128-SHA", "1.2:ECDHE-RSA-AES256-GCM-SHA384",
                                           "1.3"};
    const char *const *profiles = argc > 3 ? (const char *const *)argv + 3 : defaults;
    int n_profiles = argc > 3 ? argc - 3 : (int)(sizeof defaults / sizeof defaults[0]);
    int rc = 0;
    for (int i = 0; i < n_profiles; i++) {
        char version[8] = "", what[128] = "?";
        const char *colon = strchr(profiles[i], ':');
        size_t vl = colon ? (size_t)(colon - profiles[i]) : strlen(profiles[i]);
        snprintf(version, sizeof version, "%.*s", (int)(vl < 7 ? vl : 7), profiles[i]);
        int maxv = !strcmp(version, "1.0")   ? TLS1_VERSION
                   : !strcmp(version, "1.1") ? TLS1_1_VERSION
                   : !strcmp(version, "1.2") ? TLS1_2_VERSION
                   : !strcmp(version, "1.3") ? TLS1_3_VERSION
                                             : 0;
        if (!maxv) {
            fprintf(stderr, "tlsfloor: %s: the version is not 1.0, 1.1, 1.2 or 1.3\n", profiles[i]);
            return 2;
        }
        double us = run(s, maxv, colon ? colon + 1 : NULL, n, what, sizeof what);
        if (us < 0) {
            printf("%s: handshake failed\n", profiles[i]);
            rc = 1;
            continue;
        }
        printf("%s: %.0f us (%s)\n", profiles[i], us, what);
    }
    SSL_CTX_free(s);
    return rc;
}
