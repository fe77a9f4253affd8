#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool is_loopback_v4(const ph_addr *a)
{
    return a->ss.ss_family == AF_INET && ck_netaddr_is_loopback((const struct sockaddr *)&a->ss);
}

bool ph_source_default_applies(const ph_addr *tftp, size_t n_tftp, const ph_addr *tvs, size_t n_tvs)
{
    for (size_t i = 0; i < n_tftp; i++)
        if (!is_loopback_v4(&tftp[i]))
            return false;
    for (size_t i = 0; i < n_tvs; i++)
        if (!is_loopback_v4(&tvs[i]))
            return false;
    return n_tftp > 0;
}

static bool can_reach(const ck_netaddr *source, const ph_addr *dest)
{
    const struct sockaddr *s = (const struct sockaddr *)&source->ss, *d = (const struct sockaddr *)&dest->ss;
    return s->sa_family == d->sa_family && (!ck_netaddr_is_loopback(s) || ck_netaddr_is_loopback(d));
}

int ph_source_socket(const ck_netaddr *source, const ph_addr *dest, int type, ck_err *err)
{
    int fd = socket(dest->ss.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_fail(err, CK_EIO, "socket: %s", strerror(errno));
    if (source && can_reach(source, dest) && bind(fd, (const struct sockaddr *)&source->ss, source->len) < 0) {
        int e = errno;
        char text[CK_NETADDR_STRLEN];
        ck_netaddr_format((const struct sockaddr *)&source->ss, text, sizeof text);
        close(fd);
        /* "a.b.c.d:0": the port is the kernel's to pick, show the address */
        char *port = strrchr(text, ':');
        if (port)
            *port = '\0';
        return ck_fail(err, CK_EIO, "cannot speak from %s: %s", text, strerror(e));
    }
    return fd;
}
