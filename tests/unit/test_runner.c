/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event-driven runner (port/common/runner.c) running the SMTP engine
 * over a scripted non-blocking fake transport and a fake clock, stepped as
 * lwIP's callbacks would step it.
 *
 * The fake server plays a script of exchanges (once the client has sent an
 * exchange's bytes, its answer becomes readable) and checks the wire whole.
 * It never blocks: a send takes at most send_max octets or, on chosen calls,
 * none (POSTIE_E_TIMEOUT: the window is full); a recv hands over what is
 * there, at most recv_max octets, or POSTIE_E_TIMEOUT. The "event loop" of
 * each test steps the runner until it stops asking to be called again,
 * moving the fake clock 10 ms between steps; every loop is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/clock.h"
#include "postie/common/driver_smtp.h"
#include "postie/common/runner.h"

static uint32_t fake_now;

uint32_t postie_clock_ms(void)
{
    return fake_now;
}

/* ---- The fake server -------------------------------------------------------- */

#define WIRE_MAX   32768
#define STEPS_MAX  100000
#define CALLS_MAX  1000000u
#define TICK_MS    10u
#define GREETING   "220 mx.test ESMTP\r\n"
#define EHLO       "EHLO client.test\r\n"
#define EHLO_REPLY "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define ENVELOPE   "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
#define ENV_OK     "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n"
#define BODY       "Subject: hi\r\n\r\nHello over a window of a few octets.\r\n"
#define BODY_WIRE  BODY ".\r\n"
#define QUEUED     "250 2.0.0 queued\r\n"
#define QUIT       "QUIT\r\n"
#define BYE        "221 2.0.0 bye\r\n"

typedef struct {
    const char *client;
    const char *server; /* NULL: never answers */
} exchange_t;

typedef struct {
    postie_transport_t base;
    const exchange_t *script;
    size_t next;
    size_t released_upto;
    char wire[WIRE_MAX];
    size_t wire_len;
    char expected[WIRE_MAX];
    size_t expected_len;
    char out[4096];
    size_t out_len;
    size_t out_pos;
    size_t send_max;      /* octets a send takes at most (0: all) */
    size_t recv_max;      /* octets a recv hands over at most (0: all) */
    unsigned block_every; /* every n-th call would block (0: never) */
    bool window_shut;     /* sends never take anything */
    unsigned calls;
} fake_t;

static fake_t fake;

static void serve(void)
{
    while (fake.script[fake.next].client != NULL) {
        const exchange_t *x = &fake.script[fake.next];
        size_t end = fake.released_upto + strlen(x->client);
        if (fake.wire_len < end) {
            return;
        }
        fake.released_upto = end;
        fake.next++;
        if (x->server != NULL) {
            size_t n = strlen(x->server);
            assert_true(fake.out_len + n <= sizeof(fake.out));
            memcpy(fake.out + fake.out_len, x->server, n);
            fake.out_len += n;
        }
    }
}

static bool blocks(void)
{
    if (++fake.calls > CALLS_MAX) {
        fail_msg("the runner keeps calling the transport");
    }
    return fake.block_every != 0 && fake.calls % fake.block_every == 0;
}

static postie_status_t fake_connect(postie_transport_t *t, const char *host, uint16_t port,
                                    uint32_t timeout_ms)
{
    (void)t, (void)host, (void)port, (void)timeout_ms;
    return POSTIE_OK;
}

static postie_status_t fake_send(postie_transport_t *t, const uint8_t *buf, size_t len,
                                 size_t *sent, uint32_t timeout_ms)
{
    size_t n = len;
    (void)t;
    *sent = 0;
    assert_int_equal(timeout_ms, 0); /* the runner never asks a transport to wait */
    if (blocks() || fake.window_shut) {
        return POSTIE_E_TIMEOUT;
    }
    if (fake.send_max != 0 && n > fake.send_max) {
        n = fake.send_max;
    }
    assert_true(fake.wire_len + n <= fake.expected_len);
    if (memcmp(fake.expected + fake.wire_len, buf, n) != 0) {
        fail_msg("the client sent \"%.*s\" where the script has \"%.30s\"", (int)n,
                 (const char *)buf, fake.expected + fake.wire_len);
    }
    memcpy(fake.wire + fake.wire_len, buf, n);
    fake.wire_len += n;
    *sent = n;
    serve();
    return POSTIE_OK;
}

static postie_status_t fake_recv(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                                 uint32_t timeout_ms)
{
    size_t n = fake.out_len - fake.out_pos;
    (void)t;
    *got = 0;
    assert_int_equal(timeout_ms, 0);
    if (blocks() || n == 0) {
        return POSTIE_E_TIMEOUT;
    }
    if (n > cap) {
        n = cap;
    }
    if (fake.recv_max != 0 && n > fake.recv_max) {
        n = fake.recv_max;
    }
    memcpy(buf, fake.out + fake.out_pos, n);
    fake.out_pos += n;
    *got = n;
    return POSTIE_OK;
}

static void fake_close(postie_transport_t *t)
{
    (void)t;
}

static const postie_transport_ops_t fake_ops = {fake_connect, fake_send, fake_recv, fake_close};

static void fake_start(const exchange_t *script)
{
    memset(&fake, 0, sizeof(fake));
    fake.base.ops = &fake_ops;
    fake.script = script;
    for (size_t i = 0; script[i].client != NULL; i++) {
        size_t n = strlen(script[i].client);
        memcpy(fake.expected + fake.expected_len, script[i].client, n);
        fake.expected_len += n;
    }
    serve();
}

/* ---- The session ------------------------------------------------------------ */

typedef struct {
    int events[16];
    int nevents;
    int tls_steps;
    int failures;
    int nested_steps; /* steps called from inside the event hook */
    bool nest;        /* the event hook steps the runner (re-entrancy) */
    postie_status_t nested_rc;
} seen_t;

static seen_t seen;
static postie_smtp_t smtp;
static postie_runner_t runner;
static uint8_t stage[16];
static postie_smtp_rcpt_t rcpt;
static postie_smtp_envelope_t env;
static size_t body_pos;
static unsigned body_again_every; /* the body source says "nothing yet" this often */
static unsigned body_calls;

static void event_hook(void *ctx, const postie_engine_event_t *ev)
{
    (void)ctx;
    if (seen.nevents < 16) {
        seen.events[seen.nevents++] = ev->type;
    }
    if (seen.nest) {
        seen.nested_steps++;
        seen.nested_rc = postie_runner_step(&runner);
    }
}

static void failed_hook(void *ctx, postie_status_t st, const char *what)
{
    (void)ctx, (void)st, (void)what;
    seen.failures++;
}

/* STARTTLS: two steps waiting for the peer, then done, the "TLS" layer being
 * the same fake transport. */
static postie_status_t tls_hook(void *ctx, postie_transport_t *lower, postie_transport_t **upgraded,
                                uint32_t now)
{
    (void)ctx, (void)now;
    if (++seen.tls_steps < 3) {
        return POSTIE_E_AGAIN;
    }
    *upgraded = lower;
    return POSTIE_OK;
}

static const postie_runner_hooks_t hooks = {tls_hook, failed_hook, event_hook, NULL};

static postie_status_t body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    size_t n = strlen(BODY) - body_pos;
    (void)ctx;
    *got = 0;
    if (body_again_every != 0 && ++body_calls % body_again_every == 0) {
        return POSTIE_E_AGAIN;
    }
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, BODY + body_pos, n);
    body_pos += n;
    *got = n;
    return POSTIE_OK;
}

