#include "tftp_sign.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ctlkit/x509.h"
#include "log.h"

static bool same_file(const struct tftp_signer *s, const struct stat *st)
{
    return s->gen && s->dev == st->st_dev && s->ino == st->st_ino && s->mtime.tv_sec == st->st_mtim.tv_sec &&
           s->mtime.tv_nsec == st->st_mtim.tv_nsec && s->ctime.tv_sec == st->st_ctim.tv_sec &&
           s->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

int tftp_signer_refresh(struct tftp_signer *s, const char *path, unsigned flags, bool *changed, ck_err *err)
{
    struct stat st;
    *changed = false;
    if (stat(path, &st) != 0) {
        int e = errno;
        /* A daemon that left root cannot look at the file: the key it
         * holds in memory is the one (a regenerated key restarts the
         * daemon, cluster_node.c). */
        if (e != EACCES || !ck_key_holding())
            return ck_fail(err, CK_EIO, "TFTP signing key %s: %s", path, strerror(e));
        if (s->key)
            return 0;
        st = (struct stat){0};
    } else if (same_file(s, &st))
        return 0;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    char warning[PATH_MAX + 200];
    if (ck_load_key_pem(path, flags, &cert, &key, warning, sizeof warning, err) < 0) {
        ck_err_prefix(err, "TFTP signing key");
        return -1;
    }
    if (!cert || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || X509_check_private_key(cert, key) != 1) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return ck_fail(err, CK_EINVAL, "TFTP signing key %s: needs an RSA key and its certificate in one PEM", path);
    }
    if (warning[0])
        dlog(DLOG_WARNING, "TFTP signing key: %s (started anyway: --allow-loose-key-modes)", warning);
    unsigned gen = s->gen + 1;
    tftp_signer_clear(s);
    *s = (struct tftp_signer){.cert = cert, .key = key, .gen = gen ? gen : 1, .dev = st.st_dev, .ino = st.st_ino,
                              .mtime = st.st_mtim, .ctime = st.st_ctim};
    *changed = true;
    return 0;
}

void tftp_signer_clear(struct tftp_signer *s)
{
    X509_free(s->cert);
    EVP_PKEY_free(s->key); /* OpenSSL wipes the private key's numbers */
    unsigned gen = s->gen;
    *s = (struct tftp_signer){.gen = gen};
}
