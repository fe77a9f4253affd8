/* Devices (phones) in the cluster: the rules of a device row and the
 * operations of `ctlkit device` (docs/phones-capf.md). */
#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/device.h"
#include "ctlkit/params.h"
#include "ctlkit/text.h"
#include "internal.h"

/* Cisco phones whose device security profile can be authenticated or
 * encrypted (CAPF-capable). ec: the model can ask CAPF for an EC key
 * (78xx/88xx firmware); the 79xx, 69xx and 89xx/99xx know RSA only. */
static const struct {
    const char *name;
    bool ec;
} models[] = {
    {"6921", false}, {"6941", false}, {"6945", false}, {"6961", false}, {"7811", true},  {"7821", true},
    {"7841", true},  {"7861", true},  {"7906", false}, {"7911", false}, {"7931", false}, {"7941", false},
    {"7942", false}, {"7945", false}, {"7961", false}, {"7962", false}, {"7965", false}, {"7970", false},
    {"7971", false}, {"7975", false}, {"8811", true},  {"8821", true},  {"8841", true},  {"8845", true},
    {"8851", true},  {"8861", true},  {"8865", true},  {"8941", false}, {"8945", false}, {"8961", false},
    {"9951", false}, {"9971", false},
};

static const char *const profiles[] = {"non-secure", "authenticated", "encrypted", NULL};
static const char *const operations[] = {"none", "install", "delete", "troubleshoot", NULL};
static const char *const auth_modes[] = {"string", "null", "lsc", "mic", NULL};

static const char *pick(const char *const *words, const char *v)
{
    for (const char *const *w = words; *w; w++)
        if (strcasecmp(*w, v) == 0)
            return *w;
    return NULL;
}

int ck_device_check_name(const char *name, ck_err *err)
{
    bool ok = strlen(name) == 15 && strncmp(name, "SEP", 3) == 0;
    for (size_t i = 3; ok && i < 15; i++)
        ok = isxdigit((unsigned char)name[i]) && !islower((unsigned char)name[i]);
    if (!ok) {
        char shown[40];
        ck_printable(name, strlen(name), shown, sizeof shown, CK_PRINTABLE_ASCII);
        return ck_fail(err, CK_EINVAL, "'%s' is not a device name: SEP and the MAC address in 12 upper-case hex "
                                       "digits (SEP001122AABBCC)", shown);
    }
    return 0;
}

static int model_index(const char *model)
{
    if (strncasecmp(model, "Cisco ", 6) == 0)
        model += 6;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(models[i].name, model) == 0)
            return (int)i;
    return -1;
}

int ck_device_check_model(const char *model, const char **canonical, ck_err *err)
{
    int i = model_index(model);
    if (i < 0) {
        char shown[40];
        ck_printable(model, strlen(model), shown, sizeof shown, CK_PRINTABLE_ASCII);
        return ck_fail(err, CK_EINVAL, "unknown phone model '%s' (a CAPF-capable Cisco model such as 7942, 7975, "
                                       "8841, 8865; docs/phones-capf.md lists them)", shown);
    }
    if (canonical)
        *canonical = models[i].name;
    return 0;
}

int ck_device_check_template(const char *xml, ck_err *err)
{
    size_t n = strlen(xml);
    if (n > CK_DEVICE_TEMPLATE_MAX)
        return ck_fail(err, CK_ELIMIT, "the configuration template is %zu bytes, more than the %d allowed", n,
                       CK_DEVICE_TEMPLATE_MAX);
    const char *open = strstr(xml, "<device");
    const char *close = open ? strstr(open, "</device>") : NULL;
    if (!open || (open[7] != '>' && !isspace((unsigned char)open[7])) || !close || strstr(close + 9, "<"))
        return ck_fail(err, CK_EINVAL, "the configuration template must be one <device> element (the rest of "
                                       "SEP<MAC>.cnf.xml: lines, call control); ctlkit adds the security elements");
    return 0;
}

int ck_device_row_make(const ck_device_add *a, ck_device_row *d, ck_err *err)
{
    memset(d, 0, sizeof *d);
    const char *model = NULL, *profile = pick(profiles, a->profile ? a->profile : "non-secure");
    if (ck_device_check_name(a->name, err) < 0 || ck_device_check_model(a->model, &model, err) < 0)
        return -1;
    if (!profile)
        return ck_fail(err, CK_EINVAL, "unknown device security profile '%s' (non-secure, authenticated, encrypted)",
                       a->profile);
    if (a->encrypted_config && strcmp(profile, "encrypted") != 0)
        return ck_fail(err, CK_EINVAL, "an encrypted configuration needs the encrypted profile (--profile encrypted)");
    if (a->template_xml && ck_device_check_template(a->template_xml, err) < 0)
        return -1;
    snprintf(d->name, sizeof d->name, "%s", a->name);
    snprintf(d->model, sizeof d->model, "%s", model);
    snprintf(d->profile, sizeof d->profile, "%s", profile);
    d->encrypted_config = a->encrypted_config;
    snprintf(d->operation, sizeof d->operation, "none");
    snprintf(d->auth_mode, sizeof d->auth_mode, "null");
    snprintf(d->key_type, sizeof d->key_type, "rsa");
    d->key_size = 2048;
    if (a->template_xml && !(d->template_xml = strdup(a->template_xml)))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    return 0;
}

