/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Queue policy: every reply class and session failure mapped to
 * delivered / retry / failed, the backoff schedule and its spread, expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/queue/queue_policy.h"

static postie_smtp_rcpt_t rcpt(postie_rcpt_state_t state, uint16_t code)
{
    postie_smtp_rcpt_t r;
    memset(&r, 0, sizeof(r));
    r.address = "bob@example.com";
    r.state = state;
    r.reply.code = code;
    return r;
}

static void expect(postie_rcpt_state_t state, uint16_t code, postie_status_t message,
                   postie_outcome_t want)
{
    postie_smtp_rcpt_t r = rcpt(state, code);
    postie_outcome_t got = postie_queue_rcpt_outcome(&r, message);
    if (got != want) {
        fail_msg("state %d, reply %u, message %s: %s, want %s", state, code,
                 postie_status_name(message), postie_queue_outcome_name(got),
                 postie_queue_outcome_name(want));
    }
}

static void test_accepted_recipients(void **state)
{
    (void)state;
    /* only the reply to the end of the message makes it delivered */
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_OK, POSTIE_OUTCOME_DELIVERED);
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_REPLY_TRANSIENT, POSTIE_OUTCOME_RETRY);  /* 451 */
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_REPLY_PERMANENT, POSTIE_OUTCOME_FAILED); /* 554 */
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_TIMEOUT, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_CONNECTION_CLOSED, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_CONNECTION_RESET, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_SERVER_SHUTDOWN, POSTIE_OUTCOME_RETRY); /* 421 */
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_MESSAGE_TOO_LARGE, POSTIE_OUTCOME_FAILED);
    expect(POSTIE_RCPT_ACCEPTED, 250, POSTIE_E_SOURCE_FAILED, POSTIE_OUTCOME_FAILED);
}

static void test_refused_recipients(void **state)
{
    (void)state;
    static const uint16_t transient[] = {421, 450, 451, 452, 499};
    static const uint16_t permanent[] = {500, 550, 551, 552, 553, 554, 599};
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        expect(POSTIE_RCPT_REJECTED, transient[i], POSTIE_OK, POSTIE_OUTCOME_RETRY);
        expect(POSTIE_RCPT_REJECTED, transient[i], POSTIE_E_RECIPIENTS_REJECTED,
               POSTIE_OUTCOME_RETRY);
    }
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++) {
        expect(POSTIE_RCPT_REJECTED, permanent[i], POSTIE_OK, POSTIE_OUTCOME_FAILED);
        /* the recipient's own reply decides, whatever became of the message */
        expect(POSTIE_RCPT_REJECTED, permanent[i], POSTIE_E_TIMEOUT, POSTIE_OUTCOME_FAILED);
    }
    expect(POSTIE_RCPT_REJECTED, 0, POSTIE_E_CONNECTION_CLOSED, POSTIE_OUTCOME_RETRY);
}

static void test_recipients_not_tried(void **state)
{
    (void)state;
    /* the attempt's fate decides */
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_CONNECTION_CLOSED, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_CONNECT_FAILED, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_DNS, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_TLS_HANDSHAKE, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_AUTH_TEMPORARY, POSTIE_OUTCOME_RETRY);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_TLS_CERT_UNTRUSTED, POSTIE_OUTCOME_FAILED);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_TLS_CERT_EXPIRED, POSTIE_OUTCOME_FAILED);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_AUTH_FAILED, POSTIE_OUTCOME_FAILED);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_STARTTLS_UNAVAILABLE, POSTIE_OUTCOME_FAILED);
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_REPLY_PERMANENT,
           POSTIE_OUTCOME_FAILED);                                                    /* MAIL 5xx */
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_REPLY_TRANSIENT, POSTIE_OUTCOME_RETRY); /* MAIL 4xx */
    expect(POSTIE_RCPT_PENDING, 0, POSTIE_E_TIMEOUT, POSTIE_OUTCOME_RETRY);
    /* the others were refused: this one was never judged */
    expect(POSTIE_RCPT_NOT_TRIED, 0, POSTIE_E_RECIPIENTS_REJECTED, POSTIE_OUTCOME_RETRY);
}

static void test_backoff(void **state)
{
    (void)state;
    uint32_t previous_middle = 0;
    /* random = 2^31 is the middle of the spread: exactly the schedule */
    assert_int_equal(postie_queue_backoff_s(1, 0x80000000u), POSTIE_QUEUE_BACKOFF_BASE_S);
    assert_int_equal(postie_queue_backoff_s(2, 0x80000000u), 2 * POSTIE_QUEUE_BACKOFF_BASE_S);
    assert_int_equal(postie_queue_backoff_s(3, 0x80000000u), 4 * POSTIE_QUEUE_BACKOFF_BASE_S);
    for (uint32_t attempt = 1; attempt < 200; attempt++) {
        uint32_t middle = postie_queue_backoff_s(attempt, 0x80000000u);
        uint32_t low = postie_queue_backoff_s(attempt, 0);
        uint32_t high = postie_queue_backoff_s(attempt, 0xffffffffu);
        assert_true(middle >= previous_middle); /* never shrinks */
        assert_true(middle <= POSTIE_QUEUE_BACKOFF_MAX_S);
        assert_true(low >= middle - middle / 4u - 1 && low <= middle);
        assert_true(high >= middle && high <= middle + middle / 4u + 1);
        previous_middle = middle;
    }
    assert_int_equal(postie_queue_backoff_s(1000, 0x80000000u), POSTIE_QUEUE_BACKOFF_MAX_S);
    assert_int_equal(postie_queue_backoff_s(0xffffffffu, 0x80000000u), POSTIE_QUEUE_BACKOFF_MAX_S);
    /* the spread really spreads: 1000 random draws give many distinct delays */
    {
        uint32_t rng = 1;
        uint32_t seen_low = UINT32_MAX;
        uint32_t seen_high = 0;
        for (int i = 0; i < 1000; i++) {
            uint32_t d;
            rng = rng * 1664525u + 1013904223u;
            d = postie_queue_backoff_s(5, rng);
            seen_low = d < seen_low ? d : seen_low;
            seen_high = d > seen_high ? d : seen_high;
        }
        /* attempt 5: 16 x base, spread over +-4 x base; 1000 draws cover most of it */
        assert_true(seen_high - seen_low > 7 * POSTIE_QUEUE_BACKOFF_BASE_S);
    }
}

static void test_expiry(void **state)
{
    (void)state;
    assert_false(postie_queue_expired(1000, 1000, POSTIE_QUEUE_MAX_AGE_S));
    assert_false(
        postie_queue_expired(1000, 1000 + POSTIE_QUEUE_MAX_AGE_S - 1, POSTIE_QUEUE_MAX_AGE_S));
    assert_true(postie_queue_expired(1000, 1000 + POSTIE_QUEUE_MAX_AGE_S, POSTIE_QUEUE_MAX_AGE_S));
    assert_false(postie_queue_expired(5000, 1000, 10)); /* clock went back: not expired */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_recipients),
        cmocka_unit_test(test_refused_recipients),
        cmocka_unit_test(test_recipients_not_tried),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
