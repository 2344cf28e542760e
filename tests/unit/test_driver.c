/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver (port/common/driver.c) running the SMTP engine over a scripted
 * fake transport and a fake clock.
 *
 * The fake server plays a script of exchanges: once the client has sent an
 * exchange's bytes, the server's answer becomes readable. It records every
 * byte it received (the wire, checked whole against the script) and every
 * send call's size, and it can misbehave: take only N octets per send, hand
 * over replies 1..k octets at a time, return POSTIE_E_TIMEOUT at once on
 * some calls (a would-block), trickle its octets with time passing between
 * them, never answer, never take a byte, close or reset at a chosen octet.
 * Time is the fake clock: it moves only when the fake transport waits, so a
 * test knows exactly when each deadline falls. Every fake call is counted
 * and a run that keeps calling without end fails the test (bounded loops).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/clock.h"
#include "postie/common/driver_imap.h"
#include "postie/common/driver_smtp.h"

/* ---- The fake clock ------------------------------------------------------ */

static uint32_t fake_now;
static unsigned long clock_reads;

uint32_t postie_clock_ms(void)
{
    /* the driver reads the clock a few times per step: a driver that spins
     * without end reads it without end */
    if (++clock_reads > 5000000ul) {
        fail_msg("the driver spins: 5 000 000 clock reads");
    }
    return fake_now;
}

/* ---- The fake server and its transport ----------------------------------- */

#define WIRE_MAX  65536
#define OUT_MAX   4096
#define SENDS_MAX 512
#define CALLS_MAX 200000u
#define EXCHANGES 16
#define NEVER     ((size_t)-1)
#define LONG_WAIT (3600u * 1000u)

typedef struct {
    const char *client; /* what the client sends next ("" for the greeting) */
    const char *server; /* then what the server answers (NULL: it never does) */
} exchange_t;

typedef struct {
    postie_transport_t base;
    const exchange_t *script;
    size_t next;             /* the exchange whose client bytes are awaited */
    size_t released_upto;    /* wire length through exchange next-1's client bytes */
    char expected[WIRE_MAX]; /* the whole client side of the script */
    size_t expected_len;
    char wire[WIRE_MAX]; /* what the server received */
    size_t wire_len;
    char out[OUT_MAX]; /* what the server sent; out_pos of it was read */
    size_t out_len;
    size_t out_pos;
    uint32_t next_octet_at; /* with trickle_ms: when the next octet arrives */

    /* faults */
    size_t send_max;              /* take at most this many octets per send (0: all) */
    size_t recv_max;              /* hand over 1, 2, ..recv_max octets per recv in turn (0: all) */
    unsigned block_every;         /* every n-th call returns POSTIE_E_TIMEOUT at once (0: never) */
    uint32_t trickle_ms;          /* each server octet arrives this long after the one before */
    bool send_stalls;             /* no room ever: each send waits its timeout */
    size_t close_after;           /* after this many server octets recv says close_status (NEVER) */
    postie_status_t close_status; /* POSTIE_E_CONNECTION_CLOSED (orderly) or _RESET */
    size_t gone_after;            /* after this many server octets read, sends are reset (NEVER) */

    /* what happened */
    unsigned calls;
    unsigned recv_turn;
    size_t send_sizes[SENDS_MAX]; /* octets taken by each send that took any */
    size_t nsends;
    uint32_t last_send_timeout;
    uint32_t last_recv_wait;
    uint32_t min_recv_wait;
    bool upgraded;                /* the fake TLS layer is in place */
    bool via_tls;                 /* the current call came through it */
    unsigned plain_after_upgrade; /* calls that bypassed the TLS layer after the upgrade */
    unsigned tls_calls;           /* calls through the TLS layer */
} fake_t;

static fake_t fake;

static void count_call(void)
{
    if (++fake.calls > CALLS_MAX) {
        fail_msg("the driver keeps calling the transport: %u calls", fake.calls);
    }
    if (fake.upgraded) {
        if (fake.via_tls) {
            fake.tls_calls++;
        } else {
            fake.plain_after_upgrade++;
        }
    }
}

static bool would_block(void)
{
    return fake.block_every != 0 && fake.calls % fake.block_every == 0;
}

/* Release the answers of every exchange whose client bytes have all come. */
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
            if (fake.out_pos == fake.out_len) {
                fake.next_octet_at = fake_now + fake.trickle_ms;
            }
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
    size_t n = len;
    (void)t;
    *sent = 0;
    count_call();
    fake.last_send_timeout = timeout_ms;
    if (fake.gone_after != NEVER && fake.out_pos >= fake.gone_after) {
        return POSTIE_E_CONNECTION_RESET;
    }
    if (fake.send_stalls) {
        fake_now += timeout_ms;
        return POSTIE_E_TIMEOUT;
    }
    if (would_block()) {
        return POSTIE_E_TIMEOUT;
    }
    if (fake.send_max != 0 && n > fake.send_max) {
        n = fake.send_max;
    }
    assert_true(fake.wire_len + n <= sizeof(fake.wire));
    memcpy(fake.wire + fake.wire_len, buf, n);
    if (fake.wire_len + n > fake.expected_len ||
        memcmp(fake.wire + fake.wire_len, fake.expected + fake.wire_len, n) != 0) {
        size_t at = fake.wire_len;
        fail_msg("the client sent \"%.*s\" at octet %zu where the script has \"%.40s\"",
                 (int)(n < 40 ? n : 40), (const char *)buf, at, fake.expected + at);
    }
    fake.wire_len += n;
    if (fake.nsends < SENDS_MAX) {
        fake.send_sizes[fake.nsends] = n;
    }
    fake.nsends++;
    *sent = n;
    serve();
    return POSTIE_OK;
}

