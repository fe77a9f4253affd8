/* The login worker (login.h). Jobs go to the worker through a queue under
 * a mutex and come back through a second list; one byte on a pipe wakes
 * the loop. A client that goes away meanwhile is forgotten (its request
 * is libevent's to free), its check still runs to the end. */
#include "login.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct login_job {
    struct login_job *next;
    struct evhttp_request *req; /* NULL once the client has gone */
    struct evhttp_connection *conn;
    web_login_done_fn done;
    char user[128], addr[64];
    char *pw;
    size_t pwlen;
    int rc;
    ck_user_role role;
    ck_err err;
} login_job;

struct web_login {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stop;
    login_job *todo, *done; /* FIFO each: appended at the tail */
    login_job *running;     /* the one being checked, in neither list */
    size_t n;               /* jobs queued, running or not yet answered */
    int pipe[2];
    struct event *ev;
};

static void append(login_job **head, login_job *j)
{
    j->next = NULL;
    while (*head)
        head = &(*head)->next;
    *head = j;
}

static void job_free(login_job *j)
{
    if (j->pw) {
        OPENSSL_cleanse(j->pw, j->pwlen);
        free(j->pw);
    }
    free(j);
}

#ifdef CTLKIT_TEST_HOOKS
/* Test hook: with CTLKIT_WEB_TEST_HOLD_LOGIN=FILE each check creates
 * FILE.held, then waits (at most 30 s) until FILE exists, so that a test
 * can show other requests being answered while a login is being checked
 * (tests/web/login_worker.py). */
static void test_hold(void)
{
    const char *f = getenv("CTLKIT_WEB_TEST_HOLD_LOGIN");
    if (!f)
        return;
    char held[4096];
    snprintf(held, sizeof held, "%s.held", f);
    int fd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < 300 && access(f, F_OK) != 0; i++)
        usleep(100 * 1000);
}

/* ... and each login queued appends one byte to FILE.queued, so that the
 * test knows when a burst is waiting behind the held check
 * (tests/web/login_backoff.py). */
static void test_queued(void)
{
    const char *f = getenv("CTLKIT_WEB_TEST_HOLD_LOGIN");
    if (!f)
        return;
    char queued[4096];
    snprintf(queued, sizeof queued, "%s.queued", f);
    int fd = open(queued, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        while (write(fd, "q", 1) < 0 && errno == EINTR)
            ;
        close(fd);
    }
}
#else
static void test_hold(void) {}
static void test_queued(void) {}
#endif

/* One check, on the worker. The back-off is asked and the verdict
 * recorded here, one login after the other, as the CTL Provider's worker
 * does: were the guard asked on the loop when a login is queued, every
 * login queued before the first verdict (up to WEB_LOGIN_MAX_QUEUED) would
 * be checked, and a burst would get that many guesses per back-off. */
static void check(web *w, login_job *j)
{
    char note[256];
    uint64_t wait = ck_pv_guard_wait(w->guard, j->addr, j->user, web_now_ms());
    if (wait) {
        ck_pv_guard_failed(w->guard, j->addr, j->user, false, web_now_ms(), note, sizeof note);
        ck_fail(&j->err, CK_ELIMIT, "Too many failed logins: try again in %llu s.",
                (unsigned long long)((wait + 999) / 1000));
        j->rc = WEB_LOGIN_BACKED_OFF;
        return;
    }
    j->rc = ck_users_auth(w->users_dir, j->user, j->pw, j->pwlen, &j->role, &j->err);
    if (j->rc == 0)
        ck_pv_guard_succeeded(w->guard, j->addr, j->user, web_now_ms());
    else if (j->err.code == CK_EDENIED)
        ck_pv_guard_failed(w->guard, j->addr, j->user, true, web_now_ms(), note, sizeof note);
}

