/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch run, sans-IO. See postie/fetch/fetch.h.
 *
 * Shape: START loads the state and checks UIDVALIDITY; LIST_START lists
 * from the next id, keeping the first POSTIE_FETCH_BATCH messages; PICK
 * walks the batch, starting removes and one retrieve at a time; RETRIEVING
 * waits for the message's end, then commits, records and saves; FINISH
 * saves the state clean and sends finish; DONE. Commands whose events are
 * outstanding are always the removes first, then at most one retrieve, so
 * the event awaited next is known: REMOVED while removes are outstanding,
 * then RETRIEVED.
 */
#include "postie/fetch/fetch.h"

#include <string.h>

#include "postie/common/text.h"

void postie_fetch_options_defaults(postie_fetch_options_t *opt, postie_fetch_protocol_t protocol)
{
    memset(opt, 0, sizeof(*opt));
    opt->protocol = protocol;
    opt->delete_after_archive = true;
}

static void log_note(postie_fetch_t *f, const char *text)
{
    if (f->opt.log != NULL) {
        f->opt.log(f->opt.log_ctx, POSTIE_LOG_INFO, text, strlen(text));
    }
}

static void trace(postie_fetch_t *f, const char *event, const char *key)
{
    if (f->opt.trace != NULL) {
        f->opt.trace(f->opt.trace_ctx, event, key);
    }
}

static void progress(postie_fetch_t *f, postie_fetch_msg_event_t what,
                     const postie_mail_item_t *item)
{
    if (f->opt.progress != NULL) {
        f->opt.progress(f->opt.progress_ctx, what, item, &f->report);
    }
}

/* Record the run's first failure (later ones keep the first). */
static void set_error(postie_fetch_t *f, postie_status_t status, const char *phase,
                      const char *subject)
{
    if (f->report.status != POSTIE_OK) {
        return;
    }
    f->report.status = status;
    postie_error_clear(&f->report.error);
    f->report.error.status = status;
    f->report.error.phase = phase;
    if (subject != NULL) {
        postie_text_copy_printable(f->report.error.subject, sizeof(f->report.error.subject),
                                   subject, strlen(subject));
    }
}

/* A failure of the sink or the store (or a contract breach): stop starting
 * work, drain, finish the session (earlier deletes become final). */
static void local_fail(postie_fetch_t *f, postie_status_t status, const char *phase,
                       const char *subject)
{
    set_error(f, status, phase, subject);
    f->local_failed = true;
    if (f->state != POSTIE_FETCH_ST_DONE && f->state != POSTIE_FETCH_ST_FINISHING) {
        f->state = POSTIE_FETCH_ST_FINISH;
    }
}

static void sink_abort(postie_fetch_t *f)
{
    if (f->sink_open) {
        f->sink.ops->abort(f->sink.ctx);
        f->sink_open = false;
    }
}

static postie_status_t save_state(postie_fetch_t *f)
{
    postie_status_t rc;
    if (f->no_save) {
        return POSTIE_E_FETCH_STATE;
    }
    rc = f->store.ops->save(f->store.ctx, &f->st);
    if (rc == POSTIE_OK) {
        f->state_dirty = false;
    }
    return rc;
}

postie_status_t postie_fetch_key(postie_fetch_protocol_t protocol, const char *prefix,
                                 uint32_t uidvalidity, const postie_mail_item_t *item, char *out,
                                 size_t cap)
{
    postie_text_t t;
    postie_text_init_str(&t, out, cap);
    if (prefix != NULL) {
        postie_text_put(&t, prefix);
    }
    if (protocol == POSTIE_FETCH_IMAP) {
        postie_text_put(&t, "imap-");
        postie_text_put_u64(&t, uidvalidity);
        postie_text_put_char(&t, '-');
        postie_text_put_u64(&t, item->id);
    } else {
        if ((item->have & POSTIE_MAIL_ITEM_UIDL) == 0 || item->uidl[0] == '\0') {
            return POSTIE_E_INVALID_ARGUMENT;
        }
        postie_text_put(&t, "pop3-");
        postie_text_put(&t, item->uidl);
    }
    return t.overflow ? POSTIE_E_NO_SPACE : POSTIE_OK;
}

