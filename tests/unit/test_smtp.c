/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMTP engine transcripts: every reply path of the session and of a
 * message, played whole, byte by byte and at random splits (transcript.c).
 * Bulk-body tests at the end drive the engine directly and check the wire
 * stream against an independent transformation of the body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transcript.h"

#define GREETING      SERVER("220 mx.example ESMTP ready\r\n")
#define EHLO          CLIENT("EHLO client.example\r\n")
#define EHLO_PLAIN    SERVER("250-mx.example\r\n250 8BITMIME\r\n")
#define EHLO_PIPE     SERVER("250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
#define EHLO_CHUNKING SERVER("250-mx.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n")
#define MAIL          CLIENT("MAIL FROM:<sender@example.com>\r\n")
#define RCPT_BOB      CLIENT("RCPT TO:<bob@example.com>\r\n")
#define OK            SERVER("250 2.0.0 Ok\r\n")
#define GO_AHEAD      SERVER("354 End data with <CR><LF>.<CR><LF>\r\n")

/* The plain part of every session up to READY, without pipelining. */
#define SESSION_PLAIN GREETING, EHLO, EHLO_PLAIN, READY
#define SESSION_PIPE  GREETING, EHLO, EHLO_PIPE, READY

static transcript_t plain(const step_t *steps)
{
    transcript_t t;
    memset(&t, 0, sizeof(t));
    t.cfg = transcript_config();
    t.to[0] = "bob@example.com";
    t.steps = steps;
    return t;
}

/* ---- a whole message, the basic shapes ------------------------------------ */

static void test_one_message_without_pipelining(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        NOTHING_SENT, /* one command at a time without PIPELINING */
        SERVER("250 2.1.0 Ok\r\n"),
        RCPT_BOB,
        NOTHING_SENT,
        SERVER("250 2.1.5 Ok\r\n"),
        CLIENT("DATA\r\n"),
        NOTHING_SENT,
        GO_AHEAD,
        BODY("Subject: hi\n\n.hidden\nline\r\n..two\rend"),
        BODY_END,
        CLIENT("Subject: hi\r\n\r\n..hidden\r\nline\r\n...two\r\nend\r\n.\r\n"),
        SERVER("250 2.0.0 Ok: queued as 4XyZ\r\n"),
        MESSAGE(POSTIE_OK),
        RCPT(0, "A"),
        READY,
        QUIT,
        CLIENT("QUIT\r\n"),
        SERVER("221 2.0.0 Bye\r\n"),
        CLOSED,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    const postie_error_t *r = postie_smtp_message_result(s);
    assert_int_equal(r->reply.code, 250);
    assert_string_equal(r->reply.enhanced, "2.0.0");
    assert_string_equal(r->reply.text, "Ok: queued as 4XyZ");
    assert_false(postie_smtp_caps(s)->flags & POSTIE_SMTP_CAP_PIPELINING);
    assert_string_equal(postie_smtp_caps(s)->server_name, "mx.example");
}

static void test_pipelined_envelope_one_recipient_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        /* MAIL, every RCPT and DATA leave in one flight (RFC 2920) */
        CLIENT("MAIL FROM:<sender@example.com>\r\n"
               "RCPT TO:<bob@example.com>\r\n"
               "RCPT TO:<nobody@example.com>\r\n"
               "RCPT TO:<carol@example.com>\r\n"
               "DATA\r\n"),
        SERVER("250 2.1.0 Ok\r\n"
               "250 2.1.5 Ok\r\n"
               "550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n"
               "250 2.1.5 Ok\r\n"
               "354 go ahead\r\n"),
        RCPT(0, "A"),
        RCPT(1, "R"),
        RCPT(2, "A"),
        BODY("Hello\n"),
        BODY_END,
        CLIENT("Hello\r\n.\r\n"),
        SERVER("250 2.0.0 Ok: queued\r\n"),
        MESSAGE(POSTIE_OK),
        READY,
        END,
    };
    transcript_t t = plain(steps);
    t.to[1] = "nobody@example.com";
    t.to[2] = "carol@example.com";
    transcript_play(&t);
    assert_int_equal(transcript_rcpt(1)->reply.code, 550);
    assert_string_equal(transcript_rcpt(1)->reply.enhanced, "5.1.1");
    assert_string_equal(transcript_rcpt(1)->reply.text,
                        "<nobody@example.com>: Recipient address rejected");
    assert_int_equal(transcript_rcpt(0)->reply.code, 250);
}

static void test_pipelined_all_recipients_refused_data_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 2.1.0 Ok\r\n550 5.1.1 no such user\r\n554 5.5.1 Error: no valid "
               "recipients\r\n"),
        MESSAGE(POSTIE_E_RECIPIENTS_REJECTED),
        RCPT(0, "R"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_int_equal(postie_smtp_message_result(s)->reply.code, 554);
}

