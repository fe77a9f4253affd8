/* Loading and saving certificates and keys (PEM or DER). */
#include "ctlkit/x509.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlkit/fileio.h"
#include "internal.h"

int ck_load_pem_mem(const void *data, size_t len, X509 **cert, EVP_PKEY **key, bool need_key, ck_err *err)
{
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    int rc = -1;

    if (len > 1024 * 1024)
        return ck_fail(err, CK_ELIMIT, "file too large for a certificate (%zu bytes)", len);
    bool is_pem = len >= 11 && memmem(data, len, "-----BEGIN ", 11) != NULL;
    if (!is_pem) {
        const unsigned char *p = data;
        c = d2i_X509(NULL, &p, (long)len);
        if (!c || p != (const unsigned char *)data + len) {
            ck_fail_ssl(err, CK_EFORMAT, "neither PEM nor a DER certificate");
            goto out;
        }
    } else {
        /* A PEM may hold key and certificate in any order: read it twice. */
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (!bio)
            goto nomem;
        if (cert)
            c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (key || need_key) {
            BIO_free(bio);
            bio = BIO_new_mem_buf(data, (int)len);
            if (!bio)
                goto nomem;
            k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
            ERR_clear_error();
        }
        BIO_free(bio);
    }
    if (cert && !c) {
        ck_fail(err, CK_EFORMAT, "no certificate in it");
        goto out;
    }
    if (need_key && !k) {
        ck_fail(err, CK_EFORMAT, "no private key in it (a signer's PEM must hold the key)");
        goto out;
    }
    if (c && k && X509_check_private_key(c, k) != 1) {
        ck_fail_ssl(err, CK_EFORMAT, "the private key does not belong to the certificate");
        goto out;
    }
    if (cert) {
        *cert = c;
        c = NULL;
    }
    if (key) {
        *key = k;
        k = NULL;
    }
    rc = 0;
    goto out;
nomem:
    ck_fail(err, CK_ENOMEM, "out of memory");
out:
    X509_free(c);
    EVP_PKEY_free(k);
    return rc;
}

int ck_load_pem(const char *path, X509 **cert, EVP_PKEY **key, bool need_key, ck_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (ck_read_file(path, 1024 * 1024, &data, &len, err) < 0)
        return -1;
    int rc = ck_load_pem_mem(data, len, cert, key, need_key, err);
    if (rc < 0)
        ck_err_prefix(err, "%s", path);
    OPENSSL_cleanse(data, len); /* may have held a private key */
    free(data);
    return rc;
}

/* Permission problems of a key file or its folder, as one sentence in
 * problem[] (empty when none). Returns false when the file cannot be used
 * at all (not a regular file), whatever the flags. */
static bool key_perm_problem(const char *path, const struct stat *st, bool is_dir, char *problem, size_t sz)
{
    problem[0] = '\0';
    uid_t me = geteuid();
    if (st->st_uid != me && st->st_uid != 0)
        snprintf(problem, sz, "%s: owned by uid %u, not by the running user (uid %u) or root", path,
                 (unsigned)st->st_uid, (unsigned)me);
    else if (st->st_mode & 077)
        snprintf(problem, sz, "%s: mode %04o, %s must be %s (chmod %s %s)", path, (unsigned)(st->st_mode & 07777),
                 is_dir ? "a folder of private keys" : "private keys", is_dir ? "0700" : "0600",
                 is_dir ? "700" : "600", path);
    return problem[0] != '\0';
}

