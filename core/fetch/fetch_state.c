/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch state and its text form. See postie/fetch/fetch_state.h.
 *
 * IMAP keeps its UIDs above the watermark sorted (binary search); POP3
 * keeps its UIDLs NUL-terminated in an arena, in the order they were
 * recorded, with an offset per entry (a linear search: a few thousand
 * short strings at most).
 */
#include "postie/fetch/fetch_state.h"

#include <string.h>

#include "postie/common/text.h"

#define FORMAT_VERSION "postie-fetch-state 1"

void postie_fetch_state_init(postie_fetch_state_t *st, postie_fetch_protocol_t protocol)
{
    st->protocol = protocol;
    st->clean = false;
    st->uidvalidity = 0;
    st->watermark = 0;
    st->count = 0;
    st->arena_used = 0;
    memset(st->seen, 0, sizeof(st->seen));
}

/* ---- IMAP -------------------------------------------------------------------- */

/* The index of uid in the set, or where it would go (*found false). */
static size_t uid_find(const postie_fetch_state_t *st, uint32_t uid, bool *found)
{
    size_t lo = 0;
    size_t hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (st->uid[mid] < uid) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    *found = lo < st->count && st->uid[lo] == uid;
    return lo;
}

bool postie_fetch_state_has_uid(const postie_fetch_state_t *st, uint32_t uid)
{
    bool found;
    if (st->protocol != POSTIE_FETCH_IMAP) {
        return false;
    }
    if (uid <= st->watermark) {
        return true;
    }
    (void)uid_find(st, uid, &found);
    return found;
}

void postie_fetch_state_raise_watermark(postie_fetch_state_t *st, uint32_t uid)
{
    size_t drop = 0;
    if (st->protocol != POSTIE_FETCH_IMAP || uid <= st->watermark) {
        return;
    }
    st->watermark = uid;
    while (drop < st->count && st->uid[drop] <= uid) {
        drop++;
    }
    if (drop > 0) {
        memmove(st->uid, st->uid + drop, (st->count - drop) * sizeof(st->uid[0]));
        st->count -= drop;
    }
}

