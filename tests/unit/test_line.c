/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the bounded CRLF line reader (core/common/line.c).
 *
 * Every transcript is fed whole, split at every byte boundary (two and three
 * pieces), byte by byte and at random splits; the lines taken out must be
 * exactly the expected ones.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/line.h"

#define MAX_LINES 32
#define LINE_COPY 600

/* Lines taken out of a reader, copied (the views die with the next call). */
typedef struct {
    size_t count;
    size_t len[MAX_LINES];
    char text[MAX_LINES][LINE_COPY];
    postie_status_t last; /* status of the last postie_line_next() */
} taken_t;

/* Copy data into the reader's receive window; the whole of it must fit. */
static void feed(postie_line_reader_t *r, const void *data, size_t len)
{
    size_t avail = 0;
    uint8_t *w = postie_line_rx_window(r, &avail);
    assert_true(len <= avail);
    if (len > 0) {
        memcpy(w, data, len);
    }
    postie_line_rx_commit(r, len);
}

/* Take lines until the reader reports anything but POSTIE_OK. */
static void take_all(postie_line_reader_t *r, taken_t *t)
{
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        postie_status_t st = postie_line_next(r, &line, &len);
        t->last = st;
        if (st != POSTIE_OK) {
            return;
        }
        assert_true(t->count < MAX_LINES);
        assert_true(len < LINE_COPY);
        /* the view points into the caller's buffer */
        assert_true((const uint8_t *)line >= r->buf);
        assert_true((const uint8_t *)line + len <= r->buf + r->cap);
        memcpy(t->text[t->count], line, len);
        t->len[t->count] = len;
        t->count++;
    }
}

static void expect_lines(const taken_t *t, const char *const *expected, size_t n)
{
    assert_int_equal(t->count, n);
    for (size_t i = 0; i < n; i++) {
        size_t want = strlen(expected[i]);
        assert_int_equal(t->len[i], want);
        assert_memory_equal(t->text[i], expected[i], want);
    }
}

/* Feed data in the pieces given by the cut points (ascending, each in
 * 0..len), taking lines after every piece. */
static void feed_cuts(postie_line_reader_t *r, const char *data, size_t len, const size_t *cuts,
                      size_t ncuts, taken_t *t)
{
    size_t pos = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        feed(r, data + pos, end - pos);
        pos = end;
        take_all(r, t);
        if (t->last != POSTIE_OK && t->last != POSTIE_E_AGAIN) {
            return;
        }
    }
}

static const char transcript[] = "220 mail.example ESMTP\r\n"
                                 "250-mail.example\r\n"
                                 "\r\n"
                                 "250-SIZE 1000\r\n"
                                 "250 OK\r\n";
static const char *const transcript_lines[] = {
    "220 mail.example ESMTP", "250-mail.example", "", "250-SIZE 1000", "250 OK",
};
#define TRANSCRIPT_LINES (sizeof(transcript_lines) / sizeof(transcript_lines[0]))

static void test_whole_line(void **state)
{
    uint8_t buf[64];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    assert_int_equal(postie_line_pending(&r), 0);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);

    feed(&r, "250 OK\r\n", 8);
    assert_int_equal(postie_line_pending(&r), 8);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(line, "250 OK", 6);
    assert_ptr_equal(line, (const char *)buf);
    assert_int_equal(postie_line_pending(&r), 0);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
}

static void test_multiple_lines_one_feed(void **state)
{
    uint8_t buf[128];
    postie_line_reader_t r;
    taken_t t;
    (void)state;

    memset(&t, 0, sizeof(t));
    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    feed(&r, transcript, sizeof(transcript) - 1);
    take_all(&r, &t);
    assert_int_equal(t.last, POSTIE_E_AGAIN);
    expect_lines(&t, transcript_lines, TRANSCRIPT_LINES);
    assert_int_equal(postie_line_pending(&r), 0);
}

