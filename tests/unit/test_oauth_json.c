/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The token and device replies (postie_oauth_parse_token_reply,
 * postie_oauth_parse_device_reply), the token store's default path and the
 * mask (postie/posix/oauth.h). No network: replies as the endpoints send
 * them, error messages checked for what they must and must not say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/sasl.h"
#include "postie/posix/oauth.h"

static postie_oauth_token_reply_t tok;
static postie_oauth_device_reply_t dev;
static char err[512];

static postie_status_t token(uint16_t status, const char *body)
{
    return postie_oauth_parse_token_reply(status, body, strlen(body), &tok, err, sizeof(err));
}

static postie_status_t device(uint16_t status, const char *body)
{
    return postie_oauth_parse_device_reply(status, body, strlen(body), &dev, err, sizeof(err));
}

static void expect_err(const char *text)
{
    if (strstr(err, text) == NULL) {
        fail_msg("error \"%s\" does not say \"%s\"", err, text);
    }
}

static void test_token_success(void **state)
{
    (void)state;
    assert_int_equal(token(200, "{\"token_type\":\"Bearer\",\"scope\":\"x\",\"expires_in\":3599,"
                                "\"ext_expires_in\":3599,\"access_token\":\"eyJ0eXAi.abc-_~+/=\"}"),
                     POSTIE_OK);
    assert_string_equal(tok.access_token, "eyJ0eXAi.abc-_~+/=");
    assert_int_equal(tok.access_len, strlen("eyJ0eXAi.abc-_~+/="));
    assert_int_equal(tok.expires_in, 3599);
    assert_string_equal(tok.refresh_token, ""); /* not rotated */
    /* rotation; expires_in as a string (some servers); token_type in lower case */
    assert_int_equal(token(200, "{\"access_token\":\"AT-1\",\"token_type\":\"bearer\","
                                "\"expires_in\":\"120\",\"refresh_token\":\"0.AXo*!RT\"}"),
                     POSTIE_OK);
    assert_string_equal(tok.refresh_token, "0.AXo*!RT");
    assert_int_equal(tok.expires_in, 120);
    /* no expires_in, no token_type */
    assert_int_equal(token(200, "{\"access_token\":\"AT-2\"}"), POSTIE_OK);
    assert_int_equal(tok.expires_in, 0);
}

static void test_token_errors(void **state)
{
    (void)state;
    assert_int_equal(token(400, "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: "
                                "The refresh token has expired.\"}"),
                     POSTIE_E_OAUTH_GRANT);
    assert_string_equal(tok.error, "invalid_grant");
    expect_err("invalid_grant");
    expect_err("AADSTS70008");
    assert_int_equal(token(400, "{\"error\":\"authorization_pending\"}"), POSTIE_E_OAUTH_GRANT);
    assert_string_equal(tok.error, "authorization_pending");
    assert_int_equal(token(400, "{\"error\":\"slow_down\"}"), POSTIE_E_OAUTH_GRANT);
    assert_string_equal(tok.error, "slow_down");
    /* a control character in a description does not reach the terminal */
    assert_int_equal(
        token(400, "{\"error\":\"invalid_client\",\"error_description\":\"a\\u001b[31mb\"}"),
        POSTIE_E_OAUTH_GRANT);
    assert_null(strchr(err, 0x1b));
    /* an error field wins even with 200 */
    assert_int_equal(token(200, "{\"error\":\"invalid_scope\"}"), POSTIE_E_OAUTH_GRANT);
}

static void test_token_malformed(void **state)
{
    (void)state;
    assert_int_equal(token(200, "{\"access_token\": \"AT-x\", oops"), POSTIE_E_HTTP);
    expect_err("not a JSON object");
    assert_int_equal(token(200, "[\"AT-x\"]"), POSTIE_E_HTTP);
    assert_int_equal(token(200, ""), POSTIE_E_HTTP);
    assert_int_equal(token(500, "<html><body>Internal error</body></html>"), POSTIE_E_HTTP);
    expect_err("HTTP 500");
    assert_int_equal(token(400, "Bad Request"), POSTIE_E_HTTP);
    expect_err("HTTP 400 without an OAuth error");
    assert_int_equal(token(503, "{\"message\":\"busy\"}"), POSTIE_E_HTTP);
    expect_err("HTTP 503");
    assert_int_equal(token(200, "{\"token_type\":\"Bearer\"}"), POSTIE_E_HTTP);
    expect_err("no access_token");
    assert_int_equal(token(200, "{\"access_token\":\"\"}"), POSTIE_E_HTTP);
    assert_int_equal(token(200, "{\"access_token\":42}"), POSTIE_E_HTTP);
    assert_int_equal(token(200, "{\"access_token\":\"AT with space\"}"), POSTIE_E_HTTP);
    expect_err("characters");
    assert_null(strstr(err, "AT with space")); /* never quoted */
    assert_int_equal(token(200, "{\"access_token\":\"AT\\r\\nA01 LOGOUT\"}"), POSTIE_E_HTTP);
    assert_int_equal(token(200, "{\"access_token\":\"AT-3\",\"token_type\":\"mac\"}"),
                     POSTIE_E_HTTP);
    expect_err("not Bearer");
    assert_int_equal(token(200, "{\"access_token\":\"AT-3\",\"refresh_token\":\"a\\\"b\"}"),
                     POSTIE_E_HTTP);
    expect_err("refresh token");
    {
        /* one octet over POSTIE_OAUTH_TOKEN_MAX, and exactly at it */
        size_t n = POSTIE_OAUTH_TOKEN_MAX + 1;
        char *body = malloc(n + 64);
        assert_non_null(body);
        memcpy(body, "{\"access_token\":\"", 17);
        memset(body + 17, 'a', n);
        memcpy(body + 17 + n, "\"}", 3);
        assert_int_equal(token(200, body), POSTIE_E_HTTP);
        expect_err("POSTIE_OAUTH_TOKEN_MAX");
        memcpy(body + 17 + n - 1, "\"}", 3);
        assert_int_equal(token(200, body), POSTIE_OK);
        assert_int_equal(tok.access_len, POSTIE_OAUTH_TOKEN_MAX);
        free(body);
    }
}

