/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SMTP engine's reading of an EHLO reply (RFC 5321 4.1.1.1): used by
 * the engine (core/smtp/smtp.c); the capability record itself and
 * postie_smtp_caps_format() are in postie/smtp/smtp.h.
 */
#ifndef POSTIE_SMTP_CAPS_H
#define POSTIE_SMTP_CAPS_H

#include <stddef.h>

#include "postie/smtp/smtp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One EHLO keyword line without its "250-" ("SIZE 10240000", "AUTH PLAIN
 * LOGIN", "AUTH=LOGIN") added to c: the POSTIE_SMTP_CAP_* flag, the SASL
 * mechanisms, the SIZE limit (0 when absent or not a number). Unknown
 * keywords are ignored. text[0..n) need not be NUL-terminated. */
void postie_smtp_caps_parse_line(postie_smtp_caps_t *c, const char *text, size_t n);

/* The first word of the greeting or of the EHLO/HELO reply's first line as
 * c->server_name (cut to fit, non-printable octets replaced). */
void postie_smtp_caps_server_name(postie_smtp_caps_t *c, const char *text, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SMTP_CAPS_H */
