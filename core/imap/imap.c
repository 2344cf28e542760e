/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMAP client engine. See postie/imap/imap.h for the contract.
 *
 * Shape: every tagged command the engine writes is pushed on a small ring
 * ("pending"), with its tag. A tagged completion is matched to its entry by
 * the tag; entries complete in order (one that completes OK ahead of an
 * older one waits, marked done, so events keep the order the commands were
 * started in). Untagged responses are handled by what they are, wherever
 * they come.
 *
 * Responses are read with the common line reader. A line that ends with a
 * literal announcement {n} switches it to counted mode for n octets (a
 * message goes to the retrieve's data callback, any other literal is
 * skipped), and the line after the literal continues the same response. A
 * FETCH response is parsed by a small state machine whose state survives
 * those breaks. An untagged SEARCH answer may be longer than a line: it is
 * read in parts and its numbers are taken as they stream.
 *
 * This file holds the commands, completions and status responses; the
 * FETCH parser, literals and the list are in imap_fetch.c, the stateless
 * syntax helpers in imap_syntax.c (imap_internal.h says what they share).
 */
#include "postie/imap/imap.h"

#include <string.h>

#include "postie/common/text.h"
#include "postie/common/utf8.h"

#include "imap_internal.h"

/* Room a command needs in the transmit buffer before it is started. The
 * longest are LOGIN with two literals and AUTHENTICATE PLAIN with SASL-IR
 * (about 720 octets with the longest credentials), and SELECT with the
 * longest modified UTF-7 name (about 2 * POSTIE_IMAP_FOLDER_MAX). */
#define COMMAND_ROOM      1024u
/* A mailbox command (retrieve, remove, a list window) is much shorter. */
#define SMALL_ROOM        128u
/* Longest value sent as a quoted string in LOGIN; longer ones are literals. */
#define QUOTED_MAX        128u
/* RFC 7888: LITERAL- allows non-synchronising literals up to this size. */
#define LITERAL_MINUS_MAX 4096u
/* Events kept free for completions and FAILED, which must never be lost. */
#define EVENTS_RESERVED   3u

_Static_assert(POSTIE_IMAP_TX_BUFFER_SIZE >= COMMAND_ROOM, "transmit buffer too small");
_Static_assert(POSTIE_IMAP_EVENTS_MAX > EVENTS_RESERVED, "need room for events");
_Static_assert(COMMAND_ROOM >= 2 * POSTIE_IMAP_FOLDER_MAX + 64, "SELECT must fit a command");

static const char *const command_names[] = {
    "greeting",  "CAPABILITY", "STARTTLS",  "LOGIN",       "AUTHENTICATE", "SELECT", "UID SEARCH",
    "UID FETCH", "UID FETCH",  "UID STORE", "UID EXPUNGE", "EXPUNGE",      "LOGOUT",
};

/* LOGIN pieces: the next piece starts at this step. */
enum { LOGIN_START, LOGIN_USER_OCTETS, LOGIN_PASS_OCTETS, LOGIN_SENT };

/* AUTHENTICATE steps. */
enum { AUTH_WAIT_PLUS, AUTH_SENT, AUTH_CANCELLED, AUTH_ERROR_ANSWERED };

/* The mechanism AUTHENTICATE uses: the OAuth 2.0 one when a token is set. */
static uint32_t auth_mechanism(const postie_imap_t *m)
{
    return m->cfg.oauth_token != NULL ? m->cfg.oauth_mechanism : POSTIE_SASL_PLAIN;
}

static const char *const state_names[] = {
#define POSTIE_IMAP_STATE_NAME(name) #name,
    POSTIE_IMAP_STATES(POSTIE_IMAP_STATE_NAME)
#undef POSTIE_IMAP_STATE_NAME
};

const char *postie_imap_state_name(postie_imap_state_t state)
{
    if ((unsigned)state >= (unsigned)POSTIE_IMAP_STATE_COUNT) {
        return "UNKNOWN";
    }
    return state_names[state];
}

void postie_imap_config_defaults(postie_imap_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    cfg->sasl_allowed = POSTIE_SASL_PLAIN;
    cfg->timeout_greeting_ms = POSTIE_IMAP_TIMEOUT_GREETING_MS;
    cfg->timeout_command_ms = POSTIE_IMAP_TIMEOUT_COMMAND_MS;
    cfg->timeout_data_ms = POSTIE_IMAP_TIMEOUT_DATA_MS;
    cfg->literal_max = POSTIE_IMAP_LITERAL_MAX;
}

/* ---- small helpers --------------------------------------------------------- */

static void log_line(postie_imap_t *m, postie_log_dir_t dir, const char *line, size_t len)
{
    if (m->cfg.log != NULL) {
        m->cfg.log(m->cfg.log_ctx, dir, line, len);
    }
}

static void log_note(postie_imap_t *m, const char *note)
{
    log_line(m, POSTIE_LOG_INFO, note, strlen(note));
}

/* Every state change goes through here. */
void postie_imapx_set_state(postie_imap_t *m, postie_imap_state_t st)
{
    m->state = st;
}

/* ---- events ---------------------------------------------------------------- */

void postie_imapx_push_event(postie_imap_t *m, postie_mailbox_event_type_t type, uint32_t id,
                             postie_status_t status)
{
    postie_imap_event_t *ev;
    if (m->ev_count >= POSTIE_IMAP_EVENTS_MAX) {
        return; /* cannot happen: reading stops before the ring fills */
    }
    ev = &m->events[(m->ev_head + m->ev_count) % POSTIE_IMAP_EVENTS_MAX];
    ev->type = type;
    ev->id = id;
    ev->status = status;
    m->ev_count++;
}

static bool events_room(const postie_imap_t *m)
{
    return m->ev_count + EVENTS_RESERVED < POSTIE_IMAP_EVENTS_MAX;
}

/* ---- pending commands ------------------------------------------------------ */

postie_imap_pending_t *postie_imapx_pending_at(postie_imap_t *m, uint16_t i)
{
    return &m->pending[(m->pending_head + i) % POSTIE_IMAP_PIPELINE_MAX];
}

static const postie_imap_pending_t *head_c(const postie_imap_t *m)
{
    return &m->pending[m->pending_head];
}

/* The step as sent, without tag or credentials: "UID FETCH 42 (BODY.PEEK[])". */
void postie_imapx_describe(const postie_imap_t *m, const postie_imap_pending_t *p, char *out,
                           size_t cap)
{
    postie_text_t b;
    postie_text_init_str(&b, out, cap);
    switch (p->kind) {
    case CMD_SELECT:
        postie_text_put(&b, "SELECT ");
        postie_text_put_cut(&b, (m->cfg.folder != NULL && m->cfg.folder[0] != '\0') ? m->cfg.folder
                                                                                    : "INBOX");
        break;
    case CMD_AUTHENTICATE:
        postie_text_put(&b, "AUTHENTICATE ");
        postie_text_put(&b, postie_sasl_mechanism_name(auth_mechanism(m)));
        break;
    case CMD_SEARCH:
        postie_text_put(&b, "UID SEARCH UID ");
        postie_text_put_u64(&b, p->uid);
        postie_text_put(&b, ":*");
        break;
    case CMD_FETCH_SIZES:
        postie_text_put(&b, "UID FETCH ");
        postie_text_put_u64(&b, p->uid);
        postie_text_put(&b, ":");
        postie_text_put_u64(&b, p->uid_hi);
        postie_text_put(&b, " (UID RFC822.SIZE)");
        break;
    case CMD_FETCH_BODY:
        postie_text_put(&b, "UID FETCH ");
        postie_text_put_u64(&b, p->uid);
        postie_text_put(&b, " (BODY.PEEK[])");
        break;
    case CMD_STORE:
        postie_text_put(&b, "UID STORE ");
        postie_text_put_u64(&b, p->uid);
        postie_text_put(&b, " +FLAGS.SILENT (\\Deleted)");
        break;
    case CMD_UID_EXPUNGE:
        postie_text_put(&b, "UID EXPUNGE ");
        postie_text_put_u64(&b, p->uid);
        break;
    default:
        postie_text_put(&b, command_names[p->kind]);
        break;
    }
}

/* ---- failure --------------------------------------------------------------- */

/* End the session. phase names the command; text (may be NULL) is the
 * server's, subject (may be NULL) the step or the detail. */