postie_status_t postie_fetch_state_add_uid(postie_fetch_state_t *st, uint32_t uid, bool chain)
{
    bool found;
    size_t at;
    if (st->protocol != POSTIE_FETCH_IMAP || uid == 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (chain) {
        postie_fetch_state_raise_watermark(st, uid);
        return POSTIE_OK;
    }
    if (uid <= st->watermark) {
        return POSTIE_OK;
    }
    at = uid_find(st, uid, &found);
    if (found) {
        return POSTIE_OK;
    }
    if (st->count >= POSTIE_FETCH_UIDS_MAX) {
        return POSTIE_E_NO_SPACE;
    }
    memmove(st->uid + at + 1u, st->uid + at, (st->count - at) * sizeof(st->uid[0]));
    st->uid[at] = uid;
    st->count++;
    return POSTIE_OK;
}

/* ---- POP3 -------------------------------------------------------------------- */

static bool uidl_valid(const char *uidl, size_t *len)
{
    size_t n = 0;
    for (; uidl[n] != '\0'; n++) {
        if ((uint8_t)uidl[n] < 0x21u || (uint8_t)uidl[n] > 0x7Eu || n >= POSTIE_MAILBOX_UIDL_MAX) {
            return false;
        }
    }
    *len = n;
    return n > 0;
}

static const char *uidl_at(const postie_fetch_state_t *st, size_t i)
{
    return st->arena + st->uidl_at[i];
}

/* The index of uidl, or st->count. */
static size_t uidl_find(const postie_fetch_state_t *st, const char *uidl)
{
    size_t i;
    for (i = 0; i < st->count; i++) {
        if (strcmp(uidl_at(st, i), uidl) == 0) {
            break;
        }
    }
    return i;
}

bool postie_fetch_state_has_uidl(const postie_fetch_state_t *st, const char *uidl)
{
    return st->protocol == POSTIE_FETCH_POP3 && uidl_find(st, uidl) < st->count;
}

postie_status_t postie_fetch_state_add_uidl(postie_fetch_state_t *st, const char *uidl)
{
    size_t len;
    if (st->protocol != POSTIE_FETCH_POP3 || !uidl_valid(uidl, &len)) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (uidl_find(st, uidl) < st->count) {
        return POSTIE_OK;
    }
    if (st->count >= POSTIE_FETCH_UIDLS_MAX || len + 1u > sizeof(st->arena) - st->arena_used) {
        return POSTIE_E_NO_SPACE;
    }
    memcpy(st->arena + st->arena_used, uidl, len + 1u);
    st->uidl_at[st->count] = (uint16_t)st->arena_used;
    st->arena_used += len + 1u;
    st->count++;
    return POSTIE_OK;
}

/* ---- listings ---------------------------------------------------------------- */

static void mark(postie_fetch_state_t *st, size_t i)
{
    st->seen[i / 8u] = (uint8_t)(st->seen[i / 8u] | (1u << (i % 8u)));
}

static bool marked(const postie_fetch_state_t *st, size_t i)
{
    return (st->seen[i / 8u] & (1u << (i % 8u))) != 0;
}

void postie_fetch_state_mark_begin(postie_fetch_state_t *st)
{
    memset(st->seen, 0, sizeof(st->seen));
}

void postie_fetch_state_mark_uid(postie_fetch_state_t *st, uint32_t uid)
{
    bool found;
    size_t at;
    if (st->protocol != POSTIE_FETCH_IMAP) {
        return;
    }
    at = uid_find(st, uid, &found);
    if (found) {
        mark(st, at);
    }
}

void postie_fetch_state_mark_uidl(postie_fetch_state_t *st, const char *uidl)
{
    size_t at;
    if (st->protocol != POSTIE_FETCH_POP3) {
        return;
    }
    at = uidl_find(st, uidl);
    if (at < st->count) {
        mark(st, at);
    }
}

size_t postie_fetch_state_sweep(postie_fetch_state_t *st, uint32_t from_uid)
{
    size_t keep = 0;
    size_t dropped = 0;
    size_t used = 0;
    for (size_t i = 0; i < st->count; i++) {
        bool stays = marked(st, i);
        if (st->protocol == POSTIE_FETCH_IMAP) {
            stays = stays || st->uid[i] < from_uid;
            if (stays) {
                st->uid[keep++] = st->uid[i];
            } else {
                dropped++;
            }
            continue;
        }
        if (stays) {
            /* offsets only grow with i, so moving down never overwrites a
             * string not yet moved */
            const char *s = uidl_at(st, i);
            size_t len = strlen(s) + 1u;
            memmove(st->arena + used, s, len);
            st->uidl_at[keep++] = (uint16_t)used;
            used += len;
        } else {
            dropped++;
        }
    }
    if (st->protocol == POSTIE_FETCH_POP3) {
        st->arena_used = used;
    }
    st->count = keep;
    memset(st->seen, 0, sizeof(st->seen));
    return dropped;
}

/* ---- text form --------------------------------------------------------------- */

/* FNV-1a over the text before the "end" line. */
static uint32_t sum_add(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

#define SUM_INIT 2166136261u

typedef struct {
    postie_fetch_write_fn fn;
    void *ctx;
    uint32_t sum;
    postie_status_t status;
} writer_t;

static void emit(writer_t *w, const char *s, size_t n)
{
    if (w->status != POSTIE_OK || n == 0) {
        return;
    }
    w->sum = sum_add(w->sum, s, n);
    w->status = w->fn(w->ctx, s, n);
}

/* One line: name, a space and value (or just name when value is NULL). */
static void emit_line(writer_t *w, const char *name, const char *value, size_t value_len)
{
    char line[POSTIE_MAILBOX_UIDL_MAX + 32];
    postie_text_t t;
    postie_text_init(&t, line, sizeof(line));
    postie_text_put(&t, name);
    if (value != NULL) {
        postie_text_put_char(&t, ' ');
        postie_text_put_n(&t, value, value_len);
    }
    postie_text_put_char(&t, '\n');
    if (t.overflow) {
        w->status = POSTIE_E_NO_SPACE; /* cannot happen: the lines are bounded */
        return;
    }
    emit(w, line, t.len);
}

static void emit_u32(writer_t *w, const char *name, uint32_t v)
{
    char digits[POSTIE_TEXT_U64_DIGITS];
    size_t n = postie_text_format_u64(v, digits);
    emit_line(w, name, digits, n);
}

postie_status_t postie_fetch_state_format(const postie_fetch_state_t *st, postie_fetch_write_fn fn,
                                          void *ctx)
{
    writer_t w = {fn, ctx, SUM_INIT, POSTIE_OK};
    static const char hex[] = "0123456789abcdef";
    char end[48];
    postie_text_t t;

    emit_line(&w, FORMAT_VERSION, NULL, 0);
    if (st->protocol == POSTIE_FETCH_IMAP) {
        emit_line(&w, "protocol", "imap", 4);
        emit_u32(&w, "uidvalidity", st->uidvalidity);
        emit_u32(&w, "watermark", st->watermark);
    } else {
        emit_line(&w, "protocol", "pop3", 4);
    }
    emit_line(&w, "clean", st->clean ? "1" : "0", 1);
    for (size_t i = 0; i < st->count; i++) {
        if (st->protocol == POSTIE_FETCH_IMAP) {
            emit_u32(&w, "uid", st->uid[i]);
        } else {
            const char *s = uidl_at(st, i);
            emit_line(&w, "uidl", s, strlen(s));
        }
    }
    if (w.status != POSTIE_OK) {
        return w.status;
    }
    postie_text_init(&t, end, sizeof(end));
    postie_text_put(&t, "end ");
    postie_text_put_u64(&t, st->count);
    postie_text_put_char(&t, ' ');
    for (int shift = 28; shift >= 0; shift -= 4) {
        postie_text_put_char(&t, hex[(w.sum >> shift) & 0xFu]);
    }
    postie_text_put_char(&t, '\n');
    return fn(ctx, end, t.len);
}

/* ---- the parser -------------------------------------------------------------- */

#define HAVE_VERSION     0x01u
#define HAVE_PROTOCOL    0x02u
#define HAVE_UIDVALIDITY 0x04u
#define HAVE_WATERMARK   0x08u
#define HAVE_CLEAN       0x10u

void postie_fetch_state_parse_begin(postie_fetch_state_parser_t *p, postie_fetch_state_t *st)
{
    memset(p, 0, sizeof(*p));
    p->st = st;
    p->sum = SUM_INIT;
    p->status = POSTIE_OK;
    p->why = "";
    postie_fetch_state_init(st, POSTIE_FETCH_POP3);
}

static postie_status_t bad(postie_fetch_state_parser_t *p, const char *why)
{
    if (p->status == POSTIE_OK) {
        p->status = POSTIE_E_FETCH_STATE;
        p->why = why;
    }
    return p->status;
}

/* A decimal number without sign or leading zeros that fits 32 bits (max)
 * in s[0..n). */
static bool parse_u32(const char *s, size_t n, uint64_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    if (v > max) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool parse_hex32(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    if (n != 8) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t d;
        if (s[i] >= '0' && s[i] <= '9') {
            d = (uint32_t)(s[i] - '0');
        } else if (s[i] >= 'a' && s[i] <= 'f') {
            d = (uint32_t)(s[i] - 'a' + 10);
        } else {
            return false;
        }
        v = (v << 4) | d;
    }
    *out = v;
    return true;
}

/* Whether line (len octets, no newline) is "name value": *value points
 * after the space. */
static bool field(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n + 1u || memcmp(line, name, n) != 0 || line[n] != ' ') {
        return false;
    }
    *value = line + n + 1u;
    *vlen = len - n - 1u;
    return true;
}

static postie_status_t parse_end(postie_fetch_state_parser_t *p, const char *v, size_t n)
{
    const char *sp = memchr(v, ' ', n);
    uint32_t count;
    uint32_t sum;
    if (sp == NULL || !parse_u32(v, (size_t)(sp - v), UINT32_MAX, &count) ||
        !parse_hex32(sp + 1, n - (size_t)(sp - v) - 1u, &sum)) {
        return bad(p, "malformed end line");
    }
    if ((p->have & HAVE_CLEAN) == 0) {
        return bad(p, "header incomplete");
    }
    if (count != p->st->count) {
        return bad(p, "entry count disagrees with the end line");
    }
    if (sum != p->sum) {
        return bad(p, "checksum mismatch");
    }
    p->ended = true;
    return POSTIE_OK;
}

static postie_status_t parse_line(postie_fetch_state_parser_t *p, const char *line, size_t len)
{
    postie_fetch_state_t *st = p->st;
    const char *v;
    size_t n;
    uint32_t u;

    if (p->ended) {
        return bad(p, "text after the end line");
    }
    if (field(line, len, "end", &v, &n)) {
        return parse_end(p, v, n);
    }
    p->sum = sum_add(p->sum, line, len);
    p->sum = sum_add(p->sum, "\n", 1);
    if (p->have == 0) {
        if (len != strlen(FORMAT_VERSION) || memcmp(line, FORMAT_VERSION, len) != 0) {
            return bad(p, "not a fetch state (or an unknown version)");
        }
        p->have = HAVE_VERSION;
        return POSTIE_OK;
    }
    if (p->have == HAVE_VERSION) {
        if (!field(line, len, "protocol", &v, &n)) {
            return bad(p, "protocol line missing");
        }
        if (n == 4 && memcmp(v, "imap", 4) == 0) {
            postie_fetch_state_init(st, POSTIE_FETCH_IMAP);
        } else if (n == 4 && memcmp(v, "pop3", 4) == 0) {
            postie_fetch_state_init(st, POSTIE_FETCH_POP3);
        } else {
            return bad(p, "unknown protocol");
        }
        p->have |= HAVE_PROTOCOL;
        return POSTIE_OK;
    }
    if (st->protocol == POSTIE_FETCH_IMAP && (p->have & HAVE_UIDVALIDITY) == 0) {
        if (!field(line, len, "uidvalidity", &v, &n) || !parse_u32(v, n, UINT32_MAX, &u)) {
            return bad(p, "uidvalidity line missing or malformed");
        }
        st->uidvalidity = u;
        p->have |= HAVE_UIDVALIDITY;
        return POSTIE_OK;
    }
    if (st->protocol == POSTIE_FETCH_IMAP && (p->have & HAVE_WATERMARK) == 0) {
        if (!field(line, len, "watermark", &v, &n) || !parse_u32(v, n, UINT32_MAX, &u)) {
            return bad(p, "watermark line missing or malformed");
        }
        st->watermark = u;
        p->have |= HAVE_WATERMARK;
        return POSTIE_OK;
    }
    if ((p->have & HAVE_CLEAN) == 0) {
        if (!field(line, len, "clean", &v, &n) || n != 1 || (v[0] != '0' && v[0] != '1')) {
            return bad(p, "clean line missing or malformed");
        }
        st->clean = v[0] == '1';
        p->have |= HAVE_CLEAN;
        return POSTIE_OK;
    }
    if (st->protocol == POSTIE_FETCH_IMAP) {
        if (!field(line, len, "uid", &v, &n) || !parse_u32(v, n, UINT32_MAX, &u) || u == 0) {
            return bad(p, "malformed uid line");
        }
        if (u <= st->watermark || (st->count > 0 && u <= st->uid[st->count - 1u])) {
            return bad(p, "uids not ascending above the watermark");
        }
        if (st->count >= POSTIE_FETCH_UIDS_MAX) {
            return bad(p, "more uids than POSTIE_FETCH_UIDS_MAX");
        }
        st->uid[st->count++] = u;
        return POSTIE_OK;
    }
    {
        char uidl[POSTIE_MAILBOX_UIDL_MAX + 1];
        size_t ulen;
        if (!field(line, len, "uidl", &v, &n) || n > POSTIE_MAILBOX_UIDL_MAX) {
            return bad(p, "malformed uidl line");
        }
        memcpy(uidl, v, n);
        uidl[n] = '\0';
        if (!uidl_valid(uidl, &ulen) || ulen != n) {
            return bad(p, "malformed uidl line");
        }
        if (postie_fetch_state_has_uidl(st, uidl)) {
            return bad(p, "duplicate uidl");
        }
        if (postie_fetch_state_add_uidl(st, uidl) != POSTIE_OK) {
            return bad(p, "more uidls than POSTIE_FETCH_UIDLS_MAX / the arena holds");
        }
        return POSTIE_OK;
    }
}

postie_status_t postie_fetch_state_parse_feed(postie_fetch_state_parser_t *p, const char *data,
                                              size_t len)
{
    for (size_t i = 0; i < len && p->status == POSTIE_OK; i++) {
        char c = data[i];
        if (c == '\n') {
            p->lineno++;
            (void)parse_line(p, p->line, p->len);
            p->len = 0;
            continue;
        }
        if ((uint8_t)c < 0x20u || (uint8_t)c > 0x7Eu) {
            p->lineno++;
            return bad(p, "control or non-ASCII octet");
        }
        if (p->len >= sizeof(p->line)) {
            p->lineno++;
            return bad(p, "line too long");
        }
        p->line[p->len++] = c;
    }
    return p->status;
}

postie_status_t postie_fetch_state_parse_end(postie_fetch_state_parser_t *p)
{
    if (p->status != POSTIE_OK) {
        return p->status;
    }
    if (p->len != 0) {
        p->lineno++;
        return bad(p, "last line not terminated (truncated)");
    }
    if (!p->ended) {
        return bad(p, p->have == 0 ? "empty" : "no end line (truncated)");
    }
    return POSTIE_OK;
}

postie_status_t postie_fetch_state_parse(postie_fetch_state_t *st, const char *text, size_t len,
                                         const char **why)
{
    postie_fetch_state_parser_t p;
    postie_status_t rc;
    postie_fetch_state_parse_begin(&p, st);
    (void)postie_fetch_state_parse_feed(&p, text, len);
    rc = postie_fetch_state_parse_end(&p);
    if (why != NULL) {
        *why = p.why;
    }
    return rc;
}
