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
 */
#include "postie/imap/imap.h"

#include <string.h>

#include "postie/common/base64.h"
#include "postie/common/text.h"
#include "postie/common/utf8.h"

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
/* A list with sizes fetches at least this many messages per UID FETCH
 * window (fewer windows than POSTIE_IMAP_LIST_WINDOWS for small lists). */
#define LIST_WINDOW_MIN   512u
/* Events kept free for completions and FAILED, which must never be lost. */
#define EVENTS_RESERVED   3u

_Static_assert(POSTIE_IMAP_TX_BUFFER_SIZE >= COMMAND_ROOM, "transmit buffer too small");
_Static_assert(POSTIE_IMAP_EVENTS_MAX > EVENTS_RESERVED, "need room for events");
_Static_assert(COMMAND_ROOM >= 2 * POSTIE_IMAP_FOLDER_MAX + 64, "SELECT must fit a command");

/* Tagged commands (and the greeting, which completes like one). */
enum {
    CMD_GREETING,
    CMD_CAPABILITY,
    CMD_STARTTLS,
    CMD_LOGIN,
    CMD_AUTHENTICATE,
    CMD_SELECT,
    CMD_SEARCH,
    CMD_FETCH_SIZES,
    CMD_FETCH_BODY,
    CMD_STORE,
    CMD_UID_EXPUNGE,
    CMD_EXPUNGE,
    CMD_LOGOUT
};

static const char *const command_names[] = {
    "greeting",  "CAPABILITY", "STARTTLS",  "LOGIN",       "AUTHENTICATE", "SELECT", "UID SEARCH",
    "UID FETCH", "UID FETCH",  "UID STORE", "UID EXPUNGE", "EXPUNGE",      "LOGOUT",
};

/* What the line after a literal continues. */
enum { RESP_NONE, RESP_FETCH, RESP_SKIP };

/* FETCH parser states. */
enum { FX_OPEN, FX_NAME, FX_VALUE, FX_LIST, FX_END };

/* FETCH items the engine reads (fx_item). */
enum { IT_OTHER, IT_UID, IT_SIZE, IT_BODY };

#define FX_HAVE_UID  0x1u
#define FX_HAVE_SIZE 0x2u

/* LOGIN pieces: the next piece starts at this step. */
enum { LOGIN_START, LOGIN_USER_OCTETS, LOGIN_PASS_OCTETS, LOGIN_SENT };

/* AUTHENTICATE steps. */
enum { AUTH_WAIT_PLUS, AUTH_SENT, AUTH_CANCELLED };

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

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool ascii_ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen) {
        return false;
    }
    for (size_t i = 0; i < alen; i++) {
        if (upper(a[i]) != upper(b[i])) {
            return false;
        }
    }
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Next space-separated word of s[*pos..n). */
static bool next_word(const char *s, size_t n, size_t *pos, const char **w, size_t *wlen)
{
    size_t i = *pos;
    while (i < n && s[i] == ' ') {
        i++;
    }
    if (i >= n) {
        *pos = i;
        return false;
    }
    *w = s + i;
    while (i < n && s[i] != ' ') {
        i++;
    }
    *wlen = (size_t)(s + i - *w);
    *pos = i;
    return true;
}

