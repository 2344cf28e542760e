/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch run, sans-IO. See postie/fetch/fetch.h.
 *
 * Shape: START loads the state and checks UIDVALIDITY; LIST_START lists
 * from the next id, keeping the first batch_max messages; PICK
 * works the batch in three phases: picking (look at each message, start
 * its retrieve as long as the engine takes more: retrieve ahead), commit
 * (once the retrieves are in: one sink flush, every message recorded, one
 * state save: the group commit) and remove (the batch's removes, as many
 * in one flight as the engine takes); FINISH saves the state clean and
 * sends finish; DONE. Commands whose events are outstanding are always the
 * removes first, then the retrieves, so the event awaited next is known:
 * REMOVED while removes are outstanding, then RETRIEVED.
 *
 * Retrieving ahead: the data of retrieve k+1 may arrive (inside the same
 * rx_ack) before the run took the RETRIEVED event of retrieve k. Each
 * retrieve's data callback context is its batch slot, so the data say
 * whose they are: when message k+1's first octets come, every message
 * before it is complete and is committed then (sink_advance).
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

/* Drop the message in progress and the commits not flushed (never
 * recorded: a later run archives them again). */
static void sink_abort(postie_fetch_t *f)
{
    if (f->sink_open || f->unflushed > 0) {
        f->sink.ops->abort(f->sink.ctx);
        f->sink_open = false;
        f->unflushed = 0;
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
    f->batch_max = opt->batch == 0 || opt->batch > POSTIE_FETCH_BATCH ? POSTIE_FETCH_BATCH
                                                                      : (size_t)opt->batch;
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
        if (at < f->n || f->n >= f->batch_max) {
            f->more = f->more || at >= f->n;
            if (at >= f->n) {
                return POSTIE_OK; /* past the batch: a later round */
            }
            /* an id below the batch's last, not seen before: keep order */
            if (f->n >= f->batch_max) {
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

/* Slot flags. */
#define SLOT_COUNTED 0x01u /* counted in the report (already) */
#define SLOT_RETR    0x02u /* retrieve started: stored at its event, recorded at the commit */
#define SLOT_STORED  0x04u /* committed to the sink */
#define SLOT_RECORD  0x08u /* record at the group commit (found in the sink, or stored) */
#define SLOT_ALREADY 0x10u /* recorded before: move the IMAP watermark at the commit */
#define SLOT_CHAIN   0x20u /* IMAP: the chain held when it was picked */
#define SLOT_REMOVE  0x40u /* remove after the group commit */

/* Batch phases (f->phase). */
#define PHASE_PICK   0u /* look at messages, start retrieves ahead */
#define PHASE_COMMIT 1u /* await the retrieves, flush, record and save once */
#define PHASE_REMOVE 2u /* start the removes of the batch */

static bool stop_requested(postie_fetch_t *f);

/* Commands of one kind in flight: as many as the engine takes. A POP3
 * server answers in order (the engine's pipeline depth bounds them). The
 * IMAP engine puts the retrieves started one after the other into one
 * UID FETCH over a UID set (and the removes into one UID STORE, then one
 * UID EXPUNGE), and refuses another while a set is out: RFC 9051 (5.5)
 * lets a server run pipelined commands concurrently, and Dovecot does
 * (several UID FETCH in flight came back out of order; several UID STORE /
 * UID EXPUNGE pairs left messages flagged \Deleted and not expunged),
 * while the answer to one UID set comes in one ordered stream. */
static size_t in_flight_max(const postie_fetch_t *f)
{
    return f->batch_max;
}

static size_t slot_index(const postie_fetch_t *f, const postie_fetch_slot_t *s)
{
    return (size_t)(s - f->batch);
}

static postie_status_t slot_key(const postie_fetch_t *f, size_t i, char *out, size_t cap)
{
    return postie_fetch_key(f->opt.protocol, f->prefix, f->st.uidvalidity, &f->batch[i].item, out,
                            cap);
}

/* Commit the message open in the sink. */
static postie_status_t sink_commit(postie_fetch_t *f)
{
    size_t i = f->sink_slot;
    char key[POSTIE_ARCHIVE_KEY_MAX];
    postie_status_t rc = f->sink.ops->commit(f->sink.ctx);
    (void)slot_key(f, i, key, sizeof(key));
    if (rc != POSTIE_OK) {
        sink_abort(f);
        local_fail(f, rc, "committing the message to the archive", key);
        return rc;
    }
    f->sink_open = false;
    f->unflushed++;
    f->batch[i].flags |= SLOT_STORED | SLOT_RECORD;
    trace(f, "committed", key);
    return POSTIE_OK;
}

static postie_status_t sink_begin(postie_fetch_t *f, size_t i)
{
    char key[POSTIE_ARCHIVE_KEY_MAX];
    postie_status_t rc;
    (void)slot_key(f, i, key, sizeof(key));
    rc = f->sink.ops->begin(f->sink.ctx, key, f->batch[i].item.size);
    if (rc != POSTIE_OK) {
        local_fail(f, rc, "starting a message in the archive", key);
        return rc;
    }
    f->sink_open = true;
    f->sink_slot = i;
    trace(f, "begin", key);
    return POSTIE_OK;
}

/* Commit every retrieved message before position upto (their data are
 * complete: the engine gives a message's data only after the one before
 * it ended). An empty message never opened the sink: it is begun here. */
static postie_status_t sink_advance(postie_fetch_t *f, uint32_t upto)
{
    while ((int32_t)(upto - f->rt_stored) > 0) { /* stored may be ahead: the data came first */
        size_t i = f->rt_ring[f->rt_stored % POSTIE_FETCH_BATCH];
        postie_status_t rc;
        if (f->local_failed) {
            return POSTIE_E_ARCHIVE_FAILED;
        }
        if (!f->sink_open && (rc = sink_begin(f, i)) != POSTIE_OK) {
            return rc;
        }
        rc = sink_commit(f);
        if (rc != POSTIE_OK) {
            return rc;
        }
        f->rt_stored++;
    }
    return POSTIE_OK;
}

/* ctx is the slot of the message the data belong to. */
static postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
{
    postie_fetch_slot_t *s = ctx;
    postie_fetch_t *f = s->run;
    postie_status_t rc;
    if (f->local_failed) {
        /* the sink failed: the retrieves still on the wire are read and
         * dropped, so the session can be finished (earlier deletes final) */
        return POSTIE_OK;
    }
    rc = sink_advance(f, s->rt_pos);
    if (rc == POSTIE_OK && !f->sink_open) {
        rc = sink_begin(f, slot_index(f, s));
    }
    if (rc != POSTIE_OK) {
        return POSTIE_OK; /* local_fail: dropped, as above */
    }
    rc = f->sink.ops->write(f->sink.ctx, data, len);
    if (rc != POSTIE_OK) {
        char key[POSTIE_ARCHIVE_KEY_MAX];
        (void)slot_key(f, slot_index(f, s), key, sizeof(key));
        sink_abort(f);
        local_fail(f, rc, "storing the message", key);
        return POSTIE_OK;
    }
    s->got += len;
    return POSTIE_OK;
}

/* ---- per message ------------------------------------------------------------- */

static bool stop_requested(postie_fetch_t *f)
{
    return f->opt.stop != NULL && f->opt.stop(f->opt.stop_ctx);
}

/* Whether the state can record item besides what the batch will record
 * (checked before it is archived: a message committed must be recordable). */
static bool state_has_room(const postie_fetch_t *f, const postie_mail_item_t *item)
{
    if (f->opt.protocol == POSTIE_FETCH_IMAP) {
        return f->chain || f->st.count + f->pend < POSTIE_FETCH_UIDS_MAX;
    }
    return f->st.count + f->pend < POSTIE_FETCH_UIDLS_MAX &&
           strlen(item->uidl) + 1u + f->pend_octets <= sizeof(f->st.arena) - f->st.arena_used;
}

static bool recorded(const postie_fetch_t *f, const postie_mail_item_t *item)
{
    if (f->opt.protocol == POSTIE_FETCH_IMAP) {
        return postie_fetch_state_has_uid(&f->st, item->id);
    }
    return postie_fetch_state_has_uidl(&f->st, item->uidl);
}

/* The event the oldest outstanding command completes with (removes and
 * retrieves are never started in the other order while both are out). */
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
    char key[POSTIE_ARCHIVE_KEY_MAX];
    postie_status_t rc = f->mb->remove(f->engine, f->batch[i].item.id, now);
    (void)slot_key(f, i, key, sizeof(key));
    if (rc == POSTIE_E_BAD_STATE && (f->removes > 0 || f->retrieves > 0)) {
        return POSTIE_E_AGAIN;
    }
    if (rc != POSTIE_OK) {
        local_fail(f, rc, "starting a remove", key);
        return rc;
    }
    f->rm_ring[(f->rm_head + f->removes) % POSTIE_FETCH_BATCH] = (uint16_t)i;
    f->removes++;
    trace(f, "remove", key);
    return POSTIE_OK;
}

/* The group commit: make the batch's messages durable (one flush), record
 * every message of it in the state and save the state once. Only then may
 * they be removed. A failure records nothing new (the state stays unclean:
 * the next run asks the sink). */
static void commit_batch(postie_fetch_t *f)
{
    bool records = false;
    postie_status_t rc;
    if (f->unflushed > 0 && f->sink.ops->flush != NULL) {
        rc = f->sink.ops->flush(f->sink.ctx);
        if (rc != POSTIE_OK) {
            f->unflushed = 0; /* the sink dropped or kept them: not recorded either way */
            local_fail(f, rc, "making the messages durable in the archive", NULL);
            return;
        }
        trace(f, "flushed", "");
    }
    f->unflushed = 0;
    for (size_t i = 0; i < f->n; i++) {
        postie_fetch_slot_t *s = &f->batch[i];
        bool chain = (s->flags & SLOT_CHAIN) != 0;
        if ((s->flags & SLOT_ALREADY) != 0 && f->opt.protocol == POSTIE_FETCH_IMAP && chain) {
            uint32_t w = f->st.watermark;
            postie_fetch_state_raise_watermark(&f->st, s->item.id);
            f->state_dirty = f->state_dirty || f->st.watermark != w;
        }
        if ((s->flags & SLOT_RECORD) != 0) {
            if (f->opt.protocol == POSTIE_FETCH_IMAP) {
                rc = postie_fetch_state_add_uid(&f->st, s->item.id, chain);
            } else {
                rc = postie_fetch_state_add_uidl(&f->st, s->item.uidl);
            }
            if (rc != POSTIE_OK) {
                (void)slot_key(f, i, f->key, sizeof(f->key));
                local_fail(f, POSTIE_E_FETCH_STATE, "recording the message", f->key);
                return;
            }
            records = true;
        }
    }
    if (records) {
        f->state_dirty = true;
        rc = save_state(f);
        if (rc != POSTIE_OK) {
            local_fail(f, POSTIE_E_FETCH_STATE, "saving the fetch state", NULL);
            return;
        }
    }
    for (size_t i = 0; i < f->n; i++) {
        postie_fetch_slot_t *s = &f->batch[i];
        if ((s->flags & SLOT_RECORD) != 0) {
            char key[POSTIE_ARCHIVE_KEY_MAX];
            (void)slot_key(f, i, key, sizeof(key));
            trace(f, "recorded", key);
            if ((s->flags & SLOT_STORED) != 0) {
                f->report.archived++;
                f->report.octets += s->got;
                progress(f, POSTIE_FETCH_MSG_ARCHIVED, &s->item);
            }
        }
        s->flags &= (uint8_t) ~(SLOT_RETR | SLOT_STORED | SLOT_RECORD | SLOT_ALREADY);
    }
    f->pend = 0;
    f->pend_octets = 0;
}

/* Start the removes the group commit allowed. false: wait (engine busy). */
static bool remove_batch(postie_fetch_t *f, uint32_t now)
{
    while (f->rm_next < f->n) {
        postie_fetch_slot_t *s = &f->batch[f->rm_next];
        if ((s->flags & SLOT_REMOVE) != 0) {
            postie_status_t rc;
            if (f->removes >= in_flight_max(f)) {
                return false;
            }
            rc = start_remove(f, f->rm_next, now);
            if (rc == POSTIE_E_AGAIN) {
                return false;
            }
            if (rc != POSTIE_OK) {
                return true;
            }
            s->flags &= (uint8_t)~SLOT_REMOVE;
        }
        f->rm_next++;
    }
    f->work = 0;
    f->phase = PHASE_PICK;
    if (f->stopping) {
        f->state = POSTIE_FETCH_ST_FINISH;
    }
    return true;
}

/* Mark slot i done with (flags); remove it after the commit in delete mode. */
static void slot_done(postie_fetch_t *f, size_t i, uint8_t flags)
{
    postie_fetch_slot_t *s = &f->batch[i];
    s->flags |= flags;
    if (f->chain) {
        s->flags |= SLOT_CHAIN;
    }
    if (f->opt.delete_after_archive) {
        s->flags |= SLOT_REMOVE;
    }
    f->work++;
}

/* The batch is picked (or must pause): commit what is in hand first. */
static bool to_commit(postie_fetch_t *f)
{
    f->phase = PHASE_COMMIT;
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

    if (f->phase == PHASE_COMMIT) {
        if (f->retrieves > 0) {
            return false;
        }
        commit_batch(f);
        if (f->local_failed) {
            return true; /* FINISH */
        }
        f->phase = PHASE_REMOVE;
        f->rm_next = 0;
        return true;
    }
    if (f->phase == PHASE_REMOVE) {
        return remove_batch(f, now);
    }
    if (f->next >= f->n) {
        if (f->work > 0 || f->retrieves > 0) {
            return to_commit(f);
        }
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
        if (f->work > 0 || f->retrieves > 0) {
            f->stopping = true;
            return to_commit(f);
        }
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
        if ((s->flags & SLOT_COUNTED) == 0) {
            f->report.already++;
            progress(f, POSTIE_FETCH_MSG_ALREADY, item);
        }
        slot_done(f, f->next, SLOT_COUNTED | SLOT_ALREADY);
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
        if (f->work > 0 || f->retrieves > 0) {
            return to_commit(f); /* record what is in hand, then look again */
        }
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
    if (f->check_sink && f->sink.ops->contains != NULL && (s->flags & SLOT_COUNTED) == 0) {
        rc = f->sink.ops->contains(f->sink.ctx, f->key, &found);
        if (rc != POSTIE_OK) {
            local_fail(f, rc, "asking the archive", f->key);
            return true;
        }
        if (found) {
            f->report.already++;
            progress(f, POSTIE_FETCH_MSG_ALREADY, item);
            slot_done(f, f->next, SLOT_COUNTED | SLOT_RECORD);
            f->pend++;
            f->pend_octets += strlen(item->uidl) + 1u;
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
    if (f->retrieves >= in_flight_max(f)) {
        return false; /* wait for the one in flight */
    }
    if (f->window != 0 && !f->refilling) {
        /* the engine was full: refill once half its depth is free, so the
         * next retrieves leave together (one write, one wake-up of the
         * server), while the other half keeps the server busy */
        if (f->retrieves > f->window / 2u) {
            return false;
        }
        f->refilling = true;
    }
    s->run = f;
    s->got = 0;
    s->rt_pos = f->rt_started;
    rc = f->mb->retrieve(f->engine, item->id, f->opt.size_max, on_data, s, now);
    if (rc == POSTIE_E_BAD_STATE && (f->removes > 0 || f->retrieves > 0)) {
        /* the pipeline is full: wait for completions, then try again */
        if (f->retrieves > f->window) {
            f->window = f->retrieves;
        }
        f->refilling = false;
        return false;
    }
    if (rc != POSTIE_OK) {
        local_fail(f, rc, "starting a retrieve", f->key);
        return true;
    }
    f->rt_ring[f->rt_started % POSTIE_FETCH_BATCH] = (uint16_t)f->next;
    f->rt_started++;
    f->retrieves++;
    f->pend++;
    f->pend_octets += strlen(item->uidl) + 1u;
    slot_done(f, f->next, SLOT_RETR);
    progress(f, POSTIE_FETCH_MSG_RETRIEVING, item);
    f->next++;
    return true;
}

static void on_retrieved(postie_fetch_t *f)
{
    if (f->retrieves == 0) {
        return;
    }
    f->retrieves--;
    f->rt_events++;
    if (f->local_failed || f->state != POSTIE_FETCH_ST_PICK) {
        sink_abort(f);
        if (f->rt_stored < f->rt_events) {
            f->rt_stored = f->rt_events; /* not stored: never recorded */
        }
        return;
    }
    (void)sink_advance(f, f->rt_events);
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
    if (f->round > 0 && f->mb->list_range != NULL) {
        /* a later round needs the batch and one more (is there more?); the
         * first lists everything (the state drops what is gone) */
        rc = f->mb->list_range(f->engine, f->from, (uint32_t)f->batch_max + 1u, want, on_item, f,
                               now);
    } else {
        rc = f->mb->list(f->engine, f->from, want, on_item, f, now);
    }
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
    sink_abort(f); /* after a failure: what was not recorded is not kept */
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
