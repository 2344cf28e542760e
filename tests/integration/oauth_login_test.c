/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OAuth 2.0 logins against the real servers of with_mailserver.sh: Dovecot
 * (IMAP, POP3) with its oauth2 passdb, and Postfix (SMTP) authenticating
 * through Dovecot's SASL on its OAuth port; the tokens are checked by
 * oauth_introspect.py, which accepts the lines of POSTIE_TEST_OAUTH_TOKENS.
 *
 *  - XOAUTH2 and OAUTHBEARER log in over IMAPS, IMAP+STARTTLS, POP3S,
 *    POP3+STLS and SMTPS;
 *  - a token the server refuses gives POSTIE_E_TOKEN_REJECTED with the
 *    server's decoded JSON, after exactly one refresh;
 *  - a provider whose first token has expired and whose refreshed one is
 *    good logs in on the second try;
 *  - a token that expires (removed from the file) stops working;
 *  - a mechanism the server does not offer fails without a fallback;
 *  - no token, in clear or in base64, ever reaches the log callback.
 *
 * Environment (mailserver.sh): POSTIE_TEST_HOST, POSTIE_TEST_CA,
 * POSTIE_TEST_USER, POSTIE_TEST_OAUTH_TOKENS, the ports.
 */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postie/common/base64.h"
#include "postie/posix/mailbox_client.h"
#include "postie/posix/smtp_client.h"

/* ---- environment --------------------------------------------------------------- */

static const char *env_str(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fail_msg("%s is not set; run this program through with_mailserver.sh", name);
    }
    return v;
}

static uint16_t env_port(const char *name)
{
    const char *v = env_str(name);
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n == 0 || n > 65535) {
        fail_msg("%s=%s is not a port", name, v);
    }
    return (uint16_t)n;
}

/* The tokens the introspection server accepts from now on (for the test
 * user), written whole and renamed into place. */
static void accept_tokens(const char *a, const char *b)
{
    const char *path = env_str("POSTIE_TEST_OAUTH_TOKENS");
    char tmp[512];
    FILE *f;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    assert_non_null(f);
    if (a != NULL) {
        fprintf(f, "%s %s\n", a, env_str("POSTIE_TEST_USER"));
    }
    if (b != NULL) {
        fprintf(f, "%s %s\n", b, env_str("POSTIE_TEST_USER"));
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(tmp, 0644), 0);
    assert_int_equal(rename(tmp, path), 0);
}

/* ---- the provider -------------------------------------------------------------- */

typedef struct {
    const char *first;   /* the cached token */
    const char *refresh; /* what a refresh gives */
    int calls;
    int refreshes;
} provider_t;

static postie_status_t get_token(void *ctx, bool refresh, char *token, size_t cap, size_t *len,
                                 char *err, size_t err_cap)
{
    provider_t *p = ctx;
    const char *t = refresh ? p->refresh : p->first;
    p->calls++;
    p->refreshes += refresh ? 1 : 0;
    if (t == NULL) {
        snprintf(err, err_cap, "test provider: no token");
        return POSTIE_E_TOKEN_UNAVAILABLE;
    }
    *len = strlen(t);
    assert_true(*len < cap);
    memcpy(token, t, *len + 1);
    return POSTIE_OK;
}

/* ---- the log ---------------------------------------------------------------- */

static char logged[1 << 16];
static size_t logged_len;

static void collect_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    logged_len += (size_t)snprintf(logged + logged_len, sizeof(logged) - logged_len, "%c %.*s\n",
                                   dir == POSTIE_LOG_SENT       ? 'C'
                                   : dir == POSTIE_LOG_RECEIVED ? 'S'
                                                                : '*',
                                   (int)len, line);
}

/* No token (all of them start "tok-") in clear or in base64: the SASL
 * responses start with "user=" (XOAUTH2, "dXNlcj1") or "n,a=" (OAUTHBEARER,
 * "bixhPQ"); "tok-" itself in base64 at any alignment. */
static void assert_log_clean(void)
{
    static const char *const never[] = {"tok-", "dXNlcj1", "bixhPQ", "dG9rL", "Rvay0", "0b2st"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        if (strstr(logged, never[i]) != NULL) {
            fail_msg("the log shows %s:\n%s", never[i], logged);
        }
    }
}

/* ---- the clients ------------------------------------------------------------- */

typedef enum { IMAPS, IMAP_STARTTLS, POP3S, POP3_STLS, SMTPS_OAUTH, SMTPS_PLAIN_ONLY } where_t;

static const char *const where_names[] = {"IMAPS",     "IMAP+STARTTLS", "POP3S",
                                          "POP3+STLS", "SMTPS (OAuth)", "SMTPS (PLAIN only)"};

static postie_smtp_client_t smtp;
static postie_mailbox_client_t mbox;
static postie_error_t last_error;

/* Log in at `where` by mech with provider p; returns open's status, keeps
 * its error in last_error, and closes. */