static void *worker(void *arg)
{
    web *w = arg;
    struct web_login *l = w->login;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->todo && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop)
            break;
        login_job *j = l->todo;
        l->todo = j->next;
        l->running = j;
        pthread_mutex_unlock(&l->mu);
        test_hold();
        check(w, j);
        OPENSSL_cleanse(j->pw, j->pwlen);
        pthread_mutex_lock(&l->mu);
        l->running = NULL;
        append(&l->done, j);
        char one = 1;
        while (write(l->pipe[1], &one, 1) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void forget_conn(login_job *list, struct evhttp_connection *conn)
{
    for (login_job *j = list; j; j = j->next)
        if (j->conn == conn)
            j->req = NULL;
}

static void on_client_gone(struct evhttp_connection *conn, void *arg)
{
    struct web_login *l = ((web *)arg)->login;
    if (!l) /* evhttp_free closes connections after web_login_fini */
        return;
    /* libevent may have freed the request already: compare connections. */
    pthread_mutex_lock(&l->mu);
    forget_conn(l->todo, conn);
    forget_conn(l->done, conn);
    if (l->running && l->running->conn == conn)
        l->running->req = NULL; /* the worker does not read req */
    pthread_mutex_unlock(&l->mu);
}

/* Back on the loop: answer every check that is done. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    web *w = arg;
    struct web_login *l = w->login;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&l->mu);
    login_job *list = l->done;
    l->done = NULL;
    pthread_mutex_unlock(&l->mu);
    while (list) {
        login_job *j = list;
        list = j->next;
        l->n--;
        if (j->req) {
            http_limits_set_closecb(w->limits, j->conn, NULL, NULL);
            j->done(w, j->req, j->user, j->addr, j->rc, j->role, &j->err);
        }
        job_free(j);
    }
}

int web_login_init(web *w)
{
    struct web_login *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    w->login = l;
    l->pipe[0] = l->pipe[1] = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    l->ev = event_new(w->base, l->pipe[0], EV_READ | EV_PERSIST, on_done, w);
    if (!l->ev || event_add(l->ev, NULL) < 0)
        return -1;
    if (pthread_create(&l->thread, NULL, worker, w) != 0)
        return -1;
    l->started = true;
    return 0;
}

void web_login_fini(web *w)
{
    struct web_login *l = w->login;
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    /* Serving stopped: the remaining checks answer nobody. */
    login_job *lists[2] = {l->todo, l->done};
    for (int i = 0; i < 2; i++)
        while (lists[i]) {
            login_job *j = lists[i];
            lists[i] = j->next;
            job_free(j);
        }
    if (l->ev)
        event_free(l->ev);
    for (int i = 0; i < 2; i++)
        if (l->pipe[i] >= 0)
            close(l->pipe[i]);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
    w->login = NULL;
}

int web_login_start(web *w, struct evhttp_request *req, const char *user, const char *pw, size_t pwlen,
                    const char *addr, web_login_done_fn done, ck_err *err)
{
    struct web_login *l = w->login;
    if (l->n >= WEB_LOGIN_MAX_QUEUED)
        return ck_fail(err, CK_ELIMIT, "too many logins at once; try again in a moment");
    if (strlen(user) >= sizeof ((login_job *)0)->user)
        return ck_fail(err, CK_EDENIED, "user name too long");
    login_job *j = calloc(1, sizeof *j);
    if (!j || !(j->pw = malloc(pwlen ? pwlen : 1))) {
        free(j);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    memcpy(j->pw, pw, pwlen);
    j->pwlen = pwlen;
    snprintf(j->user, sizeof j->user, "%s", user);
    snprintf(j->addr, sizeof j->addr, "%s", addr);
    j->req = req;
    j->conn = evhttp_request_get_connection(req);
    j->done = done;
    http_limits_set_closecb(w->limits, j->conn, on_client_gone, w);
    l->n++;
    pthread_mutex_lock(&l->mu);
    append(&l->todo, j);
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    test_queued();
    return 0;
}
