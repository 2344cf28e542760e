/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OAuth 2.0 state of a registry entry for `session show`, `account
 * show` and `account test` (cmd_oauth.c), secrets masked.
 */
#ifndef POSTIE_CLI_OAUTH_H
#define POSTIE_CLI_OAUTH_H

#include <stdbool.h>

#include "postie/common/token.h"
#include "postie/session/registry.h"

/* Lines "  LABEL  VALUE" (LABEL padded to width) on stdout: provider,
 * mechanism, client_id, client_secret (masked), token endpoint, scopes,
 * token store and whether a refresh token is stored there (its first 4
 * characters and "..."). Nothing when ep's auth is not oauth2. */
void cli_print_oauth_state(const postie_endpoint_t *ep, bool account, const char *name, int width);

/* --verbose: the token provider's lines ("oauth: POST https://... (refresh
 * token grant): HTTP 200, ...", never a token) on stderr as well. Set it
 * before the first cli_oauth_provider(). */
void cli_oauth_set_verbose(bool on);

/* The built-in token provider for a registry entry with "auth": "oauth2"
 * (one per entry and kind, kept for the process: its cached access token
 * serves every connection of a queue run or postie poll); NULL for any other
 * entry, or when it cannot be set up, with why set. */
const postie_token_provider_t *cli_oauth_provider(const postie_endpoint_t *ep, bool account,
                                                  const char *name, postie_error_t *why);

#endif /* POSTIE_CLI_OAUTH_H */