void postie_imapx_fail(postie_imap_t *m, postie_status_t st, const char *phase, const char *text,
                       size_t text_len, const char *subject)
{
    if (m->state == POSTIE_IMAP_STATE_FAILED || m->state == POSTIE_IMAP_STATE_CLOSED) {
        return;
    }
    postie_error_clear(&m->error);
    m->error.status = st;
    m->error.phase = phase != NULL ? phase : "";
    if (text != NULL) {
        postie_text_copy_printable(m->error.reply.text, sizeof(m->error.reply.text), text,
                                   text_len);
    }
    if (subject != NULL) {
        postie_text_copy_printable(m->error.subject, sizeof(m->error.subject), subject,
                                   strlen(subject));
    }
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_FAILED);
    m->pending_count = 0;
    m->tx_start = m->tx_len = 0;
    m->in_literal = false;
    postie_imapx_push_event(m, POSTIE_MAILBOX_EV_FAILED, 0, st);
    log_note(m, postie_status_str(st));
}

/* Fail while command p is the one concerned: phase its name, subject the
 * step (then ": detail" when given). */
void postie_imapx_fail_cmd(postie_imap_t *m, postie_status_t st, const postie_imap_pending_t *p,
                           const char *text, size_t text_len, const char *detail)
{
    char subject[sizeof(m->error.subject)];
    postie_imapx_describe(m, p, subject, sizeof(subject));
    if (detail != NULL) {
        size_t n = strlen(subject);
        postie_text_t b;
        postie_text_init_str(&b, subject + n, sizeof(subject) - n);
        postie_text_put_cut(&b, ": ");
        postie_text_put_cut(&b, detail);
    }
    postie_imapx_fail(m, st, command_names[p->kind], text, text_len, subject);
}

/* Fail about whatever response is being read: the oldest command's. */
void postie_imapx_fail_here(postie_imap_t *m, postie_status_t st, const char *text, size_t text_len,
                            const char *detail)
{
    if (m->pending_count > 0) {
        postie_imap_pending_t p = *head_c(m);
        postie_imapx_fail_cmd(m, st, &p, text, text_len, detail);
    } else {
        postie_imapx_fail(m, st, postie_imap_state_name(m->state), text, text_len, detail);
    }
}

/* ---- transmit buffer ------------------------------------------------------- */

postie_text_t postie_imapx_tx_builder(postie_imap_t *m)
{
    postie_text_t b;
    postie_text_init(&b, (char *)m->tx_buf + m->tx_len, sizeof(m->tx_buf) - m->tx_len);
    return b;
}

static size_t tx_room(const postie_imap_t *m)
{
    return sizeof(m->tx_buf) - m->tx_len;
}

void postie_imapx_put_tag(postie_text_t *b, uint32_t tag)
{
    char digits[24];
    size_t n = postie_text_format_u64(tag, digits);
    postie_text_put_char(b, 'A');
    for (size_t i = n; i < 4; i++) {
        postie_text_put_char(b, '0');
    }
    postie_text_put_n(b, digits, n);
    postie_text_put_char(b, ' ');
}

static bool head_sent(const postie_imap_t *m)
{
    return m->pending_count > 0 && m->tx_sent - head_c(m)->tx_end < UINT32_C(0x80000000);
}

/* Commit what b holds (ending in CRLF) as the start of a new tagged
 * command, log it (or `shown` when it carries a secret) and await its
 * completion. Returns the entry, or NULL when it did not fit. */
postie_imap_pending_t *postie_imapx_commit_command(postie_imap_t *m, postie_text_t *b, uint8_t kind,
                                                   uint8_t step, const char *shown, uint32_t now)
{
    postie_imap_pending_t *p;
    if (b->overflow || m->pending_count >= POSTIE_IMAP_PIPELINE_MAX) {
        postie_imapx_fail(m, POSTIE_E_NO_SPACE, command_names[kind], NULL, 0,
                          "command does not fit");
        return NULL;
    }
    if (shown != NULL) {
        log_line(m, POSTIE_LOG_SENT, shown, strlen(shown));
    } else {
        log_line(m, POSTIE_LOG_SENT, b->buf, b->len >= 2 ? b->len - 2 : b->len);
    }
    m->tx_len += b->len;
    m->last_now = now;
    p = postie_imapx_pending_at(m, m->pending_count);
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->step = step;
    p->tag = m->next_tag++;
    p->tx_end = m->tx_sent + (uint32_t)(m->tx_len - m->tx_start);
    if (m->pending_count == 0) {
        m->wait_since = now;
    }
    m->pending_count++;
    return p;
}

/* More octets of the newest command (after a "+" continuation). */
static void commit_more(postie_imap_t *m, postie_text_t *b, postie_imap_pending_t *p,
                        const char *shown, uint32_t now)
{
    if (b->overflow) {
        postie_imapx_fail_cmd(m, POSTIE_E_NO_SPACE, p, NULL, 0, "command does not fit");
        return;
    }
    log_line(m, POSTIE_LOG_SENT, shown, strlen(shown));
    m->tx_len += b->len;
    p->tx_end = m->tx_sent + (uint32_t)(m->tx_len - m->tx_start);
    m->wait_since = now;
}

/* A command without arguments, or with a plain argument. */
static postie_imap_pending_t *send_simple(postie_imap_t *m, uint8_t kind, const char *verb,
                                          uint32_t now)
{
    postie_text_t b = postie_imapx_tx_builder(m);
    postie_imapx_put_tag(&b, m->next_tag);
    postie_text_put(&b, verb);
    postie_text_put(&b, "\r\n");
    return postie_imapx_commit_command(m, &b, kind, 0, NULL, now);
}

/* ---- capabilities ---------------------------------------------------------- */

static void parse_capabilities(postie_imap_t *m, const char *s, size_t n)
{
    size_t pos = 0;
    const char *w;
    size_t wlen;

    m->caps.flags = 0;
    m->caps.sasl = 0;
    m->caps.known = true;
    postie_text_copy_printable(m->info.capabilities, sizeof(m->info.capabilities), s, n);
    while (postie_next_word(s, n, &pos, &w, &wlen)) {
        if (postie_ascii_ieq(w, wlen, "IMAP4rev1")) {
            m->caps.flags |= POSTIE_IMAP_CAP_IMAP4REV1;
        } else if (postie_ascii_ieq(w, wlen, "IMAP4rev2")) {
            m->caps.flags |= POSTIE_IMAP_CAP_IMAP4REV2;
        } else if (postie_ascii_ieq(w, wlen, "STARTTLS")) {
            m->caps.flags |= POSTIE_IMAP_CAP_STARTTLS;
        } else if (postie_ascii_ieq(w, wlen, "LOGINDISABLED")) {
            m->caps.flags |= POSTIE_IMAP_CAP_LOGINDISABLED;
        } else if (postie_ascii_ieq(w, wlen, "SASL-IR")) {
            m->caps.flags |= POSTIE_IMAP_CAP_SASL_IR;
        } else if (postie_ascii_ieq(w, wlen, "LITERAL+")) {
            m->caps.flags |= POSTIE_IMAP_CAP_LITERAL_PLUS;
        } else if (postie_ascii_ieq(w, wlen, "LITERAL-")) {
            m->caps.flags |= POSTIE_IMAP_CAP_LITERAL_MINUS;
        } else if (postie_ascii_ieq(w, wlen, "UIDPLUS")) {
            m->caps.flags |= POSTIE_IMAP_CAP_UIDPLUS;
        } else if (postie_ascii_ieq(w, wlen, "IDLE")) {
            m->caps.flags |= POSTIE_IMAP_CAP_IDLE;
        } else if (wlen > 5 && postie_ascii_ieq(w, 5, "AUTH=")) {
            m->caps.sasl |= postie_sasl_mechanism(w + 5, wlen - 5);
        }
    }
}

/* ---- session set-up -------------------------------------------------------- */

/*
 * C: A0004 SELECT INBOX
 * S: * 172 EXISTS / * OK [UIDVALIDITY 3857529045] / * OK [UIDNEXT 4392]
 * S: A0004 OK [READ-WRITE] SELECT completed
 */
static void send_select(postie_imap_t *m, uint32_t now)
{
    char name[2 * POSTIE_IMAP_FOLDER_MAX + 8]; /* modified UTF-7 at most doubles a name */
    postie_text_t enc;
    postie_text_t b = postie_imapx_tx_builder(m);
    const char *folder = m->cfg.folder;

    postie_text_init(&enc, name, sizeof(name));
    if (folder == NULL || folder[0] == '\0') {
        postie_text_put(&enc, "INBOX");
    } else {
        postie_imapx_put_mutf7(&enc, folder);
    }
    postie_imapx_put_tag(&b, m->next_tag);
    postie_text_put(&b, "SELECT ");
    if (enc.overflow) {
        postie_text_fail(&b);
    } else {
        postie_imapx_put_astring_7bit(&b, name, enc.len);
    }
    postie_text_put(&b, "\r\n");
    m->have_uidvalidity = false;
    m->info.uidvalidity = 0;
    m->info.uidnext = 0;
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_SELECT);
    (void)postie_imapx_commit_command(m, &b, CMD_SELECT, 0, NULL, now);
}