static postie_status_t fake_recv(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                                 uint32_t timeout_ms)
{
    size_t n;
    size_t avail;
    (void)t;
    *got = 0;
    count_call();
    fake.last_recv_wait = timeout_ms;
    if (timeout_ms < fake.min_recv_wait) {
        fake.min_recv_wait = timeout_ms;
    }
    if (would_block()) {
        return POSTIE_E_TIMEOUT;
    }
    avail = fake.out_len - fake.out_pos;
    if (fake.close_after != NEVER && fake.out_pos + avail > fake.close_after) {
        avail = fake.close_after > fake.out_pos ? fake.close_after - fake.out_pos : 0;
    }
    if (avail == 0) {
        if (fake.close_after != NEVER && fake.out_pos >= fake.close_after) {
            return fake.close_status;
        }
        /* nothing will come: the whole wait passes */
        assert_true(timeout_ms <= LONG_WAIT);
        fake_now += timeout_ms;
        return POSTIE_E_TIMEOUT;
    }
    if (fake.trickle_ms != 0) {
        if ((int32_t)(fake.next_octet_at - fake_now) > 0) {
            uint32_t due = fake.next_octet_at - fake_now;
            if (due > timeout_ms) {
                fake_now += timeout_ms;
                return POSTIE_E_TIMEOUT;
            }
            fake_now += due;
        }
        fake.next_octet_at = fake_now + fake.trickle_ms;
        avail = 1;
    }
    n = avail < cap ? avail : cap;
    if (fake.recv_max != 0) {
        size_t turn = 1 + fake.recv_turn++ % fake.recv_max;
        n = n < turn ? n : turn;
    }
    memcpy(buf, fake.out + fake.out_pos, n);
    fake.out_pos += n;
    *got = n;
    return POSTIE_OK;
}

/* Each server octet from now on comes ms after the one before. */
static void trickle(uint32_t ms)
{
    fake.trickle_ms = ms;
    fake.next_octet_at = fake_now + ms;
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
    fake.close_after = NEVER;
    fake.gone_after = NEVER;
    fake.close_status = POSTIE_E_CONNECTION_CLOSED;
    fake.min_recv_wait = UINT32_MAX;
    for (size_t i = 0; script[i].client != NULL; i++) {
        size_t n = strlen(script[i].client);
        assert_true(fake.expected_len + n <= sizeof(fake.expected));
        memcpy(fake.expected + fake.expected_len, script[i].client, n);
        fake.expected_len += n;
    }
    serve(); /* the greeting */
}

/* The wire must be the script's client side, exactly. */
static void assert_wire(const char *want, size_t want_len)
{
    if (fake.wire_len != want_len || memcmp(fake.wire, want, want_len) != 0) {
        size_t i = 0;
        while (i < fake.wire_len && i < want_len && fake.wire[i] == want[i]) {
            i++;
        }
        fail_msg("wire differs at octet %zu of %zu (want %zu): \"%.40s\" instead of \"%.40s\"", i,
                 fake.wire_len, want_len, fake.wire + i, want + i);
    }
}

/* ---- A pass-through "TLS" layer for STARTTLS ----------------------------- */

typedef struct {
    postie_transport_t base;
    postie_transport_t *lower;
} fake_tls_t;

static postie_status_t ftls_send(postie_transport_t *t, const uint8_t *buf, size_t len,
                                 size_t *sent, uint32_t timeout_ms)
{
    fake_tls_t *l = (fake_tls_t *)t;
    postie_status_t st;
    fake.via_tls = true;
    st = postie_transport_send(l->lower, buf, len, sent, timeout_ms);
    fake.via_tls = false;
    return st;
}

static postie_status_t ftls_recv(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                                 uint32_t timeout_ms)
{
    fake_tls_t *l = (fake_tls_t *)t;
    postie_status_t st;
    fake.via_tls = true;
    st = postie_transport_recv(l->lower, buf, cap, got, timeout_ms);
    fake.via_tls = false;
    return st;
}

static const postie_transport_ops_t ftls_ops = {fake_connect, ftls_send, ftls_recv, fake_close};

/* ---- Hooks: what the driver reported ------------------------------------- */

typedef struct {
    fake_tls_t layer;
    postie_status_t upgrade_result; /* what the TLS hook returns */
    unsigned upgrades;
    size_t upgrade_wire;     /* client octets the server had when the hook ran */
    size_t upgrade_read;     /* server octets the client had read then */
    size_t upgrade_sent_out; /* server octets sent by then */
    unsigned failures;
    postie_status_t failed_status;
    const char *failed_what;
    int events[64];
    size_t nevents;
} hooks_seen_t;

