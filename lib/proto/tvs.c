/* TVS messages: header, frame splitting, requests and responses
 * (docs/tvs-protocol.md, "Framing"). The certificate element's DER walk is
 * in tvs_cert.c. */
#include "ctlkit/tvs.h"

#include <stdio.h>
#include <string.h>

const char *ck_tvs_command_name(uint8_t command)
{
    switch (command) {
    case CK_TVS_VERIFY_REQ: return "VERIFY";
    case CK_TVS_VERIFY_RESP: return "VERIFY response";
    case CK_TVS_QUERY_REQ: return "QUERY";
    case CK_TVS_QUERY_RESP: return "QUERY response";
    }
    return "unknown";
}

static bool known_command(uint8_t c) { return c >= CK_TVS_VERIFY_REQ && c <= CK_TVS_QUERY_RESP; }

/* The header checks shared by the streaming check (byte by byte) and the
 * whole-message parsers; `have` says how many header bytes are there. */
static int check_header_prefix(const uint8_t *p, size_t have, ck_err *err)
{
    if (have >= 1 && p[0] != CK_TVS_PROTO_ID)
        return ck_fail(err, CK_EFORMAT, "not a TVS message: protocol id 0x%02x at offset 0 (expected 0x%02x)",
                       p[0], CK_TVS_PROTO_ID);
    if (have >= 2 && p[1] != CK_TVS_VERSION)
        return ck_fail(err, CK_EFORMAT, "unsupported TVS protocol version %u at offset 1 (expected %u)", p[1],
                       CK_TVS_VERSION);
    if (have >= 3 && !known_command(p[2]))
        return ck_fail(err, CK_EFORMAT, "unknown TVS command %u at offset 2", p[2]);
    /* docs/tvs-protocol.md: "reserved (0 in requests)". A request that sets
     * it speaks a variant this server does not know; responses are left
     * alone (the phone side reads whatever a server puts there). */
    if (have >= 4 && p[3] != 0 && (p[2] == CK_TVS_VERIFY_REQ || p[2] == CK_TVS_QUERY_REQ))
        return ck_fail(err, CK_EFORMAT, "TVS %s request with reserved byte 0x%02x at offset 3 (must be 0)",
                       ck_tvs_command_name(p[2]), p[3]);
    return 0;
}

int ck_tvs_parse_header(const uint8_t *p, size_t len, ck_tvs_header *h, ck_err *err)
{
    if (len < CK_TVS_HEADER_LEN)
        return ck_fail(err, CK_EFORMAT, "TVS message of %zu bytes is shorter than its %u-byte header", len,
                       CK_TVS_HEADER_LEN);
    if (check_header_prefix(p, CK_TVS_HEADER_LEN, err) < 0)
        return -1;
    ck_cur c;
    ck_cur_init(&c, p, CK_TVS_HEADER_LEN);
    /* Cannot fail: ten bytes are there. */
    (void)(ck_cur_u8(&c, &h->proto) && ck_cur_u8(&c, &h->version) && ck_cur_u8(&c, &h->command) &&
           ck_cur_u8(&c, &h->reserved) && ck_cur_u32(&c, &h->session) && ck_cur_u16(&c, &h->body_len));
    return 0;
}

ck_tvs_frame ck_tvs_frame_check(const uint8_t *buf, size_t have, size_t max_frame, size_t *frame_len,
                                ck_err *err)
{
    if (check_header_prefix(buf, have < CK_TVS_HEADER_LEN ? have : CK_TVS_HEADER_LEN, err) < 0)
        return CK_TVS_FRAME_BAD;
    if (have < CK_TVS_HEADER_LEN)
        return CK_TVS_FRAME_NEED_MORE;
    size_t body = (size_t)buf[8] << 8 | buf[9];
    size_t total = CK_TVS_HEADER_LEN + body;
    if (total > max_frame) {
        ck_fail(err, CK_ELIMIT, "TVS %s with body length %zu at offset 8 is over the %zu-byte limit",
                ck_tvs_command_name(buf[2]), body, max_frame - CK_TVS_HEADER_LEN);
        return CK_TVS_FRAME_BAD;
    }
    if (have < total)
        return CK_TVS_FRAME_NEED_MORE;
    *frame_len = total;
    return CK_TVS_FRAME_READY;
}

/* Header plus the body cursor of a whole frame: the body length must match
 * exactly what is there (habit 2). */
