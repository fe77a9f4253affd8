#include "tftp_cache.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/tftp.h"
#include "ctlkit/trustlist.h"
#include "log.h"
#include "tftp_sign.h"

struct tftp_cache {
    struct tftp_file **slots; /* open addressing, linear probing */
    size_t mask;
    size_t count;
    size_t bytes;
    size_t links;    /* files served through a symbolic link: checked on every update */
    bool incomplete; /* a file was left out for the total limit: updates read the whole folder */
    struct tftp_cache_stats stats;
};

static uint32_t name_hash(const char *s, size_t n)
{
    /* FNV-1a: names are short, and a miss must stay cheap. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

struct tftp_file *tftp_file_ref(struct tftp_file *f)
{
    f->refs++;
    return f;
}

void tftp_file_unref(struct tftp_file *f)
{
    if (!f || --f->refs > 0)
        return;
    free(f->name);
    free(f->data);
    free(f->ascii);
    for (int i = 0; i < TFTP_FILE_IMAGES; i++)
        free(f->images[i].pkts);
    tftp_file_unref(f->signed_form);
    free(f);
}

int tftp_file_netascii(struct tftp_file *f, const uint8_t **data, size_t *len, ck_err *err)
{
    if (!f->ascii) {
        ck_buf b;
        ck_buf_init(&b, 0);
        if (ck_tftp_netascii_encode(f->data, f->len, &b, err) < 0) {
            ck_buf_free(&b);
            return -1;
        }
        f->ascii = ck_buf_take(&b, &f->ascii_len);
        if (!f->ascii) { /* empty file: keep a non-NULL marker */
            f->ascii = malloc(1);
            if (!f->ascii)
                return ck_fail(err, CK_ENOMEM, "out of memory for the netascii form of %s", f->name);
            f->ascii_len = 0;
        }
    }
    *data = f->ascii;
    *len = f->ascii_len;
    return 0;
}

const uint8_t *tftp_file_image(struct tftp_file *f, int mode, const uint8_t *data, size_t len, uint32_t blksize)
{
    struct tftp_image *free_slot = NULL;
    for (int i = 0; i < TFTP_FILE_IMAGES; i++) {
        struct tftp_image *im = &f->images[i];
        if (im->blksize == blksize && im->mode == mode)
            return im->pkts;
        if (!im->blksize && !free_slot)
            free_slot = im;
    }
    if (!free_slot || len > TFTP_IMAGE_MAX)
        return NULL;
    size_t nblocks = len / blksize + 1;
    uint8_t *p = malloc(nblocks * (4 + (size_t)blksize));
    if (!p)
        return NULL;
    for (size_t i = 0; i < nblocks; i++) {
        size_t off = i * blksize, sz = len - off < blksize ? len - off : blksize;
        uint8_t *pkt = p + i * (4 + (size_t)blksize);
        ck_tftp_data_header(pkt, (uint16_t)(i + 1));
        if (sz)
            memcpy(pkt + 4, data + off, sz);
    }
    *free_slot = (struct tftp_image){.blksize = blksize, .mode = mode, .pkts = p};
    return p;
}

static struct tftp_file **slot_of(const struct tftp_cache *c, const char *name, size_t len, uint32_t h)
{
    for (size_t i = h & c->mask;; i = (i + 1) & c->mask) {
        struct tftp_file *f = c->slots[i];
        if (!f || (f->hash == h && f->name_len == len && memcmp(f->name, name, len) == 0))
            return &c->slots[i];
    }
}

struct tftp_file *tftp_cache_find(const struct tftp_cache *c, const char *name, size_t len)
{
    return *slot_of(c, name, len, name_hash(name, len));
}

