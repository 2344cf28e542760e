/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POP3 engine through the one driver (port/common/driver.c and
 * driver_pop3.c) over a scripted fake transport and a fake clock: a
 * session with STLS, a pipelined retrieve + remove, QUIT; a connection that
 * drops inside message data; a silent server.
 *
 * The fake server answers each exchange once the client has sent its
 * bytes; it hands its octets over 1..7 at a time and takes at most 5 per
 * send, so every partial path of the driver and the engine runs. Time
 * moves only when the fake transport waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/clock.h"
#include "postie/common/driver_pop3.h"

static uint32_t fake_now;

uint32_t postie_clock_ms(void)
{
    return fake_now;
}

typedef struct {
    const char *client; /* what the client sends next ("" for the greeting) */
    const char *server; /* then what the server answers (NULL: nothing, ever) */
} exchange_t;

typedef struct {
    postie_transport_t base;
    const exchange_t *script;
    size_t next;
    size_t released_upto;
    char wire[8192];
    size_t wire_len;
    char out[8192];
    size_t out_len;
    size_t out_pos;
    size_t close_after; /* recv says closed after this many server octets (0: never) */
    unsigned turn;
    unsigned calls;
    bool upgraded;
} fake_t;

static fake_t fake;
static postie_pop3_t pop;
static postie_driver_t driver;
static char message[256];
static size_t message_len;
static int events[32];
static size_t nevents;

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

static postie_status_t fake_connect(postie_transport_t *t, const char *host, uint16_t port,
                                    uint32_t timeout_ms)
{
    (void)t;
    (void)host;
    (void)port;
    (void)timeout_ms;
    return POSTIE_OK;
}

static postie_status_t fake_send(postie_transport_t *t, const uint8_t *buf, size_t len,
                                 size_t *sent, uint32_t timeout_ms)
{
    (void)t;
    (void)timeout_ms;
    assert_true(++fake.calls < 100000);
    *sent = len < 5 ? len : 5;
    assert_true(fake.wire_len + *sent <= sizeof(fake.wire));
    memcpy(fake.wire + fake.wire_len, buf, *sent);
    fake.wire_len += *sent;
    serve();
    return POSTIE_OK;
}

static postie_status_t fake_recv(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                                 uint32_t timeout_ms)
{
    size_t n;
    (void)t;
    assert_true(++fake.calls < 100000);
    *got = 0;
    if (fake.close_after != 0 && fake.out_pos >= fake.close_after) {
        return POSTIE_E_CONNECTION_CLOSED;
    }
    if (fake.out_pos == fake.out_len) {
        fake_now += timeout_ms; /* nothing to read: the whole wait passes */
        return POSTIE_E_TIMEOUT;
    }
    n = 1 + (fake.turn++ % 7);
    if (n > fake.out_len - fake.out_pos) {
        n = fake.out_len - fake.out_pos;
    }
    if (fake.close_after != 0 && n > fake.close_after - fake.out_pos) {
        n = fake.close_after - fake.out_pos;
    }
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, fake.out + fake.out_pos, n);
    fake.out_pos += n;
    *got = n;
    fake_now += 1;
    return POSTIE_OK;
}

static void fake_close(postie_transport_t *t)
{
    (void)t;
}

static const postie_transport_ops_t fake_ops = {fake_connect, fake_send, fake_recv, fake_close};

static postie_status_t upgrade(void *ctx, postie_transport_t *lower, postie_transport_t **up)
{
    (void)ctx;
    /* the handshake would read from here: nothing of the server's may wait */
    assert_int_equal(fake.out_pos, fake.out_len);
    fake.upgraded = true;
    *up = lower;
    return POSTIE_OK;
}

static void on_event(void *ctx, const postie_engine_event_t *ev)
{
    (void)ctx;
    if (nevents < sizeof(events) / sizeof(events[0])) {
        events[nevents++] = ev->type;
    }
}

