/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the SMTP, POP3 and IMAP clients share for an OAuth 2.0 login: asking
 * the token provider (postie/common/token.h) and keeping its failure in an
 * error record. The retry rule itself (ask, log in; on
 * POSTIE_E_TOKEN_REJECTED ask again with refresh and log in once more, on a
 * new connection; a second rejection is final) lives in each client, which
 * knows how to reconnect.
 */
#ifndef POSTIE_OAUTH_LOGIN_H
#define POSTIE_OAUTH_LOGIN_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>

#include "postie/common/status.h"
#include "postie/common/token.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Phase of an error record that the token provider caused. */
#define POSTIE_OAUTH_TOKEN_PHASE "OAuth 2.0 token"

/*
 * Ask provider for an access token (refresh as in postie_token_fn) into
 * token[0..cap), cap at least POSTIE_OAUTH_TOKEN_MAX + 1. POSTIE_OK: token
 * holds it, NUL-terminated. Otherwise err is set: status the provider's
 * (POSTIE_E_TOKEN_UNAVAILABLE, POSTIE_E_OAUTH_GRANT, POSTIE_E_HTTP, ...),
 * phase POSTIE_OAUTH_TOKEN_PHASE, subject the provider's message; a provider
 * that says POSTIE_OK with an empty token, a token longer than
 * POSTIE_OAUTH_TOKEN_MAX or a length that disagrees with its terminator gets
 * POSTIE_E_TOKEN_UNAVAILABLE. token is wiped on failure.
 * POSTIE_E_INVALID_ARGUMENT when cap is too small or the provider has no get.
 */
postie_status_t postie_oauth_token_fetch(const postie_token_provider_t *provider, bool refresh,
                                         char *token, size_t cap, postie_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_OAUTH_LOGIN_H */
