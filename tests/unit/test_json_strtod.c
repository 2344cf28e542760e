/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The allocation-free number parser a firmware cJSON build uses in place of
 * strtod (port/cjson/cjson_static.c), checked against the host C library's
 * strtod: exact on integers and short decimals, close on everything else,
 * and the same end position. (cJSON hands the parser only octets from
 * "0123456789+-eE.", so hex and "inf" never reach it.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/cjson/cjson_static.h"

static void expect_exact(const char *text)
{
    char *our_end = NULL;
    char *libc_end = NULL;
    double ours = postie_cjson_strtod(text, &our_end);
    double libc = strtod(text, &libc_end);
    if (ours != libc || our_end != libc_end) {
        print_error("%s: ours %.17g (end +%td), libc %.17g (end +%td)\n", text, ours,
                    our_end - text, libc, libc_end - text);
        fail();
    }
}

static void expect_close(const char *text)
{
    char *our_end = NULL;
    char *libc_end = NULL;
    double ours = postie_cjson_strtod(text, &our_end);
    double libc = strtod(text, &libc_end);
    double tolerance = fabs(libc) * 1e-14;
    if (fabs(ours - libc) > tolerance || our_end != libc_end) {
        print_error("%s: ours %.17g, libc %.17g\n", text, ours, libc);
        fail();
    }
}

static void test_integers_are_exact(void **state)
{
    static const char *const cases[] = {
        "0",
        "-0",
        "1",
        "25",
        "587",
        "465",
        "65535",
        "65536",
        "-1",
        "30000",
        "600000",
        "4294967295",
        "4294967296",
        "9007199254740992",
        "-9007199254740992",
        "2147483647",
        "-2147483648",
        "1e3",
        "1E3",
        "12e+2",
        "00012",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_exact(cases[i]);
    }
    /* every port number */
    for (unsigned port = 0; port <= 65535; port += 7) {
        char text[16];
        snprintf(text, sizeof(text), "%u", port);
        expect_exact(text);
    }
}

static void test_short_decimals_are_exact(void **state)
{
    static const char *const cases[] = {
        "0.5",
        "1.25",
        "-3.75",
        "0.1",
        "0.2",
        "0.3",
        "2.5e-3",
        "1.5e10",
        "123.456",
        "0.000123",
        "3.14159265358979",
        "1e22",
        "1e-22",
        "-0.0",
        "9.5e-5",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_exact(cases[i]);
    }
}

static void test_long_and_extreme_values_are_close(void **state)
{
    static const char *const cases[] = {
        "1e100",
        "-2.5e-100",
        "1.7976931348623157e308",
        "123456789012345678901234567890",
        "0.1234567890123456789012345",
        "6.02214076e23",
        "1.602176634e-19",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_close(cases[i]);
    }
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_true(isinf(postie_cjson_strtod("1e400", NULL)));
    assert_true(postie_cjson_strtod("-1e400", NULL) < 0);
    assert_true(isinf(postie_cjson_strtod("-1e99999999999", NULL)));
    assert_true(postie_cjson_strtod("1e-400", NULL) == 0.0);
    assert_true(postie_cjson_strtod("1e-99999999999", NULL) == 0.0);
}

static void test_end_position(void **state)
{
    static const char *const cases[] = {"12,", "1.5]", "7e",    "7e+", "3.",     "-", "",
                                        "x1",  "1.e5", "2E-3}", ".5",  "-.25e1", "."};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_exact(cases[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers_are_exact),
        cmocka_unit_test(test_short_decimals_are_exact),
        cmocka_unit_test(test_long_and_extreme_values_are_close),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_end_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
