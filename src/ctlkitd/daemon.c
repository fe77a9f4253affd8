#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

long daemon_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return -1;
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

int daemon_detach(ck_err *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return ck_fail(err, CK_EIO, "cannot fork into the background: %s", strerror(errno));
    if (pid > 0)
        return 1; /* the parent's only job is to return the shell prompt */
    if (setsid() < 0)
        return ck_fail(err, CK_EIO, "setsid: %s", strerror(errno));
    if (chdir("/") != 0)
        return ck_fail(err, CK_EIO, "chdir /: %s", strerror(errno));
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return ck_fail(err, CK_EIO, "/dev/null: %s", strerror(errno));
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    return 0;
}
