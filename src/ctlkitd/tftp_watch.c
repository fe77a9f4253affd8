#include "tftp_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"

#define WATCH_SETTLE_MS 50
#define WATCH_POLL_SECS 5
/* More names than this in one settle period: a whole pass is cheaper. */
#define WATCH_MAX_NAMES 4096

struct tftp_watch {
    int fd, wd;
    char *dir;
    struct event *ev_read, *ev_settle, *ev_poll;
    tftp_watch_fn changed;
    void *arg;
    /* What the events since the last report named; all: something no
     * list of names describes (queue overflow, the root itself). */
    char **names;
    size_t n_names;
    bool all;
};

static void forget_names(struct tftp_watch *w)
{
    for (size_t i = 0; i < w->n_names; i++)
        free(w->names[i]);
    w->n_names = 0;
    w->all = false;
}

static void note_name(struct tftp_watch *w, const char *name)
{
    if (w->all)
        return;
    /* A file written in steps names itself several times in a row. */
    if (w->n_names && strcmp(w->names[w->n_names - 1], name) == 0)
        return;
    if (w->n_names == WATCH_MAX_NAMES || !(w->names[w->n_names] = strdup(name))) {
        forget_names(w);
        w->all = true;
        return;
    }
    w->n_names++;
}

static void report(struct tftp_watch *w, bool all)
{
    if (all || w->all)
        w->changed(w->arg, NULL, 0);
    else
        w->changed(w->arg, (const char *const *)w->names, w->n_names);
    forget_names(w);
}

/* What a publish can do to the directory: write in place (CLOSE_WRITE),
 * rename a temporary over a file (MOVED_TO), delete, chmod (ATTRIB); and
 * the directory itself can go (DELETE_SELF, MOVE_SELF). */
#define WATCH_MASK                                                                                        \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF |  \
     IN_MOVE_SELF | IN_ONLYDIR)

static void start_polling(struct tftp_watch *w)
{
    struct timeval tv = {WATCH_POLL_SECS, 0};
    if (w->ev_poll && !evtimer_pending(w->ev_poll, NULL))
        evtimer_add(w->ev_poll, &tv);
}

static void on_settled(evutil_socket_t fd, short what, void *arg)
{
    struct tftp_watch *w = arg;
    report(w, false);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct tftp_watch *w = arg;
    /* Try to get back to inotify (the root may be back). */
    if (w->fd >= 0 && w->wd < 0) {
        w->wd = inotify_add_watch(w->fd, w->dir, WATCH_MASK);
        if (w->wd >= 0)
            dlog(DLOG_NOTICE, "TFTP cache: watching %s again", w->dir);
    }
    report(w, true);
    if (w->wd < 0)
        start_polling(w);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
    struct tftp_watch *w = arg;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool lost = false;
    /* Bounded: a few buffers per wake-up; the rest waits for the next. */
    for (int round = 0; round < 8; round++) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            if (e->len && !(e->mask & (IN_Q_OVERFLOW | IN_IGNORED)))
                note_name(w, e->name);
            else /* the root itself, the watch gone, or events lost */
                w->all = true;
            if (e->mask & IN_IGNORED)
                lost = true;
            p += sizeof *e + e->len;
        }
    }
    if (lost && w->wd >= 0) {
        dlog(DLOG_WARNING, "TFTP cache: %s was removed or moved; checking it every %d s", w->dir,
             WATCH_POLL_SECS);
        inotify_rm_watch(w->fd, w->wd);
        w->wd = -1;
        start_polling(w);
    }
    struct timeval tv = {0, WATCH_SETTLE_MS * 1000};
    evtimer_add(w->ev_settle, &tv); /* re-adding pushes the deadline: coalesces a burst */
}

struct tftp_watch *tftp_watch_new(struct event_base *base, const char *dir, tftp_watch_fn changed, void *arg,
                                  ck_err *err)
{
    struct tftp_watch *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir)) || !(w->names = calloc(WATCH_MAX_NAMES, sizeof *w->names))) {
        if (w)
            free(w->dir);
        free(w);
        ck_fail(err, CK_ENOMEM, "out of memory for the TFTP directory watch");
        return NULL;
    }
    w->fd = w->wd = -1;
    w->changed = changed;
    w->arg = arg;
    w->ev_settle = evtimer_new(base, on_settled, w);
    w->ev_poll = evtimer_new(base, on_poll, w);
    if (!w->ev_settle || !w->ev_poll)
        goto nomem;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd >= 0)
        w->wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
    if (w->wd < 0) {
        dlog(DLOG_WARNING, "TFTP cache: cannot watch %s (%s); checking it every %d s instead", dir,
             strerror(errno), WATCH_POLL_SECS);
        start_polling(w);
    }
    if (w->fd >= 0) {
        w->ev_read = event_new(base, w->fd, EV_READ | EV_PERSIST, on_inotify, w);
        if (!w->ev_read || event_add(w->ev_read, NULL) != 0)
            goto nomem;
    }
    return w;
nomem:
    tftp_watch_free(w);
    ck_fail(err, CK_ENOMEM, "out of memory for the TFTP directory watch");
    return NULL;
}

void tftp_watch_free(struct tftp_watch *w)
{
    if (!w)
        return;
    if (w->ev_read)
        event_free(w->ev_read);
    if (w->ev_settle)
        event_free(w->ev_settle);
    if (w->ev_poll)
        event_free(w->ev_poll);
    if (w->fd >= 0)
        close(w->fd);
    forget_names(w);
    free(w->names);
    free(w->dir);
    free(w);
}
