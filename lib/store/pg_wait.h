/* Waiting on libpq with a deadline (the PostgreSQL backend, pg.c): a
 * server that stops answering on an open connection (a stopped backend, a
 * network black hole whose kernel still ACKs) must cost a statement at
 * most its deadline, never the caller's thread forever. */
#ifndef CTLKIT_STORE_PG_WAIT_H
#define CTLKIT_STORE_PG_WAIT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctlkit/error.h"

/* The environment variable that sets how long, in seconds, the database
 * may stay silent: per statement (on top of what the statement itself is
 * allowed to wait for, a lock or run sql's statement_timeout) and for
 * connecting (libpq's connect_timeout, unless the URL sets its own). */
#define CK_PG_TIMEOUT_ENV "CTLKIT_PG_TIMEOUT"
#define CK_PG_TIMEOUT_DEFAULT_S 15
/* Unset: connecting keeps libpq's setting of old. */
#define CK_PG_CONNECT_TIMEOUT_DEFAULT_S 10
#define CK_PG_TIMEOUT_MAX_S 3600

/* The statement deadline and the connect timeout the environment asks
 * for (the defaults when unset); -1 and *err for a value that is not a
 * number of seconds from 1 to CK_PG_TIMEOUT_MAX_S. */
int ck_pg_timeouts(int *statement_s, int *connect_s, ck_err *err);

/* Now plus seconds, on the monotonic clock, in milliseconds. */
int64_t ck_pg_deadline(int seconds);

/* Sends what libpq still holds and waits until a result can be taken
 * without blocking (PQisBusy false): 0, 1 when the deadline passed first,
 * -1 when the connection failed (PQerrorMessage says why). The connection
 * must be in nonblocking mode. */
int ck_pg_wait(PGconn *c, int64_t deadline_ms);

/* Asks the server to cancel what the connection runs, and waits until it
 * took the request or the deadline passed (now: no wait). PQcancel waits
 * for the postmaster's answer, which never comes when the whole server is
 * stopped: it runs on a detached thread that ends when the server answers
 * or the connection attempt fails. Best effort. */
void ck_pg_cancel(PGconn *c, int64_t deadline_ms);

#endif
