/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMAP client engine, sans-IO (RFC 9051 / RFC 3501 subset for fetching:
 * RFC 2595 STARTTLS, RFC 4959 SASL-IR, RFC 4616 PLAIN, RFC 7888 LITERAL+ and
 * LITERAL-, RFC 4315 UIDPLUS).
 *
 * The engine never touches a socket, a clock or the heap. A driver moves
 * bytes between it and a transport and tells it the time, exactly as for
 * the SMTP engine (postie/smtp/smtp.h; port/common/driver_imap.c is the
 * glue for the one driver):
 *
 *   state = postie_imap_state(m)
 *   HAVE_TX   -> postie_imap_tx_buf(m, &len); send; postie_imap_tx_ack(m, sent, now)
 *   WANT_RX   -> postie_imap_rx_buf(m, &cap); recv; postie_imap_rx_ack(m, got, now)
 *                (on EOF: postie_imap_rx_eof(m))
 *   NEED_TLS  -> handshake over the same connection; postie_imap_tls_done(m, now)
 *   EVENT     -> postie_imap_next_event(m, &ev)
 *   READY     -> a mailbox command (list, retrieve, remove, finish) may start
 *   FAILED    -> postie_imap_error(m) says why; close the connection
 *   CLOSED    -> LOGOUT answered; close the connection
 *   and, while waiting, postie_imap_poll(m, now) enforces the timeouts
 *   (postie_imap_timeout_ms tells how long a receive may wait).
 * Serve the bits in the driver's order (postie/common/driver.h): events,
 * FAILED/CLOSED, HAVE_TX, NEED_TLS (once HAVE_TX is clear), WANT_RX.
 *
 * The mailbox commands are those of postie/common/mailbox.h, reached through
 * postie_imap_mailbox_ops (or the postie_imap_list/... calls below, which
 * are the same functions); their completions are POSTIE_MAILBOX_EV_* events.
 *
 * Session (postie_imap_start): greeting (OK, PREAUTH or BYE), CAPABILITY
 * (unless the greeting carried it), STARTTLS as configured, login, a fresh
 * CAPABILITY unless the login answer carried one, SELECT of the folder,
 * then POSTIE_MAILBOX_EV_READY with UIDVALIDITY, UIDNEXT and EXISTS in
 * postie_imap_info().
 *
 *   list      C: A0005 UID SEARCH UID 43:*      S: * SEARCH 43 44 47
 *             The SEARCH response is read as it streams, however long (no
 *             UID list is kept in RAM). "43:*" always matches the highest
 *             UID even when it is below 43: UIDs below from_id are dropped.
 *             Without POSTIE_MAIL_ITEM_SIZE the UIDs go to the item
 *             callback as they arrive (a server whose SEARCH answer is not
 *             in ascending order is refused, POSTIE_E_REPLY_MALFORMED).
 *             With it, the sizes come from UID FETCH lo:hi (UID RFC822.SIZE)
 *             over at most POSTIE_IMAP_LIST_WINDOWS UID ranges, each chosen
 *             from the SEARCH answer so it covers about the same number of
 *             messages (at least 512: a small folder takes one command);
 *             FETCH answers come in UID order, so an unordered SEARCH
 *             answer is fine here (one range from its lowest to its
 *             highest UID).
 *   retrieve  C: A0006 UID FETCH 43:45,47 (BODY.PEEK[])
 *             S: * 1 FETCH (UID 43 BODY[] {1234} ...1234 octets... )
 *             S: * 2 FETCH (UID 44 BODY[] {917} ...)   ...   S: A0006 OK
 *             Retrieves started one after the other before the command
 *             leaves (no tx_ack in between) join one UID FETCH over a UID
 *             set, ascending, at most POSTIE_IMAP_SET_MAX, with the same
 *             callback and size_max (each keeps its own callback context);
 *             the server answers a set in message order (which is UID
 *             order), each message goes to its own context and completes
 *             (RETRIEVED, with its UID) when its FETCH response ends,
 *             before the tagged OK. One set at a time: while bodies of a
 *             sent set are due, retrieve is refused (POSTIE_E_BAD_STATE);
 *             a set is refused too when a UID does not fit it (lower than
 *             its last, or the set full) and it cannot start anew. A
 *             message of the set the server does not return (expunged
 *             meanwhile: another of the set comes instead, or the tagged
 *             OK) is POSTIE_E_NOT_FOUND naming its UID; a NO for the
 *             command names the whole set.
 *             Each literal streams to the data callback as it arrives, in
 *             chunks of at most POSTIE_IMAP_RX_BUFFER_SIZE, whatever its
 *             size; BODY.PEEK leaves \Seen alone. A literal larger than
 *             size_max is POSTIE_E_MESSAGE_TOO_LARGE, larger than the
 *             configured literal_max POSTIE_E_LITERAL_TOO_LARGE (before any
 *             octet reaches the callback); a connection that ends inside it
 *             is POSTIE_E_MESSAGE_TRUNCATED; a response that does not go on
 *             properly after it (more data than announced) is
 *             POSTIE_E_SIZE_MISMATCH; a UID the server does not return
 *             (expunged meanwhile) is POSTIE_E_NOT_FOUND.
 *   remove    C: A0007 UID STORE 43:45 +FLAGS.SILENT (\Deleted)
 *             and with UIDPLUS, once the store is answered (never in its
 *             flight: a server may run both at once):
 *                                                C: A0008 UID EXPUNGE 43:45
 *             Removes join a UID set as retrieves do (one set at a time,
 *             refused while one is out); one REMOVED per UID when the
 *             UID EXPUNGE (without UIDPLUS: the UID STORE) is answered.
 *   finish    without UIDPLUS  C: A0009 EXPUNGE   then  C: A0010 LOGOUT
 *             Note: a plain EXPUNGE removes EVERY message flagged \Deleted
 *             in the folder, also those another client flagged; UID EXPUNGE
 *             (UIDPLUS) removes only the UIDs this session removed, at once.
 *             S: * BYE ...   S: A0010 OK  (or the connection closes after BYE)
 *
 * Pipelining (mailbox.h): IMAP tags keep commands apart, so READY is set
 * again while removes and retrieves still await their answers (up to
 * POSTIE_IMAP_PIPELINE_MAX tagged commands); "remove N" and "retrieve N+1"
 * leave in one flight. Completion events of one kind come in the order the
 * commands were started (a retrieve's as its message ends, see above).
 * list and finish run alone: READY stays clear until they end.
 *
 * Untagged responses are handled wherever they arrive, also between the
 * parts of a FETCH answer: EXISTS updates info()->messages, EXPUNGE lowers
 * it, FETCH (FLAGS ...) updates are ignored, [ALERT] queues
 * POSTIE_MAILBOX_EV_ALERT (text in postie_imap_alert_text), BYE ends the
 * session with POSTIE_E_SERVER_SHUTDOWN (transient) unless LOGOUT is in
 * progress.
 *
 * Errors (postie_imap_error): tagged NO is POSTIE_E_COMMAND_REFUSED, or
 * POSTIE_E_MAILBOX_IN_USE with [INUSE] or [UNAVAILABLE], or for LOGIN and
 * AUTHENTICATE POSTIE_E_AUTH_FAILED ([UNAVAILABLE] there:
 * POSTIE_E_AUTH_TEMPORARY), or for SELECT POSTIE_E_FOLDER_NOT_FOUND; tagged
 * BAD is POSTIE_E_REPLY_MALFORMED (the server did not understand us; after
 * an AUTHENTICATE the engine cancelled, POSTIE_E_AUTH_FAILED). The
 * error's phase names the command ("UID FETCH"), its subject the step as
 * sent, without tag or credentials ("UID FETCH 42 (BODY.PEEK[])"), and its
 * reply.text the server's words after the tag ("NO [INUSE] locked");
 * reply.code stays 0 (IMAP has no reply codes). Malformed or unexpected
 * responses, over-long lines (POSTIE_IMAP_LINE_MAX; only a SEARCH answer
 * may be longer, it is streamed), unknown tags and bad literal sizes
 * ({-1}, {99999999999999999999}) are errors too.
 *
 * Security: with STARTTLS required, nothing but CAPABILITY and STARTTLS is
 * sent before the handshake, and a PREAUTH greeting on a clear channel is
 * refused (POSTIE_E_PREAUTH_REFUSED: a PREAUTH session can no longer
 * STARTTLS). Bytes that arrive after the STARTTLS go-ahead and before the
 * handshake abort the session (POSTIE_E_STARTTLS_INJECTION); everything
 * learned before the handshake is forgotten and CAPABILITY asked again.
 * Credentials are refused over a clear channel unless
 * allow_plaintext_auth; LOGINDISABLED is honoured. The log callback never
 * sees a credential.
 *
 * Login: AUTHENTICATE PLAIN when the server offers AUTH=PLAIN and
 * sasl_allowed has POSTIE_SASL_PLAIN (the response on the command line with
 * SASL-IR, else after the "+" continuation); otherwise LOGIN, each value a
 * quoted string ("\\" and "\"" escaped) when it is 7-bit text of at most
 * 128 octets without CR or LF, else a literal: {n+} with LITERAL+ (or
 * LITERAL- up to 4096 octets), else a synchronising {n} that waits for the
 * server's "+".
 *
 * OAuth 2.0: with cfg.oauth_token the engine sends AUTHENTICATE with the
 * mechanism oauth_mechanism names (XOAUTH2 or OAUTHBEARER) only if the
 * server offers AUTH= for it; otherwise POSTIE_E_AUTH_NO_MECHANISM naming
 * it, never another mechanism or LOGIN. The response rides on the command
 * with SASL-IR (RFC 4959), else follows the "+" continuation. A server
 * refusing the token sends "+ " and the base64 of a JSON object; the engine
 * answers it as the mechanism requires (XOAUTH2: an empty line;
 * OAUTHBEARER: "AQ==", RFC 7628 3.2.3) and
 * the tagged NO that follows ends the session with POSTIE_E_TOKEN_REJECTED,
 * the error's reply text the NO's and its subject the decoded JSON
 * ("invalid_token: {...}", postie_sasl_oauth_error_subject; "" when the
 * server refused without a challenge). NO [UNAVAILABLE] is
 * POSTIE_E_AUTH_TEMPORARY; a NO before the token left (to AUTHENTICATE
 * without SASL-IR, before the "+") is POSTIE_E_AUTH_FAILED. The log shows
 * the response redacted.
 *
 * Folder: NULL or "" selects INBOX. Other names are sent as an atom when
 * they are plain ASCII atom characters, else as a quoted string; non-ASCII
 * names (UTF-8) are encoded in modified UTF-7 (RFC 3501 5.1.3), and so is
 * "&" ("&-"). init refuses a folder name that is not valid UTF-8
 * (POSTIE_E_UTF8_INVALID), holds CR, LF, NUL or another control character
 * (POSTIE_E_FIELD_INVALID) or passes POSTIE_IMAP_FOLDER_MAX octets
 * (POSTIE_E_FIELD_TOO_LONG); the error's subject says "folder".
 *
 * Timeouts: the greeting within timeout_greeting_ms; every other response,
 * all its lines, within timeout_command_ms from when it was awaited (its
 * command has left, or the response before it completed), received bytes
 * do not extend it; except while a message literal streams: then the
 * deadline is timeout_data_ms after the last literal octets arrived, so a
 * large message may take as long as it keeps moving.
 *
 * RAM: sizeof(postie_imap_t) = POSTIE_IMAP_RX_BUFFER_SIZE +
 * POSTIE_IMAP_TX_BUFFER_SIZE + about 1.8 KiB (the configuration, the
 * pipeline of POSTIE_IMAP_PIPELINE_MAX commands, the event ring, the list
 * windows, the UID sets of POSTIE_IMAP_SET_MAX retrieves and removes, info,
 * error and alert text, the error of a refused OAuth token). With the
 * defaults: 17 896 octets on x86-64 (UID sets of 256 on hosts), 14 064
 * on Cortex-M4 (32)
 * (boards/cortex-m4/build.sh prints it), of which an 8 KiB transmit
 * buffer sized for AUTHENTICATE with the longest OAuth 2.0 token
 * (POSTIE_OAUTH_TOKEN_MAX 4096; about 6 KiB less with the 2 KiB buffer a
 * build without OAuth may set).
 *
 * Thread model: an engine belongs to one thread at a time; engines share
 * nothing, so any number may run in parallel.
 */
#ifndef POSTIE_IMAP_H
#define POSTIE_IMAP_H

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
    bool allow_plaintext_auth;  /* send credentials without TLS (default false) */
    const char *username;       /* NULL: no login (only a PREAUTH server will do) */
    const char *password;       /* caller keeps the strings alive while the engine runs */
    uint32_t sasl_allowed;      /* POSTIE_SASL_* for AUTHENTICATE; default PLAIN. LOGIN is
                                   the fallback when no allowed mechanism is offered */
    /* OAuth 2.0: when oauth_token is set, the engine logs in as username with
     * this access token (NUL-terminated, at most POSTIE_OAUTH_TOKEN_MAX octets)
     * by AUTHENTICATE oauth_mechanism and by nothing else (no LOGIN, no
     * PLAIN; password may be NULL). See "OAuth 2.0" above. */
    const char *oauth_token;  /* NULL: password login */
    uint32_t oauth_mechanism; /* POSTIE_SASL_XOAUTH2 or POSTIE_SASL_OAUTHBEARER */
    const char *oauth_host;   /* OAUTHBEARER host= (the server's name); NULL: left out */
    uint16_t oauth_port;      /* OAUTHBEARER port=; 0: left out */
    const char *folder;       /* UTF-8 folder name; NULL or "": INBOX */
    uint32_t timeout_greeting_ms;
    uint32_t timeout_command_ms;
    uint32_t timeout_data_ms; /* silence allowed while a message literal streams */
    uint64_t literal_max;     /* largest literal accepted, octets; 0: POSTIE_IMAP_LITERAL_MAX */
    postie_log_fn log;        /* NULL: no logging */
    void *log_ctx;
} postie_imap_config_t;

