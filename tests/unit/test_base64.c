/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for base64 (core/common/base64.c): RFC 4648 section 10 test vectors,
 * buffer limits and strict decoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/base64.h"
#include "postie/common/sasl.h"

#define GUARD 0xee

typedef struct {
    const char *plain;
    const char *encoded;
} vector_t;

/* RFC 4648 section 10 */
static const vector_t rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define RFC4648_COUNT (sizeof(rfc4648) / sizeof(rfc4648[0]))

static void all_guard(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p[i], GUARD);
    }
}

static void test_len_macro(void **state)
{
    (void)state;
    assert_int_equal(POSTIE_BASE64_LEN(0), 0);
    assert_int_equal(POSTIE_BASE64_LEN(1), 4);
    assert_int_equal(POSTIE_BASE64_LEN(2), 4);
    assert_int_equal(POSTIE_BASE64_LEN(3), 4);
    assert_int_equal(POSTIE_BASE64_LEN(4), 8);
    assert_int_equal(POSTIE_BASE64_LEN(6), 8);
    assert_int_equal(POSTIE_BASE64_LEN(7), 12);
}

static void test_encode_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t v = 0; v < RFC4648_COUNT; v++) {
        const char *plain = rfc4648[v].plain;
        const char *enc = rfc4648[v].encoded;
        size_t n = strlen(plain);
        size_t want = strlen(enc);
        char out[32];
        size_t out_len = 999;

        memset(out, GUARD, sizeof(out));
        assert_int_equal(
            postie_base64_encode((const uint8_t *)plain, n, out, sizeof(out), &out_len), POSTIE_OK);
        assert_int_equal(out_len, want);
        assert_int_equal(out_len, POSTIE_BASE64_LEN(n));
        assert_string_equal(out, enc);
        all_guard((const uint8_t *)out + want + 1, sizeof(out) - want - 1);
    }
}

static void test_encode_exact_capacity(void **state)
{
    (void)state;
    for (size_t v = 0; v < RFC4648_COUNT; v++) {
        const char *plain = rfc4648[v].plain;
        size_t n = strlen(plain);
        size_t need = POSTIE_BASE64_LEN(n) + 1;
        char out[32];
        size_t out_len = 999;

        /* exactly the encoding and its NUL */
        memset(out, GUARD, sizeof(out));
        assert_int_equal(postie_base64_encode((const uint8_t *)plain, n, out, need, &out_len),
                         POSTIE_OK);
        assert_string_equal(out, rfc4648[v].encoded);
        all_guard((const uint8_t *)out + need, sizeof(out) - need);

        /* one octet less (no room for the NUL), and every smaller size:
         * refused, nothing written, out_len untouched */
        for (size_t cap = 0; cap < need; cap++) {
            memset(out, GUARD, sizeof(out));
            out_len = 999;
            assert_int_equal(postie_base64_encode((const uint8_t *)plain, n, out, cap, &out_len),
                             POSTIE_E_NO_SPACE);
            all_guard((const uint8_t *)out, sizeof(out));
            assert_int_equal(out_len, 999);
        }
    }
}

static void test_encode_out_len_optional(void **state)
{
    char out[8];
    (void)state;
    assert_int_equal(postie_base64_encode((const uint8_t *)"fo", 2, out, sizeof(out), NULL),
                     POSTIE_OK);
    assert_string_equal(out, "Zm8=");
}

static void test_encode_whole_alphabet(void **state)
{
    /* 0x00 0x10 0x83 0x10 0x51 0x87 ... walks all 64 sextets in order */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t in[48];
    char out[65];
    size_t out_len = 0;
    (void)state;

    for (size_t g = 0; g < 16; g++) {
        uint32_t v = ((uint32_t)(4 * g) << 18) | ((uint32_t)(4 * g + 1) << 12) |
                     ((uint32_t)(4 * g + 2) << 6) | (uint32_t)(4 * g + 3);
        in[3 * g] = (uint8_t)(v >> 16);
        in[3 * g + 1] = (uint8_t)(v >> 8);
        in[3 * g + 2] = (uint8_t)v;
    }
    assert_int_equal(postie_base64_encode(in, sizeof(in), out, sizeof(out), &out_len), POSTIE_OK);
    assert_int_equal(out_len, 64);
    assert_string_equal(out, alphabet);

    /* high octets */
    {
        static const uint8_t ff[] = {0xff, 0xff, 0xff};
        static const uint8_t fb[] = {0xfb, 0xef, 0xbe};
        static const uint8_t two[] = {0xfb, 0xff};
        assert_int_equal(postie_base64_encode(ff, 3, out, sizeof(out), NULL), POSTIE_OK);
        assert_string_equal(out, "////");
        assert_int_equal(postie_base64_encode(fb, 3, out, sizeof(out), NULL), POSTIE_OK);
        assert_string_equal(out, "++++");
        assert_int_equal(postie_base64_encode(two, 2, out, sizeof(out), NULL), POSTIE_OK);
        assert_string_equal(out, "+/8=");
    }
}

