/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the decoder of a refused OAuth 2.0 token's error
 * challenge (postie_sasl_oauth_error, postie_sasl_oauth_error_subject).
 *
 * The first input octet picks the output sizes and whether the rest is fed
 * as the challenge itself (any bytes: mostly not base64) or base64-encoded
 * first (so the JSON scanner sees arbitrary decoded text). Checked: both
 * outputs NUL-terminated within their buffers (canaries after them stay
 * untouched), nothing below 0x20 or 0x7F in them, and the subject likewise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/base64.h"
#include "postie/common/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20u || c == 0x7Fu) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char b64[8192];
    char status[POSTIE_SASL_STATUS_MAX + 8];
    char text[600 + 8];
    char subject[96 + 8];
    size_t status_cap;
    size_t text_cap;
    const char *in;
    size_t in_len;

    if (size < 1) {
        return 0;
    }
    status_cap = 1u + (data[0] & 0x1Fu);       /* 1..32 */
    text_cap = (data[0] & 0x40u) ? 600u : 48u; /* beyond and within the 511 kept */
    data++;
    size--;
    if (data[-1] & 0x80u) {
        size_t n = 0;
        if (POSTIE_BASE64_LEN(size) + 1 > sizeof(b64) ||
            postie_base64_encode(data, size, b64, sizeof(b64), &n) != POSTIE_OK) {
            return 0;
        }
        in = b64;
        in_len = n;
    } else {
        in = (const char *)data;
        in_len = size;
    }
    memset(status, 0x5A, sizeof(status));
    memset(text, 0x5A, sizeof(text));
    memset(subject, 0x5A, sizeof(subject));
    (void)postie_sasl_oauth_error(in, in_len, status, status_cap, text, text_cap);
    check_text(status, status_cap);
    check_text(text, text_cap);
    for (size_t i = status_cap; i < sizeof(status); i++) {
        if (status[i] != 0x5A) {
            abort();
        }
    }
    for (size_t i = text_cap; i < sizeof(text); i++) {
        if (text[i] != 0x5A) {
            abort();
        }
    }
    postie_sasl_oauth_error_subject(in, in_len, subject, 96);
    check_text(subject, 96);
    for (size_t i = 96; i < sizeof(subject); i++) {
        if (subject[i] != 0x5A) {
            abort();
        }
    }
    return 0;
}