/* Fill cfg with the defaults (POSTIE_IMAP_* from config/). */
void postie_imap_config_defaults(postie_imap_config_t *cfg);

/* ---- What the server offers --------------------------------------------- */

#define POSTIE_IMAP_CAP_IMAP4REV1     0x0001u
#define POSTIE_IMAP_CAP_IMAP4REV2     0x0002u
#define POSTIE_IMAP_CAP_STARTTLS      0x0004u
#define POSTIE_IMAP_CAP_LOGINDISABLED 0x0008u
#define POSTIE_IMAP_CAP_SASL_IR       0x0010u
#define POSTIE_IMAP_CAP_LITERAL_PLUS  0x0020u
#define POSTIE_IMAP_CAP_LITERAL_MINUS 0x0040u
#define POSTIE_IMAP_CAP_UIDPLUS       0x0080u
#define POSTIE_IMAP_CAP_IDLE          0x0100u

typedef struct {
    bool secure;        /* the channel is TLS (implicit or after STARTTLS) */
    bool authenticated; /* logged in, or PREAUTH */
    bool known;         /* a CAPABILITY answer was seen since the last reset */
    uint32_t flags;     /* POSTIE_IMAP_CAP_* */
    uint32_t sasl;      /* POSTIE_SASL_* offered (AUTH=...) */
} postie_imap_caps_t;