static void start(const exchange_t *script, postie_tls_mode_t tls)
{
    postie_smtp_config_t cfg;
    postie_smtp_config_defaults(&cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls_mode = tls;
    cfg.timeout_command_ms = 7000;
    cfg.timeout_data_block_ms = 9000;
    fake_now = 1000;
    memset(&seen, 0, sizeof(seen));
    body_pos = 0;
    body_calls = 0;
    body_again_every = 0;
    fake_start(script);
    assert_int_equal(postie_smtp_init(&smtp, &cfg, fake_now), POSTIE_OK);
    postie_runner_init(&runner, &postie_driver_smtp_ops, &smtp, &fake.base, stage, sizeof(stage),
                       &hooks);
    memset(&env, 0, sizeof(env));
    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = "bob@example.test";
    env.from = "alice@example.test";
    env.rcpt = &rcpt;
    env.rcpt_count = 1;
}

/* The event loop: step until the runner stops saying POSTIE_E_AGAIN. */
static postie_status_t loop(uint32_t until_state, int until_event)
{
    postie_status_t rc;
    int steps = 0;
    postie_runner_set_goal(&runner, until_state, until_event);
    while ((rc = postie_runner_step(&runner)) == POSTIE_E_AGAIN) {
        if (++steps > STEPS_MAX) {
            fail_msg("the runner never finishes");
        }
        fake_now += TICK_MS;
    }
    return rc;
}

static const exchange_t plain_script[] = {
    {"", GREETING},      {EHLO, EHLO_REPLY}, {ENVELOPE, ENV_OK},
    {BODY_WIRE, QUEUED}, {QUIT, BYE},        {NULL, NULL},
};

static void whole_session(size_t send_max, size_t recv_max, unsigned block_every,
                          unsigned body_again)
{
    start(plain_script, POSTIE_TLS_NONE);
    fake.send_max = send_max;
    fake.recv_max = recv_max;
    fake.block_every = block_every;
    body_again_every = body_again;

    {
        postie_status_t rc = loop(POSTIE_SMTP_READY, 0);
        if (rc != POSTIE_OK) {
            fail_msg("%s: %s %s", postie_status_name(rc), postie_smtp_error(&smtp)->phase,
                     postie_smtp_error(&smtp)->reply.text);
        }
    }
    assert_int_equal(postie_smtp_send(&smtp, &env, fake_now), POSTIE_OK);
    postie_runner_set_body(&runner, body_read, NULL);
    assert_int_equal(loop(0, POSTIE_SMTP_EV_MESSAGE_DONE), POSTIE_OK);
    assert_true(postie_runner_reached(&runner));
    assert_int_equal(postie_smtp_message_result(&smtp)->status, POSTIE_OK);
    assert_int_equal(postie_smtp_quit(&smtp, fake_now), POSTIE_OK);
    assert_int_equal(loop(POSTIE_SMTP_CLOSED, 0), POSTIE_OK);

    assert_int_equal(fake.wire_len, fake.expected_len);
    assert_memory_equal(fake.wire, fake.expected, fake.expected_len);
    assert_int_equal(fake.out_pos, fake.out_len); /* every reply was read */
    assert_int_equal(seen.failures, 0);
    assert_int_equal(seen.nevents, 5);
    assert_int_equal(seen.events[0], POSTIE_SMTP_EV_READY);
    assert_int_equal(seen.events[3], POSTIE_SMTP_EV_MESSAGE_DONE);
    assert_int_equal(seen.events[4], POSTIE_SMTP_EV_CLOSED);
}

static void test_session_clean(void **state)
{
    (void)state;
    whole_session(0, 0, 0, 0);
}

/* One octet per send and per receive, every third call would block, and the
 * body source says "nothing yet" every other read: the same bytes go out. */
static void test_session_one_octet_windows(void **state)
{
    (void)state;
    whole_session(1, 1, 3, 2);
}

/* (Not every other call: a step makes two calls when a send would block,
 * send and receive, so that fake would refuse every send forever.) */
static void test_session_would_block_every_fifth_call(void **state)
{
    (void)state;
    whole_session(7, 3, 5, 0);
}

/* The peer never reads: the send window stays shut. The flight fails after
 * the engine's send timeout (the data timeout once the body is due), on the
 * first step after it, and not before. */
static void test_window_shut_times_out(void **state)
{
    postie_status_t rc;
    uint32_t began;
    (void)state;
    start(plain_script, POSTIE_TLS_NONE);
    assert_int_equal(loop(POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_int_equal(postie_smtp_send(&smtp, &env, fake_now), POSTIE_OK);
    postie_runner_set_body(&runner, body_read, NULL);
    fake.window_shut = true;
    began = fake_now;
    rc = loop(0, POSTIE_SMTP_EV_MESSAGE_DONE);
    assert_int_equal(rc, POSTIE_E_TIMEOUT);
    assert_true(fake_now - began >= 7000); /* the command flight's send timeout */
    assert_true(fake_now - began < 7000 + 2 * TICK_MS);
    assert_int_equal(postie_smtp_error(&smtp)->status, POSTIE_E_TIMEOUT);
    assert_int_equal(seen.failures, 1);
}

/* The server never answers EHLO: the reply deadline is enforced on the first
 * step after it (the runner keeps no timer; the caller steps it). */
static void test_silent_server_times_out(void **state)
{
    static const exchange_t script[] = {{"", GREETING}, {EHLO, NULL}, {NULL, NULL}};
    (void)state;
    start(script, POSTIE_TLS_NONE);
    assert_int_equal(loop(POSTIE_SMTP_READY, 0), POSTIE_E_TIMEOUT);
    assert_true(fake_now >= 1000 + 7000 && fake_now < 1000 + 7000 + 2 * TICK_MS);
    assert_string_equal(postie_smtp_error(&smtp)->phase, "EHLO");
    assert_int_equal(seen.failures, 0); /* the engine's deadline, not a transport failure */
}

/* STARTTLS: the hook is stepped while it waits, then the engine is told and
 * asks again (EHLO) over what the hook returned. */
static void test_starttls_steps_the_hook(void **state)
{
    static const exchange_t script[] = {
        {"", GREETING},
        {EHLO, "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"},
        {"STARTTLS\r\n", "220 2.0.0 go ahead\r\n"},
        {EHLO, EHLO_REPLY},
        {NULL, NULL},
    };
    (void)state;
    start(script, POSTIE_TLS_STARTTLS_REQUIRED);
    assert_int_equal(loop(POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_int_equal(seen.tls_steps, 3);
    assert_int_equal(fake.wire_len, fake.expected_len);
}

/* A step asked for from inside the runner's own event hook does not
 * recurse: it says "again" and the running step goes round once more. */
static void test_step_from_a_hook_does_not_recurse(void **state)
{
    (void)state;
    start(plain_script, POSTIE_TLS_NONE);
    seen.nest = true;
    assert_int_equal(loop(POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_int_equal(seen.nested_steps, 1);
    assert_int_equal(seen.nested_rc, POSTIE_E_AGAIN);
    assert_int_equal(seen.events[0], POSTIE_SMTP_EV_READY);
}

/* Idle short of the goal: POSTIE_E_BAD_STATE, not a spin. */
static void test_idle_short_of_goal(void **state)
{
    (void)state;
    start(plain_script, POSTIE_TLS_NONE);
    assert_int_equal(loop(POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_int_equal(loop(POSTIE_SMTP_CLOSED, 0), POSTIE_E_BAD_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_clean),
        cmocka_unit_test(test_session_one_octet_windows),
        cmocka_unit_test(test_session_would_block_every_fifth_call),
        cmocka_unit_test(test_window_shut_times_out),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_starttls_steps_the_hook),
        cmocka_unit_test(test_step_from_a_hook_does_not_recurse),
        cmocka_unit_test(test_idle_short_of_goal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
