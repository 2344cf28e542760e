/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POP3 engine as transcripts: server bytes in, exact client bytes out.
 * Each transcript is played whole, one byte at a time (received bytes and
 * partial sends alike) and at random splits with several seeds. Mailbox
 * events are checked in the order they came; the listing and message data
 * the callbacks saw are checked as text.
 *
 * The "each step" tests take one transcript and derive from it, for every
 * server response, a drop before it, a drop one octet before its end, and
 * an -ERR in its place, each with the failure it must give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/base64.h"
#include "postie/pop3/pop3.h"

/* ---- the transcript runner ------------------------------------------------------ */

typedef enum {
    P_END = 0,
    P_SERVER,       /* data: bytes the server sends */
    P_CLIENT,       /* data: bytes the client must have sent next */
    P_NOTHING_SENT, /* the client must have sent nothing more */
    P_TLS,          /* the engine must ask for TLS; report the handshake done */
    P_EOF,          /* the server closes the connection */
    P_TIME,         /* n: milliseconds pass (then poll) */
    P_READY,        /* the READY state bit must be set */
    P_NOT_READY,    /* ... must not be */
    P_EVENT,        /* the oldest unchecked event must be st (type) with id */
    P_LIST,         /* list(id = from, n = want) must return st */
    P_RETR,         /* retrieve(id, n = size_max) must return st */
    P_DELE,         /* remove(id) must return st */
    P_QUIT,         /* finish() must return st */
    P_ITEMS,        /* data: what the item callback saw since the last check */
    P_DATA,         /* data: what the data callback saw since the last check */
    P_FAILED,       /* failed with st; step (may be NULL) the error's phase; data (may
                       be NULL) a part of its subject; the only unchecked event is FAILED */
    P_CLOSED        /* QUIT answered; the only unchecked event is CLOSED */
} pop_t;

typedef struct {
    pop_t op;
    const char *data;
    uint32_t id;
    uint64_t n;
    int st;
    const char *step;
    /* P_SERVER in a transcript used by the "each step" tests: */
    int err_st;           /* the failure when this response is "-ERR" (0: not a failure) */
    const char *err_step; /* the step the error names */
    int cut_st;           /* the failure when the last octet never comes (0: CONNECTION_CLOSED) */
} pstep_t;

#define S(x)                        \
    {                               \
        .op = P_SERVER, .data = (x) \
    }
#define SX(x, est, estep, cst)                                                             \
    {                                                                                      \
        .op = P_SERVER, .data = (x), .err_st = (est), .err_step = (estep), .cut_st = (cst) \
    }
#define C(x)                        \
    {                               \
        .op = P_CLIENT, .data = (x) \
    }
#define NOTHING_SENT         \
    {                        \
        .op = P_NOTHING_SENT \
    }
#define TLS         \
    {               \
        .op = P_TLS \
    }
#define SERVER_EOF  \
    {               \
        .op = P_EOF \
    }
#define TIME(ms)                \
    {                           \
        .op = P_TIME, .n = (ms) \
    }
#define READY         \
    {                 \
        .op = P_READY \
    }
#define NOT_READY         \
    {                     \
        .op = P_NOT_READY \
    }
#define EV(type, i)                            \
    {                                          \
        .op = P_EVENT, .st = (type), .id = (i) \
    }
#define LIST(from, want)                        \
    {                                           \
        .op = P_LIST, .id = (from), .n = (want) \
    }
#define LIST_RC(from, want, rc)                             \
    {                                                       \
        .op = P_LIST, .id = (from), .n = (want), .st = (rc) \
    }
#define RETR(i, max)                        \
    {                                       \
        .op = P_RETR, .id = (i), .n = (max) \
    }
#define RETR_RC(i, rc)                      \
    {                                       \
        .op = P_RETR, .id = (i), .st = (rc) \
    }
#define DELE(i)                 \
    {                           \
        .op = P_DELE, .id = (i) \
    }
#define DELE_RC(i, rc)                      \
    {                                       \
        .op = P_DELE, .id = (i), .st = (rc) \
    }
#define QUIT         \
    {                \
        .op = P_QUIT \
    }
#define QUIT_RC(rc)              \
    {                            \
        .op = P_QUIT, .st = (rc) \
    }
#define ITEMS(x)                   \
    {                              \
        .op = P_ITEMS, .data = (x) \
    }
#define DATA(x)                   \
    {                             \
        .op = P_DATA, .data = (x) \
    }
#define FAILED(rc, stp, subj)                                     \
    {                                                             \
        .op = P_FAILED, .st = (rc), .step = (stp), .data = (subj) \
    }
#define CLOSED         \
    {                  \
        .op = P_CLOSED \
    }
#define END         \
    {               \
        .op = P_END \
    }

#define READY_EV EV(POSTIE_MAILBOX_EV_READY, 0)
#define LISTED   EV(POSTIE_MAILBOX_EV_LISTED, 0)
#define GOT(i)   EV(POSTIE_MAILBOX_EV_RETRIEVED, (i))
#define GONE(i)  EV(POSTIE_MAILBOX_EV_REMOVED, (i))

typedef struct {
    postie_pop3_config_t cfg;
    const pstep_t *steps;
    postie_status_t data_status; /* what the data callback returns (POSTIE_OK) */
    bool partial_ok;             /* items or data may be left unchecked (a failed transfer) */
} transcript_t;

typedef enum { MODE_WHOLE, MODE_BYTES, MODE_RANDOM } mode_t_;

typedef struct {
    mode_t_ mode;
    uint32_t rng;
    uint32_t now;
    postie_pop3_t p;
    const transcript_t *t;
    char wire[1 << 16];
    size_t wire_len;
    size_t wire_pos;
    postie_pop3_event_t events[64];
    size_t nevents;
    char items[4096];
    size_t items_len;
    char data[1 << 15];
    size_t data_len;
    char log[1 << 15];
    size_t log_len;
    char where[96];
} run_t;

static run_t run;

static postie_pop3_config_t config(void)
{
    postie_pop3_config_t cfg;
    postie_pop3_config_defaults(&cfg);
    cfg.tls_mode = POSTIE_TLS_NONE;
    cfg.allow_plaintext_auth = true;
    cfg.username = "alice";
    cfg.password = "s3cret";
    return cfg;
}

static void on_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    if (dir == POSTIE_LOG_RECEIVED) {
        return; /* the server may echo anything */
    }
    if (run.log_len + len + 1 < sizeof(run.log)) {
        memcpy(run.log + run.log_len, line, len);
        run.log_len += len;
        run.log[run.log_len++] = '\n';
    }
}

static postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
{
    char line[128];
    int n;
    (void)ctx;
    if (item->have == POSTIE_MAIL_ITEM_SIZE) {
        n = snprintf(line, sizeof(line), "%u:%llu;", item->id, (unsigned long long)item->size);
    } else if (item->have == POSTIE_MAIL_ITEM_UIDL) {
        n = snprintf(line, sizeof(line), "%u=%s;", item->id, item->uidl);
    } else {
        fail_msg("%s: item with have=%u", run.where, item->have);
        return POSTIE_E_BAD_STATE;
    }
    if (run.items_len + (size_t)n >= sizeof(run.items)) {
        fail_msg("%s: too many items", run.where);
    }
    memcpy(run.items + run.items_len, line, (size_t)n);
    run.items_len += (size_t)n;
    return POSTIE_OK;
}

static postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (len == 0) {
        fail_msg("%s: the data callback got an empty chunk", run.where);
    }
    if (run.t->data_status != POSTIE_OK) {
        return run.t->data_status;
    }
    if (run.data_len + len > sizeof(run.data)) {
        fail_msg("%s: more message data than the test holds", run.where);
    }
    memcpy(run.data + run.data_len, data, len);
    run.data_len += len;
    return POSTIE_OK;
}

static size_t piece(size_t avail)
{
    size_t n;
    if (avail == 0) {
        return 0;
    }
    switch (run.mode) {
    case MODE_BYTES:
        return 1;
    case MODE_RANDOM:
        run.rng = run.rng * 1103515245u + 12345u;
        n = 1 + (run.rng >> 16) % 23;
        return n < avail ? n : avail;
    default:
        return avail;
    }
}

static void take_events(void)
{
    postie_pop3_event_t ev;
    while (postie_pop3_next_event(&run.p, &ev)) {
        if (run.nevents >= sizeof(run.events) / sizeof(run.events[0])) {
            fail_msg("%s: too many unchecked events", run.where);
        }
        run.events[run.nevents++] = ev;
    }
}

static void drain_tx(void)
{
    for (int guard = 0; guard < 1000000; guard++) {
        size_t len;
        const uint8_t *buf;
        take_events();
        if (!(postie_pop3_state(&run.p) & POSTIE_POP3_HAVE_TX)) {
            return;
        }
        buf = postie_pop3_tx_buf(&run.p, &len);
        size_t n = piece(len);
        if (run.wire_len + n > sizeof(run.wire)) {
            fail_msg("%s: client wrote more than the test buffer holds", run.where);
        }
        memcpy(run.wire + run.wire_len, buf, n);
        run.wire_len += n;
        postie_pop3_tx_ack(&run.p, n, run.now);
    }
    fail_msg("%s: transmit loop did not end", run.where);
}

