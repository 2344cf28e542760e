/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cJSON without a heap, for firmware.
 *
 * Postie's registry loader gives cJSON its parse arena through
 * cJSON_InitHooks() for the length of one load, so cJSON never needs the
 * C library's heap. Two things in cJSON's source still name it: its
 * default hooks (malloc, free, realloc) and its number parser (strtod,
 * which in newlib allocates big-number scratch through _malloc_r). A
 * firmware build therefore compiles cJSON.c, unchanged from Debian's
 * source package, with these definitions on the command line:
 *
 *   -Dmalloc=postie_cjson_no_malloc -Dfree=postie_cjson_no_free
 *   -Drealloc=postie_cjson_no_realloc -Dstrtod=postie_cjson_strtod
 *
 * and links cjson_static.c, which defines the four. The three hook
 * stand-ins refuse every request (NULL), so cJSON used outside a registry
 * load fails cleanly instead of reaching a heap; postie_cjson_strtod parses
 * JSON numbers without any allocation. boards/cortex-m4/build.sh shows
 * the build and checks the linked image for allocator symbols.
 *
 * RAM: none (no state).
 */
#ifndef POSTIE_CJSON_STATIC_H
#define POSTIE_CJSON_STATIC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parse a number in JSON's grammar (optional '-', digits, optional
 * fraction, optional exponent; a leading '+' is accepted as strtod does)
 * from text; *end (may be NULL) is set past the last octet used, or to
 * text when there is no number. Integers up to 2^53 and decimals with at
 * most 19 significant digits and a decimal exponent within +-22 come out
 * exactly as a correctly rounded strtod would give them; other values are
 * within a few units in the last place. Out of range: +-HUGE_VAL or 0. */
double postie_cjson_strtod(const char *text, char **end);

void *postie_cjson_no_malloc(size_t size);
void postie_cjson_no_free(void *p);
void *postie_cjson_no_realloc(void *p, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_CJSON_STATIC_H */
