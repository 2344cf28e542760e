/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/sasl.h"

#include <stdbool.h>
#include <string.h>

#include "postie/common/base64.h"
#include "postie/common/text.h"

postie_status_t postie_sasl_plain(const char *user, const char *password, char *out, size_t cap,
                                  size_t *out_len)
{
    uint8_t raw[2 * POSTIE_AUTH_FIELD_MAX + 2];
    size_t ulen = strlen(user);
    size_t plen = strlen(password);
    size_t n = 0;

    if (ulen > POSTIE_AUTH_FIELD_MAX || plen > POSTIE_AUTH_FIELD_MAX) {
        return POSTIE_E_FIELD_TOO_LONG;
    }
    raw[n++] = 0;
    memcpy(raw + n, user, ulen);
    n += ulen;
    raw[n++] = 0;
    memcpy(raw + n, password, plen);
    n += plen;
    postie_status_t st = postie_base64_encode(raw, n, out, cap, out_len);
    memset(raw, 0, sizeof(raw));
    return st;
}

uint32_t postie_sasl_mechanism(const char *w, size_t n)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } known[] = {{"PLAIN", POSTIE_SASL_PLAIN},
                 {"LOGIN", POSTIE_SASL_LOGIN},
                 {"XOAUTH2", POSTIE_SASL_XOAUTH2},
                 {"OAUTHBEARER", POSTIE_SASL_OAUTHBEARER},
                 {"CRAM-MD5", POSTIE_SASL_CRAM_MD5}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (postie_ascii_ieq(w, n, known[i].name)) {
            return known[i].bit;
        }
    }
    return 0;
}

const char *postie_sasl_mechanism_name(uint32_t bit)
{
    switch (bit) {
    case POSTIE_SASL_PLAIN:
        return "PLAIN";
    case POSTIE_SASL_LOGIN:
        return "LOGIN";
    case POSTIE_SASL_XOAUTH2:
        return "XOAUTH2";
    case POSTIE_SASL_OAUTHBEARER:
        return "OAUTHBEARER";
    case POSTIE_SASL_CRAM_MD5:
        return "CRAM-MD5";
    default:
        return "?";
    }
}

/* ---- OAuth 2.0 responses ------------------------------------------------- */

/* Base64 of pieces given one after another, straight into out: only the
 * up to two octets carried between pieces are ever held here. */
typedef struct {
    char *out;
    size_t cap;
    size_t len;
    uint8_t carry[3];
    size_t ncarry;
    bool overflow;
} b64_stream_t;

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_emit(b64_stream_t *b, const uint8_t q[3], size_t n)
{
    char o[4];
    uint32_t v =
        ((uint32_t)q[0] << 16) | ((uint32_t)(n > 1 ? q[1] : 0) << 8) | (uint32_t)(n > 2 ? q[2] : 0);
    o[0] = b64_alphabet[(v >> 18) & 63u];
    o[1] = b64_alphabet[(v >> 12) & 63u];
    o[2] = n > 1 ? b64_alphabet[(v >> 6) & 63u] : '=';
    o[3] = n > 2 ? b64_alphabet[v & 63u] : '=';
    if (b->overflow || b->cap - b->len < 5) { /* 4 and the terminator */
        b->overflow = true;
        return;
    }
    memcpy(b->out + b->len, o, 4);
    b->len += 4;
}

static void b64_put(b64_stream_t *b, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        b->carry[b->ncarry++] = p[i];
        if (b->ncarry == 3) {
            b64_emit(b, b->carry, 3);
            b->ncarry = 0;
        }
    }
}

static void b64_puts(b64_stream_t *b, const char *s)
{
    b64_put(b, s, strlen(s));
}

static void b64_finish(b64_stream_t *b)
{
    if (b->ncarry > 0) {
        b64_emit(b, b->carry, b->ncarry);
    }
    memset(b->carry, 0, sizeof(b->carry));
    b->ncarry = 0;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        uint8_t c = (uint8_t)*s;
        if (c < 0x20u || c == 0x7Fu) {
            return true;
        }
    }
    return false;
}

