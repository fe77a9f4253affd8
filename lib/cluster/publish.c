/* Publishing files to the nodes' TFTP folders. The database is the truth
 * and each folder a copy of it (issue 10), so a publish is:
 *
 * 1. stage: inside the operation, write and fsync the new bytes of every
 *    node's file in that node's run/ folder (same filesystem as tftp/, so
 *    the later rename is atomic, but never inside tftp/: TFTP cannot see a
 *    temporary under any name). A failure discards what was staged and the
 *    transaction rolls back: database and files unchanged.
 * 2. commit the store transaction (ck__op_end);
 * 3. install: rename each staged file over the node's file, then bring
 *    every node's folder to the store's state (materialize.c), which also
 *    removes anything an interrupted publish left behind.
 *
 * If the process dies between 2 and 3, the folders still hold the old
 * files (never a torn or temporary one); the node's daemon, or the next
 * operation, materializes the committed state. No backup copy is kept:
 * the database row is the backup. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/fileio.h"
#include "internal.h"

void ck__stage_path(const ck_cluster *c, const char *node, const char *name, char *out, size_t outsz)
{
    char file[160];
    snprintf(file, sizeof file, "%s.tmp.%ld", name, (long)getpid());
    ck_cluster_node_path(c, node, "run", file, out, outsz);
}

/* A rehearsal runs the same operations on a throw-away copy: its points
 * are not the real operation's (a test stopping or killing an admin at a
 * point means the real one, and CTLKIT_TEST_KILL_AT_N counts real ones). */
static _Thread_local int test_points_muted;

void ck__test_points_mute(bool mute) { test_points_muted += mute ? 1 : -1; }

void ck__test_kill_point(const char *step)
{
    if (test_points_muted)
        return;
    /* Test hook: CTLKIT_TEST_KILL_AT=STEP kills the process at that step of
     * a publish (after-stage, after-commit, after-first-rename) or of a
     * node's materialization (materialize-staged, materialize-renamed), as
     * a crash or kill -9 would, so that tests can prove the cluster heals.
     * CTLKIT_TEST_STOP_AT=STEP stops it there instead (SIGSTOP), so that a
     * test can take the database away in the middle and then let it go on
     * (SIGCONT). CTLKIT_TEST_KILL_AT_N=N kills it at the Nth point it
     * reaches, whatever its name, and CTLKIT_TEST_POINTS=FILE appends the
     * name of every point reached to FILE: together they let a crash test
     * enumerate every step of an operation without knowing them. */
#ifdef CTLKIT_TEST_HOOKS
    static long reached;
    reached++;
    const char *log = getenv("CTLKIT_TEST_POINTS");
    if (log && *log) {
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "%ld %s\n", reached, step);
            fclose(f);
        }
    }
    const char *nth = getenv("CTLKIT_TEST_KILL_AT_N");
    if (nth && atol(nth) == reached)
        raise(SIGKILL);
    const char *at = getenv("CTLKIT_TEST_KILL_AT");
    if (at && strcmp(at, step) == 0)
        raise(SIGKILL);
    ck_test_stop_point(step);
#else
    (void)step;
#endif
}

void ck_test_stop_point(const char *step)
{
#ifdef CTLKIT_TEST_HOOKS
    const char *at = getenv("CTLKIT_TEST_STOP_AT");
    if (at && strcmp(at, step) == 0)
        raise(SIGSTOP);
#else
    (void)step;
#endif
}

int ck__publish_to_nodes(ck_cluster *c, const ck_node *nodes, size_t n, const char *name, const uint8_t *data,
                     size_t len, ck_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char dest[PATH_MAX], tmp[PATH_MAX], run[PATH_MAX];
        if (!ck_cluster_node_here(c, nodes[i].name))
            continue; /* on its own host: its daemon materializes the committed row */
        ck_cluster_node_path(c, nodes[i].name, "tftp", name, dest, sizeof dest);
        ck__stage_path(c, nodes[i].name, name, tmp, sizeof tmp);
        ck_cluster_node_path(c, nodes[i].name, "run", NULL, run, sizeof run);
        /* The same file staged twice in one operation keeps one entry. */
        size_t k = 0;
        while (k < c->n_staged && strcmp(c->staged[k].dest, dest) != 0)
            k++;
        if (k == c->n_staged) {
            staged_file *g = realloc(c->staged, (c->n_staged + 1) * sizeof *g);
            if (!g)
                return ck_fail(err, CK_ENOMEM, "out of memory");
            c->staged = g;
            snprintf(g[k].dest, sizeof g[k].dest, "%s", dest);
            snprintf(g[k].tmp, sizeof g[k].tmp, "%s", tmp);
            c->n_staged++;
        }
        if (ck_mkdirs(run, 0755, err) < 0 || ck_write_file_staged(dest, tmp, data, len, 0644, err) < 0) {
            ck_err_prefix(err, "publishing %s to %s", name, nodes[i].name);
            return -1;
        }
        ck__test_kill_point("staged-file");
    }
    return 0;
}

void ck__staged_discard(ck_cluster *c)
{
    for (size_t i = 0; i < c->n_staged; i++)
        unlink(c->staged[i].tmp);
    free(c->staged);
    c->staged = NULL;
    c->n_staged = 0;
}

void ck__staged_install(ck_cluster *c)
{
    for (size_t i = 0; i < c->n_staged; i++) {
        /* A failure here is healed by the materialization that follows
         * (and by the node's daemon): the store already holds the bytes. */
        if (rename(c->staged[i].tmp, c->staged[i].dest) == 0)
            ck_fsync_dir_of(c->staged[i].dest);
        else
            unlink(c->staged[i].tmp);
        ck__test_kill_point(i == 0 ? "after-first-rename" : "after-rename");
    }
    free(c->staged);
    c->staged = NULL;
    c->n_staged = 0;
}
