/* Notices changes in the TFTP root and asks for a reload.
 *
 * inotify rather than a periodic stat: a change is seen at once (the new
 * CTL is served within ~50 ms of its rename), and an idle daemon makes no
 * system call at all. Events are coalesced for WATCH_SETTLE_MS so that a
 * burst (a publish of many files, or a file written in several steps)
 * costs one reload. When inotify is unavailable (instance limit reached)
 * or the root itself goes away, a periodic check every few seconds takes
 * over; a reload shares unchanged files, so it costs a readdir and a stat
 * per file.
 *
 * The events name the entries that changed: the report passes them on, so
 * that the cache looks at those only (tftp_cache_update) and a change
 * costs the same in a folder of ten files or of ten thousand. When no list
 * of names can say what changed (the kernel's event queue overflowed, the
 * root itself changed or went away, the periodic check), the report says
 * so with names NULL: reload everything. */
#ifndef CTLKITD_TFTP_WATCH_H
#define CTLKITD_TFTP_WATCH_H

#include <event2/event.h>
#include <stddef.h>

#include "ctlkit/error.h"

struct tftp_watch;

/* names: the n entries changed since the last report (possibly some
 * twice), or NULL: anything may have changed. */
typedef void (*tftp_watch_fn)(void *arg, const char *const *names, size_t n);

struct tftp_watch *tftp_watch_new(struct event_base *base, const char *dir, tftp_watch_fn changed, void *arg,
                                  ck_err *err);
void tftp_watch_free(struct tftp_watch *w);

#endif
