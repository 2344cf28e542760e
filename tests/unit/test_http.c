/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1.1 response parser, URL split and form encoding
 * (postie/common/http.h). Every reply is fed whole, one byte at a time and
 * split at every position into two reads: the result must not change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/http.h"

static postie_http_resp_t resp;
static uint8_t body[256];

/* Feed text in pieces of at most step octets, after a first piece of
 * first octets (0: none); then, when eof, the close. */
static postie_status_t feed_split(const char *text, size_t first, size_t step, bool eof, size_t cap)
{
    size_t n = strlen(text);
    size_t at = 0;
    postie_status_t st = POSTIE_E_AGAIN;
    postie_http_resp_init(&resp, body, cap);
    memset(body, 0xAA, sizeof(body));
    while (at < n && st == POSTIE_E_AGAIN) {
        size_t piece = at == 0 && first > 0 ? first : step;
        size_t used = 0;
        if (piece > n - at) {
            piece = n - at;
        }
        st = postie_http_resp_feed(&resp, (const uint8_t *)text + at, piece, &used);
        assert_true(used <= piece);
        if (st == POSTIE_E_AGAIN) {
            assert_int_equal(used, piece);
        }
        at += used;
    }
    if (st == POSTIE_E_AGAIN && eof) {
        st = postie_http_resp_eof(&resp);
    }
    return st;
}

/* The same reply every way: whole, byte by byte, and split in two at every
 * position; each gives want, and on success the same status and body. */
static void check_every_split(const char *text, bool eof, size_t cap, postie_status_t want,
                              uint16_t status, const char *want_body, const char *want_why)
{
    size_t n = strlen(text);
    for (size_t mode = 0; mode < n + 2; mode++) {
        postie_status_t st = mode == 0   ? feed_split(text, 0, n, eof, cap)
                             : mode == 1 ? feed_split(text, 0, 1, eof, cap)
                                         : feed_split(text, mode - 1, n, eof, cap);
        if (st != want) {
            fail_msg("split mode %zu: %s (%s), want %s", mode, postie_status_name(st),
                     resp.why ? resp.why : "", postie_status_name(want));
        }
        if (want == POSTIE_OK) {
            assert_int_equal(resp.status, status);
            assert_int_equal(resp.body_len, strlen(want_body));
            assert_memory_equal(resp.body, want_body, resp.body_len);
        } else if (want_why != NULL) {
            assert_non_null(resp.why);
            if (strstr(resp.why, want_why) == NULL) {
                fail_msg("split mode %zu: why \"%s\", want \"%s\"", mode, resp.why, want_why);
            }
        }
    }
}

static void test_content_length(void **state)
{
    (void)state;
    check_every_split("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                      "Content-Length: 15\r\nCache-Control: no-store\r\n\r\n{\"a\":\"b\",\"c\":1}",
                      false, sizeof(body), POSTIE_OK, 200, "{\"a\":\"b\",\"c\":1}", NULL);
    assert_string_equal(resp.content_type, "application/json");
    /* an empty body, a reason phrase left out */
    check_every_split("HTTP/1.1 400\r\nContent-Length: 0\r\n\r\n", false, sizeof(body), POSTIE_OK,
                      400, "", NULL);
    /* bytes after a complete reply are not taken */
    {
        static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
        size_t used = 0;
        postie_http_resp_init(&resp, body, sizeof(body));
        assert_int_equal(postie_http_resp_feed(&resp, (const uint8_t *)two, strlen(two), &used),
                         POSTIE_OK);
        assert_int_equal(used, strlen(two) - 5);
    }
}

static void test_chunked(void **state)
{
    (void)state;
    check_every_split(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\n{\"a\"\r\nA;ext=1\r\n:\"bcdefgh\"\r\n1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n",
        false, sizeof(body), POSTIE_OK, 200, "{\"a\":\"bcdefgh\"}", NULL);
    /* chunked wins over a Content-Length */
    check_every_split("HTTP/1.1 500 Oops\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, "
                      "chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
                      false, sizeof(body), POSTIE_OK, 500, "hi", NULL);
    check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n",
                      false, sizeof(body), POSTIE_E_HTTP, 0, NULL, "longer than its size");
    check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
                      sizeof(body), POSTIE_E_HTTP, 0, NULL, "not hexadecimal");
    check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "ffffffffffffffffff\r\n",
                      false, sizeof(body), POSTIE_E_HTTP, 0, NULL, "too large");
    /* a chunk larger than the buffer is refused when its size is read */
    check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n"
                      "0\r\n\r\n",
                      false, 4, POSTIE_E_HTTP, 0, NULL, "larger than the buffer");
    /* the close in the middle of a chunk */
    check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n1234", true,
                      sizeof(body), POSTIE_E_HTTP, 0, NULL, "before the reply was complete");
}

