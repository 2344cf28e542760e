/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the SMTP, POP3 and IMAP engines share for logging in: the SASL
 * mechanism bits, the log callback's shape, and the PLAIN initial response
 * (RFC 4616). XOAUTH2 and OAUTHBEARER encoders belong here too when the
 * OAuth 2.0 work adds them.
 */
#ifndef POSTIE_SASL_H
#define POSTIE_SASL_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SASL mechanisms (bits). */
#define POSTIE_SASL_PLAIN       0x01u
#define POSTIE_SASL_LOGIN       0x02u
#define POSTIE_SASL_XOAUTH2     0x04u /* recognised; used by the OAuth 2.0 work */
#define POSTIE_SASL_OAUTHBEARER 0x08u /* recognised; used by the OAuth 2.0 work */
#define POSTIE_SASL_CRAM_MD5    0x10u /* recognised, never used */
#define POSTIE_SASL_SUPPORTED   (POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN)

typedef enum { POSTIE_LOG_SENT, POSTIE_LOG_RECEIVED, POSTIE_LOG_INFO } postie_log_dir_t;

/* Called by an engine for every line sent or received (without CRLF), and
 * for a few notes. Credentials are replaced by "<redacted>" before the call. */
typedef void (*postie_log_fn)(void *ctx, postie_log_dir_t dir, const char *line, size_t len);

/* The POSTIE_SASL_* bit of a mechanism's name (w[0..n), any case) as a
 * server lists it ("PLAIN", "XOAUTH2", ...); 0 for one Postie does not know. */
uint32_t postie_sasl_mechanism(const char *w, size_t n);

/* The PLAIN response "\0user\0password", base64-encoded into out and
 * NUL-terminated; *out_len (may be NULL) gets its length. The clear text
 * never leaves this call (its stack copy is wiped). POSTIE_E_NO_SPACE when
 * out is too small, POSTIE_E_FIELD_TOO_LONG when user or password passes
 * POSTIE_AUTH_FIELD_MAX octets. */
postie_status_t postie_sasl_plain(const char *user, const char *password, char *out, size_t cap,
                                  size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SASL_H */