/* A decimal number of 1..19 digits (no sign), or false. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) {
            return false;
        }
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* A number that fits 32 bits (nz-number when nonzero is set). */
static bool parse_u32(const char *s, size_t n, bool nonzero, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64(s, n, &v) || v > UINT32_MAX || (nonzero && v == 0)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

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
static void set_state(postie_imap_t *m, postie_imap_state_t st)
{
    m->state = st;
}

/* ---- events ---------------------------------------------------------------- */

static void push_event(postie_imap_t *m, postie_mailbox_event_type_t type, uint32_t id,
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

static postie_imap_pending_t *pending_at(postie_imap_t *m, uint16_t i)
{
    return &m->pending[(m->pending_head + i) % POSTIE_IMAP_PIPELINE_MAX];
}

static const postie_imap_pending_t *head_c(const postie_imap_t *m)
{
    return &m->pending[m->pending_head];
}

/* The step as sent, without tag or credentials: "UID FETCH 42 (BODY.PEEK[])". */
static void describe(const postie_imap_t *m, const postie_imap_pending_t *p, char *out, size_t cap)
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
        postie_text_put(&b, "AUTHENTICATE PLAIN");
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
static void fail(postie_imap_t *m, postie_status_t st, const char *phase, const char *text,
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
    set_state(m, POSTIE_IMAP_STATE_FAILED);
    m->pending_count = 0;
    m->tx_start = m->tx_len = 0;
    m->in_literal = false;
    push_event(m, POSTIE_MAILBOX_EV_FAILED, 0, st);
    log_note(m, postie_status_str(st));
}

/* Fail while command p is the one concerned: phase its name, subject the
 * step (then ": detail" when given). */
static void fail_cmd(postie_imap_t *m, postie_status_t st, const postie_imap_pending_t *p,
                     const char *text, size_t text_len, const char *detail)
{
    char subject[sizeof(m->error.subject)];
    describe(m, p, subject, sizeof(subject));
    if (detail != NULL) {
        size_t n = strlen(subject);
        postie_text_t b;
        postie_text_init_str(&b, subject + n, sizeof(subject) - n);
        postie_text_put_cut(&b, ": ");
        postie_text_put_cut(&b, detail);
    }
    fail(m, st, command_names[p->kind], text, text_len, subject);
}

/* Fail about whatever response is being read: the oldest command's. */
static void fail_here(postie_imap_t *m, postie_status_t st, const char *text, size_t text_len,
                      const char *detail)
{
    if (m->pending_count > 0) {
        postie_imap_pending_t p = *head_c(m);
        fail_cmd(m, st, &p, text, text_len, detail);
    } else {
        fail(m, st, postie_imap_state_name(m->state), text, text_len, detail);
    }
}

/* ---- transmit buffer ------------------------------------------------------- */

static postie_text_t tx_builder(postie_imap_t *m)
{
    postie_text_t b;
    postie_text_init(&b, (char *)m->tx_buf + m->tx_len, sizeof(m->tx_buf) - m->tx_len);
    return b;
}

static size_t tx_room(const postie_imap_t *m)
{
    return sizeof(m->tx_buf) - m->tx_len;
}

static void put_tag(postie_text_t *b, uint32_t tag)
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
static postie_imap_pending_t *commit_command(postie_imap_t *m, postie_text_t *b, uint8_t kind,
                                             uint8_t step, const char *shown, uint32_t now)
{
    postie_imap_pending_t *p;
    if (b->overflow || m->pending_count >= POSTIE_IMAP_PIPELINE_MAX) {
        fail(m, POSTIE_E_NO_SPACE, command_names[kind], NULL, 0, "command does not fit");
        return NULL;
    }
    if (shown != NULL) {
        log_line(m, POSTIE_LOG_SENT, shown, strlen(shown));
    } else {
        log_line(m, POSTIE_LOG_SENT, b->buf, b->len >= 2 ? b->len - 2 : b->len);
    }
    m->tx_len += b->len;
    p = pending_at(m, m->pending_count);
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
        fail_cmd(m, POSTIE_E_NO_SPACE, p, NULL, 0, "command does not fit");
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
    postie_text_t b = tx_builder(m);
    put_tag(&b, m->next_tag);
    postie_text_put(&b, verb);
    postie_text_put(&b, "\r\n");
    return commit_command(m, &b, kind, 0, NULL, now);
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
    while (next_word(s, n, &pos, &w, &wlen)) {
        if (ascii_ieq(w, wlen, "IMAP4rev1")) {
            m->caps.flags |= POSTIE_IMAP_CAP_IMAP4REV1;
        } else if (ascii_ieq(w, wlen, "IMAP4rev2")) {
            m->caps.flags |= POSTIE_IMAP_CAP_IMAP4REV2;
        } else if (ascii_ieq(w, wlen, "STARTTLS")) {
            m->caps.flags |= POSTIE_IMAP_CAP_STARTTLS;
        } else if (ascii_ieq(w, wlen, "LOGINDISABLED")) {
            m->caps.flags |= POSTIE_IMAP_CAP_LOGINDISABLED;
        } else if (ascii_ieq(w, wlen, "SASL-IR")) {
            m->caps.flags |= POSTIE_IMAP_CAP_SASL_IR;
        } else if (ascii_ieq(w, wlen, "LITERAL+")) {
            m->caps.flags |= POSTIE_IMAP_CAP_LITERAL_PLUS;
        } else if (ascii_ieq(w, wlen, "LITERAL-")) {
            m->caps.flags |= POSTIE_IMAP_CAP_LITERAL_MINUS;
        } else if (ascii_ieq(w, wlen, "UIDPLUS")) {
            m->caps.flags |= POSTIE_IMAP_CAP_UIDPLUS;
        } else if (ascii_ieq(w, wlen, "IDLE")) {
            m->caps.flags |= POSTIE_IMAP_CAP_IDLE;
        } else if (wlen > 5 && ascii_ieq(w, 5, "AUTH=")) {
            if (ascii_ieq(w + 5, wlen - 5, "PLAIN")) {
                m->caps.sasl |= POSTIE_SASL_PLAIN;
            } else if (ascii_ieq(w + 5, wlen - 5, "LOGIN")) {
                m->caps.sasl |= POSTIE_SASL_LOGIN;
            } else if (ascii_ieq(w + 5, wlen - 5, "XOAUTH2")) {
                m->caps.sasl |= POSTIE_SASL_XOAUTH2;
            } else if (ascii_ieq(w + 5, wlen - 5, "OAUTHBEARER")) {
                m->caps.sasl |= POSTIE_SASL_OAUTHBEARER;
            } else if (ascii_ieq(w + 5, wlen - 5, "CRAM-MD5")) {
                m->caps.sasl |= POSTIE_SASL_CRAM_MD5;
            }
        }
    }
}

/* ---- session set-up -------------------------------------------------------- */

/* Modified UTF-7 (RFC 3501 5.1.3) of the folder name into b. */
static void put_mutf7(postie_text_t *b, const char *name)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    const uint8_t *s = (const uint8_t *)name;
    size_t n = strlen(name);
    size_t i = 0;
    bool in_b64 = false;
    uint32_t bits = 0;
    unsigned nbits = 0;

    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c <= 0x7E) {
            if (in_b64) {
                if (nbits > 0) {
                    postie_text_put_char(b, alphabet[(bits << (6 - nbits)) & 0x3Fu]);
                }
                postie_text_put_char(b, '-');
                in_b64 = false;
                bits = 0;
                nbits = 0;
            }
            postie_text_put(b, c == '&' ? "&-" : (const char[]){(char)c, '\0'});
            i++;
            continue;
        }
        size_t len = postie_utf8_char_len(s + i, n - i);
        uint32_t cp;
        uint16_t units[2];
        size_t nunits = 1;
        if (len == 0) {
            postie_text_fail(b); /* init checked it; never here */
            return;
        }
        cp = len == 1 ? c : (len == 2 ? (c & 0x1Fu) : (len == 3 ? (c & 0x0Fu) : (c & 0x07u)));
        for (size_t k = 1; k < len; k++) {
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        i += len;
        if (cp >= 0x10000u) {
            cp -= 0x10000u;
            units[0] = (uint16_t)(0xD800u + (cp >> 10));
            units[1] = (uint16_t)(0xDC00u + (cp & 0x3FFu));
            nunits = 2;
        } else {
            units[0] = (uint16_t)cp;
        }
        if (!in_b64) {
            postie_text_put_char(b, '&');
            in_b64 = true;
        }
        for (size_t u = 0; u < nunits; u++) {
            bits = (bits << 16) | units[u];
            nbits += 16;
            while (nbits >= 6) {
                nbits -= 6;
                postie_text_put_char(b, alphabet[(bits >> nbits) & 0x3Fu]);
            }
            bits &= (1u << nbits) - 1u;
        }
    }
    if (in_b64) {
        if (nbits > 0) {
            postie_text_put_char(b, alphabet[(bits << (6 - nbits)) & 0x3Fu]);
        }
        postie_text_put_char(b, '-');
    }
}

/* An astring: an atom when every octet is an atom character, else a
 * quoted string (the encoded name is 7-bit without CR or LF). */
static void put_astring_7bit(postie_text_t *b, const char *s, size_t n)
{
    bool atom = n > 0;
    for (size_t i = 0; i < n && atom; i++) {
        char c = s[i];
        atom = c > 0x20 && c < 0x7F && strchr("(){%*\"\\]", c) == NULL;
    }
    if (atom) {
        postie_text_put_n(b, s, n);
        return;
    }
    postie_text_put_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            postie_text_put_char(b, '\\');
        }
        postie_text_put_char(b, s[i]);
    }
    postie_text_put_char(b, '"');
}

/*
 * C: A0004 SELECT INBOX
 * S: * 172 EXISTS / * OK [UIDVALIDITY 3857529045] / * OK [UIDNEXT 4392]
 * S: A0004 OK [READ-WRITE] SELECT completed
 */
