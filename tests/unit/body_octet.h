/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SMTP body encoder octet at a time, as core/smtp/body.c was before its
 * fast path: the reference test_body.c and fuzz_body.c hold the fast path
 * to, call for call.
 */
#ifndef POSTIE_TEST_BODY_OCTET_H
#define POSTIE_TEST_BODY_OCTET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "postie/smtp/body.h"

/* Kept verbatim in behaviour: the fast path (word-at-a-time scanning, whole
 * lines copied at once) must match it call for call: the same status, the
 * same octets consumed and produced, the same output and state. */
static bool old_plain_octet(uint8_t c, bool allow_8bit)
{
    return c != '\r' && c != '\n' && c != '\0' && (c < 0x80 || allow_8bit);
}

static postie_status_t old_encode(postie_body_encoder_t *e, const uint8_t *in, size_t in_len,
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
            if (c == '\n') {
                i++;
                continue;
            }
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
        if (c == '\n') {
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
        size_t run = 1;
        size_t room = out_cap - o;
        while (i + run < in_len && run < room && old_plain_octet(in[i + run], e->allow_8bit)) {
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

#endif /* POSTIE_TEST_BODY_OCTET_H */
