/* SPDX-License-Identifier: Apache-2.0 */
/*
 * postie_oauth_login (port/common/oauth_login.c), the OAuth 2.0 login rule
 * the SMTP, POP3 and IMAP clients share, over a fake session and a fake
 * token provider: no provider, first token taken, first token refused then a
 * refreshed one, refused twice, the provider failing. The fake session
 * records each call and the token it was opened with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/oauth_login.h"
#include "postie/common/text.h"

/* ---- the fake provider ---------------------------------------------------- */

typedef struct {
    postie_status_t fail;            /* POSTIE_OK: hand out tokens */
    postie_status_t fail_on_refresh; /* the same, for refresh asks only */
    unsigned calls;
    bool refresh[4];
} provider_t;

static postie_status_t provider_get(void *ctx, bool refresh, char *token, size_t cap, size_t *len,
                                    char *err, size_t err_cap)
{
    provider_t *p = ctx;
    const char *tok = refresh ? "tok-fresh" : "tok-cached";
    if (p->calls < 4) {
        p->refresh[p->calls] = refresh;
    }
    p->calls++;
    if (p->fail != POSTIE_OK || (refresh && p->fail_on_refresh != POSTIE_OK)) {
        postie_text_copy(err, err_cap, "the refresh token was revoked");
        return p->fail != POSTIE_OK ? p->fail : p->fail_on_refresh;
    }
    *len = strlen(tok);
    assert_true(*len < cap);
    memcpy(token, tok, *len + 1);
    return POSTIE_OK;
}

/* ---- the fake session ----------------------------------------------------- */

typedef struct {
    char token[POSTIE_OAUTH_TOKEN_MAX + 1];
    unsigned asks;
    int rejections; /* how many opens the server refuses the token on */
    char calls[16]; /* 'o' open, 'c' close, in order */
    size_t ncalls;
    char opened_with[4][32];
    unsigned opens;
    postie_error_t error;
} session_t;

static void note(session_t *s, char what)
{
    assert_true(s->ncalls + 1 < sizeof(s->calls));
    s->calls[s->ncalls++] = what;
    s->calls[s->ncalls] = '\0';
}

static postie_status_t session_open(void *ctx)
{
    session_t *s = ctx;
    note(s, 'o');
    if (s->opens < 4) {
        postie_text_copy(s->opened_with[s->opens], sizeof(s->opened_with[0]), s->token);
    }
    s->opens++;
    postie_error_clear(&s->error);
    if (s->rejections > 0) {
        s->rejections--;
        s->error.status = POSTIE_E_TOKEN_REJECTED;
        s->error.phase = "AUTH";
        postie_text_copy(s->error.subject, sizeof(s->error.subject), "535 5.7.8 refused");
        return POSTIE_E_TOKEN_REJECTED;
    }
    return POSTIE_OK;
}

static const postie_error_t *session_error(void *ctx)
{
    session_t *s = ctx;
    return &s->error;
}

static void session_close(void *ctx)
{
    note(ctx, 'c');
}

/* One test's world: the provider, the session, the error record. */
typedef struct {
    provider_t p;
    postie_token_provider_t prov;
    session_t s;
    postie_error_t err;
} world_t;

static void world_init(world_t *w)
{
    memset(w, 0, sizeof(*w));
    w->prov.get = provider_get;
    w->prov.ctx = &w->p;
    postie_error_clear(&w->err);
}

/* Log in: with the provider or none (then required says whether one must
 * be there). */
static postie_status_t login(world_t *w, bool with_provider, bool required)
{
    const postie_oauth_session_t l = {.provider = with_provider ? &w->prov : NULL,
                                      .provider_required = required,
                                      .token = w->s.token,
                                      .cap = sizeof(w->s.token),
                                      .asks = &w->s.asks,
                                      .open = session_open,
                                      .error = session_error,
                                      .close = session_close,
                                      .ctx = &w->s};
    return postie_oauth_login(&l, &w->err);
}

static bool all_zero(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != 0) {
            return false;
        }
    }
    return true;
}

/* ---- the tests ------------------------------------------------------------ */

