/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMTP client engine. See postie/smtp/smtp.h for the contract.
 *
 * Shape: every command the engine writes is pushed on a small ring of
 * commands awaiting replies ("pending"). Every complete reply pops the
 * oldest entry and is handled by what that command was. Pipelining is then
 * just a larger limit on that ring; without PIPELINING the limit is 1.
 *
 * The transmit buffer holds commands and body bytes in the order they go on
 * the wire. For CHUNKING, body bytes are gathered after a reserved gap
 * (BDAT_HEADER_ROOM) and the "BDAT n" header is written into that gap when
 * the chunk is closed, so a command group and the first chunk leave in one
 * write.
 */
#include "postie/smtp/smtp.h"
#include "postie/smtp/smtp_caps.h"

#include <string.h>

#include "postie/common/base64.h"
#include "postie/common/text.h"
#include "postie/common/utf8.h"

/* "BDAT 18446744073709551615 LAST\r\n" is 32 octets */
#define BDAT_HEADER_ROOM 32u
/* Longest command line built. RFC 5321 allows 512 octets, and each
 * extension used on MAIL/RCPT (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY) adds
 * to that; our longest MAIL is about 640 octets. */
#define COMMAND_ROOM     1000u
/* RFC 4954 4: keep an AUTH line with its initial response this short, or
 * send the response on its own line after 334. */
#define AUTH_LINE_MAX    512u
/* Events kept free for DATA_SENT, MESSAGE_DONE and FAILED, which must never
 * be lost (DATA_SENT comes from tx_ack, not from a reply) */
#define EVENTS_RESERVED  3u

_Static_assert(POSTIE_SMTP_EVENTS_MAX > EVENTS_RESERVED, "need room for events");
_Static_assert(POSTIE_SMTP_TX_BUFFER_SIZE > COMMAND_ROOM + BDAT_HEADER_ROOM + 64,
               "transmit buffer too small");
/* A BDAT chunk's length rides in its pending entry's index and step (24 bits). */
_Static_assert(POSTIE_SMTP_TX_BUFFER_SIZE < (1L << 24), "transmit buffer too large");

/* Commands that await a reply. */
enum {
    CMD_GREETING,
    CMD_EHLO,
    CMD_HELO,
    CMD_STARTTLS,
    CMD_AUTH,
    CMD_MAIL,
    CMD_RCPT,
    CMD_DATA,
    CMD_DOT,
    CMD_BDAT,
    CMD_BDAT_LAST,
    CMD_RSET,
    CMD_QUIT
};

static const char *const command_names[] = {
    "greeting", "EHLO",      "HELO",
    "STARTTLS", "AUTH",      "MAIL FROM",
    "RCPT TO",  "DATA",      "end of data (final dot)",
    "BDAT",     "BDAT LAST", "RSET",
    "QUIT",
};

static const char *const phase_names[] = {
#define POSTIE_SMTP_PHASE_NAME(name) #name,
    POSTIE_SMTP_PHASES(POSTIE_SMTP_PHASE_NAME)
#undef POSTIE_SMTP_PHASE_NAME
};

const char *postie_smtp_phase_name(postie_smtp_phase_t phase)
{
    if ((unsigned)phase >= (unsigned)POSTIE_SMTP_PHASE_COUNT) {
        return "UNKNOWN";
    }
    return phase_names[phase];
}

void postie_smtp_config_defaults(postie_smtp_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ehlo_name = "localhost";
    cfg->tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    cfg->sasl_allowed = POSTIE_SASL_SUPPORTED;
    cfg->use_pipelining = true;
    cfg->use_chunking = true;
    cfg->timeout_greeting_ms = POSTIE_SMTP_TIMEOUT_GREETING_MS;
    cfg->timeout_command_ms = POSTIE_SMTP_TIMEOUT_COMMAND_MS;
    cfg->timeout_data_init_ms = POSTIE_SMTP_TIMEOUT_DATA_INIT_MS;
    cfg->timeout_data_block_ms = POSTIE_SMTP_TIMEOUT_DATA_BLOCK_MS;
    cfg->timeout_data_end_ms = POSTIE_SMTP_TIMEOUT_DATA_END_MS;
}

static void log_line(postie_smtp_t *s, postie_log_dir_t dir, const char *line, size_t len)
{
    if (s->cfg.log != NULL) {
        s->cfg.log(s->cfg.log_ctx, dir, line, len);
    }
}

static void log_note(postie_smtp_t *s, const char *note)
{
    log_line(s, POSTIE_LOG_INFO, note, strlen(note));
}

/* ---- events ---------------------------------------------------------------- */

static void push_event(postie_smtp_t *s, postie_smtp_event_type_t type, uint16_t index,
                       postie_status_t status)
{
    if (s->ev_count >= POSTIE_SMTP_EVENTS_MAX) {
        return; /* cannot happen: reply processing stops before the ring fills */
    }
    postie_smtp_event_t *ev = &s->events[(s->ev_head + s->ev_count) % POSTIE_SMTP_EVENTS_MAX];
    ev->type = type;
    ev->index = index;
    ev->status = status;
    s->ev_count++;
}

/* ---- failure --------------------------------------------------------------- */

static postie_status_t status_for_code(uint16_t code)
{
    if (code == 421) {
        return POSTIE_E_SERVER_SHUTDOWN;
    }
    if (code >= 400 && code < 500) {
        return POSTIE_E_REPLY_TRANSIENT;
    }
    if (code >= 500) {
        return POSTIE_E_REPLY_PERMANENT;
    }
    return POSTIE_E_REPLY_UNEXPECTED;
}

static void set_error(postie_error_t *e, postie_status_t st, const char *phase,
                      const postie_reply_info_t *reply, const char *subject)
{
    postie_error_clear(e);
    e->status = st;
    e->phase = phase != NULL ? phase : "";
    if (reply != NULL) {
        e->reply = *reply;
    }
    if (subject != NULL) {
        postie_text_copy_printable(e->subject, sizeof(e->subject), subject, strlen(subject));
    }
}

/* End the session. A message in progress ends with the same status. */
static void fail(postie_smtp_t *s, postie_status_t st, const char *phase,
                 const postie_reply_info_t *reply, const char *subject)
{
    if (s->phase == POSTIE_SMTP_PHASE_FAILED || s->phase == POSTIE_SMTP_PHASE_CLOSED) {
        return;
    }
    set_error(&s->error, st, phase, reply, subject);
    if (s->env != NULL) {
        if (!s->message_failed) {
            s->message_error = s->error;
        }
        for (size_t i = 0; i < s->env->rcpt_count; i++) {
            if (s->env->rcpt[i].state == POSTIE_RCPT_PENDING) {
                s->env->rcpt[i].state = POSTIE_RCPT_NOT_TRIED;
            }
        }
        push_event(s, POSTIE_SMTP_EV_MESSAGE_DONE, 0, s->message_error.status);
        s->env = NULL;
    }
    s->phase = POSTIE_SMTP_PHASE_FAILED;
    s->pending_count = 0;
    s->tx_start = s->tx_len = 0;
    s->chunk_len = 0;
    s->data_end_queued = false; /* what was not sent never leaves */
    push_event(s, POSTIE_SMTP_EV_FAILED, 0, st);
    log_note(s, postie_status_str(st));
}

/* ---- transmit buffer ------------------------------------------------------- */

/* xtext (RFC 3461 4): printable ASCII except '+' and '=' as is, else +HH */
static void put_xtext(postie_text_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        uint8_t c = (uint8_t)*s;
        if (c >= '!' && c <= '~' && c != '+' && c != '=') {
            postie_text_put_char(b, *s);
        } else {
            char esc[3] = {'+', hex[c >> 4], hex[c & 15]};
            postie_text_put_n(b, esc, 3);
        }
    }
}

