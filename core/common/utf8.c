/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UTF-8 checks (RFC 3629). See postie/common/utf8.h.
 */
#include "postie/common/utf8.h"

size_t postie_utf8_seq_len(uint8_t c)
{
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        return 4;
    }
    return 0; /* continuation, overlong lead C0/C1, or F5..FF */
}

static bool is_cont(uint8_t c)
{
    return (c & 0xC0u) == 0x80u;
}

size_t postie_utf8_char_len(const uint8_t *s, size_t avail)
{
    size_t n = postie_utf8_seq_len(s[0]);
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;

    if (n == 0 || n > avail) {
        return 0;
    }
    /* RFC 3629 4: the second octet's range depends on the lead. */
    switch (s[0]) {
    case 0xE0:
        lo = 0xA0; /* below: overlong */
        break;
    case 0xED:
        hi = 0x9F; /* above: surrogates */
        break;
    case 0xF0:
        lo = 0x90; /* below: overlong */
        break;
    case 0xF4:
        hi = 0x8F; /* above: past U+10FFFF */
        break;
    default:
        break;
    }
    if (n >= 2 && (s[1] < lo || s[1] > hi)) {
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if (!is_cont(s[k])) {
            return 0;
        }
    }
    return n;
}

bool postie_utf8_valid(const uint8_t *s, size_t len, size_t *bad_offset)
{
    size_t i = 0;

    while (i < len) {
        size_t n;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        n = postie_utf8_char_len(s + i, len - i);
        if (n == 0) {
            if (bad_offset != NULL) {
                *bad_offset = i;
            }
            return false;
        }
        i += n;
    }
    return true;
}
