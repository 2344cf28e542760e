/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delivery run (core/queue/delivery.c) over the RAM store, driven by a
 * fake SMTP side: no network, no port/, only what firmware links
 * (postie_core). The fake opens sessions and "sends" messages by reading
 * their bodies and answering per recipient, as a server would:
 *
 *   recipient "ok..."  accepted          "t4..."  451 (try later)
 *   recipient "p5..."  550 (refused)
 *   fake.down          sessions whose opening fails (with fake.down_status)
 *   fake.dot_session   the end of data gets fake.dot_code (451 or 554)
 *   fake.ended_session the connection ends after every message (421)
 *
 * Each message's body is "<its session>#<n>": the fake checks that every
 * message goes out on its own session's connection, and logs what it did
 * ("open mail/A", "send mail/A#1", "close") so the tests can check the
 * order of a whole run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/queue/delivery.h"

#include "faulty_store.h"

#define NOW 1800000000LL

/* ---- the RAM store, wrapped so tests can make calls fail ------------------- */

static postie_queue_ram_t ram;
static uint8_t ram_mem[64 * 1024];
static postie_queue_t queue;

/* ---- the fake SMTP side ------------------------------------------------------ */

typedef struct {
    const char *down[4]; /* sessions that cannot be opened */
    postie_status_t down_status;
    const char *dot_session;
    uint16_t dot_code;
    const char *ended_session;
    bool no_eof_read; /* stop reading at the body's size, without the read that gives 0 */
    char open_session[POSTIE_QUEUE_SESSION_MAX];
    bool is_open;
    size_t rcpt_seen[16]; /* recipients per SEND, in order */
    size_t sends;
} fake_t;

static fake_t fake;
static char log_text[4096]; /* "open mail/A|send mail/A#1|close|..." */
static char trace_text[4096];
static postie_delivery_t run; /* about 12 KiB: kept off the stack */
static postie_queue_id_t work[POSTIE_DELIVERY_WORK(16)];
static size_t progress_calls;
static postie_queue_entry_t probe;

static void log_add(char *buf, size_t cap, const char *a, const char *b)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s%s", n > 0 ? "|" : "", a, b);
}

static bool is_down(const char *session)
{
    for (size_t i = 0; i < 4 && fake.down[i] != NULL; i++) {
        if (strcmp(fake.down[i], session) == 0) {
            return true;
        }
    }
    return false;
}

static void fake_open(const char *session)
{
    postie_error_t why;
    assert_false(fake.is_open); /* one connection at a time */
    log_add(log_text, sizeof(log_text), "open ", session);
    if (is_down(session)) {
        postie_error_clear(&why);
        why.status = fake.down_status;
        why.phase = "connect";
        snprintf(why.subject, sizeof(why.subject), "%s", session);
        assert_int_equal(postie_delivery_report_open(&run, fake.down_status, &why), POSTIE_OK);
        return;
    }
    snprintf(fake.open_session, sizeof(fake.open_session), "%s", session);
    fake.is_open = true;
    assert_int_equal(postie_delivery_report_open(&run, POSTIE_OK, NULL), POSTIE_OK);
}

