/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small HTTP/1.1 client side without I/O, for the OAuth 2.0 token and
 * device endpoints (RFC 6749, RFC 8628): an https URL split into its
 * parts, an application/x-www-form-urlencoded body, a POST request, and a
 * response parser that never allocates.
 *
 * The parser is fed whatever bytes arrived (any split, one byte at a time
 * included) and keeps the body in the caller's buffer. Every length it
 * reads is bounded: a header line by POSTIE_HTTP_LINE_MAX, all header
 * lines together by POSTIE_HTTP_HEADERS_MAX, the body by the caller's
 * buffer. Bodies come with Content-Length, chunked transfer coding
 * (extensions and trailers skipped) or, without either, until the server
 * closes the connection. 1xx interim responses are skipped.
 *
 * Errors are POSTIE_E_HTTP with a static reason (postie_http_resp_t.why)
 * that quotes nothing the server sent.
 *
 * RAM: sizeof(postie_http_resp_t), POSTIE_HTTP_LINE_MAX plus about 80
 * octets, and the caller's body buffer. Thread model: one object per
 * exchange, used by one thread at a time; the functions keep no state of
 * their own.
 */
#ifndef POSTIE_HTTP_H
#define POSTIE_HTTP_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie_config_defaults.h"

#include "postie/common/status.h"
#include "postie/common/text.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- URLs --------------------------------------------------------------------- */

/* The parts of "https://host[:port][/path][?query]". Views into the URL
 * given (not NUL-terminated); path includes the query and is "/" when
 * the URL has none. */
typedef struct {
    bool https;       /* false: http:// (only tests over a plain socket use it) */
    const char *host; /* a name, an IPv4 address or an IPv6 literal without [] */
    size_t host_len;  /* 1..255 */
    uint16_t port;    /* 443 (https) or 80 (http) unless given */
    const char *path; /* "/..." */
    size_t path_len;
} postie_http_url_t;

/* Split url (a C string). Accepts http:// and https:// (scheme in any
 * case); refuses user info ("user@"), a fragment, spaces and control
 * characters, an empty host, a port outside 1..65535. Returns
 * POSTIE_E_INVALID_ARGUMENT with *why (may be NULL) set to a static
 * reason. */
postie_status_t postie_http_url_parse(const char *url, postie_http_url_t *out, const char **why);

/* ---- requests ------------------------------------------------------------------ */

/* Append "key=value" to a form body, with "&" before it unless the text is
 * empty; both percent-encoded (RFC 3986 unreserved characters stay, a
 * space becomes %20). t's overflow flag says when it did not fit. */
void postie_http_form_put(postie_text_t *t, const char *key, const char *value);

/* Write a whole POST request with a form body into t: request line, Host,
 * User-Agent, Accept: application/json, Content-Type, Content-Length,
 * Connection: close, then the body. */
void postie_http_post_form(postie_text_t *t, const postie_http_url_t *url, const char *body,
                           size_t body_len);

/* ---- responses ----------------------------------------------------------------- */

typedef enum {
    POSTIE_HTTP_STATUS_LINE = 0,
    POSTIE_HTTP_HEADERS,
    POSTIE_HTTP_BODY_LENGTH, /* Content-Length octets */
    POSTIE_HTTP_BODY_CLOSE,  /* until the connection closes */
    POSTIE_HTTP_CHUNK_SIZE,
    POSTIE_HTTP_CHUNK_DATA,
    POSTIE_HTTP_CHUNK_END, /* the CRLF after a chunk's data */
    POSTIE_HTTP_TRAILERS,
    POSTIE_HTTP_DONE,
    POSTIE_HTTP_FAILED
} postie_http_state_t;

typedef struct {
    postie_http_state_t state;
    uint16_t status;     /* 200, 400, ...; 0 before the status line */
    bool chunked;        /* Transfer-Encoding: chunked */
    bool have_length;    /* Content-Length given */
    bool head_done;      /* the final response's headers are all in */
    uint64_t remaining;  /* octets left of the body or the chunk */
    size_t header_bytes; /* header octets so far (bounded) */
    uint8_t *body;       /* the caller's buffer */
    size_t body_cap;
    size_t body_len;       /* octets of body in it */
    char content_type[48]; /* media type, lower case, parameters dropped */
    const char *why;       /* static reason after POSTIE_E_HTTP, else NULL */
    size_t line_len;
    char line[POSTIE_HTTP_LINE_MAX];
} postie_http_resp_t;

/* Start parsing a response whose body goes into body[0..body_cap). Its link
 * name carries POSTIE_HTTP_LINE_MAX (the configuration fingerprint). */
#define postie_http_resp_init POSTIE_HTTP_CONFIGURED(postie_http_resp_init)
void postie_http_resp_init(postie_http_resp_t *r, uint8_t *body, size_t body_cap);

/* Feed in[0..n). *used gets the octets taken (all of them unless the
 * response ended within them). POSTIE_E_AGAIN: more is needed;
 * POSTIE_OK: the response is complete (status, headers and body);
 * POSTIE_E_HTTP: malformed or over a bound (r->why says which); the error
 * is sticky. */
postie_status_t postie_http_resp_feed(postie_http_resp_t *r, const uint8_t *in, size_t n,
                                      size_t *used);

/* The server closed the connection: POSTIE_OK when that ends a body read
 * until close (or the response was complete already), else POSTIE_E_HTTP
 * ("the connection closed before the reply was complete"). */
postie_status_t postie_http_resp_eof(postie_http_resp_t *r);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_HTTP_H */
