/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 without I/O: URL split, form encoding, the POST request and the
 * response parser (postie/common/http.h). The parser is a byte-at-a-time
 * state machine over a bounded line buffer, so a reply split anywhere
 * parses the same as a whole one.
 */
#include "postie/common/http.h"

#include <string.h>

#include "postie/common/version.h"

/* ---- URLs --------------------------------------------------------------------- */

static bool scheme_is(const char *url, const char *scheme, size_t n)
{
    return postie_ascii_ieq(url, n, scheme);
}

postie_status_t postie_http_url_parse(const char *url, postie_http_url_t *out, const char **why)
{
    const char *p;
    const char *host_end;
    const char *why_local = NULL;
    size_t n;
    memset(out, 0, sizeof(*out));
    if (why == NULL) {
        why = &why_local;
    }
    *why = NULL;
    n = strlen(url);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch == 0x7f) {
            *why = "contains a space or a control character";
            return POSTIE_E_INVALID_ARGUMENT;
        }
    }
    if (n > 8 && scheme_is(url, "https://", 8)) {
        out->https = true;
        out->port = 443;
        p = url + 8;
    } else if (n > 7 && scheme_is(url, "http://", 7)) {
        out->port = 80;
        p = url + 7;
    } else {
        *why = "must start with https://";
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (strchr(url, '#') != NULL) {
        *why = "must not have a fragment (#...)";
        return POSTIE_E_INVALID_ARGUMENT;
    }
    host_end = p;
    while (*host_end != '\0' && *host_end != '/' && *host_end != '?') {
        host_end++;
    }
    if (memchr(p, '@', (size_t)(host_end - p)) != NULL) {
        *why = "must not carry a user name (user@host)";
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(host_end - p));
        if (close == NULL || close == p + 1) {
            *why = "has a bad IPv6 address literal";
            return POSTIE_E_INVALID_ARGUMENT;
        }
        out->host = p + 1;
        out->host_len = (size_t)(close - p - 1);
        p = close + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(host_end - p));
        const char *e = colon != NULL ? colon : host_end;
        out->host = p;
        out->host_len = (size_t)(e - p);
        p = e;
    }
    if (out->host_len == 0 || out->host_len > 255) {
        *why = "has no host name";
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (p < host_end) {
        uint32_t port = 0;
        if (*p != ':' || p + 1 == host_end) {
            *why = "has a bad port";
            return POSTIE_E_INVALID_ARGUMENT;
        }
        for (p++; p < host_end; p++) {
            if (*p < '0' || *p > '9' || port > 65535u) {
                *why = "has a bad port";
                return POSTIE_E_INVALID_ARGUMENT;
            }
            port = port * 10u + (uint32_t)(*p - '0');
        }
        if (port == 0 || port > 65535u) {
            *why = "has a port outside 1..65535";
            return POSTIE_E_INVALID_ARGUMENT;
        }
        out->port = (uint16_t)port;
    }
    if (*host_end == '/') {
        out->path = host_end;
        out->path_len = strlen(host_end);
    } else {
        /* none, or only a query: "/" and the query after it */
        out->path = "/";
        out->path_len = 1;
        if (*host_end == '?') {
            *why = "has a query but no path";
            return POSTIE_E_INVALID_ARGUMENT;
        }
    }
    return POSTIE_OK;
}

/* ---- requests ------------------------------------------------------------------ */

static void put_encoded(postie_text_t *t, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            postie_text_put_char(t, (char)ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15u]};
            postie_text_put_n(t, e, 3);
        }
    }
}

void postie_http_form_put(postie_text_t *t, const char *key, const char *value)
{
    if (t->len > 0) {
        postie_text_put_char(t, '&');
    }
    put_encoded(t, key);
    postie_text_put_char(t, '=');
    put_encoded(t, value);
}

