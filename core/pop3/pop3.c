/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POP3 client engine. See postie/pop3/pop3.h for the contract.
 *
 * Shape (as the SMTP engine): every command written is pushed on a small
 * ring of commands awaiting responses ("pending"); each complete response
 * pops the oldest entry and is handled by what that command was, so
 * pipelining is only a larger limit on the ring.
 *
 * Responses are read with the common line reader, except RETR data after
 * its +OK: that is taken straight from the receive buffer by a small
 * state machine (where in a line we are), dot-unstuffed and given to the
 * data callback in pieces, so a data line of any length streams.
 */
#include "postie/pop3/pop3.h"

#include <string.h>

#include "postie/common/base64.h"
#include "postie/common/md5.h"
#include "postie/common/text.h"

/* Room a command needs in the transmit buffer before READY is reported:
 * "RETR 4294967295\r\n" and friends. */
#define COMMAND_ROOM    32u
/* RFC 5034 section 4 (and RFC 2449 section 4): an AUTH command with its
 * initial response must fit in 255 octets, CRLF included. */
#define AUTH_LINE_MAX   255u
/* Events kept free for FAILED, which must never be lost. */
#define EVENTS_RESERVED 1u

_Static_assert(POSTIE_POP3_EVENTS_MAX > EVENTS_RESERVED + 1, "need room for events");

/* Commands that await a response. */
enum {
    CMD_GREETING,
    CMD_CAPA,
    CMD_STLS,
    CMD_AUTH,
    CMD_APOP,
    CMD_USER,
    CMD_PASS,
    CMD_STAT,
    CMD_LIST,
    CMD_UIDL,
    CMD_RETR,
    CMD_DELE,
    CMD_QUIT,
    CMD_LIST_ONE,
    CMD_UIDL_ONE
};

static const char *const command_names[] = {
    "greeting", "CAPA", "STLS", "AUTH PLAIN", "APOP", "USER", "PASS", "STAT",
    "LIST",     "UIDL", "RETR", "DELE",       "QUIT", "LIST", "UIDL",
};

/* LIST's pending step: what follows it for the same list() call. */
enum { LIST_LAST = 0, LIST_UIDL_LATER = 1, LIST_UIDL_QUEUED = 2 };

/* Where the RETR data reader is within a line. */
enum { DATA_BOL, DATA_MID, DATA_CR, DATA_DOT, DATA_DOT_CR };

static const char *const phase_names[] = {
#define POSTIE_POP3_PHASE_NAME(name) #name,
    POSTIE_POP3_PHASES(POSTIE_POP3_PHASE_NAME)
#undef POSTIE_POP3_PHASE_NAME
};

const char *postie_pop3_phase_name(postie_pop3_phase_t phase)
{
    if ((unsigned)phase >= (unsigned)POSTIE_POP3_PHASE_COUNT) {
        return "UNKNOWN";
    }
    return phase_names[phase];
}

void postie_pop3_config_defaults(postie_pop3_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    cfg->sasl_allowed = POSTIE_SASL_PLAIN;
    cfg->use_pipelining = true;
    cfg->timeout_greeting_ms = POSTIE_POP3_TIMEOUT_GREETING_MS;
    cfg->timeout_command_ms = POSTIE_POP3_TIMEOUT_COMMAND_MS;
    cfg->timeout_data_ms = POSTIE_POP3_TIMEOUT_DATA_MS;
}

/* ---- small helpers --------------------------------------------------------- */

/* Decimal digits s[0..n) into *out, refusing an empty string, anything but
 * digits, and values over max. */
static bool parse_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t d;
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        d = (uint64_t)(s[i] - '0');
        /* v * 10 + d must not pass UINT64_MAX, then not max: no 64-bit
         * division at run time (both bounds are constants) */
        if (v > UINT64_MAX / 10u || (v == UINT64_MAX / 10u && d > UINT64_MAX % 10u)) {
            return false;
        }
        v = v * 10u + d;
        if (v > max) {
            return false;
        }
    }
    *out = v;
    return true;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((uint8_t)*s < 0x20u || (uint8_t)*s == 0x7Fu) {
            return true;
        }
    }
    return false;
}

static void log_line(postie_pop3_t *p, postie_log_dir_t dir, const char *line, size_t len)
{
    if (p->cfg.log != NULL) {
        p->cfg.log(p->cfg.log_ctx, dir, line, len);
    }
}

static void log_note(postie_pop3_t *p, const char *note)
{
    log_line(p, POSTIE_LOG_INFO, note, strlen(note));
}

/* Every phase change goes through here. */
static void set_phase(postie_pop3_t *p, postie_pop3_phase_t phase)
{
    p->phase = phase;
}

/* ---- events and failure ------------------------------------------------------ */

static void push_event(postie_pop3_t *p, postie_mailbox_event_type_t type, uint32_t id,
                       postie_status_t status)
{
    postie_pop3_event_t *ev;
    if (p->ev_count >= POSTIE_POP3_EVENTS_MAX) {
        return; /* cannot happen: processing stops before the ring fills */
    }
    ev = &p->events[(p->ev_head + p->ev_count) % POSTIE_POP3_EVENTS_MAX];
    ev->type = type;
    ev->id = id;
    ev->status = status;
    p->ev_count++;
}

static const postie_pop3_pending_t *head(const postie_pop3_t *p)
{
    return p->pending_count > 0 ? &p->pending[p->pending_head] : NULL;
}

static const char *step_name(const postie_pop3_t *p)
{
    const postie_pop3_pending_t *h = head(p);
    if (h != NULL && h->kind == CMD_AUTH && p->cfg.oauth_token != NULL) {
        return p->cfg.oauth_mechanism == POSTIE_SASL_OAUTHBEARER ? "AUTH OAUTHBEARER"
                                                                 : "AUTH XOAUTH2";
    }
    return h != NULL ? command_names[h->kind] : postie_pop3_phase_name(p->phase);
}

/* The error's subject: "message 3" for RETR and DELE, then why. */
static void set_subject(postie_pop3_t *p, const char *why)
{
    const postie_pop3_pending_t *h = head(p);
    postie_text_t b;
    postie_text_init_str(&b, p->error.subject, sizeof(p->error.subject));
    if (h != NULL && (h->kind == CMD_RETR || h->kind == CMD_DELE)) {
        postie_text_put(&b, "message ");
        postie_text_put_u64(&b, h->id);
        if (why != NULL && why[0] != '\0') {
            postie_text_put(&b, ": ");
        }
    }
    if (why != NULL) {
        postie_text_put_cut(&b, why);
    }
    postie_text_copy_printable(p->error.subject, sizeof(p->error.subject), p->error.subject,
                               strlen(p->error.subject));
}

/* End the session: status, the step (the awaited command, or the phase),
 * the server's text (may be NULL) and why (may be NULL). */
static void fail_text(postie_pop3_t *p, postie_status_t st, const char *server, size_t server_len,
                      const char *code, const char *why)
{
    if (p->phase == POSTIE_POP3_PHASE_FAILED || p->phase == POSTIE_POP3_PHASE_CLOSED) {
        return;
    }
    postie_error_clear(&p->error);
    p->error.status = st;
    p->error.phase = step_name(p);
    if (server != NULL) {
        postie_text_copy_printable(p->error.reply.text, sizeof(p->error.reply.text), server,
                                   server_len);
    }
    if (code != NULL) {
        postie_text_copy(p->error.reply.enhanced, sizeof(p->error.reply.enhanced), code);
    }
    set_subject(p, why);
    set_phase(p, POSTIE_POP3_PHASE_FAILED);
    p->pending_count = 0;
    p->multi = false;
    p->tx_start = p->tx_len = 0;
    push_event(p, POSTIE_MAILBOX_EV_FAILED, 0, st);
    log_note(p, postie_status_str(st));
}

