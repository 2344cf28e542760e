/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the status table and error helpers (core/common/status.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/status.h"

static void test_names_and_messages_distinct(void **state)
{
    (void)state;
    assert_true(POSTIE_STATUS_COUNT > 1);
    for (int i = 0; i < (int)POSTIE_STATUS_COUNT; i++) {
        const char *name = postie_status_name((postie_status_t)i);
        const char *msg = postie_status_str((postie_status_t)i);
        assert_non_null(name);
        assert_non_null(msg);
        assert_true(strlen(name) > strlen("POSTIE_"));
        assert_memory_equal(name, "POSTIE_", 7);
        assert_true(strlen(msg) > 0);
        for (int j = 0; j < i; j++) {
            if (strcmp(name, postie_status_name((postie_status_t)j)) == 0) {
                fail_msg("statuses %d and %d share the name %s", j, i, name);
            }
            if (strcmp(msg, postie_status_str((postie_status_t)j)) == 0) {
                fail_msg("statuses %d and %d share the message \"%s\"", j, i, msg);
            }
        }
    }
}

static void test_names_match_enum(void **state)
{
    (void)state;
    assert_int_equal(POSTIE_OK, 0);
    assert_string_equal(postie_status_name(POSTIE_OK), "POSTIE_OK");
    assert_string_equal(postie_status_name(POSTIE_E_AGAIN), "POSTIE_E_AGAIN");
    assert_string_equal(postie_status_name(POSTIE_E_NO_SPACE), "POSTIE_E_NO_SPACE");
    assert_string_equal(postie_status_name(POSTIE_E_BODY_NUL), "POSTIE_E_BODY_NUL");
    assert_string_equal(postie_status_name(POSTIE_E_BODY_8BIT_UNDECLARED),
                        "POSTIE_E_BODY_8BIT_UNDECLARED");
    assert_string_equal(postie_status_name(POSTIE_E_REPLY_LINE_TOO_LONG),
                        "POSTIE_E_REPLY_LINE_TOO_LONG");
    assert_string_equal(postie_status_name(POSTIE_E_REPLY_MALFORMED), "POSTIE_E_REPLY_MALFORMED");
    assert_string_equal(postie_status_name(POSTIE_E_STARTTLS_INJECTION),
                        "POSTIE_E_STARTTLS_INJECTION");
    assert_string_equal(postie_status_name(POSTIE_E_TIMEOUT), "POSTIE_E_TIMEOUT");
    assert_string_equal(postie_status_name(POSTIE_E_TLS_CERT_NAME_MISMATCH),
                        "POSTIE_E_TLS_CERT_NAME_MISMATCH");
    assert_string_equal(postie_status_name(POSTIE_E_FILE), "POSTIE_E_FILE");
    /* the last entry: the tables are not shifted */
    assert_string_equal(postie_status_name(POSTIE_E_QUEUE_FULL), "POSTIE_E_QUEUE_FULL");
    assert_string_equal(postie_status_name(POSTIE_E_EXPIRED), "POSTIE_E_EXPIRED");
    assert_string_equal(postie_status_name(POSTIE_E_FETCH_STATE), "POSTIE_E_FETCH_STATE");
    assert_string_equal(postie_status_name(POSTIE_E_DEFERRED), "POSTIE_E_DEFERRED");
    assert_string_equal(postie_status_name(POSTIE_E_DELIVERY_FAILED), "POSTIE_E_DELIVERY_FAILED");
    assert_int_equal(POSTIE_E_HTTP + 1, POSTIE_STATUS_COUNT);
}

static void test_messages_match_enum(void **state)
{
    (void)state;
    assert_string_equal(postie_status_str(POSTIE_OK), "success");
    assert_string_equal(postie_status_str(POSTIE_E_TIMEOUT), "timed out waiting for the server");
    assert_string_equal(postie_status_str(POSTIE_E_BODY_NUL), "message contains a NUL octet");
    assert_string_equal(postie_status_str(POSTIE_E_FILE), "file could not be read");
}

static void test_out_of_range(void **state)
{
    static const int bad[] = {POSTIE_STATUS_COUNT, POSTIE_STATUS_COUNT + 1, 1000, 0x7fffffff};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        postie_status_t st = (postie_status_t)bad[i];
        assert_non_null(postie_status_name(st));
        assert_non_null(postie_status_str(st));
        assert_string_equal(postie_status_name(st), "POSTIE_STATUS_UNKNOWN");
        assert_string_equal(postie_status_str(st), "unknown status");
        assert_false(postie_status_is_transient(st));
    }
}

static void test_transient(void **state)
{
    (void)state;
    assert_true(postie_status_is_transient(POSTIE_E_AGAIN));
    assert_true(postie_status_is_transient(POSTIE_E_REPLY_TRANSIENT));
    assert_true(postie_status_is_transient(POSTIE_E_SERVER_SHUTDOWN));
    assert_true(postie_status_is_transient(POSTIE_E_AUTH_TEMPORARY));
    assert_true(postie_status_is_transient(POSTIE_E_TIMEOUT));
    assert_true(postie_status_is_transient(POSTIE_E_CONNECTION_CLOSED));
    assert_true(postie_status_is_transient(POSTIE_E_CONNECTION_RESET));
    assert_true(postie_status_is_transient(POSTIE_E_DNS));
    assert_true(postie_status_is_transient(POSTIE_E_CONNECT_FAILED));

    assert_false(postie_status_is_transient(POSTIE_OK));
    assert_false(postie_status_is_transient(POSTIE_E_INVALID_ARGUMENT));
    assert_false(postie_status_is_transient(POSTIE_E_REPLY_PERMANENT));
    assert_false(postie_status_is_transient(POSTIE_E_REPLY_MALFORMED));
    assert_false(postie_status_is_transient(POSTIE_E_AUTH_FAILED));
    assert_false(postie_status_is_transient(POSTIE_E_BODY_NUL));
    assert_false(postie_status_is_transient(POSTIE_E_TLS_CERT_UNTRUSTED));
    assert_false(postie_status_is_transient(POSTIE_E_TLS_CERT_NAME_MISMATCH));
    assert_false(postie_status_is_transient(POSTIE_E_FILE));
}

static void test_error_clear(void **state)
{
    postie_error_t err;
    (void)state;
    memset(&err, 0x5a, sizeof(err));
    postie_error_clear(&err);
    assert_int_equal(err.status, POSTIE_OK);
    assert_non_null(err.phase);
    assert_string_equal(err.phase, "");
    assert_int_equal(err.reply.code, 0);
    assert_string_equal(err.reply.enhanced, "");
    assert_string_equal(err.reply.text, "");
    assert_string_equal(err.subject, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_messages_distinct),
        cmocka_unit_test(test_names_match_enum),
        cmocka_unit_test(test_messages_match_enum),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_error_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
