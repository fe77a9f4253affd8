/* Cluster users (users.h): DIR/provider-users, mode 0600, one line per
 * user, NAME:pbkdf2-sha256:ITER:SALT_HEX:HASH_HEX[:ROLE]. A slow salted hash
 * so that a copied file does not hand out the passwords cheaply. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/users.h"
#include "ctlkit/x509.h"

#define SALT_LEN 16
_Static_assert(CK_USER_STAMP_LEN <= SALT_LEN, "the stamp is the salt");
#define HASH_LEN 32
#define USERS_MAX (64 * 1024)
#define LINE_MAX_LEN 512

const char *ck_user_role_name(ck_user_role r) { return r == CK_ROLE_READONLY ? "read-only" : "admin"; }

int ck_user_role_parse(const char *s, ck_user_role *out, ck_err *err)
{
    if (strcmp(s, "admin") == 0)
        *out = CK_ROLE_ADMIN;
    else if (strcmp(s, "read-only") == 0)
        *out = CK_ROLE_READONLY;
    else
        return ck_fail(err, CK_EINVAL, "role '%s': admin or read-only", s);
    return 0;
}

static void users_path(const char *dir, char *out, size_t outsz) { snprintf(out, outsz, "%s/%s", dir, CK_USERS_FILE); }

static bool valid_user(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > CK_USER_NAME_MAX)
        return false;
    for (const char *p = u; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

static int derive(const char *pw, size_t pwlen, const uint8_t *salt, long iter, uint8_t *out, ck_err *err)
{
    if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, SALT_LEN, (int)iter, EVP_sha256(), HASH_LEN, out) != 1)
        return ck_fail_ssl(err, CK_ECRYPTO, "cannot hash the password");
    return 0;
}

/* Reads the users file; *data NULL (and 0) when it does not exist. */
static int read_users(const char *path, uint8_t **data, size_t *len, ck_err *err)
{
    *data = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return ck_fail(err, CK_EIO, "%s: %s", path, strerror(errno));
    }
    if (st.st_mode & 077)
        return ck_fail(err, CK_EDENIED, "%s is readable by others (mode %03o); it must be 0600", path,
                       (unsigned)(st.st_mode & 0777));
    return ck_read_file(path, USERS_MAX, data, len, err);
}

typedef struct entry {
    char name[CK_USER_NAME_MAX + 1];
    long iter;
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
    ck_user_role role;
} entry;

/* Parses one line (modified in place); false when it is not a well-formed
 * entry. */
static bool parse_line(char *line, entry *e)
{
    char *f[7];
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, ":", &save); tok && n < 7; tok = strtok_r(NULL, ":", &save))
        f[n++] = tok;
    long long iter;
    size_t sl = 0, hl = 0;
    if ((n != 5 && n != 6) || strlen(f[0]) > CK_USER_NAME_MAX || strcmp(f[1], "pbkdf2-sha256") != 0 ||
        !ck_parse_ll(f[2], 1000, 100000000, &iter) || ck_hex_decode(f[3], e->salt, SALT_LEN, &sl) < 0 ||
        sl != SALT_LEN || ck_hex_decode(f[4], e->hash, HASH_LEN, &hl) < 0 || hl != HASH_LEN)
        return false;
    e->role = CK_ROLE_ADMIN;
    if (n == 6 && ck_user_role_parse(f[5], &e->role, NULL) < 0)
        return false;
    snprintf(e->name, sizeof e->name, "%s", f[0]);
    e->iter = (long)iter;
    return true;
}

/* Every well-formed entry of the file (malloc'd array; wipe and free it). */
static int load_entries(const char *path, entry **out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_users(path, &data, &len, err) < 0)
        return -1;
    if (!data)
        return 0;
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += data[i] == '\n';
    entry *v = calloc(cap, sizeof *v);
    if (!v) {
        OPENSSL_cleanse(data, len);
        free(data);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        const uint8_t *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        char line[LINE_MAX_LEN];
        if (end - i < sizeof line) {
            memcpy(line, data + i, end - i);
            line[end - i] = '\0';
            if (parse_line(line, &v[k]))
                k++;
            OPENSSL_cleanse(line, sizeof line);
        }
        i = end + 1;
    }
    OPENSSL_cleanse(data, len);
    free(data);
    *out = v;
    *n = k;
    return 0;
}