/* How a LOGIN value goes on the wire. */
enum { ENC_QUOTED, ENC_LITERAL_SYNC, ENC_LITERAL_NONSYNC };

static int astring_encoding(const postie_imap_t *m, const char *v)
{
    size_t n = strlen(v);
    bool quotable = n <= QUOTED_MAX;
    for (size_t i = 0; i < n && quotable; i++) {
        uint8_t c = (uint8_t)v[i];
        quotable = c < 0x80 && c != '\r' && c != '\n';
    }
    if (quotable) {
        return ENC_QUOTED;
    }
    if ((m->caps.flags & POSTIE_IMAP_CAP_LITERAL_PLUS) ||
        ((m->caps.flags & POSTIE_IMAP_CAP_LITERAL_MINUS) && n <= LITERAL_MINUS_MAX)) {
        return ENC_LITERAL_NONSYNC;
    }
    return ENC_LITERAL_SYNC;
}

/* Put a LOGIN value; true when it is a synchronising literal whose octets
 * wait for the server's "+". */
static bool put_login_value(const postie_imap_t *m, postie_text_t *b, const char *v)
{
    size_t n = strlen(v);
    switch (astring_encoding(m, v)) {
    case ENC_QUOTED:
        postie_text_put_char(b, '"');
        for (size_t i = 0; i < n; i++) {
            if (v[i] == '"' || v[i] == '\\') {
                postie_text_put_char(b, '\\');
            }
            postie_text_put_char(b, v[i]);
        }
        postie_text_put_char(b, '"');
        return false;
    case ENC_LITERAL_NONSYNC:
        postie_text_put_char(b, '{');
        postie_text_put_u64(b, n);
        postie_text_put(b, "+}\r\n");
        postie_text_put_n(b, v, n);
        return false;
    default:
        postie_text_put_char(b, '{');
        postie_text_put_u64(b, n);
        postie_text_put(b, "}\r\n");
        return true;
    }
}

/* One piece of LOGIN, from step to the next synchronising literal or the
 * end; returns the step the next piece starts at. */
static uint8_t login_piece(postie_imap_t *m, postie_text_t *b, uint8_t step, uint32_t tag)
{
    if (step == LOGIN_START) {
        postie_imapx_put_tag(b, tag);
        postie_text_put(b, "LOGIN ");
        if (put_login_value(m, b, m->cfg.username)) {
            return LOGIN_USER_OCTETS;
        }
    }
    if (step <= LOGIN_USER_OCTETS) {
        if (step == LOGIN_USER_OCTETS) {
            postie_text_put(b, m->cfg.username);
        }
        postie_text_put_char(b, ' ');
        if (put_login_value(m, b, m->cfg.password)) {
            return LOGIN_PASS_OCTETS;
        }
    }
    if (step == LOGIN_PASS_OCTETS) {
        postie_text_put(b, m->cfg.password);
    }
    postie_text_put(b, "\r\n");
    return LOGIN_SENT;
}

/* The SASL initial response of mechanism mech (PLAIN, XOAUTH2 or
 * OAUTHBEARER), base64, into b. */
static void put_sasl_response(const postie_imap_t *m, uint32_t mech, postie_text_t *b)
{
    size_t room = 0;
    size_t written = 0;
    char *tail = postie_text_tail(b, &room);
    if (mech == POSTIE_SASL_PLAIN &&
        postie_sasl_plain(m->cfg.username, m->cfg.password, tail, room, &written) == POSTIE_OK) {
        postie_text_advance(b, written);
    } else if (mech != POSTIE_SASL_PLAIN &&
               postie_sasl_oauth(mech, m->cfg.username, m->cfg.oauth_host, m->cfg.oauth_port,
                                 m->cfg.oauth_token, strlen(m->cfg.oauth_token), tail, room,
                                 &written) == POSTIE_OK) {
        postie_text_advance(b, written);
    } else {
        postie_text_fail(b);
    }
}

/*
 * C: A0003 AUTHENTICATE PLAIN <redacted>          (SASL-IR)
 * C: A0003 AUTHENTICATE PLAIN   S: +   C: <redacted>
 * C: A0003 LOGIN "user" "pass"  (or literals)
 * S: A0003 OK [CAPABILITY IMAP4rev1 ...] Logged in
 */
static void start_login(postie_imap_t *m, uint32_t now)
{
    static const char phase[] = "LOGIN";
    uint32_t mech = auth_mechanism(m);
    uint32_t usable =
        m->caps.sasl & (m->cfg.oauth_token != NULL ? mech : m->cfg.sasl_allowed) & mech;
    postie_text_t b = postie_imapx_tx_builder(m);
    uint32_t tag = m->next_tag;

    if (m->cfg.username == NULL) {
        postie_imapx_fail(m, POSTIE_E_INVALID_ARGUMENT, phase, NULL, 0,
                          "no user name configured and the server did not PREAUTH");
        return;
    }
    if (!m->caps.secure && !m->cfg.allow_plaintext_auth) {
        postie_imapx_fail(m, POSTIE_E_AUTH_CLEARTEXT_REFUSED, phase, NULL, 0, NULL);
        return;
    }
    if (m->cfg.oauth_token != NULL && usable == 0) {
        char why[40];
        postie_text_t wb;
        postie_text_init_str(&wb, why, sizeof(why));
        postie_text_put(&wb, postie_sasl_mechanism_name(mech));
        postie_text_put(&wb, " not offered");
        postie_imapx_fail(m, POSTIE_E_AUTH_NO_MECHANISM, "AUTHENTICATE", NULL, 0, why);
        return;
    }
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_LOGIN);
    m->caps.known = false; /* what the server says from here on counts */
    m->oauth_error[0] = '\0';
    if (usable != 0) {
        postie_imapx_put_tag(&b, tag);
        postie_text_put(&b, "AUTHENTICATE ");
        postie_text_put(&b, postie_sasl_mechanism_name(mech));
        if (m->caps.flags & POSTIE_IMAP_CAP_SASL_IR) {
            char shown[48];
            postie_text_t sb;
            postie_text_put_char(&b, ' ');
            put_sasl_response(m, mech, &b);
            postie_text_put(&b, "\r\n");
            postie_text_init_str(&sb, shown, sizeof(shown));
            postie_imapx_put_tag(&sb, tag);
            postie_text_put(&sb, "AUTHENTICATE ");
            postie_text_put(&sb, postie_sasl_mechanism_name(mech));
            postie_text_put(&sb, " <redacted>");
            (void)postie_imapx_commit_command(m, &b, CMD_AUTHENTICATE, AUTH_SENT, shown, now);
        } else {
            postie_text_put(&b, "\r\n");
            (void)postie_imapx_commit_command(m, &b, CMD_AUTHENTICATE, AUTH_WAIT_PLUS, NULL, now);
        }
        return;
    }
    if (m->caps.flags & POSTIE_IMAP_CAP_LOGINDISABLED) {
        postie_imapx_fail(m, POSTIE_E_AUTH_NO_MECHANISM, phase, NULL, 0,
                          "LOGINDISABLED and no allowed AUTHENTICATE mechanism offered");
        return;
    }
    {
        char shown[32];
        postie_text_t sb;
        uint8_t next = login_piece(m, &b, LOGIN_START, tag);
        postie_text_init_str(&sb, shown, sizeof(shown));
        postie_imapx_put_tag(&sb, tag);
        postie_text_put(&sb, "LOGIN <redacted>");
        (void)postie_imapx_commit_command(m, &b, CMD_LOGIN, next, shown, now);
    }
}

