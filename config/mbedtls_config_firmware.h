/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbedTLS 3.6 configuration for Postie on firmware: the smallest set that
 * does a TLS 1.2 and 1.3 client with X.509 verification (no server, no
 * DTLS, no PSK, no file system, no sockets, no threads), running from a
 * static arena and seeded only from the board's entropy hook.
 *
 * Use it as the whole configuration: -DMBEDTLS_CONFIG_FILE='"mbedtls_config_firmware.h"'
 * (or boards/build-mbedtls.sh --firmware, which builds it and checks that
 * port/mbedtls/tls.c compiles against it), for mbedTLS and for Postie's
 * port/mbedtls alike.
 *
 * What the board provides:
 *  - postie_entropy_fill() (postie/common/entropy.h) on a real TRNG: the
 *    TLS layer's DRBG, and PSA through MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG,
 *    draw only from it; there is no other entropy source;
 *  - the time of day for certificate validity (MBEDTLS_HAVE_TIME_DATE:
 *    time() and gmtime_r() from the C library, set from SNTP or an RTC
 *    before the first handshake; without it every certificate reads as
 *    not yet valid); mbedTLS's millisecond clock (mbedtls_ms_time(), TLS
 *    1.3 ticket ages) comes from postie_clock_ms(), through
 *    MBEDTLS_PLATFORM_MS_TIME_ALT, as a bare-metal C library has none;
 *  - an arena for postie_tls_arena_set() (see the README for the measured
 *    high-water mark of one session);
 *  - the trust anchors as a blob (postie_tls_config_t.ca_blob).
 *
 * Algorithms: ECDHE (X25519, P-256, P-384) with AES-GCM or ChaCha20-Poly1305,
 * server certificates signed with RSA (PKCS#1 v1.5 or PSS, as TLS 1.3
 * needs) or ECDSA, SHA-256/384. That covers the certificates public CAs
 * issue and the cipher suites mail servers offer.
 *
 * Record buffers: MBEDTLS_SSL_OUT_CONTENT_LEN is 4096 (Postie never writes
 * a larger record: a record is cut at that size). MBEDTLS_SSL_IN_CONTENT_LEN
 * is 8192, half the TLS maximum: a server may send records of up to 16 KiB,
 * and mbedTLS 3.6's TLS 1.3 client cannot ask for less (no max_fragment_length
 * for TLS 1.3; OpenSSL ignores record_size_limit), so this works with servers
 * whose handshake flights and replies come in records of 8 KiB or less (SMTP
 * replies are short; a certificate chain of up to about 7 KiB fits). A
 * server that sends a larger record fails the handshake with "SSL - Bad
 * input parameters" or a record-size error: raise it to 16384 then.
 */
#ifndef POSTIE_MBEDTLS_CONFIG_FIRMWARE_H
#define POSTIE_MBEDTLS_CONFIG_FIRMWARE_H

/* ---- platform ---------------------------------------------------------- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_MS_TIME_ALT    /* mbedtls_ms_time(): port/mbedtls/tls.c, on \
                                           postie_clock_ms() */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY        /* mbedtls_calloc goes to the arena */
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C  /* postie_tls_arena_set() */
#define MBEDTLS_MEMORY_DEBUG           /* the arena's high-water mark */
#define MBEDTLS_NO_PLATFORM_ENTROPY    /* no /dev/urandom: the board's hook */
/* No heap at all: before postie_tls_arena_set() mbedtls_calloc() fails
 * (NULL) instead of calling the C library's calloc(), which would link
 * newlib's malloc and _sbrk; calendar dates for certificate checks come
 * from gmtime_r(), not gmtime() (newlib's allocates its result buffer).
 * port/mbedtls/tls.c provides the functions named below.
 * boards/mps2-an386/build.sh checks the linked image for allocators. */
#define POSTIE_MBEDTLS_NO_HEAP         1
#define MBEDTLS_PLATFORM_STD_CALLOC    postie_tls_no_calloc
#define MBEDTLS_PLATFORM_STD_FREE      postie_tls_no_free
#define MBEDTLS_PLATFORM_GMTIME_R_ALT  /* mbedtls_platform_gmtime_r() on gmtime_r() */
/* The arena's consistency checks (MBEDTLS_MEMORY_DEBUG) print to stderr
 * on a fatal corruption, right before mbedtls_exit(1); newlib's fprintf
 * would link its stdio and with it malloc. The text is dropped instead. */
#define MBEDTLS_PLATFORM_FPRINTF_MACRO postie_tls_no_fprintf
#include <stddef.h>
#include <stdio.h>
void *postie_tls_no_calloc(size_t n, size_t size);
void postie_tls_no_free(void *p);
int postie_tls_no_fprintf(FILE *stream, const char *format, ...);
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG
#define MBEDTLS_DEPRECATED_REMOVED
#define MBEDTLS_ERROR_C /* error texts in Postie's messages; drop to save ~10 KiB flash */

/* ---- crypto ------------------------------------------------------------ */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES /* tables in flash, not RAM */
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C /* TLS 1.3 key schedule (PSA HKDF) */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21 /* RSA-PSS: TLS 1.3 signatures with RSA keys */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_BASE64_C    /* PEM CA blobs; DER-only boards may drop it */
#define MBEDTLS_PEM_PARSE_C /* likewise */

/* ---- X.509 ------------------------------------------------------------- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT

/* ---- TLS client -------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE /* middleboxes */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* postie_tls_get_info()'s subject and date */
#define MBEDTLS_SSL_IN_CONTENT_LEN        8192
#define MBEDTLS_SSL_OUT_CONTENT_LEN       4096

#endif /* POSTIE_MBEDTLS_CONFIG_FIRMWARE_H */