static void fail(postie_pop3_t *p, postie_status_t st, const char *why)
{
    fail_text(p, st, NULL, 0, NULL, why);
}

/* ---- transmit ------------------------------------------------------------------ */

static postie_text_t tx_builder(postie_pop3_t *p)
{
    postie_text_t b;
    postie_text_init(&b, (char *)p->tx_buf + p->tx_len, sizeof(p->tx_buf) - p->tx_len);
    return b;
}

static postie_pop3_pending_t *push_pending(postie_pop3_t *p, uint8_t kind, uint32_t now)
{
    postie_pop3_pending_t *e =
        &p->pending[(p->pending_head + p->pending_count) % POSTIE_POP3_PIPELINE_MAX];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->tx_end = p->tx_sent + (uint32_t)(p->tx_len - p->tx_start);
    if (p->pending_count == 0) {
        p->wait_since = now;
    }
    p->pending_count++;
    return e;
}

/* Has the oldest awaited command left? (The greeting has nothing to send.) */
static bool head_sent(const postie_pop3_t *p)
{
    return p->pending_count > 0 &&
           p->tx_sent - p->pending[p->pending_head].tx_end < UINT32_C(0x80000000);
}

/* Finish the command line built in b: CRLF, log it (or `shown` when the
 * line carries a secret), commit it and await its response. NULL when it
 * did not fit (cannot happen: READY and the set-up check the room). */
static postie_pop3_pending_t *commit_command(postie_pop3_t *p, postie_text_t *b, uint8_t kind,
                                             const char *shown, uint32_t now)
{
    size_t line_len = b->len;
    postie_text_put(b, "\r\n");
    if (b->overflow) {
        fail(p, POSTIE_E_NO_SPACE, "command does not fit the transmit buffer");
        return NULL;
    }
    if (shown != NULL) {
        log_line(p, POSTIE_LOG_SENT, shown, strlen(shown));
    } else {
        log_line(p, POSTIE_LOG_SENT, b->buf, line_len);
    }
    p->tx_len += b->len;
    return push_pending(p, kind, now);
}

/* A command with no argument or a number. */
static postie_pop3_pending_t *send_simple(postie_pop3_t *p, uint8_t kind, const char *verb,
                                          bool with_id, uint32_t id, uint32_t now)
{
    postie_text_t b = tx_builder(p);
    postie_pop3_pending_t *e;
    postie_text_put(&b, verb);
    if (with_id) {
        postie_text_put(&b, " ");
        postie_text_put_u64(&b, id);
    }
    e = commit_command(p, &b, kind, NULL, now);
    if (e != NULL) {
        e->id = id;
    }
    return e;
}

/* ---- capabilities ------------------------------------------------------------ */

/* One CAPA line: "STLS", "SASL PLAIN LOGIN", "PIPELINING", ... */
static void parse_capability(postie_pop3_t *p, const char *text, size_t n)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } words[] = {
        {"STLS", POSTIE_POP3_CAP_STLS},
        {"USER", POSTIE_POP3_CAP_USER},
        {"UIDL", POSTIE_POP3_CAP_UIDL},
        {"PIPELINING", POSTIE_POP3_CAP_PIPELINING},
        {"TOP", POSTIE_POP3_CAP_TOP},
        {"RESP-CODES", POSTIE_POP3_CAP_RESP_CODES},
        {"AUTH-RESP-CODE", POSTIE_POP3_CAP_AUTH_RESP},
    };
    size_t pos = 0;
    const char *kw;
    size_t kwlen;
    const char *w;
    size_t wlen;
    size_t used = strlen(p->info.capabilities);
    postie_text_t b;

    if (!postie_next_word(text, n, &pos, &kw, &kwlen)) {
        return;
    }
    /* the one-line summary for "account test" */
    postie_text_init_str(&b, p->info.capabilities + used, sizeof(p->info.capabilities) - used);
    if (used > 0) {
        postie_text_put_cut(&b, " ");
    }
    postie_text_put_cut_n(&b, text, n);
    postie_text_copy_printable(p->info.capabilities, sizeof(p->info.capabilities),
                               p->info.capabilities, strlen(p->info.capabilities));

    if (postie_ascii_ieq(kw, kwlen, "SASL")) {
        p->caps_next.flags |= POSTIE_POP3_CAP_SASL;
        while (postie_next_word(text, n, &pos, &w, &wlen)) {
            p->caps_next.sasl |= postie_sasl_mechanism(w, wlen);
        }
        return;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (postie_ascii_ieq(kw, kwlen, words[i].name)) {
            p->caps_next.flags |= words[i].bit;
        }
    }
}

/* ---- session set-up ------------------------------------------------------------ */

static void send_capa(postie_pop3_t *p, uint32_t now)
{
    uint32_t keep = p->caps.flags & POSTIE_POP3_CAP_APOP;
    memset(&p->caps_next, 0, sizeof(p->caps_next));
    p->caps_next.flags = keep;
    p->info.capabilities[0] = '\0';
    p->lines = 0;
    set_phase(p, POSTIE_POP3_PHASE_CAPA);
    (void)send_simple(p, CMD_CAPA, "CAPA", false, 0, now);
}

static void send_stat(postie_pop3_t *p, uint32_t now)
{
    p->logged_in = true;
    set_phase(p, POSTIE_POP3_PHASE_STAT);
    (void)send_simple(p, CMD_STAT, "STAT", false, 0, now);
}

static void become_ready(postie_pop3_t *p)
{
    set_phase(p, POSTIE_POP3_PHASE_READY);
    push_event(p, POSTIE_MAILBOX_EV_READY, 0, POSTIE_OK);
}

/* The SASL exchange, kept generic: step 0 is the initial response, each
 * further step answers a server challenge. Appends the base64 response to
 * b; false when the mechanism has nothing more to say. PLAIN (RFC 4616)
 * has one step; XOAUTH2 and OAUTHBEARER two: the token, then the answer to
 * the error challenge of a refused one. */
static bool sasl_response(postie_pop3_t *p, uint32_t mech, uint8_t step, const char *challenge,
                          size_t challenge_len, postie_text_t *b)
{
    size_t room = 0;
    size_t written = 0;
    char *tail;
    postie_status_t st;
    if (mech != POSTIE_SASL_PLAIN && step == 1) {
        /* S: + <base64 JSON>: the token was refused; the -ERR follows the
         * answer (XOAUTH2: empty; OAUTHBEARER: %x01, RFC 7628 3.2.3) */
        postie_sasl_oauth_error_subject(challenge, challenge_len, p->oauth_error,
                                        sizeof(p->oauth_error));
        if (mech == POSTIE_SASL_OAUTHBEARER) {
            postie_text_put(b, "AQ==");
        }
        return true;
    }
    if (step != 0) {
        return false;
    }
    tail = postie_text_tail(b, &room);
    if (mech == POSTIE_SASL_PLAIN) {
        st = postie_sasl_plain(p->cfg.username, p->cfg.password, tail, room, &written);
    } else {
        st =
            postie_sasl_oauth(mech, p->cfg.username, p->cfg.oauth_host, p->cfg.oauth_port,
                              p->cfg.oauth_token, strlen(p->cfg.oauth_token), tail, room, &written);
    }
    if (st == POSTIE_OK) {
        postie_text_advance(b, written);
    } else {
        postie_text_fail(b);
    }
    return true;
}

