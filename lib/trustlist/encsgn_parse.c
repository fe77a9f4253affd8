/* The .enc.sgn encryption block, read strictly (docs/capf.md): the
 * containers hold exactly the elements seen in files, in that order, each
 * with its exact length, so that a changed or truncated block is refused
 * with the offset that is wrong instead of being half understood. */
#include <string.h>

#include "ctlkit/bytes.h"
#include "internal.h"
#include "tags.h"

/* Reads the next element of container c, which must be `tag`; a fixed
 * length `want` (0: any non-empty length). */
static int next_elem(ck_cur *c, const char *container, uint8_t tag, uint16_t want, ck_cur *val, ck_err *err)
{
    size_t off = ck_cur_offset(c);
    uint8_t t;
    uint16_t len;
    if (!ck_cur_u8(c, &t))
        return ck_fail(err, CK_EFORMAT, "offset %zu: %s ends before its %s element", off, container,
                       ck_tl_header_label(tag));
    if (t != tag)
        return ck_fail(err, CK_EFORMAT, "offset %zu: tag %u inside %s where %s (tag %u) belongs", off, t, container,
                       ck_tl_header_label(tag), tag);
    if (!ck_cur_u16(c, &len))
        return ck_fail(err, CK_EFORMAT, "offset %zu: %s has no room for its length", off, ck_tl_header_label(tag));
    if (!ck_cur_sub(c, len, val))
        return ck_fail(err, CK_EFORMAT, "offset %zu: %s length %u runs past %s (%zu bytes left)", off,
                       ck_tl_header_label(tag), len, container, ck_cur_remaining(c));
    if (want ? len != want : len == 0)
        return want ? ck_fail(err, CK_EFORMAT, "offset %zu: %s has length %u, expected %u", off,
                              ck_tl_header_label(tag), len, want)
                    : ck_fail(err, CK_EFORMAT, "offset %zu: empty %s", off, ck_tl_header_label(tag));
    return 0;
}

static int no_more(const ck_cur *c, const char *container, ck_err *err)
{
    if (ck_cur_remaining(c))
        return ck_fail(err, CK_EFORMAT, "offset %zu: %zu unexpected bytes at the end of %s", ck_cur_offset(c),
                       ck_cur_remaining(c), container);
    return 0;
}

static int parse_iv_info(ck_cur *c, ck_sgn_enc *enc, ck_err *err)
{
    ck_cur v;
    const char *where = "ENCRYPTIONIVINFO";
    if (next_elem(c, where, ENC_IV_FLAG, 1, &v, err) < 0)
        return -1;
    enc->iv_flag = v.data[0];
    if (next_elem(c, where, ENC_IV, sizeof enc->iv, &v, err) < 0)
        return -1;
    memcpy(enc->iv, v.data, sizeof enc->iv);
    size_t off = ck_cur_offset(c);
    if (next_elem(c, where, ENC_PAD_LEN, 2, &v, err) < 0)
        return -1;
    (void)ck_cur_u16(&v, &enc->pad_len); /* two bytes: next_elem */
    if (enc->pad_len < 1 || enc->pad_len > 16)
        return ck_fail(err, CK_EFORMAT, "offset %zu: ENCRYPTIONPADDING %u is not 1 to 16", off, enc->pad_len);
    return no_more(c, where, err);
}

static int parse_key_info(ck_cur *c, ck_sgn_enc *enc, ck_err *err)
{
    ck_cur v;
    const char *where = "ENCRYPTIONKEYINFO";
    if (next_elem(c, where, ENC_KEY_FLAG, 1, &v, err) < 0)
        return -1;
    enc->key_flag = v.data[0];
    size_t bits_off = ck_cur_offset(c);
    if (next_elem(c, where, ENC_KEY_BITS, 2, &v, err) < 0)
        return -1;
    (void)ck_cur_u16(&v, &enc->key_bits); /* two bytes: next_elem */
    size_t off = ck_cur_offset(c);
    if (next_elem(c, where, ENC_KEY_ALG, 1, &v, err) < 0)
        return -1;
    enc->key_alg = v.data[0];
    if (enc->key_alg != 1)
        return ck_fail(err, CK_EFORMAT, "offset %zu: ENCRYPTIONKEYALGORITHM %u is not AES-128 (1)", off,
                       enc->key_alg);
    if (next_elem(c, where, ENC_KEY, 0, &v, err) < 0)
        return -1;
    enc->wrapped_key = (ck_span){v.data, v.len};
    if ((size_t)enc->key_bits != 8 * v.len)
        return ck_fail(err, CK_EFORMAT, "offset %zu: ENCRYPTIONKEYBITS %u does not match the %zu-byte ENCRYPTIONKEY",
                       bits_off, enc->key_bits, v.len);
    return no_more(c, where, err);
}

int ck__enc_parse_info(ck_cur *c, ck_sgn_enc *enc, ck_err *err)
{
    ck_cur v;
    if (next_elem(c, "ENCRYPTIONINFO", ENC_IV_INFO, 0, &v, err) < 0 || parse_iv_info(&v, enc, err) < 0)
        return -1;
    if (next_elem(c, "ENCRYPTIONINFO", ENC_KEY_INFO, 0, &v, err) < 0 || parse_key_info(&v, enc, err) < 0)
        return -1;
    if (no_more(c, "ENCRYPTIONINFO", err) < 0)
        return -1;
    enc->present = true;
    return 0;
}

int ck__enc_check(const ck_tl_file *f, ck_err *err)
{
    const ck_sgn_enc *e = &f->enc;
    bool any = e->present || e->digest_alg || e->digest.p;
    if (f->ver_major != 2) {
        if (any)
            return ck_fail(err, CK_EFORMAT, "header version %u.%u carries encryption elements (only 2.0 does)",
                           f->ver_major, f->ver_minor);
        return 0;
    }
    if (f->ver_minor != 0)
        return ck_fail(err, CK_EFORMAT, "header version 2.%u is unknown (an .enc.sgn is 2.0)", f->ver_minor);
    if (!e->present || !e->digest_alg || !e->digest.p)
        return ck_fail(err, CK_EFORMAT, "version 2.0 header lacks its %s element",
                       !e->present ? "ENCRYPTIONINFO" : !e->digest_alg ? "CONTENTDIGESTALGORITHM" : "CONTENTDIGEST");
    size_t want = (size_t)EVP_MD_get_size(ck_digest_md(e->digest_alg));
    if (e->digest.n != want)
        return ck_fail(err, CK_EFORMAT, "CONTENTDIGEST is %zu bytes, a %s digest is %zu", e->digest.n,
                       ck_digest_name(e->digest_alg), want);
    if (f->content.n == 0 || f->content.n % 16)
        return ck_fail(err, CK_EFORMAT, "offset %u: the ciphertext is %zu bytes, not a positive multiple of 16",
                       f->header_len, f->content.n);
    return 0;
}
