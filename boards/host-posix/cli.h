/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared between the CLI's files: exit codes, the registry, the queue.
 */
#ifndef POSTIE_CLI_H
#define POSTIE_CLI_H

#include "postie/queue/queue.h"
#include "postie/posix/queue_run.h"
#include "postie/posix/queue_spool.h"
#include "postie/session/registry.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_SESSION 3
#define EXIT_TEMP    4

/* The registry, loaded on first use (exits 2 listing its problems). */
const postie_registry_t *cli_registry(void);

/* Open the spool (--spool DIR, else $POSTIE_SPOOL, else the default) or
 * exit 2 saying why. */
void cli_open_queue(const char *spool_dir, postie_spool_t *spool, postie_queue_t *q);

/* Flush (or run) the queue with progress on a terminal. When watch is not
 * 0, only that message is tried (the others keep their schedule) and
 * *watched gets its outcome (state 0 when it was not tried).
 * Returns an exit code: 0 everything tried was delivered, 4 some messages
 * wait for a retry, 1 some failed for good or were damaged. */
int cli_run_queue(postie_queue_t *q, postie_run_mode_t mode, const char *session,
                  postie_queue_id_t watch, postie_queue_outcome_t *watched, char *watched_error,
                  size_t cap);

/* `postie queue ...` */
int cli_queue(int argc, char **argv);

#endif /* POSTIE_CLI_H */