static void send_auth(postie_pop3_t *p, uint32_t mech, uint32_t now)
{
    const char *name = postie_sasl_mechanism_name(mech);
    size_t resp = mech == POSTIE_SASL_PLAIN
                      ? POSTIE_BASE64_LEN(strlen(p->cfg.username) + strlen(p->cfg.password) + 2)
                      : postie_sasl_oauth_len(mech, p->cfg.username, p->cfg.oauth_host,
                                              p->cfg.oauth_port, strlen(p->cfg.oauth_token));
    postie_text_t b = tx_builder(p);
    postie_pop3_pending_t *e;

    p->oauth_error[0] = '\0';
    postie_text_put(&b, "AUTH ");
    postie_text_put(&b, name);
    if (strlen("AUTH  ") + strlen(name) + resp + 2 <= AUTH_LINE_MAX) {
        /* RFC 5034 section 4: the initial response on the AUTH line */
        char shown[40];
        postie_text_t sb;
        postie_text_init_str(&sb, shown, sizeof(shown));
        postie_text_put(&sb, "AUTH ");
        postie_text_put(&sb, name);
        postie_text_put(&sb, " <redacted>");
        postie_text_put(&b, " ");
        (void)sasl_response(p, mech, 0, NULL, 0, &b);
        e = commit_command(p, &b, CMD_AUTH, shown, now);
        if (e != NULL) {
            e->step = 1;
        }
    } else {
        e = commit_command(p, &b, CMD_AUTH, NULL, now);
    }
    if (e != NULL) {
        e->id = mech;
    }
}

static void send_apop(postie_pop3_t *p, uint32_t now)
{
    postie_md5_t md5;
    uint8_t digest[POSTIE_MD5_DIGEST_LEN];
    char hex[33];
    postie_text_t b = tx_builder(p);

    postie_md5_init(&md5);
    postie_md5_update(&md5, p->apop_stamp, strlen(p->apop_stamp));
    postie_md5_update(&md5, p->cfg.password, strlen(p->cfg.password));
    postie_md5_final(&md5, digest);
    postie_md5_hex(digest, hex);
    postie_text_put(&b, "APOP ");
    postie_text_put(&b, p->cfg.username);
    postie_text_put(&b, " ");
    postie_text_put(&b, hex);
    (void)commit_command(p, &b, CMD_APOP, "APOP <redacted>", now);
    memset(digest, 0, sizeof(digest));
    memset(hex, 0, sizeof(hex));
}

/* After CAPA (and STLS): log in, then STAT. */
static void start_login(postie_pop3_t *p, uint32_t now)
{
    uint32_t usable = p->caps.sasl & p->cfg.sasl_allowed & POSTIE_SASL_PLAIN;
    bool capa = (p->caps.flags & POSTIE_POP3_CAP_CAPA) != 0;
    postie_text_t b;

    if (p->cfg.username == NULL) {
        become_ready(p); /* a capability probe: nothing to log in with */
        return;
    }
    set_phase(p, POSTIE_POP3_PHASE_LOGIN);
    if (!p->info.secure && !p->cfg.allow_plaintext_auth) {
        fail(p, POSTIE_E_AUTH_CLEARTEXT_REFUSED, "no TLS; allow_plaintext_auth is off");
        return;
    }
    if (p->cfg.oauth_token != NULL) {
        if ((p->caps.flags & POSTIE_POP3_CAP_SASL) && (p->caps.sasl & p->cfg.oauth_mechanism)) {
            send_auth(p, p->cfg.oauth_mechanism, now);
        } else {
            fail(p, POSTIE_E_AUTH_NO_MECHANISM,
                 p->cfg.oauth_mechanism == POSTIE_SASL_OAUTHBEARER ? "OAUTHBEARER not offered"
                                                                   : "XOAUTH2 not offered");
        }
    } else if (p->cfg.use_apop && p->apop_stamp[0] != '\0') {
        send_apop(p, now);
    } else if ((p->caps.flags & POSTIE_POP3_CAP_SASL) && usable != 0) {
        send_auth(p, POSTIE_SASL_PLAIN, now);
    } else if (!capa || (p->caps.flags & POSTIE_POP3_CAP_USER)) {
        b = tx_builder(p);
        postie_text_put(&b, "USER ");
        postie_text_put(&b, p->cfg.username);
        (void)commit_command(p, &b, CMD_USER, "USER <redacted>", now);
    } else {
        fail(p, POSTIE_E_AUTH_NO_MECHANISM, "CAPA lists neither USER nor SASL PLAIN");
    }
}

/* After a CAPA answer (or its -ERR): STLS as configured, then log in. */
static void after_capa(postie_pop3_t *p, uint32_t now)
{
    bool offered = (p->caps.flags & POSTIE_POP3_CAP_STLS) != 0;
    bool want_tls = p->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED ||
                    p->cfg.tls_mode == POSTIE_TLS_STARTTLS_OPPORTUNISTIC;

    p->pipeline_limit = (p->cfg.use_pipelining && (p->caps.flags & POSTIE_POP3_CAP_PIPELINING))
                            ? POSTIE_POP3_PIPELINE_MAX
                            : 1;
    if (!p->info.secure && want_tls) {
        if (offered) {
            set_phase(p, POSTIE_POP3_PHASE_STLS);
            (void)send_simple(p, CMD_STLS, "STLS", false, 0, now);
            return;
        }
        if (p->cfg.tls_mode == POSTIE_TLS_STARTTLS_REQUIRED) {
            fail(p, POSTIE_E_STARTTLS_UNAVAILABLE, "STLS not offered; TLS is required");
            return;
        }
        log_note(p, "STLS not offered; continuing without TLS (opportunistic mode)");
    }
    start_login(p, now);
}

/* The greeting's APOP timestamp: the first <...> of printable octets. */
static void keep_timestamp(postie_pop3_t *p, const char *text, size_t n)
{
    const char *lt = memchr(text, '<', n);
    size_t len;
    if (lt == NULL) {
        return;
    }
    for (len = 1; (size_t)(lt - text) + len < n; len++) {
        char c = lt[len];
        if (c == '>') {
            len++;
            if (len > 2 && len < sizeof(p->apop_stamp)) {
                memcpy(p->apop_stamp, lt, len);
                p->apop_stamp[len] = '\0';
                p->caps.flags |= POSTIE_POP3_CAP_APOP;
            }
            return;
        }
        if ((uint8_t)c < 0x21u || (uint8_t)c > 0x7Eu || c == '<') {
            return;
        }
    }
}

/* ---- responses -------------------------------------------------------------------- */