/* ---- Events ------------------------------------------------------------- */

typedef struct {
    postie_mailbox_event_type_t type;
    uint32_t id; /* the UID for RETRIEVED and REMOVED, else 0 */
    postie_status_t status;
} postie_imap_event_t;

/* ---- State bits (the driver's POSTIE_ENGINE_* values) -------------------- */

#define POSTIE_IMAP_WANT_RX  0x01u /* waiting for server bytes */
#define POSTIE_IMAP_HAVE_TX  0x02u /* bytes to send */
#define POSTIE_IMAP_NEED_TLS 0x04u /* do the TLS handshake now, then tls_done */
#define POSTIE_IMAP_READY    0x10u /* a mailbox command may start */
#define POSTIE_IMAP_EVENT    0x20u /* an event is waiting */
#define POSTIE_IMAP_CLOSED   0x40u /* LOGOUT answered; close the connection */
#define POSTIE_IMAP_FAILED   0x80u /* session over; postie_imap_error says why */

/* Internal states, declared once (name table for logs and tests). */
#define POSTIE_IMAP_STATES(X) \
    X(IDLE)                   \
    X(GREETING)               \
    X(CAPABILITY)             \
    X(STARTTLS)               \
    X(TLS_HANDSHAKE)          \
    X(LOGIN)                  \
    X(SELECT)                 \
    X(READY)                  \
    X(LIST_SEARCH)            \
    X(LIST_FETCH)             \
    X(FINISH)                 \
    X(CLOSED)                 \
    X(FAILED)

