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
 * Versions: builds against mbedTLS 2.28 (Debian bookworm's, TLS 1.2 only)
 * and 3.6 LTS (TLS 1.2 and 1.3; 1.3 is negotiated whenever the server offers
 * it and the mbedTLS build has MBEDTLS_SSL_PROTO_TLS1_3). The mbedTLS
 * release is part of the link names (POSTIE_TLS_CONFIGURED in
 * config/postie_config_defaults.h): an application compiled against one
 * release does not link with a library built against another.
 *
 * Trust anchors, first match wins: cfg.ca_blob (PEM or DER in memory, e.g.
 * in flash), cfg.ca_file, the system bundle (POSTIE_TLS_CA_BUNDLE, else
 * POSTIE_TLS_CA_DIR; POSIX builds only, see config/). Files need an mbedTLS
 * with MBEDTLS_FS_IO; firmware builds use the blob.
 *
 * Randomness: one CTR-DRBG for the whole process, seeded once from the
 * port's entropy hook (postie_entropy_fill(), postie/common/entropy.h) by
 * postie_tls_global_init(), or by the first postie_tls_init() if the
 * application did not call it. No mbedTLS entropy pool is used (it would
 * cost 38 KiB). With mbedTLS 3.x built with MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG
 * (the firmware configuration, config/mbedtls_config_firmware.h, and the
 * project's 3.6 host build), PSA draws from the same DRBG, so the hook is
 * the only entropy source; psa_crypto_init() is called by the global init.
 *
 * Memory: mbedTLS allocates with mbedtls_calloc. postie_tls_arena_set()
 * hands it one static arena instead (MBEDTLS_MEMORY_BUFFER_ALLOC_C; the
 * high-water mark needs MBEDTLS_MEMORY_DEBUG too). Debian's 2.28 has
 * neither: there the arena calls report POSTIE_E_TLS_SETUP and mbedTLS uses
 * the C library's heap.
 *
 * RAM: sizeof(postie_tls_t) per connection (on x86-64: 2 392 octets with
 * 2.28, 2 328 with the project's 3.6 build), plus the shared DRBG
 * (392 octets with 2.28, once per process), plus what mbedTLS allocates during a
 * session: the record buffers (MBEDTLS_SSL_IN_CONTENT_LEN +
 * MBEDTLS_SSL_OUT_CONTENT_LEN plus overhead, 2 x 16 KiB with default
 * settings), the parsed CA chain and the handshake state. The README gives
 * the arena high-water mark measured for one SMTPS session.
 *
 * Thread model:
 *  - one postie_tls_t per connection, used by one thread at a time;
 *  - postie_tls_arena_set() and postie_tls_global_init() before any other
 *    TLS call and before other threads use the layer (the global init is
 *    not locked: two threads must not run the first postie_tls_init() at
 *    once unless the application called postie_tls_global_init() first);
 *  - after that, connections in different threads may run concurrently
 *    when mbedTLS is built with MBEDTLS_THREADING_C (Debian's 2.28 and the
 *    project's 3.6 host build are): they share only the DRBG and the arena,
 *    which mbedTLS locks. Without MBEDTLS_THREADING_C (the firmware
 *    configuration), every TLS call must come from one thread or task.
 */
#ifndef POSTIE_TLS_MBEDTLS_H
#define POSTIE_TLS_MBEDTLS_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>

#include <stddef.h>

#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

/* 1 when this mbedTLS can run from a static arena (postie_tls_arena_set). */
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C) && defined(MBEDTLS_PLATFORM_MEMORY)
#define POSTIE_TLS_HAVE_ARENA 1
#else
#define POSTIE_TLS_HAVE_ARENA 0
#endif

/* 1 when this mbedTLS can negotiate TLS 1.3. */
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
#define POSTIE_TLS_HAVE_TLS13 1
#else
#define POSTIE_TLS_HAVE_TLS13 0
#endif

#include "postie/common/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *ca_file;       /* PEM file of trusted CAs; NULL: the system bundle */
    const char *verify_name;   /* name to verify and send as SNI; NULL: the connect host */
    bool insecure_skip_verify; /* testing only: accept any certificate (never default) */
    /* Trusted CAs in memory, used instead of ca_file when not NULL: PEM text
     * (one or more certificates; a terminating NUL may be counted in
     * ca_blob_len or not) or DER (one certificate, or several concatenated).
     * Parsed (copied) by postie_tls_init(); may live in flash. Every
     * certificate in it must parse, or init fails with POSTIE_E_TLS_CA_LOAD. */
    const uint8_t *ca_blob;
    size_t ca_blob_len;
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

/* The names below carry the configuration fingerprint and the mbedTLS
 * release (see "Configuration fingerprint" in config/postie_config_defaults.h). */
#define postie_tls_init        POSTIE_TLS_CONFIGURED(postie_tls_init)
#define postie_tls_global_init POSTIE_TLS_CONFIGURED(postie_tls_global_init)
#define postie_tls_arena_set   POSTIE_TLS_CONFIGURED(postie_tls_arena_set)

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

/* Seed the shared DRBG from postie_entropy_fill() and, with mbedTLS 3.x,
 * initialise PSA crypto; does nothing once it has succeeded. Optional:
 * postie_tls_init() calls it. Call it first (after postie_tls_arena_set(),
 * if any) from one thread when several threads will use TLS. err may be
 * NULL; when not, it receives the detail of a failure. Errors:
 * POSTIE_E_TLS_SETUP ("entropy source failed" when the hook failed; the
 * next call tries again). */
postie_status_t postie_tls_global_init(postie_error_t *err);

/* Hand mbedTLS a static arena for all its allocations (the caller keeps buf
 * alive and untouched for the rest of the process). Call before any other
 * TLS call: POSTIE_E_BAD_STATE once the layer is initialised or an arena is
 * set. POSTIE_E_TLS_SETUP when this mbedTLS lacks
 * MBEDTLS_MEMORY_BUFFER_ALLOC_C (POSTIE_TLS_HAVE_ARENA is 0);
 * POSTIE_E_INVALID_ARGUMENT for a NULL buf or one under 1 KiB. Allocations
 * beyond the arena fail (the handshake then fails with POSTIE_E_TLS_SETUP
 * or POSTIE_E_TLS_HANDSHAKE naming the allocation); nothing falls back to
 * the heap. */
postie_status_t postie_tls_arena_set(void *buf, size_t len);

typedef struct {
    size_t size;              /* octets handed to postie_tls_arena_set(); 0: no arena */
    size_t used;              /* octets allocated now (needs MBEDTLS_MEMORY_DEBUG) */
    size_t high_water;        /* most octets allocated at once since the last reset
                                 (needs MBEDTLS_MEMORY_DEBUG; 0 without it) */
    size_t blocks_high_water; /* most blocks allocated at once, likewise */
} postie_tls_arena_stats_t;

/* The arena's use, all zero without an arena. The sizes count what mbedTLS
 * asked for, not the allocator's own headers (a few dozen octets per block);
 * size bounds both. */
void postie_tls_arena_stats(postie_tls_arena_stats_t *stats);

/* The arena's high-water mark in octets (postie_tls_arena_stats()'s
 * high_water): call after a session to report what it needed. */
size_t postie_tls_arena_high_water(void);

/* Start a new high-water measurement from what is allocated now (e.g.
 * before each session). Does nothing without an arena. */
void postie_tls_arena_reset_high_water(void);

/* Prepare a TLS layer over lower (which may or may not be connected yet):
 * runs postie_tls_global_init() if not done yet and loads the CA
 * certificates (skipped when insecure_skip_verify is set). The strings in cfg are not copied and
 * must stay valid until postie_tls_free(). tls points into itself once set up, so it must not be
 * moved or copied. Errors: POSTIE_E_TLS_CA_LOAD, POSTIE_E_TLS_SETUP, POSTIE_E_INVALID_ARGUMENT.
 * Call postie_tls_free() afterwards whatever this returned. */
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

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_TLS_MBEDTLS_H */
