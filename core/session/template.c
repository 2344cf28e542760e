/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From display-name templates. See postie/session/template.h for the contract.
 *
 * Shape: one tokenizer, next_token(), that both functions run: it returns a
 * run of literal text (a view into the template), a variable, or the first
 * problem. Check only walks the tokens; expand checks first, then walks them
 * again copying each piece out until one does not fit.
 */
#include "postie/session/template.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "postie/common/text.h"
#include "postie/common/utf8.h"

typedef enum { TPL_END, TPL_TEXT, TPL_FULLNAME, TPL_EMAIL, TPL_EMAIL_HOSTNAME } tpl_kind_t;

typedef struct {
    tpl_kind_t kind;
    size_t start; /* TPL_TEXT: the text is tpl[start..start+len) */
    size_t len;
} tpl_token_t;

static const struct {
    const char *name;
    tpl_kind_t kind;
} variables[] = {
    {"fullname", TPL_FULLNAME},
    {"email", TPL_EMAIL},
    {"email.hostname", TPL_EMAIL_HOSTNAME},
};

static const char why_syntax[] =
    "\"${\" without a closing \"}\" (write \"$${\" for a literal \"${\")";
static const char why_unknown[] = "unknown variable; known: ${fullname} ${email} ${email.hostname}";
static const char why_control[] = "control character (CR, LF, tab, ...) in the literal text";
static const char why_utf8[] = "invalid UTF-8 in the literal text";
static const char why_null[] = "no template";

static bool is_control(uint8_t c)
{
    return c < 0x20 || c == 0x7f;
}

/* s[0..n) == the C string name (no memcmp in core/). */
static bool same_name(const char *s, size_t n, const char *name)
{
    size_t i = 0;
    while (i < n && name[i] != '\0' && s[i] == name[i]) {
        i++;
    }
    return i == n && name[i] == '\0';
}

/* A '$' at tpl[i] starting a reference ("${") or the escape ("$${")? */
static bool starts_reference(const char *tpl, size_t i)
{
    return tpl[i] == '$' && tpl[i + 1] == '{';
}

static bool starts_escape(const char *tpl, size_t i)
{
    return tpl[i] == '$' && tpl[i + 1] == '$' && tpl[i + 2] == '{';
}