/* A command line is built in place, after what the buffer already holds. */
static postie_text_t tx_builder(postie_smtp_t *s)
{
    postie_text_t b;
    postie_text_init(&b, (char *)s->tx_buf + s->tx_len, sizeof(s->tx_buf) - s->tx_len);
    return b;
}

static bool pending_full(const postie_smtp_t *s)
{
    return s->pending_count >= s->pipeline_limit;
}

/* Reply deadlines. The oldest awaited reply must be complete, every line of
 * it, within its timeout counted from when it was awaited: when its command
 * has left (tx_ack) or the reply before it completed (on_line), whichever
 * is later. Received bytes do not move the deadline, so a server that
 * trickles a reply one byte at a time cannot hold the session. */

/* Queue a command whose octets are all in the transmit buffer by now. */
static void push_pending(postie_smtp_t *s, uint8_t kind, uint8_t step, uint16_t index, uint32_t now)
{
    postie_smtp_pending_t *p =
        &s->pending[(s->pending_head + s->pending_count) % POSTIE_SMTP_PIPELINE_MAX];
    p->kind = kind;
    p->step = step;
    p->index = index;
    p->tx_end = s->tx_sent + (uint32_t)(s->tx_len - s->tx_start);
    if (s->pending_count == 0) {
        s->wait_since = now;
    }
    s->pending_count++;
}

/* Has the oldest awaited command left? (The greeting has nothing to send.) */
static bool head_sent(const postie_smtp_t *s)
{
    return s->pending_count > 0 &&
           s->tx_sent - s->pending[s->pending_head].tx_end < UINT32_C(0x80000000);
}

/* Finish a command line built in b: CRLF, log (or log `shown` instead when
 * the line carries a secret), commit, and await its reply. */
static bool commit_command(postie_smtp_t *s, postie_text_t *b, uint8_t kind, uint8_t step,
                           uint16_t index, const char *shown, uint32_t now)
{
    size_t line_len = b->len;
    postie_text_put(b, "\r\n");
    if (b->overflow || (kind != CMD_AUTH && b->len > COMMAND_ROOM)) {
        return false;
    }
    if (shown != NULL) {
        log_line(s, POSTIE_LOG_SENT, shown, strlen(shown));
    } else {
        log_line(s, POSTIE_LOG_SENT, b->buf, line_len);
    }
    s->tx_len += b->len;
    push_pending(s, kind, step, index, now);
    return true;
}

/* A command without arguments, or with one plain argument. */
static bool send_simple(postie_smtp_t *s, uint8_t kind, const char *verb, const char *arg,
                        uint32_t now)
{
    postie_text_t b = tx_builder(s);
    postie_text_put(&b, verb);
    if (arg != NULL) {
        postie_text_put(&b, " ");
        postie_text_put(&b, arg);
    }
    return commit_command(s, &b, kind, 0, 0, NULL, now);
}

/* ---- session set-up -------------------------------------------------------- */

static void become_ready(postie_smtp_t *s)
{
    s->phase = POSTIE_SMTP_PHASE_READY;
    push_event(s, POSTIE_SMTP_EV_READY, 0, POSTIE_OK);
}

static bool auth_plain_fits_one_line(const postie_smtp_t *s)
{
    size_t raw = strlen(s->cfg.username) + strlen(s->cfg.password) + 2;
    return strlen("AUTH PLAIN ") + POSTIE_BASE64_LEN(raw) + 2 <= AUTH_LINE_MAX;
}

/* Base64 of "\0user\0pass" (RFC 4616) appended to b; the clear text is
 * wiped from the stack afterwards. */
static void put_plain_response(const postie_smtp_t *s, postie_text_t *b)
{
    uint8_t raw[2 * POSTIE_AUTH_FIELD_MAX + 2];
    size_t ulen = strlen(s->cfg.username);
    size_t plen = strlen(s->cfg.password);
    size_t n = 0;
    size_t written = 0;
    size_t room = 0;

    raw[n++] = 0;
    memcpy(raw + n, s->cfg.username, ulen);
    n += ulen;
    raw[n++] = 0;
    memcpy(raw + n, s->cfg.password, plen);
    n += plen;
    char *tail = postie_text_tail(b, &room);
    if (postie_base64_encode(raw, n, tail, room, &written) == POSTIE_OK) {
        postie_text_advance(b, written);
    } else {
        postie_text_fail(b);
    }
    memset(raw, 0, sizeof(raw));
}

static void put_base64_string(postie_text_t *b, const char *str)
{
    size_t written = 0;
    size_t room = 0;
    char *tail = postie_text_tail(b, &room);
    if (postie_base64_encode((const uint8_t *)str, strlen(str), tail, room, &written) ==
        POSTIE_OK) {
        postie_text_advance(b, written);
    } else {
        postie_text_fail(b);
    }
}

/* The OAuth 2.0 response (base64) appended to b. */
static void put_oauth_response(const postie_smtp_t *s, postie_text_t *b)
{
    size_t written = 0;
    size_t room = 0;
    char *tail = postie_text_tail(b, &room);
    if (postie_sasl_oauth(s->cfg.oauth_mechanism, s->cfg.username, s->cfg.oauth_host,
                          s->cfg.oauth_port, s->cfg.oauth_token, strlen(s->cfg.oauth_token), tail,
                          room, &written) == POSTIE_OK) {
        postie_text_advance(b, written);
    } else {
        postie_text_fail(b);
    }
}

/* AUTH steps of an OAuth 2.0 login (the pending entry's step). */
enum { OAUTH_WAIT_334, OAUTH_SENT, OAUTH_ERROR_ANSWERED };

/*
 * C: AUTH XOAUTH2 <redacted>                     (fits 512 octets)
 * C: AUTH XOAUTH2   S: 334   C: <redacted>        (longer)
 * S: 235 2.7.0 Authentication successful
 * or, refused:
 * S: 334 eyJzdGF0dXMiOiI0MDEiLC4uLn0=   C: (empty; OAUTHBEARER: AQ==)
 * S: 535 5.7.8 Authentication credentials invalid
 */
static void start_oauth(postie_smtp_t *s, uint32_t now)
{
    const char *phase = command_names[CMD_AUTH];
    uint32_t mech = s->cfg.oauth_mechanism;
    const char *name = postie_sasl_mechanism_name(mech);
    size_t resp = postie_sasl_oauth_len(mech, s->cfg.username, s->cfg.oauth_host, s->cfg.oauth_port,
                                        strlen(s->cfg.oauth_token));
    char shown[40];
    postie_text_t sb;
    postie_text_t b;

    if (!s->caps.esmtp || !(s->caps.flags & POSTIE_SMTP_CAP_AUTH) || !(s->caps.sasl & mech)) {
        postie_text_init_str(&sb, shown, sizeof(shown));
        postie_text_put(&sb, name);
        postie_text_put(&sb, " not offered");
        fail(s, POSTIE_E_AUTH_NO_MECHANISM, phase, NULL, shown);
        return;
    }
    s->phase = POSTIE_SMTP_PHASE_AUTH;
    s->oauth_error[0] = '\0';
    b = tx_builder(s);
    postie_text_put(&b, "AUTH ");
    postie_text_put(&b, name);
    postie_text_init_str(&sb, shown, sizeof(shown));
    postie_text_put(&sb, "AUTH ");
    postie_text_put(&sb, name);
    if (strlen("AUTH ") + strlen(name) + 1 + resp + 2 <= AUTH_LINE_MAX) {
        postie_text_put(&b, " ");
        put_oauth_response(s, &b);
        postie_text_put(&sb, " <redacted>");
        if (!commit_command(s, &b, CMD_AUTH, OAUTH_SENT, (uint16_t)mech, shown, now)) {
            fail(s, POSTIE_E_NO_SPACE, phase, NULL, "the OAuth 2.0 response does not fit");
        }
        return;
    }
    if (!commit_command(s, &b, CMD_AUTH, OAUTH_WAIT_334, (uint16_t)mech, NULL, now)) {
        fail(s, POSTIE_E_NO_SPACE, phase, NULL, "AUTH does not fit");
    }
}

