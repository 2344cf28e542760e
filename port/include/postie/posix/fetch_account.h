/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetching for hosts, blocking: what the CLI's `fetch` and `poll` call.
 *
 *   postie_fetch_account()   archive an account's mailbox into a Maildir
 *                            (or any sink), exactly once, deleting what was
 *                            archived unless told to keep it: the fetch run
 *                            of postie/fetch/fetch.h over the mailbox client,
 *                            the Maildir sink and the locked state file
 *   postie_fetch_list()      the messages on the server (never changes it)
 *   postie_fetch_message_to_file()  one message, exactly as the server holds
 *                            it, into a file (never changes the mailbox)
 *
 * Failures: the returned status and report->error (the step, the server's
 * text, the path). Exit-code mapping for a CLI: POSTIE_OK 0; transient
 * statuses (postie_status_is_transient: network, timeouts, a busy lock or
 * mailbox, a sink that could not write) 4; others 3.
 *
 * RAM: a mailbox client (25 072 octets on x86-64), a fetch run (71 792
 * with the defaults), a Maildir sink (7 136) and a state file (1 328), on
 * the heap for the call: about 103 KiB; plus mbedTLS's buffers during TLS.
 * Thread model: any number of calls may run at once on different accounts
 * (the state file's lock refuses two on one account).
 */
#ifndef POSTIE_FETCH_ACCOUNT_H
#define POSTIE_FETCH_ACCOUNT_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "postie/fetch/fetch.h"
#include "postie/posix/mailbox_client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *maildir;          /* the Maildir to archive into (created when missing) */
    const postie_archive_t *sink; /* instead of maildir when not NULL */
    const char *state_path;       /* the account's fetch state file (its directory must exist) */
    const char *key_prefix;       /* archive key prefix (e.g. "name."); NULL: none */
    bool delete_after_archive;    /* default true; false: keep mode */
    uint64_t size_max;            /* 0: no bound; larger messages stay on the server */
    uint32_t batch;               /* messages per group commit: 0 (POSTIE_FETCH_BATCH) or
                                   * fewer (postie_fetch_options_t.batch) */
    postie_fetch_progress_fn progress; /* per message (id, octets...); may be NULL */
    void *progress_ctx;
    volatile sig_atomic_t *stop; /* may be NULL; set (by SIGTERM's handler): stop
                                  * after the message in hand, cleanly */
} postie_fetch_account_options_t;

/* Defaults: delete after archive, no size bound, nothing else. */
void postie_fetch_account_options_defaults(postie_fetch_account_options_t *opt);

typedef struct {
    postie_fetch_report_t run; /* archived, octets, deleted, already, too_large,
                                * uidvalidity change, status and error */
    uint32_t elapsed_ms;       /* connect to close */
    uint32_t messages;         /* on the server at open (STAT / EXISTS) */
    bool secure;               /* the session was encrypted */
} postie_fetch_account_report_t;

/* Archive the account's mailbox (see above and postie/fetch/fetch.h).
 * Returns report->run.status: POSTIE_OK, POSTIE_E_BUSY (another run holds
 * the state's lock), POSTIE_E_FETCH_STATE (damaged state: nothing was
 * fetched), POSTIE_E_ARCHIVE_FAILED, the session's failure... A UIDVALIDITY
 * change is not a failure: report->run.uidvalidity_changed. */
postie_status_t postie_fetch_account(const postie_mailbox_client_config_t *cfg,
                                     const postie_fetch_account_options_t *opt,
                                     postie_fetch_account_report_t *report);

/* Called once per listed message, ids ascending: item->id (the POP3
 * number or the IMAP UID) and item->size (POSTIE_MAIL_ITEM_SIZE). */
typedef void (*postie_fetch_list_fn)(void *ctx, const postie_mail_item_t *item);

/* List the mailbox (ids and sizes), then log out; nothing is changed. *info (may be NULL) gets what
 * open learned; error (may be NULL) the detail on failure. */
postie_status_t postie_fetch_list(const postie_mailbox_client_config_t *cfg,
                                  postie_fetch_list_fn fn, void *ctx, postie_mailbox_info_t *info,
                                  postie_error_t *error);

/* Retrieve message id (the POP3 number or the IMAP UID) into out_path,
 * exactly as the server holds it: written to "<out_path>.tmp", flushed and
 * renamed (never a partial file at out_path). "-" writes to standard
 * output. *octets (may be NULL) gets its size. Nothing on the server is
 * changed. */
postie_status_t postie_fetch_message_to_file(const postie_mailbox_client_config_t *cfg, uint32_t id,
                                             const char *out_path, uint64_t size_max,
                                             uint64_t *octets, postie_error_t *error);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_FETCH_ACCOUNT_H */
