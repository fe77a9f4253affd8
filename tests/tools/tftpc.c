/* tftpc: a small TFTP client for the end-to-end tests (tests/scenarios/tftp_*).
 *
 *   tftpc get HOST PORT FILE OUT [-m MODE] [-o NAME=VALUE]... [-d ACK_DELAY_MS] [-t SECS] [-x BLOCK] [-s]
 *             [-P LOCALPORT] [-B LOCALADDR]
 *       Reads FILE into OUT (netascii is decoded). Prints "OACK name=value ..."
 *       when the server sends one, then "OK bytes=N blocks=M", or
 *       "ERROR CODE MESSAGE" (exit 3), or "TIMEOUT" (exit 4). -d waits before
 *       each ACK (a slow phone); -t bounds the whole transfer (default 20 s);
 *       -x drops the first copy of DATA block BLOCK (a lost packet); -s
 *       prints "STARTED tid=PORT" (the server's port) at the first DATA
 *       block; -P sends from LOCALPORT instead of a fresh port; -B sends
 *       from LOCALADDR (a loopback address) instead of 127.0.0.1.
 *   tftpc raw HOST PORT HEX [-t SECS]
 *       Sends the bytes HEX (e.g. 0001612e62696e006f6374657400) and prints the
 *       first reply: "ERROR CODE MESSAGE", "DATA BLOCK LEN", "OACK ...",
 *       or "NOREPLY" after SECS (default 1).
 *   tftpc hold HOST PORT FILE N SECS [-B LOCALADDR] [-o NAME=VALUE]... [-k]
 *       Starts N transfers of FILE, each from its own socket, never ACKs,
 *       and after SECS prints "DATA n ERROR n LATE n" (how many of them were
 *       answered first with DATA or OACK, how many with ERROR, and how many
 *       started ones got an ERROR later) and closes them. -k: every 0.2 s
 *       each started transfer sends the server an ACK that moves nothing
 *       (block 65535: neither the OACK's ACK 0 nor a block sent), to hold
 *       its slot by chatter alone.
 *
 * Only for tests: it trusts its arguments and exits on the first problem. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/tftp.h"

static struct sockaddr_in server;
static struct in_addr local_addr = {.s_addr = 0}; /* -B; 127.0.0.1 when unset */

static void set_local(const char *addr)
{
    if (inet_pton(AF_INET, addr, &local_addr) != 1) {
        fprintf(stderr, "tftpc: -B must be an IPv4 address\n");
        exit(2);
    }
}

static void die(const char *what)
{
    fprintf(stderr, "tftpc: %s\n", what);
    exit(2);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int open_socket_at(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(port)};
    any.sin_addr.s_addr = local_addr.s_addr ? local_addr.s_addr : htonl(INADDR_LOOPBACK);
    if (port)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof any) != 0)
        die("socket");
    return fd;
}

static int open_socket(void) { return open_socket_at(0); }

static void set_server(const char *host, const char *port)
{
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1)
        die("HOST must be an IPv4 address");
}

/* Waits up to secs for a datagram; returns its length or -1. */
static ssize_t recv_wait(int fd, uint8_t *buf, size_t cap, double secs, struct sockaddr_in *from)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int ms = (int)(secs * 1000);
    if (poll(&p, 1, ms < 0 ? 0 : ms) <= 0)
        return -1;
    socklen_t fl = sizeof *from;
    return recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &fl);
}

