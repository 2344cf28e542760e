/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A delivery run over the queue, as a sans-IO state machine: which
 * messages to try and in what order, claiming each, handing out its
 * envelope and body, recording what the attempt did, and what a failed
 * session means for its other messages. It opens no connection and sends
 * nothing: it tells its driver what to do (open a session, send this
 * message, close the session) and the driver reports back. The host's
 * driver (postie_queue_run in port/posix/queue_run.c) does it with the
 * blocking SMTP client; firmware does it with its own, over the RAM store.
 *
 *   POSTIE_RUN_DUE    every queued message whose next attempt has come
 *   POSTIE_RUN_FLUSH  every queued message now, ignoring backoff
 *   options.only      one message alone (the others keep their schedule)
 *   options.session   one session's messages
 *
 * Order: messages are grouped by session, the sessions in the order their
 * oldest message arrived, the messages of a session in arrival order; one
 * connection per session, each message after the first on the same
 * connection. A message is claimed before it is handed out, so two runs
 * (or a run and an admin's flush) never send the same message; one
 * claimed elsewhere is skipped and counted busy. A damaged entry is set
 * aside (the RAM store drops it) and reported; one found delivered whose
 * removal was cut short is removed. The outcome is recorded (postie_queue_record) in the first
 * postie_delivery_next() after the driver's report, before anything else.
 * A session whose opening failed is not tried again in the same run: its
 * other messages get no attempt counted (postie_queue_record_untried): a
 * transient failure leaves them waiting for the session's next try, a
 * permanent one moves them to the error queue. The other sessions go on.
 *
 * Driving it (a blocking driver; an event-driven one does the same from
 * its callbacks):
 *
 *   postie_delivery_t run;                      (static: about 11.6 KiB)
 *   postie_queue_id_t work[POSTIE_DELIVERY_WORK(16)];
 *   postie_delivery_action_t act;
 *   postie_delivery_init(&run, &queue, &options, work, 16, now_s());
 *   while (postie_delivery_next(&run, now_s(), random32(), &act)
 *          != POSTIE_DELIVERY_DONE) {
 *       switch (act.type) {
 *       case POSTIE_DELIVERY_OPEN:     connect to the session act.session
 *           postie_delivery_report_open(&run, status, &error);
 *           break;
 *       case POSTIE_DELIVERY_SEND:     send act.envelope, the body read
 *                                      with act.read(act.read_ctx, ...)
 *                                      until it gives 0 octets; once the
 *                                      server has answered:
 *           postie_delivery_report_sent(&run, &result);
 *           break;
 *       case POSTIE_DELIVERY_CLOSE:    QUIT and close the connection
 *           break;
 *       default:
 *           break;
 *       }
 *   }
 *   act.status: the run's status; postie_delivery_summary(&run): counts
 *
 * Time: every `now` is wall-clock seconds, the queue's time base (entry
 * ids, next attempts, expiry). The due test uses the `now` given to
 * postie_delivery_init for the whole run; records use the `now` of the
 * postie_delivery_next() that makes them. `random` is any 32-bit random
 * value (it spreads retry times); it is used only when a record needs it.
 *
 * RAM: sizeof(postie_delivery_t) (11 880 octets on x86-64 with the
 * defaults, 11 360 on Cortex-M4: one loaded entry, one postie_smtp_rcpt_t
 * per POSTIE_QUEUE_RCPT_MAX, two error records) plus the caller's work
 * array: 16 octets per message the run can take. Nothing is allocated.
 *
 * Thread model: a run belongs to one thread at a time. Several runs may
 * work on one queue at once (each claims what it sends) if the store
 * allows concurrent calls (the POSIX spool does; the RAM store does not:
 * serialise its callers).
 */
#ifndef POSTIE_DELIVERY_H
#define POSTIE_DELIVERY_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"
#include "postie/queue/queue.h"
#include "postie/smtp/smtp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { POSTIE_RUN_DUE, POSTIE_RUN_FLUSH } postie_run_mode_t;

