/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entropy source a port provides, like postie_clock_ms().
 *
 * The TLS layer (postie/mbedtls/tls.h) seeds its random generator from this
 * hook, once, and reseeds from it when mbedTLS asks (every 10 000 requests
 * with mbedTLS's defaults). Every key and nonce of every TLS session derives
 * from these octets.
 *
 * The POSIX port (port/posix/entropy.c) reads getrandom(), falling back to
 * /dev/urandom. A board must back it with a real entropy source: a hardware
 * TRNG (conditioned as its vendor specifies), never a counter, a clock, a
 * MAC address or a seed fixed in flash. A board without one cannot do TLS
 * safely; returning anything but POSTIE_OK then is the honest answer, and
 * the TLS layer refuses to set up.
 */
#ifndef POSTIE_ENTROPY_H
#define POSTIE_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill buf[0..len) with octets from the board's entropy source, each counted
 * as full entropy. Returns POSTIE_OK when all len octets were written (block
 * until they are; len is at most 384), anything else when the source failed
 * (POSTIE_E_IO is usual). May be called from any thread that uses the TLS
 * layer, but never from two at once for the same source unless the source
 * allows it (the TLS layer calls it under mbedTLS's DRBG lock). */
postie_status_t postie_entropy_fill(uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_ENTROPY_H */
