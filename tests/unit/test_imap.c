/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMAP engine transcripts: server bytes in, exact client bytes out, each
 * played whole, one byte at a time (received bytes and partial sends alike)
 * and at random splits with several seeds, as tests/unit/transcript.c does
 * for SMTP. The runner is here because its steps are the mailbox commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/imap/imap.h"

/* ---- the runner -------------------------------------------------------------- */

typedef enum {
    OP_END = 0,
    OP_SERVER,       /* data: bytes the server sends */
    OP_CLIENT,       /* data: bytes the client must have sent next */
    OP_NOTHING_SENT, /* the client must have sent nothing more */
    OP_TLS,          /* the engine must ask for TLS; report the handshake done */
    OP_EOF,          /* the server closes the connection */
    OP_TIME,         /* arg: milliseconds pass (then poll) */
    OP_READY,        /* the READY state bit must be set */
    OP_NOT_READY,    /* ... must be clear */
    OP_EVENT,        /* the next event (ALERTs aside) must be of type arg */
    OP_ALERT,        /* an ALERT event must have come; data: the alert text */
    OP_LIST,         /* start a list: arg from, data "S" for sizes */
    OP_RETRIEVE,     /* start a retrieve of UID arg (size_max from the test) */
    OP_REMOVE,       /* start a remove of UID arg */
    OP_FINISH,       /* start finish */
    OP_ITEMS,        /* data: the items listed so far ("43:120 44:7" or "43 44") */
    OP_BODY,         /* data: the octets retrieved so far (then cleared) */
    OP_FAILED,       /* the session must have failed with status arg */
    OP_CLOSED        /* LOGOUT must have completed */
} op_t;

typedef struct {
    op_t op;
    const char *data;
    long long arg;
} step_t;

#define S(s)              \
    {                     \
        OP_SERVER, (s), 0 \
    }
#define C(s)              \
    {                     \
        OP_CLIENT, (s), 0 \
    }
#define NOTHING_SENT             \
    {                            \
        OP_NOTHING_SENT, NULL, 0 \
    }
#define TLS             \
    {                   \
        OP_TLS, NULL, 0 \
    }
#define SERVER_EOF      \
    {                   \
        OP_EOF, NULL, 0 \
    }
#define TIME(ms)            \
    {                       \
        OP_TIME, NULL, (ms) \
    }
#define IS_READY          \
    {                     \
        OP_READY, NULL, 0 \
    }
#define NOT_READY             \
    {                         \
        OP_NOT_READY, NULL, 0 \
    }
#define EVENT(t)            \
    {                       \
        OP_EVENT, NULL, (t) \
    }
#define ALERT(s)         \
    {                    \
        OP_ALERT, (s), 0 \
    }
#define LIST(from)          \
    {                       \
        OP_LIST, "", (from) \
    }
#define LIST_SIZES(from)     \
    {                        \
        OP_LIST, "S", (from) \
    }
#define RETRIEVE(uid)            \
    {                            \
        OP_RETRIEVE, NULL, (uid) \
    }
#define REMOVE(uid)            \
    {                          \
        OP_REMOVE, NULL, (uid) \
    }
#define FINISH             \
    {                      \
        OP_FINISH, NULL, 0 \
    }
#define ITEMS(s)         \
    {                    \
        OP_ITEMS, (s), 0 \
    }
#define BODY(s)         \
    {                   \
        OP_BODY, (s), 0 \
    }
#define FAILED(st)            \
    {                         \
        OP_FAILED, NULL, (st) \
    }
#define CLOSED             \
    {                      \
        OP_CLOSED, NULL, 0 \
    }
#define END             \
    {                   \
        OP_END, NULL, 0 \
    }

typedef struct {
    postie_imap_config_t cfg;
    uint64_t size_max;
    postie_status_t data_result; /* what the data callback returns */
    const step_t *steps;
} transcript_t;

typedef enum { MODE_WHOLE, MODE_BYTES, MODE_RANDOM } mode_t_;

typedef struct {
    mode_t_ mode;
    uint32_t rng;
    uint32_t now;
    const transcript_t *t;
    postie_imap_t m;
    char wire[1 << 16];
    size_t wire_len;
    size_t wire_pos;
    postie_imap_event_t events[256];
    size_t nevents;
    char items[4096];
    size_t items_len;
    size_t items_count;
    uint32_t items_last;
    bool items_check;
    char body[1 << 16];
    size_t body_len;
    size_t body_calls;
    char where[96];
    char log[1 << 15];
    size_t log_len;
} run_t;

static run_t run;

static postie_imap_config_t test_config(void)
{
    postie_imap_config_t cfg;
    postie_imap_config_defaults(&cfg);
    cfg.tls_mode = POSTIE_TLS_NONE;
    cfg.allow_plaintext_auth = true;
    cfg.username = "alice";
    cfg.password = "s3cret";
    return cfg;
}

static void test_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    if (run.log_len + len + 4 < sizeof(run.log)) {
        run.log[run.log_len++] = dir == POSTIE_LOG_SENT       ? '>'
                                 : dir == POSTIE_LOG_RECEIVED ? '<'
                                                              : '#';
        memcpy(run.log + run.log_len, line, len);
        run.log_len += len;
        run.log[run.log_len++] = '\n';
        run.log[run.log_len] = '\0';
    }
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
    postie_imap_event_t ev;
    while (postie_imap_next_event(&run.m, &ev)) {
        if (run.nevents < sizeof(run.events) / sizeof(run.events[0])) {
            run.events[run.nevents++] = ev;
        }
    }
}

static void drain_tx(void)
{
    for (int guard = 0; guard < 1000000; guard++) {
        size_t len;
        const uint8_t *buf;
        take_events();
        if (!(postie_imap_state(&run.m) & POSTIE_IMAP_HAVE_TX)) {
            return;
        }
        buf = postie_imap_tx_buf(&run.m, &len);
        size_t n = piece(len);
        if (run.wire_len + n > sizeof(run.wire)) {
            fail_msg("%s: client wrote more than the test buffer holds", run.where);
        }
        memcpy(run.wire + run.wire_len, buf, n);
        run.wire_len += n;
        postie_imap_tx_ack(&run.m, n, run.now);
    }
    fail_msg("%s: transmit loop did not end", run.where);
}

static void feed(const char *data, size_t len)
{
    size_t pos = 0;
    for (int guard = 0; pos < len && guard < 10000000; guard++) {
        size_t cap;
        uint8_t *w;
        uint32_t st = postie_imap_state(&run.m);
        if (st & (POSTIE_IMAP_FAILED | POSTIE_IMAP_CLOSED)) {
            break; /* the engine stopped reading; the rest is never looked at */
        }
        w = postie_imap_rx_buf(&run.m, &cap);
        if (cap == 0) {
            take_events();
            w = postie_imap_rx_buf(&run.m, &cap);
            if (cap == 0) {
                fail_msg("%s: receive buffer stuck full", run.where);
            }
        }
        size_t n = piece(len - pos);
        if (n > cap) {
            n = cap;
        }
        memcpy(w, data + pos, n);
        postie_imap_rx_ack(&run.m, n, run.now);
        pos += n;
        take_events();
        drain_tx();
    }
}

static postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
{
    char tmp[48];
    int n;
    (void)ctx;
    if (run.items_count > 0 && item->id <= run.items_last) {
        fail_msg("listed UID %u after %u", (unsigned)item->id, (unsigned)run.items_last);
    }
    if ((item->have & POSTIE_MAIL_ITEM_SIZE) && item->size * 2 != item->id && run.items_check) {
        fail_msg("UID %u with size %llu", (unsigned)item->id, (unsigned long long)item->size);
    }
    run.items_count++;
    run.items_last = item->id;
    if (item->have & POSTIE_MAIL_ITEM_SIZE) {
        n = snprintf(tmp, sizeof(tmp), "%s%u:%llu", run.items_len ? " " : "", (unsigned)item->id,
                     (unsigned long long)item->size);
    } else {
        n = snprintf(tmp, sizeof(tmp), "%s%u", run.items_len ? " " : "", (unsigned)item->id);
    }
    if (run.items_len + (size_t)n < sizeof(run.items)) {
        memcpy(run.items + run.items_len, tmp, (size_t)n + 1);
        run.items_len += (size_t)n;
    }
    return POSTIE_OK;
}

static postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (len == 0) {
        fail_msg("%s: data callback with 0 octets", run.where);
    }
    run.body_calls++;
    if (run.body_len + len < sizeof(run.body)) {
        memcpy(run.body + run.body_len, data, len);
        run.body_len += len;
    }
    return run.t->data_result;
}

static void show_wire_mismatch(const char *expected, size_t len)
{
    size_t have = run.wire_len - run.wire_pos;
    fail_msg("%s: client sent\n----\n%.*s\n---- expected\n%.*s\n----", run.where, (int)have,
             run.wire + run.wire_pos, (int)len, expected);
}

static const char *event_name(int type)
{
    static const char *const names[] = {"NONE",    "READY",  "LISTED", "RETRIEVED",
                                        "REMOVED", "CLOSED", "ALERT",  "FAILED"};
    return type >= 0 && type < 8 ? names[type] : "?";
}