typedef enum {
#define POSTIE_IMAP_STATE_ENUM(name) POSTIE_IMAP_STATE_##name,
    POSTIE_IMAP_STATES(POSTIE_IMAP_STATE_ENUM)
#undef POSTIE_IMAP_STATE_ENUM
        POSTIE_IMAP_STATE_COUNT
} postie_imap_state_t;

const char *postie_imap_state_name(postie_imap_state_t state);

/* A tagged command awaiting its completion. Private. */
typedef struct {
    uint8_t kind;    /* internal command kind */
    uint8_t step;    /* continuation step (LOGIN literals, AUTHENTICATE); UID sets: whose */
    bool done;       /* completed OK ahead of an older command */
    uint32_t tag;    /* the number in the tag "A0042" */
    uint32_t uid;    /* a message of a UID set (in errors); list windows: low end */
    uint32_t uid_hi; /* list windows: high end */
    uint32_t tx_end; /* the command has left once tx_sent reaches this (wrapping) */
} postie_imap_pending_t;

/* The engine. Treat every field as private; use the functions below. */
typedef struct {
    postie_imap_config_t cfg;
    postie_imap_state_t state;
    postie_imap_caps_t caps;
    postie_mailbox_info_t info;
    postie_error_t error;
    char alert[POSTIE_REPLY_TEXT_MAX];
    char oauth_error[sizeof(((postie_error_t *)0)->subject)]; /* a refused token's JSON */

    postie_line_reader_t rx;
    size_t tx_start; /* first octet not yet sent */
    size_t tx_len;   /* octets ready to send end here */
    uint32_t tx_sent;
    uint32_t next_tag;

    postie_imap_pending_t pending[POSTIE_IMAP_PIPELINE_MAX];
    uint16_t pending_head;
    uint16_t pending_count;
    uint32_t wait_since;
    uint32_t last_now; /* the latest time the engine was told */

    postie_imap_event_t events[POSTIE_IMAP_EVENTS_MAX];
    uint16_t ev_head;
    uint16_t ev_count;

    /* the response being read */
    uint8_t resp;          /* what kind of response continues after a literal */
    uint8_t fx_state;      /* FETCH parser state */
    uint16_t fx_depth;     /* parenthesis depth of a skipped value */
    bool line_part;        /* inside a line that arrives in parts (SEARCH) */
    bool have_uidvalidity; /* SELECT gave UIDVALIDITY */
    bool starttls_refused; /* opportunistic STARTTLS was refused: go on in clear */
    uint8_t fx_item;       /* FETCH item whose value comes next */
    bool fx_after_body;    /* the literal just read was BODY[] */
    bool fx_mismatch;      /* the segment after a message literal is being read */
    bool in_literal;       /* counted mode: literal_left octets follow */
    bool literal_body;     /* ... and they are the message of the oldest retrieve */
    uint64_t literal_left; /* octets of the literal still to come */
    uint32_t fx_uid;       /* UID seen in the current FETCH response */
    uint64_t fx_size;      /* RFC822.SIZE seen in the current FETCH response */
    uint32_t fx_have;      /* which of the two were seen */
    uint32_t fx_body;      /* tag of the retrieve set the body belongs to (0: none) */
    uint64_t search_num;   /* SEARCH number being read across parts */
    uint8_t search_digits; /* its digits so far */
    bool search_stop;      /* rest of the SEARCH line is not numbers */
    uint32_t last_data_ms; /* when literal octets last arrived */

    /* removes: with UIDPLUS each UID EXPUNGE waits for its UID STORE's OK
     * (sent together, a server may run them concurrently and leave the
     * message flagged but not expunged); finish waits for the last one */
    uint16_t expunges_owed;
    bool finish_waiting;

    /* The UID set of the retrieves (one UID FETCH ... (BODY.PEEK[])) and of
     * the removes (one UID STORE, then one UID EXPUNGE). A set grows while
     * its command is the newest and has not left (open_kind); one set of
     * each kind at a time. */
    uint8_t open_kind;   /* CMD_FETCH_BODY or CMD_STORE while growing, else 0 */
    bool open_logged;    /* the growing command was logged already */
    size_t open_at;      /* where it starts in tx_buf */
    uint16_t fetch_n;    /* UIDs in the retrieve set */
    uint16_t fetch_next; /* the next one whose BODY[] is due */
    uint64_t fetch_size_max;
    postie_mailbox_data_fn fetch_fn;
    uint32_t fetch_uid[POSTIE_IMAP_SET_MAX];
    void *fetch_ctx[POSTIE_IMAP_SET_MAX];
    uint16_t rm_n;        /* UIDs in the remove set (0: none in flight) */
    uint16_t rm_reported; /* REMOVED events given for it */
    uint32_t rm_uid[POSTIE_IMAP_SET_MAX];

    /* list in progress */
    postie_mailbox_item_fn item_fn;
    void *item_ctx;
    uint32_t list_from;
    uint32_t list_want;
    uint32_t list_count; /* UIDs the SEARCH answer gave (>= from) */
    uint32_t list_last;  /* highest UID reported so far */
    uint32_t list_prev;  /* the SEARCH answer's previous UID */
    uint32_t list_min;
    uint32_t list_max;
    bool list_sorted;
    uint32_t list_step; /* a window boundary every list_step UIDs */
    uint16_t list_nbounds;
    uint16_t list_window; /* next window to fetch */
    uint32_t list_bounds[POSTIE_IMAP_LIST_WINDOWS];

    uint8_t rx_buf[POSTIE_IMAP_RX_BUFFER_SIZE];
    uint8_t tx_buf[POSTIE_IMAP_TX_BUFFER_SIZE];
} postie_imap_t;

