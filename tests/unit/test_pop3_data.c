/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POP3 engine as transcripts (pop3_transcript.h): message data (dot-
 * unstuffing, long lines, truncation, bad octets, size bounds), listings
 * (LIST/UIDL numbers and unique-ids), malformed responses, line limits and
 * timeouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pop3_transcript.h"

/* ---- message data ----------------------------------------------------------------- */

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

/* A 25 MiB message streams through the engine's own buffers: the callback
 * sees every octet once, in pieces no larger than the receive buffer. */
static uint64_t big_seen;
static size_t big_largest;

static postie_status_t count_big(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++) {
        /* each data line is 78 x 'a' + CRLF (80 octets) */
        uint8_t want = (big_seen + i) % 80 == 78 ? '\r' : (big_seen + i) % 80 == 79 ? '\n' : 'a';
        if (data[i] != want) {
            fail_msg("octet %llu is %u, expected %u", (unsigned long long)(big_seen + i), data[i],
                     want);
        }
    }
    big_seen += len;
    big_largest = len > big_largest ? len : big_largest;
    return POSTIE_OK;
}

static void test_large_message_streams(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("1"), END};
    static char chunk[80 * 100];
    const uint64_t lines = (25u * 1024u * 1024u) / 80u;
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    for (size_t i = 0; i < sizeof(chunk); i += 80) {
        memset(chunk + i, 'a', 78);
        chunk[i + 78] = '\r';
        chunk[i + 79] = '\n';
    }
    big_seen = 0;
    big_largest = 0;
    run.mode = MODE_WHOLE; /* the driver's way: whatever fits the receive window */
    assert_int_equal(postie_pop3_retrieve(&run.p, 1, 0, count_big, NULL, run.now), POSTIE_OK);
    drain_tx();
    feed("+OK 26214400 octets\r\n", strlen("+OK 26214400 octets\r\n"));
    for (uint64_t done = 0; done < lines; done += 100) {
        feed(chunk, sizeof(chunk));
    }
    feed(".\r\n", 3);
    take_event(POSTIE_MAILBOX_EV_RETRIEVED, 1);
    assert_int_equal(big_seen, (lines + (100 - lines % 100) % 100) * 80u);
    assert_true(big_largest <= POSTIE_POP3_RX_BUFFER_SIZE);
    assert_true(big_largest > POSTIE_POP3_RX_BUFFER_SIZE / 2); /* not octet by octet */
    assert_true(postie_pop3_state(&run.p) & POSTIE_POP3_READY);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dot_unstuffing),
        cmocka_unit_test(test_long_data_lines_stream),
        cmocka_unit_test(test_retrieve_then_next_answer_together),
        cmocka_unit_test(test_retrieve_truncated),
        cmocka_unit_test(test_retrieve_transport_failure),
        cmocka_unit_test(test_bad_message_data),
        cmocka_unit_test(test_nul_in_message_data),
        cmocka_unit_test(test_size_max),
        cmocka_unit_test(test_large_message_streams),
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
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_timeout_ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
