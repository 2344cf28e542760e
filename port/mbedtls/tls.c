/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS layer on mbedTLS 2.28 or 3.6 over any postie transport (see
 * postie/mbedtls/tls.h).
 *
 * mbedTLS talks to the lower transport through two bio callbacks. They run
 * against one deadline per operation (io_start_ms + io_timeout_ms), so a
 * whole handshake, not each read inside it, is bounded by the caller's
 * timeout. When the lower transport fails, the callback records why in
 * io_status and the public call reports that status (timeout, closed,
 * reset) rather than mbedTLS's generic error.
 *
 * Worth knowing:
 *  - mbedTLS 2.28 skips the host name check when no name is set (3.6 fails
 *    the handshake instead), so this layer refuses to handshake without one
 *    unless insecure_skip_verify.
 *  - mbedTLS 2.28 matches only DNS names in subjectAltName, not IP
 *    addresses: to reach a server by IP, set verify_name to its DNS name.
 *    It also sends an IP literal as SNI when given one. 3.6 matches
 *    iPAddress entries too.
 *  - mbedTLS 2.28 has no TLS 1.3 for clients (only an experimental build
 *    option Debian leaves off), so sessions are TLS 1.2. 3.6 offers 1.3
 *    and 1.2; a 1.3 server may send NewSessionTicket records after the
 *    handshake, which reads skip.
 *  - A send that times out may leave half a record written; mbedTLS then
 *    expects the same data again, so the session can only be closed.
 *  - No state is global but the DRBG and the arena (see the header's
 *    thread model); no pthread: the global init is a flag, run once.
 */
#include "postie/mbedtls/tls.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/platform.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/platform_time.h>
#include <mbedtls/platform_util.h>
#endif
#if POSTIE_TLS_HAVE_ARENA
#include <mbedtls/memory_buffer_alloc.h>
#endif
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "postie/common/clock.h"
#include "postie/common/entropy.h"
#include "postie/common/text.h"

/* Most WANT_READ/WANT_WRITE rounds one call accepts from mbedTLS. */
#define TLS_MAX_ROUNDS 64

static const char tls_personalization[] = "postie-tls-client";

/* Whether mbedTLS asks to be called again: WANT_READ/WANT_WRITE, or (3.6,
 * TLS 1.3) a NewSessionTicket it handled while we wanted data. */
static int tls_again(int ret)
{
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return 1;
    }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
        return 1;
    }
#endif
    return 0;
}

static uint32_t remaining_ms(uint32_t start, uint32_t timeout_ms)
{
    uint32_t elapsed = postie_clock_ms() - start;
    return elapsed < timeout_ms ? timeout_ms - elapsed : 0;
}

static void begin_io(postie_tls_t *tls, uint32_t timeout_ms)
{
    tls->io_start_ms = postie_clock_ms();
    tls->io_timeout_ms = timeout_ms;
    tls->io_status = POSTIE_OK;
}

static void set_error(postie_tls_t *tls, postie_status_t st, const char *phase, const char *text)
{
    postie_error_clear(&tls->last_error);
    tls->last_error.status = st;
    tls->last_error.phase = phase;
    postie_text_copy_printable(tls->last_error.subject, sizeof(tls->last_error.subject),
                               tls->hostname, strlen(tls->hostname));
    if (text != NULL) {
        postie_text_copy_printable(tls->last_error.reply.text, sizeof(tls->last_error.reply.text),
                                   text, strlen(text));
    }
}

/* set_error with mbedTLS's description of ret as the text. */
static void set_error_mbedtls(postie_tls_t *tls, postie_status_t st, const char *phase, int ret)
{
    char text[POSTIE_REPLY_TEXT_MAX];
    mbedtls_strerror(ret, text, sizeof(text));
    set_error(tls, st, phase, text);
}

/* ---- bio callbacks: mbedTLS -> lower transport ------------------------- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    postie_tls_t *tls = ctx;
    size_t sent = 0;
    postie_status_t st = postie_transport_send(tls->lower, buf, len, &sent,
                                               remaining_ms(tls->io_start_ms, tls->io_timeout_ms));
    if (st == POSTIE_OK && sent > 0) {
        /* mbedTLS asks for at most one record (< 17 KiB) at a time. */
        return sent > (size_t)0x7fffffff ? 0x7fffffff : (int)sent;
    }
    if (st == POSTIE_E_TIMEOUT && tls->io_timeout_ms == 0) {
        return MBEDTLS_ERR_SSL_WANT_WRITE; /* a non-blocking call: no room now */
    }
    tls->io_status = st == POSTIE_OK ? POSTIE_E_IO : st;
    return st == POSTIE_E_CONNECTION_RESET ? MBEDTLS_ERR_NET_CONN_RESET
                                           : MBEDTLS_ERR_NET_SEND_FAILED;
}

/* The timeout argument (mbedTLS's read_timeout, unset here) is ignored: the
 * operation's own deadline applies. */