postie_status_t postie_fetch_init(postie_fetch_t *f, const postie_fetch_options_t *opt,
                                  const postie_mailbox_ops_t *mb, void *engine,
                                  const postie_fetch_store_t *store, const postie_archive_t *sink)
{
    const char *prefix = opt->key_prefix != NULL ? opt->key_prefix : "";
    size_t plen = strlen(prefix);

    memset(f, 0, sizeof(*f));
    f->opt = *opt;
    f->mb = mb;
    f->engine = engine;
    f->store = *store;
    f->sink = *sink;
    f->state = POSTIE_FETCH_ST_START;
    f->report.status = POSTIE_OK;
    postie_error_clear(&f->report.error);
    postie_fetch_state_init(&f->st, opt->protocol);
    if (opt->protocol != POSTIE_FETCH_POP3 && opt->protocol != POSTIE_FETCH_IMAP) {
        set_error(f, POSTIE_E_INVALID_ARGUMENT, "fetch options", "protocol");
        f->state = POSTIE_FETCH_ST_DONE;
        return POSTIE_E_INVALID_ARGUMENT;
    }
    bool printable = true;
    for (size_t i = 0; i < plen && printable; i++) {
        printable = (uint8_t)prefix[i] >= 0x21u && (uint8_t)prefix[i] <= 0x7Eu;
    }
    if (!printable || plen > POSTIE_FETCH_KEY_PREFIX_MAX) {
        set_error(f, POSTIE_E_INVALID_ARGUMENT, "fetch options", "key_prefix");
        f->state = POSTIE_FETCH_ST_DONE;
        return POSTIE_E_INVALID_ARGUMENT;
    }
    memcpy(f->prefix, prefix, plen);
    f->prefix[plen] = '\0';
    return POSTIE_OK;
}

/* ---- the listing ------------------------------------------------------------- */

/* The batch slot of id, or where it goes (ids ascending). */
static size_t slot_find(const postie_fetch_t *f, uint32_t id, bool *found)
{
    size_t lo = 0;
    size_t hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (f->batch[mid].item.id < id) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    *found = lo < f->n && f->batch[lo].item.id == id;
    return lo;
}

static postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
{
    postie_fetch_t *f = ctx;
    bool found;
    size_t at;

    if (item->id < f->from || item->id == 0) {
        return POSTIE_OK; /* not asked for */
    }
    if (f->opt.protocol == POSTIE_FETCH_IMAP) {
        if (f->round == 0) {
            postie_fetch_state_mark_uid(&f->st, item->id);
        }
        if (f->first_new == 0 && !postie_fetch_state_has_uid(&f->st, item->id)) {
            f->first_new = item->id;
        }
    } else if ((item->have & POSTIE_MAIL_ITEM_UIDL) != 0 && f->round == 0) {
        postie_fetch_state_mark_uidl(&f->st, item->uidl);
    }
    if (item->id > f->last_listed) {
        f->last_listed = item->id;
    }
    if (item->id > f->listed_top) {
        f->listed_top = item->id;
        f->report.listed++;
    }
    at = slot_find(f, item->id, &found);
    if (!found) {
        if (at < f->n || f->n >= POSTIE_FETCH_BATCH) {
            f->more = f->more || at >= f->n;
            if (at >= f->n) {
                return POSTIE_OK; /* past the batch: a later round */
            }
            /* an id below the batch's last, not seen before: keep order */
            if (f->n >= POSTIE_FETCH_BATCH) {
                f->more = true;
                f->n--; /* the batch's last goes to a later round */
            }
            memmove(&f->batch[at + 1u], &f->batch[at], (f->n - at) * sizeof(f->batch[0]));
        }
        memset(&f->batch[at], 0, sizeof(f->batch[at]));
        f->batch[at].item.id = item->id;
        f->n++;
    }
    if ((item->have & POSTIE_MAIL_ITEM_SIZE) != 0) {
        f->batch[at].item.size = item->size;
        f->batch[at].item.have |= POSTIE_MAIL_ITEM_SIZE;
    }
    if ((item->have & POSTIE_MAIL_ITEM_UIDL) != 0) {
        memcpy(f->batch[at].item.uidl, item->uidl, sizeof(item->uidl));
        f->batch[at].item.uidl[POSTIE_MAILBOX_UIDL_MAX] = '\0';
        f->batch[at].item.have |= POSTIE_MAIL_ITEM_UIDL;
    }
    return POSTIE_OK;
}

