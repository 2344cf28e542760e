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
        e->line_start = false;
        /* Fast path: copy the run of ordinary octets up to the next line end. */
        size_t run = 1;
        size_t room = out_cap - o; /* >= 1: at most 3 of the 4 reserved octets were used */
        while (i + run < in_len && run < room && plain_octet(in[i + run], e->allow_8bit)) {
            run++;
        }
        memcpy(out + o, in + i, run);
        o += run;
        i += run;
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
