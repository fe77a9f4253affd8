#include "tvs_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log_limit.h"

static atomic_bool use_syslog;

void tvs_log_use_syslog(bool on) { atomic_store(&use_syslog, on); }

static void tvs_vlog(enum dlog_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

void tvs_log(enum dlog_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tvs_vlog(level, fmt, ap);
    va_end(ap);
}

void tvs_log_bad_input(const char *fmt, ...)
{
    static struct log_limit limit = LOG_LIMIT_INIT(TVS_BAD_INPUT_LOG_PER_SEC);
    if (!dlog_enabled(TVS_LOG_WARNING))
        return;
    unsigned held;
    bool ok = log_limit_ok(&limit, &held);
    if (held)
        tvs_log(TVS_LOG_WARNING, "tvs: %u similar messages suppressed (bad input: at most %u lines a second)", held,
                TVS_BAD_INPUT_LOG_PER_SEC);
    if (!ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    tvs_vlog(TVS_LOG_WARNING, fmt, ap);
    va_end(ap);
}

static void tvs_vlog(enum dlog_level level, const char *fmt, va_list ap)
{
    static const char *const names[] = {"error", "warning", "notice", "info", "debug"};
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    if (!dlog_enabled(level))
        return;
    unsigned l = (unsigned)level < 5 ? (unsigned)level : 4;
    if (atomic_load_explicit(&use_syslog, memory_order_relaxed)) {
        vsyslog(prio[l], fmt, ap); /* thread-safe, one message per call */
        return;
    }
    /* The date part changes once a second: each thread keeps its own copy
     * (localtime_r takes glibc's time-zone lock, shared by all workers). */
    static _Thread_local time_t stamp_sec = -1;
    static _Thread_local char stamp[32];
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != stamp_sec) {
        struct tm tm;
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        stamp_sec = ts.tv_sec;
    }
    size_t n = 0;
    int m = snprintf(line, sizeof line, "%s.%03ld ctlkitd %s: ", stamp, ts.tv_nsec / 1000000, names[l]);
    n += m > 0 ? (size_t)m : 0;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    n += m > 0 ? (size_t)m : 0;
    if (n > sizeof line - 2)
        n = sizeof line - 2; /* truncated: keep the newline */
    line[n++] = '\n';
    /* Best effort: a log that cannot be written must not stop the service. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