/* Octets of the clear-text response; 0 when mech is not an OAuth one. */
static size_t oauth_raw_len(uint32_t mech, const char *user, const char *host, uint16_t port,
                            size_t token_len)
{
    char digits[POSTIE_TEXT_U64_DIGITS];
    size_t n;
    if (mech == POSTIE_SASL_XOAUTH2) {
        return strlen("user=") + strlen(user) + strlen("\001auth=Bearer ") + token_len + 2;
    }
    if (mech != POSTIE_SASL_OAUTHBEARER) {
        return 0;
    }
    n = strlen("n,a=") + 1; /* and the ',' closing the gs2 header */
    for (const char *u = user; *u != '\0'; u++) {
        n += (*u == ',' || *u == '=') ? 3 : 1;
    }
    if (host != NULL && host[0] != '\0') {
        n += strlen("\001host=") + strlen(host);
    }
    if (port != 0) {
        n += strlen("\001port=") + postie_text_format_u64(port, digits);
    }
    return n + strlen("\001auth=Bearer ") + token_len + 2;
}

size_t postie_sasl_oauth_len(uint32_t mech, const char *user, const char *host, uint16_t port,
                             size_t token_len)
{
    return POSTIE_BASE64_LEN(oauth_raw_len(mech, user, host, port, token_len));
}

postie_status_t postie_sasl_oauth(uint32_t mech, const char *user, const char *host, uint16_t port,
                                  const char *token, size_t token_len, char *out, size_t cap,
                                  size_t *out_len)
{
    b64_stream_t b = {out, cap, 0, {0, 0, 0}, 0, false};

    if (cap > 0) {
        out[0] = '\0';
    }
    if (out_len != NULL) {
        *out_len = 0;
    }
    if ((mech != POSTIE_SASL_XOAUTH2 && mech != POSTIE_SASL_OAUTHBEARER) || user[0] == '\0' ||
        token_len == 0 || has_control(user) ||
        (mech == POSTIE_SASL_OAUTHBEARER && host != NULL && has_control(host))) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < token_len; i++) {
        uint8_t c = (uint8_t)token[i];
        if (c < 0x21u || c > 0x7Eu) {
            return POSTIE_E_INVALID_ARGUMENT;
        }
    }
    if (strlen(user) > POSTIE_AUTH_FIELD_MAX || token_len > POSTIE_OAUTH_TOKEN_MAX ||
        (mech == POSTIE_SASL_OAUTHBEARER && host != NULL && strlen(host) > POSTIE_SASL_HOST_MAX)) {
        return POSTIE_E_FIELD_TOO_LONG;
    }
    if (cap < postie_sasl_oauth_len(mech, user, host, port, token_len) + 1) {
        return POSTIE_E_NO_SPACE;
    }
    if (mech == POSTIE_SASL_XOAUTH2) {
        b64_puts(&b, "user=");
        b64_puts(&b, user);
    } else {
        b64_puts(&b, "n,a=");
        for (const char *u = user; *u != '\0'; u++) {
            if (*u == ',') {
                b64_puts(&b, "=2C");
            } else if (*u == '=') {
                b64_puts(&b, "=3D");
            } else {
                b64_put(&b, u, 1);
            }
        }
        b64_puts(&b, ",");
        if (host != NULL && host[0] != '\0') {
            b64_puts(&b, "\001host=");
            b64_puts(&b, host);
        }
        if (port != 0) {
            char digits[POSTIE_TEXT_U64_DIGITS];
            size_t nd = postie_text_format_u64(port, digits);
            b64_puts(&b, "\001port=");
            b64_put(&b, digits, nd);
        }
    }
    b64_puts(&b, "\001auth=Bearer ");
    b64_put(&b, token, token_len);
    b64_put(&b, "\001\001", 2);
    b64_finish(&b);
    if (b.overflow) { /* cannot happen: the room was checked */
        memset(out, 0, cap);
        return POSTIE_E_NO_SPACE;
    }
    out[b.len] = '\0';
    if (out_len != NULL) {
        *out_len = b.len;
    }
    return POSTIE_OK;
}

