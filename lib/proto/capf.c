/* CAPF messages: header, frame splitting, the per-command element table,
 * parsing and building (docs/capf.md). */
#include "ctlkit/capf.h"

#include <string.h>

#define B(tag) CK_CAPF_BIT(CK_CAPF_TAG_##tag)

/* What each command whose layout is known may and must carry. */
typedef struct rule {
    const char *name;
    uint32_t allowed;
    uint32_t required;
} rule;

static const rule rules[CK_CAPF_LAST_COMMAND + 1] = {
    [CK_CAPF_AUTH_REQ] = {"AUTH_REQUEST", B(VERSION) | B(AUTH_TYPE), B(VERSION) | B(AUTH_TYPE)},
    [CK_CAPF_AUTH_RESP] = {"AUTH_RESPONSE",
                           B(REASON) | B(REASON_INFO) | B(CERT_TYPE) | B(CERT) | B(SIGNED_DATA) | B(VERSION) |
                               B(PASSWORD) | B(DEVICE) | B(SUDI) | B(SHA2_SIGNED_DATA),
                           B(VERSION) | B(DEVICE)},
    [CK_CAPF_KEYGEN_REQ] = {"KEY_GENERATE_REQUEST", B(KEY_SIZE) | B(KEY_TYPE) | B(CURVE), B(KEY_TYPE)},
    [CK_CAPF_KEYGEN_RESP] = {"KEY_GENERATE_RESPONSE", B(REASON) | B(REASON_INFO) | B(PUBLIC_KEY), 0},
    [CK_CAPF_STORE_CERT_REQ] = {"STORE_CERTIFICATE_REQUEST", B(CERT_TYPE) | B(CERT), B(CERT_TYPE) | B(CERT)},
    [CK_CAPF_STORE_CERT_RESP] = {"STORE_CERTIFICATE_RESPONSE", B(REASON) | B(REASON_INFO), B(REASON)},
    /* CUCM may name the type it wants fetched (docs/capf.md); optional. */
    [CK_CAPF_FETCH_CERT_REQ] = {"FETCH_CERTIFICATE_REQUEST", B(CERT_TYPE), 0},
    [CK_CAPF_FETCH_CERT_RESP] = {"FETCH_CERTIFICATE_RESPONSE", B(REASON) | B(REASON_INFO) | B(CERT_TYPE) | B(CERT),
                                 B(REASON)},
    [CK_CAPF_DELETE_CERT_REQ] = {"DELETE_CERTIFICATE_REQUEST", 0, 0},
    [CK_CAPF_DELETE_CERT_RESP] = {"DELETE_CERTIFICATE_RESPONSE", B(REASON) | B(REASON_INFO), B(REASON)},
    [CK_CAPF_END_SESSION] = {"END_SESSION", B(REASON) | B(REASON_INFO), B(REASON)},
    [CK_CAPF_REQUEST_IN_PROGRESS] = {"REQUEST_IN_PROGRESS", 0, 0},
};

/* Names of the commands whose layout nobody has published. */
static const char *const unknown_layout[CK_CAPF_LAST_COMMAND + 1] = {
    [5] = "ENCRYPT_RESPONSE",   [6] = "ENCRYPT_REQUEST",    [7] = "DECRYPT_REQUEST",
    [8] = "DECRYPT_RESPONSE",   [16] = "RETRY_LATER",       [18] = "STATUS_REQUEST",
    [19] = "STATUS_RESPONSE",   [20] = "ABORT_REQUEST",     [21] = "ABORT_RESPONSE",
    [22] = "SIGN_CERTIFICATE_REQUEST", [23] = "SIGN_CERTIFICATE_RESPONSE",
};

/* The order the reference phone and server write elements in (the server
 * in ascending tags, the phone with 11, 13, 16, 9, 20 last). */
static const uint8_t emit_order[] = {1, 2, 3, 4, 6, 7, 8, 10, 11, 13, 16, 9, 17, 18, 20};

bool ck_capf_command_known(uint8_t command)
{
    return command <= CK_CAPF_LAST_COMMAND && rules[command].name != NULL;
}

const char *ck_capf_command_name(uint8_t command)
{
    if (command > CK_CAPF_LAST_COMMAND)
        return "unknown";
    if (rules[command].name)
        return rules[command].name;
    return unknown_layout[command] ? unknown_layout[command] : "unknown";
}

