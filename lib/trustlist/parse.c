/* Strict parser for CTL / ITL / .sgn files (docs/trustlist-format.md).
 *
 * Reads like the schema (habit 2): every element is tag | u16 length |
 * value, checked against the bytes that remain in its container before it
 * is looked at; anything the format does not define is an error that names
 * its offset. The signature is not checked here (ck_tl_verify does that);
 * callers must verify before trusting what the records say (habit 3). */
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/trustlist.h"
#include "internal.h"
#include "tags.h"

typedef struct parser {
    ck_tl_file *f;
    size_t elems_cap;
    bool sgn; /* a signed file: the .enc.sgn tags are allowed */
    ck_err *err;
} parser;

static int add_elem(parser *ps, uint8_t tag, uint8_t depth, uint16_t len, size_t off)
{
    ck_tl_file *f = ps->f;
    if (f->n_elems == ps->elems_cap) {
        size_t cap = ps->elems_cap ? ps->elems_cap * 2 : 64;
        ck_tl_elem *p = realloc(f->elems, cap * sizeof *p);
        if (!p)
            return ck_fail(ps->err, CK_ENOMEM, "out of memory");
        f->elems = p;
        ps->elems_cap = cap;
    }
    f->elems[f->n_elems++] = (ck_tl_elem){.tag = tag, .depth = depth, .len = len, .off = off};
    return 0;
}

/* Strings are NUL-terminated and the NUL counts in the length; the span
 * leaves it out. A value without its NUL is taken as it is. */
static ck_span str_span(const uint8_t *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\0')
        n--;
    return (ck_span){p, n};
}

/* Reads one element header: tag, then (unless padding) length and value
 * inside cursor c. *off gets the tag's absolute offset. */
static int read_elem(parser *ps, ck_cur *c, const char *where, uint8_t *tag, size_t *off, ck_cur *val,
                     uint16_t *len)
{
    *off = ck_cur_offset(c);
    if (!ck_cur_u8(c, tag))
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: %s ends inside an element", *off, where);
    if (*tag == HDR_PADDING && strcmp(where, "header") == 0) {
        *len = 1;
        return 0;
    }
    if (!ck_cur_u16(c, len))
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: %s element tag %u has no room for its length", *off,
                       where, *tag);
    if (!ck_cur_sub(c, *len, val))
        return ck_fail(ps->err, CK_EFORMAT,
                       "offset %zu: %s element tag %u length %u runs past its container (%zu bytes left)", *off,
                       where, *tag, *len, ck_cur_remaining(c));
    return 0;
}

static int expect_len(parser *ps, size_t off, const char *label, uint16_t len, uint16_t want)
{
    if (len != want)
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: %s has length %u, expected %u", off, label, len, want);
    return 0;
}

static int parse_u8_elem(parser *ps, ck_cur *c, uint8_t depth, uint8_t want_tag, uint8_t *out, unsigned *seen)
{
    uint8_t tag;
    size_t off;
    ck_cur v;
    uint16_t len;
    if (read_elem(ps, c, "header", &tag, &off, &v, &len) < 0)
        return -1;
    if (tag != want_tag)
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unexpected tag %u inside %s (expected %s)", off, tag,
                       depth == 1 ? "SIGNATUREINFO" : "SIGNATUREALGOINFO", ck_tl_header_label(want_tag));
    if (*seen & (1u << tag))
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: second %s element", off, ck_tl_header_label(tag));
    *seen |= 1u << tag;
    if (expect_len(ps, off, ck_tl_header_label(tag), len, 1) < 0 || add_elem(ps, tag, depth, len, off) < 0)
        return -1;
    return ck_cur_u8(&v, out) ? 0 : -1;
}