typedef struct {
    size_t total;     /* messages this run will try */
    size_t done;      /* tried so far (progress: done / total) */
    size_t delivered; /* every recipient delivered */
    size_t retry;     /* left in the queue for a later attempt */
    size_t failed;    /* moved to the error queue */
    size_t busy;      /* claimed by another sender; skipped */
    size_t corrupt;   /* damaged; set aside */
} postie_run_summary_t;

/* Called after each message: its id, what the attempt did (NULL for a
 * damaged entry, one claimed elsewhere or gone, or one that could not be
 * recorded), and the error text kept with it ("" when none). */
typedef void (*postie_run_progress_fn)(void *ctx, const postie_run_summary_t *sum,
                                       postie_queue_id_t id, const postie_queue_outcome_t *out,
                                       const char *error);

/* Trace points for crash tests: "sending" (claimed, handed to the
 * driver), "data-end" (the driver has read the whole message: its end may
 * reach the server from now on, so a crash from here to "recorded" may
 * send it twice), "recorded" (the outcome is durable). "data-end" comes
 * from the body read that reports the end (0 octets), before the SMTP
 * engine can put the end of the data on the wire; for a driver that never
 * makes that read, from a report whose data_sent is true. */
typedef void (*postie_run_trace_fn)(void *ctx, const char *event, postie_queue_id_t id);

/* Whether a queued message's session (queued, as given to enqueue) is the
 * one the run was asked for (wanted). */
typedef bool (*postie_delivery_same_session_fn)(void *ctx, const char *wanted, const char *queued);

typedef struct {
    postie_run_mode_t mode;
    const char *session;    /* only this session's messages; NULL: all */
    postie_queue_id_t only; /* not 0: this message alone (session and due time ignored) */
    postie_delivery_same_session_fn same_session; /* NULL: names equal octet for octet */
    void *same_session_ctx;
    postie_run_progress_fn progress; /* NULL: none */
    void *progress_ctx;
    postie_run_trace_fn trace; /* NULL: none */
    void *trace_ctx;
} postie_delivery_options_t;

typedef enum {
    /* The run is over: act.status is its status (POSTIE_OK, or the store's
     * error when the queue could not be listed); see the summary. */
    POSTIE_DELIVERY_DONE = 0,
    /* Open a session for act.session (the name as queued; it stays valid
     * until the next call), for message act.id. Report with
     * postie_delivery_report_open(). */
    POSTIE_DELIVERY_OPEN,
    /* Send message act.id on the open session: act.envelope, its body read
     * with act.read(act.read_ctx, ...) until it gives 0 octets (the end;
     * the read and its buffer follow postie_read_fn). The engine writes
     * each recipient's result into act.envelope->rcpt[]. Report with
     * postie_delivery_report_sent(). */
    POSTIE_DELIVERY_SEND,
    /* Close the open session (QUIT, then the connection). Nothing to
     * report. */
    POSTIE_DELIVERY_CLOSE
} postie_delivery_action_type_t;

typedef struct {
    postie_delivery_action_type_t type;
    postie_queue_id_t id;             /* OPEN, SEND */
    const char *session;              /* OPEN */
    postie_smtp_envelope_t *envelope; /* SEND; lives in the run */
    postie_read_fn read;              /* SEND */
    void *read_ctx;
    postie_status_t status; /* DONE */
} postie_delivery_action_t;

/* What a send did, for postie_delivery_report_sent(). */
typedef struct {
    postie_status_t status;    /* POSTIE_OK when the server took the message */
    const postie_error_t *why; /* the detail: the final reply, or why it failed;
                                * may be NULL; copied */
    bool data_sent;            /* the end of the data left (POSTIE_SMTP_EV_DATA_SENT) */
    bool session_ended;        /* the session cannot take another message (421, a
                                * lost connection, a timeout): the run closes it
                                * and opens a new one for the next message */
} postie_delivery_result_t;

/* Work space for a run that can take n messages, in postie_queue_id_t
 * units (16 octets per message). More messages than that wait for the
 * next run. */
#define POSTIE_DELIVERY_WORK(n) (2u * (n))