static int parse_key(ck_device_row *d, const char *key, ck_err *err)
{
    char type[8];
    long long bits;
    const char *colon = strchr(key, ':');
    if (!colon || colon - key > 3)
        goto bad;
    snprintf(type, sizeof type, "%.*s", (int)(colon - key), key);
    if (!ck_parse_ll(colon + 1, 1, 100000, &bits))
        goto bad;
    if (strcasecmp(type, "rsa") == 0 && (bits == 1024 || bits == 2048 || bits == 4096))
        snprintf(d->key_type, sizeof d->key_type, "rsa");
    else if (strcasecmp(type, "ec") == 0 && (bits == 256 || bits == 384 || bits == 521)) {
        int m = model_index(d->model);
        if (m >= 0 && !models[m].ec)
            return ck_fail(err, CK_EINVAL, "the %s asks CAPF for RSA keys only; use rsa:1024, rsa:2048 or rsa:4096",
                           d->model);
        snprintf(d->key_type, sizeof d->key_type, "ec");
    } else
        goto bad;
    d->key_size = (int)bits;
    return 0;
bad:;
    char shown[40];
    ck_printable(key, strlen(key), shown, sizeof shown, CK_PRINTABLE_ASCII);
    return ck_fail(err, CK_EINVAL, "unknown key '%s' (rsa:1024, rsa:2048, rsa:4096, ec:256, ec:384, ec:521)", shown);
}

/* YYYY-MM-DD as the last second of that day, UTC. */
static int parse_day(const char *s, int64_t *out)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 23, .tm_min = 59, .tm_sec = 59};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* 2026-02-30 normalizes to March */
        return -1;
    *out = (int64_t)t;
    return 0;
}

static int random_digits(char *out, size_t n, ck_err *err)
{
    uint8_t b[16];
    if (n > sizeof b || RAND_bytes(b, (int)n) != 1)
        return ck_fail_ssl(err, CK_ECRYPTO, "random authentication string");
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + b[i] % 10);
    out[n] = 0;
    return 0;
}

int ck_device_row_apply_capf(ck_device_row *d, const ck_device_capf *cp, int expires_days, int64_t now,
                             ck_err *err)
{
    if (cp->operation) {
        const char *op = pick(operations, cp->operation);
        if (!op)
            return ck_fail(err, CK_EINVAL, "unknown certificate operation '%s' (install, delete, troubleshoot, none)",
                           cp->operation);
        snprintf(d->operation, sizeof d->operation, "%s", op);
    }
    const char *auth = cp->auth ? pick(auth_modes, cp->auth) : (cp->auth_string ? "string" : NULL);
    if (cp->auth && !auth)
        return ck_fail(err, CK_EINVAL, "unknown authentication mode '%s' (string, null, lsc, mic)", cp->auth);
    if (auth)
        snprintf(d->auth_mode, sizeof d->auth_mode, "%s", auth);
    if (cp->auth_string && strcmp(d->auth_mode, "string") != 0)
        return ck_fail(err, CK_EINVAL, "--string goes with authentication by string (--auth string)");
    if (cp->auth_string) {
        size_t n = strlen(cp->auth_string);
        bool digits = n >= 4 && n <= 10 && strspn(cp->auth_string, "0123456789") == n;
        if (!digits)
            return ck_fail(err, CK_EINVAL, "the authentication string must be 4 to 10 digits");
        snprintf(d->auth_string, sizeof d->auth_string, "%s", cp->auth_string);
    } else if (strcmp(d->auth_mode, "string") == 0 && !d->auth_string[0] &&
               random_digits(d->auth_string, 6, err) < 0)
        return -1;
    if (strcmp(d->auth_mode, "string") != 0)
        d->auth_string[0] = 0;
    if (cp->key && parse_key(d, cp->key, err) < 0)
        return -1;
    if (strcmp(d->operation, "none") == 0) {
        if (cp->completes_by)
            return ck_fail(err, CK_EINVAL, "--completes-by goes with an operation (install, delete, troubleshoot)");
        d->completes_by = 0;
        return 0;
    }
    if (cp->completes_by) {
        int64_t t;
        if (parse_day(cp->completes_by, &t) < 0)
            return ck_fail(err, CK_EINVAL, "--completes-by wants a date as YYYY-MM-DD");
        if (t < now)
            return ck_fail(err, CK_EINVAL, "--completes-by %s is in the past", cp->completes_by);
        d->completes_by = t;
    } else if (cp->operation || !d->completes_by) {
        /* A new operation gets the parameter's days from today, to the end
         * of that day (CUCM's "Operation Completes By" is a date). */
        int64_t t = now + (int64_t)expires_days * 86400;
        t = t - t % 86400 + 86399;
        d->completes_by = t;
    }
    return 0;
}

