/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cJSON without a heap: see cjson_static.h.
 */
#include "postie/cjson/cjson_static.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

void *postie_cjson_no_malloc(size_t size)
{
    (void)size;
    return NULL;
}

void postie_cjson_no_free(void *p)
{
    (void)p;
}

void *postie_cjson_no_realloc(void *p, size_t size)
{
    (void)p;
    (void)size;
    return NULL;
}

/* 10^0 .. 10^22: every one of these is exact in a double. */
static const double exact_powers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* mantissa * 10^exp10: exact when both are exact in a double. */
static double scale(double value, long exp10)
{
    while (exp10 > 22 && value != 0.0 && !isinf(value)) {
        value *= 1e22;
        exp10 -= 22;
    }
    while (exp10 < -22 && value != 0.0) {
        value /= 1e22;
        exp10 += 22;
    }
    if (exp10 > 22 || exp10 < -22) {
        return value; /* 0 or infinite already: more powers of ten change nothing */
    }
    return exp10 >= 0 ? value * exact_powers[exp10] : value / exact_powers[-exp10];
}

double postie_json_strtod(const char *text, char **end)
{
    const char *p = text;
    bool negative = false;
    uint64_t mantissa = 0;
    unsigned significant = 0; /* digits kept in mantissa (at most 19) */
    long exp10 = 0;
    bool any_digit = false;
    double value;

    if (*p == '-' || *p == '+') {
        negative = (*p == '-');
        p++;
    }
    for (; is_digit(*p); p++) {
        any_digit = true;
        if (significant < 19) {
            mantissa = mantissa * 10u + (uint64_t)(*p - '0');
            significant += (mantissa != 0);
        } else {
            exp10++; /* a digit past what we keep only scales the value */
        }
    }
    if (*p == '.' && (any_digit || is_digit(p[1]))) { /* "3." and ".5" as strtod reads them */
        for (p++; is_digit(*p); p++) {
            any_digit = true;
            if (significant < 19) {
                mantissa = mantissa * 10u + (uint64_t)(*p - '0');
                significant += (mantissa != 0);
                exp10--;
            }
        }
    }
    if (!any_digit) {
        if (end != NULL) {
            *end = (char *)(uintptr_t)text;
        }
        return 0.0;
    }
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        bool exp_negative = false;
        long e = 0;
        if (*q == '-' || *q == '+') {
            exp_negative = (*q == '-');
            q++;
        }
        if (is_digit(*q)) {
            for (; is_digit(*q); q++) {
                if (e < 100000) { /* far past any double: keep it bounded */
                    e = e * 10 + (*q - '0');
                }
            }
            exp10 += exp_negative ? -e : e;
            p = q;
        }
    }
    if (end != NULL) {
        *end = (char *)(uintptr_t)p;
    }
    if (mantissa == 0) {
        return negative ? -0.0 : 0.0;
    }
    if (exp10 > 400) {
        value = HUGE_VAL;
    } else if (exp10 < -400) {
        value = 0.0;
    } else {
        value = scale((double)mantissa, exp10);
    }
    return negative ? -value : value;
}