static void feed(const char *data, size_t len)
{
    size_t pos = 0;
    for (int guard = 0; pos < len && guard < 1000000; guard++) {
        size_t cap;
        uint8_t *w;
        uint32_t st = postie_pop3_state(&run.p);
        if (st & (POSTIE_POP3_FAILED | POSTIE_POP3_CLOSED)) {
            break; /* the engine stopped reading; the rest is never looked at */
        }
        w = postie_pop3_rx_buf(&run.p, &cap);
        if (cap == 0) {
            take_events();
            w = postie_pop3_rx_buf(&run.p, &cap);
            if (cap == 0) {
                fail_msg("%s: receive buffer stuck full", run.where);
            }
        }
        size_t n = piece(len - pos);
        if (n > cap) {
            n = cap;
        }
        memcpy(w, data + pos, n);
        (void)postie_pop3_rx_ack(&run.p, n, run.now);
        pos += n;
        take_events();
        drain_tx();
    }
}

static const char *ev_name(int type)
{
    static const char *const names[] = {"NONE",    "READY",  "LISTED", "RETRIEVED",
                                        "REMOVED", "CLOSED", "ALERT",  "FAILED"};
    return type >= 0 && type < 8 ? names[type] : "?";
}

static void take_event(int type, uint32_t id)
{
    take_events();
    if (run.nevents == 0) {
        fail_msg("%s: no event, expected %s %u (phase %s, error %s)", run.where, ev_name(type), id,
                 postie_pop3_phase_name(postie_pop3_phase(&run.p)),
                 postie_status_name(postie_pop3_error(&run.p)->status));
    }
    if ((int)run.events[0].type != type || run.events[0].id != id) {
        fail_msg("%s: event %s %u, expected %s %u (error %s)", run.where,
                 ev_name((int)run.events[0].type), run.events[0].id, ev_name(type), id,
                 postie_status_name(postie_pop3_error(&run.p)->status));
    }
    memmove(&run.events[0], &run.events[1], (run.nevents - 1) * sizeof(run.events[0]));
    run.nevents--;
}

static void show_wire_mismatch(const char *expected, size_t len)
{
    size_t have = run.wire_len - run.wire_pos;
    fail_msg("%s: client sent\n----\n%.*s\n---- expected\n%.*s\n----", run.where, (int)have,
             run.wire + run.wire_pos, (int)len, expected);
}

static void check_rc(const char *what, postie_status_t rc, int want)
{
    if (rc != (postie_status_t)want) {
        fail_msg("%s: %s gave %s, expected %s", run.where, what, postie_status_name(rc),
                 postie_status_name((postie_status_t)want));
    }
}

static void check_text(const char *what, const char *have, size_t have_len, const char *want)
{
    if (have_len != strlen(want) || memcmp(have, want, have_len) != 0) {
        fail_msg("%s: %s\n----\n%.*s\n---- expected\n%s\n----", run.where, what, (int)have_len,
                 have, want);
    }
}

static void play_once(const transcript_t *t, mode_t_ mode, uint32_t seed)
{
    static const char *const mode_names[] = {"whole", "byte by byte", "random splits"};
    postie_pop3_config_t cfg = t->cfg;

    memset(&run, 0, sizeof(run));
    run.mode = mode;
    run.rng = seed;
    run.now = 1000;
    run.t = t;
    cfg.log = on_log;
    assert_int_equal(postie_pop3_init(&run.p, &cfg), POSTIE_OK);
    assert_int_equal(postie_pop3_start(&run.p, run.now), POSTIE_OK);

    for (size_t i = 0; t->steps[i].op != P_END; i++) {
        const pstep_t *st = &t->steps[i];
        size_t len = st->data ? strlen(st->data) : 0;
        const postie_error_t *err = postie_pop3_error(&run.p);

        snprintf(run.where, sizeof(run.where), "step %zu (%s, seed %u)", i, mode_names[mode], seed);
        switch (st->op) {
        case P_SERVER:
            feed(st->data, len);
            break;
        case P_CLIENT:
            drain_tx();
            if (run.wire_len - run.wire_pos < len ||
                memcmp(run.wire + run.wire_pos, st->data, len) != 0) {
                show_wire_mismatch(st->data, len);
            }
            run.wire_pos += len;
            break;
        case P_NOTHING_SENT:
            drain_tx();
            if (run.wire_len != run.wire_pos) {
                show_wire_mismatch("", 0);
            }
            break;
        case P_TLS:
            drain_tx();
            if (!(postie_pop3_state(&run.p) & POSTIE_POP3_NEED_TLS)) {
                fail_msg("%s: engine did not ask for TLS (phase %s, error %s)", run.where,
                         postie_pop3_phase_name(postie_pop3_phase(&run.p)),
                         postie_status_name(err->status));
            }
            assert_int_equal(postie_pop3_tls_done(&run.p, run.now), POSTIE_OK);
            drain_tx();
            break;
        case P_EOF:
            postie_pop3_rx_eof(&run.p);
            take_events();
            break;
        case P_TIME:
            drain_tx();
            run.now += (uint32_t)st->n;
            (void)postie_pop3_poll(&run.p, run.now);
            take_events();
            break;
        case P_READY:
        case P_NOT_READY:
            drain_tx();
            if (!(postie_pop3_state(&run.p) & POSTIE_POP3_READY) != (st->op == P_NOT_READY)) {
                fail_msg("%s: READY is %s (phase %s, error %s)", run.where,
                         st->op == P_READY ? "off" : "on",
                         postie_pop3_phase_name(postie_pop3_phase(&run.p)),
                         postie_status_name(err->status));
            }
            break;
        case P_EVENT:
            drain_tx();
            take_event(st->st, st->id);
            break;
        case P_LIST:
            drain_tx();
            check_rc("list",
                     postie_pop3_list(&run.p, st->id, (uint32_t)st->n, on_item, NULL, run.now),
                     st->st);
            drain_tx();
            break;
        case P_RETR:
            drain_tx();
            check_rc("retrieve",
                     postie_pop3_retrieve(&run.p, st->id, st->n, on_data, NULL, run.now), st->st);
            drain_tx();
            break;
        case P_DELE:
            drain_tx();
            check_rc("remove", postie_pop3_remove(&run.p, st->id, run.now), st->st);
            drain_tx();
            break;
        case P_QUIT:
            drain_tx();
            check_rc("finish", postie_pop3_finish(&run.p, run.now), st->st);
            drain_tx();
            break;
        case P_ITEMS:
            check_text("items", run.items, run.items_len, st->data);
            run.items_len = 0;
            break;
        case P_DATA:
            check_text("message data", run.data, run.data_len, st->data);
            run.data_len = 0;
            break;
        case P_FAILED:
            take_events();
            if (!(postie_pop3_state(&run.p) & POSTIE_POP3_FAILED)) {
                fail_msg("%s: session did not fail (phase %s)", run.where,
                         postie_pop3_phase_name(postie_pop3_phase(&run.p)));
            }
            if (err->status != (postie_status_t)st->st) {
                fail_msg("%s: failed with %s (%s: %s), expected %s", run.where,
                         postie_status_name(err->status), err->phase, err->subject,
                         postie_status_name((postie_status_t)st->st));
            }
            if (st->step != NULL && strcmp(err->phase, st->step) != 0) {
                fail_msg("%s: error names step \"%s\", expected \"%s\"", run.where, err->phase,
                         st->step);
            }
            if (st->data != NULL && strstr(err->subject, st->data) == NULL &&
                strstr(err->reply.text, st->data) == NULL) {
                fail_msg("%s: error subject \"%s\" / text \"%s\" lacks \"%s\"", run.where,
                         err->subject, err->reply.text, st->data);
            }
            take_event(POSTIE_MAILBOX_EV_FAILED, 0);
            if (run.nevents != 0) {
                fail_msg("%s: an event after FAILED: %s", run.where,
                         ev_name((int)run.events[0].type));
            }
            break;
        case P_CLOSED:
            take_event(POSTIE_MAILBOX_EV_CLOSED, 0);
            if (!(postie_pop3_state(&run.p) & POSTIE_POP3_CLOSED) || run.nevents != 0) {
                fail_msg("%s: not closed, or events left", run.where);
            }
            break;
        case P_END:
            break;
        }
    }
    snprintf(run.where, sizeof(run.where), "end (%s, seed %u)", mode_names[mode], seed);
    take_events();
    if (run.nevents != 0) {
        fail_msg("%s: unchecked event %s %u", run.where, ev_name((int)run.events[0].type),
                 run.events[0].id);
    }
    if (!t->partial_ok && (run.items_len != 0 || run.data_len != 0)) {
        fail_msg("%s: unchecked items or message data", run.where);
    }
}