static void play_once(const transcript_t *t, mode_t_ mode, uint32_t seed)
{
    static const char *const mode_names[] = {"whole", "byte by byte", "random splits"};
    postie_imap_config_t cfg = t->cfg;

    memset(&run, 0, sizeof(run));
    run.mode = mode;
    run.rng = seed;
    run.now = 1000;
    run.t = t;
    cfg.log = test_log;
    assert_int_equal(postie_imap_init(&run.m, &cfg), POSTIE_OK);
    assert_int_equal(postie_imap_start(&run.m, run.now), POSTIE_OK);

    for (size_t i = 0; t->steps[i].op != OP_END; i++) {
        const step_t *st = &t->steps[i];
        postie_status_t rc;
        size_t len = st->data ? strlen(st->data) : 0;

        snprintf(run.where, sizeof(run.where), "step %zu (%s, seed %u)", i, mode_names[mode], seed);
        switch (st->op) {
        case OP_SERVER:
            feed(st->data, len);
            break;
        case OP_CLIENT:
            drain_tx();
            if (run.wire_len - run.wire_pos < len ||
                memcmp(run.wire + run.wire_pos, st->data, len) != 0) {
                show_wire_mismatch(st->data, len);
            }
            run.wire_pos += len;
            break;
        case OP_NOTHING_SENT:
            drain_tx();
            if (run.wire_len != run.wire_pos) {
                show_wire_mismatch("", 0);
            }
            break;
        case OP_TLS:
            drain_tx();
            if (!(postie_imap_state(&run.m) & POSTIE_IMAP_NEED_TLS)) {
                fail_msg("%s: engine did not ask for TLS (state %s, error %s)", run.where,
                         postie_imap_state_name(postie_imap_current_state(&run.m)),
                         postie_status_name(postie_imap_error(&run.m)->status));
            }
            assert_int_equal(postie_imap_tls_done(&run.m, run.now), POSTIE_OK);
            drain_tx();
            break;
        case OP_EOF:
            postie_imap_rx_eof(&run.m);
            take_events();
            break;
        case OP_TIME:
            run.now += (uint32_t)st->arg;
            (void)postie_imap_poll(&run.m, run.now);
            take_events();
            break;
        case OP_READY:
        case OP_NOT_READY:
            take_events();
            if (!(postie_imap_state(&run.m) & POSTIE_IMAP_READY) != (st->op == OP_NOT_READY)) {
                fail_msg("%s: READY is %s (state %s, error %s: %s)", run.where,
                         st->op == OP_READY ? "clear" : "set",
                         postie_imap_state_name(postie_imap_current_state(&run.m)),
                         postie_status_name(postie_imap_error(&run.m)->status),
                         postie_imap_error(&run.m)->subject);
            }
            break;
        case OP_EVENT: {
            size_t k = 0;
            drain_tx();
            while (k < run.nevents && run.events[k].type == POSTIE_MAILBOX_EV_ALERT) {
                k++;
            }
            if (k == run.nevents) {
                fail_msg("%s: no %s event (state %s, error %s: %s / %s)", run.where,
                         event_name((int)st->arg),
                         postie_imap_state_name(postie_imap_current_state(&run.m)),
                         postie_status_name(postie_imap_error(&run.m)->status),
                         postie_imap_error(&run.m)->subject, postie_imap_error(&run.m)->reply.text);
            }
            if ((long long)run.events[k].type != st->arg) {
                fail_msg("%s: event %s, expected %s (error %s: %s)", run.where,
                         event_name(run.events[k].type), event_name((int)st->arg),
                         postie_status_name(postie_imap_error(&run.m)->status),
                         postie_imap_error(&run.m)->subject);
            }
            memmove(&run.events[k], &run.events[k + 1],
                    (run.nevents - k - 1) * sizeof(run.events[0]));
            run.nevents--;
            break;
        }
        case OP_ALERT: {
            size_t k = 0;
            take_events();
            while (k < run.nevents && run.events[k].type != POSTIE_MAILBOX_EV_ALERT) {
                k++;
            }
            if (k == run.nevents) {
                fail_msg("%s: no ALERT event", run.where);
            }
            memmove(&run.events[k], &run.events[k + 1],
                    (run.nevents - k - 1) * sizeof(run.events[0]));
            run.nevents--;
            if (strcmp(postie_imap_mailbox_ops.alert_text(&run.m), st->data) != 0) {
                fail_msg("%s: alert text \"%s\", expected \"%s\"", run.where,
                         postie_imap_mailbox_ops.alert_text(&run.m), st->data);
            }
            break;
        }
        case OP_LIST:
            take_events();
            rc = postie_imap_mailbox_ops.list(&run.m, (uint32_t)st->arg,
                                              st->data[0] == 'S' ? POSTIE_MAIL_ITEM_SIZE : 0,
                                              on_item, NULL, run.now);
            if (rc != POSTIE_OK) {
                fail_msg("%s: list: %s", run.where, postie_status_name(rc));
            }
            drain_tx();
            break;
        case OP_RETRIEVE:
            take_events();
            rc = postie_imap_mailbox_ops.retrieve(&run.m, (uint32_t)st->arg, t->size_max, on_data,
                                                  NULL, run.now);
            if (rc != POSTIE_OK) {
                fail_msg("%s: retrieve: %s", run.where, postie_status_name(rc));
            }
            drain_tx();
            break;
        case OP_REMOVE:
            take_events();
            rc = postie_imap_mailbox_ops.remove(&run.m, (uint32_t)st->arg, run.now);
            if (rc != POSTIE_OK) {
                fail_msg("%s: remove: %s", run.where, postie_status_name(rc));
            }
            drain_tx();
            break;
        case OP_FINISH:
            take_events();
            rc = postie_imap_mailbox_ops.finish(&run.m, run.now);
            if (rc != POSTIE_OK) {
                fail_msg("%s: finish: %s", run.where, postie_status_name(rc));
            }
            drain_tx();
            break;
        case OP_ITEMS:
            if (strcmp(run.items, st->data) != 0) {
                fail_msg("%s: items \"%s\", expected \"%s\"", run.where, run.items, st->data);
            }
            break;
        case OP_BODY:
            if (run.body_len != len || memcmp(run.body, st->data, len) != 0) {
                fail_msg("%s: retrieved\n----\n%.*s\n---- expected\n%s\n----", run.where,
                         (int)run.body_len, run.body, st->data);
            }
            run.body_len = 0;
            break;
        case OP_FAILED: {
            size_t k = 0;
            take_events();
            if (!(postie_imap_state(&run.m) & POSTIE_IMAP_FAILED)) {
                fail_msg("%s: session did not fail (state %s)", run.where,
                         postie_imap_state_name(postie_imap_current_state(&run.m)));
            }
            if ((long long)postie_imap_error(&run.m)->status != st->arg) {
                fail_msg("%s: failed with %s (%s: %s), expected %s", run.where,
                         postie_status_name(postie_imap_error(&run.m)->status),
                         postie_imap_error(&run.m)->phase, postie_imap_error(&run.m)->subject,
                         postie_status_name((postie_status_t)st->arg));
            }
            while (k < run.nevents && run.events[k].type != POSTIE_MAILBOX_EV_FAILED) {
                k++;
            }
            if (k == run.nevents) {
                fail_msg("%s: no FAILED event", run.where);
            }
            break;
        }
        case OP_CLOSED:
            take_events();
            if (!(postie_imap_state(&run.m) & POSTIE_IMAP_CLOSED)) {
                fail_msg("%s: not closed (state %s, error %s: %s)", run.where,
                         postie_imap_state_name(postie_imap_current_state(&run.m)),
                         postie_status_name(postie_imap_error(&run.m)->status),
                         postie_imap_error(&run.m)->subject);
            }
            break;
        case OP_END:
            break;
        }
    }
}

/* Play t whole, byte by byte and at random splits; returns the engine of
 * the last run for further checks. */
static const postie_imap_t *play(const transcript_t *t)
{
    play_once(t, MODE_WHOLE, 0);
    play_once(t, MODE_BYTES, 0);
    for (uint32_t seed = 1; seed <= 8; seed++) {
        play_once(t, MODE_RANDOM, seed * 7919u);
    }
    return &run.m;
}

static transcript_t plain(const step_t *steps)
{
    transcript_t t;
    memset(&t, 0, sizeof(t));
    t.cfg = test_config();
    t.steps = steps;
    return t;
}

/* ---- common exchanges ------------------------------------------------------------- */

#define GREET_CAPS     S("* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n")
#define GREET_CAPS_IR  S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n")
#define GREET_LOGIN    S("* OK [CAPABILITY IMAP4rev1] ready\r\n")
#define AUTH_IR        C("A0001 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n")
#define LOGIN_OK_CAPS  S("A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n")
#define LOGIN_OK_NOUID S("A0001 OK [CAPABILITY IMAP4rev1] Logged in\r\n")
#define SELECT_2       C("A0002 SELECT INBOX\r\n")
#define SELECT_OK_2                                                              \
    S("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"              \
      "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted.\r\n"        \
      "* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1700000000] UIDs valid\r\n" \
      "* OK [UIDNEXT 46] Predicted next UID\r\n"                                 \
      "A0002 OK [READ-WRITE] Select completed.\r\n")

/* A session up to READY: SASL-IR login, UIDPLUS after login. */
#define OPEN_UIDPLUS                                                                              \
    GREET_CAPS_IR, AUTH_IR, LOGIN_OK_CAPS, SELECT_2, SELECT_OK_2, EVENT(POSTIE_MAILBOX_EV_READY), \
        IS_READY
/* The same without UIDPLUS. */
#define OPEN_PLAIN                                                                                 \
    GREET_CAPS_IR, AUTH_IR, LOGIN_OK_NOUID, SELECT_2, SELECT_OK_2, EVENT(POSTIE_MAILBOX_EV_READY), \
        IS_READY

/* ---- opening ----------------------------------------------------------------------- */

