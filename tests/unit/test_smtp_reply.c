/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the SMTP reply parser (core/smtp/smtp_reply.c): reply codes,
 * multi-line grouping, enhanced status codes (RFC 3463) and the copy kept
 * in postie_reply_info_t.
 *
 * Each line is handed to the parser in a heap block of exactly its length
 * (no NUL after it), so AddressSanitizer catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/smtp/smtp_reply.h"

#define OWNED_MAX 512

static char *owned[OWNED_MAX];
static size_t owned_count;

static int free_owned(void **state)
{
    (void)state;
    for (size_t i = 0; i < owned_count; i++) {
        free(owned[i]);
        owned[i] = NULL;
    }
    owned_count = 0;
    return 0;
}

/* A copy of s[0..len) in a block of exactly len octets, freed after the test. */
static const char *exact(const char *s, size_t len)
{
    char *p = malloc(len > 0 ? len : 1);
    assert_non_null(p);
    if (len > 0) {
        memcpy(p, s, len);
    }
    assert_true(owned_count < OWNED_MAX);
    owned[owned_count++] = p;
    return p;
}

typedef struct {
    postie_status_t st;
    postie_smtp_line_t line;
    const char *why;
} parsed_t;

static parsed_t parse_n(postie_smtp_reply_t *r, const char *s, size_t len)
{
    parsed_t p;
    memset(&p, 0, sizeof(p));
    p.why = NULL;
    p.st = postie_smtp_reply_line(r, exact(s, len), len, &p.line, &p.why);
    return p;
}

static parsed_t parse(postie_smtp_reply_t *r, const char *s)
{
    return parse_n(r, s, strlen(s));
}

static void expect_text(const parsed_t *p, const char *text)
{
    assert_int_equal(p->line.text_len, strlen(text));
    assert_memory_equal(p->line.text, text, strlen(text));
}

static void expect_enhanced(const parsed_t *p, const char *enhanced)
{
    if (enhanced == NULL) {
        assert_null(p->line.enhanced);
        return;
    }
    assert_non_null(p->line.enhanced);
    assert_int_equal(p->line.enhanced_len, strlen(enhanced));
    assert_memory_equal(p->line.enhanced, enhanced, strlen(enhanced));
}

/* A fresh parser must refuse the line as malformed with a reason. */
static void expect_malformed(const char *s, size_t len, const char *why_part)
{
    postie_smtp_reply_t r;
    parsed_t p;
    postie_smtp_reply_init(&r);
    p = parse_n(&r, s, len);
    assert_int_equal(p.st, POSTIE_E_REPLY_MALFORMED);
    assert_non_null(p.why);
    assert_non_null(strstr(p.why, why_part));
}

/* A fresh parser must accept a single-line reply with this code, enhanced
 * code and text. */
static void expect_single(const char *s, uint16_t code, const char *enhanced, const char *text)
{
    postie_smtp_reply_t r;
    parsed_t p;
    postie_smtp_reply_init(&r);
    p = parse(&r, s);
    assert_int_equal(p.st, POSTIE_OK);
    assert_int_equal(p.line.code, code);
    assert_true(p.line.first);
    assert_true(p.line.last);
    expect_enhanced(&p, enhanced);
    expect_text(&p, text);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.lines, 0);
}

static void test_init(void **state)
{
    postie_smtp_reply_t r;
    (void)state;
    r.code = 999;
    r.lines = 7;
    postie_smtp_reply_init(&r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.lines, 0);
}

static void test_single_line(void **state)
{
    (void)state;
    expect_single("250 OK", 250, NULL, "OK");
    expect_single("220 mail.example ESMTP Postfix", 220, NULL, "mail.example ESMTP Postfix");
    expect_single("354 End data with <CR><LF>.<CR><LF>", 354, NULL,
                  "End data with <CR><LF>.<CR><LF>");
    expect_single("421 closing", 421, NULL, "closing");
    expect_single("554 no", 554, NULL, "no");
    /* text is kept as it is, spaces included */
    expect_single("250  two  spaces ", 250, NULL, " two  spaces ");
}

static void test_code_range_edges(void **state)
{
    (void)state;
    expect_single("200 a", 200, NULL, "a");
    expect_single("259 a", 259, NULL, "a");
    expect_single("559 a", 559, NULL, "a");
    expect_single("300 a", 300, NULL, "a");
    expect_single("459 a", 459, NULL, "a");
}

