/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mps2-an386 board (QEMU's Cortex-M4 MPS2 with the AN386 image): what
 * the example firmware uses from it.
 *
 *   UART0      CMSDK APB UART at 0x40004000: the console (QEMU's -serial)
 *   SysTick    1 ms tick from the 25 MHz core clock: postie_clock_ms(),
 *              lwIP's sys_now()
 *   wall clock the build time (POSTIE_BOARD_BUILD_EPOCH, seconds since
 *              1970 UTC) plus the uptime: the board has no RTC and the
 *              firmware no SNTP client
 *   Ethernet   LAN9118 (QEMU's model of the board's LAN9220) at 0x40200000:
 *              lan9118.h
 *   entropy    entropy.c: NOT a hardware RNG (QEMU emulates none), see there
 *
 * Everything is polled: no interrupt but SysTick is enabled. One context
 * (the main loop); nothing here may be called from an interrupt handler.
 */
#ifndef POSTIE_MPS2_BOARD_H
#define POSTIE_MPS2_BOARD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifndef POSTIE_BOARD_BUILD_EPOCH
#define POSTIE_BOARD_BUILD_EPOCH 0
#endif

/* Set up the UART and the SysTick; called first by main(). */
void board_init(void);

/* Milliseconds since board_init() (wraps after 49 days). */
uint32_t board_ms(void);

/* Wall-clock seconds since 1970 UTC: the build time plus the uptime. */
int64_t board_wall_clock(void);

/* Wait for the next interrupt (the 1 ms tick at the latest). */
void board_idle(void);

/* The console: text as it is ("\n" becomes "\r\n"). */
void board_write(const char *s, size_t len);
void board_puts(const char *s);
/* One console line, printf-style, prefixed with the uptime ("[  1.234] ")
 * and ended with "\r\n"; cut at 480 octets. */
void board_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void board_vlog(const char *fmt, va_list ap);

/* Stop here for good (after the last line is out). */
void board_halt(void) __attribute__((noreturn));

#endif /* POSTIE_MPS2_BOARD_H */
