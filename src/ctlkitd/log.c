#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static struct {
    bool opened, foreground;
    enum dlog_level level;
    char stamp[32];  /* "2025-01-31 12:00:00" of stamp_sec, reformatted once a second */
    time_t stamp_sec;
    struct event *ev_flush;
    bool flush_queued;
    char buf[1 << 16];
} L = {.foreground = true, .level = DLOG_INFO};

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
    if (foreground)
        setvbuf(stderr, L.buf, _IOFBF, sizeof L.buf);
    else
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void on_idle_flush(evutil_socket_t fd, short what, void *arg)
{
    L.flush_queued = false;
    fflush(stderr);
}

int dlog_attach(struct event_base *base)
{
    if (!L.foreground)
        return 0;
    L.ev_flush = event_new(base, -1, 0, on_idle_flush, NULL);
    if (!L.ev_flush || event_priority_set(L.ev_flush, DLOG_PRIORITIES - 1) != 0)
        return -1;
    return 0;
}

void dlog_detach(void)
{
    if (L.ev_flush)
        event_free(L.ev_flush);
    L.ev_flush = NULL;
    L.flush_queued = false;
    dlog_flush();
}

void dlog_close(void)
{
    dlog_detach();
    if (L.opened && !L.foreground)
        closelog();
    if (L.opened && L.foreground)
        setvbuf(stderr, NULL, _IONBF, 0);
    L.opened = false;
}

bool dlog_enabled(enum dlog_level level) { return level <= L.level; }

void dlog(enum dlog_level level, const char *fmt, ...)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    if (level > L.level)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (L.opened && !L.foreground) {
        vsyslog(prio[level], fmt, ap);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (ts.tv_sec != L.stamp_sec || !L.stamp[0]) {
            struct tm tm;
            localtime_r(&ts.tv_sec, &tm);
            strftime(L.stamp, sizeof L.stamp, "%Y-%m-%d %H:%M:%S", &tm);
            L.stamp_sec = ts.tv_sec;
        }
        fprintf(stderr, "%s.%03ld ctlkitd %s: ", L.stamp, ts.tv_nsec / 1000000, level_names[level]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        if (level <= DLOG_WARNING || !L.opened || !L.ev_flush)
            fflush(stderr);
        else if (!L.flush_queued) {
            L.flush_queued = true;
            event_active(L.ev_flush, 0, 0); /* runs once the loop has nothing more urgent */
        }
    }
    va_end(ap);
}

void dlog_flush(void)
{
    if (L.foreground)
        fflush(stderr);
}
