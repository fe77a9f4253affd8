/* ctlkit-web's seccomp list (the mechanism: lib/os/sandbox.c). */
#include "sandbox_calls.h"

/* What the dashboard calls while it serves: the event loop and its HTTPS
 * connections, the login and rehearsal threads, reading the cluster's store
 * (SQLite files, or PostgreSQL over a socket) and this node's users file,
 * a rehearsal's throw-away copy of the cluster (made, written, wiped and
 * removed under TMPDIR), and OpenSSL's randomness. Not in it: starting
 * programs, changing users, binding new sockets, ptrace, mounts, modules,
 * keys, namespaces. Found by running the web tests with --seccomp=trap. */
static const char *const names[] = {
    /* memory, threads, time, signals */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list", "get_robust_list",
    "rseq", "clone", "clone3", "exit", "exit_group", "gettid", "getpid", "getppid", "sched_yield",
    "sched_getaffinity", "set_tid_address", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
    "gettimeofday", "time", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill",
    "getrandom", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "uname", "sysinfo",
    "prlimit64", "getrlimit", "getrusage",
    /* the event loop */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
    "select", "pselect6", "eventfd", "eventfd2", "pipe", "pipe2",
    /* sockets: accepting HTTPS, and a PostgreSQL store's connections */
    "socket", "accept", "accept4", "connect", "getsockname", "getpeername", "setsockopt", "getsockopt",
    "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
    /* files */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "open", "openat", "close", "dup", "dup2",
    "dup3", "fcntl", "ioctl", "fstat", "stat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access",
    "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd", "rename", "renameat", "renameat2",
    "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "fsync", "fdatasync", "ftruncate", "chmod", "fchmod",
    "fchmodat", "fchown", "umask", "flock", "fallocate", "utimensat",
};

const sandbox_calls web_calls = {"ctlkit-web", names, sizeof names / sizeof names[0]};
