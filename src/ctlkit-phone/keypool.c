/* Pre-made phone key pairs (keypool.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "keypool.h"

int ph_keyspec_parse(const char *text, ph_keyspec *out, ck_err *err)
{
    static const struct {
        const char *text;
        bool ec;
        unsigned bits;
    } known[] = {{"rsa:1024", false, 1024}, {"rsa:2048", false, 2048}, {"rsa:3072", false, 3072},
                 {"rsa:4096", false, 4096}, {"ec:256", true, 256},     {"ec:384", true, 384},
                 {"ec:521", true, 521}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(text, known[i].text) == 0) {
            out->ec = known[i].ec;
            out->bits = known[i].bits;
            return 0;
        }
    return ck_fail(err, CK_EINVAL, "unknown key '%s' (rsa:1024, rsa:2048, rsa:3072, rsa:4096, ec:256, ec:384, ec:521)",
                   text);
}

const char *ph_keyspec_name(const ph_keyspec *k, char *buf, size_t n)
{
    snprintf(buf, n, k->ec ? "EC P-%u" : "RSA-%u", k->bits);
    return buf;
}

bool ph_keyspec_matches(const ph_keyspec *k, EVP_PKEY *key)
{
    return key && EVP_PKEY_is_a(key, k->ec ? "EC" : "RSA") && (unsigned)EVP_PKEY_get_bits(key) == k->bits;
}

EVP_PKEY *ph_keyspec_generate(const ph_keyspec *k, ck_err *err)
{
    char curve[8];
    snprintf(curve, sizeof curve, "P-%u", k->bits);
    EVP_PKEY *key = k->ec ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve) : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)k->bits);
    if (!key) {
        char name[16];
        ck_fail_ssl(err, CK_ECRYPTO, "making a %s key failed", ph_keyspec_name(k, name, sizeof name));
    }
    return key;
}

void ph_keypool_path(const char *dir, unsigned long index, char *out, size_t n)
{
    snprintf(out, n, "%s/key-%06lu.pem", dir, index);
}

EVP_PKEY *ph_keypool_load(const char *file, ck_err *err)
{
    EVP_PKEY *key = NULL;
    char warning[256];
    if (ck_load_key_pem(file, 0, NULL, &key, warning, sizeof warning, err) < 0)
        return NULL;
    return key;
}

int ph_keypool_fill(const char *dir, unsigned long count, const ph_keyspec *k, unsigned long *made, ck_err *err)
{
    *made = 0;
    if (ck_mkdirs(dir, 0700, err) < 0)
        return -1;
    char path[PATH_MAX], name[16];
    for (unsigned long i = 0; i < count; i++) {
        ph_keypool_path(dir, i, path, sizeof path);
        if (access(path, F_OK) == 0) {
            EVP_PKEY *old = ph_keypool_load(path, err);
            bool same = ph_keyspec_matches(k, old);
            EVP_PKEY_free(old);
            if (!old)
                return -1;
            if (!same)
                return ck_fail(err, CK_EINVAL, "%s holds another kind of key than %s (use another --dir)",
                               path, ph_keyspec_name(k, name, sizeof name));
            continue;
        }
        EVP_PKEY *key = ph_keyspec_generate(k, err);
        int rc = key ? ck_write_key_cert_pem(path, key, NULL, err) : -1;
        EVP_PKEY_free(key);
        if (rc < 0)
            return -1;
        (*made)++;
    }
    return 0;
}
