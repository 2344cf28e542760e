/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the MIME encoders (core/mime/mime_encode.c): UTF-8 validation,
 * RFC 2047 encoded words, streaming quoted-printable and base64, RFC 2231
 * parameter sections.
 *
 * Every encoder's output is decoded again by small decoders written here
 * (independent of the code under test, except base64 decoding, which uses
 * core/common/base64.c) and compared with the input. Streaming encoders are fed
 * whole, octet by octet and through random input and output windows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/base64.h"
#include "postie/mime/mime_encode.h"

#define GUARD 0xee
#define U8(s) ((const uint8_t *)(s))

/* ---- helpers ------------------------------------------------------------ */

static uint32_t rng_next(uint32_t *rng)
{
    uint32_t x = *rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *rng = x;
    return x;
}

static size_t rng_below(uint32_t *rng, size_t n)
{
    return n == 0 ? 0 : (size_t)(rng_next(rng) % (uint32_t)n);
}

static void all_guard(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p[i], GUARD);
    }
}

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1; /* lowercase is not what we write */
}

/* Append the UTF-8 encoding of code point cp to buf; returns octets. */
static size_t put_cp(uint8_t *buf, uint32_t cp)
{
    if (cp < 0x80) {
        buf[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (uint8_t)(0xC0 | (cp >> 6));
        buf[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (uint8_t)(0xE0 | (cp >> 12));
        buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (uint8_t)(0xF0 | (cp >> 18));
    buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Random well-formed UTF-8 of at most cap octets, mixing every length. */
static size_t random_utf8(uint32_t *rng, uint8_t *buf, size_t cap)
{
    static const char ascii[] = "aZ09 _=?%*'!#-/.\"\t(),;:<>@[]\\{}~";
    size_t n = 0;
    size_t want = rng_below(rng, cap + 1);
    while (n + 4 <= want) {
        uint32_t cp;
        switch (rng_below(rng, 5)) {
        case 0:
            cp = (uint8_t)ascii[rng_below(rng, sizeof(ascii) - 1)];
            break;
        case 1:
            cp = 0x80 + (uint32_t)rng_below(rng, 0x800 - 0x80);
            break;
        case 2:
            cp = 0x800 + (uint32_t)rng_below(rng, 0x10000 - 0x800);
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0x5C71; /* no surrogates */
            }
            break;
        case 3:
            cp = 0x10000 + (uint32_t)rng_below(rng, 0x110000 - 0x10000);
            break;
        default:
            cp = 0x3040 + (uint32_t)rng_below(rng, 0x60); /* kana */
            break;
        }
        n += put_cp(buf + n, cp);
    }
    return n;
}

/* ---- UTF-8 -------------------------------------------------------------- */

static void test_utf8_seq_len(void **state)
{
    (void)state;
    assert_int_equal(postie_utf8_seq_len(0x00), 1);
    assert_int_equal(postie_utf8_seq_len('a'), 1);
    assert_int_equal(postie_utf8_seq_len(0x7F), 1);
    assert_int_equal(postie_utf8_seq_len(0x80), 0);
    assert_int_equal(postie_utf8_seq_len(0xBF), 0);
    assert_int_equal(postie_utf8_seq_len(0xC0), 0);
    assert_int_equal(postie_utf8_seq_len(0xC1), 0);
    assert_int_equal(postie_utf8_seq_len(0xC2), 2);
    assert_int_equal(postie_utf8_seq_len(0xDF), 2);
    assert_int_equal(postie_utf8_seq_len(0xE0), 3);
    assert_int_equal(postie_utf8_seq_len(0xEF), 3);
    assert_int_equal(postie_utf8_seq_len(0xF0), 4);
    assert_int_equal(postie_utf8_seq_len(0xF4), 4);
    assert_int_equal(postie_utf8_seq_len(0xF5), 0);
    assert_int_equal(postie_utf8_seq_len(0xFF), 0);
}

typedef struct {
    const char *s;
    size_t len;
    size_t bad; /* expected bad_offset for the invalid table */
    const char *why;
} utf8_case_t;

#define UC(lit, bad, why)              \
    {                                  \
        lit, sizeof(lit) - 1, bad, why \
    }

static const utf8_case_t utf8_good[] = {
    UC("", 0, "empty"),
    UC("plain ASCII", 0, "ascii"),
    UC("a\0b", 0, "NUL is U+0000"),
    UC("\x7f", 0, "DEL"),
    UC("\xc2\x80", 0, "U+0080"),
    UC("\xdf\xbf", 0, "U+07FF"),
    UC("\xe0\xa0\x80", 0, "U+0800"),
    UC("\xed\x9f\xbf", 0, "U+D7FF"),
    UC("\xee\x80\x80", 0, "U+E000"),
    UC("\xef\xbf\xbf", 0, "U+FFFF"),
    UC("\xf0\x90\x80\x80", 0, "U+10000"),
    UC("\xf4\x8f\xbf\xbf", 0, "U+10FFFF"),
    UC("\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e", 0, "Yamada Taro"),
    UC("caf\xc3\xa9 \xf0\x9f\x98\x80!", 0, "mixed"),
};

static const utf8_case_t utf8_bad[] = {
    UC("\x80", 0, "stray continuation"),
    UC("abc\xbf", 3, "stray continuation after ASCII"),
    UC("\xe5\xb1\xb1\x80", 3, "stray continuation after a character"),
    UC("\xc0\x80", 0, "overlong lead C0"),
    UC("a\xc1\xbf", 1, "overlong lead C1"),
    UC("xy\xe0\x80\x80", 2, "E0 followed by 80 (overlong)"),
    UC("\xe0\x9f\xbf", 0, "E0 followed by 9F (overlong)"),
    UC("\xf0\x80\x80\x80", 0, "F0 followed by 80 (overlong)"),
    UC("\xf0\x8f\xbf\xbf", 0, "F0 followed by 8F (overlong)"),
    UC("ok\xf4\x90\x80\x80", 2, "F4 followed by 90 (past U+10FFFF)"),
    UC("\xf4\xbf\xbf\xbf", 0, "F4 followed by BF"),
    UC("\xf5\x80\x80\x80", 0, "F5 lead"),
    UC("\xf8\x88\x80\x80\x80", 0, "F8 lead"),
    UC("\xfe", 0, "FE"),
    UC("a\xff", 1, "FF"),
    UC("\xed\xa0\x80", 0, "ED A0 80 (U+D800 surrogate)"),
    UC("\xed\xbf\xbf", 0, "ED BF BF (U+DFFF surrogate)"),
    UC("ab\xe5\xb1", 2, "truncated 3-octet at the end"),
    UC("\xf0\x9f\x98", 0, "truncated 4-octet at the end"),
    UC("\xc3", 0, "lone 2-octet lead"),
    UC("\xe5\x41\x41", 0, "3-octet lead followed by ASCII"),
    UC("\xe5\xb1\x41", 0, "3-octet lead, third octet ASCII"),
    UC("\xf0\x9f\x98\x41", 0, "4-octet lead, fourth octet ASCII"),
    UC("\xc3\xa9\xc3\xc3\xa9", 2, "lead followed by lead"),
};

static void test_utf8_valid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(utf8_good) / sizeof(utf8_good[0]); i++) {
        size_t bad = 12345;
        if (!postie_utf8_valid(U8(utf8_good[i].s), utf8_good[i].len, &bad)) {
            fail_msg("should be valid: %s", utf8_good[i].why);
        }
        assert_int_equal(bad, 12345); /* untouched on success */
    }
}

static void test_utf8_invalid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(utf8_bad) / sizeof(utf8_bad[0]); i++) {
        size_t bad = 12345;
        if (postie_utf8_valid(U8(utf8_bad[i].s), utf8_bad[i].len, &bad)) {
            fail_msg("should be invalid: %s", utf8_bad[i].why);
        }
        if (bad != utf8_bad[i].bad) {
            fail_msg("%s: bad_offset %zu, want %zu", utf8_bad[i].why, bad, utf8_bad[i].bad);
        }
        assert_false(postie_utf8_valid(U8(utf8_bad[i].s), utf8_bad[i].len, NULL));
    }
}

/* Every code point from U+0000 to U+10FFFF is valid except surrogates, and
 * each 1..4-octet form round-trips through the validator. */
