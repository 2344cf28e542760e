/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

postie_status_t postie_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap,
                                     size_t *out_len)
{
    size_t need = POSTIE_BASE64_LEN(n);
    size_t i = 0;
    size_t o = 0;

    if (need + 1 > cap || need < n) {
        return POSTIE_E_NO_SPACE;
    }
    while (i + 3 <= n) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
        i += 3;
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = (i + 1 < n) ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len != NULL) {
        *out_len = o;
    }
    return POSTIE_OK;
}

static int decode_char(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

postie_status_t postie_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                                     size_t *out_len)
{
    size_t o = 0;

    if (n % 4 != 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t pad = 0;
        for (size_t k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad != 0) {
                return POSTIE_E_INVALID_ARGUMENT; /* data after '=' */
            } else {
                v[k] = decode_char(in[i + k]);
                if (v[k] < 0) {
                    return POSTIE_E_INVALID_ARGUMENT;
                }
            }
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        size_t produce = 3 - pad;
        if (o + produce > cap) {
            return POSTIE_E_NO_SPACE;
        }
        out[o++] = (uint8_t)(w >> 16);
        if (produce > 1) {
            out[o++] = (uint8_t)(w >> 8);
        }
        if (produce > 2) {
            out[o++] = (uint8_t)w;
        }
    }
    if (out_len != NULL) {
        *out_len = o;
    }
    return POSTIE_OK;
}
