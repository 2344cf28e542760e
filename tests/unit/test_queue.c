/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outgoing queue over a store: enqueue, load, claims, recording
 * attempts (every outcome), the error queue, capacity limits, damaged
 * entries. Built twice from this one file: over the RAM store (core only)
 * and, with QUEUE_TEST_SPOOL, over the POSIX spool directory, so both
 * stores pass the same tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/queue/queue.h"

#include "faulty_store.h"

#ifdef QUEUE_TEST_SPOOL
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postie/posix/queue_spool.h"
#endif

#define NOW 1800000000LL

/* ---- the store under test, wrapped so tests can make calls fail -------- */

static postie_queue_t queue;
static postie_queue_entry_t entry;
static postie_queue_entry_t scratch;

#ifdef QUEUE_TEST_SPOOL
static postie_spool_t spool;
static char spool_dir[64];
#else
static postie_queue_ram_t ram;
static uint8_t ram_mem[128 * 1024];
#endif

static void open_queue(const postie_queue_limits_t *limits)
{
    postie_queue_init(&queue, faulty_store(), limits);
}

static int setup(void **state)
{
    (void)state;
    memset(&faulty, 0, sizeof(faulty));
#ifdef QUEUE_TEST_SPOOL
    postie_error_t err;
    snprintf(spool_dir, sizeof(spool_dir), "/tmp/postie-queue-test.XXXXXX");
    if (mkdtemp(spool_dir) == NULL || postie_spool_open(&spool, spool_dir, &err) != POSTIE_OK) {
        return -1;
    }
    faulty.inner = postie_spool_store(&spool);
#else
    postie_queue_ram_init(&ram, ram_mem, sizeof(ram_mem));
    faulty.inner = postie_queue_ram_store(&ram);
#endif
    open_queue(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
#ifdef QUEUE_TEST_SPOOL
    char cmd[128];
    postie_spool_close(&spool);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool_dir);
    if (system(cmd) != 0) {
        return -1;
    }
#endif
    return 0;
}

/* ---- tampering with a stored entry ------------------------------------- */

static void tamper(postie_queue_id_t id, uint64_t off, uint8_t xor_mask)
{
#ifdef QUEUE_TEST_SPOOL
    char path[128];
    char name[POSTIE_QUEUE_ID_TEXT];
    uint8_t b;
    int fd;
    postie_queue_id_format(id, name);
    snprintf(path, sizeof(path), "%s/q/%s", spool_dir, name);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= xor_mask;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
#else
    for (size_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        if (ram.e[i].flags != 0 && ram.e[i].id == id) {
            ram_mem[ram.e[i].offset + off] ^= xor_mask;
            return;
        }
    }
    fail_msg("no entry to tamper with");
#endif
}

static void shorten(postie_queue_id_t id, uint64_t size)
{
#ifdef QUEUE_TEST_SPOOL
    char path[128];
    char name[POSTIE_QUEUE_ID_TEXT];
    postie_queue_id_format(id, name);
    snprintf(path, sizeof(path), "%s/q/%s", spool_dir, name);
    assert_int_equal(truncate(path, (off_t)size), 0);
#else
    for (size_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        if (ram.e[i].flags != 0 && ram.e[i].id == id) {
            ram.e[i].size = (uint32_t)size;
            return;
        }
    }
    fail_msg("no entry to shorten");
#endif
}

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
    const char *data;
    size_t len;
    size_t pos;
    size_t step;
    bool fail;
} src_t;

static postie_status_t src_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    src_t *s = ctx;
    size_t n = s->len - s->pos;
    if (s->fail && s->pos > 0) {
        return POSTIE_E_IO;
    }
    if (n > cap) {
        n = cap;
    }
    if (s->step != 0 && n > s->step) {
        n = s->step;
    }
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    *got = n;
    return POSTIE_OK;
}

static const char *const two_rcpts[] = {"bob@example.test", "carol@example.test"};
static const char body[] = "Subject: hello\r\n\r\nqueued body\r\n";

static postie_queue_id_t enqueue_n(const char *const *rcpt, size_t n, int64_t now, uint32_t rnd)
{
    postie_queue_message_t m = {"mail/Notify", "alice@example.test", rcpt, n, 0, false, false};
    src_t s = {body, strlen(body), 0, 7, false};
    postie_queue_id_t id = 0;
    postie_error_t err;
    m.size = s.len;
    postie_status_t st = postie_queue_enqueue(&queue, &m, src_read, &s, now, rnd, &id, &err);
    if (st != POSTIE_OK) {
        fail_msg("enqueue: %s (%s)", postie_status_name(st), err.subject);
    }
    return id;
}

static postie_queue_id_t enqueue2(void)
{
    return enqueue_n(two_rcpts, 2, NOW, 0x1234u);
}

static size_t count_entries(void)
{
    postie_queue_id_t ids[8];
    size_t total = 0;
    assert_int_equal(postie_queue_list(&queue, ids, 8, &total), POSTIE_OK);
    return total;
}

static void load_claimed(postie_queue_id_t id)
{
    postie_error_t err;
    postie_status_t st = postie_queue_load(&queue, id, true, &entry, &err);
    if (st != POSTIE_OK) {
        fail_msg("load: %s (%s)", postie_status_name(st), err.subject);
    }
}