static int bio_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
    postie_tls_t *tls = ctx;
    size_t got = 0;
    postie_status_t st;
    (void)timeout;
    st = postie_transport_recv(tls->lower, buf, len, &got,
                               remaining_ms(tls->io_start_ms, tls->io_timeout_ms));
    if (st == POSTIE_OK && got > 0) {
        return got > (size_t)0x7fffffff ? 0x7fffffff : (int)got;
    }
    if (st == POSTIE_E_TIMEOUT && tls->io_timeout_ms == 0) {
        return MBEDTLS_ERR_SSL_WANT_READ; /* a non-blocking call: nothing yet */
    }
    tls->io_status = st == POSTIE_OK ? POSTIE_E_IO : st;
    switch (st) {
    case POSTIE_E_TIMEOUT:
        return MBEDTLS_ERR_SSL_TIMEOUT;
    case POSTIE_E_CONNECTION_CLOSED:
        return 0; /* mbedTLS turns this into MBEDTLS_ERR_SSL_CONN_EOF */
    case POSTIE_E_CONNECTION_RESET:
        return MBEDTLS_ERR_NET_CONN_RESET;
    default:
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

/* ---- set-up ------------------------------------------------------------ */

/* ---- process-wide state: the DRBG and the arena ----------------------- */

/* Seeded once (see the header's thread model), never freed. */
static struct {
    bool seeded;
    bool entropy_failed; /* the hook failed during the last seed */
    size_t arena_size;   /* 0: no arena */
    mbedtls_ctr_drbg_context drbg;
} shared;

/* The DRBG's entropy callback: the port's hook, nothing else. */
static int drbg_entropy(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    if (postie_entropy_fill(out, len) != POSTIE_OK) {
        shared.entropy_failed = true;
        return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    }
    return 0;
}

#if defined(MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG)
/* PSA's random generator (mbedTLS 3.x built with
 * MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG): the same DRBG, so the port's hook is the
 * only entropy source. mbedTLS locks the DRBG with MBEDTLS_THREADING_C. */
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context,
                                             uint8_t *output, size_t output_size,
                                             size_t *output_length)
{
    size_t done = 0;
    (void)context;
    *output_length = 0;
    if (!shared.seeded) {
        return PSA_ERROR_BAD_STATE;
    }
    while (done < output_size) {
        size_t chunk = output_size - done;
        if (chunk > MBEDTLS_CTR_DRBG_MAX_REQUEST) {
            chunk = MBEDTLS_CTR_DRBG_MAX_REQUEST;
        }
        if (mbedtls_ctr_drbg_random(&shared.drbg, output + done, chunk) != 0) {
            return PSA_ERROR_INSUFFICIENT_ENTROPY;
        }
        done += chunk;
    }
    *output_length = output_size;
    return PSA_SUCCESS;
}
#endif

#if defined(POSTIE_MBEDTLS_NO_HEAP)
/* mbedTLS's allocator before postie_tls_arena_set() (and its fallback
 * functions): nothing, so no C library heap is linked
 * (config/mbedtls_config_firmware.h). */
void *postie_tls_no_calloc(size_t n, size_t size)
{
    (void)n;
    (void)size;
    return NULL;
}

void postie_tls_no_free(void *p)
{
    (void)p;
}

/* mbedtls_fprintf(): only the arena's fatal diagnostics use it; a board
 * has no stderr, so they are dropped (mbedtls_exit follows). */
int postie_tls_no_fprintf(FILE *stream, const char *format, ...)
{
    (void)stream;
    (void)format;
    return 0;
}
#endif

#if defined(MBEDTLS_HAVE_TIME_DATE) && defined(MBEDTLS_PLATFORM_GMTIME_R_ALT)
/* Calendar time for certificate validity on bare metal: the C library's
 * reentrant gmtime_r() (newlib's gmtime() allocates its buffer). Declared
 * here because a strict C99 newlib hides it. */
struct tm *gmtime_r(const time_t *t, struct tm *out);

struct tm *mbedtls_platform_gmtime_r(const mbedtls_time_t *tt, struct tm *tm_buf)
{
    time_t t = (time_t)*tt;
    return gmtime_r(&t, tm_buf);
}
#endif

#if defined(MBEDTLS_HAVE_TIME) && defined(MBEDTLS_PLATFORM_MS_TIME_ALT)
/* mbedTLS 3.x's millisecond clock where the C library has none (bare metal,
 * config/mbedtls_config_firmware.h): the port's. It wraps after 49.7 days;
 * mbedTLS uses it for TLS 1.3 ticket ages, which Postie never relies on (no
 * session resumption). */
mbedtls_ms_time_t mbedtls_ms_time(void)
{
    return (mbedtls_ms_time_t)postie_clock_ms();
}
#endif

/* Fill *err (when not NULL) for a failed global init. */
static void global_error(postie_error_t *err, const char *subject, const char *text)
{
    if (err == NULL) {
        return;
    }
    postie_error_clear(err);
    err->status = POSTIE_E_TLS_SETUP;
    err->phase = "TLS setup";
    postie_text_copy_printable(err->subject, sizeof(err->subject), subject, strlen(subject));
    postie_text_copy_printable(err->reply.text, sizeof(err->reply.text), text, strlen(text));
}

