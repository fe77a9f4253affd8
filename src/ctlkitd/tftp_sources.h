/* Transfers in flight per client address (the port left out), so that one
 * address cannot take every transfer slot (--max-transfers-per-source).
 *
 * A hash of counts with one entry per address that has a transfer: an
 * RRQ costs one hash and a short chain walk, never a scan of the
 * transfers. Entries come from a pool sized at creation (at most one per
 * transfer), so nothing is allocated per packet. */
#ifndef CTLKITD_TFTP_SOURCES_H
#define CTLKITD_TFTP_SOURCES_H

#include <stddef.h>

#include "ctlkit/netaddr.h"

struct tftp_sources;
struct tftp_source; /* one address's count; valid while it has transfers */

/* For up to max_transfers transfers at once; NULL when out of memory. */
struct tftp_sources *tftp_sources_new(size_t max_transfers);
void tftp_sources_free(struct tftp_sources *t);
/* How many transfers addr (any port) has in flight. */
unsigned tftp_sources_count(const struct tftp_sources *t, const ck_netaddr *addr);
/* Counts one more transfer for addr; NULL only when more transfers are
 * added than the table was made for. */
struct tftp_source *tftp_sources_add(struct tftp_sources *t, const ck_netaddr *addr);
/* Counts one transfer less (from tftp_sources_add); the entry goes back to
 * the pool at zero. */
void tftp_sources_drop(struct tftp_sources *t, struct tftp_source *s);

#endif
