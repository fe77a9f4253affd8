#include "sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

/* What the running services call: the event loop and its sockets (TFTP,
 * TVS, CTL Provider, metrics), the TVS threads, reading the TFTP folder
 * and the cluster's store (SQLite files, or PostgreSQL over a socket),
 * writing the node's files atomically, syslog, and OpenSSL's randomness.
 * Not in it: starting programs, changing users, ptrace, mounts, modules,
 * keys, namespaces. Found by running every scenario with --seccomp=trap. */
static const char *const allowed[] = {
    /* memory, threads, time, signals */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list", "get_robust_list",
    "rseq", "clone", "clone3", "exit", "exit_group", "gettid", "getpid", "getppid", "sched_yield",
    "sched_getaffinity", "set_tid_address", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
    "gettimeofday", "time", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill", "kill",
    "getrandom", "prlimit64", "getrlimit", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "uname", "sysinfo", "prctl", "getrusage", "times",
    /* the event loop */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
    "select", "pselect6", "eventfd", "eventfd2", "pipe", "pipe2", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", "signalfd", "signalfd4",
    /* sockets */
    "socket", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "setsockopt",
    "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "socketpair",
    /* files */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "lseek", "open", "openat",
    "close", "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl", "fstat", "stat", "lstat", "newfstatat",
    "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64",
    "getcwd", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "fsync", "fdatasync",
    "ftruncate", "chmod", "fchmod", "fchmodat", "fchown", "umask", "flock", "fallocate", "utimensat", "link", "linkat",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "sendfile",
};

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
    char line[80] = "ctlkitd: seccomp: system call ";
    size_t n = strlen(line);
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

int sandbox_install(sandbox_mode mode, ck_err *err)
{
    if (mode == SANDBOX_OFF)
        return 0;
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
    for (size_t i = 0; rc == 0 && i < sizeof allowed / sizeof allowed[0]; i++) {
        int nr = seccomp_syscall_resolve_name(allowed[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a call of this architecture (e.g. open on arm64) */
        rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
    }
    if (rc == 0)
        rc = seccomp_load(f);
    seccomp_release(f);
    if (rc != 0)
        return ck_fail(err, CK_EIO, "seccomp: cannot install the filter: %s", strerror(-rc));
    return 0;
}