static void send_select(postie_imap_t *m, uint32_t now)
{
    char name[COMMAND_ROOM];
    postie_text_t enc;
    postie_text_t b = tx_builder(m);
    const char *folder = m->cfg.folder;

    postie_text_init(&enc, name, sizeof(name));
    if (folder == NULL || folder[0] == '\0') {
        postie_text_put(&enc, "INBOX");
    } else {
        put_mutf7(&enc, folder);
    }
    put_tag(&b, m->next_tag);
    postie_text_put(&b, "SELECT ");
    if (enc.overflow) {
        postie_text_fail(&b);
    } else {
        put_astring_7bit(&b, name, enc.len);
    }
    postie_text_put(&b, "\r\n");
    m->have_uidvalidity = false;
    m->info.uidvalidity = 0;
    m->info.uidnext = 0;
    set_state(m, POSTIE_IMAP_STATE_SELECT);
    (void)commit_command(m, &b, CMD_SELECT, 0, NULL, now);
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
        put_tag(b, tag);
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

/* The SASL initial response of mechanism mech, base64, into b. PLAIN only
 * for now; XOAUTH2 and OAUTHBEARER slot in here (their encoders belong in
 * postie/common/sasl.h). */
static void put_sasl_response(const postie_imap_t *m, uint32_t mech, postie_text_t *b)
{
    size_t room = 0;
    size_t written = 0;
    char *tail = postie_text_tail(b, &room);
    if (mech == POSTIE_SASL_PLAIN &&
        postie_sasl_plain(m->cfg.username, m->cfg.password, tail, room, &written) == POSTIE_OK) {
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
    uint32_t usable = m->caps.sasl & m->cfg.sasl_allowed & POSTIE_SASL_PLAIN;
    postie_text_t b = tx_builder(m);
    uint32_t tag = m->next_tag;

    if (m->cfg.username == NULL) {
        fail(m, POSTIE_E_INVALID_ARGUMENT, phase, NULL, 0,
             "no user name configured and the server did not PREAUTH");
        return;
    }
    if (!m->caps.secure && !m->cfg.allow_plaintext_auth) {
        fail(m, POSTIE_E_AUTH_CLEARTEXT_REFUSED, phase, NULL, 0, NULL);
        return;
    }
    set_state(m, POSTIE_IMAP_STATE_LOGIN);
    m->caps.known = false; /* what the server says from here on counts */
    if (usable & POSTIE_SASL_PLAIN) {
        put_tag(&b, tag);
        postie_text_put(&b, "AUTHENTICATE PLAIN");
        if (m->caps.flags & POSTIE_IMAP_CAP_SASL_IR) {
            char shown[48];
            postie_text_t sb;
            postie_text_put_char(&b, ' ');
            put_sasl_response(m, POSTIE_SASL_PLAIN, &b);
            postie_text_put(&b, "\r\n");
            postie_text_init_str(&sb, shown, sizeof(shown));
            put_tag(&sb, tag);
            postie_text_put(&sb, "AUTHENTICATE PLAIN <redacted>");
            (void)commit_command(m, &b, CMD_AUTHENTICATE, AUTH_SENT, shown, now);
        } else {
            postie_text_put(&b, "\r\n");
            (void)commit_command(m, &b, CMD_AUTHENTICATE, AUTH_WAIT_PLUS, NULL, now);
        }
        return;
    }
    if (m->caps.flags & POSTIE_IMAP_CAP_LOGINDISABLED) {
        fail(m, POSTIE_E_AUTH_NO_MECHANISM, phase, NULL, 0,
             "LOGINDISABLED and no allowed AUTHENTICATE mechanism offered");
        return;
    }
    {
        char shown[32];
        postie_text_t sb;
        uint8_t next = login_piece(m, &b, LOGIN_START, tag);
        postie_text_init_str(&sb, shown, sizeof(shown));
        put_tag(&sb, tag);
        postie_text_put(&sb, "LOGIN <redacted>");
        (void)commit_command(m, &b, CMD_LOGIN, next, shown, now);
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
            set_state(m, POSTIE_IMAP_STATE_STARTTLS);
            (void)send_simple(m, CMD_STARTTLS, "STARTTLS", now);
            return;
        }
        if (m->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED) {
            fail(m, POSTIE_E_STARTTLS_UNAVAILABLE, command_names[CMD_CAPABILITY], NULL, 0,
                 "STARTTLS not in the server's capabilities");
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
    set_state(m, POSTIE_IMAP_STATE_CAPABILITY);
    (void)send_simple(m, CMD_CAPABILITY, "CAPABILITY", now);
}

/* ---- list ------------------------------------------------------------------ */

static void list_item(postie_imap_t *m, uint32_t uid, uint32_t have, uint64_t size)
{
    postie_mail_item_t item;
    postie_status_t st;
    memset(&item, 0, sizeof(item));
    item.id = uid;
    item.have = have;
    item.size = size;
    m->list_last = uid;
    st = m->item_fn(m->item_ctx, &item);
    if (st != POSTIE_OK) {
        fail(m, st, "listing", NULL, 0, "the item callback refused the message");
    }
}

/* One UID of the SEARCH answer, as it streams. */
static void search_uid(postie_imap_t *m, uint32_t uid)
{
    if (uid < m->list_from) {
        return; /* "n:*" matches the highest UID even when it is below n */
    }
    if (m->list_count > 0 && uid <= m->list_prev) {
        m->list_sorted = false;
    }
    m->list_prev = uid;
    m->list_count++;
    if (m->list_count == 1 || uid < m->list_min) {
        m->list_min = uid;
    }
    if (uid > m->list_max) {
        m->list_max = uid;
    }
    if (!(m->list_want & POSTIE_MAIL_ITEM_SIZE)) {
        if (!m->list_sorted) {
            fail_here(m, POSTIE_E_REPLY_MALFORMED, NULL, 0,
                      "SEARCH answer not in ascending UID order");
            return;
        }
        list_item(m, uid, 0, 0);
        return;
    }
    /* a window ends every list_step UIDs; when the table is full, every
     * other boundary goes and the windows double */
    if (m->list_count % m->list_step == 0) {
        if (m->list_nbounds == POSTIE_IMAP_LIST_WINDOWS) {
            uint16_t k = 0;
            for (uint16_t i = 1; i < m->list_nbounds; i += 2) {
                m->list_bounds[k++] = m->list_bounds[i];
            }
            m->list_nbounds = k;
            m->list_step *= 2;
            if (m->list_count % m->list_step != 0) {
                return;
            }
        }
        m->list_bounds[m->list_nbounds++] = uid;
    }
}

/* Numbers of a SEARCH answer, part by part (a number may straddle parts). */
static void search_part(postie_imap_t *m, const char *s, size_t n, bool complete)
{
    for (size_t i = 0; i < n && !m->search_stop; i++) {
        char c = s[i];
        if (is_digit(c)) {
            m->search_num = m->search_num * 10u + (uint64_t)(c - '0');
            if (++m->search_digits > 10 || m->search_num > UINT32_MAX) {
                fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n, "SEARCH number out of range");
                return;
            }
        } else if (c == ' ') {
            if (m->search_digits > 0) {
                search_uid(m, (uint32_t)m->search_num);
                if (m->state == POSTIE_IMAP_STATE_FAILED) {
                    return;
                }
            }
            m->search_num = 0;
            m->search_digits = 0;
        } else if (c == '(') {
            m->search_stop = true; /* a (MODSEQ n) tail: no more UIDs */
        } else {
            fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n, "SEARCH answer holds a non-number");
            return;
        }
    }
    if (complete) {
        if (m->search_digits > 0 && !m->search_stop) {
            search_uid(m, (uint32_t)m->search_num);
        }
        m->search_num = 0;
        m->search_digits = 0;
        m->line_part = false;
    }
}

/*
 * C: A0006 UID FETCH 43:120 (UID RFC822.SIZE)
 * S: * 1 FETCH (UID 43 RFC822.SIZE 1234) ...   S: A0006 OK
 */
static void send_list_window(postie_imap_t *m, uint32_t now)
{
    uint32_t lo;
    uint32_t hi;
    postie_text_t b = tx_builder(m);
    postie_imap_pending_t *p;

    if (!m->list_sorted) {
        lo = m->list_min;
        hi = m->list_max;
        m->list_window = m->list_nbounds; /* one window: the last */
    } else {
        lo = m->list_window == 0 ? m->list_min : m->list_bounds[m->list_window - 1] + 1u;
        hi = m->list_window < m->list_nbounds ? m->list_bounds[m->list_window] : m->list_max;
    }
    put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID FETCH ");
    postie_text_put_u64(&b, lo);
    if (hi != lo) {
        postie_text_put_char(&b, ':');
        postie_text_put_u64(&b, hi);
    }
    postie_text_put(&b, " (UID RFC822.SIZE)\r\n");
    p = commit_command(m, &b, CMD_FETCH_SIZES, 0, NULL, now);
    if (p != NULL) {
        p->uid = lo;
        p->uid_hi = hi;
    }
    m->list_window++;
}

/* The list is complete, or the next window goes. */
static void list_next(postie_imap_t *m, uint32_t now)
{
    bool more = m->list_sorted ? m->list_window <= m->list_nbounds &&
                                     (m->list_window < m->list_nbounds || m->list_nbounds == 0 ||
                                      m->list_bounds[m->list_nbounds - 1] < m->list_max)
                               : m->list_window == 0;
    if (m->list_count > 0 && (m->list_want & POSTIE_MAIL_ITEM_SIZE) && more) {
        set_state(m, POSTIE_IMAP_STATE_LIST_FETCH);
        send_list_window(m, now);
        return;
    }
    m->item_fn = NULL;
    set_state(m, POSTIE_IMAP_STATE_READY);
    push_event(m, POSTIE_MAILBOX_EV_LISTED, 0, POSTIE_OK);
}

/* ---- literals ---------------------------------------------------------------- */

/* Does the segment end with a literal announcement "{n}"? Returns false
 * when it does not; true with *ok false when it does but the size is bad
 * (the session has failed then). */
static bool literal_at_end(postie_imap_t *m, const char *s, size_t n, uint64_t *size, bool *ok)
{
    size_t open;
    size_t end;
    *ok = false;
    if (n < 3 || s[n - 1] != '}') {
        return false;
    }
    open = n - 1;
    while (open > 0 && s[open - 1] != '{' && n - open < 32) {
        open--;
    }
    if (open == 0 || s[open - 1] != '{') {
        return false;
    }
    end = n - 1;
    if (end > open && s[end - 1] == '+') {
        end--; /* a non-synchronising form: same size */
    }
    if (end > open && s[open] == '-') {
        fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n, "negative literal size");
        return true;
    }
    for (size_t i = open; i < end; i++) {
        if (!is_digit(s[i])) {
            fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n, "literal size is not a number");
            return true;
        }
    }
    if (end == open) {
        fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n, "literal without a size");
        return true;
    }
    if (!parse_u64(s + open, end - open, size) || *size > UINT64_C(0x7FFFFFFFFFFFFFFF)) {
        fail_here(m, POSTIE_E_LITERAL_TOO_LARGE, s, n, "literal size overflows");
        return true;
    }
    if (*size > m->cfg.literal_max) {
        fail_here(m, POSTIE_E_LITERAL_TOO_LARGE, s, n, "literal larger than literal_max");
        return true;
    }
    *ok = true;
    return true;
}