static int parse_signerid(parser *ps, ck_cur *c)
{
    ck_tl_file *f = ps->f;
    while (ck_cur_remaining(c)) {
        uint8_t tag;
        size_t off;
        ck_cur v;
        uint16_t len;
        if (read_elem(ps, c, "SIGNERID", &tag, &off, &v, &len) < 0)
            return -1;
        ck_span *dst = tag == HDR_SIGNERNAME     ? &f->signer_name
                       : tag == HDR_SERIALNUMBER ? &f->signer_serial
                       : tag == HDR_CANAME       ? &f->signer_issuer
                                                 : NULL;
        if (!dst)
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unknown tag %u inside SIGNERID", off, tag);
        if (dst->p)
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: second %s element", off, ck_tl_header_label(tag));
        if (len == 0)
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: empty %s", off, ck_tl_header_label(tag));
        *dst = tag == HDR_SERIALNUMBER ? (ck_span){v.data, v.len} : str_span(v.data, v.len);
        if (add_elem(ps, tag, 1, len, off) < 0)
            return -1;
    }
    if (!f->signer_name.p || !f->signer_serial.p || !f->signer_issuer.p)
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: SIGNERID lacks %s", c->base,
                       !f->signer_name.p ? "SIGNERNAME" : !f->signer_serial.p ? "SERIALNUMBER" : "CANAME");
    return 0;
}

static int parse_signatureinfo(parser *ps, ck_cur *c)
{
    ck_tl_file *f = ps->f;
    unsigned seen = 0;
    while (ck_cur_remaining(c)) {
        size_t off = ck_cur_offset(c);
        uint8_t tag = 0;
        (void)ck_cur_peek_u8(c, &tag); /* the loop runs while bytes remain */
        if (tag == HDR_DIGESTALGORITHM) {
            if (parse_u8_elem(ps, c, 1, HDR_DIGESTALGORITHM, &f->digest_alg, &seen) < 0)
                return -1;
            if (!ck_digest_md(f->digest_alg))
                return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unknown DIGESTALGORTITHM %u", off, f->digest_alg);
        } else if (tag == HDR_SIGNATUREALGOINFO) {
            uint8_t t;
            ck_cur v;
            uint16_t len;
            if (read_elem(ps, c, "SIGNATUREINFO", &t, &off, &v, &len) < 0)
                return -1;
            if (seen & (1u << t))
                return ck_fail(ps->err, CK_EFORMAT, "offset %zu: second SIGNATUREALGOINFO", off);
            seen |= 1u << t;
            if (add_elem(ps, t, 1, len, off) < 0)
                return -1;
            while (ck_cur_remaining(&v)) {
                uint8_t inner = 0;
                (void)ck_cur_peek_u8(&v, &inner);
                uint8_t *dst = inner == HDR_SIGNATUREALGORITHM ? &f->sig_alg
                               : inner == HDR_SIGNATUREMODULUS ? &f->sig_modulus
                                                               : NULL;
                if (!dst)
                    return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unknown tag %u inside SIGNATUREALGOINFO",
                                   ck_cur_offset(&v), inner);
                if (parse_u8_elem(ps, &v, 2, inner, dst, &seen) < 0)
                    return -1;
            }
        } else {
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unknown tag %u inside SIGNATUREINFO", off, tag);
        }
    }
    if (!(seen & (1u << HDR_DIGESTALGORITHM)))
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: SIGNATUREINFO lacks DIGESTALGORTITHM", c->base);
    if (f->sig_alg != 0)
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: SIGNATUREALGORTITHM %u is not RSA (0)", c->base,
                       f->sig_alg);
    return 0;
}

