/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMTP reply parsing (RFC 5321 4.2, RFC 3463 enhanced status codes).
 *
 * Lines come from the shared line reader; this module checks each one and
 * groups them into replies: "250-first", "250-second", "250 last".
 * Every line of one reply must carry the same code, and a reply may have at
 * most POSTIE_REPLY_LINES_MAX lines.
 *
 * RAM: sizeof(postie_smtp_reply_t), 8 octets.
 */
#ifndef POSTIE_SMTP_REPLY_H
#define POSTIE_SMTP_REPLY_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint16_t code;  /* code of the reply being assembled, 0 between replies */
    uint16_t lines; /* lines seen so far in it */
} postie_smtp_reply_t;

/* One parsed line; text views point into the line given. */
typedef struct {
    uint16_t code;
    bool first;           /* first line of a reply */
    bool last;            /* "NNN " or "NNN": the reply is complete */
    const char *enhanced; /* "x.y.z" or NULL when absent */
    size_t enhanced_len;
    const char *text; /* text after the code (and after the enhanced code) */
    size_t text_len;
} postie_smtp_line_t;

void postie_smtp_reply_init(postie_smtp_reply_t *r);

/* Parse one line (without CRLF). Errors: POSTIE_E_REPLY_MALFORMED (with *why
 * set to a static explanation) or POSTIE_E_REPLY_TOO_MANY_LINES. */
postie_status_t postie_smtp_reply_line(postie_smtp_reply_t *r, const char *line, size_t len,
                                       postie_smtp_line_t *out, const char **why);

/* Fill a postie_reply_info_t from a parsed first line. */
void postie_smtp_reply_info(postie_reply_info_t *info, const postie_smtp_line_t *line);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SMTP_REPLY_H */
