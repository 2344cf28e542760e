/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POP3 client engine, sans-IO (RFC 1939, 2449, 2595, 5034, 4616).
 *
 * A mailbox engine (postie/common/mailbox.h) with the shape of the SMTP
 * engine: it never touches a socket, a clock or the heap. A driver moves
 * bytes between it and a transport, and tells it the time:
 *
 *   postie_pop3_init(p, &cfg); postie_pop3_start(p, now)
 *   state = postie_pop3_state(p)
 *   EVENT     -> postie_pop3_next_event(p, &ev)
 *   FAILED    -> postie_pop3_error(p) says why; close the connection
 *   CLOSED    -> QUIT answered; close the connection
 *   HAVE_TX   -> postie_pop3_tx_buf(p, &len); send; postie_pop3_tx_ack(p, sent, now)
 *   NEED_TLS  -> (once HAVE_TX is clear) handshake; postie_pop3_tls_done(p, now)
 *   WANT_RX   -> postie_pop3_rx_buf(p, &cap); recv; postie_pop3_rx_ack(p, got, now)
 *                (on EOF: postie_pop3_rx_eof(p))
 *   READY     -> postie_pop3_list / retrieve / remove / finish
 *   and while waiting, postie_pop3_poll(p, now) enforces the timeouts
 *   (postie_pop3_timeout_ms says how long a receive may wait).
 * Serve the bits in that order, as port/common/driver.c does.
 *
 * Time: every `now` is a millisecond tick from a monotonic clock (any
 * origin; it may wrap at 2^32, differences are taken modulo 2^32).
 *
 * Session (open): the greeting (+OK; an APOP timestamp <...> is kept),
 * CAPA (an -ERR means an old server without extensions), STLS as tls_mode
 * says, then one login: APOP when use_apop is set and the greeting carried
 * a timestamp; else AUTH PLAIN when offered (SASL in CAPA) and allowed by
 * sasl_allowed, with the initial response on the AUTH line (RFC 5034) when
 * it fits in 255 octets, else after the "+ " continuation; else USER/PASS
 * (when CAPA failed or lists USER). Then STAT, and POSTIE_MAILBOX_EV_READY.
 * No username: no login and no STAT (CAPA only; for a capability probe).
 *
 * OAuth 2.0: with cfg.oauth_token the login is AUTH with oauth_mechanism
 * (XOAUTH2 or OAUTHBEARER) and nothing else, only when CAPA's SASL line
 * lists that mechanism (otherwise POSTIE_E_AUTH_NO_MECHANISM naming it). The
 * initial response rides on the AUTH line when the line fits 255 octets
 * (RFC 5034 4), else follows the server's "+ ". A server refusing the token
 * sends "+ " and base64 JSON; the engine answers it (XOAUTH2: an empty line;
 * OAUTHBEARER: "AQ==", RFC 7628 3.2.3) and the -ERR that follows ends the
 * session with POSTIE_E_TOKEN_REJECTED, the error's subject the decoded
 * JSON ("invalid_token: {...}"; "" without a challenge), its phase
 * "AUTH XOAUTH2" or "AUTH OAUTHBEARER". -ERR [LOGIN-DELAY], [IN-USE] and
 * [SYS/TEMP] keep their statuses below; an -ERR before the token left (to
 * AUTH without an initial response) is POSTIE_E_AUTH_FAILED. The log shows
 * the response redacted.
 *
 * Commands (postie/common/mailbox.h): list sends LIST (want SIZE) and UIDL
 * (want UIDL), in one flight when the server offers PIPELINING; retrieve
 * sends RETR n and streams the message, dot-unstuffed, CRLF line ends as
 * sent, to the data callback (no line length limit: long lines stream in
 * pieces); remove sends DELE n; finish sends QUIT (the server deletes then).
 *
 * Pipelining: with PIPELINING offered and use_pipelining set, READY stays
 * set while fewer than POSTIE_POP3_PIPELINE_MAX commands await responses
 * (list takes two when it wants both SIZE and UIDL); completion events come
 * in the order the commands were started. Without it, one at a time: READY
 * means nothing is outstanding.
 *
 * Errors: every failure ends the session (FAILED, POSTIE_MAILBOX_EV_FAILED).
 * The error record names the step ("greeting", "CAPA", "STLS", "AUTH PLAIN",
 * "APOP", "USER", "PASS", "STAT", "LIST", "UIDL", "RETR 3", "DELE 3",
 * "QUIT") and keeps the server's text (reply.code 0: POP3 has no codes).
 *   -ERR to a login         POSTIE_E_AUTH_FAILED
 *   -ERR [IN-USE] / [SYS/TEMP] (RFC 2449/3206) anywhere: POSTIE_E_MAILBOX_IN_USE
 *                           (transient); [AUTH]: POSTIE_E_AUTH_FAILED;
 *                           [LOGIN-DELAY]: POSTIE_E_AUTH_TEMPORARY
 *   -ERR elsewhere          POSTIE_E_COMMAND_REFUSED (STLS with TLS required:
 *                           POSTIE_E_STARTTLS_REFUSED)
 *   neither +OK nor -ERR, a bad LIST/UIDL line (number 0, not digits,
 *   overflow, out of order, duplicate, beyond the STAT count), a UIDL out
 *   of 0x21..0x7E or over 70 octets: POSTIE_E_REPLY_MALFORMED
 *   a line over POSTIE_POP3_LINE_MAX: POSTIE_E_REPLY_LINE_TOO_LONG
 *   NUL, a bare CR or LF (in message data too): POSTIE_E_REPLY_MALFORMED
 *   a message over size_max (announced in "+OK n octets" or received):
 *                           POSTIE_E_MESSAGE_TOO_LARGE
 *   RETR data that ends before ".\r\n" (EOF, reset, timeout):
 *                           POSTIE_E_MESSAGE_TRUNCATED (never RETRIEVED)
 *   a timeout elsewhere     POSTIE_E_TIMEOUT; EOF elsewhere
 *                           POSTIE_E_CONNECTION_CLOSED (also before the +OK to
 *                           QUIT: whether the server made the deletions is then
 *                           not known, so it is not reported CLOSED)
 *   a callback's status     that status (step "listing" or "storing the message")
 * The step is a static string (phase); for RETR and DELE the subject starts
 * with the message number ("message 3: connection closed before the final
 * dot"). reply.enhanced holds the RFC 2449 response code ("IN-USE").
 *
 * Security: with STLS required (the default), nothing but CAPA and STLS
 * is sent before the handshake, and the session stops before any
 * credential when STLS is not offered (POSTIE_E_STARTTLS_UNAVAILABLE);
 * bytes that arrive after the +OK to STLS and before the handshake abort
 * it (POSTIE_E_STARTTLS_INJECTION); after the handshake the capabilities
 * are forgotten and CAPA is sent again. No login of any kind (APOP, AUTH,
 * USER/PASS) over a clear channel unless allow_plaintext_auth is set
 * (POSTIE_E_AUTH_CLEARTEXT_REFUSED). The log callback never sees a
 * password, an AUTH response or an APOP digest.
 *
 * RAM: sizeof(postie_pop3_t) = POSTIE_POP3_RX_BUFFER_SIZE +
 * POSTIE_POP3_TX_BUFFER_SIZE + about 1.4 KiB (48 octets per pipeline slot,
 * 12 per event, the error record, the info record with its capability
 * line, the APOP timestamp, a ranged listing's bounds, the error of a
 * refused OAuth token). With the defaults: 15 048 octets on x86-64 (a
 * pipeline of 32 on hosts), 13 736 on Cortex-M4 (8), of which an 8 KiB
 * transmit buffer sized for the longest OAuth 2.0 response
 * (POSTIE_OAUTH_TOKEN_MAX 4096; about 7 KiB less with the 1 KiB buffer a
 * build without OAuth may set). Nothing else: message data streams
 * through.
 *
 * Thread model: an engine belongs to one thread at a time; engines share
 * nothing, so any number may run in parallel.
 */
#ifndef POSTIE_POP3_H
#define POSTIE_POP3_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/line.h"
#include "postie/common/mailbox.h"
#include "postie/common/sasl.h"
#include "postie/common/status.h"
#include "postie/common/tls_mode.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Configuration ------------------------------------------------------ */

typedef struct {
    postie_tls_mode_t tls_mode; /* default POSTIE_TLS_STARTTLS_REQUIRED */
    bool allow_plaintext_auth;  /* log in without TLS (default false) */
    const char *username;       /* NULL: no login (CAPA only, then READY) */
    const char *password;       /* caller keeps the strings alive while the engine runs */
    uint32_t sasl_allowed;      /* POSTIE_SASL_* the caller permits for AUTH; default
                                   POSTIE_SASL_PLAIN (0: never AUTH; APOP or USER/PASS) */
    /* OAuth 2.0: when oauth_token is set, the engine logs in as username with
     * this access token (NUL-terminated, at most POSTIE_OAUTH_TOKEN_MAX octets)
     * by AUTH oauth_mechanism and by nothing else (no APOP, USER/PASS or
     * PLAIN; password may be NULL). See "OAuth 2.0" above. */
    const char *oauth_token;      /* NULL: password login */
    uint32_t oauth_mechanism;     /* POSTIE_SASL_XOAUTH2 or POSTIE_SASL_OAUTHBEARER */
    const char *oauth_host;       /* OAUTHBEARER host= (the server's name); NULL: left out */
    uint16_t oauth_port;          /* OAUTHBEARER port=; 0: left out */
    bool use_apop;                /* default false: APOP when the greeting has a timestamp */
    bool use_pipelining;          /* default true: pipeline when offered */
    uint32_t timeout_greeting_ms; /* see POSTIE_POP3_TIMEOUT_* */
    uint32_t timeout_command_ms;
    uint32_t timeout_data_ms;
    postie_log_fn log; /* NULL: no logging */
    void *log_ctx;
} postie_pop3_config_t;

/* Fill cfg with the defaults (POSTIE_POP3_TIMEOUT_* from config/). */
void postie_pop3_config_defaults(postie_pop3_config_t *cfg);

/* ---- What the server offers (CAPA) -------------------------------------- */

#define POSTIE_POP3_CAP_CAPA       0x0001u /* CAPA answered +OK */
#define POSTIE_POP3_CAP_STLS       0x0002u
#define POSTIE_POP3_CAP_USER       0x0004u
#define POSTIE_POP3_CAP_SASL       0x0008u
#define POSTIE_POP3_CAP_UIDL       0x0010u
#define POSTIE_POP3_CAP_PIPELINING 0x0020u
#define POSTIE_POP3_CAP_TOP        0x0040u
#define POSTIE_POP3_CAP_RESP_CODES 0x0080u
#define POSTIE_POP3_CAP_AUTH_RESP  0x0100u /* AUTH-RESP-CODE */
#define POSTIE_POP3_CAP_APOP       0x0200u /* the greeting carried a timestamp */

typedef struct {
    uint32_t flags; /* POSTIE_POP3_CAP_* */
    uint32_t sasl;  /* POSTIE_SASL_* offered in the SASL line */
} postie_pop3_caps_t;

/* ---- Events ------------------------------------------------------------- */

/* type is a postie_mailbox_event_type_t. id: the message number for
 * RETRIEVED and REMOVED, else 0. status: POSTIE_OK, or why for FAILED. */
typedef struct {
    postie_mailbox_event_type_t type;
    uint32_t id;
    postie_status_t status;
} postie_pop3_event_t;

/* ---- State bits (the driver's POSTIE_ENGINE_* values) ------------------- */

#define POSTIE_POP3_WANT_RX  0x01u /* waiting for server bytes */
#define POSTIE_POP3_HAVE_TX  0x02u /* bytes to send */
#define POSTIE_POP3_NEED_TLS 0x04u /* do the TLS handshake now, then tls_done */
#define POSTIE_POP3_READY    0x10u /* a command (list, retrieve, remove, finish) may start */
#define POSTIE_POP3_EVENT    0x20u /* an event is waiting */
#define POSTIE_POP3_CLOSED   0x40u /* QUIT answered; close the connection */
#define POSTIE_POP3_FAILED   0x80u /* session over; postie_pop3_error says why */

/* Internal phases, declared once (name table for logs and tests). */
#define POSTIE_POP3_PHASES(X) \
    X(IDLE)                   \
    X(GREETING)               \
    X(CAPA)                   \
    X(STLS)                   \
    X(TLS_HANDSHAKE)          \
    X(LOGIN)                  \
    X(STAT)                   \
    X(READY)                  \
    X(QUIT)                   \
    X(CLOSED)                 \
    X(FAILED)

typedef enum {
#define POSTIE_POP3_PHASE_ENUM(name) POSTIE_POP3_PHASE_##name,
    POSTIE_POP3_PHASES(POSTIE_POP3_PHASE_ENUM)
#undef POSTIE_POP3_PHASE_ENUM
        POSTIE_POP3_PHASE_COUNT
} postie_pop3_phase_t;

const char *postie_pop3_phase_name(postie_pop3_phase_t phase);

/* A command awaiting its response. */
typedef struct {
    uint8_t kind;    /* internal command kind */
    uint8_t step;    /* SASL step */
    uint32_t id;     /* message number (RETR, DELE), first id wanted (LIST, UIDL) */
    uint32_t tx_end; /* the command has left once tx_sent reaches this (wrapping) */
    uint64_t size_max;
    postie_mailbox_item_fn item_fn;
    postie_mailbox_data_fn data_fn;
    void *ctx;
} postie_pop3_pending_t;

/* The engine. Treat every field as private; use the functions below. */
typedef struct {
    postie_pop3_config_t cfg;
    postie_pop3_phase_t phase;
    postie_pop3_caps_t caps;
    postie_pop3_caps_t caps_next; /* built while a CAPA answer arrives */
    postie_mailbox_info_t info;
    postie_error_t error;
    char apop_stamp[128]; /* the greeting's <...> timestamp, "" when none */
    char oauth_error[sizeof(((postie_error_t *)0)->subject)]; /* a refused token's JSON */
    char alert[POSTIE_REPLY_TEXT_MAX];

    postie_line_reader_t rx;
    bool logged_in;    /* the login succeeded: mailbox commands may start */
    bool list_open;    /* a LIST whose UIDL is still to be sent, or a ranged listing: nothing
                          may come between */
    bool multi;        /* inside a multi-line answer (after its +OK) */
    uint8_t data_st;   /* RETR data: where in a line the reader is */
    uint64_t received; /* RETR data: octets given to the callback */
    uint32_t last_id;  /* LIST/UIDL: the last number seen, for the order check */
    uint32_t lines;    /* lines of the current multi-line answer */

    size_t tx_start;  /* first octet not yet sent */
    size_t tx_len;    /* octets ready to send end here */
    uint32_t tx_sent; /* octets acknowledged (wrapping count) */

    postie_pop3_pending_t pending[POSTIE_POP3_PIPELINE_MAX];
    uint16_t pending_head;
    uint16_t pending_count;
    uint16_t pipeline_limit;
    uint32_t wait_since; /* the oldest awaited response is due wait_since + its timeout */

    postie_pop3_event_t events[POSTIE_POP3_EVENTS_MAX];
    uint16_t ev_head;
    uint16_t ev_count;

    /* a ranged listing (postie_pop3_list_range): LIST n / UIDL n */
    bool ranging;
    bool rng_uidl_next; /* the next command is UIDL rng_next (its LIST went) */
    uint32_t rng_next;  /* the next message number to ask for */
    uint32_t rng_end;   /* the last one */
    uint32_t rng_want;
    postie_mailbox_item_fn rng_fn;
    void *rng_ctx;

    uint8_t rx_buf[POSTIE_POP3_RX_BUFFER_SIZE];
    uint8_t tx_buf[POSTIE_POP3_TX_BUFFER_SIZE];
} postie_pop3_t;

/* ---- Calls -------------------------------------------------------------- */

/* Prepare an engine. cfg is copied (the strings it points to are not).
 * POSTIE_E_INVALID_ARGUMENT (and FAILED) for a username without a
 * password, or a field longer than POSTIE_AUTH_FIELD_MAX or holding CR, LF
 * or NUL... (checked here, so no command line can be split). */
#define postie_pop3_init POSTIE_POP3_CONFIGURED(postie_pop3_init)
postie_status_t postie_pop3_init(postie_pop3_t *p, const postie_pop3_config_t *cfg);

/* Open the session: the greeting is awaited from now on, and CAPA, STLS,
 * the login and STAT follow; POSTIE_MAILBOX_EV_READY when done.
 * POSTIE_E_BAD_STATE when already started. */
postie_status_t postie_pop3_start(postie_pop3_t *p, uint32_t now);

uint32_t postie_pop3_state(const postie_pop3_t *p);
postie_pop3_phase_t postie_pop3_phase(const postie_pop3_t *p);

/* Bytes to send. */
const uint8_t *postie_pop3_tx_buf(const postie_pop3_t *p, size_t *len);
void postie_pop3_tx_ack(postie_pop3_t *p, size_t sent, uint32_t now);

/* Window to receive into, and how many bytes landed there. */
uint8_t *postie_pop3_rx_buf(postie_pop3_t *p, size_t *cap);
postie_status_t postie_pop3_rx_ack(postie_pop3_t *p, size_t got, uint32_t now);
/* The peer closed the connection (after QUIT: CLOSED; during RETR data:
 * POSTIE_E_MESSAGE_TRUNCATED; else POSTIE_E_CONNECTION_CLOSED). */
void postie_pop3_rx_eof(postie_pop3_t *p);
/* The transport failed (reset, TLS error, send timeout): record why (during
 * RETR data the status becomes POSTIE_E_MESSAGE_TRUNCATED, what says why). */
void postie_pop3_transport_failed(postie_pop3_t *p, postie_status_t status, const char *what);

/* The TLS handshake the engine asked for succeeded. */
postie_status_t postie_pop3_tls_done(postie_pop3_t *p, uint32_t now);

/* The mailbox commands (postie/common/mailbox.h has the contract). Each
 * returns POSTIE_OK when started, POSTIE_E_BAD_STATE when not READY,
 * POSTIE_E_INVALID_ARGUMENT for id 0, an id over the STAT count, or no
 * callback. fn and ctx must stay valid until the command's event. */
postie_status_t postie_pop3_list(postie_pop3_t *p, uint32_t from_id, uint32_t want,
                                 postie_mailbox_item_fn fn, void *ctx, uint32_t now);
/* Only messages from_id..from_id+count-1 (up to the STAT count; count 0:
 * as postie_pop3_list): C: LIST 33  S: +OK 33 4096  C: UIDL 33  S: +OK 33
 * whqtsw..., one pair per message, as many in flight as PIPELINING allows
 * (else one at a time); POSTIE_MAILBOX_EV_LISTED once every answer came
 * (at once when the range is empty). An answer for another number, or one
 * that does not parse, is POSTIE_E_REPLY_MALFORMED; -ERR fails the
 * session as for LIST. READY stays clear meanwhile. */
postie_status_t postie_pop3_list_range(postie_pop3_t *p, uint32_t from_id, uint32_t count,
                                       uint32_t want, postie_mailbox_item_fn fn, void *ctx,
                                       uint32_t now);
postie_status_t postie_pop3_retrieve(postie_pop3_t *p, uint32_t id, uint64_t size_max,
                                     postie_mailbox_data_fn fn, void *ctx, uint32_t now);
postie_status_t postie_pop3_remove(postie_pop3_t *p, uint32_t id, uint32_t now);
postie_status_t postie_pop3_finish(postie_pop3_t *p, uint32_t now);

/* Enforce the timeouts (see POSTIE_POP3_TIMEOUT_* in config/): once the
 * awaited response is late, and nothing is left to send, the session fails
 * with POSTIE_E_TIMEOUT (POSTIE_E_MESSAGE_TRUNCATED inside RETR data). */
postie_status_t postie_pop3_poll(postie_pop3_t *p, uint32_t now);
/* Milliseconds a receive may wait now; 0: call poll now; UINT32_MAX: no
 * response is awaited. */
uint32_t postie_pop3_timeout_ms(const postie_pop3_t *p, uint32_t now);
/* How long one flight of sends may take (the command timeout). */
uint32_t postie_pop3_send_timeout_ms(const postie_pop3_t *p);

bool postie_pop3_next_event(postie_pop3_t *p, postie_pop3_event_t *ev);

const postie_pop3_caps_t *postie_pop3_caps(const postie_pop3_t *p);
/* What open learned (valid after POSTIE_MAILBOX_EV_READY). */
const postie_mailbox_info_t *postie_pop3_info(const postie_pop3_t *p);
/* Why the session failed (status POSTIE_OK while it has not). */
const postie_error_t *postie_pop3_error(const postie_pop3_t *p);
/* The text of the last POSTIE_MAILBOX_EV_ALERT, NUL-terminated. POP3 has
 * no alerts: this engine raises none, and the text stays "". */
const char *postie_pop3_alert_text(const postie_pop3_t *p);

/* The commands above as the fetch run calls them; e is a postie_pop3_t *. */
extern const postie_mailbox_ops_t postie_pop3_mailbox_ops;

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_POP3_H */
