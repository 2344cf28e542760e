/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivering the queue on a host: the timed run and the flush.
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
 * RAM: the run keeps 16 octets per queued message (malloc'ed on the host),
 * one SMTP client (postie_smtp_client_t) and one loaded entry.
 */
#ifndef POSTIE_QUEUE_RUN_H
#define POSTIE_QUEUE_RUN_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/queue/queue.h"
#include "postie/session/registry.h"

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
 * damaged entry), and the error text kept with it ("" when none). */
typedef void (*postie_run_progress_fn)(void *ctx, const postie_run_summary_t *sum,
                                       postie_queue_id_t id, const postie_queue_outcome_t *out,
                                       const char *error);

/* Trace points for crash tests: "sending" (claimed, about to send),
 * "data-end" (the end of the message is handed to the connection),
 * "recorded" (the outcome is durable). Called from the sending thread. */
typedef void (*postie_run_trace_fn)(void *ctx, const char *event, postie_queue_id_t id);

typedef struct {
    postie_run_mode_t mode;
    const char *session;             /* only this session's messages; NULL: all */
    postie_queue_id_t only;          /* not 0: this message alone (session ignored); the
                                      * others are not touched and keep their schedule */
    const char *connect_to;          /* test hook: connect here instead of the session's host */
    postie_run_progress_fn progress; /* NULL: none */
    void *progress_ctx;
    postie_run_trace_fn trace; /* NULL: none */
    void *trace_ctx;
} postie_run_options_t;

/* One run over the queue. Returns POSTIE_OK when the run itself worked
 * (individual messages may still have failed: see the summary), or the
 * store's error when the queue could not be read. */
postie_status_t postie_queue_run(postie_queue_t *q, const postie_registry_t *reg,
                                 const postie_run_options_t *opt, postie_run_summary_t *sum);

#endif /* POSTIE_QUEUE_RUN_H */