struct tftp_file *tftp_cache_find_signed(const struct tftp_cache *c, const char *name, size_t len,
                                         const struct tftp_signer *s, ck_err *err)
{
    static const char suffix[] = ".sgn";
    size_t sl = sizeof suffix - 1;
    if (!s || !s->gen || !s->key || len <= sl || memcmp(name + len - sl, suffix, sl) != 0) {
        ck_fail(err, CK_ENOTFOUND, "not found");
        return NULL;
    }
    struct tftp_file *plain = tftp_cache_find(c, name, len - sl);
    if (!plain) {
        ck_fail(err, CK_ENOTFOUND, "not found");
        return NULL;
    }
    if (plain->signed_form && plain->signed_gen == s->gen)
        return plain->signed_form;

    struct tftp_file *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strndup(name, len))) {
        free(f);
        ck_fail(err, CK_ENOMEM, "out of memory signing %s", plain->name);
        return NULL;
    }
    f->refs = 1;
    f->name_len = len;
    f->hash = name_hash(f->name, len);
    ck_tl_signer signer;
    ck_tl_signer_key(&signer, s->cert, s->key);
    /* FILENAME: the name asked for (X.sgn), as in CUCM's signed files. */
    ck_tl_build_opts o = {.filename = f->name, .digest_alg = CK_DIGEST_SHA1};
    if (ck_sgn_build(plain->data, plain->len, &signer, &o, &f->data, &f->len, err) < 0) {
        ck_err_prefix(err, "signing %s", plain->name);
        tftp_file_unref(f);
        return NULL;
    }
    /* The plain file holds the only reference; a transfer takes its own. */
    tftp_file_unref(plain->signed_form);
    plain->signed_form = f;
    plain->signed_gen = s->gen;
    return f;
}

size_t tftp_cache_count(const struct tftp_cache *c) { return c->count; }
size_t tftp_cache_bytes(const struct tftp_cache *c) { return c->bytes; }
const struct tftp_cache_stats *tftp_cache_stats(const struct tftp_cache *c) { return &c->stats; }

static int cache_insert(struct tftp_cache *c, struct tftp_file *f)
{
    /* Keep the table at most half full so that probes stay short. */
    if ((c->count + 1) * 2 > c->mask + 1) {
        size_t n = (c->mask + 1) * 2;
        struct tftp_file **s = calloc(n, sizeof *s);
        if (!s)
            return -1;
        struct tftp_cache grown = {.slots = s, .mask = n - 1};
        for (size_t i = 0; i <= c->mask; i++)
            if (c->slots[i])
                *slot_of(&grown, c->slots[i]->name, c->slots[i]->name_len, c->slots[i]->hash) = c->slots[i];
        free(c->slots);
        c->slots = s;
        c->mask = n - 1;
    }
    *slot_of(c, f->name, f->name_len, f->hash) = f;
    c->count++;
    c->bytes += f->len;
    c->links += f->via_link;
    return 0;
}

/* Drops the file in slot i. Linear probing has no tombstones: the entries
 * after the hole that could no longer be reached from their home slot
 * move back into it. */
