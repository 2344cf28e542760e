/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A delivery run over the queue, sans-IO. See postie/queue/delivery.h.
 *
 * Shape: the first call lists the queue and scans it without claiming
 * anything, keeping the candidates in the caller's work array as pairs
 * of words: the id, then a 32-bit key of its session name (high half) and
 * the index of the first candidate with that key, its group (low half).
 * Groups are visited in the order of their first candidate, the members
 * of a group in arrival order. Each candidate is then claimed and handed
 * out. The key only orders: whether a message belongs to the session in
 * hand is decided on its name when it is claimed, so two names with the
 * same key are still two sessions (they only cost an extra connection).
 */
#include "postie/queue/delivery.h"

#include "postie/common/text.h"

#include <string.h>

/* ---- the candidate list ------------------------------------------------------ */

/* FNV-1a, 32 bits: a session name's key. */
static uint32_t name_key(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

static postie_queue_id_t cand_id(const postie_delivery_t *d, size_t i)
{
    return d->work[2u * i];
}

static uint32_t cand_group(const postie_delivery_t *d, size_t i)
{
    return (uint32_t)d->work[2u * i + 1u];
}

static uint32_t cand_key(const postie_delivery_t *d, size_t i)
{
    return (uint32_t)(d->work[2u * i + 1u] >> 32);
}

static void trace(postie_delivery_t *d, const char *event, postie_queue_id_t id)
{
    if (d->opt.trace != NULL) {
        d->opt.trace(d->opt.trace_ctx, event, id);
    }
}

/* A message is finished with (tried, skipped or found gone). */
static void progress(postie_delivery_t *d, postie_queue_id_t id, const postie_queue_outcome_t *out,
                     const char *error)
{
    d->sum.done++;
    if (d->opt.progress != NULL) {
        d->opt.progress(d->opt.progress_ctx, &d->sum, id, out, error);
    }
}

static bool wanted_session(const postie_delivery_t *d, const char *queued)
{
    if (d->opt.session == NULL) {
        return true;
    }
    if (d->opt.same_session != NULL) {
        return d->opt.same_session(d->opt.same_session_ctx, d->opt.session, queued);
    }
    return strcmp(d->opt.session, queued) == 0;
}

/* List and scan without claiming: which messages, which sessions. The
 * store lists into the upper half of the work array; candidate n is
 * written to words 2n and 2n+1, never past the id being read (n <= i <
 * cap), so the list and the candidates share the array. */
static void scan(postie_delivery_t *d)
{
    postie_queue_entry_t *e = &d->entry;
    postie_queue_id_t *listed = d->work + d->cap;
    size_t total = 0;
    postie_status_t st;

    d->n = 0;
    if (d->cap == 0) {
        return;
    }
    if (d->opt.only != 0) {
        /* one message: no scan; its state is checked when it is claimed */
        d->work[0] = d->opt.only;
        d->work[1] = 0;
        d->n = 1;
        d->sum.total = 1;
        return;
    }
    st = postie_queue_list(d->q, listed, d->cap, &total);
    if (st != POSTIE_OK) {
        d->status = st;
        return;
    }
    if (total > d->cap) {
        total = d->cap; /* the rest waits for the next run */
    }
    for (size_t i = 0; i < total; i++) {
        postie_queue_id_t id = listed[i];
        postie_error_t err;
        uint32_t key;
        size_t g;
        postie_status_t ls = postie_queue_load(d->q, id, false, e, &err);

        if (ls == POSTIE_E_QUEUE_CORRUPT) {
            (void)postie_queue_set_aside(d->q, id);
            d->sum.corrupt++;
            if (d->opt.progress != NULL) {
                d->opt.progress(d->opt.progress_ctx, &d->sum, id, NULL, err.subject);
            }
            continue;
        }
        if (ls == POSTIE_E_NOT_FOUND) {
            /* delivered, but its removal was cut short: a claimed load
             * finishes it (unless another sender holds it) */
            (void)postie_queue_load(d->q, id, true, e, &err);
            postie_queue_release(d->q, e);
            continue;
        }
        if (ls != POSTIE_OK) {
            continue;
        }
        postie_queue_release(d->q, e);
        if (e->slot.state != POSTIE_QSTATE_QUEUED ||
            (d->opt.mode == POSTIE_RUN_DUE && !postie_queue_due(e, d->scan_now))) {
            continue;
        }
        if (!wanted_session(d, e->session)) {
            continue;
        }
        key = name_key(e->session);
        for (g = 0; g < d->n && !(cand_group(d, g) == g && cand_key(d, g) == key); g++) {
        }
        d->work[2u * d->n] = id;
        d->work[2u * d->n + 1u] = ((uint64_t)key << 32) | (uint32_t)g;
        d->n++;
    }
    d->sum.total = d->n;
}

/* The next candidate: the rest of the current group, then the next group. */
static bool next_candidate(postie_delivery_t *d, size_t *j)
{
    while (d->lead < d->n) {
        while (d->next < d->n && cand_group(d, d->next) != d->lead) {
            d->next++;
        }
        if (d->next < d->n) {
            *j = d->next++;
            return true;
        }
        do {
            d->lead++;
        } while (d->lead < d->n && cand_group(d, d->lead) != d->lead);
        d->next = d->lead;
    }
    return false;
}

/* ---- sessions ---------------------------------------------------------------- */

static void set_down(postie_delivery_t *d, postie_status_t st, const postie_error_t *why,
                     const char *phase, const char *subject)
{
    if (why != NULL) {
        d->down_error = *why;
        if (d->down_error.status == POSTIE_OK) {
            d->down_error.status = st;
        }
    } else {
        postie_error_clear(&d->down_error);
        d->down_error.status = st;
        d->down_error.phase = phase;
        postie_text_copy_printable(d->down_error.subject, sizeof(d->down_error.subject), subject,
                                   strlen(subject));
    }
    d->down_status = st;
    d->session_down = true;
    d->down_retry = 0;
}

static void count(postie_delivery_t *d, const postie_queue_outcome_t *out)
{
    switch (out->state) {
    case POSTIE_QSTATE_DONE:
        d->sum.delivered++;
        break;
    case POSTIE_QSTATE_ERROR:
        d->sum.failed++;
        break;
    default:
        d->sum.retry++;
        break;
    }
}

/* ---- one message --------------------------------------------------------------- */

/* Claim message id. True when it is in hand, queued and due; otherwise it
 * is reported and let go. */
static bool claim(postie_delivery_t *d, postie_queue_id_t id)
{
    postie_queue_entry_t *e = &d->entry;
    postie_error_t err;
    postie_status_t st = postie_queue_load(d->q, id, true, e, &err);

    if (st == POSTIE_E_BUSY) {
        d->sum.busy++;
        progress(d, id, NULL, "claimed by another sender");
        return false;
    }
    if (st == POSTIE_E_NOT_FOUND) {
        progress(d, id, NULL, ""); /* delivered or deleted meanwhile */
        return false;
    }
    if (st == POSTIE_E_QUEUE_CORRUPT) {
        (void)postie_queue_set_aside(d->q, id);
        d->sum.corrupt++;
        progress(d, id, NULL, err.subject);
        return false;
    }
    if (st != POSTIE_OK) {
        progress(d, id, NULL, postie_status_str(st));
        return false;
    }
    /* the state may have moved since the scan (another run, a resend) */
    if (e->slot.state != POSTIE_QSTATE_QUEUED ||
        (d->opt.mode == POSTIE_RUN_DUE && !postie_queue_due(e, d->scan_now))) {
        postie_queue_release(d->q, e);
        progress(d, id, NULL, "");
        return false;
    }
    return true;
}

/* A message whose session failed earlier in the run: no attempt. */
static void record_untried(postie_delivery_t *d, int64_t now)
{
    postie_queue_entry_t *e = &d->entry;
    postie_queue_outcome_t out;
    postie_status_t st =
        postie_queue_record_untried(d->q, e, d->down_status, &d->down_error, now,
                                    d->down_retry != 0 ? d->down_retry : now, &out);
    trace(d, "recorded", e->id);
    postie_queue_release(d->q, e);
    if (st != POSTIE_OK) {
        progress(d, e->id, NULL, "could not record the session's failure in the queue");
        return;
    }
    count(d, &out);
    progress(d, e->id, &out, e->slot.last_error);
}

/* An attempt: the session's failure to open for this message, or the
 * driver's report of the send. Returns true when the open session must be
 * closed before anything else. */
static bool record_attempt(postie_delivery_t *d, postie_status_t status, const postie_error_t *why,
                           bool session_ended, int64_t now, uint32_t random)
{
    postie_queue_entry_t *e = &d->entry;
    postie_queue_outcome_t out;
    postie_status_t st = postie_queue_record(d->q, e, d->rcpt, status, why, now, random, &out);
    trace(d, "recorded", e->id);
    if (st != POSTIE_OK) {
        postie_queue_release(d->q, e);
        progress(d, e->id, NULL, "could not record the attempt in the queue");
        /* never send more while the queue cannot record */
        set_down(d, st, NULL, "queue", "recording an attempt");
        return true;
    }
    count(d, &out);
    postie_queue_release(d->q, e);
    if (d->session_down && d->down_retry == 0) {
        /* the rest of the session waits for its next try */
        d->down_retry = out.state == POSTIE_QSTATE_QUEUED
                            ? e->slot.next_attempt
                            : now + (int64_t)postie_queue_backoff_s(1, random);
    }
    progress(d, e->id, &out, out.state == POSTIE_QSTATE_DONE ? "" : e->slot.last_error);
    /* a session that ended (421, lost connection) reconnects for the next */
    return session_ended;
}

/* The SEND action's body: the entry's message; the read that finds its
 * end traces "data-end" before the engine can end the data. */
static postie_status_t body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    postie_delivery_t *d = ctx;
    postie_status_t st = postie_queue_body_read(&d->body, buf, cap, got);
    if (st == POSTIE_OK && *got == 0 && d->body.pos == d->entry.body_size && !d->data_end_traced) {
        d->data_end_traced = true;
        trace(d, "data-end", d->entry.id);
    }
    return st;
}

