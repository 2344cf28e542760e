/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the HTTP/1.1 response parser (postie/common/http.h).
 *
 * The first input byte picks the body buffer's size (0..255), the rest is
 * fed in pieces whose sizes come from the input, then the close. Checked:
 * the body never passes its buffer (a canary after it stays intact), the
 * parser never takes more than it was given, a status it reports is in
 * 100..599, a failure always has a reason, and the same input fed whole
 * gives the same result.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static postie_status_t run(const uint8_t *data, size_t size, size_t cap, bool pieces,
                           postie_http_resp_t *r, uint8_t *body)
{
    size_t at = 0;
    postie_status_t st = POSTIE_E_AGAIN;
    postie_http_resp_init(r, body, cap);
    while (at < size && st == POSTIE_E_AGAIN) {
        size_t piece = pieces ? (size_t)(data[at] % 7u) + 1u : size - at;
        size_t used = 0;
        if (piece > size - at) {
            piece = size - at;
        }
        st = postie_http_resp_feed(r, data + at, piece, &used);
        if (used > piece || (st == POSTIE_E_AGAIN && used != piece)) {
            abort();
        }
        at += used;
    }
    if (st == POSTIE_E_AGAIN) {
        st = postie_http_resp_eof(r);
    }
    if (st == POSTIE_E_HTTP && r->why == NULL) {
        abort();
    }
    if (st == POSTIE_OK && (r->status < 100 || r->status > 599 || r->body_len > cap)) {
        abort();
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static postie_http_resp_t a;
    static postie_http_resp_t b;
    static uint8_t body_a[256 + 8];
    static uint8_t body_b[256 + 8];
    size_t cap;
    postie_status_t sa;
    postie_status_t sb;
    if (size == 0) {
        return 0;
    }
    cap = data[0];
    memset(body_a + cap, 0x5a, 8);
    sa = run(data + 1, size - 1, cap, true, &a, body_a);
    sb = run(data + 1, size - 1, cap, false, &b, body_b);
    for (size_t i = 0; i < 8; i++) {
        if (body_a[cap + i] != 0x5a) {
            abort();
        }
    }
    if (sa != sb || (sa == POSTIE_OK && (a.status != b.status || a.body_len != b.body_len ||
                                         memcmp(body_a, body_b, a.body_len) != 0))) {
        abort();
    }
    return 0;
}
