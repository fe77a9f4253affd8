/* Unit tests of the byte cursor and builder, the bounded number parser and
 * the hex helper (lib/core/bytes.c). */
#include "testutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/error.h"

static const uint8_t sample[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void test_cursor_reads(void **state)
{
    ck_cur c;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    ck_cur_init(&c, sample, sizeof sample);
    assert_int_equal(ck_cur_remaining(&c), 9);
    assert_int_equal(ck_cur_offset(&c), 0);
    assert_true(ck_cur_u8(&c, &u8));
    assert_int_equal(u8, 0x01);
    assert_true(ck_cur_u16(&c, &u16));
    assert_int_equal(u16, 0x0203); /* big-endian */
    assert_true(ck_cur_u32(&c, &u32));
    assert_int_equal(u32, 0x04050607u);
    assert_int_equal(ck_cur_offset(&c), 7);
    assert_int_equal(ck_cur_remaining(&c), 2);
    const uint8_t *p = NULL;
    assert_true(ck_cur_bytes(&c, 2, &p));
    assert_ptr_equal(p, sample + 7); /* no copy */
    assert_int_equal(ck_cur_remaining(&c), 0);
    /* Zero-length reads succeed at the end. */
    assert_true(ck_cur_bytes(&c, 0, &p));
    assert_true(ck_cur_skip(&c, 0));
}

static void test_cursor_u32_high_bit(void **state)
{
    static const uint8_t b[] = {0xff, 0xfe, 0xfd, 0xfc};
    ck_cur c;
    uint32_t v;
    ck_cur_init(&c, b, sizeof b);
    assert_true(ck_cur_u32(&c, &v));
    assert_int_equal(v, 0xfffefdfcu);
}

/* Every getter fails on overrun and leaves the cursor (and the output) as
 * it was. */
static void test_cursor_overruns(void **state)
{
    ck_cur c;
    uint8_t u8 = 0xaa;
    uint16_t u16 = 0xaaaa;
    uint32_t u32 = 0xaaaaaaaa;
    const uint8_t *p = (const uint8_t *)"x";

    ck_cur_init(&c, sample, 0);
    assert_false(ck_cur_u8(&c, &u8));
    assert_int_equal(u8, 0xaa);

    ck_cur_init(&c, sample, 1);
    assert_false(ck_cur_u16(&c, &u16));
    assert_int_equal(u16, 0xaaaa);
    assert_int_equal(c.pos, 0);

    ck_cur_init(&c, sample, 3);
    assert_false(ck_cur_u32(&c, &u32));
    assert_int_equal(u32, 0xaaaaaaaa);
    assert_int_equal(c.pos, 0);

    assert_false(ck_cur_bytes(&c, 4, &p));
    assert_string_equal((const char *)p, "x");
    assert_false(ck_cur_skip(&c, 4));
    assert_int_equal(c.pos, 0);
    /* Huge lengths (as a hostile length field might claim) do not wrap. */
    assert_false(ck_cur_bytes(&c, SIZE_MAX, &p));
    assert_false(ck_cur_skip(&c, SIZE_MAX));
    assert_true(ck_cur_skip(&c, 3));
    assert_false(ck_cur_u8(&c, &u8));
    assert_int_equal(ck_cur_offset(&c), 3);
}

static void test_cursor_sub(void **state)
{
    ck_cur c, sub, subsub;
    uint8_t u8;
    ck_cur_init(&c, sample, sizeof sample);
    assert_true(ck_cur_skip(&c, 2));
    assert_true(ck_cur_sub(&c, 4, &sub));
    assert_int_equal(ck_cur_offset(&c), 6);
    assert_int_equal(sub.len, 4);
    assert_int_equal(ck_cur_offset(&sub), 2); /* absolute offset kept */
    assert_true(ck_cur_u8(&sub, &u8));
    assert_int_equal(u8, 0x03);
    assert_true(ck_cur_sub(&sub, 2, &subsub));
    assert_int_equal(ck_cur_offset(&subsub), 3);
    assert_int_equal(subsub.data[0], 0x04);
    /* The window ends where the sub-cursor ends, not where the input does. */
    assert_true(ck_cur_u8(&sub, &u8));
    assert_int_equal(u8, 0x06);
    assert_false(ck_cur_u8(&sub, &u8));
    /* A sub-window larger than what remains is refused without moving. */
    assert_false(ck_cur_sub(&c, 4, &sub));
    assert_int_equal(ck_cur_offset(&c), 6);
    assert_true(ck_cur_sub(&c, 3, &sub));
    assert_int_equal(ck_cur_remaining(&c), 0);
}

static void test_cursor_cstr(void **state)
{
    static const uint8_t s[] = {'a', 'b', 'c', 0, 'd', 'e', 0, 'x', 'y'};
    ck_cur c;
    const char *out = NULL;
    size_t n = 99;
    ck_cur_init(&c, s, sizeof s);
    assert_true(ck_cur_cstr(&c, 10, &out, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(ck_cur_offset(&c), 4); /* past the NUL */
    /* max counts the characters without the NUL: "de" fits in 2, not in 1. */
    size_t save = c.pos;
    assert_false(ck_cur_cstr(&c, 1, &out, &n));
    assert_int_equal(c.pos, save);
    assert_true(ck_cur_cstr(&c, 2, &out, &n));
    assert_int_equal(n, 2);
    /* No NUL before the end. */
    assert_false(ck_cur_cstr(&c, 100, &out, &n));
    assert_int_equal(ck_cur_offset(&c), 7);
    /* An empty string is just a NUL. */
    static const uint8_t z[] = {0};
    ck_cur_init(&c, z, 1);
    assert_true(ck_cur_cstr(&c, 0, &out, &n));
    assert_int_equal(n, 0);
    ck_cur_init(&c, z, 0);
    assert_false(ck_cur_cstr(&c, 10, &out, &n));
}

static void test_buf_writes(void **state)
{
    ck_buf b;
    ck_buf_init(&b, 0);
    ck_buf_u8(&b, 0x0c);
    ck_buf_u16(&b, 0x1234);
    ck_buf_u32(&b, 0xdeadbeef);
    ck_buf_bytes(&b, "hi", 2);
    ck_buf_zero(&b, 3);
    ck_buf_bytes(&b, NULL, 0); /* nothing, and no failure */
    assert_false(b.failed);
    static const uint8_t want[] = {0x0c, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 'h', 'i', 0, 0, 0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    ck_buf_set_u16(&b, 1, 0xabcd);
    assert_int_equal(b.data[1], 0xab);
    assert_int_equal(b.data[2], 0xcd);
    /* Back-patching past the end is ignored, not a write out of bounds. */
    ck_buf_set_u16(&b, b.len - 1, 0xffff);
    assert_int_equal(b.data[b.len - 1], 0);
    size_t n = 0;
    uint8_t *p = ck_buf_take(&b, &n);
    assert_int_equal(n, sizeof want);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(p);
    ck_buf_free(&b);
}

static void test_buf_growth(void **state)
{
    ck_buf b;
    ck_buf_init(&b, 0);
    for (unsigned i = 0; i < 100000; i++)
        ck_buf_u8(&b, (uint8_t)i);
    assert_false(b.failed);
    assert_int_equal(b.len, 100000);
    for (unsigned i = 0; i < 100000; i += 997)
        assert_int_equal(b.data[i], (uint8_t)i);
    ck_buf_free(&b);
    assert_null(b.data);
}

static void test_buf_limit(void **state)
{
    ck_buf b;
    ck_buf_init(&b, 5);
    ck_buf_u32(&b, 1);
    ck_buf_u8(&b, 2);
    assert_false(b.failed);
    assert_int_equal(b.len, 5);
    ck_buf_u8(&b, 3); /* one past the limit */
    assert_true(b.failed);
    assert_int_equal(b.len, 5);
    /* Once failed, every later write is ignored, even a small one. */
    ck_buf_bytes(&b, "", 0);
    ck_buf_u16(&b, 4);
    ck_buf_set_u16(&b, 0, 0xffff);
    assert_int_equal(b.len, 5);
    assert_int_equal(b.data[0], 0);
    ck_buf_free(&b);

    ck_buf_init(&b, 4);
    ck_buf_u16(&b, 1);
    ck_buf_u32(&b, 2); /* does not fit as a whole: nothing of it is written */
    assert_true(b.failed);
    assert_int_equal(b.len, 2);
    ck_buf_free(&b);

    ck_buf_init(&b, 0);
    ck_buf_u8(&b, 1);
    ck_buf_zero(&b, SIZE_MAX); /* would wrap len + n */
    assert_true(b.failed);
    assert_int_equal(b.len, 1);
    ck_buf_free(&b);
}

static void test_hex(void **state)
{
    static const uint8_t b[] = {0x70, 0xca, 0xf6, 0x0e};
    char out[64];
    ck_hex(b, 4, ':', true, out, sizeof out);
    assert_string_equal(out, "70:CA:F6:0E");
    ck_hex(b, 4, 0, false, out, sizeof out);
    assert_string_equal(out, "70caf60e");
    ck_hex(b, 0, ':', true, out, sizeof out);
    assert_string_equal(out, "");
    /* A short buffer holds whole bytes only, always NUL-terminated. */
    memset(out, 'Z', sizeof out);
    ck_hex(b, 4, ':', true, out, 6);
    assert_string_equal(out, "70:CA");
    memset(out, 'Z', sizeof out);
    ck_hex(b, 4, 0, false, out, 8);
    assert_string_equal(out, "70caf6");
    ck_hex(b, 4, 0, false, out, 9);
    assert_string_equal(out, "70caf60e");
    ck_hex(b, 4, 0, false, out, 1);
    assert_string_equal(out, "");
    out[0] = 'Z';
    ck_hex(b, 4, 0, false, out, 0); /* must not write at all */
    assert_int_equal(out[0], 'Z');
}

static void test_bytes_equal(void **state)
{
    assert_true(ck_bytes_equal((const uint8_t *)"ab", 2, (const uint8_t *)"ab", 2));
    assert_false(ck_bytes_equal((const uint8_t *)"ab", 2, (const uint8_t *)"ac", 2));
    assert_false(ck_bytes_equal((const uint8_t *)"ab", 2, (const uint8_t *)"abc", 3));
    assert_true(ck_bytes_equal(NULL, 0, NULL, 0));
    assert_false(ck_bytes_equal(NULL, 0, (const uint8_t *)"a", 1));
}

static void test_parse_ll(void **state)
{
    long long v = 42;
    assert_true(ck_parse_ll("0", 0, 10, &v));
    assert_int_equal(v, 0);
    assert_true(ck_parse_ll("-5", -10, 10, &v));
    assert_int_equal(v, -5);
    assert_true(ck_parse_ll("4096", 1024, 4096, &v));
    assert_int_equal(v, 4096);
    assert_true(ck_parse_ll("4294967295", 1, 0xffffffffLL, &v));
    assert_int_equal(v, 4294967295LL);
    assert_true(ck_parse_ll("9223372036854775807", 0, LLONG_MAX, &v));
    assert_true(v == LLONG_MAX);

    v = 42;
    const char *bad[] = {"",    "abc",  "12abc", "1.5",  " 12",  "\t12", "+12", "12 ",
                         "0x10", "1e3", "-",     "4097", "1023", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ck_parse_ll(bad[i], 1024, 4096, &v))
            fail_msg("'%s' accepted", bad[i]);
    }
    assert_false(ck_parse_ll(NULL, 0, 10, &v));
    assert_false(ck_parse_ll("11", 0, 10, &v));
    assert_false(ck_parse_ll("-1", 0, 10, &v));
    assert_false(ck_parse_ll("-9223372036854775809", LLONG_MIN, LLONG_MAX, &v));
    assert_int_equal(v, 42); /* untouched on failure */
}

static void test_errors(void **state)
{
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(err.code, CK_OK);
    assert_string_equal(err.msg, "");
    assert_int_equal(ck_fail(&err, CK_EFORMAT, "offset %d: bad", 7), -1);
    assert_int_equal(err.code, CK_EFORMAT);
    assert_string_equal(err.msg, "offset 7: bad");
    ck_err_prefix(&err, "%s", "file.tlv");
    assert_string_equal(err.msg, "file.tlv: offset 7: bad");
    assert_int_equal(ck_fail(NULL, CK_EIO, "ignored"), -1);
    /* Long messages are truncated, not overflowed. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_fail(&err, CK_EINVAL, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_string_equal(ck_code_name(CK_ESIGNATURE), "invalid signature");
    assert_string_equal(ck_code_name(CK_ELIMIT), "limit reached");
    /* Every code of the X-macro list has its own name. */
    const char *names[] = {
#define NAME_OF(code, name) ck_code_name(code),
        CK_ERROR_CODES(NAME_OF)
#undef NAME_OF
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        assert_string_not_equal(names[i], "error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(names[i], names[j]);
    }
}

static void test_cursor_peek_window(void **state)
{
    ck_cur c, w;
    uint8_t u8 = 0;
    ck_cur_init(&c, sample, sizeof sample);
    assert_true(ck_cur_peek_u8(&c, &u8));
    assert_int_equal(u8, 0x01);
    assert_int_equal(ck_cur_offset(&c), 0); /* peeking does not move */
    assert_true(ck_cur_skip(&c, 2));
    /* A window that ends at offset 4 lets two bytes through. */
    ck_cur_window(&c, 4, &w);
    assert_int_equal(ck_cur_remaining(&w), 2);
    assert_true(ck_cur_u8(&w, &u8));
    assert_int_equal(u8, 0x03);
    assert_false(ck_cur_skip(&w, 2));
    ck_cur_sync(&c, &w);
    assert_int_equal(ck_cur_offset(&c), 3);
    /* An end past the input never widens the window. */
    ck_cur_window(&c, 100, &w);
    assert_int_equal(ck_cur_remaining(&w), sizeof sample - 3);
    ck_cur_skip(&c, ck_cur_remaining(&c));
    assert_false(ck_cur_peek_u8(&c, &u8));
}

static void test_buf_set_u32(void **state)
{
    ck_buf b;
    ck_buf_init(&b, 0);
    ck_buf_u8(&b, 0xaa);
    ck_buf_u32(&b, 0);
    ck_buf_set_u32(&b, 1, 0x01020304u);
    ck_buf_set_u32(&b, 2, 0xffffffffu); /* would run past the end: ignored */
    assert_int_equal(b.len, 5);
    static const uint8_t want[] = {0xaa, 0x01, 0x02, 0x03, 0x04};
    assert_memory_equal(b.data, want, sizeof want);
    ck_buf_free(&b);
}

/* The test program is linked with -Wl,--wrap=free (tests/CMakeLists.txt):
 * every free() in libctlkit comes here first, and the block the test
 * watches is checked for leftovers of the secret before it goes. */
void __real_free(void *p);
void __wrap_free(void *p);
static const void *watched_block;
static size_t watched_len;
static int watched_freed, watched_dirty;

void __wrap_free(void *p)
{
    if (p && p == watched_block) {
        const uint8_t *q = p;
        watched_freed++;
        for (size_t i = 0; i < watched_len; i++)
            if (q[i] != 0)
                watched_dirty++;
        watched_block = NULL;
    }
    __real_free(p);
}

static void grow_and_check(bool secret)
{
    static const char password[] = "hunter2-hunter2";
    ck_buf b;
    ck_buf_init(&b, 0);
    if (secret)
        ck_buf_secret(&b);
    ck_buf_bytes(&b, password, sizeof password);
    assert_non_null(b.data);
    watched_block = b.data;
    watched_len = sizeof password;
    watched_freed = watched_dirty = 0;
    /* Past the first block: the bytes move to a bigger one. */
    ck_buf_zero(&b, 4096);
    assert_false(b.failed);
    assert_memory_equal(b.data, password, sizeof password);
    if (secret) {
        assert_int_equal(watched_freed, 1);
        assert_int_equal(watched_dirty, 0);
        /* ck_buf_free wipes the last block too. */
        watched_block = b.data;
        watched_len = b.len;
        ck_buf_free(&b);
        assert_int_equal(watched_freed, 2);
        assert_int_equal(watched_dirty, 0);
    } else {
        ck_buf_free(&b);
    }
    watched_block = NULL;
}

/* A buffer marked secret (the CTL Provider's LOGIN frame) never leaves a
 * copy of its bytes in a freed block when it grows or is freed. */
static void test_buf_secret_growth_wipes(void **state)
{
    grow_and_check(true);
    grow_and_check(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_reads),   cmocka_unit_test(test_cursor_u32_high_bit),
        cmocka_unit_test(test_cursor_overruns), cmocka_unit_test(test_cursor_sub),
        cmocka_unit_test(test_cursor_cstr),    cmocka_unit_test(test_buf_writes),
        cmocka_unit_test(test_buf_growth),     cmocka_unit_test(test_buf_limit),
        cmocka_unit_test(test_hex),            cmocka_unit_test(test_bytes_equal),
        cmocka_unit_test(test_parse_ll),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cursor_peek_window), cmocka_unit_test(test_buf_set_u32),
        cmocka_unit_test(test_buf_secret_growth_wipes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
