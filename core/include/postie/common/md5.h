/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MD5 (RFC 1321), for POP3 APOP (RFC 1939 section 7) only. MD5 is broken
 * for collisions; APOP uses it as a challenge digest, and only when the
 * account asks for it. Streaming: init, update any number of times, final.
 *
 * RAM: sizeof(postie_md5_t), 88 octets. No allocation, no tables in RAM.
 */
#ifndef POSTIE_MD5_H
#define POSTIE_MD5_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stddef.h>
#include <stdint.h>

#define POSTIE_MD5_DIGEST_LEN 16

typedef struct {
    uint32_t h[4];
    uint64_t total; /* octets hashed so far */
    uint8_t block[64];
} postie_md5_t;

void postie_md5_init(postie_md5_t *m);
/* data may be NULL when len is 0. */
void postie_md5_update(postie_md5_t *m, const void *data, size_t len);
/* Write the digest and wipe the state. */
void postie_md5_final(postie_md5_t *m, uint8_t out[POSTIE_MD5_DIGEST_LEN]);

/* The digest as 32 lower-case hex digits and a NUL, into out[33]. */
void postie_md5_hex(const uint8_t digest[POSTIE_MD5_DIGEST_LEN], char out[33]);

#endif /* POSTIE_MD5_H */
