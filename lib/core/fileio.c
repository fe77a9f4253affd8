#include "ctlkit/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Test hook: when CTLKIT_FAIL_WRITE names a path suffix, writing a file
 * whose name ends with it fails as a full disk would. Lets tests prove that
 * a failed publish leaves every node's previous file in place. */
static bool injected_failure(const char *path)
{
#ifndef CTLKIT_TEST_HOOKS
    (void)path;
    return false;
#else
    const char *suffix = getenv("CTLKIT_FAIL_WRITE");
    if (!suffix || !*suffix)
        return false;
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && strcmp(path + n - m, suffix) == 0;
#endif
}

int ck_open_regular(int dirfd, const char *path, int flags, struct stat *st, ck_err *err)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer, and a device may block too. Only after fstat has said
     * "regular file" does anything read from it. */
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags);
    if (fd < 0) {
        if (errno == ELOOP && (flags & O_NOFOLLOW))
            return ck_fail(err, CK_EINVAL, "%s: not a regular file (a symbolic link)", path);
        return ck_fail(err, errno == ENOENT ? CK_ENOTFOUND : CK_EIO, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return ck_fail(err, CK_EINVAL, "%s: not a regular file", path);
    }
    /* Regular files ignore O_NONBLOCK; clear it anyway so that the
     * descriptor behaves as an ordinary one. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int ck_read_file(const char *path, size_t max, uint8_t **data, size_t *len, ck_err *err)
{
    struct stat st;
    int fd = ck_open_regular(AT_FDCWD, path, 0, &st, err);
    if (fd < 0)
        return -1;
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return ck_fail(err, CK_ELIMIT, "%s: %lld bytes, more than the %zu allowed", path,
                       (long long)st.st_size, max);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    if (!p) {
        close(fd);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(p);
            close(fd);
            return ck_fail(err, CK_EIO, "%s: read failed", path);
        }
        got += (size_t)r;
    }
    close(fd);
    *data = p;
    *len = n;
    return 0;
}

int ck_write_file_temp(const char *path, const void *data, size_t len, mode_t mode, char *tmp, size_t tmpsz,
                       ck_err *err)
{
    if (snprintf(tmp, tmpsz, "%s.tmp.%ld", path, (long)getpid()) >= (int)tmpsz)
        return ck_fail(err, CK_EINVAL, "%s: path too long", path);
    return ck_write_file_staged(path, tmp, data, len, mode, err);
}

int ck_write_file_staged(const char *path, const char *tmp, const void *data, size_t len, mode_t mode, ck_err *err)
{
    return ck_write_file_staged_flags(path, tmp, data, len, mode, 0, err);
}

int ck_write_file_staged_flags(const char *path, const char *tmp, const void *data, size_t len, mode_t mode,
                               unsigned flags, ck_err *err)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return ck_fail(err, CK_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    if (fchmod(fd, mode) < 0)
        goto fail;
    if (injected_failure(path)) {
        errno = ENOSPC;
        goto fail;
    }
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        done += (size_t)w;
    }
    if (!(flags & CK_WRITE_NO_SYNC) && fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ck_fail(err, CK_EIO, "%s: cannot write: %s", path, strerror(e));
}

void ck_fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int ck_write_file_atomic_flags(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                               ck_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ck_fail(err, CK_EINVAL, "%s: path too long", path);
    if (ck_write_file_staged_flags(path, tmp, data, len, mode, flags, err) < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ck_fail(err, CK_EIO, "%s: cannot replace: %s", path, strerror(e));
    }
    /* The rename itself must reach the disk before we call it written. */
    if (!(flags & CK_WRITE_NO_SYNC))
        ck_fsync_dir_of(path);
    return 0;
}

int ck_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, ck_err *err)
{
    return ck_write_file_atomic_flags(path, data, len, mode, 0, err);
}

int ck_mkdirs(const char *path, mode_t mode, ck_err *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return ck_fail(err, CK_EINVAL, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return ck_fail(err, CK_EIO, "%s: cannot create: %s", buf, strerror(errno));
        *p = '/';
    }
    bool made = mkdir(buf, mode) == 0;
    if (!made && errno != EEXIST)
        return ck_fail(err, CK_EIO, "%s: cannot create: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) < 0)
        return ck_fail(err, CK_EIO, "%s: %s", buf, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ck_fail(err, CK_EIO, "%s: not a folder", buf);
    /* A folder made here gets mode exactly (mkdir's is less the umask); one
     * that was there loses what mode does not grant and gains nothing: the
     * administrator's 0750 /var/lib/ctlkit stays 0750 when a cluster is made
     * inside it (it became 0755 before: found under systemd-nspawn). */
    mode_t have = st.st_mode & 07777, want = made ? mode : (have & mode);
    if (have != want && chmod(buf, want) < 0)
        return ck_fail(err, CK_EIO, "%s: cannot set mode: %s", buf, strerror(errno));
    return 0;
}

void ck_file_stamp_take(const char *path, ck_file_stamp *stamp)
{
    struct stat st;
    memset(stamp, 0, sizeof *stamp);
    if (stat(path, &st) < 0)
        return;
    stamp->present = true;
    stamp->dev = st.st_dev;
    stamp->ino = st.st_ino;
    stamp->size = st.st_size;
    stamp->mtime = st.st_mtim;
}

bool ck_file_stamp_same(const ck_file_stamp *a, const ck_file_stamp *b)
{
    if (a->present != b->present)
        return false;
    return !a->present || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec);
}

char *ck_path_absolute(const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '/')
        return strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return NULL;
    char *out = NULL;
    if (asprintf(&out, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) < 0)
        return NULL;
    return out;
}
