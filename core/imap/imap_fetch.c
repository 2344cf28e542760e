/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMAP engine: FETCH responses, literals and the list (see imap_internal.h
 * for how the engine's files divide the work, postie/imap/imap.h for the
 * contract).
 */
#include <string.h>

#include "postie/common/text.h"
#include "postie/imap/imap.h"

#include "imap_internal.h"

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
        postie_imapx_fail(m, st, "listing", NULL, 0, "the item callback refused the message");
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
            postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, NULL, 0,
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
void postie_imapx_search_part(postie_imap_t *m, const char *s, size_t n, bool complete)
{
    for (size_t i = 0; i < n && !m->search_stop; i++) {
        char c = s[i];
        if (postie_imapx_is_digit(c)) {
            m->search_num = m->search_num * 10u + (uint64_t)(c - '0');
            if (++m->search_digits > 10 || m->search_num > UINT32_MAX) {
                postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n,
                                       "SEARCH number out of range");
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
            postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n,
                                   "SEARCH answer holds a non-number");
            return;
        }
    }
    if (complete) {
        if (m->search_digits > 0 && !m->search_stop) {
            search_uid(m, (uint32_t)m->search_num);
        }
        m->search_num = 0;
        m->search_digits = 0;
        m->search_stop = false; /* a next SEARCH answer counts again */
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
    postie_text_t b = postie_imapx_tx_builder(m);
    postie_imap_pending_t *p;

    if (!m->list_sorted) {
        lo = m->list_min;
        hi = m->list_max;
        m->list_window = m->list_nbounds; /* one window: the last */
    } else {
        lo = m->list_window == 0 ? m->list_min : m->list_bounds[m->list_window - 1] + 1u;
        hi = m->list_window < m->list_nbounds ? m->list_bounds[m->list_window] : m->list_max;
    }
    postie_imapx_put_tag(&b, m->next_tag);
    postie_text_put(&b, "UID FETCH ");
    postie_text_put_u64(&b, lo);
    if (hi != lo) {
        postie_text_put_char(&b, ':');
        postie_text_put_u64(&b, hi);
    }
    postie_text_put(&b, " (UID RFC822.SIZE)\r\n");
    p = postie_imapx_commit_command(m, &b, CMD_FETCH_SIZES, 0, NULL, now);
    if (p != NULL) {
        p->uid = lo;
        p->uid_hi = hi;
    }
    m->list_window++;
}

/* The list is complete, or the next window goes. */
void postie_imapx_list_next(postie_imap_t *m, uint32_t now)
{
    bool more = m->list_sorted ? m->list_window <= m->list_nbounds &&
                                     (m->list_window < m->list_nbounds || m->list_nbounds == 0 ||
                                      m->list_bounds[m->list_nbounds - 1] < m->list_max)
                               : m->list_window == 0;
    if (m->list_count > 0 && (m->list_want & POSTIE_MAIL_ITEM_SIZE) && more) {
        postie_imapx_set_state(m, POSTIE_IMAP_STATE_LIST_FETCH);
        send_list_window(m, now);
        return;
    }
    m->item_fn = NULL;
    postie_imapx_set_state(m, POSTIE_IMAP_STATE_READY);
    postie_imapx_push_event(m, POSTIE_MAILBOX_EV_LISTED, 0, POSTIE_OK);
}

/* ---- literals ---------------------------------------------------------------- */

/* Does the segment end with a literal announcement "{n}" (with whole: is
 * it nothing but that)? Returns false when it does not; true with *ok
 * false when it does but the size is bad (the session has failed then). */