static void test_utf8_all_code_points(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        uint8_t buf[4];
        size_t n = put_cp(buf, cp);
        bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        assert_int_equal(postie_utf8_seq_len(buf[0]), n);
        assert_int_equal(postie_utf8_valid(buf, n, NULL), !surrogate);
        /* every proper prefix is truncated */
        for (size_t k = 1; k < n; k++) {
            size_t bad = 99;
            assert_false(postie_utf8_valid(buf, k, &bad));
            assert_int_equal(bad, 0);
        }
    }
}

/* ---- RFC 2047 encoded words --------------------------------------------- */

/* Decode a Q payload, refusing anything an encoder restricted to the
 * phrase-safe set must not write. Returns the decoded length or -1. */
static long q_decode(const char *p, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)p[i];
        if (c == '_') {
            out[o++] = ' ';
        } else if (c == '=') {
            int hi;
            int lo;
            if (i + 2 >= n) {
                return -1;
            }
            hi = hex_val((uint8_t)p[i + 1]);
            lo = hex_val((uint8_t)p[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            out[o++] = (uint8_t)(hi * 16 + lo);
            i += 2;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '!' || c == '*' || c == '+' || c == '-' || c == '/') {
            out[o++] = c;
        } else {
            return -1;
        }
    }
    return (long)o;
}

/* Decode one encoded word; returns the decoded length or -1. */
static long ew_decode(const char *w, size_t n, postie_mime_ew_encoding_t enc, uint8_t *out)
{
    size_t olen = 0;
    if (n < 12 || memcmp(w, "=?UTF-8?", 8) != 0 || w[8] != (char)enc || w[9] != '?' ||
        w[n - 2] != '?' || w[n - 1] != '=') {
        return -1;
    }
    if (enc == POSTIE_MIME_EW_Q) {
        return q_decode(w + 10, n - 12, out);
    }
    if ((n - 12) % 4 != 0 || postie_base64_decode(w + 10, n - 12, out, 1024, &olen) != POSTIE_OK) {
        return -1;
    }
    return (long)olen;
}