static void test_code_outside_range(void **state)
{
    (void)state;
    expect_malformed("199 x", 5, "outside");
    expect_malformed("100 x", 5, "outside");
    expect_malformed("000 x", 5, "outside");
    expect_malformed("600 x", 5, "outside");
    expect_malformed("999 x", 5, "outside");
    expect_malformed("260 x", 5, "outside"); /* second digit 0..5 only */
    expect_malformed("590 x", 5, "outside");
    expect_malformed("199", 3, "outside");
}

static void test_non_digit_code(void **state)
{
    (void)state;
    expect_malformed("25a ok", 6, "3-digit");
    expect_malformed("2a0 ok", 6, "3-digit");
    expect_malformed("a50 ok", 6, "3-digit");
    expect_malformed(" 250 ok", 7, "3-digit");
    expect_malformed("2 50 ok", 7, "3-digit");
    expect_malformed("+25 ok", 6, "3-digit");
    expect_malformed("OK", 2, "3-digit");
    expect_malformed("25", 2, "3-digit");
    expect_malformed("2", 1, "3-digit");
    expect_malformed("", 0, "3-digit");
    expect_malformed("25\0 ok", 6, "3-digit");
}

static void test_missing_separator(void **state)
{
    (void)state;
    expect_malformed("250OK", 5, "space or hyphen");
    expect_malformed("2500", 4, "space or hyphen");
    expect_malformed("250_ok", 6, "space or hyphen");
    expect_malformed("250\tok", 6, "space or hyphen");
    expect_malformed("250.ok", 6, "space or hyphen");
}

static void test_code_alone(void **state)
{
    postie_smtp_reply_t r;
    parsed_t p;
    (void)state;

    /* "250" alone is a complete reply without text */
    expect_single("250", 250, NULL, "");
    /* "250 " likewise */
    expect_single("250 ", 250, NULL, "");

    /* "250-" alone opens a multi-line reply with an empty first line */
    postie_smtp_reply_init(&r);
    p = parse(&r, "250-");
    assert_int_equal(p.st, POSTIE_OK);
    assert_int_equal(p.line.code, 250);
    assert_true(p.line.first);
    assert_false(p.line.last);
    assert_int_equal(p.line.text_len, 0);
    assert_null(p.line.enhanced);
    p = parse(&r, "250");
    assert_int_equal(p.st, POSTIE_OK);
    assert_false(p.line.first);
    assert_true(p.line.last);
    assert_int_equal(p.line.text_len, 0);
}

static void test_multi_line(void **state)
{
    postie_smtp_reply_t r;
    parsed_t p;
    (void)state;

    postie_smtp_reply_init(&r);
    p = parse(&r, "250-mail.example Hello");
    assert_int_equal(p.st, POSTIE_OK);
    assert_int_equal(p.line.code, 250);
    assert_true(p.line.first);
    assert_false(p.line.last);
    expect_text(&p, "mail.example Hello");
    assert_int_equal(r.code, 250);
    assert_int_equal(r.lines, 1);

    p = parse(&r, "250-PIPELINING");
    assert_int_equal(p.st, POSTIE_OK);
    assert_false(p.line.first);
    assert_false(p.line.last);
    expect_text(&p, "PIPELINING");
    assert_int_equal(r.lines, 2);

    p = parse(&r, "250-SIZE 10240000");
    assert_int_equal(p.st, POSTIE_OK);
    assert_false(p.line.first);
    assert_false(p.line.last);
    expect_text(&p, "SIZE 10240000");
    assert_int_equal(r.lines, 3);

    p = parse(&r, "250 8BITMIME");
    assert_int_equal(p.st, POSTIE_OK);
    assert_int_equal(p.line.code, 250);
    assert_false(p.line.first);
    assert_true(p.line.last);
    expect_text(&p, "8BITMIME");
    assert_int_equal(r.code, 0);
    assert_int_equal(r.lines, 0);

    /* the next reply starts afresh, with another code */
    p = parse(&r, "221 bye");
    assert_int_equal(p.st, POSTIE_OK);
    assert_int_equal(p.line.code, 221);
    assert_true(p.line.first);
    assert_true(p.line.last);
}