static int open_frame(const uint8_t *frame, size_t len, ck_tvs_header *h, ck_cur *body, ck_err *err)
{
    if (ck_tvs_parse_header(frame, len, h, err) < 0)
        return -1;
    size_t avail = len - CK_TVS_HEADER_LEN;
    if (h->body_len > avail)
        return ck_fail(err, CK_EFORMAT,
                       "TVS body length %u at offset 8 runs past the %zu bytes that arrived after the header",
                       h->body_len, avail);
    if (h->body_len < avail)
        return ck_fail(err, CK_EFORMAT, "%zu trailing bytes after the TVS message at offset %zu",
                       avail - h->body_len, (size_t)CK_TVS_HEADER_LEN + h->body_len);
    ck_cur all;
    ck_cur_init(&all, frame, len);
    ck_cur_skip(&all, CK_TVS_HEADER_LEN);
    ck_cur_sub(&all, h->body_len, body);
    return 0;
}

typedef struct elem {
    uint8_t tag;
    uint16_t len;
    size_t off;           /* offset of the tag byte */
    const uint8_t *value;
} elem;

/* Next element of the body; 1 = got one, 0 = body done, -1 = malformed. */
static int next_elem(ck_cur *body, elem *e, ck_err *err)
{
    if (ck_cur_remaining(body) == 0)
        return 0;
    e->off = ck_cur_offset(body);
    if (!ck_cur_u8(body, &e->tag) || !ck_cur_u16(body, &e->len))
        return ck_fail(err, CK_EFORMAT, "TVS element header at offset %zu runs past the end of the body", e->off);
    if (!ck_cur_bytes(body, e->len, &e->value))
        return ck_fail(err, CK_EFORMAT,
                       "TVS element %u at offset %zu: length %u runs past the end of the body (%zu bytes left)",
                       e->tag, e->off, e->len, ck_cur_remaining(body));
    return 1;
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool is_model_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           ch == '-';
}

int ck_tvs_parse_device(const char *s, size_t n, ck_tvs_device *dev, ck_err *err)
{
    static const char sep[] = "-SEP";
    const size_t mac_len = 12, tail = 4 + 12;
    if (n > CK_TVS_MAX_DEVICE)
        return ck_fail(err, CK_EFORMAT, "device name of %zu bytes is over the %u-byte limit", n,
                       CK_TVS_MAX_DEVICE);
    if (n < 3 || memcmp(s, "CP-", 3) != 0)
        return ck_fail(err, CK_EFORMAT, "device name does not start with \"CP-\"");
    if (n < 3 + 1 + tail || memcmp(s + n - tail, sep, 4) != 0)
        return ck_fail(err, CK_EFORMAT, "device name does not end with -SEP<12 hex digits> after a model");
    for (size_t i = n - mac_len; i < n; i++)
        if (!is_hex(s[i]))
            return ck_fail(err, CK_EFORMAT, "device name: MAC address has a non-hex character at position %zu", i);
    for (size_t i = 3; i < n - tail; i++)
        if (!is_model_char(s[i]))
            return ck_fail(err, CK_EFORMAT, "device name: model has a bad character 0x%02x at position %zu",
                           (unsigned char)s[i], i);
    if (dev) {
        dev->name = s;
        dev->name_len = n;
        dev->model = s + 3;
        dev->model_len = n - tail - 3;
        dev->mac = s + n - mac_len;
    }
    return 0;
}

/* The device name element: 0x01, then the name (docs: "one byte 0x01"). */
static int parse_device_elem(const elem *e, ck_tvs_device *dev, ck_err *err)
{
    if (e->len < 1 || e->value[0] != 0x01)
        return ck_fail(err, CK_EFORMAT, "TVS device name element at offset %zu does not start with byte 0x01",
                       e->off);
    if (ck_tvs_parse_device((const char *)e->value + 1, e->len - 1u, dev, err) < 0) {
        ck_err_prefix(err, "TVS device name element at offset %zu", e->off);
        return -1;
    }
    return 0;
}

