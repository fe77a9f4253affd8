#include "sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

/* The program named in --seccomp=trap's lines (set by sandbox_install,
 * read by the signal handler). */
static char trap_prefix[64] = "ctlkit: seccomp: system call ";

#if defined(__x86_64__)
#define RETURN_REG(uc) ((uc)->uc_mcontext.gregs[REG_RAX])
#elif defined(__aarch64__)
#define RETURN_REG(uc) ((uc)->uc_mcontext.regs[0])
#endif

/* --seccomp=trap: names the call on stderr and makes it fail with ENOSYS.
 * Only async-signal-safe work here: the number in decimal, one write. */
static void on_sigsys(int sig, siginfo_t *info, void *ctx)
{
    (void)sig;
    char line[128];
    size_t n = strlen(trap_prefix);
    memcpy(line, trap_prefix, n);
    char digits[12];
    int nd = 0;
    unsigned v = (unsigned)info->si_syscall;
    do
        digits[nd++] = (char)('0' + v % 10);
    while ((v /= 10) && nd < (int)sizeof digits);
    while (nd > 0)
        line[n++] = digits[--nd];
    const char tail[] = " is not allowed\n";
    memcpy(line + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
#ifdef RETURN_REG
    RETURN_REG((ucontext_t *)ctx) = -ENOSYS;
#else
    (void)ctx;
#endif
}

#ifdef CTLKIT_SANITIZE
/* Only in a sanitizer build (cmake -DCTLKIT_SANITIZE=ON): LeakSanitizer's
 * check at exit makes the process dumpable and lets a helper task it
 * clones trace it (prctl), and the helper lists /proc/self/task
 * (getdents), attaches to each thread (ptrace) and waits for it (wait4);
 * the parent then waits for the helper (wait4). Refused, the helper dies
 * and the server spins for ever in sched_yield waiting for it. Found with
 * --seccomp=log (the kernel's audit lines, type=1326) on ctlkitd and
 * ctlkit-web. A release build's filter never lists them. A name already
 * on the program's list (ctlkitd's prctl) is added once more, which
 * libseccomp accepts. */
static const char *const sanitizer_calls[] = {"prctl", "getdents", "ptrace", "wait4"};
#endif

bool sandbox_parse_mode(const char *text, sandbox_mode *out)
{
    static const char *const names[] = {"off", "log", "trap", "kill"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (sandbox_mode)i;
            return true;
        }
    return false;
}

/* Adds an allow rule for each name (a name the architecture does not have,
 * e.g. open on arm64, is skipped). */
static int allow(scmp_filter_ctx f, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue;
        int rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sandbox_install(sandbox_mode mode, const sandbox_calls *calls, ck_err *err)
{
    if (mode == SANDBOX_OFF)
        return 0;
    snprintf(trap_prefix, sizeof trap_prefix, "%s: seccomp: system call ", calls->program);
    uint32_t deny = mode == SANDBOX_LOG ? SCMP_ACT_LOG : mode == SANDBOX_TRAP ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
    if (mode == SANDBOX_TRAP) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSYS, &sa, NULL) != 0)
            return ck_fail(err, CK_EIO, "seccomp: cannot catch SIGSYS: %s", strerror(errno));
    }
    scmp_filter_ctx f = seccomp_init(deny);
    if (!f)
        return ck_fail(err, CK_EIO, "seccomp: cannot make a filter");
    int rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0)
        rc = allow(f, calls->names, calls->n);
#ifdef CTLKIT_SANITIZE
    if (rc == 0)
        rc = allow(f, sanitizer_calls, sizeof sanitizer_calls / sizeof sanitizer_calls[0]);
#endif
    if (rc == 0)
        rc = seccomp_load(f);
    seccomp_release(f);
    if (rc != 0)
        return ck_fail(err, CK_EIO, "seccomp: cannot install the filter: %s", strerror(-rc));
    return 0;
}