/* The next token at *pos. On an error *pos is the offset of the problem. */
static postie_status_t next_token(const char *tpl, size_t *pos, tpl_token_t *t, const char **why)
{
    size_t i = *pos;

    if (tpl[i] == '\0') {
        t->kind = TPL_END;
        return POSTIE_OK;
    }
    if (starts_escape(tpl, i)) {
        /* the escape "$${" writes "${", which is tpl[i+1..i+3) itself */
        t->kind = TPL_TEXT;
        t->start = i + 1;
        t->len = 2;
        *pos = i + 3;
        return POSTIE_OK;
    }
    if (starts_reference(tpl, i)) {
        size_t name = i + 2;
        size_t end = name;
        while (tpl[end] != '}') {
            if (tpl[end] == '\0' || starts_reference(tpl, end)) {
                *why = why_syntax;
                return POSTIE_E_TEMPLATE_SYNTAX; /* *pos stays at the '$' */
            }
            end++;
        }
        for (size_t v = 0; v < sizeof(variables) / sizeof(variables[0]); v++) {
            if (same_name(tpl + name, end - name, variables[v].name)) {
                t->kind = variables[v].kind;
                *pos = end + 1;
                return POSTIE_OK;
            }
        }
        *why = why_unknown;
        return POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE;
    }
    /* literal text up to the next reference or escape; a lone '$' is text */
    t->kind = TPL_TEXT;
    t->start = i;
    while (tpl[i] != '\0' && !starts_reference(tpl, i) && !starts_escape(tpl, i)) {
        uint8_t c = (uint8_t)tpl[i];
        if (is_control(c)) {
            *pos = i;
            *why = why_control;
            return POSTIE_E_FIELD_INVALID;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        /* one UTF-8 sequence; a NUL before its end makes it truncated */
        size_t n = postie_utf8_seq_len(c);
        size_t have = 1;
        while (have < n && tpl[i + have] != '\0') {
            have++;
        }
        if (n == 0 || have < n || !postie_utf8_valid((const uint8_t *)tpl + i, n, NULL)) {
            *pos = i;
            *why = why_utf8;
            return POSTIE_E_UTF8_INVALID;
        }
        i += n;
    }
    t->len = i - t->start;
    *pos = i;
    return POSTIE_OK;
}

postie_status_t postie_template_check(const char *tpl, size_t *bad_offset, const char **why)
{
    size_t pos = 0;
    const char *w = "";
    postie_status_t st = POSTIE_OK;

    if (tpl == NULL) {
        st = POSTIE_E_INVALID_ARGUMENT;
        w = why_null;
    } else {
        for (;;) {
            tpl_token_t t;
            st = next_token(tpl, &pos, &t, &w);
            if (st != POSTIE_OK || t.kind == TPL_END) {
                break;
            }
        }
    }
    if (st == POSTIE_OK) {
        pos = 0;
        w = "";
    }
    if (bad_offset != NULL) {
        *bad_offset = pos;
    }
    if (why != NULL) {
        *why = w;
    }
    return st;
}

/* Octets in the character starting at s[0] (of n > 0 left): a well-formed
 * looking UTF-8 sequence whole, anything else one octet at a time. */
static size_t char_len(const uint8_t *s, size_t n)
{
    size_t k = postie_utf8_seq_len(s[0]);
    if (k <= 1 || k > n) {
        return 1;
    }
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return k;
}

/* Append s[0..n) a whole character at a time, each control octet as a
 * space: a character that does not fit is not cut, it ends the text (the
 * builder's overflow is sticky). A control octet is always a character of
 * its own (char_len), so only one-octet characters become spaces. */
static void put(postie_text_t *k, const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;

    while (i < n && !k->overflow) {
        size_t c = char_len(u + i, n - i);
        if (c == 1 && is_control(u[i])) {
            postie_text_put_char(k, ' ');
        } else {
            postie_text_put_n(k, s + i, c);
        }
        i += c;
    }
}

postie_status_t postie_template_expand(const char *tpl, const postie_template_user_t *user,
                                       char *out, size_t cap, size_t *len)
{
    postie_text_t k;
    size_t pos = 0;
    const char *why = NULL;
    postie_status_t st;

    if (len != NULL) {
        *len = 0;
    }
    if (out == NULL && cap > 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (cap > 0) {
        out[0] = '\0';
    }
    if (user == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    st = postie_template_check(tpl, NULL, NULL);
    if (st != POSTIE_OK) {
        return st;
    }
    if (cap == 0) {
        return POSTIE_E_NO_SPACE; /* not even the NUL fits */
    }

    postie_text_init_str(&k, out, cap);
    while (!k.overflow) {
        tpl_token_t t;
        const char *fullname = user->fullname != NULL ? user->fullname : "";
        const char *email = user->email != NULL ? user->email : "";
        const char *at = NULL;

        (void)next_token(tpl, &pos, &t, &why); /* checked above: cannot fail */
        if (t.kind == TPL_END) {
            break;
        }
        switch (t.kind) {
        case TPL_TEXT:
            put(&k, tpl + t.start, t.len);
            break;
        case TPL_FULLNAME:
            put(&k, fullname, strlen(fullname));
            break;
        case TPL_EMAIL:
            put(&k, email, strlen(email));
            break;
        case TPL_EMAIL_HOSTNAME:
            for (const char *p = email; *p != '\0'; p++) {
                if (*p == '@') {
                    at = p;
                }
            }
            if (at != NULL) {
                put(&k, at + 1, strlen(at + 1));
            }
            break;
        case TPL_END:
        default:
            break;
        }
    }
    if (len != NULL) {
        *len = k.len;
    }
    return k.overflow ? POSTIE_E_NO_SPACE : POSTIE_OK;
}

/* ---- the subject prefix ----------------------------------------------------------- */

postie_status_t postie_template_subject(const char *prefix, const char *subject, char *out,
                                        size_t cap, size_t *len)
{
    postie_text_t t;
    size_t np;
    size_t ns;
    size_t gap;

    if (len != NULL) {
        *len = 0;
    }
    if (out == NULL || cap == 0) {
        return out == NULL && cap > 0 ? POSTIE_E_INVALID_ARGUMENT : POSTIE_E_NO_SPACE;
    }
    postie_text_init_str(&t, out, cap);
    prefix = prefix != NULL ? prefix : "";
    subject = subject != NULL ? subject : "";
    np = strlen(prefix);
    ns = strlen(subject);
    /* one space between them, unless the prefix brings its own */
    gap = np > 0 && ns > 0 && prefix[np - 1] != ' ' && prefix[np - 1] != '\t' ? 1u : 0u;
    if (np > t.cap || gap > t.cap - np || ns > t.cap - np - gap) {
        return POSTIE_E_NO_SPACE; /* nothing is cut: out stays "" */
    }
    postie_text_put_n(&t, prefix, np);
    if (gap != 0) {
        postie_text_put_char(&t, ' ');
    }
    postie_text_put_n(&t, subject, ns);
    if (len != NULL) {
        *len = t.len;
    }
    return POSTIE_OK;
}
