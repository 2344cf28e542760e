/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/common/status.c built with POSTIE_STATUS_TEXTS 0 (terse firmware):
 * no human messages, postie_status_str() gives the name, and the names and
 * the transient split are all still there. Compiled with status.c alone
 * (tests/unit/CMakeLists.txt), not with the library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/status.h"

#if POSTIE_STATUS_TEXTS
#error "build this test with -DPOSTIE_STATUS_TEXTS=0"
#endif

static void test_str_is_the_name(void **state)
{
    (void)state;
    for (int i = 0; i < (int)POSTIE_STATUS_COUNT; i++) {
        const char *name = postie_status_name((postie_status_t)i);
        assert_non_null(name);
        assert_memory_equal(name, "POSTIE_", 7);
        assert_ptr_equal(postie_status_str((postie_status_t)i), name);
    }
    assert_string_equal(postie_status_str(POSTIE_E_TIMEOUT), "POSTIE_E_TIMEOUT");
    assert_string_equal(postie_status_str(POSTIE_OK), "POSTIE_OK");
    assert_string_equal(postie_status_str(POSTIE_E_HTTP), "POSTIE_E_HTTP");
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(postie_status_str(POSTIE_STATUS_COUNT), "POSTIE_STATUS_UNKNOWN");
    assert_string_equal(postie_status_str((postie_status_t)1000), "POSTIE_STATUS_UNKNOWN");
}

static void test_transient_kept(void **state)
{
    (void)state;
    assert_true(postie_status_is_transient(POSTIE_E_TIMEOUT));
    assert_true(postie_status_is_transient(POSTIE_E_REPLY_TRANSIENT));
    assert_false(postie_status_is_transient(POSTIE_E_REPLY_PERMANENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_is_the_name),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_transient_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