/* --- operations (device_import.c runs its rows through the same) --- */

int ck__device_expires_days(ck_cluster *c)
{
    char v[32];
    long long days;
    const ck_param_def *def = ck_param_find("CAPFOperationExpiresInDays");
    if (ck_store_get_param(c->store, def->name, v, sizeof v, NULL) != 0 || !ck_parse_ll(v, def->min, def->max, &days))
        ck_parse_ll(def->default_value, def->min, def->max, &days);
    return (int)days;
}

int ck__device_add_locked(ck_cluster *c, ck_device_row *d, ck_err *err)
{
    ck_device_row old;
    ck_err e2 = {0};
    if (ck_store_get_device(c->store, d->name, &old, &e2) == 0) {
        ck_device_row_clear(&old);
        return ck_fail(err, CK_ESTATE, "%s is already a device of this cluster (device capf or device remove "
                                       "change it)", d->name);
    }
    if (e2.code != CK_ENOTFOUND) {
        *err = e2;
        return -1;
    }
    return ck_store_put_device(c->store, d, err);
}

int ck__device_op_finish(ck_cluster *c, bool ok, ck_err *err)
{
    if (c->in_op)
        return ck__op_end(c, ok, err) < 0 || !ok ? -1 : 0;
    return ok ? 0 : -1;
}

int ck_cluster_device_add(ck_cluster *c, const ck_device_add *a, ck_err *err)
{
    ck_device_row d;
    if (ck_device_row_make(a, &d, err) < 0) {
        ck_device_row_clear(&d);
        return -1;
    }
    bool ok = ck__op_begin(c, err) == 0 && ck__device_add_locked(c, &d, err) == 0 &&
              ck__audit(c, err, "", "device add %s model %s profile %s%s%s", d.name, d.model, d.profile,
                        d.encrypted_config ? " encrypted-config" : "", d.template_xml ? " own template" : "") == 0;
    ck_device_row_clear(&d);
    return ck__device_op_finish(c, ok, err);
}

int ck_cluster_device_capf(ck_cluster *c, const char *name, const ck_device_capf *cp, ck_err *err)
{
    if (ck_device_check_name(name, err) < 0 || ck__op_begin(c, err) < 0)
        return -1;
    ck_device_row d = {0};
    bool ok = ck_store_get_device(c->store, name, &d, err) == 0 &&
              ck_device_row_apply_capf(&d, cp, ck__device_expires_days(c), (int64_t)time(NULL), err) == 0 &&
              ck_store_put_device(c->store, &d, err) == 0 &&
              ck__audit(c, err, "", "device capf %s operation %s auth %s key %s:%d", d.name, d.operation, d.auth_mode,
                        d.key_type, d.key_size) == 0;
    ck_device_row_clear(&d);
    return ck__device_op_finish(c, ok, err);
}

int ck_cluster_device_remove(ck_cluster *c, const char *name, ck_err *err)
{
    if (ck_device_check_name(name, err) < 0 || ck__op_begin(c, err) < 0)
        return -1;
    int deleted = 0;
    bool ok = ck_store_delete_device(c->store, name, &deleted, err) == 0;
    if (ok && !deleted)
        ok = ck_fail(err, CK_ENOTFOUND, "no device named '%s' in this cluster", name) == 0;
    ok = ok && ck__audit(c, err, "", "device remove %s", name) == 0;
    return ck__device_op_finish(c, ok, err);
}

int ck_cluster_device_template_set(ck_cluster *c, const char *xml, ck_err *err)
{
    if (xml && ck_device_check_template(xml, err) < 0)
        return -1;
    if (ck__op_begin(c, err) < 0)
        return -1;
    /* "" is the built-in template: a row is never deleted, only emptied. */
    bool ok = ck_store_set_param(c->store, CK_DEVICE_TEMPLATE_PARAM, xml ? xml : "", err) == 0 &&
              ck__audit(c, err, "", "device template %s", xml ? "set" : "reset to the built-in one") == 0;
    return ck__device_op_finish(c, ok, err);
}