/* A capability answer is in: TLS, then login, then the folder. */
static void after_capability(postie_imap_t *m, uint32_t now)
{
    bool offered = (m->caps.flags & POSTIE_IMAP_CAP_STARTTLS) != 0;
    bool want_tls = m->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED ||
                    m->cfg.tls_mode == POSTIE_TLS_STARTTLS_OPPORTUNISTIC;

    if (!m->caps.secure && want_tls && !m->caps.authenticated && !m->starttls_refused) {
        if (offered) {
            /* C: A0002 STARTTLS   S: A0002 OK Begin TLS negotiation now */
            postie_imapx_set_state(m, POSTIE_IMAP_STATE_STARTTLS);
            (void)send_simple(m, CMD_STARTTLS, "STARTTLS", now);
            return;
        }
        if (m->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED) {
            postie_imapx_fail(m, POSTIE_E_STARTTLS_UNAVAILABLE, command_names[CMD_CAPABILITY], NULL,
                              0, "STARTTLS not in the server's capabilities");
            return;
        }
        log_note(m, "STARTTLS not offered; continuing without TLS (opportunistic mode)");
    }
    if (!m->caps.authenticated) {
        start_login(m, now);
        return;
    }
    send_select(m, now);
}

/* C: A0001 CAPABILITY   S: * CAPABILITY IMAP4rev1 STARTTLS ...   S: A0001 OK */
static void send_capability(postie_imap_t *m, uint32_t now)
{
    m->caps.known = false;
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_CAPABILITY);
    (void)send_simple(m, CMD_CAPABILITY, "CAPABILITY", now);
}

/* ---- status responses ------------------------------------------------------ */

/* What a response code says, for any status response: capabilities,
 * UIDVALIDITY, UIDNEXT, ALERT. */
static void on_code(postie_imap_t *m, const char *code, size_t code_len, const char *args,
                    size_t args_len, const char *text, size_t text_len)
{
    uint32_t v;
    if (code == NULL) {
        return;
    }
    if (postie_ascii_ieq(code, code_len, "CAPABILITY")) {
        parse_capabilities(m, args != NULL ? args : "", args_len);
    } else if (postie_ascii_ieq(code, code_len, "UIDVALIDITY") && args != NULL &&
               postie_imapx_parse_u32(args, args_len, true, &v)) {
        m->info.uidvalidity = v;
        m->have_uidvalidity = true;
    } else if (postie_ascii_ieq(code, code_len, "UIDNEXT") && args != NULL &&
               postie_imapx_parse_u32(args, args_len, true, &v)) {
        m->info.uidnext = v;
    } else if (postie_ascii_ieq(code, code_len, "ALERT")) {
        size_t skip = code_len + 2 < text_len ? code_len + 2 : text_len;
        while (skip < text_len && text[skip] == ' ') {
            skip++;
        }
        postie_text_copy_printable(m->alert, sizeof(m->alert), text + skip, text_len - skip);
        if (m->ev_count + EVENTS_RESERVED + 1 < POSTIE_IMAP_EVENTS_MAX) {
            postie_imapx_push_event(m, POSTIE_MAILBOX_EV_ALERT, 0, POSTIE_OK);
        }
        log_note(m, "server ALERT");
    }
}

static bool code_is(const char *code, size_t code_len, const char *name)
{
    return code != NULL && postie_ascii_ieq(code, code_len, name);
}

/* The status a refusal (tagged NO or BAD) of command p means. */
static postie_status_t refusal_status(const postie_imap_pending_t *p, bool bad, bool oauth,
                                      const char *code, size_t code_len)
{
    bool busy = code_is(code, code_len, "INUSE") || code_is(code, code_len, "UNAVAILABLE");
    if (p->kind == CMD_LOGIN || p->kind == CMD_AUTHENTICATE) {
        if (code_is(code, code_len, "UNAVAILABLE")) {
            return POSTIE_E_AUTH_TEMPORARY;
        }
        if (p->kind == CMD_AUTHENTICATE && oauth && p->step != AUTH_WAIT_PLUS &&
            (!bad || p->step == AUTH_ERROR_ANSWERED)) {
            /* the token left and was refused (a refusal before it left is
             * AUTH_FAILED below: a fresh token would not change it) */
            return POSTIE_E_TOKEN_REJECTED;
        }
        if (!bad || p->step == AUTH_CANCELLED) {
            return POSTIE_E_AUTH_FAILED;
        }
        return POSTIE_E_REPLY_MALFORMED;
    }
    if (bad) {
        return POSTIE_E_REPLY_MALFORMED;
    }
    if (busy) {
        return POSTIE_E_MAILBOX_IN_USE;
    }
    if (p->kind == CMD_SELECT) {
        return POSTIE_E_FOLDER_NOT_FOUND;
    }
    if (p->kind == CMD_STARTTLS) {
        return POSTIE_E_STARTTLS_REFUSED;
    }
    return POSTIE_E_COMMAND_REFUSED;
}

/* A command completed OK, in order: act on it. */
/* The UID EXPUNGE of a removed message, once its UID STORE was answered;
 * then the LOGOUT of a finish that waited for the last one. */
static void send_uid_expunge(postie_imap_t *m, uint32_t uid, uint32_t now)
{
    postie_text_t b = postie_imapx_tx_builder(m);
    postie_imapx_put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID EXPUNGE ");
    postie_text_put_u64(&b, uid);
    postie_text_put(&b, "\r\n");
    postie_imap_pending_t *p = postie_imapx_commit_command(m, &b, CMD_UID_EXPUNGE, 0, NULL, now);
    if (p == NULL) {
        return; /* the session failed; the error says why */
    }
    p->uid = uid;
    if (m->expunges_owed > 0) {
        m->expunges_owed--;
    }
    if (m->expunges_owed == 0 && m->finish_waiting) {
        m->finish_waiting = false;
        (void)send_simple(m, CMD_LOGOUT, "LOGOUT", now);
    }
}

static void complete(postie_imap_t *m, const postie_imap_pending_t *p, uint32_t now)
{
    switch (p->kind) {
    /* C: A0001 CAPABILITY   S: * CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN   S: A0001 OK */
    case CMD_CAPABILITY:
        if (!m->caps.known) {
            postie_imapx_fail_cmd(m, POSTIE_E_REPLY_MALFORMED, p, NULL, 0, "no CAPABILITY answer");
            return;
        }
        after_capability(m, now);
        break;

    /* C: A0002 STARTTLS   S: A0002 OK Begin TLS negotiation now */
    case CMD_STARTTLS:
        postie_imapx_set_state(m, POSTIE_IMAP_STATE_TLS_HANDSHAKE);
        break;

    /* S: A0003 OK [CAPABILITY ...] Logged in */
    case CMD_LOGIN:
    case CMD_AUTHENTICATE:
        m->caps.authenticated = true;
        if (m->caps.known) {
            send_select(m, now);
        } else {
            send_capability(m, now); /* capabilities may change at login */
        }
        break;

    /* S: A0004 OK [READ-WRITE] SELECT completed */
    case CMD_SELECT:
        if (!m->have_uidvalidity) {
            postie_imapx_fail_cmd(m, POSTIE_E_REPLY_MALFORMED, p, NULL, 0,
                                  "no UIDVALIDITY in the answer");
            return;
        }
        m->info.secure = m->caps.secure;
        postie_imapx_set_state(m, POSTIE_IMAP_STATE_READY);
        postie_imapx_push_event(m, POSTIE_MAILBOX_EV_READY, 0, POSTIE_OK);
        break;

    /* C: A0005 UID SEARCH UID 43:*   S: * SEARCH 43 44   S: A0005 OK */
    case CMD_SEARCH:
        postie_imapx_list_next(m, now);
        break;

    /* C: A0006 UID FETCH 43:120 (UID RFC822.SIZE)   S: * 1 FETCH (UID 43 RFC822.SIZE 9) */
    case CMD_FETCH_SIZES:
        postie_imapx_list_next(m, now);
        break;

    /* C: A0006 UID FETCH 43 (BODY.PEEK[])   S: * 1 FETCH (UID 43 BODY[] {n} ...)   S: OK */
    case CMD_FETCH_BODY:
        if (!p->got_body) {
            postie_imapx_fail_cmd(m, POSTIE_E_NOT_FOUND, p, NULL, 0,
                                  "the server returned no message");
            return;
        }
        postie_imapx_push_event(m, POSTIE_MAILBOX_EV_RETRIEVED, p->uid, POSTIE_OK);
        break;

    /* C: A0007 UID STORE 43 +FLAGS.SILENT (\Deleted)   S: A0007 OK */
    /* then, with UIDPLUS, C: A0008 UID EXPUNGE 43, only now (RFC 9051 5.5:
     * the expunge depends on the flag the store sets) */
    case CMD_STORE:
        if (p->step == 0) { /* no UID EXPUNGE follows */
            postie_imapx_push_event(m, POSTIE_MAILBOX_EV_REMOVED, p->uid, POSTIE_OK);
        } else {
            send_uid_expunge(m, p->uid, now);
        }
        break;

    /* C: A0008 UID EXPUNGE 43   S: * 1 EXPUNGE   S: A0008 OK */
    case CMD_UID_EXPUNGE:
        postie_imapx_push_event(m, POSTIE_MAILBOX_EV_REMOVED, p->uid, POSTIE_OK);
        break;

    /* C: A0009 EXPUNGE   S: A0009 OK   then LOGOUT */
    case CMD_EXPUNGE:
        (void)send_simple(m, CMD_LOGOUT, "LOGOUT", now);
        break;

    /* C: A0010 LOGOUT   S: * BYE   S: A0010 OK */
    case CMD_LOGOUT:
        postie_imapx_set_state(m, POSTIE_IMAP_STATE_CLOSED);
        postie_imapx_push_event(m, POSTIE_MAILBOX_EV_CLOSED, 0, POSTIE_OK);
        break;

    default:
        break;
    }
}