/* RFC 2449 section 8 / RFC 3206 response codes: "[IN-USE] text". */
static postie_status_t status_for_err(const postie_pop3_pending_t *h, const char *text, size_t n,
                                      char *code, size_t code_cap)
{
    bool login =
        h->kind == CMD_AUTH || h->kind == CMD_APOP || h->kind == CMD_USER || h->kind == CMD_PASS;
    postie_status_t deflt = login ? POSTIE_E_AUTH_FAILED : POSTIE_E_COMMAND_REFUSED;
    const char *end;
    size_t len;

    code[0] = '\0';
    if (h->kind == CMD_STLS) {
        deflt = POSTIE_E_STARTTLS_REFUSED;
    }
    if (n < 2 || text[0] != '[' || (end = memchr(text, ']', n)) == NULL) {
        return deflt;
    }
    len = (size_t)(end - text) - 1;
    postie_text_copy_printable(code, code_cap, text + 1, len);
#define CODE_IS(name)                                                                 \
    (len >= sizeof(name) - 1 && postie_ascii_ieq(text + 1, sizeof(name) - 1, name) && \
     (len == sizeof(name) - 1 || text[sizeof(name)] == '/'))
    if (CODE_IS("IN-USE") || CODE_IS("SYS/TEMP")) {
        return POSTIE_E_MAILBOX_IN_USE;
    }
    if (CODE_IS("LOGIN-DELAY")) {
        return POSTIE_E_AUTH_TEMPORARY;
    }
    if (CODE_IS("AUTH")) {
        return POSTIE_E_AUTH_FAILED;
    }
#undef CODE_IS
    return deflt;
}

static void pop_pending(postie_pop3_t *p, uint32_t now)
{
    p->pending_head = (uint16_t)((p->pending_head + 1) % POSTIE_POP3_PIPELINE_MAX);
    p->pending_count--;
    p->multi = false;
    p->wait_since = now; /* the next response's clock starts now (or when its command left) */
}

/* A command whose answer has more lines: the +OK starts them. */
static void start_multi(postie_pop3_t *p, uint32_t now)
{
    p->multi = true;
    if (p->pending[p->pending_head].kind != CMD_CAPA) {
        p->wait_since = now; /* from here on the data timeout: the longest silence */
    }
    p->lines = 0;
    p->last_id = 0;
    p->data_st = DATA_BOL;
    p->received = 0;
}

static void send_uidl(postie_pop3_t *p, const postie_pop3_pending_t *list, uint32_t now)
{
    postie_pop3_pending_t *e = send_simple(p, CMD_UIDL, "UIDL", false, 0, now);
    if (e != NULL) {
        e->id = list->id;
        e->item_fn = list->item_fn;
        e->ctx = list->ctx;
    }
}

/* A complete one-line answer, or the end of a multi-line one (h is the
 * command, popped already). */
static void on_done(postie_pop3_t *p, const postie_pop3_pending_t *h, uint32_t now)
{
    switch (h->kind) {
    case CMD_CAPA:
        p->caps = p->caps_next;
        p->caps.flags |= POSTIE_POP3_CAP_CAPA;
        after_capa(p, now);
        break;
    case CMD_LIST:
        if (h->step == LIST_UIDL_LATER) {
            send_uidl(p, h, now);
            p->list_open = false;
        } else if (h->step == LIST_LAST) {
            push_event(p, POSTIE_MAILBOX_EV_LISTED, 0, POSTIE_OK);
        }
        break;
    case CMD_UIDL:
        push_event(p, POSTIE_MAILBOX_EV_LISTED, 0, POSTIE_OK);
        break;
    case CMD_RETR: {
        char note[48];
        postie_text_t b;
        postie_text_init_str(&b, note, sizeof(note));
        postie_text_put(&b, "message data: ");
        postie_text_put_u64(&b, p->received);
        postie_text_put(&b, " octets");
        log_note(p, note);
        push_event(p, POSTIE_MAILBOX_EV_RETRIEVED, h->id, POSTIE_OK);
        break;
    }
    default:
        break;
    }
}

static void on_listing(postie_pop3_t *p, const char *line, size_t len, uint32_t now);

/* A ranged listing: send what the pipeline takes; LISTED once every
 * answer came. */
static void range_fill(postie_pop3_t *p, uint32_t now)
{
    while (p->ranging && p->rng_next <= p->rng_end && p->pending_count < p->pipeline_limit &&
           sizeof(p->tx_buf) - p->tx_len >= COMMAND_ROOM) {
        bool uidl = p->rng_uidl_next || !(p->rng_want & POSTIE_MAIL_ITEM_SIZE);
        postie_pop3_pending_t *e = send_simple(p, uidl ? CMD_UIDL_ONE : CMD_LIST_ONE,
                                               uidl ? "UIDL" : "LIST", true, p->rng_next, now);
        if (e == NULL) {
            return;
        }
        e->item_fn = p->rng_fn;
        e->ctx = p->rng_ctx;
        if (!uidl && (p->rng_want & POSTIE_MAIL_ITEM_UIDL)) {
            p->rng_uidl_next = true;
        } else {
            p->rng_uidl_next = false;
            p->rng_next++;
        }
    }
    if (p->ranging && p->rng_next > p->rng_end && p->pending_count == 0) {
        p->ranging = false;
        p->list_open = false;
        push_event(p, POSTIE_MAILBOX_EV_LISTED, 0, POSTIE_OK);
    }
}

