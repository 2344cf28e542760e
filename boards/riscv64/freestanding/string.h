/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The <string.h> of a freestanding RISC-V build (boards/riscv64/build.sh):
 * riscv64-unknown-elf-gcc comes without a C library, and C99's freestanding
 * headers (stddef.h, stdint.h, stdbool.h, ...) have no string functions.
 * These are the only C library functions core/ calls (strstr only in the
 * registry loader); a board links its own
 * (newlib, picolibc or a few loops). The build checks that core/ imports
 * nothing else.
 */
#ifndef POSTIE_FREESTANDING_STRING_H
#define POSTIE_FREESTANDING_STRING_H

#include <stddef.h>

void *memchr(const void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
char *strchr(const char *s, int c);
int strcmp(const char *a, const char *b);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);

#endif /* POSTIE_FREESTANDING_STRING_H */
