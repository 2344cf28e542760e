/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `postie fetch`, `postie poll` and `postie account test` share: an
 * account made into a mailbox client configuration, the failure report,
 * the exit code, and the progress line on a terminal.
 */
#ifndef POSTIE_CLI_FETCH_H
#define POSTIE_CLI_FETCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "postie/posix/fetch_account.h"
#include "postie/session/registry.h"

/* The password buffer the configurations point into. */
#define CLI_PASSWORD_CAP (POSTIE_AUTH_FIELD_MAX + 1)

/* cfg from the account (defaults first), the password into password
 * (CLI_PASSWORD_CAP octets). On failure prints "postie: WHO: the
 * account's password ...: why" on stderr and returns the status. */
postie_status_t cli_account_mailbox_config(const char *who, const postie_account_t *a,
                                           postie_mailbox_client_config_t *cfg, char *password);

/* "postie: WHO: STEP: what (NAME); subject; server said: text" on stderr.
 * Returns the exit code: 4 when st is transient, else 3. */
int cli_report_fetch_failure(const char *who, postie_status_t st, const postie_error_t *e);

/* 0 for POSTIE_OK, 4 for a transient status, else 3. */
int cli_fetch_exit_code(postie_status_t st);

/* Progress of a fetch: on a terminal (stderr) a line rewritten in place
 * with messages, octets and the rate; elsewhere nothing. */
typedef struct {
    const char *who;
    bool tty;
    uint64_t start_ms;
    uint64_t last_ms;
} cli_progress_t;

void cli_progress_init(cli_progress_t *p, const char *who);
/* A postie_fetch_progress_fn over a cli_progress_t. */
void cli_progress_event(void *ctx, postie_fetch_msg_event_t what, const postie_mail_item_t *item,
                        const postie_fetch_report_t *sofar);
/* End the progress line (if one was drawn). */
void cli_progress_done(cli_progress_t *p);

/* The summary of a run on out: "NAME: 12 archived (48.2 KiB), 12 deleted,
 * 0 already archived ... in 0.31 s (38.7 messages/s)". */
void cli_print_fetch_summary(FILE *out, const char *who, const postie_fetch_account_report_t *r,
                             bool keep);

/* Archive a mailbox into maildir (made when missing), its state in
 * state_file, deleting unless keep; stop (may be NULL) ends it after the
 * message in hand. The summary goes to stdout, a failure to stderr; the
 * progress line to a terminal when show_progress. Returns the status. */
postie_status_t cli_archive(const char *who, const postie_mailbox_client_config_t *cfg,
                            const char *maildir, const char *state_file, bool keep,
                            volatile sig_atomic_t *stop, bool show_progress,
                            postie_fetch_account_report_t *report);

#endif /* POSTIE_CLI_FETCH_H */