/* The status line of the command at the head: "+OK ..." or "-ERR ...". */
static void on_status(postie_pop3_t *p, bool ok, const char *text, size_t n, const char *line,
                      size_t len, uint32_t now)
{
    postie_pop3_pending_t h = *head(p);
    uint64_t v;
    const char *w;
    size_t wlen;
    size_t pos = 0;

    if (!ok) {
        char code[16];
        postie_status_t st = status_for_err(&h, text, n, code, sizeof(code));
        if (h.kind == CMD_CAPA) {
            /* RFC 2449: an old server without CAPA; no extensions */
            pop_pending(p, now);
            log_note(p, "CAPA refused: a server without extensions");
            p->caps.flags &= POSTIE_POP3_CAP_APOP;
            p->caps.sasl = 0;
            after_capa(p, now);
            return;
        }
        if (h.kind == CMD_STLS && p->cfg.tls_mode == POSTIE_TLS_STARTTLS_OPPORTUNISTIC &&
            st == POSTIE_E_STARTTLS_REFUSED) {
            pop_pending(p, now);
            log_note(p, "STLS refused; continuing without TLS (opportunistic mode)");
            start_login(p, now);
            return;
        }
        if (h.kind == CMD_AUTH && p->cfg.oauth_token != NULL && st == POSTIE_E_AUTH_FAILED &&
            h.step > 0) {
            /* the token left (step 0: refused before it did, AUTH_FAILED) */
            /* the subject is the server's JSON error */
            fail_text(p, POSTIE_E_TOKEN_REJECTED, text, n, code, p->oauth_error);
            return;
        }
        fail_text(p, st, text, n, code, NULL);
        return;
    }

    switch (h.kind) {
    /* S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us> */
    case CMD_GREETING:
        keep_timestamp(p, text, n);
        pop_pending(p, now);
        send_capa(p, now);
        break;

    /* C: CAPA   S: +OK / STLS / SASL PLAIN / PIPELINING / UIDL / . */
    case CMD_CAPA:
    /* C: LIST   S: +OK 2 messages / 1 120 / 2 200 / . */
    case CMD_LIST:
    /* C: UIDL   S: +OK / 1 whqtswO00WBw418f9t5JxYwZ / 2 QhdPYR:00WBw1Ph7x7 / . */
    case CMD_UIDL:
        start_multi(p, now);
        break;

    /* C: LIST 33   S: +OK 33 4096      C: UIDL 33   S: +OK 33 whqtswO00WBw418f9t5JxYwZ */
    case CMD_LIST_ONE:
    case CMD_UIDL_ONE:
        if (!postie_next_word(text, n, &pos, &w, &wlen) || !parse_number(w, wlen, UINT32_MAX, &v) ||
            v != h.id) {
            fail_text(p, POSTIE_E_REPLY_MALFORMED, line, len, NULL,
                      "the answer is not for the message asked for");
            return;
        }
        p->last_id = h.id - 1u;
        on_listing(p, text, n, now);
        if (p->phase == POSTIE_POP3_PHASE_FAILED) {
            return;
        }
        pop_pending(p, now);
        range_fill(p, now);
        break;

    /* C: RETR 3   S: +OK 120 octets / <message, dot-stuffed> / . */
    case CMD_RETR:
        if (h.size_max != 0 && postie_next_word(text, n, &pos, &w, &wlen) &&
            parse_number(w, wlen, UINT64_MAX, &v) && v > h.size_max) {
            char why[80];
            postie_text_t b;
            postie_text_init_str(&b, why, sizeof(why));
            postie_text_put_u64(&b, v);
            postie_text_put(&b, " octets announced, the limit is ");
            postie_text_put_u64(&b, h.size_max);
            fail_text(p, POSTIE_E_MESSAGE_TOO_LARGE, line, len, NULL, why);
            return;
        }
        start_multi(p, now);
        break;

    /* C: STLS   S: +OK Begin TLS negotiation */
    case CMD_STLS:
        pop_pending(p, now);
        set_phase(p, POSTIE_POP3_PHASE_TLS_HANDSHAKE);
        break; /* bytes already buffered past this line: see process_rx */

    /* C: AUTH PLAIN <redacted>   S: +OK Logged in. */
    /* C: APOP <redacted>         S: +OK maildrop has 2 messages */
    /* C: PASS <redacted>         S: +OK Logged in. */
    case CMD_AUTH:
    case CMD_APOP:
    case CMD_PASS:
        pop_pending(p, now);
        send_stat(p, now);
        break;

    /* C: USER <redacted>   S: +OK */
    case CMD_USER: {
        postie_text_t b;
        pop_pending(p, now);
        b = tx_builder(p);
        postie_text_put(&b, "PASS ");
        postie_text_put(&b, p->cfg.password);
        (void)commit_command(p, &b, CMD_PASS, "PASS <redacted>", now);
        break;
    }

    /* C: STAT   S: +OK 2 320 */
    case CMD_STAT: {
        uint64_t count;
        uint64_t octets;
        const char *w2;
        size_t w2len;
        if (!postie_next_word(text, n, &pos, &w, &wlen) ||
            !parse_number(w, wlen, UINT32_MAX, &count) ||
            !postie_next_word(text, n, &pos, &w2, &w2len) ||
            !parse_number(w2, w2len, UINT64_MAX, &octets)) {
            fail_text(p, POSTIE_E_REPLY_MALFORMED, line, len, NULL,
                      "STAT answer is not \"+OK count octets\"");
            return;
        }
        p->info.messages = (uint32_t)count;
        p->info.octets = octets;
        pop_pending(p, now);
        become_ready(p);
        break;
    }

    /* C: DELE 3   S: +OK message 3 deleted */
    case CMD_DELE:
        pop_pending(p, now);
        push_event(p, POSTIE_MAILBOX_EV_REMOVED, h.id, POSTIE_OK);
        break;

    /* C: QUIT   S: +OK bye (the server deletes now) */
    case CMD_QUIT:
        pop_pending(p, now);
        set_phase(p, POSTIE_POP3_PHASE_CLOSED);
        push_event(p, POSTIE_MAILBOX_EV_CLOSED, 0, POSTIE_OK);
        break;

    default:
        fail_text(p, POSTIE_E_BAD_STATE, line, len, NULL, NULL);
        break;
    }
}

/* C: AUTH PLAIN   S: + (empty challenge)   C: <redacted> */
static void on_continuation(postie_pop3_t *p, const char *line, size_t len, uint32_t now)
{
    postie_pop3_pending_t h = *head(p);
    postie_text_t b;
    postie_pop3_pending_t *e;
    const char *challenge = len > 2 ? line + 2 : line + len;

    b = tx_builder(p);
    if (!sasl_response(p, h.id, h.step, challenge, len > 2 ? len - 2 : 0, &b)) {
        fail_text(p, POSTIE_E_REPLY_UNEXPECTED, line, len, NULL,
                  "a SASL challenge after the last response");
        return;
    }
    pop_pending(p, now);
    e = commit_command(p, &b, CMD_AUTH,
                       h.id == POSTIE_SASL_PLAIN || h.step != 1 ? "<redacted>"
                       : h.id == POSTIE_SASL_OAUTHBEARER        ? "AQ=="
                                                                : "",
                       now);
    if (e != NULL) {
        e->id = h.id;
        e->step = (uint8_t)(h.step + 1);
    }
}

/* "1 120" (LIST) or "1 whqtswO00WBw418f9t5JxYwZ" (UIDL). */
static void on_listing(postie_pop3_t *p, const char *line, size_t len, uint32_t now)
{
    const postie_pop3_pending_t *h = head(p);
    postie_mail_item_t item;
    const char *sp = memchr(line, ' ', len);
    size_t idlen = sp != NULL ? (size_t)(sp - line) : len;
    const char *rest = sp != NULL ? sp + 1 : line + len;
    size_t restlen = len - idlen - (sp != NULL ? 1u : 0u);
    uint64_t id;
    const char *why = NULL;
    postie_status_t st;

    (void)now;
    memset(&item, 0, sizeof(item));
    if (!parse_number(line, idlen, UINT32_MAX, &id)) {
        why = "message number is not a decimal number of 32 bits";
    } else if (id == 0) {
        why = "message number 0";
    } else if (id <= p->last_id) {
        why = id == p->last_id ? "message number listed twice" : "message numbers out of order";
    } else if (id > p->info.messages) {
        why = "message number beyond the STAT count";
    } else if (sp == NULL) {
        why = "no space after the message number";
    } else if (h->kind == CMD_LIST || h->kind == CMD_LIST_ONE) {
        /* RFC 1939: more may follow the size, after a space */
        const char *sp2 = memchr(rest, ' ', restlen);
        size_t slen = sp2 != NULL ? (size_t)(sp2 - rest) : restlen;
        if (!parse_number(rest, slen, UINT64_MAX, &item.size)) {
            why = "size is not a decimal number";
        }
        item.have = POSTIE_MAIL_ITEM_SIZE;
    } else {
        if (restlen == 0 || restlen > POSTIE_MAILBOX_UIDL_MAX) {
            why = "unique-id is not 1..70 octets";
        }
        for (size_t i = 0; why == NULL && i < restlen; i++) {
            if ((uint8_t)rest[i] < 0x21u || (uint8_t)rest[i] > 0x7Eu) {
                why = "unique-id has an octet outside 0x21..0x7E";
            }
        }
        if (why == NULL) {
            memcpy(item.uidl, rest, restlen);
            item.uidl[restlen] = '\0';
        }
        item.have = POSTIE_MAIL_ITEM_UIDL;
    }
    if (why != NULL) {
        fail_text(p, POSTIE_E_REPLY_MALFORMED, line, len, NULL, why);
        return;
    }
    p->last_id = (uint32_t)id;
    if (id < h->id) {
        return; /* below from_id */
    }
    item.id = (uint32_t)id;
    st = h->item_fn(h->ctx, &item);
    if (st != POSTIE_OK) {
        fail_text(p, st, NULL, 0, NULL, NULL);
        p->error.phase = "listing";
    }
}