static void test_decode_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t v = 0; v < RFC4648_COUNT; v++) {
        const char *enc = rfc4648[v].encoded;
        const char *plain = rfc4648[v].plain;
        uint8_t out[32];
        size_t out_len = 999;

        memset(out, GUARD, sizeof(out));
        assert_int_equal(postie_base64_decode(enc, strlen(enc), out, sizeof(out), &out_len),
                         POSTIE_OK);
        assert_int_equal(out_len, strlen(plain));
        assert_memory_equal(out, plain, strlen(plain));
        all_guard(out + strlen(plain), sizeof(out) - strlen(plain));

        /* exactly enough room */
        memset(out, GUARD, sizeof(out));
        out_len = 999;
        assert_int_equal(postie_base64_decode(enc, strlen(enc), out, strlen(plain), &out_len),
                         POSTIE_OK);
        assert_int_equal(out_len, strlen(plain));
        assert_memory_equal(out, plain, strlen(plain));
        all_guard(out + strlen(plain), sizeof(out) - strlen(plain));
    }
}

static void test_decode_too_small(void **state)
{
    (void)state;
    for (size_t v = 1; v < RFC4648_COUNT; v++) {
        const char *enc = rfc4648[v].encoded;
        size_t plain_len = strlen(rfc4648[v].plain);
        for (size_t cap = 0; cap < plain_len; cap++) {
            uint8_t out[32];
            memset(out, GUARD, sizeof(out));
            assert_int_equal(postie_base64_decode(enc, strlen(enc), out, cap, NULL),
                             POSTIE_E_NO_SPACE);
            /* whatever was written lies inside the capacity */
            all_guard(out + cap, sizeof(out) - cap);
        }
    }
}

static void expect_invalid(const char *in, size_t n)
{
    uint8_t out[32];
    size_t out_len = 999;
    memset(out, GUARD, sizeof(out));
    assert_int_equal(postie_base64_decode(in, n, out, sizeof(out), &out_len),
                     POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(out_len, 999);
}

static void test_decode_bad_length(void **state)
{
    (void)state;
    expect_invalid("Z", 1);
    expect_invalid("Zg", 2);
    expect_invalid("Zg=", 3);
    expect_invalid("Zm9vY", 5);
    expect_invalid("Zm9vYg=", 7);
    expect_invalid("Zm9vYmFy=", 9);
}

static void test_decode_bad_characters(void **state)
{
    (void)state;
    expect_invalid("Zm9!", 4);
    expect_invalid("Zm 9", 4);
    expect_invalid("Zm9\n", 4);
    expect_invalid("Zm9vYm\r\n", 8);
    expect_invalid("-_8=", 4); /* base64url is not base64 */
    expect_invalid("Zm\0v", 4);
    expect_invalid("Zm9\x80", 4);
    expect_invalid("Zm9\xff", 4);
    expect_invalid("Zm9v*mFy", 8);
}

static void test_decode_bad_padding(void **state)
{
    (void)state;
    expect_invalid("====", 4);
    expect_invalid("Z===", 4);
    expect_invalid("=Zg=", 4);
    expect_invalid("Zg=A", 4);     /* data after '=' */
    expect_invalid("Z=g=", 4);     /* '=' in second place */
    expect_invalid("Zg==Zm9v", 8); /* padding before the last group */
    expect_invalid("Zm8=Zm8=", 8);
    expect_invalid("Zm9v=g==", 8);
}

static void test_roundtrip_all_octets(void **state)
{
    uint8_t in[256];
    char enc[POSTIE_BASE64_LEN(256) + 1];
    uint8_t dec[256];
    (void)state;

    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t)(255 - i);
    }
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t enc_len = 0;
        size_t dec_len = 0;
        assert_int_equal(postie_base64_encode(in, n, enc, sizeof(enc), &enc_len), POSTIE_OK);
        assert_int_equal(enc_len, POSTIE_BASE64_LEN(n));
        assert_int_equal(strlen(enc), enc_len);
        assert_int_equal(postie_base64_decode(enc, enc_len, dec, n, &dec_len), POSTIE_OK);
        assert_int_equal(dec_len, n);
        assert_memory_equal(dec, in, n);
    }
}

