/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the body encoder (core/smtp/body.c): line-end normalisation,
 * dot-stuffing, BDAT mode, NUL and 8-bit checks, the closing sequence and
 * partial consumption into small output windows.
 *
 * The random tests compare the streaming encoder with ref_encode() below, a
 * whole-buffer transformation written independently from the rules in
 * body.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/smtp/body.h"

#define DATA true
#define BDAT false

/* ---- reference transformation --------------------------------------------- */

/* The wire form of in[0..len): every CRLF, lone CR and lone LF becomes CRLF,
 * a '.' starting a line is doubled when dot_stuff. With finish, a final CRLF
 * is added when missing and ".\r\n" in DATA mode. Returns the output length. */
static size_t ref_encode(const uint8_t *in, size_t len, bool dot_stuff, bool finish, uint8_t *out)
{
    size_t o = 0;
    bool at_start = true;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') {
                i++;
            }
            out[o++] = '\r';
            out[o++] = '\n';
            at_start = true;
            continue;
        }
        if (at_start && dot_stuff && in[i] == '.') {
            out[o++] = '.';
        }
        out[o++] = in[i];
        at_start = false;
    }
    if (finish) {
        if (!at_start) {
            out[o++] = '\r';
            out[o++] = '\n';
        }
        if (dot_stuff) {
            out[o++] = '.';
            out[o++] = '\r';
            out[o++] = '\n';
        }
    }
    return o;
}

#include "body_octet.h"

/* ---- helpers -------------------------------------------------------------- */

#define OUT_MAX 4096

typedef struct {
    postie_body_encoder_t e;
    uint8_t out[OUT_MAX];
    size_t len;
} sink_t;

/* Encode one write with plenty of output room; the whole write must be
 * consumed unless an error stops it. */
static postie_status_t write_all(sink_t *s, const char *in, size_t len, size_t *consumed)
{
    size_t used = 0;
    size_t made = 0;
    postie_status_t st = postie_body_encode(&s->e, (const uint8_t *)in, len, &used, s->out + s->len,
                                            OUT_MAX - s->len, &made);
    assert_true(used <= len);
    assert_true(s->len + made <= OUT_MAX);
    s->len += made;
    if (st == POSTIE_OK) {
        assert_int_equal(used, len);
    }
    if (consumed != NULL) {
        *consumed = used;
    }
    return st;
}

static void finish(sink_t *s)
{
    size_t made = 99;
    assert_int_equal(postie_body_finish(&s->e, s->out + s->len, OUT_MAX - s->len, &made),
                     POSTIE_OK);
    assert_true(made <= POSTIE_BODY_FINISH_MAX);
    s->len += made;
}

static void expect_out(const sink_t *s, const char *want)
{
    size_t n = strlen(want);
    if (s->len != n || memcmp(s->out, want, n) != 0) {
        fail_msg("encoder wrote \"%.*s\" (%zu octets), expected \"%s\" (%zu octets)", (int)s->len,
                 (const char *)s->out, s->len, want, n);
    }
}

/* The writes given (NULL-terminated), then finish; the output must be want. */
static void expect_writes(bool dot_stuff, bool allow_8bit, const char *const *writes,
                          const char *want)
{
    sink_t s;
    uint64_t in_total = 0;
    postie_body_init(&s.e, dot_stuff, allow_8bit);
    s.len = 0;
    for (size_t i = 0; writes[i] != NULL; i++) {
        assert_int_equal(write_all(&s, writes[i], strlen(writes[i]), NULL), POSTIE_OK);
        in_total += strlen(writes[i]);
    }
    finish(&s);
    expect_out(&s, want);
    assert_int_equal(s.e.in_octets, in_total);
    assert_int_equal(s.e.out_octets, s.len);
}

/* One write of in, then finish. */
static void expect_one(bool dot_stuff, const char *in, const char *want)
{
    const char *writes[2] = {in, NULL};
    expect_writes(dot_stuff, false, writes, want);
}

/* The input whole, then split at every boundary and byte by byte: always
 * the same output. */
