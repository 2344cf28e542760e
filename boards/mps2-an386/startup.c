/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start-up code for the mps2-an386 board: the vector table, the reset
 * handler (copy .data from flash, clear .bss, turn on the FPU, call main),
 * the fault handlers (they say which fault on the console and stop), the
 * SysTick millisecond clock, the console UART and the C library's time
 * hook.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "board.h"
#include "postie/common/clock.h"

int main(void);

extern uint32_t _data_load[], _data_start[], _data_end[], _bss_start[], _bss_end[];
extern uint32_t _stack_top[];

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* System control block */
#define SCB_CPACR  REG32(0xE000ED88u)
#define SCB_CFSR   REG32(0xE000ED28u)
#define SCB_HFSR   REG32(0xE000ED2Cu)
#define SCB_MMFAR  REG32(0xE000ED34u)
#define SCB_BFAR   REG32(0xE000ED38u)
#define SCB_SHCSR  REG32(0xE000ED24u)
#define SYST_CSR   REG32(0xE000E010u)
#define SYST_RVR   REG32(0xE000E014u)
#define SYST_CVR   REG32(0xE000E018u)
#define CORE_CLOCK 25000000u /* QEMU's MPS2 SYSCLK */

/* CMSDK APB UART0 */
#define UART0_BASE   0x40004000u
#define UART_DATA    REG32(UART0_BASE + 0x00u)
#define UART_STATE   REG32(UART0_BASE + 0x04u)
#define UART_CTRL    REG32(UART0_BASE + 0x08u)
#define UART_BAUDDIV REG32(UART0_BASE + 0x10u)
#define UART_TX_FULL 0x1u
#define UART_TX_EN   0x1u

static volatile uint32_t ticks_ms;

void board_reset(void);
void board_fault(void);
void board_systick(void);
void board_unexpected(void);

__attribute__((noreturn)) void board_reset(void)
{
    const uint32_t *src = _data_load;
    for (uint32_t *dst = _data_start; dst < _data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = _bss_start; dst < _bss_end;) {
        *dst++ = 0;
    }
    SCB_CPACR |= 0xFu << 20; /* CP10 and CP11: full access to the FPU */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18); /* separate Mem, Bus, Usage faults */
    (void)main();
    board_halt();
}

/* The first 16 entries (the core's exceptions); the board's interrupts
 * stay disabled. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)_stack_top,
    board_reset,
    board_unexpected, /* NMI */
    board_fault,      /* HardFault */
    board_fault,      /* MemManage */
    board_fault,      /* BusFault */
    board_fault,      /* UsageFault */
    0,
    0,
    0,
    0,
    board_unexpected, /* SVCall */
    board_unexpected, /* DebugMonitor */
    0,
    board_unexpected, /* PendSV */
    board_systick,
};

void board_systick(void)
{
    ticks_ms++;
}

static void uart_putc(char c)
{
    while ((UART_STATE & UART_TX_FULL) != 0) {
    }
    UART_DATA = (uint8_t)c;
}

void board_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            uart_putc('\r');
        }
        uart_putc(s[i]);
    }
}

void board_puts(const char *s)
{
    board_write(s, strlen(s));
}

static void put_hex(const char *name, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    buf[10] = '\0';
    board_puts(name);
    board_puts(buf);
}

void board_fault(void)
{
    /* no formatting here: the stack may be what failed */
    board_puts("\npostie: FAULT");
    put_hex(" cfsr=", SCB_CFSR);
    put_hex(" hfsr=", SCB_HFSR);
    put_hex(" mmfar=", SCB_MMFAR);
    put_hex(" bfar=", SCB_BFAR);
    board_puts("\npostie: done status=fault\n");
    board_halt();
}

void board_unexpected(void)
{
    board_puts("\npostie: unexpected exception\npostie: done status=fault\n");
    board_halt();
}

void board_init(void)
{
    UART_BAUDDIV = 16; /* the smallest divider; QEMU sends at host speed anyway */
    UART_CTRL = UART_TX_EN;
    SYST_RVR = CORE_CLOCK / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* core clock, interrupt, enable */
}

uint32_t board_ms(void)
{
    return ticks_ms;
}

uint32_t postie_clock_ms(void)
{
    return ticks_ms;
}

int64_t board_wall_clock(void)
{
    return (int64_t)POSTIE_BOARD_BUILD_EPOCH + (int64_t)(ticks_ms / 1000u);
}

/* newlib's time() (mbedTLS checks certificate dates with it) */
int _gettimeofday(struct timeval *tv, void *tz);
int _gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    if (tv != NULL) {
        uint32_t ms = ticks_ms;
        tv->tv_sec = (time_t)((int64_t)POSTIE_BOARD_BUILD_EPOCH + (int64_t)(ms / 1000u));
        tv->tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
    }
    return 0;
}

void board_idle(void)
{
    __asm__ volatile("wfi");
}

void board_vlog(const char *fmt, va_list ap)
{
    static char line[512];
    uint32_t ms = ticks_ms;
    size_t cap;
    int n = snprintf(line, sizeof(line), "[%4lu.%03lu] ", (unsigned long)(ms / 1000u),
                     (unsigned long)(ms % 1000u));
    int m;
    if (n < 0 || (size_t)n >= sizeof(line) / 2u) {
        n = 0;
    }
    cap = sizeof(line) - (size_t)n - 1u; /* room for the '\n' */
    m = vsnprintf(line + n, cap, fmt, ap);
    if (m < 0) {
        m = 0;
    } else if ((size_t)m >= cap) {
        m = (int)cap - 1;
    }
    line[n + m] = '\n';
    board_write(line, (size_t)n + (size_t)m + 1u);
}

void board_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    board_vlog(fmt, ap);
    va_end(ap);
}

void board_halt(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}