static void on_listed(postie_fetch_t *f)
{
    if (f->round == 0) {
        size_t dropped =
            postie_fetch_state_sweep(&f->st, f->opt.protocol == POSTIE_FETCH_IMAP ? f->from : 0u);
        f->report.dropped += (uint32_t)dropped;
        f->state_dirty = f->state_dirty || dropped > 0;
        if (f->opt.protocol == POSTIE_FETCH_IMAP) {
            uint32_t w = f->st.watermark;
            /* every UID below the first unrecorded one is archived or gone */
            uint32_t top = f->first_new != 0 ? f->first_new - 1u : f->last_listed;
            postie_fetch_state_raise_watermark(&f->st, top);
            f->state_dirty = f->state_dirty || f->st.watermark != w;
        }
        f->chain = true;
    }
    f->round++;
    f->next = 0;
    f->state = POSTIE_FETCH_ST_PICK;
}

/* ---- the data ---------------------------------------------------------------- */

static postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
{
    postie_fetch_t *f = ctx;
    postie_status_t rc;
    if (!f->sink_open) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    rc = f->sink.ops->write(f->sink.ctx, data, len);
    if (rc != POSTIE_OK) {
        f->local_failed = true;
        set_error(f, rc, "storing the message", f->key);
        return rc;
    }
    f->got += len;
    return POSTIE_OK;
}

/* ---- per message ------------------------------------------------------------- */

static bool stop_requested(postie_fetch_t *f)
{
    return f->opt.stop != NULL && f->opt.stop(f->opt.stop_ctx);
}

/* Whether the state can record item (checked before it is archived: a
 * message committed must be recordable). */
static bool state_has_room(const postie_fetch_t *f, const postie_mail_item_t *item)
{
    if (f->opt.protocol == POSTIE_FETCH_IMAP) {
        return f->chain || f->st.count < POSTIE_FETCH_UIDS_MAX;
    }
    return f->st.count < POSTIE_FETCH_UIDLS_MAX &&
           strlen(item->uidl) + 1u <= sizeof(f->st.arena) - f->st.arena_used;
}

static bool recorded(const postie_fetch_t *f, const postie_mail_item_t *item)
{
    if (f->opt.protocol == POSTIE_FETCH_IMAP) {
        return postie_fetch_state_has_uid(&f->st, item->id);
    }
    return postie_fetch_state_has_uidl(&f->st, item->uidl);
}

/* Record item in the state and save it. */
static postie_status_t record(postie_fetch_t *f, const postie_mail_item_t *item)
{
    postie_status_t rc;
    if (f->opt.protocol == POSTIE_FETCH_IMAP) {
        rc = postie_fetch_state_add_uid(&f->st, item->id, f->chain);
    } else {
        rc = postie_fetch_state_add_uidl(&f->st, item->uidl);
    }
    if (rc != POSTIE_OK) {
        local_fail(f, POSTIE_E_FETCH_STATE, "recording the message", f->key);
        return rc;
    }
    f->state_dirty = true;
    rc = save_state(f);
    if (rc != POSTIE_OK) {
        local_fail(f, POSTIE_E_FETCH_STATE, "saving the fetch state", f->key);
        return rc;
    }
    trace(f, "recorded", f->key);
    return POSTIE_OK;
}

/* The event the oldest outstanding command completes with. */
static postie_fetch_action_t wait_oldest(postie_fetch_t *f)
{
    postie_fetch_action_t act = {POSTIE_FETCH_WAIT, 0, POSTIE_OK};
    if (f->removes > 0) {
        act.event = POSTIE_MAILBOX_EV_REMOVED;
    } else if (f->retrieves > 0) {
        act.event = POSTIE_MAILBOX_EV_RETRIEVED;
    } else if (f->state == POSTIE_FETCH_ST_LISTING) {
        act.event = POSTIE_MAILBOX_EV_LISTED;
    } else {
        act.event = POSTIE_MAILBOX_EV_CLOSED;
    }
    return act;
}

/* Start the remove of batch slot i: POSTIE_OK started, POSTIE_E_AGAIN the
 * engine is busy (wait for an outstanding command), else a failure. */
