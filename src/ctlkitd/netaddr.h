/* "ADDR:PORT" text <-> socket addresses, for command-line options and logs. */
#ifndef CTLKITD_NETADDR_H
#define CTLKITD_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctlkit/error.h"

typedef struct netaddr {
    struct sockaddr_storage ss;
    socklen_t len;
} netaddr;

/* Accepts "1.2.3.4:69", "1.2.3.4" (default_port), "[::1]:69", "[::1]".
 * Numeric addresses only: a daemon must not wait on DNS to start. */
int netaddr_parse(const char *text, uint16_t default_port, netaddr *out, ck_err *err);
/* The same for an address to listen on where port 0 lets the kernel pick
 * one (the TVS: tests and load tools ask for any free port). */
int netaddr_parse_listen(const char *text, uint16_t default_port, netaddr *out, ck_err *err);
/* The port of an IPv4 or IPv6 address (0 for another family). */
uint16_t netaddr_port(const struct sockaddr *sa);
/* Same family, address and port. */
bool netaddr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address (ports ignored). */
bool netaddr_same_host(const struct sockaddr *a, const struct sockaddr *b);
/* "1.2.3.4:69" or "[::1]:69"; buf of NETADDR_STRLEN bytes is enough. */
#define NETADDR_STRLEN 64
const char *netaddr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif
