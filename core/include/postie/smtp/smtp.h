/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMTP client engine, sans-IO (RFC 5321, 3207, 4954, 2920, 3030, 1870, 6152,
 * 6531, 3461, 2034).
 *
 * The engine never touches a socket, a clock or the heap. A driver moves
 * bytes between it and a transport, and tells it the time:
 *
 *   state = postie_smtp_state(s)
 *   HAVE_TX   -> postie_smtp_tx_buf(s, &len); send; postie_smtp_tx_ack(s, sent, now)
 *   WANT_RX   -> postie_smtp_rx_buf(s, &cap); recv; postie_smtp_rx_ack(s, got, now)
 *                (on EOF: postie_smtp_rx_eof(s))
 *   NEED_TLS  -> handshake over the same connection; postie_smtp_tls_done(s, now)
 *   WANT_BODY -> postie_smtp_body_write(s, ...) until the body ends, then
 *                postie_smtp_body_end(s, now)
 *   EVENT     -> postie_smtp_next_event(s, &ev)
 *   READY     -> postie_smtp_send(s, &envelope, now) or postie_smtp_quit(s, now)
 *   FAILED    -> postie_smtp_error(s) says why; close the connection
 *   CLOSED    -> QUIT answered; close the connection
 *   and, while waiting, postie_smtp_poll(s, now) enforces the RFC 5321
 *   timeouts (postie_smtp_timeout_ms tells how long a receive may wait):
 *   each whole reply within its timeout, however its bytes trickle in.
 *
 * Time: every `now` is a millisecond tick from a monotonic clock (any
 * origin; it may wrap at 2^32, differences are taken modulo 2^32).
 *
 * Order: when several bits are set, serve them in this order, as the
 * driver (port/common/driver.c) does: drain EVENTs first (an event may
 * end the session), then stop on FAILED or CLOSED, then WANT_BODY (so the
 * envelope and the first body octets leave in one write), then HAVE_TX,
 * then NEED_TLS (only once HAVE_TX is clear: STARTTLS must have left), then
 * WANT_RX. Receiving before sending what is queued can deadlock a server
 * that waits for the rest of a pipelined flight.
 *
 * Session: greeting, EHLO (HELO when EHLO is refused), STARTTLS as the
 * configuration says, AUTH PLAIN or LOGIN, then messages one after another
 * on the same connection, then QUIT.
 *
 * Pipelining: when the server offers PIPELINING, MAIL, every RCPT and DATA
 * (or the BDAT chunks when CHUNKING is offered) leave in one flight, and the
 * replies are matched to the commands in order; up to POSTIE_SMTP_PIPELINE_MAX
 * commands may await replies. Without PIPELINING one command at a time.
 * With CHUNKING and PIPELINING a message costs one round trip: its envelope
 * and chunks leave without waiting for any reply in between (RFC 3030 2), a
 * chunk being at most the transmit buffer, so a message that fits leaves in
 * one write with its envelope. Without CHUNKING it costs two (the envelope
 * and DATA, then the data and the final dot). A refused chunk ends the
 * message with that reply; its result's subject names the chunk ("chunk 2,
 * data octets 131032..262063"), no chunk is written after it, and the
 * replies to the chunks already sent are still read and matched before
 * RSET. Recipients keep their RCPT results.
 *
 * Security: with STARTTLS required, nothing but EHLO and STARTTLS is sent
 * before the handshake; bytes that arrive after the go-ahead and before the
 * handshake abort the session (command injection); everything learned
 * before the handshake is forgotten and EHLO is sent again. Credentials are
 * refused over an unencrypted channel unless allow_plaintext_auth is set.
 * The log callback never sees a credential.
 *
 * OAuth 2.0: with cfg.oauth_token the engine sends AUTH with oauth_mechanism
 * only if the server offers that mechanism (otherwise
 * POSTIE_E_AUTH_NO_MECHANISM naming it: the engine never falls back to
 * another mechanism or to the password). The response goes on the AUTH line
 * when the line stays within 512 octets, else on a line of its own after the
 * server's empty 334 (RFC 4954 4). The server refuses a token with a 334
 * carrying base64 JSON ({"status":"invalid_token",...}); the engine answers
 * it as the mechanism requires (XOAUTH2: an empty line; OAUTHBEARER: "AQ==",
 * RFC 7628 3.2.3) and the server's 5xx that follows ends the session with
 * POSTIE_E_TOKEN_REJECTED, the error's reply the 535 and its subject the
 * decoded JSON ("invalid_token: {...}", see postie_sasl_oauth_error_subject;
 * "" when the server refused without a challenge). A 5xx before the token
 * left (to AUTH without an initial response, e.g. 504) is
 * POSTIE_E_AUTH_FAILED. A 4xx there is POSTIE_E_AUTH_TEMPORARY. The session
 * is over then; a client that wants to try a fresh token starts another
 * (port/posix/smtp_client.c does, once). The log callback shows the
 * response redacted.
 *
 * RAM: sizeof(postie_smtp_t) = POSTIE_SMTP_RX_BUFFER_SIZE +
 * POSTIE_SMTP_TX_BUFFER_SIZE + fixed fields: 1 432 octets on Cortex-M4 with
 * the defaults (two error records of 284 with POSTIE_REPLY_TEXT_MAX 160, the
 * first line of the reply being read 178, the pipeline ring
 * 8 * POSTIE_SMTP_PIPELINE_MAX = 256, capabilities 88, the configuration,
 * events 6 * POSTIE_SMTP_EVENTS_MAX, the 96-octet error of a refused OAuth
 * token, the line reader and counters). With the defaults: 10 648 octets on
 * Cortex-M4 (8 KiB transmit buffer); 133 704 on x86-64 hosts, whose default
 * transmit buffer is 128 KiB; config/postie_config_small.h makes it 3 608
 * on Cortex-M4. The transmit buffer must also hold the longest OAuth 2.0
 * response (POSTIE_SASL_OAUTH_B64_MAX + 64, 6 936 octets with
 * POSTIE_OAUTH_TOKEN_MAX 4096; checked at build time). The caller also owns
 * the envelope and one postie_smtp_rcpt_t (about 170 octets) per recipient.
 *
 * Thread model: an engine belongs to one thread at a time; engines share
 * nothing, so any number may run in parallel.
 */
#ifndef POSTIE_SMTP_H
#define POSTIE_SMTP_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/smtp/body.h"
#include "postie/common/line.h"
#include "postie/smtp/smtp_reply.h"
#include "postie/common/address.h" /* the engine checks addresses and its EHLO name */
#include "postie/common/sasl.h"
#include "postie/common/status.h"
#include "postie/common/tls_mode.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Configuration ------------------------------------------------------ */

/* The SASL bits (POSTIE_SASL_*) and the log direction come from
 * postie/common/sasl.h, shared with the POP3 and IMAP engines. */

/* Called for every line sent or received (without CRLF), and for a few
 * notes. Credentials are replaced by "<redacted>" before the call. */
typedef postie_log_fn postie_smtp_log_fn;

typedef struct {
    const char *ehlo_name; /* domain or address literal for EHLO (postie_address_check_hostname,
                              checked by postie_smtp_init); NULL: "localhost" */
    postie_tls_mode_t tls_mode;
    bool allow_plaintext_auth; /* send credentials without TLS (default false) */
    const char *username;      /* NULL: no authentication */
    const char *password;      /* caller keeps the strings alive while the engine runs */
    uint32_t sasl_allowed;     /* POSTIE_SASL_* the caller permits; default SUPPORTED */
    /* OAuth 2.0: when oauth_token is set, the engine logs in as username with
     * this access token (NUL-terminated, at most POSTIE_OAUTH_TOKEN_MAX
     * octets) by oauth_mechanism, and by nothing else: password and
     * sasl_allowed are not used. See "OAuth 2.0" below. */
    const char *oauth_token;  /* NULL: password login (PLAIN/LOGIN) */
    uint32_t oauth_mechanism; /* POSTIE_SASL_XOAUTH2 or POSTIE_SASL_OAUTHBEARER */
    const char *oauth_host;   /* OAUTHBEARER host= (the server's name); NULL: left out */
    uint16_t oauth_port;      /* OAUTHBEARER port=; 0: left out */
    bool use_pipelining;      /* default true: pipeline when offered */
    bool use_chunking;        /* default true: BDAT when offered */
    uint32_t timeout_greeting_ms;
    uint32_t timeout_command_ms;
    uint32_t timeout_data_init_ms;
    uint32_t timeout_data_block_ms;
    uint32_t timeout_data_end_ms;
    postie_smtp_log_fn log; /* NULL: no logging */
    void *log_ctx;
} postie_smtp_config_t;

/* Fill cfg with the defaults (POSTIE_SMTP_TIMEOUT_* from config/). */
void postie_smtp_config_defaults(postie_smtp_config_t *cfg);

/* ---- What the server offers --------------------------------------------- */

#define POSTIE_SMTP_CAP_SIZE                0x0001u
#define POSTIE_SMTP_CAP_8BITMIME            0x0002u
#define POSTIE_SMTP_CAP_SMTPUTF8            0x0004u
#define POSTIE_SMTP_CAP_PIPELINING          0x0008u
#define POSTIE_SMTP_CAP_CHUNKING            0x0010u
#define POSTIE_SMTP_CAP_DSN                 0x0020u
#define POSTIE_SMTP_CAP_STARTTLS            0x0040u
#define POSTIE_SMTP_CAP_AUTH                0x0080u
#define POSTIE_SMTP_CAP_ENHANCEDSTATUSCODES 0x0100u
#define POSTIE_SMTP_CAP_BINARYMIME          0x0200u

typedef struct {
    bool esmtp;  /* EHLO accepted (false: HELO fallback, no extensions) */
    bool secure; /* the channel is TLS (implicit or after STARTTLS) */
    bool authenticated;
    uint32_t flags;       /* POSTIE_SMTP_CAP_* */
    uint32_t sasl;        /* POSTIE_SASL_* offered */
    uint64_t size_limit;  /* SIZE parameter; 0 when none was given */
    char server_name[64]; /* first word of the EHLO/HELO reply */
} postie_smtp_caps_t;

/* Write a one-line human summary ("PIPELINING CHUNKING SIZE=10240000 ...").
 * Returns the length written (cut to cap-1). */
size_t postie_smtp_caps_format(const postie_smtp_caps_t *caps, char *out, size_t cap);

/* ---- A message's envelope ----------------------------------------------- */

typedef enum {
    POSTIE_RCPT_PENDING = 0,
    POSTIE_RCPT_ACCEPTED,
    POSTIE_RCPT_REJECTED, /* reply.code tells 4xx (transient) or 5xx */
    POSTIE_RCPT_NOT_TRIED /* the transaction stopped before this RCPT */
} postie_rcpt_state_t;

typedef struct {
    const char *address;       /* caller's string, without angle brackets */
    postie_rcpt_state_t state; /* filled by the engine */
    postie_reply_info_t reply; /* the server's answer to RCPT TO */
} postie_smtp_rcpt_t;

#define POSTIE_DSN_NOTIFY_NEVER   0x01u
#define POSTIE_DSN_NOTIFY_SUCCESS 0x02u
#define POSTIE_DSN_NOTIFY_FAILURE 0x04u
#define POSTIE_DSN_NOTIFY_DELAY   0x08u

typedef enum {
    POSTIE_DSN_RET_DEFAULT = 0,
    POSTIE_DSN_RET_FULL,
    POSTIE_DSN_RET_HDRS
} postie_dsn_ret_t;

typedef struct {
    const char *from;         /* reverse path; "" for the null sender <> */
    postie_smtp_rcpt_t *rcpt; /* caller's array; results are written into it */
    size_t rcpt_count;        /* 1..65535 */
    uint64_t size;            /* message size estimate for SIZE=; 0 unknown */
    bool body_8bit;           /* the message has octets >= 0x80 (needs 8BITMIME) */
    bool smtputf8;            /* UTF-8 headers (needs SMTPUTF8); set automatically for
                                 non-ASCII addresses */
    uint8_t dsn_notify;       /* POSTIE_DSN_NOTIFY_* bits; 0 leaves NOTIFY out */
    postie_dsn_ret_t dsn_ret;
    const char *dsn_envid; /* ENVID (printable ASCII, xtext-encoded on the wire); NULL none */
} postie_smtp_envelope_t;

/* ---- Events ------------------------------------------------------------- */

typedef enum {
    POSTIE_SMTP_EV_NONE = 0,
    POSTIE_SMTP_EV_READY,        /* session set up (EHLO, TLS, AUTH done): send messages */
    POSTIE_SMTP_EV_RCPT,         /* index: envelope.rcpt[index] has its result */
    POSTIE_SMTP_EV_DATA_SENT,    /* the end of the message's data left (see below) */
    POSTIE_SMTP_EV_MESSAGE_DONE, /* status: outcome of the message (see message_result) */
    POSTIE_SMTP_EV_CLOSED,       /* QUIT answered */
    POSTIE_SMTP_EV_FAILED        /* status: the session failed (see postie_smtp_error) */
} postie_smtp_event_type_t;

typedef struct {
    postie_smtp_event_type_t type;
    uint16_t index;
    postie_status_t status;
} postie_smtp_event_t;