/* Which candidate comes next, and what the run holds meanwhile. Treat
 * every field as private. */
typedef enum {
    POSTIE_DELIVERY_ST_SCAN = 0, /* nothing read yet */
    POSTIE_DELIVERY_ST_PICK,     /* claim the next candidate */
    POSTIE_DELIVERY_ST_CLAIMED,  /* a message in hand: open its session if needed */
    POSTIE_DELIVERY_ST_OPENING,  /* OPEN handed out; awaiting report_open */
    POSTIE_DELIVERY_ST_OPENED,   /* the session is open or known down */
    POSTIE_DELIVERY_ST_SENDING,  /* SEND handed out; awaiting report_sent */
    POSTIE_DELIVERY_ST_SENT,     /* report_sent came: record it */
    POSTIE_DELIVERY_ST_DONE
} postie_delivery_state_t;

typedef struct {
    postie_queue_t *q;
    postie_delivery_options_t opt;
    postie_queue_id_t *work;
    size_t cap;  /* messages the work array holds */
    size_t n;    /* candidates found */
    size_t lead; /* first candidate of the current session group */
    size_t next; /* next candidate to look at in the group */
    int64_t scan_now;
    postie_delivery_state_t state;
    postie_status_t status;
    postie_run_summary_t sum;

    bool open;                   /* a session is open (OPEN reported OK, no CLOSE since) */
    bool session_down;           /* opening failed: the rest of the session shares it */
    bool untried;                /* the message in hand gets no attempt (its session was down) */
    bool data_end_traced;        /* "data-end" traced for the message in hand */
    postie_status_t down_status; /* the session's failure, as the attempt's status */
    postie_error_t down_error;   /* its detail */
    int64_t down_retry;          /* when the session is tried again (0: not known yet) */
    char session[POSTIE_QUEUE_SESSION_MAX]; /* the session of the current group */

    postie_status_t sent_status;
    postie_error_t sent_why;
    bool sent_has_why;
    bool sent_session_ended;

    postie_queue_entry_t entry; /* the message in hand, claimed */
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_body_reader_t body;
} postie_delivery_t;

/* Prepare a run over q (which the caller set up and keeps alive). opt is
 * copied (the strings it points to are not). work: POSTIE_DELIVERY_WORK(cap)
 * ids the run keeps its list in; at most cap messages are tried (cap 0:
 * none). now: the run's time for the due test. Nothing is read yet. */
#define postie_delivery_init POSTIE_CONFIGURED(postie_delivery_init)
void postie_delivery_init(postie_delivery_t *d, postie_queue_t *q,
                          const postie_delivery_options_t *opt, postie_queue_id_t *work, size_t cap,
                          int64_t now);

/* The next thing to do, in *act (also returned). The first call lists and
 * scans the queue (store reads only). While a report is awaited the same
 * action comes again. Progress and trace callbacks are called from here
 * ("data-end" from act.read and the report). */
postie_delivery_action_type_t postie_delivery_next(postie_delivery_t *d, int64_t now,
                                                   uint32_t random, postie_delivery_action_t *act);

/* The OPEN action's result: POSTIE_OK when the session is ready for
 * messages, else why it could not be opened (why may be NULL; copied;
 * why->status is taken when set, else status). After a failure the driver
 * has nothing open to close. POSTIE_E_BAD_STATE when no OPEN is awaited. */
postie_status_t postie_delivery_report_open(postie_delivery_t *d, postie_status_t status,
                                            const postie_error_t *why);

/* The SEND action's result (per-recipient results are already in
 * act.envelope->rcpt[]). POSTIE_E_BAD_STATE when no SEND is awaited. */
postie_status_t postie_delivery_report_sent(postie_delivery_t *d,
                                            const postie_delivery_result_t *result);

/* Stop a run before DONE: release the message in hand (unrecorded: it
 * keeps its previous state) and end. The driver closes what it has open.
 * Safe at any time, and again. */
void postie_delivery_abort(postie_delivery_t *d);

const postie_run_summary_t *postie_delivery_summary(const postie_delivery_t *d);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_DELIVERY_H */