static postie_status_t start_remove(postie_fetch_t *f, size_t i, uint32_t now)
{
    postie_status_t rc = f->mb->remove(f->engine, f->batch[i].item.id, now);
    if (rc == POSTIE_E_BAD_STATE && (f->removes > 0 || f->retrieves > 0)) {
        return POSTIE_E_AGAIN;
    }
    if (rc != POSTIE_OK) {
        local_fail(f, rc, "starting a remove", f->key);
        return rc;
    }
    f->rm_ring[(f->rm_head + f->removes) % POSTIE_FETCH_BATCH] = (uint16_t)i;
    f->removes++;
    trace(f, "remove", f->key);
    return POSTIE_OK;
}

/* The already-archived path: count, move the IMAP watermark, remove in
 * delete mode. Returns false when the engine is busy (try again). */
static bool handle_recorded(postie_fetch_t *f, size_t i, bool counted, uint32_t now)
{
    postie_fetch_slot_t *s = &f->batch[i];
    if (!counted) {
        f->report.already++;
        progress(f, POSTIE_FETCH_MSG_ALREADY, &s->item);
        s->flags = 1;
    }
    if (f->opt.protocol == POSTIE_FETCH_IMAP && f->chain) {
        uint32_t w = f->st.watermark;
        postie_fetch_state_raise_watermark(&f->st, s->item.id);
        f->state_dirty = f->state_dirty || f->st.watermark != w;
    }
    if (f->opt.delete_after_archive) {
        postie_status_t rc = start_remove(f, i, now);
        if (rc == POSTIE_E_AGAIN) {
            return false;
        }
    }
    return true;
}

/* Look at the next batch message and start what it needs. Returns true
 * when the run should be asked again at once, false to wait. */
static bool pick(postie_fetch_t *f, uint32_t now)
{
    postie_fetch_slot_t *s;
    postie_mail_item_t *item;
    postie_status_t rc;
    bool found = false;

    if (f->remove_due) {
        if (start_remove(f, f->cur, now) == POSTIE_E_AGAIN) {
            return false;
        }
        f->remove_due = false;
        return true;
    }
    if (f->next >= f->n) {
        if (f->removes > 0) {
            return false; /* a listing runs alone */
        }
        if (f->more) {
            f->from = f->batch[f->n - 1u].item.id + 1u;
            f->state = POSTIE_FETCH_ST_LIST_START;
        } else {
            f->complete = true;
            f->state = POSTIE_FETCH_ST_FINISH;
        }
        return true;
    }
    if (stop_requested(f)) {
        f->report.stopped = true;
        f->state = POSTIE_FETCH_ST_FINISH;
        return true;
    }
    s = &f->batch[f->next];
    item = &s->item;
    if (f->opt.protocol == POSTIE_FETCH_POP3 && (item->have & POSTIE_MAIL_ITEM_UIDL) == 0) {
        local_fail(f, POSTIE_E_REPLY_MALFORMED, "listing", "a message without a UIDL");
        return true;
    }
    if (postie_fetch_key(f->opt.protocol, f->prefix, f->st.uidvalidity, item, f->key,
                         sizeof(f->key)) != POSTIE_OK) {
        local_fail(f, POSTIE_E_FIELD_TOO_LONG, "archive key", item->uidl);
        return true;
    }
    if (recorded(f, item)) {
        if (!handle_recorded(f, f->next, s->flags != 0, now)) {
            return false;
        }
        f->next++;
        return true;
    }
    if (f->opt.size_max != 0 && (item->have & POSTIE_MAIL_ITEM_SIZE) != 0 &&
        item->size > f->opt.size_max) {
        f->report.too_large++;
        f->chain = false;
        progress(f, POSTIE_FETCH_MSG_TOO_LARGE, item);
        f->next++;
        return true;
    }
    if (!state_has_room(f, item)) {
        if (f->opt.delete_after_archive && f->report.deleted + f->removes > 0) {
            /* entries of messages removed in this session: once finish
             * makes that final, the next session's listing drops them
             * (each such session removes at least one message, so asking
             * for another always makes progress) */
            f->report.again = true;
            f->state = POSTIE_FETCH_ST_FINISH;
            return true;
        }
        local_fail(f, POSTIE_E_FETCH_STATE,
                   "fetch state full (POSTIE_FETCH_UIDS_MAX, "
                   "POSTIE_FETCH_UIDLS_MAX, POSTIE_FETCH_UIDL_ARENA)",
                   f->key);
        return true;
    }
    if (f->check_sink && f->sink.ops->contains != NULL) {
        rc = f->sink.ops->contains(f->sink.ctx, f->key, &found);
        if (rc != POSTIE_OK) {
            local_fail(f, rc, "asking the archive", f->key);
            return true;
        }
        if (found) {
            if (record(f, item) != POSTIE_OK) {
                return true;
            }
            if (!handle_recorded(f, f->next, false, now)) {
                return false;
            }
            f->next++;
            return true;
        }
    }
    if (!f->saved_dirty) {
        /* from here on the archive may hold what the state does not */
        f->st.clean = false;
        rc = save_state(f);
        if (rc != POSTIE_OK) {
            local_fail(f, POSTIE_E_FETCH_STATE, "saving the fetch state", f->key);
            return true;
        }
        f->saved_dirty = true;
    }
    rc = f->mb->retrieve(f->engine, item->id, f->opt.size_max, on_data, f, now);
    if (rc == POSTIE_E_BAD_STATE && f->removes > 0) {
        return false; /* wait for a remove, then try again */
    }
    if (rc != POSTIE_OK) {
        local_fail(f, rc, "starting a retrieve", f->key);
        return true;
    }
    f->retrieves = 1;
    f->cur = f->next;
    f->got = 0;
    f->state = POSTIE_FETCH_ST_RETRIEVING;
    progress(f, POSTIE_FETCH_MSG_RETRIEVING, item);
    rc = f->sink.ops->begin(f->sink.ctx, f->key, item->size);
    if (rc != POSTIE_OK) {
        /* the retrieve is on its way; on_data refuses its data, which ends
         * the session: nothing is stored, nothing removed */
        local_fail(f, rc, "starting a message in the archive", f->key);
        return false;
    }
    f->sink_open = true;
    trace(f, "begin", f->key);
    return false;
}