postie_status_t postie_tls_global_init(postie_error_t *err)
{
    int ret;

    if (shared.seeded) {
        return POSTIE_OK;
    }
    shared.entropy_failed = false;
    mbedtls_ctr_drbg_init(&shared.drbg);
    ret = mbedtls_ctr_drbg_seed(&shared.drbg, drbg_entropy, NULL,
                                (const unsigned char *)tls_personalization,
                                sizeof(tls_personalization) - 1);
    if (ret != 0) {
        char text[POSTIE_REPLY_TEXT_MAX];
        mbedtls_ctr_drbg_free(&shared.drbg);
        if (shared.entropy_failed) {
            global_error(err, "postie_entropy_fill",
                         "entropy source failed: the port's postie_entropy_fill() returned an "
                         "error, so the random generator cannot be seeded");
        } else {
            mbedtls_strerror(ret, text, sizeof(text));
            global_error(err, "CTR-DRBG seed", text);
        }
        return POSTIE_E_TLS_SETUP;
    }
    shared.seeded = true; /* PSA's external RNG draws from it from here on */
#if defined(MBEDTLS_PSA_CRYPTO_C)
    {
        psa_status_t ps = psa_crypto_init();
        if (ps != PSA_SUCCESS) {
            char text[64];
            shared.seeded = false;
            mbedtls_ctr_drbg_free(&shared.drbg);
            (void)snprintf(text, sizeof(text), "psa_crypto_init failed (PSA status %d)", (int)ps);
            global_error(err, "PSA crypto", text);
            return POSTIE_E_TLS_SETUP;
        }
    }
#endif
    return POSTIE_OK;
}

postie_status_t postie_tls_arena_set(void *buf, size_t len)
{
    if (buf == NULL || len < 1024) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (shared.seeded || shared.arena_size != 0) {
        return POSTIE_E_BAD_STATE;
    }
#if POSTIE_TLS_HAVE_ARENA
    mbedtls_memory_buffer_alloc_init(buf, len);
    shared.arena_size = len;
    return POSTIE_OK;
#else
    return POSTIE_E_TLS_SETUP; /* no MBEDTLS_MEMORY_BUFFER_ALLOC_C in this mbedTLS */
#endif
}

void postie_tls_arena_stats(postie_tls_arena_stats_t *stats)
{
    if (stats == NULL) {
        return;
    }
    memset(stats, 0, sizeof(*stats));
    stats->size = shared.arena_size;
#if POSTIE_TLS_HAVE_ARENA && defined(MBEDTLS_MEMORY_DEBUG)
    if (shared.arena_size != 0) {
        size_t blocks = 0;
        mbedtls_memory_buffer_alloc_cur_get(&stats->used, &blocks);
        mbedtls_memory_buffer_alloc_max_get(&stats->high_water, &stats->blocks_high_water);
    }
#endif
}

size_t postie_tls_arena_high_water(void)
{
    postie_tls_arena_stats_t stats;
    postie_tls_arena_stats(&stats);
    return stats.high_water;
}

void postie_tls_arena_reset_high_water(void)
{
#if POSTIE_TLS_HAVE_ARENA && defined(MBEDTLS_MEMORY_DEBUG)
    if (shared.arena_size != 0) {
        mbedtls_memory_buffer_alloc_max_reset();
    }
#endif
}

/* ---- set-up ------------------------------------------------------------ */

/* Record a CA load failure; subject names the source. */
static postie_status_t ca_error(postie_tls_t *tls, const char *subject, const char *text)
{
    set_error(tls, POSTIE_E_TLS_CA_LOAD, "TLS CA load", text);
    postie_text_copy_printable(tls->last_error.subject, sizeof(tls->last_error.subject), subject,
                               strlen(subject));
    return POSTIE_E_TLS_CA_LOAD;
}

/* ca_error with mbedTLS's description of ret after prefix. */
static postie_status_t ca_error_mbedtls(postie_tls_t *tls, const char *subject, const char *prefix,
                                        int ret)
{
    char text[POSTIE_REPLY_TEXT_MAX];
    size_t n = strlen(prefix);
    if (n > sizeof(text) / 2) {
        n = sizeof(text) / 2; /* room for mbedTLS's text */
    }
    memcpy(text, prefix, n);
    mbedtls_strerror(ret, text + n, sizeof(text) - n);
    return ca_error(tls, subject, text);
}

