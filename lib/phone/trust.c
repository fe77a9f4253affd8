/* The phone's trust rules (docs/phones.md "Trust rules"), as decisions
 * without I/O. The order of the checks matters:
 *
 *   1. identical bytes -> unchanged (a phone compares before it verifies);
 *   2. the file must parse and be of the kind asked for;
 *   3. nothing held -> leap of faith, if its own signer record verifies it;
 *   4. signer is a SAST record of the held list (same certificate) ->
 *      install if the signature verifies;
 *   5. otherwise only an SBD phone may ask TVS; the signature is checked
 *      with the signer's own record first (habit 3: a tampered file never
 *      costs a TVS round trip), then the answer must be valid and carry the
 *      SAST role. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctlkit/bytes.h"
#include "ctlkit/phone.h"
#include "ctlkit/x509.h"

/* ---- cache ---- */

void ck_ph_cache_init(ck_ph_cache *c) { memset(c, 0, sizeof(*c)); }

const ck_ph_cache_entry *ck_ph_cache_find(const ck_ph_cache *c, const uint8_t sha1[20], int64_t now)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->e[i].sha1, sha1, 20) == 0 && c->e[i].expires > now)
            return &c->e[i];
    return NULL;
}

static void cache_remove(ck_ph_cache *c, size_t i)
{
    memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof(c->e[0]));
    c->n--;
}

void ck_ph_cache_put(ck_ph_cache *c, const uint8_t sha1[20], bool valid, const uint8_t *roles, size_t n_roles,
                     uint32_t ttl, int64_t now)
{
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->e[i].sha1, sha1, 20) == 0) {
            cache_remove(c, i);
            break;
        }
    if (c->n == CK_PH_CACHE_MAX)
        cache_remove(c, 0); /* entries are kept in answer order: 0 is the oldest */
    ck_ph_cache_entry *e = &c->e[c->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->sha1, sha1, 20);
    e->valid = valid;
    e->n_roles = n_roles > CK_PH_CACHE_MAX_ROLES ? CK_PH_CACHE_MAX_ROLES : n_roles;
    if (e->n_roles)
        memcpy(e->roles, roles, e->n_roles);
    e->expires = now + (int64_t)ttl;
}

