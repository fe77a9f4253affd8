/* tvsidle: holds N idle TLS connections to a TVS for SECONDS, as phones
 * that connected and went quiet would (tvsstorm cannot: each of its
 * requests is one short connection).
 *
 *   tvsidle HOST PORT N SECONDS
 *
 * Each connection completes its TLS handshake and then sends nothing. When
 * the server closes one (its idle timeout), it is opened again, so N stay
 * held the whole time. Prints `held=N reconnects=R failed=F` at the end;
 * exits non-zero if a connection could not be (re)opened. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct held {
    int fd;
    SSL *ssl;
} held;

static SSL_CTX *ctx;
static struct sockaddr_in addr;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void drop(held *h)
{
    if (h->ssl)
        SSL_free(h->ssl);
    if (h->fd >= 0)
        close(h->fd);
    h->ssl = NULL;
    h->fd = -1;
}

/* A blocking connect and handshake (5 s at most), then left idle. */
static int open_one(held *h)
{
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (h->fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(h->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(h->fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        goto fail;
    h->ssl = SSL_new(ctx);
    if (!h->ssl || SSL_set_fd(h->ssl, h->fd) != 1 || SSL_connect(h->ssl) != 1)
        goto fail;
    return 0;
fail:
    drop(h);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: tvsidle HOST PORT N SECONDS\n");
        return 2;
    }
    int n = atoi(argv[3]);
    double secs = atof(argv[4]);
    if (n < 1 || n > 10000 || secs <= 0) {
        fprintf(stderr, "tvsidle: N must be 1-10000 and SECONDS positive\n");
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "tvsidle: bad address %s\n", argv[1]);
        return 2;
    }
    ctx = SSL_CTX_new(TLS_client_method());
    held *h = calloc((size_t)n, sizeof *h);
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    if (!ctx || !h || !p)
        return 1;
    long reconnects = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        h[i].fd = -1;
        if (open_one(&h[i]) < 0)
            failed++;
    }
    printf("tvsidle: %ld of %d connections open\n", (long)n - failed, n);
    fflush(stdout);
    double end = now() + secs;
    while (now() < end) {
        for (int i = 0; i < n; i++) {
            p[i].fd = h[i].fd;
            p[i].events = POLLIN;
            p[i].revents = 0;
        }
        int wait_ms = (int)((end - now()) * 1000);
        if (poll(p, (nfds_t)n, wait_ms > 200 ? 200 : (wait_ms > 0 ? wait_ms : 0)) < 0)
            break;
        for (int i = 0; i < n && now() < end; i++) {
            /* Readable means the server closed (we never asked for anything). */
            if (h[i].fd < 0 || (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                drop(&h[i]);
                if (open_one(&h[i]) < 0)
                    failed++;
                else
                    reconnects++;
            }
        }
    }
    int open_now = 0;
    for (int i = 0; i < n; i++) {
        open_now += h[i].fd >= 0;
        drop(&h[i]);
    }
    printf("held=%d reconnects=%ld failed=%ld\n", open_now, reconnects, failed);
    free(h);
    free(p);
    SSL_CTX_free(ctx);
    return failed ? 1 : 0;
}