static void test_empty_lines(void **state)
{
    uint8_t buf[16];
    postie_line_reader_t r;
    taken_t t;
    static const char *const want[] = {"", "", "x", ""};
    (void)state;

    memset(&t, 0, sizeof(t));
    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    feed(&r, "\r\n\r\nx\r\n\r\n", 9);
    take_all(&r, &t);
    assert_int_equal(t.last, POSTIE_E_AGAIN);
    expect_lines(&t, want, 4);
}

static void test_split_at_every_boundary(void **state)
{
    const size_t len = sizeof(transcript) - 1;
    (void)state;

    for (size_t a = 0; a <= len; a++) {
        uint8_t buf[128];
        postie_line_reader_t r;
        taken_t t;
        memset(&t, 0, sizeof(t));
        postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
        feed_cuts(&r, transcript, len, &a, 1, &t);
        assert_int_equal(t.last, POSTIE_E_AGAIN);
        expect_lines(&t, transcript_lines, TRANSCRIPT_LINES);
        assert_int_equal(postie_line_pending(&r), 0);
    }
}

static void test_split_at_every_pair_of_boundaries(void **state)
{
    const size_t len = sizeof(transcript) - 1;
    (void)state;

    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            uint8_t buf[128];
            postie_line_reader_t r;
            taken_t t;
            size_t cuts[2] = {a, b};
            memset(&t, 0, sizeof(t));
            postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
            feed_cuts(&r, transcript, len, cuts, 2, &t);
            assert_int_equal(t.last, POSTIE_E_AGAIN);
            expect_lines(&t, transcript_lines, TRANSCRIPT_LINES);
            assert_int_equal(postie_line_pending(&r), 0);
        }
    }
}

static void test_byte_by_byte_small_buffer(void **state)
{
    /* A buffer just big enough for the longest line: the window must keep
     * moving unread octets to the front. */
    const size_t len = sizeof(transcript) - 1;
    uint8_t buf[24];
    postie_line_reader_t r;
    taken_t t;
    (void)state;

    memset(&t, 0, sizeof(t));
    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    for (size_t i = 0; i < len; i++) {
        feed(&r, transcript + i, 1);
        take_all(&r, &t);
        assert_int_equal(t.last, POSTIE_E_AGAIN);
    }
    expect_lines(&t, transcript_lines, TRANSCRIPT_LINES);
}

static void test_random_splits(void **state)
{
    const size_t len = sizeof(transcript) - 1;
    (void)state;

    for (uint32_t seed = 1; seed <= 200; seed++) {
        uint32_t rng = seed;
        uint8_t buf[32];
        postie_line_reader_t r;
        taken_t t;
        size_t pos = 0;
        memset(&t, 0, sizeof(t));
        postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
        while (pos < len) {
            size_t avail = 0;
            size_t n;
            (void)postie_line_rx_window(&r, &avail);
            rng = rng * 1103515245u + 12345u;
            n = (rng >> 16) % 9; /* 0..8, empty feeds included */
            if (n > len - pos) {
                n = len - pos;
            }
            if (n > avail) {
                n = avail;
            }
            feed(&r, transcript + pos, n);
            pos += n;
            take_all(&r, &t);
            assert_int_equal(t.last, POSTIE_E_AGAIN);
        }
        expect_lines(&t, transcript_lines, TRANSCRIPT_LINES);
    }
}

static void test_crlf_split_across_feeds(void **state)
{
    uint8_t buf[32];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    feed(&r, "250 OK\r", 7);
    /* a CR at the end of what arrived is not yet a bare CR */
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
    assert_int_equal(postie_line_pending(&r), 7);
    feed(&r, "\n", 1);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(line, "250 OK", 6);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
    assert_int_equal(postie_line_pending(&r), 0);
}

/* A line of content octets 'x' followed by CRLF. */
static size_t make_line(char *out, size_t content)
{
    memset(out, 'x', content);
    out[content] = '\r';
    out[content + 1] = '\n';
    return content + 2;
}