static void test_mismatched_codes(void **state)
{
    postie_smtp_reply_t r;
    parsed_t p;
    (void)state;

    /* last line with another code */
    postie_smtp_reply_init(&r);
    assert_int_equal(parse(&r, "250-first").st, POSTIE_OK);
    p = parse(&r, "251 last");
    assert_int_equal(p.st, POSTIE_E_REPLY_MALFORMED);
    assert_non_null(strstr(p.why, "different codes"));

    /* continuation line with another code */
    postie_smtp_reply_init(&r);
    assert_int_equal(parse(&r, "250-first").st, POSTIE_OK);
    assert_int_equal(parse(&r, "250-second").st, POSTIE_OK);
    p = parse(&r, "550-third");
    assert_int_equal(p.st, POSTIE_E_REPLY_MALFORMED);
    assert_non_null(strstr(p.why, "different codes"));

    /* only the third digit differs */
    postie_smtp_reply_init(&r);
    assert_int_equal(parse(&r, "450-a").st, POSTIE_OK);
    assert_int_equal(parse(&r, "451 b").st, POSTIE_E_REPLY_MALFORMED);

    /* a malformed line inside a multi-line reply */
    postie_smtp_reply_init(&r);
    assert_int_equal(parse(&r, "250-a").st, POSTIE_OK);
    assert_int_equal(parse(&r, "250x").st, POSTIE_E_REPLY_MALFORMED);

    /* after init, a new reply parses */
    postie_smtp_reply_init(&r);
    p = parse(&r, "251 ok");
    assert_int_equal(p.st, POSTIE_OK);
    assert_true(p.line.first);
}

static void test_too_many_lines(void **state)
{
    postie_smtp_reply_t r;
    parsed_t p;
    (void)state;

    /* exactly POSTIE_REPLY_LINES_MAX lines: accepted */
    postie_smtp_reply_init(&r);
    for (int i = 0; i < POSTIE_REPLY_LINES_MAX - 1; i++) {
        p = parse(&r, "250-x");
        assert_int_equal(p.st, POSTIE_OK);
        assert_int_equal(p.line.first, i == 0);
        assert_false(p.line.last);
    }
    p = parse(&r, "250 done");
    assert_int_equal(p.st, POSTIE_OK);
    assert_true(p.line.last);
    assert_int_equal(r.lines, 0);
    free_owned(NULL);

    /* one more: the line past the maximum is refused, whether or not it
     * would have ended the reply */
    for (int last = 0; last < 2; last++) {
        postie_smtp_reply_init(&r);
        for (int i = 0; i < POSTIE_REPLY_LINES_MAX; i++) {
            assert_int_equal(parse(&r, "250-x").st, POSTIE_OK);
        }
        p = parse(&r, last ? "250 done" : "250-more");
        assert_int_equal(p.st, POSTIE_E_REPLY_TOO_MANY_LINES);
        assert_non_null(p.why);
        assert_non_null(strstr(p.why, "too many lines"));
        free_owned(NULL);
    }

    /* the count restarts with every reply */
    postie_smtp_reply_init(&r);
    for (int reply = 0; reply < 3; reply++) {
        for (int i = 0; i < POSTIE_REPLY_LINES_MAX - 1; i++) {
            assert_int_equal(parse(&r, "250-x").st, POSTIE_OK);
        }
        assert_int_equal(parse(&r, "250 x").st, POSTIE_OK);
        free_owned(NULL);
    }
}

static void test_enhanced_code(void **state)
{
    (void)state;
    expect_single("550 5.1.1 User unknown", 550, "5.1.1", "User unknown");
    expect_single("250 2.0.0 Ok: queued as 12345", 250, "2.0.0", "Ok: queued as 12345");
    expect_single("451 4.7.1 Try again later", 451, "4.7.1", "Try again later");
    expect_single("221 2.0.0 Bye", 221, "2.0.0", "Bye");
    /* subject and detail have up to three digits */
    expect_single("554 5.123.456 x", 554, "5.123.456", "x");
    expect_single("554 5.12.0 x", 554, "5.12.0", "x");
    /* a code with no text after it */
    expect_single("550 5.1.1", 550, "5.1.1", "");
    expect_single("550 5.1.1 ", 550, "5.1.1", "");
    /* only one space after the code is taken away */
    expect_single("550 5.1.1  two", 550, "5.1.1", " two");
}

