#include "ctlkit/bytes.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ck_cur_init(ck_cur *c, const void *data, size_t len)
{
    c->data = data;
    c->len = len;
    c->pos = 0;
    c->base = 0;
}

size_t ck_cur_remaining(const ck_cur *c) { return c->len - c->pos; }
size_t ck_cur_offset(const ck_cur *c) { return c->base + c->pos; }

bool ck_cur_u8(ck_cur *c, uint8_t *out)
{
    if (ck_cur_remaining(c) < 1)
        return false;
    *out = c->data[c->pos++];
    return true;
}

bool ck_cur_u16(ck_cur *c, uint16_t *out)
{
    if (ck_cur_remaining(c) < 2)
        return false;
    *out = (uint16_t)(c->data[c->pos] << 8 | c->data[c->pos + 1]);
    c->pos += 2;
    return true;
}

bool ck_cur_u32(ck_cur *c, uint32_t *out)
{
    if (ck_cur_remaining(c) < 4)
        return false;
    const uint8_t *p = c->data + c->pos;
    *out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    c->pos += 4;
    return true;
}

bool ck_cur_bytes(ck_cur *c, size_t n, const uint8_t **out)
{
    if (ck_cur_remaining(c) < n)
        return false;
    *out = c->data + c->pos;
    c->pos += n;
    return true;
}

bool ck_cur_skip(ck_cur *c, size_t n)
{
    if (ck_cur_remaining(c) < n)
        return false;
    c->pos += n;
    return true;
}

bool ck_cur_peek_u8(const ck_cur *c, uint8_t *out)
{
    if (ck_cur_remaining(c) < 1)
        return false;
    *out = c->data[c->pos];
    return true;
}

void ck_cur_window(const ck_cur *c, size_t end, ck_cur *win)
{
    *win = *c;
    if (end < win->len)
        win->len = end < win->pos ? win->pos : end;
}

void ck_cur_sync(ck_cur *c, const ck_cur *win) { c->pos = win->pos; }

bool ck_cur_sub(ck_cur *c, size_t n, ck_cur *sub)
{
    if (ck_cur_remaining(c) < n)
        return false;
    sub->data = c->data + c->pos;
    sub->len = n;
    sub->pos = 0;
    sub->base = c->base + c->pos;
    c->pos += n;
    return true;
}

bool ck_cur_cstr(ck_cur *c, size_t max, const char **out, size_t *out_len)
{
    size_t rem = ck_cur_remaining(c);
    size_t lim = rem < max + 1 ? rem : max + 1;
    const uint8_t *start = c->data + c->pos;
    const uint8_t *nul = memchr(start, 0, lim);
    if (!nul)
        return false;
    *out = (const char *)start;
    *out_len = (size_t)(nul - start);
    c->pos += *out_len + 1;
    return true;
}

void ck_buf_init(ck_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void ck_buf_secret(ck_buf *b) { b->secret = true; }

void ck_buf_free(ck_buf *b)
{
    if (b->secret && b->data)
        OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Moves the bytes to a block of cap bytes. A secret buffer never uses
 * realloc, which may free the old block with the secret still in it. */
static uint8_t *buf_move(ck_buf *b, size_t cap)
{
    if (!b->secret)
        return realloc(b->data, cap);
    uint8_t *p = malloc(cap);
    if (!p)
        return NULL;
    if (b->data) {
        memcpy(p, b->data, b->len);
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    return p;
}

uint8_t *ck_buf_take(ck_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

static bool buf_reserve(ck_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (n > SIZE_MAX - b->len || (b->limit && b->len + n > b->limit)) {
        b->failed = true;
        return false;
    }
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = buf_move(b, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void ck_buf_bytes(ck_buf *b, const void *p, size_t n)
{
    if (n == 0 || !buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ck_buf_zero(ck_buf *b, size_t n)
{
    if (n == 0 || !buf_reserve(b, n))
        return;
    memset(b->data + b->len, 0, n);
    b->len += n;
}

void ck_buf_u8(ck_buf *b, uint8_t v) { ck_buf_bytes(b, &v, 1); }

void ck_buf_u16(ck_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    ck_buf_bytes(b, p, 2);
}

void ck_buf_u32(ck_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    ck_buf_bytes(b, p, 4);
}

void ck_buf_set_u16(ck_buf *b, size_t off, uint16_t v)
{
    if (b->failed || off + 2 > b->len)
        return;
    b->data[off] = (uint8_t)(v >> 8);
    b->data[off + 1] = (uint8_t)v;
}

void ck_buf_set_u32(ck_buf *b, size_t off, uint32_t v)
{
    if (b->failed || off > b->len || b->len - off < 4)
        return;
    b->data[off] = (uint8_t)(v >> 24);
    b->data[off + 1] = (uint8_t)(v >> 16);
    b->data[off + 2] = (uint8_t)(v >> 8);
    b->data[off + 3] = (uint8_t)v;
}

void ck_hex(const uint8_t *p, size_t n, char sep, bool upper, char *out, size_t outsz)
{
    static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
    const char *digits = upper ? up : lo;
    size_t o = 0;
    if (outsz == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t need = (i && sep) ? 3 : 2;
        if (o + need + 1 > outsz)
            break;
        if (i && sep)
            out[o++] = sep;
        out[o++] = digits[p[i] >> 4];
        out[o++] = digits[p[i] & 15];
    }
    out[o] = '\0';
}

bool ck_bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

bool ck_parse_ll(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return false;
    /* strtoll skips leading blanks and takes '+'; a CLI number should not. */
    if (s[0] == ' ' || s[0] == '\t' || s[0] == '+')
        return false;
    *out = v;
    return true;
}