static void fake_send(const postie_delivery_action_t *act)
{
    postie_smtp_envelope_t *env = act->envelope;
    postie_delivery_result_t res;
    postie_error_t why;
    char body[128];
    size_t len = 0;
    size_t accepted = 0;
    const postie_smtp_rcpt_t *last = NULL;
    size_t n;

    assert_true(fake.is_open);
    /* the body, to its end */
    for (int guard = 0; guard < 100; guard++) {
        size_t got = 0;
        if (fake.no_eof_read && len == env->size) {
            break;
        }
        assert_int_equal(act->read(act->read_ctx, (uint8_t *)body + len, 7, &got), POSTIE_OK);
        if (got == 0) {
            break;
        }
        len += got;
        assert_true(len < sizeof(body));
    }
    body[len] = '\0';
    assert_int_equal(len, env->size);
    /* the read that found the end traced "data-end" before the data could
     * end on the wire; without that read, nothing yet */
    n = strlen(trace_text);
    if (fake.no_eof_read) {
        assert_true(n >= 7 && strcmp(trace_text + n - 7, "sending") == 0);
    } else {
        assert_true(n >= 8 && strcmp(trace_text + n - 8, "data-end") == 0);
    }
    /* on its own session's connection */
    assert_int_equal(strncmp(body, fake.open_session, strlen(fake.open_session)), 0);
    assert_int_equal(body[strlen(fake.open_session)], '#');
    log_add(log_text, sizeof(log_text), "send ", body);
    if (fake.sends < 16) {
        fake.rcpt_seen[fake.sends] = env->rcpt_count;
    }
    fake.sends++;

    for (size_t i = 0; i < env->rcpt_count; i++) {
        postie_smtp_rcpt_t *r = &env->rcpt[i];
        memset(&r->reply, 0, sizeof(r->reply));
        if (strncmp(r->address, "t4", 2) == 0) {
            r->state = POSTIE_RCPT_REJECTED;
            r->reply.code = 451;
            snprintf(r->reply.text, sizeof(r->reply.text), "mailbox busy");
        } else if (strncmp(r->address, "p5", 2) == 0) {
            r->state = POSTIE_RCPT_REJECTED;
            r->reply.code = 550;
            snprintf(r->reply.text, sizeof(r->reply.text), "no such user");
        } else {
            r->state = POSTIE_RCPT_ACCEPTED;
            r->reply.code = 250;
            accepted++;
        }
        last = r;
    }
    memset(&res, 0, sizeof(res));
    postie_error_clear(&why);
    if (accepted == 0) {
        why.status = POSTIE_E_RECIPIENTS_REJECTED;
        why.phase = "RCPT TO";
        why.reply = last->reply;
    } else if (fake.dot_session != NULL && strcmp(fake.dot_session, fake.open_session) == 0) {
        why.status = fake.dot_code >= 500 ? POSTIE_E_REPLY_PERMANENT : POSTIE_E_REPLY_TRANSIENT;
        why.phase = "end of data (final dot)";
        why.reply.code = fake.dot_code;
        snprintf(why.reply.text, sizeof(why.reply.text), "%s",
                 fake.dot_code >= 500 ? "message refused" : "try later");
        res.data_sent = true;
    } else {
        why.phase = "end of data (final dot)";
        why.reply.code = 250;
        res.data_sent = true;
    }
    res.status = why.status;
    res.why = &why;
    res.session_ended =
        fake.ended_session != NULL && strcmp(fake.ended_session, fake.open_session) == 0;
    if (res.session_ended) {
        log_add(log_text, sizeof(log_text), "ended", ""); /* 421: the run must close it */
    }
    assert_int_equal(postie_delivery_report_sent(&run, &res), POSTIE_OK);
}

static void on_trace(void *ctx, const char *event, postie_queue_id_t id)
{
    (void)ctx;
    (void)id;
    log_add(trace_text, sizeof(trace_text), event, "");
}

static void on_progress(void *ctx, const postie_run_summary_t *sum, postie_queue_id_t id,
                        const postie_queue_outcome_t *out, const char *error)
{
    (void)ctx;
    (void)id;
    (void)out;
    assert_non_null(error);
    assert_true(sum->done <= sum->total || out == NULL);
    progress_calls++;
}

/* One whole run; returns its summary. */
static postie_run_summary_t drive(const postie_delivery_options_t *given, int64_t now,
                                  postie_status_t want_status)
{
    postie_delivery_options_t opt = *given;
    postie_delivery_action_t act;
    int steps = 0;

    opt.trace = on_trace;
    opt.progress = on_progress;
    log_text[0] = '\0';
    trace_text[0] = '\0';
    progress_calls = 0;
    fake.sends = 0;
    postie_delivery_init(&run, &queue, &opt, work, 16, now);
    while (postie_delivery_next(&run, now, 0x12345678u, &act) != POSTIE_DELIVERY_DONE) {
        assert_true(++steps < 1000);
        switch (act.type) {
        case POSTIE_DELIVERY_OPEN:
            fake_open(act.session);
            break;
        case POSTIE_DELIVERY_SEND:
            /* a report is awaited: the same action again */
            {
                postie_delivery_action_t again;
                assert_int_equal(postie_delivery_next(&run, now, 0, &again), POSTIE_DELIVERY_SEND);
                assert_int_equal(again.id, act.id);
            }
            fake_send(&act);
            break;
        case POSTIE_DELIVERY_CLOSE:
            assert_true(fake.is_open);
            fake.is_open = false;
            log_add(log_text, sizeof(log_text), "close", "");
            break;
        default:
            fail_msg("unknown action %d", (int)act.type);
        }
    }
    assert_false(fake.is_open); /* everything opened was closed */
    assert_int_equal(act.status, want_status);
    /* DONE stays DONE */
    assert_int_equal(postie_delivery_next(&run, now, 0, &act), POSTIE_DELIVERY_DONE);
    return *postie_delivery_summary(&run);
}

