/* Opening a token, reading its certificate, logging in. */
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/x509.h"
#include "p11.h"

/* Certificates on an eToken are few; more than this is not an eToken. */
#define MAX_CERT_OBJECTS 32
#define MAX_CERT_DER (16 * 1024)

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

static void present_list(const ck_token_info *v, size_t n, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < outsz; i++) {
        int w = snprintf(out + used, outsz - used, "%s%s", i ? ", " : "", v[i].label);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int ck_token_open(ck_p11 *m, const char *label, long slot, ck_token **out, ck_err *err)
{
    *out = NULL;
    ck_token_info *v = NULL;
    size_t n = 0;
    if (ck_p11_list(m, &v, &n, err) < 0)
        return -1;
    char want[64] = "";
    if (label) {
        snprintf(want, sizeof want, "%s", label);
        trim(want);
    }
    const ck_token_info *hit = NULL;
    char names[512];
    present_list(v, n, names, sizeof names);
    for (size_t i = 0; i < n && !hit; i++) {
        if (label ? strcmp(v[i].label, want) == 0 : (slot < 0 || (unsigned long)slot == v[i].slot))
            hit = &v[i];
    }
    if (!label && slot < 0 && n > 1) {
        ck_fail(err, CK_EINVAL, "%zu tokens are present (%s); name one with --token LABEL", n, names);
        free(v);
        return -1;
    }
    if (!hit) {
        if (n == 0)
            ck_fail(err, CK_ENOTFOUND, "no Security Token is present; insert the token (module %s)", m->path);
        else if (label)
            ck_fail(err, CK_ENOTFOUND, "the Security Token '%s' is not present (present: %s)", want, names);
        else
            ck_fail(err, CK_ENOTFOUND, "no Security Token in slot %ld (present: %s)", slot, names);
        free(v);
        return -1;
    }
    ck_token *t = calloc(1, sizeof *t);
    if (!t) {
        free(v);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    t->m = m;
    t->info = *hit;
    t->key = CK_INVALID_HANDLE;
    free(v);
    /* A read-only session is enough to read objects and to sign. */
    CK_RV rv = m->fn->C_OpenSession(t->info.slot, CKF_SERIAL_SESSION, NULL, NULL, &t->session);
    if (rv != CKR_OK) {
        ck__p11_fail(err, rv, "opening a session", &t->info);
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void ck_token_close(ck_token *t)
{
    if (!t)
        return;
    if (t->logged_in)
        t->m->fn->C_Logout(t->session);
    t->m->fn->C_CloseSession(t->session);
    X509_free(t->cert);
    free(t);
}

const ck_token_info *ck_token_get_info(const ck_token *t) { return &t->info; }

/* Reads one attribute into a malloc'd buffer of at most max bytes. */
static int get_attr(ck_token *t, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, size_t max, CK_BYTE **out,
                    CK_ULONG *len, ck_err *err)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = t->m->fn->C_GetAttributeValue(t->session, o, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return ck__p11_fail(err, rv != CKR_OK ? rv : CKR_ATTRIBUTE_TYPE_INVALID, "reading an object", &t->info);
    if (a.ulValueLen > max)
        return ck_fail(err, CK_ELIMIT, "token %s: an object attribute of %lu bytes (at most %zu)", t->info.label,
                       a.ulValueLen, max);
    a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1);
    if (!a.pValue)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    rv = t->m->fn->C_GetAttributeValue(t->session, o, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        return ck__p11_fail(err, rv, "reading an object", &t->info);
    }
    *out = a.pValue;
    *len = a.ulValueLen;
    return 0;
}

static int read_cert(ck_token *t, ck_err *err)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ctype = CKC_X_509;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_CERTIFICATE_TYPE, &ctype, sizeof ctype}};
    CK_OBJECT_HANDLE objs[MAX_CERT_OBJECTS];
    CK_ULONG found = 0;
    CK_RV rv = t->m->fn->C_FindObjectsInit(t->session, tmpl, 2);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "searching the token", &t->info);
    rv = t->m->fn->C_FindObjects(t->session, objs, MAX_CERT_OBJECTS, &found);
    t->m->fn->C_FindObjectsFinal(t->session);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "searching the token", &t->info);
    X509 *fallback = NULL;
    CK_BYTE *fb_id = NULL;
    CK_ULONG fb_id_len = 0;
    for (CK_ULONG i = 0; i < found && !t->cert; i++) {
        CK_BYTE *der = NULL, *id = NULL;
        CK_ULONG der_len = 0, id_len = 0;
        if (get_attr(t, objs[i], CKA_VALUE, MAX_CERT_DER, &der, &der_len, err) < 0)
            continue;
        X509 *x = ck_cert_from_der(der, der_len, NULL);
        free(der);
        if (!x)
            continue;
        if (get_attr(t, objs[i], CKA_ID, sizeof t->id, &id, &id_len, NULL) < 0) {
            id = NULL;
            id_len = 0;
        }
        /* eTokens may also carry their issuer; the SAST one is the leaf. */
        if (X509_check_ca(x) == 0) {
            t->cert = x;
            memcpy(t->id, id, id_len);
            t->id_len = id_len;
            free(id);
        } else if (!fallback) {
            fallback = x;
            fb_id = id;
            fb_id_len = id_len;
        } else {
            X509_free(x);
            free(id);
        }
    }
    if (!t->cert && fallback) {
        t->cert = fallback;
        memcpy(t->id, fb_id, fb_id_len);
        t->id_len = fb_id_len;
        fallback = NULL;
    }
    X509_free(fallback);
    free(fb_id);
    if (!t->cert)
        return ck_fail(err, CK_ENOTFOUND, "no certificate on the token %s", t->info.label);
    return 0;
}

int ck_token_cert(ck_token *t, X509 **cert, ck_err *err)
{
    *cert = NULL;
    if (!t->cert && read_cert(t, err) < 0)
        return -1;
    X509_up_ref(t->cert);
    *cert = t->cert;
    return 0;
}

int ck_token_login(ck_token *t, const char *pin, size_t pin_len, ck_err *err)
{
    if (!pin || pin_len == 0)
        return ck_fail(err, CK_EINVAL, "no token password given");
    if (pin_len > CK_TOKEN_PIN_MAX)
        return ck_fail(err, CK_EINVAL, "the token password is longer than %d characters", CK_TOKEN_PIN_MAX);
    /* Refresh the flags: the token may have been locked meanwhile. */
    ck_token_info now;
    if (ck__p11_token_info(t->m, t->info.slot, &now, err) < 0)
        return -1;
    if (!now.present)
        return ck_fail(err, CK_ENOTFOUND, "the token %s is not present (was it removed?)", t->info.label);
    if (now.locked)
        return ck__p11_fail(err, CKR_PIN_LOCKED, "logging in", &t->info);
    /* C_Login takes a non-const pointer but does not write through it. */
    CK_RV rv = t->m->fn->C_Login(t->session, CKU_USER, (CK_UTF8CHAR *)(uintptr_t)pin, (CK_ULONG)pin_len);
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    if (rv != CKR_OK) {
        ck__p11_fail(err, rv, "logging in", &t->info);
        if (rv == CKR_PIN_INCORRECT && ck__p11_token_info(t->m, t->info.slot, &now, NULL) == 0) {
            if (now.locked)
                ck__p11_fail(err, CKR_PIN_LOCKED, "logging in", &t->info);
            else if (now.final_try)
                ck_fail(err, CK_EDENIED, "wrong token password (token %s); one more wrong try locks the token",
                        t->info.label);
        }
        return -1;
    }
    t->logged_in = true;
    return 0;
}
