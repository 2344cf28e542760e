/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where an OAuth 2.0 access token comes from. The SMTP, IMAP and POP3
 * clients ask a token provider for a token just before they log in with
 * XOAUTH2 or OAUTHBEARER (postie/common/sasl.h); when the server refuses
 * it (POSTIE_E_TOKEN_REJECTED), a client asks once more with refresh set
 * and tries once more, never a third time.
 *
 * An application can supply its own provider (a token its platform already
 * holds), or use Postie's built-in one, which keeps a refresh token and
 * gets access tokens from the token endpoint (RFC 6749 section 6).
 */
#ifndef POSTIE_TOKEN_H
#define POSTIE_TOKEN_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Write an access token, NUL-terminated, into token[0..cap) and its length
 * into *len. refresh: the server just refused the token this provider gave
 * last, so do not hand out the cached one again. cap is at least
 * POSTIE_OAUTH_TOKEN_MAX + 1.
 *
 * On failure return a status (POSTIE_E_TOKEN_UNAVAILABLE: none can be had,
 * for example not authorized yet; POSTIE_E_OAUTH_GRANT: the token endpoint
 * refused the grant; POSTIE_E_HTTP, POSTIE_E_TIMEOUT, POSTIE_E_TLS_*: the
 * endpoint could not be reached) and a human message in err[0..err_cap),
 * NUL-terminated, which never contains a token or a secret.
 */
typedef postie_status_t (*postie_token_fn)(void *ctx, bool refresh, char *token, size_t cap,
                                           size_t *len, char *err, size_t err_cap);

typedef struct {
    postie_token_fn get;
    void *ctx;
} postie_token_provider_t;

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_TOKEN_H */
