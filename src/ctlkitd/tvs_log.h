/* The TVS's log lines, written from its worker threads.
 *
 * Levels and the layout are the daemon's (log.h: one --log-level for all
 * services, "2025-01-31 12:00:00.123 ctlkitd info: ..."), but the daemon's
 * dlog() buffers lines for its own single-threaded loop; the TVS workers
 * instead format each line on their own stack and hand it to the kernel in
 * one write(2) (or to syslog once detached), so lines from several threads
 * never interleave. The texts imitate CUCM's TVS traces
 * ("tvsHandleQueryCertReq : Subject Name is: ..."). */
#ifndef CTLKITD_TVS_LOG_H
#define CTLKITD_TVS_LOG_H

#include <stdbool.h>

#include "log.h"

#define TVS_LOG_ERROR DLOG_ERR
#define TVS_LOG_WARNING DLOG_WARNING
#define TVS_LOG_INFO DLOG_INFO
#define TVS_LOG_DEBUG DLOG_DEBUG

/* Call once the daemon has detached (stderr is /dev/null from then on). */
void tvs_log_use_syslog(bool on);
static inline bool tvs_log_enabled(enum dlog_level level) { return dlog_enabled(level); }
void tvs_log(enum dlog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning about bad input from a client (any phone or stranger can send
 * it at will): at most TVS_BAD_INPUT_LOG_PER_SEC such lines a second, as
 * TFTP caps its rejections (log_limit.h); the first line of the next
 * second is preceded by "tvs: N similar messages suppressed". */
#define TVS_BAD_INPUT_LOG_PER_SEC 20
void tvs_log_bad_input(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
