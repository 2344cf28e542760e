/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMAP syntax helpers without state (see imap_internal.h): words and
 * numbers of a response, response codes, modified UTF-7 (RFC 3501 5.1.3)
 * and astrings for the commands.
 */
#include <string.h>

#include "postie/common/text.h"
#include "postie/common/utf8.h"

#include "imap_internal.h"

bool postie_imapx_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A decimal number of 1..19 digits (no sign), or false. */
bool postie_imapx_parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!postie_imapx_is_digit(s[i])) {
            return false;
        }
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* A number that fits 32 bits (nz-number when nonzero is set). */
bool postie_imapx_parse_u32(const char *s, size_t n, bool nonzero, uint32_t *out)
{
    uint64_t v;
    if (!postie_imapx_parse_u64(s, n, &v) || v > UINT32_MAX || (nonzero && v == 0)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* Modified UTF-7 (RFC 3501 5.1.3) of the folder name into b. */
void postie_imapx_put_mutf7(postie_text_t *b, const char *name)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    const uint8_t *s = (const uint8_t *)name;
    size_t n = strlen(name);
    size_t i = 0;
    bool in_b64 = false;
    uint32_t bits = 0;
    unsigned nbits = 0;

    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c <= 0x7E) {
            if (in_b64) {
                if (nbits > 0) {
                    postie_text_put_char(b, alphabet[(bits << (6 - nbits)) & 0x3Fu]);
                }
                postie_text_put_char(b, '-');
                in_b64 = false;
                bits = 0;
                nbits = 0;
            }
            postie_text_put(b, c == '&' ? "&-" : (const char[]){(char)c, '\0'});
            i++;
            continue;
        }
        size_t len = postie_utf8_char_len(s + i, n - i);
        uint32_t cp;
        uint16_t units[2];
        size_t nunits = 1;
        if (len == 0) {
            postie_text_fail(b); /* init checked it; never here */
            return;
        }
        cp = len == 1 ? c : (len == 2 ? (c & 0x1Fu) : (len == 3 ? (c & 0x0Fu) : (c & 0x07u)));
        for (size_t k = 1; k < len; k++) {
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        i += len;
        if (cp >= 0x10000u) {
            cp -= 0x10000u;
            units[0] = (uint16_t)(0xD800u + (cp >> 10));
            units[1] = (uint16_t)(0xDC00u + (cp & 0x3FFu));
            nunits = 2;
        } else {
            units[0] = (uint16_t)cp;
        }
        if (!in_b64) {
            postie_text_put_char(b, '&');
            in_b64 = true;
        }
        for (size_t u = 0; u < nunits; u++) {
            bits = (bits << 16) | units[u];
            nbits += 16;
            while (nbits >= 6) {
                nbits -= 6;
                postie_text_put_char(b, alphabet[(bits >> nbits) & 0x3Fu]);
            }
            bits &= (1u << nbits) - 1u;
        }
    }
    if (in_b64) {
        if (nbits > 0) {
            postie_text_put_char(b, alphabet[(bits << (6 - nbits)) & 0x3Fu]);
        }
        postie_text_put_char(b, '-');
    }
}

/* An astring: an atom when every octet is an atom character, else a
 * quoted string (the encoded name is 7-bit without CR or LF). */
void postie_imapx_put_astring_7bit(postie_text_t *b, const char *s, size_t n)
{
    bool atom = n > 0;
    for (size_t i = 0; i < n && atom; i++) {
        char c = s[i];
        atom = c > 0x20 && c < 0x7F && strchr("(){%*\"\\]", c) == NULL;
    }
    if (atom) {
        postie_text_put_n(b, s, n);
        return;
    }
    postie_text_put_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            postie_text_put_char(b, '\\');
        }
        postie_text_put_char(b, s[i]);
    }
    postie_text_put_char(b, '"');
}

/* The [CODE args] of a status response text, if any. */
void postie_imapx_response_code(const char *t, size_t n, const char **code, size_t *code_len,
                                const char **args, size_t *args_len)
{
    size_t i = 1;
    *code = NULL;
    *code_len = 0;
    *args = NULL;
    *args_len = 0;
    if (n == 0 || t[0] != '[') {
        return;
    }
    while (i < n && t[i] != ' ' && t[i] != ']') {
        i++;
    }
    if (i >= n) {
        return;
    }
    *code = t + 1;
    *code_len = i - 1;
    if (t[i] == ' ') {
        size_t a = i + 1;
        size_t depth = 0;
        i = a;
        while (i < n && (t[i] != ']' || depth > 0)) {
            depth += t[i] == '(' ? 1u : 0u;
            depth -= (t[i] == ')' && depth > 0) ? 1u : 0u;
            i++;
        }
        *args = t + a;
        *args_len = i - a;
    }
}
