/* The phone's LSC and MIC in its state directory (capf_client.h). */
#include <errno.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "capf_client.h"
#include "ctlkit/x509.h"

static void path_of(const char *dir, const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", dir, name);
}

int ph_cert_load(const char *dir, const char *name, X509 **cert, EVP_PKEY **key, ck_err *err)
{
    char path[PATH_MAX];
    path_of(dir, name, path, sizeof path);
    *cert = NULL;
    *key = NULL;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 1;
    return ck_load_pem(path, cert, key, true, err) < 0 ? -1 : 0;
}

int ph_lsc_save(const char *dir, EVP_PKEY *key, X509 *cert, ck_err *err)
{
    char path[PATH_MAX];
    path_of(dir, PH_LSC_FILE, path, sizeof path);
    return ck_write_key_cert_pem(path, key, cert, err);
}

int ph_lsc_remove(const char *dir, ck_err *err)
{
    char path[PATH_MAX];
    path_of(dir, PH_LSC_FILE, path, sizeof path);
    if (unlink(path) < 0 && errno != ENOENT)
        return ck_fail(err, CK_EIO, "cannot delete %s: %s", path, strerror(errno));
    return 0;
}

static void utc(const ASN1_TIME *t, char *out, size_t outsz)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm) || !strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, outsz, "?");
}

/* The LSC's facts; false when there is none (or it cannot be read). */
static bool lsc_facts(const char *dir, char **issuer, char **subject, char serial[80], char from[32], char to[32])
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    ck_err err = {0};
    if (ph_cert_load(dir, PH_LSC_FILE, &cert, &key, &err) != 0)
        return false;
    *issuer = ck_name_oneline(X509_get_issuer_name(cert));
    *subject = ck_name_oneline(X509_get_subject_name(cert));
    ck_cert_serial_hex(cert, serial, 80);
    utc(X509_get0_notBefore(cert), from, 32);
    utc(X509_get0_notAfter(cert), to, 32);
    X509_free(cert);
    EVP_PKEY_free(key);
    return true;
}

void ph_lsc_text(FILE *out, const char *dir)
{
    char *issuer = NULL, *subject = NULL, serial[80], from[32], to[32];
    if (!lsc_facts(dir, &issuer, &subject, serial, from, to)) {
        fprintf(out, "LSC: none\n");
        return;
    }
    fprintf(out, "LSC: %s\n  issuer: %s\n  serial: %s\n  valid: %s to %s\n", subject ? subject : "?",
            issuer ? issuer : "?", serial, from, to);
    free(issuer);
    free(subject);
}

json_t *ph_lsc_json(const char *dir)
{
    char *issuer = NULL, *subject = NULL, serial[80], from[32], to[32];
    if (!lsc_facts(dir, &issuer, &subject, serial, from, to))
        return json_null();
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "subject", subject ? subject : "", "issuer",
                          issuer ? issuer : "", "serial", serial, "not_before", from, "not_after", to);
    free(issuer);
    free(subject);
    return j;
}
