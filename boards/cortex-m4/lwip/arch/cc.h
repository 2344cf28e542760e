/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lwIP's compiler and platform header for the Cortex-M4 cross build
 * (arm-none-eabi-gcc with newlib): everything lwIP's defaults get right is
 * left to them. The board supplies its randomness (DNS ids, TCP ports and
 * sequence numbers) and, with NO_SYS=1, sys_now() in milliseconds.
 */
#ifndef POSTIE_CORTEX_M4_LWIP_CC_H
#define POSTIE_CORTEX_M4_LWIP_CC_H

#include <stdint.h>

uint32_t postie_board_random(void);
#define LWIP_RAND() (postie_board_random())

/* errno and its values from newlib */
#define LWIP_ERRNO_STDINCLUDE 1
#define LWIP_ERRNO_INCLUDE    <errno.h>

/* asserts and diagnostics print nothing on this board */
#define LWIP_PLATFORM_DIAG(x) \
    do {                      \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) \
    do {                        \
        for (;;) {              \
        }                       \
    } while (0)

#endif /* POSTIE_CORTEX_M4_LWIP_CC_H */