static void on_oauth_reply(postie_smtp_t *s, const postie_smtp_pending_t *p, uint32_t now)
{
    const char *phase = command_names[CMD_AUTH];
    uint16_t code = s->cur.code;
    postie_text_t b;

    if (code == 235) {
        s->caps.authenticated = true;
        become_ready(s);
        return;
    }
    if (code == 334 && p->step == OAUTH_WAIT_334) {
        b = tx_builder(s);
        put_oauth_response(s, &b);
        if (!commit_command(s, &b, CMD_AUTH, OAUTH_SENT, p->index, "<redacted>", now)) {
            fail(s, POSTIE_E_NO_SPACE, phase, NULL, "the OAuth 2.0 response does not fit");
        }
        return;
    }
    if (code == 334 && p->step == OAUTH_SENT) {
        /* the error challenge (decoded in on_line): answer it, then the
         * server sends its final failure */
        b = tx_builder(s);
        if (p->index == POSTIE_SASL_OAUTHBEARER) {
            postie_text_put(&b, "AQ==");
        }
        (void)commit_command(s, &b, CMD_AUTH, OAUTH_ERROR_ANSWERED, p->index, NULL, now);
        return;
    }
    if (code == 421) {
        fail(s, POSTIE_E_SERVER_SHUTDOWN, phase, &s->cur, s->oauth_error);
    } else if (code >= 400 && code < 500) {
        fail(s, POSTIE_E_AUTH_TEMPORARY, phase, &s->cur, s->oauth_error);
    } else if (code >= 500 && p->step == OAUTH_WAIT_334) {
        /* refused before the token left ("504 Unrecognized authentication
         * type"): nothing a fresh token would change */
        fail(s, POSTIE_E_AUTH_FAILED, phase, &s->cur, NULL);
    } else if (code >= 500) {
        fail(s, POSTIE_E_TOKEN_REJECTED, phase, &s->cur, s->oauth_error);
    } else {
        fail(s, POSTIE_E_REPLY_UNEXPECTED, phase, &s->cur, NULL);
    }
}

static void start_auth(postie_smtp_t *s, uint32_t now)
{
    const char *phase = command_names[CMD_AUTH];
    uint32_t usable = s->caps.sasl & s->cfg.sasl_allowed & POSTIE_SASL_SUPPORTED;
    postie_text_t b;

    if (!s->caps.secure && !s->cfg.allow_plaintext_auth) {
        fail(s, POSTIE_E_AUTH_CLEARTEXT_REFUSED, phase, NULL, NULL);
        return;
    }
    if (s->cfg.oauth_token != NULL) {
        start_oauth(s, now);
        return;
    }
    if (!s->caps.esmtp || !(s->caps.flags & POSTIE_SMTP_CAP_AUTH) || usable == 0) {
        fail(s, POSTIE_E_AUTH_NO_MECHANISM, phase, NULL, NULL);
        return;
    }
    s->phase = POSTIE_SMTP_PHASE_AUTH;
    b = tx_builder(s);
    if (usable & POSTIE_SASL_PLAIN) {
        if (auth_plain_fits_one_line(s)) {
            postie_text_put(&b, "AUTH PLAIN ");
            put_plain_response(s, &b);
            (void)commit_command(s, &b, CMD_AUTH, 1, POSTIE_SASL_PLAIN, "AUTH PLAIN <redacted>",
                                 now);
        } else {
            postie_text_put(&b, "AUTH PLAIN");
            (void)commit_command(s, &b, CMD_AUTH, 0, POSTIE_SASL_PLAIN, NULL, now);
        }
    } else {
        postie_text_put(&b, "AUTH LOGIN");
        (void)commit_command(s, &b, CMD_AUTH, 0, POSTIE_SASL_LOGIN, NULL, now);
    }
}

/* After a successful EHLO/HELO: TLS, then authentication, then ready. */
static void after_hello(postie_smtp_t *s, uint32_t now)
{
    bool offered = (s->caps.flags & POSTIE_SMTP_CAP_STARTTLS) != 0;
    bool want_tls = s->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED ||
                    s->cfg.tls_mode == POSTIE_TLS_STARTTLS_OPPORTUNISTIC;

    if (!s->caps.secure && want_tls) {
        if (offered) {
            s->phase = POSTIE_SMTP_PHASE_STARTTLS;
            (void)send_simple(s, CMD_STARTTLS, "STARTTLS", NULL, now);
            return;
        }
        if (s->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED) {
            fail(s, POSTIE_E_STARTTLS_UNAVAILABLE, command_names[CMD_EHLO], NULL, NULL);
            return;
        }
        log_note(s, "STARTTLS not offered; continuing without TLS (opportunistic mode)");
    }
    if (s->cfg.username != NULL && !s->caps.authenticated) {
        start_auth(s, now);
        return;
    }
    become_ready(s);
}

/* The reply is parsed straight into s->caps: EHLO (or HELO) is only ever
 * sent when nothing but the secure and authenticated bits is known (after
 * the greeting, after the TLS handshake, when EHLO was refused), and those
 * two are kept. */
static void send_ehlo(postie_smtp_t *s, uint8_t kind, uint32_t now)
{
    bool secure = s->caps.secure;
    bool authenticated = s->caps.authenticated;
    memset(&s->caps, 0, sizeof(s->caps));
    s->caps.secure = secure;
    s->caps.authenticated = authenticated;
    s->phase = POSTIE_SMTP_PHASE_EHLO;
    (void)send_simple(s, kind, kind == CMD_EHLO ? "EHLO" : "HELO", s->cfg.ehlo_name, now);
}

/* ---- transactions ---------------------------------------------------------- */

static void message_fail(postie_smtp_t *s, postie_status_t st, uint8_t kind,
                         const postie_reply_info_t *reply, const char *subject)
{
    if (!s->message_failed) {
        s->message_failed = true;
        set_error(&s->message_error, st, command_names[kind], reply, subject);
    }
}

static bool send_mail(postie_smtp_t *s, uint32_t now)
{
    const postie_smtp_envelope_t *e = s->env;
    uint32_t f = s->caps.flags;
    postie_text_t b = tx_builder(s);

    postie_text_put(&b, "MAIL FROM:<");
    postie_text_put(&b, e->from);
    postie_text_put(&b, ">");
    if ((f & POSTIE_SMTP_CAP_SIZE) && e->size > 0) {
        postie_text_put(&b, " SIZE=");
        postie_text_put_u64(&b, e->size);
    }
    if (e->body_8bit && (f & POSTIE_SMTP_CAP_8BITMIME)) {
        postie_text_put(&b, " BODY=8BITMIME");
    }
    if (e->smtputf8) {
        postie_text_put(&b, " SMTPUTF8");
    }
    if (f & POSTIE_SMTP_CAP_DSN) {
        if (e->dsn_ret == POSTIE_DSN_RET_FULL) {
            postie_text_put(&b, " RET=FULL");
        } else if (e->dsn_ret == POSTIE_DSN_RET_HDRS) {
            postie_text_put(&b, " RET=HDRS");
        }
        if (e->dsn_envid != NULL) {
            postie_text_put(&b, " ENVID=");
            put_xtext(&b, e->dsn_envid);
        }
    }
    return commit_command(s, &b, CMD_MAIL, 0, 0, NULL, now);
}

