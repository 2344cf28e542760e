/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The encoders the message writer is built from, each a pure function or a
 * small incremental transform over caller-owned buffers:
 *
 *   RFC 2047 encoded words        one word at a time, never splitting a
 *                                 UTF-8 sequence, B or Q, at most 75 octets
 *   quoted-printable              (RFC 2045 6.7) streaming, CRLF line ends,
 *                                 soft breaks so no line passes 76 octets
 *   base64 with line breaks       (RFC 2045 6.8) streaming, 76-column lines
 *   RFC 2231 parameter values     filename*=UTF-8''%E5%B1... in pieces
 *
 * RAM: the streaming encoders' states are a few octets each (see sizeof).
 */
#ifndef POSTIE_MIME_ENCODE_H
#define POSTIE_MIME_ENCODE_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"
#include "postie/common/utf8.h" /* the writer's callers check UTF-8 too */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- RFC 2047 encoded words -------------------------------------------- */

#define POSTIE_MIME_EW_MAX 75u /* RFC 2047 2: an encoded word is at most 75 octets */

typedef enum {
    POSTIE_MIME_EW_B = 'B', /* base64 */
    POSTIE_MIME_EW_Q = 'Q'  /* the "Q" encoding, restricted to the phrase-safe set */
} postie_mime_ew_encoding_t;

/* The shorter encoding for the whole text: total length of all encoded
 * words needed with B versus Q, each word at most POSTIE_MIME_EW_MAX octets (the
 * folding white space between words is not counted). Ties, and empty
 * text, go to Q, which stays readable. */
postie_mime_ew_encoding_t postie_mime_ew_choose(const uint8_t *text, size_t len);

/* Write one encoded word "=?UTF-8?X?...?=" into out, taking as many whole
 * UTF-8 characters of text[*pos..len) as fit in max_len octets
 * (12 <= max_len <= POSTIE_MIME_EW_MAX; a larger max_len counts as
 * POSTIE_MIME_EW_MAX) and advancing *pos. The word has 12 octets of overhead;
 * in B its payload is the padded base64 of the characters taken (a
 * multiple of 4). In Q, only letters, digits and ! * + - / are written as
 * themselves, space becomes '_', every other octet =XX (uppercase hex):
 * safe in phrases, comments and unstructured text alike. Returns the
 * word's length; 0 with *pos unchanged when not even one character fits
 * (or *pos == len, or max_len < 12). out needs max_len octets (no
 * terminator is written). text must be valid UTF-8 (check with
 * postie_utf8_valid first); if it is not, octets outside a well-formed
 * sequence are taken one at a time and nothing past len is read. */
size_t postie_mime_ew_word(const uint8_t *text, size_t len, size_t *pos,
                           postie_mime_ew_encoding_t enc, size_t max_len, char *out);

/* ---- quoted-printable -------------------------------------------------- */

/* Streaming quoted-printable encoder for text. Input line ends (CRLF, bare
 * LF, bare CR) become hard CRLF line breaks; output lines are at most 76
 * octets, cut with soft breaks ("=" CRLF) that never split an =XX triplet;
 * space or tab before a line end (hard break or end of input) are encoded
 * (=20 / =09); '=' and every octet outside 33..126 except space and tab are
 * =XX. (Dot-stuffing is the SMTP engine's job, not this encoder's.) */
typedef struct {
    uint8_t col;        /* octets on the current output line */
    uint8_t pending_ws; /* a space or tab held back until we know what follows; 0 none */
    bool pending_cr;    /* last input octet was CR (a following LF belongs to it) */
} postie_mime_qp_t;

void postie_mime_qp_init(postie_mime_qp_t *q);

/* Encode in[0..len): consumes as much as fits in out[0..cap), sets
 * *consumed and *produced. An input octet is consumed only with all of its
 * output (at most 10 octets), so it always makes progress when cap >= 16;
 * a held-back space/tab or the LF of a CRLF is consumed with no output. */
void postie_mime_qp_encode(postie_mime_qp_t *q, const uint8_t *in, size_t len, size_t *consumed,
                           uint8_t *out, size_t cap, size_t *produced);

/* End of input: flush a held-back space/tab (as =20 / =09) and end the
 * last line with CRLF if it has content. Writes at most 8 octets, so 16
 * octets of room are always enough; returns POSTIE_E_NO_SPACE (and writes
 * nothing, *produced = 0) when the octets due do not fit. On success the
 * encoder is reset as by postie_mime_qp_init. */
postie_status_t postie_mime_qp_finish(postie_mime_qp_t *q, uint8_t *out, size_t cap,
                                      size_t *produced);

/* ---- base64 with line breaks ------------------------------------------- */

/* Streaming base64 for MIME bodies: 76 characters then CRLF. */
typedef struct {
    uint8_t held[3]; /* input octets not yet encoded */
    uint8_t nheld;
    uint8_t col; /* characters on the current output line */
} postie_mime_b64_t;

void postie_mime_b64_init(postie_mime_b64_t *b);

/* Encode in[0..len) as far as out[0..cap) allows. A line is ended (CRLF)
 * as soon as it holds 76 characters. Up to 3 input octets are taken into
 * the state without output; always makes progress when cap >= 6. */
void postie_mime_b64_encode(postie_mime_b64_t *b, const uint8_t *in, size_t len, size_t *consumed,
                            uint8_t *out, size_t cap, size_t *produced);

/* End of input: the last group with padding and a final CRLF (none when
 * the output is empty or already ends a line). Writes at most 6 octets;
 * returns POSTIE_E_NO_SPACE (writing nothing, *produced = 0) when they do
 * not fit. On success the stream is reset as by postie_mime_b64_init. */
postie_status_t postie_mime_b64_finish(postie_mime_b64_t *b, uint8_t *out, size_t cap,
                                       size_t *produced);

/* ---- RFC 2231 parameter values ----------------------------------------- */

/* True when value can be a plain MIME parameter value: printable ASCII
 * (0x20..0x7E; quoted-string when it has tspecials or spaces, and then the
 * writer must escape '"' and '\' inside the quotes), at most 60 octets.
 * The empty value is plain (""). */
bool postie_mime_param_plain_ok(const uint8_t *value, size_t len);

/* The extended-value encoding of value[*pos..len) for one RFC 2231 section:
 * on the first section (first == true) "UTF-8''" and then %XX (uppercase)
 * for every octet outside the kept set ALPHA DIGIT ! # $ & + - . ^ _ ` | ~
 * (RFC 2231 7 attribute-char would also allow '{' and '}'; we encode them
 * too, which is still valid), whole UTF-8 characters only, at most max_len
 * octets in out (the prefix included; no terminator). Advances *pos;
 * returns the length written, or 0 with *pos unchanged when not even one
 * character fits (with the prefix on a first section) or *pos == len. An
 * empty value's first section is "UTF-8''" alone (7). value should be
 * valid UTF-8; if not, stray octets are taken one at a time. */
size_t postie_mime_param_ext_section(const uint8_t *value, size_t len, size_t *pos, bool first,
                                     size_t max_len, char *out);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_MIME_ENCODE_H */