static void play(const transcript_t *t)
{
    play_once(t, MODE_WHOLE, 0);
    play_once(t, MODE_BYTES, 0);
    for (uint32_t seed = 1; seed <= 8; seed++) {
        play_once(t, MODE_RANDOM, seed * 7919u);
    }
}

/* ---- the happy paths ------------------------------------------------------------ */

#define AUTH_ALICE "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n" /* \0alice\0s3cret */

static void test_pipelined_session(void **state)
{
    static const pstep_t steps[] = {
        S("+OK POP3 server ready\r\n"),
        C("CAPA\r\n"),
        S("+OK Capability list follows\r\nUSER\r\nSASL PLAIN LOGIN\r\nPIPELINING\r\nUIDL\r\n"
          "RESP-CODES\r\n.\r\n"),
        C(AUTH_ALICE),
        S("+OK Logged in.\r\n"),
        C("STAT\r\n"),
        S("+OK 2 320\r\n"),
        READY_EV,
        READY,
        LIST(1, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL),
        C("LIST\r\nUIDL\r\n"),
        S("+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
          "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"),
        LISTED,
        ITEMS("1:120;2:200;1=whqtswO00WBw418f9t5JxYwZ;2=QhdPYR:00WBw1Ph7x7;"),
        RETR(1, 0),
        C("RETR 1\r\n"),
        READY, /* pipelining: more may follow while RETR 1 awaits its answer */
        S("+OK 120 octets\r\nSubject: hi\r\n\r\n..dot line\r\n...\r\n.\r\n"),
        GOT(1),
        DATA("Subject: hi\r\n\r\n.dot line\r\n..\r\n"),
        DELE(1),
        RETR(2, 0),
        C("DELE 1\r\nRETR 2\r\n"),
        S("+OK message 1 deleted\r\n+OK\r\nbody\r\n.\r\n"),
        GONE(1),
        GOT(2),
        DATA("body\r\n"),
        DELE(2),
        QUIT,
        C("DELE 2\r\nQUIT\r\n"),
        NOT_READY,
        S("+OK\r\n+OK bye\r\n"),
        GONE(2),
        CLOSED,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    assert_int_equal(postie_pop3_info(&run.p)->messages, 2);
    assert_int_equal(postie_pop3_info(&run.p)->octets, 320);
    assert_string_equal(postie_pop3_info(&run.p)->capabilities,
                        "USER SASL PLAIN LOGIN PIPELINING UIDL RESP-CODES");
    assert_true(postie_pop3_caps(&run.p)->flags & POSTIE_POP3_CAP_PIPELINING);
}

/* Without PIPELINING: one command at a time; UIDL goes after LIST's answer. */
static const pstep_t plain_session[] = {
    SX("+OK POP3 server ready\r\n", POSTIE_E_COMMAND_REFUSED, "greeting", 0),
    C("CAPA\r\n"),
    SX("+OK\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n.\r\n", 0, "CAPA", 0),
    C(AUTH_ALICE),
    SX("+OK Logged in.\r\n", POSTIE_E_AUTH_FAILED, "AUTH PLAIN", 0),
    C("STAT\r\n"),
    SX("+OK 2 320\r\n", POSTIE_E_COMMAND_REFUSED, "STAT", 0),
    READY_EV,
    LIST(1, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL),
    C("LIST\r\n"),
    NOT_READY,
    SX("+OK\r\n1 120\r\n2 200\r\n.\r\n", POSTIE_E_COMMAND_REFUSED, "LIST", 0),
    C("UIDL\r\n"),
    SX("+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n", POSTIE_E_COMMAND_REFUSED, "UIDL", 0),
    LISTED,
    ITEMS("1:120;2:200;1=aaa;2=bbb;"),
    RETR(1, 0),
    C("RETR 1\r\n"),
    NOT_READY,
    DELE_RC(1, POSTIE_E_BAD_STATE),
    SX("+OK\r\nline one\r\n.\r\n", POSTIE_E_COMMAND_REFUSED, "RETR", POSTIE_E_MESSAGE_TRUNCATED),
    GOT(1),
    DATA("line one\r\n"),
    DELE(1),
    C("DELE 1\r\n"),
    SX("+OK deleted\r\n", POSTIE_E_COMMAND_REFUSED, "DELE", 0),
    GONE(1),
    QUIT,
    C("QUIT\r\n"),
    SX("+OK bye\r\n", POSTIE_E_COMMAND_REFUSED, "QUIT", 0),
    CLOSED,
    END,
};

static void test_session_without_pipelining(void **state)
{
    transcript_t t = {.cfg = config(), .steps = plain_session};
    (void)state;
    play(&t);
}

/* use_pipelining off: PIPELINING offered is not used. */
static void test_pipelining_switched_off(void **state)
{
    static const pstep_t steps[] = {
        S("+OK hi\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL PLAIN\r\nPIPELINING\r\n.\r\n"),
        C(AUTH_ALICE),
        S("+OK\r\n"),
        C("STAT\r\n"),
        S("+OK 1 10\r\n"),
        READY_EV,
        LIST(1, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL),
        C("LIST\r\n"),
        NOTHING_SENT,
        S("+OK\r\n1 10\r\n.\r\n"),
        C("UIDL\r\n"),
        S("+OK\r\n1 x\r\n.\r\n"),
        LISTED,
        ITEMS("1:10;1=x;"),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.use_pipelining = false;
    play(&t);
}

/* An old server: CAPA refused, USER/PASS, no PIPELINING. */
static void test_old_server_user_pass(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("-ERR unknown command\r\n"),
        C("USER alice\r\n"),
        S("+OK\r\n"),
        C("PASS s3cret\r\n"),
        S("+OK maildrop locked and ready\r\n"),
        C("STAT\r\n"),
        S("+OK 0 0\r\n"),
        READY_EV,
        RETR_RC(1, POSTIE_E_INVALID_ARGUMENT), /* an empty mailbox */
        DELE_RC(0, POSTIE_E_INVALID_ARGUMENT),
        LIST(1, POSTIE_MAIL_ITEM_SIZE),
        C("LIST\r\n"),
        S("+OK 0 messages\r\n.\r\n"),
        LISTED,
        QUIT,
        C("QUIT\r\n"),
        S("+OK\r\n"),
        CLOSED,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    assert_int_equal(postie_pop3_caps(&run.p)->flags, 0);
    assert_true(strstr(run.log, "USER <redacted>") != NULL);
    assert_true(strstr(run.log, "PASS <redacted>") != NULL);
    assert_null(strstr(run.log, "s3cret"));
}

/* CAPA lists USER only (no SASL): USER/PASS. */
static void test_user_pass_when_no_sasl(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nTOP\r\n.\r\n"),
        C("USER alice\r\n"),
        S("+OK\r\n"),
        C("PASS s3cret\r\n"),
        SX("-ERR [AUTH] Invalid password\r\n", 0, NULL, 0),
        FAILED(POSTIE_E_AUTH_FAILED, "PASS", "[AUTH] Invalid password"),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    assert_string_equal(postie_pop3_error(&run.p)->reply.enhanced, "AUTH");
    assert_string_equal(postie_pop3_error(&run.p)->reply.text, "[AUTH] Invalid password");
}

/* CAPA answered, but neither USER nor a usable SASL mechanism. */
static void test_no_login_mechanism(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL CRAM-MD5\r\n.\r\n"),
        FAILED(POSTIE_E_AUTH_NO_MECHANISM, NULL, NULL),
        NOTHING_SENT,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
}

/* sasl_allowed 0: AUTH PLAIN offered but not used; USER/PASS instead. */
static void test_sasl_not_allowed(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),  C("CAPA\r\n"), S("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"),
        C("USER alice\r\n"), END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.sasl_allowed = 0;
    play(&t);
}

/* ---- APOP ------------------------------------------------------------------------- */

static void test_apop(void **state)
{
    /* RFC 1939 section 7's example */
    static const pstep_t steps[] = {
        S("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"),
        C("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
        S("+OK mrose's maildrop has 2 messages (320 octets)\r\n"),
        C("STAT\r\n"),
        S("+OK 2 320\r\n"),
        READY_EV,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.username = "mrose";
    t.cfg.password = "tanstaaf";
    t.cfg.use_apop = true;
    play(&t);
    assert_true(postie_pop3_caps(&run.p)->flags & POSTIE_POP3_CAP_APOP);
    assert_true(strstr(run.log, "APOP <redacted>") != NULL);
    assert_null(strstr(run.log, "c4c9334bac560ecc979e58001b3e22fb"));
    assert_null(strstr(run.log, "tanstaaf"));
}

static void test_apop_refused(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready <1.2@host>\r\n"),
        C("CAPA\r\n"),
        S("-ERR\r\n"),
        C("APOP alice 24ae6df46902720ba5461579f016f704\r\n"),
        S("-ERR [IN-USE] maildrop already locked\r\n"),
        FAILED(POSTIE_E_MAILBOX_IN_USE, "APOP", "maildrop already locked"),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.use_apop = true;
    play(&t);
    assert_true(postie_status_is_transient(POSTIE_E_MAILBOX_IN_USE));
}

/* The account enables APOP but the greeting has no timestamp, or the
 * timestamp is there but the account does not enable APOP: no APOP. */
static void test_apop_only_when_enabled_and_offered(void **state)
{
    static const pstep_t no_stamp[] = {
        S("+OK ready\r\n"), C("CAPA\r\n"), S("+OK\r\nSASL PLAIN\r\n.\r\n"), C(AUTH_ALICE), END,
    };
    static const pstep_t not_enabled[] = {
        S("+OK ready <1.2@host>\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL PLAIN\r\n.\r\n"),
        C(AUTH_ALICE),
        END,
    };
    static const pstep_t bad_stamp[] = {
        S("+OK ready <1 2@host>\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL PLAIN\r\n.\r\n"),
        C(AUTH_ALICE),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = no_stamp};
    (void)state;
    t.cfg.use_apop = true;
    play(&t);
    t.steps = bad_stamp;
    play(&t);
    t.cfg.use_apop = false;
    t.steps = not_enabled;
    play(&t);
}

/* ---- AUTH PLAIN ------------------------------------------------------------------- */

static char long_user[201];
static char long_auth[600];

/* Credentials too long for the AUTH line (255 octets): the response goes
 * after the "+ " continuation. */
static void test_auth_plain_without_initial_response(void **state)
{
    uint8_t raw[300];
    size_t n = 0;
    size_t written = 0;
    (void)state;
    memset(long_user, 'u', 200);
    long_user[200] = '\0';
    raw[n++] = 0;
    memcpy(raw + n, long_user, 200);
    n += 200;
    raw[n++] = 0;
    memcpy(raw + n, "s3cret", 6);
    n += 6;
    assert_int_equal(postie_base64_encode(raw, n, long_auth, sizeof(long_auth) - 2, &written),
                     POSTIE_OK);
    memcpy(long_auth + written, "\r\n", 3);
    {
        const pstep_t steps[] = {
            S("+OK ready\r\n"),
            C("CAPA\r\n"),
            S("+OK\r\nSASL PLAIN\r\n.\r\n"),
            C("AUTH PLAIN\r\n"),
            S("+ \r\n"),
            C(long_auth),
            S("+OK\r\n"),
            C("STAT\r\n"),
            S("+OK 0 0\r\n"),
            READY_EV,
            END,
        };
        const pstep_t extra_challenge[] = {
            S("+OK ready\r\n"),
            C("CAPA\r\n"),
            S("+OK\r\nSASL PLAIN\r\n.\r\n"),
            C("AUTH PLAIN\r\n"),
            S("+\r\n"),
            C(long_auth),
            S("+ bW9yZQ==\r\n"),
            FAILED(POSTIE_E_REPLY_UNEXPECTED, "AUTH PLAIN", NULL),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps};
        t.cfg.username = long_user;
        play(&t);
        assert_true(strstr(run.log, "AUTH PLAIN\n<redacted>\n") != NULL);
        {
            char probe[41];
            memcpy(probe, long_auth, 40);
            probe[40] = '\0';
            assert_null(strstr(run.log, probe));
        }
        t.steps = extra_challenge;
        play(&t);
    }
}

/* A challenge after the initial response: PLAIN has nothing more to say. */
static void test_auth_plain_unexpected_challenge(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"), C("CAPA\r\n"), S("+OK\r\nSASL PLAIN\r\n.\r\n"),
        C(AUTH_ALICE),      S("+ \r\n"),   FAILED(POSTIE_E_REPLY_UNEXPECTED, "AUTH PLAIN", NULL),
        NOTHING_SENT,       END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    assert_true(strstr(run.log, "AUTH PLAIN <redacted>") != NULL);
    assert_null(strstr(run.log, "AGFsaWNlAHMzY3JldA=="));
}

/* RFC 2449/3206 response codes to a login. */
static void test_login_response_codes(void **state)
{
    static const struct {
        const char *line;
        postie_status_t st;
        const char *code;
    } v[] = {
        {"-ERR [IN-USE] Mailbox locked\r\n", POSTIE_E_MAILBOX_IN_USE, "IN-USE"},
        {"-ERR [SYS/TEMP] Try later\r\n", POSTIE_E_MAILBOX_IN_USE, "SYS/TEMP"},
        {"-ERR [SYS/TEMP/DISK] Try later\r\n", POSTIE_E_MAILBOX_IN_USE, "SYS/TEMP/DISK"},
        {"-ERR [SYS/PERM] Broken\r\n", POSTIE_E_AUTH_FAILED, "SYS/PERM"},
        {"-ERR [LOGIN-DELAY] Wait\r\n", POSTIE_E_AUTH_TEMPORARY, "LOGIN-DELAY"},
        {"-ERR [AUTH] Bad password\r\n", POSTIE_E_AUTH_FAILED, "AUTH"},
        {"-ERR [IN-USEX] odd\r\n", POSTIE_E_AUTH_FAILED, "IN-USEX"},
        {"-ERR Bad password\r\n", POSTIE_E_AUTH_FAILED, ""},
        {"-ERR\r\n", POSTIE_E_AUTH_FAILED, ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const pstep_t steps[] = {
            S("+OK ready\r\n"),
            C("CAPA\r\n"),
            S("+OK\r\nSASL PLAIN\r\n.\r\n"),
            C(AUTH_ALICE),
            S(v[i].line),
            FAILED(v[i].st, "AUTH PLAIN", NULL),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps};
        play(&t);
        assert_string_equal(postie_pop3_error(&run.p)->reply.enhanced, v[i].code);
    }
}

/* ---- STLS -------------------------------------------------------------------------- */

static void test_stls(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSTLS\r\nUSER\r\nPIPELINING\r\n.\r\n"),
        C("STLS\r\n"),
        S("+OK Begin TLS negotiation now.\r\n"),
        TLS,
        C("CAPA\r\n"), /* asked again; what came before is forgotten */
        S("+OK\r\nSASL PLAIN\r\nUIDL\r\n.\r\n"),
        C(AUTH_ALICE),
        S("+OK\r\n"),
        C("STAT\r\n"),
        S("+OK 1 5\r\n"),
        READY_EV,
        RETR(1, 0),
        C("RETR 1\r\n"),
        NOT_READY, /* PIPELINING was only offered before TLS */
        S("+OK\r\n.\r\n"),
        GOT(1),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    t.cfg.allow_plaintext_auth = false;
    play(&t);
    assert_true(postie_pop3_info(&run.p)->secure);
    assert_false(postie_pop3_caps(&run.p)->flags & POSTIE_POP3_CAP_STLS);
    assert_string_equal(postie_pop3_info(&run.p)->capabilities, "SASL PLAIN UIDL");
}

/* TLS required, STLS not offered: stop before any credential. */
static void test_stls_required_not_offered(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready <1.2@host>\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"),
        FAILED(POSTIE_E_STARTTLS_UNAVAILABLE, "CAPA", NULL),
        NOTHING_SENT,
        END,
    };
    static const pstep_t old_server[] = {
        S("+OK ready\r\n"),  C("CAPA\r\n"),
        S("-ERR what?\r\n"), FAILED(POSTIE_E_STARTTLS_UNAVAILABLE, NULL, NULL),
        NOTHING_SENT,        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    t.cfg.allow_plaintext_auth = true; /* even so: TLS was required */
    t.cfg.use_apop = true;
    play(&t);
    t.steps = old_server;
    play(&t);
    assert_null(strstr(run.log, "alice"));
}

/* Bytes after the +OK to STLS, before the handshake: command injection. */
static void test_stls_injection(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSTLS\r\n.\r\n"),
        C("STLS\r\n"),
        S("+OK Begin TLS\r\n+OK injected\r\n"),
        FAILED(POSTIE_E_STARTTLS_INJECTION, "STLS", NULL),
        NOTHING_SENT,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    play(&t);
}

static void test_stls_refused(void **state)
{
    static const pstep_t required[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
        C("STLS\r\n"),
        S("-ERR TLS unavailable\r\n"),
        FAILED(POSTIE_E_STARTTLS_REFUSED, "STLS", "TLS unavailable"),
        NOTHING_SENT,
        END,
    };
    static const pstep_t opportunistic[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
        C("STLS\r\n"),
        S("-ERR no\r\n"),
        C("USER alice\r\n"),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = required};
    (void)state;
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    play(&t);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
    t.steps = opportunistic;
    play(&t);
    /* opportunistic without allow_plaintext_auth: no credential in clear */
    {
        static const pstep_t refused[] = {
            S("+OK ready\r\n"),
            C("CAPA\r\n"),
            S("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
            C("STLS\r\n"),
            S("-ERR no\r\n"),
            FAILED(POSTIE_E_AUTH_CLEARTEXT_REFUSED, NULL, NULL),
            NOTHING_SENT,
            END,
        };
        t.cfg.allow_plaintext_auth = false;
        t.steps = refused;
        play(&t);
    }
}

/* No TLS and no allow_plaintext_auth: no login of any kind, APOP included. */
static void test_no_credentials_in_clear(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready <1.2@host>\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"),
        FAILED(POSTIE_E_AUTH_CLEARTEXT_REFUSED, NULL, NULL),
        NOTHING_SENT,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.allow_plaintext_auth = false;
    t.cfg.use_apop = true;
    play(&t);
}

/* Implicit TLS (POP3S): secure from the start; no STLS, login allowed. */
static void test_implicit_tls(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"), C("CAPA\r\n"), S("+OK\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"),
        C(AUTH_ALICE),      END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.tls_mode = POSTIE_TLS_IMPLICIT;
    t.cfg.allow_plaintext_auth = false;
    play(&t);
    assert_true(postie_pop3_info(&run.p)->secure);
}

/* No username: CAPA only, then READY (a capability probe); QUIT. */
static void test_capability_probe(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\n.\r\n"),
        READY_EV,
        RETR_RC(1, POSTIE_E_BAD_STATE),
        LIST_RC(1, POSTIE_MAIL_ITEM_SIZE, POSTIE_E_BAD_STATE),
        QUIT,
        C("QUIT\r\n"),
        S("+OK\r\n"),
        CLOSED,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    t.cfg.username = NULL;
    t.cfg.password = NULL;
    play(&t);
}

/* ---- message data ----------------------------------------------------------------- */

#define LOGGED_IN(count)                                                              \
    S("+OK ready\r\n"), C("CAPA\r\n"), S("+OK\r\nSASL PLAIN\r\nPIPELINING\r\n.\r\n"), \
        C(AUTH_ALICE), S("+OK\r\n"), C("STAT\r\n"), S("+OK " count " 1000\r\n"), READY_EV

static void test_dot_unstuffing(void **state)
{
    static const pstep_t steps[] = {
        LOGGED_IN("1"),
        RETR(1, 0),
        C("RETR 1\r\n"),
        /* ".." -> ".", ".x" -> "x" (RFC 1939: the first dot goes), ". " -> " ",
         * a dot mid-line stays, an empty line stays, "." alone ends */
        S("+OK\r\n..\r\n.x\r\n. y\r\na.b\r\n\r\n...\r\n.\r\n"),
        GOT(1),
        DATA(".\r\nx\r\n y\r\na.b\r\n\r\n..\r\n"),
        END,
    };
    static const pstep_t empty[] = {
        LOGGED_IN("1"), RETR(1, 0), C("RETR 1\r\n"), S("+OK 0 octets\r\n.\r\n"), GOT(1), END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    t.steps = empty;
    play(&t);
}

/* Lines far longer than the receive buffer (and than any response line)
 * stream in pieces. */
static char long_server[3 * POSTIE_POP3_RX_BUFFER_SIZE + 200];
static char long_data[3 * POSTIE_POP3_RX_BUFFER_SIZE + 200];

static void test_long_data_lines_stream(void **state)
{
    size_t n = 0;
    size_t d = 0;
    size_t line = 2 * POSTIE_POP3_RX_BUFFER_SIZE + 17;
    (void)state;
    n += (size_t)snprintf(long_server, sizeof(long_server), "+OK\r\n..");
    d += (size_t)snprintf(long_data, sizeof(long_data), ".");
    memset(long_server + n, 'x', line);
    memset(long_data + d, 'x', line);
    n += line;
    d += line;
    n += (size_t)snprintf(long_server + n, sizeof(long_server) - n, "\r\nshort\r\n.\r\n");
    d += (size_t)snprintf(long_data + d, sizeof(long_data) - d, "\r\nshort\r\n");
    {
        const pstep_t steps[] = {
            LOGGED_IN("1"),  RETR(1, 0), C("RETR 1\r\n"), S(long_server), GOT(1),
            DATA(long_data), END,
        };
        transcript_t t = {.cfg = config(), .steps = steps};
        play(&t);
    }
}

/* The end of a message and the next pipelined answer in one segment. */
static void test_retrieve_then_next_answer_together(void **state)
{
    static const pstep_t steps[] = {
        LOGGED_IN("2"),
        RETR(1, 0),
        RETR(2, 0),
        DELE(1),
        C("RETR 1\r\nRETR 2\r\nDELE 1\r\n"),
        S("+OK\r\na\r\n.\r\n+OK\r\n.b\r\n.\r\n+OK\r\n"),
        GOT(1),
        GOT(2),
        GONE(1),
        DATA("a\r\nb\r\n"),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
}

/* A RETR that ends without ".\r\n" is never a complete message. */
static void test_retrieve_truncated(void **state)
{
    static const char *const cuts[] = {
        "+OK\r\npartial\r\n",  "+OK\r\npartial",        "+OK\r\npartial\r",
        "+OK\r\npartial\r\n.", "+OK\r\npartial\r\n.\r", "+OK\r\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        const pstep_t steps[] = {
            LOGGED_IN("1"),
            RETR(1, 0),
            C("RETR 1\r\n"),
            S(cuts[i]),
            SERVER_EOF,
            FAILED(POSTIE_E_MESSAGE_TRUNCATED, "RETR", "message 1"),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps, .partial_ok = true};
        play(&t);
        run.data_len = 0;
    }
}

/* The transport fails during data (a reset, a TLS error): truncated too. */
static void test_retrieve_transport_failure(void **state)
{
    static const pstep_t steps[] = {
        LOGGED_IN("1"), RETR(1, 0), C("RETR 1\r\n"), S("+OK\r\nsome\r\n"), DATA("some\r\n"), END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    postie_pop3_transport_failed(&run.p, POSTIE_E_CONNECTION_RESET, "receiving");
    assert_int_equal(postie_pop3_error(&run.p)->status, POSTIE_E_MESSAGE_TRUNCATED);
    assert_string_equal(postie_pop3_error(&run.p)->phase, "RETR");
    assert_string_equal(postie_pop3_error(&run.p)->subject, "message 1: receiving");
}

static void test_bad_message_data(void **state)
{
    static const struct {
        const char *data;
        const char *why;
    } v[] = {
        {"+OK\r\nbare\nLF\r\n.\r\n", "bare LF"},
        {"+OK\r\nbare\rCR\r\n.\r\n", "bare CR"},
        {"+OK\r\n.\rx\r\n.\r\n", "bare CR"},
        {"+OK\r\n.\n", "bare LF"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const pstep_t steps[] = {
            LOGGED_IN("1"),
            RETR(1, 0),
            C("RETR 1\r\n"),
            S(v[i].data),
            FAILED(POSTIE_E_REPLY_MALFORMED, "RETR", v[i].why),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps, .partial_ok = true};
        play(&t);
        run.data_len = 0;
    }
}

/* A NUL in message data (fed by hand: the transcript strings end at NULs). */
static void test_nul_in_message_data(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("1"), RETR(1, 0), C("RETR 1\r\n"), END};
    static const char bytes[] = "+OK\r\nnul\0here\r\n.\r\n";
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    feed(bytes, sizeof(bytes) - 1);
    assert_int_equal(postie_pop3_error(&run.p)->status, POSTIE_E_REPLY_MALFORMED);
    assert_string_equal(postie_pop3_error(&run.p)->subject, "message 1: NUL octet in message data");
}

static void test_size_max(void **state)
{
    static const pstep_t announced[] = {
        LOGGED_IN("1"),
        RETR(1, 1000),
        C("RETR 1\r\n"),
        S("+OK 5000 octets\r\n"),
        FAILED(POSTIE_E_MESSAGE_TOO_LARGE, "RETR", "5000 octets announced"),
        END,
    };
    static const pstep_t received[] = {
        LOGGED_IN("1"),
        RETR(1, 10),
        C("RETR 1\r\n"),
        S("+OK 3 octets\r\n0123456789\r\n.\r\n"), /* the announced size is advisory */
        FAILED(POSTIE_E_MESSAGE_TOO_LARGE, "RETR", "more than 10 octets"),
        END,
    };
    static const pstep_t exact[] = {
        LOGGED_IN("1"),
        RETR(1, 10),
        C("RETR 1\r\n"),
        S("+OK 10 octets\r\n01234567\r\n.\r\n"),
        GOT(1),
        DATA("01234567\r\n"),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = announced};
    (void)state;
    play(&t);
    t.steps = received;
    t.partial_ok = true;
    play(&t);
    t.partial_ok = false;
    t.steps = exact;
    play(&t);
}

static void test_data_callback_fails(void **state)
{
    static const pstep_t steps[] = {
        LOGGED_IN("1"),
        RETR(1, 0),
        C("RETR 1\r\n"),
        S("+OK\r\nabc\r\n.\r\n"),
        FAILED(POSTIE_E_ARCHIVE_FAILED, "storing the message", NULL),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps, .data_status = POSTIE_E_ARCHIVE_FAILED};
    (void)state;
    play(&t);
}

/* ---- listings --------------------------------------------------------------------- */

static void test_list_from_id(void **state)
{
    static const pstep_t steps[] = {
        LOGGED_IN("3"),
        LIST(2, POSTIE_MAIL_ITEM_UIDL),
        C("UIDL\r\n"),
        S("+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n"),
        LISTED,
        ITEMS("2=b;3=c;"),
        LIST(3, POSTIE_MAIL_ITEM_SIZE),
        C("LIST\r\n"),
        /* a deleted message is not listed; more may follow the size */
        S("+OK\r\n1 10\r\n3 30 extra words\r\n.\r\n"),
        LISTED,
        ITEMS("3:30;"),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
}

static void test_bogus_listings(void **state)
{
    static const struct {
        const char *list;
        const char *why;
        const char *items;
    } v[] = {
        {"+OK\r\n0 10\r\n.\r\n", "message number 0", ""},
        {"+OK\r\n1a 10\r\n.\r\n", "not a decimal number", ""},
        {"+OK\r\n-1 10\r\n.\r\n", "not a decimal number", ""},
        {"+OK\r\n 1 10\r\n.\r\n", "not a decimal number", ""},
        {"+OK\r\n4294967296 10\r\n.\r\n", "not a decimal number", ""},
        {"+OK\r\n99999999999999999999999 10\r\n.\r\n", "not a decimal number", ""},
        {"+OK\r\n2 10\r\n1 10\r\n.\r\n", "out of order", "2:10;"},
        {"+OK\r\n1 10\r\n1 10\r\n.\r\n", "listed twice", "1:10;"},
        {"+OK\r\n4 10\r\n.\r\n", "beyond the STAT count", ""},
        {"+OK\r\n1\r\n.\r\n", "no space", ""},
        {"+OK\r\n1 \r\n.\r\n", "size is not", ""},
        {"+OK\r\n1 x\r\n.\r\n", "size is not", ""},
        {"+OK\r\n1 99999999999999999999\r\n.\r\n", "size is not", ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const pstep_t steps[] = {
            LOGGED_IN("3"),
            LIST(1, POSTIE_MAIL_ITEM_SIZE),
            C("LIST\r\n"),
            S(v[i].list),
            FAILED(POSTIE_E_REPLY_MALFORMED, "LIST", v[i].why),
            ITEMS(v[i].items),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps};
        play(&t);
    }
}

static char uidl71[100];

static void test_bogus_uidls(void **state)
{
    static const struct {
        const char *list;
        const char *why;
    } v[] = {
        {"+OK\r\n0 abc\r\n.\r\n", "message number 0"},
        {"+OK\r\n1 \r\n.\r\n", "1..70 octets"},
        {"+OK\r\n1 a b\r\n.\r\n", "outside 0x21..0x7E"},
        {"+OK\r\n1 caf\xc3\xa9\r\n.\r\n", "outside 0x21..0x7E"},
        {"+OK\r\n1 a\x7f\r\n.\r\n", "outside 0x21..0x7E"},
        {"+OK\r\n2 a\r\n2 b\r\n.\r\n", "listed twice"},
        {"+OK\r\n3 a\r\n2 b\r\n.\r\n", "out of order"},
        {uidl71, "1..70 octets"},
    };
    size_t n = (size_t)snprintf(uidl71, sizeof(uidl71), "+OK\r\n1 ");
    (void)state;
    memset(uidl71 + n, 'u', 71);
    memcpy(uidl71 + n + 71, "\r\n.\r\n", 6);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const pstep_t steps[] = {
            LOGGED_IN("3"),
            LIST(1, POSTIE_MAIL_ITEM_UIDL),
            C("UIDL\r\n"),
            S(v[i].list),
            FAILED(POSTIE_E_REPLY_MALFORMED, "UIDL", v[i].why),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps, .partial_ok = true};
        play(&t);
        run.items_len = 0;
    }
    /* exactly 70 octets is fine */
    memcpy(uidl71 + n + 70, "\r\n.\r\n", 6);
    {
        const pstep_t steps[] = {
            LOGGED_IN("3"), LIST(1, POSTIE_MAIL_ITEM_UIDL), C("UIDL\r\n"), S(uidl71), LISTED, END,
        };
        transcript_t t = {.cfg = config(), .steps = steps, .partial_ok = true};
        play(&t);
        assert_int_equal(run.items_len, strlen("1=;") + 70);
        run.items_len = 0;
    }
}

static postie_status_t refuse_item(void *ctx, const postie_mail_item_t *item)
{
    (void)ctx;
    (void)item;
    return POSTIE_E_FETCH_STATE;
}

/* An item callback that fails ends the session with its status. */
static void test_item_callback_fails(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("1"), END};
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    assert_int_equal(postie_pop3_list(&run.p, 1, POSTIE_MAIL_ITEM_SIZE, refuse_item, NULL, run.now),
                     POSTIE_OK);
    drain_tx();
    feed("+OK\r\n1 10\r\n.\r\n", 14);
    assert_int_equal(postie_pop3_error(&run.p)->status, POSTIE_E_FETCH_STATE);
    assert_string_equal(postie_pop3_error(&run.p)->phase, "listing");
}

/* ---- malformed responses, line limits ------------------------------------------- */

static char long_line[POSTIE_POP3_LINE_MAX + 10];
static char max_line[POSTIE_POP3_LINE_MAX + 10];

static void test_malformed_responses(void **state)
{
    static const struct {
        const char *greeting;
        postie_status_t st;
    } v[] = {
        {"OK ready\r\n", POSTIE_E_REPLY_MALFORMED},
        {"+OKready\r\n", POSTIE_E_REPLY_MALFORMED},
        {"+ok ready\r\n", POSTIE_E_REPLY_MALFORMED},
        {"-ERRx\r\n", POSTIE_E_REPLY_MALFORMED},
        {"+ ready\r\n", POSTIE_E_REPLY_MALFORMED},
        {"\r\n", POSTIE_E_REPLY_MALFORMED},
        {"+OK ready\n", POSTIE_E_REPLY_MALFORMED},
        {"+OK re\rady\r\n", POSTIE_E_REPLY_MALFORMED},
        {"-ERR [SYS/TEMP] too busy\r\n", POSTIE_E_MAILBOX_IN_USE},
        {"-ERR go away\r\n", POSTIE_E_COMMAND_REFUSED},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const pstep_t steps[] = {S(v[i].greeting), FAILED(v[i].st, "greeting", NULL), NOTHING_SENT,
                                 END};
        transcript_t t = {.cfg = config(), .steps = steps};
        play(&t);
    }
}

static void test_malformed_stat(void **state)
{
    static const char *const v[] = {
        "+OK\r\n",
        "+OK 2\r\n",
        "+OK two 320\r\n",
        "+OK 2 x\r\n",
        "+OK 4294967296 1\r\n",
        "+OK 1 99999999999999999999\r\n",
        "+OK -1 3\r\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const pstep_t steps[] = {
            S("+OK ready\r\n"),
            C("CAPA\r\n"),
            S("+OK\r\nSASL PLAIN\r\n.\r\n"),
            C(AUTH_ALICE),
            S("+OK\r\n"),
            C("STAT\r\n"),
            S(v[i]),
            FAILED(POSTIE_E_REPLY_MALFORMED, "STAT", NULL),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps};
        play(&t);
    }
}

/* A NUL in a response line. */
static void test_nul_in_response(void **state)
{
    static const pstep_t steps[] = {END};
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    feed("+OK a\0b\r\n", 9);
    assert_int_equal(postie_pop3_error(&run.p)->status, POSTIE_E_REPLY_MALFORMED);
    assert_string_equal(postie_pop3_error(&run.p)->phase, "greeting");
    take_events();
    run.nevents = 0;
}

static void test_line_limits(void **state)
{
    size_t n;
    (void)state;
    /* a CAPA line one octet over the limit (CRLF included) */
    n = (size_t)snprintf(long_line, sizeof(long_line), "X-");
    memset(long_line + n, 'a', POSTIE_POP3_LINE_MAX - 1 - n);
    memcpy(long_line + POSTIE_POP3_LINE_MAX - 1, "\r\n", 3);
    /* and one at the limit */
    memcpy(max_line, long_line, POSTIE_POP3_LINE_MAX - 2);
    memcpy(max_line + POSTIE_POP3_LINE_MAX - 2, "\r\n", 3);
    {
        const pstep_t too_long[] = {
            S("+OK ready\r\n"),
            C("CAPA\r\n"),
            S("+OK\r\n"),
            S(long_line),
            FAILED(POSTIE_E_REPLY_LINE_TOO_LONG, "CAPA", NULL),
            END,
        };
        const pstep_t at_limit[] = {
            S("+OK ready\r\n"),       C("CAPA\r\n"), S("+OK\r\n"), S(max_line),
            S("SASL PLAIN\r\n.\r\n"), C(AUTH_ALICE), END,
        };
        transcript_t t = {.cfg = config(), .steps = too_long};
        play(&t);
        t.steps = at_limit;
        play(&t);
    }
}

/* An endless CAPA answer is cut off. */
static void test_capa_too_many_lines(void **state)
{
    static char capa[POSTIE_REPLY_LINES_MAX * 8 + 64];
    size_t n = (size_t)snprintf(capa, sizeof(capa), "+OK\r\n");
    (void)state;
    for (int i = 0; i <= POSTIE_REPLY_LINES_MAX; i++) {
        n += (size_t)snprintf(capa + n, sizeof(capa) - n, "X%d\r\n", i);
    }
    {
        const pstep_t steps[] = {
            S("+OK ready\r\n"),
            C("CAPA\r\n"),
            S(capa),
            FAILED(POSTIE_E_REPLY_TOO_MANY_LINES, "CAPA", NULL),
            END,
        };
        transcript_t t = {.cfg = config(), .steps = steps};
        play(&t);
    }
}

static void test_unexpected_line(void **state)
{
    static const pstep_t steps[] = {
        LOGGED_IN("1"),
        S("+OK surprise\r\n"),
        FAILED(POSTIE_E_REPLY_UNEXPECTED, NULL, NULL),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
}

/* ---- each step: drops and -ERR --------------------------------------------------- */

static void each_step(const pstep_t *base, size_t count, postie_pop3_config_t cfg)
{
    pstep_t steps[64];
    static char cut[4096];
    assert_true(count + 4 < sizeof(steps) / sizeof(steps[0]));
    for (size_t k = 0; k < count; k++) {
        transcript_t t = {.cfg = cfg, .steps = steps, .partial_ok = true};
        const pstep_t *b = &base[k];
        const char *step = b->err_step;
        size_t len;
        if (b->op != P_SERVER) {
            continue;
        }
        len = strlen(b->data);
        memcpy(steps, base, k * sizeof(steps[0]));

        /* the server hangs up before answering */
        steps[k] = (pstep_t)SERVER_EOF;
        steps[k + 1] = (pstep_t)FAILED(POSTIE_E_CONNECTION_CLOSED, step, NULL);
        steps[k + 2] = (pstep_t)END;
        play(&t);

        /* ... or one octet before the end of its answer */
        assert_true(len < sizeof(cut));
        memcpy(cut, b->data, len - 1);
        cut[len - 1] = '\0';
        steps[k] = (pstep_t)S(cut);
        steps[k + 1] = (pstep_t)SERVER_EOF;
        steps[k + 2] =
            (pstep_t)FAILED(b->cut_st != 0 ? b->cut_st : POSTIE_E_CONNECTION_CLOSED, step, NULL);
        steps[k + 3] = (pstep_t)END;
        play(&t);
        run.data_len = 0;
        run.items_len = 0;

        /* ... or it answers -ERR */
        if (b->err_st != 0) {
            steps[k] = (pstep_t)S("-ERR [SYS/PERM] no way\r\n");
            steps[k + 1] = (pstep_t)FAILED(b->err_st, step, "no way");
            steps[k + 2] = (pstep_t)END;
            play(&t);
        }
    }
}

static void test_each_step(void **state)
{
    (void)state;
    each_step(plain_session, sizeof(plain_session) / sizeof(plain_session[0]) - 1, config());
}

static const pstep_t stls_session[] = {
    SX("+OK ready\r\n", POSTIE_E_COMMAND_REFUSED, "greeting", 0),
    C("CAPA\r\n"),
    SX("+OK\r\nSTLS\r\nUSER\r\n.\r\n", 0, "CAPA", 0),
    C("STLS\r\n"),
    SX("+OK go\r\n", POSTIE_E_STARTTLS_REFUSED, "STLS", 0),
    TLS,
    C("CAPA\r\n"),
    SX("+OK\r\nUSER\r\n.\r\n", 0, "CAPA", 0),
    C("USER alice\r\n"),
    SX("+OK\r\n", POSTIE_E_AUTH_FAILED, "USER", 0),
    C("PASS s3cret\r\n"),
    SX("+OK\r\n", POSTIE_E_AUTH_FAILED, "PASS", 0),
    C("STAT\r\n"),
    SX("+OK 1 10\r\n", POSTIE_E_COMMAND_REFUSED, "STAT", 0),
    READY_EV,
    LIST(1, POSTIE_MAIL_ITEM_UIDL),
    C("UIDL\r\n"),
    SX("+OK\r\n1 x\r\n.\r\n", POSTIE_E_COMMAND_REFUSED, "UIDL", 0),
    LISTED,
    ITEMS("1=x;"),
    END,
};

static void test_each_step_stls_user_pass(void **state)
{
    postie_pop3_config_t cfg = config();
    (void)state;
    cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    cfg.allow_plaintext_auth = false;
    each_step(stls_session, sizeof(stls_session) / sizeof(stls_session[0]) - 1, cfg);
}

/* ---- time -------------------------------------------------------------------------- */

static void test_timeouts(void **state)
{
    static const pstep_t greeting[] = {
        TIME(POSTIE_POP3_TIMEOUT_GREETING_MS - 1),  S("+OK re"), TIME(1),
        FAILED(POSTIE_E_TIMEOUT, "greeting", NULL), END,
    };
    static const pstep_t command[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        TIME(POSTIE_POP3_TIMEOUT_COMMAND_MS - 1),
        S("+OK\r\nUSER\r\n"), /* trickling bytes do not extend a CAPA answer */
        TIME(1),
        FAILED(POSTIE_E_TIMEOUT, "CAPA", "no complete response within 120000 ms"),
        END,
    };
    static const pstep_t data[] = {
        LOGGED_IN("1"),
        RETR(1, 0),
        C("RETR 1\r\n"),
        TIME(POSTIE_POP3_TIMEOUT_COMMAND_MS - 1),
        S("+OK\r\nsome"),
        /* data: a silence of the data timeout, however long it took so far */
        TIME(POSTIE_POP3_TIMEOUT_DATA_MS - 1),
        S(" more"),
        TIME(POSTIE_POP3_TIMEOUT_DATA_MS - 1),
        S(" and more"),
        TIME(POSTIE_POP3_TIMEOUT_DATA_MS),
        FAILED(POSTIE_E_MESSAGE_TRUNCATED, "RETR", "message 1: no data for 120000 ms"),
        END,
    };
    static const pstep_t pipelined[] = {
        LOGGED_IN("2"),
        DELE(1),
        DELE(2),
        C("DELE 1\r\nDELE 2\r\n"),
        TIME(POSTIE_POP3_TIMEOUT_COMMAND_MS - 1),
        S("+OK\r\n"),
        GONE(1),
        /* the second answer's clock starts when the first one completed */
        TIME(POSTIE_POP3_TIMEOUT_COMMAND_MS - 1),
        S("+OK\r\n"),
        GONE(2),
        DELE_RC(3, POSTIE_E_INVALID_ARGUMENT),
        TIME(10u * POSTIE_POP3_TIMEOUT_COMMAND_MS), /* nothing awaited: no timeout */
        READY,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = greeting};
    (void)state;
    play(&t);
    t.steps = command;
    play(&t);
    t.steps = data;
    t.partial_ok = true;
    play(&t);
    t.partial_ok = false;
    t.steps = pipelined;
    play(&t);
}

/* The engine's deadline as the driver sees it. */
static void test_timeout_ms(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("1"), END};
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    assert_int_equal(postie_pop3_timeout_ms(&run.p, run.now), UINT32_MAX);
    assert_int_equal(postie_pop3_retrieve(&run.p, 1, 0, on_data, NULL, run.now), POSTIE_OK);
    /* not sent yet: the full command timeout */
    assert_int_equal(postie_pop3_timeout_ms(&run.p, run.now + 5000),
                     POSTIE_POP3_TIMEOUT_COMMAND_MS);
    drain_tx();
    assert_int_equal(postie_pop3_timeout_ms(&run.p, run.now + 5000),
                     POSTIE_POP3_TIMEOUT_COMMAND_MS - 5000);
    assert_int_equal(postie_pop3_timeout_ms(&run.p, run.now + POSTIE_POP3_TIMEOUT_COMMAND_MS), 0);
}

/* ---- pipelining depth, arguments, init --------------------------------------------- */

static void test_pipeline_depth(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("20"), END};
    transcript_t t = {.cfg = config(), .steps = steps};
    uint32_t id = 1;
    (void)state;
    play(&t);
    while (postie_pop3_state(&run.p) & POSTIE_POP3_READY) {
        assert_int_equal(postie_pop3_remove(&run.p, id++, run.now), POSTIE_OK);
    }
    assert_int_equal(id - 1, POSTIE_POP3_PIPELINE_MAX);
    assert_int_equal(postie_pop3_remove(&run.p, id, run.now), POSTIE_E_BAD_STATE);
    assert_int_equal(postie_pop3_finish(&run.p, run.now), POSTIE_E_BAD_STATE);
    drain_tx();
    feed("+OK\r\n", 5);
    take_event(POSTIE_MAILBOX_EV_REMOVED, 1);
    assert_true(postie_pop3_state(&run.p) & POSTIE_POP3_READY);
    run.nevents = 0;
}

/* A list that wants both with one pipeline slot left: LIST now, UIDL after
 * it, and nothing in between. */
static void test_list_with_one_slot_left(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("20"), END};
    transcript_t t = {.cfg = config(), .steps = steps};
    uint32_t id = 1;
    (void)state;
    play(&t);
    while (id < POSTIE_POP3_PIPELINE_MAX) {
        assert_int_equal(postie_pop3_remove(&run.p, id++, run.now), POSTIE_OK);
    }
    assert_int_equal(postie_pop3_list(&run.p, 1, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL,
                                      on_item, NULL, run.now),
                     POSTIE_OK);
    drain_tx();
    assert_false(postie_pop3_state(&run.p) & POSTIE_POP3_READY);
    for (uint32_t i = 1; i < POSTIE_POP3_PIPELINE_MAX; i++) {
        feed("+OK\r\n", 5);
    }
    assert_false(postie_pop3_state(&run.p) & POSTIE_POP3_READY);
    run.wire_pos = run.wire_len;
    feed("+OK\r\n1 5\r\n.\r\n", 13);
    assert_int_equal(run.wire_len - run.wire_pos, 6);
    assert_memory_equal(run.wire + run.wire_pos, "UIDL\r\n", 6);
    assert_true(postie_pop3_state(&run.p) & POSTIE_POP3_READY);
    feed("+OK\r\n1 u\r\n.\r\n", 13);
    take_events();
    assert_int_equal(run.events[run.nevents - 1].type, POSTIE_MAILBOX_EV_LISTED);
    assert_string_equal(run.items, "1:5;1=u;");
    run.nevents = 0;
    run.items_len = 0;
}

static void test_init_refuses_bad_credentials(void **state)
{
    postie_pop3_t *p = &run.p;
    postie_pop3_config_t cfg = config();
    (void)state;
    cfg.password = "pass\r\nDELE 1";
    assert_int_equal(postie_pop3_init(p, &cfg), POSTIE_E_INVALID_ARGUMENT);
    assert_true(postie_pop3_state(p) & POSTIE_POP3_FAILED);
    assert_int_equal(postie_pop3_start(p, 0), POSTIE_E_INVALID_ARGUMENT);
    cfg = config();
    cfg.username = "al\nice";
    assert_int_equal(postie_pop3_init(p, &cfg), POSTIE_E_INVALID_ARGUMENT);
    cfg = config();
    cfg.password = NULL;
    assert_int_equal(postie_pop3_init(p, &cfg), POSTIE_E_INVALID_ARGUMENT);
    cfg = config();
    cfg.username = "";
    assert_int_equal(postie_pop3_init(p, &cfg), POSTIE_E_INVALID_ARGUMENT);
    cfg = config();
    assert_int_equal(postie_pop3_init(p, &cfg), POSTIE_OK);
    assert_int_equal(postie_pop3_state(p), 0);
    assert_int_equal(postie_pop3_list(p, 1, 0, on_item, NULL, 0), POSTIE_E_BAD_STATE);
    assert_int_equal(postie_pop3_start(p, 0), POSTIE_OK);
    assert_int_equal(postie_pop3_start(p, 0), POSTIE_E_BAD_STATE);
    assert_int_equal(postie_pop3_state(p), POSTIE_POP3_WANT_RX);
}

/* The defaults and the ops table. */
static void test_defaults_and_ops(void **state)
{
    postie_pop3_config_t cfg;
    (void)state;
    postie_pop3_config_defaults(&cfg);
    assert_int_equal(cfg.tls_mode, POSTIE_TLS_STARTTLS_REQUIRED);
    assert_false(cfg.allow_plaintext_auth);
    assert_false(cfg.use_apop);
    assert_true(cfg.use_pipelining);
    assert_int_equal(cfg.sasl_allowed, POSTIE_SASL_PLAIN);
    assert_int_equal(cfg.timeout_data_ms, POSTIE_POP3_TIMEOUT_DATA_MS);
    assert_non_null(postie_pop3_mailbox_ops.list);
    assert_non_null(postie_pop3_mailbox_ops.retrieve);
    assert_non_null(postie_pop3_mailbox_ops.remove);
    assert_non_null(postie_pop3_mailbox_ops.finish);
    assert_non_null(postie_pop3_mailbox_ops.info);
    assert_string_equal(postie_pop3_mailbox_ops.alert_text(&run.p), "");
    assert_string_equal(postie_pop3_phase_name(POSTIE_POP3_PHASE_TLS_HANDSHAKE), "TLS_HANDSHAKE");
    assert_string_equal(postie_pop3_phase_name(POSTIE_POP3_PHASE_COUNT), "UNKNOWN");
}

/* Through the ops table, as the fetch run calls it. */
static void test_through_ops(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("1"), END};
    transcript_t t = {.cfg = config(), .steps = steps};
    const postie_mailbox_ops_t *ops = &postie_pop3_mailbox_ops;
    (void)state;
    play(&t);
    assert_int_equal(ops->info(&run.p)->messages, 1);
    assert_int_equal(ops->retrieve(&run.p, 1, 0, on_data, NULL, run.now), POSTIE_OK);
    assert_int_equal(ops->remove(&run.p, 1, run.now), POSTIE_OK);
    assert_int_equal(ops->finish(&run.p, run.now), POSTIE_OK);
    drain_tx();
    assert_int_equal(run.wire_len - run.wire_pos, strlen("RETR 1\r\nDELE 1\r\nQUIT\r\n"));
    feed("+OK\r\nx\r\n.\r\n+OK\r\n+OK\r\n", strlen("+OK\r\nx\r\n.\r\n+OK\r\n+OK\r\n"));
    take_event(POSTIE_MAILBOX_EV_RETRIEVED, 1);
    take_event(POSTIE_MAILBOX_EV_REMOVED, 1);
    take_event(POSTIE_MAILBOX_EV_CLOSED, 0);
    assert_true(postie_pop3_state(&run.p) & POSTIE_POP3_CLOSED);
    run.data_len = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_session),
        cmocka_unit_test(test_session_without_pipelining),
        cmocka_unit_test(test_pipelining_switched_off),
        cmocka_unit_test(test_old_server_user_pass),
        cmocka_unit_test(test_user_pass_when_no_sasl),
        cmocka_unit_test(test_no_login_mechanism),
        cmocka_unit_test(test_sasl_not_allowed),
        cmocka_unit_test(test_apop),
        cmocka_unit_test(test_apop_refused),
        cmocka_unit_test(test_apop_only_when_enabled_and_offered),
        cmocka_unit_test(test_auth_plain_without_initial_response),
        cmocka_unit_test(test_auth_plain_unexpected_challenge),
        cmocka_unit_test(test_login_response_codes),
        cmocka_unit_test(test_stls),
        cmocka_unit_test(test_stls_required_not_offered),
        cmocka_unit_test(test_stls_injection),
        cmocka_unit_test(test_stls_refused),
        cmocka_unit_test(test_no_credentials_in_clear),
        cmocka_unit_test(test_implicit_tls),
        cmocka_unit_test(test_capability_probe),
        cmocka_unit_test(test_dot_unstuffing),
        cmocka_unit_test(test_long_data_lines_stream),
        cmocka_unit_test(test_retrieve_then_next_answer_together),
        cmocka_unit_test(test_retrieve_truncated),
        cmocka_unit_test(test_retrieve_transport_failure),
        cmocka_unit_test(test_bad_message_data),
        cmocka_unit_test(test_nul_in_message_data),
        cmocka_unit_test(test_size_max),
        cmocka_unit_test(test_data_callback_fails),
        cmocka_unit_test(test_list_from_id),
        cmocka_unit_test(test_bogus_listings),
        cmocka_unit_test(test_bogus_uidls),
        cmocka_unit_test(test_item_callback_fails),
        cmocka_unit_test(test_malformed_responses),
        cmocka_unit_test(test_malformed_stat),
        cmocka_unit_test(test_nul_in_response),
        cmocka_unit_test(test_line_limits),
        cmocka_unit_test(test_capa_too_many_lines),
        cmocka_unit_test(test_unexpected_line),
        cmocka_unit_test(test_each_step),
        cmocka_unit_test(test_each_step_stls_user_pass),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_timeout_ms),
        cmocka_unit_test(test_pipeline_depth),
        cmocka_unit_test(test_list_with_one_slot_left),
        cmocka_unit_test(test_init_refuses_bad_credentials),
        cmocka_unit_test(test_defaults_and_ops),
        cmocka_unit_test(test_through_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