static bool send_rcpt(postie_smtp_t *s, size_t index, uint32_t now)
{
    const postie_smtp_envelope_t *e = s->env;
    postie_text_t b = tx_builder(s);

    postie_text_put(&b, "RCPT TO:<");
    postie_text_put(&b, e->rcpt[index].address);
    postie_text_put(&b, ">");
    if ((s->caps.flags & POSTIE_SMTP_CAP_DSN) && e->dsn_notify != 0) {
        if (e->dsn_notify & POSTIE_DSN_NOTIFY_NEVER) {
            postie_text_put(&b, " NOTIFY=NEVER");
        } else {
            const char *sep = " NOTIFY=";
            if (e->dsn_notify & POSTIE_DSN_NOTIFY_SUCCESS) {
                postie_text_put(&b, sep);
                postie_text_put(&b, "SUCCESS");
                sep = ",";
            }
            if (e->dsn_notify & POSTIE_DSN_NOTIFY_FAILURE) {
                postie_text_put(&b, sep);
                postie_text_put(&b, "FAILURE");
                sep = ",";
            }
            if (e->dsn_notify & POSTIE_DSN_NOTIFY_DELAY) {
                postie_text_put(&b, sep);
                postie_text_put(&b, "DELAY");
            }
        }
    }
    return commit_command(s, &b, CMD_RCPT, 0, (uint16_t)index, NULL, now);
}

/* Write MAIL, RCPTs and DATA as far as the pipeline and buffer allow. */
static void pump_envelope(postie_smtp_t *s, uint32_t now)
{
    postie_smtp_envelope_t *e = s->env;

    while (s->phase == POSTIE_SMTP_PHASE_ENVELOPE && !s->message_failed && !pending_full(s)) {
        if (!s->mail_sent) {
            if (!send_mail(s, now)) {
                return; /* wait for the buffer to drain */
            }
            s->mail_sent = true;
        } else if (s->next_rcpt < e->rcpt_count) {
            if (!send_rcpt(s, s->next_rcpt, now)) {
                return;
            }
            s->next_rcpt++;
        } else if (!s->data_sent) {
            if (s->pending_count > 0 && s->pipeline_limit == 1) {
                return; /* without PIPELINING, learn the RCPT results first */
            }
            if (s->pending_count == 0 && s->accepted == 0) {
                message_fail(s, POSTIE_E_RECIPIENTS_REJECTED, CMD_RCPT,
                             &e->rcpt[e->rcpt_count - 1].reply, NULL);
                return;
            }
            if (s->use_bdat) {
                s->data_sent = true;
                s->phase = POSTIE_SMTP_PHASE_BODY;
                postie_body_init(&s->body, false, e->body_8bit);
                return;
            }
            if (!send_simple(s, CMD_DATA, "DATA", NULL, now)) {
                return;
            }
            s->data_sent = true;
        } else {
            return;
        }
    }
}

static void finish_message(postie_smtp_t *s, uint32_t now)
{
    postie_smtp_envelope_t *e = s->env;
    postie_status_t st;

    for (size_t i = 0; i < e->rcpt_count; i++) {
        if (e->rcpt[i].state == POSTIE_RCPT_PENDING) {
            e->rcpt[i].state = POSTIE_RCPT_NOT_TRIED;
        }
    }
    if (s->accepted == 0 && !s->message_failed) {
        message_fail(s, POSTIE_E_RECIPIENTS_REJECTED, CMD_RCPT, NULL, NULL);
    }
    st = s->message_failed ? s->message_error.status : POSTIE_OK;
    s->env = NULL;
    s->chunk_len = 0; /* an unsent chunk of a failed message is dropped */
    push_event(s, POSTIE_SMTP_EV_MESSAGE_DONE, 0, st);
    if (s->message_failed) {
        /* The server may hold part of a transaction: clear it. */
        s->phase = POSTIE_SMTP_PHASE_RSET;
        (void)send_simple(s, CMD_RSET, "RSET", NULL, now);
    } else {
        s->phase = POSTIE_SMTP_PHASE_READY;
    }
}

/* Where the next body octets go and how much room is left there. With
 * BDAT they go after the open chunk and its header gap; right after a chunk
 * was closed, tx_len may be closer than the gap to the end: then there is
 * no room until the buffer drains. */
static size_t body_offset(const postie_smtp_t *s, size_t *cap)
{
    size_t start = s->tx_len + (s->use_bdat ? BDAT_HEADER_ROOM + s->chunk_len : 0);
    if (start >= sizeof(s->tx_buf)) {
        *cap = 0;
        return sizeof(s->tx_buf);
    }
    *cap = sizeof(s->tx_buf) - start;
    return start;
}

static bool body_room(const postie_smtp_t *s)
{
    size_t cap;
    (void)body_offset(s, &cap);
    return cap >= POSTIE_BODY_MAX_EXPANSION + POSTIE_BODY_FINISH_MAX;
}

static bool close_chunk(postie_smtp_t *s, bool last, uint32_t now);

/* Called whenever a reply finished during a transaction. */
static void transaction_progress(postie_smtp_t *s, uint32_t now)
{
    if (s->env == NULL) {
        return;
    }
    if (s->phase == POSTIE_SMTP_PHASE_ENVELOPE) {
        pump_envelope(s, now);
    }
    if (s->phase == POSTIE_SMTP_PHASE_BODY && s->use_bdat && s->chunk_len > 0 && !body_room(s) &&
        !s->message_failed) {
        (void)close_chunk(s, false, now); /* a full chunk waited for a pipeline slot */
    }
    if (s->pending_count != 0) {
        return;
    }
    if (s->phase == POSTIE_SMTP_PHASE_BODY_END ||
        (s->message_failed &&
         (s->phase == POSTIE_SMTP_PHASE_ENVELOPE || s->phase == POSTIE_SMTP_PHASE_BODY))) {
        finish_message(s, now);
    }
}

/* ---- replies --------------------------------------------------------------- */

static void on_rcpt_reply(postie_smtp_t *s, uint16_t index)
{
    postie_smtp_rcpt_t *r = &s->env->rcpt[index];
    r->reply = s->cur;
    if (s->message_failed) {
        /* MAIL FROM was refused: this (pipelined) reply, typically 503
         * "need MAIL command", says nothing about the recipient */
        r->state = POSTIE_RCPT_NOT_TRIED;
    } else if (s->cur.code >= 200 && s->cur.code < 300) {
        r->state = POSTIE_RCPT_ACCEPTED;
        s->accepted++;
    } else {
        r->state = POSTIE_RCPT_REJECTED;
    }
    push_event(s, POSTIE_SMTP_EV_RCPT, index, POSTIE_OK);
}

static void on_auth_reply(postie_smtp_t *s, const postie_smtp_pending_t *p, uint32_t now)
{
    const char *phase = command_names[CMD_AUTH];
    uint16_t code = s->cur.code;
    postie_text_t b;

    if (s->cfg.oauth_token != NULL) {
        on_oauth_reply(s, p, now);
        return;
    }
    if (code == 235) {
        s->caps.authenticated = true;
        become_ready(s);
        return;
    }
    if (code == 334) {
        b = tx_builder(s);
        if (p->index == POSTIE_SASL_PLAIN && p->step == 0) {
            put_plain_response(s, &b);
            (void)commit_command(s, &b, CMD_AUTH, 1, p->index, "<redacted>", now);
            return;
        }
        if (p->index == POSTIE_SASL_LOGIN && p->step == 0) {
            put_base64_string(&b, s->cfg.username);
            (void)commit_command(s, &b, CMD_AUTH, 1, p->index, "<redacted user name>", now);
            return;
        }
        if (p->index == POSTIE_SASL_LOGIN && p->step == 1) {
            put_base64_string(&b, s->cfg.password);
            (void)commit_command(s, &b, CMD_AUTH, 2, p->index, "<redacted password>", now);
            return;
        }
        fail(s, POSTIE_E_REPLY_UNEXPECTED, phase, &s->cur, NULL);
        return;
    }
    if (code == 421) {
        fail(s, POSTIE_E_SERVER_SHUTDOWN, phase, &s->cur, NULL);
    } else if (code >= 400 && code < 500) {
        fail(s, POSTIE_E_AUTH_TEMPORARY, phase, &s->cur, NULL);
    } else if (code >= 500) {
        fail(s, POSTIE_E_AUTH_FAILED, phase, &s->cur, NULL);
    } else {
        fail(s, POSTIE_E_REPLY_UNEXPECTED, phase, &s->cur, NULL);
    }
}

/* A BDAT chunk was answered: count it, and say which it was for the
 * message's error: "chunk 3, data octets 16352..24531" (octets of the
 * message data as sent, from 0). Replies come in order, so counting them
 * is enough. */
static void chunk_answered(postie_smtp_t *s, const postie_smtp_pending_t *p, char *out, size_t cap)
{
    uint64_t len = ((uint64_t)p->step << 16) | p->index;
    postie_text_t b;

    s->chunks_answered++;
    postie_text_init_str(&b, out, cap);
    postie_text_put(&b, "chunk ");
    postie_text_put_u64(&b, s->chunks_answered);
    postie_text_put(&b, len > 0 ? ", data octets " : ", empty");
    if (len > 0) {
        postie_text_put_u64(&b, s->chunk_octets_answered);
        postie_text_put(&b, "..");
        postie_text_put_u64(&b, s->chunk_octets_answered + len - 1u);
    }
    s->chunk_octets_answered += len;
}

static void on_reply(postie_smtp_t *s, const postie_smtp_pending_t *p, uint32_t now)
{
    uint16_t code = s->cur.code;
    bool ok = code >= 200 && code < 300;
    const char *name = command_names[p->kind];

    if (code == 421 && p->kind != CMD_QUIT) {
        fail(s, POSTIE_E_SERVER_SHUTDOWN, name, &s->cur, NULL);
        return;
    }
    switch (p->kind) {
    /* S: 220 mail.example.test ESMTP */
    case CMD_GREETING:
        if (code != 220) {
            fail(s, code >= 200 && code < 300 ? POSTIE_E_REPLY_UNEXPECTED : status_for_code(code),
                 name, &s->cur, NULL);
            return;
        }
        send_ehlo(s, CMD_EHLO, now);
        break;

    /* C: EHLO client.example   S: 250-server greets / 250-PIPELINING / 250 SIZE 1000 */
    case CMD_EHLO:
        if (ok) {
            s->caps.esmtp = true;
            s->pipeline_limit =
                (s->cfg.use_pipelining && (s->caps.flags & POSTIE_SMTP_CAP_PIPELINING))
                    ? POSTIE_SMTP_PIPELINE_MAX
                    : 1;
            after_hello(s, now);
        } else if (code >= 500) {
            log_note(s, "EHLO refused; falling back to HELO");
            send_ehlo(s, CMD_HELO, now);
        } else {
            fail(s, status_for_code(code), name, &s->cur, NULL);
        }
        break;

    /* C: HELO client.example   S: 250 server */
    case CMD_HELO:
        if (!ok) {
            fail(s, status_for_code(code), name, &s->cur, NULL);
            return;
        }
        s->pipeline_limit = 1; /* no extensions: the caps hold the name only */
        after_hello(s, now);
        break;

    /* C: STARTTLS   S: 220 2.0.0 Ready to start TLS */
    case CMD_STARTTLS:
        if (code == 220) {
            if (postie_line_pending(&s->rx) != 0) {
                fail(s, POSTIE_E_STARTTLS_INJECTION, name, &s->cur, NULL);
                return;
            }
            s->phase = POSTIE_SMTP_PHASE_TLS_HANDSHAKE;
        } else if (s->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED) {
            fail(s, POSTIE_E_STARTTLS_REFUSED, name, &s->cur, NULL);
        } else {
            log_note(s, "STARTTLS refused; continuing without TLS (opportunistic mode)");
            if (s->cfg.username != NULL) {
                start_auth(s, now);
            } else {
                become_ready(s);
            }
        }
        break;

    /* C: AUTH PLAIN <redacted>   S: 235 2.7.0 Authentication successful */
    case CMD_AUTH:
        on_auth_reply(s, p, now);
        break;

    /* C: MAIL FROM:<a@example> SIZE=123   S: 250 2.1.0 Ok */
    case CMD_MAIL:
        if (!ok) {
            message_fail(s, status_for_code(code), CMD_MAIL, &s->cur, s->env->from);
        }
        transaction_progress(s, now);
        break;

    /* C: RCPT TO:<b@example>   S: 250 2.1.5 Ok  |  550 5.1.1 unknown user */
    case CMD_RCPT:
        on_rcpt_reply(s, p->index);
        transaction_progress(s, now);
        break;

    /* C: DATA   S: 354 End data with <CR><LF>.<CR><LF> */
    case CMD_DATA:
        if (code == 354) {
            if (s->accepted == 0 || s->message_failed) {
                /* RFC 2920 3.1: end the empty DATA at once. */
                s->phase = POSTIE_SMTP_PHASE_BODY_END;
                (void)send_simple(s, CMD_DOT, ".", NULL, now);
            } else {
                s->phase = POSTIE_SMTP_PHASE_BODY;
                postie_body_init(&s->body, true, s->env->body_8bit);
            }
        } else if (ok) {
            fail(s, POSTIE_E_REPLY_UNEXPECTED, name, &s->cur, NULL);
            return;
        } else {
            message_fail(s, s->accepted == 0 ? POSTIE_E_RECIPIENTS_REJECTED : status_for_code(code),
                         CMD_DATA, &s->cur, NULL);
        }
        transaction_progress(s, now);
        break;

    /* C: <body> CRLF . CRLF   S: 250 2.0.0 Ok: queued as 4Xy */
    /* C: BDAT 1234 LAST <body>   S: 250 2.0.0 Ok: queued as 4Xy */
    case CMD_DOT:
    case CMD_BDAT:
    case CMD_BDAT_LAST: {
        char chunk[64] = "";
        if (p->kind != CMD_DOT) {
            chunk_answered(s, p, chunk, sizeof(chunk));
        }
        if (!ok) {
            message_fail(s, s->accepted == 0 ? POSTIE_E_RECIPIENTS_REJECTED : status_for_code(code),
                         p->kind, &s->cur, p->kind == CMD_DOT ? NULL : chunk);
        } else if (p->kind != CMD_BDAT && !s->message_failed) {
            set_error(&s->message_error, POSTIE_OK, name, &s->cur, NULL);
        }
        if (!ok && s->phase == POSTIE_SMTP_PHASE_BODY) {
            s->phase = POSTIE_SMTP_PHASE_BODY_END; /* stop taking body bytes */
        }
        transaction_progress(s, now);
        break;
    }

    /* C: RSET   S: 250 2.0.0 Ok */
    case CMD_RSET:
        if (!ok) {
            fail(s, status_for_code(code), name, &s->cur, NULL);
            return;
        }
        s->phase = POSTIE_SMTP_PHASE_READY;
        break;

    /* C: QUIT   S: 221 2.0.0 Bye */
    case CMD_QUIT:
        s->phase = POSTIE_SMTP_PHASE_CLOSED;
        push_event(s, POSTIE_SMTP_EV_CLOSED, 0, POSTIE_OK);
        break;

    default:
        fail(s, POSTIE_E_BAD_STATE, name, &s->cur, NULL);
        break;
    }
}

/* One reply line: keep its first line, feed EHLO keywords, dispatch the
 * complete reply. */
