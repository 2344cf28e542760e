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
    assert_int_equal(POSTIE_E_EXPIRED + 1, POSTIE_STATUS_COUNT);
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

static void test_copy_printable_replaces_controls(void **state)
{
    static const char src[] = "a\tb\r\n\x7f\x01\x1f c\0d\xc3\xa9~";
    char dst[64];
    (void)state;

    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, sizeof(dst), src, sizeof(src) - 1);
    /* controls, DEL and NUL become '?'; space, '~' and 8-bit octets stay */
    assert_string_equal(dst, "a?b?????"
                             " c?d\xc3\xa9~");
    assert_int_equal(strlen(dst), sizeof(src) - 1);
    assert_int_equal(dst[sizeof(src)], 'Z');
}

static void test_copy_printable_cuts(void **state)
{
    char dst[16];
    (void)state;

    /* longer than the room: cap-1 octets and a NUL */
    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, 4, "abcdef", 6);
    assert_memory_equal(dst, "abc\0", 4);
    assert_int_equal(dst[4], 'Z');

    /* exactly cap-1: whole */
    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, 4, "abc", 3);
    assert_memory_equal(dst, "abc\0", 4);
    assert_int_equal(dst[4], 'Z');

    /* exactly cap: one octet cut */
    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, 4, "abcd", 4);
    assert_memory_equal(dst, "abc\0", 4);
    assert_int_equal(dst[4], 'Z');

    /* only len octets are read, not up to a NUL */
    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, sizeof(dst), "abcdef", 2);
    assert_memory_equal(dst, "ab\0", 3);
    assert_int_equal(dst[3], 'Z');

    /* cap 1: just the terminator */
    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, 1, "abc", 3);
    assert_int_equal(dst[0], '\0');
    assert_int_equal(dst[1], 'Z');

    /* len 0, even with a NULL source */
    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, sizeof(dst), NULL, 0);
    assert_int_equal(dst[0], '\0');
    assert_int_equal(dst[1], 'Z');

    /* cap 0: nothing written at all */
    memset(dst, 'Z', sizeof(dst));
    postie_copy_printable(dst, 0, "abc", 3);
    assert_int_equal(dst[0], 'Z');
}

static void expect_u64(uint64_t v, const char *want)
{
    char out[POSTIE_U64_DIGITS + 4];
    size_t n;
    memset(out, '#', sizeof(out));
    n = postie_format_u64(v, out);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    assert_int_equal(out[n], '#'); /* no terminator, nothing past the digits */
}

static void test_format_u64(void **state)
{
    (void)state;
    expect_u64(0, "0");
    expect_u64(9, "9");
    expect_u64(10, "10");
    expect_u64(10240000, "10240000");
    expect_u64(UINT64_MAX, "18446744073709551615");
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
        cmocka_unit_test(test_copy_printable_replaces_controls),
        cmocka_unit_test(test_copy_printable_cuts),
        cmocka_unit_test(test_format_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
