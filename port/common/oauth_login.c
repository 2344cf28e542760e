/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/oauth_login.h"

#include <string.h>

#include "postie/common/text.h"

static postie_status_t token_failed(postie_status_t st, const char *why, char *token, size_t cap,
                                    postie_error_t *err)
{
    memset(token, 0, cap);
    postie_error_clear(err);
    err->status = st;
    err->phase = POSTIE_OAUTH_TOKEN_PHASE;
    postie_text_copy_printable(err->subject, sizeof(err->subject), why, strlen(why));
    return st;
}

postie_status_t postie_oauth_token_fetch(const postie_token_provider_t *provider, bool refresh,
                                         char *token, size_t cap, postie_error_t *err)
{
    char msg[sizeof(err->subject)];
    size_t len = 0;
    postie_status_t st;

    if (provider->get == NULL || cap < POSTIE_OAUTH_TOKEN_MAX + 1) {
        return token_failed(POSTIE_E_INVALID_ARGUMENT, "no token provider, or its buffer too small",
                            token, cap, err);
    }
    msg[0] = '\0';
    token[0] = '\0';
    st = provider->get(provider->ctx, refresh, token, cap, &len, msg, sizeof(msg));
    msg[sizeof(msg) - 1] = '\0';
    if (st != POSTIE_OK) {
        return token_failed(st, msg[0] != '\0' ? msg : postie_status_str(st), token, cap, err);
    }
    if (len == 0 || len > POSTIE_OAUTH_TOKEN_MAX || len >= cap || token[len] != '\0' ||
        strlen(token) != len) {
        return token_failed(POSTIE_E_TOKEN_UNAVAILABLE,
                            "the token provider gave an empty, unterminated or too long token",
                            token, cap, err);
    }
    return POSTIE_OK;
}

static postie_status_t ask(const postie_oauth_session_t *s, bool refresh, postie_error_t *err)
{
    if (s->asks != NULL) {
        (*s->asks)++;
    }
    return postie_oauth_token_fetch(s->provider, refresh, s->token, s->cap, err);
}

postie_status_t postie_oauth_login(const postie_oauth_session_t *s, postie_error_t *err)
{
    postie_status_t st;

    if (s->provider == NULL) {
        if (!s->provider_required) {
            return s->open(s->ctx);
        }
        /* an OAuth 2.0 session whose caller set no provider: say so, not
         * "password missing" */
        postie_error_clear(err);
        err->status = POSTIE_E_TOKEN_UNAVAILABLE;
        err->phase = POSTIE_OAUTH_TOKEN_PHASE;
        postie_text_copy(err->subject, sizeof(err->subject), POSTIE_OAUTH_NO_PROVIDER);
        return POSTIE_E_TOKEN_UNAVAILABLE;
    }
    st = ask(s, false, err);
    if (st == POSTIE_OK) {
        st = s->open(s->ctx);
        if (st != POSTIE_OK && s->error(s->ctx)->status == POSTIE_E_TOKEN_REJECTED) {
            /* the login is over: once more with a fresh token, on a new
             * connection */
            s->close(s->ctx);
            st = ask(s, true, err);
            if (st == POSTIE_OK) {
                st = s->open(s->ctx);
            }
        }
    }
    memset(s->token, 0, s->cap);
    return st;
}
