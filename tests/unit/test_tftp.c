/* Unit tests of the TFTP codec (lib/proto/tftp.c). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ctlkit/tftp.h"

/* A packet from a string literal that may hold NULs (the literal's own
 * final NUL is not part of the packet). */
#define PKT(s) (const uint8_t *)(s), (sizeof(s) - 1)

static int parse(const uint8_t *p, size_t n, ck_tftp_packet *out, ck_err *err)
{
    ck_err_clear(err);
    return ck_tftp_parse(p, n, out, err);
}

/* Asserts that the packet is refused with reply code `code` and that the
 * message contains `needle`. */
static void expect_fail(const uint8_t *p, size_t n, ck_tftp_errcode code, const char *needle)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(p, n, &pk, &err), -1);
    assert_int_equal(err.code, CK_EFORMAT);
    assert_int_equal(pk.reply_code, code);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' does not contain '%s'", err.msg, needle);
}
#define FAIL(lit, code, needle) expect_fail(PKT(lit), code, needle)

static void test_rrq_plain(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\1CTLFile.tlv\0octet\0"), &pk, &err), 0);
    assert_int_equal(pk.opcode, CK_TFTP_RRQ);
    assert_string_equal(pk.u.req.filename, "CTLFile.tlv");
    assert_int_equal(pk.u.req.filename_len, 11);
    assert_int_equal(pk.u.req.mode, CK_TFTP_OCTET);
    assert_int_equal(pk.u.req.opts.present, 0);
    assert_int_equal(pk.u.req.ignored, 0);
    /* NUL padding after the mode or after the options: the end of the
     * options (some embedded clients pad their requests). */
    assert_int_equal(parse(PKT("\0\1CTLFile.tlv\0octet\0\0\0\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.present, 0);
    assert_int_equal(parse(PKT("\0\1CTLFile.tlv\0octet\0blksize\0" "1428\0\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.blksize, 1428);
}

static void test_modes_case_insensitive(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\1f\0OcTeT\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.mode, CK_TFTP_OCTET);
    assert_int_equal(parse(PKT("\0\1f\0NETASCII\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.mode, CK_TFTP_NETASCII);
    assert_int_equal(parse(PKT("\0\2f\0netascii\0"), &pk, &err), 0);
    assert_int_equal(pk.opcode, CK_TFTP_WRQ);
}

static void test_rrq_all_options(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\1f\0octet\0BLKSIZE\0001428\0tsize\0000\0Timeout\0003\0windowsize\0"
                               "16\0"),
                           &pk, &err),
                     0);
    const ck_tftp_opts *o = &pk.u.req.opts;
    assert_int_equal(o->present,
                     CK_TFTP_OPT_BLKSIZE | CK_TFTP_OPT_TSIZE | CK_TFTP_OPT_TIMEOUT | CK_TFTP_OPT_WINDOWSIZE);
    assert_int_equal(o->blksize, 1428);
    assert_int_equal(o->tsize, 0);
    assert_int_equal(o->timeout, 3);
    assert_int_equal(o->windowsize, 16);
}

static void test_option_limits(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\1f\0octet\0blksize\0008\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.blksize, 8);
    assert_int_equal(parse(PKT("\0\1f\0octet\0blksize\00065464\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.blksize, 65464);
    /* Above the maximum: lowered (RFC 2348 allows a smaller answer). */
    assert_int_equal(parse(PKT("\0\1f\0octet\0blksize\00065465\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.blksize, 65464);
    assert_int_equal(parse(PKT("\0\1f\0octet\0blksize\0999999999999999999999999999\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.blksize, 65464);
    assert_int_equal(parse(PKT("\0\1f\0octet\0windowsize\0001\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.windowsize, 1);
    assert_int_equal(parse(PKT("\0\1f\0octet\0windowsize\000100000\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.windowsize, 65535);
    assert_int_equal(parse(PKT("\0\1f\0octet\0timeout\000255\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.timeout, 255);
    /* Out-of-range timeouts are ignored, not refused (RFC 2349). */
    assert_int_equal(parse(PKT("\0\1f\0octet\0timeout\0000\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.present, 0);
    assert_int_equal(pk.u.req.ignored, 1);
    assert_int_equal(parse(PKT("\0\1f\0octet\0timeout\000256\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.present, 0);
    assert_int_equal(parse(PKT("\0\1f\0octet\0tsize\00012345678901\0"), &pk, &err), 0);
    assert_true(pk.u.req.opts.tsize == 12345678901ull);
}

static void test_unknown_options_ignored(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\1f\0octet\0multicast\0\0rollover\0000\0blksize\0001024\0"), &pk, &err), 0);
    assert_int_equal(pk.u.req.ignored, 2);
    assert_int_equal(pk.u.req.opts.present, CK_TFTP_OPT_BLKSIZE);
    assert_int_equal(pk.u.req.opts.blksize, 1024);
}

static void test_request_negative(void **state)
{
    FAIL("", CK_TFTP_EBADOP, "too short for an opcode");
    FAIL("\0", CK_TFTP_EBADOP, "too short for an opcode");
    FAIL("\0\1", CK_TFTP_EBADOP, "no file name");
    FAIL("\0\1CTLFile.tlv", CK_TFTP_EBADOP, "file name at byte 2 is not NUL-terminated");
    FAIL("\0\1\0octet\0", CK_TFTP_EBADOP, "empty file name");
    FAIL("\0\1f\0", CK_TFTP_EBADOP, "no transfer mode");
    FAIL("\0\1f\0octet", CK_TFTP_EBADOP, "transfer mode at byte 4 is not NUL-terminated");
    FAIL("\0\1f\0mail\0", CK_TFTP_EBADOP, "unknown transfer mode 'mail'");
    FAIL("\0\1f\0octets\0", CK_TFTP_EBADOP, "unknown transfer mode");
    FAIL("\0\1f\0\0", CK_TFTP_EBADOP, "unknown transfer mode ''");
    FAIL("\0\1f\0oct\1t\0", CK_TFTP_EBADOP, "'oct?t'");
    FAIL("\0\1f\0octet\0\0blksize\0" "512\0", CK_TFTP_EBADOP, "empty option name at byte 10");
    FAIL("\0\1f\0octet\0blksize", CK_TFTP_EBADOP, "option name at byte 10 is not NUL-terminated");
    FAIL("\0\1f\0octet\0blksize\0", CK_TFTP_EOPTNEG, "'blksize' at byte 10 has no value");
    FAIL("\0\1f\0octet\0blksize\0001428", CK_TFTP_EOPTNEG, "not NUL-terminated");
    FAIL("\0\1f\0octet\0blksize\0\0", CK_TFTP_EOPTNEG, "is not a decimal number");
    FAIL("\0\1f\0octet\0blksize\0abc\0", CK_TFTP_EOPTNEG, "value 'abc' of option 'blksize'");
    FAIL("\0\1f\0octet\0blksize\0+512\0", CK_TFTP_EOPTNEG, "not a decimal number");
    FAIL("\0\1f\0octet\0blksize\0-512\0", CK_TFTP_EOPTNEG, "not a decimal number");
    FAIL("\0\1f\0octet\0blksize\0 512\0", CK_TFTP_EOPTNEG, "not a decimal number");
    FAIL("\0\1f\0octet\0blksize\0" "512x\0", CK_TFTP_EOPTNEG, "not a decimal number");
    FAIL("\0\1f\0octet\0blksize\0007\0", CK_TFTP_EOPTNEG, "blksize 7 at byte 18 is outside 8..65464");
    FAIL("\0\1f\0octet\0blksize\0000\0", CK_TFTP_EOPTNEG, "outside 8..65464");
    FAIL("\0\1f\0octet\0windowsize\0000\0", CK_TFTP_EOPTNEG, "windowsize 0");
    FAIL("\0\1f\0octet\0tsize\0099999999999999999999\0", CK_TFTP_EOPTNEG, "too large");
    FAIL("\0\1f\0octet\0tsize\0009223372036854775808\0", CK_TFTP_EOPTNEG, "too large");
    FAIL("\0\1f\0octet\0blksize\000512\0BlkSize\0001024\0", CK_TFTP_EOPTNEG, "given twice");
    FAIL("\0\2f\0octet\0tsize\0", CK_TFTP_EOPTNEG, "has no value");
}

static void test_request_too_long(void **state)
{
    uint8_t p[600];
    memset(p, 'a', sizeof p);
    p[0] = 0;
    p[1] = 1;
    memcpy(p + 510, "\0octet\0", 7);
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(p, 517, &pk, &err), -1);
    assert_non_null(strstr(err.msg, "longer than the 512 bytes"));
    /* Exactly 512 bytes is fine. */
    memcpy(p + 505, "\0octet\0", 7);
    assert_int_equal(parse(p, 512, &pk, &err), 0);
    assert_int_equal(pk.u.req.filename_len, 503);
}

static void test_control_chars_not_echoed(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\1f\0\n\033[2J\0"), &pk, &err), -1);
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\033'));
}

static void test_bad_opcodes(void **state)
{
    FAIL("\0\0", CK_TFTP_EBADOP, "unknown opcode 0");
    FAIL("\0\7xx", CK_TFTP_EBADOP, "unknown opcode 7");
    FAIL("\xff\xff", CK_TFTP_EBADOP, "unknown opcode 65535");
    FAIL("\1\1f\0octet\0", CK_TFTP_EBADOP, "unknown opcode 257");
}

static void test_ack(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    uint16_t b = 0;
    assert_int_equal(parse(PKT("\0\4\1\2"), &pk, &err), 0);
    assert_int_equal(pk.opcode, CK_TFTP_ACK);
    assert_int_equal(pk.u.ack_block, 0x102);
    assert_int_equal(ck_tftp_parse_ack(PKT("\0\4\xff\xff"), &b, &err), 0);
    assert_int_equal(b, 65535);
    FAIL("\0\4", CK_TFTP_EBADOP, "too short for a block number");
    FAIL("\0\4\1", CK_TFTP_EBADOP, "too short for a block number");
    FAIL("\0\4\0\1\0", CK_TFTP_EBADOP, "1 unexpected bytes");
    assert_int_equal(ck_tftp_parse_ack(PKT("\0\3\0\1"), &b, &err), -1);
    assert_non_null(strstr(err.msg, "DATA where an ACK was expected"));
    assert_int_equal(ck_tftp_parse_ack(PKT("\0"), &b, &err), -1);
    assert_int_equal(ck_tftp_parse_ack(PKT("\0\x09\0\1"), &b, &err), -1);
    assert_non_null(strstr(err.msg, "unknown where an ACK"));
}

static void test_error_packet(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\5\0\1File not found\0"), &pk, &err), 0);
    assert_int_equal(pk.u.error.code, 1);
    assert_string_equal(pk.u.error.msg, "File not found");
    assert_int_equal(parse(PKT("\0\5\0\10\0"), &pk, &err), 0);
    assert_int_equal(pk.u.error.code, 8);
    assert_int_equal(pk.u.error.msg_len, 0);
    FAIL("\0\5\0", CK_TFTP_EBADOP, "too short for an error code");
    FAIL("\0\5\0\1", CK_TFTP_EBADOP, "not NUL-terminated");
    FAIL("\0\5\0\1oops", CK_TFTP_EBADOP, "not NUL-terminated");
    FAIL("\0\5\0\1oops\0x", CK_TFTP_EBADOP, "1 unexpected bytes after the message");
}

static void test_data_packet(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\3\0\7abc"), &pk, &err), 0);
    assert_int_equal(pk.u.data.block, 7);
    assert_int_equal(pk.u.data.len, 3);
    assert_memory_equal(pk.u.data.data, "abc", 3);
    assert_int_equal(parse(PKT("\0\3\0\1"), &pk, &err), 0);
    assert_int_equal(pk.u.data.len, 0);
    FAIL("\0\3\0", CK_TFTP_EBADOP, "too short for a block number");
    size_t n = 4 + CK_TFTP_BLKSIZE_MAX + 1;
    uint8_t *big = calloc(1, n);
    assert_non_null(big);
    big[1] = 3;
    assert_int_equal(parse(big, n, &pk, &err), -1);
    assert_non_null(strstr(err.msg, "more than the 65464"));
    assert_int_equal(parse(big, n - 1, &pk, &err), 0);
    free(big);
}

static void test_oack_packet(void **state)
{
    ck_tftp_packet pk;
    ck_err err;
    assert_int_equal(parse(PKT("\0\6blksize\0001428\0tsize\0004947\0"), &pk, &err), 0);
    assert_int_equal(pk.u.oack.present, CK_TFTP_OPT_BLKSIZE | CK_TFTP_OPT_TSIZE);
    assert_int_equal(pk.u.oack.blksize, 1428);
    assert_int_equal(pk.u.oack.tsize, 4947);
    FAIL("\0\6", CK_TFTP_EOPTNEG, "OACK without any option");
    FAIL("\0\6blksize\00070000\0", CK_TFTP_EOPTNEG, "outside 8..65464");
    FAIL("\0\6timeout\0000\0", CK_TFTP_EOPTNEG, "outside 1..255");
    FAIL("\0\6windowsize\00070000\0", CK_TFTP_EOPTNEG, "outside 1..65535");
    FAIL("\0\6multicast\0x\0", CK_TFTP_EOPTNEG, "unrequested option 'multicast'");
    FAIL("\0\6blksize\0", CK_TFTP_EOPTNEG, "has no value");
}

static void expect_bytes(ck_buf *b, const uint8_t *p, size_t n)
{
    assert_false(b->failed);
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, p, n);
}

static void test_builders(void **state)
{
    ck_buf b;
    ck_err err;
    uint8_t h[4];

    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_build_ack(&b, 0x1234, &err), 0);
    expect_bytes(&b, PKT("\0\4\x12\x34"));
    ck_buf_free(&b);

    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_build_data(&b, 2, "xyz", 3, &err), 0);
    expect_bytes(&b, PKT("\0\3\0\2xyz"));
    ck_buf_free(&b);
    ck_tftp_data_header(h, 0xfffe);
    assert_memory_equal(h, "\0\3\xff\xfe", 4);

    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_build_error(&b, 1, NULL, &err), 0);
    expect_bytes(&b, PKT("\0\5\0\1File not found\0"));
    ck_buf_free(&b);

    ck_buf_init(&b, 0);
    ck_tftp_opts o = {.present = CK_TFTP_OPT_BLKSIZE | CK_TFTP_OPT_TSIZE | CK_TFTP_OPT_WINDOWSIZE,
                      .blksize = 1428, .tsize = 4947, .windowsize = 4};
    assert_int_equal(ck_tftp_build_oack(&b, &o, &err), 0);
    expect_bytes(&b, PKT("\0\6blksize\0001428\0tsize\0004947\0windowsize\0004\0"));
    ck_buf_free(&b);

    ck_buf_init(&b, 0);
    o.present |= CK_TFTP_OPT_TIMEOUT;
    o.timeout = 2;
    assert_int_equal(ck_tftp_build_request(&b, CK_TFTP_RRQ, "CTLFile.tlv", CK_TFTP_NETASCII, &o, &err), 0);
    expect_bytes(&b, PKT("\0\1CTLFile.tlv\0netascii\0blksize\0001428\0tsize\0004947\0timeout\0002\0"
                         "windowsize\0004\0"));
    /* And it parses back to the same options. */
    ck_tftp_packet pk;
    assert_int_equal(parse(b.data, b.len, &pk, &err), 0);
    assert_int_equal(pk.u.req.opts.present, o.present);
    assert_int_equal(pk.u.req.opts.windowsize, 4);
    assert_int_equal(pk.u.req.mode, CK_TFTP_NETASCII);
    ck_buf_free(&b);
}

static void test_builders_negative(void **state)
{
    ck_buf b;
    ck_err err;
    ck_tftp_opts o = {0};
    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_build_oack(&b, &o, &err), -1);
    assert_int_equal(ck_tftp_build_oack(&b, NULL, &err), -1);
    o.present = CK_TFTP_OPT_BLKSIZE;
    o.blksize = 7;
    assert_int_equal(ck_tftp_build_oack(&b, &o, &err), -1);
    assert_non_null(strstr(err.msg, "outside 8..65464"));
    o.blksize = 512;
    o.present |= CK_TFTP_OPT_TIMEOUT;
    o.timeout = 0;
    assert_int_equal(ck_tftp_build_oack(&b, &o, &err), -1);
    o.present = CK_TFTP_OPT_WINDOWSIZE;
    o.windowsize = 0;
    assert_int_equal(ck_tftp_build_oack(&b, &o, &err), -1);
    assert_int_equal(ck_tftp_build_request(&b, CK_TFTP_DATA, "f", CK_TFTP_OCTET, NULL, &err), -1);
    assert_int_equal(ck_tftp_build_request(&b, CK_TFTP_RRQ, "", CK_TFTP_OCTET, NULL, &err), -1);
    assert_int_equal(b.len, 0);
    char name[600];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(ck_tftp_build_request(&b, CK_TFTP_RRQ, name, CK_TFTP_OCTET, NULL, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    assert_int_equal(b.len, 0);
    assert_int_equal(ck_tftp_build_data(&b, 1, name, CK_TFTP_BLKSIZE_MAX + 1, &err), -1);
    ck_buf_free(&b);

    /* A buffer whose limit is too small fails cleanly. */
    ck_buf_init(&b, 3);
    assert_int_equal(ck_tftp_build_ack(&b, 1, &err), -1);
    assert_int_equal(err.code, CK_ENOMEM);
    ck_buf_free(&b);

    /* Long error messages are cut to keep the packet within 512 bytes. */
    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_build_error(&b, 0, name, &err), 0);
    assert_int_equal(b.len, 4 + 500 + 1);
    ck_buf_free(&b);
}

static void test_netascii(void **state)
{
    ck_buf b;
    ck_err err;
    static const char in[] = "a\nb\r\nc\rd";
    static const uint8_t enc[] = "a\r\nb\r\0\r\nc\r\0d";
    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_netascii_encode(in, sizeof in - 1, &b, &err), 0);
    expect_bytes(&b, enc, sizeof enc - 1);
    assert_int_equal(ck_tftp_netascii_len(in, sizeof in - 1), sizeof enc - 1);
    ck_buf dec;
    ck_buf_init(&dec, 0);
    assert_int_equal(ck_tftp_netascii_decode(b.data, b.len, &dec, &err), 0);
    expect_bytes(&dec, (const uint8_t *)in, sizeof in - 1);
    ck_buf_free(&dec);
    ck_buf_free(&b);

    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_netascii_encode("", 0, &b, &err), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(ck_tftp_netascii_encode("plain", 5, &b, &err), 0);
    expect_bytes(&b, PKT("plain"));
    ck_buf_free(&b);

    ck_buf_init(&b, 0);
    assert_int_equal(ck_tftp_netascii_decode("ab\r", 3, &b, &err), -1);
    assert_non_null(strstr(err.msg, "CR at the end"));
    assert_int_equal(ck_tftp_netascii_decode("a\rb", 3, &b, &err), -1);
    assert_non_null(strstr(err.msg, "CR followed by 0x62 at byte 1"));
    ck_buf_free(&b);

    /* Every byte value survives encode + decode. */
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    ck_buf_init(&b, 0);
    ck_buf_init(&dec, 0);
    assert_int_equal(ck_tftp_netascii_encode(all, sizeof all, &b, &err), 0);
    assert_int_equal(b.len, 258);
    assert_int_equal(ck_tftp_netascii_decode(b.data, b.len, &dec, &err), 0);
    expect_bytes(&dec, all, sizeof all);
    ck_buf_free(&dec);
    ck_buf_free(&b);
}

static void test_names(void **state)
{
    assert_string_equal(ck_tftp_opcode_name(1), "RRQ");
    assert_string_equal(ck_tftp_opcode_name(6), "OACK");
    assert_string_equal(ck_tftp_opcode_name(0), "unknown");
    assert_string_equal(ck_tftp_opcode_name(7), "unknown");
    assert_string_equal(ck_tftp_error_text(2), "Access violation");
    assert_string_equal(ck_tftp_error_text(99), "Not defined");
    assert_string_equal(ck_tftp_mode_name(CK_TFTP_NETASCII), "netascii");
}

/* Every prefix of a valid request with options must either parse or fail
 * with a message, never read past its end (ASan build checks the latter). */
static void test_truncations(void **state)
{
    static const uint8_t full[] = "\0\1CTLFile.tlv\0octet\0blksize\0001428\0tsize\0000\0";
    size_t n = sizeof full - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = malloc(i ? i : 1);
        assert_non_null(p);
        memcpy(p, full, i);
        ck_tftp_packet pk;
        ck_err err;
        int rc = parse(p, i, &pk, &err);
        /* The only valid prefix is the one ending right after the mode's
         * NUL or after a complete option value. */
        bool ok = (i == 20 || i == 33 || i == 41);
        assert_int_equal(rc, ok ? 0 : -1);
        if (rc < 0)
            assert_true(err.msg[0] != '\0');
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rrq_plain),
        cmocka_unit_test(test_modes_case_insensitive),
        cmocka_unit_test(test_rrq_all_options),
        cmocka_unit_test(test_option_limits),
        cmocka_unit_test(test_unknown_options_ignored),
        cmocka_unit_test(test_request_negative),
        cmocka_unit_test(test_request_too_long),
        cmocka_unit_test(test_control_chars_not_echoed),
        cmocka_unit_test(test_bad_opcodes),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_error_packet),
        cmocka_unit_test(test_data_packet),
        cmocka_unit_test(test_oack_packet),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_builders_negative),
        cmocka_unit_test(test_netascii),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_truncations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
