/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the MIME encoders (core/mime/mime_encode.c).
 *
 * The first 6 input octets choose sizes; the rest is the text. Input
 * pieces and output windows vary from call to call (a small generator
 * seeded from the input). Checked:
 *   quoted-printable: never writes past the window, makes progress when
 *     the window has 16 octets, lines end in CRLF and hold at most 76
 *     octets of printable ASCII, space, tab and whole =XX (uppercase), no
 *     space or tab before a hard break, and decoding gives back the text
 *     with every line end as CRLF;
 *   base64 stream: never writes past the window, progress at 6 octets,
 *     lines of exactly 76 characters but the last, decodes back;
 *   encoded words and RFC 2231 sections: each within its maximum, decodes
 *     to exactly the text it consumed, all words together give back the
 *     text; for valid UTF-8, each piece is whole characters, and a word is
 *     refused only when the next character cannot fit.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/base64.h"
#include "postie/mime/mime_encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 8192u
#define WIN_MAX  256u
#define GUARD    0xee

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

static uint8_t enc_buf[TEXT_MAX * 4];
static uint8_t dec_buf[TEXT_MAX * 3];
static uint8_t want_buf[TEXT_MAX * 2 + 2];
static char joined[TEXT_MAX * 2];
static uint8_t window[WIN_MAX + 32];

typedef struct {
    uint32_t s;
} gen_t;

static size_t gen_below(gen_t *g, size_t n)
{
    g->s = g->s * 1103515245u + 12345u;
    return (size_t)((g->s >> 8) % (uint32_t)n);
}