const char *ck_capf_reason_name(uint8_t reason)
{
    switch (reason) {
    case CK_CAPF_REASON_NO_ACTION: return "NO_ACTION";
    case CK_CAPF_REASON_UPDATE: return "UPDATE_CERTIFICATE";
    case CK_CAPF_REASON_INVALID: return "INVALID_ELEMENT";
    case CK_CAPF_REASON_UNKNOWN_DEVICE: return "UNKNOWN_DEVICE";
    }
    return "unknown";
}

static const char *tag_name(uint8_t tag)
{
    switch (tag) {
    case CK_CAPF_TAG_REASON: return "REASON";
    case CK_CAPF_TAG_REASON_INFO: return "REASON_INFO";
    case CK_CAPF_TAG_CERT_TYPE: return "CERTIFICATE_TYPE";
    case CK_CAPF_TAG_CERT: return "CERTIFICATE";
    case CK_CAPF_TAG_SIGNED_DATA: return "SIGNED_DATA";
    case CK_CAPF_TAG_VERSION: return "VERSION";
    case CK_CAPF_TAG_AUTH_TYPE: return "AUTH_TYPE";
    case CK_CAPF_TAG_PUBLIC_KEY: return "PUBLIC_KEY";
    case CK_CAPF_TAG_KEY_SIZE: return "KEY_SIZE";
    case CK_CAPF_TAG_PASSWORD: return "PASSWORD";
    case CK_CAPF_TAG_DEVICE: return "DEVICE_NAME";
    case CK_CAPF_TAG_SUDI: return "SUDI_DATA";
    case CK_CAPF_TAG_KEY_TYPE: return "KEY_TYPE";
    case CK_CAPF_TAG_CURVE: return "CURVE";
    case CK_CAPF_TAG_SHA2_SIGNED_DATA: return "SHA2_SIGNED_DATA";
    }
    return "unknown";
}

static int check_header_prefix(const uint8_t *p, size_t have, ck_err *err)
{
    if (have >= 1 && p[0] != CK_CAPF_PROTO_ID)
        return ck_fail(err, CK_EFORMAT, "not a CAPF message: protocol id 0x%02x at offset 0 (expected 0x%02x)",
                       p[0], CK_CAPF_PROTO_ID);
    if (have >= 2 && (p[1] == 0 || p[1] > CK_CAPF_LAST_COMMAND))
        return ck_fail(err, CK_EFORMAT, "unknown CAPF command %u at offset 1", p[1]);
    return 0;
}

int ck_capf_parse_header(const uint8_t *p, size_t len, ck_capf_header *h, ck_err *err)
{
    if (len < CK_CAPF_HEADER_LEN)
        return ck_fail(err, CK_EFORMAT, "CAPF message of %zu bytes is shorter than its %u-byte header", len,
                       CK_CAPF_HEADER_LEN);
    if (check_header_prefix(p, CK_CAPF_HEADER_LEN, err) < 0)
        return -1;
    ck_cur c;
    ck_cur_init(&c, p, CK_CAPF_HEADER_LEN);
    /* Cannot fail: eight bytes are there. */
    (void)(ck_cur_u8(&c, &h->proto) && ck_cur_u8(&c, &h->command) && ck_cur_u32(&c, &h->session) &&
           ck_cur_u16(&c, &h->body_len));
    return 0;
}

ck_capf_frame ck_capf_frame_check(const uint8_t *buf, size_t have, size_t max_frame, size_t *frame_len,
                                  ck_err *err)
{
    if (check_header_prefix(buf, have < CK_CAPF_HEADER_LEN ? have : CK_CAPF_HEADER_LEN, err) < 0)
        return CK_CAPF_FRAME_BAD;
    if (have < CK_CAPF_HEADER_LEN)
        return CK_CAPF_FRAME_NEED_MORE;
    size_t body = (size_t)buf[6] << 8 | buf[7];
    size_t total = CK_CAPF_HEADER_LEN + body;
    if (total > max_frame) {
        ck_fail(err, CK_ELIMIT, "CAPF %s with body length %zu at offset 6 is over the %zu-byte limit",
                ck_capf_command_name(buf[1]), body, max_frame < CK_CAPF_HEADER_LEN ? 0 : max_frame - CK_CAPF_HEADER_LEN);
        return CK_CAPF_FRAME_BAD;
    }
    if (have < total)
        return CK_CAPF_FRAME_NEED_MORE;
    *frame_len = total;
    return CK_CAPF_FRAME_READY;
}