/* Pop completed commands off the head, in order, while events have room. */
static void drain_done(postie_imap_t *m, uint32_t now)
{
    while (m->pending_count > 0 && head_c(m)->done && events_room(m) &&
           m->state != POSTIE_IMAP_STATE_FAILED && m->state != POSTIE_IMAP_STATE_CLOSED) {
        postie_imap_pending_t p = *head_c(m);
        m->pending_head = (uint16_t)((m->pending_head + 1) % POSTIE_IMAP_PIPELINE_MAX);
        m->pending_count--;
        m->wait_since = now;
        complete(m, &p, now);
    }
}

/* A tagged completion: "A0042 OK ...", "A0042 NO [INUSE] ...". */
static void on_tagged(postie_imap_t *m, const char *line, size_t len, uint32_t now)
{
    size_t pos = 0;
    const char *tag;
    size_t tag_len;
    const char *word;
    size_t word_len;
    const char *text;
    size_t text_len;
    const char *code;
    size_t code_len;
    const char *args;
    size_t args_len;
    uint32_t num = 0;
    postie_imap_pending_t *p = NULL;

    if (!postie_next_word(line, len, &pos, &tag, &tag_len) || tag_len < 2 || tag[0] != 'A' ||
        !postie_imapx_parse_u32(tag + 1, tag_len - 1, false, &num)) {
        postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "not an IMAP response");
        return;
    }
    for (uint16_t i = 0; i < m->pending_count; i++) {
        postie_imap_pending_t *q = postie_imapx_pending_at(m, i);
        if (q->kind != CMD_GREETING && q->tag == num && !q->done) {
            p = q;
            break;
        }
    }
    if (p == NULL) {
        postie_imapx_fail_here(m, POSTIE_E_REPLY_UNEXPECTED, line, len, "a tag nobody sent");
        return;
    }
    if (!postie_next_word(line, len, &pos, &word, &word_len)) {
        postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len,
                               "tagged response without status");
        return;
    }
    text = word;
    text_len = (size_t)(line + len - word);
    {
        size_t t = pos;
        while (t < len && line[t] == ' ') {
            t++;
        }
        postie_imapx_response_code(line + t, len - t, &code, &code_len, &args, &args_len);
        on_code(m, code, code_len, args, args_len, line + t, len - t);
    }
    if (postie_ascii_ieq(word, word_len, "OK")) {
        if (p->kind == CMD_LOGIN && p->step != LOGIN_SENT) {
            postie_imap_pending_t copy = *p;
            postie_imapx_fail_cmd(m, POSTIE_E_REPLY_UNEXPECTED, &copy, text, text_len,
                                  "OK before the command was complete");
            return;
        }
        p->done = true;
        drain_done(m, now);
        return;
    }
    if (postie_ascii_ieq(word, word_len, "NO") || postie_ascii_ieq(word, word_len, "BAD")) {
        postie_imap_pending_t copy = *p;
        bool bad = postie_ascii_ieq(word, word_len, "BAD");
        if (copy.kind == CMD_STARTTLS && !bad &&
            m->cfg.tls_mode == POSTIE_TLS_STARTTLS_OPPORTUNISTIC) {
            log_note(m, "STARTTLS refused; continuing without TLS (opportunistic mode)");
            m->starttls_refused = true;
            p->done = true;
            /* go on as if STARTTLS were not offered */
            m->pending_head = (uint16_t)((m->pending_head + 1) % POSTIE_IMAP_PIPELINE_MAX);
            m->pending_count--;
            m->wait_since = now;
            after_capability(m, now);
            return;
        }
        postie_status_t st = refusal_status(&copy, bad, m->cfg.oauth_token != NULL, code, code_len);
        if (st == POSTIE_E_TOKEN_REJECTED) {
            /* the subject is the server's JSON error, not the step */
            postie_imapx_fail(m, st, command_names[copy.kind], text, text_len, m->oauth_error);
            return;
        }
        postie_imapx_fail_cmd(m, st, &copy, text, text_len, NULL);
        return;
    }
    postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len,
                           "tagged status is not OK, NO or BAD");
}

/* The greeting: "* OK ...", "* PREAUTH ...", "* BYE ...". */
static void on_greeting(postie_imap_t *m, const char *word, size_t word_len, const char *text,
                        size_t text_len, uint32_t now)
{
    m->pending_head = (uint16_t)((m->pending_head + 1) % POSTIE_IMAP_PIPELINE_MAX);
    m->pending_count--;
    m->wait_since = now;
    if (postie_ascii_ieq(word, word_len, "PREAUTH")) {
        if (!m->caps.secure && m->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED) {
            postie_imapx_fail(m, POSTIE_E_PREAUTH_REFUSED, command_names[CMD_GREETING], text,
                              text_len, "PREAUTH on a clear channel");
            return;
        }
        if (!m->caps.secure && m->cfg.tls_mode == POSTIE_TLS_STARTTLS_OPPORTUNISTIC) {
            log_note(m, "PREAUTH: no STARTTLS possible; continuing without TLS");
        }
        m->caps.authenticated = true;
    } else if (!postie_ascii_ieq(word, word_len, "OK")) {
        postie_imapx_fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], text, text_len,
                          "greeting is not OK, PREAUTH or BYE");
        return;
    }
    if (m->caps.known) {
        after_capability(m, now);
    } else {
        send_capability(m, now);
    }
}

/* An untagged response (after "* "). */
static void on_untagged(postie_imap_t *m, const char *line, size_t len, uint32_t now)
{
    size_t pos = 1;
    const char *word;
    size_t word_len;
    const char *code;
    size_t code_len;
    const char *args;
    size_t args_len;
    bool greeting = m->pending_count > 0 && head_c(m)->kind == CMD_GREETING;

    if (!postie_next_word(line, len, &pos, &word, &word_len)) {
        postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "empty untagged response");
        return;
    }
    if (postie_imapx_is_digit(word[0])) {
        uint32_t num;
        const char *what;
        size_t what_len;
        if (!postie_imapx_parse_u32(word, word_len, false, &num) ||
            !postie_next_word(line, len, &pos, &what, &what_len)) {
            postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "bad untagged response");
            return;
        }
        if (greeting) {
            postie_imapx_fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], line, len,
                              "greeting is not OK, PREAUTH or BYE");
            return;
        }
        if (postie_ascii_ieq(what, what_len, "EXISTS")) {
            m->info.messages = num;
        } else if (postie_ascii_ieq(what, what_len, "EXPUNGE")) {
            if (m->info.messages > 0) {
                m->info.messages--;
            }
        } else if (postie_ascii_ieq(what, what_len, "FETCH")) {
            m->fx_state = FX_OPEN;
            m->fx_depth = 0;
            m->fx_have = 0;
            m->fx_uid = 0;
            m->fx_size = 0;
            m->fx_body = 0;
            m->fx_item = IT_OTHER;
            m->fx_after_body = false;
            while (pos < len && line[pos] == ' ') {
                pos++;
            }
            postie_imapx_fetch_segment(m, line + pos, len - pos, false, now);
        }
        /* RECENT and others: nothing to do */
        return;
    }
    {
        size_t t = pos;
        while (t < len && line[t] == ' ') {
            t++;
        }
        if (postie_ascii_ieq(word, word_len, "OK") || postie_ascii_ieq(word, word_len, "NO") ||
            postie_ascii_ieq(word, word_len, "BAD") ||
            postie_ascii_ieq(word, word_len, "PREAUTH") ||
            postie_ascii_ieq(word, word_len, "BYE")) {
            postie_imapx_response_code(line + t, len - t, &code, &code_len, &args, &args_len);
            on_code(m, code, code_len, args, args_len, line + t, len - t);
            if (postie_ascii_ieq(word, word_len, "BYE")) {
                if (m->pending_count > 0 &&
                    postie_imapx_pending_at(m, (uint16_t)(m->pending_count - 1))->kind ==
                        CMD_LOGOUT) {
                    return; /* LOGOUT's goodbye: its OK or the close follows */
                }
                postie_imapx_fail_here(m, POSTIE_E_SERVER_SHUTDOWN, word,
                                       (size_t)(line + len - word),
                                       "the server is closing the connection (BYE)");
                return;
            }
            if (greeting) {
                on_greeting(m, word, word_len, word, (size_t)(line + len - word), now);
            }
            return; /* untagged OK/NO/BAD: warnings, codes taken above */
        }
        if (greeting) {
            postie_imapx_fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], line, len,
                              "greeting is not OK, PREAUTH or BYE");
            return;
        }
        if (postie_ascii_ieq(word, word_len, "CAPABILITY")) {
            parse_capabilities(m, line + t, len - t);
            return;
        }
        if (postie_ascii_ieq(word, word_len, "SEARCH")) {
            if (m->state != POSTIE_IMAP_STATE_LIST_SEARCH) {
                return; /* nobody asked */
            }
            postie_imapx_search_part(m, line + pos, len - pos, true);
            return;
        }
    }
    /* FLAGS, LIST, ESEARCH, ...: skip, with any literal they end with */
    {
        uint64_t size = 0;
        bool ok = false;
        if (postie_imapx_literal_at_end(m, line, len, false, &size, &ok)) {
            if (ok) {
                m->resp = RESP_SKIP;
                postie_imapx_start_literal(m, size, false, now);
            }
        }
    }
}