/* Payload length of a word holding text[a..b). */
static size_t payload_len(const uint8_t *t, size_t a, size_t b, postie_mime_ew_encoding_t enc)
{
    size_t n = 0;
    if (enc == POSTIE_MIME_EW_B) {
        return (b - a + 2) / 3 * 4;
    }
    for (size_t i = a; i < b; i++) {
        bool lit = (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
                   (t[i] >= '0' && t[i] <= '9') || t[i] == '!' || t[i] == '*' || t[i] == '+' ||
                   t[i] == '-' || t[i] == '/' || t[i] == ' ';
        n += lit ? 1 : 3;
    }
    return n;
}

/* Split all of text into words of at most max_len and check every word:
 * within max_len, well-formed, decodes to exactly its slice, the slice is
 * whole characters, and the word is as full as it can be. Returns the
 * number of words and the total of their lengths. */
static size_t check_words(const uint8_t *text, size_t len, postie_mime_ew_encoding_t enc,
                          size_t max_len, size_t *total)
{
    static uint8_t joined[8192];
    size_t jlen = 0;
    size_t pos = 0;
    size_t words = 0;
    size_t eff_max = max_len > POSTIE_MIME_EW_MAX ? POSTIE_MIME_EW_MAX : max_len;

    assert_true(len <= sizeof(joined));
    *total = 0;
    while (pos < len) {
        char w[POSTIE_MIME_EW_MAX + 8];
        uint8_t dec[128];
        size_t before = pos;
        size_t wl;
        long dl;

        memset(w, GUARD, sizeof(w));
        wl = postie_mime_ew_word(text, len, &pos, enc, max_len, w);
        assert_true(wl > 0);
        assert_true(wl <= eff_max);
        all_guard((const uint8_t *)w + wl, sizeof(w) - wl);
        assert_true(pos > before && pos <= len);
        dl = ew_decode(w, wl, enc, dec);
        assert_true(dl >= 0);
        assert_int_equal((size_t)dl, pos - before);
        assert_memory_equal(dec, text + before, pos - before);
        /* whole characters: the slice alone is valid and ends on a boundary */
        assert_true(postie_utf8_valid(text + before, pos - before, NULL));
        assert_int_equal(wl, 12 + payload_len(text, before, pos, enc));
        if (pos < len) { /* greedy: the next character would not have fit */
            size_t next = postie_utf8_seq_len(text[pos]);
            assert_true(next > 0);
            assert_true(12 + payload_len(text, before, pos + next, enc) > eff_max);
        }
        memcpy(joined + jlen, dec, (size_t)dl);
        jlen += (size_t)dl;
        *total += wl;
        words++;
    }
    assert_int_equal(jlen, len);
    assert_memory_equal(joined, text, len);
    return words;
}

static void expect_word(const char *text, postie_mime_ew_encoding_t enc, size_t max_len,
                        const char *want)
{
    char w[POSTIE_MIME_EW_MAX];
    size_t len = strlen(text);
    size_t pos = 0;
    size_t wl = postie_mime_ew_word(U8(text), len, &pos, enc, max_len, w);
    assert_int_equal(wl, strlen(want));
    assert_memory_equal(w, want, wl);
    assert_int_equal(pos, len);
}

static const char yamada[] = "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e"; /* 山田 太郎 */

/* 今日の会議は午後三時から第二会議室で行います。資料は事前に共有フォルダへアップロードして
 * おきますので、各自ご確認のうえご参加ください。よろしくお願いいたします。 (80 characters) */
static const char long_ja[] =
    "\xe4\xbb\x8a\xe6\x97\xa5\xe3\x81\xae\xe4\xbc\x9a\xe8\xad\xb0\xe3\x81\xaf\xe5\x8d\x88\xe5"
    "\xbe\x8c\xe4\xb8\x89\xe6\x99\x82\xe3\x81\x8b\xe3\x82\x89\xe7\xac\xac\xe4\xba\x8c\xe4\xbc"
    "\x9a\xe8\xad\xb0\xe5\xae\xa4\xe3\x81\xa7\xe8\xa1\x8c\xe3\x81\x84\xe3\x81\xbe\xe3\x81\x99"
    "\xe3\x80\x82\xe8\xb3\x87\xe6\x96\x99\xe3\x81\xaf\xe4\xba\x8b\xe5\x89\x8d\xe3\x81\xab\xe5"
    "\x85\xb1\xe6\x9c\x89\xe3\x83\x95\xe3\x82\xa9\xe3\x83\xab\xe3\x83\x80\xe3\x81\xb8\xe3\x82"
    "\xa2\xe3\x83\x83\xe3\x83\x97\xe3\x83\xad\xe3\x83\xbc\xe3\x83\x89\xe3\x81\x97\xe3\x81\xa6"
    "\xe3\x81\x8a\xe3\x81\x8d\xe3\x81\xbe\xe3\x81\x99\xe3\x81\xae\xe3\x81\xa7\xe3\x80\x81\xe5"
    "\x90\x84\xe8\x87\xaa\xe3\x81\x94\xe7\xa2\xba\xe8\xaa\x8d\xe3\x81\xae\xe3\x81\x86\xe3\x81"
    "\x88\xe3\x81\x94\xe5\x8f\x82\xe5\x8a\xa0\xe3\x81\x8f\xe3\x81\xa0\xe3\x81\x95\xe3\x81\x84"
    "\xe3\x80\x82\xe3\x82\x88\xe3\x82\x8d\xe3\x81\x97\xe3\x81\x8f\xe3\x81\x8a\xe9\xa1\x98\xe3"
    "\x81\x84\xe3\x81\x84\xe3\x81\x9f\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x99\xe3\x80\x82";

/* 😀🎉👍🏽 あ🚀 */
static const char emoji[] = "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd "
                            "\xe3\x81\x82\xf0\x9f\x9a\x80";

/* Re: [Build #1234] café 失敗 — 2 errors, 5 warnings 🚨 (see log) */
static const char mixed[] = "Re: [Build #1234] caf\xc3\xa9 \xe5\xa4\xb1\xe6\x95\x97 \xe2\x80\x94 "
                            "2 errors, 5 warnings \xf0\x9f\x9a\xa8 (see log)";

static void test_ew_ascii(void **state)
{
    size_t total;
    (void)state;
    expect_word("Hello world", POSTIE_MIME_EW_Q, 75, "=?UTF-8?Q?Hello_world?=");
    expect_word("Hello world", POSTIE_MIME_EW_B, 75, "=?UTF-8?B?SGVsbG8gd29ybGQ=?=");
    expect_word("a", POSTIE_MIME_EW_B, 75, "=?UTF-8?B?YQ==?=");
    expect_word("ab", POSTIE_MIME_EW_B, 75, "=?UTF-8?B?YWI=?=");
    expect_word("abc", POSTIE_MIME_EW_B, 75, "=?UTF-8?B?YWJj?=");
    /* Only letters, digits and ! * + - / stand for themselves. */
    expect_word("a_b=c?d!*+-/ \"(),:;<>@[\\]\t~", POSTIE_MIME_EW_Q, 75,
                "=?UTF-8?Q?a=5Fb=3Dc=3Fd!*+-/_=22=28=29=2C=3A=3B=3C=3E=40=5B=5C=5D=09=7E?=");
    assert_int_equal(check_words(U8("Hello world"), 11, POSTIE_MIME_EW_Q, 75, &total), 1);
    {
        static const char lorem[] = "The quick brown fox jumps over the lazy dog, then naps; "
                                    "the dog, unimpressed, writes a long subject line about it.";
        assert_true(check_words(U8(lorem), sizeof(lorem) - 1, POSTIE_MIME_EW_Q, 75, &total) > 1);
        assert_true(check_words(U8(lorem), sizeof(lorem) - 1, POSTIE_MIME_EW_B, 75, &total) > 1);
    }
}

static void test_ew_japanese_name(void **state)
{
    size_t total;
    (void)state;
    assert_int_equal(sizeof(yamada) - 1, 13);
    expect_word(yamada, POSTIE_MIME_EW_B, 75, "=?UTF-8?B?5bGx55SwIOWkqumDjg==?=");
    expect_word(yamada, POSTIE_MIME_EW_Q, 75, "=?UTF-8?Q?=E5=B1=B1=E7=94=B0_=E5=A4=AA=E9=83=8E?=");
    assert_int_equal(postie_mime_ew_choose(U8(yamada), 13), POSTIE_MIME_EW_B);
    assert_int_equal(check_words(U8(yamada), 13, POSTIE_MIME_EW_B, 75, &total), 1);
    assert_int_equal(total, 32);
    assert_int_equal(check_words(U8(yamada), 13, POSTIE_MIME_EW_Q, 75, &total), 1);
    assert_int_equal(total, 49);
}

static void test_ew_long_japanese(void **state)
{
    size_t len = sizeof(long_ja) - 1;
    size_t total_b;
    size_t total_q;
    size_t words;
    (void)state;
    assert_true(len >= 60 * 3);
    assert_true(postie_utf8_valid(U8(long_ja), len, NULL));
    words = check_words(U8(long_ja), len, POSTIE_MIME_EW_B, 75, &total_b);
    /* 63 payload chars -> 47 octets -> 15 characters of 3 octets per word */
    assert_int_equal(words, (len / 3 + 14) / 15);
    check_words(U8(long_ja), len, POSTIE_MIME_EW_Q, 75, &total_q);
    assert_true(total_b < total_q);
    assert_int_equal(postie_mime_ew_choose(U8(long_ja), len), POSTIE_MIME_EW_B);
    for (size_t m = 12; m <= 80; m++) {
        size_t t;
        if (m >= 16) { /* B: one 3-octet character needs 4 payload chars */
            check_words(U8(long_ja), len, POSTIE_MIME_EW_B, m, &t);
        }
        if (m >= 21) { /* Q: one 3-octet character needs 9 payload chars */
            check_words(U8(long_ja), len, POSTIE_MIME_EW_Q, m, &t);
        }
    }
}

static void test_ew_emoji(void **state)
{
    size_t len = sizeof(emoji) - 1;
    size_t total;
    (void)state;
    assert_true(postie_utf8_valid(U8(emoji), len, NULL));
    expect_word("\xf0\x9f\x98\x80", POSTIE_MIME_EW_B, 75, "=?UTF-8?B?8J+YgA==?=");
    expect_word("\xf0\x9f\x98\x80", POSTIE_MIME_EW_Q, 75, "=?UTF-8?Q?=F0=9F=98=80?=");
    for (size_t m = 20; m <= 75; m++) {
        check_words(U8(emoji), len, POSTIE_MIME_EW_B, m, &total);
    }
    for (size_t m = 24; m <= 75; m++) {
        check_words(U8(emoji), len, POSTIE_MIME_EW_Q, m, &total);
    }
    assert_int_equal(postie_mime_ew_choose(U8(emoji), len), POSTIE_MIME_EW_B);
}

static void test_ew_mixed(void **state)
{
    size_t len = sizeof(mixed) - 1;
    size_t total;
    (void)state;
    assert_true(postie_utf8_valid(U8(mixed), len, NULL));
    for (size_t m = 20; m <= 75; m++) {
        check_words(U8(mixed), len, POSTIE_MIME_EW_B, m, &total);
    }
    for (size_t m = 24; m <= 75; m++) {
        check_words(U8(mixed), len, POSTIE_MIME_EW_Q, m, &total);
    }
}

/* max_len so small that exactly one character fits per word. */
static void test_ew_one_char_per_word(void **state)
{
    size_t total;
    size_t len = sizeof(long_ja) - 1;
    (void)state;
    /* B at 16: 4 payload chars = one 3-octet character */
    assert_int_equal(check_words(U8(long_ja), len, POSTIE_MIME_EW_B, 16, &total), len / 3);
    /* Q at 21..23: 9 payload chars = one 3-octet character, never two */
    for (size_t m = 21; m <= 29; m++) {
        assert_int_equal(check_words(U8(long_ja), len, POSTIE_MIME_EW_Q, m, &total), len / 3);
    }
    /* Q at 13: one ASCII letter per word */
    assert_int_equal(check_words(U8("abcdef"), 6, POSTIE_MIME_EW_Q, 13, &total), 6);
    expect_word("a", POSTIE_MIME_EW_Q, 13, "=?UTF-8?Q?a?=");
    /* B at 16 and 4-octet characters need 8 payload chars: 20 */
    assert_int_equal(
        check_words(U8("\xf0\x9f\x98\x80\xf0\x9f\x8e\x89"), 8, POSTIE_MIME_EW_B, 20, &total), 2);
}

/* A character that does not fit returns 0, writes nothing, keeps *pos. */
static void test_ew_char_does_not_fit(void **state)
{
    static const char four[] = "\xf0\x9f\x98\x80tail";
    (void)state;
    for (size_t m = 0; m <= 23; m++) {
        char w[POSTIE_MIME_EW_MAX];
        size_t pos = 0;
        size_t wl;

        memset(w, GUARD, sizeof(w));
        wl = postie_mime_ew_word(U8(four), sizeof(four) - 1, &pos, POSTIE_MIME_EW_B, m, w);
        if (m < 20) {
            assert_int_equal(wl, 0);
            assert_int_equal(pos, 0);
            all_guard((const uint8_t *)w, sizeof(w));
        } else {
            assert_int_equal(wl, 20);
            assert_int_equal(pos, 6); /* 6 octets also need just 8 payload chars */
            assert_memory_equal(w, "=?UTF-8?B?8J+YgHRh?=", 20);
        }
        memset(w, GUARD, sizeof(w));
        pos = 0;
        wl = postie_mime_ew_word(U8(four), sizeof(four) - 1, &pos, POSTIE_MIME_EW_Q, m, w);
        assert_int_equal(wl, 0); /* Q needs 24 */
        assert_int_equal(pos, 0);
        all_guard((const uint8_t *)w, sizeof(w));
    }
    {
        char w[POSTIE_MIME_EW_MAX];
        size_t pos = 0;
        assert_int_equal(postie_mime_ew_word(U8(four), 8, &pos, POSTIE_MIME_EW_Q, 24, w), 24);
        assert_memory_equal(w, "=?UTF-8?Q?=F0=9F=98=80?=", 24);
        assert_int_equal(pos, 4);
        /* "=" needs 3 payload chars: nothing at 12..14 */
        pos = 0;
        assert_int_equal(postie_mime_ew_word(U8("="), 1, &pos, POSTIE_MIME_EW_Q, 14, w), 0);
        assert_int_equal(postie_mime_ew_word(U8("="), 1, &pos, POSTIE_MIME_EW_Q, 15, w), 15);
        assert_memory_equal(w, "=?UTF-8?Q?=3D?=", 15);
    }
}

static void test_ew_edges(void **state)
{
    char w[POSTIE_MIME_EW_MAX + 16];
    size_t pos;
    (void)state;
    /* *pos == len */
    pos = 3;
    assert_int_equal(postie_mime_ew_word(U8("abc"), 3, &pos, POSTIE_MIME_EW_Q, 75, w), 0);
    assert_int_equal(pos, 3);
    pos = 0;
    assert_int_equal(postie_mime_ew_word(U8(""), 0, &pos, POSTIE_MIME_EW_B, 75, w), 0);
    /* max_len above 75 is treated as 75 */
    {
        static uint8_t as[200];
        memset(as, 'a', sizeof(as));
        memset(w, GUARD, sizeof(w));
        pos = 0;
        assert_int_equal(postie_mime_ew_word(as, sizeof(as), &pos, POSTIE_MIME_EW_Q, 1000, w), 75);
        assert_int_equal(pos, 63);
        all_guard((const uint8_t *)w + 75, sizeof(w) - 75);
    }
    /* starting mid-text */
    pos = 6;
    assert_int_equal(postie_mime_ew_word(U8(yamada), 13, &pos, POSTIE_MIME_EW_Q, 75, w), 31);
    assert_memory_equal(w, "=?UTF-8?Q?_=E5=A4=AA=E9=83=8E?=", 31);
    assert_int_equal(pos, 13);
}

static void test_ew_choose(void **state)
{
    (void)state;
    assert_int_equal(postie_mime_ew_choose(U8(""), 0), POSTIE_MIME_EW_Q);
    assert_int_equal(postie_mime_ew_choose(U8("Hello world"), 11), POSTIE_MIME_EW_Q);
    assert_int_equal(postie_mime_ew_choose(U8("caf\xc3\xa9"), 5), POSTIE_MIME_EW_B); /* 8 vs 9 */
    assert_int_equal(postie_mime_ew_choose(U8("\xc3\xa9"), 2), POSTIE_MIME_EW_B);    /* 4 vs 6 */
    /* tie: "a=" is "a=3D" in Q and "YT0=" in B */
    assert_int_equal(postie_mime_ew_choose(U8("a="), 2), POSTIE_MIME_EW_Q);
    assert_int_equal(postie_mime_ew_choose(U8(yamada), 13), POSTIE_MIME_EW_B);
    assert_int_equal(postie_mime_ew_choose(U8(mixed), sizeof(mixed) - 1),
                     POSTIE_MIME_EW_B); /* 120 vs 138 */
    assert_int_equal(postie_mime_ew_choose(U8("Re: Hello"), 9), POSTIE_MIME_EW_Q);
}

/* Random well-formed text at random max_len: every invariant of
 * check_words, and ew_choose picks the encoding with the smaller total. */
static void test_ew_random(void **state)
{
    uint32_t rng = 0x2047u;
    static uint8_t text[600];
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = random_utf8(&rng, text, sizeof(text));
        size_t m_b = 20 + rng_below(&rng, 60);
        size_t m_q = 24 + rng_below(&rng, 56);
        size_t tb;
        size_t tq;
        check_words(text, len, POSTIE_MIME_EW_B, m_b, &tb);
        check_words(text, len, POSTIE_MIME_EW_Q, m_q, &tq);
        check_words(text, len, POSTIE_MIME_EW_B, 75, &tb);
        check_words(text, len, POSTIE_MIME_EW_Q, 75, &tq);
        assert_int_equal(postie_mime_ew_choose(text, len),
                         tb < tq ? POSTIE_MIME_EW_B : POSTIE_MIME_EW_Q);
    }
}