static void set_reply(postie_smtp_rcpt_t *r, postie_rcpt_state_t state, uint16_t code,
                      const char *enhanced, const char *text)
{
    r->state = state;
    r->reply.code = code;
    snprintf(r->reply.enhanced, sizeof(r->reply.enhanced), "%s", enhanced);
    snprintf(r->reply.text, sizeof(r->reply.text), "%s", text);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_enqueue_and_load(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_queue_body_reader_t br;
    uint8_t buf[256];
    size_t got = 0;
    size_t total = 0;
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];

    assert_int_equal(id >> 32, (uint64_t)NOW & 0xffffffffu);
    assert_int_equal(count_entries(), 1);
    load_claimed(id);
    assert_string_equal(entry.session, "mail/Notify");
    assert_string_equal(entry.from, "alice@example.test");
    assert_int_equal(entry.rcpt_count, 2);
    assert_string_equal(entry.rcpt[1], "carol@example.test");
    assert_int_equal(entry.body_size, strlen(body));
    assert_int_equal(entry.created, NOW);
    assert_int_equal(entry.slot.state, POSTIE_QSTATE_QUEUED);
    assert_int_equal(entry.slot.attempts, 0);
    assert_true(postie_queue_due(&entry, NOW));
    assert_false(postie_queue_due(&entry, NOW - 1));

    postie_queue_body_reader_init(&br, &queue, &entry);
    for (;;) {
        size_t n = 0;
        assert_int_equal(postie_queue_body_read(&br, buf + got, 5, &n), POSTIE_OK);
        if (n == 0) {
            break;
        }
        got += n;
    }
    assert_int_equal(got, strlen(body));
    assert_memory_equal(buf, body, got);

    postie_queue_envelope(&entry, &env, rcpt);
    assert_int_equal(env.rcpt_count, 2);
    assert_string_equal(env.from, "alice@example.test");
    assert_string_equal(env.rcpt[0].address, "bob@example.test");
    assert_int_equal(env.size, strlen(body));
    postie_queue_release(&queue, &entry);
    (void)total;
}

static void test_ids_sorted_by_arrival(void **state)
{
    (void)state;
    postie_queue_id_t a = enqueue_n(two_rcpts, 1, NOW + 5, 1);
    postie_queue_id_t b = enqueue_n(two_rcpts, 1, NOW, 0xffffffffu);
    postie_queue_id_t c = enqueue_n(two_rcpts, 1, NOW + 1, 7);
    postie_queue_id_t ids[4];
    size_t total = 0;
    char text[POSTIE_QUEUE_ID_TEXT];
    postie_queue_id_t back = 0;

    assert_int_equal(postie_queue_list(&queue, ids, 4, &total), POSTIE_OK);
    assert_int_equal(total, 3);
    assert_true(ids[0] == b && ids[1] == c && ids[2] == a);
    postie_queue_id_format(a, text);
    assert_int_equal(strlen(text), 16);
    assert_true(postie_queue_id_parse(text, &back));
    assert_true(back == a);
    assert_false(postie_queue_id_parse("123", &back));
    assert_false(postie_queue_id_parse("0123456789abcdefa", &back));
    assert_false(postie_queue_id_parse("0123456789abcdeg", &back));
    /* the list reports the total even past the caller's room */
    assert_int_equal(postie_queue_list(&queue, ids, 1, &total), POSTIE_OK);
    assert_int_equal(total, 3);
}

static void test_all_delivered_removes(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;
    postie_error_t err;

    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
    set_reply(&rcpt[1], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_OK);
    assert_int_equal(out.delivered, 2);
    assert_int_equal(out.state, POSTIE_QSTATE_DONE);
    postie_queue_release(&queue, &entry);
    assert_int_equal(count_entries(), 0);
    assert_int_equal(postie_queue_load(&queue, id, true, &entry, &err), POSTIE_E_NOT_FOUND);
}

static void test_partial_then_retry(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;

    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
    set_reply(&rcpt[1], POSTIE_RCPT_REJECTED, 450, "4.2.1", "Mailbox busy");
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_OK);
    assert_int_equal(out.delivered, 1);
    assert_int_equal(out.pending, 1);
    assert_int_equal(out.state, POSTIE_QSTATE_QUEUED);
    postie_queue_release(&queue, &entry);

    /* reloaded from the store: bob done, carol pending, backoff 45..75 s */
    load_claimed(id);
    assert_int_equal(entry.slot.attempts, 1);
    assert_int_equal(entry.slot.rcpt[0], POSTIE_QRCPT_DELIVERED);
    assert_int_equal(entry.slot.rcpt[1], POSTIE_QRCPT_PENDING);
    assert_true(entry.slot.next_attempt >= NOW + 45 && entry.slot.next_attempt <= NOW + 75);
    assert_false(postie_queue_due(&entry, NOW + 44));
    assert_string_equal(entry.slot.last_error,
                        "RCPT TO carol@example.test: 450 4.2.1 Mailbox busy");
    postie_queue_envelope(&entry, &env, rcpt);
    assert_int_equal(env.rcpt_count, 1); /* bob is never sent again */
    assert_string_equal(env.rcpt[0].address, "carol@example.test");
    set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW + 80, 0, &out),
                     POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_DONE);
    postie_queue_release(&queue, &entry);
    assert_int_equal(count_entries(), 0);
}