static void on_retrieved(postie_fetch_t *f)
{
    postie_fetch_slot_t *s = &f->batch[f->cur];
    postie_status_t rc;

    f->retrieves = 0;
    if (f->state != POSTIE_FETCH_ST_RETRIEVING || !f->sink_open) {
        sink_abort(f);
        if (f->state == POSTIE_FETCH_ST_RETRIEVING) {
            f->state = POSTIE_FETCH_ST_FINISH;
        }
        return;
    }
    rc = f->sink.ops->commit(f->sink.ctx);
    if (rc != POSTIE_OK) {
        sink_abort(f);
        local_fail(f, rc, "committing the message to the archive", f->key);
        return;
    }
    f->sink_open = false;
    trace(f, "committed", f->key);
    if (record(f, &s->item) != POSTIE_OK) {
        return;
    }
    f->report.archived++;
    f->report.octets += f->got;
    progress(f, POSTIE_FETCH_MSG_ARCHIVED, &s->item);
    s->flags = 1;
    f->next = f->cur + 1u;
    f->state = POSTIE_FETCH_ST_PICK;
    f->remove_due = f->opt.delete_after_archive;
}

static void on_removed(postie_fetch_t *f)
{
    size_t i;
    if (f->removes == 0) {
        return;
    }
    i = f->rm_ring[f->rm_head];
    f->rm_head = (f->rm_head + 1u) % POSTIE_FETCH_BATCH;
    f->removes--;
    f->report.deleted++;
    if (f->opt.trace != NULL) {
        char key[POSTIE_ARCHIVE_KEY_MAX];
        if (postie_fetch_key(f->opt.protocol, f->prefix, f->st.uidvalidity, &f->batch[i].item, key,
                             sizeof(key)) == POSTIE_OK) {
            trace(f, "removed", key);
        }
    }
    progress(f, POSTIE_FETCH_MSG_DELETED, &f->batch[i].item);
}

/* ---- the run ----------------------------------------------------------------- */

