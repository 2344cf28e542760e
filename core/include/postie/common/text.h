/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded text, on the common floor: a builder that appends to a caller's
 * buffer and never writes past it, and two small text helpers every
 * capability needs (a printable copy, decimal digits).
 *
 *   char why[48];
 *   postie_text_t t;
 *   postie_text_init_str(&t, why, sizeof(why));
 *   postie_text_put(&t, "no complete reply within ");
 *   postie_text_put_u64(&t, 2000);
 *   postie_text_put(&t, " ms");      // why: "no complete reply within 2000 ms"
 *
 * A put either fits whole or writes nothing and sets the overflow flag
 * (postie_text_put_cut is the one exception: it keeps the head that fits).
 * The flag is sticky: once a put did not fit, every later put writes
 * nothing, so a text is either complete or visibly cut (t.overflow), never
 * a mix with a hole in the middle. Check it once at the end.
 *
 * Two modes:
 *   postie_text_init      raw octets (a protocol line, a stage): all cap
 *                         octets usable, no terminator written
 *   postie_text_init_str  a C string: one octet is kept for the NUL and the
 *                         buffer holds a NUL-terminated string after every
 *                         call (the empty string right after init)
 *
 * Fields may be read (len, overflow); change them only through the
 * functions. RAM: sizeof(postie_text_t), 4 words; no other state. The
 * functions keep no state of their own and may run on any thread, one
 * thread per postie_text_t at a time.
 */
#ifndef POSTIE_TEXT_H
#define POSTIE_TEXT_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char *buf;      /* the caller's buffer */
    size_t cap;     /* octets the text may take (string mode: the NUL's place excluded) */
    size_t len;     /* octets written so far */
    bool terminate; /* string mode: buf[len] is kept '\0' */
    bool overflow;  /* sticky: a put did not fit, and nothing has been written since */
} postie_text_t;

/* Raw mode over buf[0..cap): nothing is written yet. cap may be 0 (every
 * non-empty put then overflows); buf may be NULL only with cap 0. */
void postie_text_init(postie_text_t *t, char *buf, size_t cap);

/* String mode over buf[0..size): the text takes at most size - 1 octets
 * and buf is a C string after every call; buf[0] = '\0' at once. With size
 * 0 nothing at all is written (buf may then be NULL) and every non-empty
 * put overflows. */
void postie_text_init_str(postie_text_t *t, char *buf, size_t size);

/* Append s[0..n) whole, or nothing (overflow). s may be NULL when n is 0. */
void postie_text_put_n(postie_text_t *t, const void *s, size_t n);

/* Append the C string s whole, or nothing (overflow). */
void postie_text_put(postie_text_t *t, const char *s);

/* Append one octet, or nothing (overflow). */
void postie_text_put_char(postie_text_t *t, char c);

/* Append the decimal digits of v (no sign, no leading zeros), or nothing. */
void postie_text_put_u64(postie_text_t *t, uint64_t v);

/* Append as much of s[0..n) as fits, octet by octet (a UTF-8 character
 * may be cut: run postie_utf8_valid on the result if that matters); when
 * not all of it fits, the rest is dropped and overflow set. For messages
 * and paths that are better cut than lost. */
void postie_text_put_cut_n(postie_text_t *t, const void *s, size_t n);

/* postie_text_put_cut_n() for the C string s. */
void postie_text_put_cut(postie_text_t *t, const char *s);

/* Cut the text back to its first len octets and clear overflow, as if
 * nothing had been put after them: for a path that grows as a walk goes
 * down and shrinks as it comes back. len over t->len changes nothing. */
void postie_text_rewind(postie_text_t *t, size_t len);

/* Writing in place, for an encoder that fills a buffer itself: where the
 * next octet goes, and (*room) how many octets may go there (0 once the
 * text has overflowed). Then postie_text_advance(t, n) counts the n octets
 * written as part of the text. */
char *postie_text_tail(const postie_text_t *t, size_t *room);

/* Count n octets written at postie_text_tail() as appended. n over the
 * room is a programming error: it sets overflow and counts nothing. */
void postie_text_advance(postie_text_t *t, size_t n);

/* Mark the text as cut: a piece made elsewhere did not fit. Sets overflow. */
void postie_text_fail(postie_text_t *t);

/* Copy the C string src into dst[0..size), as much as fits, always
 * NUL-terminated (nothing when size is 0); returns false when src was cut.
 * A text field set from another: postie_text_init_str + put_cut in one. */
bool postie_text_copy(char *dst, size_t size, const char *src);

/* Copy at most cap-1 octets of src (length len) into dst and NUL-terminate
 * (nothing when cap is 0). Control characters (below 0x20, and 0x7F) are
 * replaced by '?', so the copy is safe to print. dst may be src itself (an
 * in-place clean-up); otherwise they must not overlap. */
void postie_text_copy_printable(char *dst, size_t cap, const char *src, size_t len);

/* The decimal digits of v into out (no terminator); returns how many
 * (1..20). out needs POSTIE_TEXT_U64_DIGITS octets. */
#define POSTIE_TEXT_U64_DIGITS 20
size_t postie_text_format_u64(uint64_t v, char *out);

/* Protocol keywords, shared by the engines' capability parsers. */

/* Whether a[0..alen) equals the C string b, ignoring ASCII case. */
bool postie_ascii_ieq(const char *a, size_t alen, const char *b);

/* The next space-separated word of s[*pos..n): *w and *wlen view it and
 * *pos moves past it; false (and *pos = n) when only spaces are left. */
bool postie_next_word(const char *s, size_t n, size_t *pos, const char **w, size_t *wlen);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_TEXT_H */