static int parse_header(parser *ps, ck_cur *file)
{
    ck_tl_file *f = ps->f;
    uint32_t seen = 0;
    size_t limit = file->len; /* the whole input until HEADERLENGTH is known */

    while (ck_cur_offset(file) < limit) {
        uint8_t tag;
        size_t off;
        ck_cur v;
        uint16_t len;
        ck_cur bounded;
        ck_cur_window(file, limit, &bounded);
        if (read_elem(ps, &bounded, "header", &tag, &off, &v, &len) < 0)
            return -1;
        ck_cur_sync(file, &bounded);
        if (tag == HDR_PADDING) {
            if (add_elem(ps, tag, 0, 1, off) < 0)
                return -1;
            continue;
        }
        const char *label = ck_tl_header_label(tag);
        bool top = tag == HDR_VERSION || tag == HDR_HEADERLENGTH || tag == HDR_SIGNERVERSION ||
                   tag == HDR_SIGNERID || tag == HDR_SIGNATUREINFO || tag == HDR_SIGNATURE ||
                   tag == HDR_FILENAME || tag == HDR_TIMESTAMP ||
                   (ps->sgn && (tag == ENC_INFO || tag == ENC_DIGEST_ALG || tag == ENC_DIGEST));
        if (!top)
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unknown header tag %u", off, tag);
        if (seen & (1u << tag))
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: second %s element in the header%s", off, label,
                           f->header_len ? "" : " (no HEADERLENGTH before it)");
        seen |= 1u << tag;
        if (add_elem(ps, tag, 0, len, off) < 0)
            return -1;
        switch (tag) {
        case HDR_VERSION:
            if (expect_len(ps, off, label, len, 2) < 0)
                return -1;
            f->ver_major = v.data[0];
            f->ver_minor = v.data[1];
            break;
        case HDR_HEADERLENGTH: {
            if (expect_len(ps, off, label, len, 2) < 0)
                return -1;
            (void)ck_cur_u16(&v, &f->header_len); /* two bytes: expect_len */
            if (f->header_len < ck_cur_offset(file))
                return ck_fail(ps->err, CK_EFORMAT,
                               "offset %zu: HEADERLENGTH %u is shorter than the header elements before it (%zu)",
                               off, f->header_len, ck_cur_offset(file));
            if (f->header_len > file->len)
                return ck_fail(ps->err, CK_EFORMAT, "offset %zu: HEADERLENGTH %u is past the end of the file (%zu)",
                               off, f->header_len, file->len);
            limit = f->header_len;
            break;
        }
        case HDR_SIGNERVERSION:
            if (expect_len(ps, off, "signer version", len, 2) < 0)
                return -1;
            f->has_signer_version = true;
            f->sv_major = v.data[0];
            f->sv_minor = v.data[1];
            break;
        case HDR_SIGNERID:
            if (parse_signerid(ps, &v) < 0)
                return -1;
            break;
        case HDR_SIGNATUREINFO:
            if (parse_signatureinfo(ps, &v) < 0)
                return -1;
            break;
        case HDR_SIGNATURE:
            if (len == 0)
                return ck_fail(ps->err, CK_EFORMAT, "offset %zu: empty SIGNATURE", off);
            f->signature = (ck_span){v.data, v.len};
            f->sig_elem_off = off;
            break;
        case HDR_FILENAME:
            f->filename = str_span(v.data, v.len);
            break;
        case HDR_TIMESTAMP:
            if (expect_len(ps, off, label, len, 4) < 0)
                return -1;
            f->has_timestamp = true;
            (void)ck_cur_u32(&v, &f->timestamp); /* four bytes: expect_len */
            break;
        case ENC_INFO:
            if (ck__enc_parse_info(&v, &f->enc, ps->err) < 0)
                return -1;
            break;
        case ENC_DIGEST_ALG:
            if (expect_len(ps, off, label, len, 1) < 0)
                return -1;
            f->enc.digest_alg = v.data[0];
            if (!ck_digest_md(f->enc.digest_alg))
                return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unknown %s %u", off, label, f->enc.digest_alg);
            break;
        case ENC_DIGEST:
            if (len == 0)
                return ck_fail(ps->err, CK_EFORMAT, "offset %zu: empty %s", off, label);
            f->enc.digest = (ck_span){v.data, v.len};
            break;
        }
    }
    f->header_elem_count = f->n_elems;
    static const struct {
        unsigned tag;
        const char *name;
    } required[] = {{HDR_VERSION, "VERSION"},        {HDR_HEADERLENGTH, "HEADERLENGTH"},
                    {HDR_SIGNERID, "SIGNERID"},       {HDR_SIGNATUREINFO, "SIGNATUREINFO"},
                    {HDR_SIGNATURE, "SIGNATURE"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!(seen & (1u << required[i].tag)))
            return ck_fail(ps->err, CK_EFORMAT, "header lacks its %s element", required[i].name);
    return 0;
}

