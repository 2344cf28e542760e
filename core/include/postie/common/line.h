/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded CRLF line reader over a caller-provided receive buffer, shared by
 * every protocol engine.
 *
 * The driver asks for a window (postie_line_rx_window), receives into it and
 * commits what arrived; the engine then takes complete lines one at a time.
 * A line is returned as a view into the buffer without its CRLF, valid until
 * the next call that changes the reader.
 *
 * Strict framing: a line ends with CRLF only. NUL, a bare CR or a bare LF is
 * a malformed reply; a line longer than line_max (CRLF included) is refused
 * as soon as that many octets arrived without a line end.
 *
 * Two more ways to take octets, for IMAP: counted mode
 * (postie_line_take) hands out the next n octets as they are, whatever they
 * hold (a literal {n}); and postie_line_next_part hands out a line longer
 * than line_max in parts (an IMAP SEARCH answer listing every UID).
 * postie_line_next behaves as it always has.
 *
 * RAM: sizeof(postie_line_reader_t) (about 48 octets) plus the buffer.
 */
#ifndef POSTIE_LINE_H
#define POSTIE_LINE_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t start;    /* first octet not yet returned as a line */
    size_t len;      /* octets in buf */
    size_t scan;     /* where the search for CRLF resumes */
    size_t line_max; /* longest line including CRLF */
    const char *why; /* reason for the last framing error */
} postie_line_reader_t;

/* Use buf[0..cap) as the receive buffer; line_max is capped to cap and is
 * at least 2 (an empty line with its CRLF). cap must be at least 2. */
void postie_line_init(postie_line_reader_t *r, uint8_t *buf, size_t cap, size_t line_max);

/* Forget all buffered octets (after STARTTLS, for example). */
void postie_line_reset(postie_line_reader_t *r);

/* Where received octets go; *avail is 0 when the buffer is full of
 * unread lines (take them first). Moves unread octets to the front. */
uint8_t *postie_line_rx_window(postie_line_reader_t *r, size_t *avail);

/* Tell the reader that n octets were written into the window. */
void postie_line_rx_commit(postie_line_reader_t *r, size_t n);

/* Take the next complete line. POSTIE_OK with a view (without CRLF),
 * POSTIE_E_AGAIN when no complete line is buffered yet,
 * POSTIE_E_REPLY_LINE_TOO_LONG or POSTIE_E_REPLY_MALFORMED (see r->why). */
postie_status_t postie_line_next(postie_line_reader_t *r, const char **line, size_t *len);

/* Like postie_line_next, but a line that reaches line_max without its
 * CRLF is not an error: what is buffered of it comes out as a part
 * (*complete false; never a CR that may start the line end), and the
 * following calls give the rest, the last part with *complete true (it may
 * be empty). The same framing checks apply to every part. */
postie_status_t postie_line_next_part(postie_line_reader_t *r, const char **part, size_t *len,
                                      bool *complete);

/* Counted mode: take up to max octets exactly as received (any octet, CR
 * and LF included), from where the last line or take ended. POSTIE_OK with
 * *len >= 1, POSTIE_E_AGAIN when nothing is buffered (or max is 0). The
 * view is valid until the next call that changes the reader. */
postie_status_t postie_line_take(postie_line_reader_t *r, size_t max, const uint8_t **data,
                                 size_t *len);

/* Octets received but not yet returned as lines. */
static inline size_t postie_line_pending(const postie_line_reader_t *r)
{
    return r->len - r->start;
}

#endif /* POSTIE_LINE_H */