void postie_http_post_form(postie_text_t *t, const postie_http_url_t *url, const char *body,
                           size_t body_len)
{
    bool v6 = memchr(url->host, ':', url->host_len) != NULL;
    postie_text_put(t, "POST ");
    postie_text_put_n(t, url->path, url->path_len);
    postie_text_put(t, " HTTP/1.1\r\nHost: ");
    if (v6) {
        postie_text_put_char(t, '[');
    }
    postie_text_put_n(t, url->host, url->host_len);
    if (v6) {
        postie_text_put_char(t, ']');
    }
    if (url->port != (url->https ? 443 : 80)) {
        postie_text_put_char(t, ':');
        postie_text_put_u64(t, url->port);
    }
    postie_text_put(t, "\r\nUser-Agent: Postie/" POSTIE_VERSION_STRING
                       "\r\nAccept: application/json\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: ");
    postie_text_put_u64(t, body_len);
    postie_text_put(t, "\r\nConnection: close\r\n\r\n");
    postie_text_put_n(t, body, body_len);
}

/* ---- responses ----------------------------------------------------------------- */

void postie_http_resp_init(postie_http_resp_t *r, uint8_t *body, size_t body_cap)
{
    memset(r, 0, sizeof(*r));
    r->body = body;
    r->body_cap = body_cap;
}

static postie_status_t fail(postie_http_resp_t *r, const char *why)
{
    r->state = POSTIE_HTTP_FAILED;
    r->why = why;
    return POSTIE_E_HTTP;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* "HTTP/1.1 200 OK" (the reason may be empty or missing) */
static postie_status_t status_line(postie_http_resp_t *r, const char *l, size_t n)
{
    uint16_t code = 0;
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ') {
        return fail(r, "the reply is not HTTP/1.x (bad status line)");
    }
    for (size_t i = 9; i < 12; i++) {
        if (l[i] < '0' || l[i] > '9') {
            return fail(r, "the status line has no three-digit status code");
        }
        code = (uint16_t)(code * 10u + (uint16_t)(l[i] - '0'));
    }
    if ((n > 12 && l[12] != ' ') || code < 100 || code > 599) {
        return fail(r, "the status line has no three-digit status code");
    }
    r->status = code;
    r->chunked = false;
    r->have_length = false;
    r->content_type[0] = '\0';
    r->state = POSTIE_HTTP_HEADERS;
    return POSTIE_E_AGAIN;
}

static bool name_is(const char *l, size_t name_len, const char *name)
{
    return postie_ascii_ieq(l, name_len, name);
}

/* Does the comma-separated list v[0..n) end in "chunked"? */
static bool last_coding_chunked(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    return n >= 7 && postie_ascii_ieq(v + n - 7, 7, "chunked") &&
           (n == 7 || v[n - 8] == ',' || v[n - 8] == ' ' || v[n - 8] == '\t');
}

static postie_status_t header_line(postie_http_resp_t *r, const char *l, size_t n)
{
    const char *colon = memchr(l, ':', n);
    size_t name_len;
    const char *v;
    size_t vn;
    if (l[0] == ' ' || l[0] == '\t') {
        return fail(r, "the reply folds a header line (obsolete line folding)");
    }
    if (colon == NULL || colon == l) {
        return fail(r, "a reply header line has no name");
    }
    name_len = (size_t)(colon - l);
    if (memchr(l, ' ', name_len) != NULL || memchr(l, '\t', name_len) != NULL) {
        return fail(r, "a reply header name holds white space");
    }
    v = colon + 1;
    vn = n - name_len - 1;
    while (vn > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vn--;
    }
    while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t')) {
        vn--;
    }
    if (name_is(l, name_len, "content-length")) {
        uint64_t len = 0;
        if (vn == 0) {
            return fail(r, "the reply's Content-Length is not a number");
        }
        for (size_t i = 0; i < vn; i++) {
            if (v[i] < '0' || v[i] > '9' || len > (UINT64_MAX - 9u) / 10u) {
                return fail(r, "the reply's Content-Length is not a number");
            }
            len = len * 10u + (uint64_t)(v[i] - '0');
        }
        if (r->have_length && r->remaining != len) {
            return fail(r, "the reply has two different Content-Length values");
        }
        r->have_length = true;
        r->remaining = len;
    } else if (name_is(l, name_len, "transfer-encoding")) {
        if (!last_coding_chunked(v, vn)) {
            return fail(r, "the reply's Transfer-Encoding is not chunked");
        }
        r->chunked = true;
    } else if (name_is(l, name_len, "content-type")) {
        size_t i = 0;
        for (; i < vn && i + 1 < sizeof(r->content_type) && v[i] != ';' && v[i] != ' '; i++) {
            r->content_type[i] = lower(v[i]);
        }
        r->content_type[i] = '\0';
    }
    return POSTIE_E_AGAIN;
}

