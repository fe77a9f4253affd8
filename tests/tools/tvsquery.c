/* tvsquery: a small TVS client for the end-to-end tests.
 *
 *   tvsquery [options] HOST PORT
 *     -c CERT      verify this certificate (PEM or DER; repeatable: one
 *                  request each, in order, on one connection)
 *     -d DEVICE    device name (default CP-7975-SEP001122334455)
 *     -r N         send the list of requests N times (same connection)
 *     -p           pipeline: send every request before reading any answer
 *     -Q           send a QUERY (device name only) instead of VERIFY
 *     -x FILE      after the handshake send FILE's raw bytes, then print
 *                  what comes back until the server closes (or -a N answers)
 *     -a N         with -x: send FILE's frames one at a time, each after the
 *                  previous answer, and stop after N answers
 *     -P N         send only the first N bytes of the first request, then
 *                  wait for the server to close
 *     -w           send nothing (or, after the requests, nothing more); wait
 *                  for the server to close
 *     -s MS        send the first request one byte every MS milliseconds
 *                  (a slow client), then read the answer or the close
 *     -C CAFILE    check the server's certificate against CAFILE
 *     -V VERSION   highest TLS version: 1.0, 1.2 or 1.3
 *     -t SECONDS   give up waiting after this long (default 30)
 *
 * Prints one line per answer ("response session=N status=valid
 * roles=0,2 ttl=86400" or "status=invalid") and, when the server closes
 * first, "closed by server after S.S s". Exit status: 0 when every request
 * got a well-formed answer (or, with -x/-P/-w, when the server closed),
 * 1 otherwise, 2 on usage errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/error.h"
#include "ctlkit/tvs.h"
#include "ctlkit/x509.h"

#define MAX_CERTS 16

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: tvsquery [-c CERT]... [-d DEVICE] [-r N] [-p] [-Q] [-x FILE [-a N]] [-P N] [-w] [-s MS] [-C CAFILE]\n"
                    "                [-V 1.0|1.2|1.3] [-t SECONDS] HOST PORT\n");
    return 2;
}

static int connect_tcp(const char *host, const char *port, int timeout)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0) {
        struct timeval tv = {timeout, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* Reads exactly n bytes; 0 ok, 1 closed cleanly before any byte, -1 error. */