static void test_device_replies(void **state)
{
    (void)state;
    /* Microsoft's shape */
    assert_int_equal(device(200, "{\"user_code\":\"FH5WRT3P2\",\"device_code\":\"DAQABAAEAAAD\","
                                 "\"verification_uri\":\"https://microsoft.com/devicelogin\","
                                 "\"expires_in\":900,\"interval\":5,\"message\":\"To sign in, use "
                                 "a web browser...\"}"),
                     POSTIE_OK);
    assert_string_equal(dev.user_code, "FH5WRT3P2");
    assert_string_equal(dev.device_code, "DAQABAAEAAAD");
    assert_string_equal(dev.verification_uri, "https://microsoft.com/devicelogin");
    assert_int_equal(dev.expires_in, 900);
    assert_int_equal(dev.interval, 5);
    /* Google's spelling, no interval: the RFC's 5 s */
    assert_int_equal(device(200, "{\"device_code\":\"4/4-GMMh\",\"user_code\":\"GQVQ-JKEC\","
                                 "\"verification_url\":\"https://www.google.com/device\","
                                 "\"expires_in\":1800}"),
                     POSTIE_OK);
    assert_string_equal(dev.verification_uri, "https://www.google.com/device");
    assert_int_equal(dev.interval, 5);
    assert_int_equal(device(200, "{\"device_code\":\"d\",\"user_code\":\"u\","
                                 "\"verification_uri\":\"https://x\","
                                 "\"verification_uri_complete\":\"https://x?c=u\"}"),
                     POSTIE_OK);
    assert_string_equal(dev.verification_uri_complete, "https://x?c=u");
    assert_int_equal(dev.expires_in, 900);
    /* errors */
    assert_int_equal(device(400, "{\"error\":\"invalid_scope\",\"error_description\":\"Invalid "
                                 "device flow scope: https://mail.google.com/\"}"),
                     POSTIE_E_OAUTH_GRANT);
    expect_err("invalid_scope");
    assert_int_equal(device(200, "{\"user_code\":\"u\",\"verification_uri\":\"https://x\"}"),
                     POSTIE_E_HTTP);
    expect_err("device_code");
    assert_int_equal(device(200, "{\"device_code\":\"d\",\"verification_uri\":\"https://x\"}"),
                     POSTIE_E_HTTP);
    expect_err("user_code");
    assert_int_equal(device(200, "{\"device_code\":\"d\",\"user_code\":\"u\"}"), POSTIE_E_HTTP);
    expect_err("verification_uri");
    assert_int_equal(device(200, "{\"device_code\":\"d\",\"user_code\":\"u\","
                                 "\"verification_uri\":\"javascript:alert(1)\"}"),
                     POSTIE_E_HTTP);
    assert_int_equal(device(502, "<html>Bad gateway</html>"), POSTIE_E_HTTP);
    expect_err("HTTP 502");
}

static void test_store_path_and_mask(void **state)
{
    (void)state;
    postie_endpoint_t ep;
    char out[POSTIE_REGISTRY_TEXT_MAX + 64];
    char m[16];
    memset(&ep, 0, sizeof(ep));
    unsetenv("STATE_DIRECTORY");
    assert_int_equal(postie_oauth_store_path(&ep, false, "mail/Notify", "/etc/postie/registry.json",
                                             out, sizeof(out)),
                     POSTIE_OK);
    assert_string_equal(out, "/etc/postie/oauth-session-mail_Notify.json");
    assert_int_equal(postie_oauth_store_path(&ep, true, "Inbox 1", "reg.json", out, sizeof(out)),
                     POSTIE_OK);
    assert_string_equal(out, "./oauth-account-Inbox_1.json");
    setenv("STATE_DIRECTORY", "/var/lib/postie:/var/lib/other", 1);
    assert_int_equal(postie_oauth_store_path(&ep, false, "mail/A", "/etc/postie/registry.json", out,
                                             sizeof(out)),
                     POSTIE_OK);
    assert_string_equal(out, "/var/lib/postie/oauth-session-mail_A.json");
    unsetenv("STATE_DIRECTORY");
    strcpy(ep.oauth2.token_store, "/srv/t.json");
    assert_int_equal(postie_oauth_store_path(&ep, false, "mail/A", NULL, out, sizeof(out)),
                     POSTIE_OK);
    assert_string_equal(out, "/srv/t.json");
    assert_int_equal(postie_oauth_store_path(&ep, false, "mail/A", NULL, out, 5),
                     POSTIE_E_NO_SPACE);
    postie_oauth_mask("RT-abcdefgh", m, sizeof(m));
    assert_string_equal(m, "RT-a...");
    postie_oauth_mask("ab", m, sizeof(m));
    assert_string_equal(m, "ab...");
    postie_oauth_mask("", m, sizeof(m));
    assert_string_equal(m, "(none)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_success),       cmocka_unit_test(test_token_errors),
        cmocka_unit_test(test_token_malformed),     cmocka_unit_test(test_device_replies),
        cmocka_unit_test(test_store_path_and_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
