/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the SMTP, POP3 and IMAP clients share for an OAuth 2.0 login: asking
 * the token provider (postie/common/token.h), keeping its failure in an error
 * record, and the retry rule (postie_oauth_login: ask, log in; on
 * POSTIE_E_TOKEN_REJECTED ask again with refresh and log in once more, on a
 * new connection; a second rejection is final). The client supplies how to
 * open and close its session; nothing here allocates or touches the network.
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

/* Subject of the error record when an OAuth 2.0 session has no provider. */
#define POSTIE_OAUTH_NO_PROVIDER "no token provider configured"

/*
 * A client's session as postie_oauth_login drives it. The callbacks get ctx.
 */
typedef struct postie_oauth_session {
    /* The token provider; NULL: the session logs in without one. */
    const postie_token_provider_t *provider;
    /* With provider NULL: true when the session is set up for an OAuth 2.0
     * login with no password and no fixed token, so it cannot log in. */
    bool provider_required;
    /* Where the token goes, cap at least POSTIE_OAUTH_TOKEN_MAX + 1; the
     * session logs in with what is there. Wiped before postie_oauth_login
     * returns. Unused when provider is NULL. */
    char *token;
    size_t cap;
    /* May be NULL: incremented on each ask of the provider. */
    unsigned *asks;
    /* Connect and open the session up to ready; its status. */
    postie_status_t (*open)(void *ctx);
    /* The session's error record after a failed open. */
    const postie_error_t *(*error)(void *ctx);
    /* Close what a failed open left open (called before the second open). */
    void (*close)(void *ctx);
    void *ctx;
} postie_oauth_session_t;

/*
 * Open s, with an OAuth 2.0 token from s->provider when there is one:
 * - provider NULL and provider_required: POSTIE_E_TOKEN_UNAVAILABLE, err set
 *   (phase POSTIE_OAUTH_TOKEN_PHASE, subject POSTIE_OAUTH_NO_PROVIDER), open
 *   not called;
 * - provider NULL otherwise: open's status;
 * - else ask the provider (postie_oauth_token_fetch into s->token, err set on
 *   failure and its status returned, open not called) and open. When open
 *   fails and error says POSTIE_E_TOKEN_REJECTED: close, ask once more with
 *   refresh and open once more; that second result is final (a second
 *   rejection gives POSTIE_E_TOKEN_REJECTED after exactly two opens).
 * err is only written when the provider is missing or fails; the session's
 * own failures are in its record (error). The token is never copied into
 * err.
 */
postie_status_t postie_oauth_login(const postie_oauth_session_t *s, postie_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_OAUTH_LOGIN_H */
