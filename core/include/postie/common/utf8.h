/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UTF-8 checks (RFC 3629), on the common floor: the message writer, the
 * templates, the address check and the registry all need them.
 *
 * RAM: none (no state).
 */
#ifndef POSTIE_UTF8_H
#define POSTIE_UTF8_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* True when s[0..len) is well-formed UTF-8: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequence, no stray continuation octet. U+0000 (NUL) is valid here;
 * callers that must refuse NUL check for it themselves. When false and
 * bad_offset is not NULL, *bad_offset is the offset of the first octet of
 * the first bad sequence (untouched when true). */
bool postie_utf8_valid(const uint8_t *s, size_t len, size_t *bad_offset);

/* Length of the UTF-8 sequence starting with lead octet c (1..4), or 0 for
 * a continuation or invalid lead octet. */
size_t postie_utf8_seq_len(uint8_t c);

/* Length of the well-formed UTF-8 sequence at s[0..avail) (1..4; a lone
 * ASCII octet is 1), or 0 when s does not start with one (avail >= 1). */
size_t postie_utf8_char_len(const uint8_t *s, size_t avail);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_UTF8_H */
