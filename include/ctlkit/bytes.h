/* Bounds-checked reading and writing of big-endian binary data.
 *
 * Every byte that comes from outside (files, packets, TLS messages) is read
 * through a ck_cur: each getter checks what remains and fails, without
 * moving, on overrun (architecture habit 1). A ck_buf is a growable output
 * buffer whose writes never fail half-way: after the first allocation
 * failure or limit overrun it is marked failed and ignores further writes,
 * so a builder checks once at the end. */
#ifndef CTLKIT_BYTES_H
#define CTLKIT_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ck_cur {
    const uint8_t *data; /* start of the window */
    size_t len;          /* window size */
    size_t pos;          /* read position inside the window */
    size_t base;         /* absolute offset of data[0] in the original input, for messages */
} ck_cur;

void ck_cur_init(ck_cur *c, const void *data, size_t len);
size_t ck_cur_remaining(const ck_cur *c);
/* Absolute offset of the read position in the original input. */
size_t ck_cur_offset(const ck_cur *c);

bool ck_cur_u8(ck_cur *c, uint8_t *out);
bool ck_cur_u16(ck_cur *c, uint16_t *out);
bool ck_cur_u32(ck_cur *c, uint32_t *out);
/* Points *out at the next n bytes (no copy) and moves past them. */
bool ck_cur_bytes(ck_cur *c, size_t n, const uint8_t **out);
bool ck_cur_skip(ck_cur *c, size_t n);
/* Looks at the next byte without moving; false at the end. */
bool ck_cur_peek_u8(const ck_cur *c, uint8_t *out);
/* A cursor *win over the same input as c, at c's read position, that ends
 * where c's window ends or at window offset end, whichever comes first
 * (for reading up to a limit learnt half-way, such as a header length).
 * Moves c to where *win got with ck_cur_sync. */
void ck_cur_window(const ck_cur *c, size_t end, ck_cur *win);
void ck_cur_sync(ck_cur *c, const ck_cur *win);
/* Carves the next n bytes into their own cursor *sub (same base accounting). */
bool ck_cur_sub(ck_cur *c, size_t n, ck_cur *sub);
/* Reads a NUL-terminated string of at most max bytes (NUL excluded);
 * *out points into the input. Fails when no NUL comes in time. */
bool ck_cur_cstr(ck_cur *c, size_t max, const char **out, size_t *out_len);

typedef struct ck_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit;  /* 0 = no limit */
    bool failed;
    bool secret;   /* wipe every copy before it is freed (see ck_buf_secret) */
} ck_buf;

void ck_buf_init(ck_buf *b, size_t limit);
/* Marks b as holding a secret (a password): from now on growing moves the
 * bytes to a new block and wipes the old one before freeing it (realloc
 * would leave the old copy in freed memory), and ck_buf_free wipes too. */
void ck_buf_secret(ck_buf *b);
void ck_buf_free(ck_buf *b);
/* Hands the bytes to the caller (who frees them) and resets b. */
uint8_t *ck_buf_take(ck_buf *b, size_t *len);

void ck_buf_u8(ck_buf *b, uint8_t v);
void ck_buf_u16(ck_buf *b, uint16_t v);
void ck_buf_u32(ck_buf *b, uint32_t v);
void ck_buf_bytes(ck_buf *b, const void *p, size_t n);
void ck_buf_zero(ck_buf *b, size_t n);
/* Overwrites a u16 already written at offset off (for length back-patching). */
void ck_buf_set_u16(ck_buf *b, size_t off, uint16_t v);
void ck_buf_set_u32(ck_buf *b, size_t off, uint32_t v);

/* Hex helpers for output: "70:CA:F6" (upper, sep ':'), "e9d4..." (lower). */
void ck_hex(const uint8_t *p, size_t n, char sep, bool upper, char *out, size_t outsz);

/* Constant-time-agnostic comparison helper for byte strings. */
bool ck_bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Bounded number parser for text (habit 5, after OpenBSD strtonum):
 * accepts only a whole decimal number in [min, max]. */
bool ck_parse_ll(const char *s, long long min, long long max, long long *out);

#endif