/* The SASL PLAIN response shared by the engines: "\0user\0pass" in base64
 * (RFC 4616 section 4 example: user "tim", password "tanstaaftanstaaf"). */
static void test_sasl_plain(void **state)
{
    (void)state;
    char out[64];
    size_t n = 0;
    assert_int_equal(postie_sasl_plain("tim", "tanstaaftanstaaf", out, sizeof(out), &n), POSTIE_OK);
    assert_string_equal(out, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    assert_int_equal(n, strlen(out));
    assert_int_equal(postie_sasl_plain("tim", "tanstaaftanstaaf", out, 8, NULL), POSTIE_E_NO_SPACE);
    char longer[POSTIE_AUTH_FIELD_MAX + 2];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = 0;
    assert_int_equal(postie_sasl_plain(longer, "x", out, sizeof(out), NULL),
                     POSTIE_E_FIELD_TOO_LONG);
}

/* Mechanism names as servers list them, in any case; unknown ones are 0. */
static void test_sasl_mechanism_names(void **state)
{
    (void)state;
    assert_int_equal(postie_sasl_mechanism("PLAIN", 5), POSTIE_SASL_PLAIN);
    assert_int_equal(postie_sasl_mechanism("login", 5), POSTIE_SASL_LOGIN);
    assert_int_equal(postie_sasl_mechanism("XOAUTH2", 7), POSTIE_SASL_XOAUTH2);
    assert_int_equal(postie_sasl_mechanism("OAuthBearer", 11), POSTIE_SASL_OAUTHBEARER);
    assert_int_equal(postie_sasl_mechanism("CRAM-MD5", 8), POSTIE_SASL_CRAM_MD5);
    assert_int_equal(postie_sasl_mechanism("PLAINX", 6), 0);
    assert_int_equal(postie_sasl_mechanism("PLAINX", 4), 0);
    assert_int_equal(postie_sasl_mechanism("GSSAPI", 6), 0);
    assert_int_equal(postie_sasl_mechanism("", 0), 0);
}

/* XOAUTH2: "user=" u ^A "auth=Bearer " t ^A ^A (Google's documented example). */
static void test_sasl_xoauth2(void **state)
{
    (void)state;
    static const char token[] = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
    char out[256];
    size_t n = 0;
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "someuser@example.com", "ignored", 587,
                                       token, strlen(token), out, sizeof(out), &n),
                     POSTIE_OK);
    assert_string_equal(out, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDR"
                             "xbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    assert_int_equal(n, strlen(out));
    assert_int_equal(n, postie_sasl_oauth_len(POSTIE_SASL_XOAUTH2, "someuser@example.com", NULL, 0,
                                              strlen(token)));
    /* the token is taken by length: what follows it does not count */
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "someuser@example.com", NULL, 0,
                                       "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCgXYZ",
                                       strlen(token), out, sizeof(out), &n),
                     POSTIE_OK);
    assert_string_equal(out, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDR"
                             "xbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
}