static void expect_any_split(bool dot_stuff, const char *in, const char *want)
{
    size_t n = strlen(in);
    char a[256];
    char b[256];
    assert_true(n < sizeof(a));
    expect_one(dot_stuff, in, want);
    for (size_t cut = 0; cut <= n; cut++) {
        const char *writes[3] = {a, b, NULL};
        memcpy(a, in, cut);
        a[cut] = '\0';
        memcpy(b, in + cut, n - cut);
        b[n - cut] = '\0';
        expect_writes(dot_stuff, false, writes, want);
    }
    {
        sink_t s;
        postie_body_init(&s.e, dot_stuff, false);
        s.len = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(write_all(&s, in + i, 1, NULL), POSTIE_OK);
        }
        finish(&s);
        expect_out(&s, want);
    }
}

/* ---- line ends ------------------------------------------------------------ */

static void test_lf_to_crlf(void **state)
{
    (void)state;
    expect_any_split(BDAT, "a\nb\n", "a\r\nb\r\n");
    expect_any_split(BDAT, "\n\n", "\r\n\r\n");
    expect_any_split(DATA, "Subject: x\n\nbody\n", "Subject: x\r\n\r\nbody\r\n.\r\n");
}

static void test_cr_to_crlf(void **state)
{
    (void)state;
    expect_any_split(BDAT, "a\rb\r", "a\r\nb\r\n");
    expect_any_split(BDAT, "\r\r", "\r\n\r\n");
    expect_any_split(DATA, "a\rb", "a\r\nb\r\n.\r\n");
}

static void test_crlf_preserved(void **state)
{
    (void)state;
    expect_any_split(BDAT, "a\r\nb\r\n", "a\r\nb\r\n");
    expect_any_split(DATA, "a\r\nb\r\n", "a\r\nb\r\n.\r\n");
    /* mixtures: each line end counts once */
    expect_any_split(BDAT, "\r\r\n", "\r\n\r\n");
    expect_any_split(BDAT, "\n\r", "\r\n\r\n");
    expect_any_split(BDAT, "\r\n\n", "\r\n\r\n");
    expect_any_split(BDAT, "\n\r\n\r", "\r\n\r\n\r\n");
    expect_any_split(BDAT, "a\r\n\r\nb", "a\r\n\r\nb\r\n");
}

/* ---- dot-stuffing --------------------------------------------------------- */

