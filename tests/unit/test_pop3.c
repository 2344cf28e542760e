/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POP3 engine as transcripts (pop3_transcript.h): the session (greeting,
 * CAPA, STLS, APOP, AUTH PLAIN, USER/PASS, STAT), pipelining, QUIT, the
 * configuration and the ops table.
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

#include "pop3_transcript.h"
#include "postie/common/base64.h"

/* ---- the happy paths ------------------------------------------------------------ */

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

/* A ranged listing: LIST n and UIDL n per message, as many in flight as the
 * pipeline takes, the next ones as answers come; clamped to the STAT
 * count; LISTED once all came; READY clear meanwhile. */
static void test_list_range_pipelined(void **state)
{
    static const pstep_t steps[] = {
        LOGGED_IN("40"),
        RANGE(37, 10, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL),
        C("LIST 37\r\nUIDL 37\r\nLIST 38\r\nUIDL 38\r\nLIST 39\r\nUIDL 39\r\nLIST 40\r\n"
          "UIDL 40\r\n"),
        NOT_READY,
        S("+OK 37 4096\r\n+OK 37 u37\r\n+OK 38 4000\r\n+OK 38 u38\r\n+OK 39 10\r\n"
          "+OK 39 u39\r\n+OK 40 7\r\n+OK 40 u:/40\r\n"),
        LISTED,
        ITEMS("37:4096;37=u37;38:4000;38=u38;39:10;39=u39;40:7;40=u:/40;"),
        READY,
        /* more than the pipeline: the rest as answers come */
        RANGE(1, 6, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL),
        C("LIST 1\r\nUIDL 1\r\nLIST 2\r\nUIDL 2\r\nLIST 3\r\nUIDL 3\r\nLIST 4\r\nUIDL 4\r\n"),
        S("+OK 1 11\r\n+OK 1 a\r\n"),
        C("LIST 5\r\nUIDL 5\r\n"),
        S("+OK 2 12\r\n+OK 2 b\r\n+OK 3 13\r\n+OK 3 c\r\n+OK 4 14\r\n+OK 4 d\r\n"),
        C("LIST 6\r\nUIDL 6\r\n"),
        NOT_READY,
        S("+OK 5 15\r\n+OK 5 e\r\n+OK 6 16\r\n+OK 6 f\r\n"),
        LISTED,
        ITEMS("1:11;1=a;2:12;2=b;3:13;3=c;4:14;4=d;5:15;5=e;6:16;6=f;"),
        /* beyond the STAT count: nothing to ask */
        RANGE(41, 5, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL),
        NOTHING_SENT,
        LISTED,
        ITEMS(""),
        /* sizes only */
        RANGE(40, 1, POSTIE_MAIL_ITEM_SIZE),
        C("LIST 40\r\n"),
        S("+OK 40 7\r\n"),
        LISTED,
        ITEMS("40:7;"),
        READY,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
}

/* Without PIPELINING a ranged listing goes one command at a time; an
 * answer for another message, or -ERR, ends the session. */
static void test_list_range_plain_and_bad(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL PLAIN\r\nUIDL\r\n.\r\n"),
        C(AUTH_ALICE),
        S("+OK\r\n"),
        C("STAT\r\n"),
        S("+OK 3 300\r\n"),
        READY_EV,
        RANGE(2, 5, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL),
        C("LIST 2\r\n"),
        NOT_READY,
        S("+OK 2 200\r\n"),
        C("UIDL 2\r\n"),
        S("+OK 2 bbb\r\n"),
        C("LIST 3\r\n"),
        S("+OK 3 300\r\n"),
        C("UIDL 3\r\n"),
        S("+OK 3 ccc\r\n"),
        LISTED,
        ITEMS("2:200;2=bbb;3:300;3=ccc;"),
        READY,
        RANGE(1, 1, POSTIE_MAIL_ITEM_UIDL),
        C("UIDL 1\r\n"),
        S("+OK 2 bbb\r\n"),
        FAILED(POSTIE_E_REPLY_MALFORMED, NULL, NULL),
        END,
    };
    static const pstep_t err[] = {
        LOGGED_IN("3"),
        RANGE(1, 1, POSTIE_MAIL_ITEM_SIZE),
        C("LIST 1\r\n"),
        S("-ERR no such message\r\n"),
        FAILED(POSTIE_E_COMMAND_REFUSED, NULL, NULL),
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    (void)state;
    play(&t);
    t.steps = err;
    play(&t);
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

/* STAT's numbers at their bounds: the count up to 2^32-1, the octets up to
 * 2^64-1, one more refused (the digit parser checks overflow without 64-bit
 * division). */
static void stat_answer(const char *answer, postie_status_t want)
{
    pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("-ERR unknown command\r\n"),
        C("USER alice\r\n"),
        S("+OK\r\n"),
        C("PASS s3cret\r\n"),
        S("+OK\r\n"),
        C("STAT\r\n"),
        SX(answer, 0, NULL, 0),
        READY_EV,
        END,
    };
    transcript_t t = {.cfg = config(), .steps = steps};
    if (want != POSTIE_OK) {
        steps[9] = (pstep_t)FAILED(want, "STAT", NULL);
    }
    play(&t);
}

static void test_stat_number_bounds(void **state)
{
    (void)state;
    stat_answer("+OK 4294967295 18446744073709551615\r\n", POSTIE_OK);
    assert_int_equal(postie_pop3_info(&run.p)->messages, UINT32_MAX);
    assert_true(postie_pop3_info(&run.p)->octets == UINT64_MAX);
    stat_answer("+OK 1 1844674407370955161\r\n", POSTIE_OK);
    assert_true(postie_pop3_info(&run.p)->octets == 1844674407370955161u);
    stat_answer("+OK 4294967296 0\r\n", POSTIE_E_REPLY_MALFORMED);
    stat_answer("+OK 0 18446744073709551616\r\n", POSTIE_E_REPLY_MALFORMED);
    stat_answer("+OK 0 18446744073709551620\r\n", POSTIE_E_REPLY_MALFORMED);
    stat_answer("+OK 0 99999999999999999999\r\n", POSTIE_E_REPLY_MALFORMED);
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

/* ---- OAuth 2.0 --------------------------------------------------------------------- */

#define OAUTH_USER  "someuser@example.com"
#define OAUTH_TOKEN "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
#define XOAUTH2_B64                                                                        \
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNr" \
    "QmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
/* {"status":"invalid_token","scope":"example_scope",...} (RFC 7628 3.2.2) */
#define OAUTH_ERROR_B64                                                                         \
    "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyY" \
    "XRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="

static postie_pop3_config_t oauth_config(uint32_t mech)
{
    postie_pop3_config_t cfg = config();
    cfg.username = OAUTH_USER;
    cfg.password = NULL;
    cfg.oauth_token = OAUTH_TOKEN;
    cfg.oauth_mechanism = mech;
    cfg.oauth_host = "pop.example.com";
    cfg.oauth_port = 110;
    return cfg;
}

static char oauth_line[POSTIE_SASL_OAUTH_B64_MAX + 64];

/* "AUTH OAUTHBEARER <b64>\r\n" (prefix non-NULL) or "<b64>\r\n" for token */
static void oauth_expect(const char *prefix, uint32_t mech, const char *token)
{
    size_t n = prefix != NULL ? strlen(prefix) : 0;
    size_t w = 0;
    memcpy(oauth_line, prefix != NULL ? prefix : "", n);
    assert_int_equal(postie_sasl_oauth(mech, OAUTH_USER, "pop.example.com", 110, token,
                                       strlen(token), oauth_line + n, sizeof(oauth_line) - n - 3,
                                       &w),
                     POSTIE_OK);
    memcpy(oauth_line + n + w, "\r\n", 3);
}

static void test_oauth_initial_response(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready <1.2@pop.example.com>\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n"),
        C("AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"),
        NOTHING_SENT,
        S("+OK Logged in.\r\n"),
        C("STAT\r\n"),
        S("+OK 0 0\r\n"),
        READY_EV,
        END,
    };
    static const pstep_t bearer[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL OAUTHBEARER\r\n.\r\n"),
        C(oauth_line),
        S("+OK Logged in.\r\n"),
        C("STAT\r\n"),
        S("+OK 0 0\r\n"),
        READY_EV,
        END,
    };
    transcript_t t = {.cfg = oauth_config(POSTIE_SASL_XOAUTH2), .steps = steps};
    (void)state;
    t.cfg.use_apop = true; /* a token: never APOP, whatever the greeting offers */
    play(&t);
    assert_non_null(strstr(run.log, "AUTH XOAUTH2 <redacted>"));
    assert_null(strstr(run.log, OAUTH_TOKEN));
    assert_null(strstr(run.log, "dXNlcj1"));
    oauth_expect("AUTH OAUTHBEARER ", POSTIE_SASL_OAUTHBEARER, OAUTH_TOKEN);
    t.cfg = oauth_config(POSTIE_SASL_OAUTHBEARER);
    t.steps = bearer;
    play(&t);
}

/* A token too long for the 255-octet AUTH line: after the "+ ". */
static void test_oauth_after_continuation(void **state)
{
    static char token[301];
    static const pstep_t steps[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL XOAUTH2\r\n.\r\n"),
        C("AUTH XOAUTH2\r\n"),
        NOTHING_SENT,
        S("+ \r\n"),
        C(oauth_line),
        NOTHING_SENT,
        S("+OK Logged in.\r\n"),
        C("STAT\r\n"),
        S("+OK 0 0\r\n"),
        READY_EV,
        END,
    };
    transcript_t t = {.cfg = oauth_config(POSTIE_SASL_XOAUTH2), .steps = steps};
    (void)state;
    memset(token, 'z', 300);
    t.cfg.oauth_token = token;
    static const pstep_t refused_early[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL XOAUTH2\r\n.\r\n"),
        C("AUTH XOAUTH2\r\n"),
        S("-ERR [AUTH] not now\r\n"),
        /* the token never left: not TOKEN_REJECTED */
        FAILED(POSTIE_E_AUTH_FAILED, "AUTH XOAUTH2", NULL),
        END,
    };
    oauth_expect(NULL, POSTIE_SASL_XOAUTH2, token);
    play(&t);
    assert_non_null(strstr(run.log, "AUTH XOAUTH2\n<redacted>\n"));
    assert_null(strstr(run.log, "zzzz"));
    t.steps = refused_early;
    play(&t);
}

static void test_oauth_refused(void **state)
{
    static const pstep_t xoauth2[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL XOAUTH2 OAUTHBEARER\r\n.\r\n"),
        C("AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"),
        S("+ " OAUTH_ERROR_B64 "\r\n"),
        C("\r\n"),
        NOTHING_SENT,
        S("-ERR [AUTH] Authentication failed.\r\n"),
        FAILED(POSTIE_E_TOKEN_REJECTED, "AUTH XOAUTH2", "invalid_token: {\"status\""),
        END,
    };
    static const pstep_t bearer[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL XOAUTH2 OAUTHBEARER\r\n.\r\n"),
        C(oauth_line),
        S("+ " OAUTH_ERROR_B64 "\r\n"),
        C("AQ==\r\n"),
        NOTHING_SENT,
        S("-ERR [AUTH] Authentication failed.\r\n"),
        FAILED(POSTIE_E_TOKEN_REJECTED, "AUTH OAUTHBEARER", "invalid_token: "),
        END,
    };
    static const pstep_t delay[] = {
        S("+OK ready\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nSASL XOAUTH2\r\n.\r\n"),
        C("AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"),
        S("-ERR [LOGIN-DELAY] wait\r\n"),
        FAILED(POSTIE_E_AUTH_TEMPORARY, "AUTH XOAUTH2", NULL),
        END,
    };
    transcript_t t = {.cfg = oauth_config(POSTIE_SASL_XOAUTH2), .steps = xoauth2};
    (void)state;
    play(&t);
    assert_null(strstr(run.log, OAUTH_TOKEN));
    oauth_expect("AUTH OAUTHBEARER ", POSTIE_SASL_OAUTHBEARER, OAUTH_TOKEN);
    t.cfg = oauth_config(POSTIE_SASL_OAUTHBEARER);
    t.steps = bearer;
    play(&t);
    t.cfg = oauth_config(POSTIE_SASL_XOAUTH2);
    t.steps = delay;
    play(&t);
}

/* The chosen mechanism only: not PLAIN, USER/PASS or APOP with a password. */
static void test_oauth_mechanism_not_offered(void **state)
{
    static const pstep_t steps[] = {
        S("+OK ready <1.2@pop.example.com>\r\n"),
        C("CAPA\r\n"),
        S("+OK\r\nUSER\r\nSASL PLAIN XOAUTH2\r\n.\r\n"),
        FAILED(POSTIE_E_AUTH_NO_MECHANISM, NULL, "OAUTHBEARER not offered"),
        NOTHING_SENT,
        END,
    };
    transcript_t t = {.cfg = oauth_config(POSTIE_SASL_OAUTHBEARER), .steps = steps};
    static postie_pop3_t p;
    static char token[POSTIE_OAUTH_TOKEN_MAX + 2];
    postie_pop3_config_t cfg = oauth_config(POSTIE_SASL_XOAUTH2);
    (void)state;
    t.cfg.password = "s3cret";
    t.cfg.use_apop = true;
    play(&t);
    /* a token past POSTIE_OAUTH_TOKEN_MAX, a bad one, no user */
    memset(token, 'x', POSTIE_OAUTH_TOKEN_MAX + 1);
    cfg.oauth_token = token;
    assert_int_equal(postie_pop3_init(&p, &cfg), POSTIE_E_FIELD_TOO_LONG);
    token[POSTIE_OAUTH_TOKEN_MAX] = '\0';
    assert_int_equal(postie_pop3_init(&p, &cfg), POSTIE_OK);
    cfg.oauth_token = "a\r\nQUIT";
    assert_int_equal(postie_pop3_init(&p, &cfg), POSTIE_E_INVALID_ARGUMENT);
    cfg.oauth_token = OAUTH_TOKEN;
    cfg.username = NULL;
    assert_int_equal(postie_pop3_init(&p, &cfg), POSTIE_E_INVALID_ARGUMENT);
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

/* ---- pipelining depth, arguments, init --------------------------------------------- */

static void test_pipeline_depth(void **state)
{
    static const pstep_t steps[] = {LOGGED_IN("40"), END};
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
    static const pstep_t steps[] = {LOGGED_IN("40"), END};
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
        cmocka_unit_test(test_list_range_pipelined),
        cmocka_unit_test(test_list_range_plain_and_bad),
        cmocka_unit_test(test_pipelining_switched_off),
        cmocka_unit_test(test_old_server_user_pass),
        cmocka_unit_test(test_stat_number_bounds),
        cmocka_unit_test(test_user_pass_when_no_sasl),
        cmocka_unit_test(test_no_login_mechanism),
        cmocka_unit_test(test_sasl_not_allowed),
        cmocka_unit_test(test_apop),
        cmocka_unit_test(test_apop_refused),
        cmocka_unit_test(test_apop_only_when_enabled_and_offered),
        cmocka_unit_test(test_auth_plain_without_initial_response),
        cmocka_unit_test(test_auth_plain_unexpected_challenge),
        cmocka_unit_test(test_oauth_initial_response),
        cmocka_unit_test(test_oauth_after_continuation),
        cmocka_unit_test(test_oauth_refused),
        cmocka_unit_test(test_oauth_mechanism_not_offered),
        cmocka_unit_test(test_login_response_codes),
        cmocka_unit_test(test_stls),
        cmocka_unit_test(test_stls_required_not_offered),
        cmocka_unit_test(test_stls_injection),
        cmocka_unit_test(test_stls_refused),
        cmocka_unit_test(test_no_credentials_in_clear),
        cmocka_unit_test(test_implicit_tls),
        cmocka_unit_test(test_capability_probe),
        cmocka_unit_test(test_each_step),
        cmocka_unit_test(test_each_step_stls_user_pass),
        cmocka_unit_test(test_pipeline_depth),
        cmocka_unit_test(test_list_with_one_slot_left),
        cmocka_unit_test(test_init_refuses_bad_credentials),
        cmocka_unit_test(test_defaults_and_ops),
        cmocka_unit_test(test_through_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