/* One line of a multi-line answer (CAPA, LIST, UIDL), dot-unstuffed. */
static void on_multi_line(postie_pop3_t *p, const char *line, size_t len, uint32_t now)
{
    const postie_pop3_pending_t *h = head(p);
    if (len == 1 && line[0] == '.') {
        postie_pop3_pending_t done = *h;
        pop_pending(p, now);
        on_done(p, &done, now);
        return;
    }
    if (len > 0 && line[0] == '.') {
        line++;
        len--;
    }
    if (h->kind == CMD_CAPA) {
        if (++p->lines > POSTIE_REPLY_LINES_MAX) {
            fail(p, POSTIE_E_REPLY_TOO_MANY_LINES, "CAPA answer has too many lines");
            return;
        }
        parse_capability(p, line, len);
        return;
    }
    on_listing(p, line, len, now);
}

static void on_line(postie_pop3_t *p, const char *line, size_t len, uint32_t now)
{
    const postie_pop3_pending_t *h = head(p);

    log_line(p, POSTIE_LOG_RECEIVED, line, len);
    if (h == NULL) {
        fail_text(p, POSTIE_E_REPLY_UNEXPECTED, line, len, NULL, "a line nobody asked for");
        return;
    }
    if (p->multi) {
        on_multi_line(p, line, len, now);
        return;
    }
    if (len >= 3 && memcmp(line, "+OK", 3) == 0 && (len == 3 || line[3] == ' ')) {
        on_status(p, true, line + (len > 3 ? 4 : 3), len > 3 ? len - 4 : 0, line, len, now);
        return;
    }
    if (len >= 4 && memcmp(line, "-ERR", 4) == 0 && (len == 4 || line[4] == ' ')) {
        on_status(p, false, line + (len > 4 ? 5 : 4), len > 4 ? len - 5 : 0, line, len, now);
        return;
    }
    if (h->kind == CMD_AUTH && len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
        on_continuation(p, line, len, now);
        return;
    }
    fail_text(p, POSTIE_E_REPLY_MALFORMED, line, len, NULL,
              "response is neither \"+OK\" nor \"-ERR\"");
}

/* ---- RETR data -------------------------------------------------------------------- */

/* Give data[0..n) to the retrieve's callback, within its size bound. */
static bool deliver(postie_pop3_t *p, const uint8_t *data, size_t n)
{
    const postie_pop3_pending_t *h = head(p);
    postie_status_t st;
    if (n == 0) {
        return true;
    }
    if (h->size_max != 0 && (p->received + n > h->size_max || p->received + n < p->received)) {
        char why[64];
        postie_text_t b;
        postie_text_init_str(&b, why, sizeof(why));
        postie_text_put(&b, "more than ");
        postie_text_put_u64(&b, h->size_max);
        postie_text_put(&b, " octets received");
        fail(p, POSTIE_E_MESSAGE_TOO_LARGE, why);
        return false;
    }
    p->received += n;
    st = h->data_fn(h->ctx, data, n);
    if (st != POSTIE_OK) {
        fail(p, st, NULL);
        p->error.phase = "storing the message";
        return false;
    }
    return true;
}

/* Message data after RETR's +OK, straight from the receive buffer: strict
 * CRLF, no NUL, a leading dot removed, ".\r\n" ends it. Consumes every
 * buffered octet up to the end of the message. The line reader's fields
 * are used directly here: this is its counted, unframed mode. */
static void process_data(postie_pop3_t *p, uint32_t now)
{
    postie_line_reader_t *r = &p->rx;
    const uint8_t *raw = r->buf + r->start;
    size_t n = r->len - r->start;
    size_t run = 0; /* octets raw[run..i) are message data not yet delivered */
    size_t i = 0;
    const char *bad = NULL;

    while (i < n && bad == NULL) {
        uint8_t c = raw[i];
        switch (p->data_st) {
        case DATA_BOL:
            if (c == '.') {
                if (!deliver(p, raw + run, i - run)) {
                    return;
                }
                i++;
                run = i; /* the dot itself is never data */
                p->data_st = DATA_DOT;
                break;
            }
            p->data_st = DATA_MID;
            break; /* look at c again as data */
        case DATA_DOT:
            if (c == '\r') {
                i++;
                run = i;
                p->data_st = DATA_DOT_CR;
            } else {
                p->data_st = DATA_MID; /* ".." or ".x": the rest of the line is data */
            }
            break;
        case DATA_DOT_CR:
            if (c != '\n') {
                bad = "bare CR in message data";
                break;
            }
            /* ".\r\n": the end of the message */
            r->start += i + 1;
            r->scan = r->start;
            {
                postie_pop3_pending_t done = *head(p);
                pop_pending(p, now);
                on_done(p, &done, now);
            }
            return;
        case DATA_CR:
            if (c != '\n') {
                bad = "bare CR in message data";
                break;
            }
            i++;
            p->data_st = DATA_BOL;
            break;
        default: /* DATA_MID */
            if (c == '\r') {
                p->data_st = DATA_CR;
            } else if (c == '\n') {
                bad = "bare LF in message data (lines must end in CRLF)";
            } else if (c == '\0') {
                bad = "NUL octet in message data";
            }
            if (bad == NULL) {
                i++;
            }
            break;
        }
    }
    if (bad != NULL) {
        fail(p, POSTIE_E_REPLY_MALFORMED, bad);
        return;
    }
    if (!deliver(p, raw + run, i - run)) {
        return;
    }
    r->start += n;
    r->scan = r->start;
}

static bool in_data(const postie_pop3_t *p)
{
    return p->multi && p->pending_count > 0 && p->pending[p->pending_head].kind == CMD_RETR;
}

/* Handle buffered octets while there is room for the events they make. */
static void process_rx(postie_pop3_t *p, uint32_t now)
{
    while (p->phase != POSTIE_POP3_PHASE_FAILED && p->phase != POSTIE_POP3_PHASE_CLOSED &&
           p->phase != POSTIE_POP3_PHASE_TLS_HANDSHAKE &&
           p->ev_count + EVENTS_RESERVED < POSTIE_POP3_EVENTS_MAX) {
        const char *line;
        size_t len;
        postie_status_t st;
        if (in_data(p)) {
            if (postie_line_pending(&p->rx) == 0) {
                return;
            }
            process_data(p, now);
            continue;
        }
        st = postie_line_next(&p->rx, &line, &len);
        if (st == POSTIE_E_AGAIN) {
            return;
        }
        if (st != POSTIE_OK) {
            fail(p, st, p->rx.why);
            return;
        }
        on_line(p, line, len, now);
    }
    if (p->phase == POSTIE_POP3_PHASE_TLS_HANDSHAKE && postie_line_pending(&p->rx) != 0) {
        fail(p, POSTIE_E_STARTTLS_INJECTION, "bytes after the +OK to STLS, before the handshake");
        p->error.phase = command_names[CMD_STLS];
    }
}

/* ---- public calls ------------------------------------------------------------------ */