/* The line after a literal, continuing the same response. */
static void on_continued(postie_imap_t *m, const char *line, size_t len, uint32_t now)
{
    if (m->resp == RESP_FETCH) {
        bool after_body = m->fx_after_body;
        m->fx_after_body = false;
        postie_imapx_fetch_segment(m, line, len, after_body, now);
        return;
    }
    m->resp = RESP_NONE;
    {
        uint64_t size = 0;
        bool ok = false;
        if (postie_imapx_literal_at_end(m, line, len, false, &size, &ok) && ok) {
            m->resp = RESP_SKIP;
            postie_imapx_start_literal(m, size, false, now);
        }
    }
}

/* "+ ..." : the server waits for more of the newest command. */
static void on_continuation(postie_imap_t *m, const char *line, size_t len, uint32_t now)
{
    postie_imap_pending_t *p =
        m->pending_count > 0 ? postie_imapx_pending_at(m, (uint16_t)(m->pending_count - 1)) : NULL;
    postie_text_t b;

    if (p != NULL && p->kind == CMD_LOGIN &&
        (p->step == LOGIN_USER_OCTETS || p->step == LOGIN_PASS_OCTETS)) {
        b = postie_imapx_tx_builder(m);
        p->step = login_piece(m, &b, p->step, p->tag);
        commit_more(m, &b, p, "<redacted>", now);
        return;
    }
    if (p != NULL && p->kind == CMD_AUTHENTICATE) {
        b = postie_imapx_tx_builder(m);
        if (p->step == AUTH_WAIT_PLUS) {
            put_sasl_response(m, auth_mechanism(m), &b);
            postie_text_put(&b, "\r\n");
            p->step = AUTH_SENT;
            commit_more(m, &b, p, "<redacted>", now);
        } else if (p->step == AUTH_SENT && m->cfg.oauth_token != NULL) {
            /* S: + <base64 JSON>: the token was refused; answer, and the
             * tagged NO follows (RFC 7628 3.2.3) */
            size_t skip = len >= 2 ? 2 : len;
            postie_sasl_oauth_error_subject(line + skip, len - skip, m->oauth_error,
                                            sizeof(m->oauth_error));
            if (m->cfg.oauth_mechanism == POSTIE_SASL_OAUTHBEARER) {
                postie_text_put(&b, "AQ==");
            }
            postie_text_put(&b, "\r\n");
            p->step = AUTH_ERROR_ANSWERED;
            commit_more(m, &b, p, m->cfg.oauth_mechanism == POSTIE_SASL_OAUTHBEARER ? "AQ==" : "",
                        now);
        } else if (p->step == AUTH_SENT) {
            /* a challenge after PLAIN's only message: cancel (RFC 9051 6.2.2) */
            postie_text_put(&b, "*\r\n");
            p->step = AUTH_CANCELLED;
            commit_more(m, &b, p, "*", now);
        } else {
            postie_imapx_fail_here(m, POSTIE_E_REPLY_UNEXPECTED, line, len,
                                   "continuation nobody asked for");
        }
        return;
    }
    postie_imapx_fail_here(m, POSTIE_E_REPLY_UNEXPECTED, line, len,
                           "continuation nobody asked for");
}

static void on_line(postie_imap_t *m, const char *line, size_t len, uint32_t now)
{
    log_line(m, POSTIE_LOG_RECEIVED, line, len);
    if (m->resp != RESP_NONE) {
        on_continued(m, line, len, now);
        return;
    }
    if (m->pending_count == 0) {
        if (len >= 2 && line[0] == '*' && line[1] == ' ') {
            on_untagged(m, line, len, now); /* unsolicited: EXISTS, BYE, ALERT, ... */
            return;
        }
        postie_imapx_fail(m, POSTIE_E_REPLY_UNEXPECTED, postie_imap_state_name(m->state), line, len,
                          "a response nobody asked for");
        return;
    }
    if (len >= 2 && line[0] == '*' && line[1] == ' ') {
        on_untagged(m, line, len, now);
    } else if (len >= 1 && line[0] == '+') {
        on_continuation(m, line, len, now);
    } else if (head_c(m)->kind == CMD_GREETING) {
        postie_imapx_fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], line, len,
                          "greeting is not an untagged response");
    } else {
        on_tagged(m, line, len, now);
    }
}

/* A part of a line longer than POSTIE_IMAP_LINE_MAX: only a SEARCH answer
 * may be that long. */
static void on_part(postie_imap_t *m, const char *part, size_t len, bool complete)
{
    static const char prefix[] = "* SEARCH ";
    if (!m->line_part) {
        if (m->resp != RESP_NONE || m->state != POSTIE_IMAP_STATE_LIST_SEARCH ||
            len < sizeof(prefix) - 1 || !postie_ascii_ieq(part, sizeof(prefix) - 1, prefix)) {
            postie_imapx_fail_here(m, POSTIE_E_REPLY_LINE_TOO_LONG, part, len,
                                   "response line exceeds POSTIE_IMAP_LINE_MAX");
            return;
        }
        log_line(m, POSTIE_LOG_RECEIVED, part, len < 64 ? len : 64);
        log_note(m, "(a long SEARCH answer, read in parts)");
        m->line_part = true;
        postie_imapx_search_part(m, part + sizeof(prefix) - 1, len - (sizeof(prefix) - 1),
                                 complete);
        return;
    }
    postie_imapx_search_part(m, part, len, complete);
}

/* Handle buffered octets while events have room. */
static void process_rx(postie_imap_t *m, uint32_t now)
{
    drain_done(m, now);
    while (m->state != POSTIE_IMAP_STATE_FAILED && m->state != POSTIE_IMAP_STATE_CLOSED &&
           m->state != POSTIE_IMAP_STATE_TLS_HANDSHAKE && events_room(m)) {
        const char *line;
        size_t len;
        bool complete = true;
        postie_status_t st;

        if (m->in_literal) {
            const uint8_t *data;
            size_t max = m->literal_left > SIZE_MAX ? SIZE_MAX : (size_t)m->literal_left;
            if (postie_line_take(&m->rx, max, &data, &len) != POSTIE_OK) {
                return;
            }
            m->literal_left -= len;
            m->last_data_ms = now;
            if (m->literal_body) {
                postie_imapx_deliver(m, data, len);
            }
            if (m->literal_left == 0) {
                m->in_literal = false;
                m->wait_since = now; /* the rest of the response: a fresh deadline */
            }
            continue;
        }
        st = postie_line_next_part(&m->rx, &line, &len, &complete);
        if (st == POSTIE_E_AGAIN) {
            return;
        }
        if (st != POSTIE_OK) {
            postie_imapx_fail_here(m, st, NULL, 0, m->rx.why);
            return;
        }
        if (!complete || m->line_part) {
            on_part(m, line, len, complete);
        } else {
            on_line(m, line, len, now);
        }
        drain_done(m, now);
    }
    if (m->state == POSTIE_IMAP_STATE_TLS_HANDSHAKE && postie_line_pending(&m->rx) != 0) {
        postie_imapx_fail(m, POSTIE_E_STARTTLS_INJECTION, command_names[CMD_STARTTLS], NULL, 0,
                          "bytes after the STARTTLS go-ahead, before the handshake");
    }
}