static void on_line(postie_smtp_t *s, const char *line, size_t len, uint32_t now)
{
    postie_smtp_line_t pl;
    const char *why = "";
    postie_status_t st;
    postie_smtp_pending_t p;

    log_line(s, POSTIE_LOG_RECEIVED, line, len);
    st = postie_smtp_reply_line(&s->reply, line, len, &pl, &why);
    if (st != POSTIE_OK) {
        postie_reply_info_t info;
        memset(&info, 0, sizeof(info));
        postie_text_copy_printable(info.text, sizeof(info.text), line, len);
        fail(s, st, s->pending_count ? command_names[s->pending[s->pending_head].kind] : "reply",
             &info, why);
        return;
    }
    if (s->pending_count == 0) {
        postie_reply_info_t info;
        postie_smtp_reply_info(&info, &pl);
        fail(s, POSTIE_E_REPLY_UNEXPECTED, postie_smtp_phase_name(s->phase), &info, NULL);
        return;
    }
    p = s->pending[s->pending_head];
    if (pl.first) {
        postie_smtp_reply_info(&s->cur, &pl);
        if (p.kind == CMD_AUTH && s->cfg.oauth_token != NULL && pl.code == 334 &&
            p.step == OAUTH_SENT) {
            /* S: 334 <base64 JSON>: why the token was refused */
            postie_sasl_oauth_error_subject(pl.text, pl.text_len, s->oauth_error,
                                            sizeof(s->oauth_error));
        }
    }
    if (p.kind == CMD_EHLO || p.kind == CMD_HELO) {
        if (pl.first) {
            postie_smtp_caps_server_name(&s->caps, pl.text, pl.text_len);
        } else if (pl.code == 250 && p.kind == CMD_EHLO && len > 4) {
            /* keywords are never enhanced codes; take the raw text */
            postie_smtp_caps_parse_line(&s->caps, line + 4, len - 4);
        }
    }
    if (!pl.last) {
        return;
    }
    s->pending_head = (uint16_t)((s->pending_head + 1) % POSTIE_SMTP_PIPELINE_MAX);
    s->pending_count--;
    s->wait_since = now;
    on_reply(s, &p, now);
}

/* Handle buffered lines while there is room for the events they make. */
static void process_rx(postie_smtp_t *s, uint32_t now)
{
    while (s->phase != POSTIE_SMTP_PHASE_FAILED && s->phase != POSTIE_SMTP_PHASE_CLOSED &&
           s->phase != POSTIE_SMTP_PHASE_TLS_HANDSHAKE &&
           s->ev_count + EVENTS_RESERVED < POSTIE_SMTP_EVENTS_MAX) {
        const char *line;
        size_t len;
        postie_status_t st = postie_line_next(&s->rx, &line, &len);
        if (st == POSTIE_E_AGAIN) {
            return;
        }
        if (st != POSTIE_OK) {
            fail(s, st,
                 s->pending_count ? command_names[s->pending[s->pending_head].kind] : "reply", NULL,
                 s->rx.why);
            return;
        }
        on_line(s, line, len, now);
    }
    if (s->phase == POSTIE_SMTP_PHASE_TLS_HANDSHAKE && postie_line_pending(&s->rx) != 0) {
        fail(s, POSTIE_E_STARTTLS_INJECTION, command_names[CMD_STARTTLS], NULL, NULL);
    }
}

/* ---- public calls ---------------------------------------------------------- */

postie_status_t postie_smtp_init(postie_smtp_t *s, const postie_smtp_config_t *cfg, uint32_t now)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    if (s->cfg.ehlo_name == NULL) {
        s->cfg.ehlo_name = "localhost";
    }
    postie_error_clear(&s->error);
    postie_error_clear(&s->message_error);
    if (postie_address_check_hostname(s->cfg.ehlo_name) != POSTIE_OK) {
        set_error(&s->error, POSTIE_E_INVALID_ARGUMENT, "EHLO", NULL, "ehlo_name");
        s->phase = POSTIE_SMTP_PHASE_FAILED;
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (s->cfg.oauth_token != NULL) {
        const char *why = NULL;
        postie_status_t st =
            postie_sasl_oauth_check(s->cfg.oauth_mechanism, s->cfg.username, s->cfg.oauth_host,
                                    s->cfg.oauth_port, s->cfg.oauth_token, &why);
        if (st != POSTIE_OK) {
            set_error(&s->error, st, "AUTH", NULL, why);
            s->phase = POSTIE_SMTP_PHASE_FAILED;
            return st;
        }
    } else if (s->cfg.username != NULL &&
               (s->cfg.password == NULL || strlen(s->cfg.username) > POSTIE_AUTH_FIELD_MAX ||
                strlen(s->cfg.password) > POSTIE_AUTH_FIELD_MAX)) {
        set_error(&s->error, POSTIE_E_INVALID_ARGUMENT, "AUTH", NULL,
                  "username/password missing or too long");
        s->phase = POSTIE_SMTP_PHASE_FAILED;
        return POSTIE_E_INVALID_ARGUMENT;
    }
    postie_line_init(&s->rx, s->rx_buf, sizeof(s->rx_buf), POSTIE_REPLY_LINE_MAX);
    postie_smtp_reply_init(&s->reply);
    s->pipeline_limit = 1;
    s->caps.secure = (cfg->tls_mode == POSTIE_TLS_IMPLICIT);
    s->phase = POSTIE_SMTP_PHASE_GREETING;
    push_pending(s, CMD_GREETING, 0, 0, now);
    return POSTIE_OK;
}

uint32_t postie_smtp_state(const postie_smtp_t *s)
{
    uint32_t st = 0;
    if (s->ev_count > 0) {
        st |= POSTIE_SMTP_EVENT;
    }
    if (s->phase == POSTIE_SMTP_PHASE_FAILED) {
        return st | POSTIE_SMTP_FAILED;
    }
    if (s->phase == POSTIE_SMTP_PHASE_CLOSED) {
        return st | POSTIE_SMTP_CLOSED;
    }
    if (s->tx_len > s->tx_start) {
        st |= POSTIE_SMTP_HAVE_TX;
    }
    if (s->pending_count > 0 && s->ev_count + EVENTS_RESERVED < POSTIE_SMTP_EVENTS_MAX &&
        postie_line_pending(&s->rx) < s->rx.cap) {
        st |= POSTIE_SMTP_WANT_RX;
    }
    if (s->phase == POSTIE_SMTP_PHASE_TLS_HANDSHAKE && s->tx_len == s->tx_start) {
        st |= POSTIE_SMTP_NEED_TLS;
    }
    if (s->phase == POSTIE_SMTP_PHASE_BODY && !s->body_ended && !s->message_failed &&
        body_room(s) && (!s->use_bdat || !pending_full(s))) {
        st |= POSTIE_SMTP_WANT_BODY;
    }
    if (s->phase == POSTIE_SMTP_PHASE_READY) {
        st |= POSTIE_SMTP_READY;
    }
    return st;
}

postie_smtp_phase_t postie_smtp_phase(const postie_smtp_t *s)
{
    return s->phase;
}

const uint8_t *postie_smtp_tx_buf(const postie_smtp_t *s, size_t *len)
{
    *len = s->tx_len - s->tx_start;
    return s->tx_buf + s->tx_start;
}

void postie_smtp_tx_ack(postie_smtp_t *s, size_t sent, uint32_t now)
{
    size_t used;
    bool was_sent = head_sent(s);
    if (sent > s->tx_len - s->tx_start) {
        sent = s->tx_len - s->tx_start;
    }
    s->tx_start += sent;
    s->tx_sent += (uint32_t)sent;
    if (!was_sent && head_sent(s)) {
        s->wait_since = now; /* the reply clock starts once its command left */
    }
    if (s->data_end_queued && s->tx_sent - s->data_end < UINT32_C(0x80000000)) {
        /* the last octet of the message's data has left */
        s->data_end_queued = false;
        push_event(s, POSTIE_SMTP_EV_DATA_SENT, 0, POSTIE_OK);
    }
    if (s->tx_start == 0) {
        return;
    }
    /* Move what is left (unsent commands, an open BDAT chunk) to the front.
     * The header gap only matters while a chunk is open: right after a chunk
     * was closed tx_len may sit closer than BDAT_HEADER_ROOM to the end. */
    used = s->tx_len;
    if (s->use_bdat && s->phase == POSTIE_SMTP_PHASE_BODY && s->chunk_len > 0) {
        used += BDAT_HEADER_ROOM + s->chunk_len;
    }
    /* A transport that takes a large flight in pieces (a TLS record at a
     * time, a full socket buffer) would have the rest copied down after
     * every piece. While octets still wait to be sent (HAVE_TX stays set, so
     * more acknowledgements come) and the end of the buffer keeps room for
     * a command and some body, the move waits until it is small. */
    if (s->tx_start < s->tx_len && used - s->tx_start > s->tx_start &&
        sizeof(s->tx_buf) - used >=
            COMMAND_ROOM + BDAT_HEADER_ROOM + POSTIE_BODY_MAX_EXPANSION + POSTIE_BODY_FINISH_MAX) {
        return;
    }
    memmove(s->tx_buf, s->tx_buf + s->tx_start, used - s->tx_start);
    s->tx_len -= s->tx_start;
    s->tx_start = 0;
}