static void test_pipelined_all_refused_but_354_sends_empty_data(void **state)
{
    (void)state;
    /* RFC 2920 3.1: a server may answer DATA with 354 even though every
     * RCPT failed; the client must then send the lone dot at once. */
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 2.1.0 Ok\r\n450 4.2.0 mailbox busy\r\n354 go\r\n"),
        CLIENT(".\r\n"),
        SERVER("554 5.5.1 no valid recipients\r\n"),
        MESSAGE(POSTIE_E_RECIPIENTS_REJECTED),
        RCPT(0, "R"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
    assert_int_equal(transcript_rcpt(0)->reply.code, 450);
}

static void test_body_cannot_end_data_early(void **state)
{
    (void)state;
    /* every spelling of "line end, dot, line end" in raw input, and a body
     * that is only a dot */
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY(".\nA\n.\nB\r.\rC\n.\r\nD\r\n.\nE\r\n.\r\nF\r\n."),
        BODY_END,
        CLIENT("..\r\nA\r\n..\r\nB\r\n..\r\nC\r\n..\r\nD\r\n..\r\nE\r\n..\r\nF\r\n..\r\n"
               ".\r\n"),
        NOTHING_SENT,
        SERVER("250 ok\r\n"),
        MESSAGE(POSTIE_OK),
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

static void test_chunking_one_flight(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_CHUNKING,
        READY,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\n"),
        NOTHING_SENT, /* the body is gathered before anything else leaves */
        BODY("Subject: x\n\n.no stuffing in BDAT\n"),
        BODY_END,
        CLIENT("BDAT 36 LAST\r\nSubject: x\r\n\r\n.no stuffing in BDAT\r\n"),
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued\r\n"),
        MESSAGE(POSTIE_OK),
        RCPT(0, "A"),
        READY,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

static void test_chunking_all_recipients_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_CHUNKING,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\n"),
        BODY("x\n"),
        BODY_END,
        CLIENT("BDAT 3 LAST\r\nx\r\n"),
        SERVER("250 2.1.0 Ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no valid recipients\r\n"),
        MESSAGE(POSTIE_E_RECIPIENTS_REJECTED),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

static void test_chunking_disabled_by_config(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_CHUNKING,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.use_chunking = false;
    transcript_play(&t);
}

static void test_pipelining_disabled_by_config(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE, SEND, MAIL, NOTHING_SENT, SERVER("250 Ok\r\n"), RCPT_BOB, NOTHING_SENT, END,
    };
    transcript_t t = plain(steps);
    t.cfg.use_pipelining = false;
    transcript_play(&t);
}

static void test_two_messages_on_one_connection(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("one"),
        BODY_END,
        CLIENT("one\r\n.\r\n"),
        SERVER("250 queued 1\r\n"),
        MESSAGE(POSTIE_OK),
        READY,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("two\r\n"),
        BODY_END,
        CLIENT("two\r\n.\r\n"),
        SERVER("250 queued 2\r\n"),
        MESSAGE(POSTIE_OK),
        QUIT,
        CLIENT("QUIT\r\n"),
        SERVER_EOF, /* a server may close without 221; nothing is lost */
        CLOSED,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_message_result(s)->reply.text, "queued 2");
}

/* ---- the end of the data: DATA_SENT ------------------------------------------ */

/* DATA without pipelining: the event comes once per message, taken right
 * after the acknowledgement of the final dot's last octet (transcript.c
 * checks the wire position, byte by byte too), never earlier. */
static void test_data_sent_after_final_dot(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        SERVER("250 2.1.0 Ok\r\n"),
        RCPT_BOB,
        SERVER("250 2.1.5 Ok\r\n"),
        CLIENT("DATA\r\n"),
        GO_AHEAD,
        NO_DATA_SENT,
        BODY("one\n"),
        NO_DATA_SENT,
        BODY_END,
        CLIENT("one\r\n.\r\n"),
        DATA_SENT,
        SERVER("250 2.0.0 Ok: queued\r\n"),
        MESSAGE(POSTIE_OK),
        NO_DATA_SENT,
        /* the second message on the connection has one of its own */
        SEND,
        MAIL,
        SERVER("250 2.1.0 Ok\r\n"),
        RCPT_BOB,
        SERVER("250 2.1.5 Ok\r\n"),
        CLIENT("DATA\r\n"),
        GO_AHEAD,
        BODY("two\r\n"),
        BODY_END,
        CLIENT("two\r\n.\r\n"),
        SERVER("451 4.3.0 try later\r\n"),
        DATA_SENT, /* the data left even though the server refused it */
        MESSAGE(POSTIE_E_REPLY_TRANSIENT),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        NO_DATA_SENT,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

/* DATA pipelined: the envelope and DATA in one flight, the event after
 * the dot, before MESSAGE_DONE. */
static void test_data_sent_pipelined(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        NO_DATA_SENT,
        BODY("Hello\n"),
        BODY_END,
        CLIENT("Hello\r\n.\r\n"),
        SERVER("250 2.0.0 Ok: queued\r\n"),
        DATA_SENT, /* taken before MESSAGE_DONE */
        MESSAGE(POSTIE_OK),
        NO_DATA_SENT,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

/* BDAT pipelined: MAIL, RCPT and the LAST chunk in one flight. */
static void test_data_sent_bdat_pipelined(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_CHUNKING,
        READY,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\n"),
        BODY("Subject: x\n\nbody\n"),
        NO_DATA_SENT, /* the chunk is still being gathered */
        BODY_END,
        CLIENT("BDAT 20 LAST\r\nSubject: x\r\n\r\nbody\r\n"),
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued\r\n"),
        DATA_SENT,
        MESSAGE(POSTIE_OK),
        NO_DATA_SENT,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

/* BDAT without pipelining: one command at a time, then the LAST chunk. */
static void test_data_sent_bdat_not_pipelined(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 CHUNKING\r\n"),
        READY,
        SEND,
        MAIL,
        NOTHING_SENT,
        SERVER("250 2.1.0 Ok\r\n"),
        RCPT_BOB,
        NOTHING_SENT,
        SERVER("250 2.1.5 Ok\r\n"),
        NO_DATA_SENT,
        BODY("x\n"),
        BODY_END,
        CLIENT("BDAT 3 LAST\r\nx\r\n"),
        DATA_SENT,
        SERVER("250 2.0.0 Ok: queued\r\n"),
        MESSAGE(POSTIE_OK),
        NO_DATA_SENT,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

/* No event for a message whose data never ended: envelope refused, the
 * empty DATA after 354 with every recipient refused, a connection lost in
 * the body. */
static void test_no_data_sent_without_end_of_data(void **state)
{
    (void)state;
    static const step_t refused[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n"),
        MESSAGE(POSTIE_E_RECIPIENTS_REJECTED),
        NO_DATA_SENT,
        END,
    };
    static const step_t empty_data[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 2.1.0 Ok\r\n450 4.2.0 mailbox busy\r\n354 go\r\n"),
        CLIENT(".\r\n"),
        SERVER("554 5.5.1 no valid recipients\r\n"),
        MESSAGE(POSTIE_E_RECIPIENTS_REJECTED),
        NO_DATA_SENT,
        END,
    };
    static const step_t lost[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("partial"),
        SERVER_EOF,
        MESSAGE(POSTIE_E_CONNECTION_CLOSED),
        NO_DATA_SENT,
        END,
    };
    transcript_t t = plain(refused);
    transcript_play(&t);
    t = plain(empty_data);
    transcript_play(&t);
    t = plain(lost);
    transcript_play(&t);
}

/* Driven by hand: the ack that stops one octet short of the end of the
 * data gives no event, the one that covers it does; when the transport
 * fails before the last octet left, the event never comes. */
static void engine_at_end_of_data(postie_smtp_t *s, postie_smtp_envelope_t *env, bool chunking)
{
    postie_smtp_config_t cfg = transcript_config();
    const char *server = chunking ? "220 mx\r\n250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
                                  : "220 mx\r\n250-mx\r\n250 PIPELINING\r\n";
    const char *go = "250 Ok\r\n250 Ok\r\n354 go\r\n";
    size_t cap;
    size_t len;
    size_t used;
    uint8_t *w;
    postie_smtp_event_t ev;

    assert_int_equal(postie_smtp_init(s, &cfg, 0), POSTIE_OK);
    w = postie_smtp_rx_buf(s, &cap);
    memcpy(w, server, strlen(server));
    assert_int_equal(postie_smtp_rx_ack(s, strlen(server), 0), POSTIE_OK);
    (void)postie_smtp_tx_buf(s, &len);
    postie_smtp_tx_ack(s, len, 0); /* EHLO */
    while (postie_smtp_next_event(s, &ev)) {
    }
    assert_int_equal(postie_smtp_send(s, env, 0), POSTIE_OK);
    if (!chunking) {
        (void)postie_smtp_tx_buf(s, &len);
        postie_smtp_tx_ack(s, len, 0); /* MAIL, RCPT, DATA */
        w = postie_smtp_rx_buf(s, &cap);
        memcpy(w, go, strlen(go));
        assert_int_equal(postie_smtp_rx_ack(s, strlen(go), 0), POSTIE_OK);
    }
    assert_true(postie_smtp_state(s) & POSTIE_SMTP_WANT_BODY);
    assert_int_equal(postie_smtp_body_write(s, (const uint8_t *)"hello\n", 6, &used, 0), POSTIE_OK);
    assert_int_equal(postie_smtp_body_end(s, 0), POSTIE_OK);
    while (postie_smtp_next_event(s, &ev)) {
        assert_int_not_equal(ev.type, POSTIE_SMTP_EV_DATA_SENT);
    }
    (void)postie_smtp_tx_buf(s, &len);
    assert_true(len > 1);
    postie_smtp_tx_ack(s, len - 1, 0); /* all but the last octet */
    while (postie_smtp_next_event(s, &ev)) {
        assert_int_not_equal(ev.type, POSTIE_SMTP_EV_DATA_SENT);
    }
}

static void test_data_sent_on_the_last_octet(void **state)
{
    static postie_smtp_t s;
    postie_smtp_rcpt_t rcpt = {"bob@example.com", POSTIE_RCPT_PENDING, {0, "", ""}};
    postie_smtp_envelope_t env;
    postie_smtp_event_t ev;
    size_t len;
    (void)state;

    for (int chunking = 0; chunking < 2; chunking++) {
        int data_sent = 0;
        memset(&env, 0, sizeof(env));
        env.from = "sender@example.com";
        env.rcpt = &rcpt;
        env.rcpt_count = 1;
        engine_at_end_of_data(&s, &env, chunking != 0);
        (void)postie_smtp_tx_buf(&s, &len);
        assert_int_equal(len, 1);
        postie_smtp_tx_ack(&s, 1, 0);
        while (postie_smtp_next_event(&s, &ev)) {
            data_sent += ev.type == POSTIE_SMTP_EV_DATA_SENT;
        }
        assert_int_equal(data_sent, 1);

        /* the transport fails with the last octet unsent: no event */
        engine_at_end_of_data(&s, &env, chunking != 0);
        postie_smtp_transport_failed(&s, POSTIE_E_IO, "sending");
        postie_smtp_tx_ack(&s, 1, 0); /* a confused driver: still nothing */
        data_sent = 0;
        while (postie_smtp_next_event(&s, &ev)) {
            data_sent += ev.type == POSTIE_SMTP_EV_DATA_SENT;
        }
        assert_int_equal(data_sent, 0);
    }
}

/* ---- failures of a message: the session stays usable ---------------------- */

static void test_mail_from_refused_then_rset(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        SERVER("553 5.7.1 <sender@example.com>: Sender address rejected\r\n"),
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        RCPT(0, "N"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    const postie_error_t *r = postie_smtp_message_result(s);
    assert_string_equal(r->phase, "MAIL FROM");
    assert_int_equal(r->reply.code, 553);
    assert_string_equal(r->subject, "sender@example.com");
}

/* Pipelined: the server refuses MAIL and answers the RCPT that was already
 * on its way with 503. That 503 is about the order of commands, not the
 * recipient: the recipient counts as not tried, so a queue retries it on
 * the message's 451 instead of failing it for good. */
static void test_mail_from_transient_pipelined(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("451 4.3.0 try later\r\n503 5.5.1 Error: need MAIL command\r\n"
               "503 5.5.1 Error: need RCPT command\r\n"),
        MESSAGE(POSTIE_E_REPLY_TRANSIENT),
        RCPT(0, "N"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_message_result(s)->phase, "MAIL FROM");
    assert_int_equal(postie_smtp_message_result(s)->reply.code, 451);
}

static void test_mail_from_transient(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        SERVER("451 4.3.0 try later\r\n"),
        MESSAGE(POSTIE_E_REPLY_TRANSIENT),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
    assert_true(postie_status_is_transient(POSTIE_E_REPLY_TRANSIENT));
}

static void test_rcpt_refused_without_pipelining_skips_data(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        SERVER("250 Ok\r\n"),
        RCPT_BOB,
        SERVER("550 5.1.1 unknown user\r\n"),
        MESSAGE(POSTIE_E_RECIPIENTS_REJECTED),
        RCPT(0, "R"),
        CLIENT("RSET\r\n"), /* no DATA when nobody was accepted */
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

static void test_data_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        OK,
        RCPT_BOB,
        OK,
        CLIENT("DATA\r\n"),
        SERVER("554 5.3.0 no data today\r\n"),
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_message_result(s)->phase, "DATA");
}

static void test_final_dot_refused_permanent_and_transient(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("spam?\n"),
        BODY_END,
        CLIENT("spam?\r\n.\r\n"),
        SERVER("552 5.3.4 Message size exceeds fixed limit\r\n"),
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        CLIENT("RSET\r\n"),
        OK,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("again\n"),
        BODY_END,
        CLIENT("again\r\n.\r\n"),
        SERVER("451 4.3.0 queue file write error\r\n"),
        MESSAGE(POSTIE_E_REPLY_TRANSIENT),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_message_result(s)->phase, "end of data (final dot)");
    assert_int_equal(postie_smtp_message_result(s)->reply.code, 451);
}

static void test_rset_refused_fails_session(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        SERVER("550 no\r\n"),
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        CLIENT("RSET\r\n"),
        SERVER("500 what\r\n"),
        FAILED(POSTIE_E_REPLY_PERMANENT),
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

/* ---- failures of the session ---------------------------------------------- */

static void test_greeting_refused(void **state)
{
    (void)state;
    static const step_t refused[] = {
        SERVER("554 5.7.1 no service for you\r\n"),
        FAILED(POSTIE_E_REPLY_PERMANENT),
        NOTHING_SENT,
        END,
    };
    static const step_t shutdown[] = {
        SERVER("421 4.3.2 too busy\r\n"),
        FAILED(POSTIE_E_SERVER_SHUTDOWN),
        NOTHING_SENT,
        END,
    };
    static const step_t busy[] = {
        SERVER("450 later\r\n"),
        FAILED(POSTIE_E_REPLY_TRANSIENT),
        END,
    };
    static const step_t odd[] = {
        SERVER("250 this is not a greeting\r\n"),
        FAILED(POSTIE_E_REPLY_UNEXPECTED),
        END,
    };
    transcript_t t = plain(refused);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->phase, "greeting");
    assert_string_equal(postie_smtp_error(s)->reply.text, "no service for you");
    t = plain(shutdown);
    transcript_play(&t);
    t = plain(busy);
    transcript_play(&t);
    t = plain(odd);
    transcript_play(&t);
}

static void test_ehlo_refused_falls_back_to_helo(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("502 5.5.2 command not recognized\r\n"),
        CLIENT("HELO client.example\r\n"),
        SERVER("250 old.example\r\n"),
        READY,
        SEND,
        MAIL,
        NOTHING_SENT,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_false(postie_smtp_caps(s)->esmtp);
    assert_string_equal(postie_smtp_caps(s)->server_name, "old.example");
}

static void test_ehlo_and_helo_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("500 no\r\n"),
        CLIENT("HELO client.example\r\n"),
        SERVER("501 5.5.4 bad name\r\n"),
        FAILED(POSTIE_E_REPLY_PERMANENT),
        END,
    };
    static const step_t transient[] = {
        GREETING, EHLO, SERVER("451 wait\r\n"), FAILED(POSTIE_E_REPLY_TRANSIENT), NOTHING_SENT, END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->phase, "HELO");
    t = plain(transient);
    transcript_play(&t);
}

static void test_421_in_the_middle_ends_message_and_session(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n421 4.4.2 shutting down\r\n"),
        MESSAGE(POSTIE_E_SERVER_SHUTDOWN),
        RCPT(0, "N"),
        FAILED(POSTIE_E_SERVER_SHUTDOWN),
        NOTHING_SENT,
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

static void test_connection_dropped(void **state)
{
    (void)state;
    static const step_t at_greeting[] = {
        SERVER("220 mx"), /* no CRLF yet */
        SERVER_EOF,
        FAILED(POSTIE_E_CONNECTION_CLOSED),
        END,
    };
    static const step_t in_body[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("partial"),
        SERVER_EOF,
        MESSAGE(POSTIE_E_CONNECTION_CLOSED),
        FAILED(POSTIE_E_CONNECTION_CLOSED),
        BODY_FAILS("more", POSTIE_E_CONNECTION_CLOSED),
        END,
    };
    transcript_t t = plain(at_greeting);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->phase, "greeting");
    t = plain(in_body);
    transcript_play(&t);
}

static void test_timeouts(void **state)
{
    (void)state;
    static const step_t greeting[] = {
        TIME(POSTIE_SMTP_TIMEOUT_GREETING_MS - 1),
        NOTHING_SENT,
        TIME(1),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    static const step_t data_end[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("x"),
        BODY_END,
        CLIENT("x\r\n.\r\n"),
        /* the final dot may take 10 minutes; a command's 5 minutes is not enough */
        TIME(POSTIE_SMTP_TIMEOUT_COMMAND_MS + 1),
        TIME(POSTIE_SMTP_TIMEOUT_DATA_END_MS - POSTIE_SMTP_TIMEOUT_COMMAND_MS),
        MESSAGE(POSTIE_E_TIMEOUT),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    /* each line comes inside the timeout, the whole reply does not */
    static const step_t slow_lines[] = {
        SERVER("220-mx.example slow\r\n"),
        TIME(POSTIE_SMTP_TIMEOUT_GREETING_MS - 1),
        SERVER("220-still here\r\n"),
        /* 5 minutes since the greeting was awaited, not since its last line */
        TIME(1),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    transcript_t t = plain(greeting);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->phase, "greeting");
    t = plain(data_end);
    s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->phase, "end of data (final dot)");
    t = plain(slow_lines);
    s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->phase, "greeting");
    assert_string_equal(postie_smtp_error(s)->subject, "no complete reply within 300000 ms");
}

/* ---- reply deadlines against a server that trickles ------------------------ */

/* Short timeouts, each a different value, so the error shows which applied. */
#define T_GREETING  1000
#define T_COMMAND   1100
#define T_DATA_INIT 1200
#define T_DATA_END  1500

/* A transcript built at run time: a server that sends a reply one octet at a
 * time, the octets spread evenly over a span of milliseconds. */
typedef struct {
    step_t steps[1024];
    size_t n;
    char octets[512][2];
    size_t used;
} trickle_t;

static trickle_t trickle;

static void add(step_t st)
{
    assert_true(trickle.n < sizeof(trickle.steps) / sizeof(trickle.steps[0]));
    trickle.steps[trickle.n++] = st;
}

/* text's first octet now, its last span_ms later. */
static void add_trickled(const char *text, int span_ms)
{
    size_t len = strlen(text);
    int at = 0;
    for (size_t i = 0; i < len; i++) {
        int when = len > 1 ? (int)((long)span_ms * (long)i / (long)(len - 1)) : 0;
        char *o = trickle.octets[trickle.used++];
        assert_true(trickle.used <= sizeof(trickle.octets) / sizeof(trickle.octets[0]));
        if (when > at) {
            step_t time = TIME(when - at);
            add(time);
            at = when;
        }
        o[0] = text[i];
        o[1] = '\0';
        step_t server = SERVER(o);
        add(server);
    }
}

static void add_steps(const step_t *steps)
{
    for (; steps->op != OP_END; steps++) {
        add(*steps);
    }
}

static const postie_smtp_t *play_trickle(void)
{
    step_t end = END;
    transcript_t t = plain(NULL);
    add(end);
    t.cfg.timeout_greeting_ms = T_GREETING;
    t.cfg.timeout_command_ms = T_COMMAND;
    t.cfg.timeout_data_init_ms = T_DATA_INIT;
    t.cfg.timeout_data_end_ms = T_DATA_END;
    t.steps = trickle.steps;
    return transcript_play(&t);
}

static void start_trickle(void)
{
    memset(&trickle, 0, sizeof(trickle));
}

static const char trickled_greeting[] = "220-mx.example ESMTP\r\n220 at your service\r\n";
static const char trickled_ehlo[] = "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

static void test_trickled_greeting(void **state)
{
    (void)state;
    static const step_t failed[] = {FAILED(POSTIE_E_TIMEOUT), END};
    static const step_t ehlo[] = {EHLO, END};
    const postie_smtp_t *s;

    /* an octet about every 30 ms, the reply not whole in time */
    start_trickle();
    add_trickled(trickled_greeting, T_GREETING + 300);
    add_steps(failed);
    s = play_trickle();
    assert_string_equal(postie_smtp_error(s)->phase, "greeting");
    assert_string_equal(postie_smtp_error(s)->subject, "no complete reply within 1000 ms");

    /* the same octets, the last one just inside the deadline */
    start_trickle();
    add_trickled(trickled_greeting, T_GREETING - 1);
    add_steps(ehlo);
    play_trickle();
}

static void test_trickled_multiline_ehlo(void **state)
{
    (void)state;
    static const step_t before[] = {GREETING, EHLO, END};
    static const step_t failed[] = {FAILED(POSTIE_E_TIMEOUT), END};
    static const step_t ready[] = {READY, END};
    /* line by line: each line inside the timeout of the one before */
    static const step_t slow_lines[] = {
        GREETING,
        EHLO,
        TIME(T_COMMAND / 2),
        SERVER("250-mx.example\r\n"),
        TIME(T_COMMAND / 2),
        SERVER("250-PIPELINING\r\n"),
        TIME(T_COMMAND / 2),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    const postie_smtp_t *s;

    start_trickle();
    add_steps(before);
    add_trickled(trickled_ehlo, T_COMMAND + 100);
    add_steps(failed);
    s = play_trickle();
    assert_string_equal(postie_smtp_error(s)->phase, "EHLO");
    assert_string_equal(postie_smtp_error(s)->subject, "no complete reply within 1100 ms");

    start_trickle();
    add_steps(slow_lines);
    s = play_trickle();
    assert_string_equal(postie_smtp_error(s)->phase, "EHLO");

    start_trickle();
    add_steps(before);
    add_trickled(trickled_ehlo, T_COMMAND - 1);
    add_steps(ready);
    play_trickle();
}

/* Pipelined: the next reply is due its timeout after the reply before it
 * completed (or after its command left, when that was later). */
static void test_trickled_pipelined_replies(void **state)
{
    (void)state;
    static const step_t envelope[] = {
        GREETING,
        EHLO,
        EHLO_PIPE,
        READY,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        /* MAIL's reply late but in time; RCPT's clock starts here */
        TIME(T_COMMAND - 100),
        SERVER("250 2.1.0 Ok\r\n"),
        END,
    };
    static const step_t rcpt_late[] = {
        MESSAGE(POSTIE_E_TIMEOUT),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    static const step_t rcpt_in_time[] = {
        RCPT(0, "A"),
        /* DATA's 354, the data-initiation timeout after RCPT's reply */
        TIME(T_DATA_INIT - 1),
        GO_AHEAD,
        /* the dot leaves later than the 354: its clock starts then */
        TIME(T_DATA_INIT),
        BODY("x"),
        BODY_END,
        CLIENT("x\r\n.\r\n"),
        TIME(T_DATA_END - 1),
        OK,
        MESSAGE(POSTIE_OK),
        READY,
        END,
    };
    const postie_smtp_t *s;

    start_trickle();
    add_steps(envelope);
    add_trickled("250 2.1.5 Ok\r\n", T_COMMAND + 100);
    add_steps(rcpt_late);
    s = play_trickle();
    assert_string_equal(postie_smtp_error(s)->phase, "RCPT TO");

    start_trickle();
    add_steps(envelope);
    add_trickled("250 2.1.5 Ok\r\n", T_COMMAND - 1);
    add_steps(rcpt_in_time);
    play_trickle();
}

/* The body phase with CHUNKING: the reply to a BDAT chunk is due its
 * timeout after that chunk left, however many chunks leave after it. */
static void test_bdat_reply_deadline_from_its_chunk(void **state)
{
    (void)state;
    static char body[POSTIE_SMTP_TX_BUFFER_SIZE + 100];
    static const step_t envelope[] = {
        GREETING,
        EHLO,
        EHLO_CHUNKING,
        READY,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\n"),
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        END,
    };
    static const step_t late[] = {
        /* the first chunk left with BODY; the last one leaves 600 ms later */
        TIME(600),
        BODY_END,
        TIME(T_DATA_END - 600), /* T_DATA_END after the first chunk left */
        MESSAGE(POSTIE_E_TIMEOUT),
        FAILED(POSTIE_E_TIMEOUT),
        END,
    };
    static const step_t in_time[] = {
        TIME(600),
        BODY_END,
        TIME(T_DATA_END - 600 - 1),
        SERVER("250 2.0.0 Ok\r\n250 2.0.0 Ok: queued\r\n"),
        MESSAGE(POSTIE_OK),
        READY,
        END,
    };
    const postie_smtp_t *s;

    for (size_t i = 0; i + 1 < sizeof(body); i++) {
        body[i] = (i % 64 == 63) ? '\n' : 'x';
    }
    start_trickle();
    add_steps(envelope);
    step_t b = BODY(body);
    add(b);
    add_steps(late);
    s = play_trickle();
    assert_string_equal(postie_smtp_error(s)->phase, "BDAT");
    assert_string_equal(postie_smtp_error(s)->subject, "no complete reply within 1500 ms");

    start_trickle();
    add_steps(envelope);
    add(b);
    add_steps(in_time);
    play_trickle();
}

/* ---- pipelined BDAT: a body of several chunks ------------------------------ */

/* A body of plain octets, a little over two transmit buffers: it leaves as
 * two full chunks and a LAST chunk, whatever the buffer size (these
 * transcripts run on the host's buffer in test_smtp and on the firmware's
 * in test_smtp_small). How full a chunk gets depends a little on how the
 * body is written, so the chunks are checked by their framing and joined
 * data (CHUNKS), and the octet ranges in an error from their sizes. */
#define FULL_CHUNK ((size_t)POSTIE_SMTP_TX_BUFFER_SIZE - 32u - POSTIE_BODY_FINISH_MAX)
#define BIG_BODY   (2u * FULL_CHUNK + 100u)

static char big_body[BIG_BODY + 1];
static char big_data[BIG_BODY + 3]; /* the data on the wire: the body and its final CRLF */
static const char big_head[] = "MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\n";

static void make_big_message(void)
{
    memset(big_body, 'x', BIG_BODY);
    big_body[BIG_BODY] = '\0';
    memcpy(big_data, big_body, BIG_BODY);
    memcpy(big_data + BIG_BODY, "\r\n", 3);
}

/* Up to the point where the whole message has left: the envelope, then all
 * three chunks, before the server has said a word. */
static void add_big_message_sent(void)
{
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_CHUNKING,
        READY,
        SEND,
        CLIENT(big_head),
        BODY(big_body),
        BODY_END,
        CHUNKS(big_data, 3, true),
        DATA_SENT,
        NOTHING_SENT, /* no reply was needed for any of it */
        END,
    };
    make_big_message();
    start_trickle();
    add_steps(steps);
}

static const postie_smtp_t *play_built(void)
{
    step_t end = END;
    transcript_t t = plain(NULL);
    add(end);
    t.steps = trickle.steps;
    return transcript_play(&t);
}

/* The message's result: its phase, reply code, and (chunk > 0) the chunk
 * it names, with that chunk's octets as the last play sent them. */
static void expect_result(const postie_smtp_t *s, const char *phase, uint16_t code, size_t chunk)
{
    const postie_error_t *r = postie_smtp_message_result(s);
    char want[96] = "";
    size_t from = 0;
    for (size_t i = 0; chunk > 0 && i + 1 < chunk; i++) {
        from += transcript_chunk_len(i);
    }
    if (chunk > 0) {
        assert_true(transcript_chunk_len(chunk - 1) > 0);
        snprintf(want, sizeof(want), "chunk %zu, data octets %zu..%zu", chunk, from,
                 from + transcript_chunk_len(chunk - 1) - 1u);
    }
    assert_string_equal(r->phase, phase);
    assert_int_equal(r->reply.code, code);
    assert_string_equal(r->subject, want);
}

/* CHUNKING and PIPELINING: the envelope and every chunk leave without a
 * reply in between (one round trip), and the replies are matched in order. */
static void test_bdat_pipelined_chunks_one_round_trip(void **state)
{
    (void)state;
    static const step_t rest[] = {
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 chunk 1\r\n250 2.0.0 chunk 2\r\n"),
        NOTHING_SENT,
        SERVER("250 2.0.0 Ok: queued as 1\r\n"),
        MESSAGE(POSTIE_OK),
        RCPT(0, "A"),
        READY,
        END,
    };
    add_big_message_sent();
    add_steps(rest);
    expect_result(play_built(), "BDAT LAST", 250, 0);
}

/* A chunk refused: the replies to the chunks after it are still read and
 * matched, the message ends with the reply of the chunk that failed, naming
 * that chunk and its octets, the recipient keeps its result, and RSET
 * clears the transaction. */
static void test_bdat_pipelined_first_chunk_refused(void **state)
{
    (void)state;
    static const step_t rest[] = {
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n552 5.3.4 message too big\r\n"),
        NOTHING_SENT, /* no RSET while replies are owed */
        SERVER("503 5.5.1 no transaction\r\n"),
        NOTHING_SENT,
        SERVER("503 5.5.1 no transaction\r\n"),
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        RCPT(0, "A"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    add_big_message_sent();
    add_steps(rest);
    expect_result(play_built(), "BDAT", 552, 1);
}

static void test_bdat_pipelined_middle_chunk_refused(void **state)
{
    (void)state;
    static const step_t rest[] = {
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 chunk 1\r\n"
               "452 4.3.1 insufficient storage\r\n503 5.5.1 no transaction\r\n"),
        MESSAGE(POSTIE_E_REPLY_TRANSIENT),
        RCPT(0, "A"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    add_big_message_sent();
    add_steps(rest);
    expect_result(play_built(), "BDAT", 452, 2);
}

static void test_bdat_pipelined_last_chunk_refused(void **state)
{
    (void)state;
    static const step_t rest[] = {
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 chunk 1\r\n250 2.0.0 chunk 2\r\n"
               "554 5.6.0 content rejected\r\n"),
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        RCPT(0, "A"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    add_big_message_sent();
    add_steps(rest);
    expect_result(play_built(), "BDAT LAST", 554, 3);
}

/* The server refuses a chunk, then hangs up before answering the rest: the
 * session fails cleanly, and the message's outcome stays the refusal. */
static void test_bdat_pipelined_chunk_refused_then_closed(void **state)
{
    (void)state;
    static const step_t rest[] = {
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 chunk 1\r\n554 5.6.0 rejected\r\n"),
        SERVER_EOF,
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        FAILED(POSTIE_E_CONNECTION_CLOSED),
        RCPT(0, "A"),
        END,
    };
    add_big_message_sent();
    add_steps(rest);
    expect_result(play_built(), "BDAT", 554, 2);
}

/* A refusal that comes while the body is still being written: no chunk
 * leaves after it (RFC 3030 2), the one already sent is answered, and the
 * message ends without DATA_SENT (its data never ended). */
static void test_bdat_pipelined_refused_while_writing(void **state)
{
    (void)state;
    static char first_part[2 * FULL_CHUNK + 51];
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_CHUNKING,
        READY,
        SEND,
        CLIENT(big_head),
        BODY(first_part),
        CHUNKS(big_data, 2, false), /* two chunks closed and left; the rest waits */
        SERVER("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n554 5.7.1 spam\r\n"),
        NOTHING_SENT,
        BODY_FAILS("more body\n", POSTIE_E_BAD_STATE), /* the engine wants no more body */
        NOTHING_SENT,
        SERVER("503 5.5.1 no transaction\r\n"),
        MESSAGE(POSTIE_E_REPLY_PERMANENT),
        NO_DATA_SENT,
        RCPT(0, "A"),
        CLIENT("RSET\r\n"),
        OK,
        READY,
        END,
    };
    make_big_message();
    memset(first_part, 'x', 2 * FULL_CHUNK + 50);
    first_part[2 * FULL_CHUNK + 50] = '\0';
    start_trickle();
    add_steps(steps);
    expect_result(play_built(), "BDAT", 554, 1);
}

/* What a driver may wait for: what is left of the reply's deadline. It
 * shrinks while a reply trickles in, and starts only once the command left. */
static void test_timeout_ms_shrinks(void **state)
{
    (void)state;
    static const char greeting[] = "220 mx.example ESMTP\r\n";
    postie_smtp_config_t cfg = transcript_config();
    static postie_smtp_t s;
    uint32_t t0 = 5000;
    size_t cap;
    size_t len;
    uint8_t *w;

    cfg.timeout_greeting_ms = T_GREETING;
    cfg.timeout_command_ms = T_COMMAND;
    assert_int_equal(postie_smtp_init(&s, &cfg, t0), POSTIE_OK);
    assert_int_equal(postie_smtp_timeout_ms(&s, t0), T_GREETING);
    /* the first octets at 400 ms: 600 ms left, not 1000 */
    w = postie_smtp_rx_buf(&s, &cap);
    memcpy(w, greeting, 5);
    assert_int_equal(postie_smtp_rx_ack(&s, 5, t0 + 400), POSTIE_OK);
    assert_int_equal(postie_smtp_timeout_ms(&s, t0 + 400), T_GREETING - 400);
    assert_int_equal(postie_smtp_timeout_ms(&s, t0 + 900), T_GREETING - 900);
    /* the rest at 950 ms: EHLO is queued, its clock waits for it to leave */
    w = postie_smtp_rx_buf(&s, &cap);
    memcpy(w, greeting + 5, strlen(greeting) - 5);
    assert_int_equal(postie_smtp_rx_ack(&s, strlen(greeting) - 5, t0 + 950), POSTIE_OK);
    assert_true(postie_smtp_state(&s) & POSTIE_SMTP_HAVE_TX);
    assert_int_equal(postie_smtp_timeout_ms(&s, t0 + 5000), T_COMMAND);
    assert_int_equal(postie_smtp_poll(&s, t0 + 5000), POSTIE_OK);
    /* half of it leaves at 5 s, the rest at 6 s: the clock starts at 6 s */
    (void)postie_smtp_tx_buf(&s, &len);
    postie_smtp_tx_ack(&s, len / 2, t0 + 5000);
    assert_int_equal(postie_smtp_timeout_ms(&s, t0 + 5500), T_COMMAND);
    (void)postie_smtp_tx_buf(&s, &len);
    postie_smtp_tx_ack(&s, len, t0 + 6000);
    assert_int_equal(postie_smtp_timeout_ms(&s, t0 + 6000 + 100), T_COMMAND - 100);
    assert_int_equal(postie_smtp_poll(&s, t0 + 6000 + T_COMMAND - 1), POSTIE_OK);
    assert_int_equal(postie_smtp_timeout_ms(&s, t0 + 6000 + T_COMMAND), 0);
    assert_int_equal(postie_smtp_poll(&s, t0 + 6000 + T_COMMAND), POSTIE_E_TIMEOUT);
    assert_string_equal(postie_smtp_error(&s)->phase, "EHLO");
}

/* ---- malformed replies ----------------------------------------------------- */

static void test_malformed_replies(void **state)
{
    (void)state;
    static const step_t not_smtp[] = {
        SERVER("HTTP/1.1 400 Bad Request\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        NOTHING_SENT,
        END,
    };
    static const step_t code_changes[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n251 PIPELINING\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    static const step_t bad_class[] = {
        SERVER("620 hello\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    static const step_t bare_lf[] = {
        SERVER("220 mx.example\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED),
        END,
    };
    transcript_t t = plain(not_smtp);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->reply.text, "HTTP/1.1 400 Bad Request");
    t = plain(code_changes);
    transcript_play(&t);
    t = plain(bad_class);
    transcript_play(&t);
    t = plain(bare_lf);
    transcript_play(&t);
}

static void test_nul_in_reply(void **state)
{
    (void)state;
    static postie_smtp_t s;
    postie_smtp_config_t cfg = transcript_config();
    static const char reply[] = "220 mx\0hidden\r\n";
    size_t cap;
    uint8_t *w;

    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_OK);
    w = postie_smtp_rx_buf(&s, &cap);
    assert_true(cap >= sizeof(reply) - 1);
    memcpy(w, reply, sizeof(reply) - 1);
    assert_int_equal(postie_smtp_rx_ack(&s, sizeof(reply) - 1, 0), POSTIE_E_REPLY_MALFORMED);
    assert_true(postie_smtp_state(&s) & POSTIE_SMTP_FAILED);
}

static void test_oversized_reply_line(void **state)
{
    (void)state;
    static char longline[POSTIE_REPLY_LINE_MAX + 64];
    static char fits[POSTIE_REPLY_LINE_MAX + 1];
    size_t n;

    /* one octet over the limit (limit counts CRLF) */
    memcpy(longline, "220 ", 4);
    n = POSTIE_REPLY_LINE_MAX - 1;
    memset(longline + 4, 'x', n - 4);
    memcpy(longline + n, "\r\n", 3);
    step_t over[] = {{OP_SERVER, longline, 0}, FAILED(POSTIE_E_REPLY_LINE_TOO_LONG), END};
    transcript_t t = plain(over);
    transcript_play(&t);

    /* exactly at the limit is fine */
    memcpy(fits, "220 ", 4);
    n = POSTIE_REPLY_LINE_MAX - 2;
    memset(fits + 4, 'y', n - 4);
    memcpy(fits + n, "\r\n", 3);
    step_t at[] = {{OP_SERVER, fits, 0}, EHLO, END};
    t = plain(at);
    transcript_play(&t);

    /* an endless line without CRLF fails as soon as the limit is passed */
    static char endless[4096];
    memset(endless, 'z', sizeof(endless) - 1);
    step_t never_ends[] = {{OP_SERVER, endless, 0}, FAILED(POSTIE_E_REPLY_LINE_TOO_LONG), END};
    t = plain(never_ends);
    transcript_play(&t);
}

static void test_endless_multiline_reply(void **state)
{
    (void)state;
    static char many[(POSTIE_REPLY_LINES_MAX + 5) * 12 + 64];
    size_t len = 0;
    for (int i = 0; i < POSTIE_REPLY_LINES_MAX + 5; i++) {
        len += (size_t)snprintf(many + len, sizeof(many) - len, "250-X%05d\r\n", i);
    }
    step_t steps[] = {
        GREETING, EHLO, {OP_SERVER, many, 0}, FAILED(POSTIE_E_REPLY_TOO_MANY_LINES), END};
    transcript_t t = plain(steps);
    transcript_play(&t);
}

static void test_unsolicited_reply(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PLAIN,
        SERVER("250 surprise\r\n"),
        FAILED(POSTIE_E_REPLY_UNEXPECTED),
        END,
    };
    /* a reply ahead of its command, without PIPELINING */
    static const step_t early[] = {
        SESSION_PLAIN,
        SEND,
        MAIL,
        SERVER("250 Ok\r\n"),
        RCPT_BOB,
        SERVER("250 Ok\r\n"),
        CLIENT("DATA\r\n"),
        SERVER("354 go\r\n250 early\r\n"),
        FAILED(POSTIE_E_REPLY_UNEXPECTED),
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
    t = plain(early);
    transcript_play(&t);
}

/* ---- STARTTLS --------------------------------------------------------------- */

#define EHLO_STARTTLS SERVER("250-mx.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 CHUNKING\r\n")

static void test_starttls_required_then_auth_plain(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_STARTTLS,
        CLIENT("STARTTLS\r\n"),
        NOTHING_SENT,
        SERVER("220 2.0.0 Ready to start TLS\r\n"),
        TLS,
        EHLO, /* everything learned before the handshake is forgotten */
        SERVER("250-mx.example\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 1000000\r\n"),
        CLIENT("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyZXQgcGFzcw==\r\n"),
        SERVER("235 2.7.0 Authentication successful\r\n"),
        READY,
        SEND,
        MAIL, /* no PIPELINING after TLS: the earlier offer does not count */
        NOTHING_SENT,
        SERVER("250 Ok\r\n"),
        RCPT_BOB,
        OK,
        CLIENT("DATA\r\n"), /* no CHUNKING either */
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    t.cfg.username = "alice@example.test";
    t.cfg.password = "s3cret pass";
    const postie_smtp_t *s = transcript_play(&t);
    const postie_smtp_caps_t *c = postie_smtp_caps(s);
    assert_true(c->secure);
    assert_true(c->authenticated);
    assert_int_equal(c->size_limit, 1000000);
    assert_false(c->flags & (POSTIE_SMTP_CAP_PIPELINING | POSTIE_SMTP_CAP_CHUNKING |
                             POSTIE_SMTP_CAP_STARTTLS));
}

static void test_starttls_required_but_not_offered(void **state)
{
    (void)state;
    /* also what a man in the middle stripping STARTTLS looks like */
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250-AUTH PLAIN\r\n250 PIPELINING\r\n"),
        FAILED(POSTIE_E_STARTTLS_UNAVAILABLE),
        NOTHING_SENT, /* no AUTH, no MAIL */
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    t.cfg.username = "alice@example.test";
    t.cfg.password = "s3cret pass";
    transcript_play(&t);
}

static void test_starttls_required_but_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        EHLO_STARTTLS,
        CLIENT("STARTTLS\r\n"),
        SERVER("454 4.7.0 TLS not available due to local problem\r\n"),
        FAILED(POSTIE_E_STARTTLS_REFUSED),
        NOTHING_SENT,
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    const postie_smtp_t *s = transcript_play(&t);
    assert_int_equal(postie_smtp_error(s)->reply.code, 454);
}

static void test_starttls_response_injection(void **state)
{
    (void)state;
    /* CVE-2011-0411 class: bytes after the 220 go-ahead would be read as if
     * they came over TLS. */
    static const step_t same_packet[] = {
        GREETING,
        EHLO,
        EHLO_STARTTLS,
        CLIENT("STARTTLS\r\n"),
        SERVER("220 2.0.0 go ahead\r\n250-mx.example\r\n250 AUTH PLAIN\r\n"),
        FAILED(POSTIE_E_STARTTLS_INJECTION),
        NOTHING_SENT,
        END,
    };
    transcript_t t = plain(same_packet);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    transcript_play(&t);
}

static void test_starttls_opportunistic(void **state)
{
    (void)state;
    static const step_t not_offered[] = {SESSION_PIPE, END};
    static const step_t refused[] = {
        GREETING, EHLO, EHLO_STARTTLS, CLIENT("STARTTLS\r\n"), SERVER("454 not now\r\n"),
        READY,    END,
    };
    static const step_t no_clear_auth[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n"),
        FAILED(POSTIE_E_AUTH_CLEARTEXT_REFUSED),
        NOTHING_SENT,
        END,
    };
    transcript_t t = plain(not_offered);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
    const postie_smtp_t *s = transcript_play(&t);
    assert_false(postie_smtp_caps(s)->secure);
    t = plain(refused);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
    transcript_play(&t);
    t = plain(no_clear_auth);
    t.cfg.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
    t.cfg.username = "alice@example.test";
    t.cfg.password = "s3cret pass";
    transcript_play(&t);
}

static void test_tls_none_never_starttls(void **state)
{
    (void)state;
    static const step_t steps[] = {GREETING, EHLO, EHLO_STARTTLS, READY, NOTHING_SENT, END};
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    assert_true(postie_smtp_caps(s)->flags & POSTIE_SMTP_CAP_STARTTLS);
}

/* ---- AUTH ------------------------------------------------------------------- */

static void test_auth_login_over_implicit_tls(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH=LOGIN\r\n"), /* old-style AUTH= keyword */
        CLIENT("AUTH LOGIN\r\n"),
        SERVER("334 VXNlcm5hbWU6\r\n"),
        CLIENT("YWxpY2VAZXhhbXBsZS50ZXN0\r\n"),
        SERVER("334 UGFzc3dvcmQ6\r\n"),
        CLIENT("czNjcmV0IHBhc3M=\r\n"),
        SERVER("235 2.7.0 ok\r\n"),
        READY,
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_IMPLICIT;
    t.cfg.username = "alice@example.test";
    t.cfg.password = "s3cret pass";
    transcript_play(&t);
}

static void test_auth_plain_long_credentials_use_334(void **state)
{
    (void)state;
    static char user[POSTIE_AUTH_FIELD_MAX + 1];
    static char pass[POSTIE_AUTH_FIELD_MAX + 1];
    memset(user, 'u', POSTIE_AUTH_FIELD_MAX);
    memset(pass, 'p', POSTIE_AUTH_FIELD_MAX);
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN\r\n"),
        CLIENT("AUTH PLAIN\r\n"), /* initial response would pass 512 octets */
        NOTHING_SENT,
        SERVER("334 \r\n"),
        CLIENT("AHV1dXV1"), /* base64 of "\0uuuuuu..." starts like this */
        SERVER_EOF,
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_IMPLICIT;
    t.cfg.username = user;
    t.cfg.password = pass;
    transcript_play(&t);
}

static void test_auth_failures(void **state)
{
    (void)state;
    static const step_t refused[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n"),
        CLIENT("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyZXQgcGFzcw==\r\n"),
        SERVER("535 5.7.8 Error: authentication failed\r\n"),
        FAILED(POSTIE_E_AUTH_FAILED),
        NOTHING_SENT,
        END,
    };
    static const step_t temporary[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN\r\n"),
        CLIENT("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyZXQgcGFzcw==\r\n"),
        SERVER("454 4.7.0 Temporary authentication failure\r\n"),
        FAILED(POSTIE_E_AUTH_TEMPORARY),
        END,
    };
    static const step_t no_mechanism[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH CRAM-MD5 GSSAPI\r\n"),
        FAILED(POSTIE_E_AUTH_NO_MECHANISM),
        NOTHING_SENT,
        END,
    };
    static const step_t no_auth_at_all[] = {
        GREETING, EHLO, SERVER("250 mx.example\r\n"), FAILED(POSTIE_E_AUTH_NO_MECHANISM), END,
    };
    static const step_t login_not_allowed[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH LOGIN\r\n"),
        FAILED(POSTIE_E_AUTH_NO_MECHANISM),
        END,
    };
    transcript_t t = plain(refused);
    t.cfg.tls_mode = POSTIE_TLS_IMPLICIT;
    t.cfg.username = "alice@example.test";
    t.cfg.password = "s3cret pass";
    const postie_smtp_t *s = transcript_play(&t);
    assert_int_equal(postie_smtp_error(s)->reply.code, 535);
    assert_string_equal(postie_smtp_error(s)->reply.enhanced, "5.7.8");
    t.steps = temporary;
    transcript_play(&t);
    t.steps = no_mechanism;
    transcript_play(&t);
    t.steps = no_auth_at_all;
    transcript_play(&t);
    t.steps = login_not_allowed;
    t.cfg.sasl_allowed = POSTIE_SASL_PLAIN;
    transcript_play(&t);
}

static void test_plaintext_auth_when_allowed(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN\r\n"),
        CLIENT("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyZXQgcGFzcw==\r\n"),
        SERVER("235 ok\r\n"),
        READY,
        END,
    };
    static const step_t refused[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN\r\n"),
        FAILED(POSTIE_E_AUTH_CLEARTEXT_REFUSED),
        NOTHING_SENT,
        END,
    };
    transcript_t t = plain(steps);
    t.cfg.username = "alice@example.test";
    t.cfg.password = "s3cret pass";
    t.cfg.allow_plaintext_auth = true;
    transcript_play(&t);
    t.steps = refused;
    t.cfg.allow_plaintext_auth = false;
    transcript_play(&t);
}

/* Everything the log callback saw, joined. */
static char logged[1 << 14];
static size_t logged_len;

static void collect_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    const char *tag = dir == POSTIE_LOG_SENT ? "C: " : dir == POSTIE_LOG_RECEIVED ? "S: " : "* ";
    logged_len += (size_t)snprintf(logged + logged_len, sizeof(logged) - logged_len, "%s%.*s\n",
                                   tag, (int)len, line);
}

static void test_log_never_shows_credentials(void **state)
{
    (void)state;
    static const step_t plain_ir[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN\r\n"),
        CLIENT("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyZXQgcGFzcw==\r\n"),
        SERVER("235 ok\r\n"),
        READY,
        END,
    };
    static const step_t login[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH LOGIN\r\n"),
        CLIENT("AUTH LOGIN\r\n"),
        SERVER("334 VXNlcm5hbWU6\r\n"),
        CLIENT("YWxpY2VAZXhhbXBsZS50ZXN0\r\n"),
        SERVER("334 UGFzc3dvcmQ6\r\n"),
        CLIENT("czNjcmV0IHBhc3M=\r\n"),
        SERVER("235 ok\r\n"),
        READY,
        END,
    };
    const step_t *all[] = {plain_ir, login};
    for (size_t i = 0; i < 2; i++) {
        transcript_t t = plain(all[i]);
        t.cfg.tls_mode = POSTIE_TLS_IMPLICIT;
        t.cfg.username = "alice@example.test";
        t.cfg.password = "s3cret pass";
        t.cfg.log = collect_log;
        logged_len = 0;
        logged[0] = '\0';
        transcript_play(&t);
        assert_non_null(strstr(logged, "C: EHLO client.example"));
        assert_non_null(strstr(logged, "S: 235 ok"));
        assert_non_null(strstr(logged, "redacted"));
        assert_null(strstr(logged, "s3cret"));
        assert_null(strstr(logged, "czNjcmV0IHBhc3M")); /* password in base64 */
        assert_null(strstr(logged, "AGFsaWNl"));        /* PLAIN response */
        assert_null(strstr(logged, "YWxpY2VAZXhhbXBsZS50ZXN0"));
    }
}

/* ---- OAuth 2.0 --------------------------------------------------------------- */

#define OAUTH_USER  "someuser@example.com"
#define OAUTH_TOKEN "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
/* base64 of "user=someuser@example.com^Aauth=Bearer ya29...^A^A" */
#define XOAUTH2_B64                                                                        \
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNr" \
    "QmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
/* base64 of {"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"} */
#define OAUTH_ERROR_B64                                                                    \
    "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdv" \
    "b2dsZS5jb20vIn0="

static transcript_t oauth(const step_t *steps, uint32_t mech)
{
    transcript_t t = plain(steps);
    t.cfg.tls_mode = POSTIE_TLS_IMPLICIT;
    t.cfg.username = OAUTH_USER;
    t.cfg.password = "not used";
    t.cfg.oauth_token = OAUTH_TOKEN;
    t.cfg.oauth_mechanism = mech;
    t.cfg.oauth_host = "smtp.example.com";
    t.cfg.oauth_port = 465;
    return t;
}

static void test_oauth_xoauth2_initial_response(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n"),
        CLIENT("AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"),
        NOTHING_SENT,
        SERVER("235 2.7.0 Accepted\r\n"),
        READY,
        END,
    };
    transcript_t t = oauth(steps, POSTIE_SASL_XOAUTH2);
    t.cfg.log = collect_log;
    logged_len = 0;
    logged[0] = '\0';
    const postie_smtp_t *s = transcript_play(&t);
    assert_true(postie_smtp_caps(s)->authenticated);
    assert_non_null(strstr(logged, "C: AUTH XOAUTH2 <redacted>"));
    assert_null(strstr(logged, OAUTH_TOKEN));
    assert_null(strstr(logged, "dXNlcj1"));
}

static void test_oauth_oauthbearer_initial_response(void **state)
{
    (void)state;
    static char line[256];
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH OAUTHBEARER\r\n"),
        CLIENT(line),
        SERVER("235 2.7.0 Accepted\r\n"),
        READY,
        END,
    };
    char b64[200];
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, OAUTH_USER, "smtp.example.com", 465,
                                       OAUTH_TOKEN, strlen(OAUTH_TOKEN), b64, sizeof(b64), NULL),
                     POSTIE_OK);
    snprintf(line, sizeof(line), "AUTH OAUTHBEARER %s\r\n", b64);
    transcript_t t = oauth(steps, POSTIE_SASL_OAUTHBEARER);
    transcript_play(&t);
}

/* A token whose AUTH line would pass 512 octets: AUTH, 334, the response. */
static void test_oauth_long_token_after_334(void **state)
{
    (void)state;
    static char token[POSTIE_OAUTH_TOKEN_MAX + 1];
    static char response[POSTIE_SASL_OAUTH_B64_MAX + 3];
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH XOAUTH2\r\n"),
        CLIENT("AUTH XOAUTH2\r\n"),
        NOTHING_SENT,
        SERVER("334 \r\n"),
        CLIENT(response),
        NOTHING_SENT,
        SERVER("235 2.7.0 Accepted\r\n"),
        READY,
        END,
    };
    size_t n = 0;
    memset(token, 'x', POSTIE_OAUTH_TOKEN_MAX); /* the longest token */
    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_XOAUTH2, OAUTH_USER, NULL, 0, token,
                                       strlen(token), response, sizeof(response), &n),
                     POSTIE_OK);
    memcpy(response + n, "\r\n", 3);
    static const step_t refused_early[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH XOAUTH2\r\n"),
        CLIENT("AUTH XOAUTH2\r\n"),
        SERVER("504 5.5.4 Unrecognized authentication type\r\n"),
        FAILED(POSTIE_E_AUTH_FAILED), /* the token never left: not TOKEN_REJECTED */
        NOTHING_SENT,
        END,
    };
    transcript_t t = oauth(steps, POSTIE_SASL_XOAUTH2);
    t.cfg.oauth_token = token;
    transcript_play(&t);
    t.steps = refused_early;
    transcript_play(&t);
}