/* POSTIE_SMTP_EV_DATA_SENT comes once per message whose body was ended
 * (postie_smtp_body_end), from the postie_smtp_tx_ack that acknowledges
 * the last octet of its data: the final "." line after DATA, or the end of
 * the BDAT LAST chunk. From then on the server may hold the message even
 * if its reply never arrives, so a queue that must not send a message
 * twice notes the moment. It always comes before the message's
 * MESSAGE_DONE. It does not come for a message that ended before its data
 * did (a refused envelope, a lost connection, a refused body octet), nor
 * for the lone "." that closes an empty DATA (RFC 2920 3.1: every
 * recipient refused), which gives the server nothing to deliver. */

/* ---- State bits --------------------------------------------------------- */

#define POSTIE_SMTP_WANT_RX   0x01u /* waiting for server bytes */
#define POSTIE_SMTP_HAVE_TX   0x02u /* bytes to send */
#define POSTIE_SMTP_NEED_TLS  0x04u /* do the TLS handshake now, then tls_done */
#define POSTIE_SMTP_WANT_BODY 0x08u /* give message body bytes */
#define POSTIE_SMTP_READY     0x10u /* idle: a message or QUIT may start */
#define POSTIE_SMTP_EVENT     0x20u /* an event is waiting */
#define POSTIE_SMTP_CLOSED    0x40u /* QUIT answered; close the connection */
#define POSTIE_SMTP_FAILED    0x80u /* session over; postie_smtp_error says why */

/* Internal phases, declared once (name table for logs and tests). */
#define POSTIE_SMTP_PHASES(X) \
    X(GREETING)               \
    X(EHLO)                   \
    X(STARTTLS)               \
    X(TLS_HANDSHAKE)          \
    X(AUTH)                   \
    X(READY)                  \
    X(ENVELOPE)               \
    X(BODY)                   \
    X(BODY_END)               \
    X(RSET)                   \
    X(QUIT)                   \
    X(CLOSED)                 \
    X(FAILED)

typedef enum {
#define POSTIE_SMTP_PHASE_ENUM(name) POSTIE_SMTP_PHASE_##name,
    POSTIE_SMTP_PHASES(POSTIE_SMTP_PHASE_ENUM)
#undef POSTIE_SMTP_PHASE_ENUM
        POSTIE_SMTP_PHASE_COUNT
} postie_smtp_phase_t;

const char *postie_smtp_phase_name(postie_smtp_phase_t phase);

/* A command awaiting its reply. */
typedef struct {
    uint8_t kind;    /* internal command kind */
    uint8_t step;    /* AUTH step; BDAT: bits 16..23 of the chunk's length */
    uint16_t index;  /* recipient index for RCPT; BDAT: bits 0..15 of the chunk's length */
    uint32_t tx_end; /* the command has left once tx_sent reaches this (wrapping) */
} postie_smtp_pending_t;

/* The engine. Treat every field as private; use the functions below. */
typedef struct {
    postie_smtp_config_t cfg;
    postie_smtp_phase_t phase;
    postie_smtp_caps_t caps;      /* cleared when EHLO/HELO is sent, filled as its reply arrives */
    postie_error_t error;         /* why the session failed */
    postie_error_t message_error; /* outcome of the last message */
    char oauth_error[sizeof(((postie_error_t *)0)->subject)]; /* a refused token's JSON */

    postie_line_reader_t rx;
    postie_smtp_reply_t reply;
    postie_reply_info_t cur; /* first line of the reply being read */

    size_t tx_start; /* first octet not yet sent */
    size_t tx_len;   /* octets ready to send end here */

    postie_smtp_pending_t pending[POSTIE_SMTP_PIPELINE_MAX];
    uint16_t pending_head;
    uint16_t pending_count;
    uint16_t pipeline_limit;
    uint32_t wait_since; /* the oldest awaited reply is due wait_since + its timeout */
    uint32_t tx_sent;    /* octets acknowledged by postie_smtp_tx_ack (wrapping count) */

    postie_smtp_event_t events[POSTIE_SMTP_EVENTS_MAX];
    uint16_t ev_head;
    uint16_t ev_count;

    /* the message in progress */
    postie_smtp_envelope_t *env;
    size_t next_rcpt;
    size_t accepted;
    bool mail_sent;
    bool data_sent;       /* DATA sent, or first BDAT started */
    bool data_end_queued; /* the end of the data is in tx_buf: DATA_SENT when it has left */
    uint32_t data_end;    /* ... once tx_sent reaches this (wrapping) */
    bool use_bdat;
    bool body_ended;
    bool message_failed;
    size_t chunk_len;               /* BDAT: body octets gathered after tx_len + header room */
    uint32_t chunks_answered;       /* BDAT chunks of this message answered so far */
    uint64_t chunk_octets_answered; /* ... and the data octets they carried */
    postie_body_encoder_t body;

    uint8_t rx_buf[POSTIE_SMTP_RX_BUFFER_SIZE];
    uint8_t tx_buf[POSTIE_SMTP_TX_BUFFER_SIZE];
} postie_smtp_t;