uint8_t *postie_smtp_rx_buf(postie_smtp_t *s, size_t *cap)
{
    return postie_line_rx_window(&s->rx, cap);
}

postie_status_t postie_smtp_rx_ack(postie_smtp_t *s, size_t got, uint32_t now)
{
    if (s->phase == POSTIE_SMTP_PHASE_FAILED) {
        return s->error.status;
    }
    postie_line_rx_commit(&s->rx, got);
    process_rx(s, now); /* received bytes never move the reply deadline */
    return s->phase == POSTIE_SMTP_PHASE_FAILED ? s->error.status : POSTIE_OK;
}

void postie_smtp_rx_eof(postie_smtp_t *s)
{
    if (s->phase == POSTIE_SMTP_PHASE_QUIT) {
        s->phase = POSTIE_SMTP_PHASE_CLOSED;
        push_event(s, POSTIE_SMTP_EV_CLOSED, 0, POSTIE_OK);
        return;
    }
    fail(s, POSTIE_E_CONNECTION_CLOSED,
         s->pending_count ? command_names[s->pending[s->pending_head].kind]
                          : postie_smtp_phase_name(s->phase),
         NULL, NULL);
}

void postie_smtp_transport_failed(postie_smtp_t *s, postie_status_t status, const char *what)
{
    if (s->phase == POSTIE_SMTP_PHASE_QUIT) {
        s->phase = POSTIE_SMTP_PHASE_CLOSED; /* the goodbye was lost; nothing else was */
        push_event(s, POSTIE_SMTP_EV_CLOSED, 0, POSTIE_OK);
        return;
    }
    fail(s, status,
         s->pending_count ? command_names[s->pending[s->pending_head].kind]
                          : postie_smtp_phase_name(s->phase),
         NULL, what);
}

postie_status_t postie_smtp_tls_done(postie_smtp_t *s, uint32_t now)
{
    if (s->phase != POSTIE_SMTP_PHASE_TLS_HANDSHAKE) {
        return POSTIE_E_BAD_STATE;
    }
    /* RFC 3207 4.2: forget everything learned before the handshake. */
    memset(&s->caps, 0, sizeof(s->caps));
    s->caps.secure = true;
    postie_line_reset(&s->rx);
    postie_smtp_reply_init(&s->reply);
    s->pipeline_limit = 1;
    log_note(s, "TLS established; asking for capabilities again");
    send_ehlo(s, CMD_EHLO, now);
    return POSTIE_OK;
}

