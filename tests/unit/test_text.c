/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for bounded text (core/common/text.c): the builder, the
 * printable copy and the decimal digits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/text.h"

/* ---- the builder ------------------------------------------------------------ */

static void test_raw_mode_writes_no_terminator(void **state)
{
    char buf[16];
    postie_text_t t;
    (void)state;

    memset(buf, 'Z', sizeof(buf));
    postie_text_init(&t, buf, 8);
    assert_int_equal(buf[0], 'Z'); /* init writes nothing */
    postie_text_put(&t, "MAIL");
    postie_text_put_char(&t, ' ');
    postie_text_put_n(&t, "FROM:<>", 3);
    assert_false(t.overflow);
    assert_int_equal(t.len, 8);
    assert_memory_equal(buf, "MAIL FRO", 8);
    assert_int_equal(buf[8], 'Z');
}

static void test_string_mode_keeps_a_c_string(void **state)
{
    char buf[8];
    postie_text_t t;
    (void)state;

    memset(buf, 'Z', sizeof(buf));
    postie_text_init_str(&t, buf, sizeof(buf));
    assert_string_equal(buf, "");
    postie_text_put(&t, "line ");
    assert_string_equal(buf, "line ");
    postie_text_put_u64(&t, 12);
    assert_string_equal(buf, "line 12");
    assert_int_equal(t.len, 7); /* 7 octets and the NUL fill the 8 */
    assert_false(t.overflow);
}

static void test_put_is_whole_or_nothing_and_sticky(void **state)
{
    char buf[8];
    postie_text_t t;
    (void)state;

    postie_text_init_str(&t, buf, sizeof(buf));
    postie_text_put(&t, "abc");
    postie_text_put(&t, "defgh"); /* 3 + 5 > 7: nothing of it */
    assert_true(t.overflow);
    assert_string_equal(buf, "abc");
    postie_text_put(&t, "d"); /* would fit, but the text is already cut */
    postie_text_put_char(&t, 'e');
    postie_text_put_u64(&t, 1);
    postie_text_put_n(&t, "f", 1);
    assert_string_equal(buf, "abc");
    assert_int_equal(t.len, 3);
    assert_true(t.overflow);
}

static void test_exact_fit(void **state)
{
    char buf[4];
    postie_text_t t;
    (void)state;

    postie_text_init(&t, buf, sizeof(buf));
    postie_text_put(&t, "abcd");
    assert_false(t.overflow);
    postie_text_put(&t, ""); /* the empty put fits a full text */
    assert_false(t.overflow);
    postie_text_put_char(&t, 'e');
    assert_true(t.overflow);
    assert_memory_equal(buf, "abcd", 4);
}

static void test_size_zero(void **state)
{
    char buf[2] = {'Z', 'Z'};
    postie_text_t t;
    (void)state;

    postie_text_init_str(&t, buf, 0);
    assert_int_equal(buf[0], 'Z'); /* not even a NUL */
    postie_text_put(&t, "");
    assert_false(t.overflow);
    postie_text_put_char(&t, 'a');
    assert_true(t.overflow);
    assert_int_equal(buf[0], 'Z');

    postie_text_init(&t, NULL, 0);
    postie_text_put_n(&t, NULL, 0);
    assert_false(t.overflow);
    postie_text_put(&t, "x");
    assert_true(t.overflow);
}

static void test_put_u64(void **state)
{
    char buf[32];
    postie_text_t t;
    (void)state;

    postie_text_init_str(&t, buf, sizeof(buf));
    postie_text_put_u64(&t, 0);
    postie_text_put_char(&t, ' ');
    postie_text_put_u64(&t, UINT64_MAX);
    assert_string_equal(buf, "0 18446744073709551615");

    /* all digits or none */
    postie_text_init_str(&t, buf, 4);
    postie_text_put_u64(&t, 12345);
    assert_true(t.overflow);
    assert_string_equal(buf, "");
}

static void test_put_cut_keeps_the_head(void **state)
{
    char buf[8];
    postie_text_t t;
    (void)state;

    postie_text_init_str(&t, buf, sizeof(buf));
    postie_text_put_cut(&t, "abc");
    assert_false(t.overflow);
    postie_text_put_cut(&t, "defghij");
    assert_true(t.overflow);
    assert_string_equal(buf, "abcdefg");
    postie_text_put_cut(&t, "x");
    assert_string_equal(buf, "abcdefg");

    /* after a whole-or-nothing put overflowed, put_cut adds nothing */
    postie_text_init_str(&t, buf, sizeof(buf));
    postie_text_put(&t, "abc");
    postie_text_put(&t, "defghij");
    postie_text_put_cut(&t, "de");
    assert_string_equal(buf, "abc");
}

static void test_tail_and_advance(void **state)
{
    char buf[8];
    postie_text_t t;
    size_t room = 99;
    char *tail;
    (void)state;

    postie_text_init_str(&t, buf, sizeof(buf));
    postie_text_put(&t, "ab");
    tail = postie_text_tail(&t, &room);
    assert_ptr_equal(tail, buf + 2);
    assert_int_equal(room, 5);
    memcpy(tail, "cde", 3);
    postie_text_advance(&t, 3);
    assert_string_equal(buf, "abcde");
    assert_false(t.overflow);

    postie_text_advance(&t, 3); /* more than the room: counts nothing */
    assert_true(t.overflow);
    assert_int_equal(t.len, 5);
    assert_string_equal(buf, "abcde");
    (void)postie_text_tail(&t, &room);
    assert_int_equal(room, 0); /* a cut text offers no room */
}

