/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blocking client's life cycle around failures: quit after every early
 * return of open (before the transport is connected, or even set up), quit
 * twice, quit on a client never opened, send after a failed open. None of
 * these needs a server: each open fails before its first byte, or on a
 * closed port of 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/posix/smtp_client.h"

static postie_smtp_client_t client;
static postie_smtp_client_config_t cfg;
static char long_text[301];

static int setup(void **state)
{
    (void)state;
    memset(&client, 0, sizeof(client));
    postie_smtp_client_config_defaults(&cfg);
    cfg.host = "localhost";
    cfg.port = 1;
    cfg.smtp.tls_mode = POSTIE_TLS_NONE;
    memset(long_text, 'a', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    return 0;
}

/* open fails with want and a record naming it; quit, twice, survives; a
 * send on the failed client is refused. */
static void open_fails_then_quit(postie_status_t want, const char *phase)
{
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt;

    assert_int_equal(postie_smtp_client_open(&client, &cfg), want);
    assert_int_equal(postie_smtp_client_error(&client)->status, want);
    assert_string_equal(postie_smtp_client_error(&client)->phase, phase);
    postie_smtp_client_quit(&client);
    postie_smtp_client_quit(&client);

    memset(&env, 0, sizeof(env));
    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = "bob@example.test";
    env.from = "alice@example.test";
    env.rcpt = &rcpt;
    env.rcpt_count = 1;
    assert_int_not_equal(postie_smtp_client_send(&client, &env, NULL, NULL), POSTIE_OK);
    postie_smtp_client_quit(&client);
}

static void test_empty_host(void **state)
{
    (void)state;
    cfg.host = "";
    open_fails_then_quit(POSTIE_E_INVALID_ARGUMENT, "configuration");
}

static void test_no_host(void **state)
{
    (void)state;
    cfg.host = NULL;
    open_fails_then_quit(POSTIE_E_INVALID_ARGUMENT, "configuration");
}

static void test_ehlo_with_a_space(void **state)
{
    (void)state;
    cfg.smtp.ehlo_name = "my host";
    open_fails_then_quit(POSTIE_E_INVALID_ARGUMENT, "EHLO");
}

static void test_user_name_too_long(void **state)
{
    (void)state;
    cfg.smtp.username = long_text;
    cfg.smtp.password = "secret";
    open_fails_then_quit(POSTIE_E_INVALID_ARGUMENT, "AUTH");
}

static void test_password_too_long(void **state)
{
    (void)state;
    cfg.smtp.username = "alice";
    cfg.smtp.password = long_text;
    open_fails_then_quit(POSTIE_E_INVALID_ARGUMENT, "AUTH");
}

static void test_implicit_tls_with_a_bad_ehlo(void **state)
{
    (void)state;
    cfg.smtp.tls_mode = POSTIE_TLS_IMPLICIT;
    cfg.smtp.ehlo_name = "my host";
    open_fails_then_quit(POSTIE_E_INVALID_ARGUMENT, "EHLO");
}

/* The transport was set up and the connect failed: the old path, kept. */
static void test_connect_refused(void **state)
{
    (void)state;
    cfg.host = "127.0.0.1";
    open_fails_then_quit(POSTIE_E_CONNECT_FAILED, "connect");
}

static void test_quit_on_a_client_never_opened(void **state)
{
    (void)state;
    postie_smtp_client_quit(&client);
    postie_smtp_client_quit(&client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty_host, setup),
        cmocka_unit_test_setup(test_no_host, setup),
        cmocka_unit_test_setup(test_ehlo_with_a_space, setup),
        cmocka_unit_test_setup(test_user_name_too_long, setup),
        cmocka_unit_test_setup(test_password_too_long, setup),
        cmocka_unit_test_setup(test_implicit_tls_with_a_bad_ehlo, setup),
        cmocka_unit_test_setup(test_connect_refused, setup),
        cmocka_unit_test_setup(test_quit_on_a_client_never_opened, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
