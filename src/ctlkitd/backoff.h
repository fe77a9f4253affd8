/* Reconnecting with back-off (the cluster node's store, the CTL Provider's
 * store): after a failure wait 1 s, then twice as long each time up to a
 * ceiling; a success starts over. Not thread-safe: one owner each. */
#ifndef CTLKITD_BACKOFF_H
#define CTLKITD_BACKOFF_H

#include <stdbool.h>
#include <time.h>

typedef struct backoff {
    time_t retry_at;
    unsigned wait_s; /* 0: no failure since the last success */
} backoff;

/* Whether the next try is due. */
static inline bool backoff_due(const backoff *b) { return time(NULL) >= b->retry_at; }

/* One more failure: the next try waits longer (at most max_s). */
static inline void backoff_failed(backoff *b, unsigned max_s)
{
    b->wait_s = b->wait_s ? (b->wait_s * 2 > max_s ? max_s : b->wait_s * 2) : 1;
    b->retry_at = time(NULL) + b->wait_s;
}

static inline void backoff_reset(backoff *b)
{
    b->wait_s = 0;
    b->retry_at = 0;
}

#endif