static postie_delivery_options_t options(postie_run_mode_t mode)
{
    postie_delivery_options_t o;
    memset(&o, 0, sizeof(o));
    o.mode = mode;
    return o;
}

static postie_delivery_options_t due;       /* every session, what is due */
static postie_delivery_options_t flush_all; /* every session, now */

/* ---- messages ------------------------------------------------------------------ */

typedef struct {
    const char *text;
    size_t pos;
} source_t;

static postie_status_t read_text(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    source_t *s = ctx;
    size_t n = strlen(s->text) - s->pos;
    n = n < cap ? n : cap;
    memcpy(buf, s->text + s->pos, n);
    s->pos += n;
    *got = n;
    return POSTIE_OK;
}

static char bodies[16][64];
static size_t nbodies;

/* Enqueue a message for session with body "<session>#<n>", arriving at
 * second `at`; NULL-terminated recipients. */
static postie_queue_id_t add(const char *session, int n, int64_t at, const char *r0, const char *r1)
{
    const char *rcpt[2] = {r0, r1};
    postie_queue_message_t m;
    postie_queue_id_t id = 0;
    source_t src;
    char *body = bodies[nbodies++ % 16];

    snprintf(body, 64, "%s#%d", session, n);
    memset(&m, 0, sizeof(m));
    m.session = session;
    m.from = "device@example.test";
    m.rcpt = rcpt;
    m.rcpt_count = r1 != NULL ? 2 : 1;
    m.size = strlen(body);
    src.text = body;
    src.pos = 0;
    assert_int_equal(
        postie_queue_enqueue(&queue, &m, read_text, &src, at, (uint32_t)(n * 7919), &id, NULL),
        POSTIE_OK);
    return id;
}

/* The state of an entry (0 when it is gone). */
static int state_of(postie_queue_id_t id)
{
    if (postie_queue_load(&queue, id, false, &probe, NULL) != POSTIE_OK) {
        return 0;
    }
    postie_queue_release(&queue, &probe);
    return probe.slot.state;
}

static int setup(void **state)
{
    (void)state;
    postie_queue_ram_init(&ram, ram_mem, sizeof(ram_mem));
    memset(&faulty, 0, sizeof(faulty));
    faulty.inner = postie_queue_ram_store(&ram);
    postie_queue_init(&queue, faulty_store(), NULL);
    memset(&fake, 0, sizeof(fake));
    nbodies = 0;
    due = options(POSTIE_RUN_DUE);
    flush_all = options(POSTIE_RUN_FLUSH);
    return 0;
}

/* ---- tests ---------------------------------------------------------------------- */

/* Sessions in the order their oldest message arrived, messages in arrival
 * order, one connection per session, closed before the next. */
static void test_groups_by_session_in_arrival_order(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 50, "ok1@x.test", NULL);
    postie_queue_id_t b1 = add("mail/B", 1, NOW - 40, "ok1@x.test", "ok2@x.test");
    postie_queue_id_t a2 = add("mail/A", 2, NOW - 30, "ok1@x.test", NULL);
    postie_queue_id_t c1 = add("mail/C", 1, NOW - 20, "ok1@x.test", NULL);
    postie_queue_id_t b2 = add("mail/B", 2, NOW - 10, "ok1@x.test", NULL);
    postie_run_summary_t sum = drive(&due, NOW, POSTIE_OK);

    assert_string_equal(log_text, "open mail/A|send mail/A#1|send mail/A#2|close|"
                                  "open mail/B|send mail/B#1|send mail/B#2|close|"
                                  "open mail/C|send mail/C#1|close");
    assert_int_equal(sum.total, 5);
    assert_int_equal(sum.done, 5);
    assert_int_equal(sum.delivered, 5);
    assert_int_equal(sum.retry + sum.failed + sum.busy + sum.corrupt, 0);
    assert_int_equal(progress_calls, 5);
    /* delivered entries are gone */
    assert_int_equal(state_of(a1) + state_of(a2) + state_of(b1) + state_of(b2) + state_of(c1), 0);
    /* trace points per message, in order */
    assert_string_equal(trace_text, "sending|data-end|recorded|sending|data-end|recorded|"
                                    "sending|data-end|recorded|sending|data-end|recorded|"
                                    "sending|data-end|recorded");
}