static void test_line_max_accepted(void **state)
{
    /* line_max counts the CRLF: 14 octets of text + CRLF = 16 */
    char data[32];
    size_t n = make_line(data, 14);
    (void)state;

    /* whole, with the buffer larger than line_max and exactly line_max */
    for (size_t cap = 16; cap <= 32; cap += 16) {
        uint8_t buf[32];
        postie_line_reader_t r;
        const char *line = NULL;
        size_t len = 0;
        postie_line_init(&r, buf, cap, 16);
        feed(&r, data, n);
        assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
        assert_int_equal(len, 14);
        assert_memory_equal(line, data, 14);
        assert_int_equal(postie_line_pending(&r), 0);
    }

    /* byte by byte in a buffer of exactly line_max */
    {
        uint8_t buf[16];
        postie_line_reader_t r;
        taken_t t;
        memset(&t, 0, sizeof(t));
        postie_line_init(&r, buf, sizeof(buf), 16);
        for (size_t i = 0; i < n; i++) {
            feed(&r, data + i, 1);
            take_all(&r, &t);
            if (i + 1 < n) {
                assert_int_equal(t.last, POSTIE_E_AGAIN);
                assert_int_equal(t.count, 0);
            }
        }
        assert_int_equal(t.last, POSTIE_E_AGAIN);
        assert_int_equal(t.count, 1);
        assert_int_equal(t.len[0], 14);
    }
}

static void test_line_max_plus_one_rejected(void **state)
{
    char data[40];
    size_t n = make_line(data, 15); /* 17 octets with CRLF */
    (void)state;

    /* whole */
    {
        uint8_t buf[32];
        postie_line_reader_t r;
        const char *line = NULL;
        size_t len = 0;
        postie_line_init(&r, buf, sizeof(buf), 16);
        feed(&r, data, n);
        assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
        assert_non_null(strstr(r.why, "limit"));
    }
    /* byte by byte: refused as soon as no line of at most 16 octets can be
     * completed any more, before the CRLF arrives */
    {
        uint8_t buf[32];
        postie_line_reader_t r;
        const char *line = NULL;
        size_t len = 0;
        postie_line_init(&r, buf, sizeof(buf), 16);
        for (size_t i = 0; i < 14; i++) {
            feed(&r, "x", 1);
            assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
        }
        feed(&r, "x", 1);
        assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
    }
    /* buffer of exactly line_max: refused before the buffer is full */
    {
        uint8_t buf[16];
        postie_line_reader_t r;
        const char *line = NULL;
        size_t len = 0;
        size_t avail = 0;
        postie_line_init(&r, buf, sizeof(buf), 16);
        feed(&r, data, 15);
        assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
        (void)postie_line_rx_window(&r, &avail);
        assert_int_equal(avail, 1);
    }
    /* a valid line before the long one is still delivered */
    {
        uint8_t buf[40];
        postie_line_reader_t r;
        taken_t t;
        static const char *const want[] = {"ok"};
        memset(&t, 0, sizeof(t));
        postie_line_init(&r, buf, sizeof(buf), 16);
        feed(&r, "ok\r\n", 4);
        feed(&r, data, n);
        take_all(&r, &t);
        assert_int_equal(t.last, POSTIE_E_REPLY_LINE_TOO_LONG);
        expect_lines(&t, want, 1);
    }
}

static void test_default_reply_line_max(void **state)
{
    /* RFC 5321 4.5.3.1.5: 512 octets including CRLF must be accepted. */
    static uint8_t buf[POSTIE_REPLY_LINE_MAX + 64];
    static char data[POSTIE_REPLY_LINE_MAX + 64];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    size_t n;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), POSTIE_REPLY_LINE_MAX);
    n = make_line(data, POSTIE_REPLY_LINE_MAX - 2);
    assert_int_equal(n, POSTIE_REPLY_LINE_MAX);
    feed(&r, data, n);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, POSTIE_REPLY_LINE_MAX - 2);

    postie_line_init(&r, buf, sizeof(buf), POSTIE_REPLY_LINE_MAX);
    n = make_line(data, POSTIE_REPLY_LINE_MAX - 1);
    feed(&r, data, n);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
}