static void test_body_until_close(void **state)
{
    (void)state;
    check_every_split("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}", true,
                      sizeof(body), POSTIE_OK, 200, "{}", NULL);
    check_every_split("HTTP/1.1 200 OK\r\n\r\n0123456789", true, 4, POSTIE_E_HTTP, 0, NULL,
                      "larger than the buffer");
}

static void test_interim_replies_are_skipped(void **state)
{
    (void)state;
    check_every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: "
                      "1\r\n\r\nx",
                      false, sizeof(body), POSTIE_OK, 201, "x", NULL);
}

static void test_bad_status_lines(void **state)
{
    (void)state;
    check_every_split("SMTP/1.1 200 OK\r\n\r\n", false, sizeof(body), POSTIE_E_HTTP, 0, NULL,
                      "not HTTP/1.x");
    check_every_split("HTTP/2 200 OK\r\n\r\n", false, sizeof(body), POSTIE_E_HTTP, 0, NULL,
                      "not HTTP/1.x");
    check_every_split("HTTP/1.1 2x0 OK\r\n\r\n", false, sizeof(body), POSTIE_E_HTTP, 0, NULL,
                      "three-digit");
    check_every_split("HTTP/1.1 2000 OK\r\n\r\n", false, sizeof(body), POSTIE_E_HTTP, 0, NULL,
                      "three-digit");
    check_every_split("HTTP/1.1 099 Low\r\n\r\n", false, sizeof(body), POSTIE_E_HTTP, 0, NULL,
                      "three-digit");
    check_every_split("220 smtp.example.com ESMTP\r\n", false, sizeof(body), POSTIE_E_HTTP, 0, NULL,
                      "not HTTP/1.x");
    check_every_split("HTTP/1.1 200 OK\n\n", false, sizeof(body), POSTIE_E_HTTP, 0, NULL,
                      "bare LF");
    check_every_split("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", false, sizeof(body), POSTIE_E_HTTP, 0,
                      NULL, "bare CR");
    check_every_split("", true, sizeof(body), POSTIE_E_HTTP, 0, NULL, "closed before a reply");
    check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true, sizeof(body),
                      POSTIE_E_HTTP, 0, NULL, "before the reply was complete");
}

static void test_bad_headers(void **state)
{
    (void)state;
    check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false, sizeof(body),
                      POSTIE_E_HTTP, 0, NULL, "Content-Length is not a number");
    check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false,
                      sizeof(body), POSTIE_E_HTTP, 0, NULL, "Content-Length is not a number");
    check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false,
                      sizeof(body), POSTIE_E_HTTP, 0, NULL, "two different");
    check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n", false, sizeof(body),
                      POSTIE_E_HTTP, 0, NULL, "larger than the buffer");
    check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, sizeof(body),
                      POSTIE_E_HTTP, 0, NULL, "not chunked");
    check_every_split("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", false, sizeof(body),
                      POSTIE_E_HTTP, 0, NULL, "no name");
    check_every_split("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", false, sizeof(body),
                      POSTIE_E_HTTP, 0, NULL, "folds");
    check_every_split("HTTP/1.1 200 OK\r\nBad Name: b\r\n\r\n", false, sizeof(body), POSTIE_E_HTTP,
                      0, NULL, "white space");
}

static void test_oversized_headers(void **state)
{
    (void)state;
    static char text[POSTIE_HTTP_HEADERS_MAX + 4096];
    postie_text_t t;
    size_t used = 0;
    /* one line longer than POSTIE_HTTP_LINE_MAX */
    postie_text_init_str(&t, text, sizeof(text));
    postie_text_put(&t, "HTTP/1.1 200 OK\r\nX-Long: ");
    for (size_t i = 0; i < POSTIE_HTTP_LINE_MAX; i++) {
        postie_text_put_char(&t, 'a');
    }
    postie_text_put(&t, "\r\n\r\n");
    postie_http_resp_init(&resp, body, sizeof(body));
    assert_int_equal(postie_http_resp_feed(&resp, (const uint8_t *)text, t.len, &used),
                     POSTIE_E_HTTP);
    assert_non_null(strstr(resp.why, "POSTIE_HTTP_LINE_MAX"));
    assert_true(used <= 26 + POSTIE_HTTP_LINE_MAX);
    /* sticky */
    assert_int_equal(postie_http_resp_feed(&resp, (const uint8_t *)"\r\n", 2, &used),
                     POSTIE_E_HTTP);
    /* many short lines, more than POSTIE_HTTP_HEADERS_MAX in all */
    postie_text_init_str(&t, text, sizeof(text));
    postie_text_put(&t, "HTTP/1.1 200 OK\r\n");
    while (t.len < POSTIE_HTTP_HEADERS_MAX + 100) {
        postie_text_put(&t, "X-A: b\r\n");
    }
    postie_text_put(&t, "\r\n");
    assert_false(t.overflow);
    postie_http_resp_init(&resp, body, sizeof(body));
    assert_int_equal(postie_http_resp_feed(&resp, (const uint8_t *)text, t.len, &used),
                     POSTIE_E_HTTP);
    assert_non_null(strstr(resp.why, "POSTIE_HTTP_HEADERS_MAX"));
    assert_true(used <= POSTIE_HTTP_HEADERS_MAX + 1);
}

