/* ctlkitd's one log, for every service and every thread: stderr in the
 * foreground, syslog once detached.
 *
 * Each line is formatted whole on the caller's stack and leaves in one
 * write(2) (or one syslog call), so lines from the TVS workers and the
 * daemon's loop never interleave. On a thread whose event loop is attached
 * (dlog_attach: the daemon's loop and each TLS worker's), foreground lines
 * below warning are gathered in one shared buffer that the loop flushes
 * once per wake-up: at tens of thousands of TFTP transfers a second a
 * write(2) per line would cost more than the transfer itself, and a TVS
 * answer goes out before its log line is written. Warnings, errors and
 * every line from a thread without a loop go out at once, after what the
 * buffer holds, under one lock: the order of lines is the order of calls. */
#ifndef CTLKITD_LOG_H
#define CTLKITD_LOG_H

#include <stdbool.h>

#include <event2/event.h>

#include "log_limit.h"

enum dlog_level { DLOG_ERR = 0, DLOG_WARNING, DLOG_NOTICE, DLOG_INFO, DLOG_DEBUG };

/* "error", "warning", "notice", "info", "debug"; returns false otherwise. */
bool dlog_parse_level(const char *s, enum dlog_level *out);
/* Starts logging; before this call lines go to stderr unbuffered. */
void dlog_open(const char *ident, bool foreground, enum dlog_level level);
void dlog_close(void);
/* Flushes buffered lines from base, the calling thread's loop, whenever it
 * is otherwise idle; the calling thread's lines below warning may then wait
 * for it. The flush runs at base's lowest priority: the daemon's loop has
 * DLOG_PRIORITIES (event_base_priority_init), every other event at the
 * default middle one; a loop with one priority flushes after the events
 * that were ready. */
#define DLOG_PRIORITIES 3
int dlog_attach(struct event_base *base);
/* Undoes dlog_attach for the calling thread and writes what is buffered;
 * call on that thread before freeing its base. */
void dlog_detach(void);
bool dlog_enabled(enum dlog_level level);
void dlog(enum dlog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dlog_flush(void);
/* For lines a client can cause at will: whether one more may be logged
 * now under limit (log_limit.h). When a new second begins after lines were
 * held back, first logs summary_fmt (one %u: how many) at level. */
bool dlog_limit_ok(struct log_limit *limit, enum dlog_level level, const char *summary_fmt)
    __attribute__((format(printf, 3, 0)));

#endif