static void test_backoff_grows(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue_n(two_rcpts, 1, NOW, 1);
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;
    postie_error_t why;
    int64_t now = NOW;
    int64_t last_delay = 0;

    postie_error_clear(&why);
    why.status = POSTIE_E_CONNECT_FAILED;
    why.phase = "connect";
    snprintf(why.subject, sizeof(why.subject), "127.0.0.1");
    for (int i = 1; i <= 10; i++) {
        int64_t delay;
        load_claimed(id);
        postie_queue_envelope(&entry, &env, rcpt);
        assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_E_CONNECT_FAILED, &why,
                                             now, 0x80000000u, &out),
                         POSTIE_OK);
        assert_int_equal(out.state, POSTIE_QSTATE_QUEUED);
        delay = entry.slot.next_attempt - now;
        /* the middle of the spread: base 60 s doubling, capped at 4 h */
        assert_int_equal(delay, postie_queue_backoff_s((uint32_t)i, 0x80000000u));
        assert_true(delay >= last_delay);
        last_delay = delay;
        now = entry.slot.next_attempt;
        postie_queue_release(&queue, &entry);
    }
    assert_int_equal(last_delay, 14400);
    load_claimed(id);
    assert_int_equal(entry.slot.attempts, 10);
    assert_string_equal(entry.slot.last_error,
                        "connect: could not connect to the server (127.0.0.1)");
    assert_int_equal(entry.slot.last_status, POSTIE_E_CONNECT_FAILED);
    postie_queue_release(&queue, &entry);
}

static void test_permanent_goes_to_error_queue(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;
    postie_error_t err;

    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
    set_reply(&rcpt[1], POSTIE_RCPT_REJECTED, 550, "5.1.1", "User unknown");
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_OK);
    assert_int_equal(out.delivered, 1);
    assert_int_equal(out.failed, 1);
    assert_int_equal(out.state, POSTIE_QSTATE_ERROR);
    postie_queue_release(&queue, &entry);

    load_claimed(id);
    assert_int_equal(entry.slot.state, POSTIE_QSTATE_ERROR);
    assert_false(postie_queue_due(&entry, NOW + 1000000));
    assert_string_equal(entry.slot.last_error,
                        "RCPT TO carol@example.test: 550 5.1.1 User unknown");
    /* recording needs a queued entry */
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_E_BAD_STATE);
    postie_queue_release(&queue, &entry);

    /* resend: carol pending again, due now, age restarted; bob stays done */
    assert_int_equal(postie_queue_resend(&queue, id, NOW + 50, &scratch, &err), POSTIE_OK);
    load_claimed(id);
    assert_int_equal(entry.slot.state, POSTIE_QSTATE_QUEUED);
    assert_int_equal(entry.slot.attempts, 0);
    assert_int_equal(entry.slot.age_base, NOW + 50);
    assert_true(postie_queue_due(&entry, NOW + 50));
    assert_int_equal(entry.slot.rcpt[0], POSTIE_QRCPT_DELIVERED);
    assert_int_equal(entry.slot.rcpt[1], POSTIE_QRCPT_PENDING);
    postie_queue_release(&queue, &entry);
    /* a queued entry is not in the error queue */
    assert_int_equal(postie_queue_resend(&queue, id, NOW, &scratch, &err), POSTIE_E_BAD_STATE);
    assert_string_equal(err.subject, "not in the error queue");
}

