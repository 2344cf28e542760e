/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch run: archive one account's mailbox, exactly once, and (unless
 * told to keep them) delete what was archived. A sans-IO state machine like
 * the delivery run: it starts mailbox commands through the engine's
 * postie_mailbox_ops_t and is told their events; it calls the archive sink
 * and the state store directly (synchronous calls). The same run works
 * under the blocking POSIX driver (postie_fetch_account in
 * postie/posix/fetch_account.h) and under an event-driven one.
 *
 * Per message, in listing order (ascending ids):
 *   1. the state records it as archived: skip it; in delete mode remove it
 *      (it was archived, then its delete was lost);
 *   2. larger than size_max: leave it on the server, count it (too_large);
 *   3. after a run that did not end cleanly, or with no saved state: ask the
 *      sink whether it holds the message's key (committed, then the crash
 *      came before the state was saved): if so record it, then as in 1;
 *   4. otherwise: sink begin; retrieve into the sink; commit.
 * Group commit: the messages of a batch (opt.batch, at most
 * POSTIE_FETCH_BATCH) are one
 * durability unit. Once the batch's retrieves are in: the sink's flush
 * (when it has one) makes them all durable; every message of the batch is
 * recorded in the state and the state saved once (atomic); only then, in
 * delete mode, are the batch's messages removed on the server (those of 1
 * and 3 too).
 * At the end (or on a stop request, after the message in hand) the state
 * is saved clean and the session finished (POP3 QUIT, when the server's
 * deletes become final; IMAP EXPUNGE without UIDPLUS, LOGOUT).
 *
 * Keep mode (delete_after_archive false): nothing is ever removed; the
 * state remembers what was archived.
 *
 * Exactly once: the delete comes only after commit, flush and state save;
 * a crash anywhere leaves each message either on the server and unrecorded
 * (archived again, or the sink's contains() finds a flushed copy) or
 * recorded (never archived again; deleted by a later run in delete mode).
 * Messages committed and not flushed when the run fails are dropped
 * (abort); they were never recorded. A failure of the
 * sink or the state store stops the run before anything else is removed;
 * the session is still finished so earlier POP3 deletes become final.
 *
 * UIDVALIDITY change (IMAP): the saved UIDs name other messages now. The
 * run logs it, sets the old state aside (store set_aside), reports it
 * (report.uidvalidity_changed, old and new values) and treats the folder as
 * new: every message in it is archived once more. That is the safe choice:
 * skipping would lose every message that arrived since the last run (and,
 * in keep mode, cannot tell old from new), while re-archiving at worst
 * stores a second copy of messages that were archived before (in delete
 * mode only those whose delete was lost; in keep mode the whole folder).
 * The keys carry the UIDVALIDITY, so the copies never collide in the sink.
 *
 * Bounded work: each round lists from the next id up and keeps the first
 * batch's worth of messages; rounds repeat until a list gives nothing new,
 * so any mailbox size runs in fixed RAM.
 *
 * Pipelining (postie/common/mailbox.h): the run starts a batch's
 * retrieves, and later its removes, one after the other, as many as the
 * engine accepts; completions of a kind come in order. POP3 puts them on
 * the wire together (the next messages' RETR while one is stored); the
 * IMAP engine joins them into one UID FETCH over the batch's UID set (and
 * one UID STORE, then one UID EXPUNGE), one set at a time (fetch.c,
 * in_flight_max, says why: servers may answer separate pipelined IMAP
 * commands out of order). A stop request is honoured between messages:
 * the retrieves in flight are stored, the batch committed and removed,
 * then the session finished.
 *
 * Driving it:
 *
 *   postie_fetch_t run;                 (static or pooled: see RAM)
 *   postie_fetch_init(&run, &opt, &postie_pop3_mailbox_ops, &pop3, &store, &sink);
 *   (the engine is open: READY)
 *   for (;;) {
 *       postie_fetch_action_t act = postie_fetch_next(&run, now);
 *       if (act.type == POSTIE_FETCH_DONE) break;        act.status
 *       run the engine until act.event is taken (postie_driver_run(&d, 0,
 *       act.event)), handing every event to postie_fetch_event(&run,
 *       ev.type, ev.status, now) on the way; if the engine failed without a FAILED event reaching
 *       the run, call postie_fetch_failed(&run, status, &error)
 *   }
 *   then close the connection; postie_fetch_report(&run) says what happened
 *
 * Time: every `now` is postie_clock_ms() (handed to the engine's commands).
 *
 * RAM: sizeof(postie_fetch_t), 71 792 octets on x86-64 with the defaults
 * (a batch of 256 on hosts; 45 656 on Cortex-M4, a batch of 32): the fetch
 * state (see postie/fetch/fetch_state.h: 41 256) and the batch
 * (POSTIE_FETCH_BATCH listed messages of about 112 octets each with their
 * two ring entries). Nothing is allocated; a board
 * with little RAM lowers POSTIE_FETCH_UIDL_ARENA and POSTIE_FETCH_UIDLS_MAX
 * (POP3 keep mode needs one UIDL per archived message still on the server)
 * and POSTIE_FETCH_UIDS_MAX.
 *
 * Thread model: a run, its engine, sink and store belong to one thread at a
 * time. Two runs must never work on the same account at once (the POSIX
 * state file is locked for that).
 */
#ifndef POSTIE_FETCH_H
#define POSTIE_FETCH_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/mailbox.h"
#include "postie/common/sasl.h"
#include "postie/common/status.h"
#include "postie/fetch/archive.h"
#include "postie/fetch/fetch_state.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What happened to one message, for the progress callback. */
typedef enum {
    POSTIE_FETCH_MSG_RETRIEVING = 1, /* retrieve started (octets: the listed size) */
    POSTIE_FETCH_MSG_ARCHIVED,       /* committed and recorded */
    POSTIE_FETCH_MSG_DELETED,        /* removed on the server (final at finish) */
    POSTIE_FETCH_MSG_ALREADY,        /* the state or the sink already had it */
    POSTIE_FETCH_MSG_TOO_LARGE       /* over size_max: left on the server */
} postie_fetch_msg_event_t;

/* What the run did, so far or in the end. */
typedef struct {
    postie_status_t status; /* POSTIE_OK, or why the run stopped */
    postie_error_t error;   /* the detail (the server's text, the step) */
    uint32_t listed;        /* messages seen in listings */
    uint32_t archived;      /* committed and recorded */
    uint64_t octets;        /* of the archived messages */
    uint32_t deleted;       /* removed on the server */
    uint32_t already;       /* recorded before (or found in the sink) */
    uint32_t too_large;     /* left on the server for size_max */
    uint32_t dropped;       /* state entries dropped: their messages left the server */
    bool uidvalidity_changed;
    uint32_t old_uidvalidity; /* when it changed */
    uint32_t uidvalidity;     /* the folder's (IMAP) */
    bool stopped;             /* a stop request ended the run early */
    bool again;               /* delete mode: the state filled up with messages whose delete
                               * becomes final at finish (POP3); the run ended early and
                               * cleanly: run again at once (a new session) to go on */
} postie_fetch_report_t;

typedef void (*postie_fetch_progress_fn)(void *ctx, postie_fetch_msg_event_t what,
                                         const postie_mail_item_t *item,
                                         const postie_fetch_report_t *sofar);

/* Trace points for crash tests, with the message's key: "begin",
 * "committed", "recorded" (state saved), "remove" (started), "removed"
 * (its event), "finish" (started). */
typedef void (*postie_fetch_trace_fn)(void *ctx, const char *event, const char *key);

typedef struct {
    postie_fetch_protocol_t protocol;
    bool delete_after_archive; /* true: remove each archived message */
    uint64_t size_max;         /* 0: no bound; else larger messages stay */
    /* Messages per round and group commit (one listing, one sink flush, one
     * state save, one set of removes): 0 or more than POSTIE_FETCH_BATCH
     * means POSTIE_FETCH_BATCH. Fewer means more durable points and round
     * trips, and less work lost to a crash (tests use it to run several
     * rounds over a few messages). */
    uint32_t batch;
    const char *key_prefix; /* prepended to every key ("" or NULL: none;
                             * at most POSTIE_FETCH_KEY_PREFIX_MAX octets of
                             * 0x21..0x7E) */
    /* Asked before each message: true stops the run after the message in
     * hand (state saved, session finished). May be NULL. */
    bool (*stop)(void *ctx);
    void *stop_ctx;
    postie_fetch_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    postie_fetch_trace_fn trace; /* may be NULL */
    void *trace_ctx;
    postie_log_fn log; /* may be NULL: notes (UIDVALIDITY change, alerts) */
    void *log_ctx;
} postie_fetch_options_t;

/* Defaults: delete after archive, no size bound, no callbacks. */
void postie_fetch_options_defaults(postie_fetch_options_t *opt, postie_fetch_protocol_t protocol);

typedef enum {
    POSTIE_FETCH_DONE = 0, /* over: act.status (= report.status) */
    POSTIE_FETCH_WAIT      /* run the engine until act.event is taken */
} postie_fetch_action_type_t;

typedef struct {
    postie_fetch_action_type_t type;
    int event;              /* WAIT: a POSTIE_MAILBOX_EV_* type */
    postie_status_t status; /* DONE */
} postie_fetch_action_t;

/* One message of the current batch. Private. */
typedef struct {
    postie_mail_item_t item;
    void *run;       /* the run (the retrieve's data callback context is the slot) */
    uint64_t got;    /* octets received */
    uint32_t rt_pos; /* the retrieve's position among the run's retrieves */
    uint8_t flags;   /* POSTIE_FETCH_SLOT_* (private, fetch.c) */
} postie_fetch_slot_t;

/* Private: where the run is. */
typedef enum {
    POSTIE_FETCH_ST_START = 0,  /* load the state, check UIDVALIDITY */
    POSTIE_FETCH_ST_LIST_START, /* start a listing */
    POSTIE_FETCH_ST_LISTING,    /* awaiting LISTED */
    POSTIE_FETCH_ST_PICK,       /* the batch: retrieve ahead, commit, remove */
    POSTIE_FETCH_ST_FINISH,     /* drain, save, start finish */
    POSTIE_FETCH_ST_FINISHING,  /* awaiting CLOSED */
    POSTIE_FETCH_ST_DONE
} postie_fetch_state_id_t;

/* Treat every field as private; read through the functions below. */
typedef struct {
    postie_fetch_options_t opt;
    const postie_mailbox_ops_t *mb;
    void *engine;
    postie_fetch_store_t store;
    postie_archive_t sink;
    postie_fetch_state_id_t state;
    postie_fetch_report_t report;
    char prefix[POSTIE_FETCH_KEY_PREFIX_MAX + 1];
    bool check_sink;      /* ask the sink before archiving (unclean or new state) */
    bool saved_dirty;     /* "clean 0" is saved for this run */
    bool state_dirty;     /* the in-RAM state differs from the saved one */
    bool local_failed;    /* a sink or store failure: the state stays unclean */
    bool session_over;    /* the engine failed or closed */
    bool sink_open;       /* begin called, no commit or abort yet */
    bool chain;           /* IMAP: every listed UID so far is archived or gone */
    uint32_t round;       /* listings done */
    uint32_t from;        /* the next listing's first id */
    uint32_t first_new;   /* IMAP listing: the first UID not recorded (0: none) */
    uint32_t last_listed; /* the listing's highest id */
    uint32_t listed_top;  /* the highest id any listing gave (for report.listed) */
    size_t batch_max;     /* messages per round (opt.batch, bounded) */
    size_t n;             /* messages in the batch */
    size_t next;          /* the next one to look at */
    size_t removes;       /* removes started, their events not yet taken */
    size_t retrieves;     /* retrieves started, their events not yet taken */
    size_t window;        /* the most retrieves the engine took at once (0: not full yet) */
    bool refilling;       /* the engine had room for half its window: fill it */
    char key[POSTIE_ARCHIVE_KEY_MAX];
    bool no_save;  /* the saved state could not be read: never overwrite it */
    bool more;     /* the listing went past the batch */
    bool complete; /* every listing was worked through */
    bool finish_started;
    bool stopping;       /* a stop request: commit what is in hand, then finish */
    uint8_t phase;       /* of the batch: picking, committing, removing (fetch.c) */
    size_t sink_slot;    /* the batch slot open in the sink (sink_open) */
    size_t rm_next;      /* removing: the next slot to look at */
    size_t pend;         /* slots to record at the group commit */
    size_t pend_octets;  /* POP3: arena octets they need */
    size_t unflushed;    /* committed to the sink since its last flush */
    size_t work;         /* slots with something for the group commit or remove */
    uint32_t rt_started; /* retrieves started (running count) */
    uint32_t rt_events;  /* RETRIEVED events taken */
    uint32_t rt_stored;  /* retrieved messages committed to the sink */
    uint16_t rt_ring[POSTIE_FETCH_BATCH]; /* batch slots of the retrieves, by position */
    uint16_t rm_ring[POSTIE_FETCH_BATCH]; /* batch slots of the removes started */
    size_t rm_head;
    postie_fetch_slot_t batch[POSTIE_FETCH_BATCH];
    postie_fetch_state_t st;
} postie_fetch_t;

/* Prepare a run. opt is copied (the strings and callbacks it points to
 * must outlive the run); mb/engine: an open engine (READY, info() valid);
 * store and sink are copied and must outlive the run. Nothing is loaded or
 * sent yet. POSTIE_E_INVALID_ARGUMENT for a bad key_prefix or protocol (the
 * run is then DONE with that status). */
#define postie_fetch_init POSTIE_FETCH_CONFIGURED(postie_fetch_init)
postie_status_t postie_fetch_init(postie_fetch_t *f, const postie_fetch_options_t *opt,
                                  const postie_mailbox_ops_t *mb, void *engine,
                                  const postie_fetch_store_t *store, const postie_archive_t *sink);

/* What to do next (the first call loads the state and starts listing).
 * Store and sink calls happen in here and in postie_fetch_event. */
postie_fetch_action_t postie_fetch_next(postie_fetch_t *f, uint32_t now);

/* An event taken from the engine (every one, in order): its type (a
 * POSTIE_MAILBOX_EV_*; others are ignored) and status. */
void postie_fetch_event(postie_fetch_t *f, int type, postie_status_t status, uint32_t now);

/* The session failed (or the transport under it): status and its detail
 * (may be NULL; copied). The run is then DONE with that status, after
 * aborting a message in progress. Also fine after a FAILED event (the
 * detail is kept). */
void postie_fetch_failed(postie_fetch_t *f, postie_status_t status, const postie_error_t *why);

const postie_fetch_report_t *postie_fetch_report(const postie_fetch_t *f);

/* The state the run works on (after the run: as saved, unless saving
 * failed). */
const postie_fetch_state_t *postie_fetch_state(const postie_fetch_t *f);

/* Build the sink key for a message: see postie/fetch/archive.h. IMAP uses
 * uidvalidity and item->id, POP3 item->uidl. POSTIE_E_NO_SPACE when it does
 * not fit cap; POSTIE_E_INVALID_ARGUMENT for a POP3 item without a UIDL. */
postie_status_t postie_fetch_key(postie_fetch_protocol_t protocol, const char *prefix,
                                 uint32_t uidvalidity, const postie_mail_item_t *item, char *out,
                                 size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_FETCH_H */