static void test_line_max_clamped_to_cap(void **state)
{
    uint8_t buf[16];
    postie_line_reader_t r;
    char data[32];
    const char *line = NULL;
    size_t len = 0;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), 1000);
    assert_int_equal(r.line_max, 16);
    feed(&r, data, make_line(data, 14));
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 14);

    postie_line_init(&r, buf, sizeof(buf), 1000);
    (void)make_line(data, 15);
    feed(&r, data, 15); /* 15 x: no room for a CRLF within 16 */
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
}

/* Feed data whole and expect the given status after `good` valid lines. */
static void expect_malformed(const char *data, size_t len, size_t good, const char *why_part)
{
    uint8_t buf[64];
    postie_line_reader_t r;
    taken_t t;
    memset(&t, 0, sizeof(t));
    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    feed(&r, data, len);
    take_all(&r, &t);
    assert_int_equal(t.last, POSTIE_E_REPLY_MALFORMED);
    assert_int_equal(t.count, good);
    assert_non_null(strstr(r.why, why_part));

    /* and the same when it arrives byte by byte */
    memset(&t, 0, sizeof(t));
    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    for (size_t i = 0; i < len; i++) {
        feed(&r, data + i, 1);
        take_all(&r, &t);
        if (t.last != POSTIE_E_AGAIN) {
            break;
        }
    }
    assert_int_equal(t.last, POSTIE_E_REPLY_MALFORMED);
    assert_int_equal(t.count, good);
    assert_non_null(strstr(r.why, why_part));
}

static void test_bare_cr(void **state)
{
    (void)state;
    expect_malformed("250 a\rb\r\n", 9, 0, "bare CR");
    expect_malformed("\r\r\n", 3, 0, "bare CR");
    expect_malformed("ok\r\n\rx", 6, 1, "bare CR");
    /* CR CR: the first CR is bare */
    expect_malformed("ab\r\r", 4, 0, "bare CR");
}

static void test_bare_cr_split(void **state)
{
    uint8_t buf[32];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    feed(&r, "250 a\r", 6);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
    feed(&r, "b\r\n", 3);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_MALFORMED);
    assert_non_null(strstr(r.why, "bare CR"));
}

static void test_bare_lf(void **state)
{
    (void)state;
    expect_malformed("250 ok\n", 7, 0, "bare LF");
    expect_malformed("\n", 1, 0, "bare LF");
    expect_malformed("a\nb\r\n", 5, 0, "bare LF");
    expect_malformed("ok\r\n\n", 5, 1, "bare LF");
    /* LF CR LF: the first LF is bare */
    expect_malformed("ab\n\r\n", 5, 0, "bare LF");
}

static void test_nul_rejected(void **state)
{
    (void)state;
    expect_malformed("250 a\0b\r\n", 9, 0, "NUL");
    expect_malformed("\0\r\n", 3, 0, "NUL");
    expect_malformed("ok\r\n\0", 5, 1, "NUL");
}

static void test_error_is_sticky_until_reset(void **state)
{
    uint8_t buf[32];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    size_t avail = 0;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    feed(&r, "ok\r\nbad\nmore\r\n", 14);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 2);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_MALFORMED);
    /* the bad line is not skipped: asking again gives the same answer */
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_MALFORMED);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_MALFORMED);
    assert_int_equal(postie_line_pending(&r), 10);
    /* more input does not get past it either */
    feed(&r, "x\r\n", 3);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_MALFORMED);

    postie_line_reset(&r);
    assert_int_equal(postie_line_pending(&r), 0);
    (void)postie_line_rx_window(&r, &avail);
    assert_int_equal(avail, sizeof(buf));
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
    feed(&r, "220 fresh\r\n", 11);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(line, "220 fresh", 9);
}