postie_status_t postie_smtp_send(postie_smtp_t *s, postie_smtp_envelope_t *env, uint32_t now)
{
    bool non_ascii = false;
    bool utf8 = false;
    postie_status_t st;

    if (s->phase != POSTIE_SMTP_PHASE_READY) {
        return POSTIE_E_BAD_STATE;
    }
    postie_error_clear(&s->message_error);
    if (env == NULL || env->from == NULL || env->rcpt == NULL || env->rcpt_count == 0 ||
        env->rcpt_count > 65535) {
        set_error(&s->message_error, POSTIE_E_INVALID_ARGUMENT, "envelope", NULL,
                  "from and 1..65535 recipients are required");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    st = postie_address_check(env->from, true, &non_ascii);
    if (st != POSTIE_OK) {
        set_error(&s->message_error, st, command_names[CMD_MAIL], NULL, env->from);
        return st;
    }
    utf8 = non_ascii;
    for (size_t i = 0; i < env->rcpt_count; i++) {
        const char *a = env->rcpt[i].address;
        st = postie_address_check(a, false, &non_ascii);
        if (st != POSTIE_OK) {
            set_error(&s->message_error, st, command_names[CMD_RCPT], NULL, a != NULL ? a : "");
            return st;
        }
        utf8 = utf8 || non_ascii;
    }
    if (env->dsn_envid != NULL && strlen(env->dsn_envid) > 100) {
        set_error(&s->message_error, POSTIE_E_INVALID_ARGUMENT, "MAIL FROM", NULL,
                  "ENVID longer than 100 octets");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    env->smtputf8 = env->smtputf8 || utf8;
    if (env->smtputf8 && !(s->caps.flags & POSTIE_SMTP_CAP_SMTPUTF8)) {
        set_error(&s->message_error, POSTIE_E_ADDRESS_NEEDS_SMTPUTF8, command_names[CMD_MAIL], NULL,
                  env->from);
        return POSTIE_E_ADDRESS_NEEDS_SMTPUTF8;
    }
    if (env->body_8bit && !(s->caps.flags & POSTIE_SMTP_CAP_8BITMIME)) {
        set_error(&s->message_error, POSTIE_E_BODY_8BIT_UNSUPPORTED, command_names[CMD_MAIL], NULL,
                  NULL);
        return POSTIE_E_BODY_8BIT_UNSUPPORTED;
    }
    if ((s->caps.flags & POSTIE_SMTP_CAP_SIZE) && s->caps.size_limit > 0 &&
        env->size > s->caps.size_limit) {
        set_error(&s->message_error, POSTIE_E_MESSAGE_TOO_LARGE, command_names[CMD_MAIL], NULL,
                  NULL);
        return POSTIE_E_MESSAGE_TOO_LARGE;
    }
    for (size_t i = 0; i < env->rcpt_count; i++) {
        env->rcpt[i].state = POSTIE_RCPT_PENDING;
        memset(&env->rcpt[i].reply, 0, sizeof(env->rcpt[i].reply));
    }
    s->env = env;
    s->next_rcpt = 0;
    s->accepted = 0;
    s->mail_sent = false;
    s->data_sent = false;
    s->data_end_queued = false;
    s->body_ended = false;
    s->message_failed = false;
    s->chunk_len = 0;
    s->chunks_answered = 0;
    s->chunk_octets_answered = 0;
    s->use_bdat = s->cfg.use_chunking && (s->caps.flags & POSTIE_SMTP_CAP_CHUNKING);
    s->phase = POSTIE_SMTP_PHASE_ENVELOPE;
    pump_envelope(s, now);
    return POSTIE_OK;
}

/* Close the open BDAT chunk: write "BDAT n[ LAST]" into the gap before it.
 * The header goes at the end of the gap, right before the chunk, and what
 * waits to be sent before the gap moves up to meet it: usually nothing, or
 * a few commands, where moving the chunk down would copy the whole body
 * once more. (When more waits before the gap than the chunk holds, the
 * chunk moves down instead.) */
static bool close_chunk(postie_smtp_t *s, bool last, uint32_t now)
{
    char line[BDAT_HEADER_ROOM];
    postie_text_t b;
    size_t line_len;
    size_t hole;
    size_t queued = s->tx_len - s->tx_start;

    if (pending_full(s)) {
        return false;
    }
    postie_text_init(&b, line, sizeof(line));
    postie_text_put(&b, "BDAT ");
    postie_text_put_u64(&b, s->chunk_len);
    if (last) {
        postie_text_put(&b, " LAST");
    }
    line_len = b.len;
    postie_text_put(&b, "\r\n");
    log_line(s, POSTIE_LOG_SENT, line, line_len);
    hole = BDAT_HEADER_ROOM - b.len;
    if (queued <= s->chunk_len) {
        memmove(s->tx_buf + s->tx_start + hole, s->tx_buf + s->tx_start, queued);
        s->tx_start += hole;
        s->tx_len += hole;
    } else {
        memmove(s->tx_buf + s->tx_len + b.len, s->tx_buf + s->tx_len + BDAT_HEADER_ROOM,
                s->chunk_len);
    }
    memcpy(s->tx_buf + s->tx_len, line, b.len);
    s->tx_len += b.len + s->chunk_len;
    push_pending(s, last ? CMD_BDAT_LAST : CMD_BDAT, 0, 0, now);
    /* the chunk's length rides in the entry: its reply names its octets */
    s->pending[(s->pending_head + s->pending_count - 1u) % POSTIE_SMTP_PIPELINE_MAX].index =
        (uint16_t)(s->chunk_len & 0xFFFFu);
    s->pending[(s->pending_head + s->pending_count - 1u) % POSTIE_SMTP_PIPELINE_MAX].step =
        (uint8_t)(s->chunk_len >> 16);
    s->chunk_len = 0;
    return true;
}

postie_status_t postie_smtp_body_write(postie_smtp_t *s, const uint8_t *data, size_t len,
                                       size_t *consumed, uint32_t now)
{
    uint8_t *out;
    size_t cap;
    size_t produced = 0;
    postie_status_t st;

    *consumed = 0;
    if (s->phase != POSTIE_SMTP_PHASE_BODY || s->body_ended || s->message_failed) {
        if (s->message_failed) {
            return s->message_error.status;
        }
        return s->phase == POSTIE_SMTP_PHASE_FAILED ? s->error.status : POSTIE_E_BAD_STATE;
    }
    out = s->tx_buf + body_offset(s, &cap);
    if (cap < POSTIE_BODY_MAX_EXPANSION + POSTIE_BODY_FINISH_MAX) {
        if (s->use_bdat && s->chunk_len > 0) {
            (void)close_chunk(s, false, now);
        }
        return POSTIE_E_AGAIN;
    }
    /* keep room for the end of the message */
    st = postie_body_encode(&s->body, data, len, consumed, out, cap - POSTIE_BODY_FINISH_MAX,
                            &produced);
    if (s->use_bdat) {
        s->chunk_len += produced;
    } else {
        s->tx_len += produced;
    }
    if (st != POSTIE_OK) {
        /* DATA and BDAT cannot be taken back: only closing the connection
         * keeps the partial message from being delivered. */
        char where[32];
        postie_text_t b;
        postie_text_init_str(&b, where, sizeof(where));
        postie_text_put(&b, "at body octet ");
        postie_text_put_u64(&b, s->body.in_octets);
        fail(s, st, "message body", NULL, where);
        return st;
    }
    if (s->use_bdat && !body_room(s) && s->chunk_len > 0) {
        (void)close_chunk(s, false, now);
    }
    return POSTIE_OK;
}

postie_status_t postie_smtp_body_end(postie_smtp_t *s, uint32_t now)
{
    size_t produced = 0;
    uint8_t *out;
    size_t cap;

    if (s->phase != POSTIE_SMTP_PHASE_BODY || s->body_ended || s->message_failed) {
        if (s->message_failed) {
            return s->message_error.status;
        }
        return s->phase == POSTIE_SMTP_PHASE_FAILED ? s->error.status : POSTIE_E_BAD_STATE;
    }
    out = s->tx_buf + body_offset(s, &cap);
    if (s->use_bdat) {
        if (pending_full(s) || cap < POSTIE_BODY_FINISH_MAX) {
            if (s->chunk_len > 0 && cap < POSTIE_BODY_FINISH_MAX) {
                (void)close_chunk(s, false, now);
            }
            return POSTIE_E_AGAIN;
        }
        (void)postie_body_finish(&s->body, out, cap, &produced);
        s->chunk_len += produced;
        (void)close_chunk(s, true, now);
    } else {
        if (postie_body_finish(&s->body, out, cap, &produced) != POSTIE_OK) {
            return POSTIE_E_AGAIN;
        }
        s->tx_len += produced;
        log_line(s, POSTIE_LOG_SENT, ".", 1);
        push_pending(s, CMD_DOT, 0, 0, now);
    }
    /* the final dot or the BDAT LAST chunk just pushed ends here */
    s->data_end = s->tx_sent + (uint32_t)(s->tx_len - s->tx_start);
    s->data_end_queued = true;
    s->body_ended = true;
    s->phase = POSTIE_SMTP_PHASE_BODY_END;
    return POSTIE_OK;
}

postie_status_t postie_smtp_quit(postie_smtp_t *s, uint32_t now)
{
    if (s->phase != POSTIE_SMTP_PHASE_READY) {
        return POSTIE_E_BAD_STATE;
    }
    s->phase = POSTIE_SMTP_PHASE_QUIT;
    (void)send_simple(s, CMD_QUIT, "QUIT", NULL, now);
    return POSTIE_OK;
}

static uint32_t reply_timeout(const postie_smtp_t *s)
{
    switch (s->pending[s->pending_head].kind) {
    case CMD_GREETING:
        return s->cfg.timeout_greeting_ms;
    case CMD_DATA:
        return s->cfg.timeout_data_init_ms;
    case CMD_DOT:
    case CMD_BDAT:
    case CMD_BDAT_LAST:
        return s->cfg.timeout_data_end_ms;
    default:
        return s->cfg.timeout_command_ms;
    }
}

uint32_t postie_smtp_timeout_ms(const postie_smtp_t *s, uint32_t now)
{
    uint32_t limit;
    uint32_t waited;
    if (s->pending_count == 0 || s->phase == POSTIE_SMTP_PHASE_FAILED ||
        s->phase == POSTIE_SMTP_PHASE_CLOSED) {
        return UINT32_MAX;
    }
    limit = reply_timeout(s);
    if (!head_sent(s)) {
        return limit; /* its clock starts when the command has left */
    }
    waited = now - s->wait_since;
    return waited >= limit ? 0 : limit - waited;
}

uint32_t postie_smtp_send_timeout_ms(const postie_smtp_t *s)
{
    return s->phase == POSTIE_SMTP_PHASE_BODY ? s->cfg.timeout_data_block_ms
                                              : s->cfg.timeout_command_ms;
}

postie_status_t postie_smtp_poll(postie_smtp_t *s, uint32_t now)
{
    if (s->phase == POSTIE_SMTP_PHASE_FAILED) {
        return s->error.status;
    }
    if (s->pending_count > 0 && s->tx_len == s->tx_start && postie_smtp_timeout_ms(s, now) == 0) {
        char why[48];
        postie_text_t b;
        postie_text_init_str(&b, why, sizeof(why));
        postie_text_put(&b, "no complete reply within ");
        postie_text_put_u64(&b, reply_timeout(s));
        postie_text_put(&b, " ms");
        fail(s, POSTIE_E_TIMEOUT, command_names[s->pending[s->pending_head].kind], NULL, why);
        return POSTIE_E_TIMEOUT;
    }
    return POSTIE_OK;
}

bool postie_smtp_next_event(postie_smtp_t *s, postie_smtp_event_t *ev)
{
    if (s->ev_count == 0) {
        ev->type = POSTIE_SMTP_EV_NONE;
        return false;
    }
    *ev = s->events[s->ev_head];
    s->ev_head = (uint16_t)((s->ev_head + 1) % POSTIE_SMTP_EVENTS_MAX);
    s->ev_count--;
    /* Lines held back while the event ring was full can go on now. */
    if (postie_line_pending(&s->rx) != 0) {
        process_rx(s, s->wait_since);
    }
    return true;
}

const postie_smtp_caps_t *postie_smtp_caps(const postie_smtp_t *s)
{
    return &s->caps;
}

const postie_error_t *postie_smtp_error(const postie_smtp_t *s)
{
    return &s->error;
}

const postie_error_t *postie_smtp_message_result(const postie_smtp_t *s)
{
    return &s->message_error;
}