/* A session that cannot be opened: its first message is recorded as an
 * attempt, the others not tried (no attempt counted, due with the
 * session's next try); the other sessions are delivered. */
static void test_session_down_others_untried(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 50, "ok1@x.test", NULL);
    postie_queue_id_t d1 = add("mail/D", 1, NOW - 40, "ok1@x.test", NULL);
    postie_queue_id_t d2 = add("mail/D", 2, NOW - 30, "ok1@x.test", NULL);
    postie_queue_id_t d3 = add("mail/D", 3, NOW - 25, "ok1@x.test", NULL);
    postie_queue_id_t b1 = add("mail/B", 1, NOW - 20, "ok1@x.test", NULL);
    postie_run_summary_t sum;
    int64_t retry_at;

    fake.down[0] = "mail/D";
    fake.down_status = POSTIE_E_CONNECT_FAILED; /* transient */
    sum = drive(&due, NOW, POSTIE_OK);
    /* one connection attempt for D, none for its other messages */
    assert_string_equal(log_text, "open mail/A|send mail/A#1|close|open mail/D|"
                                  "open mail/B|send mail/B#1|close");
    assert_int_equal(sum.delivered, 2);
    assert_int_equal(sum.retry, 3);
    assert_int_equal(state_of(a1) + state_of(b1), 0);

    assert_int_equal(postie_queue_load(&queue, d1, false, &probe, NULL), POSTIE_OK);
    postie_queue_release(&queue, &probe);
    assert_int_equal(probe.slot.attempts, 1);
    assert_int_equal(probe.slot.state, POSTIE_QSTATE_QUEUED);
    assert_non_null(strstr(probe.slot.last_error, "connect"));
    retry_at = probe.slot.next_attempt;
    assert_true(retry_at > NOW);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(postie_queue_load(&queue, i == 0 ? d2 : d3, false, &probe, NULL),
                         POSTIE_OK);
        postie_queue_release(&queue, &probe);
        assert_int_equal(probe.slot.attempts, 0);
        assert_int_equal(probe.slot.state, POSTIE_QSTATE_QUEUED);
        assert_int_equal(probe.slot.next_attempt, retry_at); /* the session's next try */
        assert_non_null(strstr(probe.slot.last_error, "not tried (its session failed)"));
    }
    /* "recorded" for the untried ones too; "sending" only for those sent */
    assert_string_equal(trace_text, "sending|data-end|recorded|recorded|recorded|recorded|"
                                    "sending|data-end|recorded");

    /* a permanent failure moves them all to the error queue */
    setup(NULL);
    d1 = add("mail/D", 1, NOW - 40, "ok1@x.test", NULL);
    d2 = add("mail/D", 2, NOW - 30, "ok1@x.test", NULL);
    fake.down[0] = "mail/D";
    fake.down_status = POSTIE_E_TLS_CERT_UNTRUSTED;
    sum = drive(&due, NOW, POSTIE_OK);
    assert_int_equal(sum.failed, 2);
    assert_int_equal(state_of(d1), POSTIE_QSTATE_ERROR);
    assert_int_equal(state_of(d2), POSTIE_QSTATE_ERROR);
}

/* 4xx at the end of data: retried later; a due run before the backoff
 * leaves it, a flush sends it at once, a due run after the backoff too. */
