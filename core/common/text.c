/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded text. See postie/common/text.h for the contract.
 */
#include "postie/common/text.h"

#include <string.h>

static void terminate(postie_text_t *t)
{
    if (t->terminate) {
        t->buf[t->len] = '\0';
    }
}

void postie_text_init(postie_text_t *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    t->terminate = false;
    t->overflow = false;
}

void postie_text_init_str(postie_text_t *t, char *buf, size_t size)
{
    t->buf = buf;
    t->cap = size > 0 ? size - 1 : 0;
    t->len = 0;
    t->terminate = size > 0;
    t->overflow = false;
    terminate(t);
}

void postie_text_put_n(postie_text_t *t, const void *s, size_t n)
{
    if (t->overflow || n > t->cap - t->len) {
        t->overflow = true;
        return;
    }
    if (n > 0) {
        memcpy(t->buf + t->len, s, n);
        t->len += n;
    }
    terminate(t);
}

void postie_text_put(postie_text_t *t, const char *s)
{
    postie_text_put_n(t, s, strlen(s));
}

void postie_text_put_char(postie_text_t *t, char c)
{
    postie_text_put_n(t, &c, 1);
}

void postie_text_put_u64(postie_text_t *t, uint64_t v)
{
    char digits[POSTIE_TEXT_U64_DIGITS];
    postie_text_put_n(t, digits, postie_text_format_u64(v, digits));
}

void postie_text_put_cut_n(postie_text_t *t, const void *s, size_t n)
{
    size_t room = t->overflow ? 0 : t->cap - t->len;
    if (n > room) {
        postie_text_put_n(t, s, room);
        t->overflow = true;
        return;
    }
    postie_text_put_n(t, s, n);
}

void postie_text_put_cut(postie_text_t *t, const char *s)
{
    postie_text_put_cut_n(t, s, strlen(s));
}

void postie_text_rewind(postie_text_t *t, size_t len)
{
    if (len > t->len) {
        return;
    }
    t->len = len;
    t->overflow = false;
    terminate(t);
}

char *postie_text_tail(const postie_text_t *t, size_t *room)
{
    *room = t->overflow ? 0 : t->cap - t->len;
    return t->len > 0 ? t->buf + t->len : t->buf; /* no offset on a NULL buffer */
}

void postie_text_advance(postie_text_t *t, size_t n)
{
    if (t->overflow || n > t->cap - t->len) {
        t->overflow = true;
        return;
    }
    t->len += n;
    terminate(t);
}

void postie_text_fail(postie_text_t *t)
{
    t->overflow = true;
}

bool postie_text_copy(char *dst, size_t size, const char *src)
{
    postie_text_t t;
    postie_text_init_str(&t, dst, size);
    postie_text_put_cut(&t, src);
    return !t.overflow;
}

void postie_text_copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    if (cap == 0) {
        return;
    }
    while (n < len && n + 1 < cap) {
        unsigned char c = (unsigned char)src[n];
        dst[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        n++;
    }
    dst[n] = '\0';
}

/* No 64-bit division: on 32-bit targets it would link libgcc's (about
 * 0.9 KiB on a Cortex-M4). A value that fits 32 bits is divided in 32 bits.
 * A larger one has its digits for 10^19 down to 10^9 found by subtracting
 * powers of ten (at most 9 per digit), and its last nine, zero-padded, by
 * 32-bit division. */
size_t postie_text_format_u64(uint64_t v, char *out)
{
    static const uint64_t pow10[] = {
        10000000000000000000u, 1000000000000000000u, 100000000000000000u, 10000000000000000u,
        1000000000000000u,     100000000000000u,     10000000000000u,     1000000000000u,
        100000000000u,         10000000000u,         1000000000u,
    };
    char rev[10];
    size_t n = 0;
    size_t k = 0;
    uint32_t low;
    if (v > UINT32_MAX) {
        for (size_t i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
            unsigned digit = 0;
            while (v >= pow10[i]) {
                v -= pow10[i];
                digit++;
            }
            if (digit != 0 || n != 0) {
                out[n++] = (char)('0' + digit);
            }
        }
    }
    low = (uint32_t)v; /* below 10^9 when digits were written above */
    do {
        rev[k++] = (char)('0' + low % 10u);
        low /= 10u;
    } while (low != 0);
    if (n != 0) {
        while (k < 9) {
            rev[k++] = '0';
        }
    }
    while (k > 0) {
        out[n++] = rev[--k];
    }
    return n;
}

bool postie_ascii_ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen) {
        return false;
    }
    for (size_t i = 0; i < alen; i++) {
        char x = a[i];
        char y = b[i];
        if (x >= 'a' && x <= 'z') {
            x = (char)(x - 'a' + 'A');
        }
        if (y >= 'a' && y <= 'z') {
            y = (char)(y - 'a' + 'A');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

bool postie_next_word(const char *s, size_t n, size_t *pos, const char **w, size_t *wlen)
{
    size_t i = *pos;
    while (i < n && s[i] == ' ') {
        i++;
    }
    if (i >= n) {
        *pos = i;
        return false;
    }
    *w = s + i;
    while (i < n && s[i] != ' ') {
        i++;
    }
    *wlen = (size_t)(s + i - *w);
    *pos = i;
    return true;
}