/* ---- Calls -------------------------------------------------------------- */

/* Prepare an engine (nothing happens until postie_imap_start). cfg is
 * copied (the strings it points to are not: keep them alive). Checks the
 * configuration: POSTIE_E_INVALID_ARGUMENT (a password without user name
 * or the reverse, a credential longer than
 * POSTIE_AUTH_FIELD_MAX), or the folder errors above; the error record
 * says which field. */
#define postie_imap_init \
    POSTIE_CFG_PASTE(POSTIE_CONFIGURED(postie_imap_init), POSTIE_CONFIG_IMAP_TAG)
postie_status_t postie_imap_init(postie_imap_t *m, const postie_imap_config_t *cfg);

/* Open the session: await the greeting from now on (the connection is
 * made). POSTIE_E_BAD_STATE when already started or init failed. */
postie_status_t postie_imap_start(postie_imap_t *m, uint32_t now);

uint32_t postie_imap_state(const postie_imap_t *m);
postie_imap_state_t postie_imap_current_state(const postie_imap_t *m);

/* Bytes to send. */
const uint8_t *postie_imap_tx_buf(const postie_imap_t *m, size_t *len);
void postie_imap_tx_ack(postie_imap_t *m, size_t sent, uint32_t now);

/* Window to receive into, and how many bytes landed there. */
uint8_t *postie_imap_rx_buf(postie_imap_t *m, size_t *cap);
postie_status_t postie_imap_rx_ack(postie_imap_t *m, size_t got, uint32_t now);
/* The peer closed the connection. */
void postie_imap_rx_eof(postie_imap_t *m);
/* The transport failed (reset, TLS error, send timeout): record why. */
void postie_imap_transport_failed(postie_imap_t *m, postie_status_t status, const char *what);