static void test_4xx_then_success_flush_and_due(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 10, "ok1@x.test", NULL);
    postie_run_summary_t sum;
    int64_t next;

    fake.dot_session = "mail/A";
    fake.dot_code = 451;
    sum = drive(&due, NOW, POSTIE_OK);
    assert_int_equal(sum.retry, 1);
    assert_int_equal(postie_queue_load(&queue, a1, false, &probe, NULL), POSTIE_OK);
    postie_queue_release(&queue, &probe);
    assert_int_equal(probe.slot.attempts, 1);
    assert_string_equal(probe.slot.last_error, "end of data (final dot): 451 try later");
    next = probe.slot.next_attempt;
    assert_true(next >= NOW + 45 && next <= NOW + 75); /* 60 s, +-25 % */

    /* the server is well again; a due run before the backoff tries nothing */
    fake.dot_session = NULL;
    sum = drive(&due, NOW + 1, POSTIE_OK);
    assert_int_equal(sum.total, 0);
    assert_string_equal(log_text, "");
    assert_int_equal(state_of(a1), POSTIE_QSTATE_QUEUED);

    /* a flush does */
    sum = drive(&flush_all, NOW + 1, POSTIE_OK);
    assert_int_equal(sum.delivered, 1);
    assert_int_equal(state_of(a1), 0);

    /* and a due run once the time has come */
    a1 = add("mail/A", 2, NOW - 10, "ok1@x.test", NULL);
    fake.dot_session = "mail/A";
    (void)drive(&due, NOW, POSTIE_OK);
    fake.dot_session = NULL;
    assert_int_equal(postie_queue_load(&queue, a1, false, &probe, NULL), POSTIE_OK);
    postie_queue_release(&queue, &probe);
    sum = drive(&due, probe.slot.next_attempt, POSTIE_OK);
    assert_int_equal(sum.delivered, 1);
    assert_int_equal(state_of(a1), 0);
}

/* 5xx: the error queue, with the reply. */
static void test_5xx_to_error_queue(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 10, "ok1@x.test", NULL);
    postie_queue_id_t a2 = add("mail/A", 2, NOW - 5, "p5@x.test", NULL);
    postie_run_summary_t sum;

    fake.dot_session = NULL;
    fake.dot_code = 0;
    sum = drive(&due, NOW, POSTIE_OK);
    assert_int_equal(sum.delivered, 1);
    assert_int_equal(sum.failed, 1);
    assert_int_equal(postie_queue_load(&queue, a2, false, &probe, NULL), POSTIE_OK);
    postie_queue_release(&queue, &probe);
    assert_int_equal(probe.slot.state, POSTIE_QSTATE_ERROR);
    assert_string_equal(probe.slot.last_error, "RCPT TO p5@x.test: 550 no such user");
    assert_int_equal(state_of(a1), 0);

    /* a 554 after the data fails the message too */
    a1 = add("mail/B", 1, NOW - 10, "ok1@x.test", NULL);
    fake.dot_session = "mail/B";
    fake.dot_code = 554;
    sum = drive(&due, NOW, POSTIE_OK);
    assert_int_equal(sum.failed, 1);
    assert_int_equal(state_of(a1), POSTIE_QSTATE_ERROR);
}

/* One recipient refused for good, one delivered: error queue with the
 * refusal; one refused for now: only that one is sent again. */
static void test_partial_delivery(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 10, "ok1@x.test", "p5@x.test");
    postie_queue_id_t a2 = add("mail/A", 2, NOW - 5, "ok1@x.test", "t4@x.test");
    postie_run_summary_t sum = drive(&due, NOW, POSTIE_OK);

    assert_int_equal(sum.failed, 1);
    assert_int_equal(sum.retry, 1);
    assert_int_equal(postie_queue_load(&queue, a1, false, &probe, NULL), POSTIE_OK);
    postie_queue_release(&queue, &probe);
    assert_int_equal(probe.slot.state, POSTIE_QSTATE_ERROR);
    assert_int_equal(probe.slot.rcpt[0], POSTIE_QRCPT_DELIVERED);
    assert_int_equal(probe.slot.rcpt[1], POSTIE_QRCPT_FAILED);
    assert_int_equal(postie_queue_load(&queue, a2, false, &probe, NULL), POSTIE_OK);
    postie_queue_release(&queue, &probe);
    assert_int_equal(probe.slot.rcpt[0], POSTIE_QRCPT_DELIVERED);
    assert_int_equal(probe.slot.rcpt[1], POSTIE_QRCPT_PENDING);

    /* the flush sends a2 to its pending recipient alone */
    fake.sends = 0;
    sum = drive(&flush_all, NOW + 1, POSTIE_OK);
    assert_int_equal(sum.total, 1);
    assert_int_equal(fake.rcpt_seen[0], 1);
    assert_int_equal(sum.retry, 1); /* t4 says 451 again */
}