static void test_message_level_failures(void **state)
{
    (void)state;
    static const struct {
        postie_status_t status;
        uint16_t code;
        postie_queue_state_t want;
        const char *text;
    } cases[] = {
        {POSTIE_E_REPLY_TRANSIENT, 451, POSTIE_QSTATE_QUEUED,
         "end of data: 451 4.3.0 Queue file write error"},
        {POSTIE_E_REPLY_PERMANENT, 554, POSTIE_QSTATE_ERROR,
         "end of data: 554 5.7.1 Rejected by policy"},
        {POSTIE_E_SERVER_SHUTDOWN, 421, POSTIE_QSTATE_QUEUED,
         "end of data: 421 4.3.2 Shutting down"},
        {POSTIE_E_CONNECTION_CLOSED, 0, POSTIE_QSTATE_QUEUED,
         "end of data: connection closed by the peer"},
        {POSTIE_E_TIMEOUT, 0, POSTIE_QSTATE_QUEUED,
         "end of data: timed out waiting for the server"},
        {POSTIE_E_TLS_CERT_UNTRUSTED, 0, POSTIE_QSTATE_ERROR,
         "end of data: server certificate not signed by a trusted CA"},
        {POSTIE_E_AUTH_FAILED, 535, POSTIE_QSTATE_ERROR,
         "end of data: 535 5.7.8 Authentication failed"},
        {POSTIE_E_NOT_FOUND, 0, POSTIE_QSTATE_ERROR, "end of data: no such session or account"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        postie_queue_id_t id = enqueue_n(two_rcpts, 2, NOW + (int64_t)i, (uint32_t)i);
        postie_smtp_envelope_t env;
        postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
        postie_queue_outcome_t out;
        postie_error_t why;
        postie_error_clear(&why);
        why.status = cases[i].status;
        why.phase = "end of data";
        why.reply.code = cases[i].code;
        if (cases[i].code != 0) {
            const char *t = strchr(cases[i].text + 13, ' ');
            snprintf(why.reply.enhanced, sizeof(why.reply.enhanced), "%.5s", t + 1);
            snprintf(why.reply.text, sizeof(why.reply.text), "%s", t + 7);
        }
        load_claimed(id);
        postie_queue_envelope(&entry, &env, rcpt);
        set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
        set_reply(&rcpt[1], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
        assert_int_equal(
            postie_queue_record(&queue, &entry, rcpt, cases[i].status, &why, NOW, 0, &out),
            POSTIE_OK);
        if (out.state != cases[i].want) {
            fail_msg("%s: state %s", postie_status_name(cases[i].status),
                     postie_queue_state_name(out.state));
        }
        assert_int_equal(out.delivered, 0);
        assert_string_equal(entry.slot.last_error, cases[i].text);
        assert_int_equal(entry.slot.last_status, cases[i].status);
        postie_queue_release(&queue, &entry);
    }
}

/* A message not tried because its session failed for an earlier one: no
 * attempt counted, it waits for the session's next try (never earlier
 * than its own schedule); a permanent failure fails it; expiry applies. */
static void test_untried_counts_no_attempt(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;
    postie_error_t why;
    int64_t own;

    postie_error_clear(&why);
    why.status = POSTIE_E_CONNECT_FAILED;
    why.phase = "connect";
    snprintf(why.subject, sizeof(why.subject), "127.0.0.1");

    /* one real attempt first: attempts 1, its own backoff */
    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_E_CONNECT_FAILED, &why, NOW,
                                         0x80000000u, &out),
                     POSTIE_OK);
    own = entry.slot.next_attempt;
    postie_queue_release(&queue, &entry);

    /* a flush where its session failed for an earlier message, due to
     * retry before its own schedule: nothing changes but the text */
    load_claimed(id);
    assert_int_equal(postie_queue_record_untried(&queue, &entry, POSTIE_E_CONNECT_FAILED, &why,
                                                 NOW + 10, NOW + 20, &out),
                     POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_QUEUED);
    assert_int_equal(out.pending, 2);
    assert_int_equal(out.failed, 0);
    postie_queue_release(&queue, &entry);
    load_claimed(id);
    assert_int_equal(entry.slot.attempts, 1);
    assert_int_equal(entry.slot.last_attempt, NOW);
    assert_int_equal(entry.slot.next_attempt, own);
    assert_string_equal(entry.slot.last_error, "not tried (its session failed): connect: could "
                                               "not connect to the server (127.0.0.1)");
    assert_int_equal(entry.slot.last_status, POSTIE_E_CONNECT_FAILED);

    /* the session's next try comes later: it waits for it */
    assert_int_equal(postie_queue_record_untried(&queue, &entry, POSTIE_E_CONNECT_FAILED, &why,
                                                 NOW + 10, own + 500, &out),
                     POSTIE_OK);
    postie_queue_release(&queue, &entry);
    load_claimed(id);
    assert_int_equal(entry.slot.attempts, 1);
    assert_int_equal(entry.slot.next_attempt, own + 500);

    /* needs a failure, a claim and a queued entry */
    assert_int_equal(postie_queue_record_untried(&queue, &entry, POSTIE_OK, NULL, NOW, NOW, &out),
                     POSTIE_E_BAD_STATE);
    postie_queue_release(&queue, &entry);
    assert_int_equal(postie_queue_load(&queue, id, false, &entry, NULL), POSTIE_OK);
    assert_int_equal(
        postie_queue_record_untried(&queue, &entry, POSTIE_E_CONNECT_FAILED, &why, NOW, NOW, &out),
        POSTIE_E_BAD_STATE);
    postie_queue_release(&queue, &entry);

    /* past its age: the error queue, still without an attempt */
    load_claimed(id);
    assert_int_equal(postie_queue_record_untried(&queue, &entry, POSTIE_E_CONNECT_FAILED, &why,
                                                 NOW + POSTIE_QUEUE_MAX_AGE_S, NOW, &out),
                     POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_ERROR);
    assert_int_equal(out.failed, 2);
    postie_queue_release(&queue, &entry);
    load_claimed(id);
    assert_int_equal(entry.slot.attempts, 1);
    assert_int_equal(entry.slot.last_attempt, NOW + POSTIE_QUEUE_MAX_AGE_S);
    assert_string_equal(entry.slot.last_error,
                        "expired in the queue; last: not tried (its session failed): connect: "
                        "could not connect to the server (127.0.0.1)");
    postie_queue_release(&queue, &entry);
}

static void test_untried_permanent_fails_it(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_queue_outcome_t out;
    postie_error_t why;

    postie_error_clear(&why);
    why.status = POSTIE_E_TLS_CERT_UNTRUSTED;
    why.phase = "TLS handshake";
    load_claimed(id);
    assert_int_equal(postie_queue_record_untried(&queue, &entry, POSTIE_E_TLS_CERT_UNTRUSTED, &why,
                                                 NOW + 5, NOW + 60, &out),
                     POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_ERROR);
    assert_int_equal(out.failed, 2);
    postie_queue_release(&queue, &entry);
    load_claimed(id);
    assert_int_equal(entry.slot.state, POSTIE_QSTATE_ERROR);
    assert_int_equal(entry.slot.attempts, 0);
    assert_int_equal(entry.slot.last_attempt, NOW + 5);
    assert_int_equal(entry.slot.rcpt[0], POSTIE_QRCPT_FAILED);
    assert_int_equal(entry.slot.rcpt[1], POSTIE_QRCPT_FAILED);
    assert_int_equal(entry.slot.last_status, POSTIE_E_TLS_CERT_UNTRUSTED);
    postie_queue_release(&queue, &entry);
}

