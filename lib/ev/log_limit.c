#include "log_limit.h"

#include <time.h>

bool log_limit_ok(struct log_limit *l, unsigned *suppressed_before)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t sec = (uint64_t)ts.tv_sec;
    bool ok;
    pthread_mutex_lock(&l->mu);
    *suppressed_before = 0;
    if (sec != l->sec) {
        *suppressed_before = l->suppressed;
        l->sec = sec;
        l->count = l->suppressed = 0;
    }
    ok = l->count < l->per_sec;
    if (ok)
        l->count++;
    else
        l->suppressed++;
    pthread_mutex_unlock(&l->mu);
    return ok;
}
