/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Randomness for the mps2-an386 board under QEMU: postie_entropy_fill()
 * (the TLS DRBG's seed, Message-IDs, queue ids) and postie_board_random()
 * (lwIP's LWIP_RAND: TCP ports and initial sequence numbers).
 *
 * NOT A HARDWARE RNG, NOT FIT FOR PRODUCTION. QEMU's MPS2 boards emulate
 * no true random number generator, so this board makes do with:
 *   - a 32-octet seed baked into the image at build time (build.sh reads
 *     /dev/urandom): every boot of one image starts from the same seed, and
 *     anyone holding the image knows it;
 *   - timing jitter: the SysTick current value and the LAN9118's
 *     free-running counter, both of which QEMU derives from the host's
 *     clock, sampled around short busy loops whose duration in host time
 *     varies with the host's scheduling. Nobody has measured how much
 *     entropy that gives, and on a quiet host it may be very little.
 * Each output block is SHA-256(seed, a boot-wide counter, 64 jitter
 * samples). That is enough to make two test runs differ; it is not enough
 * to keep TLS keys secret from an attacker who has the image.
 *
 * A real board replaces this file with its TRNG (e.g. the RNG peripheral
 * of an STM32 or the TRNG of an NXP part), checks the generator's health
 * status, and returns an error from postie_entropy_fill() when it fails:
 * the TLS layer then refuses to run rather than use weak keys.
 */
#include <stdint.h>
#include <string.h>

#include "mbedtls/sha256.h"

#include "postie/common/entropy.h"

uint32_t postie_board_random(void);

extern const uint8_t postie_board_seed[32]; /* made by build.sh */

#define REG32(addr)      (*(volatile uint32_t *)(addr))
#define SYST_CVR         REG32(0xE000E018u)
#define LAN9118_FREE_RUN REG32(0x4020009Cu)

static uint32_t counter;

static uint32_t jitter_sample(void)
{
    uint32_t a = SYST_CVR;
    uint32_t b = LAN9118_FREE_RUN;
    /* a short loop whose host time varies: the counters move by a varying amount */
    for (volatile uint32_t i = 0; i < 64u + (a & 63u); i++) {
    }
    return (SYST_CVR - a) ^ ((LAN9118_FREE_RUN - b) << 8) ^ (b << 16);
}

postie_status_t postie_entropy_fill(uint8_t *buf, size_t len)
{
    mbedtls_sha256_context sha;
    uint8_t block[32];
    while (len > 0) {
        size_t n = len < sizeof(block) ? len : sizeof(block);
        uint32_t c = ++counter;
        mbedtls_sha256_init(&sha);
        if (mbedtls_sha256_starts(&sha, 0) != 0 ||
            mbedtls_sha256_update(&sha, postie_board_seed, 32) != 0 ||
            mbedtls_sha256_update(&sha, (const uint8_t *)&c, sizeof(c)) != 0) {
            mbedtls_sha256_free(&sha);
            return POSTIE_E_IO;
        }
        for (int i = 0; i < 64; i++) {
            uint32_t s = jitter_sample();
            if (mbedtls_sha256_update(&sha, (const uint8_t *)&s, sizeof(s)) != 0) {
                mbedtls_sha256_free(&sha);
                return POSTIE_E_IO;
            }
        }
        if (mbedtls_sha256_finish(&sha, block) != 0) {
            mbedtls_sha256_free(&sha);
            return POSTIE_E_IO;
        }
        mbedtls_sha256_free(&sha);
        memcpy(buf, block, n);
        buf += n;
        len -= n;
    }
    memset(block, 0, sizeof(block));
    return POSTIE_OK;
}

uint32_t postie_board_random(void)
{
    uint32_t r = 0;
    if (postie_entropy_fill((uint8_t *)&r, sizeof(r)) != POSTIE_OK) {
        r = SYST_CVR ^ LAN9118_FREE_RUN; /* lwIP's ports and sequence numbers only */
    }
    return r;
}
