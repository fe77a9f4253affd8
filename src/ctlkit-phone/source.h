/* The address a simulated phone speaks from (docs/phones.md, "Source
 * addresses"). ctlkitd learns which phone is at which address from its
 * SEP<MAC> / CTLSEP<MAC> requests and counts later CTLFile.tlv and
 * ITLFile.tlv downloads against that phone, as it would for real phones:
 * a fleet whose phones all share one address gets its downloads counted
 * against the wrong phones. So each phone of a fleet binds its TFTP, TVS
 * and CAPF sockets to its own address of a range (Linux delivers all of
 * 127.0.0.0/8 to lo, no configuration needed). */
#ifndef PHONE_SOURCE_H
#define PHONE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "ctlkit/netaddr.h"
#include "tftp_client.h"

/* The range a fleet takes its addresses from unless told otherwise, when
 * every server it was given is on loopback (from 127.x.y.z nothing else
 * is reachable, so a fleet aimed at a real lab binds nothing). */
#define PH_SOURCE_NET_DEFAULT "127.64.0.0/10"

/* Would the default range reach these servers (all IPv4 loopback)? */
bool ph_source_default_applies(const ph_addr *tftp, size_t n_tftp, const ph_addr *tvs, size_t n_tvs);

/* A socket of type (SOCK_DGRAM or SOCK_STREAM, with SOCK_NONBLOCK and the
 * like) for talking to dest, bound to source (port 0: the kernel picks)
 * when source is not NULL and can reach dest: same family, and a loopback
 * source only toward a loopback server. -1 (err) when the socket cannot
 * be made or the address cannot be bound. */
int ph_source_socket(const ck_netaddr *source, const ph_addr *dest, int type, ck_err *err);

#endif