static void print_reply(const uint8_t *buf, size_t n)
{
    ck_tftp_packet pk;
    ck_err err;
    if (ck_tftp_parse(buf, n, &pk, &err) < 0) {
        printf("BAD %s\n", err.msg);
        return;
    }
    switch (pk.opcode) {
    case CK_TFTP_ERROR:
        printf("ERROR %u %s\n", pk.u.error.code, pk.u.error.msg);
        break;
    case CK_TFTP_DATA:
        printf("DATA %u %zu\n", pk.u.data.block, pk.u.data.len);
        break;
    case CK_TFTP_OACK: {
        const ck_tftp_opts *o = &pk.u.oack;
        printf("OACK");
        if (o->present & CK_TFTP_OPT_BLKSIZE)
            printf(" blksize=%u", o->blksize);
        if (o->present & CK_TFTP_OPT_TSIZE)
            printf(" tsize=%llu", (unsigned long long)o->tsize);
        if (o->present & CK_TFTP_OPT_TIMEOUT)
            printf(" timeout=%u", o->timeout);
        if (o->present & CK_TFTP_OPT_WINDOWSIZE)
            printf(" windowsize=%u", o->windowsize);
        printf("\n");
        break;
    }
    default:
        printf("%s\n", ck_tftp_opcode_name(pk.opcode));
    }
}

/* A request with options given as raw name=value pairs (so that a test can
 * send values the codec's builder would refuse). */
static size_t build_rrq(uint8_t *out, size_t cap, const char *file, const char *mode, char **opts, int nopts)
{
    size_t n = 0;
    out[n++] = 0;
    out[n++] = CK_TFTP_RRQ;
    const char *parts[2 + 2 * 16];
    int np = 0;
    parts[np++] = file;
    parts[np++] = mode;
    char split[16][256];
    for (int i = 0; i < nopts && i < 16; i++) {
        snprintf(split[i], sizeof split[i], "%s", opts[i]);
        char *eq = strchr(split[i], '=');
        if (!eq)
            die("-o takes NAME=VALUE");
        *eq = '\0';
        parts[np++] = split[i];
        parts[np++] = eq + 1;
    }
    for (int i = 0; i < np; i++) {
        size_t l = strlen(parts[i]) + 1;
        if (n + l > cap)
            die("request too long");
        memcpy(out + n, parts[i], l);
        n += l;
    }
    return n;
}

static void send_ack(int fd, const struct sockaddr_in *to, uint16_t block)
{
    uint8_t ack[4] = {0, CK_TFTP_ACK, (uint8_t)(block >> 8), (uint8_t)block};
    sendto(fd, ack, 4, 0, (const struct sockaddr *)to, sizeof *to);
}

