/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address checks on the common floor: one mailbox (what MAIL FROM, RCPT TO,
 * the message writer, the registry and the queue accept) and a host name
 * (what EHLO takes). Pure functions.
 *
 * RAM: none (no state).
 */
#ifndef POSTIE_ADDRESS_H
#define POSTIE_ADDRESS_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Check that address is exactly one mailbox, as MAIL FROM, RCPT TO and the
 * message writer's address fields take it (without angle brackets).
 * RFC 5321 4.1.2:
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *                (as written in the address: joe.bloggs, "joe bloggs",
 *                "a\"b"; a dot-string has no leading, trailing or double
 *                dot; a quoted string allows space and quoted pairs, no
 *                control octet)
 *   Domain     = labels of letters, digits and '-', not starting or ending
 *                with '-', at most 63 octets each, joined by single dots
 *                ("example.com", "localhost"; no trailing dot)
 *   address-literal = "[192.0.2.1]" or "[IPv6:2001:db8::1]" (other tags
 *                are not registered, so they are refused)
 * UTF-8 is allowed where RFC 6531 (SMTPUTF8) allows it: in the atoms and
 * the quoted string of the local part and in domain labels (U-labels); it
 * must be well formed. So a list ("a@x,b@y", "a@x; b@y"), a group
 * ("undisclosed:;"), a display name or comment ("Joe <j@x>", "j@x (Joe)"),
 * an unbalanced quote, '<', '>', a space outside quotes, a control octet or
 * an address without '@' (RFC 5321's bare "Postmaster" included) is
 * refused. The local part may be longer than the 64 octets of RFC 5321
 * 4.5.3.1.1: the server enforces its own limit, and long VERP/SRS local
 * parts exist in practice; the whole address is bounded instead.
 *
 * allow_empty: "" passes (the null reverse path, MAIL FROM:<>).
 * non_ascii (may be NULL): set to true when the address passed and holds
 * UTF-8 (the message then needs SMTPUTF8), false otherwise.
 * Returns POSTIE_OK, POSTIE_E_ADDRESS_INVALID (not one mailbox, or "" when
 * !allow_empty), POSTIE_E_ADDRESS_TOO_LONG (over 256 octets, RFC 5321
 * 4.5.3.1.3) or POSTIE_E_INVALID_ARGUMENT (address is NULL). Keeps no
 * state; safe to call from any thread. */
postie_status_t postie_address_check(const char *address, bool allow_empty, bool *non_ascii);

/* Check a host name as EHLO/HELO takes it (RFC 5321 4.1.1.1: Domain / address-literal):
 * a domain name as above in ASCII (give an IDN in its A-label "xn--" form:
 * EHLO is sent before the server says whether it supports SMTPUTF8) or an
 * address literal such as "[192.0.2.1]" or "[IPv6:::1]"; 1..255 octets.
 * So a space, a control octet, "_" or an empty name is refused.
 * Returns POSTIE_OK, or POSTIE_E_INVALID_ARGUMENT (also for NULL). The
 * engine applies it to postie_smtp_config_t.ehlo_name in postie_smtp_init;
 * the registry and the CLI apply it when they read a name. */
postie_status_t postie_address_check_hostname(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_ADDRESS_H */
