/* Waiting on libpq with a deadline (lib/store/pg_wait.h). */
#include "store/pg_wait.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

int ck_pg_timeouts(int *statement_s, int *connect_s, ck_err *err)
{
    *statement_s = CK_PG_TIMEOUT_DEFAULT_S;
    *connect_s = CK_PG_CONNECT_TIMEOUT_DEFAULT_S;
    const char *v = getenv(CK_PG_TIMEOUT_ENV);
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > CK_PG_TIMEOUT_MAX_S)
        return ck_fail(err, CK_EINVAL, CK_PG_TIMEOUT_ENV " must be a number of seconds from 1 to %d, not '%.40s'",
                       CK_PG_TIMEOUT_MAX_S, v);
    *statement_s = *connect_s = (int)n;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ck_pg_deadline(int seconds)
{
    return now_ms() + (int64_t)seconds * 1000;
}

/* Waits until the socket is ready for `events` or the deadline: 1 ready,
 * 0 deadline, -1 error. */
static int wait_socket(PGconn *c, short events, int64_t deadline_ms)
{
    int fd = PQsocket(c);
    if (fd < 0)
        return -1;
    for (;;) {
        int64_t left = deadline_ms - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

int ck_pg_wait(PGconn *c, int64_t deadline_ms)
{
    /* What the send left in libpq's buffer (a large file) goes out first;
     * the server may answer meanwhile, so reading stays allowed. */
    int pending;
    while ((pending = PQflush(c)) == 1) {
        int rc = wait_socket(c, POLLIN | POLLOUT, deadline_ms);
        if (rc <= 0)
            return rc == 0 ? 1 : -1;
        if (!PQconsumeInput(c))
            return -1;
    }
    if (pending < 0)
        return -1;
    while (PQisBusy(c)) {
        int rc = wait_socket(c, POLLIN, deadline_ms);
        if (rc <= 0)
            return rc == 0 ? 1 : -1;
        if (!PQconsumeInput(c))
            return -1;
    }
    return 0;
}

/* A cancel request on its way, shared by the thread sending it and the
 * caller waiting for it (the last one out frees it). */
typedef struct cancel_job {
    PGcancel *cancel;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int refs;
} cancel_job;

static void cancel_release(cancel_job *j)
{
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last)
        return;
    PQfreeCancel(j->cancel);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static void *cancel_main(void *arg)
{
    cancel_job *j = arg;
    char buf[256];
    PQcancel(j->cancel, buf, sizeof buf);
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_signal(&j->cv);
    cancel_release(j);
    return NULL;
}

void ck_pg_cancel(PGconn *c, int64_t deadline_ms)
{
    cancel_job *j = calloc(1, sizeof *j);
    if (!j || !(j->cancel = PQgetCancel(c))) {
        free(j);
        return;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 2;
    pthread_attr_t attr;
    pthread_t t;
    bool started = pthread_attr_init(&attr) == 0;
    if (started) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &attr, cancel_main, j) == 0;
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_lock(&j->mu);
    if (!started)
        j->refs = 1;
    struct timespec until = {.tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
    while (started && !j->done && pthread_cond_timedwait(&j->cv, &j->mu, &until) == 0)
        ;
    cancel_release(j);
}