static void check_guard(size_t from)
{
    for (size_t i = from; i < sizeof(window); i++) {
        CHECK(window[i] == GUARD);
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
    return -1;
}

/* ---- quoted-printable ---------------------------------------------------- */

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
        CHECK(i + 1 < n && e[i] == '\r' && e[i + 1] == '\n');
        end = i;
        i += 2;
        CHECK(end - start <= 76);
        if (end > start && e[end - 1] == '=') {
            soft = true;
            end--;
        }
        if (!soft && end > start) {
            CHECK(e[end - 1] != ' ' && e[end - 1] != '\t');
        }
        for (size_t k = start; k < end; k++) {
            uint8_t c = e[k];
            if (c == '=') {
                CHECK(k + 2 < end);
                CHECK(hex_val(e[k + 1]) >= 0 && hex_val(e[k + 2]) >= 0);
                out[o++] = (uint8_t)(hex_val(e[k + 1]) * 16 + hex_val(e[k + 2]));
                k += 2;
            } else {
                CHECK(c == ' ' || c == '\t' || (c >= 33 && c <= 126));
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

static void fuzz_qp(const uint8_t *in, size_t n, gen_t *g, size_t max_piece, size_t max_win)
{
    postie_mime_qp_t q;
    size_t i = 0;
    size_t o = 0;
    size_t c;
    size_t p;
    size_t stuck = 0;

    postie_mime_qp_init(&q);
    while (i < n) {
        size_t piece = 1 + gen_below(g, max_piece);
        size_t cap = gen_below(g, max_win + 1);
        if (piece > n - i) {
            piece = n - i;
        }
        memset(window, GUARD, sizeof(window));
        postie_mime_qp_encode(&q, in + i, piece, &c, window, cap, &p);
        CHECK(c <= piece && p <= cap);
        check_guard(cap);
        if (cap >= 16) {
            CHECK(c > 0);
        }
        stuck = c == 0 ? stuck + 1 : 0;
        if (stuck > 64) { /* windows stayed small: take a big one */
            postie_mime_qp_encode(&q, in + i, piece, &c, window, WIN_MAX, &p);
            CHECK(c > 0);
        }
        memcpy(enc_buf + o, window, p);
        o += p;
        i += c;
    }
    memset(window, GUARD, sizeof(window));
    if (postie_mime_qp_finish(&q, window, gen_below(g, 17), &p) != POSTIE_OK) {
        CHECK(p == 0);
        check_guard(0);
        CHECK(postie_mime_qp_finish(&q, window, 16, &p) == POSTIE_OK);
    }
    check_guard(p);
    memcpy(enc_buf + o, window, p);
    o += p;

    {
        size_t d = qp_decode_check(enc_buf, o, dec_buf);
        size_t w = qp_expected(in, n, want_buf);
        CHECK(d == w && memcmp(dec_buf, want_buf, d) == 0);
    }
}

/* ---- base64 stream -------------------------------------------------------- */

static void fuzz_b64(const uint8_t *in, size_t n, gen_t *g, size_t max_piece, size_t max_win)
{
    postie_mime_b64_t b;
    size_t i = 0;
    size_t o = 0;
    size_t c;
    size_t p;
    size_t j = 0;
    size_t d = 0;
    size_t stuck = 0;

    postie_mime_b64_init(&b);
    while (i < n) {
        size_t piece = 1 + gen_below(g, max_piece);
        size_t cap = gen_below(g, max_win + 1);
        if (piece > n - i) {
            piece = n - i;
        }
        memset(window, GUARD, sizeof(window));
        postie_mime_b64_encode(&b, in + i, piece, &c, window, cap, &p);
        CHECK(c <= piece && p <= cap);
        check_guard(cap);
        if (cap >= 6) {
            CHECK(c > 0);
        }
        stuck = c == 0 ? stuck + 1 : 0;
        if (stuck > 64) {
            postie_mime_b64_encode(&b, in + i, piece, &c, window, WIN_MAX, &p);
            CHECK(c > 0);
        }
        memcpy(enc_buf + o, window, p);
        o += p;
        i += c;
    }
    memset(window, GUARD, sizeof(window));
    if (postie_mime_b64_finish(&b, window, gen_below(g, 7), &p) != POSTIE_OK) {
        CHECK(p == 0);
        check_guard(0);
        CHECK(postie_mime_b64_finish(&b, window, 6, &p) == POSTIE_OK);
    }
    check_guard(p);
    memcpy(enc_buf + o, window, p);
    o += p;

    for (size_t k = 0; k < o;) {
        size_t start = k;
        while (k < o && enc_buf[k] != '\r') {
            CHECK(enc_buf[k] != '\n');
            k++;
        }
        CHECK(k + 1 < o && enc_buf[k + 1] == '\n');
        CHECK(k + 2 < o ? k - start == 76 : (k - start >= 4 && k - start <= 76));
        memcpy(joined + j, enc_buf + start, k - start);
        j += k - start;
        k += 2;
    }
    CHECK(j == POSTIE_BASE64_LEN(n));
    CHECK(postie_base64_decode(joined, j, dec_buf, sizeof(dec_buf), &d) == POSTIE_OK);
    CHECK(d == n && memcmp(dec_buf, in, n) == 0);
}

/* ---- encoded words and RFC 2231 sections ---------------------------------- */

static bool q_safe(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' ||
           c == '*' || c == '+' || c == '-' || c == '/';
}

static bool attr_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

static size_t ew_decode(const char *w, size_t n, postie_mime_ew_encoding_t enc, uint8_t *out)
{
    size_t o = 0;
    CHECK(n >= 12 && memcmp(w, "=?UTF-8?", 8) == 0 && w[8] == (char)enc && w[9] == '?' &&
          w[n - 2] == '?' && w[n - 1] == '=');
    if (enc == POSTIE_MIME_EW_B) {
        CHECK((n - 12) % 4 == 0);
        CHECK(postie_base64_decode(w + 10, n - 12, out, 64, &o) == POSTIE_OK);
        return o;
    }
    for (size_t i = 10; i < n - 2; i++) {
        uint8_t c = (uint8_t)w[i];
        if (c == '_') {
            out[o++] = ' ';
        } else if (c == '=') {
            CHECK(i + 2 < n - 2 && hex_val((uint8_t)w[i + 1]) >= 0 &&
                  hex_val((uint8_t)w[i + 2]) >= 0);
            out[o++] = (uint8_t)(hex_val((uint8_t)w[i + 1]) * 16 + hex_val((uint8_t)w[i + 2]));
            i += 2;
        } else {
            CHECK(q_safe(c));
            out[o++] = c;
        }
    }
    return o;
}

/* Payload octets needed for text[a..b) as one word. */
static size_t ew_payload(const uint8_t *t, size_t a, size_t b, postie_mime_ew_encoding_t enc)
{
    size_t n = 0;
    if (enc == POSTIE_MIME_EW_B) {
        return (b - a + 2) / 3 * 4;
    }
    for (size_t i = a; i < b; i++) {
        n += (q_safe(t[i]) || t[i] == ' ') ? 1 : 3;
    }
    return n;
}

static void fuzz_ew(const uint8_t *text, size_t len, bool valid, postie_mime_ew_encoding_t enc,
                    size_t max_len)
{
    size_t pos = 0;
    size_t total = 0;
    while (pos < len) {
        char w[POSTIE_MIME_EW_MAX + 16];
        uint8_t dec[64];
        size_t before = pos;
        size_t wl;
        size_t dl;

        memset(w, GUARD, sizeof(w));
        wl = postie_mime_ew_word(text, len, &pos, enc, max_len, w);
        for (size_t k = wl; k < sizeof(w); k++) {
            CHECK((uint8_t)w[k] == GUARD);
        }
        if (wl == 0) {
            CHECK(pos == before);
            if (valid) { /* only when the next character cannot fit */
                size_t n = postie_utf8_seq_len(text[pos]);
                CHECK(12 + ew_payload(text, pos, pos + n, enc) > max_len);
            }
            return;
        }
        CHECK(wl <= max_len && wl <= POSTIE_MIME_EW_MAX && pos > before && pos <= len);
        dl = ew_decode(w, wl, enc, dec);
        CHECK(dl == pos - before && memcmp(dec, text + before, dl) == 0);
        CHECK(wl == 12 + ew_payload(text, before, pos, enc));
        if (valid) {
            CHECK(postie_utf8_valid(text + before, dl, NULL));
            if (pos < len) {
                size_t n = postie_utf8_seq_len(text[pos]);
                CHECK(12 + ew_payload(text, before, pos + n, enc) > max_len);
            }
        }
        total += wl;
    }
    (void)total;
}

static void fuzz_param(const uint8_t *value, size_t len, bool valid, size_t max_len)
{
    size_t pos = 0;
    bool first = true;
    do {
        char s[128];
        size_t before = pos;
        size_t sl;
        size_t o = 0;
        size_t k;

        memset(s, GUARD, sizeof(s));
        sl = postie_mime_param_ext_section(value, len, &pos, first, max_len, s);
        for (k = sl; k < sizeof(s); k++) {
            CHECK((uint8_t)s[k] == GUARD);
        }
        if (sl == 0) {
            CHECK(pos == before);
            if (valid && pos < len) { /* only when the next character cannot fit */
                size_t n = postie_utf8_seq_len(value[pos]);
                size_t need = first ? 7u : 0u;
                for (k = 0; k < n; k++) {
                    need += attr_char(value[pos + k]) ? 1u : 3u;
                }
                CHECK(need > max_len);
            }
            return;
        }
        CHECK(sl <= max_len);
        k = 0;
        if (first) {
            CHECK(sl >= 7 && memcmp(s, "UTF-8''", 7) == 0);
            k = 7;
        }
        for (; k < sl; k++) {
            uint8_t c = (uint8_t)s[k];
            uint8_t v;
            if (c == '%') {
                CHECK(k + 2 < sl && hex_val((uint8_t)s[k + 1]) >= 0 &&
                      hex_val((uint8_t)s[k + 2]) >= 0);
                v = (uint8_t)(hex_val((uint8_t)s[k + 1]) * 16 + hex_val((uint8_t)s[k + 2]));
                CHECK(!attr_char(v));
                k += 2;
            } else {
                CHECK(attr_char(c));
                v = c;
            }
            CHECK(before + o < len && value[before + o] == v);
            o++;
        }
        CHECK(before + o == pos);
        if (valid) {
            CHECK(postie_utf8_valid(value + before, o, NULL));
        }
        first = false;
    } while (pos < len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gen_t g;
    const uint8_t *text;
    size_t len;
    bool valid;
    size_t bad = 0;

    if (size < 6 || size - 6 > TEXT_MAX) {
        return 0;
    }
    g.s = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16;
    text = data + 6;
    len = size - 6;

    fuzz_qp(text, len, &g, 1 + data[0] % 128u, 1 + data[1]);
    fuzz_b64(text, len, &g, 1 + data[0] % 128u, 1 + data[2]);

    valid = postie_utf8_valid(text, len, &bad);
    CHECK(valid || bad < len);
    if (!valid) {
        CHECK(postie_utf8_valid(text, bad, NULL)); /* all before it is fine */
    }
    {
        size_t m = 12u + data[3] % 64u; /* 12..75 */
        fuzz_ew(text, len, valid, POSTIE_MIME_EW_B, m);
        fuzz_ew(text, len, valid, POSTIE_MIME_EW_Q, m);
        if (valid) { /* at 75, every character fits: nothing is refused */
            size_t pos = 0;
            char w[POSTIE_MIME_EW_MAX];
            while (pos < len) {
                CHECK(postie_mime_ew_word(text, len, &pos, postie_mime_ew_choose(text, len), 75,
                                          w) > 0);
            }
        }
        fuzz_param(text, len, valid, 7u + data[4] % 80u);
    }
    return 0;
}