static void start_literal(postie_imap_t *m, uint64_t size, bool body, uint32_t now)
{
    m->in_literal = size > 0;
    m->literal_body = body;
    m->literal_left = size;
    m->last_data_ms = now;
}

/* ---- FETCH responses --------------------------------------------------------- */

/* The retrieve a BODY[] belongs to: the one with the UID when it was seen,
 * else the oldest without its body. 0: none; else pending index + 1. */
static uint16_t body_target(postie_imap_t *m)
{
    for (uint16_t i = 0; i < m->pending_count; i++) {
        postie_imap_pending_t *p = pending_at(m, i);
        if (p->kind == CMD_FETCH_BODY && !p->got_body && !p->done &&
            (!(m->fx_have & FX_HAVE_UID) || p->uid == m->fx_uid)) {
            return (uint16_t)(i + 1u);
        }
    }
    return 0;
}

static postie_imap_pending_t *body_pending(postie_imap_t *m)
{
    return m->fx_body == 0 ? NULL : pending_at(m, (uint16_t)(m->fx_body - 1u));
}

static void deliver(postie_imap_t *m, const uint8_t *data, size_t len)
{
    postie_imap_pending_t *p = body_pending(m);
    postie_status_t st;
    if (len == 0 || p == NULL) {
        return;
    }
    st = p->data(p->data_ctx, data, len);
    if (st != POSTIE_OK) {
        postie_imap_pending_t copy = *p;
        char subject[sizeof(m->error.subject)];
        describe(m, &copy, subject, sizeof(subject));
        fail(m, st, "storing the message", NULL, 0, subject);
    }
}

/* A complete FETCH response. */
static void fetch_done(postie_imap_t *m)
{
    postie_imap_pending_t *p = body_pending(m);
    m->resp = RESP_NONE;
    if (p != NULL) {
        if ((m->fx_have & FX_HAVE_UID) && m->fx_uid != p->uid) {
            fail_cmd(m, POSTIE_E_REPLY_MALFORMED, p, NULL, 0, "BODY[] came for another UID");
            return;
        }
        p->got_body = true;
        return;
    }
    if (m->state == POSTIE_IMAP_STATE_LIST_FETCH && m->item_fn != NULL &&
        (m->fx_have & (FX_HAVE_UID | FX_HAVE_SIZE)) == (FX_HAVE_UID | FX_HAVE_SIZE) &&
        m->pending_count > 0) {
        const postie_imap_pending_t *w = NULL;
        for (uint16_t i = 0; i < m->pending_count; i++) {
            if (pending_at(m, i)->kind == CMD_FETCH_SIZES) {
                w = pending_at(m, i);
                break;
            }
        }
        if (w != NULL && m->fx_uid >= w->uid && m->fx_uid <= w->uid_hi &&
            m->fx_uid >= m->list_from && (m->list_last == 0 || m->fx_uid > m->list_last)) {
            list_item(m, m->fx_uid, POSTIE_MAIL_ITEM_SIZE, m->fx_size);
        }
    }
    /* anything else (FLAGS updates, ...) is of no interest */
}

