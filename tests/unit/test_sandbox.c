/* Unit tests of the seccomp filter (lib/os/sandbox.c): a call on the
 * program's list runs, one left out fails (trap mode: ENOSYS), and the
 * sanitizer runtimes' calls (getdents, ptrace, wait4) get through in a
 * sanitizer build only: a release build's filter is the program's list and
 * nothing more. Each case runs in a child, as a filter cannot be removed. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

/* What a child needs to make one call and report its errno, also when ASan
 * wraps the SIGSYS handler (an alternate stack, memory, its thread id). */
static const char *const names[] = {"write",    "exit",   "exit_group", "rt_sigreturn", "rt_sigprocmask",
                                    "sigaltstack", "gettid", "mmap",       "munmap",       "mprotect",
                                    "madvise",  "brk",    "futex",      "getpid"};
static const sandbox_calls calls = {"test_sandbox", names, sizeof names / sizeof names[0]};

enum probe { PROBE_GETPID, PROBE_GETPPID, PROBE_GETDENTS, PROBE_PTRACE, PROBE_WAIT4 };

/* The errno of the call in a child under the filter (0: it succeeded). */
static int errno_under_filter(enum probe p)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        ck_err err = {0};
        if (sandbox_install(SANDBOX_TRAP, &calls, &err) != 0)
            _exit(255);
        errno = 0;
        long r = 0;
        switch (p) {
        case PROBE_GETPID: r = syscall(SYS_getpid); break;
        case PROBE_GETPPID: r = syscall(SYS_getppid); break;
        case PROBE_GETDENTS: r = syscall(SYS_getdents, -1, NULL, 0); break; /* EBADF when allowed */
        case PROBE_PTRACE: r = syscall(SYS_ptrace, PTRACE_PEEKUSER, 0, NULL, NULL); break; /* ESRCH */
        case PROBE_WAIT4: r = syscall(SYS_wait4, -1, NULL, WNOHANG, NULL); break; /* ECHILD: no children */
        }
        _exit(r >= 0 ? 0 : errno < 255 ? errno : 254);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 255); /* the filter was installed */
    return WEXITSTATUS(status);
}

static void test_listed_call_runs_and_others_fail(void **state)
{
    (void)state;
    assert_int_equal(errno_under_filter(PROBE_GETPID), 0);
    assert_int_equal(errno_under_filter(PROBE_GETPPID), ENOSYS);
}

static void test_sanitizer_calls_only_in_a_sanitizer_build(void **state)
{
    (void)state;
#ifdef CTLKIT_SANITIZE
    /* LeakSanitizer's check at exit: allowed, so each fails as it would unfiltered. */
    assert_int_equal(errno_under_filter(PROBE_GETDENTS), EBADF);
    assert_int_equal(errno_under_filter(PROBE_PTRACE), ESRCH);
    assert_int_equal(errno_under_filter(PROBE_WAIT4), ECHILD);
#else
    assert_int_equal(errno_under_filter(PROBE_GETDENTS), ENOSYS);
    assert_int_equal(errno_under_filter(PROBE_PTRACE), ENOSYS);
    assert_int_equal(errno_under_filter(PROBE_WAIT4), ENOSYS);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_call_runs_and_others_fail),
        cmocka_unit_test(test_sanitizer_calls_only_in_a_sanitizer_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