/* An entry another sender holds is skipped and counted busy; a damaged
 * one is set aside; the others go on. */
static void test_busy_and_corrupt(void **state)
{
    (void)state;
    static postie_queue_entry_t held;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 30, "ok1@x.test", NULL);
    postie_queue_id_t a2 = add("mail/A", 2, NOW - 20, "ok1@x.test", NULL);
    postie_queue_id_t a3 = add("mail/A", 3, NOW - 10, "ok1@x.test", NULL);
    postie_run_summary_t sum;
    size_t i;

    assert_int_equal(postie_queue_load(&queue, a1, true, &held, NULL), POSTIE_OK);
    for (i = 0; i < POSTIE_QUEUE_RAM_ENTRIES && ram.e[i].id != a3; i++) {
    }
    assert_true(i < POSTIE_QUEUE_RAM_ENTRIES);
    ram_mem[ram.e[i].offset] ^= 0xff; /* the magic */

    sum = drive(&flush_all, NOW, POSTIE_OK);
    assert_int_equal(sum.total, 2); /* a3 was set aside by the scan */
    assert_int_equal(sum.busy, 1);
    assert_int_equal(sum.corrupt, 1);
    assert_int_equal(sum.delivered, 1);
    assert_string_equal(log_text, "open mail/A|send mail/A#2|close");
    assert_int_equal(progress_calls, 3);
    postie_queue_release(&queue, &held);
    assert_int_equal(state_of(a1), POSTIE_QSTATE_QUEUED); /* untouched */
    assert_int_equal(state_of(a2), 0);
    assert_int_equal(state_of(a3), 0);
    assert_int_equal(ram.count, 1); /* a3 is out of the queue, not just skipped */
}

/* One message alone (send --queue): the others keep their schedule. */
static void test_single_message(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 30, "ok1@x.test", NULL);
    postie_queue_id_t b1 = add("mail/B", 1, NOW - 20, "ok1@x.test", NULL);
    postie_queue_id_t a2 = add("mail/A", 2, NOW - 10, "ok1@x.test", NULL);
    postie_delivery_options_t o = options(POSTIE_RUN_FLUSH);
    postie_run_summary_t sum;

    o.only = b1;
    o.session = "mail/A"; /* ignored with only */
    sum = drive(&o, NOW, POSTIE_OK);
    assert_string_equal(log_text, "open mail/B|send mail/B#1|close");
    assert_int_equal(sum.total, 1);
    assert_int_equal(sum.delivered, 1);
    assert_int_equal(state_of(b1), 0);
    assert_int_equal(state_of(a1), POSTIE_QSTATE_QUEUED);
    assert_int_equal(state_of(a2), POSTIE_QSTATE_QUEUED);

    /* gone meanwhile: nothing to do */
    sum = drive(&o, NOW, POSTIE_OK);
    assert_int_equal(sum.total, 1);
    assert_int_equal(sum.done, 1);
    assert_int_equal(sum.delivered + sum.retry + sum.failed, 0);
    assert_string_equal(log_text, "");
}

/* One session's messages; the filter may say two names are one session. */
static bool same_first_letter(void *ctx, const char *wanted, const char *queued)
{
    (void)ctx;
    return wanted[5] == queued[5];
}

static void test_one_session(void **state)
{
    (void)state;
    postie_delivery_options_t o = options(POSTIE_RUN_FLUSH);
    postie_run_summary_t sum;

    (void)add("mail/A", 1, NOW - 30, "ok1@x.test", NULL);
    (void)add("mail/B", 1, NOW - 20, "ok1@x.test", NULL);
    (void)add("mail/Ax", 1, NOW - 10, "ok1@x.test", NULL);
    o.session = "mail/A";
    sum = drive(&o, NOW, POSTIE_OK);
    assert_string_equal(log_text, "open mail/A|send mail/A#1|close");
    assert_int_equal(sum.total, 1);

    o.session = "mail/Ay";
    o.same_session = same_first_letter;
    sum = drive(&o, NOW, POSTIE_OK);
    assert_string_equal(log_text, "open mail/Ax|send mail/Ax#1|close");
    assert_int_equal(sum.total, 1);
}