static void cache_remove(struct tftp_cache *c, size_t i)
{
    struct tftp_file *f = c->slots[i];
    c->slots[i] = NULL;
    c->count--;
    c->bytes -= f->len;
    c->links -= f->via_link;
    tftp_file_unref(f);
    for (size_t j = (i + 1) & c->mask; c->slots[j]; j = (j + 1) & c->mask) {
        size_t home = c->slots[j]->hash & c->mask;
        /* Reachable still if its home lies cyclically in (hole, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            c->slots[i] = c->slots[j];
            c->slots[j] = NULL;
            i = j;
        }
    }
}

void tftp_cache_free(struct tftp_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->slots && i <= c->mask; i++)
        tftp_file_unref(c->slots[i]);
    free(c->slots);
    free(c);
}

static bool same_identity(const struct tftp_file *f, const struct stat *st)
{
    return f->dev == st->st_dev && f->ino == st->st_ino && f->len == (size_t)st->st_size &&
           f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           f->ctime.tv_sec == st->st_ctim.tv_sec && f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Temporaries and backups are never served, whatever wrote them: they may
 * be half written, or an old version a publish meant to replace. Hidden
 * files (editors' and staging files), NAME.tmp.* (atomic replacement by
 * older ctlkit versions and others), NAME.prev / .bak / .orig / .old,
 * editor backups (NAME~, #NAME#, *.swp) and partial downloads. */
static bool skipped_name(const char *n)
{
    static const char *const suffixes[] = {".prev", ".bak", ".orig", ".old", "~", ".swp", ".swo", ".tmp",
                                           ".part", ".partial"};
    if (n[0] == '.' || n[0] == '#' || strstr(n, ".tmp.") || strstr(n, ".prev."))
        return true;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (ends_with(n, suffixes[i]))
            return true;
    return false;
}

/* Reads one file; fd is closed. */
static struct tftp_file *load_file(int fd, const char *name, const struct stat *st, ck_err *err)
{
    struct tftp_file *f = calloc(1, sizeof *f);
    size_t got = 0;
    if (!f)
        goto nomem;
    f->refs = 1;
    f->name_len = strlen(name);
    f->name = strdup(name);
    f->data = malloc(st->st_size > 0 ? (size_t)st->st_size : 1);
    if (!f->name || !f->data)
        goto nomem;
    while (got < (size_t)st->st_size) {
        ssize_t r = read(fd, f->data + got, (size_t)st->st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ck_fail(err, CK_EIO, "%s: %s", name, r < 0 ? strerror(errno) : "file shrank while being read");
            goto fail;
        }
        got += (size_t)r;
    }
    f->len = got;
    f->hash = name_hash(f->name, f->name_len);
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->mtime = st->st_mtim;
    f->ctime = st->st_ctim;
    close(fd);
    return f;
nomem:
    ck_fail(err, CK_ENOMEM, "%s: out of memory", name);
fail:
    close(fd);
    tftp_file_unref(f);
    return NULL;
}

/* Opens root/name if it is a regular file, or a symbolic link to a
 * regular file inside root (real path under real_root); fills *st and
 * *link. CK_ENOTFOUND: no such entry (any more). */
static int open_entry(int dirfd, const char *root, const char *real_root, const char *name, struct stat *st,
                      bool *link, ck_err *err)
{
    int fd = -1;
    *link = false;
    if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
        return ck_fail(err, errno == ENOENT ? CK_ENOTFOUND : CK_EIO, "%s: %s", name, strerror(errno));
    if (S_ISLNK(st->st_mode)) {
        char path[PATH_MAX + 1], real[PATH_MAX];
        size_t rl = strlen(real_root);
        *link = true;
        snprintf(path, sizeof path, "%s/%s", root, name);
        if (!realpath(path, real))
            return ck_fail(err, CK_EIO, "%s: broken symbolic link: %s", name, strerror(errno));
        if (strncmp(real, real_root, rl) != 0 || (real[rl] != '/' && rl > 1))
            return ck_fail(err, CK_EDENIED, "%s: symbolic link to %s, outside the TFTP root: not served",
                           name, real);
        /* A FIFO behind the link must not block the daemon's only thread. */
        fd = ck_open_regular(AT_FDCWD, real, O_NOFOLLOW, st, err);
    } else if (S_ISREG(st->st_mode)) {
        fd = ck_open_regular(dirfd, name, O_NOFOLLOW, st, err);
    } else {
        return ck_fail(err, CK_EINVAL, "%s: not a regular file: not served", name);
    }
    if (fd < 0 && err->code == CK_EINVAL)
        return ck_fail(err, CK_EINVAL, "%s: not a regular file: not served", name);
    return fd;
}

/* The file to serve as name: old (the cached one, may be NULL) with a new
 * reference when it is unchanged, else the file read again; *out NULL
 * when name is not to be served (gone, not a regular file, unreadable,
 * over a limit: logged). used: the bytes the cache serves besides this
 * name. Fails only when memory is short. */
static int take_entry(struct tftp_cache *c, int dirfd, const char *real_root, const char *name,
                      struct tftp_file *old, size_t used, const struct tftp_cache_limits *lim,
                      struct tftp_file **out, ck_err *err)
{
    struct stat st;
    bool link;
    ck_err ferr;
    *out = NULL;
    c->stats.examined++;
    int fd = open_entry(dirfd, real_root, real_root, name, &st, &link, &ferr);
    if (fd < 0) {
        /* Sub-directories are not worth a line, nor a file on its way out. */
        if (ferr.code != CK_EINVAL && ferr.code != CK_ENOTFOUND)
            dlog(DLOG_WARNING, "TFTP cache: %s", ferr.msg);
        return 0;
    }
    if ((size_t)st.st_size > lim->max_file || used + (size_t)st.st_size > lim->max_total) {
        bool per_file = (size_t)st.st_size > lim->max_file;
        dlog(DLOG_WARNING, "TFTP cache: %s (%lld bytes) not served: over the %s limit", name,
             (long long)st.st_size, per_file ? "per-file" : "total");
        c->incomplete |= !per_file;
        close(fd);
        return 0;
    }
    if (old && same_identity(old, &st) && old->via_link == link) {
        close(fd);
        *out = tftp_file_ref(old);
        return 0;
    }
    c->stats.read++;
    if (!(*out = load_file(fd, name, &st, &ferr))) {
        dlog(DLOG_WARNING, "TFTP cache: %s", ferr.msg);
        return ferr.code == CK_ENOMEM ? ck_fail(err, CK_ENOMEM, "%s", ferr.msg) : 0;
    }
    (*out)->via_link = link;
    return 0;
}

static struct tftp_cache *cache_new(size_t slots, const struct tftp_cache *prev, ck_err *err)
{
    struct tftp_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->slots = calloc(slots, sizeof *c->slots))) {
        free(c);
        ck_fail(err, CK_ENOMEM, "out of memory for the TFTP cache");
        return NULL;
    }
    c->mask = slots - 1;
    if (prev)
        c->stats = prev->stats;
    c->stats.loads++;
    return c;
}