/* The server refuses the token: its JSON challenge is answered as each
 * mechanism requires, and the final 535 is TOKEN_REJECTED with the JSON. */
static void test_oauth_refused(void **state)
{
    (void)state;
    static const step_t xoauth2[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n"),
        CLIENT("AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"),
        SERVER("334 " OAUTH_ERROR_B64 "\r\n"),
        CLIENT("\r\n"), /* XOAUTH2: an empty response */
        NOTHING_SENT,
        SERVER("535-5.7.8 Username and Password not accepted.\r\n535 5.7.8 Learn more\r\n"),
        FAILED(POSTIE_E_TOKEN_REJECTED),
        NOTHING_SENT,
        END,
    };
    static char line[256];
    static const step_t bearer[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n"),
        CLIENT(line),
        SERVER("334 " OAUTH_ERROR_B64 "\r\n"),
        CLIENT("AQ==\r\n"), /* OAUTHBEARER: %x01 (RFC 7628 3.2.3) */
        NOTHING_SENT,
        SERVER("535 5.7.8 Authentication credentials invalid\r\n"),
        FAILED(POSTIE_E_TOKEN_REJECTED),
        END,
    };
    /* refused without a challenge, and a temporary failure */
    static const step_t bare[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH XOAUTH2\r\n"),
        CLIENT("AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"),
        SERVER("535 5.7.8 no\r\n"),
        FAILED(POSTIE_E_TOKEN_REJECTED),
        END,
    };
    static const step_t temporary[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH XOAUTH2\r\n"),
        CLIENT("AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"),
        SERVER("454 4.7.0 Temporary authentication failure\r\n"),
        FAILED(POSTIE_E_AUTH_TEMPORARY),
        END,
    };
    char b64[200];
    transcript_t t = oauth(xoauth2, POSTIE_SASL_XOAUTH2);
    t.cfg.log = collect_log;
    logged_len = 0;
    logged[0] = '\0';
    const postie_smtp_t *s = transcript_play(&t);
    const postie_error_t *e = postie_smtp_error(s);
    assert_int_equal(e->reply.code, 535);
    assert_string_equal(e->phase, "AUTH");
    assert_string_equal(e->subject, "401: {\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":"
                                    "\"https://mail.google.com/\"}");
    assert_null(strstr(logged, OAUTH_TOKEN));
    assert_null(strstr(logged, "dXNlcj1"));

    assert_int_equal(postie_sasl_oauth(POSTIE_SASL_OAUTHBEARER, OAUTH_USER, "smtp.example.com", 465,
                                       OAUTH_TOKEN, strlen(OAUTH_TOKEN), b64, sizeof(b64), NULL),
                     POSTIE_OK);
    snprintf(line, sizeof(line), "AUTH OAUTHBEARER %s\r\n", b64);
    t = oauth(bearer, POSTIE_SASL_OAUTHBEARER);
    s = transcript_play(&t);
    assert_memory_equal(postie_smtp_error(s)->subject, "401: {", 6);

    t = oauth(bare, POSTIE_SASL_XOAUTH2);
    s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->subject, "");
    t.steps = temporary;
    transcript_play(&t);
}