static int parse_record(parser *ps, ck_cur *file, size_t index)
{
    ck_tl_file *f = ps->f;
    ck_tl_record *r = &f->records[index];
    size_t start = ck_cur_offset(file);
    uint8_t tag;
    uint16_t len, reclen;

    memset(r, 0, sizeof *r);
    r->offset = start;
    r->elem_first = f->n_elems;
    /* RECORDLENGTH delimits the record, so it must come first. */
    if (!ck_cur_u8(file, &tag) || tag != REC_RECORDLENGTH || !ck_cur_u16(file, &len) || len != 2 ||
        !ck_cur_u16(file, &reclen))
        return ck_fail(ps->err, CK_EFORMAT,
                       "offset %zu: record #%zu does not start with a 2-byte RECORDLENGTH element", start,
                       index + 1);
    if (reclen < 5)
        return ck_fail(ps->err, CK_EFORMAT,
                       "offset %zu: record #%zu RECORDLENGTH %u is shorter than its own 5-byte element", start,
                       index + 1, reclen);
    if ((size_t)reclen - 5 > ck_cur_remaining(file))
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: record #%zu RECORDLENGTH %u runs past the end of the file (%zu bytes left)",
                       start, index + 1, reclen, ck_cur_remaining(file) + 5);
    r->length = reclen;
    if (add_elem(ps, REC_RECORDLENGTH, 0, 2, start) < 0)
        return -1;
    ck_cur body;
    ck_cur_sub(file, (size_t)reclen - 5, &body);
    uint32_t seen = 1u << REC_RECORDLENGTH;
    char where[32];
    snprintf(where, sizeof where, "record #%zu", index + 1);
    while (ck_cur_remaining(&body)) {
        size_t off;
        ck_cur v;
        if (read_elem(ps, &body, where, &tag, &off, &v, &len) < 0)
            return -1;
        const char *label = ck_tl_record_label(tag);
        if (tag == REC_RECORDLENGTH || tag > REC_HASHALGORITHM || tag == 0)
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: unknown tag %u in %s", off, tag, where);
        if (seen & (1u << tag))
            return ck_fail(ps->err, CK_EFORMAT, "offset %zu: second %s element in %s", off, label, where);
        seen |= 1u << tag;
        if (add_elem(ps, tag, 0, len, off) < 0)
            return -1;
        switch (tag) {
        case REC_DNSNAME: r->dns_name = str_span(v.data, v.len); break;
        case REC_SUBJECTNAME: r->subject = str_span(v.data, v.len); break;
        case REC_ISSUERNAME: r->issuer = str_span(v.data, v.len); break;
        case REC_SERIALNUMBER: r->serial = (ck_span){v.data, v.len}; break;
        case REC_PUBLICKEY: r->pubkey = (ck_span){v.data, v.len}; break;
        case REC_SIGNATURE: r->cert_signature = (ck_span){v.data, v.len}; break;
        case REC_CERTIFICATE: r->cert = (ck_span){v.data, v.len}; break;
        case REC_CERTHASH: r->cert_hash = (ck_span){v.data, v.len}; break;
        case REC_FUNCTION:
            if (expect_len(ps, off, label, len, 2) < 0)
                return -1;
            r->has_function = true;
            (void)ck_cur_u16(&v, &r->function); /* two bytes: expect_len */
            break;
        case REC_IPADDRESS:
            if (expect_len(ps, off, label, len, 4) < 0)
                return -1;
            r->has_ip = true;
            memcpy(r->ip, v.data, 4);
            break;
        case REC_HASHALGORITHM:
            if (expect_len(ps, off, label, len, 1) < 0)
                return -1;
            r->has_hash_alg = true;
            r->hash_alg = v.data[0];
            break;
        }
    }
    if (!r->has_function)
        return ck_fail(ps->err, CK_EFORMAT, "offset %zu: %s has no FUNCTION element", start, where);
    r->elem_count = f->n_elems - r->elem_first;
    return 0;
}