/* ---- quoted-printable ----------------------------------------------------- */

/* Check the shape of encoded QP and decode it. Every line ends in CRLF, is
 * at most 76 octets, holds only printable ASCII, space, tab and =XX
 * (uppercase), does not end in space or tab, and ends in '=' only as a
 * soft break. Returns the decoded length; hard breaks decode to CRLF. */
static size_t qp_decode_check(const uint8_t *e, size_t n, uint8_t *out)
{
    size_t o = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        size_t end;
        bool soft = false;
        while (i < n && e[i] != '\r' && e[i] != '\n') {
            i++;
        }
        assert_true(i + 1 < n); /* the line ends... */
        assert_int_equal(e[i], '\r');
        assert_int_equal(e[i + 1], '\n'); /* ...in CRLF */
        end = i;
        i += 2;
        assert_true(end - start <= 76);
        if (end > start && e[end - 1] == '=') { /* '=' itself is always =3D */
            soft = true;
            end--;
        }
        if (!soft && end > start) {
            assert_true(e[end - 1] != ' ' && e[end - 1] != '\t');
        }
        for (size_t k = start; k < end; k++) {
            uint8_t c = e[k];
            if (c == '=') {
                int hi;
                int lo;
                assert_true(k + 2 < end); /* never split */
                hi = hex_val(e[k + 1]);
                lo = hex_val(e[k + 2]);
                assert_true(hi >= 0 && lo >= 0);
                out[o++] = (uint8_t)(hi * 16 + lo);
                k += 2;
            } else {
                assert_true(c == ' ' || c == '\t' || (c >= 33 && c <= 126));
                out[o++] = c;
            }
        }
        if (!soft) {
            out[o++] = '\r';
            out[o++] = '\n';
        }
    }
    return o;
}

/* What decoding should give back: line ends as CRLF, a last line closed. */
static size_t qp_expected(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n') {
                i++;
            }
        } else {
            out[o++] = in[i];
        }
    }
    if (o > 0 && !(o >= 2 && out[o - 2] == '\r' && out[o - 1] == '\n')) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    return o;
}

/* Output window with guard octets after cap. */
static uint8_t window[256 + 64];

/* Run in[0..n) through a fresh encoder with input pieces of 1..max_in
 * octets (0: whole) and output windows of min_cap..max_cap octets. */
static size_t qp_stream(const uint8_t *in, size_t n, uint32_t *rng, size_t max_in, size_t min_cap,
                        size_t max_cap, uint8_t *out)
{
    postie_mime_qp_t q;
    size_t i = 0;
    size_t o = 0;
    size_t c;
    size_t p;

    postie_mime_qp_init(&q);
    while (i < n) {
        size_t piece = max_in == 0 ? n - i : 1 + rng_below(rng, max_in);
        size_t cap = min_cap + rng_below(rng, max_cap - min_cap + 1);
        if (piece > n - i) {
            piece = n - i;
        }
        assert_true(cap <= 256); /* the window holds 256 plus guard */
        memset(window, GUARD, sizeof(window));
        postie_mime_qp_encode(&q, in + i, piece, &c, window, cap, &p);
        assert_true(c <= piece);
        assert_true(p <= cap);
        all_guard(window + cap, sizeof(window) - cap);
        if (cap >= 16) {
            assert_true(c > 0); /* progress */
        }
        memcpy(out + o, window, p);
        o += p;
        i += c;
    }
    for (;;) {
        size_t cap = rng_below(rng, 20);
        postie_status_t st;
        memset(window, GUARD, sizeof(window));
        st = postie_mime_qp_finish(&q, window, cap, &p);
        all_guard(window + (st == POSTIE_OK ? p : 0), sizeof(window) - (st == POSTIE_OK ? p : 0));
        if (st == POSTIE_OK) {
            assert_true(p <= cap);
            memcpy(out + o, window, p);
            o += p;
            break;
        }
        assert_int_equal(st, POSTIE_E_NO_SPACE);
        assert_int_equal(p, 0);
        assert_true(cap < 16);
    }
    return o;
}

static uint8_t qp_out[1 << 20];
static uint8_t qp_dec[1 << 20];
static uint8_t qp_want[1 << 20];

/* Whole, octet by octet with minimal windows, and at random splits: all
 * must give exactly want. */
