/* Unit tests of ck_printable (lib/core/printable.c): untrusted text on its
 * way to a log line; the command-word splitter and the device CSV reader
 * (words.c, csv.c). */
#include "testutil.h"

#include <string.h>

#include "ctlkit/text.h"

static const char *show(const char *in, size_t n, size_t outsz, unsigned flags)
{
    static char out[256];
    memset(out, 'Z', sizeof out);
    return ck_printable(in, n, out, outsz, flags);
}

static void test_plain_text_passes(void **state)
{
    assert_string_equal(show("SEPAABBCCDDEEFF.cnf.xml", 23, 64, 0), "SEPAABBCCDDEEFF.cnf.xml");
    assert_string_equal(show("", 0, 64, 0), "");
}

static void test_controls_become_question_marks(void **state)
{
    /* C0 (newline, escape, NUL inside the span) and DEL. */
    assert_string_equal(show("a\nb\x1b[2Jc\0d\x7f", 11, 64, 0), "a?b?[2Jc?d?");
    /* C1 in UTF-8 (C2 9B is CSI): one '?' for the two bytes. */
    assert_string_equal(show("x\xc2\x9b" "31my", 7, 64, 0), "x?31my");
    /* A lone C2 at the end is not a C1 control. */
    assert_string_equal(show("x\xc2", 2, 64, 0), "x\xc2");
}

static void test_utf8_letters_kept_unless_ascii(void **state)
{
    /* "é" (C3 A9) and "€" (E2 82 AC, a continuation byte in 80..9F). */
    const char *s = "caf\xc3\xa9 \xe2\x82\xac";
    assert_string_equal(show(s, strlen(s), 64, 0), s);
    assert_string_equal(show(s, strlen(s), 64, CK_PRINTABLE_ASCII), "caf?? ???");
}

static void test_bounded_with_ellipsis(void **state)
{
    /* Exactly fits: no ellipsis. */
    assert_string_equal(show("abcdef", 6, 7, 0), "abcdef");
    /* One too many: cut, and the cut is visible. */
    assert_string_equal(show("abcdefg", 7, 7, 0), "abc...");
    /* Too small for an ellipsis: just cut. */
    assert_string_equal(show("abcdef", 6, 3, 0), "ab");
    assert_string_equal(show("abcdef", 6, 1, 0), "");
    /* A zero-sized output is left alone. */
    char one = 'Q';
    ck_printable("abc", 3, &one, 0, 0);
    assert_int_equal(one, 'Q');
}

static void test_split_words(void **state)
{
    (void)state;
    char line[] = "  utils service restart  \"Cisco Tftp\"\t";
    char *argv[4];
    assert_int_equal(ck_split_words(line, argv, 4), 4);
    assert_string_equal(argv[0], "utils");
    assert_string_equal(argv[2], "restart");
    assert_string_equal(argv[3], "Cisco Tftp");
    char open[] = "set param \"CAPF";
    assert_int_equal(ck_split_words(open, argv, 4), -1);
    char many[] = "a b c d e";
    assert_int_equal(ck_split_words(many, argv, 4), -2);
    char blank[] = " \t ";
    assert_int_equal(ck_split_words(blank, argv, 4), 0);
}

static void test_csv_lines(void **state)
{
    (void)state;
    char text[] = "# devices\r\nName , MODEL\r\n\n  \t\nSEP001122334455,\t7975 \n#SEP0,x\na,b,c,d\n x ";
    ck_csv r;
    ck_csv_init(&r, text);
    char *f[3];
    assert_int_equal(ck_csv_next(&r, f, 3), 2); /* comments and blank lines skipped, CR dropped */
    assert_int_equal(r.lineno, 2);
    assert_string_equal(f[0], "Name");
    assert_string_equal(f[1], "MODEL");
    assert_int_equal(ck_csv_next(&r, f, 3), 2);
    assert_int_equal(r.lineno, 5);
    assert_string_equal(f[0], "SEP001122334455");
    assert_string_equal(f[1], "7975"); /* trimmed */
    assert_int_equal(ck_csv_next(&r, f, 3), -1); /* a,b,c,d: more than 3 */
    assert_int_equal(r.lineno, 7);
    assert_int_equal(ck_csv_next(&r, f, 3), 1); /* the last line needs no LF */
    assert_string_equal(f[0], "x");
    assert_int_equal(ck_csv_next(&r, f, 3), 0);
    assert_int_equal(ck_csv_next(&r, f, 3), 0);
}

static void test_csv_columns(void **state)
{
    (void)state;
    static const char *const names[] = {"name", "model", "string"};
    int map[3];
    bool repeated = true;
    char *ok[] = {"String", "other", "NAME"};
    assert_int_equal(ck_csv_columns(ok, 3, names, 3, map, &repeated), 1); /* "other" names no column */
    assert_false(repeated);
    assert_int_equal(map[0], 2);
    assert_int_equal(map[1], -1);
    assert_int_equal(map[2], 0);
    char *twice[] = {"name", "model", "name"};
    assert_int_equal(ck_csv_columns(twice, 3, names, 3, map, &repeated), 2);
    assert_true(repeated);
    assert_int_equal(map[0], 2); /* at its last place */
    char *known[] = {"model", "name"};
    assert_int_equal(ck_csv_columns(known, 2, names, 3, map, NULL), -1);
    assert_int_equal(map[0], 1);
    assert_int_equal(map[1], 0);
    assert_int_equal(map[2], -1);
}

/* One moment in each of the four shapes; a short buffer and a time
 * gmtime cannot show give "?", not garbage. */
static void test_utc(void **state)
{
    (void)state;
    char b[40];
    const int64_t t = 1796284932; /* 2026-12-03 08:02:12 UTC */
    assert_string_equal(ck_utc(t, CK_UTC_DAY, b, sizeof b), "2026-12-03");
    assert_string_equal(ck_utc(t, CK_UTC_SECONDS, b, sizeof b), "2026-12-03 08:02:12");
    assert_string_equal(ck_utc(t, CK_UTC_ISO, b, sizeof b), "2026-12-03T08:02:12Z");
    assert_string_equal(ck_utc(t, CK_UTC_MINUTES, b, sizeof b), "2026-12-03 08:02 UTC");
    assert_string_equal(ck_utc(0, CK_UTC_ISO, b, sizeof b), "1970-01-01T00:00:00Z");
    assert_string_equal(ck_utc(t, CK_UTC_ISO, b, 10), "?");
    assert_string_equal(ck_utc(INT64_MAX, CK_UTC_DAY, b, sizeof b), "?");
    assert_string_equal(ck_utc(t, (ck_utc_style)99, b, sizeof b), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_passes),
        cmocka_unit_test(test_controls_become_question_marks),
        cmocka_unit_test(test_utf8_letters_kept_unless_ascii),
        cmocka_unit_test(test_bounded_with_ellipsis),
        cmocka_unit_test(test_split_words),
        cmocka_unit_test(test_csv_lines),
        cmocka_unit_test(test_csv_columns),
        cmocka_unit_test(test_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