/* Close the session if one is open: true when the CLOSE action is due. */
static bool close_if_open(postie_delivery_t *d, postie_delivery_action_t *act)
{
    if (!d->open) {
        return false;
    }
    d->open = false;
    act->type = POSTIE_DELIVERY_CLOSE;
    return true;
}

/* ---- calls --------------------------------------------------------------------- */

void postie_delivery_init(postie_delivery_t *d, postie_queue_t *q,
                          const postie_delivery_options_t *opt, postie_queue_id_t *work, size_t cap,
                          int64_t now)
{
    memset(d, 0, offsetof(postie_delivery_t, entry));
    d->q = q;
    d->opt = *opt;
    d->work = work;
    d->cap = cap;
    d->scan_now = now;
    d->status = POSTIE_OK;
    d->state = POSTIE_DELIVERY_ST_SCAN;
    postie_error_clear(&d->down_error);
    postie_error_clear(&d->sent_why);
    d->entry.handle = -1;
    d->entry.claimed = false;
}

postie_delivery_action_type_t postie_delivery_next(postie_delivery_t *d, int64_t now,
                                                   uint32_t random, postie_delivery_action_t *act)
{
    postie_queue_entry_t *e = &d->entry;

    memset(act, 0, sizeof(*act));
    for (;;) {
        switch (d->state) {
        case POSTIE_DELIVERY_ST_SCAN:
            scan(d);
            d->state = POSTIE_DELIVERY_ST_PICK;
            break;

        case POSTIE_DELIVERY_ST_PICK: {
            size_t j;
            if (!next_candidate(d, &j)) {
                d->state = POSTIE_DELIVERY_ST_DONE;
                if (close_if_open(d, act)) {
                    return act->type;
                }
                break;
            }
            if (!claim(d, cand_id(d, j))) {
                break;
            }
            postie_queue_envelope(e, &d->env, d->rcpt);
            d->state = POSTIE_DELIVERY_ST_CLAIMED;
            if (strcmp(e->session, d->session) != 0) {
                /* another session: a fresh start */
                memcpy(d->session, e->session, sizeof(d->session));
                d->session_down = false;
                d->down_retry = 0;
                if (close_if_open(d, act)) {
                    return act->type;
                }
            }
            break;
        }

        case POSTIE_DELIVERY_ST_CLAIMED:
            d->untried = d->session_down; /* its session failed for an earlier message */
            if (!d->open && !d->session_down) {
                d->state = POSTIE_DELIVERY_ST_OPENING;
                break;
            }
            d->state = POSTIE_DELIVERY_ST_OPENED;
            break;

        case POSTIE_DELIVERY_ST_OPENING:
            act->type = POSTIE_DELIVERY_OPEN;
            act->id = e->id;
            act->session = e->session;
            return act->type;

        case POSTIE_DELIVERY_ST_OPENED:
            if (d->untried) {
                record_untried(d, now);
                d->state = POSTIE_DELIVERY_ST_PICK;
                break;
            }
            if (d->session_down) {
                /* opening the session for this message failed: that was its attempt */
                (void)record_attempt(d, d->down_status, &d->down_error, false, now, random);
                d->state = POSTIE_DELIVERY_ST_PICK;
                break;
            }
            trace(d, "sending", e->id);
            postie_queue_body_reader_init(&d->body, d->q, e);
            d->data_end_traced = false;
            d->state = POSTIE_DELIVERY_ST_SENDING;
            break;

        case POSTIE_DELIVERY_ST_SENDING:
            act->type = POSTIE_DELIVERY_SEND;
            act->id = e->id;
            act->envelope = &d->env;
            act->read = body_read;
            act->read_ctx = d;
            return act->type;

        case POSTIE_DELIVERY_ST_SENT:
            /* the server has answered: record it before anything else */
            d->state = POSTIE_DELIVERY_ST_PICK;
            if (record_attempt(d, d->sent_status, d->sent_has_why ? &d->sent_why : NULL,
                               d->sent_session_ended, now, random) &&
                close_if_open(d, act)) {
                return act->type;
            }
            break;

        case POSTIE_DELIVERY_ST_DONE:
        default:
            d->state = POSTIE_DELIVERY_ST_DONE;
            act->type = POSTIE_DELIVERY_DONE;
            act->status = d->status;
            return act->type;
        }
    }
}