typedef struct elem {
    uint8_t tag;
    uint16_t len;
    size_t off; /* offset of the tag byte */
    const uint8_t *value;
} elem;

static int want_len(const elem *e, size_t n, ck_err *err)
{
    if (e->len != n)
        return ck_fail(err, CK_EFORMAT, "CAPF %s element at offset %zu has length %u (expected %zu)", tag_name(e->tag),
                       e->off, e->len, n);
    return 0;
}

/* A u8 that must be in [lo, hi]. */
static int get_enum(const elem *e, uint8_t lo, uint8_t hi, uint8_t *out, ck_err *err)
{
    if (want_len(e, 1, err) < 0)
        return -1;
    if (e->value[0] < lo || e->value[0] > hi)
        return ck_fail(err, CK_EFORMAT, "CAPF %s element at offset %zu: value %u is not one of %u..%u",
                       tag_name(e->tag), e->off, e->value[0], lo, hi);
    *out = e->value[0];
    return 0;
}

/* A C string: the length counts one final NUL and there is no other. */
static int get_cstr(const elem *e, size_t max, const char **out, size_t *out_len, ck_err *err)
{
    if (e->len == 0 || e->value[e->len - 1] != 0)
        return ck_fail(err, CK_EFORMAT, "CAPF %s element at offset %zu does not end with a NUL byte",
                       tag_name(e->tag), e->off);
    size_t n = e->len - 1u;
    if (memchr(e->value, 0, n))
        return ck_fail(err, CK_EFORMAT, "CAPF %s element at offset %zu has a NUL byte inside", tag_name(e->tag),
                       e->off);
    if (n > max)
        return ck_fail(err, CK_ELIMIT, "CAPF %s element at offset %zu: %zu bytes is over the %zu-byte limit",
                       tag_name(e->tag), e->off, n, max);
    *out = (const char *)e->value;
    *out_len = n;
    return 0;
}