/* The chosen mechanism only: never another one, never the password. */
static void test_oauth_mechanism_not_offered(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n"),
        FAILED(POSTIE_E_AUTH_NO_MECHANISM),
        NOTHING_SENT,
        END,
    };
    static const step_t cleartext[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 AUTH XOAUTH2\r\n"),
        FAILED(POSTIE_E_AUTH_CLEARTEXT_REFUSED),
        NOTHING_SENT,
        END,
    };
    transcript_t t = oauth(steps, POSTIE_SASL_OAUTHBEARER);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->subject, "OAUTHBEARER not offered");
    t = oauth(cleartext, POSTIE_SASL_XOAUTH2);
    t.cfg.tls_mode = POSTIE_TLS_NONE;
    transcript_play(&t);
}

/* Refused at init: a token past POSTIE_OAUTH_TOKEN_MAX, a bad octet, no
 * user, another mechanism. */
static void test_oauth_bad_config(void **state)
{
    (void)state;
    static char token[POSTIE_OAUTH_TOKEN_MAX + 2];
    static postie_smtp_t s;
    postie_smtp_config_t cfg = transcript_config();
    memset(token, 'x', POSTIE_OAUTH_TOKEN_MAX + 1);
    cfg.username = OAUTH_USER;
    cfg.oauth_token = token;
    cfg.oauth_mechanism = POSTIE_SASL_XOAUTH2;
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_E_FIELD_TOO_LONG);
    assert_true(postie_smtp_state(&s) & POSTIE_SMTP_FAILED);
    token[POSTIE_OAUTH_TOKEN_MAX] = '\0';
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_OK);
    cfg.oauth_token = "bad token";
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_E_INVALID_ARGUMENT);
    cfg.oauth_token = OAUTH_TOKEN;
    cfg.oauth_mechanism = POSTIE_SASL_PLAIN;
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_E_INVALID_ARGUMENT);
    cfg.oauth_mechanism = POSTIE_SASL_OAUTHBEARER;
    cfg.username = NULL;
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_E_INVALID_ARGUMENT);
}