postie_status_t postie_pop3_init(postie_pop3_t *p, const postie_pop3_config_t *cfg)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    postie_error_clear(&p->error);
    set_phase(p, POSTIE_POP3_PHASE_IDLE);
    if (p->cfg.oauth_token != NULL) {
        const char *why = NULL;
        postie_status_t st =
            postie_sasl_oauth_check(p->cfg.oauth_mechanism, p->cfg.username, p->cfg.oauth_host,
                                    p->cfg.oauth_port, p->cfg.oauth_token, &why);
        if (st != POSTIE_OK) {
            p->error.status = st;
            p->error.phase = "login";
            postie_text_copy(p->error.subject, sizeof(p->error.subject), why);
            set_phase(p, POSTIE_POP3_PHASE_FAILED);
            return st;
        }
    } else if (p->cfg.username != NULL &&
               (p->cfg.password == NULL || strlen(p->cfg.username) > POSTIE_AUTH_FIELD_MAX ||
                strlen(p->cfg.password) > POSTIE_AUTH_FIELD_MAX || p->cfg.username[0] == '\0' ||
                has_control(p->cfg.username) || has_control(p->cfg.password))) {
        p->error.status = POSTIE_E_INVALID_ARGUMENT;
        p->error.phase = "login";
        postie_text_copy(p->error.subject, sizeof(p->error.subject),
                         "username/password missing, too long or holding a control character");
        set_phase(p, POSTIE_POP3_PHASE_FAILED);
        return POSTIE_E_INVALID_ARGUMENT;
    }
    postie_line_init(&p->rx, p->rx_buf, sizeof(p->rx_buf), POSTIE_POP3_LINE_MAX);
    p->pipeline_limit = 1;
    p->info.secure = (cfg->tls_mode == POSTIE_TLS_IMPLICIT);
    return POSTIE_OK;
}

postie_status_t postie_pop3_start(postie_pop3_t *p, uint32_t now)
{
    if (p->phase != POSTIE_POP3_PHASE_IDLE) {
        return p->phase == POSTIE_POP3_PHASE_FAILED ? p->error.status : POSTIE_E_BAD_STATE;
    }
    set_phase(p, POSTIE_POP3_PHASE_GREETING);
    (void)push_pending(p, CMD_GREETING, now);
    return POSTIE_OK;
}

uint32_t postie_pop3_state(const postie_pop3_t *p)
{
    uint32_t st = 0;
    if (p->ev_count > 0) {
        st |= POSTIE_POP3_EVENT;
    }
    if (p->phase == POSTIE_POP3_PHASE_FAILED) {
        return st | POSTIE_POP3_FAILED;
    }
    if (p->phase == POSTIE_POP3_PHASE_CLOSED) {
        return st | POSTIE_POP3_CLOSED;
    }
    if (p->tx_len > p->tx_start) {
        st |= POSTIE_POP3_HAVE_TX;
    }
    if (p->pending_count > 0 && p->ev_count + EVENTS_RESERVED < POSTIE_POP3_EVENTS_MAX &&
        postie_line_pending(&p->rx) < p->rx.cap) {
        st |= POSTIE_POP3_WANT_RX;
    }
    if (p->phase == POSTIE_POP3_PHASE_TLS_HANDSHAKE && p->tx_len == p->tx_start) {
        st |= POSTIE_POP3_NEED_TLS;
    }
    if (p->phase == POSTIE_POP3_PHASE_READY && !p->list_open &&
        p->pending_count < p->pipeline_limit && sizeof(p->tx_buf) - p->tx_len >= COMMAND_ROOM) {
        st |= POSTIE_POP3_READY;
    }
    return st;
}

postie_pop3_phase_t postie_pop3_phase(const postie_pop3_t *p)
{
    return p->phase;
}

const uint8_t *postie_pop3_tx_buf(const postie_pop3_t *p, size_t *len)
{
    *len = p->tx_len - p->tx_start;
    return p->tx_buf + p->tx_start;
}

void postie_pop3_tx_ack(postie_pop3_t *p, size_t sent, uint32_t now)
{
    bool was_sent = head_sent(p);
    if (sent > p->tx_len - p->tx_start) {
        sent = p->tx_len - p->tx_start;
    }
    p->tx_start += sent;
    p->tx_sent += (uint32_t)sent;
    if (!was_sent && head_sent(p)) {
        p->wait_since = now; /* the response clock starts once its command left */
    }
    if (p->tx_start > 0) {
        memmove(p->tx_buf, p->tx_buf + p->tx_start, p->tx_len - p->tx_start);
        p->tx_len -= p->tx_start;
        p->tx_start = 0;
    }
}

uint8_t *postie_pop3_rx_buf(postie_pop3_t *p, size_t *cap)
{
    return postie_line_rx_window(&p->rx, cap);
}

postie_status_t postie_pop3_rx_ack(postie_pop3_t *p, size_t got, uint32_t now)
{
    if (p->phase == POSTIE_POP3_PHASE_FAILED) {
        return p->error.status;
    }
    postie_line_rx_commit(&p->rx, got);
    if (got > 0 && p->multi && head(p) != NULL && head(p)->kind != CMD_CAPA) {
        p->wait_since = now; /* data timeout: silence while a listing or message arrives */
    }
    process_rx(p, now);
    return p->phase == POSTIE_POP3_PHASE_FAILED ? p->error.status : POSTIE_OK;
}

void postie_pop3_rx_eof(postie_pop3_t *p)
{
    if (in_data(p)) {
        fail(p, POSTIE_E_MESSAGE_TRUNCATED, "connection closed before the final dot");
        return;
    }
    fail(p, POSTIE_E_CONNECTION_CLOSED, NULL);
}

void postie_pop3_transport_failed(postie_pop3_t *p, postie_status_t status, const char *what)
{
    if (in_data(p)) {
        fail(p, POSTIE_E_MESSAGE_TRUNCATED, what);
        return;
    }
    fail(p, status, what);
}

postie_status_t postie_pop3_tls_done(postie_pop3_t *p, uint32_t now)
{
    if (p->phase != POSTIE_POP3_PHASE_TLS_HANDSHAKE) {
        return POSTIE_E_BAD_STATE;
    }
    /* RFC 2595 4: forget what was learned before the handshake. */
    memset(&p->caps, 0, sizeof(p->caps));
    if (p->apop_stamp[0] != '\0') {
        p->caps.flags = POSTIE_POP3_CAP_APOP;
    }
    p->info.secure = true;
    p->pipeline_limit = 1;
    postie_line_reset(&p->rx);
    log_note(p, "TLS established; asking for capabilities again");
    send_capa(p, now);
    return POSTIE_OK;
}

static postie_status_t command_check(const postie_pop3_t *p, uint32_t id, bool need_id)
{
    if (!(postie_pop3_state(p) & POSTIE_POP3_READY) || !p->logged_in) {
        return POSTIE_E_BAD_STATE;
    }
    if (need_id && (id == 0 || id > p->info.messages)) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    return POSTIE_OK;
}