/* ---- Calls -------------------------------------------------------------- */

/* Prepare an engine; the greeting is awaited from now on. cfg is copied
 * (the strings it points to are not). */
#define postie_smtp_init POSTIE_CONFIGURED(postie_smtp_init)
postie_status_t postie_smtp_init(postie_smtp_t *s, const postie_smtp_config_t *cfg, uint32_t now);

uint32_t postie_smtp_state(const postie_smtp_t *s);
postie_smtp_phase_t postie_smtp_phase(const postie_smtp_t *s);

/* Bytes to send. */
const uint8_t *postie_smtp_tx_buf(const postie_smtp_t *s, size_t *len);
void postie_smtp_tx_ack(postie_smtp_t *s, size_t sent, uint32_t now);

/* Window to receive into, and how many bytes landed there. */
uint8_t *postie_smtp_rx_buf(postie_smtp_t *s, size_t *cap);
postie_status_t postie_smtp_rx_ack(postie_smtp_t *s, size_t got, uint32_t now);
/* The peer closed the connection. */
void postie_smtp_rx_eof(postie_smtp_t *s);
/* The transport failed (reset, TLS error, send timeout): record why. */
void postie_smtp_transport_failed(postie_smtp_t *s, postie_status_t status, const char *what);

/* The TLS handshake the engine asked for succeeded. */
postie_status_t postie_smtp_tls_done(postie_smtp_t *s, uint32_t now);

/* Start a message. env (and the strings and rcpt array it points to) must
 * stay valid until POSTIE_SMTP_EV_MESSAGE_DONE. Checks the addresses first:
 * POSTIE_E_ADDRESS_INVALID etc. leave the session usable. */
postie_status_t postie_smtp_send(postie_smtp_t *s, postie_smtp_envelope_t *env, uint32_t now);

/* Give body bytes (raw RFC 5322 text; line ends are normalised). May take
 * fewer than len; *consumed says how many. An error other than AGAIN ends
 * the message (and for a bad octet, the session: DATA cannot be cancelled). */
postie_status_t postie_smtp_body_write(postie_smtp_t *s, const uint8_t *data, size_t len,
                                       size_t *consumed, uint32_t now);
/* The body is complete. POSTIE_E_AGAIN: send what is buffered first. */
postie_status_t postie_smtp_body_end(postie_smtp_t *s, uint32_t now);

/* End the session politely. */
postie_status_t postie_smtp_quit(postie_smtp_t *s, uint32_t now);

/* Enforce the reply timeouts (RFC 5321 4.5.3.2: greeting, command, DATA
 * initiation, end of data, each from cfg). A reply, every line of a
 * multi-line reply included, must be complete within its timeout, counted
 * from when it was awaited: when its command has left (postie_smtp_tx_ack)
 * or the reply before it completed, whichever is later. Received bytes do
 * not extend it. Once expired, and while nothing is left to send, the
 * session fails with POSTIE_E_TIMEOUT; the error's phase names the command
 * ("greeting", "EHLO", "DATA", "end of data (final dot)", "BDAT LAST"...)
 * and its subject the timeout. */
postie_status_t postie_smtp_poll(postie_smtp_t *s, uint32_t now);
/* Milliseconds left until the awaited reply is late: how long a receive may
 * wait. It shrinks while the reply trickles in; 0 means call poll now.
 * UINT32_MAX: no reply is awaited. */
uint32_t postie_smtp_timeout_ms(const postie_smtp_t *s, uint32_t now);
/* How long one send may take (the data-block timeout while sending a body). */
uint32_t postie_smtp_send_timeout_ms(const postie_smtp_t *s);

bool postie_smtp_next_event(postie_smtp_t *s, postie_smtp_event_t *ev);

/* What the server offered in its EHLO (or HELO) reply, and whether the
 * channel is secure and authenticated. Complete once that reply is answered
 * (the engine moves on to STARTTLS, AUTH or READY); while it arrives the
 * record is being filled, and after STARTTLS it starts again empty. */
const postie_smtp_caps_t *postie_smtp_caps(const postie_smtp_t *s);
/* Why the session failed (status POSTIE_OK while it has not). */
const postie_error_t *postie_smtp_error(const postie_smtp_t *s);
/* Outcome of the last message: status, the final reply (or the reply that
 * ended it) and the phase it ended in. */
const postie_error_t *postie_smtp_message_result(const postie_smtp_t *s);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SMTP_H */
