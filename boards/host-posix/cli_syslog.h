/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's log of what happened to mail, for syslog (facility mail): one
 * line per message sent, queued, deferred or failed, with its queue id,
 * session, recipients and the server's reply code; never a secret (the
 * lines carry only names, addresses, ids and server replies).
 *
 * Off unless a command enables it: `--syslog` on send, sendmail and queue
 * run; on by default for `queue run --every` and `postie sendmail` (what a
 * daemon or cron runs). Any other command may log, e.g. the fetcher's
 * `postie poll`:
 *
 *     cli_syslog_open("postie-poll");   // the syslog ident, once
 *     cli_syslog_enable(true);           // its default; --syslog/--no-syslog
 *     cli_syslog_line(CLI_SYSLOG_INFO, "fetched %s: %u messages from %s", ...);
 *
 * Test hook: $POSTIE_LOG_FILE=PATH appends the lines to PATH (with the
 * ident and level) instead of sending them to syslog.
 */
#ifndef POSTIE_CLI_SYSLOG_H
#define POSTIE_CLI_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "postie/posix/notify.h"
#include "postie/posix/queue_run.h"

typedef enum {
    CLI_SYSLOG_INFO,    /* syslog LOG_INFO: sent, queued, delivered */
    CLI_SYSLOG_WARNING, /* LOG_WARNING: deferred (will be retried) */
    CLI_SYSLOG_ERROR    /* LOG_ERR: failed for good */
} cli_syslog_level_t;

/* The syslog ident ("postie", "postie-sendmail"); a static string. Does not
 * enable logging. */
void cli_syslog_open(const char *ident);

/* Turn logging on or off (the command's default, then its options). */
void cli_syslog_enable(bool on);
bool cli_syslog_enabled(void);

/* One line, printf-style, when logging is on. Control characters in the
 * result are replaced, so a server's text cannot forge a line. */
void cli_syslog_line(cli_syslog_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* One line for a message: "EVENT id=ID session=NAME rcpt=A,B reply=CODE
 * ENHANCED detail=...". event is "sent", "queued", "delivered",
 * "deferred" or "failed"; id 0, session NULL and reply NULL are left out. */
void cli_syslog_mail(const char *event, postie_queue_id_t id, const char *session,
                     const char *const *rcpt, size_t n, const postie_reply_info_t *reply,
                     const char *detail);

/* The line for a postie_notify result (sendmail, send --queue). */
void cli_syslog_notify(const postie_notify_result_t *r, const char *const *rcpt, size_t n);

/* A postie_run_report_fn for queue runs (ctx unused). */
void cli_syslog_run_report(void *ctx, const postie_run_report_t *rep);

#endif /* POSTIE_CLI_SYSLOG_H */
