/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/smtp/body.h"

#include <string.h>

void postie_body_init(postie_body_encoder_t *e, bool dot_stuff, bool allow_8bit)
{
    memset(e, 0, sizeof(*e));
    e->dot_stuff = dot_stuff;
    e->allow_8bit = allow_8bit;
    e->line_start = true;
}

/* Octets that need no special handling in the middle of a line. */
static bool plain_octet(uint8_t c, bool allow_8bit)
{
    return c != '\r' && c != '\n' && c != '\0' && (c < 0x80 || allow_8bit);
}

/* How many octets at the start of p[0..n) are plain (plain_octet), a word
 * at a time: a word is looked at octet by octet only when it holds an
 * octet below 0x0E (CR, LF and NUL are among those; tab too, which is
 * plain) or, without 8-bit, an octet >= 0x80. The word tests are exact for
 * "some octet of the word is below 0x0E" (and "has its top bit set"), so a
 * word that passes holds only plain octets, on any byte order. */
static size_t plain_run(const uint8_t *p, size_t n, bool allow_8bit)
{
    const size_t ones = (size_t)-1 / 0xFFu;
    const size_t highs = ones * 0x80u;
    const size_t below = ones * 0x0Eu;
    size_t i = 0;

    while (n - i >= sizeof(size_t)) {
        size_t w;
        size_t flag;
        memcpy(&w, p + i, sizeof(w));
        flag = allow_8bit ? ((w - below) & ~w & highs) : (((w - below) | w) & highs);
        if (flag != 0) {
            for (size_t k = 0; k < sizeof(size_t); k++) {
                if (!plain_octet(p[i + k], allow_8bit)) {
                    return i + k;
                }
            }
        }
        i += sizeof(w);
    }
    while (i < n && plain_octet(p[i], allow_8bit)) {
        i++;
    }
    return i;
}

/* The run of octets at in[0..limit) (in[0] already known plain) that passes
 * through unchanged into `room` octets of output: plain octets, and CRLFs
 * that need nothing added (in DATA mode a '.' after one needs a second '.').
 * It stops where the octet-at-a-time rules would stop: a CRLF is taken only
 * with POSTIE_BODY_MAX_EXPANSION octets free before it, and the run goes on
 * past it only with as many free after it. */
static size_t pass_run(const postie_body_encoder_t *e, const uint8_t *in, size_t limit, size_t room)
{
    size_t run = 1;
    for (;;) {
        run += plain_run(in + run, limit - run, e->allow_8bit);
        if (run + 1 >= limit || in[run] != '\r' || in[run + 1] != '\n' ||
            room - run < POSTIE_BODY_MAX_EXPANSION) {
            return run;
        }
        run += 2; /* CRLF stays CRLF */
        if (run == limit || room - run < POSTIE_BODY_MAX_EXPANSION ||
            !plain_octet(in[run], e->allow_8bit) || (e->dot_stuff && in[run] == '.')) {
            return run; /* the next line starts outside the run */
        }
    }
}

postie_status_t postie_body_encode(postie_body_encoder_t *e, const uint8_t *in, size_t in_len,
                                   size_t *consumed, uint8_t *out, size_t out_cap, size_t *produced)
{
    size_t i = 0;
    size_t o = 0;
    postie_status_t st = POSTIE_OK;

    while (i < in_len && out_cap - o >= POSTIE_BODY_MAX_EXPANSION) {
        uint8_t c = in[i];

        if (e->pending_cr) {
            e->pending_cr = false;
            out[o++] = '\r';
            out[o++] = '\n';
            e->line_start = true;
            if (c == '\n') { /* CRLF: one line end */
                i++;
                continue;
            }
            /* lone CR: it ended the line; c is handled below */
        }
        if (c == '\0') {
            st = POSTIE_E_BODY_NUL;
            break;
        }
        if (c >= 0x80 && !e->allow_8bit) {
            st = POSTIE_E_BODY_8BIT_UNDECLARED;
            break;
        }
        if (c == '\r') {
            e->pending_cr = true;
            i++;
            continue;
        }
        if (c == '\n') { /* lone LF */
            out[o++] = '\r';
            out[o++] = '\n';
            e->line_start = true;
            i++;
            continue;
        }
        if (e->line_start && c == '.' && e->dot_stuff) {
            out[o++] = '.';
        }
        /* Fast path: copy the run of octets that pass through unchanged,
         * whole lines included, in one go. */
        size_t room = out_cap - o; /* >= 1: at most 3 of the 4 reserved octets were used */
        size_t run = pass_run(e, in + i, in_len - i < room ? in_len - i : room, room);
        memcpy(out + o, in + i, run);
        o += run;
        i += run;
        e->line_start = in[i - 1] == '\n'; /* the run ended with a CRLF */
    }
    e->in_octets += i;
    e->out_octets += o;
    *consumed = i;
    *produced = o;
    return st;
}

postie_status_t postie_body_finish(postie_body_encoder_t *e, uint8_t *out, size_t out_cap,
                                   size_t *produced)
{
    size_t o = 0;
    if (out_cap < POSTIE_BODY_FINISH_MAX) {
        *produced = 0;
        return POSTIE_E_NO_SPACE;
    }
    if (e->pending_cr || !e->line_start) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    e->pending_cr = false;
    e->line_start = true;
    if (e->dot_stuff) {
        out[o++] = '.';
        out[o++] = '\r';
        out[o++] = '\n';
    }
    e->out_octets += o;
    *produced = o;
    return POSTIE_OK;
}
