/* Whole-file reads and atomic replacement (temporary file, fsync, rename). */
#ifndef CTLKIT_FILEIO_H
#define CTLKIT_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "ctlkit/error.h"

/* Opens path (relative to dirfd, or AT_FDCWD) for reading, but only when
 * it is a regular file: a FIFO or device never blocks the open, and
 * anything else fails with "PATH: not a regular file" (CK_EINVAL). flags
 * may add O_NOFOLLOW. Fills *st from the opened descriptor. Every file
 * named by a user or found in a served folder is opened this way. */
int ck_open_regular(int dirfd, const char *path, int flags, struct stat *st, ck_err *err);
/* Reads path into a malloc'd buffer; refuses files larger than max. */
int ck_read_file(const char *path, size_t max, uint8_t **data, size_t *len, ck_err *err);
/* Replaces path atomically: writes PATH.tmp.PID with mode, fsyncs it,
 * renames it over path and fsyncs the directory. On failure the old file
 * is untouched and the temporary is removed. */
CK_MUST_USE int ck_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, ck_err *err);
/* First half of the above: writes and fsyncs PATH.tmp.PID (name in tmp)
 * and leaves it for the caller to rename; removes it on failure. The
 * CTLKIT_FAIL_WRITE test hook (a path suffix) makes it fail like a full
 * disk, so that tests can prove a failed publish changes nothing. */
CK_MUST_USE int ck_write_file_temp(const char *path, const void *data, size_t len, mode_t mode, char *tmp, size_t tmpsz,
                       ck_err *err);
/* The same with the temporary's name chosen by the caller (a staging
 * folder outside a served one, on the same filesystem as path); the test
 * hook still matches path, the file the bytes are meant for. */
CK_MUST_USE int ck_write_file_staged(const char *path, const char *tmp, const void *data, size_t len, mode_t mode, ck_err *err);
/* Options of the _flags forms below (0: the same as the plain forms). */
enum {
    /* No fsync of the file (and, for the atomic form, of its folder):
     * readers still see the old or the new file whole, but after a crash
     * the new name may hold an empty or partial file. Only for files that
     * are derived again from a durable source before anyone reads them
     * after a restart (a node's device configuration files, rebuilt from
     * the store at every daemon start: lib/cluster/device_files.c). */
    CK_WRITE_NO_SYNC = 1u << 0,
};
CK_MUST_USE int ck_write_file_atomic_flags(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                                           ck_err *err);
CK_MUST_USE int ck_write_file_staged_flags(const char *path, const char *tmp, const void *data, size_t len, mode_t mode,
                                           unsigned flags, ck_err *err);
void ck_fsync_dir_of(const char *path);
/* mkdir -p with a mode for the last component: made, it gets mode exactly;
 * already there, it keeps its mode less the bits mode does not grant (never
 * opened wider). Folders made on the way are 0755 less the umask. */
CK_MUST_USE int ck_mkdirs(const char *path, mode_t mode, ck_err *err);

/* What a watcher remembers of a file to notice that it changed: whether it
 * is there and, from stat, which file it is (device, inode: a rename over
 * it is a new inode) and its size and modification time to the nanosecond
 * (a rewrite in place). Every watch of a file (the TVS's CTL, a cluster
 * node's CTL) compares stamps this way. */
typedef struct ck_file_stamp {
    bool present;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} ck_file_stamp;
/* Stamps path as it is now (absent when stat fails). */
void ck_file_stamp_take(const char *path, ck_file_stamp *stamp);
/* Whether two stamps describe the same file in the same state. */
bool ck_file_stamp_same(const ck_file_stamp *a, const ck_file_stamp *b);

/* path made absolute against the working directory now (malloc'd; an
 * absolute path is copied as it is). Unlike realpath the file need not
 * exist yet, and links are not followed: for a path a daemon keeps
 * watching or reading after it has left its working directory. NULL
 * when out of memory or the working directory cannot be read. */
char *ck_path_absolute(const char *path);

#endif
