/* ctlkitd's seccomp list (the mechanism: lib/os/sandbox.c). */
#include "sandbox_calls.h"

/* What the running services call: the event loop and its sockets (TFTP,
 * TVS, CTL Provider, metrics), the TVS threads, reading the TFTP folder
 * and the cluster's store (SQLite files, or PostgreSQL over a socket),
 * writing the node's files atomically, syslog, and OpenSSL's randomness.
 * Not in it: starting programs, changing users, ptrace, mounts, modules,
 * keys, namespaces. Found by running every scenario with --seccomp=trap. */
static const char *const names[] = {
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

const sandbox_calls ctlkitd_calls = {"ctlkitd", names, sizeof names / sizeof names[0]};