bool postie_imapx_literal_at_end(postie_imap_t *m, const char *s, size_t n, bool whole,
                                 uint64_t *size, bool *ok)
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
    if (open == 0 || s[open - 1] != '{' || (whole && open != 1)) {
        return false;
    }
    end = n - 1;
    if (end > open && s[end - 1] == '+') {
        end--; /* a non-synchronising form: same size */
    }
    if (end > open && s[open] == '-') {
        postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n, "negative literal size");
        return true;
    }
    for (size_t i = open; i < end; i++) {
        if (!postie_imapx_is_digit(s[i])) {
            postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n,
                                   "literal size is not a number");
            return true;
        }
    }
    if (end == open) {
        postie_imapx_fail_here(m, POSTIE_E_REPLY_MALFORMED, s, n, "literal without a size");
        return true;
    }
    if (!postie_imapx_parse_u64(s + open, end - open, size) ||
        *size > UINT64_C(0x7FFFFFFFFFFFFFFF)) {
        postie_imapx_fail_here(m, POSTIE_E_LITERAL_TOO_LARGE, s, n, "literal size overflows");
        return true;
    }
    if (*size > m->cfg.literal_max) {
        postie_imapx_fail_here(m, POSTIE_E_LITERAL_TOO_LARGE, s, n,
                               "literal larger than literal_max");
        return true;
    }
    *ok = true;
    return true;
}

void postie_imapx_start_literal(postie_imap_t *m, uint64_t size, bool body, uint32_t now)
{
    m->in_literal = size > 0;
    m->literal_body = body;
    m->literal_left = size;
    m->last_data_ms = now;
}

/* ---- FETCH responses --------------------------------------------------------- */

/* The retrieve set a BODY[] belongs to: the UID FETCH whose set still
 * awaits bodies (one at a time). 0: none; else its tag. The
 * body is the set's next message: a server answers a UID set in message
 * order, which is UID order. */
static uint32_t body_target(postie_imap_t *m)
{
    if (m->fetch_next >= m->fetch_n) {
        return 0;
    }
    for (uint16_t i = 0; i < m->pending_count; i++) {
        postie_imap_pending_t *p = postie_imapx_pending_at(m, i);
        if (p->kind == CMD_FETCH_BODY && p->step == SET_CURRENT && !p->done) {
            p->uid = m->fetch_uid[m->fetch_next]; /* errors name this message */
            return p->tag;
        }
    }
    return 0;
}

/* By tag: older commands may leave the ring while a FETCH response is read. */
postie_imap_pending_t *postie_imapx_body_pending(postie_imap_t *m)
{
    for (uint16_t i = 0; m->fx_body != 0 && i < m->pending_count; i++) {
        postie_imap_pending_t *p = postie_imapx_pending_at(m, i);
        if (p->tag == m->fx_body && p->kind == CMD_FETCH_BODY) {
            return p;
        }
    }
    return NULL;
}

/* A BODY[] whose UID came first must be the set's next message: a UID of
 * the set further on means the server skipped one (expunged meanwhile);
 * false when the session failed on it. */
static bool body_uid_ok(postie_imap_t *m, const char *s, size_t n)
{
    postie_imap_pending_t *p = postie_imapx_body_pending(m);
    postie_imap_pending_t copy;
    if (p == NULL || !(m->fx_have & FX_HAVE_UID) || m->fx_uid == m->fetch_uid[m->fetch_next]) {
        return true;
    }
    copy = *p;
    for (uint16_t i = m->fetch_next; i < m->fetch_n; i++) {
        if (m->fetch_uid[i] == m->fx_uid) {
            postie_imapx_fail_cmd(m, POSTIE_E_NOT_FOUND, &copy, s, n,
                                  "the server returned no message");
            return false;
        }
    }
    postie_imapx_fail_cmd(m, POSTIE_E_REPLY_UNEXPECTED, &copy, s, n, "BODY[] came for another UID");
    return false;
}

void postie_imapx_deliver(postie_imap_t *m, const uint8_t *data, size_t len)
{
    postie_imap_pending_t *p = postie_imapx_body_pending(m);
    postie_status_t st;
    if (len == 0 || p == NULL) {
        return;
    }
    st = m->fetch_fn(m->fetch_ctx[m->fetch_next], data, len);
    if (st != POSTIE_OK) {
        postie_imap_pending_t copy = *p;
        char subject[sizeof(m->error.subject)];
        postie_imapx_describe(m, &copy, subject, sizeof(subject));
        postie_imapx_fail(m, st, "storing the message", NULL, 0, subject);
    }
}