static void expect_qp(const char *in, size_t n, const char *want)
{
    uint32_t rng = 0x51u;
    size_t wl = strlen(want);
    size_t o;

    o = qp_stream(U8(in), n, &rng, 0, 256, 256, qp_out);
    assert_int_equal(o, wl);
    assert_memory_equal(qp_out, want, wl);
    o = qp_stream(U8(in), n, &rng, 1, 16, 16, qp_out);
    assert_int_equal(o, wl);
    assert_memory_equal(qp_out, want, wl);
    for (int k = 0; k < 50; k++) {
        o = qp_stream(U8(in), n, &rng, 1 + (size_t)k, 0, 40, qp_out);
        assert_int_equal(o, wl);
        assert_memory_equal(qp_out, want, wl);
    }
    /* and it decodes back */
    o = qp_decode_check(U8(want), wl, qp_dec);
    assert_int_equal(o, qp_expected(U8(in), n, qp_want));
    assert_memory_equal(qp_dec, qp_want, o);
}

#define EXPECT_QP(in, want) expect_qp(in, sizeof(in) - 1, want)

static void test_qp_vectors(void **state)
{
    (void)state;
    EXPECT_QP("", "");
    EXPECT_QP("a=b", "a=3Db\r\n");
    EXPECT_QP("plain text", "plain text\r\n");
    EXPECT_QP("foo \r\nbar", "foo=20\r\nbar\r\n");
    EXPECT_QP("foo\t\r\nbar\t", "foo=09\r\nbar=09\r\n");
    EXPECT_QP("foo  \nbar", "foo =20\r\nbar\r\n");
    EXPECT_QP("a  b\tc", "a  b\tc\r\n");
    EXPECT_QP(" ", "=20\r\n");
    EXPECT_QP("caf\xc3\xa9", "caf=C3=A9\r\n");
    EXPECT_QP("\xe5\xb1\xb1\xe7\x94\xb0", "=E5=B1=B1=E7=94=B0\r\n");
    EXPECT_QP("a\0b\x7f\x1b", "a=00b=7F=1B\r\n");
    EXPECT_QP("~!\"#$%&'()*+,-./:;<>?@[\\]^_`{|}", "~!\"#$%&'()*+,-./:;<>?@[\\]^_`{|}\r\n");
    EXPECT_QP("a\nb\rc\r\nd", "a\r\nb\r\nc\r\nd\r\n");
    EXPECT_QP("a\r\n", "a\r\n");
    EXPECT_QP("\r\r", "\r\n\r\n");
    EXPECT_QP("\n\r", "\r\n\r\n");
    EXPECT_QP("\r\n\r\n", "\r\n\r\n");
    EXPECT_QP("\n", "\r\n");
    EXPECT_QP(". \r\n.", ".=20\r\n.\r\n"); /* no dot-stuffing here */
}

static void test_qp_soft_breaks(void **state)
{
    static char in[512];
    static char want[1024];
    (void)state;

    /* 200 'x': 75 + '=' , 75 + '=', 50 */
    memset(in, 'x', 200);
    memset(want, 0, sizeof(want));
    memset(want, 'x', 75);
    memcpy(want + 75, "=\r\n", 3);
    memset(want + 78, 'x', 75);
    memcpy(want + 153, "=\r\n", 3);
    memset(want + 156, 'x', 50);
    memcpy(want + 206, "\r\n", 3);
    expect_qp(in, 200, want);

    /* 75 fit without a soft break */
    memset(want, 0, sizeof(want));
    memset(want, 'x', 75);
    memcpy(want + 75, "\r\n", 2);
    expect_qp(in, 75, want);

    /* an =XX is never split: 74 'x' then '=' */
    memset(in + 74, '=', 1);
    memset(want, 0, sizeof(want));
    memset(want, 'x', 74);
    memcpy(want + 74, "=\r\n=3D\r\n", 8);
    expect_qp(in, 75, want);

    /* 72 'x' then '=' fits exactly (75) */
    memset(in, 'x', 72);
    in[72] = '=';
    memset(want, 0, sizeof(want));
    memset(want, 'x', 72);
    memcpy(want + 72, "=3D\r\n", 5);
    expect_qp(in, 73, want);

    /* trailing space that must become =20 at the edge of the line */
    memset(in, 'x', 74);
    memcpy(in + 74, " \r\ny", 4);
    memset(want, 0, sizeof(want));
    memset(want, 'x', 74);
    memcpy(want + 74, "=\r\n=20\r\ny\r\n", 11);
    expect_qp(in, 78, want);

    /* a literal space may sit before a soft break */
    memset(in, 'x', 74);
    memcpy(in + 74, " yz", 3);
    memset(want, 0, sizeof(want));
    memset(want, 'x', 74);
    memcpy(want + 74, " =\r\nyz\r\n", 8);
    expect_qp(in, 77, want);

    /* 8-bit text wraps in whole triplets: 25 per line */
    for (size_t i = 0; i < 30; i++) {
        in[i] = (char)0xA9;
    }
    memset(want, 0, sizeof(want));
    for (size_t i = 0; i < 25; i++) {
        memcpy(want + 3 * i, "=A9", 3);
    }
    memcpy(want + 75, "=\r\n", 3);
    for (size_t i = 0; i < 5; i++) {
        memcpy(want + 78 + 3 * i, "=A9", 3);
    }
    memcpy(want + 93, "\r\n", 2);
    expect_qp(in, 30, want);
}

/* A CR at the end of one call and the LF at the start of the next are one
 * line break, as are held-back spaces across calls. */
static void test_qp_across_calls(void **state)
{
    postie_mime_qp_t q;
    uint8_t out[64];
    size_t c;
    size_t p;
    size_t o = 0;
    (void)state;

    postie_mime_qp_init(&q);
    postie_mime_qp_encode(&q, U8("a\r"), 2, &c, out + o, sizeof(out) - o, &p);
    assert_int_equal(c, 2);
    o += p;
    postie_mime_qp_encode(&q, U8("\nb "), 3, &c, out + o, sizeof(out) - o, &p);
    assert_int_equal(c, 3);
    o += p;
    postie_mime_qp_encode(&q, U8(""), 0, &c, out + o, sizeof(out) - o, &p);
    assert_int_equal(c, 0);
    assert_int_equal(p, 0);
    postie_mime_qp_encode(&q, U8("\r"), 1, &c, out + o, sizeof(out) - o, &p);
    o += p;
    postie_mime_qp_encode(&q, U8("\n"), 1, &c, out + o, sizeof(out) - o, &p);
    assert_int_equal(c, 1);
    assert_int_equal(p, 0);
    o += p;
    postie_mime_qp_encode(&q, U8("\t"), 1, &c, out + o, sizeof(out) - o, &p);
    assert_int_equal(p, 0); /* held */
    postie_mime_qp_encode(&q, U8("z"), 1, &c, out + o, sizeof(out) - o, &p);
    o += p;
    assert_int_equal(postie_mime_qp_finish(&q, out + o, sizeof(out) - o, &p), POSTIE_OK);
    o += p;
    assert_int_equal(o, strlen("a\r\nb=20\r\n\tz\r\n"));
    assert_memory_equal(out, "a\r\nb=20\r\n\tz\r\n", o);
    /* finish reset the encoder: it can start again */
    assert_int_equal(q.col, 0);
    assert_int_equal(q.pending_ws, 0);
    assert_false(q.pending_cr);
}

static void test_qp_no_room(void **state)
{
    postie_mime_qp_t q;
    uint8_t out[32];
    size_t c;
    size_t p;
    (void)state;

    postie_mime_qp_init(&q);
    memset(out, GUARD, sizeof(out));
    postie_mime_qp_encode(&q, U8("=x"), 2, &c, out, 2, &p); /* =3D needs 3 */
    assert_int_equal(c, 0);
    assert_int_equal(p, 0);
    postie_mime_qp_encode(&q, U8("=x"), 2, &c, out, 0, &p);
    assert_int_equal(c, 0);
    assert_int_equal(p, 0);
    all_guard(out, sizeof(out));
    postie_mime_qp_encode(&q, U8("=x "), 3, &c, out, 3, &p);
    assert_int_equal(c, 1);
    assert_int_equal(p, 3);
    postie_mime_qp_encode(&q, U8("x "), 2, &c, out, 1, &p);
    assert_int_equal(c, 2); /* the space is held, costs nothing yet */
    assert_int_equal(p, 1);
    /* finish needs 3 for =20 and 2 for CRLF */
    memset(out, GUARD, sizeof(out));
    assert_int_equal(postie_mime_qp_finish(&q, out, 4, &p), POSTIE_E_NO_SPACE);
    assert_int_equal(p, 0);
    all_guard(out, sizeof(out));
    assert_int_equal(postie_mime_qp_finish(&q, out, 5, &p), POSTIE_OK);
    assert_int_equal(p, 5);
    assert_memory_equal(out, "=20\r\n", 5);
    /* nothing to finish needs no room */
    assert_int_equal(postie_mime_qp_finish(&q, out, 0, &p), POSTIE_OK);
    assert_int_equal(p, 0);
}