static void test_open_sasl_ir_and_info(void **state)
{
    (void)state;
    static const step_t steps[] = {OPEN_UIDPLUS, END};
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    const postie_mailbox_info_t *info = postie_imap_mailbox_ops.info(m);
    assert_int_equal(info->uidvalidity, 1700000000u);
    assert_int_equal(info->uidnext, 46);
    assert_int_equal(info->messages, 3);
    assert_false(info->secure);
    assert_true(postie_imap_caps(m)->flags & POSTIE_IMAP_CAP_UIDPLUS);
    assert_non_null(strstr(info->capabilities, "UIDPLUS"));
    /* the credentials never reach the log, in clear or in base64 */
    assert_null(strstr(run.log, "s3cret"));
    assert_null(strstr(run.log, "AGFsaWNlAHMzY3JldA"));
    assert_non_null(strstr(run.log, ">A0001 AUTHENTICATE PLAIN <redacted>"));
}

static void test_open_authenticate_without_sasl_ir(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS,
        C("A0001 AUTHENTICATE PLAIN\r\n"),
        NOTHING_SENT,
        S("+ \r\n"),
        C("AGFsaWNlAHMzY3JldA==\r\n"),
        S("A0001 OK Logged in\r\n"),
        C("A0002 CAPABILITY\r\n"), /* the answer had no capabilities: ask */
        S("* CAPABILITY IMAP4rev1 UIDPLUS IDLE\r\nA0002 OK done\r\n"),
        C("A0003 SELECT INBOX\r\n"),
        S("* 0 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\nA0003 OK done\r\n"),
        EVENT(POSTIE_MAILBOX_EV_READY),
        IS_READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_int_equal(postie_imap_mailbox_ops.info(m)->uidvalidity, 7);
    assert_int_equal(postie_imap_mailbox_ops.info(m)->uidnext, 0);
    assert_null(strstr(run.log, "AGFsaWNlAHMzY3JldA"));
}

static void test_open_login_quoted(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK IMAP4rev1 server ready\r\n"),
        C("A0001 CAPABILITY\r\n"),
        S("* CAPABILITY IMAP4rev1 AUTH=CRAM-MD5\r\nA0001 OK\r\n"),
        C("A0002 LOGIN \"al\\\\ice\" \"p\\\"w d\"\r\n"),
        S("A0002 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
        C("A0003 SELECT INBOX\r\n"),
        S("* OK [UIDVALIDITY 9] x\r\nA0003 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.username = "al\\ice";
    t.cfg.password = "p\"w d";
    play(&t);
    assert_null(strstr(run.log, "p\"w"));
    assert_non_null(strstr(run.log, ">A0002 LOGIN <redacted>"));
}

static void test_open_login_synchronising_literal(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_LOGIN,
        C("A0001 LOGIN \"alice\" {8}\r\n"),
        NOTHING_SENT, /* waits for the go-ahead */
        S("+ Ready for literal data\r\n"),
        C("pa\xc3\xa9ss\r\n\r\n"),
        S("A0001 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
        SELECT_2,
        SELECT_OK_2,
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.password = "pa\xc3\xa9ss\r\n"; /* 8-bit and a line end: a literal */
    play(&t);
    assert_null(strstr(run.log, "pa\xc3\xa9ss"));
}

static void test_open_login_two_synchronising_literals(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_LOGIN,
        C("A0001 LOGIN {7}\r\n"),
        NOTHING_SENT,
        S("+ go\r\n"),
        C("\xc3\xa9lodie {4}\r\n"),
        NOTHING_SENT,
        S("+ go\r\n"),
        C("a\nb!\r\n"),
        S("A0001 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
        SELECT_2,
        SELECT_OK_2,
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.username = "\xc3\xa9lodie";
    t.cfg.password = "a\nb!";
    play(&t);
}

static void test_open_login_literal_plus(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"),
        C("A0001 LOGIN \"alice\" {8+}\r\npa\xc3\xa9ss\r\n\r\n"),
        S("A0001 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
        SELECT_2,
        SELECT_OK_2,
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.password = "pa\xc3\xa9ss\r\n";
    play(&t);
}

static void test_open_login_long_value_is_a_literal(void **state)
{
    (void)state;
    static char pass[201];
    static char expect[300];
    memset(pass, 'x', 200);
    snprintf(expect, sizeof(expect), "%s\r\n", pass);
    step_t steps[] = {
        GREET_LOGIN,
        C("A0001 LOGIN \"alice\" {200}\r\n"),
        S("+ ok\r\n"),
        C(expect),
        S("A0001 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
        FAILED(POSTIE_E_AUTH_FAILED),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.password = pass;
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->phase, "LOGIN");
    assert_string_equal(postie_imap_error(m)->reply.text,
                        "NO [AUTHENTICATIONFAILED] Authentication failed.");
}

static void test_open_starttls(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"),
        C("A0001 STARTTLS\r\n"),
        S("A0001 OK Begin TLS negotiation now.\r\n"),
        TLS,
        C("A0002 CAPABILITY\r\n"), /* everything from before is forgotten */
        S("* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN\r\nA0002 OK\r\n"),
        C("A0003 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n"),
        S("A0003 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n"),
        C("A0004 SELECT INBOX\r\n"),
        S("* OK [UIDVALIDITY 1] x\r\nA0004 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    t.cfg.allow_plaintext_auth = false;
    const postie_imap_t *m = play(&t);
    assert_true(postie_imap_mailbox_ops.info(m)->secure);
    assert_false(postie_imap_caps(m)->flags & POSTIE_IMAP_CAP_STARTTLS);
}

static void test_starttls_required_not_offered(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
        NOTHING_SENT, /* no credential, nothing at all */
        FAILED(POSTIE_E_STARTTLS_UNAVAILABLE),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    play(&t);
}

static void test_starttls_injection(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
        C("A0001 STARTTLS\r\n"),
        S("A0001 OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"),
        NOTHING_SENT,
        FAILED(POSTIE_E_STARTTLS_INJECTION),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    play(&t);
}

static void test_starttls_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
        C("A0001 STARTTLS\r\n"),
        S("A0001 NO TLS not available now\r\n"),
        NOTHING_SENT,
        FAILED(POSTIE_E_STARTTLS_REFUSED),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    play(&t);
}

static void test_opportunistic_starttls_refused_goes_on(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
        C("A0001 STARTTLS\r\n"),
        S("A0001 NO not now\r\n"),
        C("A0002 LOGIN \"alice\" \"s3cret\"\r\n"),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
    play(&t);
}

static void test_preauth_refused_when_tls_required(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in as alice\r\n"),
        NOTHING_SENT,
        FAILED(POSTIE_E_PREAUTH_REFUSED),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    play(&t);
}

static void test_preauth_accepted_over_tls(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* PREAUTH logged in\r\n"),
        C("A0001 CAPABILITY\r\n"),
        S("* CAPABILITY IMAP4rev1 UIDPLUS\r\nA0001 OK\r\n"),
        C("A0002 SELECT INBOX\r\n"),
        S("* OK [UIDVALIDITY 5] x\r\nA0002 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_IMPLICIT;
    t.cfg.username = NULL;
    t.cfg.password = NULL;
    play(&t);
}

static void test_cleartext_credentials_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR,
        NOTHING_SENT,
        FAILED(POSTIE_E_AUTH_CLEARTEXT_REFUSED),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.allow_plaintext_auth = false;
    play(&t);
}

static void test_logindisabled_without_mechanism(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=GSSAPI] ready\r\n"),
        NOTHING_SENT,
        FAILED(POSTIE_E_AUTH_NO_MECHANISM),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

/* ---- OAuth 2.0 ------------------------------------------------------------------- */

#define OAUTH_USER  "someuser@example.com"
#define OAUTH_TOKEN "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
#define XOAUTH2_B64                                                                        \
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNr" \
    "QmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
/* {"status":"invalid_token","scope":"example_scope","openid-configuration":...} (RFC 7628) */
#define OAUTH_ERROR_B64                                                                         \
    "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyY" \
    "XRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="

static transcript_t oauth(const step_t *steps, uint32_t mech)
{
    transcript_t t = plain(steps);
    t.cfg.username = OAUTH_USER;
    t.cfg.password = NULL;
    t.cfg.oauth_token = OAUTH_TOKEN;
    t.cfg.oauth_mechanism = mech;
    t.cfg.oauth_host = "imap.example.com";
    t.cfg.oauth_port = 143;
    return t;
}

static char bearer_b64[256];

static void make_bearer(void)
{
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, OAUTH_USER, "imap.example.com", 143,
                                       OAUTH_TOKEN, strlen(OAUTH_TOKEN), bearer_b64,
                                       sizeof(bearer_b64), NULL),
                     POSTIE_OK);
}

static void test_oauth_sasl_ir(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER] ready\r\n"),
        C("A0001 AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\n"),
        NOTHING_SENT,
        LOGIN_OK_CAPS,
        SELECT_2,
        SELECT_OK_2,
        EVENT(POSTIE_MAILBOX_EV_READY),
        IS_READY,
        END,
    };
    transcript_t t = oauth(steps, POSTIE_SASL_XOAUTH2);
    play(&t);
    assert_non_null(strstr(run.log, ">A0001 AUTHENTICATE XOAUTH2 <redacted>"));
    assert_null(strstr(run.log, OAUTH_TOKEN));
    assert_null(strstr(run.log, "dXNlcj1"));
}

static void test_oauth_continuation(void **state)
{
    (void)state;
    static char line[300];
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER] ready\r\n"),
        C("A0001 AUTHENTICATE OAUTHBEARER\r\n"),
        NOTHING_SENT,
        S("+ \r\n"),
        C(line),
        NOTHING_SENT,
        LOGIN_OK_CAPS,
        SELECT_2,
        SELECT_OK_2,
        EVENT(POSTIE_MAILBOX_EV_READY),
        IS_READY,
        END,
    };
    static const step_t refused_early[] = {
        S("* OK [CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER] ready\r\n"),
        C("A0001 AUTHENTICATE OAUTHBEARER\r\n"),
        S("A0001 NO mechanism disabled\r\n"),
        FAILED(POSTIE_E_AUTH_FAILED), /* the token never left: not TOKEN_REJECTED */
        END,
    };
    make_bearer();
    snprintf(line, sizeof(line), "%s\r\n", bearer_b64);
    transcript_t t = oauth(steps, POSTIE_SASL_OAUTHBEARER);
    play(&t);
    t.steps = refused_early;
    play(&t);
    assert_null(strstr(run.log, OAUTH_TOKEN));
    assert_null(strstr(run.log, bearer_b64));
}

