/* ctlkitd's log: stderr in the foreground, syslog once detached.
 *
 * Foreground lines go through a large stdio buffer that the services flush
 * once per event-loop wake-up (dlog_flush), not once per line: at tens of
 * thousands of TFTP transfers a second a write(2) per log line would cost
 * more than the transfer itself. Warnings and errors are flushed at once. */
#ifndef CTLKITD_LOG_H
#define CTLKITD_LOG_H

#include <stdbool.h>

#include <event2/event.h>

enum dlog_level { DLOG_ERR = 0, DLOG_WARNING, DLOG_NOTICE, DLOG_INFO, DLOG_DEBUG };

/* "error", "warning", "notice", "info", "debug"; returns false otherwise. */
bool dlog_parse_level(const char *s, enum dlog_level *out);
/* Starts logging; before this call lines go to stderr unbuffered. */
void dlog_open(const char *ident, bool foreground, enum dlog_level level);
void dlog_close(void);
/* Flushes buffered lines from base whenever it is otherwise idle. base
 * must have DLOG_PRIORITIES priorities (event_base_priority_init): the
 * flush runs at the lowest, every other event at the default middle one. */
#define DLOG_PRIORITIES 3
int dlog_attach(struct event_base *base);
/* Undoes dlog_attach; call before freeing the base. */
void dlog_detach(void);
bool dlog_enabled(enum dlog_level level);
void dlog(enum dlog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dlog_flush(void);

#endif