static hooks_seen_t seen;

static postie_status_t tls_hook(void *ctx, postie_transport_t *lower, postie_transport_t **upgraded)
{
    hooks_seen_t *h = ctx;
    h->upgrades++;
    h->upgrade_wire = fake.wire_len;
    h->upgrade_read = fake.out_pos;
    h->upgrade_sent_out = fake.out_len;
    assert_ptr_equal(lower, &fake.base);
    if (h->upgrade_result != POSTIE_OK) {
        return h->upgrade_result;
    }
    h->layer.base.ops = &ftls_ops;
    h->layer.lower = lower;
    fake.upgraded = true;
    *upgraded = &h->layer.base;
    return POSTIE_OK;
}

static void failed_hook(void *ctx, postie_status_t st, const char *what)
{
    hooks_seen_t *h = ctx;
    h->failures++;
    h->failed_status = st;
    h->failed_what = what;
}

static void event_hook(void *ctx, const postie_engine_event_t *ev)
{
    hooks_seen_t *h = ctx;
    if (h->nevents < sizeof(h->events) / sizeof(h->events[0])) {
        h->events[h->nevents++] = ev->type;
    }
}

static const postie_driver_hooks_t hooks = {tls_hook, failed_hook, event_hook, &seen};

/* ---- The body source ----------------------------------------------------- */

typedef struct {
    const char *data;
    size_t len;
    size_t pos;
    size_t max;                /* octets per read (0: as many as fit) */
    postie_status_t fail_with; /* POSTIE_OK: never fails */
} body_t;

static postie_status_t body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    body_t *b = ctx;
    size_t n = b->len - b->pos;
    if (b->fail_with != POSTIE_OK && b->pos > 0) {
        return b->fail_with;
    }
    if (n > cap) {
        n = cap;
    }
    if (b->max != 0 && n > b->max) {
        n = b->max;
    }
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    *got = n;
    return POSTIE_OK;
}

/* ---- The session --------------------------------------------------------- */

#define GREETING "220 mx.test ESMTP\r\n"
#define EHLO     "EHLO client.test\r\n"
#define ENVELOPE "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
#define ENV_OK   "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n"
#define QUEUED   "250 2.0.0 queued\r\n"
#define QUIT     "QUIT\r\n"
#define BYE      "221 2.0.0 bye\r\n"

/* A body larger than the engine's transmit buffer and the staging buffer,
 * with a line that needs dot-stuffing; and how it looks on the wire. */
static char body_text[12000];
static size_t body_len;
static char body_wire[12100];

static void make_body(void)
{
    size_t w = 0;
    body_len = 0;
    body_len += (size_t)snprintf(body_text, sizeof(body_text), "Subject: driver test\r\n\r\n");
    for (int i = 0; i < 300; i++) {
        body_len += (size_t)snprintf(body_text + body_len, sizeof(body_text) - body_len,
                                     i == 150 ? ".line %03d starts with a dot\r\n"
                                              : "line %03d: the quick brown fox\r\n",
                                     i);
    }
    for (size_t i = 0; i < body_len; i++) {
        if (body_text[i] == '.' && (i == 0 || body_text[i - 1] == '\n')) {
            body_wire[w++] = '.';
        }
        body_wire[w++] = body_text[i];
    }
    memcpy(body_wire + w, ".\r\n", 4);
}

static postie_smtp_t smtp;
static postie_driver_t driver;
static uint8_t stage[1000]; /* smaller than the body: several reads */
static postie_smtp_rcpt_t rcpt;
static postie_smtp_envelope_t env;
static body_t body;

static postie_smtp_config_t test_config(void)
{
    postie_smtp_config_t cfg;
    postie_smtp_config_defaults(&cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls_mode = POSTIE_TLS_NONE;
    cfg.timeout_greeting_ms = 5000;
    cfg.timeout_command_ms = 7000;
    cfg.timeout_data_init_ms = 8000;
    cfg.timeout_data_block_ms = 9000;
    cfg.timeout_data_end_ms = 11000;
    return cfg;
}

static void start(const exchange_t *script, const postie_smtp_config_t *cfg)
{
    fake_now = 1000;
    clock_reads = 0;
    memset(&seen, 0, sizeof(seen));
    fake_start(script);
    assert_int_equal(postie_smtp_init(&smtp, cfg, fake_now), POSTIE_OK);
    postie_driver_init(&driver, &postie_driver_smtp_ops, &smtp, &fake.base, stage, sizeof(stage),
                       &hooks);
    memset(&env, 0, sizeof(env));
    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = "bob@example.test";
    env.from = "alice@example.test";
    env.rcpt = &rcpt;
    env.rcpt_count = 1;
    memset(&body, 0, sizeof(body));
    body.data = body_text;
    body.len = body_len;
    body.max = 333;
}

/* Send the message and QUIT; everything must succeed. */
static void message_and_quit(void)
{
    assert_int_equal(postie_smtp_send(&smtp, &env, fake_now), POSTIE_OK);
    postie_driver_set_body(&driver, body_read, &body);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_SMTP_EV_MESSAGE_DONE), POSTIE_OK);
    assert_true(postie_driver_reached(&driver));
    postie_driver_set_body(&driver, NULL, NULL);
    assert_int_equal(postie_smtp_message_result(&smtp)->status, POSTIE_OK);
    assert_string_equal(postie_smtp_message_result(&smtp)->reply.text, "queued");
    assert_int_equal(rcpt.state, POSTIE_RCPT_ACCEPTED);
    assert_true(postie_smtp_state(&smtp) & POSTIE_SMTP_READY);

    assert_int_equal(postie_smtp_quit(&smtp, fake_now), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_CLOSED, 0), POSTIE_OK);
    assert_true(postie_smtp_state(&smtp) & POSTIE_SMTP_CLOSED);
}