/* ---- public calls ---------------------------------------------------------- */

static postie_status_t init_error(postie_imap_t *m, postie_status_t st, const char *phase,
                                  const char *subject)
{
    m->error.status = st;
    m->error.phase = phase;
    postie_text_copy(m->error.subject, sizeof(m->error.subject), subject);
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_FAILED);
    return st;
}

postie_status_t postie_imap_init(postie_imap_t *m, const postie_imap_config_t *cfg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    postie_error_clear(&m->error);
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_IDLE);
    if (m->cfg.literal_max == 0) {
        m->cfg.literal_max = POSTIE_IMAP_LITERAL_MAX;
    }
    if (m->cfg.oauth_token != NULL) {
        const char *why = NULL;
        postie_status_t st =
            postie_sasl_oauth_check(m->cfg.oauth_mechanism, m->cfg.username, m->cfg.oauth_host,
                                    m->cfg.oauth_port, m->cfg.oauth_token, &why);
        if (st != POSTIE_OK) {
            return init_error(m, st, "AUTHENTICATE", why);
        }
    } else if ((m->cfg.username == NULL) != (m->cfg.password == NULL) ||
               (m->cfg.username != NULL && (strlen(m->cfg.username) > POSTIE_AUTH_FIELD_MAX ||
                                            strlen(m->cfg.password) > POSTIE_AUTH_FIELD_MAX))) {
        return init_error(m, POSTIE_E_INVALID_ARGUMENT, "LOGIN",
                          "username/password: both or neither, each at most "
                          "POSTIE_AUTH_FIELD_MAX octets");
    }
    if (m->cfg.folder != NULL) {
        const uint8_t *f = (const uint8_t *)m->cfg.folder;
        size_t n = strlen(m->cfg.folder);
        if (n > POSTIE_IMAP_FOLDER_MAX) {
            return init_error(m, POSTIE_E_FIELD_TOO_LONG, "SELECT", "folder");
        }
        if (!postie_utf8_valid(f, n, NULL)) {
            return init_error(m, POSTIE_E_UTF8_INVALID, "SELECT", "folder");
        }
        for (size_t i = 0; i < n; i++) {
            if (f[i] < 0x20 || f[i] == 0x7F) {
                return init_error(m, POSTIE_E_FIELD_INVALID, "SELECT", "folder");
            }
        }
    }
    postie_line_init(&m->rx, m->rx_buf, sizeof(m->rx_buf), POSTIE_IMAP_LINE_MAX);
    m->next_tag = 1;
    m->caps.secure = (cfg->tls_mode == POSTIE_TLS_IMPLICIT);
    return POSTIE_OK;
}

postie_status_t postie_imap_start(postie_imap_t *m, uint32_t now)
{
    postie_imap_pending_t *p;
    if (m->state != POSTIE_IMAP_STATE_IDLE) {
        return POSTIE_E_BAD_STATE;
    }
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_GREETING);
    m->last_now = now;
    p = &m->pending[m->pending_head];
    memset(p, 0, sizeof(*p));
    p->kind = CMD_GREETING;
    p->tx_end = m->tx_sent;
    m->pending_count = 1;
    m->wait_since = now;
    return POSTIE_OK;
}

/* A mailbox command may start: READY, room in the pipeline and buffer. */
static bool can_start(const postie_imap_t *m)
{
    return m->state == POSTIE_IMAP_STATE_READY &&
           m->pending_count + 2 <= POSTIE_IMAP_PIPELINE_MAX && tx_room(m) >= 2 * SMALL_ROOM;
}

uint32_t postie_imap_state(const postie_imap_t *m)
{
    uint32_t st = 0;
    if (m->ev_count > 0) {
        st |= POSTIE_IMAP_EVENT;
    }
    if (m->state == POSTIE_IMAP_STATE_FAILED) {
        return st | POSTIE_IMAP_FAILED;
    }
    if (m->state == POSTIE_IMAP_STATE_CLOSED) {
        return st | POSTIE_IMAP_CLOSED;
    }
    if (m->tx_len > m->tx_start) {
        st |= POSTIE_IMAP_HAVE_TX;
    }
    if (m->pending_count > 0 && events_room(m) && postie_line_pending(&m->rx) < m->rx.cap) {
        st |= POSTIE_IMAP_WANT_RX;
    }
    if (m->state == POSTIE_IMAP_STATE_TLS_HANDSHAKE && m->tx_len == m->tx_start) {
        st |= POSTIE_IMAP_NEED_TLS;
    }
    if (can_start(m)) {
        st |= POSTIE_IMAP_READY;
    }
    return st;
}

postie_imap_state_t postie_imap_current_state(const postie_imap_t *m)
{
    return m->state;
}

const uint8_t *postie_imap_tx_buf(const postie_imap_t *m, size_t *len)
{
    *len = m->tx_len - m->tx_start;
    return m->tx_buf + m->tx_start;
}

void postie_imap_tx_ack(postie_imap_t *m, size_t sent, uint32_t now)
{
    bool was_sent = head_sent(m);
    m->last_now = now;
    if (sent > m->tx_len - m->tx_start) {
        sent = m->tx_len - m->tx_start;
    }
    m->tx_start += sent;
    m->tx_sent += (uint32_t)sent;
    if (!was_sent && head_sent(m)) {
        m->wait_since = now; /* the response clock starts once its command left */
    }
    if (m->tx_start == m->tx_len) {
        m->tx_start = m->tx_len = 0;
    } else if (m->tx_start > 0) {
        memmove(m->tx_buf, m->tx_buf + m->tx_start, m->tx_len - m->tx_start);
        m->tx_len -= m->tx_start;
        m->tx_start = 0;
    }
}

uint8_t *postie_imap_rx_buf(postie_imap_t *m, size_t *cap)
{
    return postie_line_rx_window(&m->rx, cap);
}

postie_status_t postie_imap_rx_ack(postie_imap_t *m, size_t got, uint32_t now)
{
    if (m->state == POSTIE_IMAP_STATE_FAILED) {
        return m->error.status;
    }
    postie_line_rx_commit(&m->rx, got);
    m->last_now = now;
    process_rx(m, now);
    return m->state == POSTIE_IMAP_STATE_FAILED ? m->error.status : POSTIE_OK;
}

static bool logging_out(const postie_imap_t *m)
{
    return m->pending_count > 0 &&
           m->pending[(m->pending_head + m->pending_count - 1) % POSTIE_IMAP_PIPELINE_MAX].kind ==
               CMD_LOGOUT &&
           m->pending_count == 1;
}

void postie_imap_rx_eof(postie_imap_t *m)
{
    if (m->state == POSTIE_IMAP_STATE_FAILED || m->state == POSTIE_IMAP_STATE_CLOSED) {
        return;
    }
    if (logging_out(m)) {
        /* LOGOUT's BYE came, or the server just hung up: nothing is lost */
        postie_imapx_set_state(m, POSTIE_IMAP_STATE_CLOSED);
        m->pending_count = 0;
        postie_imapx_push_event(m, POSTIE_MAILBOX_EV_CLOSED, 0, POSTIE_OK);
        return;
    }
    if (m->in_literal && m->literal_body && postie_imapx_body_pending(m) != NULL) {
        postie_imap_pending_t copy = *postie_imapx_body_pending(m);
        char detail[64];
        postie_text_t b;
        postie_text_init_str(&b, detail, sizeof(detail));
        postie_text_put(&b, "connection closed with ");
        postie_text_put_u64(&b, m->literal_left);
        postie_text_put(&b, " octets of the literal missing");
        postie_imapx_fail_cmd(m, POSTIE_E_MESSAGE_TRUNCATED, &copy, NULL, 0, detail);
        return;
    }
    postie_imapx_fail_here(m, POSTIE_E_CONNECTION_CLOSED, NULL, 0,
                           "connection closed by the server");
}

