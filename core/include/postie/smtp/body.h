/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming transform from a raw RFC 5322 message to SMTP wire form.
 *
 *  - Line ends are normalised: CRLF, a lone CR and a lone LF each become CRLF.
 *  - In DATA mode a '.' at the start of a line is doubled (RFC 5321 4.5.2),
 *    so no input (LF.LF, CR.CR, LF.CRLF, ...) can end DATA early, and
 *    postie_body_finish() writes the terminating ".\r\n".
 *  - In BDAT mode (CHUNKING) nothing is stuffed and no terminator is written.
 *  - The message always ends with CRLF.
 *  - A NUL octet is refused (POSTIE_E_BODY_NUL): it can never reach the wire.
 *  - An octet >= 0x80 is refused (POSTIE_E_BODY_8BIT_UNDECLARED) unless the
 *    message was declared 8-bit.
 *
 * State: a few octets; input and output are caller spans, so a message of
 * any size passes through in constant memory.
 */
#ifndef POSTIE_BODY_H
#define POSTIE_BODY_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Worst-case output octets for one input octet: a lone CR followed by '.'
 * becomes "\r\n.." */
#define POSTIE_BODY_MAX_EXPANSION 4u
/* Octets postie_body_finish() may write: "\r\n" + ".\r\n" */
#define POSTIE_BODY_FINISH_MAX    5u

typedef struct {
    bool dot_stuff;  /* DATA mode */
    bool allow_8bit; /* message declared 8-bit */
    bool line_start; /* next octet starts a line */
    bool pending_cr; /* last input octet was CR; its LF may follow */
    uint64_t in_octets;
    uint64_t out_octets;
} postie_body_encoder_t;

void postie_body_init(postie_body_encoder_t *e, bool dot_stuff, bool allow_8bit);

/* Transform in[0..in_len) into out[0..out_cap). Stops when the output has
 * fewer than POSTIE_BODY_MAX_EXPANSION octets free or the input is used up.
 * *consumed and *produced tell what moved, also on error (the offending
 * octet is at in[*consumed]). */
postie_status_t postie_body_encode(postie_body_encoder_t *e, const uint8_t *in, size_t in_len,
                                   size_t *consumed, uint8_t *out, size_t out_cap,
                                   size_t *produced);

/* Close the message: a final CRLF when missing, and ".\r\n" in DATA mode.
 * Needs POSTIE_BODY_FINISH_MAX octets of room (POSTIE_E_NO_SPACE otherwise). */
postie_status_t postie_body_finish(postie_body_encoder_t *e, uint8_t *out, size_t out_cap,
                                   size_t *produced);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_BODY_H */
