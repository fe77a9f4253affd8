/* Unit tests of ck_printable (lib/core/printable.c): untrusted text on its
 * way to a log line. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_passes),
        cmocka_unit_test(test_controls_become_question_marks),
        cmocka_unit_test(test_utf8_letters_kept_unless_ascii),
        cmocka_unit_test(test_bounded_with_ellipsis),
        cmocka_unit_test(test_split_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