static postie_status_t sink(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    assert_true(message_len + len <= sizeof(message));
    memcpy(message + message_len, data, len);
    message_len += len;
    return POSTIE_OK;
}

static void start(const exchange_t *script, postie_tls_mode_t mode)
{
    postie_pop3_config_t cfg;
    postie_driver_hooks_t hooks = {.tls_upgrade = upgrade, .event = on_event};

    memset(&fake, 0, sizeof(fake));
    fake.base.ops = &fake_ops;
    fake.script = script;
    fake_now = 5000;
    message_len = 0;
    nevents = 0;
    postie_pop3_config_defaults(&cfg);
    cfg.tls_mode = mode;
    cfg.username = "alice";
    cfg.password = "s3cret";
    assert_int_equal(postie_pop3_init(&pop, &cfg), POSTIE_OK);
    assert_int_equal(postie_pop3_start(&pop, postie_clock_ms()), POSTIE_OK);
    postie_driver_init(&driver, &postie_driver_pop3_ops, &pop, &fake.base, NULL, 0, &hooks);
    serve();
}

static const exchange_t session[] = {
    {"", "+OK ready\r\n"},
    {"CAPA\r\n", "+OK\r\nSTLS\r\n.\r\n"},
    {"STLS\r\n", "+OK go\r\n"},
    {"CAPA\r\n", "+OK\r\nSASL PLAIN\r\nPIPELINING\r\n.\r\n"},
    {"AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n", "+OK\r\n"},
    {"STAT\r\n", "+OK 1 40\r\n"},
    {"RETR 1\r\nDELE 1\r\n", "+OK 40 octets\r\nSubject: x\r\n\r\n..body\r\n.\r\n+OK\r\n"},
    {"QUIT\r\n", "+OK bye\r\n"},
    {NULL, NULL},
};

static void test_session_through_driver(void **state)
{
    (void)state;
    start(session, POSTIE_TLS_STARTTLS_REQUIRED);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_READY), POSTIE_OK);
    assert_true(fake.upgraded);
    assert_true(postie_pop3_info(&pop)->secure);
    assert_int_equal(postie_pop3_info(&pop)->messages, 1);
    assert_int_equal(postie_pop3_retrieve(&pop, 1, 0, sink, NULL, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(postie_pop3_remove(&pop, 1, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_REMOVED), POSTIE_OK);
    assert_int_equal(message_len, strlen("Subject: x\r\n\r\n.body\r\n"));
    assert_memory_equal(message, "Subject: x\r\n\r\n.body\r\n", message_len);
    assert_int_equal(postie_pop3_finish(&pop, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, POSTIE_POP3_CLOSED, 0), POSTIE_OK);
    assert_int_equal(nevents, 4);
    assert_int_equal(events[0], POSTIE_MAILBOX_EV_READY);
    assert_int_equal(events[1], POSTIE_MAILBOX_EV_RETRIEVED);
    assert_int_equal(events[2], POSTIE_MAILBOX_EV_REMOVED);
    assert_int_equal(events[3], POSTIE_MAILBOX_EV_CLOSED);
    assert_int_equal(fake.next, sizeof(session) / sizeof(session[0]) - 1);
}

/* A command queued after an event leaves before the answers already on
 * the way are read: the next RETR goes out while the server still has
 * pipelined work to send, so it never waits idle for the client. */
static void test_queued_command_leaves_before_the_drain_ends(void **state)
{
    static const exchange_t script[] = {
        {"", "+OK ready\r\n"},
        {"CAPA\r\n", "+OK\r\nSASL PLAIN\r\nPIPELINING\r\n.\r\n"},
        {"AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n", "+OK\r\n"},
        {"STAT\r\n", "+OK 4 160\r\n"},
        {"RETR 1\r\nRETR 2\r\nRETR 3\r\n",
         "+OK\r\nSubject: 1\r\n\r\none\r\n.\r\n+OK\r\nSubject: 2\r\n\r\ntwo\r\n.\r\n"
         "+OK\r\nSubject: 3\r\n\r\nthree, a longer body than the others\r\n.\r\n"},
        {"RETR 4\r\n", "+OK\r\nSubject: 4\r\n\r\nfour\r\n.\r\n"},
        {NULL, NULL},
    };
    size_t unread;
    (void)state;
    start(script, POSTIE_TLS_IMPLICIT);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_READY), POSTIE_OK);
    for (uint32_t id = 1; id <= 3; id++) {
        assert_int_equal(postie_pop3_retrieve(&pop, id, 0, sink, NULL, postie_clock_ms()),
                         POSTIE_OK);
    }
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_RETRIEVED), POSTIE_OK);
    assert_int_equal(postie_pop3_retrieve(&pop, 4, 0, sink, NULL, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_RETRIEVED), POSTIE_OK);
    /* RETR 4 is out, and part of message 3 was still waiting to be read */
    assert_true(fake.wire_len >= strlen("RETR 4\r\n"));
    assert_memory_equal(fake.wire + fake.wire_len - strlen("RETR 4\r\n"), "RETR 4\r\n",
                        strlen("RETR 4\r\n"));
    unread = fake.out_len - fake.out_pos;
    assert_true(unread > strlen("+OK\r\nSubject: 4\r\n\r\nfour\r\n.\r\n"));
    /* and every message still arrives whole, in order */
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_RETRIEVED), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_RETRIEVED), POSTIE_OK);
    assert_int_equal(fake.out_pos, fake.out_len);
    message[message_len] = '\0';
    assert_string_equal(message, "Subject: 1\r\n\r\none\r\nSubject: 2\r\n\r\ntwo\r\n"
                                 "Subject: 3\r\n\r\nthree, a longer body than the others\r\n"
                                 "Subject: 4\r\n\r\nfour\r\n");
}