static void no_provider_is_a_precise_error(void **state)
{
    world_t w;
    (void)state;
    world_init(&w);
    w.err.status = POSTIE_E_IO; /* stale: must be replaced */
    assert_int_equal(login(&w, false, true), POSTIE_E_TOKEN_UNAVAILABLE);
    assert_int_equal(w.err.status, POSTIE_E_TOKEN_UNAVAILABLE);
    assert_string_equal(w.err.phase, POSTIE_OAUTH_TOKEN_PHASE);
    assert_string_equal(w.err.subject, "no token provider configured");
    assert_int_equal(w.s.opens, 0);
    assert_int_equal(w.s.asks, 0);
}

static void no_provider_not_required_just_opens(void **state)
{
    world_t w;
    (void)state;
    world_init(&w);
    assert_int_equal(login(&w, false, false), POSTIE_OK);
    assert_string_equal(w.s.calls, "o");
    assert_int_equal(w.s.asks, 0);
    assert_int_equal(w.err.status, POSTIE_OK);
}

static void first_token_accepted(void **state)
{
    world_t w;
    (void)state;
    world_init(&w);
    assert_int_equal(login(&w, true, false), POSTIE_OK);
    assert_string_equal(w.s.calls, "o");
    assert_int_equal(w.p.calls, 1);
    assert_false(w.p.refresh[0]);
    assert_int_equal(w.s.asks, 1);
    assert_string_equal(w.s.opened_with[0], "tok-cached");
    assert_true(all_zero(w.s.token, sizeof(w.s.token)));
    assert_int_equal(w.err.status, POSTIE_OK);
}

static void first_token_rejected_refreshes_once(void **state)
{
    world_t w;
    (void)state;
    world_init(&w);
    w.s.rejections = 1;
    assert_int_equal(login(&w, true, false), POSTIE_OK);
    assert_string_equal(w.s.calls, "oco"); /* close, then open again */
    assert_int_equal(w.p.calls, 2);
    assert_false(w.p.refresh[0]);
    assert_true(w.p.refresh[1]);
    assert_int_equal(w.s.asks, 2);
    assert_string_equal(w.s.opened_with[0], "tok-cached");
    assert_string_equal(w.s.opened_with[1], "tok-fresh");
    assert_true(all_zero(w.s.token, sizeof(w.s.token)));
}

static void rejected_twice_is_final(void **state)
{
    world_t w;
    (void)state;
    world_init(&w);
    w.s.rejections = 5;
    assert_int_equal(login(&w, true, false), POSTIE_E_TOKEN_REJECTED);
    assert_string_equal(w.s.calls, "oco"); /* exactly two opens */
    assert_int_equal(w.s.opens, 2);
    assert_int_equal(w.p.calls, 2);
    assert_true(w.p.refresh[1]);
    assert_int_equal(w.s.error.status, POSTIE_E_TOKEN_REJECTED);
    assert_true(all_zero(w.s.token, sizeof(w.s.token)));
}

static void provider_failing_gives_its_status(void **state)
{
    world_t w;
    (void)state;
    world_init(&w);
    w.p.fail = POSTIE_E_OAUTH_GRANT;
    assert_int_equal(login(&w, true, false), POSTIE_E_OAUTH_GRANT);
    assert_int_equal(w.s.opens, 0);
    assert_int_equal(w.err.status, POSTIE_E_OAUTH_GRANT);
    assert_string_equal(w.err.phase, POSTIE_OAUTH_TOKEN_PHASE);
    assert_string_equal(w.err.subject, "the refresh token was revoked");
}

static void refresh_failing_gives_its_status(void **state)
{
    world_t w;
    (void)state;
    world_init(&w);
    w.p.fail_on_refresh = POSTIE_E_HTTP;
    w.s.rejections = 1;
    assert_int_equal(login(&w, true, false), POSTIE_E_HTTP);
    assert_string_equal(w.s.calls, "oc"); /* no second open without a token */
    assert_int_equal(w.p.calls, 2);
    assert_int_equal(w.err.status, POSTIE_E_HTTP);
    assert_string_equal(w.err.phase, POSTIE_OAUTH_TOKEN_PHASE);
    assert_true(all_zero(w.s.token, sizeof(w.s.token)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_provider_is_a_precise_error),
        cmocka_unit_test(no_provider_not_required_just_opens),
        cmocka_unit_test(first_token_accepted),
        cmocka_unit_test(first_token_rejected_refreshes_once),
        cmocka_unit_test(rejected_twice_is_final),
        cmocka_unit_test(provider_failing_gives_its_status),
        cmocka_unit_test(refresh_failing_gives_its_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