/* Two session names with the same 32-bit key (FNV-1a of "s/xqfs" and
 * "s/0wja" are both 0xebd57ccf) stay two sessions: no message goes out on
 * the other's connection (fake_send checks it). */
static void test_session_key_collision(void **state)
{
    (void)state;
    postie_run_summary_t sum;

    (void)add("s/xqfs", 1, NOW - 30, "ok1@x.test", NULL);
    (void)add("s/0wja", 1, NOW - 20, "ok1@x.test", NULL);
    (void)add("s/xqfs", 2, NOW - 10, "ok1@x.test", NULL);
    sum = drive(&due, NOW, POSTIE_OK);
    assert_int_equal(sum.delivered, 3);
    assert_string_equal(log_text, "open s/xqfs|send s/xqfs#1|close|open s/0wja|send s/0wja#1|"
                                  "close|open s/xqfs|send s/xqfs#2|close");
}

/* A session that ended after a message (421, lost connection) is opened
 * again for the next one. */
static void test_session_ended_reopens(void **state)
{
    (void)state;
    postie_run_summary_t sum;

    (void)add("mail/A", 1, NOW - 30, "ok1@x.test", NULL);
    (void)add("mail/A", 2, NOW - 20, "ok1@x.test", NULL);
    fake.ended_session = "mail/A";
    sum = drive(&due, NOW, POSTIE_OK);
    assert_int_equal(sum.delivered, 2);
    assert_string_equal(log_text, "open mail/A|send mail/A#1|ended|close|open mail/A|"
                                  "send mail/A#2|ended|close");
}

/* The queue cannot record: nothing more is sent on that session, the
 * message keeps its state; a queue that cannot be listed ends the run
 * with the store's error. */
static void test_store_failures(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 30, "ok1@x.test", NULL);
    postie_queue_id_t a2 = add("mail/A", 2, NOW - 20, "ok1@x.test", NULL);
    postie_run_summary_t sum;

    faulty.fail_write_from = 1;
    sum = drive(&due, NOW, POSTIE_OK);
    faulty.fail_write_from = 0;
    assert_string_equal(log_text, "open mail/A|send mail/A#1|close");
    assert_int_equal(sum.done, 2);
    assert_int_equal(sum.delivered + sum.retry + sum.failed, 0);
    assert_int_equal(state_of(a1), POSTIE_QSTATE_QUEUED);
    assert_int_equal(state_of(a2), POSTIE_QSTATE_QUEUED);

    faulty.fail_list = true;
    sum = drive(&due, NOW, POSTIE_E_IO);
    faulty.fail_list = false;
    assert_int_equal(sum.total, 0);
    assert_string_equal(log_text, "");
}

/* A delivered message whose removal was cut short is removed by the next
 * run's scan, not sent again. */
static void test_interrupted_removal_finished(void **state)
{
    (void)state;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 30, "ok1@x.test", NULL);
    postie_run_summary_t sum;
    uint32_t count = 0;
    uint64_t bytes = 0;

    faulty.fail_remove = 1;
    sum = drive(&due, NOW, POSTIE_OK);
    assert_int_equal(sum.delivered, 1);
    assert_int_equal(ram.count, 1); /* still there, in state DONE */
    sum = drive(&flush_all, NOW, POSTIE_OK);
    assert_int_equal(sum.total, 0);
    assert_string_equal(log_text, "");
    assert_int_equal(faulty.inner.ops->usage(&ram, &count, &bytes), POSTIE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(state_of(a1), 0);
}

/* More messages than the work array holds: the rest wait for the next
 * run, nothing is lost, nothing is written past the array (ASan build);
 * cap 0 tries nothing. */
