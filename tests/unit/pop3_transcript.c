/* SPDX-License-Identifier: Apache-2.0 */
#include "pop3_transcript.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

run_t run;

postie_pop3_config_t config(void)
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

postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
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

postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
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

void take_events(void)
{
    postie_pop3_event_t ev;
    while (postie_pop3_next_event(&run.p, &ev)) {
        if (run.nevents >= sizeof(run.events) / sizeof(run.events[0])) {
            fail_msg("%s: too many unchecked events", run.where);
        }
        run.events[run.nevents++] = ev;
    }
}

void drain_tx(void)
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

void feed(const char *data, size_t len)
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

void take_event(int type, uint32_t id)
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
        case P_RANGE:
            drain_tx();
            check_rc("list_range",
                     postie_pop3_list_range(&run.p, st->id, (uint32_t)st->n, st->want, on_item,
                                            NULL, run.now),
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

void play(const transcript_t *t)
{
    play_once(t, MODE_WHOLE, 0);
    play_once(t, MODE_BYTES, 0);
    for (uint32_t seed = 1; seed <= 8; seed++) {
        play_once(t, MODE_RANDOM, seed * 7919u);
    }
}
