/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: From display-name templates (core/session/template.c).
 *
 * Input: two octets choose the output room (cap), the rest is split at NUL
 * octets into template, full name and email (a missing piece is NULL).
 * Each is cut to a few hundred octets so every expansion fits the
 * reference buffer. Checked:
 *   check: an offset inside the template pointing at what it blames ('$'
 *     of the reference, the control octet, a non-ASCII octet); a passing
 *     template has no control octet and is valid UTF-8; a small reference
 *     expander written from the header's grammar agrees on which templates
 *     have an unknown variable or an unterminated reference;
 *   expand, with the chosen cap and with the exact-fit caps around the full
 *     length: the same error as check for a bad template (out ""), else
 *     NUL-terminated, len < cap, nothing written at or past cap, no control
 *     octet (so no CR/LF), a prefix of the reference expansion, POSTIE_OK
 *     exactly when the whole fits, and when the inputs are valid UTF-8 the
 *     output is too and only the next whole character was left out.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/mime/mime_encode.h"
#include "postie/session/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TPL_MAX   512u
#define VALUE_MAX 256u
/* worst case: "${email}" (8 octets) per VALUE_MAX octets of output */
#define FULL_MAX  (TPL_MAX / 8u * VALUE_MAX + TPL_MAX + 1u)
#define GUARD     0xee

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

static char tpl[TPL_MAX + 1];
static char fullname[VALUE_MAX + 1];
static char email[VALUE_MAX + 1];
static char full[FULL_MAX];
static char out[FULL_MAX + 64];

/* Take the next NUL-separated piece of data into dst (cut to max octets). */
static bool take(const uint8_t **p, const uint8_t *end, char *dst, size_t max)
{
    size_t n = 0;
    if (*p >= end) {
        return false;
    }
    while (*p < end && **p != 0) {
        if (n < max) {
            dst[n++] = (char)**p;
        }
        (*p)++;
    }
    if (*p < end) {
        (*p)++; /* the NUL */
    }
    dst[n] = '\0';
    return true;
}

static bool is_control(uint8_t c)
{
    return c < 0x20 || c == 0x7f;
}

static size_t ref_put(size_t n, const char *s, bool value)
{
    for (; *s != '\0'; s++) {
        CHECK(n + 1 < FULL_MAX);
        full[n++] = value && is_control((uint8_t)*s) ? ' ' : *s;
    }
    return n;
}

/* The reference expander, straight from the header's grammar: false when
 * a reference is unterminated or names an unknown variable. */
static bool ref_expand(const char *t, const char *fn, const char *em, size_t *len)
{
    const char *host = "";
    size_t n = 0;
    for (const char *p = em; *p != '\0'; p++) {
        if (*p == '@') {
            host = p + 1;
        }
    }
    while (*t != '\0') {
        if (strncmp(t, "$${", 3) == 0) {
            n = ref_put(n, "${", false);
            t += 3;
        } else if (strncmp(t, "${", 2) == 0) {
            const char *close = strchr(t + 2, '}');
            const char *nested = strstr(t + 2, "${");
            size_t nl;
            if (close == NULL || (nested != NULL && nested < close)) {
                return false;
            }
            nl = (size_t)(close - (t + 2));
            if (nl == 8 && memcmp(t + 2, "fullname", 8) == 0) {
                n = ref_put(n, fn, true);
            } else if (nl == 5 && memcmp(t + 2, "email", 5) == 0) {
                n = ref_put(n, em, true);
            } else if (nl == 14 && memcmp(t + 2, "email.hostname", 14) == 0) {
                n = ref_put(n, host, true);
            } else {
                return false;
            }
            t = close + 1;
        } else {
            CHECK(n + 1 < FULL_MAX);
            full[n++] = *t++;
        }
    }
    full[n] = '\0';
    *len = n;
    return true;
}

static bool utf8_ok(const char *s)
{
    return postie_utf8_valid((const uint8_t *)s, strlen(s), NULL);
}