static void test_work_array_bounds(void **state)
{
    (void)state;
    static postie_queue_id_t small[POSTIE_DELIVERY_WORK(3)];
    postie_delivery_options_t o = options(POSTIE_RUN_FLUSH);
    postie_delivery_action_t act;
    int sends = 0;

    for (int i = 0; i < 5; i++) {
        (void)add(i % 2 ? "mail/B" : "mail/A", i, NOW - 50 + i, "ok1@x.test", NULL);
    }
    o.trace = on_trace;
    trace_text[0] = '\0';
    postie_delivery_init(&run, &queue, &o, small, 3, NOW);
    while (postie_delivery_next(&run, NOW, 1, &act) != POSTIE_DELIVERY_DONE) {
        if (act.type == POSTIE_DELIVERY_OPEN) {
            fake_open(act.session);
        } else if (act.type == POSTIE_DELIVERY_SEND) {
            fake_send(&act);
            sends++;
        } else {
            fake.is_open = false;
        }
    }
    assert_int_equal(sends, 3);
    assert_int_equal(ram.count, 2);
    assert_int_equal(postie_delivery_summary(&run)->total, 3);
    postie_delivery_init(&run, &queue, &o, work, 0, NOW);
    assert_int_equal(postie_delivery_next(&run, NOW, 1, &act), POSTIE_DELIVERY_DONE);
    assert_int_equal(postie_delivery_summary(&run)->total, 0);
}

/* A driver that ends the data without the read that gives 0 octets: the
 * report's data_sent still traces "data-end"; reports out of turn are
 * refused; abort lets go of the message in hand. */
static void test_reports_and_abort(void **state)
{
    (void)state;
    postie_delivery_options_t o = options(POSTIE_RUN_FLUSH);
    postie_delivery_action_t act;
    postie_delivery_result_t res;
    postie_queue_id_t a1 = add("mail/A", 1, NOW - 30, "ok1@x.test", NULL);

    fake.no_eof_read = true;
    (void)drive(&o, NOW, POSTIE_OK);
    assert_string_equal(trace_text, "sending|data-end|recorded");
    fake.no_eof_read = false;

    a1 = add("mail/A", 2, NOW - 30, "ok1@x.test", NULL);
    memset(&res, 0, sizeof(res));
    o.trace = NULL;
    postie_delivery_init(&run, &queue, &o, work, 16, NOW);
    assert_int_equal(postie_delivery_report_sent(&run, &res), POSTIE_E_BAD_STATE);
    assert_int_equal(postie_delivery_next(&run, NOW, 1, &act), POSTIE_DELIVERY_OPEN);
    assert_int_equal(postie_delivery_next(&run, NOW, 1, &act), POSTIE_DELIVERY_OPEN); /* again */
    assert_int_equal(postie_delivery_report_sent(&run, &res), POSTIE_E_BAD_STATE);
    assert_int_equal(postie_delivery_report_open(&run, POSTIE_OK, NULL), POSTIE_OK);
    assert_int_equal(postie_delivery_report_open(&run, POSTIE_OK, NULL), POSTIE_E_BAD_STATE);
    assert_int_equal(postie_delivery_next(&run, NOW, 1, &act), POSTIE_DELIVERY_SEND);
    /* the message is claimed while in hand: a second run cannot take it */
    assert_int_equal(postie_queue_load(&queue, a1, true, &probe, NULL), POSTIE_E_BUSY);
    postie_delivery_abort(&run);
    postie_delivery_abort(&run);
    assert_int_equal(postie_delivery_next(&run, NOW, 1, &act), POSTIE_DELIVERY_DONE);
    assert_int_equal(postie_queue_load(&queue, a1, true, &probe, NULL), POSTIE_OK);
    postie_queue_release(&queue, &probe);
    assert_int_equal(probe.slot.attempts, 0); /* nothing recorded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_groups_by_session_in_arrival_order, setup),
        cmocka_unit_test_setup(test_session_down_others_untried, setup),
        cmocka_unit_test_setup(test_4xx_then_success_flush_and_due, setup),
        cmocka_unit_test_setup(test_5xx_to_error_queue, setup),
        cmocka_unit_test_setup(test_partial_delivery, setup),
        cmocka_unit_test_setup(test_busy_and_corrupt, setup),
        cmocka_unit_test_setup(test_single_message, setup),
        cmocka_unit_test_setup(test_one_session, setup),
        cmocka_unit_test_setup(test_session_key_collision, setup),
        cmocka_unit_test_setup(test_session_ended_reopens, setup),
        cmocka_unit_test_setup(test_store_failures, setup),
        cmocka_unit_test_setup(test_interrupted_removal_finished, setup),
        cmocka_unit_test_setup(test_work_array_bounds, setup),
        cmocka_unit_test_setup(test_reports_and_abort, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
