/* CTL Provider messages (docs/ctl-provider.md). The parser reads like the
 * table in that page: each message type lists the elements it may carry;
 * anything else, a repeated single element, a missing required one, a
 * length past its container or bytes after the last element is an error
 * naming the element and its offset. */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/provider.h"

static const uint8_t magic[4] = {'C', 'T', 'L', 'P'};

const char *ck_pv_type_name(uint8_t type)
{
    switch (type) {
    case CK_PV_LOGIN: return "LOGIN";
    case CK_PV_GET_CLUSTER: return "GET_CLUSTER";
    case CK_PV_SUBMIT_CTL: return "SUBMIT_CTL";
    case CK_PV_RESPONSE | CK_PV_LOGIN: return "LOGIN response";
    case CK_PV_RESPONSE | CK_PV_GET_CLUSTER: return "GET_CLUSTER response";
    case CK_PV_RESPONSE | CK_PV_SUBMIT_CTL: return "SUBMIT_CTL response";
    case CK_PV_ERROR: return "ERROR";
    default: return NULL;
    }
}

const char *ck_pv_action_name(uint8_t action)
{
    switch (action) {
    case CK_PV_ACTION_MIXED: return "mixed";
    case CK_PV_ACTION_NONSECURE: return "non-secure";
    case CK_PV_ACTION_UPDATE: return "update";
    default: return NULL;
    }
}

const char *ck_pv_status_name(uint8_t status)
{
    switch (status) {
    case CK_PV_OK: return "ok";
    case CK_PV_DENIED: return "denied";
    case CK_PV_REFUSED: return "refused";
    case CK_PV_FAILED: return "failed";
    case CK_PV_BADREQ: return "bad request";
    default: return NULL;
    }
}

static const char *tag_name(uint8_t tag)
{
    switch (tag) {
    case CK_PV_T_USER: return "USER";
    case CK_PV_T_PASSWORD: return "PASSWORD";
    case CK_PV_T_ACTION: return "ACTION";
    case CK_PV_T_CTL: return "CTL";
    case CK_PV_T_STATUS: return "STATUS";
    case CK_PV_T_MESSAGE: return "MESSAGE";
    case CK_PV_T_MODE: return "MODE";
    case CK_PV_T_NODE: return "NODE";
    case CK_PV_T_RESULT: return "RESULT";
    case CK_PV_T_NAME: return "NAME";
    case CK_PV_T_IP: return "IP";
    case CK_PV_T_PUBLISHER: return "PUBLISHER";
    case CK_PV_T_CCM_CERT: return "CCM_CERT";
    case CK_PV_T_CAPF_CERT: return "CAPF_CERT";
    case CK_PV_T_LOCATION: return "LOCATION";
    case CK_PV_T_PASSED: return "PASSED";
    default: return "unknown";
    }
}

int ck_pv_header(const uint8_t *hdr, size_t len, uint8_t *type, uint32_t *body_len, ck_err *err)
{
    ck_cur c;
    ck_cur_init(&c, hdr, len);
    const uint8_t *m;
    uint8_t ver, t;
    uint16_t reserved;
    uint32_t n;
    if (!ck_cur_bytes(&c, 4, &m) || !ck_cur_u8(&c, &ver) || !ck_cur_u8(&c, &t) || !ck_cur_u16(&c, &reserved) ||
        !ck_cur_u32(&c, &n))
        return ck_fail(err, CK_EFORMAT, "CTL Provider frame: header is %zu bytes, needs %d", len, CK_PV_HDR_LEN);
    if (memcmp(m, magic, 4) != 0)
        return ck_fail(err, CK_EFORMAT, "not a CTL Provider message (bad magic at offset 0)");
    if (ver != CK_PV_VERSION)
        return ck_fail(err, CK_EFORMAT, "CTL Provider protocol version %u at offset 4; this side speaks %d", ver,
                       CK_PV_VERSION);
    if (!ck_pv_type_name(t))
        return ck_fail(err, CK_EFORMAT, "unknown CTL Provider message type %u at offset 5", t);
    if (reserved != 0)
        return ck_fail(err, CK_EFORMAT, "CTL Provider frame: reserved bits set at offset 6");
    if (n > CK_PV_MAX_BODY)
        return ck_fail(err, CK_ELIMIT, "CTL Provider %s: body of %u bytes, at most %u", ck_pv_type_name(t), n,
                       CK_PV_MAX_BODY);
    *type = t;
    *body_len = n;
    return 0;
}