static void test_too_long_is_sticky_until_reset(void **state)
{
    uint8_t buf[16];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    char data[32];
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), 8);
    feed(&r, data, make_line(data, 7));
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
    postie_line_reset(&r);
    feed(&r, data, make_line(data, 6));
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 6);
}

static void test_window_full_and_compaction(void **state)
{
    uint8_t buf[8];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    size_t avail = 0;
    uint8_t *w;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    w = postie_line_rx_window(&r, &avail);
    assert_ptr_equal(w, buf);
    assert_int_equal(avail, 8);
    feed(&r, "ab\r\ncd\r\n", 8);
    (void)postie_line_rx_window(&r, &avail);
    assert_int_equal(avail, 0); /* full of unread lines */

    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(line, "ab", 2);
    /* the unread line moves to the front */
    w = postie_line_rx_window(&r, &avail);
    assert_int_equal(avail, 4);
    assert_ptr_equal(w, buf + 4);
    assert_memory_equal(buf, "cd\r\n", 4);
    feed(&r, "ef\r\n", 4);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_memory_equal(line, "cd", 2);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_memory_equal(line, "ef", 2);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
}

static void test_partial_line_survives_compaction(void **state)
{
    uint8_t buf[10];
    postie_line_reader_t r;
    const char *line = NULL;
    size_t len = 0;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    feed(&r, "1\r\n2345", 7);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_memory_equal(line, "1", 1);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
    feed(&r, "67\r", 3); /* the window moved "2345" to the front */
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_AGAIN);
    feed(&r, "\n", 1);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(line, "234567", 6);
}

static void test_commit_never_overruns(void **state)
{
    uint8_t buf[8];
    postie_line_reader_t r;
    size_t avail = 0;
    (void)state;

    postie_line_init(&r, buf, sizeof(buf), sizeof(buf));
    (void)postie_line_rx_window(&r, &avail);
    memcpy(buf, "abcdefgh", 8);
    postie_line_rx_commit(&r, 100);
    assert_int_equal(postie_line_pending(&r), 8);
    (void)postie_line_rx_window(&r, &avail);
    assert_int_equal(avail, 0);
}

/* ---- IMAP: lines in parts, counted mode ------------------------------------ */

/* A line longer than line_max comes out in parts, fed in pieces of every
 * size; the parts put together are the line, the last says complete, and
 * the line after it comes out whole. */
static void test_next_part_long_line(void **state)
{
    static const char text[] =
        "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\r\nA1 OK\r\n";
    (void)state;
    for (size_t piece = 1; piece <= sizeof(text) - 1; piece++) {
        uint8_t buf[16];
        postie_line_reader_t r;
        char joined[128];
        size_t joined_len = 0;
        size_t pos = 0;
        bool seen_complete = false;
        bool seen_ok = false;
        postie_line_init(&r, buf, sizeof(buf), 12);
        while (pos < sizeof(text) - 1 || postie_line_pending(&r) > 0) {
            const char *part;
            size_t len;
            bool complete = false;
            postie_status_t st;
            if (pos < sizeof(text) - 1) {
                size_t avail;
                uint8_t *w = postie_line_rx_window(&r, &avail);
                size_t n = sizeof(text) - 1 - pos < piece ? sizeof(text) - 1 - pos : piece;
                if (n > avail) {
                    n = avail;
                }
                memcpy(w, text + pos, n);
                postie_line_rx_commit(&r, n);
                pos += n;
            }
            while ((st = postie_line_next_part(&r, &part, &len, &complete)) == POSTIE_OK) {
                assert_true(len <= 11);
                if (!seen_complete) {
                    memcpy(joined + joined_len, part, len);
                    joined_len += len;
                    seen_complete = complete;
                } else {
                    assert_true(complete);
                    assert_int_equal(len, 5);
                    assert_memory_equal(part, "A1 OK", 5);
                    seen_ok = true;
                }
            }
            assert_int_equal(st, POSTIE_E_AGAIN);
            if (pos == sizeof(text) - 1 && st == POSTIE_E_AGAIN && seen_ok) {
                break;
            }
        }
        assert_true(seen_complete && seen_ok);
        assert_int_equal(joined_len, sizeof(text) - 1 - 9);
        assert_memory_equal(joined, text, joined_len);
    }
}