postie_status_t postie_delivery_report_open(postie_delivery_t *d, postie_status_t status,
                                            const postie_error_t *why)
{
    if (d->state != POSTIE_DELIVERY_ST_OPENING) {
        return POSTIE_E_BAD_STATE;
    }
    if (status == POSTIE_OK) {
        d->open = true;
    } else {
        set_down(d, status, why, "session", d->entry.session);
    }
    d->state = POSTIE_DELIVERY_ST_OPENED;
    return POSTIE_OK;
}

postie_status_t postie_delivery_report_sent(postie_delivery_t *d,
                                            const postie_delivery_result_t *result)
{
    if (d->state != POSTIE_DELIVERY_ST_SENDING) {
        return POSTIE_E_BAD_STATE;
    }
    if (result->data_sent && !d->data_end_traced) {
        /* a driver that ended the data without reading to the end */
        d->data_end_traced = true;
        trace(d, "data-end", d->entry.id);
    }
    d->sent_status = result->status;
    d->sent_has_why = result->why != NULL;
    if (result->why != NULL) {
        d->sent_why = *result->why;
    }
    d->sent_session_ended = result->session_ended;
    d->state = POSTIE_DELIVERY_ST_SENT;
    return POSTIE_OK;
}

void postie_delivery_abort(postie_delivery_t *d)
{
    if (d->entry.handle >= 0) {
        postie_queue_release(d->q, &d->entry);
    }
    d->open = false;
    d->state = POSTIE_DELIVERY_ST_DONE;
}

const postie_run_summary_t *postie_delivery_summary(const postie_delivery_t *d)
{
    return &d->sum;
}
