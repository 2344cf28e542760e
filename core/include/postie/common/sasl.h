/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the SMTP, POP3 and IMAP engines share for logging in: the SASL
 * mechanism bits, the log callback's shape, the PLAIN initial response
 * (RFC 4616), and the two OAuth 2.0 mechanisms: XOAUTH2 (Google's and
 * Microsoft's) and OAUTHBEARER (RFC 7628), with the decoder of the JSON
 * error a server sends when it refuses a token.
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
#define POSTIE_SASL_XOAUTH2     0x04u /* an OAuth 2.0 access token (never chosen by itself) */
#define POSTIE_SASL_OAUTHBEARER 0x08u /* RFC 7628 (never chosen by itself) */
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

/* "XOAUTH2", "OAUTHBEARER", "PLAIN", "LOGIN", "CRAM-MD5" for one bit; "?" otherwise. */
const char *postie_sasl_mechanism_name(uint32_t bit);

/* Longest host name put in an OAUTHBEARER response (RFC 1035: 255 octets). */
#define POSTIE_SASL_HOST_MAX 255

/*
 * The OAuth 2.0 initial response of mechanism mech, base64-encoded into out
 * and NUL-terminated; *out_len (may be NULL) gets its length:
 *
 *   POSTIE_SASL_XOAUTH2:     "user=" user ^A "auth=Bearer " token ^A ^A
 *   POSTIE_SASL_OAUTHBEARER: "n,a=" user "," ^A "host=" host ^A "port=" port
 *                            ^A "auth=Bearer " token ^A ^A   (RFC 7628 3.1)
 *
 * (^A is octet 0x01.) In OAUTHBEARER the user name's ',' and '=' become
 * "=2C" and "=3D" (RFC 5801 gs2 escaping); host NULL or "" leaves host=
 * out, port 0 leaves port= out. XOAUTH2 ignores host and port. The token is
 * taken as is (the caller's buffer, token_len octets, no terminator needed).
 *
 * The clear text is never assembled in memory: the pieces are encoded as
 * they come, and the few octets carried between them are wiped.
 *
 * Errors: POSTIE_E_INVALID_ARGUMENT for another mech, an empty user or
 * token, a user name or host holding a control character (below 0x20, or
 * 0x7F), or a token holding anything but visible ASCII (RFC 6750 b64token is
 * narrower still; the server judges it); POSTIE_E_FIELD_TOO_LONG when user
 * passes POSTIE_AUTH_FIELD_MAX octets, the token POSTIE_OAUTH_TOKEN_MAX or the
 * host POSTIE_SASL_HOST_MAX; POSTIE_E_NO_SPACE when out cannot hold
 * postie_sasl_oauth_len() + 1 octets (out then holds "").
 */
postie_status_t postie_sasl_oauth(uint32_t mech, const char *user, const char *host, uint16_t port,
                                  const char *token, size_t token_len, char *out, size_t cap,
                                  size_t *out_len);

/* The engines' configuration check for an OAuth 2.0 login: POSTIE_OK, or the
 * status postie_sasl_oauth would give (POSTIE_E_INVALID_ARGUMENT also for a
 * NULL user or token) with *why (a static text) saying what is wrong. */
postie_status_t postie_sasl_oauth_check(uint32_t mech, const char *user, const char *host,
                                        uint16_t port, const char *token, const char **why);

/* The length (without terminator) of what postie_sasl_oauth would write for
 * these arguments: lets an engine decide whether the response fits on the
 * command line (an initial response) or goes on a line of its own. */
size_t postie_sasl_oauth_len(uint32_t mech, const char *user, const char *host, uint16_t port,
                             size_t token_len);

/* The longest OAuth 2.0 response before base64: OAUTHBEARER with a user
 * name of POSTIE_AUTH_FIELD_MAX octets all escaped, the longest host, port
 * 65535 and a token of POSTIE_OAUTH_TOKEN_MAX octets. Its base64 length is
 * POSTIE_SASL_OAUTH_B64_MAX; the engines' transmit buffers are checked
 * against it in config/postie_config_defaults.h. */
#define POSTIE_SASL_OAUTH_RAW_MAX POSTIE_SASL_OAUTH_RAW_MAX_OF(POSTIE_OAUTH_TOKEN_MAX)
/* POSTIE_SASL_OAUTH_B64_MAX: in config/postie_config_defaults.h. */

/* Room for the "status" of a refused token ("invalid_token", "401"). */
#define POSTIE_SASL_STATUS_MAX 32

/*
 * Decode the error a server sends, as a SASL challenge, when it refuses an
 * OAuth 2.0 token: b64[0..n) is the base64 of a JSON object such as
 * {"status":"invalid_token","schemes":"bearer","scope":"..."} (RFC 7628
 * 3.2.2; XOAUTH2 servers send the same shape). No JSON library: the value of
 * "status" is extracted into status[0..status_cap) (a string or a bare
 * number; "" when there is none), and the whole JSON text, control
 * characters replaced by '?', into text[0..text_cap) (cut to fit); both
 * NUL-terminated. Input past what text_cap keeps is decoded but not kept
 * (status is searched only in what was kept, at most 511 octets).
 *
 * Errors: POSTIE_E_REPLY_MALFORMED when b64 is not base64 or what it holds
 * does not start with '{' (status and text then hold "" and what could be
 * decoded, shown printable).
 */
postie_status_t postie_sasl_oauth_error(const char *b64, size_t n, char *status, size_t status_cap,
                                        char *text, size_t text_cap);

/* What the engines keep of a refused token's error for the error record's
 * subject: "<status>: <JSON text>" ("invalid_token: {\"status\":...}"), the
 * JSON text alone when it has no status, or "undecodable error challenge:
 * <the challenge>" when it is not base64 JSON; cut to cap - 1 octets,
 * printable, NUL-terminated. The error never holds the token (the server
 * sends only status, schemes, scope and openid-configuration). */
void postie_sasl_oauth_error_subject(const char *b64, size_t n, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SASL_H */