static int find_signer(parser *ps)
{
    ck_tl_file *f = ps->f;
    size_t sast = 0, matches = 0;
    f->signer_index = -1;
    for (size_t i = 0; i < f->n_records; i++) {
        const ck_tl_record *r = &f->records[i];
        if (r->function != CK_ROLE_SAST)
            continue;
        sast++;
        if (ck_bytes_equal(r->serial.p, r->serial.n, f->signer_serial.p, f->signer_serial.n) && r->issuer.p &&
            ck_bytes_equal(r->issuer.p, r->issuer.n, f->signer_issuer.p, f->signer_issuer.n)) {
            matches++;
            if (f->signer_index < 0)
                f->signer_index = (int)i;
        }
    }
    if (sast > CK_TL_MAX_SAST)
        return ck_fail(ps->err, CK_EFORMAT, "%zu SAST records; a trust list may carry at most %d", sast,
                       CK_TL_MAX_SAST);
    if (matches > 1)
        return ck_fail(ps->err, CK_EFORMAT, "two SAST records match the signer in the header; the signer is ambiguous");
    if (matches == 0) {
        char serial[3 * 64];
        ck_hex(f->signer_serial.p, f->signer_serial.n, ':', true, serial, sizeof serial);
        return ck_fail(ps->err, CK_EFORMAT, "no SAST record matches the signer in the header (serial %s, issuer %.*s)",
                       serial, (int)f->signer_issuer.n, (const char *)f->signer_issuer.p);
    }
    return 0;
}

static int parse_common(const uint8_t *data, size_t len, bool sgn, ck_tl_file **out, ck_err *err)
{
    *out = NULL;
    if (len > CK_TL_MAX_PARSE)
        return ck_fail(err, CK_ELIMIT, "%zu bytes; larger than any trust list (limit %u)", len, CK_TL_MAX_PARSE);
    if (len == 0)
        return ck_fail(err, CK_EFORMAT, "empty file");
    ck_tl_file *f = calloc(1, sizeof *f);
    if (!f || !(f->raw = malloc(len))) {
        free(f);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    memcpy(f->raw, data, len);
    f->raw_len = len;
    f->signer_index = -1;
    parser ps = {.f = f, .sgn = sgn, .err = err};
    ck_cur file;
    ck_cur_init(&file, f->raw, len);
    if (parse_header(&ps, &file) < 0)
        goto fail;
    if (sgn) {
        f->content = (ck_span){f->raw + file.pos, ck_cur_remaining(&file)};
        if (ck__enc_check(f, err) < 0)
            goto fail;
        *out = f;
        return 0;
    }
    size_t cap = 0;
    while (ck_cur_remaining(&file)) {
        if (f->n_records == cap) {
            cap = cap ? cap * 2 : 8;
            ck_tl_record *p = realloc(f->records, cap * sizeof *p);
            if (!p) {
                ck_fail(err, CK_ENOMEM, "out of memory");
                goto fail;
            }
            f->records = p;
        }
        if (parse_record(&ps, &file, f->n_records) < 0)
            goto fail;
        f->n_records++;
    }
    if (f->n_records == 0) {
        ck_fail(err, CK_EFORMAT, "offset %zu: no records after the header", (size_t)f->header_len);
        goto fail;
    }
    if (find_signer(&ps) < 0)
        goto fail;
    *out = f;
    return 0;
fail:
    ck_tl_free(f);
    return -1;
}

int ck_tl_parse(const uint8_t *data, size_t len, ck_tl_file **out, ck_err *err)
{
    return parse_common(data, len, false, out, err);
}

int ck_sgn_parse(const uint8_t *data, size_t len, ck_tl_file **out, ck_err *err)
{
    return parse_common(data, len, true, out, err);
}

void ck_tl_free(ck_tl_file *f)
{
    if (!f)
        return;
    free(f->raw);
    free(f->elems);
    free(f->records);
    free(f);
}

bool ck_tl_is_itl(const ck_tl_file *f)
{
    return f->filename.n >= 3 && memcmp(f->filename.p, "ITL", 3) == 0;
}
