/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TLS layer's set-up without a peer (port/mbedtls/tls.c): the entropy
 * hook, CA certificates from memory (PEM and DER blobs, good and bad), the
 * static arena. Handshakes are in tests/integration/tls_verify_test.c.
 *
 * This program provides its own postie_entropy_fill(), linked before
 * libpostie_port.a, so it can make the board's entropy source fail. The
 * tests run in order: the DRBG is seeded once per process, and the first
 * tests need it unseeded.
 *
 * Run by test_tls.sh, which makes the certificates (POSTIE_CERTS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/entropy.h"
#include "postie/mbedtls/tls.h"

/* ---- the board's entropy source, as this test wants it ------------------ */

static bool entropy_broken;
static unsigned entropy_calls;

postie_status_t postie_entropy_fill(uint8_t *buf, size_t len)
{
    FILE *f;
    size_t got;
    entropy_calls++;
    if (entropy_broken) {
        return POSTIE_E_IO;
    }
    f = fopen("/dev/urandom", "rb");
    if (f == NULL) {
        return POSTIE_E_IO;
    }
    got = fread(buf, 1, len, f);
    fclose(f);
    return got == len ? POSTIE_OK : POSTIE_E_IO;
}

/* ---- helpers ------------------------------------------------------------ */

/* A transport that is never used: set-up needs one below the TLS layer. */
static postie_status_t nop_connect(postie_transport_t *t, const char *h, uint16_t p, uint32_t ms)
{
    (void)t;
    (void)h;
    (void)p;
    (void)ms;
    return POSTIE_E_CONNECT_FAILED;
}
static postie_status_t nop_send(postie_transport_t *t, const uint8_t *b, size_t n, size_t *s,
                                uint32_t ms)
{
    (void)t;
    (void)b;
    (void)n;
    (void)ms;
    *s = 0;
    return POSTIE_E_IO;
}
static postie_status_t nop_recv(postie_transport_t *t, uint8_t *b, size_t n, size_t *g, uint32_t ms)
{
    (void)t;
    (void)b;
    (void)n;
    (void)ms;
    *g = 0;
    return POSTIE_E_IO;
}
static void nop_close(postie_transport_t *t)
{
    (void)t;
}
static const postie_transport_ops_t nop_ops = {nop_connect, nop_send, nop_recv, nop_close};
static postie_transport_t lower = {&nop_ops};

static postie_tls_t tls; /* large: off the stack */

/* The whole of $POSTIE_CERTS/name in a static buffer of its own (slot). */
static const uint8_t *read_blob(const char *name, size_t *len, int slot)
{
    static uint8_t bufs[3][16384];
    char path[512];
    const char *dir = getenv("POSTIE_CERTS");
    FILE *f;
    if (dir == NULL) {
        fail_msg("POSTIE_CERTS is not set; run this program through test_tls.sh");
    }
    assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
    f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(bufs[slot], 1, sizeof(bufs[slot]), f);
    fclose(f);
    assert_true(*len > 0 && *len < sizeof(bufs[slot]));
    return bufs[slot];
}

static postie_status_t init_with_blob(const uint8_t *blob, size_t len)
{
    postie_tls_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ca_blob = blob;
    cfg.ca_blob_len = len;
    return postie_tls_init(&tls, &lower, &cfg);
}

static unsigned chain_length(const mbedtls_x509_crt *crt)
{
    unsigned n = 0;
    for (; crt != NULL && crt->version != 0; crt = crt->next) {
        n++;
    }
    return n;
}

static void assert_ca_error(postie_status_t st, const char *subject, const char *text_part)
{
    print_message("  %s: %s: %s\n", postie_status_name(st), tls.last_error.subject,
                  tls.last_error.reply.text);
    assert_string_equal(postie_status_name(st), "POSTIE_E_TLS_CA_LOAD");
    assert_int_equal(tls.last_error.status, POSTIE_E_TLS_CA_LOAD);
    assert_string_equal(tls.last_error.phase, "TLS CA load");
    assert_string_equal(tls.last_error.subject, subject);
    if (strstr(tls.last_error.reply.text, text_part) == NULL) {
        fail_msg("error text \"%s\" lacks \"%s\"", tls.last_error.reply.text, text_part);
    }
    postie_tls_free(&tls);
}

#if POSTIE_TLS_HAVE_ARENA
static unsigned char arena[512 * 1024];
#endif

/* ---- the arena before anything else ------------------------------------- */

static void test_arena_set_first(void **state)
{
    static unsigned char tiny[512];
    (void)state;
    assert_int_equal(postie_tls_arena_set(NULL, 4096), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_tls_arena_set(tiny, sizeof(tiny)), POSTIE_E_INVALID_ARGUMENT);
#if POSTIE_TLS_HAVE_ARENA
    assert_int_equal(postie_tls_arena_set(arena, sizeof(arena)), POSTIE_OK);
    assert_int_equal(postie_tls_arena_set(arena, sizeof(arena)), POSTIE_E_BAD_STATE);
    {
        postie_tls_arena_stats_t st;
        postie_tls_arena_stats(&st);
        assert_int_equal(st.size, sizeof(arena));
    }
#else
    {
        static unsigned char buf[4096];
        postie_tls_arena_stats_t st;
        print_message("  mbedTLS %s has no MBEDTLS_MEMORY_BUFFER_ALLOC_C\n",
                      MBEDTLS_VERSION_STRING);
        assert_int_equal(postie_tls_arena_set(buf, sizeof(buf)), POSTIE_E_TLS_SETUP);
        postie_tls_arena_stats(&st);
        assert_int_equal(st.size, 0);
        assert_int_equal(postie_tls_arena_high_water(), 0);
    }
#endif
}

/* ---- the entropy hook --------------------------------------------------- */

/* A board whose entropy source fails gets a clear error, and no TLS. */
static void test_entropy_failure(void **state)
{
    postie_tls_config_t cfg;
    postie_error_t err;
    postie_status_t st;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.insecure_skip_verify = true; /* no CA needed to reach the DRBG */
    entropy_broken = true;
    entropy_calls = 0;
    st = postie_tls_init(&tls, &lower, &cfg);
    print_message("  %s: %s: %s\n", postie_status_name(st), tls.last_error.subject,
                  tls.last_error.reply.text);
    assert_string_equal(postie_status_name(st), "POSTIE_E_TLS_SETUP");
    assert_true(entropy_calls >= 1);
    assert_int_equal(tls.last_error.status, POSTIE_E_TLS_SETUP);
    assert_string_equal(tls.last_error.phase, "TLS setup");
    assert_string_equal(tls.last_error.subject, "postie_entropy_fill");
    assert_non_null(strstr(tls.last_error.reply.text, "entropy source failed"));
    /* nothing usable was left behind */
    assert_int_equal(postie_transport_connect(postie_tls_transport(&tls), "localhost", 465, 100),
                     POSTIE_E_BAD_STATE);
    postie_tls_free(&tls);

    /* the explicit global init says the same, and tries again each time */
    entropy_calls = 0;
    assert_int_equal(postie_tls_global_init(&err), POSTIE_E_TLS_SETUP);
    assert_true(entropy_calls >= 1);
    assert_string_equal(err.subject, "postie_entropy_fill");
    assert_int_equal(postie_tls_global_init(NULL), POSTIE_E_TLS_SETUP);
}

/* Once the source works, the DRBG is seeded once and never again. */
static void test_entropy_seeds_once(void **state)
{
    postie_tls_config_t cfg;
    unsigned calls;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.insecure_skip_verify = true;
    entropy_broken = false;
    entropy_calls = 0;
    assert_int_equal(postie_tls_init(&tls, &lower, &cfg), POSTIE_OK);
    postie_tls_free(&tls);
    calls = entropy_calls;
    assert_true(calls >= 1);
    assert_int_equal(postie_tls_global_init(NULL), POSTIE_OK);
    assert_int_equal(postie_tls_init(&tls, &lower, &cfg), POSTIE_OK);
    postie_tls_free(&tls);
    assert_int_equal(entropy_calls, calls);
    /* the arena cannot change under an initialised layer */
    {
        static unsigned char late[4096];
        assert_int_equal(postie_tls_arena_set(late, sizeof(late)), POSTIE_E_BAD_STATE);
    }
}

/* ---- CA certificates from memory ---------------------------------------- */

static void test_ca_blob_pem(void **state)
{
    size_t len = 0;
    const uint8_t *pem = read_blob("ca.pem", &len, 0);
    uint8_t *terminated = malloc(len + 1);
    (void)state;

    /* as a file's bytes, without a terminating NUL (e.g. objcopy'd to flash) */
    assert_int_equal(init_with_blob(pem, len), POSTIE_OK);
    assert_int_equal(chain_length(&tls.ca), 1);
    assert_non_null(strstr((const char *)tls.ca.subject.val.p, "Postie Test CA"));
    postie_tls_free(&tls);

    /* as a C string, the NUL counted (sizeof of a string literal) */
    assert_non_null(terminated);
    memcpy(terminated, pem, len);
    terminated[len] = '\0';
    assert_int_equal(init_with_blob(terminated, len + 1), POSTIE_OK);
    assert_int_equal(chain_length(&tls.ca), 1);
    postie_tls_free(&tls);
    free(terminated);
}

static void test_ca_blob_pem_two(void **state)
{
    size_t la = 0;
    size_t lb = 0;
    const uint8_t *a = read_blob("ca.pem", &la, 0);
    const uint8_t *b = read_blob("selfsigned.pem", &lb, 1);
    uint8_t *both = malloc(la + lb);
    (void)state;

    assert_non_null(both);
    memcpy(both, a, la);
    memcpy(both + la, b, lb);
    assert_int_equal(init_with_blob(both, la + lb), POSTIE_OK);
    assert_int_equal(chain_length(&tls.ca), 2);
    postie_tls_free(&tls);
    free(both);
}

static void test_ca_blob_der(void **state)
{
    size_t la = 0;
    size_t lb = 0;
    const uint8_t *a = read_blob("ca.der", &la, 0);
    const uint8_t *b = read_blob("selfsigned.der", &lb, 1);
    uint8_t *both = malloc(la + lb);
    (void)state;

    assert_int_equal(init_with_blob(a, la), POSTIE_OK);
    assert_int_equal(chain_length(&tls.ca), 1);
    postie_tls_free(&tls);

    /* two DER certificates back to back */
    assert_non_null(both);
    memcpy(both, a, la);
    memcpy(both + la, b, lb);
    assert_int_equal(init_with_blob(both, la + lb), POSTIE_OK);
    assert_int_equal(chain_length(&tls.ca), 2);
    postie_tls_free(&tls);
    free(both);
}

static void test_ca_blob_bad(void **state)
{
    static const uint8_t garbage[] = "this is not a certificate";
    size_t len = 0;
    const uint8_t *pem = read_blob("ca.pem", &len, 0);
    const uint8_t *der;
    uint8_t *damaged = malloc(len + 1);
    (void)state;

    /* neither PEM nor DER */
    assert_ca_error(init_with_blob(garbage, sizeof(garbage) - 1), "CA blob (DER)", "neither PEM");
    /* empty */
    assert_ca_error(init_with_blob(garbage, 0), "CA blob", "empty");

    /* PEM whose base64 is damaged */
    assert_non_null(damaged);
    memcpy(damaged, pem, len);
    damaged[len / 2] = '!';
    assert_ca_error(init_with_blob(damaged, len), "CA blob (PEM)", "");

    /* DER cut short: the SEQUENCE announces more than there is */
    der = read_blob("ca.der", &len, 1);
    assert_ca_error(init_with_blob(der, len - 10), "CA blob (DER)",
                    "octet 0: a DER certificate cut short");

    /* a good DER certificate followed by junk: the junk is named */
    memcpy(damaged, der, len);
    damaged[len] = 0x01;
    assert_ca_error(init_with_blob(damaged, len + 1), "CA blob (DER)", "neither PEM");

    /* a DER certificate whose inside is damaged */
    memcpy(damaged, der, len);
    damaged[len / 2] ^= 0xff;
    damaged[len / 2 + 1] ^= 0xff;
    {
        postie_status_t st = init_with_blob(damaged, len);
        print_message("  damaged DER: %s: %s\n", postie_status_name(st), tls.last_error.reply.text);
        /* mbedTLS may still parse a certificate whose signature bytes changed */
        if (st != POSTIE_OK) {
            assert_ca_error(st, "CA blob (DER)", "certificate 1");
        } else {
            postie_tls_free(&tls);
        }
    }
    free(damaged);
}

/* The blob wins over a file; a missing file is named. */
static void test_ca_blob_over_file(void **state)
{
    postie_tls_config_t cfg;
    size_t len = 0;
    const uint8_t *der = read_blob("ca.der", &len, 0);
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.ca_file = "/nonexistent/postie/ca.pem";
    cfg.ca_blob = der;
    cfg.ca_blob_len = len;
    assert_int_equal(postie_tls_init(&tls, &lower, &cfg), POSTIE_OK);
    postie_tls_free(&tls);
    cfg.ca_blob = NULL;
    assert_ca_error(postie_tls_init(&tls, &lower, &cfg), "/nonexistent/postie/ca.pem",
                    "could not load");
}

/* With an arena, what set-up takes comes back at free. */
static void test_arena_returns_to_baseline(void **state)
{
    postie_tls_arena_stats_t before;
    postie_tls_arena_stats_t during;
    postie_tls_arena_stats_t after;
    size_t len = 0;
    const uint8_t *pem = read_blob("ca.pem", &len, 0);
    (void)state;

    postie_tls_arena_stats(&before);
    assert_int_equal(init_with_blob(pem, len), POSTIE_OK);
    postie_tls_arena_stats(&during);
    postie_tls_free(&tls);
    postie_tls_arena_stats(&after);
    print_message("  arena %lu octets: %lu in use with one layer set up, %lu after free, "
                  "high-water %lu\n",
                  (unsigned long)during.size, (unsigned long)during.used, (unsigned long)after.used,
                  (unsigned long)after.high_water);
#if POSTIE_TLS_HAVE_ARENA && defined(MBEDTLS_MEMORY_DEBUG)
    assert_true(during.used > before.used); /* CA chain and record buffers */
    assert_int_equal(after.used, before.used);
    assert_true(after.high_water >= during.used && after.high_water <= after.size);
#else
    assert_int_equal(after.high_water, 0);
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_set_first),
        cmocka_unit_test(test_entropy_failure),
        cmocka_unit_test(test_entropy_seeds_once),
        cmocka_unit_test(test_ca_blob_pem),
        cmocka_unit_test(test_ca_blob_pem_two),
        cmocka_unit_test(test_ca_blob_der),
        cmocka_unit_test(test_ca_blob_bad),
        cmocka_unit_test(test_ca_blob_over_file),
        cmocka_unit_test(test_arena_returns_to_baseline),
    };
    return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