void postie_imap_transport_failed(postie_imap_t *m, postie_status_t status, const char *what)
{
    if (m->state == POSTIE_IMAP_STATE_FAILED || m->state == POSTIE_IMAP_STATE_CLOSED) {
        return;
    }
    if (logging_out(m)) {
        postie_imapx_set_state(
            m, POSTIE_IMAP_STATE_CLOSED); /* the goodbye was lost; nothing else was */
        m->pending_count = 0;
        postie_imapx_push_event(m, POSTIE_MAILBOX_EV_CLOSED, 0, POSTIE_OK);
        return;
    }
    postie_imapx_fail_here(m, status, NULL, 0, what);
}

postie_status_t postie_imap_tls_done(postie_imap_t *m, uint32_t now)
{
    if (m->state != POSTIE_IMAP_STATE_TLS_HANDSHAKE) {
        return POSTIE_E_BAD_STATE;
    }
    /* RFC 9051 6.2.1: forget everything learned before the handshake. */
    memset(&m->caps, 0, sizeof(m->caps));
    memset(m->info.capabilities, 0, sizeof(m->info.capabilities));
    m->caps.secure = true;
    postie_line_reset(&m->rx);
    log_note(m, "TLS established; asking for capabilities again");
    send_capability(m, now);
    return POSTIE_OK;
}

static uint32_t response_timeout(const postie_imap_t *m)
{
    if (m->in_literal && m->literal_body) {
        return m->cfg.timeout_data_ms;
    }
    return head_c(m)->kind == CMD_GREETING ? m->cfg.timeout_greeting_ms : m->cfg.timeout_command_ms;
}

uint32_t postie_imap_timeout_ms(const postie_imap_t *m, uint32_t now)
{
    uint32_t limit;
    uint32_t waited;
    if (m->pending_count == 0 || m->state == POSTIE_IMAP_STATE_FAILED ||
        m->state == POSTIE_IMAP_STATE_CLOSED) {
        return UINT32_MAX;
    }
    limit = response_timeout(m);
    if (m->in_literal && m->literal_body) {
        waited = now - m->last_data_ms;
    } else if (!head_sent(m)) {
        return limit; /* its clock starts when the command has left */
    } else {
        waited = now - m->wait_since;
    }
    return waited >= limit ? 0 : limit - waited;
}

uint32_t postie_imap_send_timeout_ms(const postie_imap_t *m)
{
    return m->cfg.timeout_command_ms;
}

postie_status_t postie_imap_poll(postie_imap_t *m, uint32_t now)
{
    m->last_now = now;
    if (m->state == POSTIE_IMAP_STATE_FAILED) {
        return m->error.status;
    }
    if (m->pending_count > 0 && m->tx_len == m->tx_start && postie_imap_timeout_ms(m, now) == 0) {
        char why[64];
        postie_text_t b;
        postie_text_init_str(&b, why, sizeof(why));
        postie_text_put(&b, m->in_literal && m->literal_body ? "no message data for "
                                                             : "no complete response within ");
        postie_text_put_u64(&b, response_timeout(m));
        postie_text_put(&b, " ms");
        postie_imapx_fail_here(m, POSTIE_E_TIMEOUT, NULL, 0, why);
        return POSTIE_E_TIMEOUT;
    }
    return POSTIE_OK;
}

bool postie_imap_next_event(postie_imap_t *m, postie_imap_event_t *ev)
{
    if (m->ev_count == 0) {
        ev->type = POSTIE_MAILBOX_EV_NONE;
        return false;
    }
    *ev = m->events[m->ev_head];
    m->ev_head = (uint16_t)((m->ev_head + 1) % POSTIE_IMAP_EVENTS_MAX);
    m->ev_count--;
    /* what was held back while the event ring was full can go on now (at
     * the latest time the engine was told) */
    if (m->state != POSTIE_IMAP_STATE_FAILED && m->state != POSTIE_IMAP_STATE_CLOSED) {
        process_rx(m, m->last_now);
    }
    return true;
}

/* ---- mailbox commands -------------------------------------------------------- */

postie_status_t postie_imap_list(void *e, uint32_t from_id, uint32_t want,
                                 postie_mailbox_item_fn fn, void *ctx, uint32_t now)
{
    postie_imap_t *m = e;
    postie_text_t b;
    postie_imap_pending_t *p;

    if (!can_start(m)) {
        return POSTIE_E_BAD_STATE;
    }
    if (fn == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (from_id == 0) {
        from_id = 1;
    }
    m->item_fn = fn;
    m->item_ctx = ctx;
    m->list_from = from_id;
    m->list_want = want;
    m->list_count = 0;
    m->list_last = 0;
    m->list_prev = 0;
    m->list_min = 0;
    m->list_max = 0;
    m->list_sorted = true;
    m->list_step = LIST_WINDOW_MIN;
    m->list_nbounds = 0;
    m->list_window = 0;
    m->search_num = 0;
    m->search_digits = 0;
    m->search_stop = false;
    b = postie_imapx_tx_builder(m);
    postie_imapx_put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID SEARCH UID ");
    postie_text_put_u64(&b, from_id);
    postie_text_put(&b, ":*\r\n");
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_LIST_SEARCH);
    p = postie_imapx_commit_command(m, &b, CMD_SEARCH, 0, NULL, now);
    if (p != NULL) {
        p->uid = from_id;
    }
    return POSTIE_OK;
}

postie_status_t postie_imap_retrieve(void *e, uint32_t uid, uint64_t size_max,
                                     postie_mailbox_data_fn fn, void *ctx, uint32_t now)
{
    postie_imap_t *m = e;
    postie_text_t b;
    postie_imap_pending_t *p;

    if (!can_start(m)) {
        return POSTIE_E_BAD_STATE;
    }
    if (uid == 0 || fn == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    b = postie_imapx_tx_builder(m);
    postie_imapx_put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID FETCH ");
    postie_text_put_u64(&b, uid);
    postie_text_put(&b, " (BODY.PEEK[])\r\n");
    p = postie_imapx_commit_command(m, &b, CMD_FETCH_BODY, 0, NULL, now);
    if (p != NULL) {
        p->uid = uid;
        p->size_max = size_max;
        p->data = fn;
        p->data_ctx = ctx;
    }
    return POSTIE_OK;
}

postie_status_t postie_imap_remove(void *e, uint32_t uid, uint32_t now)
{
    postie_imap_t *m = e;
    postie_text_t b;
    postie_imap_pending_t *p;
    bool uidplus = (m->caps.flags & POSTIE_IMAP_CAP_UIDPLUS) != 0;

    if (!can_start(m)) {
        return POSTIE_E_BAD_STATE;
    }
    if (uid == 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    b = postie_imapx_tx_builder(m);
    postie_imapx_put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID STORE ");
    postie_text_put_u64(&b, uid);
    postie_text_put(&b, " +FLAGS.SILENT (\\Deleted)\r\n");
    p = postie_imapx_commit_command(m, &b, CMD_STORE, uidplus ? 1u : 0u, NULL, now);
    if (p == NULL) {
        return POSTIE_OK; /* the session failed; the error says why */
    }
    p->uid = uid;
    if (uidplus) {
        m->expunges_owed++; /* UID EXPUNGE goes when the store is answered */
    }
    return POSTIE_OK;
}

postie_status_t postie_imap_finish(void *e, uint32_t now)
{
    postie_imap_t *m = e;
    if (!can_start(m)) {
        return POSTIE_E_BAD_STATE;
    }
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_FINISH);
    if (m->expunges_owed > 0) {
        m->finish_waiting = true; /* LOGOUT follows the last UID EXPUNGE */
    } else if (m->caps.flags & POSTIE_IMAP_CAP_UIDPLUS) {
        (void)send_simple(m, CMD_LOGOUT, "LOGOUT", now);
    } else {
        (void)send_simple(m, CMD_EXPUNGE, "EXPUNGE", now);
    }
    return POSTIE_OK;
}

const postie_mailbox_info_t *postie_imap_info(const void *e)
{
    return &((const postie_imap_t *)e)->info;
}

const char *postie_imap_alert_text(const void *e)
{
    return ((const postie_imap_t *)e)->alert;
}

const postie_mailbox_ops_t postie_imap_mailbox_ops = {
    .list = postie_imap_list,
    .retrieve = postie_imap_retrieve,
    .remove = postie_imap_remove,
    .finish = postie_imap_finish,
    .info = postie_imap_info,
    .alert_text = postie_imap_alert_text,
};

const postie_imap_caps_t *postie_imap_caps(const postie_imap_t *m)
{
    return &m->caps;
}

const postie_error_t *postie_imap_error(const postie_imap_t *m)
{
    return &m->error;
}
