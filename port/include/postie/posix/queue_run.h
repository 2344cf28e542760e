/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivering the queue on a host: the timed run and the flush, with the
 * blocking SMTP client. This is a driver of the delivery run in core
 * (postie/queue/delivery.h), which decides what is tried, in what order,
 * and records every outcome; here each session is opened from the
 * registry and each message sent with postie_smtp_client_*.
 *
 *   POSTIE_RUN_DUE    every queued message whose next attempt has come
 *                     (what a timer or the `postie queue run` loop calls)
 *   POSTIE_RUN_FLUSH  every queued message now, ignoring backoff (the
 *                     admin's "flush mail queue")
 *
 * Messages are grouped by session: one connection per session, each
 * message after the first on the same connection (the engine sends RSET
 * after a failed one), pipelined when the server offers it. A message is
 * claimed before it is sent and its outcome recorded (postie_queue_record)
 * as soon as the server has answered the end of the message, before the
 * next command. A session whose server cannot be reached is not tried
 * again in the same run: its other messages are not tried either and get
 * no attempt counted (postie_queue_record_untried): a transient failure
 * leaves them waiting for the session's next try, a permanent one (bad
 * configuration, a certificate that does not verify) moves them to the
 * error queue. A session that fails before it connects (its secret, its
 * EHLO name, gone from the registry) fails its own messages only; the run
 * goes on with the other sessions.
 * Damaged entries are set aside and reported; the run goes on.
 *
 * RAM: the run's work array, 16 octets per message the queue may hold
 * (limits.messages_max), the delivery run (postie_delivery_t) and one SMTP
 * client (postie_smtp_client_t), all malloc'ed on the host for the run.
 */
#ifndef POSTIE_QUEUE_RUN_H
#define POSTIE_QUEUE_RUN_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/queue/delivery.h"
#include "postie/queue/queue.h"
#include "postie/session/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* postie_run_mode_t, postie_run_summary_t, postie_run_progress_fn and
 * postie_run_trace_fn (and what its trace points mean) come from
 * postie/queue/delivery.h. */

/* What became of one message in a run, for a log line (see
 * postie_run_options_t.report). Views valid during the call only. */
typedef struct {
    postie_queue_id_t id;
    const char *session;                    /* the session it was sent through, as queued */
    const postie_smtp_envelope_t *envelope; /* its recipients and each one's result when it was
                                             * sent in this run; NULL when it was not (its
                                             * session could not be opened) */
    const postie_queue_outcome_t *outcome;  /* DONE, QUEUED (a retry) or ERROR */
    const postie_reply_info_t *reply;       /* the server's last word on it (code 0: none) */
    const char *error;                      /* the error text kept with it, "" when none */
} postie_run_report_t;

typedef void (*postie_run_report_fn)(void *ctx, const postie_run_report_t *report);

typedef struct {
    postie_run_mode_t mode;
    const char *session;             /* only this session's messages (any spelling of its
                                      * registry name); NULL: all */
    postie_queue_id_t only;          /* not 0: this message alone (session ignored); the
                                      * others are not touched and keep their schedule */
    const char *connect_to;          /* test hook: connect here instead of the session's host */
    postie_run_progress_fn progress; /* NULL: none */
    void *progress_ctx;
    postie_run_trace_fn trace; /* NULL: none */
    void *trace_ctx;
    postie_run_report_fn report; /* NULL: none; called after progress for every message
                                  * whose outcome was recorded (for logging) */
    void *report_ctx;
} postie_run_options_t;

/* One run over the queue. Returns POSTIE_OK when the run itself worked
 * (individual messages may still have failed: see the summary), or the
 * store's error when the queue could not be read. */
postie_status_t postie_queue_run(postie_queue_t *q, const postie_registry_t *reg,
                                 const postie_run_options_t *opt, postie_run_summary_t *sum);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_QUEUE_RUN_H */
