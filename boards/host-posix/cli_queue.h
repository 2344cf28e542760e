/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outgoing queue, as `postie send --queue` and `postie queue` use it:
 * opening the spool with the limits from the environment, and a queue run
 * with progress on a terminal.
 */
#ifndef POSTIE_CLI_QUEUE_H
#define POSTIE_CLI_QUEUE_H

#include <stddef.h>

#include "postie/queue/queue.h"
#include "postie/posix/queue_run.h"
#include "postie/posix/queue_spool.h"

/* Open the spool (spool_dir, else $POSTIE_SPOOL, else the default) with
 * the limits $POSTIE_QUEUE_MAX_MESSAGES, $POSTIE_QUEUE_MAX_BYTES and
 * $POSTIE_QUEUE_MAX_AGE, or exit 2 saying why. */
void cli_open_queue(const char *spool_dir, postie_spool_t *spool, postie_queue_t *q);

/* The queue limits from $POSTIE_QUEUE_MAX_MESSAGES, $POSTIE_QUEUE_MAX_BYTES
 * and $POSTIE_QUEUE_MAX_AGE (0: the built-in default), or exit 2. */
void cli_queue_limits(postie_queue_limits_t *limits);

/* Flush (or run) the queue with progress on a terminal, through the
 * sessions of the registry (cli_registry()). When watch is not 0, only
 * that message is tried (the others keep their schedule) and *watched gets
 * its outcome (state 0 when it was not tried) and watched_error (cap
 * octets) its last error; both may be NULL when watch is 0. Without watch,
 * prints a one-line summary when anything was tried.
 * POSTIE_QUEUE_TRACE=FILE appends one line per trace point to FILE.
 * Returns an exit code: 0 everything tried was delivered, 4 some messages
 * wait for a retry, 1 some failed for good or were damaged. */
int cli_run_queue(postie_queue_t *q, postie_run_mode_t mode, const char *session,
                  postie_queue_id_t watch, postie_queue_outcome_t *watched, char *watched_error,
                  size_t cap);

#endif /* POSTIE_CLI_QUEUE_H */
