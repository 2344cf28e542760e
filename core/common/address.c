/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mailbox and host-name checks (RFC 5321 4.1.2, RFC 6531). See
 * postie/common/address.h.
 */
#include "postie/common/address.h"

#include <string.h>

#include "postie/common/utf8.h"

/* RFC 5322 atext, plus UTF8-non-ascii (RFC 6531). Octets >= 0x80 are taken
 * one by one: the whole address is checked as UTF-8 first. */
static bool atext(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL) || c >= 0x80;
}

static bool let_dig(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool hex_digit(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Local-part = Dot-string / Quoted-string (RFC 5321 4.1.2), at s[0..n).
 * Returns its length, or 0 when s does not start with one. */
static size_t local_part(const uint8_t *s, size_t n)
{
    size_t i = 0;
    if (n > 0 && s[0] == '"') {
        /* Quoted-string: qtextSMTP / quoted-pairSMTP ("\" then %d32-126) */
        for (i = 1; i < n; i++) {
            uint8_t c = s[i];
            if (c == '"') {
                return i + 1;
            }
            if (c == '\\') {
                if (++i >= n || s[i] < 32 || s[i] > 126) {
                    return 0;
                }
            } else if (c < 32 || c == 127) {
                return 0;
            }
        }
        return 0; /* no closing quote */
    }
    /* Dot-string: Atom *("." Atom) */
    for (;;) {
        size_t start = i;
        while (i < n && atext(s[i])) {
            i++;
        }
        if (i == start) {
            return 0; /* empty atom: leading, trailing or double dot */
        }
        if (i < n && s[i] == '.') {
            i++;
            continue;
        }
        return i;
    }
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2), or a U-label (RFC 6531): octets >= 0x80 count as
 * letters. An ASCII label has at most 63 octets (RFC 1035 2.3.4). */
static bool domain_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        bool ascii = true;
        while (i < n && (let_dig(s[i]) || s[i] == '-' || s[i] >= 0x80)) {
            ascii = ascii && s[i] < 0x80;
            i++;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-' || (ascii && i - start > 63)) {
            return false;
        }
        if (i == n) {
            return true;
        }
        if (s[i] != '.') {
            return false;
        }
        i++;
    }
}

/* IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0..255. */
static bool ipv4_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t start = i;
        if (part > 0) {
            if (i >= n || s[i] != '.') {
                return false;
            }
            start = ++i;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            v = v * 10u + (unsigned)(s[i] - '0');
            i++;
        }
        if (i == start || v > 255) {
            return false;
        }
    }
    return i == n;
}

/* IPv6-addr (RFC 5321 4.1.3): eight groups of 1-4 hex digits, or fewer
 * with one "::" standing for at least two zero groups; the last two groups
 * may be written as an IPv4 address. */
static bool ipv6_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    size_t groups = 0;
    bool compressed = false;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
    }
    while (i < n) {
        size_t start = i;
        size_t end = i;
        while (end < n && s[end] != ':') {
            end++;
        }
        if (memchr(s + start, '.', end - start) != NULL) {
            /* the IPv4 tail must end the address */
            if (end != n || !ipv4_ok(s + start, end - start)) {
                return false;
            }
            groups += 2;
            break;
        }
        while (i < end && hex_digit(s[i])) {
            i++;
        }
        if (i == start || i != end || i - start > 4) {
            return false;
        }
        groups++;
        if (i == n) {
            break;
        }
        i++; /* the ':' */
        if (i < n && s[i] == ':') {
            if (compressed) {
                return false; /* a second "::" */
            }
            compressed = true;
            i++;
        } else if (i == n) {
            return false; /* a single trailing ':' */
        }
    }
    return compressed ? groups <= 6 : groups == 8;
}

/* address-literal = "[" ( IPv4-address-literal / "IPv6:" IPv6-addr ) "]".
 * General-address-literal needs a tag registered with IANA; none is
 * besides IPv6, so it is refused. */
static bool address_literal_ok(const uint8_t *s, size_t n)
{
    if (n < 2 || s[0] != '[' || s[n - 1] != ']') {
        return false;
    }
    s++;
    n -= 2;
    if (n > 5 && (s[0] == 'I' || s[0] == 'i') && (s[1] == 'P' || s[1] == 'p') &&
        (s[2] == 'V' || s[2] == 'v') && s[3] == '6' && s[4] == ':') {
        return ipv6_ok(s + 5, n - 5);
    }
    return ipv4_ok(s, n);
}

static bool domain_or_literal_ok(const uint8_t *s, size_t n)
{
    return n > 0 && s[0] == '[' ? address_literal_ok(s, n) : domain_ok(s, n);
}

postie_status_t postie_address_check(const char *address, bool allow_empty, bool *non_ascii)
{
    const uint8_t *s = (const uint8_t *)address;
    bool utf8 = false;
    size_t n;
    size_t local;
    if (non_ascii != NULL) {
        *non_ascii = false;
    }
    if (address == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (n = 0; n <= 256 && address[n] != '\0'; n++) {
        utf8 = utf8 || s[n] >= 0x80;
    }
    if (n > 256) {
        return POSTIE_E_ADDRESS_TOO_LONG; /* RFC 5321 4.5.3.1.3: a path is 256 octets */
    }
    if (n == 0) {
        return allow_empty ? POSTIE_OK : POSTIE_E_ADDRESS_INVALID;
    }
    if (utf8 && !postie_utf8_valid(s, n, NULL)) {
        return POSTIE_E_ADDRESS_INVALID;
    }
    local = local_part(s, n);
    if (local == 0 || local >= n || s[local] != '@' ||
        !domain_or_literal_ok(s + local + 1, n - local - 1)) {
        return POSTIE_E_ADDRESS_INVALID;
    }
    if (non_ascii != NULL) {
        *non_ascii = utf8;
    }
    return POSTIE_OK;
}

postie_status_t postie_address_check_hostname(const char *name)
{
    size_t n;
    if (name == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (n = 0; n <= 255 && name[n] != '\0'; n++) {
    }
    if (n == 0 || n > 255) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        if ((uint8_t)name[i] >= 0x80) {
            return POSTIE_E_INVALID_ARGUMENT; /* A-labels only: EHLO comes before SMTPUTF8 */
        }
    }
    return domain_or_literal_ok((const uint8_t *)name, n) ? POSTIE_OK : POSTIE_E_INVALID_ARGUMENT;
}