static void test_expiry(void **state)
{
    (void)state;
    postie_queue_limits_t limits = {0, 0, 3600};
    postie_queue_id_t id;
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;
    postie_error_t why;

    open_queue(&limits);
    id = enqueue2();
    postie_error_clear(&why);
    why.phase = "connect";
    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    assert_int_equal(
        postie_queue_record(&queue, &entry, rcpt, POSTIE_E_TIMEOUT, &why, NOW + 3599, 0, &out),
        POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_QUEUED);
    postie_queue_envelope(&entry, &env, rcpt);
    assert_int_equal(
        postie_queue_record(&queue, &entry, rcpt, POSTIE_E_TIMEOUT, &why, NOW + 3600, 0, &out),
        POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_ERROR);
    assert_int_equal(out.failed, 2);
    assert_int_equal(entry.slot.last_status, POSTIE_E_EXPIRED);
    assert_string_equal(entry.slot.last_error,
                        "expired in the queue; last: connect: timed out waiting for the server");
    postie_queue_release(&queue, &entry);
}

static void test_claims(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_error_t err;
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;

    load_claimed(id);
    assert_int_equal(postie_queue_load(&queue, id, true, &scratch, &err), POSTIE_E_BUSY);
    assert_string_equal(err.subject, "claimed by another sender");
    /* reading without a claim works (listing) but cannot record */
    assert_int_equal(postie_queue_load(&queue, id, false, &scratch, &err), POSTIE_OK);
    postie_queue_envelope(&scratch, &env, rcpt);
    assert_int_equal(postie_queue_record(&queue, &scratch, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_E_BAD_STATE);
    postie_queue_release(&queue, &scratch);
    /* nor delete or resend a claimed entry */
    assert_int_equal(postie_queue_delete(&queue, id, &scratch, &err), POSTIE_E_BUSY);
    postie_queue_release(&queue, &entry);
    assert_int_equal(postie_queue_load(&queue, id, true, &scratch, &err), POSTIE_OK);
    postie_queue_release(&queue, &scratch);
    assert_int_equal(postie_queue_delete(&queue, id, &scratch, &err), POSTIE_OK);
    assert_int_equal(count_entries(), 0);
    assert_int_equal(postie_queue_delete(&queue, id, &scratch, &err), POSTIE_E_NOT_FOUND);
}

static void test_capacity(void **state)
{
    (void)state;
    postie_queue_limits_t by_count = {2, 0, 0};
    postie_queue_message_t m = {"mail/Notify", "alice@example.test", two_rcpts, 1, 0, false, false};
    src_t s = {body, strlen(body), 0, 0, false};
    postie_queue_id_t id = 0;
    postie_error_t err;
    uint32_t count = 0;
    uint64_t bytes = 0;
    uint64_t one;

    open_queue(&by_count);
    enqueue_n(two_rcpts, 1, NOW, 1);
    enqueue_n(two_rcpts, 1, NOW, 2);
    m.size = s.len;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 3, &id, &err),
                     POSTIE_E_QUEUE_FULL);
    assert_string_equal(err.subject, "message count limit reached");
    assert_int_equal(count_entries(), 2);

    /* by octets: room for exactly two entries of this size */
    assert_int_equal(faulty.inner.ops->usage(faulty.inner.ctx, &count, &bytes), POSTIE_OK);
    one = bytes / 2;
    {
        postie_queue_limits_t by_bytes = {0, 3 * one - 1, 0};
        open_queue(&by_bytes);
    }
    s.pos = 0;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 4, &id, &err),
                     POSTIE_E_QUEUE_FULL);
    assert_string_equal(err.subject, "size limit reached (octets)");
    assert_int_equal(count_entries(), 2);
    {
        postie_queue_limits_t by_bytes = {0, 3 * one, 0};
        open_queue(&by_bytes);
    }
    s.pos = 0;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 4, &id, &err), POSTIE_OK);
    assert_int_equal(count_entries(), 3);
}

static void test_bad_messages_leave_nothing(void **state)
{
    (void)state;
    const char *bad_rcpts[] = {"bob@example.test", "eve@example.test\r\nRCPT TO:<x@y>"};
    postie_queue_message_t m = {"mail/Notify", "alice@example.test", bad_rcpts, 2, 0, false, false};
    src_t s = {body, strlen(body), 0, 0, false};
    postie_queue_id_t id = 0;
    postie_error_t err;
    uint32_t count = 0;
    uint64_t bytes = 0;

    m.size = s.len;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err),
                     POSTIE_E_ADDRESS_INVALID);
    assert_string_equal(err.subject, "rcpt[1]");
    m.rcpt_count = 1;
    m.from = "alice@example.test\n";
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err),
                     POSTIE_E_ADDRESS_INVALID);
    assert_string_equal(err.subject, "from");
    {
        /* the engine's own address rule: longer than 256 octets */
        static char long_rcpt[300];
        const char *one[] = {long_rcpt};
        memset(long_rcpt, 'x', 290);
        memcpy(long_rcpt + 290, "@e.test", 8);
        m.from = "alice@example.test";
        m.rcpt = one;
        assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err),
                         POSTIE_E_ADDRESS_TOO_LONG);
        assert_string_equal(err.subject, "rcpt[0]");
        m.rcpt = bad_rcpts;
    }
    m.from = "";
    m.session = "";
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err),
                     POSTIE_E_FIELD_INVALID);
    assert_string_equal(err.subject, "session");
    m.session = "mail/Notify";
    m.rcpt_count = 0;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err),
                     POSTIE_E_INVALID_ARGUMENT);
    m.rcpt_count = 1;

    /* the source gives fewer, more, or fails midway */
    m.size = s.len + 1;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err),
                     POSTIE_E_SOURCE_FAILED);
    assert_string_equal(err.subject, "message source gave fewer octets than its size");
    s.pos = 0;
    m.size = s.len - 1;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 2, &id, &err),
                     POSTIE_E_SOURCE_FAILED);
    assert_string_equal(err.subject, "message source gave more octets than its size");
    s.pos = 0;
    s.step = 4;
    s.fail = true;
    m.size = s.len;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 3, &id, &err),
                     POSTIE_E_SOURCE_FAILED);
    /* the store fails while writing */
    s.fail = false;
    s.pos = 0;
    faulty.writes = 0;
    faulty.fail_write_from = 2;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 4, &id, &err),
                     POSTIE_E_IO);
    faulty.fail_write_from = 0;

    assert_int_equal(count_entries(), 0);
    assert_int_equal(faulty.inner.ops->usage(faulty.inner.ctx, &count, &bytes), POSTIE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(bytes, 0);
}

