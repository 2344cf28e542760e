/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MIME encoders for the message writer: RFC 2047 encoded words, streaming quoted-printable and
 * base64, RFC 2231 parameter values. No allocation; every output is bounded by the caller's
 * capacity.
 */
#include "postie/mime/mime_encode.h"

#include "postie/common/utf8.h"

#include <string.h>

static const char hex_upper[] = "0123456789ABCDEF";
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Octets of the character at text[pos] (pos < len). Text that is not
 * well-formed is never read past len: an octet that does not start a
 * well-formed sequence counts as a character of its own. */
static size_t char_len(const uint8_t *text, size_t len, size_t pos)
{
    size_t n = postie_utf8_char_len(text + pos, len - pos);
    return n == 0 ? 1 : n;
}

/* ---- RFC 2047 encoded words -------------------------------------------- */

#define EW_OVERHEAD 12u /* "=?UTF-8?X?" + "?=" */

static bool q_literal(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' ||
           c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t q_width(uint8_t c)
{
    return (q_literal(c) || c == ' ') ? 1u : 3u;
}

/* How many octets of text[pos..len) go into one word of at most max_len
 * octets (whole characters only), and the payload length they need. */
static size_t ew_measure(const uint8_t *text, size_t len, size_t pos, postie_mime_ew_encoding_t enc,
                         size_t max_len, size_t *payload)
{
    size_t room = max_len - EW_OVERHEAD;
    size_t take = 0;
    size_t q_used = 0;

    while (pos + take < len) {
        size_t n = char_len(text, len, pos + take);
        if (enc == POSTIE_MIME_EW_B) {
            size_t total = take + n;
            if ((total + 2u) / 3u * 4u > room) {
                break;
            }
        } else {
            size_t w = 0;
            for (size_t k = 0; k < n; k++) {
                w += q_width(text[pos + take + k]);
            }
            if (q_used + w > room) {
                break;
            }
            q_used += w;
        }
        take += n;
    }
    *payload = (enc == POSTIE_MIME_EW_B) ? (take + 2u) / 3u * 4u : q_used;
    return take;
}

static size_t ew_clamp(size_t max_len)
{
    return max_len > POSTIE_MIME_EW_MAX ? POSTIE_MIME_EW_MAX : max_len;
}

postie_mime_ew_encoding_t postie_mime_ew_choose(const uint8_t *text, size_t len)
{
    size_t total[2] = {0, 0};
    const postie_mime_ew_encoding_t encs[2] = {POSTIE_MIME_EW_B, POSTIE_MIME_EW_Q};

    for (size_t e = 0; e < 2; e++) {
        size_t pos = 0;
        while (pos < len) {
            size_t payload;
            size_t take = ew_measure(text, len, pos, encs[e], POSTIE_MIME_EW_MAX, &payload);
            if (take == 0) {
                return POSTIE_MIME_EW_Q; /* cannot happen at 75 octets; stay readable */
            }
            total[e] += EW_OVERHEAD + payload;
            pos += take;
        }
    }
    return total[0] < total[1] ? POSTIE_MIME_EW_B : POSTIE_MIME_EW_Q;
}

size_t postie_mime_ew_word(const uint8_t *text, size_t len, size_t *pos,
                           postie_mime_ew_encoding_t enc, size_t max_len, char *out)
{
    size_t start = *pos;
    size_t payload;
    size_t take;
    size_t o = 0;
    static const char prefix[] = "=?UTF-8?";

    max_len = ew_clamp(max_len);
    if (max_len < EW_OVERHEAD || start >= len ||
        (enc != POSTIE_MIME_EW_B && enc != POSTIE_MIME_EW_Q)) {
        return 0;
    }
    take = ew_measure(text, len, start, enc, max_len, &payload);
    if (take == 0) {
        return 0;
    }
    memcpy(out, prefix, sizeof(prefix) - 1u);
    o = sizeof(prefix) - 1u;
    out[o++] = (char)enc;
    out[o++] = '?';
    if (enc == POSTIE_MIME_EW_B) {
        const uint8_t *p = text + start;
        size_t i = 0;
        while (i < take) {
            size_t rem = take - i;
            uint32_t v = (uint32_t)p[i] << 16;
            if (rem > 1) {
                v |= (uint32_t)p[i + 1] << 8;
            }
            if (rem > 2) {
                v |= p[i + 2];
            }
            out[o++] = b64_alphabet[(v >> 18) & 63u];
            out[o++] = b64_alphabet[(v >> 12) & 63u];
            out[o++] = rem > 1 ? b64_alphabet[(v >> 6) & 63u] : '=';
            out[o++] = rem > 2 ? b64_alphabet[v & 63u] : '=';
            i += rem > 3 ? 3u : rem;
        }
    } else {
        for (size_t i = start; i < start + take; i++) {
            uint8_t c = text[i];
            if (q_literal(c)) {
                out[o++] = (char)c;
            } else if (c == ' ') {
                out[o++] = '_';
            } else {
                out[o++] = '=';
                out[o++] = hex_upper[c >> 4];
                out[o++] = hex_upper[c & 15u];
            }
        }
    }
    out[o++] = '?';
    out[o++] = '=';
    *pos = start + take;
    return o;
}

/* ---- quoted-printable -------------------------------------------------- */

#define QP_TEXT_MAX 75u /* octets before a soft break's '=' (76 with it) */
#define QP_STEP_MAX 16u /* largest output of one input octet (10) or finish (8), rounded up */

void postie_mime_qp_init(postie_mime_qp_t *q)
{
    memset(q, 0, sizeof(*q));
}

static bool qp_needs_encoding(uint8_t c)
{
    return c < 33 || c > 126 || c == '=';
}

/* An octet that stays itself in the middle of a line (not space or tab,
 * which wait to see whether the line ends). */
static bool qp_plain(uint8_t c)
{
    return c >= 33 && c <= 126 && c != '=';
}

/* Append c (as itself or as =XX) to t[n..], preceded by a soft break when
 * it would not fit on the current line. Returns the new n. */
static size_t qp_put(uint8_t *t, size_t n, uint8_t *col, uint8_t c, bool encode)
{
    unsigned w = encode ? 3u : 1u;

    if (*col + w > QP_TEXT_MAX) {
        t[n++] = '=';
        t[n++] = '\r';
        t[n++] = '\n';
        *col = 0;
    }
    if (encode) {
        t[n++] = '=';
        t[n++] = (uint8_t)hex_upper[c >> 4];
        t[n++] = (uint8_t)hex_upper[c & 15u];
    } else {
        t[n++] = c;
    }
    *col = (uint8_t)(*col + w);
    return n;
}

void postie_mime_qp_encode(postie_mime_qp_t *q, const uint8_t *in, size_t len, size_t *consumed,
                           uint8_t *out, size_t cap, size_t *produced)
{
    size_t i = 0;
    size_t o = 0;

    while (i < len) {
        uint8_t c = in[i];
        uint8_t t[QP_STEP_MAX];
        size_t n = 0;
        postie_mime_qp_t s = *q;

        /* Fast path: a run of plain octets in the middle of a line, copied
         * at once (as far as the line, the input and the output allow). */
        if (!s.pending_cr && s.pending_ws == 0 && s.col < QP_TEXT_MAX && qp_plain(c)) {
            size_t limit = QP_TEXT_MAX - s.col;
            size_t run = 1;
            if (limit > cap - o) {
                limit = cap - o;
            }
            if (limit > len - i) {
                limit = len - i;
            }
            if (limit == 0) {
                break;
            }
            while (run < limit && qp_plain(in[i + run])) {
                run++;
            }
            memcpy(out + o, in + i, run);
            o += run;
            i += run;
            q->col = (uint8_t)(q->col + run);
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
                n = qp_put(t, n, &s.col, s.pending_ws, true);
                s.pending_ws = 0;
            }
            t[n++] = '\r';
            t[n++] = '\n';
            s.col = 0;
            s.pending_cr = (c == '\r');
        } else {
            if (s.pending_ws != 0) { /* something follows on this line: literal */
                n = qp_put(t, n, &s.col, s.pending_ws, false);
                s.pending_ws = 0;
            }
            if (c == ' ' || c == '\t') {
                s.pending_ws = c;
            } else {
                n = qp_put(t, n, &s.col, c, qp_needs_encoding(c));
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

postie_status_t postie_mime_qp_finish(postie_mime_qp_t *q, uint8_t *out, size_t cap,
                                      size_t *produced)
{
    uint8_t t[QP_STEP_MAX];
    size_t n = 0;
    postie_mime_qp_t s = *q;

    *produced = 0;
    if (s.pending_ws != 0) {
        n = qp_put(t, n, &s.col, s.pending_ws, true);
    }
    if (s.col > 0) {
        t[n++] = '\r';
        t[n++] = '\n';
    }
    if (n > cap) {
        return POSTIE_E_NO_SPACE;
    }
    memcpy(out, t, n);
    *produced = n;
    postie_mime_qp_init(q);
    return POSTIE_OK;
}

/* ---- base64 with line breaks ------------------------------------------- */

#define B64_LINE 76u

void postie_mime_b64_init(postie_mime_b64_t *b)
{
    memset(b, 0, sizeof(*b));
}

/* Three input octets as four characters. */
static void b64_group(const uint8_t *in, uint8_t *out)
{
    uint32_t v = ((uint32_t)in[0] << 16) | ((uint32_t)in[1] << 8) | in[2];
    out[0] = (uint8_t)b64_alphabet[v >> 18];
    out[1] = (uint8_t)b64_alphabet[(v >> 12) & 63u];
    out[2] = (uint8_t)b64_alphabet[(v >> 6) & 63u];
    out[3] = (uint8_t)b64_alphabet[v & 63u];
}

/* Encode the nheld (1..3) held octets as one padded group, plus CRLF when
 * the line is full. Returns the octets written (at most 6) or 0 when they
 * do not fit in cap. */
static size_t b64_flush(postie_mime_b64_t *b, uint8_t *out, size_t cap)
{
    size_t need = 4u + ((b->col + 4u >= B64_LINE) ? 2u : 0u);
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
    out[n++] = (uint8_t)b64_alphabet[(v >> 18) & 63u];
    out[n++] = (uint8_t)b64_alphabet[(v >> 12) & 63u];
    out[n++] = b->nheld > 1 ? (uint8_t)b64_alphabet[(v >> 6) & 63u] : (uint8_t)'=';
    out[n++] = b->nheld > 2 ? (uint8_t)b64_alphabet[v & 63u] : (uint8_t)'=';
    b->col = (uint8_t)(b->col + 4u);
    if (b->col >= B64_LINE) {
        out[n++] = '\r';
        out[n++] = '\n';
        b->col = 0;
    }
    b->nheld = 0;
    return n;
}

void postie_mime_b64_encode(postie_mime_b64_t *b, const uint8_t *in, size_t len, size_t *consumed,
                            uint8_t *out, size_t cap, size_t *produced)
{
    size_t i = 0;
    size_t o = 0;

    for (;;) {
        if (b->nheld == 3) {
            size_t n = b64_flush(b, out + o, cap - o);
            if (n == 0) {
                break;
            }
            o += n;
        }
        if (b->nheld == 0) {
            /* Fast path: whole groups straight from the input, whole lines
             * (57 octets in, 76 characters and CRLF out) where they fit. It
             * stops where a group and a CRLF might not fit; the octet path
             * below then does exactly what it always did. */
            while (b->col == 0 && len - i >= 57u && cap - o >= B64_LINE + 2u) {
                for (size_t g = 0; g < 19u; g++) {
                    b64_group(in + i, out + o);
                    i += 3;
                    o += 4;
                }
                out[o++] = '\r';
                out[o++] = '\n';
            }
            while (len - i >= 3u && cap - o >= 6u) {
                b64_group(in + i, out + o);
                i += 3;
                o += 4;
                b->col = (uint8_t)(b->col + 4u);
                if (b->col >= B64_LINE) {
                    out[o++] = '\r';
                    out[o++] = '\n';
                    b->col = 0;
                }
            }
        }
        if (i == len) {
            break;
        }
        b->held[b->nheld++] = in[i++];
    }
    *consumed = i;
    *produced = o;
}

postie_status_t postie_mime_b64_finish(postie_mime_b64_t *b, uint8_t *out, size_t cap,
                                       size_t *produced)
{
    size_t need = 0;
    size_t n = 0;

    *produced = 0;
    if (b->nheld > 0) {
        need = 4u + 2u; /* the group always ends the output, so a CRLF follows */
    } else if (b->col > 0) {
        need = 2u;
    }
    if (need > cap) {
        return POSTIE_E_NO_SPACE;
    }
    if (b->nheld > 0) {
        n = b64_flush(b, out, cap);
    }
    if (b->col > 0) {
        out[n++] = '\r';
        out[n++] = '\n';
    }
    *produced = n;
    postie_mime_b64_init(b);
    return POSTIE_OK;
}

/* ---- RFC 2231 parameter values ----------------------------------------- */

#define PARAM_PLAIN_MAX 60u
#define EXT_PREFIX      "UTF-8''"
#define EXT_PREFIX_LEN  (sizeof(EXT_PREFIX) - 1u)

bool postie_mime_param_plain_ok(const uint8_t *value, size_t len)
{
    if (len > PARAM_PLAIN_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (value[i] < 0x20 || value[i] > 0x7E) {
            return false;
        }
    }
    return true;
}

static bool attr_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' ||
           c == '#' || c == '$' || c == '&' || c == '+' || c == '-' || c == '.' || c == '^' ||
           c == '_' || c == '`' || c == '|' || c == '~';
}

size_t postie_mime_param_ext_section(const uint8_t *value, size_t len, size_t *pos, bool first,
                                     size_t max_len, char *out)
{
    size_t p = *pos;
    size_t o = 0;

    if (first) {
        if (max_len < EXT_PREFIX_LEN) {
            return 0;
        }
        o = EXT_PREFIX_LEN;
    }
    /* Measure first, so nothing is written when no character fits. */
    while (p < len) {
        size_t n = char_len(value, len, p);
        size_t w = 0;
        for (size_t k = 0; k < n; k++) {
            w += attr_char(value[p + k]) ? 1u : 3u;
        }
        if (w > max_len - o) {
            break;
        }
        o += w;
        p += n;
    }
    if (p == *pos && (p < len || !first)) {
        return 0; /* nothing fits (an empty first section is just the prefix) */
    }
    o = 0;
    if (first) {
        memcpy(out, EXT_PREFIX, EXT_PREFIX_LEN);
        o = EXT_PREFIX_LEN;
    }
    for (size_t i = *pos; i < p; i++) {
        uint8_t c = value[i];
        if (attr_char(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex_upper[c >> 4];
            out[o++] = hex_upper[c & 15u];
        }
    }
    *pos = p;
    return o;
}