/* ---- envelope checks and extensions ------------------------------------------ */

static void test_addresses_with_crlf_are_refused_before_sending(void **state)
{
    (void)state;
    static const step_t bad_rcpt[] = {
        SESSION_PIPE, SEND_REFUSED(POSTIE_E_ADDRESS_INVALID), NOTHING_SENT, READY, END,
    };
    transcript_t t = plain(bad_rcpt);
    t.to[0] = "bob@example.com>\r\nRSET";
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_message_result(s)->phase, "RCPT TO");

    t.to[0] = "bob@example.com";
    t.from = "a@b\nc";
    s = transcript_play(&t);
    assert_string_equal(postie_smtp_message_result(s)->phase, "MAIL FROM");

    t.from = "with space@example.com";
    transcript_play(&t);

    t.from = NULL;
    t.to[0] = "<bob@example.com>";
    transcript_play(&t);

    static char too_long[300];
    memset(too_long, 'a', 290);
    memcpy(too_long + 290, "@b.c", 5);
    static const step_t long_rcpt[] = {
        SESSION_PIPE, SEND_REFUSED(POSTIE_E_ADDRESS_TOO_LONG), NOTHING_SENT, READY, END,
    };
    t = plain(long_rcpt);
    t.to[0] = too_long;
    transcript_play(&t);
}