static void test_enhanced_code_lookalikes(void **state)
{
    (void)state;
    /* two parts only */
    expect_single("250 2.0 text", 250, NULL, "2.0 text");
    /* class 1 does not exist, and does not match a 2xx reply */
    expect_single("250 1.2.3 text", 250, NULL, "1.2.3 text");
    /* class must match the reply */
    expect_single("550 4.1.1 text", 550, NULL, "4.1.1 text");
    expect_single("250 5.0.0 text", 250, NULL, "5.0.0 text");
    /* RFC 3463 classes are 2, 4 and 5 only: 3xx replies carry none */
    expect_single("354 3.0.0 go ahead", 354, NULL, "3.0.0 go ahead");
    /* too many digits */
    expect_single("550 5.1234.1 x", 550, NULL, "5.1234.1 x");
    expect_single("550 5.1.1234 x", 550, NULL, "5.1.1234 x");
    /* missing digits */
    expect_single("550 5..1 x", 550, NULL, "5..1 x");
    expect_single("550 5.1. x", 550, NULL, "5.1. x");
    expect_single("550 .1.1 x", 550, NULL, ".1.1 x");
    expect_single("550 5.1.", 550, NULL, "5.1.");
    /* not followed by a space */
    expect_single("550 5.1.1text", 550, NULL, "5.1.1text");
    expect_single("550 5.1.1.2 x", 550, NULL, "5.1.1.2 x");
    expect_single("550 5.1.1-x", 550, NULL, "5.1.1-x");
    /* letters */
    expect_single("550 5.a.1 x", 550, NULL, "5.a.1 x");
    expect_single("550 5.1.a x", 550, NULL, "5.1.a x");
    /* other separators */
    expect_single("550 5,1,1 x", 550, NULL, "5,1,1 x");
    /* not at the start of the text */
    expect_single("550  5.1.1 x", 550, NULL, " 5.1.1 x");
    /* too short to be one */
    expect_single("550 5.1", 550, NULL, "5.1");
    expect_single("550 5", 550, NULL, "5");
}

static void test_enhanced_code_multi_line(void **state)
{
    postie_smtp_reply_t r;
    parsed_t p;
    (void)state;

    postie_smtp_reply_init(&r);
    p = parse(&r, "550-5.7.1 first line");
    assert_int_equal(p.st, POSTIE_OK);
    expect_enhanced(&p, "5.7.1");
    expect_text(&p, "first line");
    p = parse(&r, "550 5.7.1 second line");
    assert_int_equal(p.st, POSTIE_OK);
    expect_enhanced(&p, "5.7.1");
    expect_text(&p, "second line");
}

static void test_length_is_respected(void **state)
{
    /* Only len octets count, whatever follows them in memory. */
    postie_smtp_reply_t r;
    postie_smtp_line_t line;
    const char *why = NULL;
    static const char s[] = "250-and more 5.1.1";
    (void)state;

    postie_smtp_reply_init(&r);
    assert_int_equal(postie_smtp_reply_line(&r, s, 3, &line, &why), POSTIE_OK);
    assert_true(line.last);
    assert_int_equal(line.text_len, 0);

    postie_smtp_reply_init(&r);
    assert_int_equal(postie_smtp_reply_line(&r, s, 7, &line, &why), POSTIE_OK);
    assert_false(line.last);
    assert_int_equal(line.text_len, 3);
    assert_memory_equal(line.text, "and", 3);
}

static void test_info_copies_code_enhanced_text(void **state)
{
    postie_smtp_reply_t r;
    postie_reply_info_t info;
    parsed_t p;
    (void)state;

    postie_smtp_reply_init(&r);
    p = parse(&r, "550 5.1.1 <bob@example.com>: Recipient address rejected");
    assert_int_equal(p.st, POSTIE_OK);
    memset(&info, 0x55, sizeof(info));
    postie_smtp_reply_info(&info, &p.line);
    assert_int_equal(info.code, 550);
    assert_string_equal(info.enhanced, "5.1.1");
    assert_string_equal(info.text, "<bob@example.com>: Recipient address rejected");

    /* without an enhanced code: "" */
    postie_smtp_reply_init(&r);
    p = parse(&r, "250 OK");
    memset(&info, 0x55, sizeof(info));
    postie_smtp_reply_info(&info, &p.line);
    assert_int_equal(info.code, 250);
    assert_string_equal(info.enhanced, "");
    assert_string_equal(info.text, "OK");

    /* no text at all */
    postie_smtp_reply_init(&r);
    p = parse(&r, "250");
    memset(&info, 0x55, sizeof(info));
    postie_smtp_reply_info(&info, &p.line);
    assert_int_equal(info.code, 250);
    assert_string_equal(info.enhanced, "");
    assert_string_equal(info.text, "");

    /* the longest enhanced code fits */
    postie_smtp_reply_init(&r);
    p = parse(&r, "554 5.123.456 x");
    postie_smtp_reply_info(&info, &p.line);
    assert_string_equal(info.enhanced, "5.123.456");
    assert_string_equal(info.text, "x");
}

