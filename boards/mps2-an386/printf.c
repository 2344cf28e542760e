/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snprintf() and vsnprintf() for the board, in place of newlib's: newlib
 * (nano) formats through its stdio core, which links malloc and realloc
 * (for asprintf's growing strings), and the image must hold no allocator.
 * mbedTLS, Postie's TLS layer and the console use these.
 *
 * What it formats: flags '-', '0', '+', ' ', '#'; a field width and a
 * precision (digits or '*'); the length modifiers hh, h, l, ll, j, z, t;
 * the conversions d i u o x X c s p and %%. Not floating point (%f, %e,
 * %g, %a print "?"), not %n (printed as "?": it writes memory).
 * Output is cut at size - 1 octets and always NUL-terminated when size > 0;
 * the return value is the length the whole result would have, as C99 says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t cap; /* octets that may be written, the NUL included */
    size_t len; /* octets the full result has so far */
} out_t;

static void put(out_t *o, char c)
{
    if (o->len + 1u < o->cap) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void put_n(out_t *o, char c, int n)
{
    for (int i = 0; i < n; i++) {
        put(o, c);
    }
}

/* One converted field: sign/prefix, zeros, digits, padded to width. */
static void field(out_t *o, const char *prefix, const char *body, size_t body_len, int zeros,
                  int width, int left, int zero_pad)
{
    int plen = (int)strlen(prefix);
    int total = plen + zeros + (int)body_len;
    int pad = width > total ? width - total : 0;
    if (!left && !zero_pad) {
        put_n(o, ' ', pad);
    }
    for (int i = 0; i < plen; i++) {
        put(o, prefix[i]);
    }
    if (!left && zero_pad) {
        put_n(o, '0', pad);
    }
    put_n(o, '0', zeros);
    for (size_t i = 0; i < body_len; i++) {
        put(o, body[i]);
    }
    if (left) {
        put_n(o, ' ', pad);
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    out_t o = {buf, size, 0};
    va_list args;
    va_copy(args, ap);
    while (*fmt != '\0') {
        int left = 0, zero = 0, plus = 0, space = 0, alt = 0;
        int width = 0, prec = -1;
        int lng =
            0; /* 0 int, 1 long, 2 long long, 3 size_t/ptrdiff_t/intmax_t, -1 short, -2 char */
        char digits[24];
        size_t n = 0;
        char conv;
        if (*fmt != '%') {
            put(&o, *fmt++);
            continue;
        }
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-') {
                left = 1;
            } else if (*fmt == '0') {
                zero = 1;
            } else if (*fmt == '+') {
                plus = 1;
            } else if (*fmt == ' ') {
                space = 1;
            } else if (*fmt == '#') {
                alt = 1;
            } else {
                break;
            }
        }
        if (*fmt == '*') {
            width = va_arg(args, int);
            if (width < 0) {
                left = 1;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9') {
                width = width * 10 + (*fmt++ - '0');
            }
        }
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(args, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9') {
                    prec = prec * 10 + (*fmt++ - '0');
                }
            }
        }
        if (*fmt == 'h') {
            lng = -1;
            if (*++fmt == 'h') {
                lng = -2;
                fmt++;
            }
        } else if (*fmt == 'l') {
            lng = 1;
            if (*++fmt == 'l') {
                lng = 2;
                fmt++;
            }
        } else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') {
            lng = *fmt == 'j' ? 2 : 3;
            fmt++;
        }
        conv = *fmt;
        if (conv == '\0') {
            break;
        }
        fmt++;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            unsigned long long u;
            const char *sign = "";
            if (lng == 2) {
                v = va_arg(args, long long);
            } else if (lng == 1) {
                v = va_arg(args, long);
            } else if (lng == 3) {
                v = va_arg(args, ptrdiff_t);
            } else {
                v = va_arg(args, int);
                v = lng == -1 ? (short)v : lng == -2 ? (signed char)v : v;
            }
            u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            if (v < 0) {
                sign = "-";
            } else if (plus) {
                sign = "+";
            } else if (space) {
                sign = " ";
            }
            do {
                digits[sizeof(digits) - ++n] = (char)('0' + (u % 10u));
                u /= 10u;
            } while (u != 0);
            if (prec == 0 && v == 0) {
                n = 0;
            }
            field(&o, sign, digits + sizeof(digits) - n, n, prec > (int)n ? prec - (int)n : 0,
                  width, left, zero && prec < 0);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X':
        case 'p': {
            unsigned long long u;
            unsigned base = conv == 'o' ? 8u : conv == 'u' ? 10u : 16u;
            const char *hex = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
            const char *prefix = "";
            if (conv == 'p') {
                u = (uintptr_t)va_arg(args, void *);
                prefix = "0x";
            } else if (lng == 2) {
                u = va_arg(args, unsigned long long);
            } else if (lng == 1) {
                u = va_arg(args, unsigned long);
            } else if (lng == 3) {
                u = va_arg(args, size_t);
            } else {
                u = va_arg(args, unsigned);
                u = lng == -1 ? (unsigned short)u : lng == -2 ? (unsigned char)u : u;
            }
            if (alt && u != 0 && base == 16u) {
                prefix = conv == 'X' ? "0X" : "0x";
            } else if (alt && base == 8u) {
                prefix = "0";
            }
            do {
                digits[sizeof(digits) - ++n] = hex[u % base];
                u /= base;
            } while (u != 0);
            if (prec == 0 && n == 1 && digits[sizeof(digits) - 1] == '0' && conv != 'p') {
                n = 0;
            }
            field(&o, prefix, digits + sizeof(digits) - n, n, prec > (int)n ? prec - (int)n : 0,
                  width, left, zero && prec < 0);
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);
            field(&o, "", &c, 1, 0, width, left, 0);
            break;
        }
        case 's': {
            const char *s = va_arg(args, const char *);
            size_t len = 0;
            if (s == NULL) {
                s = "(null)";
            }
            while (s[len] != '\0' && (prec < 0 || len < (size_t)prec)) {
                len++;
            }
            field(&o, "", s, len, 0, width, left, 0);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default:
            /* floating point, %n and anything unknown */
            if (conv == 'f' || conv == 'F' || conv == 'e' || conv == 'E' || conv == 'g' ||
                conv == 'G' || conv == 'a' || conv == 'A') {
                (void)va_arg(args, double);
            }
            put(&o, '?');
            break;
        }
    }
    va_end(args);
    if (size > 0) {
        o.buf[o.len < size ? o.len : size - 1u] = '\0';
    }
    return o.len > (size_t)INT32_MAX ? -1 : (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
