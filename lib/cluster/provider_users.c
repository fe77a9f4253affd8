/* CTL Provider admin credentials: DIR/provider-users, mode 0600, one line
 * per user, NAME:pbkdf2-sha256:ITER:SALT_HEX:HASH_HEX. A slow salted hash
 * so that a copied file does not hand out the passwords cheaply. */
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/provider_ops.h"
#include "ctlkit/store.h"
#include "ctlkit/x509.h"
#include "internal.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define USERS_MAX (64 * 1024)

static void users_path(const char *dir, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", dir, CK_PROVIDER_USERS_FILE);
}

static bool valid_user(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > CK_PV_USER_MAX)
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
    char name[CK_PV_USER_MAX + 1];
    long iter;
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
} entry;

/* Parses one line; false when it is not a well-formed entry. */
static bool parse_line(char *line, entry *e)
{
    char *f[5];
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, ":", &save); tok && n < 5; tok = strtok_r(NULL, ":", &save))
        f[n++] = tok;
    long long iter;
    size_t sl = 0, hl = 0;
    if (n != 5 || strtok_r(NULL, ":", &save) || strlen(f[0]) > CK_PV_USER_MAX || strcmp(f[1], "pbkdf2-sha256") != 0 ||
        !ck_parse_ll(f[2], 1000, 100000000, &iter) || ck_hex_decode(f[3], e->salt, SALT_LEN, &sl) < 0 ||
        sl != SALT_LEN || ck_hex_decode(f[4], e->hash, HASH_LEN, &hl) < 0 || hl != HASH_LEN)
        return false;
    snprintf(e->name, sizeof e->name, "%s", f[0]);
    e->iter = (long)iter;
    return true;
}

/* Finds user in the file's text (modified in place). */
static bool find_user(char *text, const char *user, entry *out)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char copy[512];
        if (strlen(line) >= sizeof copy)
            continue;
        snprintf(copy, sizeof copy, "%s", line);
        entry e;
        if (parse_line(copy, &e) && strcmp(e.name, user) == 0) {
            *out = e;
            return true;
        }
    }
    return false;
}

static int passwd_locked(const char *path, const char *user, const char *password, size_t pwlen, ck_err *err);

int ck_cluster_provider_home(ck_cluster *c, const char **dir, ck_err *err)
{
    *dir = NULL;
    if (!c->url) {
        *dir = c->dir;
        return 0;
    }
    /* Across hosts the CTL Provider runs on the publisher and reads the
     * users file in its own node folder: set them there, nowhere else
     * (the URL is never a folder name: it may carry a password). */
    ck_node pub;
    if (ck_store_publisher(c->store, &pub, err) < 0)
        return -1;
    if (!c->here_dir[0])
        return ck_fail(err, CK_EINVAL,
                       "%s: the CTL Provider's users live in the publisher's node folder: give --dir DIR --node %s "
                       "on its host",
                       c->name, pub.name);
    if (strcmp(c->here, pub.name) != 0)
        return ck_fail(err, CK_ESTATE,
                       "the CTL Provider runs on the publisher %s, not on %s: set its users on the publisher's host",
                       pub.name, c->here);
    *dir = c->here_dir;
    return 0;
}

int ck_provider_passwd(const char *cluster_dir, const char *user, const char *password, size_t pwlen, ck_err *err)
{
    if (!valid_user(user))
        return ck_fail(err, CK_EINVAL, "user name '%s': 1 to %d letters, digits, '.', '_' or '-'", user,
                       CK_PV_USER_MAX);
    if (pwlen < 8 || pwlen > CK_PV_PASSWORD_MAX)
        return ck_fail(err, CK_EINVAL, "the password must be 8 to %d characters", CK_PV_PASSWORD_MAX);
    if (memchr(password, '\0', pwlen))
        return ck_fail(err, CK_EINVAL, "the password holds a NUL character");
    char path[PATH_MAX], lock_path[PATH_MAX + 8];
    users_path(cluster_dir, path, sizeof path);
    /* Read, change, write back: two admins at once must not lose an update. */
    snprintf(lock_path, sizeof lock_path, "%s.lock", path);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) < 0) {
        if (lock >= 0)
            close(lock);
        return ck_fail(err, CK_EIO, "%s: cannot lock", lock_path);
    }
    int rc = passwd_locked(path, user, password, pwlen, err);
    close(lock);
    return rc;
}

static int passwd_locked(const char *path, const char *user, const char *password, size_t pwlen, ck_err *err)
{
    uint8_t *old = NULL;
    size_t old_len = 0;
    if (read_users(path, &old, &old_len, err) < 0)
        return -1;
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1) {
        free(old);
        return ck_fail_ssl(err, CK_ECRYPTO, "no random bytes for the salt");
    }
    if (derive(password, pwlen, salt, CK_PROVIDER_PBKDF2_ITER, hash, err) < 0) {
        free(old);
        return -1;
    }
    ck_buf out;
    ck_buf_init(&out, USERS_MAX);
    /* Keep every other user's line as it was. */
    for (size_t i = 0; i < old_len;) {
        const uint8_t *nl = memchr(old + i, '\n', old_len - i);
        size_t end = nl ? (size_t)(nl - old) : old_len;
        size_t ul = strlen(user);
        bool mine = end - i > ul && memcmp(old + i, user, ul) == 0 && old[i + ul] == ':';
        if (!mine && end > i) {
            ck_buf_bytes(&out, old + i, end - i);
            ck_buf_u8(&out, '\n');
        }
        i = end + 1;
    }
    char line[512], salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1];
    ck_hex(salt, sizeof salt, 0, false, salt_hex, sizeof salt_hex);
    ck_hex(hash, sizeof hash, 0, false, hash_hex, sizeof hash_hex);
    int w = snprintf(line, sizeof line, "%s:pbkdf2-sha256:%d:%s:%s\n", user, CK_PROVIDER_PBKDF2_ITER, salt_hex,
                     hash_hex);
    ck_buf_bytes(&out, line, (size_t)w);
    OPENSSL_cleanse(hash, sizeof hash);
    OPENSSL_cleanse(hash_hex, sizeof hash_hex);
    OPENSSL_cleanse(line, sizeof line);
    OPENSSL_cleanse(old, old_len);
    free(old);
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

int ck_provider_auth(const char *cluster_dir, const char *user, const char *password, size_t pwlen, ck_err *err)
{
    char path[PATH_MAX];
    users_path(cluster_dir, path, sizeof path);
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_users(path, &data, &len, err) < 0)
        return -1;
    if (!data)
        return ck_fail(err, CK_ENOTFOUND,
                       "the CTL Provider has no users yet; on the publisher run: ctlkit provider passwd --cluster DIR USER");
    char *text = malloc(len + 1);
    if (!text) {
        free(data);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    memcpy(text, data, len);
    text[len] = '\0';
    free(data);
    entry e;
    bool known = valid_user(user) && find_user(text, user, &e);
    free(text);
    if (!known) {
        /* Spend the same time on an unknown user as on a known one, so that
         * timing does not tell which user names exist. */
        memset(&e, 0, sizeof e);
        e.iter = CK_PROVIDER_PBKDF2_ITER;
    }
    uint8_t got[HASH_LEN];
    if (derive(password, pwlen, e.salt, e.iter, got, err) < 0)
        return -1;
    bool ok = known && CRYPTO_memcmp(got, e.hash, HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    OPENSSL_cleanse(&e, sizeof e);
    if (!ok)
        return ck_fail(err, CK_EDENIED, "wrong user name or password");
    return 0;
}