int ck_load_key_pem(const char *path, unsigned flags, X509 **cert, EVP_PKEY **key, char *warning, size_t warnsz,
                    ck_err *err)
{
    char problem[PATH_MAX + 160] = "";
    if (warning && warnsz)
        warning[0] = '\0';
    /* O_NONBLOCK: a FIFO planted as the key must not hang the program;
     * O_NOFOLLOW: the checks below must be about the key itself. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            return ck_fail(err, CK_EDENIED, "%s: a symbolic link; a private key must be a regular file", path);
        /* Refused since it was read (a daemon that left root): the copy
         * it holds. */
        if ((e == EACCES || e == EPERM) && ck__key_hold_take(path, cert, key))
            return 0;
        return ck_fail(err, e == ENOENT ? CK_ENOTFOUND : CK_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ck_fail(err, CK_EDENIED, "%s: not a regular file; a private key must be one", path);
    }
    if (st.st_size > 1024 * 1024) {
        close(fd);
        return ck_fail(err, CK_ELIMIT, "%s: %lld bytes, too large for a key", path, (long long)st.st_size);
    }
    bool loose = key_perm_problem(path, &st, false, problem, sizeof problem);
    if (!loose && (flags & CK_KEY_PRIVATE_DIR)) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        struct stat dst;
        if (stat(dir, &dst) == 0)
            loose = key_perm_problem(dir, &dst, true, problem, sizeof problem);
    }
    if (loose && !(flags & CK_KEY_LOOSE_WARN)) {
        close(fd);
        return ck_fail(err, CK_EDENIED, "%s", problem);
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *data = malloc(n ? n : 1);
    if (!data) {
        close(fd);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    while (got < n) {
        ssize_t r = read(fd, data + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    int rc = got == n ? ck_load_pem_mem(data, n, cert, key, true, err)
                      : ck_fail(err, CK_EIO, "read failed");
    if (rc < 0)
        ck_err_prefix(err, "%s", path);
    else if (loose && warning && warnsz)
        snprintf(warning, warnsz, "%s", problem);
    if (rc == 0)
        ck__key_hold_keep(path, cert ? *cert : NULL, *key);
    OPENSSL_cleanse(data, n);
    free(data);
    return rc;
}

X509 *ck_cert_from_der(const uint8_t *der, size_t len, ck_err *err)
{
    const unsigned char *p = der;
    if (len == 0 || len > 65535) {
        ck_fail(err, CK_EFORMAT, "certificate length %zu out of range", len);
        return NULL;
    }
    X509 *c = d2i_X509(NULL, &p, (long)len);
    if (!c) {
        ck_fail_ssl(err, CK_EFORMAT, "certificate does not parse");
        return NULL;
    }
    if (p != der + len) {
        X509_free(c);
        ck_fail(err, CK_EFORMAT, "%zu bytes after the certificate", (size_t)(der + len - p));
        return NULL;
    }
    return c;
}

int ck_cert_to_der(X509 *cert, uint8_t **der, size_t *len, ck_err *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509(cert, &p);
    if (n <= 0)
        return ck_fail_ssl(err, CK_ECRYPTO, "cannot encode certificate");
    *der = malloc((size_t)n);
    if (!*der) {
        OPENSSL_free(p);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    memcpy(*der, p, (size_t)n);
    OPENSSL_free(p);
    *len = (size_t)n;
    return 0;
}

static char *bio_to_string(BIO *bio)
{
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, mem, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

char *ck_cert_to_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (bio && PEM_write_bio_X509(bio, cert))
        s = bio_to_string(bio);
    BIO_free(bio);
    return s;
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, ck_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (!bio)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    if ((key && !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) ||
        (cert && !PEM_write_bio_X509(bio, cert))) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot encode PEM");
        goto out;
    }
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    rc = ck_write_file_atomic(path, mem, (size_t)n, key ? 0600 : 0644, err);
    OPENSSL_cleanse(mem, (size_t)n);
out:
    BIO_free(bio);
    return rc;
}

int ck_write_key_cert_pem(const char *path, EVP_PKEY *key, X509 *cert, ck_err *err)
{
    return write_pem(path, key, cert, err);
}

int ck_write_cert_pem(const char *path, X509 *cert, ck_err *err)
{
    return write_pem(path, NULL, cert, err);
}