static postie_status_t login(where_t where, uint32_t mech, provider_t *p)
{
    postie_token_provider_t provider = {get_token, p};
    postie_status_t st;
    logged_len = 0;
    logged[0] = '\0';
    if (where == SMTPS_OAUTH || where == SMTPS_PLAIN_ONLY) {
        postie_smtp_client_config_t cfg;
        postie_smtp_client_config_defaults(&cfg);
        cfg.host = "localhost";
        cfg.connect_to = env_str("POSTIE_TEST_HOST");
        cfg.port = env_port(where == SMTPS_OAUTH ? "POSTIE_TEST_OAUTH_SMTPS_PORT"
                                                 : "POSTIE_TEST_SMTPS_PORT");
        cfg.tls.ca_file = env_str("POSTIE_TEST_CA");
        cfg.smtp.tls_mode = POSTIE_TLS_IMPLICIT;
        cfg.smtp.ehlo_name = "client.example.test";
        cfg.smtp.username = env_str("POSTIE_TEST_USER");
        cfg.smtp.oauth_mechanism = mech;
        cfg.smtp.log = collect_log;
        cfg.token = &provider;
        st = postie_smtp_client_open(&smtp, &cfg);
        last_error = *postie_smtp_client_error(&smtp);
        postie_smtp_client_quit(&smtp);
    } else {
        postie_mailbox_client_config_t cfg;
        bool imap = where == IMAPS || where == IMAP_STARTTLS;
        bool implicit = where == IMAPS || where == POP3S;
        postie_mailbox_client_config_defaults(&cfg);
        cfg.protocol = imap ? POSTIE_FETCH_IMAP : POSTIE_FETCH_POP3;
        cfg.host = "localhost";
        cfg.connect_to = env_str("POSTIE_TEST_HOST");
        cfg.port = env_port(imap ? (implicit ? "POSTIE_TEST_IMAPS_PORT" : "POSTIE_TEST_IMAP_PORT")
                                 : (implicit ? "POSTIE_TEST_POP3S_PORT" : "POSTIE_TEST_POP3_PORT"));
        cfg.tls_mode = implicit ? POSTIE_TLS_IMPLICIT : POSTIE_TLS_STARTTLS_REQUIRED;
        cfg.tls.ca_file = env_str("POSTIE_TEST_CA");
        cfg.user = env_str("POSTIE_TEST_USER");
        cfg.oauth_mechanism = mech;
        cfg.log = collect_log;
        cfg.token = &provider;
        st = postie_mailbox_client_open(&mbox, &cfg);
        last_error = *postie_mailbox_client_error(&mbox);
        if (st == POSTIE_OK) {
            assert_int_equal(postie_mailbox_client_finish(&mbox), POSTIE_OK);
        }
        postie_mailbox_client_close(&mbox);
    }
    assert_log_clean();
    return st;
}

static const where_t everywhere[] = {IMAPS, IMAP_STARTTLS, POP3S, POP3_STLS, SMTPS_OAUTH};
static const uint32_t mechs[] = {POSTIE_SASL_XOAUTH2, POSTIE_SASL_OAUTHBEARER};

#define EACH_LOGIN(w, m)                                                    \
    for (size_t w = 0; w < sizeof(everywhere) / sizeof(everywhere[0]); w++) \
        for (size_t m = 0; m < 2; m++)

static void expect(postie_status_t got, postie_status_t want, where_t w, uint32_t mech)
{
    if (got != want) {
        fail_msg("%s %s: %s (%s: %s), expected %s\nlog:\n%s", where_names[w],
                 postie_sasl_mechanism_name(mech), postie_status_str(got), last_error.phase,
                 last_error.subject, postie_status_str(want), logged);
    }
}

/* A good token: one ask, logged in, by either mechanism, everywhere. */
static void test_good_token(void **state)
{
    (void)state;
    accept_tokens("tok-good-1", NULL);
    EACH_LOGIN(w, m)
    {
        provider_t p = {"tok-good-1", "tok-good-1", 0, 0};
        expect(login(everywhere[w], mechs[m], &p), POSTIE_OK, everywhere[w], mechs[m]);
        assert_int_equal(p.calls, 1);
        assert_non_null(strstr(logged, "<redacted>"));
    }
}

/* Refused twice: TOKEN_REJECTED with Dovecot's JSON, one refresh. */
static void test_refused_token(void **state)
{
    (void)state;
    accept_tokens("tok-good-1", NULL);
    EACH_LOGIN(w, m)
    {
        provider_t p = {"tok-expired-1", "tok-expired-2", 0, 0};
        expect(login(everywhere[w], mechs[m], &p), POSTIE_E_TOKEN_REJECTED, everywhere[w],
               mechs[m]);
        assert_int_equal(last_error.status, POSTIE_E_TOKEN_REJECTED);
        assert_int_equal(p.calls, 2);
        assert_int_equal(p.refreshes, 1);
        /* Dovecot: XOAUTH2 {"status":"401","schemes":"bearer","scope":"mail"},
         * OAUTHBEARER {"status":"invalid_token"} */
        if (mechs[m] == POSTIE_SASL_XOAUTH2) {
            assert_string_equal(
                last_error.subject,
                "401: {\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail\"}");
        } else {
            assert_string_equal(last_error.subject,
                                "invalid_token: {\"status\":\"invalid_token\"}");
        }
    }
}