static postie_status_t headers_end(postie_http_resp_t *r)
{
    if (r->status < 200) {
        r->state = POSTIE_HTTP_STATUS_LINE; /* 100 Continue and friends: the real one follows */
        return POSTIE_E_AGAIN;
    }
    r->head_done = true;
    if (r->status == 204 || r->status == 304) {
        r->state = POSTIE_HTTP_DONE;
        return POSTIE_OK;
    }
    if (r->chunked) {
        r->state = POSTIE_HTTP_CHUNK_SIZE; /* it wins over Content-Length (RFC 9112 6.3) */
        return POSTIE_E_AGAIN;
    }
    if (r->have_length) {
        if (r->remaining > r->body_cap) {
            return fail(r, "the reply body is larger than the buffer for it");
        }
        r->state = r->remaining == 0 ? POSTIE_HTTP_DONE : POSTIE_HTTP_BODY_LENGTH;
        return r->remaining == 0 ? POSTIE_OK : POSTIE_E_AGAIN;
    }
    r->state = POSTIE_HTTP_BODY_CLOSE;
    return POSTIE_E_AGAIN;
}

/* "1a;ext=1" */
static postie_status_t chunk_size_line(postie_http_resp_t *r, const char *l, size_t n)
{
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char c = lower(l[i]);
        uint64_t d;
        if (c >= '0' && c <= '9') {
            d = (uint64_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (uint64_t)(c - 'a' + 10);
        } else {
            break;
        }
        if (size > (UINT64_MAX >> 4)) {
            return fail(r, "a chunk size in the reply is too large");
        }
        size = (size << 4) | d;
    }
    if (i == 0 || (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t')) {
        return fail(r, "a chunk size in the reply is not hexadecimal");
    }
    if (size > r->body_cap - r->body_len) {
        return fail(r, "the reply body is larger than the buffer for it");
    }
    r->remaining = size;
    r->state = size == 0 ? POSTIE_HTTP_TRAILERS : POSTIE_HTTP_CHUNK_DATA;
    return POSTIE_E_AGAIN;
}

/* One complete line (without CRLF) in the states that read lines. */
static postie_status_t on_line(postie_http_resp_t *r)
{
    const char *l = r->line;
    size_t n = r->line_len;
    r->line_len = 0;
    switch (r->state) {
    case POSTIE_HTTP_STATUS_LINE:
        return status_line(r, l, n);
    case POSTIE_HTTP_HEADERS:
        return n == 0 ? headers_end(r) : header_line(r, l, n);
    case POSTIE_HTTP_CHUNK_SIZE:
        return chunk_size_line(r, l, n);
    case POSTIE_HTTP_CHUNK_END:
        if (n != 0) {
            return fail(r, "a chunk in the reply is longer than its size says");
        }
        r->state = POSTIE_HTTP_CHUNK_SIZE;
        return POSTIE_E_AGAIN;
    case POSTIE_HTTP_TRAILERS:
        if (n == 0) {
            r->state = POSTIE_HTTP_DONE;
            return POSTIE_OK;
        }
        return POSTIE_E_AGAIN; /* trailer fields are not used */
    default:
        return fail(r, "internal: a line in a state without lines");
    }
}

static bool header_state(postie_http_state_t s)
{
    return s == POSTIE_HTTP_STATUS_LINE || s == POSTIE_HTTP_HEADERS || s == POSTIE_HTTP_TRAILERS;
}

/* One octet of a line: CRLF ends it; a bare CR, a NUL or a line too long
 * is an error. */
static postie_status_t line_octet(postie_http_resp_t *r, uint8_t c)
{
    if (header_state(r->state) && ++r->header_bytes > POSTIE_HTTP_HEADERS_MAX) {
        return fail(r, "the reply's header is larger than POSTIE_HTTP_HEADERS_MAX");
    }
    if (c == '\n') {
        if (r->line_len == 0 || r->line[r->line_len - 1] != '\r') {
            return fail(r, "a reply line ends in a bare LF");
        }
        r->line_len--;
        return on_line(r);
    }
    if (r->line_len > 0 && r->line[r->line_len - 1] == '\r') {
        return fail(r, "a reply line holds a bare CR");
    }
    if (c == 0) {
        return fail(r, "a reply line holds a NUL");
    }
    if (r->line_len + 1 >= sizeof(r->line)) {
        return fail(r, r->state == POSTIE_HTTP_STATUS_LINE || r->state == POSTIE_HTTP_HEADERS
                           ? "a reply header line is longer than POSTIE_HTTP_LINE_MAX"
                           : "a chunk line in the reply is too long");
    }
    r->line[r->line_len++] = (char)c;
    return POSTIE_E_AGAIN;
}

static void take_body(postie_http_resp_t *r, const uint8_t *in, size_t n)
{
    memcpy(r->body + r->body_len, in, n);
    r->body_len += n;
}

postie_status_t postie_http_resp_feed(postie_http_resp_t *r, const uint8_t *in, size_t n,
                                      size_t *used)
{
    size_t i = 0;
    postie_status_t st = POSTIE_E_AGAIN;
    *used = 0;
    if (r->state == POSTIE_HTTP_FAILED) {
        return POSTIE_E_HTTP;
    }
    if (r->state == POSTIE_HTTP_DONE) {
        return POSTIE_OK;
    }
    while (i < n && st == POSTIE_E_AGAIN) {
        switch (r->state) {
        case POSTIE_HTTP_BODY_LENGTH:
        case POSTIE_HTTP_CHUNK_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > r->remaining) {
                take = (size_t)r->remaining;
            }
            take_body(r, in + i, take); /* bounded when the size was read */
            i += take;
            r->remaining -= take;
            if (r->remaining == 0) {
                if (r->state == POSTIE_HTTP_BODY_LENGTH) {
                    r->state = POSTIE_HTTP_DONE;
                    st = POSTIE_OK;
                } else {
                    r->state = POSTIE_HTTP_CHUNK_END;
                }
            }
            break;
        }
        case POSTIE_HTTP_BODY_CLOSE: {
            size_t take = n - i;
            if (take > r->body_cap - r->body_len) {
                st = fail(r, "the reply body is larger than the buffer for it");
                break;
            }
            take_body(r, in + i, take);
            i += take;
            break;
        }
        default:
            st = line_octet(r, in[i]);
            i++;
            break;
        }
    }
    *used = i;
    return st;
}

postie_status_t postie_http_resp_eof(postie_http_resp_t *r)
{
    if (r->state == POSTIE_HTTP_DONE) {
        return POSTIE_OK;
    }
    if (r->state == POSTIE_HTTP_FAILED) {
        return POSTIE_E_HTTP;
    }
    if (r->state == POSTIE_HTTP_BODY_CLOSE) {
        r->state = POSTIE_HTTP_DONE;
        return POSTIE_OK;
    }
    return fail(r, r->status == 0 ? "the connection closed before a reply"
                                  : "the connection closed before the reply was complete");
}
