#include "ctlkit/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ctlkit/bytes.h"

static int parse(const char *text, uint16_t default_port, int min_port, ck_netaddr *out, ck_err *err)
{
    char host[64];
    const char *port = NULL;
    long long p = default_port;

    memset(out, 0, sizeof *out);
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || (size_t)(end - text - 1) >= sizeof host)
            return ck_fail(err, CK_EINVAL, "address '%s': no closing ']' after an IPv6 address", text);
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return ck_fail(err, CK_EINVAL, "address '%s': expected ':PORT' after ']'", text);
    } else {
        const char *colon = strrchr(text, ':');
        size_t n = colon ? (size_t)(colon - text) : strlen(text);
        if (n >= sizeof host)
            return ck_fail(err, CK_EINVAL, "address '%s' is too long", text);
        memcpy(host, text, n);
        host[n] = '\0';
        if (colon)
            port = colon + 1;
    }
    if (port && !ck_parse_ll(port, min_port, 65535, &p))
        return ck_fail(err, CK_EINVAL, "address '%s': port must be a number from %d to 65535", text, min_port);

    struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        out->len = sizeof *in4;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        out->len = sizeof *in6;
    } else {
        return ck_fail(err, CK_EINVAL, "address '%s': '%s' is not a numeric IPv4 or [IPv6] address", text,
                       host);
    }
    return 0;
}

int ck_netaddr_parse(const char *text, uint16_t default_port, ck_netaddr *out, ck_err *err)
{
    return parse(text, default_port, 1, out, err);
}

int ck_netaddr_parse_listen(const char *text, uint16_t default_port, ck_netaddr *out, ck_err *err)
{
    return parse(text, default_port, 0, out, err);
}

uint16_t ck_netaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

const char *ck_netaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
        snprintf(buf, len, "%s:%u", host, ntohs(in4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "(family %d)", sa->sa_family);
    }
    return buf;
}

bool ck_netaddr_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                      16) == 0 &&
               ((const struct sockaddr_in6 *)a)->sin6_scope_id == ((const struct sockaddr_in6 *)b)->sin6_scope_id;
    return false;
}

bool ck_netaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    if (!ck_netaddr_same_host(a, b))
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_port == ((const struct sockaddr_in *)b)->sin_port;
    return ((const struct sockaddr_in6 *)a)->sin6_port == ((const struct sockaddr_in6 *)b)->sin6_port;
}

bool ck_netaddr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

int ck_netrange_parse(const char *text, ck_netrange *out, ck_err *err)
{
    char host[64];
    const char *slash = strchr(text, '/');
    long long prefix;
    memset(out, 0, sizeof *out);
    if (!slash || (size_t)(slash - text) >= sizeof host)
        return ck_fail(err, CK_EINVAL, "range '%s': expected A.B.C.D/N", text);
    memcpy(host, text, (size_t)(slash - text));
    host[slash - text] = '\0';
    if (!ck_parse_ll(slash + 1, 0, 32, &prefix))
        return ck_fail(err, CK_EINVAL, "range '%s': the prefix length must be a number from 0 to 32", text);
    ck_netaddr a;
    if (strchr(host, ':') || ck_netaddr_parse(host, 0, &a, err) < 0 || a.ss.ss_family != AF_INET)
        return ck_fail(err, CK_EINVAL, "range '%s': '%s' is not a numeric IPv4 address", text, host);
    uint32_t mask = prefix == 0 ? 0 : ~UINT32_C(0) << (32 - prefix);
    out->first = ntohl(((const struct sockaddr_in *)&a.ss)->sin_addr.s_addr) & mask;
    out->prefix = (unsigned)prefix;
    return 0;
}

/* Within a range smaller than 256 addresses: the offsets [lo, hi) whose
 * last number is neither 0 nor 255. */
static void small_span(const ck_netrange *r, uint32_t *lo, uint32_t *hi)
{
    uint32_t size = UINT32_C(1) << (32 - r->prefix);
    *lo = (r->first & 0xff) == 0 ? 1 : 0;
    *hi = ((r->first + size - 1) & 0xff) == 0xff ? size - 1 : size;
    if (*hi < *lo) /* a /32 of an address ending in 0 or 255 */
        *hi = *lo;
}

uint64_t ck_netrange_count(const ck_netrange *r)
{
    if (r->prefix <= 24)
        return (UINT64_C(1) << (24 - r->prefix)) * 254;
    uint32_t lo, hi;
    small_span(r, &lo, &hi);
    return hi - lo;
}

int ck_netrange_at(const ck_netrange *r, uint64_t i, ck_netaddr *out)
{
    if (i >= ck_netrange_count(r))
        return -1;
    uint32_t host;
    if (r->prefix <= 24) {
        host = r->first + (uint32_t)(i / 254) * 256 + 1 + (uint32_t)(i % 254);
    } else {
        uint32_t lo, hi;
        small_span(r, &lo, &hi);
        host = r->first + lo + (uint32_t)i;
    }
    memset(out, 0, sizeof *out);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
    in4->sin_family = AF_INET;
    in4->sin_addr.s_addr = htonl(host);
    out->len = sizeof *in4;
    return 0;
}
