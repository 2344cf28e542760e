/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS layer on mbedTLS 2.28 over any postie transport (see
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
 *  - mbedTLS 2.28 skips the host name check when no name is set, so this
 *    layer refuses to handshake without one unless insecure_skip_verify.
 *  - mbedTLS 2.28 matches only DNS names in subjectAltName, not IP
 *    addresses: to reach a server by IP, set verify_name to its DNS name.
 *    It also sends an IP literal as SNI when given one.
 *  - mbedTLS 2.28 has no TLS 1.3 for clients (only an experimental build
 *    option Debian leaves off), so sessions are TLS 1.2.
 *  - A send that times out may leave half a record written; mbedTLS then
 *    expects the same data again, so the session can only be closed.
 */
#include "postie/mbedtls/tls.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>

#include "postie/common/clock.h"
#include "postie/common/text.h"

/* Most WANT_READ/WANT_WRITE rounds one call accepts from mbedTLS. */
#define TLS_MAX_ROUNDS 64

static const char tls_personalization[] = "postie-tls-client";

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

/* Load cfg.ca_file, else the system bundle, else every file of the system
 * directory. Succeeds when at least one certificate was parsed. */
static postie_status_t load_ca(postie_tls_t *tls)
{
    int ret;
    if (tls->cfg.ca_file != NULL) {
        ret = mbedtls_x509_crt_parse_file(&tls->ca, tls->cfg.ca_file);
        /* ret > 0: that many certificates in the file failed to parse. */
        return (ret >= 0 && tls->ca.version != 0) ? POSTIE_OK : POSTIE_E_TLS_CA_LOAD;
    }
    ret = mbedtls_x509_crt_parse_file(&tls->ca, POSTIE_TLS_CA_BUNDLE);
    if (ret >= 0 && tls->ca.version != 0) {
        return POSTIE_OK;
    }
    mbedtls_x509_crt_free(&tls->ca);
    mbedtls_x509_crt_init(&tls->ca);
    ret = mbedtls_x509_crt_parse_path(&tls->ca, POSTIE_TLS_CA_DIR);
    return (ret >= 0 && tls->ca.version != 0) ? POSTIE_OK : POSTIE_E_TLS_CA_LOAD;
}

static void free_mbedtls(postie_tls_t *tls)
{
    mbedtls_ssl_free(&tls->ssl);
    mbedtls_ssl_config_free(&tls->conf);
    mbedtls_x509_crt_free(&tls->ca);
}

/* One seeded DRBG for the process (see the header): seeded once, never
 * freed, locked by mbedTLS on every use. */
static struct {
    pthread_once_t once;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    int seed_result;
} shared_rng = {PTHREAD_ONCE_INIT};

static void seed_shared_rng(void)
{
    mbedtls_entropy_init(&shared_rng.entropy);
    mbedtls_ctr_drbg_init(&shared_rng.drbg);
    shared_rng.seed_result = mbedtls_ctr_drbg_seed(
        &shared_rng.drbg, mbedtls_entropy_func, &shared_rng.entropy,
        (const unsigned char *)tls_personalization, sizeof(tls_personalization) - 1);
}

/* The body of postie_tls_init once the mbedTLS contexts exist. */
static postie_status_t setup(postie_tls_t *tls)
{
    postie_status_t st;
    int ret;

    ret = pthread_once(&shared_rng.once, seed_shared_rng) != 0 ? -1 : shared_rng.seed_result;
    if (ret != 0) {
        set_error_mbedtls(tls, POSTIE_E_TLS_SETUP, "TLS setup", ret);
        return POSTIE_E_TLS_SETUP;
    }
    if (!tls->cfg.insecure_skip_verify) {
        st = load_ca(tls);
        if (st != POSTIE_OK) {
            const char *file = tls->cfg.ca_file != NULL ? tls->cfg.ca_file : POSTIE_TLS_CA_BUNDLE;
            set_error(tls, st, "TLS CA load", "could not load CA certificates");
            postie_text_copy_printable(tls->last_error.subject, sizeof(tls->last_error.subject),
                                       file, strlen(file));
            return st;
        }
    }
    ret = mbedtls_ssl_config_defaults(&tls->conf, MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        set_error_mbedtls(tls, POSTIE_E_TLS_SETUP, "TLS setup", ret);
        return POSTIE_E_TLS_SETUP;
    }
    mbedtls_ssl_conf_min_version(&tls->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_rng(&tls->conf, mbedtls_ctr_drbg_random, &shared_rng.drbg);
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
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
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
            if ((ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) ||
                remaining_ms(tls->io_start_ms, tls->io_timeout_ms) == 0) {
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
        if ((ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) ||
            remaining_ms(tls->io_start_ms, tls->io_timeout_ms) == 0) {
            break;
        }
    }
    if (tls->io_status != POSTIE_OK) {
        st = tls->io_status;
    } else if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE ||
               ret == MBEDTLS_ERR_SSL_TIMEOUT) {
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
        if ((ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) ||
            remaining_ms(tls->io_start_ms, tls->io_timeout_ms) == 0) {
            break;
        }
    }
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
        st = POSTIE_E_CONNECTION_CLOSED;
    } else if (tls->io_status != POSTIE_OK) {
        st = tls->io_status;
    } else if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE ||
               ret == MBEDTLS_ERR_SSL_TIMEOUT) {
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