/* OAUTHBEARER (RFC 7628 4.1's example) and the gs2 escaping of the user. */
static void test_sasl_oauthbearer(void **state)
{
    (void)state;
    static const char token[] = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
    char out[256];
    size_t n = 0;
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, "user@example.com",
                                       "server.example.com", 143, token, strlen(token), out,
                                       sizeof(out), &n),
                     POSTIE_OK);
    assert_string_equal(out, "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9M"
                             "TQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZM"
                             "jl0Q2c9PQEB");
    assert_int_equal(n, postie_sasl_oauth_len(POSTIE_SASL_OAUTHBEARER, "user@example.com",
                                              "server.example.com", 143, strlen(token)));
    /* "n,a==2Ca=3Db=2C," ^A "auth=Bearer t" ^A ^A: ',' and '=' escaped, no host, no port */
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, ",a=b,", NULL, 0, "t", 1, out, sizeof(out), &n),
        POSTIE_OK);
    assert_string_equal(out, "bixhPT0yQ2E9M0RiPTJDLAFhdXRoPUJlYXJlciB0AQE=");
    assert_int_equal(n, postie_sasl_oauth_len(POSTIE_SASL_OAUTHBEARER, ",a=b,", "", 0, 1));
}

/* Bounds: the caller's buffer (exact fit and one short), the token and user
 * maxima, bad octets, another mechanism. */
static void test_sasl_oauth_bounds(void **state)
{
    (void)state;
    static char token[POSTIE_OAUTH_TOKEN_MAX + 2];
    static char out[POSTIE_SASL_OAUTH_B64_MAX + 1];
    char user[POSTIE_AUTH_FIELD_MAX + 2];
    char host[POSTIE_SASL_HOST_MAX + 2];
    size_t need;
    size_t n = 0;

    memset(token, 'T', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    memset(user, ',', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0';
    memset(host, 'h', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';

    /* the longest of everything fits POSTIE_SASL_OAUTH_B64_MAX exactly */
    user[POSTIE_AUTH_FIELD_MAX] = '\0';
    host[POSTIE_SASL_HOST_MAX] = '\0';
    need =
        postie_sasl_oauth_len(POSTIE_SASL_OAUTHBEARER, user, host, 65535, POSTIE_OAUTH_TOKEN_MAX);
    assert_int_equal(need, POSTIE_SASL_OAUTH_B64_MAX);
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, user, host, 65535, token,
                                       POSTIE_OAUTH_TOKEN_MAX, out, need + 1, &n),
                     POSTIE_OK);
    assert_int_equal(n, need);
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, user, host, 65535, token,
                                       POSTIE_OAUTH_TOKEN_MAX, out, need, &n),
                     POSTIE_E_NO_SPACE);
    assert_string_equal(out, "");
    assert_int_equal(n, 0);
    /* one octet too many: token, user, host */
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "u", NULL, 0, token,
                                       POSTIE_OAUTH_TOKEN_MAX + 1, out, sizeof(out), &n),
                     POSTIE_E_FIELD_TOO_LONG);
    user[POSTIE_AUTH_FIELD_MAX] = ',';
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_XOAUTH2, user, NULL, 0, "t", 1, out, sizeof(out), &n),
        POSTIE_E_FIELD_TOO_LONG);
    host[POSTIE_SASL_HOST_MAX] = 'h';
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, "u", host, 0, "t", 1, out, sizeof(out), &n),
        POSTIE_E_FIELD_TOO_LONG);
    /* bad octets, empty fields, another mechanism */
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "u", NULL, 0, "a b", 3, out, sizeof(out), &n),
        POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "u", NULL, 0, "a\x01", 2, out, sizeof(out), &n),
        POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "u\x01", NULL, 0, "t", 1, out, sizeof(out), &n),
        POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, "u", "h\r\n", 0, "t", 1, out, sizeof(out), &n),
        POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "", NULL, 0, "t", 1, out, sizeof(out), &n),
        POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_XOAUTH2, "u", NULL, 0, "", 0, out, sizeof(out), &n),
        POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(
        postie_sasl_oauth(POSTIE_SASL_PLAIN, "u", NULL, 0, "t", 1, out, sizeof(out), &n),
        POSTIE_E_INVALID_ARGUMENT);
    assert_string_equal(postie_sasl_mechanism_name(POSTIE_SASL_OAUTHBEARER), "OAUTHBEARER");
    assert_string_equal(postie_sasl_mechanism_name(POSTIE_SASL_XOAUTH2), "XOAUTH2");
}

