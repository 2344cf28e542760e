/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base64 (RFC 4648), no line breaks. Used for SASL; the message writer has
 * its own streaming, line-wrapping encoder.
 */
#ifndef POSTIE_BASE64_H
#define POSTIE_BASE64_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Octets the encoding of n input octets needs, without a terminator. */
#define POSTIE_BASE64_LEN(n) ((((n) + 2u) / 3u) * 4u)

/* Encode in[0..n) into out; NUL-terminates. POSTIE_E_NO_SPACE when out
 * cannot hold POSTIE_BASE64_LEN(n) + 1 octets. out_len may be NULL;
 * otherwise it gets the length written (without the terminator). */
postie_status_t postie_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap,
                                     size_t *out_len);

/* Decode strict base64 (padding required, no whitespace).
 * POSTIE_E_INVALID_ARGUMENT on a bad character or length. out_len may be
 * NULL; otherwise it gets the number of octets decoded. */
postie_status_t postie_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                                     size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_BASE64_H */
