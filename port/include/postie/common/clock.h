/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Monotonic clock the drivers hand to the engines.
 * A port provides postie_clock_ms(); it may wrap (engines use differences).
 */
#ifndef POSTIE_CLOCK_H
#define POSTIE_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Milliseconds from an arbitrary origin, monotonic, wrapping at 2^32. */
uint32_t postie_clock_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_CLOCK_H */
