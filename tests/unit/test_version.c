/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The version (core/common/version.c): the macros, the string made from
 * them, the linked library's postie_version(), and the project version
 * CMake read from the header (POSTIE_EXPECTED_VERSION, passed in by
 * tests/unit/CMakeLists.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/version.h"

static void test_string_matches_numbers(void **state)
{
    char expect[32];
    (void)state;
    snprintf(expect, sizeof(expect), "%d.%d.%d", POSTIE_VERSION_MAJOR, POSTIE_VERSION_MINOR,
             POSTIE_VERSION_PATCH);
    assert_string_equal(POSTIE_VERSION_STRING, expect);
    assert_string_equal(postie_version(), expect);
}

static void test_matches_cmake_project_version(void **state)
{
    (void)state;
    assert_string_equal(postie_version(), POSTIE_EXPECTED_VERSION);
}

static void test_number_orders_versions(void **state)
{
    (void)state;
    assert_int_equal(POSTIE_VERSION_NUMBER, (POSTIE_VERSION_MAJOR << 16) |
                                                (POSTIE_VERSION_MINOR << 8) | POSTIE_VERSION_PATCH);
    assert_true(POSTIE_VERSION_MAKE(0, 1, 255) < POSTIE_VERSION_MAKE(0, 2, 0));
    assert_true(POSTIE_VERSION_MAKE(0, 255, 255) < POSTIE_VERSION_MAKE(1, 0, 0));
#if POSTIE_VERSION_NUMBER < POSTIE_VERSION_MAKE(0, 1, 0)
    fail_msg("POSTIE_VERSION_NUMBER is not usable in #if");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_matches_numbers),
        cmocka_unit_test(test_matches_cmake_project_version),
        cmocka_unit_test(test_number_orders_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
