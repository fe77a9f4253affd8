/* A cap on log lines per second for messages a client can cause at will
 * (rejected TFTP requests, bad TVS input): a flood must not fill the disk.
 * Shared by ctlkitd's services and ctlkit-web (which is why it lives in
 * lib/ev, the servers' own static library); safe to call from several
 * threads (the TVS workers) as well as from an event loop.
 *
 * Each caller logs its own lines and the summary, in its own words and
 * through its own logger: this file only counts. */
#ifndef CTLKIT_EV_LOG_LIMIT_H
#define CTLKIT_EV_LOG_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct log_limit {
    pthread_mutex_t mu;
    unsigned per_sec;     /* lines let through per second */
    uint64_t sec;         /* the second being counted (monotonic clock) */
    unsigned count, suppressed;
};

#define LOG_LIMIT_INIT(per_sec) {PTHREAD_MUTEX_INITIALIZER, (per_sec), 0, 0, 0}

/* Whether one more line may be logged now. When a new second begins after
 * lines were held back, *suppressed_before says how many (else 0): the
 * caller logs that summary first. */
bool log_limit_ok(struct log_limit *l, unsigned *suppressed_before);

#endif