/* The cached token has expired; the refreshed one is good: in on the
 * second try. */
static void test_refresh_then_success(void **state)
{
    (void)state;
    accept_tokens("tok-fresh-2", NULL);
    EACH_LOGIN(w, m)
    {
        provider_t p = {"tok-stale-1", "tok-fresh-2", 0, 0};
        expect(login(everywhere[w], mechs[m], &p), POSTIE_OK, everywhere[w], mechs[m]);
        assert_int_equal(p.calls, 2);
        assert_int_equal(p.refreshes, 1);
    }
}

/* A token that worked stops working once the issuer drops it. */
static void test_token_expires(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        provider_t p = {"tok-short-1", "tok-short-1", 0, 0};
        accept_tokens("tok-short-1", NULL);
        expect(login(IMAPS, mechs[m], &p), POSTIE_OK, IMAPS, mechs[m]);
        accept_tokens(NULL, NULL);
        p.calls = 0;
        expect(login(IMAPS, mechs[m], &p), POSTIE_E_TOKEN_REJECTED, IMAPS, mechs[m]);
        assert_int_equal(p.calls, 2);
    }
}

/* Postfix's SMTPS port offers PLAIN and LOGIN only: no fallback, no retry. */
static void test_mechanism_not_offered(void **state)
{
    (void)state;
    accept_tokens("tok-good-1", NULL);
    for (size_t m = 0; m < 2; m++) {
        provider_t p = {"tok-good-1", "tok-good-1", 0, 0};
        expect(login(SMTPS_PLAIN_ONLY, mechs[m], &p), POSTIE_E_AUTH_NO_MECHANISM, SMTPS_PLAIN_ONLY,
               mechs[m]);
        assert_non_null(strstr(last_error.subject, postie_sasl_mechanism_name(mechs[m])));
        assert_int_equal(p.calls, 1);
        assert_null(strstr(logged, "C AUTH"));
    }
}

/* The provider has nothing: its message, no connection made. */
static void test_provider_has_no_token(void **state)
{
    (void)state;
    for (size_t w = 0; w < sizeof(everywhere) / sizeof(everywhere[0]); w++) {
        provider_t p = {NULL, NULL, 0, 0};
        expect(login(everywhere[w], POSTIE_SASL_XOAUTH2, &p), POSTIE_E_TOKEN_UNAVAILABLE,
               everywhere[w], POSTIE_SASL_XOAUTH2);
        assert_string_equal(last_error.subject, "test provider: no token");
        assert_string_equal(last_error.phase, "OAuth 2.0 token");
        assert_int_equal(logged_len, 0); /* not even a greeting */
    }
}

/* Tokens of real sizes: Microsoft's run to about 2.5 KiB, and the longest
 * Postie takes (POSTIE_OAUTH_TOKEN_MAX). They pass the 512- and 255-octet
 * AUTH lines of SMTP and POP3, so the response follows the server's
 * continuation there; IMAP sends it on the AUTHENTICATE line (SASL-IR). */
static void test_long_tokens(void **state)
{
    static char longest[POSTIE_OAUTH_TOKEN_MAX + 1];
    static char microsoft[2501];
    (void)state;
    memcpy(longest, "tok-", 4);
    memset(longest + 4, 'L', POSTIE_OAUTH_TOKEN_MAX - 4);
    memcpy(microsoft, "tok-", 4);
    memset(microsoft + 4, 'M', sizeof(microsoft) - 5);
    accept_tokens(longest, microsoft);
    EACH_LOGIN(w, m)
    {
        provider_t p = {m == 0 ? microsoft : longest, NULL, 0, 0};
        expect(login(everywhere[w], mechs[m], &p), POSTIE_OK, everywhere[w], mechs[m]);
        assert_int_equal(p.calls, 1);
        if (everywhere[w] != IMAPS && everywhere[w] != IMAP_STARTTLS) {
            assert_non_null(strstr(logged, mechs[m] == POSTIE_SASL_XOAUTH2
                                               ? "C AUTH XOAUTH2\n"
                                               : "C AUTH OAUTHBEARER\n"));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_token),
        cmocka_unit_test(test_refused_token),
        cmocka_unit_test(test_refresh_then_success),
        cmocka_unit_test(test_token_expires),
        cmocka_unit_test(test_long_tokens),
        cmocka_unit_test(test_mechanism_not_offered),
        cmocka_unit_test(test_provider_has_no_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