/* A complete FETCH response. */
static void fetch_done(postie_imap_t *m)
{
    postie_imap_pending_t *p = postie_imapx_body_pending(m);
    m->resp = RESP_NONE;
    if (p != NULL) {
        if ((m->fx_have & FX_HAVE_UID) && m->fx_uid != p->uid) {
            postie_imapx_fail_cmd(m, POSTIE_E_REPLY_MALFORMED, p, NULL, 0,
                                  "BODY[] came for another UID");
            return;
        }
        /* the message is complete: its event now, not at the tagged OK
         * (the process loop keeps room for it) */
        postie_imapx_push_event(m, POSTIE_MAILBOX_EV_RETRIEVED, p->uid, POSTIE_OK);
        m->fetch_next++;
        p->uid = 0; /* errors from here on are about the set */
        if (m->fetch_next >= m->fetch_n) {
            p->step = SET_DELIVERED; /* a next set may start; errors name the range */
            p->uid = m->fetch_uid[0];
            p->uid_hi = m->fetch_uid[m->fetch_n - 1u];
        }
        m->fx_body = 0;
        return;
    }
    if (m->state == POSTIE_IMAP_STATE_LIST_FETCH && m->item_fn != NULL &&
        (m->fx_have & (FX_HAVE_UID | FX_HAVE_SIZE)) == (FX_HAVE_UID | FX_HAVE_SIZE) &&
        m->pending_count > 0) {
        const postie_imap_pending_t *w = NULL;
        for (uint16_t i = 0; i < m->pending_count; i++) {
            if (postie_imapx_pending_at(m, i)->kind == CMD_FETCH_SIZES) {
                w = postie_imapx_pending_at(m, i);
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
void postie_imapx_fetch_segment(postie_imap_t *m, const char *s, size_t n, bool after_body,
                                uint32_t now)
{
    size_t i = 0;

    m->fx_mismatch = after_body;
    if (after_body && (n == 0 || (s[0] != ' ' && s[0] != ')'))) {
        postie_imap_pending_t *p = postie_imapx_body_pending(m);
        if (p != NULL) {
            postie_imap_pending_t copy = *p;
            postie_imapx_fail_cmd(m, POSTIE_E_SIZE_MISMATCH, &copy, s, n,
                                  "the response goes on wrongly after the announced octets");
        } else {
            postie_imapx_fail_here(m, fx_malformed(m), s, n, "bad FETCH response after a literal");
        }
        return;
    }
    while (i < n) {
        char c = s[i];
        switch (m->fx_state) {
        case FX_OPEN:
            if (c != '(') {
                postie_imapx_fail_here(m, fx_malformed(m), s, n, "FETCH without its list");
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
                postie_imapx_fail_here(m, fx_malformed(m), s, n, "FETCH item without a value");
                return;
            }
            if (postie_ascii_ieq(s + start, i - start, "UID")) {
                m->fx_item = IT_UID;
            } else if (postie_ascii_ieq(s + start, i - start, "RFC822.SIZE")) {
                m->fx_item = IT_SIZE;
            } else if (postie_ascii_ieq(s + start, i - start, "BODY[]")) {
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
                if (!postie_imapx_literal_at_end(m, s + i, n - i, true, &size, &ok)) {
                    if (m->state != POSTIE_IMAP_STATE_FAILED) {
                        postie_imapx_fail_here(m, fx_malformed(m), s, n,
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
                    p = postie_imapx_body_pending(m);
                    if (p == NULL) {
                        postie_imapx_fail_here(m, POSTIE_E_REPLY_UNEXPECTED, s, n,
                                               "BODY[] nobody asked for");
                        return;
                    }
                    if (!body_uid_ok(m, s, n)) {
                        return;
                    }
                    if (m->fetch_size_max != 0 && size > m->fetch_size_max) {
                        postie_imap_pending_t copy = *p;
                        postie_imapx_fail_cmd(m, POSTIE_E_MESSAGE_TOO_LARGE, &copy, s, n,
                                              "the message is larger than size_max");
                        return;
                    }
                    m->fx_after_body = true;
                    postie_imapx_start_literal(m, size, true, now);
                } else {
                    postie_imapx_start_literal(m, size, false, now);
                }
                return;
            }
            if (c == '"') {
                size_t j = i + 1;
                bool body = m->fx_item == IT_BODY;
                if (body) {
                    m->fx_body = body_target(m);
                    if (postie_imapx_body_pending(m) == NULL) {
                        postie_imapx_fail_here(m, POSTIE_E_REPLY_UNEXPECTED, s, n,
                                               "BODY[] nobody asked for");
                        return;
                    }
                    if (!body_uid_ok(m, s, n)) {
                        return;
                    }
                }
                while (j < n && s[j] != '"') {
                    size_t run_start = j;
                    while (j < n && s[j] != '"' && s[j] != '\\') {
                        j++; /* a run without escapes goes in one call */
                    }
                    if (body) {
                        postie_imapx_deliver(m, (const uint8_t *)s + run_start, j - run_start);
                    }
                    if (j < n && s[j] == '\\') {
                        if (j + 1 >= n) {
                            j = n; /* a lone backslash at the end: unterminated */
                            break;
                        }
                        if (body) {
                            postie_imapx_deliver(m, (const uint8_t *)s + j + 1, 1);
                        }
                        j += 2;
                    }
                    if (m->state == POSTIE_IMAP_STATE_FAILED) {
                        return;
                    }
                }
                if (j >= n) {
                    postie_imapx_fail_here(m, fx_malformed(m), s, n, "unterminated quoted string");
                    return;
                }
                i = j + 1;
                m->fx_state = FX_NAME;
                break;
            }
            if (c == '(') {
                if (m->fx_item != IT_OTHER) {
                    postie_imapx_fail_here(m, fx_malformed(m), s, n, "FETCH item with a bad value");
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
                    if (!postie_imapx_parse_u32(s + start, i - start, true, &m->fx_uid)) {
                        postie_imapx_fail_here(m, fx_malformed(m), s, n, "bad UID in FETCH");
                        return;
                    }
                    m->fx_have |= FX_HAVE_UID;
                } else if (m->fx_item == IT_SIZE) {
                    if (!postie_imapx_parse_u64(s + start, i - start, &m->fx_size)) {
                        postie_imapx_fail_here(m, fx_malformed(m), s, n,
                                               "bad RFC822.SIZE in FETCH");
                        return;
                    }
                    m->fx_have |= FX_HAVE_SIZE;
                } else if (m->fx_item == IT_BODY) {
                    m->fx_body = body_target(m);
                    if (postie_imapx_body_pending(m) != NULL) {
                        postie_imap_pending_t copy = *postie_imapx_body_pending(m);
                        postie_imapx_fail_cmd(m, POSTIE_E_NOT_FOUND, &copy, s, n,
                                              "the server gave no message (NIL)");
                    } else {
                        postie_imapx_fail_here(m, fx_malformed(m), s, n, "bad BODY[] in FETCH");
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
                    postie_imapx_fail_here(m, fx_malformed(m), s, n, "unterminated quoted string");
                    return;
                }
                i = j;
            } else if (c == '{') {
                uint64_t size = 0;
                bool ok = false;
                if (postie_imapx_literal_at_end(m, s + i, n - i, true, &size, &ok)) {
                    if (ok) {
                        m->resp = RESP_FETCH;
                        postie_imapx_start_literal(m, size, false, now);
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
            postie_imapx_fail_here(m, fx_malformed(m), s, n, "text after the FETCH list");
            return;
        }
    }
    if (m->fx_state == FX_END) {
        fetch_done(m);
        return;
    }
    postie_imapx_fail_here(m, fx_malformed(m), s, n, "FETCH response ends inside its list");
}
