/* "ADDR:PORT" text <-> socket addresses, for command-line options and logs:
 * the one address parser of ctlkitd and ctlkit-phone. */
#ifndef CTLKIT_NETADDR_H
#define CTLKIT_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctlkit/error.h"

typedef struct ck_netaddr {
    struct sockaddr_storage ss;
    socklen_t len;
} ck_netaddr;

/* Accepts "1.2.3.4:69", "1.2.3.4" (default_port), "[::1]:69", "[::1]".
 * Numeric addresses only: a daemon must not wait on DNS to start. */
int ck_netaddr_parse(const char *text, uint16_t default_port, ck_netaddr *out, ck_err *err);
/* The same for an address to listen on where port 0 lets the kernel pick
 * one (the TVS: tests and load tools ask for any free port). */
int ck_netaddr_parse_listen(const char *text, uint16_t default_port, ck_netaddr *out, ck_err *err);
/* The port of an IPv4 or IPv6 address (0 for another family). */
uint16_t ck_netaddr_port(const struct sockaddr *sa);
/* Same family, address and port. */
bool ck_netaddr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address (ports ignored). */
bool ck_netaddr_same_host(const struct sockaddr *a, const struct sockaddr *b);
/* "1.2.3.4:69" or "[::1]:69"; buf of CK_NETADDR_STRLEN bytes is enough. */
#define CK_NETADDR_STRLEN 64
const char *ck_netaddr_format(const struct sockaddr *sa, char *buf, size_t len);
/* 127.0.0.0/8 or ::1 (IPv4-mapped 127.x included): an address only this
 * host reaches, and from which only this host can be reached. */
bool ck_netaddr_is_loopback(const struct sockaddr *sa);

/* An IPv4 range "A.B.C.D/N" whose addresses are handed out one by one (a
 * simulated fleet gives phone i the i-th): in order, every address of the
 * range whose last number is neither 0 nor 255, so that none looks like a
 * network or broadcast address. */
typedef struct ck_netrange {
    uint32_t first;  /* host order, the host bits cleared */
    unsigned prefix; /* 0..32 */
} ck_netrange;

int ck_netrange_parse(const char *text, ck_netrange *out, ck_err *err);
/* How many addresses the range hands out. */
uint64_t ck_netrange_count(const ck_netrange *r);
/* The i-th of them (port 0) into out; -1 when i is past the last. */
int ck_netrange_at(const ck_netrange *r, uint64_t i, ck_netaddr *out);

#endif