static void free_entries(entry *v, size_t n)
{
    if (v)
        OPENSSL_cleanse(v, n * sizeof *v);
    free(v);
}

static int save_entries(const char *path, const entry *v, size_t n, ck_err *err)
{
    ck_buf out;
    ck_buf_init(&out, USERS_MAX);
    for (size_t i = 0; i < n; i++) {
        char line[LINE_MAX_LEN], salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1];
        ck_hex(v[i].salt, SALT_LEN, 0, false, salt_hex, sizeof salt_hex);
        ck_hex(v[i].hash, HASH_LEN, 0, false, hash_hex, sizeof hash_hex);
        int w = snprintf(line, sizeof line, "%s:pbkdf2-sha256:%ld:%s:%s:%s\n", v[i].name, v[i].iter, salt_hex,
                         hash_hex, ck_user_role_name(v[i].role));
        ck_buf_bytes(&out, line, (size_t)w);
        OPENSSL_cleanse(line, sizeof line);
        OPENSSL_cleanse(hash_hex, sizeof hash_hex);
    }
    int rc;
    if (out.failed)
        rc = ck_fail(err, CK_ELIMIT, "%s would grow past %d bytes", path, USERS_MAX);
    else
        rc = ck_write_file_atomic(path, out.data, out.len, 0600, err);
    if (out.data)
        OPENSSL_cleanse(out.data, out.len);
    ck_buf_free(&out);
    return rc;
}

/* Read, change, write back under a lock: two admins at once must not lose
 * an update. */
static int lock_users(const char *path, ck_err *err)
{
    char lock_path[PATH_MAX + 8];
    snprintf(lock_path, sizeof lock_path, "%s.lock", path);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) < 0) {
        if (lock >= 0)
            close(lock);
        return ck_fail(err, CK_EIO, "%s: cannot lock", lock_path);
    }
    return lock;
}

static entry *find_entry(entry *v, size_t n, const char *user)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, user) == 0)
            return &v[i];
    return NULL;
}

static int put_locked(const char *path, const char *user, const char *password, size_t pwlen, ck_user_role role,
                      ck_user_put_mode mode, ck_err *err)
{
    entry *v = NULL;
    size_t n = 0;
    if (load_entries(path, &v, &n, err) < 0)
        return -1;
    int rc = -1;
    entry *e = find_entry(v, n, user);
    if (e && mode == CK_USER_ADD) {
        ck_fail(err, CK_ESTATE, "user %s exists (to change its password: ctlkit user passwd)", user);
        goto out;
    }
    if (!e && mode == CK_USER_PASSWD) {
        ck_fail(err, CK_ENOTFOUND, "no user %s (to create it: ctlkit user add)", user);
        goto out;
    }
    if (!e) {
        entry *nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv) {
            ck_fail(err, CK_ENOMEM, "out of memory");
            goto out;
        }
        v = nv;
        e = &v[n++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", user);
        e->role = role;
    }
    e->iter = CK_USERS_PBKDF2_ITER;
    if (RAND_bytes(e->salt, SALT_LEN) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "no random bytes for the salt");
        goto out;
    }
    if (derive(password, pwlen, e->salt, e->iter, e->hash, err) < 0)
        goto out;
    rc = save_entries(path, v, n, err);
out:
    free_entries(v, n);
    return rc;
}