static exchange_t plain_script[EXCHANGES];

/* greeting, EHLO, MAIL/RCPT/DATA pipelined, the body, QUIT */
static const exchange_t *plain(void)
{
    const exchange_t s[] = {
        {"", GREETING},     {EHLO, "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"},
        {ENVELOPE, ENV_OK}, {body_wire, QUEUED},
        {QUIT, BYE},        {NULL, NULL},
    };
    memcpy(plain_script, s, sizeof(s));
    return plain_script;
}

static char plain_wire[WIRE_MAX];

static size_t plain_wire_len(void)
{
    int n = snprintf(plain_wire, sizeof(plain_wire), "%s%s%s%s", EHLO, ENVELOPE, body_wire, QUIT);
    return (size_t)n;
}

/* One whole session with the fake set up by faults(); exact bytes out, every
 * result as it should be, every event seen in order. */
static void whole_session(void (*faults)(void))
{
    postie_smtp_config_t cfg = test_config();
    start(plain(), &cfg);
    faults();

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_true(postie_driver_reached(&driver));
    assert_true(postie_smtp_caps(&smtp)->flags & POSTIE_SMTP_CAP_PIPELINING);
    message_and_quit();

    assert_wire(plain_wire, plain_wire_len());
    assert_int_equal(fake.out_pos, fake.out_len); /* every reply was read */
    assert_int_equal(seen.failures, 0);
    assert_int_equal(seen.upgrades, 0);
    assert_int_equal(seen.nevents, 5);
    assert_int_equal(seen.events[0], POSTIE_SMTP_EV_READY);
    assert_int_equal(seen.events[1], POSTIE_SMTP_EV_RCPT);
    assert_int_equal(seen.events[2], POSTIE_SMTP_EV_DATA_SENT);
    assert_int_equal(seen.events[3], POSTIE_SMTP_EV_MESSAGE_DONE);
    assert_int_equal(seen.events[4], POSTIE_SMTP_EV_CLOSED);
    /* no reply took longer than the server answered: the clock never moved */
    assert_int_equal(fake_now, 1000);
}

static void no_faults(void)
{
}

static void one_octet_per_send(void)
{
    fake.send_max = 1;
}

static void seven_octets_per_send(void)
{
    fake.send_max = 7;
}

static void one_octet_per_recv(void)
{
    fake.recv_max = 1;
}

static void short_reads(void)
{
    fake.recv_max = 3; /* 1, 2, 3, 1, 2, 3, ... octets */
}

static void every_other_call_would_block(void)
{
    fake.block_every = 2;
}

static void every_third_call_would_block(void)
{
    fake.block_every = 3;
}

static void everything_at_once(void)
{
    fake.send_max = 5;
    fake.recv_max = 4;
    fake.block_every = 3;
    body.max = 1;
}

static void test_session_clean(void **state)
{
    (void)state;
    whole_session(no_faults);
    /* nothing split: one send per flight (EHLO, envelope, body x2, QUIT) */
    assert_int_equal(fake.send_sizes[0], strlen(EHLO));
    assert_int_equal(fake.send_sizes[1], strlen(ENVELOPE));
    assert_int_equal(fake.send_sizes[fake.nsends - 1], strlen(QUIT));
}

static void test_session_partial_writes_1(void **state)
{
    (void)state;
    whole_session(one_octet_per_send);
    assert_int_equal(fake.nsends, plain_wire_len());
}

static void test_session_partial_writes_7(void **state)
{
    (void)state;
    whole_session(seven_octets_per_send);
}

static void test_session_short_reads_1(void **state)
{
    (void)state;
    whole_session(one_octet_per_recv);
}

static void test_session_short_reads_1_to_3(void **state)
{
    (void)state;
    whole_session(short_reads);
}

static void test_session_would_block_2(void **state)
{
    (void)state;
    whole_session(every_other_call_would_block);
}

static void test_session_would_block_3(void **state)
{
    (void)state;
    whole_session(every_third_call_would_block);
}

static void test_session_all_faults(void **state)
{
    (void)state;
    whole_session(everything_at_once);
}

/* ---- Body before sending: with CHUNKING the envelope and the first chunk
 * leave in one write ------------------------------------------------------- */

