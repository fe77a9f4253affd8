/* The TFTP directory in memory.
 *
 * A cache holds every regular file directly in the TFTP root (no
 * sub-directories), loaded by the daemon itself: since requests can only
 * name entries of this table, nothing outside the root can ever be served,
 * whatever the request says. Lookups are one hash probe and no system call,
 * so the miss every phone causes first (CTLSEP<MAC>.tlv, then CTLFile.tlv)
 * costs almost nothing.
 *
 * Files are reference counted: a reload builds a new cache (sharing the
 * files whose size, times and inode did not change; after a change the
 * watch has named, looking at those names only) and the caller swaps it
 * in; a transfer in flight holds a reference to the file it started
 * with, so it finishes with consistent bytes even if the file was replaced
 * or removed meanwhile. Single-threaded: no locks. */
#ifndef CTLKITD_TFTP_CACHE_H
#define CTLKITD_TFTP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ctlkit/error.h"

/* DATA packets of a whole file for one block size and mode, back to back:
 * block i (from 1) at pkts + (i - 1) * (4 + blksize), header included, so
 * that each is sent as one contiguous buffer. Built on first use, kept
 * with the file; only for files up to TFTP_IMAGE_MAX bytes. */
#define TFTP_FILE_IMAGES 4
#define TFTP_IMAGE_MAX (1u << 20)
struct tftp_image {
    uint32_t blksize; /* 0: slot unused */
    int mode;         /* ck_tftp_mode */
    uint8_t *pkts;
};

struct tftp_file {
    unsigned refs;
    char *name;       /* NUL-terminated */
    size_t name_len;
    uint32_t hash;
    uint8_t *data;    /* the file's bytes (octet mode) */
    size_t len;
    uint8_t *ascii;   /* netascii form, built on first netascii request */
    size_t ascii_len;
    struct tftp_image images[TFTP_FILE_IMAGES];
    char md5[33];     /* hex MD5 of data, computed on first use ("" until then) */
    /* identity, to share the file with the next cache when unchanged */
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
    /* "<name>.sgn": this file signed by the node's key, built on the first
     * request (tftp_cache_find_signed) and kept while file and key stay
     * the same (signed_gen = the key's generation). */
    struct tftp_file *signed_form;
    unsigned signed_gen;
    bool via_link; /* served through a symbolic link in the root */
};

struct tftp_cache_limits {
    size_t max_file;  /* larger files are skipped with a warning */
    size_t max_total; /* files past this total are skipped with a warning */
};

struct tftp_cache;

/* What loading costs, counted since the daemon's first load (each cache
 * carries its predecessor's counts on): files opened and compared with
 * the cached copy, files whose bytes were read, loads (the first one and
 * every reload), and of those the passes over the whole folder. */
struct tftp_cache_stats {
    unsigned long long examined, read, loads, full;
};

/* Loads root. prev (may be NULL) lends its unchanged files. Files that
 * cannot be read are skipped and logged; only an unreadable root fails. */
struct tftp_cache *tftp_cache_load(const char *root, const struct tftp_cache *prev,
                                   const struct tftp_cache_limits *lim, ck_err *err);
/* The same as a load after a change to the n entries called names (as
 * the directory watch saw them): only those are checked again (and the
 * files served through symbolic links, whose targets change under other
 * names); every other file of prev is kept as it is, without a look at
 * the folder. Falls back to a whole load when prev left a file out for
 * the total limit. Names of entries that are never served (hidden,
 * temporaries, backups) cost nothing. */
struct tftp_cache *tftp_cache_update(const char *root, const struct tftp_cache *prev, const char *const *names,
                                     size_t n, const struct tftp_cache_limits *lim, ck_err *err);
/* Drops the cache's references; files in use by transfers live on. */
void tftp_cache_free(struct tftp_cache *c);
size_t tftp_cache_count(const struct tftp_cache *c);
size_t tftp_cache_bytes(const struct tftp_cache *c);
const struct tftp_cache_stats *tftp_cache_stats(const struct tftp_cache *c);

/* The file called name (len bytes, not necessarily NUL-terminated), or
 * NULL. No reference is taken: see tftp_file_ref. */
struct tftp_file *tftp_cache_find(const struct tftp_cache *c, const char *name, size_t len);

struct tftp_signer;
/* For a name "X.sgn" that is not in the cache itself: X signed as a .sgn
 * by s (FILENAME X), built once per change of X or of the key and kept
 * with X. NULL when there is no key, no such X, or signing failed (err
 * says; CK_ENOTFOUND for the first two). No reference is taken. */
struct tftp_file *tftp_cache_find_signed(const struct tftp_cache *c, const char *name, size_t len,
                                         const struct tftp_signer *s, ck_err *err);

enum tftp_change { TFTP_ADDED, TFTP_CHANGED, TFTP_REMOVED };
/* Calls fn for each file that differs between old and new. */
void tftp_cache_diff(const struct tftp_cache *old, const struct tftp_cache *new_,
                     void (*fn)(void *arg, const struct tftp_file *f, enum tftp_change what), void *arg);

/* The hex MD5 of f's bytes (what a phone's screen shows for a CTL),
 * computed once and kept with the file. */
const char *tftp_file_md5(struct tftp_file *f);
struct tftp_file *tftp_file_ref(struct tftp_file *f);
void tftp_file_unref(struct tftp_file *f);
/* The netascii form of f (built once, then kept with the file). */
int tftp_file_netascii(struct tftp_file *f, const uint8_t **data, size_t *len, ck_err *err);

/* The packet image of f's data (octet or netascii, as given by data/len)
 * for blksize, or NULL when the file is too large for one, all slots are
 * taken, or memory is short: the caller then sends header and data as
 * two pieces. */
const uint8_t *tftp_file_image(struct tftp_file *f, int mode, const uint8_t *data, size_t len, uint32_t blksize);

/* Maps a requested name to a cache key. A leading '/' is dropped (clients
 * that send "/CTLFile.tlv" mean the root). A ".." component (with '/' or
 * '\' as separator) is refused: returns false, the request gets "Access
 * violation". Any other name with a separator simply is not in the cache. */
bool tftp_name_normalise(const char *name, size_t len, const char **key, size_t *key_len);

#endif