int ck_users_put(const char *dir, const char *user, const char *password, size_t pwlen, ck_user_role role,
                 ck_user_put_mode mode, ck_err *err)
{
    if (!valid_user(user))
        return ck_fail(err, CK_EINVAL, "user name '%s': 1 to %d letters, digits, '.', '_' or '-'", user,
                       CK_USER_NAME_MAX);
    if (pwlen < CK_USER_PASSWORD_MIN || pwlen > CK_USER_PASSWORD_MAX)
        return ck_fail(err, CK_EINVAL, "the password must be %d to %d characters", CK_USER_PASSWORD_MIN,
                       CK_USER_PASSWORD_MAX);
    if (memchr(password, '\0', pwlen))
        return ck_fail(err, CK_EINVAL, "the password holds a NUL character");
    char path[PATH_MAX];
    users_path(dir, path, sizeof path);
    int lock = lock_users(path, err);
    if (lock < 0)
        return -1;
    int rc = put_locked(path, user, password, pwlen, role, mode, err);
    close(lock);
    return rc;
}

int ck_users_remove(const char *dir, const char *user, ck_err *err)
{
    char path[PATH_MAX];
    users_path(dir, path, sizeof path);
    int lock = lock_users(path, err);
    if (lock < 0)
        return -1;
    entry *v = NULL;
    size_t n = 0;
    int rc = -1;
    if (load_entries(path, &v, &n, err) == 0) {
        entry *e = find_entry(v, n, user);
        if (!e) {
            ck_fail(err, CK_ENOTFOUND, "no user %s", user);
        } else {
            size_t at = (size_t)(e - v);
            memmove(e, e + 1, (n - at - 1) * sizeof *v);
            rc = save_entries(path, v, n - 1, err);
        }
    }
    free_entries(v, n);
    close(lock);
    return rc;
}

int ck_users_list(const char *dir, ck_user_info **out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    char path[PATH_MAX];
    users_path(dir, path, sizeof path);
    entry *v = NULL;
    size_t k = 0;
    if (load_entries(path, &v, &k, err) < 0)
        return -1;
    ck_user_info *u = calloc(k ? k : 1, sizeof *u);
    if (!u) {
        free_entries(v, k);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        snprintf(u[i].name, sizeof u[i].name, "%s", v[i].name);
        u[i].role = v[i].role;
    }
    free_entries(v, k);
    *out = u;
    *n = k;
    return 0;
}

int ck_users_current(const char *dir, const char *user, ck_user_role *role, uint8_t stamp[CK_USER_STAMP_LEN],
                     ck_err *err)
{
    char path[PATH_MAX];
    users_path(dir, path, sizeof path);
    entry *v = NULL;
    size_t n = 0;
    if (load_entries(path, &v, &n, err) < 0)
        return -1;
    const entry *e = find_entry(v, n, user);
    if (e) {
        *role = e->role;
        memcpy(stamp, e->salt, CK_USER_STAMP_LEN);
    }
    free_entries(v, n);
    return e ? 0 : ck_fail(err, CK_ENOTFOUND, "no user %s", user);
}

int ck_users_auth(const char *dir, const char *user, const char *password, size_t pwlen, ck_user_role *role,
                  ck_err *err)
{
    char path[PATH_MAX];
    users_path(dir, path, sizeof path);
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return ck_fail(err, CK_ENOTFOUND, "the cluster has no users yet; on the publisher run: ctlkit user add --cluster DIR USER (or ctlkit provider passwd --cluster DIR USER)");
    entry *v = NULL;
    size_t n = 0;
    if (load_entries(path, &v, &n, err) < 0)
        return -1;
    entry e;
    entry *found = valid_user(user) ? find_entry(v, n, user) : NULL;
    if (found) {
        e = *found;
    } else {
        /* Spend the same time on an unknown user as on a known one, so that
         * timing does not tell which user names exist. */
        memset(&e, 0, sizeof e);
        e.iter = CK_USERS_PBKDF2_ITER;
    }
    free_entries(v, n);
    uint8_t got[HASH_LEN];
    if (derive(password, pwlen, e.salt, e.iter, got, err) < 0) {
        OPENSSL_cleanse(&e, sizeof e);
        return -1;
    }
    bool ok = found && CRYPTO_memcmp(got, e.hash, HASH_LEN) == 0;
    if (ok && role)
        *role = e.role;
    OPENSSL_cleanse(got, sizeof got);
    OPENSSL_cleanse(&e, sizeof e);
    if (!ok)
        return ck_fail(err, CK_EDENIED, "wrong user name or password");
    return 0;
}
