/* Connections open per source address, for a cap on how many one address
 * may hold (ctlkitd's TVS and CAPF, and the evhttp servers through
 * http_limits: ctlkit-web and the metrics; --max-conns-per-source): without it one
 * client can take every slot of a service's global limit and keep phones
 * out until its connections time out. Safe to call from several threads
 * (the TLS services' workers share one table). Lives in lib/ev beside the
 * other limits the servers share.
 *
 * Keyed on the address only (ports ignored, as ck_netaddr_same_host). An
 * entry exists only while connections from its address are open, so the
 * table holds at most as many entries as the service has connections. */
#ifndef CTLKIT_EV_SOURCE_COUNTS_H
#define CTLKIT_EV_SOURCE_COUNTS_H

#include <stdbool.h>
#include <sys/socket.h>

typedef struct source_counts source_counts;

/* A table allowing at most max_per_source (>= 1) connections per address;
 * NULL when out of memory. */
source_counts *source_counts_new(int max_per_source);
void source_counts_free(source_counts *t);

/* Counts one more connection from sa's address and returns true, or
 * returns false and counts nothing when max_per_source are already open
 * from it (or no memory is left for a new address: refusing is the safe
 * side). Only IPv4 and IPv6 addresses are counted; others pass. */
bool source_counts_take(source_counts *t, const struct sockaddr *sa);
/* The connection counted by a successful take from sa ended. */
void source_counts_release(source_counts *t, const struct sockaddr *sa);
/* Connections open from sa's address now (for tests and logs). */
int source_counts_open(source_counts *t, const struct sockaddr *sa);

#endif