static void test_null_sender_and_size(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"),
        SEND,
        CLIENT("MAIL FROM:<> SIZE=999\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        END,
    };
    static const step_t too_big[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"),
        SEND_REFUSED(POSTIE_E_MESSAGE_TOO_LARGE),
        NOTHING_SENT,
        READY,
        END,
    };
    transcript_t t = plain(steps);
    t.from = "";
    t.size = 999;
    transcript_play(&t);
    t.steps = too_big;
    t.size = 1001;
    transcript_play(&t);
}

static void test_8bit_body(void **state)
{
    (void)state;
    static const step_t declared[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com> BODY=8BITMIME\r\nRCPT TO:<bob@example.com>\r\n"
               "DATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("caf\xc3\xa9\n"),
        BODY_END,
        CLIENT("caf\xc3\xa9\r\n.\r\n"),
        END,
    };
    static const step_t unsupported[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250 PIPELINING\r\n"),
        SEND_REFUSED(POSTIE_E_BODY_8BIT_UNSUPPORTED),
        NOTHING_SENT,
        READY,
        END,
    };
    static const step_t undeclared[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY_FAILS("caf\xc3\xa9\n", POSTIE_E_BODY_8BIT_UNDECLARED),
        MESSAGE(POSTIE_E_BODY_8BIT_UNDECLARED),
        FAILED(POSTIE_E_BODY_8BIT_UNDECLARED), /* DATA cannot be cancelled: close */
        END,
    };
    transcript_t t = plain(declared);
    t.body_8bit = true;
    transcript_play(&t);
    t.steps = unsupported;
    transcript_play(&t);
    t = plain(undeclared);
    const postie_smtp_t *s = transcript_play(&t);
    assert_string_equal(postie_smtp_error(s)->subject, "at body octet 3");
}

static void test_nul_in_body(void **state)
{
    (void)state;
    static const step_t steps[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SERVER("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        BODY("ok\n"),
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    /* the runner's strings stop at NUL, so write it directly */
    size_t used = 0;
    static const uint8_t nul_body[] = {'a', 0, 'b'};
    postie_smtp_t *m = (postie_smtp_t *)(uintptr_t)s;
    assert_int_equal(postie_smtp_body_write(m, nul_body, sizeof(nul_body), &used, 0),
                     POSTIE_E_BODY_NUL);
    assert_true(postie_smtp_state(m) & POSTIE_SMTP_FAILED);
    assert_int_equal(postie_smtp_error(m)->status, POSTIE_E_BODY_NUL);
}

static void test_smtputf8(void **state)
{
    (void)state;
    static const step_t offered[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n"),
        SEND,
        CLIENT("MAIL FROM:<sender@example.com> SMTPUTF8\r\n"
               "RCPT TO:<\xe7\x94\xb0\xe4\xb8\xad@example.jp>\r\nDATA\r\n"),
        END,
    };
    static const step_t missing[] = {
        SESSION_PIPE, SEND_REFUSED(POSTIE_E_ADDRESS_NEEDS_SMTPUTF8), NOTHING_SENT, READY, END,
    };
    transcript_t t = plain(offered);
    t.to[0] = "\xe7\x94\xb0\xe4\xb8\xad@example.jp";
    transcript_play(&t);
    t.steps = missing;
    transcript_play(&t);
}

static void test_dsn_parameters(void **state)
{
    (void)state;
    static const step_t offered[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example\r\n250-PIPELINING\r\n250 DSN\r\n"),
        SEND,
        CLIENT("MAIL FROM:<sender@example.com> RET=HDRS ENVID=id+2B1+3Dx\r\n"
               "RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE\r\nDATA\r\n"),
        END,
    };
    static const step_t not_offered[] = {
        SESSION_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        END,
    };
    transcript_t t = plain(offered);
    t.dsn_notify = POSTIE_DSN_NOTIFY_SUCCESS | POSTIE_DSN_NOTIFY_FAILURE;
    t.dsn_ret = POSTIE_DSN_RET_HDRS;
    t.dsn_envid = "id+1=x";
    transcript_play(&t);
    t.steps = not_offered;
    transcript_play(&t);
}

static void test_send_while_busy_is_refused(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        SEND_REFUSED(POSTIE_E_BAD_STATE),
        EHLO,
        EHLO_PIPE,
        SEND,
        CLIENT("MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"),
        SEND_REFUSED(POSTIE_E_BAD_STATE),
        END,
    };
    transcript_t t = plain(steps);
    transcript_play(&t);
}

static void test_capabilities_parsed(void **state)
{
    (void)state;
    static const step_t steps[] = {
        GREETING,
        EHLO,
        SERVER("250-mx.example Hello client\r\n250-pipelining\r\n250-SIZE 10240000\r\n"
               "250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-CHUNKING\r\n"
               "250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-X-UNKNOWN yes\r\n"
               "250 STARTTLS\r\n"),
        READY,
        END,
    };
    transcript_t t = plain(steps);
    const postie_smtp_t *s = transcript_play(&t);
    const postie_smtp_caps_t *c = postie_smtp_caps(s);
    char text[256];
    assert_true(c->esmtp);
    assert_int_equal(c->flags, POSTIE_SMTP_CAP_PIPELINING | POSTIE_SMTP_CAP_SIZE |
                                   POSTIE_SMTP_CAP_8BITMIME | POSTIE_SMTP_CAP_SMTPUTF8 |
                                   POSTIE_SMTP_CAP_DSN | POSTIE_SMTP_CAP_CHUNKING |
                                   POSTIE_SMTP_CAP_ENHANCEDSTATUSCODES | POSTIE_SMTP_CAP_AUTH |
                                   POSTIE_SMTP_CAP_STARTTLS);
    assert_int_equal(c->sasl, POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN | POSTIE_SASL_CRAM_MD5);
    assert_int_equal(c->size_limit, 10240000);
    postie_smtp_caps_format(c, text, sizeof(text));
    assert_non_null(strstr(text, "PIPELINING"));
    assert_non_null(strstr(text, "SIZE=10240000"));
}

static void test_invalid_config(void **state)
{
    (void)state;
    static postie_smtp_t s;
    postie_smtp_config_t cfg = transcript_config();
    cfg.ehlo_name = "bad\r\nname";
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_E_INVALID_ARGUMENT);
    assert_true(postie_smtp_state(&s) & POSTIE_SMTP_FAILED);
    cfg = transcript_config();
    cfg.username = "alice";
    cfg.password = NULL;
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_E_INVALID_ARGUMENT);
}

/* ---- the address and EHLO name checks ---------------------------------------- */

typedef struct {
    const char *address;
    postie_status_t status;
    bool non_ascii;
} address_case_t;