static void test_envelope_and_first_chunk_in_one_write(void **state)
{
    static const char hello[] = "Subject: hi\r\n\r\nHello.\r\n";
    static const char flight[] = "MAIL FROM:<alice@example.test>\r\n"
                                 "RCPT TO:<bob@example.test>\r\n"
                                 "BDAT 23 LAST\r\n"
                                 "Subject: hi\r\n\r\nHello.\r\n";
    const exchange_t script[] = {
        {"", GREETING},
        {EHLO, "250-mx.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n"},
        {flight, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n" QUEUED},
        {QUIT, BYE},
        {NULL, NULL},
    };
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(script, &cfg);
    body.data = hello;
    body.len = strlen(hello);

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    message_and_quit();
    assert_wire(fake.expected, fake.expected_len);
    assert_int_equal(fake.nsends, 3);
    assert_int_equal(fake.send_sizes[1], strlen(flight)); /* one write */
}

/* ---- Deadlines ------------------------------------------------------------ */

/* The server never answers EHLO: the driver waits exactly the command
 * timeout, in as few receives as the transport needs, and stops. */
static void test_silent_server_times_out(void **state)
{
    const exchange_t script[] = {
        {"", GREETING},
        {EHLO, NULL},
        {NULL, NULL},
    };
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(script, &cfg);

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_TIMEOUT);
    assert_false(postie_driver_reached(&driver));
    assert_int_equal(fake_now, 1000 + 7000);     /* timeout_command_ms, not a millisecond more */
    assert_int_equal(fake.last_recv_wait, 7000); /* one wait: the whole reply deadline */
    assert_true(fake.calls < 10);
    assert_int_equal(postie_smtp_error(&smtp)->status, POSTIE_E_TIMEOUT);
    assert_string_equal(postie_smtp_error(&smtp)->phase, "EHLO");
    assert_int_equal(seen.failures, 0); /* the engine's timeout, not the transport's */
    assert_wire(EHLO, strlen(EHLO));
}

/* Would-blocks while the server says nothing do not end the wait early, and
 * the wait still ends on time. */
static void test_silent_server_with_would_blocks(void **state)
{
    const exchange_t script[] = {
        {"", GREETING},
        {EHLO, NULL},
        {NULL, NULL},
    };
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(script, &cfg);
    fake.block_every = 2;

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_TIMEOUT);
    assert_int_equal(fake_now, 1000 + 7000);
    assert_string_equal(postie_smtp_error(&smtp)->phase, "EHLO");
}

/* A greeting trickling one octet a second: received octets do not extend
 * the deadline, each receive waits only what is left of it, and the session
 * ends at the greeting timeout although octets keep coming. */
static void test_trickling_reply_ends_on_time(void **state)
{
    const exchange_t script[] = {
        {"", "220 mx.test a greeting far too slow to finish\r\n"},
        {NULL, NULL},
    };
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(script, &cfg);
    trickle(1000);

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_TIMEOUT);
    assert_int_equal(fake_now, 1000 + 5000); /* timeout_greeting_ms */
    assert_int_equal(fake.out_pos, 5);       /* five octets came, one a second */
    assert_int_equal(fake.min_recv_wait, 0);
    assert_string_equal(postie_smtp_error(&smtp)->phase, "greeting");
    assert_int_equal(fake.wire_len, 0);
}

/* A slow but timely server: every reply trickles in within its deadline. */
static void test_slow_server_in_time(void **state)
{
    postie_smtp_config_t cfg = test_config();
    (void)state;
    cfg.timeout_greeting_ms = 1000000;
    cfg.timeout_command_ms = 1000000;
    cfg.timeout_data_init_ms = 1000000;
    cfg.timeout_data_end_ms = 1000000;
    start(plain(), &cfg);
    trickle(10);

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    message_and_quit();
    assert_wire(plain_wire, plain_wire_len());
    assert_true(fake_now > 1000);
}

/* A peer that never takes a byte: the send waits the engine's send timeout
 * (timeout_command_ms for a command) and the session fails "sending". */
static void test_send_timeout(void **state)
{
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(plain(), &cfg);
    fake.send_stalls = true;

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_TIMEOUT);
    assert_int_equal(fake.last_send_timeout, 7000);
    assert_int_equal(fake_now, 1000 + 7000);
    assert_true(fake.calls < 10);
    assert_int_equal(seen.failures, 1);
    assert_int_equal(seen.failed_status, POSTIE_E_TIMEOUT);
    assert_string_equal(seen.failed_what, "sending");
    assert_string_equal(postie_smtp_error(&smtp)->subject, "sending");
    assert_string_equal(postie_smtp_error(&smtp)->phase, "EHLO");
}

/* ---- A peer that closes --------------------------------------------------- */

/* The peer closes in the middle of the EHLO reply: an orderly close is the
 * engine's to judge (rx_eof), not a transport failure. */
static void test_peer_closes_mid_reply(void **state)
{
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(plain(), &cfg);
    fake.close_after = strlen(GREETING) + strlen("250-mx.test\r\n250-PIPE");
    fake.recv_max = 4;

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_CONNECTION_CLOSED);
    assert_int_equal(fake.out_pos, fake.close_after);
    assert_string_equal(postie_smtp_error(&smtp)->phase, "EHLO");
    assert_string_equal(postie_smtp_error(&smtp)->subject, "");
    assert_int_equal(seen.failures, 0);
    assert_int_equal(fake_now, 1000);
}