/* Parts get the same framing checks: a bare CR, a bare LF, a NUL. */
static void test_next_part_framing(void **state)
{
    static const char *const bad[] = {"abcdefghij\rk\r\n", "abcdefghijklmn\nop\r\n",
                                      "abc\0def\r\n"};
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        uint8_t buf[32];
        postie_line_reader_t r;
        const char *part;
        size_t len;
        bool complete;
        postie_status_t st;
        size_t n = strlen(bad[i]) + (i == 2 ? 6 : 0);
        postie_line_init(&r, buf, sizeof(buf), 8);
        feed(&r, bad[i], n);
        while ((st = postie_line_next_part(&r, &part, &len, &complete)) == POSTIE_OK) {
            assert_false(complete);
        }
        assert_int_equal(st, POSTIE_E_REPLY_MALFORMED);
    }
}

/* Counted mode takes octets as they are, CR and LF included, then lines go
 * on after them; postie_line_next still refuses a long line. */
static void test_take_counted(void **state)
{
    uint8_t buf[32];
    postie_line_reader_t r;
    const uint8_t *data;
    const char *line;
    size_t len;
    (void)state;
    postie_line_init(&r, buf, sizeof(buf), 16);
    feed(&r, "x {4}\r\na\r\nb)\r\n", 14);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_int_equal(len, 5);
    assert_int_equal(postie_line_take(&r, 0, &data, &len), POSTIE_E_AGAIN);
    assert_int_equal(postie_line_take(&r, 3, &data, &len), POSTIE_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "a\r\n", 3);
    assert_int_equal(postie_line_take(&r, 1, &data, &len), POSTIE_OK);
    assert_memory_equal(data, "b", 1);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_OK);
    assert_memory_equal(line, ")", 1);
    assert_int_equal(postie_line_take(&r, 10, &data, &len), POSTIE_E_AGAIN);
    feed(&r, "0123456789abcdefgh", 18);
    assert_int_equal(postie_line_next(&r, &line, &len), POSTIE_E_REPLY_LINE_TOO_LONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_line),
        cmocka_unit_test(test_next_part_long_line),
        cmocka_unit_test(test_next_part_framing),
        cmocka_unit_test(test_take_counted),
        cmocka_unit_test(test_multiple_lines_one_feed),
        cmocka_unit_test(test_empty_lines),
        cmocka_unit_test(test_split_at_every_boundary),
        cmocka_unit_test(test_split_at_every_pair_of_boundaries),
        cmocka_unit_test(test_byte_by_byte_small_buffer),
        cmocka_unit_test(test_random_splits),
        cmocka_unit_test(test_crlf_split_across_feeds),
        cmocka_unit_test(test_line_max_accepted),
        cmocka_unit_test(test_line_max_plus_one_rejected),
        cmocka_unit_test(test_default_reply_line_max),
        cmocka_unit_test(test_line_max_clamped_to_cap),
        cmocka_unit_test(test_bare_cr),
        cmocka_unit_test(test_bare_cr_split),
        cmocka_unit_test(test_bare_lf),
        cmocka_unit_test(test_nul_rejected),
        cmocka_unit_test(test_error_is_sticky_until_reset),
        cmocka_unit_test(test_too_long_is_sticky_until_reset),
        cmocka_unit_test(test_window_full_and_compaction),
        cmocka_unit_test(test_partial_line_survives_compaction),
        cmocka_unit_test(test_commit_never_overruns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