int ck_tvs_parse_request(const uint8_t *frame, size_t len, ck_tvs_request *req, ck_err *err)
{
    ck_cur body;
    memset(req, 0, sizeof *req);
    if (open_frame(frame, len, &req->hdr, &body, err) < 0)
        return -1;
    uint8_t cmd = req->hdr.command;
    if (cmd != CK_TVS_VERIFY_REQ && cmd != CK_TVS_QUERY_REQ)
        return ck_fail(err, CK_EFORMAT, "TVS command %u (%s) at offset 2 is not a request", cmd,
                       ck_tvs_command_name(cmd));
    bool verify = cmd == CK_TVS_VERIFY_REQ;
    elem e;
    int r;
    while ((r = next_elem(&body, &e, err)) > 0) {
        switch (e.tag) {
        case CK_TVS_TAG_DEVICE:
            if (req->has_device)
                return ck_fail(err, CK_EFORMAT, "second TVS device name element at offset %zu", e.off);
            if (parse_device_elem(&e, &req->device, err) < 0)
                return -1;
            req->has_device = true;
            break;
        case CK_TVS_TAG_CERT:
            if (!verify)
                break; /* QUERY: not ours to interpret */
            if (req->cert)
                return ck_fail(err, CK_EFORMAT, "second TVS certificate element at offset %zu", e.off);
            if (e.len == 0)
                return ck_fail(err, CK_EFORMAT, "empty TVS certificate element at offset %zu", e.off);
            if (e.len > CK_TVS_MAX_CERT)
                return ck_fail(err, CK_ELIMIT, "TVS certificate element at offset %zu: %u bytes is over the %u-byte limit",
                               e.off, e.len, CK_TVS_MAX_CERT);
            req->cert = e.value;
            req->cert_len = e.len;
            break;
        default:
            /* VERIFY is fully documented: anything else is not a phone talking.
             * QUERY's other elements (subject, issuer, serial) are undocumented. */
            if (verify)
                return ck_fail(err, CK_EFORMAT, "unexpected element %u at offset %zu in a TVS VERIFY request",
                               e.tag, e.off);
            break;
        }
    }
    if (r < 0)
        return -1;
    if (verify && !req->has_device)
        return ck_fail(err, CK_EFORMAT, "TVS VERIFY request has no device name element");
    if (verify && !req->cert)
        return ck_fail(err, CK_EFORMAT, "TVS VERIFY request has no certificate element");
    return 0;
}

static void put_header(ck_buf *out, uint8_t command, uint32_t session)
{
    ck_buf_u8(out, CK_TVS_PROTO_ID);
    ck_buf_u8(out, CK_TVS_VERSION);
    ck_buf_u8(out, command);
    ck_buf_u8(out, 0);
    ck_buf_u32(out, session);
    ck_buf_u16(out, 0); /* body length, patched by finish() */
}

static void put_elem(ck_buf *out, uint8_t tag, const void *v, size_t n)
{
    ck_buf_u8(out, tag);
    ck_buf_u16(out, (uint16_t)n);
    ck_buf_bytes(out, v, n);
}

static int finish(ck_buf *out, size_t start, ck_err *err)
{
    if (out->failed)
        return ck_fail(err, CK_ENOMEM, "out of memory (or over the buffer limit) building a TVS message");
    size_t body = out->len - start - CK_TVS_HEADER_LEN;
    if (body > CK_TVS_MAX_BODY)
        return ck_fail(err, CK_ELIMIT, "TVS body of %zu bytes is over the %u-byte limit", body, CK_TVS_MAX_BODY);
    ck_buf_set_u16(out, start + 8, (uint16_t)body);
    return 0;
}

int ck_tvs_build_request(uint8_t command, uint32_t session, const char *device, const uint8_t *cert,
                         size_t cert_len, ck_buf *out, ck_err *err)
{
    if (command != CK_TVS_VERIFY_REQ && command != CK_TVS_QUERY_REQ)
        return ck_fail(err, CK_EINVAL, "TVS command %u is not a request", command);
    if (!device)
        return ck_fail(err, CK_EINVAL, "a TVS request needs a device name");
    size_t dn = strlen(device);
    if (ck_tvs_parse_device(device, dn, NULL, err) < 0)
        return -1;
    if (command == CK_TVS_VERIFY_REQ && (!cert || cert_len == 0))
        return ck_fail(err, CK_EINVAL, "a TVS VERIFY request needs a certificate");
    if (cert && cert_len > CK_TVS_MAX_CERT)
        return ck_fail(err, CK_ELIMIT, "certificate of %zu bytes is over the %u-byte TVS limit", cert_len,
                       CK_TVS_MAX_CERT);
    size_t start = out->len;
    put_header(out, command, session);
    ck_buf_u8(out, CK_TVS_TAG_DEVICE);
    ck_buf_u16(out, (uint16_t)(dn + 1));
    ck_buf_u8(out, 0x01);
    ck_buf_bytes(out, device, dn);
    if (cert)
        put_elem(out, CK_TVS_TAG_CERT, cert, cert_len);
    return finish(out, start, err);
}

