/* SPDX-License-Identifier: Apache-2.0 */
/*
 * postie_clock_ms() for POSIX: CLOCK_MONOTONIC in milliseconds, truncated to
 * 32 bits. Callers only use differences, so the wrap every ~49.7 days is
 * harmless as long as no single wait exceeds that.
 */
#include "postie/common/clock.h"

#include <time.h>

uint32_t postie_clock_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        /* Cannot fail with a valid clock id and pointer; a stuck clock would
         * still end every wait because each loop also bounds its count. */
        return 0;
    }
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}