static size_t random_qp_input(uint32_t *rng, uint8_t *buf, size_t n)
{
    static const uint8_t pick[] = {'\r', '\n', ' ',  '\t', '=', 'a', 'b', '.',  0x00, 0x80,
                                   0xff, 0xc3, 0xa9, 'Z',  '~', '_', '?', 0x7f, 0x1b};
    size_t mode = rng_below(rng, 4);
    for (size_t i = 0; i < n; i++) {
        if (mode == 0) {
            buf[i] = (uint8_t)rng_next(rng);
        } else if (mode == 1 && rng_below(rng, 8) != 0) {
            buf[i] = 'x'; /* long lines */
        } else {
            buf[i] = pick[rng_below(rng, sizeof(pick))];
        }
    }
    return n;
}

static void test_qp_random(void **state)
{
    static uint8_t in[5000];
    uint32_t rng = 0x2045u;
    (void)state;
    for (int iter = 0; iter < 1500; iter++) {
        size_t n = random_qp_input(&rng, in, rng_below(&rng, sizeof(in)));
        size_t want = qp_expected(in, n, qp_want);
        size_t o =
            qp_stream(in, n, &rng, 1 + rng_below(&rng, 300), 0, 16 + rng_below(&rng, 200), qp_out);
        size_t d = qp_decode_check(qp_out, o, qp_dec);
        assert_int_equal(d, want);
        assert_memory_equal(qp_dec, qp_want, d);
        /* the same input whole gives the same octets */
        {
            static uint8_t again[sizeof(qp_out) / 2];
            size_t o2 = qp_stream(in, n, &rng, 0, 256, 256, again);
            assert_int_equal(o2, o);
            assert_memory_equal(again, qp_out, o);
        }
    }
}

/* ---- base64 with line breaks -------------------------------------------- */

static uint8_t b64_in[1 << 20];
static uint8_t b64_out[(1 << 20) / 57 * 78 + 200];
static char b64_joined[(1 << 20) / 3 * 4 + 8];
static uint8_t b64_dec[(1 << 20) + 8];

static size_t b64_stream(const uint8_t *in, size_t n, uint32_t *rng, size_t max_in, size_t min_cap,
                         size_t max_cap, uint8_t *out)
{
    postie_mime_b64_t b;
    size_t i = 0;
    size_t o = 0;
    size_t c;
    size_t p;

    postie_mime_b64_init(&b);
    while (i < n) {
        size_t piece = max_in == 0 ? n - i : 1 + rng_below(rng, max_in);
        size_t cap = min_cap + rng_below(rng, max_cap - min_cap + 1);
        if (piece > n - i) {
            piece = n - i;
        }
        assert_true(cap <= 256); /* the window holds 256 plus guard */
        memset(window, GUARD, cap + 64);
        postie_mime_b64_encode(&b, in + i, piece, &c, window, cap, &p);
        assert_true(c <= piece && p <= cap);
        all_guard(window + cap, 64);
        if (cap >= 6) {
            assert_true(c > 0);
        }
        memcpy(out + o, window, p);
        o += p;
        i += c;
    }
    for (;;) {
        size_t cap = rng_below(rng, 10);
        postie_status_t st;
        memset(window, GUARD, 64);
        st = postie_mime_b64_finish(&b, window, cap, &p);
        if (st == POSTIE_OK) {
            assert_true(p <= cap);
            all_guard(window + p, 64 - p);
            memcpy(out + o, window, p);
            o += p;
            break;
        }
        assert_int_equal(st, POSTIE_E_NO_SPACE);
        assert_int_equal(p, 0);
        assert_true(cap < 6);
        all_guard(window, 64);
    }
    return o;
}

/* Lines of exactly 76 characters but the last (1..76), each ending CRLF;
 * joined they decode to in[0..n). */
static void b64_check(const uint8_t *e, size_t o, const uint8_t *in, size_t n)
{
    size_t i = 0;
    size_t j = 0;
    size_t d = 0;
    while (i < o) {
        size_t start = i;
        while (i < o && e[i] != '\r') {
            assert_true(e[i] != '\n');
            i++;
        }
        assert_true(i + 1 < o);
        assert_int_equal(e[i + 1], '\n');
        if (i + 2 < o) {
            assert_int_equal(i - start, 76);
        } else {
            assert_true(i - start >= 4 && i - start <= 76);
        }
        memcpy(b64_joined + j, e + start, i - start);
        j += i - start;
        i += 2;
    }
    assert_int_equal(j, POSTIE_BASE64_LEN(n));
    assert_int_equal(postie_base64_decode(b64_joined, j, b64_dec, sizeof(b64_dec), &d), POSTIE_OK);
    assert_int_equal(d, n);
    assert_memory_equal(b64_dec, in, n);
}

static void test_b64_vectors(void **state)
{
    static const struct {
        const char *plain;
        const char *want;
    } v[] = {
        {"", ""},
        {"f", "Zg==\r\n"},
        {"fo", "Zm8=\r\n"},
        {"foo", "Zm9v\r\n"},
        {"foob", "Zm9vYg==\r\n"},
        {"fooba", "Zm9vYmE=\r\n"},
        {"foobar", "Zm9vYmFy\r\n"},
    };
    uint32_t rng = 0x4648u;
    (void)state;
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        size_t n = strlen(v[k].plain);
        size_t wl = strlen(v[k].want);
        size_t o;
        o = b64_stream(U8(v[k].plain), n, &rng, 0, 100, 100, b64_out);
        assert_int_equal(o, wl);
        assert_memory_equal(b64_out, v[k].want, wl);
        o = b64_stream(U8(v[k].plain), n, &rng, 1, 0, 7, b64_out);
        assert_int_equal(o, wl);
        assert_memory_equal(b64_out, v[k].want, wl);
    }
}

static void test_b64_line_lengths(void **state)
{
    uint32_t rng = 0x76u;
    (void)state;
    for (size_t k = 0; k < 400; k++) {
        b64_in[k] = (uint8_t)(k * 7 + 3);
    }
    for (size_t n = 0; n <= 400; n++) {
        size_t o = b64_stream(b64_in, n, &rng, 1 + rng_below(&rng, 60), 0, 90, b64_out);
        size_t lines = (POSTIE_BASE64_LEN(n) + 75) / 76;
        assert_int_equal(o, POSTIE_BASE64_LEN(n) + 2 * lines);
        b64_check(b64_out, o, b64_in, n);
    }
    /* 57 octets: one full line, and finish adds nothing */
    {
        postie_mime_b64_t b;
        uint8_t out[100];
        size_t c;
        size_t p;
        postie_mime_b64_init(&b);
        postie_mime_b64_encode(&b, b64_in, 57, &c, out, sizeof(out), &p);
        assert_int_equal(c, 57);
        assert_int_equal(p, 78);
        assert_memory_equal(out + 76, "\r\n", 2);
        assert_int_equal(postie_mime_b64_finish(&b, out, 0, &p), POSTIE_OK);
        assert_int_equal(p, 0);
    }
}

static void test_b64_no_room(void **state)
{
    postie_mime_b64_t b;
    uint8_t out[16];
    size_t c;
    size_t p;
    (void)state;
    postie_mime_b64_init(&b);
    memset(out, GUARD, sizeof(out));
    /* input is taken into the state without room for output */
    postie_mime_b64_encode(&b, U8("abcd"), 4, &c, out, 0, &p);
    assert_int_equal(c, 3);
    assert_int_equal(p, 0);
    postie_mime_b64_encode(&b, U8("d"), 1, &c, out, 3, &p);
    assert_int_equal(c, 0);
    assert_int_equal(p, 0);
    all_guard(out, sizeof(out));
    postie_mime_b64_encode(&b, U8("d"), 1, &c, out, 4, &p);
    assert_int_equal(c, 1);
    assert_int_equal(p, 4);
    assert_memory_equal(out, "YWJj", 4);
    memset(out, GUARD, sizeof(out));
    assert_int_equal(postie_mime_b64_finish(&b, out, 5, &p), POSTIE_E_NO_SPACE);
    assert_int_equal(p, 0);
    all_guard(out, sizeof(out));
    assert_int_equal(postie_mime_b64_finish(&b, out, 6, &p), POSTIE_OK);
    assert_int_equal(p, 6);
    assert_memory_equal(out, "ZA==\r\n", 6);
}

