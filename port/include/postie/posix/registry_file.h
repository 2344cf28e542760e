/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry on a POSIX host: loading the file, resolving secrets, and
 * turning a session into an SMTP client configuration (over the core
 * mapping of postie/session/session_map.h).
 *
 * Registry file: the path given, else $POSTIE_REGISTRY, else
 * /etc/postie/registry.json. A file readable by group or others gets a
 * warning for each inline password in it, and so does each password file
 * that group or others can read.
 */
#ifndef POSTIE_REGISTRY_POSIX_H
#define POSTIE_REGISTRY_POSIX_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/session/registry.h"
#include "postie/posix/mailbox_client.h"
#include "postie/posix/smtp_client.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTIE_REGISTRY_DEFAULT_PATH "/etc/postie/registry.json"

/* Load the registry file: path, or when path is NULL (or "")
 * $POSTIE_REGISTRY, else POSTIE_REGISTRY_DEFAULT_PATH. used_path may be
 * NULL; otherwise *used_path says which file was read (it points to path,
 * the environment or a constant). reg and arena are required. Returns what
 * postie_registry_load() returns, or POSTIE_E_FILE when the file cannot be read (errno tells why:
 * EISDIR for a directory, EINVAL for a FIFO, a device or anything else that is not a regular file;
 * a FIFO is refused, never waited on). A session or account whose password file group or others can
 * read gets a warning in reg->problems (see postie_secret_exposed()). An entry with "auth":
 * "oauth2" and no oauth2.token_store gets the default store's path there
 * (postie_oauth_store_path() in postie/posix/oauth.h, from the file's directory). */
postie_status_t postie_registry_load_file(postie_registry_t *reg, const char *path, uint8_t *arena,
                                          size_t arena_size, const char **used_path);

/* The secret's value into out (cap octets, the value and its NUL): inline,
 * an environment variable, or the first line of a file without its line
 * end. A file must be a regular file; a symbolic link to one is fine (a
 * secret mounted under /run/secrets often is one). A directory, a FIFO, a
 * device or an unreadable file is an error, and nothing ever waits for a
 * FIFO's writer or reads past cap octets and a small chunk. An empty value
 * (an empty variable, an empty first line), a NUL in the file or a value
 * of cap octets or more is an error too: an empty or cut password is never
 * sent.
 *   POSTIE_E_NOT_FOUND         the variable is not set
 *   POSTIE_E_INVALID_ARGUMENT  the variable or inline value is empty
 *   POSTIE_E_FILE              the file cannot be opened or read, is not a
 *                              regular file, is empty or holds a NUL
 *   POSTIE_E_NO_SPACE          the value does not fit in cap
 * *why (when why is not NULL) gets a static human reason on failure, to
 * print after the secret's name ("is a FIFO (named pipe), not a regular
 * file", "is empty", "No such file or directory"); NULL on success. out is
 * wiped on failure. The value never reaches a log. */
postie_status_t postie_secret_read(const postie_secret_t *s, char *out, size_t cap,
                                   const char **why);

/* postie_secret_read() without the reason. */
postie_status_t postie_secret_resolve(const postie_secret_t *s, char *out, size_t cap);

/* Where the secret comes from, for a message: "password variable NAME",
 * "password file PATH", "inline password" (never the secret itself). */
void postie_secret_describe(const postie_secret_t *s, char *out, size_t cap);

/* True when the secret is a file that group or others may read (its
 * target, for a symbolic link). The loader adds POSTIE_SECRET_EXPOSED_WARNING
 * for each such session or account, as the core loader does for an inline
 * password in a readable registry; the CLI prints it for --password-file. */
bool postie_secret_exposed(const postie_secret_t *s);

#define POSTIE_SECRET_EXPOSED_WARNING "password file group or others can read; chmod 600 it"

/* Fill cfg (after postie_smtp_client_config_defaults, and any choices of
 * the caller's own) from a session: the core mapping,
 * postie_session_map_connection() in postie/session/session_map.h, with the
 * session's password resolved by postie_secret_resolve(). password (cap
 * octets) receives the secret and must outlive cfg; cfg points into s.
 * Returns what the secret's resolution or the mapping returns. A session
 * with "auth": "oauth2" reads no secret: cfg gets the user name, the
 * mechanism and the host for OAUTHBEARER (smtp.oauth_*), and the caller
 * sets cfg->token, the token provider (postie/common/token.h), before
 * postie_smtp_client_open; without one open fails with
 * POSTIE_E_TOKEN_UNAVAILABLE ("no token provider configured"). */
postie_status_t postie_session_client_config(const postie_session_t *s,
                                             postie_smtp_client_config_t *cfg, char *password,
                                             size_t cap);

/* What a failure of postie_session_client_config means, as the step of an
 * error record: "the session's password (longer than 255 octets)", ... A
 * static string, never NULL. */
const char *postie_session_config_step(postie_status_t st);

/* postie_session_client_config() with the failure explained, the one way
 * every user of a session (postie_notify, the queue's run, send --session,
 * test-connection) prepares its connection. Fill cfg from session s: the caller first sets cfg to
 * postie_smtp_client_config_defaults() and any choices of its own, the
 * session overrides where it has a say (postie_session_client_config in
 * postie/posix/registry_file.h). password (cap octets) receives the
 * resolved secret and must outlive cfg. On failure why (may be NULL) gets
 * the status, the step (postie_session_config_step) and a subject saying
 * which secret and why ("password file /run/secrets/smtp: is empty"),
 * never the secret itself; password is then wiped. */
postie_status_t postie_session_prepare(const postie_session_t *s, postie_smtp_client_config_t *cfg,
                                       char *password, size_t cap, postie_error_t *why);

/* Fill cfg (after postie_mailbox_client_config_defaults) from an account:
 * protocol, host, port, TLS mode, CA file, verification, timeouts, login
 * (the password resolved by postie_secret_resolve into password, cap
 * octets, which must outlive cfg), allow_plaintext_auth, APOP and folder.
 * cfg points into a. Returns what the secret's resolution returns
 * (postie_session_config_step() names the cause). An account with
 * "auth": "oauth2" reads no secret: cfg gets the user and oauth_mechanism
 * (the oauth2 object's; 0 there means POSTIE_SASL_XOAUTH2), and the caller
 * sets cfg->token, the token provider (postie/common/token.h), before
 * postie_mailbox_client_open; without one open fails with
 * POSTIE_E_TOKEN_UNAVAILABLE ("no token provider configured"). */
postie_status_t postie_account_client_config(const postie_account_t *a,
                                             postie_mailbox_client_config_t *cfg, char *password,
                                             size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_REGISTRY_POSIX_H */
