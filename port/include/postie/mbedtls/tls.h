/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS layer on mbedTLS, wrapping any postie transport.
 *
 * Secure by default: the server certificate is verified against the system
 * CA bundle (or a configured CA file), the host name is checked and sent as
 * SNI, and TLS 1.2 is the minimum version.
 *
 * Two ways in:
 *  - implicit TLS (SMTPS, port 465): postie_transport_connect() on the TLS
 *    transport connects the lower transport, then handshakes, both within
 *    its one timeout;
 *  - STARTTLS: the lower transport is already connected and the server has
 *    said go ahead; postie_tls_handshake() upgrades it in place.
 *
 * The name verified (and sent as SNI) is cfg.verify_name when set, else the
 * host given to connect. So a test can connect to 127.0.0.1 and verify
 * "localhost", like curl's --connect-to.
 *
 * Verification failures map to distinct statuses:
 *   POSTIE_E_TLS_CERT_UNTRUSTED    unknown CA, self-signed
 *   POSTIE_E_TLS_CERT_EXPIRED      expired or not yet valid
 *   POSTIE_E_TLS_CERT_NAME_MISMATCH certificate for another host
 *   POSTIE_E_TLS_CERT_INVALID      any other verification failure
 *
 * Randomness: one entropy source and CTR-DRBG for the whole process,
 * seeded on first use (pthread_once) and shared by every connection;
 * mbedTLS locks the DRBG itself (MBEDTLS_THREADING_C, as Debian builds it).
 * The entropy context alone is 37960 octets with Debian's mbedTLS 2.28, so
 * sharing it keeps each connection small.
 *
 * RAM: sizeof(postie_tls_t): 2376 octets on x86-64 per connection, plus
 * the shared randomness (38 352 octets, once per process), plus what mbedTLS
 * allocates during a session (about 2 x 16 KiB record buffers with default
 * mbedTLS settings, plus the parsed CA chain).
 *
 * Thread model: one postie_tls_t per connection, one thread at a time;
 * connections in different threads share only the locked DRBG.
 */
#ifndef POSTIE_TLS_MBEDTLS_H
#define POSTIE_TLS_MBEDTLS_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "postie/common/transport.h"

typedef struct {
    const char *ca_file;       /* PEM file of trusted CAs; NULL: the system bundle */
    const char *verify_name;   /* name to verify and send as SNI; NULL: the connect host */
    bool insecure_skip_verify; /* testing only: accept any certificate (never default) */
} postie_tls_config_t;

/* What the handshake agreed, for diagnostics. */
typedef struct {
    char version[16];        /* "TLSv1.2", "TLSv1.3" */
    char cipher[64];         /* IANA-like suite name from mbedTLS */
    char peer_subject[128];  /* subject DN of the server certificate */
    char peer_not_after[24]; /* "YYYY-MM-DD HH:MM:SS" */
    uint32_t verify_flags;   /* mbedTLS verification flags (0 when verified; SKIP_VERIFY
                                set under insecure_skip_verify) */
} postie_tls_info_t;

typedef struct {
    postie_transport_t base;   /* must stay first */
    postie_transport_t *lower; /* the byte transport TLS runs over */
    postie_tls_config_t cfg;
    uint32_t io_timeout_ms;    /* timeout of the current operation, for the bio callbacks */
    uint32_t io_start_ms;      /* postie_clock_ms() when the current operation began */
    postie_status_t io_status; /* why the lower transport failed inside a bio callback */
    bool active;               /* handshake done, records flow through TLS */
    bool initialised;
    char hostname[256];
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    postie_error_t last_error; /* detail for the last failure (subject names the host) */
} postie_tls_t;

/* Prepare a TLS layer over lower (which may or may not be connected yet):
 * seeds the DRBG and loads the CA certificates (skipped when
 * insecure_skip_verify is set). The strings in cfg are not copied and must
 * stay valid until postie_tls_free(). tls points into itself once set up, so
 * it must not be moved or copied. Errors: POSTIE_E_TLS_CA_LOAD,
 * POSTIE_E_TLS_SETUP, POSTIE_E_INVALID_ARGUMENT. Call postie_tls_free()
 * afterwards whatever this returned. */
postie_status_t postie_tls_init(postie_tls_t *tls, postie_transport_t *lower,
                                const postie_tls_config_t *cfg);

/* Handshake over the already connected lower transport (STARTTLS).
 * timeout_ms is one deadline for the whole handshake, every read and write
 * in it, however the peer paces its bytes: POSTIE_E_TIMEOUT once spent.
 * host is the name to verify when cfg.verify_name is NULL; a name is required
 * unless insecure_skip_verify is set. On failure the lower transport stays
 * open (the caller closes it); last_error says why. After POSTIE_E_TIMEOUT
 * from send, the session is unusable: close it. */
postie_status_t postie_tls_handshake(postie_tls_t *tls, const char *host, uint32_t timeout_ms);

/* The same handshake without blocking, for an event-driven runner
 * (postie/common/runner.h) over a non-blocking lower transport (one whose
 * send and recv return POSTIE_E_TIMEOUT at once when called with a timeout
 * of 0 and nothing can move). begin checks the name and resets the session
 * (errors as for postie_tls_handshake); then call step whenever the lower
 * transport may have moved bytes: POSTIE_E_AGAIN while it waits, POSTIE_OK
 * once established, else the failure (last_error says why). The caller
 * keeps the deadline. Afterwards send and recv with a timeout of 0 never
 * block either: POSTIE_E_TIMEOUT means "nothing can move now". */
postie_status_t postie_tls_handshake_begin(postie_tls_t *tls, const char *host);
postie_status_t postie_tls_handshake_step(postie_tls_t *tls);

/* Details of the established session; valid after a successful handshake. */
void postie_tls_get_info(const postie_tls_t *tls, postie_tls_info_t *info);

/* Free every mbedTLS resource; closes the lower transport too. */
void postie_tls_free(postie_tls_t *tls);

static inline postie_transport_t *postie_tls_transport(postie_tls_t *tls)
{
    return &tls->base;
}

#endif /* POSTIE_TLS_MBEDTLS_H */