static void test_oauth_refused(void **state)
{
    (void)state;
    static const step_t xoauth2[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n"),
        C("A0001 AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\n"),
        S("+ " OAUTH_ERROR_B64 "\r\n"),
        C("\r\n"),
        NOTHING_SENT,
        S("A0001 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"),
        FAILED(POSTIE_E_TOKEN_REJECTED),
        END,
    };
    static char line[300];
    static const step_t bearer[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER] ready\r\n"),
        C(line),
        S("+ " OAUTH_ERROR_B64 "\r\n"),
        C("AQ==\r\n"),
        NOTHING_SENT,
        S("A0001 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"),
        FAILED(POSTIE_E_TOKEN_REJECTED),
        END,
    };
    static const step_t unavailable[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n"),
        C("A0001 AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\n"),
        S("A0001 NO [UNAVAILABLE] try later\r\n"),
        FAILED(POSTIE_E_AUTH_TEMPORARY),
        END,
    };
    transcript_t t = oauth(xoauth2, POSTIE_SASL_XOAUTH2);
    const postie_imap_t *m = play(&t);
    const postie_error_t *e = postie_imap_error(m);
    assert_string_equal(e->phase, "AUTHENTICATE");
    assert_memory_equal(e->subject, "invalid_token: {\"status\":\"invalid_token\"", 40);
    assert_non_null(strstr(e->reply.text, "AUTHENTICATIONFAILED"));
    assert_null(strstr(run.log, OAUTH_TOKEN));

    make_bearer();
    snprintf(line, sizeof(line), "A0001 AUTHENTICATE OAUTHBEARER %s\r\n", bearer_b64);
    t = oauth(bearer, POSTIE_SASL_OAUTHBEARER);
    m = play(&t);
    assert_memory_equal(postie_imap_error(m)->subject, "invalid_token: ", 15);
    t = oauth(unavailable, POSTIE_SASL_XOAUTH2);
    play(&t);
}

/* The chosen mechanism or nothing: not PLAIN, not LOGIN, not the other one. */
static void test_oauth_mechanism_not_offered(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2] ready\r\n"),
        NOTHING_SENT,
        FAILED(POSTIE_E_AUTH_NO_MECHANISM),
        END,
    };
    transcript_t t = oauth(steps, POSTIE_SASL_OAUTHBEARER);
    t.cfg.password = "s3cret";
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->subject, "OAUTHBEARER not offered");
}

static void test_oauth_bad_config(void **state)
{
    (void)state;
    static char token[POSTIE_OAUTH_TOKEN_MAX + 2];
    static postie_imap_t m;
    postie_imap_config_t cfg = test_config();
    memset(token, 'x', POSTIE_OAUTH_TOKEN_MAX + 1);
    cfg.password = NULL;
    cfg.oauth_token = token;
    cfg.oauth_mechanism = POSTIE_SASL_XOAUTH2;
    assert_int_equal(postie_imap_init(&m, &cfg), POSTIE_E_FIELD_TOO_LONG);
    token[POSTIE_OAUTH_TOKEN_MAX] = '\0';
    assert_int_equal(postie_imap_init(&m, &cfg), POSTIE_OK);
    cfg.oauth_mechanism = POSTIE_SASL_LOGIN;
    assert_int_equal(postie_imap_init(&m, &cfg), POSTIE_E_INVALID_ARGUMENT);
}

/* The longest token fits the transmit buffer with SASL-IR. */
static void test_oauth_longest_token(void **state)
{
    (void)state;
    static char token[POSTIE_OAUTH_TOKEN_MAX + 1];
    static char line[POSTIE_SASL_OAUTH_B64_MAX + 64];
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n"),
        C(line),
        LOGIN_OK_CAPS,
        SELECT_2,
        END,
    };
    char *b64 = line + strlen("A0001 AUTHENTICATE XOAUTH2 ");
    size_t n = 0;
    memset(token, 'x', POSTIE_OAUTH_TOKEN_MAX);
    memcpy(line, "A0001 AUTHENTICATE XOAUTH2 ", strlen("A0001 AUTHENTICATE XOAUTH2 "));
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_XOAUTH2, OAUTH_USER, NULL, 0, token,
                                       strlen(token), b64, sizeof(line) - 40, &n),
                     POSTIE_OK);
    memcpy(b64 + n, "\r\n", 3);
    transcript_t t = oauth(steps, POSTIE_SASL_XOAUTH2);
    t.cfg.oauth_token = token;
    play(&t);
}

static void test_greeting_bye(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* BYE Too many connections\r\n"),
        FAILED(POSTIE_E_SERVER_SHUTDOWN),
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_true(postie_status_is_transient(postie_imap_error(m)->status));
    assert_string_equal(postie_imap_error(m)->reply.text, "BYE Too many connections");
}