static bool is_atom_end(char c)
{
    return c == ' ' || c == ')' || c == '(';
}

/* A FETCH response that does not parse: after a message literal, the
 * likely reason is that the literal's size was wrong. */
static postie_status_t fx_malformed(const postie_imap_t *m)
{
    return m->fx_mismatch ? POSTIE_E_SIZE_MISMATCH : POSTIE_E_REPLY_MALFORMED;
}

/* Parse one segment of a FETCH response: from its "(" or from where the
 * literal before it ended. Ends by the closing ")", or by a literal that
 * the caller then reads. */
static void fetch_segment(postie_imap_t *m, const char *s, size_t n, bool after_body, uint32_t now)
{
    size_t i = 0;

    m->fx_mismatch = after_body;
    if (after_body && (n == 0 || (s[0] != ' ' && s[0] != ')'))) {
        postie_imap_pending_t *p = body_pending(m);
        if (p != NULL) {
            postie_imap_pending_t copy = *p;
            fail_cmd(m, POSTIE_E_SIZE_MISMATCH, &copy, s, n,
                     "the response goes on wrongly after the announced octets");
        } else {
            fail_here(m, fx_malformed(m), s, n, "bad FETCH response after a literal");
        }
        return;
    }
    while (i < n) {
        char c = s[i];
        switch (m->fx_state) {
        case FX_OPEN:
            if (c != '(') {
                fail_here(m, fx_malformed(m), s, n, "FETCH without its list");
                return;
            }
            m->fx_state = FX_NAME;
            i++;
            break;

        case FX_NAME: {
            size_t start;
            int bracket = 0;
            if (c == ' ') {
                i++;
                break;
            }
            if (c == ')') {
                m->fx_state = FX_END;
                i++;
                break;
            }
            start = i;
            while (i < n && (bracket > 0 || (s[i] != ' ' && s[i] != ')'))) {
                if (s[i] == '[') {
                    bracket++;
                } else if (s[i] == ']') {
                    bracket--;
                }
                i++;
            }
            if (i >= n || s[i] != ' ') {
                fail_here(m, fx_malformed(m), s, n, "FETCH item without a value");
                return;
            }
            if (ascii_ieq(s + start, i - start, "UID")) {
                m->fx_item = IT_UID;
            } else if (ascii_ieq(s + start, i - start, "RFC822.SIZE")) {
                m->fx_item = IT_SIZE;
            } else if (ascii_ieq(s + start, i - start, "BODY[]")) {
                m->fx_item = IT_BODY;
            } else {
                m->fx_item = IT_OTHER;
            }
            i++; /* the space */
            m->fx_state = FX_VALUE;
            break;
        }

        case FX_VALUE:
            if (c == '{') {
                uint64_t size = 0;
                bool ok = false;
                if (!literal_at_end(m, s + i, n - i, &size, &ok) || s[i] != '{') {
                    if (m->state != POSTIE_IMAP_STATE_FAILED) {
                        fail_here(m, fx_malformed(m), s, n,
                                  "literal announcement not at the end of the line");
                    }
                    return;
                }
                if (!ok) {
                    return;
                }
                m->fx_state = FX_NAME;
                m->resp = RESP_FETCH;
                if (m->fx_item == IT_BODY) {
                    postie_imap_pending_t *p;
                    m->fx_body = body_target(m);
                    p = body_pending(m);
                    if (p == NULL) {
                        fail_here(m, POSTIE_E_REPLY_UNEXPECTED, s, n, "BODY[] nobody asked for");
                        return;
                    }
                    if (p->size_max != 0 && size > p->size_max) {
                        postie_imap_pending_t copy = *p;
                        fail_cmd(m, POSTIE_E_MESSAGE_TOO_LARGE, &copy, s, n,
                                 "the message is larger than size_max");
                        return;
                    }
                    m->fx_after_body = true;
                    start_literal(m, size, true, now);
                } else {
                    start_literal(m, size, false, now);
                }
                return;
            }
            if (c == '"') {
                size_t j = i + 1;
                bool body = m->fx_item == IT_BODY;
                if (body) {
                    m->fx_body = body_target(m);
                    if (body_pending(m) == NULL) {
                        fail_here(m, POSTIE_E_REPLY_UNEXPECTED, s, n, "BODY[] nobody asked for");
                        return;
                    }
                }
                while (j < n && s[j] != '"') {
                    if (s[j] == '\\' && j + 1 < n) {
                        j++;
                    }
                    if (body) {
                        deliver(m, (const uint8_t *)s + j, 1);
                        if (m->state == POSTIE_IMAP_STATE_FAILED) {
                            return;
                        }
                    }
                    j++;
                }
                if (j >= n) {
                    fail_here(m, fx_malformed(m), s, n, "unterminated quoted string");
                    return;
                }
                i = j + 1;
                m->fx_state = FX_NAME;
                break;
            }
            if (c == '(') {
                if (m->fx_item != IT_OTHER) {
                    fail_here(m, fx_malformed(m), s, n, "FETCH item with a bad value");
                    return;
                }
                m->fx_depth = 1;
                m->fx_state = FX_LIST;
                i++;
                break;
            }
            {
                size_t start = i;
                while (i < n && !is_atom_end(s[i])) {
                    i++;
                }
                if (m->fx_item == IT_UID) {
                    if (!parse_u32(s + start, i - start, true, &m->fx_uid)) {
                        fail_here(m, fx_malformed(m), s, n, "bad UID in FETCH");
                        return;
                    }
                    m->fx_have |= FX_HAVE_UID;
                } else if (m->fx_item == IT_SIZE) {
                    if (!parse_u64(s + start, i - start, &m->fx_size)) {
                        fail_here(m, fx_malformed(m), s, n, "bad RFC822.SIZE in FETCH");
                        return;
                    }
                    m->fx_have |= FX_HAVE_SIZE;
                } else if (m->fx_item == IT_BODY) {
                    m->fx_body = body_target(m);
                    if (body_pending(m) != NULL) {
                        postie_imap_pending_t copy = *body_pending(m);
                        fail_cmd(m, POSTIE_E_NOT_FOUND, &copy, s, n,
                                 "the server gave no message (NIL)");
                    } else {
                        fail_here(m, fx_malformed(m), s, n, "bad BODY[] in FETCH");
                    }
                    return;
                }
                m->fx_state = FX_NAME;
            }
            break;

        case FX_LIST:
            if (c == '(') {
                m->fx_depth++;
            } else if (c == ')') {
                if (--m->fx_depth == 0) {
                    m->fx_state = FX_NAME;
                }
            } else if (c == '"') {
                size_t j = i + 1;
                while (j < n && s[j] != '"') {
                    j += (s[j] == '\\' && j + 1 < n) ? 2u : 1u;
                }
                if (j >= n) {
                    fail_here(m, fx_malformed(m), s, n, "unterminated quoted string");
                    return;
                }
                i = j;
            } else if (c == '{') {
                uint64_t size = 0;
                bool ok = false;
                if (literal_at_end(m, s + i, n - i, &size, &ok) && s[i] == '{') {
                    if (ok) {
                        m->resp = RESP_FETCH;
                        start_literal(m, size, false, now);
                    }
                    return;
                }
                if (m->state == POSTIE_IMAP_STATE_FAILED) {
                    return;
                }
            }
            i++;
            break;

        default: /* FX_END: nothing may follow the list */
            fail_here(m, fx_malformed(m), s, n, "text after the FETCH list");
            return;
        }
    }
    if (m->fx_state == FX_END) {
        fetch_done(m);
        return;
    }
    fail_here(m, fx_malformed(m), s, n, "FETCH response ends inside its list");
}