/* Whether blob[0..len) contains needle. */
static int blob_contains(const uint8_t *blob, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    size_t i;
    for (i = 0; n <= len && i <= len - n; i++) {
        if (blob[i] == (uint8_t)needle[0] && memcmp(blob + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static postie_status_t load_ca_pem_blob(postie_tls_t *tls, const uint8_t *blob, size_t len)
{
    static const char subject[] = "CA blob (PEM)";
    int ret;

    if (blob[len - 1] == '\0') {
        ret = mbedtls_x509_crt_parse(&tls->ca, blob, len);
    } else {
        /* mbedTLS parses PEM only as a C string: parse a terminated copy
         * (from mbedTLS's own allocator, so from the arena if there is one). */
        unsigned char *copy = mbedtls_calloc(1, len + 1);
        if (copy == NULL) {
            return ca_error(tls, subject, "no memory for a terminated copy of the PEM CA blob");
        }
        memcpy(copy, blob, len);
        ret = mbedtls_x509_crt_parse(&tls->ca, copy, len + 1);
        mbedtls_free(copy);
    }
    if (ret < 0) {
        return ca_error_mbedtls(tls, subject, "", ret);
    }
    if (ret > 0) {
        char text[96];
        (void)snprintf(text, sizeof(text),
                       "%d certificate(s) in the PEM CA blob could not be parsed", ret);
        return ca_error(tls, subject, text);
    }
    return tls->ca.version != 0 ? POSTIE_OK
                                : ca_error(tls, subject, "no certificate in the PEM CA blob");
}

/* One DER certificate, or several concatenated. */
static postie_status_t load_ca_der_blob(postie_tls_t *tls, const uint8_t *blob, size_t len)
{
    static const char subject[] = "CA blob (DER)";
    const unsigned char *end = blob + len;
    const unsigned char *p = blob;
    unsigned count = 0;

    while (p < end) {
        unsigned char *q = (unsigned char *)(uintptr_t)p; /* mbedTLS's API is not const */
        size_t body = 0;
        size_t whole;
        char prefix[64];
        int ret =
            mbedtls_asn1_get_tag(&q, end, &body, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
        if (ret != 0) {
            char text[128];
            (void)snprintf(text, sizeof(text),
                           ret == MBEDTLS_ERR_ASN1_OUT_OF_DATA
                               ? "octet %lu: a DER certificate cut short (its length runs past "
                                 "the blob's end)"
                               : "octet %lu: neither PEM (no -----BEGIN CERTIFICATE-----) nor a "
                                 "DER certificate (ASN.1 SEQUENCE)",
                           (unsigned long)(p - blob));
            return ca_error(tls, subject, text);
        }
        whole = (size_t)(q - p) + body;
        ret = mbedtls_x509_crt_parse_der(&tls->ca, p, whole);
        if (ret != 0) {
            (void)snprintf(prefix, sizeof(prefix), "certificate %u: ", count + 1);
            return ca_error_mbedtls(tls, subject, prefix, ret);
        }
        count++;
        p += whole;
    }
    return POSTIE_OK;
}

static postie_status_t load_ca_blob(postie_tls_t *tls)
{
    const uint8_t *blob = tls->cfg.ca_blob;
    size_t len = tls->cfg.ca_blob_len;

    if (len == 0) {
        return ca_error(tls, "CA blob", "the CA blob is empty (ca_blob_len 0)");
    }
    if (blob[0] != 0x30 && blob_contains(blob, len, "-----BEGIN ")) {
        return load_ca_pem_blob(tls, blob, len);
    }
    return load_ca_der_blob(tls, blob, len);
}

/* Load cfg.ca_blob, else cfg.ca_file, else the system bundle, else every
 * file of the system directory. Succeeds when at least one certificate was
 * parsed (and, for a blob, every one). */
static postie_status_t load_ca(postie_tls_t *tls)
{
    if (tls->cfg.ca_blob != NULL) {
        return load_ca_blob(tls);
    }
#if defined(MBEDTLS_FS_IO)
    {
        int ret;
        if (tls->cfg.ca_file != NULL) {
            ret = mbedtls_x509_crt_parse_file(&tls->ca, tls->cfg.ca_file);
            /* ret > 0: that many certificates in the file failed to parse. */
            if (ret >= 0 && tls->ca.version != 0) {
                return POSTIE_OK;
            }
            return ca_error(tls, tls->cfg.ca_file, "could not load CA certificates");
        }
#if defined(POSTIE_TLS_CA_BUNDLE) && defined(POSTIE_TLS_CA_DIR)
        ret = mbedtls_x509_crt_parse_file(&tls->ca, POSTIE_TLS_CA_BUNDLE);
        if (ret >= 0 && tls->ca.version != 0) {
            return POSTIE_OK;
        }
        mbedtls_x509_crt_free(&tls->ca);
        mbedtls_x509_crt_init(&tls->ca);
        ret = mbedtls_x509_crt_parse_path(&tls->ca, POSTIE_TLS_CA_DIR);
        if (ret >= 0 && tls->ca.version != 0) {
            return POSTIE_OK;
        }
        return ca_error(tls, POSTIE_TLS_CA_BUNDLE, "could not load CA certificates");
#else
        return ca_error(tls, "CA certificates",
                        "no CA blob, no CA file and no system trust store in this build");
#endif
    }
#else
    return ca_error(tls, tls->cfg.ca_file != NULL ? tls->cfg.ca_file : "CA certificates",
                    "this mbedTLS has no file system (MBEDTLS_FS_IO): give the CAs as ca_blob");
#endif
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_2) && \
    defined(MBEDTLS_SSL_PROTO_TLS1_3)
/* Signature algorithms offered when the ClientHello offers TLS 1.2 and 1.3:
 * mbedTLS's defaults, but RSA PKCS#1 v1.5 before RSA-PSS. mbedTLS 3.6's TLS
 * 1.2 code offers rsa_pss_rsae_* (for TLS 1.3) yet, up to at least 3.6.6,
 * refuses a TLS 1.2 ServerKeyExchange signed with them ("illegal
 * parameter"); OpenSSL servers limited to TLS 1.2 pick the first RSA scheme
 * in the client's order, so with PSS first they could not be reached. TLS
 * 1.3 servers still sign with PSS (PKCS#1 v1.5 is not allowed there).
 * mbedTLS leaves out of the ClientHello whatever the build cannot do. */
static const uint16_t tls_sig_algs[] = {
    MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
    MBEDTLS_TLS1_3_SIG_ECDSA_SECP521R1_SHA512, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
    MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,       MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,
    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512,    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,
    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256,    MBEDTLS_TLS1_3_SIG_NONE,
};
#define POSTIE_TLS_SIG_ALGS 1
#endif

/* Key-exchange groups offered, fastest first. mbedTLS's default list puts
 * the largest curve first, so a TLS 1.2 server that takes the client's
 * order (OpenSSL does, Dovecot and Postfix with it) did each ECDHE on
 * P-521: about 3 ms of the client's CPU per handshake here and as much of
 * the server's, where X25519 or P-256 take a tenth of it at the 128-bit
 * security level every TLS 1.3 stack defaults to (on a Cortex-M4, P-521
 * costs seconds). The larger curves stay offered, after them, for
 * servers that want them; a build leaves out what it cannot do. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
typedef uint16_t tls_group_t; /* the IANA id (mbedtls_ssl_conf_groups) */
#define TLS_GROUP(iana, legacy) iana
#else
typedef mbedtls_ecp_group_id tls_group_t; /* mbedtls_ssl_conf_curves */
#define TLS_GROUP(iana, legacy) legacy
#endif
static const tls_group_t tls_groups[] = {
#if defined(MBEDTLS_ECP_DP_CURVE25519_ENABLED)
    TLS_GROUP(MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_ECP_DP_CURVE25519),
#endif
#if defined(MBEDTLS_ECP_DP_SECP256R1_ENABLED)
    TLS_GROUP(MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1, MBEDTLS_ECP_DP_SECP256R1),
#endif
#if defined(MBEDTLS_ECP_DP_SECP384R1_ENABLED)
    TLS_GROUP(MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_ECP_DP_SECP384R1),
#endif
#if defined(MBEDTLS_ECP_DP_SECP521R1_ENABLED)
    TLS_GROUP(MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1, MBEDTLS_ECP_DP_SECP521R1),
#endif
    TLS_GROUP(MBEDTLS_SSL_IANA_TLS_GROUP_NONE, MBEDTLS_ECP_DP_NONE),
};

static void free_mbedtls(postie_tls_t *tls)
{
    mbedtls_ssl_free(&tls->ssl);
    mbedtls_ssl_config_free(&tls->conf);
    mbedtls_x509_crt_free(&tls->ca);
}

/* The body of postie_tls_init once the mbedTLS contexts exist. */
static postie_status_t setup(postie_tls_t *tls)
{
    postie_status_t st;
    int ret;

    st = postie_tls_global_init(&tls->last_error);
    if (st != POSTIE_OK) {
        return st;
    }
    if (!tls->cfg.insecure_skip_verify) {
        st = load_ca(tls);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    ret = mbedtls_ssl_config_defaults(&tls->conf, MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        set_error_mbedtls(tls, POSTIE_E_TLS_SETUP, "TLS setup", ret);
        return POSTIE_E_TLS_SETUP;
    }
    /* TLS 1.2 minimum; the maximum is the newest this mbedTLS has (1.3 with
     * 3.6 when MBEDTLS_SSL_PROTO_TLS1_3 is on). */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_ssl_conf_min_tls_version(&tls->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&tls->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#ifdef POSTIE_TLS_SIG_ALGS
    mbedtls_ssl_conf_sig_algs(&tls->conf, tls_sig_algs);
#endif
    if (tls_groups[0] != 0) { /* a build with none of them keeps mbedTLS's list */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        mbedtls_ssl_conf_groups(&tls->conf, tls_groups);
#else
        mbedtls_ssl_conf_curves(&tls->conf, tls_groups);
#endif
    }
    mbedtls_ssl_conf_rng(&tls->conf, mbedtls_ctr_drbg_random, &shared.drbg);
    if (tls->cfg.insecure_skip_verify) {
        mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&tls->conf, &tls->ca, NULL);
    }
    ret = mbedtls_ssl_setup(&tls->ssl, &tls->conf);
    if (ret != 0) {
        set_error_mbedtls(tls, POSTIE_E_TLS_SETUP, "TLS setup", ret);
        return POSTIE_E_TLS_SETUP;
    }
    mbedtls_ssl_set_bio(&tls->ssl, tls, bio_send, NULL, bio_recv_timeout);
    return POSTIE_OK;
}

static const postie_transport_ops_t tls_ops;

postie_status_t postie_tls_init(postie_tls_t *tls, postie_transport_t *lower,
                                const postie_tls_config_t *cfg)
{
    postie_status_t st;

    if (tls == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    memset(tls, 0, sizeof(*tls));
    tls->base.ops = &tls_ops;
    tls->lower = lower;
    postie_error_clear(&tls->last_error);
    if (cfg != NULL) {
        tls->cfg = *cfg;
    }
    if (lower == NULL) {
        set_error(tls, POSTIE_E_INVALID_ARGUMENT, "TLS setup", "no lower transport");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    mbedtls_ssl_init(&tls->ssl);
    mbedtls_ssl_config_init(&tls->conf);
    mbedtls_x509_crt_init(&tls->ca);
    st = setup(tls);
    if (st != POSTIE_OK) {
        free_mbedtls(tls); /* initialised stays false: free() only closes lower */
        return st;
    }
    tls->initialised = true;
    return POSTIE_OK;
}

/* ---- handshake --------------------------------------------------------- */

/* Status for verification flags; NOT_TRUSTED wins, then validity, then name. */
static postie_status_t verify_flags_status(uint32_t flags)
{
    if ((flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) != 0) {
        return POSTIE_E_TLS_CERT_UNTRUSTED;
    }
    if ((flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) != 0) {
        return POSTIE_E_TLS_CERT_EXPIRED;
    }
    if ((flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) != 0) {
        return POSTIE_E_TLS_CERT_NAME_MISMATCH;
    }
    return POSTIE_E_TLS_CERT_INVALID;
}

/* mbedtls_x509_crt_verify_info() as one line: "reason; reason". */
static void verify_text(char *dst, size_t cap, uint32_t flags)
{
    char raw[512];
    size_t i;
    size_t n = 0;
    int len = mbedtls_x509_crt_verify_info(raw, sizeof(raw), "", flags);

    if (cap == 0) {
        return;
    }
    dst[0] = '\0';
    if (len <= 0) {
        return;
    }
    for (i = 0; i < (size_t)len && raw[i] != '\0' && n + 1 < cap; i++) {
        if (raw[i] != '\n') {
            dst[n++] = raw[i];
        } else if (i + 1 < (size_t)len && raw[i + 1] != '\0' && n + 3 < cap) {
            dst[n++] = ';';
            dst[n++] = ' ';
        }
    }
    dst[n] = '\0';
}

/* Map a failed mbedtls_ssl_handshake() and record the detail. */
static postie_status_t handshake_failed(postie_tls_t *tls, int ret)
{
    const char *phase = "TLS handshake";
    postie_status_t st;

    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        char text[POSTIE_REPLY_TEXT_MAX];
        uint32_t flags = mbedtls_ssl_get_verify_result(&tls->ssl);
        st = verify_flags_status(flags);
        verify_text(text, sizeof(text), flags);
        set_error(tls, st, phase, text);
        return st;
    }
    if (tls->io_status != POSTIE_OK) {
        st = tls->io_status;
    } else if (ret == MBEDTLS_ERR_SSL_TIMEOUT) {
        st = POSTIE_E_TIMEOUT;
    } else if (ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        st = POSTIE_E_CONNECTION_CLOSED;
    } else {
        st = POSTIE_E_TLS_HANDSHAKE;
    }
    if (st == POSTIE_E_TIMEOUT) {
        char text[64];
        (void)snprintf(text, sizeof(text), "handshake not complete within %lu ms",
                       (unsigned long)tls->io_timeout_ms);
        set_error(tls, st, phase, text);
        return st;
    }
    set_error_mbedtls(tls, st, phase, ret);
    return st;
}

/* Put the name to verify (cfg.verify_name, else host) in tls->hostname. */
static postie_status_t choose_name(postie_tls_t *tls, const char *host, const char *phase)
{
    const char *name = tls->cfg.verify_name != NULL ? tls->cfg.verify_name : host;
    size_t len = name != NULL ? strlen(name) : 0;

    if (len >= sizeof(tls->hostname)) {
        tls->hostname[0] = '\0';
        set_error(tls, POSTIE_E_INVALID_ARGUMENT, phase, "host name too long");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (len > 0) {
        memcpy(tls->hostname, name, len);
    }
    tls->hostname[len] = '\0';
    if (len == 0 && !tls->cfg.insecure_skip_verify) {
        /* mbedTLS 2.28 would verify the chain but not the name. */
        set_error(tls, POSTIE_E_INVALID_ARGUMENT, phase, "no host name to verify");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    return POSTIE_OK;
}

postie_status_t postie_tls_handshake_begin(postie_tls_t *tls, const char *host)
{
    postie_status_t st;
    int ret;

    if (tls == NULL || !tls->initialised) {
        return POSTIE_E_BAD_STATE;
    }
    if (tls->active) {
        set_error(tls, POSTIE_E_BAD_STATE, "TLS handshake", "already established");
        return POSTIE_E_BAD_STATE;
    }
    st = choose_name(tls, host, "TLS handshake");
    if (st != POSTIE_OK) {
        return st;
    }

    /* Start from a clean session so a transport can be reconnected. */
    ret = mbedtls_ssl_session_reset(&tls->ssl);
    if (ret == 0) {
        ret = mbedtls_ssl_set_hostname(&tls->ssl, tls->hostname[0] != '\0' ? tls->hostname : NULL);
    }
    if (ret != 0) {
        set_error_mbedtls(tls, POSTIE_E_TLS_SETUP, "TLS handshake", ret);
        return POSTIE_E_TLS_SETUP;
    }
    return POSTIE_OK;
}

postie_status_t postie_tls_handshake_step(postie_tls_t *tls)
{
    int ret;

    if (tls == NULL || !tls->initialised || tls->active) {
        return POSTIE_E_BAD_STATE;
    }
    begin_io(tls, 0); /* the bio callbacks turn a would-block into WANT_* */
    ret = mbedtls_ssl_handshake(&tls->ssl);
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return POSTIE_E_AGAIN;
    }
    if (ret != 0) {
        return handshake_failed(tls, ret);
    }
    tls->active = true;
    postie_error_clear(&tls->last_error);
    return POSTIE_OK;
}

postie_status_t postie_tls_handshake(postie_tls_t *tls, const char *host, uint32_t timeout_ms)
{
    postie_status_t st = postie_tls_handshake_begin(tls, host);
    int ret = 0;
    int round;

    if (st != POSTIE_OK) {
        return st;
    }
    begin_io(tls, timeout_ms);
    /* The bio callbacks never return WANT_*; the loop only guards against
     * mbedTLS asking to be called again. */
    for (round = 0; round < TLS_MAX_ROUNDS; round++) {
        ret = mbedtls_ssl_handshake(&tls->ssl);
        if (!tls_again(ret)) {
            break;
        }
        if (remaining_ms(tls->io_start_ms, tls->io_timeout_ms) == 0) {
            ret = MBEDTLS_ERR_SSL_TIMEOUT;
            break;
        }
    }
    if (ret != 0) {
        return handshake_failed(tls, ret);
    }
    tls->active = true;
    postie_error_clear(&tls->last_error);
    return POSTIE_OK;
}

/* ---- transport operations ---------------------------------------------- */

static void tls_close(postie_transport_t *t)
{
    postie_tls_t *tls = (postie_tls_t *)t;
    if (tls->active) {
        int round;
        begin_io(tls, POSTIE_TLS_CLOSE_TIMEOUT_MS);
        for (round = 0; round < TLS_MAX_ROUNDS; round++) {
            int ret = mbedtls_ssl_close_notify(&tls->ssl);
            if (!tls_again(ret) || remaining_ms(tls->io_start_ms, tls->io_timeout_ms) == 0) {
                break;
            }
        }
        tls->active = false;
    }
    if (tls->lower != NULL) {
        postie_transport_close(tls->lower);
    }
}

static postie_status_t tls_connect(postie_transport_t *t, const char *host, uint16_t port,
                                   uint32_t timeout_ms)
{
    postie_tls_t *tls = (postie_tls_t *)t;
    uint32_t start = postie_clock_ms();
    uint32_t left;
    postie_status_t st;

    if (!tls->initialised || tls->active) {
        return POSTIE_E_BAD_STATE;
    }
    st = choose_name(tls, host, "connect");
    if (st != POSTIE_OK) {
        return st;
    }
    st = postie_transport_connect(tls->lower, host, port, timeout_ms);
    if (st != POSTIE_OK) {
        set_error(tls, st, "connect", NULL);
        return st;
    }
    /* one deadline for the connect and the whole handshake */
    left = remaining_ms(start, timeout_ms);
    st = left == 0 ? POSTIE_E_TIMEOUT : postie_tls_handshake(tls, host, left);
    if (st != POSTIE_OK) {
        if (st == POSTIE_E_TIMEOUT) {
            char text[64];
            (void)snprintf(text, sizeof(text), "connect and handshake not complete within %lu ms",
                           (unsigned long)timeout_ms);
            set_error(tls, st, "TLS handshake", text);
        }
        postie_transport_close(tls->lower);
    }
    return st;
}

static postie_status_t tls_send(postie_transport_t *t, const uint8_t *buf, size_t len, size_t *sent,
                                uint32_t timeout_ms)
{
    postie_tls_t *tls = (postie_tls_t *)t;
    int ret = 0;
    int round;
    postie_status_t st;

    if (sent == NULL || (buf == NULL && len > 0)) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    *sent = 0;
    if (!tls->active) {
        return POSTIE_E_BAD_STATE; /* never let plaintext out through the TLS layer */
    }
    if (len == 0) {
        return POSTIE_OK;
    }
    begin_io(tls, timeout_ms);
    for (round = 0; round < TLS_MAX_ROUNDS; round++) {
        ret = mbedtls_ssl_write(&tls->ssl, buf, len);
        if (ret > 0) {
            *sent = (size_t)ret;
            return POSTIE_OK;
        }
        if (!tls_again(ret) || remaining_ms(tls->io_start_ms, tls->io_timeout_ms) == 0) {
            break;
        }
    }
    if (tls->io_status != POSTIE_OK) {
        st = tls->io_status;
    } else if (tls_again(ret) || ret == MBEDTLS_ERR_SSL_TIMEOUT) {
        st = POSTIE_E_TIMEOUT;
    } else {
        st = POSTIE_E_TLS_PROTOCOL;
    }
    if (st != POSTIE_E_TIMEOUT || timeout_ms != 0) {
        set_error_mbedtls(tls, st, "TLS send", ret); /* not a non-blocking call's would-block */
    }
    return st;
}

static postie_status_t tls_recv(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                                uint32_t timeout_ms)
{
    postie_tls_t *tls = (postie_tls_t *)t;
    int ret = 0;
    int round;
    postie_status_t st;

    if (got == NULL || buf == NULL || cap == 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    *got = 0;
    if (!tls->active) {
        return POSTIE_E_BAD_STATE;
    }
    begin_io(tls, timeout_ms);
    /* WANT_READ comes back after mbedTLS handled a non-data record (e.g. a
     * refused renegotiation); read again while time is left. */
    for (round = 0; round < TLS_MAX_ROUNDS; round++) {
        ret = mbedtls_ssl_read(&tls->ssl, buf, cap);
        if (ret > 0) {
            *got = (size_t)ret;
            return POSTIE_OK;
        }
        if (!tls_again(ret) || remaining_ms(tls->io_start_ms, tls->io_timeout_ms) == 0) {
            break;
        }
    }
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
        st = POSTIE_E_CONNECTION_CLOSED;
    } else if (tls->io_status != POSTIE_OK) {
        st = tls->io_status;
    } else if (tls_again(ret) || ret == MBEDTLS_ERR_SSL_TIMEOUT) {
        st = POSTIE_E_TIMEOUT;
    } else if (ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        st = POSTIE_E_CONNECTION_CLOSED;
    } else {
        st = POSTIE_E_TLS_PROTOCOL;
    }
    if (st != POSTIE_E_TIMEOUT) {
        set_error_mbedtls(tls, st, "TLS receive", ret);
    }
    return st;
}

static const postie_transport_ops_t tls_ops = {
    tls_connect,
    tls_send,
    tls_recv,
    tls_close,
};

/* ---- diagnostics and teardown ------------------------------------------ */

void postie_tls_get_info(const postie_tls_t *tls, postie_tls_info_t *info)
{
    const mbedtls_x509_crt *peer;

    memset(info, 0, sizeof(*info));
    if (tls == NULL || !tls->initialised) {
        return;
    }
    info->verify_flags = mbedtls_ssl_get_verify_result(&tls->ssl);
    if (tls->cfg.insecure_skip_verify) {
        /* mbedTLS leaves 0 under VERIFY_NONE, which would read as verified. */
        info->verify_flags |= MBEDTLS_X509_BADCERT_SKIP_VERIFY;
    }
    if (!tls->active) {
        return;
    }
    (void)snprintf(info->version, sizeof(info->version), "%s", mbedtls_ssl_get_version(&tls->ssl));
    (void)snprintf(info->cipher, sizeof(info->cipher), "%s",
                   mbedtls_ssl_get_ciphersuite(&tls->ssl));
    peer = mbedtls_ssl_get_peer_cert(&tls->ssl);
    if (peer != NULL) {
        char dn[sizeof(info->peer_subject)];
        int n = mbedtls_x509_dn_gets(dn, sizeof(dn), &peer->subject);
        if (n >= 0) {
            postie_text_copy_printable(info->peer_subject, sizeof(info->peer_subject), dn,
                                       strlen(dn));
        }
        (void)snprintf(info->peer_not_after, sizeof(info->peer_not_after),
                       "%04d-%02d-%02d %02d:%02d:%02d", peer->valid_to.year, peer->valid_to.mon,
                       peer->valid_to.day, peer->valid_to.hour, peer->valid_to.min,
                       peer->valid_to.sec);
    }
}

void postie_tls_free(postie_tls_t *tls)
{
    if (tls == NULL) {
        return;
    }
    if (tls->initialised) {
        tls_close(&tls->base);
        free_mbedtls(tls);
        tls->initialised = false;
    } else if (tls->lower != NULL) {
        postie_transport_close(tls->lower);
    }
}