/* The JSON error of a refused token: the status extracted, the text kept. */
static void test_sasl_oauth_error(void **state)
{
    (void)state;
    char status[POSTIE_SASL_STATUS_MAX];
    char text[96];
    /* RFC 7628 3.2.2 */
    static const char rfc[] =
        "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyY"
        "XRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";
    /* Google's XOAUTH2 error */
    static const char google[] = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIj"
                                 "oiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0=";
    assert_int_equal(
        postie_sasl_oauth_error(rfc, strlen(rfc), status, sizeof(status), text, sizeof(text)),
        POSTIE_OK);
    assert_string_equal(status, "invalid_token");
    assert_int_equal(strlen(text), sizeof(text) - 1); /* cut */
    assert_memory_equal(text, "{\"status\":\"invalid_token\",\"scope\":\"example_scope\"", 49);

    assert_int_equal(
        postie_sasl_oauth_error(google, strlen(google), status, sizeof(status), text, sizeof(text)),
        POSTIE_OK);
    assert_string_equal(status, "401");
    assert_string_equal(text, "{\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":\"https://"
                              "mail.google.com/\"}");
    /* status cut to its buffer */
    assert_int_equal(postie_sasl_oauth_error(rfc, strlen(rfc), status, 6, text, sizeof(text)),
                     POSTIE_OK);
    assert_string_equal(status, "inval");
    /* a bare number; "status" as a value is not the key */
    {
        char b64[128];
        static const char json[] = "{ \"x\" : \"status\", \"status\" : 401 }";
        assert_int_equal(
            postie_base64_encode((const uint8_t *)json, strlen(json), b64, sizeof(b64), NULL),
            POSTIE_OK);
        assert_int_equal(
            postie_sasl_oauth_error(b64, strlen(b64), status, sizeof(status), text, sizeof(text)),
            POSTIE_OK);
        assert_string_equal(status, "401");
        /* no status at all */
        assert_int_equal(postie_base64_encode((const uint8_t *)"{}", 2, b64, sizeof(b64), NULL),
                         POSTIE_OK);
        assert_int_equal(
            postie_sasl_oauth_error(b64, strlen(b64), status, sizeof(status), text, sizeof(text)),
            POSTIE_OK);
        assert_string_equal(status, "");
        assert_string_equal(text, "{}");
        /* not JSON; control characters shown as '?' */
        assert_int_equal(postie_base64_encode((const uint8_t *)"no\r\n", 4, b64, sizeof(b64), NULL),
                         POSTIE_OK);
        assert_int_equal(
            postie_sasl_oauth_error(b64, strlen(b64), status, sizeof(status), text, sizeof(text)),
            POSTIE_E_REPLY_MALFORMED);
        assert_string_equal(text, "no??");
    }
    /* not base64, padding inside, empty */
    assert_int_equal(postie_sasl_oauth_error("e30", 3, status, sizeof(status), text, sizeof(text)),
                     POSTIE_E_REPLY_MALFORMED);
    assert_int_equal(
        postie_sasl_oauth_error("e3==e30=", 8, status, sizeof(status), text, sizeof(text)),
        POSTIE_E_REPLY_MALFORMED);
    assert_int_equal(postie_sasl_oauth_error("", 0, status, sizeof(status), text, sizeof(text)),
                     POSTIE_E_REPLY_MALFORMED);
    assert_string_equal(status, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_len_macro),
        cmocka_unit_test(test_encode_rfc4648_vectors),
        cmocka_unit_test(test_encode_exact_capacity),
        cmocka_unit_test(test_encode_out_len_optional),
        cmocka_unit_test(test_encode_whole_alphabet),
        cmocka_unit_test(test_decode_rfc4648_vectors),
        cmocka_unit_test(test_decode_too_small),
        cmocka_unit_test(test_decode_bad_length),
        cmocka_unit_test(test_decode_bad_characters),
        cmocka_unit_test(test_decode_bad_padding),
        cmocka_unit_test(test_roundtrip_all_octets),
        cmocka_unit_test(test_sasl_plain),
        cmocka_unit_test(test_sasl_mechanism_names),
        cmocka_unit_test(test_sasl_xoauth2),
        cmocka_unit_test(test_sasl_oauthbearer),
        cmocka_unit_test(test_sasl_oauth_bounds),
        cmocka_unit_test(test_sasl_oauth_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