int ck_tvs_build_response(uint8_t command, uint32_t session, uint8_t status, const uint8_t *roles,
                          size_t n_roles, uint32_t ttl, ck_buf *out, ck_err *err)
{
    if (command != CK_TVS_VERIFY_RESP && command != CK_TVS_QUERY_RESP)
        return ck_fail(err, CK_EINVAL, "TVS command %u is not a response", command);
    if (status != CK_TVS_STATUS_VALID && status != CK_TVS_STATUS_INVALID)
        return ck_fail(err, CK_EINVAL, "unknown TVS status %u", status);
    if (status == CK_TVS_STATUS_VALID && (!roles || n_roles == 0 || n_roles > CK_TVS_MAX_ROLES))
        return ck_fail(err, CK_EINVAL, "a valid TVS answer needs 1 to %u roles (got %zu)", CK_TVS_MAX_ROLES,
                       roles ? n_roles : 0);
    size_t start = out->len;
    put_header(out, command, session);
    put_elem(out, CK_TVS_TAG_STATUS, &status, 1);
    if (status == CK_TVS_STATUS_VALID) {
        uint8_t t[4] = {(uint8_t)(ttl >> 24), (uint8_t)(ttl >> 16), (uint8_t)(ttl >> 8), (uint8_t)ttl};
        put_elem(out, CK_TVS_TAG_ROLES, roles, n_roles);
        put_elem(out, CK_TVS_TAG_TTL, t, sizeof t);
    }
    return finish(out, start, err);
}

int ck_tvs_parse_response(const uint8_t *frame, size_t len, ck_tvs_response *resp, ck_err *err)
{
    ck_cur body;
    memset(resp, 0, sizeof *resp);
    if (open_frame(frame, len, &resp->hdr, &body, err) < 0)
        return -1;
    uint8_t cmd = resp->hdr.command;
    if (cmd != CK_TVS_VERIFY_RESP && cmd != CK_TVS_QUERY_RESP)
        return ck_fail(err, CK_EFORMAT, "TVS command %u (%s) at offset 2 is not a response", cmd,
                       ck_tvs_command_name(cmd));
    bool has_status = false;
    elem e;
    int r;
    while ((r = next_elem(&body, &e, err)) > 0) {
        switch (e.tag) {
        case CK_TVS_TAG_STATUS:
            if (has_status)
                return ck_fail(err, CK_EFORMAT, "second TVS status element at offset %zu", e.off);
            if (e.len != 1)
                return ck_fail(err, CK_EFORMAT, "TVS status element at offset %zu has length %u (expected 1)", e.off,
                               e.len);
            if (e.value[0] != CK_TVS_STATUS_VALID && e.value[0] != CK_TVS_STATUS_INVALID)
                return ck_fail(err, CK_EFORMAT, "unknown TVS status %u at offset %zu", e.value[0], e.off + 3);
            resp->status = e.value[0];
            has_status = true;
            break;
        case CK_TVS_TAG_ROLES:
            if (resp->roles)
                return ck_fail(err, CK_EFORMAT, "second TVS roles element at offset %zu", e.off);
            if (e.len == 0 || e.len > CK_TVS_MAX_ROLES)
                return ck_fail(err, CK_EFORMAT, "TVS roles element at offset %zu has %u roles (expected 1 to %u)",
                               e.off, e.len, CK_TVS_MAX_ROLES);
            resp->roles = e.value;
            resp->n_roles = e.len;
            break;
        case CK_TVS_TAG_TTL:
            if (resp->has_ttl)
                return ck_fail(err, CK_EFORMAT, "second TVS TTL element at offset %zu", e.off);
            if (e.len != 4)
                return ck_fail(err, CK_EFORMAT, "TVS TTL element at offset %zu has length %u (expected 4)", e.off,
                               e.len);
            resp->ttl = (uint32_t)e.value[0] << 24 | (uint32_t)e.value[1] << 16 | (uint32_t)e.value[2] << 8 |
                        e.value[3];
            resp->has_ttl = true;
            break;
        default:
            return ck_fail(err, CK_EFORMAT, "unexpected element %u at offset %zu in a TVS response", e.tag, e.off);
        }
    }
    if (r < 0)
        return -1;
    if (!has_status)
        return ck_fail(err, CK_EFORMAT, "TVS response has no status element");
    if (resp->status == CK_TVS_STATUS_VALID && (!resp->roles || !resp->has_ttl))
        return ck_fail(err, CK_EFORMAT, "TVS response says valid but lacks its %s element",
                       !resp->roles ? "roles" : "TTL");
    return 0;
}