static bool upper_hex(char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F'); }

static int get_device(const elem *e, const char **out, ck_err *err)
{
    const char *s;
    size_t n;
    if (get_cstr(e, CK_CAPF_DEVICE_LEN, &s, &n, err) < 0)
        return -1;
    bool ok = n == CK_CAPF_DEVICE_LEN && memcmp(s, "SEP", 3) == 0;
    for (size_t i = 3; ok && i < n; i++)
        ok = upper_hex(s[i]);
    if (!ok)
        return ck_fail(err, CK_EFORMAT,
                       "CAPF DEVICE_NAME element at offset %zu is not SEP followed by 12 upper-case hex digits",
                       e->off);
    *out = s;
    return 0;
}

/* lead | u16 n | n bytes, from a cursor over an element's value. */
static int get_tagged(ck_cur *c, const char *what, size_t elem_off, uint8_t *lead, const uint8_t **p, size_t *n,
                      ck_err *err)
{
    size_t off = ck_cur_offset(c);
    uint16_t len;
    if (!ck_cur_u8(c, lead) || !ck_cur_u16(c, &len))
        return ck_fail(err, CK_EFORMAT, "CAPF %s at offset %zu (element at %zu): 3-byte prefix runs past the element",
                       what, off, elem_off);
    if (len == 0)
        return ck_fail(err, CK_EFORMAT, "CAPF %s at offset %zu (element at %zu) is empty", what, off, elem_off);
    if (!ck_cur_bytes(c, len, p))
        return ck_fail(err, CK_EFORMAT,
                       "CAPF %s at offset %zu (element at %zu): length %u runs past the element (%zu bytes left)",
                       what, off + 1, elem_off, len, ck_cur_remaining(c));
    *n = len;
    return 0;
}

static int check_hash_id(uint8_t id, const char *what, size_t off, ck_err *err)
{
    if (id < CK_CAPF_HASH_SHA1 || id > CK_CAPF_HASH_SHA512)
        return ck_fail(err, CK_EFORMAT, "CAPF %s at offset %zu names unknown hash %u", what, off, id);
    return 0;
}

static int no_trailing(const ck_cur *c, const char *what, size_t elem_off, ck_err *err)
{
    if (ck_cur_remaining(c))
        return ck_fail(err, CK_EFORMAT, "CAPF %s element at offset %zu: %zu trailing bytes at offset %zu", what,
                       elem_off, ck_cur_remaining(c), ck_cur_offset(c));
    return 0;
}

/* Cursor over an element's value that reports absolute offsets. */
static void value_cur(const elem *e, ck_cur *c)
{
    ck_cur_init(c, e->value, e->len);
    c->base = e->off + 3;
}

/* CERTIFICATE: 01 | u16 (= DER length + 2) | 00 | type | DER. The wrapper's
 * length therefore covers the 00 and type bytes. */
static int get_cert(const elem *e, ck_capf_msg *m, ck_err *err)
{
    if (e->len < 6)
        return ck_fail(err, CK_EFORMAT, "CAPF CERTIFICATE element at offset %zu is too short (%u bytes)", e->off,
                       e->len);
    const uint8_t *v = e->value;
    size_t inner = (size_t)v[1] << 8 | v[2];
    if (v[0] != 0x01)
        return ck_fail(err, CK_EFORMAT, "CAPF CERTIFICATE wrapper at offset %zu starts with 0x%02x (expected 0x01)",
                       e->off + 3, v[0]);
    if (inner != e->len - 3u)
        return ck_fail(err, CK_EFORMAT,
                       "CAPF CERTIFICATE wrapper length %zu at offset %zu disagrees with the element length %u",
                       inner, e->off + 4, e->len);
    if (v[3] != 0x00)
        return ck_fail(err, CK_EFORMAT, "CAPF CERTIFICATE wrapper byte 0x%02x at offset %zu (expected 0x00)", v[3],
                       e->off + 6);
    if (v[4] != CK_CAPF_CERT_LSC && v[4] != CK_CAPF_CERT_MIC)
        return ck_fail(err, CK_EFORMAT, "CAPF CERTIFICATE wrapper at offset %zu names certificate type %u",
                       e->off + 7, v[4]);
    m->cert_wrap_type = v[4];
    m->cert = v + 5;
    m->cert_len = e->len - 5u;
    return 0;
}

static int get_sig(const elem *e, ck_capf_sig *s, ck_err *err)
{
    ck_cur c;
    value_cur(e, &c);
    if (get_tagged(&c, "SHA2_SIGNED_DATA signature", e->off, &s->hash_id, &s->sig, &s->sig_len, err) < 0 ||
        check_hash_id(s->hash_id, "SHA2_SIGNED_DATA signature", e->off + 3, err) < 0)
        return -1;
    return no_trailing(&c, "SHA2_SIGNED_DATA", e->off, err);
}

static int get_sudi(const elem *e, ck_capf_sudi *s, ck_err *err)
{
    ck_cur c;
    uint8_t lead;
    value_cur(e, &c);
    if (get_tagged(&c, "SUDI certificate", e->off, &lead, &s->cert, &s->cert_len, err) < 0)
        return -1;
    if (lead != 0)
        return ck_fail(err, CK_EFORMAT, "CAPF SUDI certificate at offset %zu starts with 0x%02x (expected 0x00)",
                       e->off + 3, lead);
    size_t off1 = ck_cur_offset(&c);
    if (get_tagged(&c, "SUDI first proof", e->off, &s->proof1.hash_id, &s->proof1.sig, &s->proof1.sig_len, err) < 0 ||
        check_hash_id(s->proof1.hash_id, "SUDI first proof", off1, err) < 0)
        return -1;
    size_t off2 = ck_cur_offset(&c);
    if (get_tagged(&c, "SUDI second proof", e->off, &s->proof2.hash_id, &s->proof2.sig, &s->proof2.sig_len, err) < 0 ||
        check_hash_id(s->proof2.hash_id, "SUDI second proof", off2, err) < 0)
        return -1;
    return no_trailing(&c, "SUDI_DATA", e->off, err);
}

static int get_blob(const elem *e, const uint8_t **p, size_t *n, ck_err *err)
{
    if (e->len == 0)
        return ck_fail(err, CK_EFORMAT, "CAPF %s element at offset %zu is empty", tag_name(e->tag), e->off);
    *p = e->value;
    *n = e->len;
    return 0;
}

static int get_elem(const elem *e, ck_capf_msg *m, ck_err *err)
{
    switch (e->tag) {
    case CK_CAPF_TAG_REASON:
        return get_enum(e, 0, 255, &m->reason, err);
    case CK_CAPF_TAG_REASON_INFO:
        return get_cstr(e, CK_CAPF_MAX_BODY, &m->reason_info, &m->reason_info_len, err);
    case CK_CAPF_TAG_CERT_TYPE:
        return get_enum(e, CK_CAPF_CERT_LSC, CK_CAPF_CERT_MIC, &m->cert_type, err);
    case CK_CAPF_TAG_CERT:
        return get_cert(e, m, err);
    case CK_CAPF_TAG_SIGNED_DATA:
        return get_blob(e, &m->signed_data, &m->signed_data_len, err);
    case CK_CAPF_TAG_VERSION:
        return get_enum(e, CK_CAPF_VERSION, CK_CAPF_VERSION, &m->version, err);
    case CK_CAPF_TAG_AUTH_TYPE:
        return get_enum(e, CK_CAPF_AUTH_NONE, CK_CAPF_AUTH_MIC, &m->auth_type, err);
    case CK_CAPF_TAG_PUBLIC_KEY:
        return get_blob(e, &m->public_key, &m->public_key_len, err);
    case CK_CAPF_TAG_KEY_SIZE:
        if (want_len(e, 2, err) < 0)
            return -1;
        m->key_size = (uint16_t)(e->value[0] << 8 | e->value[1]);
        switch (m->key_size) {
        case 512: case 1024: case 2048: case 3072: case 4096: return 0;
        }
        return ck_fail(err, CK_EFORMAT, "CAPF KEY_SIZE element at offset %zu: %u bits is not 512/1024/2048/3072/4096",
                       e->off, m->key_size);
    case CK_CAPF_TAG_PASSWORD:
        return get_cstr(e, CK_CAPF_MAX_PASSWORD, &m->password, &m->password_len, err);
    case CK_CAPF_TAG_DEVICE:
        return get_device(e, &m->device, err);
    case CK_CAPF_TAG_SUDI:
        return get_sudi(e, &m->sudi, err);
    case CK_CAPF_TAG_KEY_TYPE:
        return get_enum(e, CK_CAPF_KEY_RSA, CK_CAPF_KEY_EC, &m->key_type, err);
    case CK_CAPF_TAG_CURVE:
        return get_enum(e, CK_CAPF_CURVE_P256, CK_CAPF_CURVE_P521, &m->curve, err);
    case CK_CAPF_TAG_SHA2_SIGNED_DATA:
        return get_sig(e, &m->sha2_signed, err);
    }
    return ck_fail(err, CK_EFORMAT, "unknown CAPF element %u at offset %zu", e->tag, e->off);
}

/* Rules that span elements. */
static int check_combination(const ck_capf_msg *m, ck_err *err)
{
    const char *name = rules[m->hdr.command].name;
    uint32_t missing = rules[m->hdr.command].required & ~m->present;
    for (uint8_t t = 1; t < 32; t++)
        if (missing & CK_CAPF_BIT(t))
            return ck_fail(err, CK_EFORMAT, "CAPF %s has no %s element", name, tag_name(t));
    switch (m->hdr.command) {
    case CK_CAPF_KEYGEN_REQ:
        if (m->key_type == CK_CAPF_KEY_RSA && (!(m->present & B(KEY_SIZE)) || (m->present & B(CURVE))))
            return ck_fail(err, CK_EFORMAT, "CAPF %s for an RSA key needs KEY_SIZE and no CURVE", name);
        if (m->key_type == CK_CAPF_KEY_EC && (!(m->present & B(CURVE)) || (m->present & B(KEY_SIZE))))
            return ck_fail(err, CK_EFORMAT, "CAPF %s for an EC key needs CURVE and no KEY_SIZE", name);
        break;
    case CK_CAPF_KEYGEN_RESP:
        if (!(m->present & (B(PUBLIC_KEY) | B(REASON))))
            return ck_fail(err, CK_EFORMAT, "CAPF %s has neither PUBLIC_KEY nor REASON", name);
        break;
    case CK_CAPF_FETCH_CERT_RESP:
        if (m->reason == CK_CAPF_REASON_UPDATE && !(m->present & B(CERT)))
            return ck_fail(err, CK_EFORMAT, "CAPF %s says fetched but has no CERTIFICATE element", name);
        break;
    case CK_CAPF_AUTH_RESP: {
        /* Certificate authentication comes as a whole: the certificate and
         * both proofs of possession, or none of them. */
        uint32_t cert_auth = B(CERT) | B(SIGNED_DATA) | B(SHA2_SIGNED_DATA);
        uint32_t have = m->present & cert_auth;
        if (have && have != cert_auth)
            return ck_fail(err, CK_EFORMAT,
                           "CAPF %s carries part of a certificate authentication (CERTIFICATE, SIGNED_DATA and "
                           "SHA2_SIGNED_DATA go together)",
                           name);
        if ((m->present & B(SUDI)) && !have)
            return ck_fail(err, CK_EFORMAT, "CAPF %s carries SUDI_DATA without a certificate authentication", name);
        break;
    }
    }
    return 0;
}

int ck_capf_parse(const uint8_t *frame, size_t len, ck_capf_msg *m, ck_err *err)
{
    memset(m, 0, sizeof *m);
    if (ck_capf_parse_header(frame, len, &m->hdr, err) < 0)
        return -1;
    uint8_t cmd = m->hdr.command;
    if (!ck_capf_command_known(cmd))
        return ck_fail(err, CK_EFORMAT, "CAPF command %u (%s) at offset 1 has no known layout", cmd,
                       ck_capf_command_name(cmd));
    size_t avail = len - CK_CAPF_HEADER_LEN;
    if (m->hdr.body_len > avail)
        return ck_fail(err, CK_EFORMAT,
                       "CAPF body length %u at offset 6 runs past the %zu bytes that arrived after the header",
                       m->hdr.body_len, avail);
    if (m->hdr.body_len < avail)
        return ck_fail(err, CK_EFORMAT, "%zu trailing bytes after the CAPF message at offset %zu",
                       avail - m->hdr.body_len, (size_t)CK_CAPF_HEADER_LEN + m->hdr.body_len);
    ck_cur body;
    ck_cur_init(&body, frame, len);
    ck_cur_skip(&body, CK_CAPF_HEADER_LEN);
    while (ck_cur_remaining(&body)) {
        elem e;
        e.off = ck_cur_offset(&body);
        if (!ck_cur_u8(&body, &e.tag) || !ck_cur_u16(&body, &e.len))
            return ck_fail(err, CK_EFORMAT, "CAPF element header at offset %zu runs past the end of the body", e.off);
        if (!ck_cur_bytes(&body, e.len, &e.value))
            return ck_fail(err, CK_EFORMAT,
                           "CAPF element %u at offset %zu: length %u runs past the end of the body (%zu bytes left)",
                           e.tag, e.off, e.len, ck_cur_remaining(&body));
        uint32_t bit = e.tag < 32 ? CK_CAPF_BIT(e.tag) : 0;
        if (!(rules[cmd].allowed & bit))
            return ck_fail(err, CK_EFORMAT, "unexpected element %u (%s) at offset %zu in a CAPF %s", e.tag,
                           tag_name(e.tag), e.off, rules[cmd].name);
        if (m->present & bit)
            return ck_fail(err, CK_EFORMAT, "second CAPF %s element at offset %zu", tag_name(e.tag), e.off);
        if (get_elem(&e, m, err) < 0)
            return -1;
        m->present |= bit;
    }
    return check_combination(m, err);
}

void ck_capf_msg_init(ck_capf_msg *m, uint8_t command, uint32_t session)
{
    memset(m, 0, sizeof *m);
    m->hdr.proto = CK_CAPF_PROTO_ID;
    m->hdr.command = command;
    m->hdr.session = session;
}

static void put_head(ck_buf *b, uint8_t tag, size_t n)
{
    ck_buf_u8(b, tag);
    ck_buf_u16(b, (uint16_t)n);
}

static void put_cstr(ck_buf *b, uint8_t tag, const char *s, size_t n)
{
    put_head(b, tag, n + 1);
    ck_buf_bytes(b, s, n);
    ck_buf_u8(b, 0);
}

static void put_tagged(ck_buf *b, uint8_t lead, const uint8_t *p, size_t n)
{
    ck_buf_u8(b, lead);
    ck_buf_u16(b, (uint16_t)n);
    ck_buf_bytes(b, p, n);
}

/* Writes element tag of m; sizes were checked by the caller. */
static void put_elem(ck_buf *b, const ck_capf_msg *m, uint8_t tag)
{
    switch (tag) {
    case CK_CAPF_TAG_REASON: put_head(b, tag, 1), ck_buf_u8(b, m->reason); break;
    case CK_CAPF_TAG_REASON_INFO: put_cstr(b, tag, m->reason_info, m->reason_info_len); break;
    case CK_CAPF_TAG_CERT_TYPE: put_head(b, tag, 1), ck_buf_u8(b, m->cert_type); break;
    case CK_CAPF_TAG_CERT:
        put_head(b, tag, m->cert_len + 5);
        ck_buf_u8(b, 0x01);
        ck_buf_u16(b, (uint16_t)(m->cert_len + 2));
        ck_buf_u8(b, 0x00);
        ck_buf_u8(b, m->cert_wrap_type);
        ck_buf_bytes(b, m->cert, m->cert_len);
        break;
    case CK_CAPF_TAG_SIGNED_DATA: put_head(b, tag, m->signed_data_len), ck_buf_bytes(b, m->signed_data, m->signed_data_len); break;
    case CK_CAPF_TAG_VERSION: put_head(b, tag, 1), ck_buf_u8(b, m->version); break;
    case CK_CAPF_TAG_AUTH_TYPE: put_head(b, tag, 1), ck_buf_u8(b, m->auth_type); break;
    case CK_CAPF_TAG_PUBLIC_KEY: put_head(b, tag, m->public_key_len), ck_buf_bytes(b, m->public_key, m->public_key_len); break;
    case CK_CAPF_TAG_KEY_SIZE: put_head(b, tag, 2), ck_buf_u16(b, m->key_size); break;
    case CK_CAPF_TAG_PASSWORD: put_cstr(b, tag, m->password, m->password_len); break;
    case CK_CAPF_TAG_DEVICE: put_cstr(b, tag, m->device, CK_CAPF_DEVICE_LEN); break;
    case CK_CAPF_TAG_SUDI:
        put_head(b, tag, 9 + m->sudi.cert_len + m->sudi.proof1.sig_len + m->sudi.proof2.sig_len);
        put_tagged(b, 0x00, m->sudi.cert, m->sudi.cert_len);
        put_tagged(b, m->sudi.proof1.hash_id, m->sudi.proof1.sig, m->sudi.proof1.sig_len);
        put_tagged(b, m->sudi.proof2.hash_id, m->sudi.proof2.sig, m->sudi.proof2.sig_len);
        break;
    case CK_CAPF_TAG_KEY_TYPE: put_head(b, tag, 1), ck_buf_u8(b, m->key_type); break;
    case CK_CAPF_TAG_CURVE: put_head(b, tag, 1), ck_buf_u8(b, m->curve); break;
    case CK_CAPF_TAG_SHA2_SIGNED_DATA:
        put_head(b, tag, m->sha2_signed.sig_len + 3);
        put_tagged(b, m->sha2_signed.hash_id, m->sha2_signed.sig, m->sha2_signed.sig_len);
        break;
    }
}

/* The value size of element tag in m, before writing (so that no u16
 * silently wraps). */
static size_t value_size(const ck_capf_msg *m, uint8_t tag)
{
    switch (tag) {
    case CK_CAPF_TAG_REASON_INFO: return m->reason_info_len + 1;
    case CK_CAPF_TAG_CERT: return m->cert_len + 5;
    case CK_CAPF_TAG_SIGNED_DATA: return m->signed_data_len;
    case CK_CAPF_TAG_PUBLIC_KEY: return m->public_key_len;
    case CK_CAPF_TAG_PASSWORD: return m->password_len + 1;
    case CK_CAPF_TAG_SUDI: return 9 + m->sudi.cert_len + m->sudi.proof1.sig_len + m->sudi.proof2.sig_len;
    case CK_CAPF_TAG_SHA2_SIGNED_DATA: return m->sha2_signed.sig_len + 3;
    case CK_CAPF_TAG_DEVICE: return CK_CAPF_DEVICE_LEN + 1;
    case CK_CAPF_TAG_KEY_SIZE: return 2;
    }
    return 1; /* the u8 elements */
}

int ck_capf_build(const ck_capf_msg *m, ck_buf *out, ck_err *err)
{
    uint8_t cmd = m->hdr.command;
    if (!ck_capf_command_known(cmd))
        return ck_fail(err, CK_EINVAL, "cannot build CAPF command %u (%s): its layout is not known", cmd,
                       ck_capf_command_name(cmd));
    uint32_t stray = m->present & ~rules[cmd].allowed;
    if (stray)
        return ck_fail(err, CK_EINVAL, "a CAPF %s cannot carry element %u (%s)", rules[cmd].name,
                       (unsigned)__builtin_ctz(stray), tag_name((uint8_t)__builtin_ctz(stray)));
    size_t body = 0;
    for (size_t i = 0; i < sizeof emit_order; i++) {
        uint8_t t = emit_order[i];
        if (!(m->present & CK_CAPF_BIT(t)))
            continue;
        if (t == CK_CAPF_TAG_DEVICE && !m->device)
            return ck_fail(err, CK_EINVAL, "CAPF DEVICE_NAME element without a name");
        size_t n = value_size(m, t);
        if (n > CK_CAPF_MAX_BODY - 3 || body + 3 + n > CK_CAPF_MAX_BODY)
            return ck_fail(err, CK_ELIMIT, "CAPF %s does not fit the %u-byte body limit with its %s element",
                           rules[cmd].name, CK_CAPF_MAX_BODY, tag_name(t));
        body += 3 + n;
    }
    size_t start = out->len;
    ck_buf_u8(out, CK_CAPF_PROTO_ID);
    ck_buf_u8(out, cmd);
    ck_buf_u32(out, m->hdr.session);
    ck_buf_u16(out, (uint16_t)body);
    for (size_t i = 0; i < sizeof emit_order; i++)
        if (m->present & CK_CAPF_BIT(emit_order[i]))
            put_elem(out, m, emit_order[i]);
    if (out->failed)
        return ck_fail(err, CK_ENOMEM, "out of memory (or over the buffer limit) building a CAPF message");
    ck_capf_msg check;
    if (ck_capf_parse(out->data + start, out->len - start, &check, err) < 0) {
        out->len = start;
        ck_err_prefix(err, "refusing to build CAPF %s", rules[cmd].name);
        err->code = CK_EINVAL;
        return -1;
    }
    return 0;
}

int ck_capf_build_auth_request(uint32_t session, ck_buf *out, ck_err *err)
{
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_AUTH_REQ, session);
    m.present = B(VERSION) | B(AUTH_TYPE);
    m.version = CK_CAPF_VERSION;
    m.auth_type = CK_CAPF_AUTH_NONE;
    return ck_capf_build(&m, out, err);
}

int ck_capf_build_end_session(uint32_t session, uint8_t reason, ck_buf *out, ck_err *err)
{
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_END_SESSION, session);
    m.present = B(REASON);
    m.reason = reason;
    return ck_capf_build(&m, out, err);
}

int ck_capf_build_keygen_request(uint32_t session, uint8_t key_type, uint16_t bits, uint8_t curve, ck_buf *out,
                                 ck_err *err)
{
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_KEYGEN_REQ, session);
    m.present = B(KEY_TYPE) | (key_type == CK_CAPF_KEY_RSA ? B(KEY_SIZE) : B(CURVE));
    m.key_type = key_type;
    m.key_size = bits;
    m.curve = curve;
    return ck_capf_build(&m, out, err);
}

int ck_capf_build_store_request(uint32_t session, const uint8_t *der, size_t der_len, ck_buf *out, ck_err *err)
{
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_STORE_CERT_REQ, session);
    m.present = B(CERT_TYPE) | B(CERT);
    m.cert_type = CK_CAPF_CERT_LSC;
    m.cert_wrap_type = CK_CAPF_CERT_LSC;
    m.cert = der;
    m.cert_len = der_len;
    return ck_capf_build(&m, out, err);
}