postie_status_t postie_sasl_oauth_check(uint32_t mech, const char *user, const char *host,
                                        uint16_t port, const char *token, const char **why)
{
    char probe[8];
    postie_status_t st;
    *why = NULL;
    if (user == NULL || token == NULL) {
        *why = "an OAuth 2.0 token needs a user name";
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (mech != POSTIE_SASL_XOAUTH2 && mech != POSTIE_SASL_OAUTHBEARER) {
        *why = "the OAuth 2.0 mechanism is neither XOAUTH2 nor OAUTHBEARER";
        return POSTIE_E_INVALID_ARGUMENT;
    }
    /* every check runs before the room is looked at: a tiny buffer makes a
     * good configuration stop at NO_SPACE, and nothing is written */
    st =
        postie_sasl_oauth(mech, user, host, port, token, strlen(token), probe, sizeof(probe), NULL);
    if (st == POSTIE_E_FIELD_TOO_LONG) {
        *why = "user name, OAuth 2.0 token or host too long";
        return st;
    }
    if (st != POSTIE_OK && st != POSTIE_E_NO_SPACE) {
        *why = "user name or OAuth 2.0 token empty, or a bad octet in them or the host";
        return st;
    }
    return POSTIE_OK;
}

/* ---- the error of a refused token ---------------------------------------- */

static bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value of "status" in json[0..n), a string or a bare word. */
static void json_status(const char *json, size_t n, char *status, size_t cap)
{
    static const char key[] = "\"status\"";
    size_t klen = sizeof(key) - 1;
    postie_text_t t;

    postie_text_init_str(&t, status, cap);
    for (size_t i = 0; i + klen <= n; i++) {
        size_t j = i + klen;
        if (memcmp(json + i, key, klen) != 0) {
            continue;
        }
        while (j < n && json_space(json[j])) {
            j++;
        }
        if (j >= n || json[j] != ':') {
            continue; /* "status" as a value, not a key */
        }
        j++;
        while (j < n && json_space(json[j])) {
            j++;
        }
        if (j < n && json[j] == '"') {
            for (j++; j < n && json[j] != '"'; j++) {
                if (json[j] == '\\' && j + 1 < n) {
                    j++;
                }
                if ((uint8_t)json[j] >= 0x20u && json[j] != 0x7F) {
                    postie_text_put_cut_n(&t, json + j, 1);
                }
            }
        } else {
            for (; j < n && json[j] != ',' && json[j] != '}' && !json_space(json[j]); j++) {
                if ((uint8_t)json[j] >= 0x20u && json[j] != 0x7F) {
                    postie_text_put_cut_n(&t, json + j, 1);
                }
            }
        }
        return;
    }
}

postie_status_t postie_sasl_oauth_error(const char *b64, size_t n, char *status, size_t status_cap,
                                        char *text, size_t text_cap)
{
    char kept[512];
    size_t keep = text_cap > 0 ? text_cap - 1 : 0;
    size_t got = 0;
    bool bad = (n % 4) != 0 || n == 0;

    if (keep > sizeof(kept)) {
        keep = sizeof(kept);
    }
    if (status_cap > 0) {
        status[0] = '\0';
    }
    if (text_cap > 0) {
        text[0] = '\0';
    }
    for (size_t i = 0; !bad && i + 4 <= n; i += 4) {
        uint8_t q[3];
        size_t qn = 0;
        /* padding only in the last quad */
        if (i + 4 < n && memchr(b64 + i, '=', 4) != NULL) {
            bad = true;
            break;
        }
        if (postie_base64_decode(b64 + i, 4, q, sizeof(q), &qn) != POSTIE_OK) {
            bad = true;
            break;
        }
        for (size_t k = 0; k < qn && got < keep; k++) {
            kept[got++] = (char)q[k];
        }
    }
    {
        size_t start = 0;
        while (start < got && json_space(kept[start])) {
            start++;
        }
        if (!bad && (start >= got || kept[start] != '{')) {
            bad = true;
        }
        if (!bad) {
            json_status(kept + start, got - start, status, status_cap);
        }
        postie_text_copy_printable(text, text_cap, kept + start, got - start);
    }
    memset(kept, 0, sizeof(kept));
    return bad ? POSTIE_E_REPLY_MALFORMED : POSTIE_OK;
}

void postie_sasl_oauth_error_subject(const char *b64, size_t n, char *out, size_t cap)
{
    char status[POSTIE_SASL_STATUS_MAX];
    char text[160];
    postie_text_t t;

    postie_text_init_str(&t, out, cap);
    if (postie_sasl_oauth_error(b64, n, status, sizeof(status), text, sizeof(text)) != POSTIE_OK) {
        postie_text_put_cut(&t, "undecodable error challenge: ");
        postie_text_copy_printable(text, sizeof(text), b64, n);
        postie_text_put_cut(&t, text);
        return;
    }
    if (status[0] != '\0') {
        postie_text_put_cut(&t, status);
        postie_text_put_cut(&t, ": ");
    }
    postie_text_put_cut(&t, text);
}