static void test_dot_stuffing(void **state)
{
    (void)state;
    /* first line */
    expect_any_split(DATA, ".hidden\n", "..hidden\r\n.\r\n");
    /* every line start, whatever ended the previous line */
    expect_any_split(DATA, "a\n.b\r.c\r\n.d\n", "a\r\n..b\r\n..c\r\n..d\r\n.\r\n");
    /* dots elsewhere are left alone */
    expect_any_split(DATA, "a.b.\n x.\n", "a.b.\r\n x.\r\n.\r\n");
    /* runs of dots: only one more */
    expect_any_split(DATA, "..\n...\n", "...\r\n....\r\n.\r\n");
    /* inputs that would end DATA early */
    expect_any_split(DATA, "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    expect_any_split(DATA, "a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
    expect_any_split(DATA, "a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    expect_any_split(DATA, "a\r\n.\r\n", "a\r\n..\r\n.\r\n");
    expect_any_split(DATA, ".", "..\r\n.\r\n");
    /* a lone CR then a dot: the CR ended the line */
    expect_any_split(DATA, "x\r.y", "x\r\n..y\r\n.\r\n");
}

static void test_dot_split_from_its_line_end(void **state)
{
    /* the '.' in a write of its own, after the CRLF or half of it */
    static const char *const w1[] = {"a\r\n", ".b", NULL};
    static const char *const w2[] = {"a\r", "\n.b", NULL};
    static const char *const w3[] = {"a\r", "\n", ".b", NULL};
    static const char *const w4[] = {"a\r", ".b", NULL};
    static const char *const w5[] = {"a\n", ".", "b", NULL};
    static const char *const w6[] = {"a", "\n", ".", "", ".", NULL};
    (void)state;

    expect_writes(DATA, false, w1, "a\r\n..b\r\n.\r\n");
    expect_writes(DATA, false, w2, "a\r\n..b\r\n.\r\n");
    expect_writes(DATA, false, w3, "a\r\n..b\r\n.\r\n");
    expect_writes(DATA, false, w4, "a\r\n..b\r\n.\r\n");
    expect_writes(DATA, false, w5, "a\r\n..b\r\n.\r\n");
    expect_writes(DATA, false, w6, "a\r\n...\r\n.\r\n");
}

static void test_bdat_no_stuffing(void **state)
{
    static const char *const w[] = {"a\r", ".b", NULL};
    (void)state;
    expect_any_split(BDAT, ".a\n.\n..b\n", ".a\r\n.\r\n..b\r\n");
    expect_any_split(BDAT, ".", ".\r\n");
    expect_writes(BDAT, false, w, "a\r\n.b\r\n");
}

/* ---- NUL and 8-bit -------------------------------------------------------- */

static void expect_refused(bool dot_stuff, bool allow_8bit, const char *in, size_t len,
                           postie_status_t want_st, size_t want_consumed, const char *want_out)
{
    sink_t s;
    size_t used = 99;
    postie_body_init(&s.e, dot_stuff, allow_8bit);
    s.len = 0;
    assert_int_equal(write_all(&s, in, len, &used), want_st);
    assert_int_equal(used, want_consumed);
    expect_out(&s, want_out);
    assert_int_equal(s.e.in_octets, want_consumed);
    assert_int_equal(s.e.out_octets, s.len);
    /* the offending octet stays refused when offered again */
    {
        size_t made = 99;
        uint8_t out[16];
        assert_int_equal(postie_body_encode(&s.e, (const uint8_t *)in + used, len - used, &used,
                                            out, sizeof(out), &made),
                         want_st);
        assert_int_equal(used, 0);
        assert_int_equal(made, 0);
    }
}

static void test_nul_rejected(void **state)
{
    (void)state;
    expect_refused(DATA, false, "ab\0cd", 5, POSTIE_E_BODY_NUL, 2, "ab");
    expect_refused(DATA, false, "\0", 1, POSTIE_E_BODY_NUL, 0, "");
    expect_refused(BDAT, false, "x\n\0", 3, POSTIE_E_BODY_NUL, 2, "x\r\n");
    /* after a CR: the CR's line end is written, then the NUL stops it */
    expect_refused(DATA, false, "a\r\0", 3, POSTIE_E_BODY_NUL, 2, "a\r\n");
    /* declaring 8-bit does not let NUL through */
    expect_refused(DATA, true, "\xc3\xa9\0", 3, POSTIE_E_BODY_NUL, 2, "\xc3\xa9");
}

static void test_8bit_undeclared(void **state)
{
    (void)state;
    expect_refused(DATA, false, "caf\xc3\xa9", 5, POSTIE_E_BODY_8BIT_UNDECLARED, 3, "caf");
    expect_refused(DATA, false, "\x80", 1, POSTIE_E_BODY_8BIT_UNDECLARED, 0, "");
    expect_refused(BDAT, false, "ok\n\xff", 4, POSTIE_E_BODY_8BIT_UNDECLARED, 3, "ok\r\n");
    expect_refused(DATA, false, "a\r\xa0", 3, POSTIE_E_BODY_8BIT_UNDECLARED, 2, "a\r\n");
}

static void test_8bit_declared(void **state)
{
    sink_t s;
    static const char in[] = "caf\xc3\xa9\n\x80\xff\x7f.\n.\xe2\x82\xac";
    (void)state;

    postie_body_init(&s.e, DATA, true);
    s.len = 0;
    assert_int_equal(write_all(&s, in, sizeof(in) - 1, NULL), POSTIE_OK);
    finish(&s);
    expect_out(&s, "caf\xc3\xa9\r\n\x80\xff\x7f.\r\n..\xe2\x82\xac\r\n.\r\n");
}

static void test_7bit_edges_pass(void **state)
{
    /* every octet 0x01..0x7f except CR and LF passes unchanged mid-line */
    sink_t s;
    char in[200];
    char want[260];
    size_t n = 0;
    size_t w = 0;
    (void)state;

    in[n++] = 'x';
    want[w++] = 'x';
    for (int c = 1; c < 0x80; c++) {
        if (c != '\r' && c != '\n') {
            in[n++] = (char)c;
            want[w++] = (char)c;
        }
    }
    memcpy(want + w, "\r\n", 3);
    postie_body_init(&s.e, BDAT, false);
    s.len = 0;
    assert_int_equal(write_all(&s, in, n, NULL), POSTIE_OK);
    finish(&s);
    assert_int_equal(s.len, w + 2);
    assert_memory_equal(s.out, want, w + 2);
}

/* ---- finish ----------------------------------------------------------------- */

static void test_finish(void **state)
{
    (void)state;
    expect_one(DATA, "abc", "abc\r\n.\r\n");
    expect_one(DATA, "abc\n", "abc\r\n.\r\n");
    expect_one(DATA, "abc\r\n", "abc\r\n.\r\n");
    expect_one(DATA, "abc\r", "abc\r\n.\r\n");
    expect_one(DATA, "", ".\r\n");
    expect_one(BDAT, "abc", "abc\r\n");
    expect_one(BDAT, "abc\r\n", "abc\r\n");
    expect_one(BDAT, "abc\r", "abc\r\n");
    expect_one(BDAT, "", "");
}

static void test_finish_needs_room(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        postie_body_encoder_t e;
        uint8_t out[8];
        size_t made = 99;

        postie_body_init(&e, mode == 0, false);
        /* even when nothing would be written, 5 octets of room are required */
        for (size_t cap = 0; cap < POSTIE_BODY_FINISH_MAX; cap++) {
            memset(out, 0xee, sizeof(out));
            made = 99;
            assert_int_equal(postie_body_finish(&e, out, cap, &made), POSTIE_E_NO_SPACE);
            assert_int_equal(made, 0);
            for (size_t i = 0; i < sizeof(out); i++) {
                assert_int_equal(out[i], 0xee);
            }
        }
        assert_int_equal(e.out_octets, 0);
    }

    /* exactly 5 octets: the worst case fits */
    {
        postie_body_encoder_t e;
        uint8_t out[POSTIE_BODY_FINISH_MAX];
        uint8_t tmp[8];
        size_t used = 0;
        size_t made = 0;
        postie_body_init(&e, DATA, false);
        assert_int_equal(
            postie_body_encode(&e, (const uint8_t *)"x", 1, &used, tmp, sizeof(tmp), &made),
            POSTIE_OK);
        assert_int_equal(postie_body_finish(&e, out, sizeof(out), &made), POSTIE_OK);
        assert_int_equal(made, 5);
        assert_memory_equal(out, "\r\n.\r\n", 5);
        assert_int_equal(e.out_octets, 6);
        assert_int_equal(e.in_octets, 1);
    }
}

/* ---- small output windows ------------------------------------------------- */

static void test_output_too_small(void **state)
{
    postie_body_encoder_t e;
    uint8_t out[8];
    size_t used = 99;
    size_t made = 99;
    (void)state;

    postie_body_init(&e, DATA, false);
    /* fewer than POSTIE_BODY_MAX_EXPANSION octets free: nothing moves */
    for (size_t cap = 0; cap < POSTIE_BODY_MAX_EXPANSION; cap++) {
        memset(out, 0xee, sizeof(out));
        assert_int_equal(postie_body_encode(&e, (const uint8_t *)"abc", 3, &used, out, cap, &made),
                         POSTIE_OK);
        assert_int_equal(used, 0);
        assert_int_equal(made, 0);
        assert_int_equal(out[0], 0xee);
    }
    assert_int_equal(e.in_octets, 0);

    /* exactly the worst case: a pending CR and a '.' give "\r\n.." */
    assert_int_equal(postie_body_encode(&e, (const uint8_t *)"a\r", 2, &used, out, 8, &made),
                     POSTIE_OK);
    assert_int_equal(used, 2);
    assert_int_equal(made, 1);
    memset(out, 0xee, sizeof(out));
    assert_int_equal(postie_body_encode(&e, (const uint8_t *)".bc", 3, &used, out,
                                        POSTIE_BODY_MAX_EXPANSION, &made),
                     POSTIE_OK);
    assert_int_equal(used, 1);
    assert_int_equal(made, 4);
    assert_memory_equal(out, "\r\n..", 4);
    assert_int_equal(out[4], 0xee);

    /* a long plain run fills the window to the last octet */
    memset(out, 0xee, sizeof(out));
    assert_int_equal(
        postie_body_encode(&e, (const uint8_t *)"bcdefghijk", 10, &used, out, 6, &made), POSTIE_OK);
    assert_int_equal(used, 6);
    assert_int_equal(made, 6);
    assert_memory_equal(out, "bcdefg", 6);
    assert_int_equal(out[6], 0xee);
}

static uint32_t rng_next(uint32_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 17;
    *rng ^= *rng << 5;
    return *rng;
}

/* A random body over an alphabet rich in line ends and dots. */
static void random_body(uint32_t *rng, uint8_t *buf, size_t len, bool with_8bit)
{
    static const uint8_t alphabet[] = {'\r', '\n', '.', '.', 'a', 'b', ' ', '\t', 'Z', '\r', '\n'};
    for (size_t i = 0; i < len; i++) {
        uint32_t v = rng_next(rng);
        if (with_8bit && v % 16 == 0) {
            buf[i] = (uint8_t)(0x80 | ((v >> 8) & 0x7f));
        } else {
            buf[i] = alphabet[(v >> 8) % sizeof(alphabet)];
        }
    }
}

#define BIG          20000
#define WINDOW_GUARD 16

/* Push in[0..len) through the encoder in random pieces into random small
 * windows; return what came out (finish included when want_finish). The
 * octets after each window must stay untouched. */
static size_t stream(postie_body_encoder_t *e, uint32_t *rng, const uint8_t *in, size_t len,
                     uint8_t *out, size_t out_max, bool want_finish, postie_status_t *st_out,
                     size_t *consumed_total)
{
    size_t pos = 0;
    size_t o = 0;
    uint8_t window[64 + WINDOW_GUARD];
    postie_status_t st = POSTIE_OK;

    for (int guard = 0; pos < len; guard++) {
        size_t piece = rng_next(rng) % 40; /* empty writes included */
        size_t cap = POSTIE_BODY_MAX_EXPANSION + rng_next(rng) % 20;
        size_t used = 0;
        size_t made = 0;
        assert_true(guard < 10 * BIG);
        if (piece > len - pos) {
            piece = len - pos;
        }
        memset(window, 0xee, sizeof(window));
        st = postie_body_encode(e, in + pos, piece, &used, window, cap, &made);
        assert_true(used <= piece);
        assert_true(made <= cap);
        for (size_t i = cap; i < sizeof(window); i++) {
            assert_int_equal(window[i], 0xee);
        }
        if (st == POSTIE_OK && piece > 0) {
            assert_true(used > 0); /* at least four octets free: progress */
        }
        assert_true(o + made <= out_max);
        memcpy(out + o, window, made);
        o += made;
        pos += used;
        if (st != POSTIE_OK) {
            break;
        }
    }
    if (want_finish && st == POSTIE_OK) {
        size_t made = 0;
        memset(window, 0xee, sizeof(window));
        assert_int_equal(postie_body_finish(e, window, POSTIE_BODY_FINISH_MAX, &made), POSTIE_OK);
        assert_true(o + made <= out_max);
        memcpy(out + o, window, made);
        o += made;
    }
    *st_out = st;
    *consumed_total = pos;
    return o;
}

static void test_random_pieces_match_reference(void **state)
{
    static uint8_t in[BIG];
    static uint8_t want[BIG * 2 + 8];
    static uint8_t got[BIG * 2 + 8];
    (void)state;

    for (uint32_t seed = 1; seed <= 40; seed++) {
        uint32_t rng = seed * 2654435761u;
        bool dot_stuff = (seed % 2) == 0;
        bool eight_bit = (seed % 3) == 0;
        size_t len = BIG - (rng_next(&rng) % 100);
        postie_body_encoder_t e;
        postie_status_t st;
        size_t consumed = 0;
        size_t n_want;
        size_t n_got;

        random_body(&rng, in, len, eight_bit);
        n_want = ref_encode(in, len, dot_stuff, true, want);
        postie_body_init(&e, dot_stuff, eight_bit);
        n_got = stream(&e, &rng, in, len, got, sizeof(got), true, &st, &consumed);
        assert_int_equal(st, POSTIE_OK);
        assert_int_equal(consumed, len);
        assert_int_equal(n_got, n_want);
        assert_memory_equal(got, want, n_want);
        assert_int_equal(e.in_octets, len);
        assert_int_equal(e.out_octets, n_got);
    }
}

static void test_random_pieces_stop_at_bad_octet(void **state)
{
    static uint8_t in[BIG];
    static uint8_t want[BIG * 2 + 8];
    static uint8_t got[BIG * 2 + 8];
    (void)state;

    for (uint32_t seed = 1; seed <= 40; seed++) {
        uint32_t rng = seed * 40503u + 7u;
        bool dot_stuff = (seed % 2) == 0;
        bool nul = (seed % 3) != 0;
        size_t len = 1000 + rng_next(&rng) % (BIG - 1000);
        size_t bad = rng_next(&rng) % len;
        postie_body_encoder_t e;
        postie_status_t st;
        size_t consumed = 0;
        size_t n_want;
        size_t n_got;

        random_body(&rng, in, len, false);
        in[bad] = nul ? 0x00 : 0x80;
        /* everything before the bad octet, a CR's line end included */
        n_want = ref_encode(in, bad, dot_stuff, false, want);
        postie_body_init(&e, dot_stuff, false);
        n_got = stream(&e, &rng, in, len, got, sizeof(got), false, &st, &consumed);
        assert_int_equal(st, nul ? POSTIE_E_BODY_NUL : POSTIE_E_BODY_8BIT_UNDECLARED);
        assert_int_equal(consumed, bad);
        assert_int_equal(n_got, n_want);
        assert_memory_equal(got, want, n_want);
    }
}

/* ---- the fast path against the octet-at-a-time encoder -------------------- */

/* Bodies the fast path must get right: long plain runs with CRLFs (the
 * whole-line copy), and every kind of edge: bare CR, bare LF, CR at the
 * end of a piece, lines starting with '.', NUL, 8-bit, tab (below 0x0E but
 * plain). */
static void diff_body(uint32_t *rng, uint8_t *buf, size_t len, int flavour)
{
    static const uint8_t edges[] = {'\r', '\n', '.', '\t', 0x0B, 0x0E, 0x7F, 0x80, 0xFF, 0x00};
    for (size_t i = 0; i < len; i++) {
        uint32_t v = rng_next(rng);
        uint32_t odds = flavour == 0 ? 64 : (flavour == 1 ? 12 : 3);
        if (v % odds == 0) {
            buf[i] = edges[(v >> 8) % sizeof(edges)];
        } else if (v % 29 == 1 && i + 1 < len) {
            buf[i++] = '\r';
            buf[i] = '\n';
        } else {
            buf[i] = (uint8_t)('!' + (v >> 8) % 94);
        }
    }
}

typedef struct {
    postie_body_encoder_t e;
    uint8_t out[600];
    size_t len;
    postie_status_t st;
} diff_side_t;

/* One call on both encoders with the same piece and window: everything must
 * agree. Returns the octets consumed. */
static size_t diff_step(diff_side_t *fast, diff_side_t *old, const uint8_t *in, size_t n,
                        size_t cap)
{
    uint8_t wf[600];
    uint8_t wo[600];
    size_t uf = 0;
    size_t uo = 0;
    size_t mf = 0;
    size_t mo = 0;
    assert_true(cap <= sizeof(wf));
    fast->st = postie_body_encode(&fast->e, in, n, &uf, wf, cap, &mf);
    old->st = old_encode(&old->e, in, n, &uo, wo, cap, &mo);
    assert_int_equal(fast->st, old->st);
    assert_int_equal(uf, uo);
    assert_int_equal(mf, mo);
    assert_memory_equal(wf, wo, mf);
    assert_memory_equal(&fast->e, &old->e, sizeof(fast->e));
    return uf;
}

static void diff_init(diff_side_t *a, diff_side_t *b, bool dot_stuff, bool allow_8bit)
{
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    postie_body_init(&a->e, dot_stuff, allow_8bit);
    postie_body_init(&b->e, dot_stuff, allow_8bit);
}

/* Feed in[0..len) as two writes cut at `cut`, each into windows of `cap`,
 * until the input is used up or an octet is refused. */
static void diff_two_pieces(const uint8_t *in, size_t len, size_t cut, size_t cap, bool dot_stuff,
                            bool allow_8bit)
{
    diff_side_t fast;
    diff_side_t old;
    size_t bounds[2] = {cut, len};
    size_t pos = 0;
    diff_init(&fast, &old, dot_stuff, allow_8bit);
    for (size_t p = 0; p < 2; p++) {
        while (pos < bounds[p]) {
            size_t used = diff_step(&fast, &old, in + pos, bounds[p] - pos, cap);
            pos += used;
            if (fast.st != POSTIE_OK) {
                return;
            }
            assert_true(used > 0);
        }
    }
}

static void test_fast_path_matches_octet_at_a_time_every_split(void **state)
{
    uint8_t in[300];
    (void)state;

    for (uint32_t seed = 1; seed <= 24; seed++) {
        uint32_t rng = seed * 2246822519u;
        size_t len = 40 + rng_next(&rng) % (sizeof(in) - 40);
        bool dot_stuff = (seed & 1) != 0;
        bool allow_8bit = (seed & 2) != 0;
        size_t caps[3] = {POSTIE_BODY_MAX_EXPANSION + rng_next(&rng) % 12, 64, 600};
        diff_body(&rng, in, len, (int)(seed % 3));
        for (size_t cut = 0; cut <= len; cut++) {
            for (size_t c = 0; c < 3; c++) {
                diff_two_pieces(in, len, cut, caps[c], dot_stuff, allow_8bit);
            }
        }
    }
}

static void test_fast_path_matches_octet_at_a_time_random_pieces(void **state)
{
    static uint8_t in[BIG];
    (void)state;

    for (uint32_t seed = 1; seed <= 60; seed++) {
        uint32_t rng = seed * 3266489917u;
        size_t len = BIG - rng_next(&rng) % 1000;
        diff_side_t fast;
        diff_side_t old;
        size_t pos = 0;
        diff_body(&rng, in, len, (int)(seed % 3));
        diff_init(&fast, &old, (seed & 1) != 0, (seed & 2) != 0);
        for (int guard = 0; pos < len; guard++) {
            size_t piece = rng_next(&rng) % (seed % 4 == 0 ? 2u : 700u); /* byte by byte too */
            size_t cap = POSTIE_BODY_MAX_EXPANSION + rng_next(&rng) % (seed % 5 == 0 ? 8u : 590u);
            assert_true(guard < 20 * BIG);
            if (piece > len - pos) {
                piece = len - pos;
            }
            pos += diff_step(&fast, &old, in + pos, piece, cap);
            if (fast.st != POSTIE_OK) {
                break;
            }
        }
    }
}

static void test_reference_self_check(void **state)
{
    /* the reference itself, on cases worked out by hand */
    uint8_t out[64];
    size_t n;
    (void)state;

    n = ref_encode((const uint8_t *)"a\r\n.\rb\n", 7, true, true, out);
    assert_int_equal(n, 13);
    assert_memory_equal(out, "a\r\n..\r\nb\r\n.\r\n", 13);
    n = ref_encode((const uint8_t *)"a\r", 2, true, false, out);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "a\r\n", 3);
    n = ref_encode((const uint8_t *)".\n", 2, false, true, out);
    assert_int_equal(n, 3);
    assert_memory_equal(out, ".\r\n", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lf_to_crlf),
        cmocka_unit_test(test_cr_to_crlf),
        cmocka_unit_test(test_crlf_preserved),
        cmocka_unit_test(test_dot_stuffing),
        cmocka_unit_test(test_dot_split_from_its_line_end),
        cmocka_unit_test(test_bdat_no_stuffing),
        cmocka_unit_test(test_nul_rejected),
        cmocka_unit_test(test_8bit_undeclared),
        cmocka_unit_test(test_8bit_declared),
        cmocka_unit_test(test_7bit_edges_pass),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_finish_needs_room),
        cmocka_unit_test(test_output_too_small),
        cmocka_unit_test(test_reference_self_check),
        cmocka_unit_test(test_random_pieces_match_reference),
        cmocka_unit_test(test_random_pieces_stop_at_bad_octet),
        cmocka_unit_test(test_fast_path_matches_octet_at_a_time_every_split),
        cmocka_unit_test(test_fast_path_matches_octet_at_a_time_random_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