static int cmd_get(int argc, char **argv)
{
    if (argc < 6)
        die("get HOST PORT FILE OUT [-m MODE] [-o NAME=VALUE]... [-d MS] [-t SECS] [-x BLOCK]");
    set_server(argv[2], argv[3]);
    const char *file = argv[4], *outpath = argv[5], *mode = "octet";
    char *opts[16];
    int nopts = 0, delay_ms = 0, drop = -1, say_started = 0, local_port = 0;
    double limit = 20;
    for (int i = 6; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "-o") && i + 1 < argc && nopts < 16)
            opts[nopts++] = argv[++i];
        else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            delay_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            limit = atof(argv[++i]);
        else if (!strcmp(argv[i], "-x") && i + 1 < argc)
            drop = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-s"))
            say_started = 1;
        else if (!strcmp(argv[i], "-P") && i + 1 < argc)
            local_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-B") && i + 1 < argc)
            set_local(argv[++i]);
        else
            die("unknown get option");
    }
    uint32_t blksize = CK_TFTP_SEGSIZE, window = 1;
    uint8_t req[600], buf[70000];
    size_t reqlen = build_rrq(req, sizeof req, file, mode, opts, nopts);
    int fd = open_socket_at((uint16_t)local_port);
    struct sockaddr_in peer, from;
    int have_peer = 0;
    double start = now(), last = now();
    uint16_t expect = 1;
    unsigned long blocks = 0;
    unsigned since_ack = 0;
    ck_buf data;
    ck_buf_init(&data, 0);
    sendto(fd, req, reqlen, 0, (struct sockaddr *)&server, sizeof server);
    for (;;) {
        double left = limit - (now() - start);
        if (left <= 0) {
            printf("TIMEOUT after %lu blocks\n", blocks);
            return 4;
        }
        /* Our own retransmission: 1 s without news resends the request
         * or the last ACK (RFC 1350). */
        ssize_t n = recv_wait(fd, buf, sizeof buf, left < 1 ? left : 1, &from);
        if (n < 0) {
            if (now() - last >= 1) {
                if (!have_peer)
                    sendto(fd, req, reqlen, 0, (struct sockaddr *)&server, sizeof server);
                else
                    send_ack(fd, &peer, (uint16_t)(expect - 1));
                last = now();
            }
            continue;
        }
        if (have_peer && (from.sin_port != peer.sin_port || from.sin_addr.s_addr != peer.sin_addr.s_addr))
            continue; /* RFC 1350: another TID; not ours */
        ck_tftp_packet pk;
        ck_err err;
        if (ck_tftp_parse(buf, (size_t)n, &pk, &err) < 0) {
            printf("BAD %s\n", err.msg);
            return 5;
        }
        if (!have_peer) {
            peer = from;
            have_peer = 1;
        }
        last = now();
        if (pk.opcode == CK_TFTP_ERROR) {
            printf("ERROR %u %s\n", pk.u.error.code, pk.u.error.msg);
            return 3;
        }
        if (pk.opcode == CK_TFTP_OACK) {
            print_reply(buf, (size_t)n);
            if (pk.u.oack.present & CK_TFTP_OPT_BLKSIZE)
                blksize = pk.u.oack.blksize;
            if (pk.u.oack.present & CK_TFTP_OPT_WINDOWSIZE)
                window = pk.u.oack.windowsize;
            send_ack(fd, &peer, 0);
            continue;
        }
        if (pk.opcode != CK_TFTP_DATA) {
            printf("UNEXPECTED %s\n", ck_tftp_opcode_name(pk.opcode));
            return 5;
        }
        if (pk.u.data.block == drop) {
            drop = -1; /* lost, once */
            printf("DROPPED %u\n", pk.u.data.block);
            continue;
        }
        if (pk.u.data.block != expect) {
            /* RFC 7440: on a gap, ACK the last block received in order. */
            if (window > 1)
                send_ack(fd, &peer, (uint16_t)(expect - 1));
            continue;
        }
        ck_buf_bytes(&data, pk.u.data.data, pk.u.data.len);
        if (blocks++ == 0 && say_started)
            printf("STARTED tid=%u\n", ntohs(peer.sin_port));
        since_ack++;
        bool last_block = pk.u.data.len < blksize;
        if (last_block || since_ack >= window) {
            if (delay_ms)
                usleep((useconds_t)delay_ms * 1000);
            send_ack(fd, &peer, expect);
            since_ack = 0;
        }
        expect++;
        if (last_block)
            break;
    }
    if (data.failed)
        die("out of memory");
    ck_buf dec;
    ck_buf_init(&dec, 0);
    const ck_buf *out = &data;
    if (!strcasecmp(mode, "netascii")) {
        ck_err err;
        if (ck_tftp_netascii_decode(data.data, data.len, &dec, &err) < 0) {
            printf("BAD %s\n", err.msg);
            return 5;
        }
        out = &dec;
    }
    FILE *f = fopen(outpath, "wb");
    if (!f || (out->len && fwrite(out->data, 1, out->len, f) != out->len) || fclose(f) != 0)
        die("cannot write OUT");
    printf("OK bytes=%zu blocks=%lu\n", out->len, blocks);
    ck_buf_free(&data);
    ck_buf_free(&dec);
    return 0;
}