static void test_address_is_one_mailbox(void **state)
{
    (void)state;
    static char long_local[300];
    static char at_limit[300];
    static const address_case_t cases[] = {
        /* one mailbox: accepted */
        {"joe@example.com", POSTIE_OK, false},
        {"a@x", POSTIE_OK, false},
        {"joe.bloggs+tag@mail.example-company.com", POSTIE_OK, false},
        {"!#$%&'*+-/=?^_`{|}~@example.com", POSTIE_OK, false},
        {"\"a b\"@example.com", POSTIE_OK, false},
        {"\"a\\\"b\"@x", POSTIE_OK, false},
        {"\"a,b;c:d(e)<f>\"@x", POSTIE_OK, false}, /* specials are fine inside quotes */
        {"\"\"@x", POSTIE_OK, false},
        {"\"a@b\"@x", POSTIE_OK, false},
        {"a@[127.0.0.1]", POSTIE_OK, false},
        {"a@[IPv6:::1]", POSTIE_OK, false},
        {"a@[IPv6:2001:db8::1]", POSTIE_OK, false},
        {"a@[IPv6:2001:db8:0:0:0:0:0:1]", POSTIE_OK, false},
        {"a@[IPv6:::ffff:192.0.2.1]", POSTIE_OK, false},
        {"a@[ipv6:1:2:3:4:5:6:192.0.2.1]", POSTIE_OK, false},
        {"a@1.2.3.4", POSTIE_OK, false}, /* a domain of digits, as RFC 5321 allows */
        {"a@x-y.z", POSTIE_OK, false},
        {"j\xc3\xb6rg@example.com", POSTIE_OK, true}, /* jörg@ */
        {"\xe7\x94\xb0\xe4\xb8\xad@\xe4\xbe\x8b\xe3\x81\x88.jp", POSTIE_OK,
         true}, /* 田中@例え.jp */
        {"\"j\xc3\xb6 rg\"@x", POSTIE_OK, true},
        /* several mailboxes, groups, comments, display names: refused */
        {"a@b,c@d", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x, b@y", POSTIE_E_ADDRESS_INVALID, false},
        {"a@b;c@d", POSTIE_E_ADDRESS_INVALID, false},
        {"undisclosed:;", POSTIE_E_ADDRESS_INVALID, false},
        {"group:a@b;", POSTIE_E_ADDRESS_INVALID, false},
        {"a:b@x", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x:25", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x (Joe)", POSTIE_E_ADDRESS_INVALID, false},
        {"(Joe)a@x", POSTIE_E_ADDRESS_INVALID, false},
        {"a(b)@x", POSTIE_E_ADDRESS_INVALID, false},
        {"Joe <j@x>", POSTIE_E_ADDRESS_INVALID, false},
        {"<j@x>", POSTIE_E_ADDRESS_INVALID, false},
        {"\"a@x, b@y", POSTIE_E_ADDRESS_INVALID, false}, /* unbalanced quote */
        {"a\"b@x", POSTIE_E_ADDRESS_INVALID, false},
        {"\"a\"b@x", POSTIE_E_ADDRESS_INVALID, false},
        {"\"a\\\"@x", POSTIE_E_ADDRESS_INVALID, false}, /* the quote is escaped */
        {"\"a\tb\"@x", POSTIE_E_ADDRESS_INVALID, false},
        {"\"a\\\rb\"@x", POSTIE_E_ADDRESS_INVALID, false},
        /* dots, '@', domains */
        {"a..b@x", POSTIE_E_ADDRESS_INVALID, false},
        {".a@x", POSTIE_E_ADDRESS_INVALID, false},
        {"a.@x", POSTIE_E_ADDRESS_INVALID, false},
        {"a@-x", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x-", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x.", POSTIE_E_ADDRESS_INVALID, false},
        {"a@.x", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x..y", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x_y", POSTIE_E_ADDRESS_INVALID, false},
        {"a@b@c", POSTIE_E_ADDRESS_INVALID, false},
        {"@x", POSTIE_E_ADDRESS_INVALID, false},
        {"a@", POSTIE_E_ADDRESS_INVALID, false},
        {"a", POSTIE_E_ADDRESS_INVALID, false},
        {"postmaster", POSTIE_E_ADDRESS_INVALID, false},
        {"", POSTIE_E_ADDRESS_INVALID, false},
        {"with space@x", POSTIE_E_ADDRESS_INVALID, false},
        {"a@x\r\nRSET", POSTIE_E_ADDRESS_INVALID, false},
        {"a\x7f@x", POSTIE_E_ADDRESS_INVALID, false},
        /* address literals */
        {"a@[256.0.0.1]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[1.2.3]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[1.2.3.4.5]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[1.2.3.0004]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[127.0.0.1", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[127.0.0.1]x", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[::1]", POSTIE_E_ADDRESS_INVALID, false}, /* needs the IPv6: tag */
        {"a@[IPv6:1::2::3]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[IPv6:1:2:3:4:5:6:7]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[IPv6:1:2:3:4:5:6:7:8:9]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[IPv6:1:2:3:4:5:6:7::]", POSTIE_E_ADDRESS_INVALID, false}, /* :: is 2+ groups */
        {"a@[IPv6:12345::1]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[IPv6:g::1]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[IPv6:1:]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[IPv6::::1]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[IPv6:1.2.3.4::]", POSTIE_E_ADDRESS_INVALID, false},
        {"a@[tag:content]", POSTIE_E_ADDRESS_INVALID, false}, /* no other tag is registered */
        /* UTF-8 must be well formed */
        {"j\xc3@example.com", POSTIE_E_ADDRESS_INVALID, false},       /* cut sequence */
        {"j\xc0\xafrg@example.com", POSTIE_E_ADDRESS_INVALID, false}, /* overlong '/' */
        {"j\xed\xa0\x80@x", POSTIE_E_ADDRESS_INVALID, false},         /* surrogate */
        {"a@\xff.com", POSTIE_E_ADDRESS_INVALID, false},
    };
    bool non_ascii = true;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        postie_status_t st = postie_address_check(cases[i].address, false, &non_ascii);
        if (st != cases[i].status || non_ascii != cases[i].non_ascii) {
            fail_msg("\"%s\": %s non_ascii=%d, expected %s non_ascii=%d", cases[i].address,
                     postie_status_name(st), non_ascii, postie_status_name(cases[i].status),
                     cases[i].non_ascii);
        }
    }
    /* the null reverse path only when allowed; non_ascii may be NULL */
    assert_int_equal(postie_address_check("", true, &non_ascii), POSTIE_OK);
    assert_int_equal(postie_address_check("", false, NULL), POSTIE_E_ADDRESS_INVALID);
    assert_int_equal(postie_address_check("a@x", false, NULL), POSTIE_OK);
    assert_int_equal(postie_address_check(NULL, true, &non_ascii), POSTIE_E_INVALID_ARGUMENT);
    /* 256 octets pass, 257 are too long (RFC 5321 4.5.3.1.3); a local part
     * over 64 octets passes (see the header) */
    memset(at_limit, 'a', 250);
    memcpy(at_limit + 250, "@b.com", 7);
    assert_int_equal(strlen(at_limit), 256);
    assert_int_equal(postie_address_check(at_limit, false, NULL), POSTIE_OK);
    memset(long_local, 'a', 251);
    memcpy(long_local + 251, "@b.com", 7);
    assert_int_equal(postie_address_check(long_local, false, NULL), POSTIE_E_ADDRESS_TOO_LONG);
    /* a domain label is at most 63 octets */
    memset(long_local, 'a', sizeof(long_local));
    long_local[0] = 'a';
    long_local[1] = '@';
    long_local[2 + 63] = '\0';
    assert_int_equal(postie_address_check(long_local, false, NULL), POSTIE_OK);
    long_local[2 + 63] = 'a';
    long_local[2 + 64] = '\0';
    assert_int_equal(postie_address_check(long_local, false, NULL), POSTIE_E_ADDRESS_INVALID);
}

static void test_ehlo_name_check(void **state)
{
    (void)state;
    static const char *const good[] = {
        "localhost",  "client.example",      "mx-1.example.com",      "[127.0.0.1]",
        "[IPv6:::1]", "[IPv6:2001:db8::25]", "xn--bcher-kva.example",
    };
    static const char *const bad[] = {
        "",
        "my host",
        "bad\r\nname",
        "host_name",
        "-host",
        "host.",
        "a..b",
        "[1.2.3.4",
        "[IPv6:1::2::3]",
        ("b\xc3\xbc" /* the escape ends here */
         "cher.example"),
        "joe@example.com",
        "host\t",
        "(host)",
    };
    static char long_name[300];
    static postie_smtp_t s;
    postie_smtp_config_t cfg = transcript_config();

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (postie_address_check_hostname(good[i]) != POSTIE_OK) {
            fail_msg("\"%s\" refused", good[i]);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (postie_address_check_hostname(bad[i]) != POSTIE_E_INVALID_ARGUMENT) {
            fail_msg("\"%s\" accepted", bad[i]);
        }
    }
    assert_int_equal(postie_address_check_hostname(NULL), POSTIE_E_INVALID_ARGUMENT);
    /* 255 octets at most */
    for (size_t i = 0; i < 255; i += 2) {
        long_name[i] = 'a';
        long_name[i + 1] = '.';
    }
    long_name[255] = '\0'; /* "a.a. ... a" */
    assert_int_equal(postie_address_check_hostname(long_name), POSTIE_OK);
    long_name[255] = '.';
    long_name[256] = 'a';
    assert_int_equal(postie_address_check_hostname(long_name), POSTIE_E_INVALID_ARGUMENT);

    /* the engine applies it: an EHLO name with a space never reaches the wire,
     * an address literal or a name that is also a mailbox part does */
    cfg.ehlo_name = "my host";
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_E_INVALID_ARGUMENT);
    assert_true(postie_smtp_state(&s) & POSTIE_SMTP_FAILED);
    assert_string_equal(postie_smtp_error(&s)->subject, "ehlo_name");
    cfg.ehlo_name = "[127.0.0.1]";
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_OK);
    cfg.ehlo_name = NULL; /* "localhost" */
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_OK);
}

/* ---- bulk bodies: independent reference transformation ---------------------- */

static size_t reference_data(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    bool bol = true;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < n && in[i + 1] == '\n') {
                i++;
            }
            out[o++] = '\r';
            out[o++] = '\n';
            bol = true;
            continue;
        }
        if (bol && c == '.') {
            out[o++] = '.';
        }
        out[o++] = c;
        bol = false;
    }
    if (!bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    return o;
}

#define BULK (200u * 1000u)

static uint8_t bulk_in[BULK];
static uint8_t bulk_want[2 * BULK + 8];
static uint8_t bulk_wire[2 * BULK + 4096];

static void make_bulk_body(void)
{
    uint32_t rng = 12345;
    for (size_t i = 0; i < BULK; i++) {
        rng = rng * 1103515245u + 12345u;
        uint32_t r = (rng >> 16) % 64;
        bulk_in[i] = r == 0 ? '\n' : r == 1 ? '\r' : r < 5 ? '.' : (uint8_t)('a' + r % 26);
    }
}

/* A scripted server reading the client's wire stream: it owes one reply per
 * command line, per BDAT chunk and per final dot. */
typedef struct {
    size_t scanned;
    bool in_data;
    const char *owed[64];
    size_t owed_head;
    size_t owed_count;
} bulk_server_t;

static void bulk_server_scan(bulk_server_t *srv, size_t wire, size_t *nchunks)
{
    while (srv->scanned < wire) {
        const uint8_t *line = bulk_wire + srv->scanned;
        const uint8_t *eol = memchr(line, '\n', wire - srv->scanned);
        const char *reply = "250 2.0.0 ok\r\n";
        if (eol == NULL) {
            return;
        }
        size_t ll = (size_t)(eol - line) + 1;
        if (srv->in_data) {
            srv->scanned += ll;
            if (ll == 3 && line[0] == '.') {
                srv->in_data = false;
            } else {
                continue;
            }
        } else if (ll > 5 && memcmp(line, "BDAT ", 5) == 0) {
            size_t clen = strtoul((const char *)line + 5, NULL, 10);
            if (srv->scanned + ll + clen > wire) {
                return; /* wait for the whole chunk */
            }
            (*nchunks)++;
            srv->scanned += ll + clen;
        } else {
            srv->scanned += ll;
            if (ll == 6 && memcmp(line, "DATA\r\n", 6) == 0) {
                srv->in_data = true;
                reply = "354 go ahead\r\n";
            }
        }
        assert_true(srv->owed_count < 64);
        srv->owed[(srv->owed_head + srv->owed_count++) % 64] = reply;
    }
}

/* Run one message through the engine against the scripted server, with
 * random send and body-write sizes. body_first: give body bytes whenever the
 * engine takes them, before sending (the host driver's order, which fills
 * the transmit buffer to the brim); otherwise send first. pipelining: the
 * server offers PIPELINING. Returns the length of the wire stream. Checks
 * that DATA_SENT comes once, right after the last octet of the stream was
 * acknowledged, and before MESSAGE_DONE. */