/* The connection drops inside the message: truncated, never RETRIEVED. */
static void test_drop_inside_message(void **state)
{
    static const exchange_t script[] = {
        {"", "+OK ready\r\n"},
        {"CAPA\r\n", "+OK\r\nSASL PLAIN\r\n.\r\n"},
        {"AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n", "+OK\r\n"},
        {"STAT\r\n", "+OK 1 40\r\n"},
        {"RETR 1\r\n", "+OK\r\nSubject: x\r\n\r\nbo"},
        {NULL, NULL},
    };
    (void)state;
    start(script, POSTIE_TLS_IMPLICIT);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_READY), POSTIE_OK);
    fake.close_after = fake.out_len + strlen("+OK\r\nSubject: x\r\n\r\nbo");
    assert_int_equal(postie_pop3_retrieve(&pop, 1, 0, sink, NULL, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_RETRIEVED),
                     POSTIE_E_MESSAGE_TRUNCATED);
    assert_false(postie_driver_reached(&driver));
    assert_string_equal(postie_pop3_error(&pop)->phase, "RETR");
    assert_int_equal(events[nevents - 1], POSTIE_MAILBOX_EV_FAILED);
}

/* A server that never answers: the engine's deadline ends the wait. */
static void test_silent_server(void **state)
{
    static const exchange_t script[] = {
        {"", "+OK ready\r\n"},
        {"CAPA\r\n", NULL},
        {NULL, NULL},
    };
    (void)state;
    start(script, POSTIE_TLS_IMPLICIT);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_READY), POSTIE_E_TIMEOUT);
    assert_string_equal(postie_pop3_error(&pop)->phase, "CAPA");
    assert_true(fake_now - 5000 >= POSTIE_POP3_TIMEOUT_COMMAND_MS);
    assert_true(fake_now - 5000 < POSTIE_POP3_TIMEOUT_COMMAND_MS + 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_through_driver),
        cmocka_unit_test(test_queued_command_leaves_before_the_drain_ends),
        cmocka_unit_test(test_drop_inside_message),
        cmocka_unit_test(test_silent_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