/* A reset mid-reply is a transport failure: the hook hears of it. */
static void test_peer_resets_mid_reply(void **state)
{
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(plain(), &cfg);
    fake.close_after = strlen(GREETING) + strlen("250-mx.test\r\n250-PIPE");
    fake.close_status = POSTIE_E_CONNECTION_RESET;

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_CONNECTION_RESET);
    assert_int_equal(seen.failures, 1);
    assert_int_equal(seen.failed_status, POSTIE_E_CONNECTION_RESET);
    assert_string_equal(seen.failed_what, "receiving");
    assert_string_equal(postie_smtp_error(&smtp)->phase, "EHLO");
    assert_string_equal(postie_smtp_error(&smtp)->subject, "receiving");
}

/* The peer is gone by the time the message goes out: send fails. */
static void test_peer_gone_while_sending(void **state)
{
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(plain(), &cfg);
    fake.gone_after =
        strlen(GREETING) + strlen("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_int_equal(postie_smtp_send(&smtp, &env, fake_now), POSTIE_OK);
    postie_driver_set_body(&driver, body_read, &body);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_SMTP_EV_MESSAGE_DONE),
                     POSTIE_E_CONNECTION_RESET);
    /* the message ended with the session: the goal event came along */
    assert_true(postie_driver_reached(&driver));
    assert_int_equal(postie_smtp_message_result(&smtp)->status, POSTIE_E_CONNECTION_RESET);
    assert_int_equal(seen.failures, 1);
    assert_string_equal(seen.failed_what, "sending");
    assert_int_equal(rcpt.state, POSTIE_RCPT_NOT_TRIED);
}

/* The server closes instead of answering QUIT: the session is over all the
 * same, politely. */
static void test_peer_closes_instead_of_bye(void **state)
{
    postie_smtp_config_t cfg = test_config();
    exchange_t script[EXCHANGES];
    (void)state;
    memcpy(script, plain(), sizeof(script));
    script[4].server = NULL;
    start(script, &cfg);
    fake.close_after = strlen(GREETING) +
                       strlen("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n") +
                       strlen(ENV_OK) + strlen(QUEUED);

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    message_and_quit();
    assert_int_equal(fake_now, 1000);
}

/* ---- STARTTLS --------------------------------------------------------------- */

static exchange_t tls_script[EXCHANGES];

/* greeting, EHLO, STARTTLS, (the upgrade), EHLO answered by ehlo2, then the
 * plain session's message and QUIT */
static const exchange_t *starttls_script(const char *ehlo2)
{
    const exchange_t s[] = {
        {"", GREETING},
        {EHLO, "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"},
        {"STARTTLS\r\n", "220 2.0.0 go ahead\r\n"},
        {EHLO, ehlo2},
        {ENVELOPE, ENV_OK},
        {body_wire, QUEUED},
        {QUIT, BYE},
        {NULL, NULL},
    };
    memcpy(tls_script, s, sizeof(s));
    return tls_script;
}

static postie_smtp_config_t starttls_config(void)
{
    postie_smtp_config_t cfg = test_config();
    cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    return cfg;
}

static void starttls_session(void (*faults)(void))
{
    const size_t before = strlen(EHLO "STARTTLS\r\n");
    postie_smtp_config_t cfg = starttls_config();
    start(starttls_script("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"), &cfg);
    faults();

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    /* the hook ran once: after the 220 to STARTTLS was read, before the
     * second EHLO, with nothing else sent or read in between */
    assert_int_equal(seen.upgrades, 1);
    assert_int_equal(seen.upgrade_wire, before);
    assert_int_equal(seen.upgrade_read,
                     strlen(GREETING "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                                     "220 2.0.0 go ahead\r\n"));
    assert_int_equal(seen.upgrade_sent_out, seen.upgrade_read);
    assert_ptr_equal(driver.io, &seen.layer.base);
    assert_true(postie_smtp_caps(&smtp)->secure);
    message_and_quit();

    assert_wire(fake.expected, fake.expected_len);
    assert_true(memcmp(fake.wire + before, EHLO, strlen(EHLO)) == 0);
    assert_int_equal(fake.plain_after_upgrade, 0); /* every call after it went through TLS */
    assert_true(fake.tls_calls > 0);
    assert_int_equal(seen.failures, 0);
}

static void test_starttls(void **state)
{
    (void)state;
    starttls_session(no_faults);
}

static void test_starttls_all_faults(void **state)
{
    (void)state;
    starttls_session(everything_at_once);
}

/* A failed upgrade ends the session; the hook hears of it; nothing more is
 * sent in clear. */
static void test_starttls_upgrade_fails(void **state)
{
    postie_smtp_config_t cfg = starttls_config();
    (void)state;
    start(starttls_script("250 mx.test\r\n"), &cfg);
    seen.upgrade_result = POSTIE_E_TLS_CERT_UNTRUSTED;

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_TLS_CERT_UNTRUSTED);
    assert_int_equal(seen.upgrades, 1);
    assert_int_equal(seen.failures, 1);
    assert_string_equal(seen.failed_what, "TLS handshake after STARTTLS");
    assert_string_equal(postie_smtp_error(&smtp)->subject, "TLS handshake after STARTTLS");
    /* the engine was never told the handshake was done */
    assert_string_equal(postie_smtp_error(&smtp)->phase, "TLS_HANDSHAKE");
    assert_wire(EHLO "STARTTLS\r\n", strlen(EHLO "STARTTLS\r\n"));
    assert_ptr_equal(driver.io, &fake.base);
}

/* Without a TLS hook NEED_TLS cannot be served: the session fails. */
static void test_starttls_without_hook(void **state)
{
    postie_smtp_config_t cfg = starttls_config();
    (void)state;
    start(starttls_script("250 mx.test\r\n"), &cfg);
    postie_driver_init(&driver, &postie_driver_smtp_ops, &smtp, &fake.base, stage, sizeof(stage),
                       NULL);

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_TLS_SETUP);
    assert_wire(EHLO "STARTTLS\r\n", strlen(EHLO "STARTTLS\r\n"));
}