static void test_info_text_cut(void **state)
{
    static char s[4 + POSTIE_REPLY_TEXT_MAX + 50];
    postie_smtp_reply_t r;
    postie_reply_info_t info;
    parsed_t p;
    (void)state;

    /* one octet fewer than the field: kept whole */
    memcpy(s, "550 ", 4);
    for (size_t i = 0; i < POSTIE_REPLY_TEXT_MAX - 1; i++) {
        s[4 + i] = (char)('a' + i % 26);
    }
    postie_smtp_reply_init(&r);
    p = parse_n(&r, s, 4 + POSTIE_REPLY_TEXT_MAX - 1);
    assert_int_equal(p.st, POSTIE_OK);
    postie_smtp_reply_info(&info, &p.line);
    assert_int_equal(strlen(info.text), POSTIE_REPLY_TEXT_MAX - 1);
    assert_memory_equal(info.text, s + 4, POSTIE_REPLY_TEXT_MAX - 1);

    /* longer: cut to POSTIE_REPLY_TEXT_MAX - 1 octets and terminated */
    for (size_t i = 0; i < POSTIE_REPLY_TEXT_MAX + 50; i++) {
        s[4 + i] = (char)('a' + i % 26);
    }
    for (size_t extra = 0; extra <= 50; extra += 50) {
        postie_smtp_reply_init(&r);
        p = parse_n(&r, s, 4 + POSTIE_REPLY_TEXT_MAX + extra);
        assert_int_equal(p.st, POSTIE_OK);
        memset(&info, 0x55, sizeof(info));
        postie_smtp_reply_info(&info, &p.line);
        assert_int_equal(info.code, 550);
        assert_int_equal(info.text[POSTIE_REPLY_TEXT_MAX - 1], '\0');
        assert_int_equal(strlen(info.text), POSTIE_REPLY_TEXT_MAX - 1);
        assert_memory_equal(info.text, s + 4, POSTIE_REPLY_TEXT_MAX - 1);
    }
}

static void test_info_text_made_printable(void **state)
{
    static const char s[] = "550 5.7.1 bad\tthing\x01\x1b[31m\x7fhere\xc3\xa9\0end";
    postie_smtp_reply_t r;
    postie_reply_info_t info;
    parsed_t p;
    (void)state;

    postie_smtp_reply_init(&r);
    p = parse_n(&r, s, sizeof(s) - 1);
    assert_int_equal(p.st, POSTIE_OK);
    postie_smtp_reply_info(&info, &p.line);
    assert_int_equal(info.code, 550);
    assert_string_equal(info.enhanced, "5.7.1");
    /* controls, DEL and NUL become '?'; other octets stay */
    assert_string_equal(info.text, "bad?thing?"
                                   "?[31m?here\xc3\xa9?end"); /* split: no trigraph */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_init, free_owned),
        cmocka_unit_test_teardown(test_single_line, free_owned),
        cmocka_unit_test_teardown(test_code_range_edges, free_owned),
        cmocka_unit_test_teardown(test_code_outside_range, free_owned),
        cmocka_unit_test_teardown(test_non_digit_code, free_owned),
        cmocka_unit_test_teardown(test_missing_separator, free_owned),
        cmocka_unit_test_teardown(test_code_alone, free_owned),
        cmocka_unit_test_teardown(test_multi_line, free_owned),
        cmocka_unit_test_teardown(test_mismatched_codes, free_owned),
        cmocka_unit_test_teardown(test_too_many_lines, free_owned),
        cmocka_unit_test_teardown(test_enhanced_code, free_owned),
        cmocka_unit_test_teardown(test_enhanced_code_lookalikes, free_owned),
        cmocka_unit_test_teardown(test_enhanced_code_multi_line, free_owned),
        cmocka_unit_test_teardown(test_length_is_respected, free_owned),
        cmocka_unit_test_teardown(test_info_copies_code_enhanced_text, free_owned),
        cmocka_unit_test_teardown(test_info_text_cut, free_owned),
        cmocka_unit_test_teardown(test_info_text_made_printable, free_owned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