/* ---- status responses ------------------------------------------------------ */

/* The [CODE args] of a status response text, if any. */
static void response_code(const char *t, size_t n, const char **code, size_t *code_len,
                          const char **args, size_t *args_len)
{
    size_t i = 1;
    *code = NULL;
    *code_len = 0;
    *args = NULL;
    *args_len = 0;
    if (n == 0 || t[0] != '[') {
        return;
    }
    while (i < n && t[i] != ' ' && t[i] != ']') {
        i++;
    }
    if (i >= n) {
        return;
    }
    *code = t + 1;
    *code_len = i - 1;
    if (t[i] == ' ') {
        size_t a = i + 1;
        size_t depth = 0;
        i = a;
        while (i < n && (t[i] != ']' || depth > 0)) {
            depth += t[i] == '(' ? 1u : 0u;
            depth -= (t[i] == ')' && depth > 0) ? 1u : 0u;
            i++;
        }
        *args = t + a;
        *args_len = i - a;
    }
}

/* What a response code says, for any status response: capabilities,
 * UIDVALIDITY, UIDNEXT, ALERT. */
static void on_code(postie_imap_t *m, const char *code, size_t code_len, const char *args,
                    size_t args_len, const char *text, size_t text_len)
{
    uint32_t v;
    if (code == NULL) {
        return;
    }
    if (ascii_ieq(code, code_len, "CAPABILITY")) {
        parse_capabilities(m, args != NULL ? args : "", args_len);
    } else if (ascii_ieq(code, code_len, "UIDVALIDITY") && args != NULL &&
               parse_u32(args, args_len, true, &v)) {
        m->info.uidvalidity = v;
        m->have_uidvalidity = true;
    } else if (ascii_ieq(code, code_len, "UIDNEXT") && args != NULL &&
               parse_u32(args, args_len, true, &v)) {
        m->info.uidnext = v;
    } else if (ascii_ieq(code, code_len, "ALERT")) {
        size_t skip = code_len + 2 < text_len ? code_len + 2 : text_len;
        while (skip < text_len && text[skip] == ' ') {
            skip++;
        }
        postie_text_copy_printable(m->alert, sizeof(m->alert), text + skip, text_len - skip);
        if (m->ev_count + EVENTS_RESERVED + 1 < POSTIE_IMAP_EVENTS_MAX) {
            push_event(m, POSTIE_MAILBOX_EV_ALERT, 0, POSTIE_OK);
        }
        log_note(m, "server ALERT");
    }
}

static bool code_is(const char *code, size_t code_len, const char *name)
{
    return code != NULL && ascii_ieq(code, code_len, name);
}

/* The status a refusal (tagged NO or BAD) of command p means. */
static postie_status_t refusal_status(const postie_imap_t *m, const postie_imap_pending_t *p,
                                      bool bad, const char *code, size_t code_len)
{
    bool busy = code_is(code, code_len, "INUSE") || code_is(code, code_len, "UNAVAILABLE");
    (void)m;
    if (p->kind == CMD_LOGIN || p->kind == CMD_AUTHENTICATE) {
        if (code_is(code, code_len, "UNAVAILABLE")) {
            return POSTIE_E_AUTH_TEMPORARY;
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
static void complete(postie_imap_t *m, const postie_imap_pending_t *p, uint32_t now)
{
    switch (p->kind) {
    case CMD_CAPABILITY:
        if (!m->caps.known) {
            fail_cmd(m, POSTIE_E_REPLY_MALFORMED, p, NULL, 0, "no CAPABILITY answer");
            return;
        }
        after_capability(m, now);
        break;

    /* C: A0002 STARTTLS   S: A0002 OK Begin TLS negotiation now */
    case CMD_STARTTLS:
        set_state(m, POSTIE_IMAP_STATE_TLS_HANDSHAKE);
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
            fail_cmd(m, POSTIE_E_REPLY_MALFORMED, p, NULL, 0, "no UIDVALIDITY in the answer");
            return;
        }
        m->info.secure = m->caps.secure;
        set_state(m, POSTIE_IMAP_STATE_READY);
        push_event(m, POSTIE_MAILBOX_EV_READY, 0, POSTIE_OK);
        break;

    /* C: A0005 UID SEARCH UID 43:*   S: * SEARCH 43 44   S: A0005 OK */
    case CMD_SEARCH:
        list_next(m, now);
        break;

    case CMD_FETCH_SIZES:
        list_next(m, now);
        break;

    /* C: A0006 UID FETCH 43 (BODY.PEEK[])   S: * 1 FETCH (UID 43 BODY[] {n} ...)   S: OK */
    case CMD_FETCH_BODY:
        if (!p->got_body) {
            fail_cmd(m, POSTIE_E_NOT_FOUND, p, NULL, 0, "the server returned no message");
            return;
        }
        push_event(m, POSTIE_MAILBOX_EV_RETRIEVED, p->uid, POSTIE_OK);
        break;

    /* C: A0007 UID STORE 43 +FLAGS.SILENT (\Deleted)   S: A0007 OK */
    case CMD_STORE:
        if (p->step == 0) { /* no UID EXPUNGE follows */
            push_event(m, POSTIE_MAILBOX_EV_REMOVED, p->uid, POSTIE_OK);
        }
        break;

    /* C: A0008 UID EXPUNGE 43   S: * 1 EXPUNGE   S: A0008 OK */
    case CMD_UID_EXPUNGE:
        push_event(m, POSTIE_MAILBOX_EV_REMOVED, p->uid, POSTIE_OK);
        break;

    /* C: A0009 EXPUNGE   S: A0009 OK   then LOGOUT */
    case CMD_EXPUNGE:
        (void)send_simple(m, CMD_LOGOUT, "LOGOUT", now);
        break;

    /* C: A0010 LOGOUT   S: * BYE   S: A0010 OK */
    case CMD_LOGOUT:
        set_state(m, POSTIE_IMAP_STATE_CLOSED);
        push_event(m, POSTIE_MAILBOX_EV_CLOSED, 0, POSTIE_OK);
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

    if (!next_word(line, len, &pos, &tag, &tag_len) || tag_len < 2 || tag[0] != 'A' ||
        !parse_u32(tag + 1, tag_len - 1, false, &num)) {
        fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "not an IMAP response");
        return;
    }
    for (uint16_t i = 0; i < m->pending_count; i++) {
        postie_imap_pending_t *q = pending_at(m, i);
        if (q->kind != CMD_GREETING && q->tag == num && !q->done) {
            p = q;
            break;
        }
    }
    if (p == NULL) {
        fail_here(m, POSTIE_E_REPLY_UNEXPECTED, line, len, "a tag nobody sent");
        return;
    }
    if (!next_word(line, len, &pos, &word, &word_len)) {
        fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "tagged response without status");
        return;
    }
    text = word;
    text_len = (size_t)(line + len - word);
    {
        size_t t = pos;
        while (t < len && line[t] == ' ') {
            t++;
        }
        response_code(line + t, len - t, &code, &code_len, &args, &args_len);
        on_code(m, code, code_len, args, args_len, line + t, len - t);
    }
    if (ascii_ieq(word, word_len, "OK")) {
        if (p->kind == CMD_LOGIN && p->step != LOGIN_SENT) {
            postie_imap_pending_t copy = *p;
            fail_cmd(m, POSTIE_E_REPLY_UNEXPECTED, &copy, text, text_len,
                     "OK before the command was complete");
            return;
        }
        p->done = true;
        drain_done(m, now);
        return;
    }
    if (ascii_ieq(word, word_len, "NO") || ascii_ieq(word, word_len, "BAD")) {
        postie_imap_pending_t copy = *p;
        bool bad = ascii_ieq(word, word_len, "BAD");
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
        fail_cmd(m, refusal_status(m, &copy, bad, code, code_len), &copy, text, text_len, NULL);
        return;
    }
    fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "tagged status is not OK, NO or BAD");
}

