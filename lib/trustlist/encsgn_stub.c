/* The stub configuration signed beside an .enc.sgn (docs/capf.md): what a
 * phone needs to reach CAPF when it cannot decrypt the full file. The
 * elements are found by a small scanner rather than an XML parser: they
 * are copied byte for byte, never re-serialised, and nothing else of the
 * file is interpreted. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/encsgn.h"
#include "ctlkit/x509.h"

typedef struct text {
    const char *p;
    size_t n;
} text;

static bool starts(text t, size_t at, const char *s)
{
    size_t k = strlen(s);
    return at + k <= t.n && memcmp(t.p + at, s, k) == 0;
}

static size_t find(text t, size_t from, const char *s)
{
    for (size_t i = from; i < t.n; i++)
        if (starts(t, i, s))
            return i;
    return t.n;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Offset just past "<device" of the root element, or 0 when the document
 * has another root. Skips a BOM, the XML declaration, comments and
 * processing instructions. */
static size_t root_device(text t)
{
    size_t i = starts(t, 0, "\xEF\xBB\xBF") ? 3 : 0;
    for (;;) {
        while (i < t.n && is_space(t.p[i]))
            i++;
        if (starts(t, i, "<?"))
            i = find(t, i, "?>") + 2;
        else if (starts(t, i, "<!--"))
            i = find(t, i, "-->") + 3;
        else
            break;
        if (i > t.n)
            return 0;
    }
    if (starts(t, i, "<device") && i + 7 < t.n && (t.p[i + 7] == '>' || is_space(t.p[i + 7])))
        return i + 7;
    return 0;
}

/* The first <name ...>...</name> or <name/> at or after from. */
static int element(text t, size_t from, const char *name, text *out, ck_err *err)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s", name);
    snprintf(close, sizeof close, "</%s>", name);
    for (size_t i = find(t, from, open); i < t.n; i = find(t, i + 1, open)) {
        size_t after = i + strlen(open);
        if (after >= t.n || !(t.p[after] == '>' || t.p[after] == '/' || is_space(t.p[after])))
            continue; /* <capfListX>, another element */
        size_t gt = find(t, after, ">");
        size_t end = gt == t.n ? t.n : t.p[gt - 1] == '/' ? gt + 1 : find(t, gt, close);
        if (end == t.n)
            return ck_fail(err, CK_EFORMAT, "the configuration's <%s> element is not closed", name);
        if (t.p[gt - 1] != '/')
            end += strlen(close);
        *out = (text){t.p + i, end - i};
        return 1;
    }
    return 0;
}

int ck_encsgn_stub(const uint8_t *config, size_t config_len, X509 *recipient, char **out, size_t *out_len,
                   ck_err *err)
{
    static const char *const kept[] = {"ipAddressMode", "loadInformation", "capfAuthMode", "capfList"};
    text t = {(const char *)config, config_len};
    size_t body = root_device(t);
    *out = NULL;
    if (!body)
        return ck_fail(err, CK_EFORMAT, "not a phone configuration: the root element is not <device>");
    uint8_t md5[EVP_MAX_MD_SIZE];
    unsigned md5_len = 0;
    char hash[2 * EVP_MAX_MD_SIZE + 1];
    if (!recipient || ck_cert_fingerprint(recipient, "md5", md5, &md5_len) < 0)
        return ck_fail_ssl(err, CK_ECRYPTO, "cannot take the MD5 fingerprint of the recipient certificate");
    ck_hex(md5, md5_len, 0, false, hash, sizeof hash);

    ck_buf b;
    ck_buf_init(&b, 0);
    static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<device>\n  <fullConfig>false</fullConfig>\n";
    ck_buf_bytes(&b, head, sizeof head - 1);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        text e = {NULL, 0};
        int found = element(t, body, kept[i], &e, err);
        if (found < 0) {
            ck_buf_free(&b);
            return -1;
        }
        if (found) {
            ck_buf_bytes(&b, "  ", 2);
            ck_buf_bytes(&b, e.p, e.n);
            ck_buf_bytes(&b, "\n", 1);
        }
    }
    ck_buf_bytes(&b, "  <certHash>", 12);
    ck_buf_bytes(&b, hash, strlen(hash));
    static const char tail[] = "</certHash>\n  <encrConfig>true</encrConfig>\n</device>\n";
    ck_buf_bytes(&b, tail, sizeof tail); /* with its NUL, dropped from the length below */
    if (b.failed) {
        ck_buf_free(&b);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    size_t n = 0;
    *out = (char *)ck_buf_take(&b, &n);
    *out_len = n - 1;
    return 0;
}
