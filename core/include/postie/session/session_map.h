/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a named session means for a connection and for a message: the two
 * mappings every user of a session needs (the CLI's send, test-email,
 * test-connection, the queue's delivery run, firmware), written once.
 *
 *   session -> connection  where to connect and how safely: host, port,
 *                          CAs, verification, the connect timeout, and the
 *                          SMTP engine's configuration (TLS mode, EHLO
 *                          name, login, reply timeouts)
 *   session -> message     From address and display name (the session's
 *                          template over the acting user), envelope sender,
 *                          subject with the session's prefix
 *
 * Both only read the session (postie/session/registry.h) and write views
 * into it: keep the session alive, unchanged, while the results are used
 * (copy it first, as postie send does, when a reload may happen). Reading
 * a password from an environment variable or a file is the port's job
 * (postie_secret_read on POSIX): the connection mapping takes the secret
 * already resolved.
 *
 * RAM: sizeof(postie_session_connection_t) (the engine configuration and a
 * few words); sizeof(postie_session_message_t), 4 pointers and an enum;
 * the caller's name and subject buffers. No state: the functions may run
 * concurrently on any threads.
 */
#ifndef POSTIE_SESSION_MAP_H
#define POSTIE_SESSION_MAP_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"
#include "postie/session/registry.h"
#include "postie/session/template.h"
#include "postie/smtp/smtp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- session -> connection -------------------------------------------------------- */

/* How to reach a session's server, for any port: the POSIX client copies
 * it into its configuration (postie_session_client_config), a firmware
 * driver into its transport and TLS set-up. */
typedef struct {
    const char *host;            /* the server's name; also the name its certificate must match */
    uint16_t port;               /* the session's, defaults resolved (25, 465) */
    const char *ca_file;         /* trusted CAs: a PEM file on POSIX, the name of a CA blob on a
                                    board; NULL: the system bundle or the board's own CAs */
    bool verify;                 /* check the certificate and the name; false only when the
                                    session says "verify": false */
    uint32_t connect_timeout_ms; /* connect and TLS handshake; 0: the port's default */
    postie_smtp_config_t smtp;   /* the engine: TLS mode, EHLO, login, reply timeouts, ... */
} postie_session_connection_t;

/* What a mapping starts from: no host, port 0, the system CAs,
 * verification on, POSTIE_CONNECT_TIMEOUT_MS, postie_smtp_config_defaults(). */
void postie_session_map_defaults(postie_session_connection_t *conn);

/* Map session s onto conn, over what conn already holds (the defaults, or
 * the caller's own choices, which the session then overrides where it has
 * a say):
 *   always          host, port, ca_file (NULL when the session has none),
 *                   verify, smtp.tls_mode, smtp.allow_plaintext_auth
 *   when s sets it  smtp.ehlo_name ("ehlo"), connect_timeout_ms
 *                   ("connect_timeout"), the greeting, command, DATA and
 *                   end-of-data reply timeouts ("timeout"),
 *                   smtp.timeout_data_block_ms ("write_timeout")
 *   basic login     smtp.username (the session's) and smtp.password
 *                   (password)
 *   OAuth 2.0       smtp.username (the session's), smtp.oauth_mechanism
 *                   (the oauth2 object's; 0 there means its default,
 *                   POSTIE_SASL_XOAUTH2) and smtp.oauth_host (host);
 *                   password is not used. The token is not the session's
 *                   to give: the caller sets the token provider
 *                   (postie_smtp_client_config_t.token, or the engine's
 *                   smtp.oauth_token) before connecting; without one
 *                   the SMTP client refuses to connect
 *                   (POSTIE_E_TOKEN_UNAVAILABLE) and the engine alone
 *                   refuses a user name without a password
 *   never           pipelining, chunking, sasl_allowed, the log hook: the
 *                   caller's to tune
 * password is the session's resolved secret; it may be NULL when the
 * session does not log in (auth none). Afterwards conn points into s and
 * to password: keep both alive while conn is used.
 * Errors (conn is then partly filled: do not connect with it):
 *   POSTIE_E_INVALID_ARGUMENT   basic login but password is NULL or empty
 *   POSTIE_E_NO_SPACE           password longer than POSTIE_AUTH_FIELD_MAX
 *                               octets (what SMTP AUTH carries) */
postie_status_t postie_session_map_connection(const postie_session_t *s, const char *password,
                                              postie_session_connection_t *conn);

/* ---- session -> message defaults ---------------------------------------------------- */

/* The header and envelope fields a session gives a message. Views: from
 * and envelope_from point into the session; from_name into the caller's
 * name buffer; subject into the caller's subject buffer, or is the
 * caller's own subject when the session has no prefix. */
typedef struct {
    const char *from;          /* header From address: the session's "from" */
    const char *envelope_from; /* MAIL FROM: "envelope_from", else "from" */
    const char *from_name;     /* display name: the session's template expanded for the acting
                                  user, spaces trimmed at both ends; NULL when nothing is left */
    const char *subject;       /* the prefix, one space, the subject (postie_template_subject);
                                  without a prefix the subject as given (NULL stays NULL) */
    postie_field_t failed;     /* after an error, the session field that could not be applied
                                  (POSTIE_F_FROM_NAME, POSTIE_F_SUBJECT_PREFIX); else
                                  POSTIE_F_COUNT */
} postie_session_message_t;

/* Fill out from session s for a message sent on behalf of user (NULL: no
 * acting user, as if both of its values were empty) with the caller's
 * subject (NULL: none). The expanded display name goes into
 * name_buf[0..name_cap) and, when the session has a subject prefix, the
 * subject into subject_buf[0..subject_cap); subject_buf may be NULL when
 * subject_cap is 0 (then a prefix cannot be applied). A name buffer of
 * POSTIE_MIME_FIELD_MAX + 1 octets holds any name the message writer
 * takes, a subject buffer of POSTIE_MIME_SUBJECT_MAX + 1 any subject.
 * Errors, with out->failed naming the session field:
 *   the errors of postie_template_expand for the display name
 *     (POSTIE_E_NO_SPACE: the name does not fit in name_cap)
 *   POSTIE_E_NO_SPACE  the prefixed subject does not fit in subject_cap
 * On an error from_name and subject are NULL; from and envelope_from are
 * set whatever happens. */
postie_status_t postie_session_map_message(const postie_session_t *s,
                                           const postie_template_user_t *user, const char *subject,
                                           char *name_buf, size_t name_cap, char *subject_buf,
                                           size_t subject_cap, postie_session_message_t *out);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SESSION_MAP_H */