static void test_b64_1mb_random(void **state)
{
    uint32_t rng = 0xb64b64u;
    size_t o;
    (void)state;
    for (size_t i = 0; i < sizeof(b64_in); i++) {
        b64_in[i] = (uint8_t)rng_next(&rng);
    }
    o = b64_stream(b64_in, sizeof(b64_in), &rng, 5000, 0, 256, b64_out);
    b64_check(b64_out, o, b64_in, sizeof(b64_in));
    o = b64_stream(b64_in, sizeof(b64_in) - 1, &rng, 0, 6, 6, b64_out);
    b64_check(b64_out, o, b64_in, sizeof(b64_in) - 1);
    o = b64_stream(b64_in, sizeof(b64_in) - 2, &rng, 0, 256, 256, b64_out);
    b64_check(b64_out, o, b64_in, sizeof(b64_in) - 2);
}

/* ---- the fast paths against the octet-at-a-time encoders ------------------ */

/* The quoted-printable and base64 encoders as they were before their fast
 * paths (runs of plain octets copied at once; whole base64 groups and lines
 * straight from the input). The fast paths must match them call for call:
 * the same octets consumed and produced, the same output and state. */
#define OLD_QP_TEXT_MAX 75u
#define OLD_QP_STEP_MAX 16u
#define OLD_B64_LINE    76u

static const char old_hex[] = "0123456789ABCDEF";
static const char old_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool old_qp_needs_encoding(uint8_t c)
{
    return c < 33 || c > 126 || c == '=';
}

static size_t old_qp_put(uint8_t *t, size_t n, uint8_t *col, uint8_t c, bool encode)
{
    unsigned w = encode ? 3u : 1u;

    if (*col + w > OLD_QP_TEXT_MAX) {
        t[n++] = '=';
        t[n++] = '\r';
        t[n++] = '\n';
        *col = 0;
    }
    if (encode) {
        t[n++] = '=';
        t[n++] = (uint8_t)old_hex[c >> 4];
        t[n++] = (uint8_t)old_hex[c & 15u];
    } else {
        t[n++] = c;
    }
    *col = (uint8_t)(*col + w);
    return n;
}

static void old_qp_encode(postie_mime_qp_t *q, const uint8_t *in, size_t len, size_t *consumed,
                          uint8_t *out, size_t cap, size_t *produced)
{
    size_t i = 0;
    size_t o = 0;

    while (i < len) {
        uint8_t c = in[i];
        uint8_t t[OLD_QP_STEP_MAX];
        size_t n = 0;
        postie_mime_qp_t s = *q;

        /* Fast path: a plain octet in the middle of a line. */
        if (!s.pending_cr && s.pending_ws == 0 && s.col < OLD_QP_TEXT_MAX && c != ' ' &&
            c != '\t' && !old_qp_needs_encoding(c)) {
            if (o == cap) {
                break;
            }
            out[o++] = c;
            q->col++;
            i++;
            continue;
        }

        if (s.pending_cr) {
            s.pending_cr = false;
            if (c == '\n') { /* the LF of a CRLF whose break is already out */
                *q = s;
                i++;
                continue;
            }
        }
        if (c == '\r' || c == '\n') {
            if (s.pending_ws != 0) { /* whitespace before a hard break: encode it */
                n = old_qp_put(t, n, &s.col, s.pending_ws, true);
                s.pending_ws = 0;
            }
            t[n++] = '\r';
            t[n++] = '\n';
            s.col = 0;
            s.pending_cr = (c == '\r');
        } else {
            if (s.pending_ws != 0) { /* something follows on this line: literal */
                n = old_qp_put(t, n, &s.col, s.pending_ws, false);
                s.pending_ws = 0;
            }
            if (c == ' ' || c == '\t') {
                s.pending_ws = c;
            } else {
                n = old_qp_put(t, n, &s.col, c, old_qp_needs_encoding(c));
            }
        }
        if (n > cap - o) {
            break;
        }
        memcpy(out + o, t, n);
        o += n;
        *q = s;
        i++;
    }
    *consumed = i;
    *produced = o;
}

static size_t old_b64_flush(postie_mime_b64_t *b, uint8_t *out, size_t cap)
{
    size_t need = 4u + ((b->col + 4u >= OLD_B64_LINE) ? 2u : 0u);
    uint32_t v;
    size_t n = 0;

    if (need > cap) {
        return 0;
    }
    v = (uint32_t)b->held[0] << 16;
    if (b->nheld > 1) {
        v |= (uint32_t)b->held[1] << 8;
    }
    if (b->nheld > 2) {
        v |= b->held[2];
    }
    out[n++] = (uint8_t)old_b64[(v >> 18) & 63u];
    out[n++] = (uint8_t)old_b64[(v >> 12) & 63u];
    out[n++] = b->nheld > 1 ? (uint8_t)old_b64[(v >> 6) & 63u] : (uint8_t)'=';
    out[n++] = b->nheld > 2 ? (uint8_t)old_b64[v & 63u] : (uint8_t)'=';
    b->col = (uint8_t)(b->col + 4u);
    if (b->col >= OLD_B64_LINE) {
        out[n++] = '\r';
        out[n++] = '\n';
        b->col = 0;
    }
    b->nheld = 0;
    return n;
}

static void old_b64_encode(postie_mime_b64_t *b, const uint8_t *in, size_t len, size_t *consumed,
                           uint8_t *out, size_t cap, size_t *produced)
{
    size_t i = 0;
    size_t o = 0;

    for (;;) {
        if (b->nheld == 3) {
            size_t n = old_b64_flush(b, out + o, cap - o);
            if (n == 0) {
                break;
            }
            o += n;
        }
        if (i == len) {
            break;
        }
        b->held[b->nheld++] = in[i++];
    }
    *consumed = i;
    *produced = o;
}

/* Text for the quoted-printable comparison: long plain runs, spaces and
 * tabs before line ends, '=', 8-bit, bare CR and LF. */
static void diff_text(uint32_t *rng, uint8_t *buf, size_t n)
{
    static const uint8_t edges[] = {' ', '\t', '=', '\r', '\n', 0x80, 0xFF, 0x00, '~', '!'};
    for (size_t i = 0; i < n; i++) {
        uint32_t v = rng_next(rng);
        buf[i] = v % 9 == 0 ? edges[(v >> 8) % sizeof(edges)] : (uint8_t)('!' + (v >> 8) % 94);
    }
}

static void test_fast_paths_match_octet_at_a_time(void **state)
{
    static uint8_t in[20000];
    uint8_t wf[300];
    uint8_t wo[300];
    (void)state;

    for (uint32_t seed = 1; seed <= 80; seed++) {
        uint32_t rng = seed * 2654435761u;
        size_t n = rng_below(&rng, sizeof(in));
        bool qp = (seed & 1) != 0;
        postie_mime_qp_t qf;
        postie_mime_qp_t qo;
        postie_mime_b64_t bf;
        postie_mime_b64_t bo;
        size_t i = 0;

        diff_text(&rng, in, n);
        postie_mime_qp_init(&qf);
        postie_mime_qp_init(&qo);
        postie_mime_b64_init(&bf);
        postie_mime_b64_init(&bo);
        for (int guard = 0; i < n; guard++) {
            size_t piece = rng_below(&rng, seed % 4 == 0 ? 3 : 400);
            size_t cap = rng_below(&rng, seed % 3 == 0 ? 20 : sizeof(wf));
            size_t cf = 0;
            size_t co = 0;
            size_t pf = 0;
            size_t po = 0;
            assert_true(guard < 100000);
            if (piece > n - i) {
                piece = n - i;
            }
            if (qp) {
                postie_mime_qp_encode(&qf, in + i, piece, &cf, wf, cap, &pf);
                old_qp_encode(&qo, in + i, piece, &co, wo, cap, &po);
                assert_memory_equal(&qf, &qo, sizeof(qf));
            } else {
                postie_mime_b64_encode(&bf, in + i, piece, &cf, wf, cap, &pf);
                old_b64_encode(&bo, in + i, piece, &co, wo, cap, &po);
                /* held[] beyond nheld is dead: the fast path never stages there */
                assert_int_equal(bf.nheld, bo.nheld);
                assert_int_equal(bf.col, bo.col);
                assert_memory_equal(bf.held, bo.held, bf.nheld);
            }
            assert_int_equal(cf, co);
            assert_int_equal(pf, po);
            assert_memory_equal(wf, wo, pf);
            i += cf;
        }
    }
}