struct tftp_cache *tftp_cache_load(const char *root, const struct tftp_cache *prev,
                                   const struct tftp_cache_limits *lim, ck_err *err)
{
    struct tftp_cache *c = cache_new(16, prev, err);
    DIR *d = NULL;
    char real_root[PATH_MAX];
    if (!c)
        return NULL;
    c->stats.full++;
    if (!realpath(root, real_root) || !(d = opendir(real_root))) {
        ck_fail(err, CK_EIO, "TFTP root %s: %s", root, strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (skipped_name(de->d_name))
            continue;
        struct tftp_file *old = prev ? tftp_cache_find(prev, de->d_name, strlen(de->d_name)) : NULL, *f;
        if (take_entry(c, dirfd(d), real_root, de->d_name, old, c->bytes, lim, &f, err) < 0)
            goto fail;
        if (f && cache_insert(c, f) < 0) {
            tftp_file_unref(f);
            ck_fail(err, CK_ENOMEM, "out of memory for the TFTP cache");
            goto fail;
        }
    }
    if (errno) {
        ck_fail(err, CK_EIO, "TFTP root %s: %s", root, strerror(errno));
        goto fail;
    }
    closedir(d);
    return c;
fail:
    if (d)
        closedir(d);
    tftp_cache_free(c);
    return NULL;
}

/* Brings c's entry for name up to date with the folder. */
static int update_name(struct tftp_cache *c, int dirfd, const char *real_root, const char *name,
                       const struct tftp_cache_limits *lim, ck_err *err)
{
    size_t len = strlen(name);
    if (skipped_name(name) || memchr(name, '/', len))
        return 0;
    struct tftp_file **slot = slot_of(c, name, len, name_hash(name, len)), *old = *slot, *f;
    if (take_entry(c, dirfd, real_root, name, old, c->bytes - (old ? old->len : 0), lim, &f, err) < 0)
        return -1;
    if (f == old) { /* unchanged, or still absent */
        if (f)
            tftp_file_unref(f);
        return 0;
    }
    if (!f) {
        cache_remove(c, (size_t)(slot - c->slots));
        return 0;
    }
    if (!old) {
        if (cache_insert(c, f) < 0) {
            tftp_file_unref(f);
            return ck_fail(err, CK_ENOMEM, "out of memory for the TFTP cache");
        }
        return 0;
    }
    /* Same name, same slot: the new file takes the old one's place (and
     * the old one's signed form goes with it). */
    c->bytes = c->bytes - old->len + f->len;
    c->links = c->links - old->via_link + f->via_link;
    *slot = f;
    tftp_file_unref(old);
    return 0;
}

struct tftp_cache *tftp_cache_update(const char *root, const struct tftp_cache *prev, const char *const *names,
                                     size_t n, const struct tftp_cache_limits *lim, ck_err *err)
{
    /* Whether a file left out for the total limit fits now depends on
     * every other file: only a whole pass can tell. */
    if (!prev || prev->incomplete)
        return tftp_cache_load(root, prev, lim, err);
    struct tftp_cache *c = cache_new(prev->mask + 1, prev, err);
    char real_root[PATH_MAX];
    int dfd = -1;
    if (!c)
        return NULL;
    for (size_t i = 0; i <= prev->mask; i++)
        if ((c->slots[i] = prev->slots[i]))
            tftp_file_ref(c->slots[i]);
    c->count = prev->count;
    c->bytes = prev->bytes;
    c->links = prev->links;
    if (!realpath(root, real_root) || (dfd = open(real_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        ck_fail(err, CK_EIO, "TFTP root %s: %s", root, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if (update_name(c, dfd, real_root, names[i], lim, err) < 0)
            goto fail;
    /* A link's target may have changed under another name (no event
     * names the link): links are few, check them all. */
    for (size_t i = 0; prev->links && i <= prev->mask; i++)
        if (prev->slots[i] && prev->slots[i]->via_link &&
            update_name(c, dfd, real_root, prev->slots[i]->name, lim, err) < 0)
            goto fail;
    close(dfd);
    return c;
fail:
    if (dfd >= 0)
        close(dfd);
    tftp_cache_free(c);
    return NULL;
}

void tftp_cache_diff(const struct tftp_cache *old, const struct tftp_cache *new_,
                     void (*fn)(void *arg, const struct tftp_file *f, enum tftp_change what), void *arg)
{
    /* An update starts from a copy of the old table: a slot holding the
     * same file in both is unchanged, with no lookup (most of them). */
    bool same_shape = old && old->mask == new_->mask;
    for (size_t i = 0; i <= new_->mask; i++) {
        const struct tftp_file *f = new_->slots[i];
        if (!f || (same_shape && old->slots[i] == f))
            continue;
        const struct tftp_file *o = old ? tftp_cache_find(old, f->name, f->name_len) : NULL;
        if (!o)
            fn(arg, f, TFTP_ADDED);
        else if (o != f)
            fn(arg, f, TFTP_CHANGED);
    }
    for (size_t i = 0; old && i <= old->mask; i++) {
        const struct tftp_file *o = old->slots[i];
        if (o && !(same_shape && new_->slots[i] == o) && !tftp_cache_find(new_, o->name, o->name_len))
            fn(arg, o, TFTP_REMOVED);
    }
}

bool tftp_name_normalise(const char *name, size_t len, const char **key, size_t *key_len)
{
    while (len > 0 && (*name == '/' || *name == '\\')) {
        name++;
        len--;
    }
    /* Refuse ".." as any component, whichever separator a client uses. */
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '/' || name[i] == '\\') {
            if (i - start == 2 && name[start] == '.' && name[start + 1] == '.')
                return false;
            start = i + 1;
        }
    }
    *key = name;
    *key_len = len;
    return true;
}

const char *tftp_file_md5(struct tftp_file *f)
{
    if (!f->md5[0]) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        if (EVP_Digest(f->data, f->len, d, &dn, EVP_md5(), NULL))
            ck_hex(d, dn, 0, false, f->md5, sizeof f->md5);
    }
    return f->md5;
}