static void run_expand(const postie_template_user_t *user, size_t cap, postie_status_t checked,
                       size_t full_len, bool inputs_utf8)
{
    size_t len = 12345;
    postie_status_t st;

    CHECK(cap <= FULL_MAX);
    memset(out, GUARD, sizeof(out));
    st = postie_template_expand(tpl, user, cap > 0 ? out : NULL, cap, &len);

    for (size_t i = cap; i < sizeof(out); i++) {
        CHECK((uint8_t)out[i] == GUARD);
    }
    if (cap == 0) {
        CHECK(len == 0);
        CHECK(st == (checked == POSTIE_OK ? POSTIE_E_NO_SPACE : checked));
        return;
    }
    CHECK(len < cap);
    CHECK(out[len] == '\0');
    CHECK(strlen(out) == len);
    for (size_t i = 0; i < len; i++) {
        CHECK(!is_control((uint8_t)out[i]));
    }
    if (checked != POSTIE_OK) {
        CHECK(st == checked);
        CHECK(len == 0);
        return;
    }
    CHECK(memcmp(out, full, len) == 0);
    if (full_len < cap) {
        CHECK(st == POSTIE_OK);
        CHECK(len == full_len);
    } else {
        CHECK(st == POSTIE_E_NO_SPACE);
        CHECK(len < full_len);
        if (inputs_utf8) {
            /* cut between characters, and the next one did not fit */
            size_t next = postie_utf8_seq_len((uint8_t)full[len]);
            CHECK(utf8_ok(out));
            CHECK(next > 0);
            CHECK(len + next > cap - 1);
        } else {
            CHECK(cap - 1 - len < 4);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    const uint8_t *end = data + size;
    postie_template_user_t user;
    size_t off = 99999;
    const char *why = NULL;
    size_t full_len = 0;
    size_t cap;
    bool grammar_ok;
    bool inputs_utf8;
    postie_status_t st;

    if (size < 2) {
        return 0;
    }
    cap = ((size_t)data[0] | (size_t)data[1] << 8) % 1024u;
    p += 2;
    (void)take(&p, end, tpl, TPL_MAX);
    user.fullname = take(&p, end, fullname, VALUE_MAX) ? fullname : NULL;
    user.email = take(&p, end, email, VALUE_MAX) ? email : NULL;

    /* check */
    st = postie_template_check(tpl, &off, &why);
    CHECK(why != NULL);
    grammar_ok = ref_expand(tpl, user.fullname != NULL ? user.fullname : "",
                            user.email != NULL ? user.email : "", &full_len);
    switch (st) {
    case POSTIE_OK:
        CHECK(off == 0 && why[0] == '\0');
        CHECK(grammar_ok);
        CHECK(utf8_ok(tpl));
        for (const char *q = tpl; *q != '\0'; q++) {
            CHECK(!is_control((uint8_t)*q));
        }
        break;
    case POSTIE_E_TEMPLATE_SYNTAX:
    case POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE:
        CHECK(!grammar_ok);
        CHECK(off < strlen(tpl) && tpl[off] == '$' && tpl[off + 1] == '{');
        CHECK(why[0] != '\0');
        break;
    case POSTIE_E_FIELD_INVALID:
        CHECK(off < strlen(tpl) && is_control((uint8_t)tpl[off]));
        CHECK(why[0] != '\0');
        break;
    case POSTIE_E_UTF8_INVALID:
        CHECK(off < strlen(tpl) && (uint8_t)tpl[off] >= 0x80);
        CHECK(!utf8_ok(tpl));
        CHECK(why[0] != '\0');
        break;
    default:
        CHECK(0);
    }

    /* expand */
    inputs_utf8 = (user.fullname == NULL || utf8_ok(user.fullname)) &&
                  (user.email == NULL || utf8_ok(user.email));
    run_expand(&user, cap, st, full_len, inputs_utf8);
    if (st == POSTIE_OK) {
        run_expand(&user, full_len + 1, st, full_len, inputs_utf8); /* exact fit */
        run_expand(&user, full_len, st, full_len, inputs_utf8);     /* one short */
        if (full_len > 0) {
            run_expand(&user, full_len - 1, st, full_len, inputs_utf8);
        }
    }
    return 0;
}