/* --- parsing --- */

typedef struct pctx {
    const char *what; /* the message type's name, for errors */
    ck_err *err;
} pctx;

static int bad(pctx *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(pctx *p, size_t off, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return ck_fail(p->err, CK_EFORMAT, "CTL Provider %s: %s (offset %zu)", p->what, detail, off);
}

/* Text that is shown to people: no control characters, C1 ones spelt in
 * UTF-8 (C2 80..C2 9F, which some terminals obey as escapes) included: a
 * USER that fails to log in reaches the audit log, which `show audit`
 * prints. Secrets: no NUL. */
static int get_str(pctx *p, uint8_t tag, const uint8_t *v, size_t n, size_t off, char *out, size_t max,
                   bool secret)
{
    if (n == 0)
        return bad(p, off, "%s is empty", tag_name(tag));
    if (n > max)
        return bad(p, off, "%s is %zu bytes, at most %zu", tag_name(tag), n, max);
    for (size_t i = 0; i < n; i++)
        if (v[i] == 0 ||
            (!secret && (v[i] < 0x20 || v[i] == 0x7f || (v[i] == 0xC2 && i + 1 < n && v[i + 1] >= 0x80 &&
                                                           v[i + 1] <= 0x9F))))
            return bad(p, off + i, "%s holds a control character at byte %zu", tag_name(tag), i);
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

static int get_u8(pctx *p, uint8_t tag, const uint8_t *v, size_t n, size_t off, uint8_t lo, uint8_t hi,
                  uint8_t *out)
{
    if (n != 1)
        return bad(p, off, "%s must be 1 byte, not %zu", tag_name(tag), n);
    if (v[0] < lo || v[0] > hi)
        return bad(p, off, "%s is %u, must be %u to %u", tag_name(tag), v[0], lo, hi);
    *out = v[0];
    return 0;
}

static int get_der(pctx *p, uint8_t tag, const uint8_t *v, size_t n, size_t off, size_t max, ck_span *out)
{
    if (n == 0 || n > max)
        return bad(p, off, "%s is %zu bytes, must be 1..%zu", tag_name(tag), n, max);
    out->p = v;
    out->n = n;
    return 0;
}

/* Walks the elements of a container; calls one(...) for each. */
typedef int (*elem_fn)(pctx *p, void *obj, uint8_t tag, const uint8_t *v, size_t n, size_t off, uint64_t *seen);

static int walk(pctx *p, ck_cur *c, void *obj, elem_fn one, uint64_t *seen)
{
    while (ck_cur_remaining(c) > 0) {
        size_t off = ck_cur_offset(c);
        uint8_t tag;
        uint32_t n;
        const uint8_t *v;
        if (!ck_cur_u8(c, &tag) || !ck_cur_u32(c, &n))
            return bad(p, off, "element header cut short");
        if (n > ck_cur_remaining(c))
            return bad(p, off, "%s is %u bytes but only %zu remain", tag_name(tag), n, ck_cur_remaining(c));
        ck_cur_bytes(c, n, &v);
        if (tag < 64) {
            uint64_t bit = (uint64_t)1 << tag;
            /* NODE and RESULT repeat; every other element appears once. */
            if ((*seen & bit) && tag != CK_PV_T_NODE && tag != CK_PV_T_RESULT)
                return bad(p, off, "%s appears twice", tag_name(tag));
            *seen |= bit;
        }
        if (one(p, obj, tag, v, n, off + 5, seen) < 0)
            return -1;
    }
    return 0;
}

#define BIT(t) ((uint64_t)1 << (t))

static int require(pctx *p, uint64_t seen, uint64_t need, size_t off, const char *where)
{
    for (uint8_t t = 0; t < 64; t++)
        if ((need & BIT(t)) && !(seen & BIT(t))) {
            return bad(p, off, "%s has no %s", where, tag_name(t));
        }
    return 0;
}

static int unknown(pctx *p, uint8_t tag, size_t off)
{
    return bad(p, off - 5, "element tag %u (%s) is not allowed here", tag, tag_name(tag));
}

static int node_elem(pctx *p, void *obj, uint8_t tag, const uint8_t *v, size_t n, size_t off, uint64_t *seen)
{
    ck_pv_node *nd = obj;
    uint8_t b;
    switch (tag) {
    case CK_PV_T_NAME:
        return get_str(p, tag, v, n, off, nd->name, sizeof nd->name - 1, false);
    case CK_PV_T_IP: {
        unsigned char ip[4];
        if (get_str(p, tag, v, n, off, nd->ip, sizeof nd->ip - 1, false) < 0)
            return -1;
        if (inet_pton(AF_INET, nd->ip, ip) != 1)
            return bad(p, off, "IP '%s' is not a dotted IPv4 address", nd->ip);
        return 0;
    }
    case CK_PV_T_PUBLISHER:
        if (get_u8(p, tag, v, n, off, 0, 1, &b) < 0)
            return -1;
        nd->publisher = b;
        return 0;
    case CK_PV_T_CCM_CERT:
        return get_der(p, tag, v, n, off, CK_PV_MAX_CERT, &nd->ccm_cert);
    case CK_PV_T_CAPF_CERT:
        return get_der(p, tag, v, n, off, CK_PV_MAX_CERT, &nd->capf_cert);
    default:
        return unknown(p, tag, off);
    }
}

static int result_elem(pctx *p, void *obj, uint8_t tag, const uint8_t *v, size_t n, size_t off, uint64_t *seen)
{
    ck_pv_result *r = obj;
    uint8_t b;
    switch (tag) {
    case CK_PV_T_NAME:
        return get_str(p, tag, v, n, off, r->name, sizeof r->name - 1, false);
    case CK_PV_T_LOCATION:
        return get_str(p, tag, v, n, off, r->location, CK_PV_LOCATION_MAX, false);
    case CK_PV_T_PASSED:
        if (get_u8(p, tag, v, n, off, 0, 1, &b) < 0)
            return -1;
        r->passed = b;
        return 0;
    default:
        return unknown(p, tag, off);
    }
}

/* Which top-level elements each message type may carry. */
static uint64_t allowed(uint8_t type)
{
    const uint64_t resp = BIT(CK_PV_T_STATUS) | BIT(CK_PV_T_MESSAGE);
    switch (type) {
    case CK_PV_LOGIN: return BIT(CK_PV_T_USER) | BIT(CK_PV_T_PASSWORD);
    case CK_PV_GET_CLUSTER: return 0;
    case CK_PV_SUBMIT_CTL: return BIT(CK_PV_T_ACTION) | BIT(CK_PV_T_CTL);
    case CK_PV_RESPONSE | CK_PV_GET_CLUSTER: return resp | BIT(CK_PV_T_MODE) | BIT(CK_PV_T_CTL) | BIT(CK_PV_T_NODE);
    case CK_PV_RESPONSE | CK_PV_SUBMIT_CTL: return resp | BIT(CK_PV_T_MODE) | BIT(CK_PV_T_RESULT);
    default: return resp; /* LOGIN response, ERROR */
    }
}

static int top_elem(pctx *p, void *obj, uint8_t tag, const uint8_t *v, size_t n, size_t off, uint64_t *seen)
{
    ck_pv_msg *m = obj;
    if (tag >= 64 || !(allowed(m->type) & BIT(tag)))
        return unknown(p, tag, off);
    switch (tag) {
    case CK_PV_T_USER:
        return get_str(p, tag, v, n, off, m->user, CK_PV_USER_MAX, false);
    case CK_PV_T_PASSWORD:
        return get_str(p, tag, v, n, off, m->password, CK_PV_PASSWORD_MAX, true);
    case CK_PV_T_ACTION:
        return get_u8(p, tag, v, n, off, CK_PV_ACTION_MIXED, CK_PV_ACTION_UPDATE, &m->action);
    case CK_PV_T_CTL:
        return get_der(p, tag, v, n, off, CK_TL_MAX_BUILD, &m->ctl);
    case CK_PV_T_STATUS:
        return get_u8(p, tag, v, n, off, CK_PV_OK, CK_PV_BADREQ, &m->status);
    case CK_PV_T_MESSAGE:
        /* An empty message is allowed: "OK" needs no words. */
        if (n == 0)
            return 0;
        return get_str(p, tag, v, n, off, m->message, CK_PV_MESSAGE_MAX, false);
    case CK_PV_T_MODE:
        m->has_mode = true;
        return get_u8(p, tag, v, n, off, 0, 1, &m->mode);
    case CK_PV_T_NODE: {
        ck_pv_node nd = {0};
        ck_cur sub;
        uint64_t s = 0;
        ck_cur_init(&sub, v, n);
        sub.base = off;
        if (walk(p, &sub, &nd, node_elem, &s) < 0 ||
            require(p, s, BIT(CK_PV_T_NAME) | BIT(CK_PV_T_IP) | BIT(CK_PV_T_PUBLISHER) | BIT(CK_PV_T_CCM_CERT), off,
                    "NODE") < 0)
            return -1;
        return ck_pv_add_node(m, &nd, p->err);
    }
    case CK_PV_T_RESULT: {
        ck_pv_result r = {0};
        ck_cur sub;
        uint64_t s = 0;
        ck_cur_init(&sub, v, n);
        sub.base = off;
        if (walk(p, &sub, &r, result_elem, &s) < 0 ||
            require(p, s, BIT(CK_PV_T_NAME) | BIT(CK_PV_T_LOCATION) | BIT(CK_PV_T_PASSED), off, "RESULT") < 0)
            return -1;
        return ck_pv_add_result(m, &r, p->err);
    }
    default:
        return unknown(p, tag, off);
    }
}

int ck_pv_parse(const uint8_t *frame, size_t len, ck_pv_msg *m, ck_err *err)
{
    memset(m, 0, sizeof *m);
    uint8_t type;
    uint32_t body;
    if (ck_pv_header(frame, len < CK_PV_HDR_LEN ? len : CK_PV_HDR_LEN, &type, &body, err) < 0)
        return -1;
    if (len - CK_PV_HDR_LEN != body)
        return ck_fail(err, CK_EFORMAT, "CTL Provider %s: header says %u body bytes, the frame holds %zu",
                       ck_pv_type_name(type), body, len - CK_PV_HDR_LEN);
    m->type = type;
    pctx p = {.what = ck_pv_type_name(type), .err = err};
    ck_cur c;
    ck_cur_init(&c, frame + CK_PV_HDR_LEN, body);
    c.base = CK_PV_HDR_LEN;
    uint64_t seen = 0, need = 0;
    switch (type) {
    case CK_PV_LOGIN: need = BIT(CK_PV_T_USER) | BIT(CK_PV_T_PASSWORD); break;
    case CK_PV_SUBMIT_CTL: need = BIT(CK_PV_T_ACTION) | BIT(CK_PV_T_CTL); break;
    case CK_PV_GET_CLUSTER: break;
    default: need = BIT(CK_PV_T_STATUS) | BIT(CK_PV_T_MESSAGE); break;
    }
    if (walk(&p, &c, m, top_elem, &seen) < 0 || require(&p, seen, need, len, "the message") < 0)
        goto fail;
    /* A cluster view is useless without the mode and the nodes. */
    if (type == (CK_PV_RESPONSE | CK_PV_GET_CLUSTER) && m->status == CK_PV_OK &&
        require(&p, seen, BIT(CK_PV_T_MODE) | BIT(CK_PV_T_NODE), len, "the cluster view") < 0)
        goto fail;
    return 0;
fail:
    ck_pv_msg_clear(m);
    return -1;
}

/* --- building --- */

static void put(ck_buf *b, uint8_t tag, const void *v, size_t n)
{
    ck_buf_u8(b, tag);
    ck_buf_u32(b, (uint32_t)n);
    ck_buf_bytes(b, v, n);
}

static void put_str(ck_buf *b, uint8_t tag, const char *s) { put(b, tag, s, strlen(s)); }
static void put_u8(ck_buf *b, uint8_t tag, uint8_t v) { put(b, tag, &v, 1); }

/* Starts a container; returns where its length goes. */
static size_t open_container(ck_buf *b, uint8_t tag)
{
    ck_buf_u8(b, tag);
    size_t at = b->len;
    ck_buf_u32(b, 0);
    return at;
}

static void close_container(ck_buf *b, size_t at)
{
    ck_buf_set_u32(b, at, (uint32_t)(b->len - at - 4));
}

int ck_pv_build(const ck_pv_msg *m, uint8_t **out, size_t *len, ck_err *err)
{
    *out = NULL;
    *len = 0;
    if (!ck_pv_type_name(m->type))
        return ck_fail(err, CK_EINVAL, "unknown CTL Provider message type %u", m->type);
    ck_buf b;
    ck_buf_init(&b, CK_PV_HDR_LEN + CK_PV_MAX_BODY);
    ck_buf_bytes(&b, magic, 4);
    ck_buf_u8(&b, CK_PV_VERSION);
    ck_buf_u8(&b, m->type);
    ck_buf_u16(&b, 0);
    ck_buf_u32(&b, 0);
    switch (m->type) {
    case CK_PV_LOGIN:
        ck_buf_secret(&b); /* the password must not stay behind in freed blocks */
        put_str(&b, CK_PV_T_USER, m->user);
        put_str(&b, CK_PV_T_PASSWORD, m->password);
        break;
    case CK_PV_GET_CLUSTER:
        break;
    case CK_PV_SUBMIT_CTL:
        put_u8(&b, CK_PV_T_ACTION, m->action);
        put(&b, CK_PV_T_CTL, m->ctl.p, m->ctl.n);
        break;
    default:
        put_u8(&b, CK_PV_T_STATUS, m->status);
        put_str(&b, CK_PV_T_MESSAGE, m->message);
        if (m->has_mode && (m->type & 0x7f) != CK_PV_LOGIN && m->type != CK_PV_ERROR)
            put_u8(&b, CK_PV_T_MODE, m->mode);
        if (m->type == (CK_PV_RESPONSE | CK_PV_GET_CLUSTER)) {
            if (m->ctl.p)
                put(&b, CK_PV_T_CTL, m->ctl.p, m->ctl.n);
            for (size_t i = 0; i < m->n_nodes; i++) {
                const ck_pv_node *nd = &m->nodes[i];
                size_t at = open_container(&b, CK_PV_T_NODE);
                put_str(&b, CK_PV_T_NAME, nd->name);
                put_str(&b, CK_PV_T_IP, nd->ip);
                put_u8(&b, CK_PV_T_PUBLISHER, nd->publisher);
                put(&b, CK_PV_T_CCM_CERT, nd->ccm_cert.p, nd->ccm_cert.n);
                if (nd->capf_cert.p)
                    put(&b, CK_PV_T_CAPF_CERT, nd->capf_cert.p, nd->capf_cert.n);
                close_container(&b, at);
            }
        }
        if (m->type == (CK_PV_RESPONSE | CK_PV_SUBMIT_CTL)) {
            for (size_t i = 0; i < m->n_results; i++) {
                const ck_pv_result *r = &m->results[i];
                size_t at = open_container(&b, CK_PV_T_RESULT);
                put_str(&b, CK_PV_T_NAME, r->name);
                put_str(&b, CK_PV_T_LOCATION, r->location);
                put_u8(&b, CK_PV_T_PASSED, r->passed);
                close_container(&b, at);
            }
        }
        break;
    }
    if (b.failed) {
        ck_buf_free(&b); /* wipes a LOGIN's password (ck_buf_secret) */
        return ck_fail(err, CK_ELIMIT, "CTL Provider %s: message over %u bytes (or out of memory)",
                       ck_pv_type_name(m->type), CK_PV_MAX_BODY);
    }
    ck_buf_set_u32(&b, 8, (uint32_t)(b.len - CK_PV_HDR_LEN));
    *out = ck_buf_take(&b, len);
    return 0;
}

int ck_pv_add_node(ck_pv_msg *m, const ck_pv_node *n, ck_err *err)
{
    if (m->n_nodes >= CK_PV_MAX_NODES)
        return ck_fail(err, CK_ELIMIT, "CTL Provider: more than %d nodes", CK_PV_MAX_NODES);
    ck_pv_node *v = realloc(m->nodes, (m->n_nodes + 1) * sizeof *v);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    v[m->n_nodes++] = *n;
    m->nodes = v;
    return 0;
}

int ck_pv_add_result(ck_pv_msg *m, const ck_pv_result *r, ck_err *err)
{
    if (m->n_results >= CK_PV_MAX_NODES)
        return ck_fail(err, CK_ELIMIT, "CTL Provider: more than %d results", CK_PV_MAX_NODES);
    ck_pv_result *v = realloc(m->results, (m->n_results + 1) * sizeof *v);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    v[m->n_results++] = *r;
    m->results = v;
    return 0;
}

void ck_pv_msg_clear(ck_pv_msg *m)
{
    OPENSSL_cleanse(m->password, sizeof m->password);
    free(m->nodes);
    free(m->results);
    memset(m, 0, sizeof *m);
}
