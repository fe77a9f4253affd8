/* Trust-list benchmark (docs/benchmarks.md, "## Trust lists").
 *
 *   tlv-bench [--seconds S] [--out FILE] [--ctlkit PATH --runs N]
 *
 * Builds a 3-record CTL (SAST signer + CCM+TFTP, both the publisher's
 * RSA-2048 certificate, and a CAPF RSA-2048 certificate; SHA-256), then on
 * one thread measures, each for S seconds:
 *   - ck_tl_parse + ck_tl_verify per second (the goal: >= 10,000), and the
 *     same with the signer certificate decoded on every call,
 *   - its parts: parse only, the signer certificate's DER decode only, and
 *     the signature check with an already decoded key,
 *   - OpenSSL's raw RSA-2048 verify of a SHA-256 digest (EVP_PKEY_verify
 *     with a prepared context) for comparison.
 * With --ctlkit it also spawns `ctlkit tlv verify FILE` N times and prints
 * the median and 90th percentile wall time of one process. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "ctlkit/fileio.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

extern char **environ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const ck_err *err)
{
    fprintf(stderr, "tlv-bench: %s: %s\n", what, err ? err->msg : "failed");
    exit(2);
}

/* Runs fn until `seconds` have passed; returns operations per second. */
typedef void (*op_fn)(void *);
static double rate(op_fn fn, void *arg, double seconds)
{
    for (int i = 0; i < 200; i++) /* warm caches and OpenSSL's fetch cache */
        fn(arg);
    double t0 = now(), t;
    unsigned long n = 0;
    do {
        for (int i = 0; i < 64; i++)
            fn(arg);
        n += 64;
        t = now();
    } while (t - t0 < seconds);
    return (double)n / (t - t0);
}

typedef struct ctx {
    uint8_t *file;
    size_t len;
    ck_tl_file *parsed;
    EVP_PKEY *key;
    EVP_PKEY_CTX *raw;
    uint8_t digest[32], sig[256];
    size_t sig_len;
} ctx;

static void op_parse_verify(void *arg)
{
    ctx *c = arg;
    ck_tl_file *f = NULL;
    ck_err err;
    if (ck_tl_parse(c->file, c->len, &f, &err) < 0 || ck_tl_verify(f, &err) < 0)
        die("parse+verify", &err);
    ck_tl_free(f);
}

/* The same without ck_tl_verify's signer-certificate cache: every call
 * decodes the certificate (what a first verification of a signer costs). */
static void op_parse_verify_uncached(void *arg)
{
    ctx *c = arg;
    ck_tl_file *f = NULL;
    ck_err err;
    X509 *x = NULL;
    if (ck_tl_parse(c->file, c->len, &f, &err) < 0 || !(x = ck_tl_signer_cert(f, &err)) ||
        ck_tl_verify_with(f, x, &err) < 0)
        die("parse+verify uncached", &err);
    X509_free(x);
    ck_tl_free(f);
}

static void op_parse(void *arg)
{
    ctx *c = arg;
    ck_tl_file *f = NULL;
    ck_err err;
    if (ck_tl_parse(c->file, c->len, &f, &err) < 0)
        die("parse", &err);
    ck_tl_free(f);
}

static void op_cert_decode(void *arg)
{
    ctx *c = arg;
    ck_err err;
    X509 *x = ck_tl_signer_cert(c->parsed, &err);
    if (!x)
        die("decode", &err);
    X509_free(x);
}

static void op_verify_with(void *arg)
{
    ctx *c = arg;
    static X509 *signer;
    ck_err err;
    if (!signer)
        signer = ck_tl_signer_cert(c->parsed, &err);
    if (ck_tl_verify_with(c->parsed, signer, &err) < 0)
        die("verify_with", &err);
}

