/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transcript runner for the SMTP engine: server bytes in, exact client
 * bytes out. Each transcript is played three ways: whole, one byte at a
 * time (for received bytes and for partial sends alike), and at random
 * splits with several seeds. The client's output is collected as one wire
 * stream; each CLIENT step must match the next bytes of it exactly.
 */
#ifndef POSTIE_TEST_TRANSCRIPT_H
#define POSTIE_TEST_TRANSCRIPT_H

#include <stddef.h>

#include "postie/smtp/smtp.h"

typedef enum {
    OP_END = 0,
    OP_SERVER,       /* data: bytes the server sends */
    OP_CLIENT,       /* data: bytes the client must have sent next */
    OP_NOTHING_SENT, /* the client must have sent nothing more */
    OP_SEND,         /* start the transcript's envelope */
    OP_SEND_REFUSED, /* postie_smtp_send must refuse with status arg */
    OP_BODY,         /* data: body bytes */
    OP_BODY_END,
    OP_BODY_FAILS, /* data: body bytes whose write must fail with status arg */
    OP_QUIT,
    OP_TLS,          /* the engine must ask for TLS; report the handshake done */
    OP_EOF,          /* the server closes the connection */
    OP_TIME,         /* arg: milliseconds pass (then poll) */
    OP_READY,        /* the engine must be READY */
    OP_MESSAGE,      /* a MESSAGE_DONE event with status arg must have come */
    OP_RCPT,         /* rcpt[arg] must be in state data[0]: 'A'ccepted 'R'ejected 'N'ot tried */
    OP_FAILED,       /* the session must have failed with status arg */
    OP_CLOSED,       /* QUIT must have been answered */
    OP_DATA_SENT,    /* one DATA_SENT event must have come, taken right after the
                      * acknowledgement of the last octet checked by CLIENT so
                      * far (the end of the data), and before any MESSAGE_DONE
                      * still unchecked */
    OP_NO_DATA_SENT, /* no DATA_SENT event must have come since the last check */
    OP_CHUNKS        /* the client must have sent BDAT chunks next, carrying data in
                      * all (or its beginning, when the last is not LAST); arg:
                      * their number * 2, + 1 when the last is LAST. Chunk
                      * sizes may differ between plays (the engine closes a chunk
                      * when its buffer is full, and how full depends on the body
                      * writes); transcript_chunk_len() tells them for the last play */
} op_t;

typedef struct {
    op_t op;
    const char *data;
    int arg;
} step_t;

#define SERVER(s)         \
    {                     \
        OP_SERVER, (s), 0 \
    }
#define CLIENT(s)         \
    {                     \
        OP_CLIENT, (s), 0 \
    }
#define NOTHING_SENT             \
    {                            \
        OP_NOTHING_SENT, NULL, 0 \
    }
#define SEND             \
    {                    \
        OP_SEND, NULL, 0 \
    }
#define SEND_REFUSED(st)            \
    {                               \
        OP_SEND_REFUSED, NULL, (st) \
    }
#define BODY(s)         \
    {                   \
        OP_BODY, (s), 0 \
    }
#define BODY_END             \
    {                        \
        OP_BODY_END, NULL, 0 \
    }
#define BODY_FAILS(s, st)        \
    {                            \
        OP_BODY_FAILS, (s), (st) \
    }
#define QUIT             \
    {                    \
        OP_QUIT, NULL, 0 \
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
#define READY             \
    {                     \
        OP_READY, NULL, 0 \
    }
#define MESSAGE(st)            \
    {                          \
        OP_MESSAGE, NULL, (st) \
    }
#define RCPT(i, state)        \
    {                         \
        OP_RCPT, (state), (i) \
    }
#define FAILED(st)            \
    {                         \
        OP_FAILED, NULL, (st) \
    }
#define CLOSED             \
    {                      \
        OP_CLOSED, NULL, 0 \
    }
#define DATA_SENT             \
    {                         \
        OP_DATA_SENT, NULL, 0 \
    }
#define NO_DATA_SENT             \
    {                            \
        OP_NO_DATA_SENT, NULL, 0 \
    }
#define CHUNKS(s, n, last)                       \
    {                                            \
        OP_CHUNKS, (s), (n)*2 + ((last) ? 1 : 0) \
    }
#define END             \
    {                   \
        OP_END, NULL, 0 \
    }

#define TRANSCRIPT_MAX_RCPT 40

typedef struct {
    postie_smtp_config_t cfg;
    const char *from;
    const char *to[TRANSCRIPT_MAX_RCPT + 1]; /* NULL-terminated */
    uint64_t size;
    bool body_8bit;
    uint8_t dsn_notify;
    postie_dsn_ret_t dsn_ret;
    const char *dsn_envid;
    const step_t *steps;
} transcript_t;

/* A config with defaults, EHLO name "client.example", no TLS. */
postie_smtp_config_t transcript_config(void);

/* Play t whole, byte by byte and at random splits; fail the test (cmocka)
 * on the first mismatch, naming the mode and the step. Returns the engine of
 * the last run for further checks. */
const postie_smtp_t *transcript_play(const transcript_t *t);

/* The length of the i-th BDAT chunk (from 0) checked by CHUNKS steps in
 * the last play; 0 past the last one. */
size_t transcript_chunk_len(size_t i);

/* The last run's message result and recipients. */
const postie_smtp_rcpt_t *transcript_rcpt(size_t i);

#endif /* POSTIE_TEST_TRANSCRIPT_H */