static void test_urls(void **state)
{
    (void)state;
    postie_http_url_t u;
    const char *why = NULL;
    assert_int_equal(
        postie_http_url_parse("https://login.example.com/common/oauth2/v2.0/token", &u, &why),
        POSTIE_OK);
    assert_true(u.https);
    assert_int_equal(u.port, 443);
    assert_int_equal(u.host_len, strlen("login.example.com"));
    assert_memory_equal(u.host, "login.example.com", u.host_len);
    assert_int_equal(u.path_len, strlen("/common/oauth2/v2.0/token"));
    assert_int_equal(postie_http_url_parse("HTTPS://127.0.0.1:8443", &u, &why), POSTIE_OK);
    assert_int_equal(u.port, 8443);
    assert_memory_equal(u.path, "/", 1);
    assert_int_equal(postie_http_url_parse("https://[::1]:9/t?x=1", &u, &why), POSTIE_OK);
    assert_memory_equal(u.host, "::1", 3);
    assert_int_equal(u.port, 9);
    assert_int_equal(u.path_len, 6);
    assert_int_equal(postie_http_url_parse("http://h/t", &u, &why), POSTIE_OK);
    assert_false(u.https);
    assert_int_equal(u.port, 80);
    assert_int_equal(postie_http_url_parse("ftp://h/t", &u, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_non_null(strstr(why, "https://"));
    assert_int_equal(postie_http_url_parse("https://u:p@h/t", &u, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_non_null(strstr(why, "user name"));
    assert_int_equal(postie_http_url_parse("https://h:0/t", &u, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_http_url_parse("https://h:70000/", &u, &why),
                     POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_http_url_parse("https://h:/", &u, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_http_url_parse("https:///t", &u, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_http_url_parse("https://h/t#f", &u, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_http_url_parse("https://h/a b", &u, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_http_url_parse("https://h/a\r\nX: y", &u, NULL),
                     POSTIE_E_INVALID_ARGUMENT);
}

static void test_request(void **state)
{
    (void)state;
    char form[256];
    char req[1024];
    postie_text_t f;
    postie_text_t t;
    postie_http_url_t u;
    postie_text_init_str(&f, form, sizeof(form));
    postie_http_form_put(&f, "grant_type", "refresh_token");
    postie_http_form_put(&f, "scope", "https://x.example/Mail.Send offline_access");
    postie_http_form_put(&f, "refresh_token", "a+b/c=&d~e_f.g-h");
    assert_string_equal(form, "grant_type=refresh_token&scope=https%3A%2F%2Fx.example%2FMail.Send"
                              "%20offline_access&refresh_token=a%2Bb%2Fc%3D%26d~e_f.g-h");
    assert_int_equal(postie_http_url_parse("https://127.0.0.1:8443/oauth/token", &u, NULL),
                     POSTIE_OK);
    postie_text_init_str(&t, req, sizeof(req));
    postie_http_post_form(&t, &u, "a=b", 3);
    assert_false(t.overflow);
    assert_true(strncmp(req, "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n", 50) == 0);
    assert_non_null(strstr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(req, "\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b"));
    assert_int_equal(postie_http_url_parse("https://login.example.com/t", &u, NULL), POSTIE_OK);
    postie_text_init_str(&t, req, sizeof(req));
    postie_http_post_form(&t, &u, "", 0);
    assert_non_null(strstr(req, "\r\nHost: login.example.com\r\n")); /* the default port left out */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_body_until_close),
        cmocka_unit_test(test_interim_replies_are_skipped),
        cmocka_unit_test(test_bad_status_lines),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_oversized_headers),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