/* ---- RFC 2231 parameter values ------------------------------------------- */

static void test_param_plain_ok(void **state)
{
    static char sixty[61];
    (void)state;
    memset(sixty, 'a', sizeof(sixty));
    assert_true(postie_mime_param_plain_ok(U8("report.pdf"), 10));
    assert_true(postie_mime_param_plain_ok(U8("my report (v2).pdf"), 18));
    assert_true(postie_mime_param_plain_ok(U8("a\"b\\c"), 5));
    assert_true(postie_mime_param_plain_ok(U8(""), 0));
    assert_true(postie_mime_param_plain_ok(U8(sixty), 60));
    assert_false(postie_mime_param_plain_ok(U8(sixty), 61));
    assert_false(postie_mime_param_plain_ok(U8("caf\xc3\xa9.txt"), 9));
    assert_false(postie_mime_param_plain_ok(U8("a\tb"), 3));
    assert_false(postie_mime_param_plain_ok(U8("a\r\nb"), 4));
    assert_false(postie_mime_param_plain_ok(U8("a\0b"), 3));
    assert_false(postie_mime_param_plain_ok(U8("a\x7f"), 2));
}

/* %-decode an extended value (after the charset prefix on the first
 * section), refusing any literal octet outside the kept set. */
static size_t pct_decode(const char *s, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '%') {
            int hi;
            int lo;
            assert_true(i + 2 < n);
            hi = hex_val((uint8_t)s[i + 1]);
            lo = hex_val((uint8_t)s[i + 2]);
            assert_true(hi >= 0 && lo >= 0);
            out[o++] = (uint8_t)(hi * 16 + lo);
            i += 2;
        } else {
            assert_true((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL);
            out[o++] = c;
        }
    }
    return o;
}

/* Split value into sections of at most max_len, check each, join. */
static size_t check_sections(const uint8_t *value, size_t len, size_t max_len)
{
    static uint8_t joined[4096];
    size_t j = 0;
    size_t pos = 0;
    size_t count = 0;
    do {
        char s[256];
        uint8_t d[256];
        size_t before = pos;
        size_t sl;
        size_t dl;
        size_t skip = count == 0 ? 7 : 0;

        memset(s, GUARD, sizeof(s));
        sl = postie_mime_param_ext_section(value, len, &pos, count == 0, max_len, s);
        assert_true(sl > 0);
        assert_true(sl <= max_len);
        all_guard((const uint8_t *)s + sl, sizeof(s) - sl);
        if (count == 0) {
            assert_memory_equal(s, "UTF-8''", 7);
        }
        dl = pct_decode(s + skip, sl - skip, d);
        assert_int_equal(dl, pos - before);
        assert_memory_equal(d, value + before, dl);
        assert_true(postie_utf8_valid(value + before, dl, NULL)); /* whole characters */
        assert_true(pos > before || len == 0);
        memcpy(joined + j, d, dl);
        j += dl;
        count++;
    } while (pos < len);
    assert_int_equal(j, len);
    assert_memory_equal(joined, value, len);
    return count;
}

static void expect_section(const char *value, bool first, size_t max_len, const char *want,
                           size_t want_pos)
{
    char s[128];
    size_t pos = 0;
    size_t sl;
    memset(s, GUARD, sizeof(s));
    sl = postie_mime_param_ext_section(U8(value), strlen(value), &pos, first, max_len, s);
    assert_int_equal(sl, strlen(want));
    assert_memory_equal(s, want, sl);
    assert_int_equal(pos, want_pos);
    all_guard((const uint8_t *)s + sl, sizeof(s) - sl);
}

static void test_param_ext_ascii(void **state)
{
    (void)state;
    expect_section("my file.txt", true, 75, "UTF-8''my%20file.txt", 11);
    expect_section("my file.txt", false, 75, "my%20file.txt", 11);
    expect_section("a*b'c%d{}\"(x)", true, 75, "UTF-8''a%2Ab%27c%25d%7B%7D%22%28x%29", 13);
    expect_section("!#$&+-.^_`|~", false, 75, "!#$&+-.^_`|~", 12);
    expect_section("my file.txt", true, 12, "UTF-8''my%20", 3);
    expect_section("my file.txt", true, 11, "UTF-8''my", 2);
    assert_int_equal(check_sections(U8("annual report final v2.pdf"), 26, 20), 2);
}

static void test_param_ext_japanese(void **state)
{
    static const char name[] =
        "\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b\xb8 2026.pdf"; /* 報告書 2026.pdf */
    size_t len = sizeof(name) - 1;
    (void)state;
    expect_section(name, true, 40, "UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8%20202", 13);
    assert_int_equal(check_sections(U8(name), len, 40), 2);
    for (size_t m = 16; m <= 80; m++) {
        check_sections(U8(name), len, m);
    }
    /* a 3-octet character needs 9: nothing fits in 8, not even the prefix
     * with a first character in 15 */
    expect_section(name, false, 8, "", 0);
    expect_section(name, false, 9, "%E5%A0%B1", 3);
    expect_section(name, true, 15, "", 0);
    expect_section(name, true, 16, "UTF-8''%E5%A0%B1", 3);
    expect_section(name, true, 6, "", 0);
}

static void test_param_ext_edges(void **state)
{
    char s[32];
    size_t pos;
    (void)state;
    /* an empty value: the first section is the prefix alone */
    expect_section("", true, 75, "UTF-8''", 0);
    expect_section("", false, 75, "", 0);
    /* from the end */
    pos = 3;
    assert_int_equal(postie_mime_param_ext_section(U8("abc"), 3, &pos, false, 20, s), 0);
    assert_int_equal(pos, 3);
    /* emoji: 12 octets each, never split */
    assert_int_equal(check_sections(U8("\xf0\x9f\x98\x80\xf0\x9f\x8e\x89"), 8, 19), 2);
    assert_int_equal(check_sections(U8("\xf0\x9f\x98\x80\xf0\x9f\x8e\x89"), 8, 30), 2);
    assert_int_equal(check_sections(U8("\xf0\x9f\x98\x80\xf0\x9f\x8e\x89"), 8, 31), 1);
}

static void test_param_ext_random(void **state)
{
    static uint8_t text[400];
    uint32_t rng = 0x2231u;
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = random_utf8(&rng, text, sizeof(text));
        check_sections(text, len, 19 + rng_below(&rng, 60)); /* 7 + 12 always fits one */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_seq_len),
        cmocka_unit_test(test_utf8_valid_table),
        cmocka_unit_test(test_utf8_invalid_table),
        cmocka_unit_test(test_utf8_all_code_points),
        cmocka_unit_test(test_ew_ascii),
        cmocka_unit_test(test_ew_japanese_name),
        cmocka_unit_test(test_ew_long_japanese),
        cmocka_unit_test(test_ew_emoji),
        cmocka_unit_test(test_ew_mixed),
        cmocka_unit_test(test_ew_one_char_per_word),
        cmocka_unit_test(test_ew_char_does_not_fit),
        cmocka_unit_test(test_ew_edges),
        cmocka_unit_test(test_ew_choose),
        cmocka_unit_test(test_ew_random),
        cmocka_unit_test(test_qp_vectors),
        cmocka_unit_test(test_qp_soft_breaks),
        cmocka_unit_test(test_qp_across_calls),
        cmocka_unit_test(test_qp_no_room),
        cmocka_unit_test(test_qp_random),
        cmocka_unit_test(test_b64_vectors),
        cmocka_unit_test(test_b64_line_lengths),
        cmocka_unit_test(test_b64_no_room),
        cmocka_unit_test(test_b64_1mb_random),
        cmocka_unit_test(test_fast_paths_match_octet_at_a_time),
        cmocka_unit_test(test_param_plain_ok),
        cmocka_unit_test(test_param_ext_ascii),
        cmocka_unit_test(test_param_ext_japanese),
        cmocka_unit_test(test_param_ext_edges),
        cmocka_unit_test(test_param_ext_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