static int read_exact(SSL *s, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(s, p + got, (int)(n - got));
        if (r <= 0) {
            int e = SSL_get_error(s, r);
            if (got == 0 && (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL))
                return 1;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Reads one response; prints it. 0 ok, 1 server closed, -1 bad. */
static int read_response(SSL *s)
{
    uint8_t frame[CK_TVS_HEADER_LEN + CK_TVS_MAX_BODY];
    int r = read_exact(s, frame, CK_TVS_HEADER_LEN);
    if (r != 0)
        return r;
    size_t body = (size_t)frame[8] << 8 | frame[9];
    if (read_exact(s, frame + CK_TVS_HEADER_LEN, body) != 0) {
        printf("error: response truncated\n");
        return -1;
    }
    ck_tvs_response resp;
    ck_err err;
    if (ck_tvs_parse_response(frame, CK_TVS_HEADER_LEN + body, &resp, &err) < 0) {
        printf("error: bad response: %s\n", err.msg);
        return -1;
    }
    printf("response session=%u command=%u status=%s", resp.hdr.session, resp.hdr.command,
           resp.status == CK_TVS_STATUS_VALID ? "valid" : "invalid");
    if (resp.roles) {
        printf(" roles=");
        for (size_t i = 0; i < resp.n_roles; i++)
            printf("%s%u", i ? "," : "", resp.roles[i]);
    }
    if (resp.has_ttl)
        printf(" ttl=%u", resp.ttl);
    printf("\n");
    return 0;
}

static int wait_close(SSL *s, double t0)
{
    uint8_t buf[4096];
    size_t total = 0;
    for (;;) {
        int r = SSL_read(s, buf, sizeof buf);
        if (r > 0) {
            total += (size_t)r;
            continue;
        }
        int e = SSL_get_error(s, r);
        if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            printf("error: server did not close within the timeout\n");
            return 1;
        }
        printf("closed by server after %.1f s (%zu bytes received)\n", now() - t0, total);
        return 0;
    }
}

static uint8_t *load_der(const char *path, size_t *len)
{
    X509 *x = NULL;
    ck_err err;
    uint8_t *der = NULL;
    if (ck_load_pem(path, &x, NULL, false, &err) < 0 || ck_cert_to_der(x, &der, len, &err) < 0) {
        fprintf(stderr, "tvsquery: %s\n", err.msg);
        der = NULL;
    }
    X509_free(x);
    return der;
}

int main(int argc, char **argv)
{
    const char *certs[MAX_CERTS], *device = "CP-7975-SEP001122334455", *raw = NULL, *cafile = NULL, *ver = NULL;
    int n_certs = 0, repeat = 1, pipeline = 0, query = 0, partial = -1, silent = 0, timeout = 30, slow_ms = 0, answers = -1, opt;
    while ((opt = getopt(argc, argv, "c:d:r:pQx:P:ws:a:C:V:t:")) != -1) {
        switch (opt) {
        case 'c':
            if (n_certs == MAX_CERTS)
                return usage();
            certs[n_certs++] = optarg;
            break;
        case 'd': device = optarg; break;
        case 'r': repeat = atoi(optarg); break;
        case 'p': pipeline = 1; break;
        case 'Q': query = 1; break;
        case 'x': raw = optarg; break;
        case 'P': partial = atoi(optarg); break;
        case 'w': silent = 1; break;
        case 's': slow_ms = atoi(optarg); break;
        case 'a': answers = atoi(optarg); break;
        case 'C': cafile = optarg; break;
        case 'V': ver = optarg; break;
        case 't': timeout = atoi(optarg); break;
        default: return usage();
        }
    }
    if (argc - optind != 2 || repeat < 1 || timeout < 1)
        return usage();
    signal(SIGPIPE, SIG_IGN); /* a server that closes on us is what some tests expect */

    /* Build the requests first, so a bad argument fails before connecting. */
    ck_buf reqs;
    ck_buf_init(&reqs, 0);
    ck_err err;
    uint32_t session = 1000;
    size_t first_len = 0;
    for (int r = 0; r < repeat; r++) {
        int n = query ? 1 : n_certs;
        for (int i = 0; i < n; i++) {
            size_t before = reqs.len, dl = 0;
            uint8_t *der = query ? NULL : load_der(certs[i], &dl);
            if (!query && !der)
                return 1;
            int rc = ck_tvs_build_request(query ? CK_TVS_QUERY_REQ : CK_TVS_VERIFY_REQ, session++, device, der, dl,
                                          &reqs, &err);
            free(der);
            if (rc < 0) {
                fprintf(stderr, "tvsquery: %s\n", err.msg);
                return 1;
            }
            if (!first_len)
                first_len = reqs.len - before;
        }
    }
    int n_requests = query ? repeat : n_certs * repeat;

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return 1;
    if (ver) {
        int v = strcmp(ver, "1.0") == 0 ? TLS1_VERSION : strcmp(ver, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
        if (v == TLS1_VERSION)
            SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_min_proto_version(ctx, v == TLS1_3_VERSION ? TLS1_3_VERSION : TLS1_VERSION);
        SSL_CTX_set_max_proto_version(ctx, v);
        if (v == TLS1_VERSION)
            SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    if (cafile) {
        if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
            fprintf(stderr, "tvsquery: cannot load %s\n", cafile);
            return 1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    int fd = connect_tcp(argv[optind], argv[optind + 1], timeout);
    if (fd < 0) {
        fprintf(stderr, "tvsquery: cannot connect to %s:%s: %s\n", argv[optind], argv[optind + 1], strerror(errno));
        return 1;
    }
    SSL *s = SSL_new(ctx);
    SSL_set_fd(s, fd);
    double t0 = now();
    int status = 1;
    if (SSL_connect(s) != 1) {
        unsigned long e = ERR_get_error();
        printf("error: TLS handshake failed: %s\n", e ? ERR_reason_error_string(e) : "connection closed");
        goto out;
    }
    printf("tls %s %s\n", SSL_get_version(s), SSL_get_cipher_name(s));
    fflush(stdout);

    if (silent && (query ? 0 : n_certs) == 0) {
        status = wait_close(s, t0);
        goto out;
    }
    if (partial >= 0) {
        size_t n = (size_t)partial < first_len ? (size_t)partial : first_len;
        if (n && SSL_write(s, reqs.data, (int)n) != (int)n)
            goto out;
        status = wait_close(s, t0);
        goto out;
    }
    if (slow_ms > 0) {
        struct timespec gap = {slow_ms / 1000, (long)(slow_ms % 1000) * 1000000L};
        for (size_t i = 0; i < first_len; i++) {
            if (SSL_write(s, reqs.data + i, 1) != 1) {
                printf("closed by server after %.1f s, %zu of %zu bytes sent\n", now() - t0, i, first_len);
                status = 0;
                goto out;
            }
            nanosleep(&gap, NULL);
        }
        status = read_response(s) == 0 ? 0 : 1;
        goto out;
    }
    if (raw) {
        FILE *f = fopen(raw, "rb");
        uint8_t buf[70000];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        int r = 0, got = 0;
        if (answers > 0) {
            /* Frame by frame, each answer read before the next is sent. */
            size_t off = 0;
            while (off + CK_TVS_HEADER_LEN <= n && got < answers) {
                size_t len = CK_TVS_HEADER_LEN + ((size_t)buf[off + 8] << 8 | buf[off + 9]);
                if (off + len > n)
                    len = n - off;
                if (SSL_write(s, buf + off, (int)len) != (int)len || (r = read_response(s)) != 0)
                    break;
                off += len;
                got++;
            }
        } else {
            if (n && SSL_write(s, buf, (int)n) != (int)n)
                goto out;
            while ((r = read_response(s)) == 0)
                got++;
        }
        if (answers >= 0 && got == answers) {
            status = 0;
            goto out;
        }
        if (r == 1) {
            printf("closed by server after %.1f s\n", now() - t0);
            status = 0;
        }
        goto out;
    }

    size_t off = 0;
    int answered = 0;
    for (int i = 0; i < n_requests; i++) {
        /* Each request's length is in its own header. */
        size_t len = CK_TVS_HEADER_LEN + ((size_t)reqs.data[off + 8] << 8 | reqs.data[off + 9]);
        if (SSL_write(s, reqs.data + off, (int)len) != (int)len) {
            printf("error: write failed\n");
            goto out;
        }
        off += len;
        if (!pipeline) {
            if (read_response(s) != 0)
                goto closed;
            answered++;
        }
    }
    for (; answered < n_requests; answered++)
        if (read_response(s) != 0)
            goto closed;
    if (silent) { /* -w after requests: stay idle until the server closes */
        status = wait_close(s, t0);
        goto out;
    }
    status = 0;
    SSL_shutdown(s);
    goto out;
closed:
    printf("closed by server after %.1f s, %d of %d answered\n", now() - t0, answered, n_requests);
out:
    fflush(stdout);
    SSL_free(s);
    close(fd);
    SSL_CTX_free(ctx);
    ck_buf_free(&reqs);
    return status;
}