static void expect_corrupt(postie_queue_id_t id, const char *why)
{
    postie_error_t err;
    postie_status_t st = postie_queue_load(&queue, id, true, &entry, &err);
    if (st != POSTIE_E_QUEUE_CORRUPT) {
        fail_msg("want POSTIE_E_QUEUE_CORRUPT (%s), got %s", why, postie_status_name(st));
    }
    assert_string_equal(err.subject, why);
    assert_int_equal(entry.handle, -1);
}

static void test_damaged_entries(void **state)
{
    (void)state;
    postie_queue_id_t magic = enqueue_n(two_rcpts, 2, NOW, 1);
    postie_queue_id_t header = enqueue_n(two_rcpts, 2, NOW, 2);
    postie_queue_id_t shortened = enqueue_n(two_rcpts, 2, NOW, 3);
    postie_queue_id_t slots = enqueue_n(two_rcpts, 2, NOW, 4);
    postie_queue_id_t sizes = enqueue_n(two_rcpts, 2, NOW, 5);
    postie_queue_id_t ok = enqueue_n(two_rcpts, 2, NOW, 6);
    postie_queue_id_t tiny = enqueue_n(two_rcpts, 2, NOW, 7);
    uint64_t slot_len;

    load_claimed(ok);
    slot_len = (entry.body_offset - entry.slot_offset) / 2;
    postie_queue_release(&queue, &entry);

    tamper(magic, 0, 0x20);
    expect_corrupt(magic, "not a queue entry (bad magic)");
    tamper(header, 45, 0x01); /* inside the session name */
    expect_corrupt(header, "header checksum mismatch");
    shorten(shortened, strlen(body) + 100);
    expect_corrupt(shortened, "size does not match its header (truncated?)");
    shorten(tiny, 12);
    expect_corrupt(tiny, "shorter than its header");
    tamper(sizes, 32, 0x40); /* body size */
    expect_corrupt(sizes, "size does not match its header (truncated?)");
    /* the only valid slot (B, seq 1) damaged, A empty */
    load_claimed(slots);
    {
        uint64_t b = entry.slot_offset + slot_len;
        postie_queue_release(&queue, &entry);
        tamper(slots, b + 10, 0xff);
    }
    expect_corrupt(slots, "both state slots damaged");

    /* a damaged entry is set aside; the rest stay */
    assert_int_equal(count_entries(), 7);
    assert_int_equal(postie_queue_set_aside(&queue, magic), POSTIE_OK);
    assert_int_equal(count_entries(), 6);
#ifdef QUEUE_TEST_SPOOL
    {
        char path[128];
        char name[POSTIE_QUEUE_ID_TEXT];
        struct stat st;
        postie_queue_id_format(magic, name);
        snprintf(path, sizeof(path), "%s/corrupt/%s", spool_dir, name);
        assert_int_equal(stat(path, &st), 0); /* kept for inspection */
    }
#endif
    /* deleting a damaged entry sets it aside too */
    {
        postie_error_t err;
        assert_int_equal(postie_queue_delete(&queue, header, &scratch, &err), POSTIE_OK);
        assert_int_equal(count_entries(), 5);
    }
    load_claimed(ok);
    postie_queue_release(&queue, &entry);
}

static void test_torn_state_write_keeps_previous(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;
    uint64_t slot_len;
    uint64_t newest;

    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "2.1.5", "Ok");
    set_reply(&rcpt[1], POSTIE_RCPT_REJECTED, 451, "4.3.0", "later");
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_OK);
    assert_int_equal(entry.slot.seq, 2); /* slot A now */
    slot_len = (entry.body_offset - entry.slot_offset) / 2;
    newest = entry.slot_offset + (entry.slot.seq & 1u) * slot_len;
    postie_queue_release(&queue, &entry);

    /* a crash halfway through writing slot A: its CRC fails, B (seq 1)
     * still holds the state before the attempt */
    tamper(id, newest + 20, 0x5a);
    load_claimed(id);
    assert_int_equal(entry.slot.seq, 1);
    assert_int_equal(entry.slot.attempts, 0);
    assert_int_equal(entry.slot.rcpt[0], POSTIE_QRCPT_PENDING);
    postie_queue_release(&queue, &entry);
}

static void test_failed_state_write_changes_nothing(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;

    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "", "Ok");
    set_reply(&rcpt[1], POSTIE_RCPT_ACCEPTED, 250, "", "Ok");
    faulty.writes = 0;
    faulty.fail_write_from = 1;
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_E_IO);
    faulty.fail_write_from = 0;
    assert_int_equal(entry.slot.state, POSTIE_QSTATE_QUEUED);
    assert_int_equal(entry.slot.attempts, 0);
    postie_queue_release(&queue, &entry);
    assert_int_equal(count_entries(), 1);
}

