/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transcript runner for the POP3 engine (test_pop3.c, test_pop3_data.c):
 * server bytes in, exact client bytes out. Each transcript is played whole,
 * one byte at a time (received bytes and partial sends alike) and at random
 * splits with several seeds. Mailbox events are checked in the order they
 * came; the listing and message data the callbacks saw are checked as text.
 */
#ifndef POSTIE_TEST_POP3_TRANSCRIPT_H
#define POSTIE_TEST_POP3_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/pop3/pop3.h"

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
    P_CLOSED,       /* QUIT answered; the only unchecked event is CLOSED */
    P_RANGE         /* list_range(id = from, n = count, want) must return st */
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
    uint32_t want;        /* P_RANGE: POSTIE_MAIL_ITEM_* */
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
#define RANGE(from, count, w)                                  \
    {                                                          \
        .op = P_RANGE, .id = (from), .n = (count), .want = (w) \
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

extern run_t run;

/* The configuration the transcripts start from: no TLS, plaintext login
   allowed, alice / s3cret. */
postie_pop3_config_t config(void);
/* Play t whole, byte by byte and at random splits; fail the test (cmocka)
   on the first mismatch, naming the mode and the step. run holds the last
   run afterwards. */
void play(const transcript_t *t);
/* For tests that go on by hand after a transcript: */
void feed(const char *data, size_t len);
void drain_tx(void);
void take_events(void);
/* Take the oldest unchecked event; it must be type with id. */
void take_event(int type, uint32_t id);
postie_status_t on_item(void *ctx, const postie_mail_item_t *item);
postie_status_t on_data(void *ctx, const uint8_t *data, size_t len);

#define AUTH_ALICE "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n" /* \0alice\0s3cret */

/* A session up to READY with PIPELINING, count messages in the mailbox. */
#define LOGGED_IN(count)                                                              \
    S("+OK ready\r\n"), C("CAPA\r\n"), S("+OK\r\nSASL PLAIN\r\nPIPELINING\r\n.\r\n"), \
        C(AUTH_ALICE), S("+OK\r\n"), C("STAT\r\n"), S("+OK " count " 1000\r\n"), READY_EV

#endif /* POSTIE_TEST_POP3_TRANSCRIPT_H */
