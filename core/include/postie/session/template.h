/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The From display-name template: a short text from the registry with the
 * acting user's details filled in, e.g. the display name of a notification
 * sent on a user's behalf; and the session's subject prefix
 * (postie_template_subject, at the end).
 *
 *   template "${fullname} (Confluence)", full name "Joe Bloggs"
 *   gives    "Joe Bloggs (Confluence)"
 *
 * which the message writer (postie/mime/mime.h) then writes as
 *   From: "Joe Bloggs (Confluence)" <confluence-administrator@example-company.com>
 *
 * Syntax, read left to right:
 *   ${fullname}        the user's full name
 *   ${email}           the user's address
 *   ${email.hostname}  the part of the address after its last '@' ("" when
 *                      it has none)
 *   $${                a literal "${" (the escape; "$${fullname}" gives
 *                      "${fullname}")
 *   $                  any other '$' (not followed by '{', and not the
 *                      start of "$${") is literal text; so "$$${fullname}"
 *                      is a '$' then the escape: "$${fullname}"
 * Variable names are case-sensitive; "${}" and any other name is an unknown
 * variable. A reference runs to the first '}'; reaching the end of the
 * template or another "${" first makes it unterminated. The template is a C
 * string: a NUL octet ends it.
 *
 * The literal text must be valid UTF-8 without control characters (octets
 * below 0x20, tab included, and 0x7F): a template can never put a line
 * break into a header. The user's values are not the template author's to
 * vet, so they are not refused: each control octet in them (CR, LF, tab,
 * ...) is written as a space. A full name "Joe\r\nBcc: x" gives "Joe  Bcc: x",
 * one header line whatever the name holds.
 *
 * RAM: none beyond the caller's output buffer (a few words of stack). The
 * functions keep no state and may run concurrently on any threads.
 */
#ifndef POSTIE_TEMPLATE_H
#define POSTIE_TEMPLATE_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stddef.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *fullname; /* the acting user's full name, UTF-8; NULL = "" */
    const char *email;    /* the acting user's address; NULL = "" */
} postie_template_user_t;

/* Check a template (when the registry loads it). Errors, the first one in
 * the template (by offset) wins:
 *   POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE  "${name}" with a name not listed
 *                                       above, "${}" included; the offset
 *                                       is that of its '$'
 *   POSTIE_E_TEMPLATE_SYNTAX            "${" without a closing "}"; the
 *                                       offset is that of its '$'
 *   POSTIE_E_FIELD_INVALID              a control octet in the literal text;
 *                                       its offset
 *   POSTIE_E_UTF8_INVALID               invalid UTF-8 in the literal text;
 *                                       the offset of the bad sequence
 *   POSTIE_E_INVALID_ARGUMENT           tpl is NULL (offset 0)
 * bad_offset and why may be NULL. On an error *bad_offset is the octet
 * offset of the problem in tpl and *why a static human description (for
 * example "unknown variable; known: ${fullname} ${email} ${email.hostname}");
 * on POSTIE_OK they are set to 0 and "". */
postie_status_t postie_template_check(const char *tpl, size_t *bad_offset, const char **why);

/* Expand tpl for user into out[0..cap), NUL-terminated whenever cap > 0;
 * *len (len may be NULL) is the length written, not counting the NUL.
 * Control octets in the user's values become spaces (see above).
 * Errors:
 *   POSTIE_E_NO_SPACE  the result and its NUL do not fit in cap octets (so
 *                      always with cap 0); out holds the longest prefix
 *                      that fits, cut between whole UTF-8 characters
 *   the errors of postie_template_check when tpl does not pass it (the
 *                      template is checked first; out is then "")
 *   POSTIE_E_INVALID_ARGUMENT  user is NULL, or out is NULL with cap > 0
 * The user's values are copied as they are apart from control octets; they
 * should be valid UTF-8 (the message writer refuses a name that is not).
 * A truncated or invalid sequence in them counts one octet per character. */
postie_status_t postie_template_expand(const char *tpl, const postie_template_user_t *user,
                                       char *out, size_t cap, size_t *len);

/* The subject a session's subject prefix gives, as Confluence and
 * similar products write it: the prefix, one space, the subject.
 *   "[Confluence]"  + "Page edited"  gives  "[Confluence] Page edited"
 *   "[NAS-01] "     + "Disk alert"   gives  "[NAS-01] Disk alert"
 * The space is added only when both are non-empty and the prefix does not
 * already end in white space (space or tab), so a prefix written with its
 * own trailing space gives the same subject as before. An empty prefix
 * gives the subject unchanged; an empty subject gives the prefix alone, as
 * written, with no space added. prefix and subject may be NULL (as "").
 * out[0..cap) gets the result, NUL-terminated whenever cap > 0; *len (len
 * may be NULL) its length without the NUL. Errors: POSTIE_E_NO_SPACE when
 * the result and its NUL do not fit (out is then ""), nothing is cut;
 * POSTIE_E_INVALID_ARGUMENT when out is NULL with cap > 0. The text is
 * copied as it is: the message writer checks the subject. */
postie_status_t postie_template_subject(const char *prefix, const char *subject, char *out,
                                        size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_TEMPLATE_H */