static void test_interrupted_removal(void **state)
{
    (void)state;
    postie_queue_id_t id = enqueue2();
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_outcome_t out;
    postie_error_t err;

    load_claimed(id);
    postie_queue_envelope(&entry, &env, rcpt);
    set_reply(&rcpt[0], POSTIE_RCPT_ACCEPTED, 250, "", "Ok");
    set_reply(&rcpt[1], POSTIE_RCPT_ACCEPTED, 250, "", "Ok");
    faulty.fail_remove = 1;
    assert_int_equal(postie_queue_record(&queue, &entry, rcpt, POSTIE_OK, NULL, NOW, 0, &out),
                     POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_DONE);
    postie_queue_release(&queue, &entry);
    /* the DONE record stands: never offered for sending, removed on claim */
    assert_int_equal(count_entries(), 1);
    assert_int_equal(postie_queue_load(&queue, id, false, &entry, &err), POSTIE_E_NOT_FOUND);
    assert_int_equal(postie_queue_load(&queue, id, true, &entry, &err), POSTIE_E_NOT_FOUND);
    assert_int_equal(count_entries(), 0);
}

static void test_many_recipients_and_envelope_limit(void **state)
{
    (void)state;
    static char addr[POSTIE_QUEUE_RCPT_MAX][40];
    const char *rcpts[POSTIE_QUEUE_RCPT_MAX + 1];
    static char long_addr[POSTIE_QUEUE_RCPT_MAX][250];
    const char *longs[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_message_t m = {
        "mail/Notify", "a@example.test", rcpts, POSTIE_QUEUE_RCPT_MAX, 0, false, false};
    src_t s = {body, strlen(body), 0, 0, false};
    postie_queue_id_t id = 0;
    postie_error_t err;

    for (size_t i = 0; i < POSTIE_QUEUE_RCPT_MAX; i++) {
        snprintf(addr[i], sizeof(addr[i]), "user%zu@example.test", i);
        rcpts[i] = addr[i];
        memset(long_addr[i], 'x', 240);
        snprintf(long_addr[i] + 240, 10, "@e.test");
        longs[i] = long_addr[i];
    }
    rcpts[POSTIE_QUEUE_RCPT_MAX] = "extra@example.test";
    m.size = s.len;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err), POSTIE_OK);
    load_claimed(id);
    assert_int_equal(entry.rcpt_count, POSTIE_QUEUE_RCPT_MAX);
    assert_string_equal(entry.rcpt[POSTIE_QUEUE_RCPT_MAX - 1], addr[POSTIE_QUEUE_RCPT_MAX - 1]);
    postie_queue_release(&queue, &entry);

    m.rcpt_count = POSTIE_QUEUE_RCPT_MAX + 1;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 2, &id, &err),
                     POSTIE_E_INVALID_ARGUMENT);
    m.rcpt = longs;
    m.rcpt_count = POSTIE_QUEUE_RCPT_MAX;
    assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 3, &id, &err),
                     POSTIE_E_FIELD_TOO_LONG);
    assert_int_equal(count_entries(), 1);
}

#ifndef QUEUE_TEST_SPOOL
static void test_ram_store_compacts(void **state)
{
    (void)state;
    postie_queue_id_t a = enqueue_n(two_rcpts, 1, NOW, 1);
    postie_queue_id_t b = enqueue_n(two_rcpts, 2, NOW, 2);
    postie_queue_id_t c = enqueue_n(two_rcpts, 1, NOW, 3);
    uint32_t used_before = ram.used;
    postie_error_t err;
    postie_queue_body_reader_t br;
    uint8_t buf[128];
    size_t n = 0;

    /* removing the middle entry slides the last one down; it still reads */
    assert_int_equal(postie_queue_delete(&queue, b, &scratch, &err), POSTIE_OK);
    assert_true(ram.used < used_before);
    load_claimed(c);
    assert_int_equal(entry.rcpt_count, 1);
    postie_queue_body_reader_init(&br, &queue, &entry);
    assert_int_equal(postie_queue_body_read(&br, buf, sizeof(buf), &n), POSTIE_OK);
    assert_int_equal(n, strlen(body));
    assert_memory_equal(buf, body, n);
    postie_queue_release(&queue, &entry);
    load_claimed(a);
    postie_queue_release(&queue, &entry);

    /* full: the array or the entry table refuses, and says so */
    {
        postie_queue_ram_t small;
        static uint8_t mem[700];
        postie_queue_store_t st;
        postie_queue_message_t m = {"mail/Notify", "", two_rcpts, 2, 0, false, false};
        src_t s = {body, strlen(body), 0, 0, false};
        postie_queue_id_t id;
        postie_queue_ram_init(&small, mem, sizeof(mem));
        st = postie_queue_ram_store(&small);
        postie_queue_init(&queue, st, NULL);
        m.size = s.len;
        assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 1, &id, &err),
                         POSTIE_OK);
        s.pos = 0;
        assert_int_equal(postie_queue_enqueue(&queue, &m, src_read, &s, NOW, 2, &id, &err),
                         POSTIE_E_QUEUE_FULL);
        assert_string_equal(err.subject, "store: create");
        assert_int_equal(small.count, 1);
    }
}
#endif

#ifdef QUEUE_TEST_SPOOL
static void spool_path(char *out, size_t cap, const char *sub, postie_queue_id_t id)
{
    char name[POSTIE_QUEUE_ID_TEXT];
    postie_queue_id_format(id, name);
    snprintf(out, cap, "%s/%s/%s", spool_dir, sub, name);
}

/* A link, a FIFO or a directory under an entry's name in q/: listed, never
 * followed or opened, counted for no capacity, reported as damaged; delete
 * takes it out of the queue, and the link's target is untouched. */