static void op_raw_rsa(void *arg)
{
    ctx *c = arg;
    if (EVP_PKEY_verify(c->raw, c->sig, c->sig_len, c->digest, sizeof c->digest) != 1)
        die("EVP_PKEY_verify", NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void time_cli(const char *ctlkit, const char *file, int runs)
{
    double *ms = calloc((size_t)runs, sizeof *ms);
    char *argv[] = {(char *)ctlkit, "tlv", "verify", (char *)file, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    for (int i = -10; i < runs; i++) { /* 10 warm-up runs (page cache, ld.so) */
        double t0 = now();
        pid_t pid;
        int st;
        if (posix_spawn(&pid, ctlkit, &fa, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) < 0 ||
            !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "tlv-bench: %s tlv verify %s failed\n", ctlkit, file);
            exit(2);
        }
        if (i >= 0)
            ms[i] = (now() - t0) * 1e3;
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    printf("ctlkit tlv verify, one process:  median %.2f ms, p90 %.2f ms, min %.2f ms (%d runs)\n",
           ms[runs / 2], ms[runs * 9 / 10], ms[0], runs);
    posix_spawn_file_actions_destroy(&fa);
    free(ms);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    const char *out = NULL, *ctlkit = NULL;
    int runs = 200;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--ctlkit") == 0 && i + 1 < argc)
            ctlkit = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: tlv-bench [--seconds S] [--out FILE] [--ctlkit PATH [--runs N]]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;

    ck_err err = {0};
    X509 *pub = NULL, *capf = NULL;
    EVP_PKEY *pub_key = NULL, *capf_key = NULL;
    ck_cert_params pp = {.cn = "cucm-bench-pub", .ou = "TAC", .o = "Cisco", .l = "Krakow", .st = "Malopolska",
                         .c = "PL", .rsa_bits = 2048};
    ck_cert_params cp = pp;
    cp.cn = "CAPF-bench";
    if (ck_cert_generate(&pp, &pub, &pub_key, &err) < 0 || ck_cert_generate(&cp, &capf, &capf_key, &err) < 0)
        die("certificates", &err);
    ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = pub},
                       {.role = CK_ROLE_CCM_TFTP, .cert = pub},
                       {.role = CK_ROLE_CAPF, .cert = capf, .dns_name = "cucm-bench-pub"}};
    ck_tl_signer s;
    ck_tl_signer_key(&s, pub, pub_key);
    ck_tl_build_opts o = {.filename = "CTLFile.tlv", .digest_alg = CK_DIGEST_SHA256};
    ctx c = {0};
    if (ck_tl_build(e, 3, &s, &o, &c.file, &c.len, &err) < 0)
        die("build", &err);
    if (out && ck_write_file_atomic(out, c.file, c.len, 0644, &err) < 0)
        die(out, &err);
    if (ck_tl_parse(c.file, c.len, &c.parsed, &err) < 0)
        die("parse", &err);

    /* Raw RSA: a SHA-256 digest signed once, verified in a loop with a
     * context prepared once (what `openssl speed` measures, in process). */
    EVP_Digest("bench", 5, c.digest, NULL, EVP_sha256(), NULL);
    EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(pub_key, NULL);
    c.sig_len = sizeof c.sig;
    if (!sctx || EVP_PKEY_sign_init(sctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(sctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(sctx, EVP_sha256()) != 1 ||
        EVP_PKEY_sign(sctx, c.sig, &c.sig_len, c.digest, sizeof c.digest) != 1)
        die("raw sign", NULL);
    EVP_PKEY_CTX_free(sctx);
    c.raw = EVP_PKEY_CTX_new(X509_get0_pubkey(pub), NULL);
    if (!c.raw || EVP_PKEY_verify_init(c.raw) != 1 || EVP_PKEY_CTX_set_rsa_padding(c.raw, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(c.raw, EVP_sha256()) != 1)
        die("raw verify init", NULL);

    printf("CTL: %zu bytes, 3 records (SAST + CCM+TFTP + CAPF), RSA-2048 signer, SHA-256; %s\n", c.len,
           OpenSSL_version(OPENSSL_VERSION));
    double pv = rate(op_parse_verify, &c, seconds);
    double pvu = rate(op_parse_verify_uncached, &c, seconds);
    double raw = rate(op_raw_rsa, &c, seconds);
    double p = rate(op_parse, &c, seconds / 3);
    double d = rate(op_cert_decode, &c, seconds / 3);
    double v = rate(op_verify_with, &c, seconds / 3);
    printf("parse+verify (ck_tl_parse + ck_tl_verify): %10.0f /s  (%.1f us each)\n", pv, 1e6 / pv);
    printf("  the same, certificate decoded every time: %8.0f /s  (%.1f us each)\n", pvu, 1e6 / pvu);
    printf("OpenSSL raw RSA-2048 verify (EVP_PKEY_verify): %8.0f /s  (%.1f us each)\n", raw, 1e6 / raw);
    printf("ratio parse+verify / raw verify:           %10.2f (uncached %.2f)\n", pv / raw, pvu / raw);
    printf("  parts: parse only %.0f /s (%.1f us), signer certificate decode %.0f /s (%.1f us),\n", p, 1e6 / p, d,
           1e6 / d);
    printf("         signature check with decoded certificate %.0f /s (%.1f us)\n", v, 1e6 / v);
    if (ctlkit && out)
        time_cli(ctlkit, out, runs);

    EVP_PKEY_CTX_free(c.raw);
    ck_tl_free(c.parsed);
    free(c.file);
    X509_free(pub);
    X509_free(capf);
    EVP_PKEY_free(pub_key);
    EVP_PKEY_free(capf_key);
    return 0;
}