/* ---- The body source -------------------------------------------------------- */

/* A failing body source ends the session (DATA cannot be taken back); it is
 * not a transport failure. */
static void test_body_source_fails(void **state)
{
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(plain(), &cfg);
    body.fail_with = POSTIE_E_FILE;

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_int_equal(postie_smtp_send(&smtp, &env, fake_now), POSTIE_OK);
    postie_driver_set_body(&driver, body_read, &body);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_SMTP_EV_MESSAGE_DONE), POSTIE_E_FILE);
    assert_true(postie_driver_reached(&driver));
    assert_string_equal(postie_smtp_error(&smtp)->subject, "reading the message body");
    assert_int_equal(seen.failures, 0);
}

/* The engine wants a body and no source was given: the caller's mistake is
 * reported, not waited on. */
static void test_no_body_source(void **state)
{
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(plain(), &cfg);

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_OK);
    assert_int_equal(postie_smtp_send(&smtp, &env, fake_now), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_SMTP_EV_MESSAGE_DONE),
                     POSTIE_E_BAD_STATE);
    assert_false(postie_driver_reached(&driver));
    assert_true(postie_smtp_state(&smtp) & POSTIE_SMTP_WANT_BODY);
    assert_int_equal(fake_now, 1000);
}

/* ---- A transport that breaks its contract --------------------------------- */

static postie_status_t zero_send(postie_transport_t *t, const uint8_t *buf, size_t len,
                                 size_t *sent, uint32_t timeout_ms)
{
    (void)t;
    (void)buf;
    (void)len;
    (void)timeout_ms;
    count_call();
    *sent = 0;
    return POSTIE_OK; /* "sent" nothing: must not make the driver spin */
}

static void test_transport_sends_nothing(void **state)
{
    static const postie_transport_ops_t ops = {fake_connect, zero_send, fake_recv, fake_close};
    postie_smtp_config_t cfg = test_config();
    (void)state;
    start(plain(), &cfg);
    fake.base.ops = &ops;

    assert_int_equal(postie_driver_run(&driver, POSTIE_SMTP_READY, 0), POSTIE_E_IO);
    assert_int_equal(seen.failures, 1);
    assert_string_equal(seen.failed_what, "sending");
    assert_true(fake.calls < 10);
}

/* ---- The IMAP engine through the same driver ------------------------------ */

static postie_imap_t imap;
static char imap_body[256];
static size_t imap_body_len;

static postie_status_t imap_data(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    assert_true(len > 0 && imap_body_len + len <= sizeof(imap_body));
    memcpy(imap_body + imap_body_len, data, len);
    imap_body_len += len;
    return POSTIE_OK;
}

#define IMAP_MESSAGE "Subject: x\r\n\r\nhello\r\n"

/* STARTTLS, login, SELECT, a retrieve, then remove and finish (UIDPLUS):
 * the exact bytes, the events in order, the message whole, with faults. */
