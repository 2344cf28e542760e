/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an SMTP server offers: EHLO keyword lines into postie_smtp_caps_t,
 * and its one-line summary (see postie/smtp/smtp_caps.h).
 */
#include "postie/smtp/smtp_caps.h"

#include <string.h>

#include "postie/common/text.h"

void postie_smtp_caps_parse_line(postie_smtp_caps_t *c, const char *text, size_t n)
{
    size_t pos = 0;
    const char *kw;
    size_t kwlen;
    const char *w;
    size_t wlen;

    if (!postie_next_word(text, n, &pos, &kw, &kwlen)) {
        return;
    }
    if (kwlen > 5 && postie_ascii_ieq(kw, 5, "AUTH=")) { /* old form: AUTH=LOGIN PLAIN */
        c->flags |= POSTIE_SMTP_CAP_AUTH;
        c->sasl |= postie_sasl_mechanism(kw + 5, kwlen - 5);
        while (postie_next_word(text, n, &pos, &w, &wlen)) {
            c->sasl |= postie_sasl_mechanism(w, wlen);
        }
    } else if (postie_ascii_ieq(kw, kwlen, "AUTH")) {
        c->flags |= POSTIE_SMTP_CAP_AUTH;
        while (postie_next_word(text, n, &pos, &w, &wlen)) {
            c->sasl |= postie_sasl_mechanism(w, wlen);
        }
    } else if (postie_ascii_ieq(kw, kwlen, "SIZE")) {
        c->flags |= POSTIE_SMTP_CAP_SIZE;
        c->size_limit = 0;
        if (postie_next_word(text, n, &pos, &w, &wlen)) {
            uint64_t v = 0;
            bool ok = wlen <= 19;
            for (size_t i = 0; ok && i < wlen; i++) {
                ok = w[i] >= '0' && w[i] <= '9';
                v = v * 10u + (uint64_t)(w[i] - '0');
            }
            c->size_limit = ok ? v : 0;
        }
    } else if (postie_ascii_ieq(kw, kwlen, "8BITMIME")) {
        c->flags |= POSTIE_SMTP_CAP_8BITMIME;
    } else if (postie_ascii_ieq(kw, kwlen, "SMTPUTF8")) {
        c->flags |= POSTIE_SMTP_CAP_SMTPUTF8;
    } else if (postie_ascii_ieq(kw, kwlen, "PIPELINING")) {
        c->flags |= POSTIE_SMTP_CAP_PIPELINING;
    } else if (postie_ascii_ieq(kw, kwlen, "CHUNKING")) {
        c->flags |= POSTIE_SMTP_CAP_CHUNKING;
    } else if (postie_ascii_ieq(kw, kwlen, "DSN")) {
        c->flags |= POSTIE_SMTP_CAP_DSN;
    } else if (postie_ascii_ieq(kw, kwlen, "STARTTLS")) {
        c->flags |= POSTIE_SMTP_CAP_STARTTLS;
    } else if (postie_ascii_ieq(kw, kwlen, "ENHANCEDSTATUSCODES")) {
        c->flags |= POSTIE_SMTP_CAP_ENHANCEDSTATUSCODES;
    } else if (postie_ascii_ieq(kw, kwlen, "BINARYMIME")) {
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
    if (postie_next_word(text, n, &pos, &w, &wlen)) {
        postie_text_copy_printable(c->server_name, sizeof(c->server_name), w, wlen);
    }
}