/* The greeting: "* OK ...", "* PREAUTH ...", "* BYE ...". */
static void on_greeting(postie_imap_t *m, const char *word, size_t word_len, const char *text,
                        size_t text_len, uint32_t now)
{
    m->pending_head = (uint16_t)((m->pending_head + 1) % POSTIE_IMAP_PIPELINE_MAX);
    m->pending_count--;
    m->wait_since = now;
    if (ascii_ieq(word, word_len, "PREAUTH")) {
        if (!m->caps.secure && m->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED) {
            fail(m, POSTIE_E_PREAUTH_REFUSED, command_names[CMD_GREETING], text, text_len,
                 "PREAUTH on a clear channel");
            return;
        }
        if (!m->caps.secure && m->cfg.tls_mode == POSTIE_TLS_STARTTLS_OPPORTUNISTIC) {
            log_note(m, "PREAUTH: no STARTTLS possible; continuing without TLS");
        }
        m->caps.authenticated = true;
    } else if (!ascii_ieq(word, word_len, "OK")) {
        fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], text, text_len,
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

    if (!next_word(line, len, &pos, &word, &word_len)) {
        fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "empty untagged response");
        return;
    }
    if (is_digit(word[0])) {
        uint32_t num;
        const char *what;
        size_t what_len;
        if (!parse_u32(word, word_len, false, &num) ||
            !next_word(line, len, &pos, &what, &what_len)) {
            fail_here(m, POSTIE_E_REPLY_MALFORMED, line, len, "bad untagged response");
            return;
        }
        if (greeting) {
            fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], line, len,
                 "greeting is not OK, PREAUTH or BYE");
            return;
        }
        if (ascii_ieq(what, what_len, "EXISTS")) {
            m->info.messages = num;
        } else if (ascii_ieq(what, what_len, "EXPUNGE")) {
            if (m->info.messages > 0) {
                m->info.messages--;
            }
        } else if (ascii_ieq(what, what_len, "FETCH")) {
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
            fetch_segment(m, line + pos, len - pos, false, now);
        }
        /* RECENT and others: nothing to do */
        return;
    }
    {
        size_t t = pos;
        while (t < len && line[t] == ' ') {
            t++;
        }
        if (ascii_ieq(word, word_len, "OK") || ascii_ieq(word, word_len, "NO") ||
            ascii_ieq(word, word_len, "BAD") || ascii_ieq(word, word_len, "PREAUTH") ||
            ascii_ieq(word, word_len, "BYE")) {
            response_code(line + t, len - t, &code, &code_len, &args, &args_len);
            on_code(m, code, code_len, args, args_len, line + t, len - t);
            if (ascii_ieq(word, word_len, "BYE")) {
                if (m->pending_count > 0 &&
                    pending_at(m, (uint16_t)(m->pending_count - 1))->kind == CMD_LOGOUT) {
                    m->bye_seen = true;
                    return;
                }
                fail_here(m, POSTIE_E_SERVER_SHUTDOWN, word, (size_t)(line + len - word),
                          "the server is closing the connection (BYE)");
                return;
            }
            if (greeting) {
                on_greeting(m, word, word_len, word, (size_t)(line + len - word), now);
            }
            return; /* untagged OK/NO/BAD: warnings, codes taken above */
        }
        if (greeting) {
            fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], line, len,
                 "greeting is not OK, PREAUTH or BYE");
            return;
        }
        if (ascii_ieq(word, word_len, "CAPABILITY")) {
            parse_capabilities(m, line + t, len - t);
            return;
        }
        if (ascii_ieq(word, word_len, "SEARCH")) {
            if (m->state != POSTIE_IMAP_STATE_LIST_SEARCH) {
                return; /* nobody asked */
            }
            search_part(m, line + pos, len - pos, true);
            return;
        }
    }
    /* FLAGS, LIST, ESEARCH, ...: skip, with any literal they end with */
    {
        uint64_t size = 0;
        bool ok = false;
        if (literal_at_end(m, line, len, &size, &ok)) {
            if (ok) {
                m->resp = RESP_SKIP;
                start_literal(m, size, false, now);
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
        fetch_segment(m, line, len, after_body, now);
        return;
    }
    m->resp = RESP_NONE;
    {
        uint64_t size = 0;
        bool ok = false;
        if (literal_at_end(m, line, len, &size, &ok) && ok) {
            m->resp = RESP_SKIP;
            start_literal(m, size, false, now);
        }
    }
}

/* "+ ..." : the server waits for more of the newest command. */
static void on_continuation(postie_imap_t *m, const char *line, size_t len, uint32_t now)
{
    postie_imap_pending_t *p =
        m->pending_count > 0 ? pending_at(m, (uint16_t)(m->pending_count - 1)) : NULL;
    postie_text_t b;

    if (p != NULL && p->kind == CMD_LOGIN &&
        (p->step == LOGIN_USER_OCTETS || p->step == LOGIN_PASS_OCTETS)) {
        b = tx_builder(m);
        p->step = login_piece(m, &b, p->step, p->tag);
        commit_more(m, &b, p, "<redacted>", now);
        return;
    }
    if (p != NULL && p->kind == CMD_AUTHENTICATE) {
        b = tx_builder(m);
        if (p->step == AUTH_WAIT_PLUS) {
            put_sasl_response(m, POSTIE_SASL_PLAIN, &b);
            postie_text_put(&b, "\r\n");
            p->step = AUTH_SENT;
            commit_more(m, &b, p, "<redacted>", now);
        } else if (p->step == AUTH_SENT) {
            /* a challenge after PLAIN's only message: cancel (RFC 9051 6.2.2) */
            postie_text_put(&b, "*\r\n");
            p->step = AUTH_CANCELLED;
            commit_more(m, &b, p, "*", now);
        } else {
            fail_here(m, POSTIE_E_REPLY_UNEXPECTED, line, len, "continuation nobody asked for");
        }
        return;
    }
    fail_here(m, POSTIE_E_REPLY_UNEXPECTED, line, len, "continuation nobody asked for");
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
        fail(m, POSTIE_E_REPLY_UNEXPECTED, postie_imap_state_name(m->state), line, len,
             "a response nobody asked for");
        return;
    }
    if (len >= 2 && line[0] == '*' && line[1] == ' ') {
        on_untagged(m, line, len, now);
    } else if (len >= 1 && line[0] == '+') {
        on_continuation(m, line, len, now);
    } else if (head_c(m)->kind == CMD_GREETING) {
        fail(m, POSTIE_E_REPLY_MALFORMED, command_names[CMD_GREETING], line, len,
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
            len < sizeof(prefix) - 1 || !ascii_ieq(part, sizeof(prefix) - 1, prefix)) {
            fail_here(m, POSTIE_E_REPLY_LINE_TOO_LONG, part, len,
                      "response line exceeds POSTIE_IMAP_LINE_MAX");
            return;
        }
        log_line(m, POSTIE_LOG_RECEIVED, part, len < 64 ? len : 64);
        log_note(m, "(a long SEARCH answer, read in parts)");
        m->line_part = true;
        search_part(m, part + sizeof(prefix) - 1, len - (sizeof(prefix) - 1), complete);
        return;
    }
    search_part(m, part, len, complete);
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
                deliver(m, data, len);
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
            fail_here(m, st, NULL, 0, m->rx.why);
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
        fail(m, POSTIE_E_STARTTLS_INJECTION, command_names[CMD_STARTTLS], NULL, 0,
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
    set_state(m, POSTIE_IMAP_STATE_FAILED);
    return st;
}

postie_status_t postie_imap_init(postie_imap_t *m, const postie_imap_config_t *cfg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    postie_error_clear(&m->error);
    set_state(m, POSTIE_IMAP_STATE_IDLE);
    if (m->cfg.literal_max == 0) {
        m->cfg.literal_max = POSTIE_IMAP_LITERAL_MAX;
    }
    if ((m->cfg.username == NULL) != (m->cfg.password == NULL) ||
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
    set_state(m, POSTIE_IMAP_STATE_GREETING);
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
        set_state(m, POSTIE_IMAP_STATE_CLOSED);
        m->pending_count = 0;
        push_event(m, POSTIE_MAILBOX_EV_CLOSED, 0, POSTIE_OK);
        return;
    }
    if (m->in_literal && m->literal_body && body_pending(m) != NULL) {
        postie_imap_pending_t copy = *body_pending(m);
        char detail[64];
        postie_text_t b;
        postie_text_init_str(&b, detail, sizeof(detail));
        postie_text_put(&b, "connection closed with ");
        postie_text_put_u64(&b, m->literal_left);
        postie_text_put(&b, " octets of the literal missing");
        fail_cmd(m, POSTIE_E_MESSAGE_TRUNCATED, &copy, NULL, 0, detail);
        return;
    }
    fail_here(m, POSTIE_E_CONNECTION_CLOSED, NULL, 0, "connection closed by the server");
}

void postie_imap_transport_failed(postie_imap_t *m, postie_status_t status, const char *what)
{
    if (m->state == POSTIE_IMAP_STATE_FAILED || m->state == POSTIE_IMAP_STATE_CLOSED) {
        return;
    }
    if (logging_out(m)) {
        set_state(m, POSTIE_IMAP_STATE_CLOSED); /* the goodbye was lost; nothing else was */
        m->pending_count = 0;
        push_event(m, POSTIE_MAILBOX_EV_CLOSED, 0, POSTIE_OK);
        return;
    }
    fail_here(m, status, NULL, 0, what);
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
        fail_here(m, POSTIE_E_TIMEOUT, NULL, 0, why);
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
    /* what was held back while the event ring was full can go on now */
    if (m->state != POSTIE_IMAP_STATE_FAILED && m->state != POSTIE_IMAP_STATE_CLOSED) {
        process_rx(m, m->wait_since);
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
    b = tx_builder(m);
    put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID SEARCH UID ");
    postie_text_put_u64(&b, from_id);
    postie_text_put(&b, ":*\r\n");
    set_state(m, POSTIE_IMAP_STATE_LIST_SEARCH);
    p = commit_command(m, &b, CMD_SEARCH, 0, NULL, now);
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
    b = tx_builder(m);
    put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID FETCH ");
    postie_text_put_u64(&b, uid);
    postie_text_put(&b, " (BODY.PEEK[])\r\n");
    p = commit_command(m, &b, CMD_FETCH_BODY, 0, NULL, now);
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
    b = tx_builder(m);
    put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID STORE ");
    postie_text_put_u64(&b, uid);
    postie_text_put(&b, " +FLAGS.SILENT (\\Deleted)\r\n");
    p = commit_command(m, &b, CMD_STORE, uidplus ? 1u : 0u, NULL, now);
    if (p == NULL) {
        return POSTIE_OK; /* the session failed; the error says why */
    }
    p->uid = uid;
    if (uidplus) {
        b = tx_builder(m);
        put_tag(&b, m->next_tag);
        postie_text_put(&b, "UID EXPUNGE ");
        postie_text_put_u64(&b, uid);
        postie_text_put(&b, "\r\n");
        p = commit_command(m, &b, CMD_UID_EXPUNGE, 0, NULL, now);
        if (p != NULL) {
            p->uid = uid;
        }
    }
    return POSTIE_OK;
}

postie_status_t postie_imap_finish(void *e, uint32_t now)
{
    postie_imap_t *m = e;
    if (!can_start(m)) {
        return POSTIE_E_BAD_STATE;
    }
    set_state(m, POSTIE_IMAP_STATE_FINISH);
    if (m->caps.flags & POSTIE_IMAP_CAP_UIDPLUS) {
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