/* The TLS handshake the engine asked for succeeded. */
postie_status_t postie_imap_tls_done(postie_imap_t *m, uint32_t now);

/* Enforce the timeouts (see above); POSTIE_E_TIMEOUT once one passed. */
postie_status_t postie_imap_poll(postie_imap_t *m, uint32_t now);
/* Milliseconds a receive may wait now (0: call poll); UINT32_MAX: nothing
 * is awaited. */
uint32_t postie_imap_timeout_ms(const postie_imap_t *m, uint32_t now);
/* How long one flight of sends may take (the command timeout). */
uint32_t postie_imap_send_timeout_ms(const postie_imap_t *m);

bool postie_imap_next_event(postie_imap_t *m, postie_imap_event_t *ev);

/* The mailbox commands (postie/common/mailbox.h); m is a postie_imap_t. */
postie_status_t postie_imap_list(void *m, uint32_t from_id, uint32_t want,
                                 postie_mailbox_item_fn fn, void *ctx, uint32_t now);
postie_status_t postie_imap_retrieve(void *m, uint32_t uid, uint64_t size_max,
                                     postie_mailbox_data_fn fn, void *ctx, uint32_t now);
postie_status_t postie_imap_remove(void *m, uint32_t uid, uint32_t now);
postie_status_t postie_imap_finish(void *m, uint32_t now);
const postie_mailbox_info_t *postie_imap_info(const void *m);
const char *postie_imap_alert_text(const void *m);

/* The same, as the fetch run takes them. */
extern const postie_mailbox_ops_t postie_imap_mailbox_ops;

const postie_imap_caps_t *postie_imap_caps(const postie_imap_t *m);
/* Why the session failed (status POSTIE_OK while it has not). */
const postie_error_t *postie_imap_error(const postie_imap_t *m);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_IMAP_H */
