/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry on a POSIX host: loading the file, resolving secrets, and
 * turning a session into an SMTP client configuration.
 *
 * Registry file: the path given, else $POSTIE_REGISTRY, else
 * /etc/postie/registry.json. A file readable by group or others gets a
 * warning for each inline password in it.
 */
#ifndef POSTIE_REGISTRY_POSIX_H
#define POSTIE_REGISTRY_POSIX_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/status.h). */

#include "postie/registry.h"
#include "postie/smtp_client.h"

#define POSTIE_REGISTRY_DEFAULT_PATH "/etc/postie/registry.json"

/* Load the registry file: path, or when path is NULL (or "")
 * $POSTIE_REGISTRY, else POSTIE_REGISTRY_DEFAULT_PATH. used_path may be
 * NULL; otherwise *used_path says which file was read (it points to path,
 * the environment or a constant). reg and arena are required. Returns what
 * postie_registry_load() returns, or POSTIE_E_FILE when the file cannot be
 * read or is not a regular file (errno tells why). */
postie_status_t postie_registry_load_file(postie_registry_t *reg, const char *path, uint8_t *arena,
                                          size_t arena_size, const char **used_path);

/* The secret's value into out (cap octets, at least 1): inline, an
 * environment variable, or the first line of a file. POSTIE_E_NOT_FOUND when the variable is unset,
 * POSTIE_E_FILE when the file cannot be read, POSTIE_E_NO_SPACE when it is
 * too long. The value never reaches a log. */
postie_status_t postie_secret_resolve(const postie_secret_t *s, char *out, size_t cap);

/* Fill cfg (after postie_smtp_client_config_defaults) from a session.
 * password (cap octets) receives the resolved secret and must outlive cfg. */
postie_status_t postie_session_client_config(const postie_session_t *s,
                                             postie_smtp_client_config_t *cfg, char *password,
                                             size_t cap);

/* What a failure of postie_session_client_config means, as the step of an
 * error record: "the session's password (longer than 255 octets)", ... A
 * static string, never NULL. */
const char *postie_session_config_step(postie_status_t st);

#endif /* POSTIE_REGISTRY_POSIX_H */