static void imap_session(void (*faults)(void))
{
    static const exchange_t script[] = {
        {"", "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n"},
        {"A0001 STARTTLS\r\n", "A0001 OK go\r\n"},
        {"A0002 CAPABILITY\r\n", "* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN\r\nA0002 OK\r\n"},
        {"A0003 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n",
         "A0003 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"},
        {"A0004 SELECT INBOX\r\n", "* 1 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\nA0004 OK\r\n"},
        {"A0005 UID FETCH 4 (BODY.PEEK[])\r\n",
         "* 1 FETCH (UID 4 BODY[] {21}\r\n" IMAP_MESSAGE ")\r\nA0005 OK\r\n"},
        /* the UID EXPUNGE (and the LOGOUT behind it) wait for the store's OK */
        {"A0006 UID STORE 4 +FLAGS.SILENT (\\Deleted)\r\n", "A0006 OK\r\n"},
        {"A0007 UID EXPUNGE 4\r\nA0008 LOGOUT\r\n",
         "* 1 EXPUNGE\r\nA0007 OK\r\n* BYE bye\r\nA0008 OK\r\n"},
        {NULL, NULL},
    };
    static const char wire[] =
        "A0001 STARTTLS\r\nA0002 CAPABILITY\r\nA0003 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n"
        "A0004 SELECT INBOX\r\nA0005 UID FETCH 4 (BODY.PEEK[])\r\n"
        "A0006 UID STORE 4 +FLAGS.SILENT (\\Deleted)\r\nA0007 UID EXPUNGE 4\r\nA0008 LOGOUT\r\n";
    postie_imap_config_t cfg;
    const postie_mailbox_ops_t *ops = &postie_imap_mailbox_ops;

    fake_now = 1000;
    memset(&seen, 0, sizeof(seen));
    imap_body_len = 0;
    fake_start(script);
    postie_imap_config_defaults(&cfg);
    cfg.username = "alice";
    cfg.password = "pw";
    assert_int_equal(postie_imap_init(&imap, &cfg), POSTIE_OK);
    assert_int_equal(postie_imap_start(&imap, fake_now), POSTIE_OK);
    postie_driver_init(&driver, &postie_driver_imap_ops, &imap, &fake.base, NULL, 0, &hooks);
    faults();

    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_READY), POSTIE_OK);
    assert_true(ops->info(&imap)->secure);
    assert_int_equal(ops->info(&imap)->uidvalidity, 9);
    assert_int_equal(ops->retrieve(&imap, 4, 0, imap_data, NULL, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_RETRIEVED), POSTIE_OK);
    assert_int_equal(imap_body_len, strlen(IMAP_MESSAGE));
    assert_memory_equal(imap_body, IMAP_MESSAGE, imap_body_len);
    assert_int_equal(ops->remove(&imap, 4, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(ops->finish(&imap, postie_clock_ms()), POSTIE_OK);
    assert_int_equal(postie_driver_run(&driver, POSTIE_IMAP_CLOSED, 0), POSTIE_OK);

    assert_wire(wire, strlen(wire));
    assert_int_equal(seen.upgrades, 1);
    assert_int_equal(seen.failures, 0);
    assert_int_equal(seen.nevents, 4);
    assert_int_equal(seen.events[0], POSTIE_MAILBOX_EV_READY);
    assert_int_equal(seen.events[1], POSTIE_MAILBOX_EV_RETRIEVED);
    assert_int_equal(seen.events[2], POSTIE_MAILBOX_EV_REMOVED);
    assert_int_equal(seen.events[3], POSTIE_MAILBOX_EV_CLOSED);
    assert_int_equal(fake.plain_after_upgrade, 0);
}

static void test_imap_session(void **state)
{
    (void)state;
    imap_session(no_faults);
}

static void test_imap_session_all_faults(void **state)
{
    (void)state;
    imap_session(everything_at_once);
}

/* A silent IMAP server: the driver's receive waits what the engine says,
 * then the engine's poll ends the session on time. */
static void test_imap_silent_server_times_out(void **state)
{
    static const exchange_t script[] = {{"", NULL}, {NULL, NULL}};
    postie_imap_config_t cfg;
    (void)state;
    fake_now = 1000;
    memset(&seen, 0, sizeof(seen));
    fake_start(script);
    postie_imap_config_defaults(&cfg);
    cfg.timeout_greeting_ms = 4000;
    assert_int_equal(postie_imap_init(&imap, &cfg), POSTIE_OK);
    assert_int_equal(postie_imap_start(&imap, fake_now), POSTIE_OK);
    postie_driver_init(&driver, &postie_driver_imap_ops, &imap, &fake.base, NULL, 0, &hooks);
    assert_int_equal(postie_driver_run(&driver, 0, POSTIE_MAILBOX_EV_READY), POSTIE_E_TIMEOUT);
    assert_int_equal(fake_now, 5000);
    assert_string_equal(postie_imap_error(&imap)->phase, "greeting");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imap_session),
        cmocka_unit_test(test_imap_session_all_faults),
        cmocka_unit_test(test_imap_silent_server_times_out),
        cmocka_unit_test(test_session_clean),
        cmocka_unit_test(test_session_partial_writes_1),
        cmocka_unit_test(test_session_partial_writes_7),
        cmocka_unit_test(test_session_short_reads_1),
        cmocka_unit_test(test_session_short_reads_1_to_3),
        cmocka_unit_test(test_session_would_block_2),
        cmocka_unit_test(test_session_would_block_3),
        cmocka_unit_test(test_session_all_faults),
        cmocka_unit_test(test_envelope_and_first_chunk_in_one_write),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_silent_server_with_would_blocks),
        cmocka_unit_test(test_trickling_reply_ends_on_time),
        cmocka_unit_test(test_slow_server_in_time),
        cmocka_unit_test(test_send_timeout),
        cmocka_unit_test(test_peer_closes_mid_reply),
        cmocka_unit_test(test_peer_resets_mid_reply),
        cmocka_unit_test(test_peer_gone_while_sending),
        cmocka_unit_test(test_peer_closes_instead_of_bye),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_starttls_all_faults),
        cmocka_unit_test(test_starttls_upgrade_fails),
        cmocka_unit_test(test_starttls_without_hook),
        cmocka_unit_test(test_body_source_fails),
        cmocka_unit_test(test_no_body_source),
        cmocka_unit_test(test_transport_sends_nothing),
    };
    make_body();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
