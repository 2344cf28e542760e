/* SPDX-License-Identifier: Apache-2.0 */
/* MD5 against the test suite of RFC 1321 appendix A.5, whole and fed in
 * pieces, plus the APOP example of RFC 1939 section 7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/md5.h"

static void digest_hex(const char *in, size_t piece, char out[33])
{
    postie_md5_t m;
    uint8_t d[POSTIE_MD5_DIGEST_LEN];
    size_t len = strlen(in);
    postie_md5_init(&m);
    for (size_t pos = 0; pos < len; pos += piece) {
        size_t n = len - pos < piece ? len - pos : piece;
        postie_md5_update(&m, in + pos, n);
    }
    postie_md5_final(&m, d);
    postie_md5_hex(d, out);
}

static void test_rfc1321_vectors(void **state)
{
    static const struct {
        const char *in;
        const char *hex;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"1234567890"
         "1234567890"
         "1234567890"
         "1234567890"
         "1234567890"
         "1234567890"
         "1234567890"
         "1234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    static const size_t pieces[] = {1000, 1, 3, 55, 56, 63, 64, 65};
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        for (size_t j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
            char hex[33];
            digest_hex(v[i].in, pieces[j], hex);
            assert_string_equal(hex, v[i].hex);
        }
    }
}

/* Every length around the padding edges (55, 56, 64 octets) agrees
 * whether fed whole or one octet at a time. */
static void test_lengths_whole_and_bytewise(void **state)
{
    char buf[200];
    (void)state;
    for (size_t len = 0; len < sizeof(buf) - 1; len++) {
        char a[33];
        char b[33];
        memset(buf, 'x', len);
        buf[len] = '\0';
        digest_hex(buf, 1000, a);
        digest_hex(buf, 1, b);
        assert_string_equal(a, b);
    }
}

static void test_apop_example(void **state)
{
    char hex[33];
    (void)state;
    /* RFC 1939 section 7: the timestamp followed by the shared secret */
    digest_hex("<1896.697170952@dbc.mtview.ca.us>tanstaaf", 1000, hex);
    assert_string_equal(hex, "c4c9334bac560ecc979e58001b3e22fb");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1321_vectors),
        cmocka_unit_test(test_lengths_whole_and_bytewise),
        cmocka_unit_test(test_apop_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
