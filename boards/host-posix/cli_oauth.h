/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OAuth 2.0 state of a registry entry for `session show`, `account
 * show` and `account test` (cmd_oauth.c), secrets masked.
 */
#ifndef POSTIE_CLI_OAUTH_H
#define POSTIE_CLI_OAUTH_H

#include <stdbool.h>

#include "postie/session/registry.h"

/* Lines "  LABEL  VALUE" (LABEL padded to width) on stdout: provider,
 * mechanism, client_id, client_secret (masked), token endpoint, scopes,
 * token store and whether a refresh token is stored there (its first 4
 * characters and "..."). Nothing when ep's auth is not oauth2. */
void cli_print_oauth_state(const postie_endpoint_t *ep, bool account, const char *name, int width);

#endif /* POSTIE_CLI_OAUTH_H */