static void start(postie_fetch_t *f)
{
    postie_status_t rc = f->store.ops->load(f->store.ctx, &f->st);
    if (rc == POSTIE_E_NOT_FOUND) {
        postie_fetch_state_init(&f->st, f->opt.protocol);
        f->check_sink = true; /* an archive may hold what no state recorded */
        f->state_dirty = true;
    } else if (rc != POSTIE_OK) {
        f->no_save = true;
        local_fail(f, POSTIE_E_FETCH_STATE, "reading the fetch state", NULL);
        return;
    } else if (f->st.protocol != f->opt.protocol) {
        f->no_save = true;
        local_fail(f, POSTIE_E_FETCH_STATE, "reading the fetch state",
                   f->st.protocol == POSTIE_FETCH_IMAP ? "the state is for IMAP"
                                                       : "the state is for POP3");
        return;
    } else {
        f->check_sink = !f->st.clean;
    }
    if (f->opt.protocol == POSTIE_FETCH_IMAP) {
        uint32_t uv = f->mb->info(f->engine)->uidvalidity;
        f->report.uidvalidity = uv;
        if (uv == 0) {
            local_fail(f, POSTIE_E_REPLY_MALFORMED, "SELECT", "no UIDVALIDITY");
            return;
        }
        if (f->st.uidvalidity == 0) {
            f->st.uidvalidity = uv;
            f->state_dirty = true;
        } else if (f->st.uidvalidity != uv) {
            char note[120];
            postie_text_t t;
            postie_text_init_str(&t, note, sizeof(note));
            postie_text_put(&t, "UIDVALIDITY changed from ");
            postie_text_put_u64(&t, f->st.uidvalidity);
            postie_text_put(&t, " to ");
            postie_text_put_u64(&t, uv);
            postie_text_put(&t, ": the old fetch state is set aside and every message in the "
                                "folder is archived again");
            log_note(f, note);
            f->report.uidvalidity_changed = true;
            f->report.old_uidvalidity = f->st.uidvalidity;
            if (f->store.ops->set_aside != NULL &&
                f->store.ops->set_aside(f->store.ctx, &f->st) != POSTIE_OK) {
                local_fail(f, POSTIE_E_FETCH_STATE, "setting the old fetch state aside", NULL);
                return;
            }
            postie_fetch_state_init(&f->st, POSTIE_FETCH_IMAP);
            f->st.uidvalidity = uv;
            f->check_sink = false; /* keys carry the new UIDVALIDITY: none is stored yet */
            f->state_dirty = true;
        }
        /* keep mode: what is at or below the watermark is archived and
         * stays: list above it. Delete mode lists the whole folder (it only
         * holds what is not archived yet, and what was archived but whose
         * remove was lost, which must be removed now). */
        f->from = f->opt.delete_after_archive ? 1u : f->st.watermark + 1u;
    } else {
        f->from = 1;
    }
    f->state = POSTIE_FETCH_ST_LIST_START;
}

static bool list_start(postie_fetch_t *f, uint32_t now)
{
    uint32_t want = POSTIE_MAIL_ITEM_SIZE;
    postie_status_t rc;

    if (f->round > 0 && stop_requested(f)) {
        f->report.stopped = true;
        f->state = POSTIE_FETCH_ST_FINISH;
        return true;
    }
    if (f->round == 0) {
        postie_fetch_state_mark_begin(&f->st);
    }
    f->n = 0;
    f->next = 0;
    f->more = false;
    f->first_new = 0;
    f->last_listed = f->from > 0 ? f->from - 1u : 0;
    if (f->opt.protocol == POSTIE_FETCH_POP3) {
        want |= POSTIE_MAIL_ITEM_UIDL;
        if (f->from > f->mb->info(f->engine)->messages) {
            /* nothing (more) to list: an empty maildrop is a complete listing */
            f->state = POSTIE_FETCH_ST_LISTING;
            on_listed(f);
            return true;
        }
    } else if (f->from == 0) {
        f->complete = true; /* the watermark is at the last possible UID */
        f->state = POSTIE_FETCH_ST_FINISH;
        return true;
    }
    rc = f->mb->list(f->engine, f->from, want, on_item, f, now);
    if (rc != POSTIE_OK) {
        local_fail(f, rc, "starting a listing", NULL);
        return true;
    }
    f->state = POSTIE_FETCH_ST_LISTING;
    return false;
}

