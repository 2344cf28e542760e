/* SPDX-License-Identifier: Apache-2.0 */
#include "transcript.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef enum { MODE_WHOLE, MODE_BYTES, MODE_RANDOM } mode_t_;

typedef struct {
    mode_t_ mode;
    uint32_t rng;
    uint32_t now;
    postie_smtp_t s;
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[TRANSCRIPT_MAX_RCPT];
    char wire[(1 << 16) + 2 * POSTIE_SMTP_TX_BUFFER_SIZE];
    size_t wire_len;
    size_t wire_pos;
    postie_smtp_event_t events[256];
    size_t event_wire[256]; /* wire_len when each event was taken */
    size_t nevents;
    char where[96];
    size_t chunk_len[16]; /* sizes of the BDAT chunks checked by CHUNKS steps */
    size_t nchunks;
} run_t;

static run_t run;

postie_smtp_config_t transcript_config(void)
{
    postie_smtp_config_t cfg;
    postie_smtp_config_defaults(&cfg);
    cfg.ehlo_name = "client.example";
    cfg.tls_mode = POSTIE_TLS_NONE;
    return cfg;
}

const postie_smtp_rcpt_t *transcript_rcpt(size_t i)
{
    return &run.rcpt[i];
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
    postie_smtp_event_t ev;
    while (postie_smtp_next_event(&run.s, &ev)) {
        if (run.nevents < sizeof(run.events) / sizeof(run.events[0])) {
            run.event_wire[run.nevents] = run.wire_len;
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
        if (!(postie_smtp_state(&run.s) & POSTIE_SMTP_HAVE_TX)) {
            return;
        }
        buf = postie_smtp_tx_buf(&run.s, &len);
        size_t n = piece(len);
        if (run.wire_len + n > sizeof(run.wire)) {
            fail_msg("%s: client wrote more than the test buffer holds", run.where);
        }
        memcpy(run.wire + run.wire_len, buf, n);
        run.wire_len += n;
        postie_smtp_tx_ack(&run.s, n, run.now);
    }
    fail_msg("%s: transmit loop did not end", run.where);
}

static void feed(const char *data, size_t len)
{
    size_t pos = 0;
    for (int guard = 0; pos < len && guard < 1000000; guard++) {
        size_t cap;
        uint8_t *w;
        uint32_t st = postie_smtp_state(&run.s);
        if (st & (POSTIE_SMTP_FAILED | POSTIE_SMTP_CLOSED)) {
            break; /* the engine stopped reading; the rest is never looked at */
        }
        w = postie_smtp_rx_buf(&run.s, &cap);
        if (cap == 0) {
            take_events();
            w = postie_smtp_rx_buf(&run.s, &cap);
            if (cap == 0) {
                fail_msg("%s: receive buffer stuck full", run.where);
            }
        }
        size_t n = piece(len - pos);
        if (n > cap) {
            n = cap;
        }
        memcpy(w, data + pos, n);
        postie_smtp_rx_ack(&run.s, n, run.now);
        pos += n;
        take_events();
        drain_tx();
    }
}

static void body(const char *data, size_t len, postie_status_t *result)
{
    size_t pos = 0;
    *result = POSTIE_OK;
    for (int guard = 0; guard < 1000000; guard++) {
        size_t used = 0;
        size_t n;
        postie_status_t st;
        if (pos == len) {
            return;
        }
        if (postie_smtp_state(&run.s) & POSTIE_SMTP_FAILED) {
            /* the engine must say why it takes no more */
            *result = postie_smtp_body_write(&run.s, (const uint8_t *)data, len, &used, run.now);
            return;
        }
        if (!(postie_smtp_state(&run.s) & POSTIE_SMTP_WANT_BODY)) {
            drain_tx();
            if (!(postie_smtp_state(&run.s) & POSTIE_SMTP_WANT_BODY)) {
                *result = POSTIE_E_BAD_STATE;
                return;
            }
        }
        n = piece(len - pos);
        st = postie_smtp_body_write(&run.s, (const uint8_t *)data + pos, n, &used, run.now);
        pos += used;
        if (st != POSTIE_OK && st != POSTIE_E_AGAIN) {
            *result = st;
            take_events();
            return;
        }
        if (used == 0) {
            drain_tx();
        }
    }
    fail_msg("%s: body loop did not end", run.where);
}

/* Take the first event of this type; *at (may be NULL) gets the wire
 * length when it was taken and *before whether an event of type
 * not_before (NONE: none) was taken earlier. */
static bool find_event_at(postie_smtp_event_type_t type, postie_smtp_event_t *out, size_t *at,
                          postie_smtp_event_type_t not_before, bool *before)
{
    bool seen = false;
    for (size_t i = 0; i < run.nevents; i++) {
        if (run.events[i].type == type) {
            *out = run.events[i];
            if (at != NULL) {
                *at = run.event_wire[i];
            }
            if (before != NULL) {
                *before = seen;
            }
            memmove(&run.events[i], &run.events[i + 1], (run.nevents - i - 1) * sizeof(*out));
            memmove(&run.event_wire[i], &run.event_wire[i + 1],
                    (run.nevents - i - 1) * sizeof(run.event_wire[0]));
            run.nevents--;
            return true;
        }
        seen = seen || (not_before != POSTIE_SMTP_EV_NONE && run.events[i].type == not_before);
    }
    return false;
}

static bool find_event(postie_smtp_event_type_t type, postie_smtp_event_t *out)
{
    return find_event_at(type, out, NULL, POSTIE_SMTP_EV_NONE, NULL);
}

static void show_wire_mismatch(const char *expected, size_t len)
{
    size_t have = run.wire_len - run.wire_pos;
    fail_msg("%s: client sent\n----\n%.*s\n---- expected\n%.*s\n----", run.where, (int)have,
             run.wire + run.wire_pos, (int)len, expected);
}

/* CHUNKS: parse "BDAT n[ LAST]\r\n" + n octets, `count` times, from the
 * wire; their octets joined must be want (with LAST), or begin it. */
static void expect_chunks(const char *want, size_t want_len, int arg)
{
    size_t count = (size_t)arg / 2;
    bool last = (arg & 1) != 0;
    size_t joined = 0;
    for (size_t k = 0; k < count; k++) {
        const char *p = run.wire + run.wire_pos;
        size_t have = run.wire_len - run.wire_pos;
        size_t len = 0;
        size_t i = 5;
        bool is_last;
        if (have < 8 || memcmp(p, "BDAT ", 5) != 0) {
            show_wire_mismatch("BDAT ...", 8);
        }
        while (i < have && p[i] >= '0' && p[i] <= '9') {
            len = len * 10 + (size_t)(p[i++] - '0');
        }
        is_last = have - i >= 7 && memcmp(p + i, " LAST\r\n", 7) == 0;
        i += is_last ? 7 : 2;
        if (i > have || memcmp(p + i - 2, "\r\n", 2) != 0 || is_last != (last && k + 1 == count)) {
            fail_msg("%s: chunk %zu: bad BDAT line (LAST %d)", run.where, k + 1, (int)is_last);
        }
        if (have - i < len || joined + len > want_len || memcmp(p + i, want + joined, len) != 0) {
            fail_msg("%s: chunk %zu (%zu octets at data octet %zu) differs", run.where, k + 1, len,
                     joined);
        }
        if (run.nchunks < sizeof(run.chunk_len) / sizeof(run.chunk_len[0])) {
            run.chunk_len[run.nchunks++] = len;
        }
        joined += len;
        run.wire_pos += i + len;
    }
    if (last && joined != want_len) {
        fail_msg("%s: the chunks carried %zu octets, expected %zu", run.where, joined, want_len);
    }
}

size_t transcript_chunk_len(size_t i)
{
    return i < run.nchunks ? run.chunk_len[i] : 0;
}

static void play_once(const transcript_t *t, mode_t_ mode, uint32_t seed)
{
    size_t n = 0;
    static const char *const mode_names[] = {"whole", "byte by byte", "random splits"};

    memset(&run, 0, sizeof(run));
    run.mode = mode;
    run.rng = seed;
    run.now = 1000;
    while (t->to[n] != NULL && n < TRANSCRIPT_MAX_RCPT) {
        run.rcpt[n].address = t->to[n];
        n++;
    }
    run.env.from = t->from != NULL ? t->from : "sender@example.com";
    run.env.rcpt = run.rcpt;
    run.env.rcpt_count = n;
    run.env.size = t->size;
    run.env.body_8bit = t->body_8bit;
    run.env.dsn_notify = t->dsn_notify;
    run.env.dsn_ret = t->dsn_ret;
    run.env.dsn_envid = t->dsn_envid;
    assert_int_equal(postie_smtp_init(&run.s, &t->cfg, run.now), POSTIE_OK);

    for (size_t i = 0; t->steps[i].op != OP_END; i++) {
        const step_t *st = &t->steps[i];
        postie_smtp_event_t ev;
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
        case OP_SEND:
            take_events();
            rc = postie_smtp_send(&run.s, &run.env, run.now);
            if (rc != POSTIE_OK) {
                fail_msg("%s: postie_smtp_send: %s", run.where, postie_status_name(rc));
            }
            drain_tx();
            break;
        case OP_SEND_REFUSED:
            rc = postie_smtp_send(&run.s, &run.env, run.now);
            if (rc != (postie_status_t)st->arg) {
                fail_msg("%s: postie_smtp_send gave %s, expected %s", run.where,
                         postie_status_name(rc), postie_status_name((postie_status_t)st->arg));
            }
            break;
        case OP_BODY:
            body(st->data, len, &rc);
            if (rc != POSTIE_OK) {
                fail_msg("%s: body write failed: %s", run.where, postie_status_name(rc));
            }
            break;
        case OP_BODY_FAILS:
            body(st->data, len, &rc);
            if (rc != (postie_status_t)st->arg) {
                fail_msg("%s: body write gave %s, expected %s", run.where, postie_status_name(rc),
                         postie_status_name((postie_status_t)st->arg));
            }
            break;
        case OP_BODY_END:
            for (int guard = 0;; guard++) {
                rc = postie_smtp_body_end(&run.s, run.now);
                if (rc != POSTIE_E_AGAIN || guard > 100) {
                    break;
                }
                drain_tx();
            }
            if (rc != POSTIE_OK) {
                fail_msg("%s: body end: %s", run.where, postie_status_name(rc));
            }
            drain_tx();
            break;
        case OP_QUIT:
            rc = postie_smtp_quit(&run.s, run.now);
            if (rc != POSTIE_OK) {
                fail_msg("%s: quit: %s", run.where, postie_status_name(rc));
            }
            drain_tx();
            break;
        case OP_TLS:
            drain_tx();
            if (!(postie_smtp_state(&run.s) & POSTIE_SMTP_NEED_TLS)) {
                fail_msg("%s: engine did not ask for TLS (phase %s)", run.where,
                         postie_smtp_phase_name(postie_smtp_phase(&run.s)));
            }
            assert_int_equal(postie_smtp_tls_done(&run.s, run.now), POSTIE_OK);
            drain_tx();
            break;
        case OP_EOF:
            postie_smtp_rx_eof(&run.s);
            take_events();
            break;
        case OP_TIME:
            run.now += (uint32_t)st->arg;
            (void)postie_smtp_poll(&run.s, run.now);
            take_events();
            break;
        case OP_READY:
            take_events();
            if (!(postie_smtp_state(&run.s) & POSTIE_SMTP_READY)) {
                fail_msg("%s: not ready (phase %s, error %s)", run.where,
                         postie_smtp_phase_name(postie_smtp_phase(&run.s)),
                         postie_status_name(postie_smtp_error(&run.s)->status));
            }
            break;
        case OP_MESSAGE:
            take_events();
            if (!find_event(POSTIE_SMTP_EV_MESSAGE_DONE, &ev)) {
                fail_msg("%s: no MESSAGE_DONE event (phase %s)", run.where,
                         postie_smtp_phase_name(postie_smtp_phase(&run.s)));
            }
            if (ev.status != (postie_status_t)st->arg) {
                fail_msg("%s: message status %s, expected %s", run.where,
                         postie_status_name(ev.status),
                         postie_status_name((postie_status_t)st->arg));
            }
            break;
        case OP_RCPT: {
            postie_rcpt_state_t want = st->data[0] == 'A'   ? POSTIE_RCPT_ACCEPTED
                                       : st->data[0] == 'R' ? POSTIE_RCPT_REJECTED
                                                            : POSTIE_RCPT_NOT_TRIED;
            if (run.rcpt[st->arg].state != want) {
                fail_msg("%s: recipient %d in state %d, expected %d", run.where, st->arg,
                         run.rcpt[st->arg].state, want);
            }
            break;
        }
        case OP_FAILED:
            take_events();
            if (!(postie_smtp_state(&run.s) & POSTIE_SMTP_FAILED)) {
                fail_msg("%s: session did not fail (phase %s)", run.where,
                         postie_smtp_phase_name(postie_smtp_phase(&run.s)));
            }
            if (postie_smtp_error(&run.s)->status != (postie_status_t)st->arg) {
                fail_msg("%s: failed with %s, expected %s", run.where,
                         postie_status_name(postie_smtp_error(&run.s)->status),
                         postie_status_name((postie_status_t)st->arg));
            }
            if (!find_event(POSTIE_SMTP_EV_FAILED, &ev)) {
                fail_msg("%s: no FAILED event", run.where);
            }
            break;
        case OP_DATA_SENT: {
            size_t at = 0;
            bool after_done = false;
            drain_tx();
            if (!find_event_at(POSTIE_SMTP_EV_DATA_SENT, &ev, &at, POSTIE_SMTP_EV_MESSAGE_DONE,
                               &after_done)) {
                fail_msg("%s: no DATA_SENT event (phase %s)", run.where,
                         postie_smtp_phase_name(postie_smtp_phase(&run.s)));
            }
            if (after_done) {
                fail_msg("%s: DATA_SENT came after MESSAGE_DONE", run.where);
            }
            if (at != run.wire_pos) {
                fail_msg("%s: DATA_SENT came with %zu octets sent, the data ends at %zu", run.where,
                         at, run.wire_pos);
            }
            if (find_event(POSTIE_SMTP_EV_DATA_SENT, &ev)) {
                fail_msg("%s: DATA_SENT came twice", run.where);
            }
            break;
        }
        case OP_CHUNKS:
            drain_tx();
            expect_chunks(st->data, len, st->arg);
            break;
        case OP_NO_DATA_SENT:
            drain_tx();
            take_events();
            if (find_event(POSTIE_SMTP_EV_DATA_SENT, &ev)) {
                fail_msg("%s: unexpected DATA_SENT event", run.where);
            }
            break;
        case OP_CLOSED:
            take_events();
            if (!(postie_smtp_state(&run.s) & POSTIE_SMTP_CLOSED) ||
                !find_event(POSTIE_SMTP_EV_CLOSED, &ev)) {
                fail_msg("%s: not closed", run.where);
            }
            break;
        case OP_END:
            break;
        }
    }
}

const postie_smtp_t *transcript_play(const transcript_t *t)
{
    play_once(t, MODE_WHOLE, 0);
    play_once(t, MODE_BYTES, 0);
    for (uint32_t seed = 1; seed <= 8; seed++) {
        play_once(t, MODE_RANDOM, seed * 7919u);
    }
    return &run.s;
}