static size_t bulk_run(bool chunking, bool pipelining, bool body_first, size_t *nchunks)
{
    static postie_smtp_t s;
    static bulk_server_t srv;
    postie_smtp_config_t cfg = transcript_config();
    postie_smtp_rcpt_t rcpt = {"bob@example.com", POSTIE_RCPT_PENDING, {0, "", ""}};
    postie_smtp_envelope_t env;
    const char *ehlo =
        !pipelining ? (chunking ? "220 mx\r\n250-mx\r\n250 CHUNKING\r\n" : "220 mx\r\n250 mx\r\n")
        : chunking  ? "220 mx\r\n250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
                    : "220 mx\r\n250-mx\r\n250 PIPELINING\r\n";
    size_t wire = 0;
    size_t data_sent_at = 0;
    int data_sent = 0;
    size_t body_pos = 0;
    bool ended = false;
    bool done = false;
    uint32_t rng = 99;

    memset(&env, 0, sizeof(env));
    memset(&srv, 0, sizeof(srv));
    env.from = "sender@example.com";
    env.rcpt = &rcpt;
    env.rcpt_count = 1;
    *nchunks = 0;
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_OK);
    {
        size_t cap;
        uint8_t *w = postie_smtp_rx_buf(&s, &cap);
        memcpy(w, ehlo, strlen(ehlo));
        assert_int_equal(postie_smtp_rx_ack(&s, strlen(ehlo), 0), POSTIE_OK);
        size_t len;
        (void)postie_smtp_tx_buf(&s, &len);
        postie_smtp_tx_ack(&s, len, 0); /* the EHLO line is not part of the message */
    }
    assert_true(postie_smtp_state(&s) & POSTIE_SMTP_READY);
    assert_int_equal(postie_smtp_send(&s, &env, 0), POSTIE_OK);

    for (int guard = 0; guard < 10000000 && !done; guard++) {
        uint32_t st = postie_smtp_state(&s);
        postie_smtp_event_t ev;
        if (st & POSTIE_SMTP_FAILED) {
            fail_msg("session failed: %s", postie_status_name(postie_smtp_error(&s)->status));
        }
        if (st & POSTIE_SMTP_EVENT) {
            while (postie_smtp_next_event(&s, &ev)) {
                if (ev.type == POSTIE_SMTP_EV_MESSAGE_DONE) {
                    assert_int_equal(ev.status, POSTIE_OK);
                    assert_int_equal(data_sent, 1);
                    done = true;
                }
                if (ev.type == POSTIE_SMTP_EV_DATA_SENT) {
                    data_sent++;
                    data_sent_at = wire;
                }
            }
            continue;
        }
        if ((st & POSTIE_SMTP_HAVE_TX) && !(body_first && (st & POSTIE_SMTP_WANT_BODY))) {
            size_t len;
            const uint8_t *p = postie_smtp_tx_buf(&s, &len);
            rng = rng * 1103515245u + 12345u;
            size_t n = 1 + (rng >> 16) % 3000;
            n = n < len ? n : len;
            assert_true(wire + n <= sizeof(bulk_wire));
            memcpy(bulk_wire + wire, p, n);
            wire += n;
            postie_smtp_tx_ack(&s, n, 0);
            bulk_server_scan(&srv, wire, nchunks);
            continue;
        }
        if (srv.owed_count > 0 && (st & POSTIE_SMTP_WANT_RX)) {
            const char *r = srv.owed[srv.owed_head];
            size_t cap;
            uint8_t *w = postie_smtp_rx_buf(&s, &cap);
            assert_true(cap >= strlen(r));
            memcpy(w, r, strlen(r));
            (void)postie_smtp_rx_ack(&s, strlen(r), 0);
            srv.owed_head = (srv.owed_head + 1) % 64;
            srv.owed_count--;
            continue;
        }
        if ((st & POSTIE_SMTP_WANT_BODY) && body_pos < BULK) {
            size_t used = 0;
            rng = rng * 1103515245u + 12345u;
            size_t n = 1 + (rng >> 16) % 5000;
            n = n < BULK - body_pos ? n : BULK - body_pos;
            postie_status_t rc = postie_smtp_body_write(&s, bulk_in + body_pos, n, &used, 0);
            assert_true(rc == POSTIE_OK || rc == POSTIE_E_AGAIN);
            body_pos += used;
            continue;
        }
        if (body_pos == BULK && !ended && postie_smtp_phase(&s) == POSTIE_SMTP_PHASE_BODY) {
            postie_status_t rc = postie_smtp_body_end(&s, 0);
            assert_true(rc == POSTIE_OK || rc == POSTIE_E_AGAIN);
            ended = rc == POSTIE_OK;
            if (ended || (postie_smtp_state(&s) & POSTIE_SMTP_HAVE_TX) || srv.owed_count > 0) {
                continue;
            }
        }
        fail_msg("stuck in phase %s with %zu replies owed",
                 postie_smtp_phase_name(postie_smtp_phase(&s)), srv.owed_count);
    }
    assert_true(done);
    assert_true(ended);
    assert_int_equal(data_sent, 1);
    assert_int_equal(data_sent_at, wire); /* nothing follows the end of the data */
    assert_int_equal(rcpt.state, POSTIE_RCPT_ACCEPTED);
    return wire;
}

static void test_bulk_body_data(void **state)
{
    (void)state;
    size_t nchunks;
    make_bulk_body();
    size_t want = reference_data(bulk_in, BULK, bulk_want);
    size_t wire = bulk_run(false, true, false, &nchunks);
    assert_int_equal(bulk_run(false, true, true, &nchunks), wire);
    assert_int_equal(bulk_run(false, false, false, &nchunks), wire);
    static const char head[] = "MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\n"
                               "DATA\r\n";
    assert_true(wire == strlen(head) + want + 3);
    assert_memory_equal(bulk_wire, head, strlen(head));
    assert_memory_equal(bulk_wire + strlen(head), bulk_want, want);
    assert_memory_equal(bulk_wire + strlen(head) + want, ".\r\n", 3);
}

static void check_bulk_chunks(size_t wire, size_t nchunks)
{
    static uint8_t joined[2 * BULK + 8];
    static const char head[] = "MAIL FROM:<sender@example.com>\r\nRCPT TO:<bob@example.com>\r\n";
    size_t jlen = 0;
    size_t pos = strlen(head);
    bool last = false;
    size_t o = 0;
    bool bol = true;

    assert_memory_equal(bulk_wire, head, pos);
    while (pos < wire) {
        char *end;
        assert_false(last);
        assert_memory_equal(bulk_wire + pos, "BDAT ", 5);
        size_t clen = strtoul((const char *)bulk_wire + pos + 5, &end, 10);
        last = strncmp(end, " LAST\r\n", 7) == 0;
        pos = (size_t)((uint8_t *)strchr(end, '\n') - bulk_wire) + 1;
        assert_true(pos + clen <= wire);
        memcpy(joined + jlen, bulk_wire + pos, clen);
        jlen += clen;
        pos += clen;
    }
    assert_true(last);
    assert_true(nchunks > BULK / POSTIE_SMTP_TX_BUFFER_SIZE); /* one buffer holds one chunk */
    /* BDAT: line ends normalised, no dot-stuffing, CRLF at the end */
    for (size_t i = 0; i < BULK; i++) {
        uint8_t c = bulk_in[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < BULK && bulk_in[i + 1] == '\n') {
                i++;
            }
            bulk_want[o++] = '\r';
            bulk_want[o++] = '\n';
            bol = true;
            continue;
        }
        bulk_want[o++] = c;
        bol = false;
    }
    if (!bol) {
        bulk_want[o++] = '\r';
        bulk_want[o++] = '\n';
    }
    assert_int_equal(jlen, o);
    assert_memory_equal(joined, bulk_want, o);
}

static void test_bulk_body_chunking(void **state)
{
    (void)state;
    size_t nchunks;
    size_t wire;
    make_bulk_body();
    wire = bulk_run(true, true, false, &nchunks);
    check_bulk_chunks(wire, nchunks);
    /* body first fills the buffer to the end right after a chunk closes */
    wire = bulk_run(true, true, true, &nchunks);
    check_bulk_chunks(wire, nchunks);
    /* without PIPELINING each chunk waits for the reply to the one before */
    wire = bulk_run(true, false, true, &nchunks);
    check_bulk_chunks(wire, nchunks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_message_without_pipelining),
        cmocka_unit_test(test_pipelined_envelope_one_recipient_refused),
        cmocka_unit_test(test_pipelined_all_recipients_refused_data_refused),
        cmocka_unit_test(test_pipelined_all_refused_but_354_sends_empty_data),
        cmocka_unit_test(test_body_cannot_end_data_early),
        cmocka_unit_test(test_chunking_one_flight),
        cmocka_unit_test(test_chunking_all_recipients_refused),
        cmocka_unit_test(test_chunking_disabled_by_config),
        cmocka_unit_test(test_pipelining_disabled_by_config),
        cmocka_unit_test(test_two_messages_on_one_connection),
        cmocka_unit_test(test_data_sent_after_final_dot),
        cmocka_unit_test(test_data_sent_pipelined),
        cmocka_unit_test(test_data_sent_bdat_pipelined),
        cmocka_unit_test(test_data_sent_bdat_not_pipelined),
        cmocka_unit_test(test_no_data_sent_without_end_of_data),
        cmocka_unit_test(test_data_sent_on_the_last_octet),
        cmocka_unit_test(test_mail_from_refused_then_rset),
        cmocka_unit_test(test_mail_from_transient),
        cmocka_unit_test(test_mail_from_transient_pipelined),
        cmocka_unit_test(test_rcpt_refused_without_pipelining_skips_data),
        cmocka_unit_test(test_data_refused),
        cmocka_unit_test(test_final_dot_refused_permanent_and_transient),
        cmocka_unit_test(test_rset_refused_fails_session),
        cmocka_unit_test(test_greeting_refused),
        cmocka_unit_test(test_ehlo_refused_falls_back_to_helo),
        cmocka_unit_test(test_ehlo_and_helo_refused),
        cmocka_unit_test(test_421_in_the_middle_ends_message_and_session),
        cmocka_unit_test(test_connection_dropped),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_trickled_greeting),
        cmocka_unit_test(test_trickled_multiline_ehlo),
        cmocka_unit_test(test_trickled_pipelined_replies),
        cmocka_unit_test(test_bdat_reply_deadline_from_its_chunk),
        cmocka_unit_test(test_bdat_pipelined_chunks_one_round_trip),
        cmocka_unit_test(test_bdat_pipelined_first_chunk_refused),
        cmocka_unit_test(test_bdat_pipelined_middle_chunk_refused),
        cmocka_unit_test(test_bdat_pipelined_last_chunk_refused),
        cmocka_unit_test(test_bdat_pipelined_chunk_refused_then_closed),
        cmocka_unit_test(test_bdat_pipelined_refused_while_writing),
        cmocka_unit_test(test_timeout_ms_shrinks),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test(test_nul_in_reply),
        cmocka_unit_test(test_oversized_reply_line),
        cmocka_unit_test(test_endless_multiline_reply),
        cmocka_unit_test(test_unsolicited_reply),
        cmocka_unit_test(test_starttls_required_then_auth_plain),
        cmocka_unit_test(test_starttls_required_but_not_offered),
        cmocka_unit_test(test_starttls_required_but_refused),
        cmocka_unit_test(test_starttls_response_injection),
        cmocka_unit_test(test_starttls_opportunistic),
        cmocka_unit_test(test_tls_none_never_starttls),
        cmocka_unit_test(test_auth_login_over_implicit_tls),
        cmocka_unit_test(test_auth_plain_long_credentials_use_334),
        cmocka_unit_test(test_auth_failures),
        cmocka_unit_test(test_plaintext_auth_when_allowed),
        cmocka_unit_test(test_log_never_shows_credentials),
        cmocka_unit_test(test_oauth_xoauth2_initial_response),
        cmocka_unit_test(test_oauth_oauthbearer_initial_response),
        cmocka_unit_test(test_oauth_long_token_after_334),
        cmocka_unit_test(test_oauth_refused),
        cmocka_unit_test(test_oauth_mechanism_not_offered),
        cmocka_unit_test(test_oauth_bad_config),
        cmocka_unit_test(test_addresses_with_crlf_are_refused_before_sending),
        cmocka_unit_test(test_null_sender_and_size),
        cmocka_unit_test(test_8bit_body),
        cmocka_unit_test(test_nul_in_body),
        cmocka_unit_test(test_smtputf8),
        cmocka_unit_test(test_dsn_parameters),
        cmocka_unit_test(test_send_while_busy_is_refused),
        cmocka_unit_test(test_capabilities_parsed),
        cmocka_unit_test(test_invalid_config),
        cmocka_unit_test(test_address_is_one_mailbox),
        cmocka_unit_test(test_ehlo_name_check),
        cmocka_unit_test(test_bulk_body_data),
        cmocka_unit_test(test_bulk_body_chunking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