static bool finish(postie_fetch_t *f, uint32_t now)
{
    postie_status_t rc;
    if (f->removes > 0 || f->retrieves > 0) {
        return false;
    }
    if (!f->no_save) {
        bool clean = !f->local_failed && (f->complete || !f->check_sink);
        if (f->st.clean != clean) {
            f->st.clean = clean;
            f->state_dirty = true;
        }
        if (f->state_dirty && save_state(f) != POSTIE_OK) {
            set_error(f, POSTIE_E_FETCH_STATE, "saving the fetch state", NULL);
        }
    }
    rc = f->mb->finish(f->engine, now);
    if (rc != POSTIE_OK) {
        set_error(f, rc, "finishing the session", NULL);
        f->state = POSTIE_FETCH_ST_DONE;
        return true;
    }
    trace(f, "finish", "");
    f->finish_started = true;
    f->state = POSTIE_FETCH_ST_FINISHING;
    return false;
}

postie_fetch_action_t postie_fetch_next(postie_fetch_t *f, uint32_t now)
{
    for (;;) {
        bool again;
        switch (f->state) {
        case POSTIE_FETCH_ST_START:
            start(f);
            again = true;
            break;
        case POSTIE_FETCH_ST_LIST_START:
            again = list_start(f, now);
            break;
        case POSTIE_FETCH_ST_PICK:
            again = pick(f, now);
            break;
        case POSTIE_FETCH_ST_FINISH:
            again = finish(f, now);
            break;
        case POSTIE_FETCH_ST_DONE: {
            postie_fetch_action_t done = {POSTIE_FETCH_DONE, 0, f->report.status};
            return done;
        }
        default: /* LISTING, RETRIEVING, FINISHING: an event is awaited */
            again = false;
            break;
        }
        if (!again) {
            return wait_oldest(f);
        }
    }
}

void postie_fetch_failed(postie_fetch_t *f, postie_status_t status, const postie_error_t *why)
{
    sink_abort(f);
    if (f->report.status == POSTIE_OK || f->report.status == status) {
        bool had = f->report.status == status && f->report.error.phase != NULL;
        if (why != NULL && (!had || why->phase != NULL)) {
            f->report.error = *why;
            if (f->report.error.status == POSTIE_OK) {
                f->report.error.status = status;
            }
        } else if (!had) {
            postie_error_clear(&f->report.error);
            f->report.error.status = status;
            f->report.error.phase = "mail session";
        }
        f->report.status = status;
    }
    if (f->state == POSTIE_FETCH_ST_DONE) {
        return;
    }
    f->removes = 0;
    f->retrieves = 0;
    /* what was recorded is saved; note whether the archive may hold more */
    if (!f->no_save) {
        bool clean = !f->local_failed && (f->complete || !f->check_sink);
        if (f->st.clean != clean || f->state_dirty) {
            f->st.clean = clean;
            (void)save_state(f);
        }
    }
    f->state = POSTIE_FETCH_ST_DONE;
}

void postie_fetch_event(postie_fetch_t *f, int type, postie_status_t status, uint32_t now)
{
    (void)now;
    switch (type) {
    case POSTIE_MAILBOX_EV_LISTED:
        if (f->state == POSTIE_FETCH_ST_LISTING) {
            on_listed(f);
        }
        break;
    case POSTIE_MAILBOX_EV_RETRIEVED:
        on_retrieved(f);
        break;
    case POSTIE_MAILBOX_EV_REMOVED:
        on_removed(f);
        break;
    case POSTIE_MAILBOX_EV_CLOSED:
        if (f->state == POSTIE_FETCH_ST_FINISHING) {
            f->state = POSTIE_FETCH_ST_DONE;
        }
        break;
    case POSTIE_MAILBOX_EV_ALERT:
        if (f->mb->alert_text != NULL) {
            log_note(f, f->mb->alert_text(f->engine));
        }
        break;
    case POSTIE_MAILBOX_EV_FAILED:
        postie_fetch_failed(f, status != POSTIE_OK ? status : POSTIE_E_IO, NULL);
        break;
    default:
        break;
    }
}

const postie_fetch_report_t *postie_fetch_report(const postie_fetch_t *f)
{
    return &f->report;
}

const postie_fetch_state_t *postie_fetch_state(const postie_fetch_t *f)
{
    return &f->st;
}