postie_status_t postie_pop3_list(postie_pop3_t *p, uint32_t from_id, uint32_t want,
                                 postie_mailbox_item_fn fn, void *ctx, uint32_t now)
{
    postie_status_t st = command_check(p, 0, false);
    bool uidl = (want & POSTIE_MAIL_ITEM_UIDL) != 0;
    bool size = (want & POSTIE_MAIL_ITEM_SIZE) != 0 || !uidl;
    postie_pop3_pending_t *e;

    if (st != POSTIE_OK) {
        return st;
    }
    if (fn == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (!size) {
        e = send_simple(p, CMD_UIDL, "UIDL", false, 0, now);
    } else {
        e = send_simple(p, CMD_LIST, "LIST", false, 0, now);
    }
    if (e == NULL) {
        return p->error.status;
    }
    e->id = from_id;
    e->item_fn = fn;
    e->ctx = ctx;
    e->step = LIST_LAST;
    if (size && uidl) {
        if (p->pending_count < p->pipeline_limit) {
            /* PIPELINING: LIST and UIDL in one flight */
            e->step = LIST_UIDL_QUEUED;
            send_uidl(p, e, now);
        } else {
            e->step = LIST_UIDL_LATER;
            p->list_open = true; /* nothing may come between LIST and UIDL */
        }
    }
    return POSTIE_OK;
}

postie_status_t postie_pop3_list_range(postie_pop3_t *p, uint32_t from_id, uint32_t count,
                                       uint32_t want, postie_mailbox_item_fn fn, void *ctx,
                                       uint32_t now)
{
    postie_status_t st = command_check(p, 0, false);
    if (st != POSTIE_OK) {
        return st;
    }
    if (fn == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (count == 0) {
        return postie_pop3_list(p, from_id, want, fn, ctx, now);
    }
    if (from_id == 0) {
        from_id = 1;
    }
    if ((want & (POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL)) == 0) {
        want = POSTIE_MAIL_ITEM_SIZE;
    }
    p->ranging = true;
    p->list_open = true; /* nothing else until the range is listed */
    p->rng_uidl_next = false;
    p->rng_next = from_id;
    p->rng_end =
        count - 1u > p->info.messages - from_id ? p->info.messages : from_id + (count - 1u);
    if (from_id > p->info.messages) {
        p->rng_end = 0; /* nothing to list */
    }
    p->rng_want = want;
    p->rng_fn = fn;
    p->rng_ctx = ctx;
    range_fill(p, now);
    return POSTIE_OK;
}

postie_status_t postie_pop3_retrieve(postie_pop3_t *p, uint32_t id, uint64_t size_max,
                                     postie_mailbox_data_fn fn, void *ctx, uint32_t now)
{
    postie_status_t st = command_check(p, id, true);
    postie_pop3_pending_t *e;
    if (st != POSTIE_OK) {
        return st;
    }
    if (fn == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    e = send_simple(p, CMD_RETR, "RETR", true, id, now);
    if (e == NULL) {
        return p->error.status;
    }
    e->size_max = size_max;
    e->data_fn = fn;
    e->ctx = ctx;
    return POSTIE_OK;
}

postie_status_t postie_pop3_remove(postie_pop3_t *p, uint32_t id, uint32_t now)
{
    postie_status_t st = command_check(p, id, true);
    if (st != POSTIE_OK) {
        return st;
    }
    return send_simple(p, CMD_DELE, "DELE", true, id, now) != NULL ? POSTIE_OK : p->error.status;
}

postie_status_t postie_pop3_finish(postie_pop3_t *p, uint32_t now)
{
    if (!(postie_pop3_state(p) & POSTIE_POP3_READY)) {
        return POSTIE_E_BAD_STATE;
    }
    set_phase(p, POSTIE_POP3_PHASE_QUIT);
    return send_simple(p, CMD_QUIT, "QUIT", false, 0, now) != NULL ? POSTIE_OK : p->error.status;
}

static uint32_t response_timeout(const postie_pop3_t *p)
{
    const postie_pop3_pending_t *h = head(p);
    if (h->kind == CMD_GREETING) {
        return p->cfg.timeout_greeting_ms;
    }
    if (p->multi && h->kind != CMD_CAPA) {
        return p->cfg.timeout_data_ms;
    }
    return p->cfg.timeout_command_ms;
}

uint32_t postie_pop3_timeout_ms(const postie_pop3_t *p, uint32_t now)
{
    uint32_t limit;
    uint32_t waited;
    if (p->pending_count == 0 || p->phase == POSTIE_POP3_PHASE_FAILED ||
        p->phase == POSTIE_POP3_PHASE_CLOSED) {
        return UINT32_MAX;
    }
    limit = response_timeout(p);
    if (!head_sent(p)) {
        return limit; /* its clock starts when the command has left */
    }
    waited = now - p->wait_since;
    return waited >= limit ? 0 : limit - waited;
}

uint32_t postie_pop3_send_timeout_ms(const postie_pop3_t *p)
{
    return p->cfg.timeout_command_ms;
}

postie_status_t postie_pop3_poll(postie_pop3_t *p, uint32_t now)
{
    if (p->phase == POSTIE_POP3_PHASE_FAILED) {
        return p->error.status;
    }
    if (p->pending_count > 0 && p->tx_len == p->tx_start && postie_pop3_timeout_ms(p, now) == 0) {
        char why[64];
        postie_text_t b;
        postie_text_init_str(&b, why, sizeof(why));
        postie_text_put(&b, in_data(p) ? "no data for " : "no complete response within ");
        postie_text_put_u64(&b, response_timeout(p));
        postie_text_put(&b, " ms");
        fail(p, in_data(p) ? POSTIE_E_MESSAGE_TRUNCATED : POSTIE_E_TIMEOUT, why);
        return p->error.status;
    }
    return POSTIE_OK;
}

bool postie_pop3_next_event(postie_pop3_t *p, postie_pop3_event_t *ev)
{
    if (p->ev_count == 0) {
        ev->type = POSTIE_MAILBOX_EV_NONE;
        return false;
    }
    *ev = p->events[p->ev_head];
    p->ev_head = (uint16_t)((p->ev_head + 1) % POSTIE_POP3_EVENTS_MAX);
    p->ev_count--;
    /* Octets held back while the event ring was full can go on now. */
    if (postie_line_pending(&p->rx) != 0) {
        process_rx(p, p->wait_since);
    }
    return true;
}

const postie_pop3_caps_t *postie_pop3_caps(const postie_pop3_t *p)
{
    return &p->caps;
}

const postie_mailbox_info_t *postie_pop3_info(const postie_pop3_t *p)
{
    return &p->info;
}

const postie_error_t *postie_pop3_error(const postie_pop3_t *p)
{
    return &p->error;
}

const char *postie_pop3_alert_text(const postie_pop3_t *p)
{
    return p->alert;
}

/* ---- the mailbox ops ------------------------------------------------------------- */

static postie_status_t ops_list(void *e, uint32_t from_id, uint32_t want, postie_mailbox_item_fn fn,
                                void *ctx, uint32_t now)
{
    return postie_pop3_list(e, from_id, want, fn, ctx, now);
}

static postie_status_t ops_list_range(void *e, uint32_t from_id, uint32_t count, uint32_t want,
                                      postie_mailbox_item_fn fn, void *ctx, uint32_t now)
{
    return postie_pop3_list_range(e, from_id, count, want, fn, ctx, now);
}

static postie_status_t ops_retrieve(void *e, uint32_t id, uint64_t size_max,
                                    postie_mailbox_data_fn fn, void *ctx, uint32_t now)
{
    return postie_pop3_retrieve(e, id, size_max, fn, ctx, now);
}

static postie_status_t ops_remove(void *e, uint32_t id, uint32_t now)
{
    return postie_pop3_remove(e, id, now);
}

static postie_status_t ops_finish(void *e, uint32_t now)
{
    return postie_pop3_finish(e, now);
}

static const postie_mailbox_info_t *ops_info(const void *e)
{
    return postie_pop3_info(e);
}

static const char *ops_alert_text(const void *e)
{
    return postie_pop3_alert_text(e);
}

const postie_mailbox_ops_t postie_pop3_mailbox_ops = {
    .list = ops_list,
    .retrieve = ops_retrieve,
    .remove = ops_remove,
    .finish = ops_finish,
    .info = ops_info,
    .alert_text = ops_alert_text,
    .list_range = ops_list_range,
};