static void test_greeting_malformed(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("220 smtp.example ESMTP\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_auth_unavailable_is_temporary(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR,
        AUTH_IR,
        S("A0001 NO [UNAVAILABLE] Authentication backend down\r\n"),
        FAILED(POSTIE_E_AUTH_TEMPORARY),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_auth_bad(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR, AUTH_IR, S("A0001 BAD Invalid base64\r\n"), FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_auth_extra_challenge_cancelled(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR,
        AUTH_IR,
        S("+ more?\r\n"),
        C("*\r\n"),
        S("A0001 BAD Authentication cancelled\r\n"),
        FAILED(POSTIE_E_AUTH_FAILED),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_select_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR,
        AUTH_IR,
        LOGIN_OK_CAPS,
        C("A0002 SELECT Archive/2024\r\n"),
        S("A0002 NO Mailbox doesn't exist: Archive/2024\r\n"),
        FAILED(POSTIE_E_FOLDER_NOT_FOUND),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.folder = "Archive/2024";
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->phase, "SELECT");
    assert_string_equal(postie_imap_error(m)->subject, "SELECT Archive/2024");
}

static void test_select_in_use(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR,
        AUTH_IR,
        LOGIN_OK_CAPS,
        SELECT_2,
        S("A0002 NO [INUSE] Mailbox is locked\r\n"),
        FAILED(POSTIE_E_MAILBOX_IN_USE),
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_true(postie_status_is_transient(postie_imap_error(m)->status));
}

static void test_select_without_uidvalidity(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR,
        AUTH_IR,
        LOGIN_OK_CAPS,
        SELECT_2,
        S("* 1 EXISTS\r\nA0002 OK\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_folder_modified_utf7(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREET_CAPS_IR,
        AUTH_IR,
        LOGIN_OK_CAPS,
        /* RFC 3501 5.1.3's example, with "&" and a space (quoted) */
        C("A0002 SELECT \"~peter/mail/&U,BTFw-/&ZeVnLIqe- &- x\"\r\n"),
        S("* OK [UIDVALIDITY 1] x\r\nA0002 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.folder = "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e & x";
    play(&t);
}

/* The longest name that doubles in modified UTF-7 still fits. */
static void test_folder_longest_encoding(void **state)
{
    static char folder[POSTIE_IMAP_FOLDER_MAX + 1];
    static char select[600];
    size_t n = 0;
    size_t k = 0;
    (void)state;
    k += (size_t)snprintf(select, sizeof(select), "A0002 SELECT ");
    while (n + 3 <= POSTIE_IMAP_FOLDER_MAX) {
        memcpy(folder + n,
               "\xc3\xa9"
               "a",
               3);
        n += 3;
        k += (size_t)snprintf(select + k, sizeof(select) - k, "&AOk-a");
    }
    snprintf(select + k, sizeof(select) - k, "\r\n");
    step_t steps[] = {
        GREET_CAPS_IR,
        AUTH_IR,
        LOGIN_OK_CAPS,
        C(select),
        S("* OK [UIDVALIDITY 1] x\r\nA0002 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.folder = folder;
    play(&t);
}

static void test_folder_checked_at_init(void **state)
{
    postie_imap_t *m = malloc(sizeof(*m));
    postie_imap_config_t cfg = test_config();
    static char long_name[POSTIE_IMAP_FOLDER_MAX + 2];
    (void)state;
    cfg.folder = "bad\xff";
    assert_int_equal(postie_imap_init(m, &cfg), POSTIE_E_UTF8_INVALID);
    assert_string_equal(postie_imap_error(m)->subject, "folder");
    cfg.folder = "a\rb";
    assert_int_equal(postie_imap_init(m, &cfg), POSTIE_E_FIELD_INVALID);
    memset(long_name, 'a', sizeof(long_name) - 1);
    cfg.folder = long_name;
    assert_int_equal(postie_imap_init(m, &cfg), POSTIE_E_FIELD_TOO_LONG);
    cfg.folder = NULL;
    cfg.password = NULL;
    assert_int_equal(postie_imap_init(m, &cfg), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_imap_start(m, 0), POSTIE_E_BAD_STATE);
    free(m);
}

/* ---- list ---------------------------------------------------------------------- */

static void test_list_uids_filters_below_from(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        LIST(50),
        C("A0003 UID SEARCH UID 50:*\r\n"),
        NOT_READY,
        S("* SEARCH 45\r\nA0003 OK Search completed\r\n"), /* 50:* matched the highest, 45 */
        EVENT(POSTIE_MAILBOX_EV_LISTED),
        ITEMS(""),
        IS_READY,
        LIST(1),
        C("A0004 UID SEARCH UID 1:*\r\n"),
        S("* SEARCH 43 44 45\r\nA0004 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_LISTED),
        ITEMS("43 44 45"),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_list_with_sizes(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        LIST_SIZES(44),
        C("A0003 UID SEARCH UID 44:*\r\n"),
        S("* SEARCH 44 45 47\r\n* 4 EXISTS\r\nA0003 OK\r\n"),
        C("A0004 UID FETCH 44:47 (UID RFC822.SIZE)\r\n"),
        S("* 2 FETCH (UID 44 RFC822.SIZE 1200)\r\n"
          "* 1 FETCH (FLAGS (\\Seen))\r\n" /* an unsolicited flag update */
          "* 3 FETCH (RFC822.SIZE 9 UID 45)\r\n"
          "* 4 FETCH (UID 47 RFC822.SIZE 33 FLAGS (\\Recent))\r\n"
          "A0004 OK Fetch completed\r\n"),
        EVENT(POSTIE_MAILBOX_EV_LISTED),
        ITEMS("44:1200 45:9 47:33"),
        IS_READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_int_equal(postie_imap_mailbox_ops.info(m)->messages, 4);
}

static void test_list_empty(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        LIST_SIZES(1),
        C("A0003 UID SEARCH UID 1:*\r\n"),
        S("* SEARCH\r\nA0003 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_LISTED),
        NOTHING_SENT,
        ITEMS(""),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_list_search_out_of_order(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        LIST(1),
        C("A0003 UID SEARCH UID 1:*\r\n"),
        S("* SEARCH 5 3\r\nA0003 OK\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_list_search_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        LIST(1),
        C("A0003 UID SEARCH UID 1:*\r\n"),
        S("A0003 BAD Error in IMAP command\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->phase, "UID SEARCH");
    assert_string_equal(postie_imap_error(m)->subject, "UID SEARCH UID 1:*");
}

/* Drive an engine by hand (whole mode): feed server text, take what it
 * sent. */
static void hand_feed(postie_imap_t *m, const char *text, size_t len)
{
    size_t pos = 0;
    while (pos < len && !(postie_imap_state(m) & POSTIE_IMAP_FAILED)) {
        size_t cap;
        uint8_t *w = postie_imap_rx_buf(m, &cap);
        size_t n = len - pos < cap ? len - pos : cap;
        assert_true(cap > 0);
        memcpy(w, text + pos, n);
        (void)postie_imap_rx_ack(m, n, 0);
        pos += n;
    }
}

static size_t hand_sent(postie_imap_t *m, char *out, size_t cap)
{
    size_t len;
    const uint8_t *buf = postie_imap_tx_buf(m, &len);
    assert_true(len < cap);
    memcpy(out, buf, len);
    out[len] = '\0';
    postie_imap_tx_ack(m, len, 0);
    return len;
}

static void hand_open(postie_imap_t *m)
{
    static const char script[] = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n"
                                 "A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS] ok\r\n"
                                 "* OK [UIDVALIDITY 1] x\r\nA0002 OK\r\n";
    postie_imap_config_t cfg = test_config();
    postie_imap_event_t ev;
    char sent[1024];
    assert_int_equal(postie_imap_init(m, &cfg), POSTIE_OK);
    assert_int_equal(postie_imap_start(m, 0), POSTIE_OK);
    for (size_t i = 0; script[i] != '\0'; i++) {
        hand_feed(m, script + i, 1);
        (void)hand_sent(m, sent, sizeof(sent));
        while (postie_imap_next_event(m, &ev)) {
        }
    }
    assert_true(postie_imap_state(m) & POSTIE_IMAP_READY);
}

/* A SEARCH answer far longer than a line may be, with sizes: it streams,
 * the UID FETCH windows stay few and short, and every UID is listed once,
 * in order. */
static void test_list_long_search_in_windows(void **state)
{
    enum { N = 40000 };
    static postie_imap_t m;
    static char text[N * 48];
    char sent[1024];
    size_t pos = 0;
    unsigned windows = 0;
    postie_imap_event_t ev;
    bool listed = false;
    (void)state;

    hand_open(&m);
    memset(&run, 0, sizeof(run));
    run.items_check = true;
    assert_int_equal(postie_imap_list(&m, 3, POSTIE_MAIL_ITEM_SIZE, on_item, NULL, 0), POSTIE_OK);
    (void)hand_sent(&m, sent, sizeof(sent));
    assert_string_equal(sent, "A0003 UID SEARCH UID 3:*\r\n");
    pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "* SEARCH");
    for (unsigned u = 1; u <= N; u++) {
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos, " %u", 2 * u);
    }
    pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "\r\nA0003 OK\r\n");
    assert_true(pos > 4 * POSTIE_IMAP_LINE_MAX);
    hand_feed(&m, text, pos);
    for (;;) {
        unsigned lo = 0;
        unsigned hi = 0;
        unsigned tag = 0;
        while (postie_imap_next_event(&m, &ev)) {
            assert_int_not_equal(ev.type, POSTIE_MAILBOX_EV_FAILED);
            listed = listed || ev.type == POSTIE_MAILBOX_EV_LISTED;
        }
        if (listed) {
            break;
        }
        assert_true(hand_sent(&m, sent, sizeof(sent)) < 64);
        assert_int_equal(sscanf(sent, "A%u UID FETCH %u:%u (UID RFC822.SIZE)", &tag, &lo, &hi), 3);
        windows++;
        pos = 0;
        for (unsigned u = lo; u <= hi; u++) {
            if (u % 2 == 0 && u >= 2 && u <= 2 * N) {
                pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
                                        "* %u FETCH (UID %u RFC822.SIZE %u)\r\n", u / 2, u, u / 2);
            }
        }
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "A%04u OK\r\n", tag);
        hand_feed(&m, text, pos);
    }
    assert_true(windows >= 2 && windows <= POSTIE_IMAP_LIST_WINDOWS + 1);
    /* UID 2 is below 3; 4 .. 2N come once each, in order, with their sizes */
    assert_int_equal(run.items_count, N - 1);
    assert_int_equal(run.items_last, 2 * N);
    assert_true(postie_imap_state(&m) & POSTIE_IMAP_READY);
}

/* A (MODSEQ n) tail ends one SEARCH answer's numbers, not the next's. */
static void test_list_two_search_answers_after_modseq(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        LIST(1),
        C("A0003 UID SEARCH UID 1:*\r\n"),
        S("* SEARCH 4 (MODSEQ 917)\r\n* SEARCH 5 6\r\nA0003 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_LISTED),
        ITEMS("4 5 6"),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_list_sizes_search_out_of_order(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        LIST_SIZES(1),
        C("A0003 UID SEARCH UID 1:*\r\n"),
        S("* SEARCH 9 3 5\r\nA0003 OK\r\n"),
        C("A0004 UID FETCH 3:9 (UID RFC822.SIZE)\r\n"), /* one window over all */
        S("* 1 FETCH (UID 3 RFC822.SIZE 30)\r\n* 2 FETCH (UID 5 RFC822.SIZE 50)\r\n"
          "* 3 FETCH (UID 9 RFC822.SIZE 90)\r\nA0004 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_LISTED),
        ITEMS("3:30 5:50 9:90"),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

/* Literals where nobody needs them are read and dropped: in an untagged
 * response the engine does not use, and inside a FETCH item's list. */
static void test_other_literals_skipped(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* LIST (\\HasNoChildren) \"/\" {5}\r\nINBOX\r\n"
          "* 1 FETCH (UID 43 ENVELOPE (NIL {6}\r\nsubj)) NIL ((\"a\" NIL \"b\" \"c\")))"
          " BODY[] {4}\r\nbody)\r\nA0003 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
        BODY("body"),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_login_literal_minus(void **state)
{
    (void)state;
    static const step_t steps[] = {
        S("* OK [CAPABILITY IMAP4rev1 LITERAL-] ready\r\n"),
        C("A0001 LOGIN \"alice\" {3+}\r\n\xc3\xa9x\r\n"),
        S("A0001 OK [CAPABILITY IMAP4rev1] in\r\n"),
        SELECT_2,
        SELECT_OK_2,
        EVENT(POSTIE_MAILBOX_EV_READY),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.password = "\xc3\xa9x";
    play(&t);
}

/* ---- retrieve, remove, finish ------------------------------------------------------ */

static void test_retrieve_remove_finish_uidplus(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        IS_READY, /* pipelining: another command may go */
        S("* 1 FETCH (UID 43 BODY[] {24}\r\nSubject: hi\r\n\r\nbody\r\n.\r\n)\r\n"
          "A0003 OK Fetch completed.\r\n"),
        EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
        BODY("Subject: hi\r\n\r\nbody\r\n.\r\n"),
        REMOVE(43),
        /* the UID EXPUNGE waits for the store's answer (RFC 9051 5.5) */
        C("A0004 UID STORE 43 +FLAGS.SILENT (\\Deleted)\r\n"),
        RETRIEVE(44),
        C("A0005 UID FETCH 44 (BODY.PEEK[])\r\n"),
        S("A0004 OK Store completed.\r\n"),
        C("A0006 UID EXPUNGE 43\r\n"),
        S("* 1 FETCH (BODY[] {3}\r\nabc UID 44)\r\nA0005 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
        BODY("abc"),
        FINISH, /* LOGOUT waits for the last UID EXPUNGE to have left: it has */
        C("A0007 LOGOUT\r\n"),
        S("* 1 EXPUNGE\r\nA0006 OK Expunge completed.\r\n"),
        EVENT(POSTIE_MAILBOX_EV_REMOVED),
        NOT_READY,
        S("* BYE Logging out\r\nA0007 OK Logout completed.\r\n"),
        EVENT(POSTIE_MAILBOX_EV_CLOSED),
        CLOSED,
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_int_equal(postie_imap_mailbox_ops.info(m)->messages, 2);
}

static void test_remove_and_finish_without_uidplus(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_PLAIN,
        REMOVE(43),
        C("A0003 UID STORE 43 +FLAGS.SILENT (\\Deleted)\r\n"),
        NOTHING_SENT, /* no UID EXPUNGE without UIDPLUS */
        S("A0003 OK Store completed.\r\n"),
        EVENT(POSTIE_MAILBOX_EV_REMOVED),
        FINISH,
        C("A0004 EXPUNGE\r\n"),
        NOTHING_SENT,
        S("* 1 EXPUNGE\r\nA0004 OK Expunge completed.\r\n"),
        C("A0005 LOGOUT\r\n"),
        S("* BYE Logging out\r\n"),
        SERVER_EOF, /* the server hangs up after BYE: fine during LOGOUT */
        EVENT(POSTIE_MAILBOX_EV_CLOSED),
        CLOSED,
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_remove_then_retrieve_in_one_flight_completes_in_order(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_PLAIN,
        REMOVE(43),
        RETRIEVE(44),
        C("A0003 UID STORE 43 +FLAGS.SILENT (\\Deleted)\r\nA0004 UID FETCH 44 (BODY.PEEK[])\r\n"),
        /* the server completes the FETCH first: REMOVED still comes first */
        S("* 2 FETCH (UID 44 BODY[] {2}\r\nhi)\r\nA0004 OK\r\nA0003 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_REMOVED),
        EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
        BODY("hi"),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_untagged_in_the_middle_of_fetch(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 4 EXISTS\r\n* OK [ALERT] Disk quota at 95%\r\n"
          "* 1 FETCH (FLAGS (\\Seen) UID 43 BODY[] {4}\r\nab\r\n FLAGS (\\Seen))\r\n"
          "* 2 EXPUNGE\r\n* 3 FETCH (FLAGS (\\Deleted))\r\n"
          "A0003 OK [ALERT] done\r\n"),
        ALERT("done"),
        EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
        BODY("ab\r\n"),
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_int_equal(postie_imap_mailbox_ops.info(m)->messages, 3);
}

static void test_alert_text(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        S("* OK [ALERT] System going down at 18:00\r\n"),
        ALERT("System going down at 18:00"),
        IS_READY,
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_bye_in_the_middle_of_fetch(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* BYE Server shutting down\r\n"),
        FAILED(POSTIE_E_SERVER_SHUTDOWN),
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->reply.text, "BYE Server shutting down");
    assert_string_equal(postie_imap_error(m)->phase, "UID FETCH");
}

static void test_retrieve_huge_literal_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {4294967295}\r\nabc"),
        FAILED(POSTIE_E_LITERAL_TOO_LARGE),
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_int_equal(run.body_calls, 0);
    assert_string_equal(postie_imap_error(m)->subject,
                        "UID FETCH 43 (BODY.PEEK[]): literal larger than literal_max");
}

static void test_retrieve_overflowing_literal(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {99999999999999999999}\r\n"),
        FAILED(POSTIE_E_LITERAL_TOO_LARGE),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_retrieve_negative_literal(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {-1}\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_retrieve_over_size_max(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {11}\r\nhello world)\r\n"),
        FAILED(POSTIE_E_MESSAGE_TOO_LARGE),
        END,
    };
    transcript_t t = plain(steps);
    t.size_max = 10;
    play(&t);
    assert_int_equal(run.body_calls, 0);
}

static void test_retrieve_literal_config_bound(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {1025}\r\n"),
        FAILED(POSTIE_E_LITERAL_TOO_LARGE),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.literal_max = 1024;
    play(&t);
}

static void test_retrieve_truncated_by_eof(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {100}\r\nonly a part"),
        SERVER_EOF,
        FAILED(POSTIE_E_MESSAGE_TRUNCATED),
        END,
    };
    transcript_t t = plain(steps);
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->subject,
                        "UID FETCH 43 (BODY.PEEK[]): connection closed with 89 octets of the "
                        "literal missing");
}

static void test_retrieve_more_data_than_announced(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {5}\r\nhello world\r\n)\r\nA0003 OK\r\n"),
        FAILED(POSTIE_E_SIZE_MISMATCH),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_retrieve_missing_uid(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("A0003 OK Fetch completed.\r\n"),
        FAILED(POSTIE_E_NOT_FOUND),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_retrieve_quoted_body(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] \"a\\\"b\\\\c\")\r\nA0003 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
        BODY("a\"b\\c"),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_retrieve_sink_fails(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {5}\r\nhello)\r\nA0003 OK\r\n"),
        FAILED(POSTIE_E_ARCHIVE_FAILED),
        END,
    };
    transcript_t t = plain(steps);
    t.data_result = POSTIE_E_ARCHIVE_FAILED;
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->phase, "storing the message");
}

static void test_retrieve_refused_and_store_refused(void **state)
{
    (void)state;
    static const step_t fetch_no[] = {
        OPEN_UIDPLUS,
        RETRIEVE(42),
        C("A0003 UID FETCH 42 (BODY.PEEK[])\r\n"),
        S("A0003 NO Some messages could not be FETCHed\r\n"),
        FAILED(POSTIE_E_COMMAND_REFUSED),
        END,
    };
    static const step_t store_no[] = {
        OPEN_UIDPLUS,
        REMOVE(42),
        C("A0003 UID STORE 42 +FLAGS.SILENT (\\Deleted)\r\n"),
        S("A0003 NO [READ-ONLY] Mailbox is read-only\r\n"),
        FAILED(POSTIE_E_COMMAND_REFUSED),
        END,
    };
    static const step_t expunge_bad[] = {
        OPEN_PLAIN,
        FINISH,
        C("A0003 EXPUNGE\r\n"),
        S("A0003 BAD what\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    static const step_t logout_eof[] = {
        OPEN_UIDPLUS,
        REMOVE(42),
        FINISH, /* LOGOUT waits for the store's answer and the UID EXPUNGE */
        C("A0003 UID STORE 42 +FLAGS.SILENT (\\Deleted)\r\n"),
        S("A0003 OK Store completed.\r\n"),
        C("A0004 UID EXPUNGE 42\r\nA0005 LOGOUT\r\n"),
        SERVER_EOF, /* before the removal completed: a failure */
        FAILED(POSTIE_E_CONNECTION_CLOSED),
        END,
    };
    transcript_t t = plain(fetch_no);
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->subject, "UID FETCH 42 (BODY.PEEK[])");
    assert_string_equal(postie_imap_error(m)->reply.text, "NO Some messages could not be FETCHed");
    t = plain(store_no);
    m = play(&t);
    assert_string_equal(postie_imap_error(m)->subject, "UID STORE 42 +FLAGS.SILENT (\\Deleted)");
    t = plain(expunge_bad);
    play(&t);
    t = plain(logout_eof);
    play(&t);
}

/* ---- framing and malformed responses ------------------------------------------------ */

static void test_unknown_tag(void **state)
{
    (void)state;
    static const step_t steps[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("A0099 OK what\r\n"),
        FAILED(POSTIE_E_REPLY_UNEXPECTED),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

static void test_malformed_responses(void **state)
{
    static const char *const bad[] = {
        "* 1 FETCH UID 43\r\n",                            /* no list */
        "* 1 FETCH (UID 43 BODY[] {3}x\r\n",               /* literal not at the end */
        "* 1 FETCH (UID 43 BODY[] {3x}\r\n",               /* not a number */
        "* 1 FETCH (UID 43 BODY[] \"abc\r\n",              /* unterminated string */
        "* 1 FETCH (UID 43 BODY[] \"abc\") x\r\n",         /* text after the list */
        "* 1 FETCH (UID 43 BODY[] \"abc\"\r\n",            /* no closing parenthesis */
        "* 1 FETCH (UID 0 BODY[] \"abc\")\r\n",            /* UID 0 */
        "* 1 FETCH (UID 43 BODY[] NIL)\r\n",               /* no message */
        "A0003 MAYBE\r\n",                                 /* not OK/NO/BAD */
        "A0003\r\n",                                       /* nothing */
        "hello\r\n",                                       /* not IMAP */
        "* 1 FETCH (UID 43 BODY[]\r\n",                    /* item without value */
        "+ go ahead\r\n",                                  /* nobody asked */
        "* 1 FETCH (UID 43 BODY[] {3}\r\nabc\r\n",         /* response ends after literal */
        "*\r\n",                                           /* empty */
        "* 1 FETCH (UID 43 BODY[] \"a\rb\")\r\n",          /* bare CR */
        "* 1 FETCH (UID 43 BODY[] \"a\nb\")\r\n",          /* bare LF */
        "* 1 FETCH (UID 43 BODY[] \"abc\\\r\n",            /* a backslash, then the line ends */
        "* 1 FETCH (UID 43 BODY[] {5 {3}\r\nabc)\r\n",     /* junk before the literal */
        "* 1 FETCH (UID 43 BODY[] {3}\r\nabc UID 44)\r\n", /* another UID's message */
        "* 1 FETCH (BODY[] {3}\r\nabc)\r\n* 2 FETCH (BODY[] {1}\r\nd)\r\n", /* twice */
    };
    static const postie_status_t want[] = {
        POSTIE_E_REPLY_MALFORMED,  POSTIE_E_REPLY_MALFORMED, POSTIE_E_REPLY_MALFORMED,
        POSTIE_E_REPLY_MALFORMED,  POSTIE_E_REPLY_MALFORMED, POSTIE_E_REPLY_MALFORMED,
        POSTIE_E_REPLY_MALFORMED,  POSTIE_E_NOT_FOUND,       POSTIE_E_REPLY_MALFORMED,
        POSTIE_E_REPLY_MALFORMED,  POSTIE_E_REPLY_MALFORMED, POSTIE_E_REPLY_MALFORMED,
        POSTIE_E_REPLY_UNEXPECTED, POSTIE_E_SIZE_MISMATCH,   POSTIE_E_REPLY_MALFORMED,
        POSTIE_E_REPLY_MALFORMED,  POSTIE_E_REPLY_MALFORMED, POSTIE_E_REPLY_MALFORMED,
        POSTIE_E_REPLY_MALFORMED,  POSTIE_E_REPLY_MALFORMED, POSTIE_E_REPLY_UNEXPECTED,
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        step_t steps[] = {
            OPEN_UIDPLUS,
            RETRIEVE(43),
            C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
            S(bad[i]),
            {OP_FAILED, NULL, want[i]},
            END,
        };
        transcript_t t = plain(steps);
        print_message("malformed #%zu\n", i);
        play(&t);
    }
}

static void test_line_too_long(void **state)
{
    static char line[POSTIE_IMAP_LINE_MAX + 64];
    (void)state;
    memset(line, 'x', sizeof(line) - 3);
    memcpy(line, "* OK ", 5);
    line[sizeof(line) - 3] = '\r';
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    step_t steps[] = {
        OPEN_UIDPLUS,
        S(line),
        FAILED(POSTIE_E_REPLY_LINE_TOO_LONG),
        END,
    };
    transcript_t t = plain(steps);
    play(&t);
}

/* ---- drops and timeouts ------------------------------------------------------------ */

static void test_drop_at_each_step(void **state)
{
    (void)state;
    static const step_t greeting[] = {SERVER_EOF, FAILED(POSTIE_E_CONNECTION_CLOSED), END};
    static const step_t login[] = {GREET_CAPS_IR, AUTH_IR, SERVER_EOF,
                                   FAILED(POSTIE_E_CONNECTION_CLOSED), END};
    static const step_t select[] = {GREET_CAPS_IR,
                                    AUTH_IR,
                                    LOGIN_OK_CAPS,
                                    SELECT_2,
                                    S("* 3 EXISTS\r\n"),
                                    SERVER_EOF,
                                    FAILED(POSTIE_E_CONNECTION_CLOSED),
                                    END};
    static const step_t search[] = {OPEN_UIDPLUS,
                                    LIST(1),
                                    C("A0003 UID SEARCH UID 1:*\r\n"),
                                    S("* SEARCH 1 2"),
                                    SERVER_EOF,
                                    FAILED(POSTIE_E_CONNECTION_CLOSED),
                                    END};
    static const step_t store[] = {OPEN_UIDPLUS, REMOVE(1), SERVER_EOF,
                                   FAILED(POSTIE_E_CONNECTION_CLOSED), END};
    static const step_t *const all[] = {greeting, login, select, search, store};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        transcript_t t = plain(all[i]);
        play(&t);
    }
}

static void test_timeouts(void **state)
{
    (void)state;
    static const step_t greeting[] = {
        TIME(POSTIE_IMAP_TIMEOUT_GREETING_MS - 1),
        NOTHING_SENT,
        TIME(1),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    static const step_t command[] = {
        OPEN_UIDPLUS,
        LIST(1),
        C("A0003 UID SEARCH UID 1:*\r\n"),
        TIME(POSTIE_IMAP_TIMEOUT_COMMAND_MS / 2),
        S("* SEARCH 1"), /* trickling bytes do not extend the deadline */
        TIME(POSTIE_IMAP_TIMEOUT_COMMAND_MS / 2),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    /* while a message streams, the data timeout counts from the last octets */
    static const step_t data[] = {
        OPEN_UIDPLUS,
        RETRIEVE(43),
        C("A0003 UID FETCH 43 (BODY.PEEK[])\r\n"),
        S("* 1 FETCH (UID 43 BODY[] {6}\r\nab"),
        TIME(POSTIE_IMAP_TIMEOUT_DATA_MS - 1),
        S("cd"),
        TIME(POSTIE_IMAP_TIMEOUT_DATA_MS - 1),
        S("ef)\r\nA0003 OK\r\n"),
        EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
        BODY("abcdef"),
        RETRIEVE(44),
        C("A0004 UID FETCH 44 (BODY.PEEK[])\r\n"),
        S("* 2 FETCH (UID 44 BODY[] {6}\r\nab"),
        TIME(POSTIE_IMAP_TIMEOUT_DATA_MS),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    transcript_t t = plain(greeting);
    const postie_imap_t *m = play(&t);
    assert_string_equal(postie_imap_error(m)->phase, "greeting");
    t = plain(command);
    m = play(&t);
    assert_string_equal(postie_imap_error(m)->phase, "UID SEARCH");
    t = plain(data);
    play(&t);
}

/* ---- a large message streams in chunks ---------------------------------------------- */

static postie_status_t count_data(void *ctx, const uint8_t *data, size_t len)
{
    uint64_t *n = ctx;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != (uint8_t)('a' + (*n + i) % 26)) {
            return POSTIE_E_SIZE_MISMATCH;
        }
    }
    *n += len;
    return POSTIE_OK;
}

static void test_large_literal_streams(void **state)
{
    static postie_imap_t m;
    postie_imap_config_t cfg = test_config();
    const uint64_t size = 50u * 1024u * 1024u;
    uint64_t got = 0;
    uint64_t sent = 0;
    postie_imap_event_t ev;
    bool retrieved = false;
    static const char *const script = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n"
                                      "A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS] ok\r\n"
                                      "* OK [UIDVALIDITY 1] x\r\nA0002 OK\r\n";
    char head[64];
    (void)state;

    assert_int_equal(postie_imap_init(&m, &cfg), POSTIE_OK);
    assert_int_equal(postie_imap_start(&m, 0), POSTIE_OK);
    for (size_t i = 0; script[i] != '\0'; i++) {
        size_t cap;
        size_t len;
        uint8_t *w = postie_imap_rx_buf(&m, &cap);
        *w = (uint8_t)script[i];
        assert_int_equal(postie_imap_rx_ack(&m, 1, 0), POSTIE_OK);
        (void)postie_imap_tx_buf(&m, &len);
        postie_imap_tx_ack(&m, len, 0);
        while (postie_imap_next_event(&m, &ev)) {
        }
    }
    assert_true(postie_imap_state(&m) & POSTIE_IMAP_READY);
    assert_int_equal(postie_imap_retrieve(&m, 7, 0, count_data, &got, 0), POSTIE_OK);
    snprintf(head, sizeof(head), "* 1 FETCH (UID 7 BODY[] {%llu}\r\n", (unsigned long long)size);
    {
        size_t cap;
        size_t len;
        uint8_t *w = postie_imap_rx_buf(&m, &cap);
        (void)postie_imap_tx_buf(&m, &len);
        postie_imap_tx_ack(&m, len, 0);
        memcpy(w, head, strlen(head));
        assert_int_equal(postie_imap_rx_ack(&m, strlen(head), 0), POSTIE_OK);
    }
    while (sent < size) {
        size_t cap;
        uint8_t *w = postie_imap_rx_buf(&m, &cap);
        size_t n = cap < size - sent ? cap : (size_t)(size - sent);
        for (size_t i = 0; i < n; i++) {
            w[i] = (uint8_t)('a' + (sent + i) % 26);
        }
        assert_true(n > 0);
        assert_int_equal(postie_imap_rx_ack(&m, n, 0), POSTIE_OK);
        sent += n;
    }
    {
        static const char tail[] = ")\r\nA0003 OK\r\n";
        size_t cap;
        uint8_t *w = postie_imap_rx_buf(&m, &cap);
        memcpy(w, tail, sizeof(tail) - 1);
        assert_int_equal(postie_imap_rx_ack(&m, sizeof(tail) - 1, 0), POSTIE_OK);
    }
    while (postie_imap_next_event(&m, &ev)) {
        retrieved = retrieved || (ev.type == POSTIE_MAILBOX_EV_RETRIEVED && ev.id == 7);
    }
    assert_true(retrieved);
    assert_true(got == size);
}

/* ---- every step of a whole session: untagged noise, BYE, drop, NO, BAD ---- */

static const step_t full_session[] = {
    S("* OK [CAPABILITY IMAP4rev1] hi\r\n"),
    C("A0001 LOGIN \"alice\" \"s3cret\"\r\n"),
    S("A0001 OK [CAPABILITY IMAP4rev1] in\r\n"),
    C("A0002 SELECT INBOX\r\n"),
    S("* 2 EXISTS\r\n* OK [UIDVALIDITY 3] x\r\nA0002 OK\r\n"),
    EVENT(POSTIE_MAILBOX_EV_READY),
    LIST_SIZES(1),
    C("A0003 UID SEARCH UID 1:*\r\n"),
    S("* SEARCH 4 5\r\nA0003 OK\r\n"),
    C("A0004 UID FETCH 4:5 (UID RFC822.SIZE)\r\n"),
    S("* 1 FETCH (UID 4 RFC822.SIZE 3)\r\n* 2 FETCH (UID 5 RFC822.SIZE 2)\r\nA0004 OK\r\n"),
    EVENT(POSTIE_MAILBOX_EV_LISTED),
    ITEMS("4:3 5:2"),
    RETRIEVE(4),
    C("A0005 UID FETCH 4 (BODY.PEEK[])\r\n"),
    S("* 1 FETCH (UID 4 BODY[] {3}\r\nabc)\r\nA0005 OK\r\n"),
    EVENT(POSTIE_MAILBOX_EV_RETRIEVED),
    BODY("abc"),
    REMOVE(4),
    C("A0006 UID STORE 4 +FLAGS.SILENT (\\Deleted)\r\n"),
    S("A0006 OK\r\n"),
    EVENT(POSTIE_MAILBOX_EV_REMOVED),
    FINISH,
    C("A0007 EXPUNGE\r\n"),
    S("* 1 EXPUNGE\r\nA0007 OK\r\n"),
    C("A0008 LOGOUT\r\n"),
    S("* BYE see you\r\nA0008 OK\r\n"),
    CLOSED,
    END,
};

#define FULL_STEPS (sizeof(full_session) / sizeof(full_session[0]))

static void test_full_session(void **state)
{
    (void)state;
    transcript_t t = plain(full_session);
    play(&t);
}

/* Untagged EXISTS, EXPUNGE, FETCH flags and [ALERT] before every server
 * answer after the greeting change nothing. */
static void test_untagged_before_every_answer(void **state)
{
    static char texts[FULL_STEPS][256];
    step_t steps[FULL_STEPS];
    bool first = true;
    (void)state;
    for (size_t i = 0; i < FULL_STEPS; i++) {
        steps[i] = full_session[i];
        if (steps[i].op == OP_SERVER) {
            if (!first) {
                snprintf(texts[i], sizeof(texts[i]),
                         "* 9 EXISTS\r\n* 1 EXPUNGE\r\n* OK [ALERT] noise\r\n"
                         "* 1 FETCH (FLAGS (\\Seen))\r\n* NO [ALERT] warning\r\n%s",
                         steps[i].data);
                steps[i].data = texts[i];
            }
            first = false;
        }
    }
    transcript_t t = plain(steps);
    play(&t);
}

/* The status a refusal of the command sent as `client` means. */
static postie_status_t refusal_for(const char *client, bool bad)
{
    if (bad) {
        return POSTIE_E_REPLY_MALFORMED;
    }
    if (strstr(client, " LOGIN ") != NULL) {
        return POSTIE_E_AUTH_FAILED;
    }
    if (strstr(client, " SELECT ") != NULL) {
        return POSTIE_E_FOLDER_NOT_FOUND;
    }
    return POSTIE_E_COMMAND_REFUSED;
}

/* At every server answer, instead: BYE, the connection dropped, NO, BAD.
 * Each is a failure with the right status, naming the command. */
static void test_fault_at_every_step(void **state)
{
    static char answer[64];
    (void)state;
    for (size_t cut = 0; cut < FULL_STEPS; cut++) {
        const char *client = NULL;
        if (full_session[cut].op != OP_SERVER) {
            continue;
        }
        for (size_t k = 0; k < cut; k++) {
            if (full_session[k].op == OP_CLIENT) {
                client = full_session[k].data;
            }
        }
        for (int fault = 0; fault < 4; fault++) {
            step_t steps[FULL_STEPS + 2];
            size_t n = 0;
            postie_status_t want;
            bool logout = client != NULL && strstr(client, "LOGOUT") != NULL;
            if (client == NULL && fault >= 2) {
                continue; /* the greeting has no tag */
            }
            memcpy(steps, full_session, cut * sizeof(steps[0]));
            n = cut;
            switch (fault) {
            case 0:
                steps[n++] = (step_t)S("* BYE shutting down\r\n");
                want = POSTIE_E_SERVER_SHUTDOWN;
                if (logout) {
                    steps[n++] = (step_t)SERVER_EOF;
                    steps[n++] = (step_t)CLOSED;
                    steps[n++] = (step_t)END;
                    goto play_it;
                }
                break;
            case 1:
                steps[n++] = (step_t)SERVER_EOF;
                want = POSTIE_E_CONNECTION_CLOSED;
                if (logout) {
                    steps[n++] = (step_t)CLOSED;
                    steps[n++] = (step_t)END;
                    goto play_it;
                }
                break;
            default:
                snprintf(answer, sizeof(answer), "%.5s %s refused\r\n", client,
                         fault == 2 ? "NO" : "BAD");
                steps[n++] = (step_t)S(answer);
                want = refusal_for(client, fault == 3);
                break;
            }
            steps[n++] = (step_t){OP_FAILED, NULL, want};
            steps[n++] = (step_t)END;
        play_it:
            print_message("fault %d at step %zu\n", fault, cut);
            {
                transcript_t t = plain(steps);
                const postie_imap_t *m = play(&t);
                if (fault >= 2) {
                    char want_text[32];
                    snprintf(want_text, sizeof(want_text), "%s refused", fault == 2 ? "NO" : "BAD");
                    assert_string_equal(postie_imap_error(m)->reply.text, want_text);
                    assert_true(strlen(postie_imap_error(m)->subject) > 0);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_session),
        cmocka_unit_test(test_untagged_before_every_answer),
        cmocka_unit_test(test_fault_at_every_step),
        cmocka_unit_test(test_open_sasl_ir_and_info),
        cmocka_unit_test(test_open_authenticate_without_sasl_ir),
        cmocka_unit_test(test_open_login_quoted),
        cmocka_unit_test(test_open_login_synchronising_literal),
        cmocka_unit_test(test_open_login_two_synchronising_literals),
        cmocka_unit_test(test_open_login_literal_plus),
        cmocka_unit_test(test_open_login_long_value_is_a_literal),
        cmocka_unit_test(test_open_starttls),
        cmocka_unit_test(test_starttls_required_not_offered),
        cmocka_unit_test(test_starttls_injection),
        cmocka_unit_test(test_starttls_refused),
        cmocka_unit_test(test_opportunistic_starttls_refused_goes_on),
        cmocka_unit_test(test_preauth_refused_when_tls_required),
        cmocka_unit_test(test_preauth_accepted_over_tls),
        cmocka_unit_test(test_cleartext_credentials_refused),
        cmocka_unit_test(test_logindisabled_without_mechanism),
        cmocka_unit_test(test_oauth_sasl_ir),
        cmocka_unit_test(test_oauth_continuation),
        cmocka_unit_test(test_oauth_refused),
        cmocka_unit_test(test_oauth_mechanism_not_offered),
        cmocka_unit_test(test_oauth_bad_config),
        cmocka_unit_test(test_oauth_longest_token),
        cmocka_unit_test(test_greeting_bye),
        cmocka_unit_test(test_greeting_malformed),
        cmocka_unit_test(test_auth_unavailable_is_temporary),
        cmocka_unit_test(test_auth_bad),
        cmocka_unit_test(test_auth_extra_challenge_cancelled),
        cmocka_unit_test(test_select_refused),
        cmocka_unit_test(test_select_in_use),
        cmocka_unit_test(test_select_without_uidvalidity),
        cmocka_unit_test(test_folder_modified_utf7),
        cmocka_unit_test(test_folder_longest_encoding),
        cmocka_unit_test(test_folder_checked_at_init),
        cmocka_unit_test(test_list_uids_filters_below_from),
        cmocka_unit_test(test_list_with_sizes),
        cmocka_unit_test(test_list_empty),
        cmocka_unit_test(test_list_search_out_of_order),
        cmocka_unit_test(test_list_search_refused),
        cmocka_unit_test(test_list_sizes_search_out_of_order),
        cmocka_unit_test(test_list_two_search_answers_after_modseq),
        cmocka_unit_test(test_other_literals_skipped),
        cmocka_unit_test(test_login_literal_minus),
        cmocka_unit_test(test_list_long_search_in_windows),
        cmocka_unit_test(test_retrieve_remove_finish_uidplus),
        cmocka_unit_test(test_remove_and_finish_without_uidplus),
        cmocka_unit_test(test_remove_then_retrieve_in_one_flight_completes_in_order),
        cmocka_unit_test(test_untagged_in_the_middle_of_fetch),
        cmocka_unit_test(test_alert_text),
        cmocka_unit_test(test_bye_in_the_middle_of_fetch),
        cmocka_unit_test(test_retrieve_huge_literal_refused),
        cmocka_unit_test(test_retrieve_overflowing_literal),
        cmocka_unit_test(test_retrieve_negative_literal),
        cmocka_unit_test(test_retrieve_over_size_max),
        cmocka_unit_test(test_retrieve_literal_config_bound),
        cmocka_unit_test(test_retrieve_truncated_by_eof),
        cmocka_unit_test(test_retrieve_more_data_than_announced),
        cmocka_unit_test(test_retrieve_missing_uid),
        cmocka_unit_test(test_retrieve_quoted_body),
        cmocka_unit_test(test_retrieve_sink_fails),
        cmocka_unit_test(test_retrieve_refused_and_store_refused),
        cmocka_unit_test(test_unknown_tag),
        cmocka_unit_test(test_malformed_responses),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_drop_at_each_step),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_large_literal_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