static void test_spool_links_and_special_files(void **state)
{
    (void)state;
    postie_queue_limits_t limits = {2, 8192, 0};
    postie_queue_id_t real = enqueue_n(two_rcpts, 1, NOW, 1);
    postie_queue_id_t link = ((uint64_t)NOW << 32) | 2u;
    postie_queue_id_t fifo = ((uint64_t)NOW << 32) | 3u;
    postie_queue_id_t dir = ((uint64_t)NOW << 32) | 4u;
    char target[96];
    char path[128];
    uint32_t count = 0;
    uint64_t bytes = 0;
    postie_error_t err;
    struct stat st;
    int fd;

    /* a big file outside the spool, linked in */
    snprintf(target, sizeof(target), "%s.target", spool_dir);
    fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 1 << 20), 0);
    close(fd);
    spool_path(path, sizeof(path), "q", link);
    assert_int_equal(symlink(target, path), 0);
    spool_path(path, sizeof(path), "q", fifo);
    assert_int_equal(mkfifo(path, 0600), 0);
    spool_path(path, sizeof(path), "q", dir);
    assert_int_equal(mkdir(path, 0700), 0);

    assert_int_equal(count_entries(), 4); /* listed, so a run reports them */
    assert_int_equal(faulty.inner.ops->usage(faulty.inner.ctx, &count, &bytes), POSTIE_OK);
    assert_int_equal(count, 1);
    assert_true(bytes < 8192);
    /* capacity sees only the real entry: 2 messages, 8 KiB still take one more */
    open_queue(&limits);
    enqueue_n(two_rcpts, 1, NOW, 5);

    for (int claim = 0; claim <= 1; claim++) {
        postie_queue_id_t bad[] = {link, fifo, dir};
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(postie_queue_load(&queue, bad[i], claim != 0, &entry, &err),
                             POSTIE_E_QUEUE_CORRUPT);
            assert_string_equal(err.subject, "not a regular file (a link or a special file)");
            assert_int_equal(entry.handle, -1);
        }
    }
    load_claimed(real);
    postie_queue_release(&queue, &entry);

    assert_int_equal(postie_queue_delete(&queue, link, &scratch, &err), POSTIE_OK);
    spool_path(path, sizeof(path), "q", link);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    assert_int_equal(postie_queue_delete(&queue, fifo, &scratch, &err), POSTIE_OK);
    assert_int_equal(postie_queue_set_aside(&queue, dir), POSTIE_OK);
    assert_int_equal(count_entries(), 2);
    unlink(target);
}

static void expect_refused(const char *why, const char *mode_text)
{
    postie_spool_t other;
    postie_error_t err;
    assert_int_equal(postie_spool_open(&other, spool_dir, &err), POSTIE_E_FILE);
    if (strstr(err.phase, why) == NULL) {
        fail_msg("refused for \"%s\", wanted \"%s\"", err.phase, why);
    }
    if (mode_text != NULL && strstr(err.subject, mode_text) == NULL) {
        fail_msg("subject \"%s\" lacks \"%s\"", err.subject, mode_text);
    }
}

/* A spool others can write to (or that another user owns, or whose q/,
 * tmp/ or corrupt/ is a link) is refused, saying why. */
static void test_spool_refuses_what_others_can_write(void **state)
{
    (void)state;
    postie_spool_t other;
    postie_error_t err;
    char path[96];
    char moved[96];

    assert_int_equal(chmod(spool_dir, 0777), 0);
    expect_refused("others can write", "mode 0777");
    assert_int_equal(chmod(spool_dir, 01733), 0); /* sticky does not make it safe */
    expect_refused("others can write", "mode 1733");
    assert_int_equal(chmod(spool_dir, 0770), 0);
    expect_refused("others can write", "mode 0770");
    assert_int_equal(chmod(spool_dir, 0700), 0);
    assert_int_equal(postie_spool_open(&other, spool_dir, &err), POSTIE_OK);
    postie_spool_close(&other);

    snprintf(path, sizeof(path), "%s/corrupt", spool_dir);
    assert_int_equal(chmod(path, 0702), 0);
    expect_refused("others can write", "/corrupt (mode 0702");
    assert_int_equal(chmod(path, 0700), 0);

    snprintf(path, sizeof(path), "%s/tmp", spool_dir);
    snprintf(moved, sizeof(moved), "%s/tmp.real", spool_dir);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(symlink("tmp.real", path), 0);
    expect_refused("a link or not a directory", "/tmp");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rename(moved, path), 0);

    if (geteuid() == 0) {
        assert_int_equal(chown(spool_dir, 65534, 65534), 0);
        expect_refused("belongs to another user", "owner uid 65534");
        assert_int_equal(chown(spool_dir, 0, 0), 0);
    }
    assert_int_equal(postie_spool_open(&other, spool_dir, &err), POSTIE_OK);
    postie_spool_close(&other);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_sorted_by_arrival, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_delivered_removes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_then_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_goes_to_error_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_level_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_messages_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_state_write_keeps_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_state_write_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_recipients_and_envelope_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untried_counts_no_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untried_permanent_fails_it, setup, teardown),
#ifdef QUEUE_TEST_SPOOL
        cmocka_unit_test_setup_teardown(test_spool_links_and_special_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_refuses_what_others_can_write, setup, teardown),
#endif
#ifndef QUEUE_TEST_SPOOL
        cmocka_unit_test_setup_teardown(test_ram_store_compacts, setup, teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