static int cmd_raw(int argc, char **argv)
{
    if (argc < 5)
        die("raw HOST PORT HEX [-t SECS]");
    set_server(argv[2], argv[3]);
    double secs = argc > 6 && !strcmp(argv[5], "-t") ? atof(argv[6]) : 1;
    const char *hex = argv[4];
    size_t hl = strlen(hex);
    uint8_t pkt[70000], buf[70000];
    if (hl % 2 || hl / 2 > sizeof pkt)
        die("HEX must have an even number of digits");
    for (size_t i = 0; i < hl / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            die("bad HEX");
        pkt[i] = (uint8_t)v;
    }
    int fd = open_socket();
    struct sockaddr_in from;
    sendto(fd, pkt, hl / 2, 0, (struct sockaddr *)&server, sizeof server);
    ssize_t n = recv_wait(fd, buf, sizeof buf, secs, &from);
    if (n < 0)
        printf("NOREPLY\n");
    else
        print_reply(buf, (size_t)n);
    return 0;
}

static int cmd_hold(int argc, char **argv)
{
    if (argc < 7)
        die("hold HOST PORT FILE N SECS");
    set_server(argv[2], argv[3]);
    int n = atoi(argv[5]);
    double secs = atof(argv[6]);
    int *fds = calloc((size_t)n, sizeof *fds);
    int *seen = calloc((size_t)n, sizeof *seen);
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    struct sockaddr_in *tid = calloc((size_t)n, sizeof *tid);
    if (!fds || !seen || !p || !tid)
        die("out of memory");
    int chatter = 0;
    uint8_t req[600], buf[70000];
    char *opts[16];
    int nopts = 0;
    for (int i = 7; i < argc; i++) {
        if (!strcmp(argv[i], "-B") && i + 1 < argc)
            set_local(argv[++i]);
        else if (!strcmp(argv[i], "-o") && i + 1 < argc && nopts < 16)
            opts[nopts++] = argv[++i];
        else if (!strcmp(argv[i], "-k"))
            chatter = 1;
        else
            die("hold: unknown option");
    }
    size_t reqlen = build_rrq(req, sizeof req, argv[4], "octet", opts, nopts);
    for (int i = 0; i < n; i++) {
        fds[i] = open_socket();
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        sendto(fds[i], req, reqlen, 0, (struct sockaddr *)&server, sizeof server);
    }
    int ndata = 0, nerror = 0, nlate = 0;
    double end = now() + secs, next_chatter = now() + 0.2;
    static const uint8_t still[4] = {0, CK_TFTP_ACK, 0xff, 0xff};
    while (now() < end) {
        if (chatter && now() >= next_chatter) {
            next_chatter = now() + 0.2;
            for (int i = 0; i < n; i++)
                if (seen[i] == 1)
                    sendto(fds[i], still, sizeof still, 0, (struct sockaddr *)&tid[i], sizeof tid[i]);
        }
        if (poll(p, (nfds_t)n, 50) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            socklen_t tl = sizeof tid[i];
            struct sockaddr_in from;
            ssize_t r = recvfrom(fds[i], buf, sizeof buf, 0, (struct sockaddr *)&from, &tl);
            if (r >= 2 && !seen[i]) {
                tid[i] = from; /* the transfer's port (its TID) */
                seen[i] = 1;
                if (buf[1] == CK_TFTP_DATA || buf[1] == CK_TFTP_OACK)
                    ndata++;
                else if (buf[1] == CK_TFTP_ERROR && (seen[i] = 2))
                    nerror++;
                printf("DATA %d ERROR %d LATE %d\n", ndata, nerror, nlate);
                fflush(stdout);
            } else if (r >= 2 && seen[i] == 1 && buf[1] == CK_TFTP_ERROR) {
                /* A started transfer cancelled by the server. */
                seen[i] = 2;
                nlate++;
                printf("DATA %d ERROR %d LATE %d\n", ndata, nerror, nlate);
                fflush(stdout);
            }
        }
    }
    printf("DATA %d ERROR %d LATE %d\n", ndata, nerror, nlate);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    free(seen);
    free(p);
    free(tid);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "get"))
        return cmd_get(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "raw"))
        return cmd_raw(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "hold"))
        return cmd_hold(argc, argv);
    fprintf(stderr, "usage: tftpc get|raw|hold ... (see the comment at the top of tftpc.c)\n");
    return 2;
}