size_t ck_ph_cache_expire(ck_ph_cache *c, int64_t now)
{
    size_t dropped = 0;
    for (size_t i = 0; i < c->n;) {
        if (c->e[i].expires <= now) {
            cache_remove(c, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

void ck_ph_cache_flush(ck_ph_cache *c) { c->n = 0; }

/* ---- names ---- */

const char *ck_ph_verdict_name(ck_ph_verdict v)
{
    switch (v) {
    case CK_PH_INSTALL: return "installed";
    case CK_PH_UNCHANGED: return "unchanged";
    case CK_PH_REJECT: return "rejected";
    case CK_PH_NEED_TVS: return "need-tvs";
    }
    return "unknown";
}

const char *ck_ph_reason_name(ck_ph_reason r)
{
    switch (r) {
    case CK_PH_R_NONE: return "none";
    case CK_PH_R_LEAP_OF_FAITH: return "leap-of-faith";
    case CK_PH_R_KNOWN_SAST: return "known-sast";
    case CK_PH_R_TVS_SAST: return "tvs-sast";
    case CK_PH_R_SAME_BYTES: return "same-bytes";
    case CK_PH_R_MALFORMED: return "malformed";
    case CK_PH_R_WRONG_KIND: return "wrong-kind";
    case CK_PH_R_BAD_SIGNATURE: return "bad-signature";
    case CK_PH_R_UNKNOWN_SIGNER: return "unknown-signer";
    case CK_PH_R_TVS_NOT_SAST: return "tvs-not-sast";
    case CK_PH_R_TVS_UNKNOWN: return "tvs-unknown";
    case CK_PH_R_TVS_UNAVAILABLE: return "tvs-unavailable";
    }
    return "unknown";
}

/* ---- judgement ---- */

static int decide(ck_ph_decision *d, ck_ph_verdict v, ck_ph_reason r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int decide(ck_ph_decision *d, ck_ph_verdict v, ck_ph_reason r, const char *fmt, ...)
{
    d->verdict = v;
    d->reason = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
    va_end(ap);
    return 0;
}

static const char *kind_name(ck_ph_kind k) { return k == CK_PH_CTL ? "CTL" : "ITL"; }

/* The signer's subject for messages, bounded, from the header. */
static void signer_name(const ck_tl_file *f, char *out, size_t outsz)
{
    size_t n = f->signer_name.n < outsz - 1 ? f->signer_name.n : outsz - 1;
    if (f->signer_name.p)
        memcpy(out, f->signer_name.p, n);
    out[f->signer_name.p ? n : 0] = '\0';
}

/* Is the DER certificate a SAST record of the held list? Same certificate,
 * byte for byte: a new key under an old name is exactly what must not pass. */
static bool held_sast_has(const ck_tl_file *held, const uint8_t *der, size_t len)
{
    for (size_t i = 0; i < held->n_records; i++) {
        const ck_tl_record *r = &held->records[i];
        if (r->has_function && r->function == CK_ROLE_SAST && r->cert.p &&
            ck_bytes_equal(r->cert.p, r->cert.n, der, len))
            return true;
    }
    return false;
}

static bool roles_have(const ck_ph_cache_entry *e, uint8_t role)
{
    for (size_t i = 0; i < e->n_roles; i++)
        if (e->roles[i] == role)
            return true;
    return false;
}

int ck_ph_judge(const ck_ph_input *in, ck_ph_decision *d, ck_err *err)
{
    if (!in || !d || (!in->data && in->len))
        return ck_fail(err, CK_EINVAL, "ck_ph_judge: missing input");
    memset(d, 0, sizeof(*d));
    const char *kn = kind_name(in->kind);

    if (in->held && ck_bytes_equal(in->held->raw, in->held->raw_len, in->data, in->len))
        return decide(d, CK_PH_UNCHANGED, CK_PH_R_SAME_BYTES, "%s unchanged", kn);

    ck_err perr;
    ck_err_clear(&perr);
    if (ck_tl_parse(in->data, in->len, &d->parsed, &perr) < 0) {
        if (perr.code == CK_ENOMEM)
            return ck_fail(err, CK_ENOMEM, "%s", perr.msg);
        return decide(d, CK_PH_REJECT, CK_PH_R_MALFORMED, "new %s does not parse: %s", kn, perr.msg);
    }
    const ck_tl_file *f = d->parsed;
    /* A trust list names itself CTLFile.tlv or ITLFile.tlv (CUCM's and every
     * writer's; the per-phone names CTLSEP<MAC>.tlv are the same bytes).
     * Anything else is refused, whatever its signer: the node's TFTP key
     * also signs X.sgn for any file in its folder (FILENAME X.sgn), and
     * such a file must never pass for a trust list. */
    const char *want = in->kind == CK_PH_ITL ? CK_ITL_NAME : CK_CTL_NAME;
    if (f->filename.n != strlen(want) || strncasecmp((const char *)f->filename.p, want, f->filename.n) != 0)
        return decide(d, CK_PH_REJECT, CK_PH_R_WRONG_KIND, "the file downloaded as the %s names itself %.*s, not %s",
                      kn, (int)(f->filename.n > 64 ? 64 : f->filename.n),
                      f->filename.p ? (const char *)f->filename.p : "", want);

    char who[160];
    signer_name(f, who, sizeof(who));
    const ck_tl_record *sr = &f->records[f->signer_index]; /* parse guarantees one */

    if (!in->held) {
        if (ck_tl_verify(f, &perr) < 0)
            return decide(d, CK_PH_REJECT, CK_PH_R_BAD_SIGNATURE, "new %s: %s", kn, perr.msg);
        return decide(d, CK_PH_INSTALL, CK_PH_R_LEAP_OF_FAITH,
                      "no %s installed: accepted the first one (leap of faith), signed by %s", kn, who);
    }

    if (sr->cert.p && held_sast_has(in->held, sr->cert.p, sr->cert.n)) {
        if (ck_tl_verify(f, &perr) < 0)
            return decide(d, CK_PH_REJECT, CK_PH_R_BAD_SIGNATURE, "new %s signed in the name of %s: %s", kn, who,
                          perr.msg);
        return decide(d, CK_PH_INSTALL, CK_PH_R_KNOWN_SAST, "signer %s is a SAST of the installed %s", who, kn);
    }

    if (!in->sbd)
        return decide(d, CK_PH_REJECT, CK_PH_R_UNKNOWN_SIGNER,
                      "signer %s is not a SAST of the installed %s and this model has no Security by Default "
                      "(delete the %s on the phone)",
                      who, kn, kn);

    /* SBD: a signer record without a certificate (an eToken record copied
     * without it) cannot be shown to TVS, nor verified. */
    if (!sr->cert.p)
        return decide(d, CK_PH_REJECT, CK_PH_R_UNKNOWN_SIGNER, "signer %s of the new %s carries no certificate",
                      who, kn);
    if (ck_tl_verify(f, &perr) < 0)
        return decide(d, CK_PH_REJECT, CK_PH_R_BAD_SIGNATURE, "new %s: %s", kn, perr.msg);

    unsigned dl = 0;
    if (EVP_Digest(sr->cert.p, sr->cert.n, d->need_sha1, &dl, EVP_sha1(), NULL) != 1 || dl != 20)
        return ck_fail_ssl(err, CK_ECRYPTO, "cannot hash the signer certificate");
    const ck_ph_cache_entry *e = NULL;
    if (in->fresh && memcmp(in->fresh->sha1, d->need_sha1, 20) == 0)
        e = in->fresh;
    else
        e = ck_ph_cache_find(in->cache, d->need_sha1, in->now);
    if (!e) {
        if (in->tvs_error)
            return decide(d, CK_PH_REJECT, CK_PH_R_TVS_UNAVAILABLE,
                          "signer %s is not a SAST of the installed %s and no trusted TVS answered: %s", who, kn,
                          in->tvs_error);
        d->need_cert = sr->cert.p;
        d->need_cert_len = sr->cert.n;
        return decide(d, CK_PH_NEED_TVS, CK_PH_R_NONE, "signer %s is not a SAST of the installed %s: asking TVS",
                      who, kn);
    }
    d->from_cache = e != in->fresh;
    if (!e->valid)
        return decide(d, CK_PH_REJECT, CK_PH_R_TVS_UNKNOWN, "TVS does not know the signer %s of the new %s", who, kn);
    if (!roles_have(e, CK_ROLE_SAST))
        return decide(d, CK_PH_REJECT, CK_PH_R_TVS_NOT_SAST,
                      "TVS knows the signer %s of the new %s, but not as a SAST", who, kn);
    d->via_tvs = true;
    return decide(d, CK_PH_INSTALL, CK_PH_R_TVS_SAST, "TVS vouched for the signer %s of the new %s as SAST", who, kn);
}

/* ---- signed configuration files ---- */

const ck_tl_record *ck_ph_sgn_signer_record(const ck_tl_file *l, const ck_tl_file *sgn)
{
    if (!l)
        return NULL;
    for (size_t i = 0; i < l->n_records; i++) {
        const ck_tl_record *r = &l->records[i];
        if (!r->has_function || (r->function != CK_ROLE_TFTP && r->function != CK_ROLE_CCM_TFTP) || !r->cert.p)
            continue;
        if (ck_bytes_equal(r->serial.p, r->serial.n, sgn->signer_serial.p, sgn->signer_serial.n) &&
            ck_bytes_equal(r->issuer.p, r->issuer.n, sgn->signer_issuer.p, sgn->signer_issuer.n))
            return r;
    }
    return NULL;
}

int ck_ph_check_sgn(const ck_tl_file *ctl, const ck_tl_file *itl, const char *name, const uint8_t *data, size_t len,
                    const uint8_t **content, size_t *content_len, ck_err *err)
{
    ck_tl_file *s = NULL;
    X509 *cert = NULL;
    int rc = -1;
    if (ck_sgn_parse(data, len, &s, err) < 0)
        return -1;
    if (name && (s->filename.n != strlen(name) || strncasecmp((const char *)s->filename.p, name, s->filename.n) != 0)) {
        ck_fail(err, CK_EDENIED, "the file asked for as %s names itself %.*s", name,
                (int)(s->filename.n > 128 ? 128 : s->filename.n), s->filename.p ? (const char *)s->filename.p : "");
        goto out;
    }
    const ck_tl_record *r = ck_ph_sgn_signer_record(ctl, s);
    if (!r)
        r = ck_ph_sgn_signer_record(itl, s);
    if (!r) {
        ck_fail(err, CK_ENOTFOUND, "the signer %.*s is not a TFTP record of the installed CTL or ITL",
                (int)(s->signer_name.n > 128 ? 128 : s->signer_name.n),
                s->signer_name.p ? (const char *)s->signer_name.p : "");
        goto out;
    }
    if (!(cert = ck_cert_from_der(r->cert.p, r->cert.n, err)))
        goto out;
    if (ck_tl_verify_with(s, cert, err) < 0)
        goto out;
    /* content points into s's private copy; hand out the same offset in data */
    *content = data + (s->content.p - s->raw);
    *content_len = s->content.n;
    rc = 0;
out:
    X509_free(cert);
    ck_tl_free(s);
    return rc;
}

bool ck_ph_itl_trusts_tvs(const ck_tl_file *itl, const uint8_t *der, size_t der_len)
{
    if (!itl)
        return false;
    for (size_t i = 0; i < itl->n_records; i++) {
        const ck_tl_record *r = &itl->records[i];
        if (r->has_function && r->function == CK_ROLE_TVS && r->cert.p &&
            ck_bytes_equal(r->cert.p, r->cert.n, der, der_len))
            return true;
    }
    return false;
}

/* ---- models ---- */

int ck_ph_model_sbd(const char *model)
{
    static const char *const without[] = {"7940", "7960", "jabber"};
    static const char *const with[] = {"6921", "6941", "6945", "6961", "7811", "7821", "7841", "7861", "7906",
                                       "7911", "7931", "7941", "7942", "7945", "7961", "7962", "7965", "7970",
                                       "7971", "7975", "8811", "8821", "8841", "8845", "8851", "8861", "8865",
                                       "8941", "8945", "8961", "9951", "9971"};
    if (!model || !*model)
        return -1;
    if (strncasecmp(model, "CP-", 3) == 0)
        model += 3;
    for (size_t i = 0; i < sizeof without / sizeof without[0]; i++)
        if (strcasecmp(model, without[i]) == 0)
            return 0;
    for (size_t i = 0; i < sizeof with / sizeof with[0]; i++)
        if (strcasecmp(model, with[i]) == 0)
            return 1;
    return -1;
}