static void test_fail_is_sticky(void **state)
{
    char buf[8];
    postie_text_t t;
    (void)state;

    postie_text_init(&t, buf, sizeof(buf));
    postie_text_put(&t, "ab");
    postie_text_fail(&t);
    postie_text_put(&t, "c");
    assert_true(t.overflow);
    assert_int_equal(t.len, 2);
}

static void test_copy_printable_replaces_controls(void **state)
{
    static const char src[] = "a\tb\r\n\x7f\x01\x1f c\0d\xc3\xa9~";
    char dst[64];
    (void)state;

    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, sizeof(dst), src, sizeof(src) - 1);
    /* controls, DEL and NUL become '?'; space, '~' and 8-bit octets stay */
    assert_string_equal(dst, "a?b?????"
                             " c?d\xc3\xa9~");
    assert_int_equal(strlen(dst), sizeof(src) - 1);
    assert_int_equal(dst[sizeof(src)], 'Z');
}

static void test_copy_printable_cuts(void **state)
{
    char dst[16];
    (void)state;

    /* longer than the room: cap-1 octets and a NUL */
    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, 4, "abcdef", 6);
    assert_memory_equal(dst, "abc\0", 4);
    assert_int_equal(dst[4], 'Z');

    /* exactly cap-1: whole */
    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, 4, "abc", 3);
    assert_memory_equal(dst, "abc\0", 4);
    assert_int_equal(dst[4], 'Z');

    /* exactly cap: one octet cut */
    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, 4, "abcd", 4);
    assert_memory_equal(dst, "abc\0", 4);
    assert_int_equal(dst[4], 'Z');

    /* only len octets are read, not up to a NUL */
    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, sizeof(dst), "abcdef", 2);
    assert_memory_equal(dst, "ab\0", 3);
    assert_int_equal(dst[3], 'Z');

    /* cap 1: just the terminator */
    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, 1, "abc", 3);
    assert_int_equal(dst[0], '\0');
    assert_int_equal(dst[1], 'Z');

    /* len 0, even with a NULL source */
    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, sizeof(dst), NULL, 0);
    assert_int_equal(dst[0], '\0');
    assert_int_equal(dst[1], 'Z');

    /* cap 0: nothing written at all */
    memset(dst, 'Z', sizeof(dst));
    postie_text_copy_printable(dst, 0, "abc", 3);
    assert_int_equal(dst[0], 'Z');
}

static void expect_u64(uint64_t v, const char *want)
{
    char out[POSTIE_TEXT_U64_DIGITS + 4];
    size_t n;
    memset(out, '#', sizeof(out));
    n = postie_text_format_u64(v, out);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    assert_int_equal(out[n], '#'); /* no terminator, nothing past the digits */
}

static void test_format_u64(void **state)
{
    (void)state;
    expect_u64(0, "0");
    expect_u64(9, "9");
    expect_u64(10, "10");
    expect_u64(10240000, "10240000");
    expect_u64(UINT64_MAX, "18446744073709551615");
    /* around the 32-bit split and the zero-padded last nine digits */
    expect_u64(UINT32_MAX, "4294967295");
    expect_u64((uint64_t)UINT32_MAX + 1u, "4294967296");
    expect_u64(10000000000u, "10000000000");
    expect_u64(10000000001u, "10000000001");
    expect_u64(99999999999u, "99999999999");
    expect_u64(123000000000456u, "123000000000456");
    expect_u64(10000000000000000000u, "10000000000000000000");
    expect_u64(9999999999999999999u, "9999999999999999999");
}

/* The keyword helpers the capability parsers share. */
static void test_ascii_words(void **state)
{
    (void)state;
    assert_true(postie_ascii_ieq("Pipelining", 10, "PIPELINING"));
    assert_false(postie_ascii_ieq("PIPELINING", 9, "PIPELINING"));
    assert_false(postie_ascii_ieq("STLS", 4, "STARTTLS"));
    assert_false(postie_ascii_ieq("\xe9", 1, "\xc9")); /* ASCII case only */

    const char *line = "  SASL PLAIN  LOGIN ";
    size_t n = strlen(line), pos = 0, wlen = 0;
    const char *w = NULL;
    assert_true(postie_next_word(line, n, &pos, &w, &wlen));
    assert_int_equal(wlen, 4);
    assert_memory_equal(w, "SASL", 4);
    assert_true(postie_next_word(line, n, &pos, &w, &wlen));
    assert_memory_equal(w, "PLAIN", 5);
    assert_true(postie_next_word(line, n, &pos, &w, &wlen));
    assert_int_equal(wlen, 5);
    assert_memory_equal(w, "LOGIN", 5);
    assert_false(postie_next_word(line, n, &pos, &w, &wlen));
    assert_int_equal(pos, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_words),
        cmocka_unit_test(test_raw_mode_writes_no_terminator),
        cmocka_unit_test(test_string_mode_keeps_a_c_string),
        cmocka_unit_test(test_put_is_whole_or_nothing_and_sticky),
        cmocka_unit_test(test_exact_fit),
        cmocka_unit_test(test_size_zero),
        cmocka_unit_test(test_put_u64),
        cmocka_unit_test(test_put_cut_keeps_the_head),
        cmocka_unit_test(test_tail_and_advance),
        cmocka_unit_test(test_fail_is_sticky),
        cmocka_unit_test(test_copy_printable_replaces_controls),
        cmocka_unit_test(test_copy_printable_cuts),
        cmocka_unit_test(test_format_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
