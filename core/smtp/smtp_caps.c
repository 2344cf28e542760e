/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an SMTP server offers: EHLO keyword lines into postie_smtp_caps_t,
 * and its one-line summary (see postie/smtp/smtp_caps.h).
 */
#include "postie/smtp/smtp_caps.h"

#include <string.h>

#include "postie/common/text.h"

static bool ascii_ieq(const char *a, size_t alen, const char *b)
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

/* Next space-separated word of s[*pos..n). */
static bool next_word(const char *s, size_t n, size_t *pos, const char **w, size_t *wlen)
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

static uint32_t sasl_bit(const char *w, size_t n)
{
    if (ascii_ieq(w, n, "PLAIN")) {
        return POSTIE_SASL_PLAIN;
    }
    if (ascii_ieq(w, n, "LOGIN")) {
        return POSTIE_SASL_LOGIN;
    }
    if (ascii_ieq(w, n, "XOAUTH2")) {
        return POSTIE_SASL_XOAUTH2;
    }
    if (ascii_ieq(w, n, "OAUTHBEARER")) {
        return POSTIE_SASL_OAUTHBEARER;
    }
    if (ascii_ieq(w, n, "CRAM-MD5")) {
        return POSTIE_SASL_CRAM_MD5;
    }
    return 0;
}

void postie_smtp_caps_parse_line(postie_smtp_caps_t *c, const char *text, size_t n)
{
    size_t pos = 0;
    const char *kw;
    size_t kwlen;
    const char *w;
    size_t wlen;

    if (!next_word(text, n, &pos, &kw, &kwlen)) {
        return;
    }
    if (kwlen > 5 && ascii_ieq(kw, 5, "AUTH=")) { /* old form: AUTH=LOGIN PLAIN */
        c->flags |= POSTIE_SMTP_CAP_AUTH;
        c->sasl |= sasl_bit(kw + 5, kwlen - 5);
        while (next_word(text, n, &pos, &w, &wlen)) {
            c->sasl |= sasl_bit(w, wlen);
        }
    } else if (ascii_ieq(kw, kwlen, "AUTH")) {
        c->flags |= POSTIE_SMTP_CAP_AUTH;
        while (next_word(text, n, &pos, &w, &wlen)) {
            c->sasl |= sasl_bit(w, wlen);
        }
    } else if (ascii_ieq(kw, kwlen, "SIZE")) {
        c->flags |= POSTIE_SMTP_CAP_SIZE;
        c->size_limit = 0;
        if (next_word(text, n, &pos, &w, &wlen)) {
            uint64_t v = 0;
            bool ok = wlen <= 19;
            for (size_t i = 0; ok && i < wlen; i++) {
                ok = w[i] >= '0' && w[i] <= '9';
                v = v * 10u + (uint64_t)(w[i] - '0');
            }
            c->size_limit = ok ? v : 0;
        }
    } else if (ascii_ieq(kw, kwlen, "8BITMIME")) {
        c->flags |= POSTIE_SMTP_CAP_8BITMIME;
    } else if (ascii_ieq(kw, kwlen, "SMTPUTF8")) {
        c->flags |= POSTIE_SMTP_CAP_SMTPUTF8;
    } else if (ascii_ieq(kw, kwlen, "PIPELINING")) {
        c->flags |= POSTIE_SMTP_CAP_PIPELINING;
    } else if (ascii_ieq(kw, kwlen, "CHUNKING")) {
        c->flags |= POSTIE_SMTP_CAP_CHUNKING;
    } else if (ascii_ieq(kw, kwlen, "DSN")) {
        c->flags |= POSTIE_SMTP_CAP_DSN;
    } else if (ascii_ieq(kw, kwlen, "STARTTLS")) {
        c->flags |= POSTIE_SMTP_CAP_STARTTLS;
    } else if (ascii_ieq(kw, kwlen, "ENHANCEDSTATUSCODES")) {
        c->flags |= POSTIE_SMTP_CAP_ENHANCEDSTATUSCODES;
    } else if (ascii_ieq(kw, kwlen, "BINARYMIME")) {
        c->flags |= POSTIE_SMTP_CAP_BINARYMIME;
    }
}

size_t postie_smtp_caps_format(const postie_smtp_caps_t *c, char *out, size_t cap)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {POSTIE_SMTP_CAP_STARTTLS, "STARTTLS"},
        {POSTIE_SMTP_CAP_PIPELINING, "PIPELINING"},
        {POSTIE_SMTP_CAP_CHUNKING, "CHUNKING"},
        {POSTIE_SMTP_CAP_8BITMIME, "8BITMIME"},
        {POSTIE_SMTP_CAP_SMTPUTF8, "SMTPUTF8"},
        {POSTIE_SMTP_CAP_DSN, "DSN"},
        {POSTIE_SMTP_CAP_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES"},
        {POSTIE_SMTP_CAP_BINARYMIME, "BINARYMIME"},
    };
    static const struct {
        uint32_t bit;
        const char *name;
    } mechs[] = {{POSTIE_SASL_PLAIN, "PLAIN"},
                 {POSTIE_SASL_LOGIN, "LOGIN"},
                 {POSTIE_SASL_XOAUTH2, "XOAUTH2"},
                 {POSTIE_SASL_OAUTHBEARER, "OAUTHBEARER"},
                 {POSTIE_SASL_CRAM_MD5, "CRAM-MD5"}};
    postie_text_t b;

    postie_text_init_str(&b, out, cap);
    postie_text_put(&b, c->esmtp ? "ESMTP" : "SMTP (no extensions)");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (c->flags & names[i].bit) {
            postie_text_put(&b, " ");
            postie_text_put(&b, names[i].name);
        }
    }
    if (c->flags & POSTIE_SMTP_CAP_SIZE) {
        postie_text_put(&b, " SIZE=");
        postie_text_put_u64(&b, c->size_limit);
    }
    if (c->flags & POSTIE_SMTP_CAP_AUTH) {
        postie_text_put(&b, " AUTH=");
        bool first = true;
        for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
            if (c->sasl & mechs[i].bit) {
                postie_text_put(&b, first ? "" : ",");
                postie_text_put(&b, mechs[i].name);
                first = false;
            }
        }
    }
    return b.len;
}

void postie_smtp_caps_server_name(postie_smtp_caps_t *c, const char *text, size_t n)
{
    const char *w;
    size_t wlen;
    size_t pos = 0;
    if (next_word(text, n, &pos, &w, &wlen)) {
        postie_text_copy_printable(c->server_name, sizeof(c->server_name), w, wlen);
    }
}
