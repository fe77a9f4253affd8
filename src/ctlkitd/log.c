#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A line longer than this is cut (its newline kept). */
#define LINE_MAX_BYTES 2048

static struct {
    pthread_mutex_t mu;       /* guards buf, used and the write order */
    bool opened, foreground;
    enum dlog_level level;
    size_t used;
    char buf[1 << 16];
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .foreground = true, .level = DLOG_INFO};

/* Each thread that runs an event loop (the daemon's, each TLS worker's)
 * and has attached it: the event that flushes the shared buffer once that
 * loop has run what was ready, and whether it is queued. The buffer is
 * one for all, so whichever flush comes first writes every thread's lines
 * in the order they were logged. */
static _Thread_local struct {
    struct event *ev_flush;
    bool queued;
} T;

static const char *const level_names[] = {"error", "warning", "notice", "info", "debug"};

bool dlog_parse_level(const char *s, enum dlog_level *out)
{
    for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum dlog_level)i;
            return true;
        }
    return false;
}

void dlog_open(const char *ident, bool foreground, enum dlog_level level)
{
    L.foreground = foreground;
    L.level = level;
    L.opened = true;
    if (!foreground)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Best effort: a log that cannot be written must not stop a service. */
static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* With L.mu held. */
static void flush_locked(void)
{
    write_all(L.buf, L.used);
    L.used = 0;
}

static void on_idle_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    pthread_mutex_lock(&L.mu);
    T.queued = false;
    flush_locked();
    pthread_mutex_unlock(&L.mu);
}

int dlog_attach(struct event_base *base)
{
    if (!L.foreground)
        return 0;
    /* The lowest priority the loop has: with one, the flush still comes
     * after every event that was ready when it was queued. */
    int lowest = event_base_get_npriorities(base) - 1;
    T.ev_flush = event_new(base, -1, 0, on_idle_flush, NULL);
    if (!T.ev_flush || (lowest > 0 && event_priority_set(T.ev_flush, lowest) != 0)) {
        if (T.ev_flush)
            event_free(T.ev_flush);
        T.ev_flush = NULL;
        return -1;
    }
    return 0;
}

void dlog_detach(void)
{
    pthread_mutex_lock(&L.mu);
    if (T.ev_flush)
        event_free(T.ev_flush);
    T.ev_flush = NULL;
    T.queued = false;
    flush_locked();
    pthread_mutex_unlock(&L.mu);
}

void dlog_close(void)
{
    dlog_detach();
    if (L.opened && !L.foreground)
        closelog();
    L.opened = false;
}

bool dlog_enabled(enum dlog_level level) { return level <= L.level; }

/* "2025-01-31 12:00:00.123 ctlkitd info: " into line; the date part is
 * reformatted once a second per thread (localtime_r takes glibc's
 * time-zone lock, which every TVS worker would otherwise share). */
static size_t format_prefix(enum dlog_level level, char *line, size_t len)
{
    static _Thread_local time_t stamp_sec = -1;
    static _Thread_local char stamp[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != stamp_sec) {
        struct tm tm;
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        stamp_sec = ts.tv_sec;
    }
    int m = snprintf(line, len, "%s.%03ld ctlkitd %s: ", stamp, ts.tv_nsec / 1000000, level_names[level]);
    return m > 0 ? (size_t)m : 0;
}

static void vdlog(enum dlog_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void vdlog(enum dlog_level level, const char *fmt, va_list ap)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    if (level > L.level)
        return;
    if (L.opened && !L.foreground) {
        vsyslog(prio[level], fmt, ap); /* one message per call, thread-safe */
        return;
    }
    char line[LINE_MAX_BYTES];
    size_t n = format_prefix(level, line, sizeof line);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    n += m > 0 ? (size_t)m : 0;
    if (n > sizeof line - 2)
        n = sizeof line - 2; /* cut: keep the newline */
    line[n++] = '\n';

    pthread_mutex_lock(&L.mu);
    bool may_wait = T.ev_flush && level > DLOG_WARNING;
    if (!may_wait || L.used + n > sizeof L.buf)
        flush_locked();
    if (may_wait) {
        memcpy(L.buf + L.used, line, n);
        L.used += n;
        if (!T.queued) {
            T.queued = true;
            event_active(T.ev_flush, 0, 0); /* runs once this loop has nothing more urgent */
        }
    } else {
        write_all(line, n);
    }
    pthread_mutex_unlock(&L.mu);
}

void dlog(enum dlog_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdlog(level, fmt, ap);
    va_end(ap);
}

void dlog_flush(void)
{
    pthread_mutex_lock(&L.mu);
    flush_locked();
    pthread_mutex_unlock(&L.mu);
}

bool dlog_limit_ok(struct log_limit *limit, enum dlog_level level, const char *summary_fmt)
{
    if (!dlog_enabled(level))
        return false;
    unsigned held;
    bool ok = log_limit_ok(limit, &held);
    /* summary_fmt is checked at each call (the format attribute in log.h). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (held)
        dlog(level, summary_fmt, held);
#pragma GCC diagnostic pop
    return ok;
}
