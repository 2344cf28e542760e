/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notifications through a named session, in one call: the host
 * application's counterpart of JavaMail's
 *     Session s = (Session) ctx.lookup("java:comp/env/mail/Notify");
 *     Transport.send(msg);
 *
 *     static postie_notifier_t n;                 // one object, see RAM below
 *     const char *to[] = {"ops@example.com"};
 *     postie_notification_t m = {0};
 *     postie_notify_result_t r;
 *     m.session = "java:comp/env/mail/Notify";
 *     m.user_name = "alice";                      // the acting user (From template)
 *     m.to = to;
 *     m.to_count = 1;
 *     m.subject = "Disk 3 failed";                // the session's prefix is added
 *     m.text = "Replace disk 3 in bay 2.\n";
 *     m.mode = POSTIE_NOTIFY_QUEUE;               // durable: survives a relay outage
 *     if (postie_notifier_open(&n, NULL, &r.error) != POSTIE_OK ||
 *         postie_notify(&n, &m, &r) != POSTIE_OK)
 *         fprintf(stderr, "mail: %s\n", postie_notify_describe(&r, buf, sizeof(buf)));
 *
 * What it does for the caller, in order: finds the session in the registry
 * (any spelling: java:comp/env/mail/Notify, mail/Notify), resolves its
 * password (variable, file or inline), fills From from the session's
 * template over the acting user, puts the session's subject prefix before
 * the subject, takes MAIL FROM from the session ("envelope_from", else
 * "from"), composes the MIME message (or takes the caller's raw message),
 * and then, by mode:
 *   POSTIE_NOTIFY_NOW         connects and sends; per-recipient results in
 *                             r->rcpt[] (nothing is kept on failure)
 *   POSTIE_NOTIFY_QUEUE       stores the message in the durable queue (the
 *                             spool directory), then tries it, and only it,
 *                             now; a temporary failure leaves it queued for
 *                             the next `postie queue run` (r->queued)
 *   POSTIE_NOTIFY_QUEUE_ONLY  stores it; a later queue run sends it
 *
 * The same code serves the postie CLI: `postie test-email` and `postie
 * sendmail` call postie_notify_session(), and `postie send --session`,
 * `postie test-connection` and the queue's delivery run prepare their
 * connections with postie_session_prepare() (postie/posix/registry_file.h),
 * as postie_notify does.
 *
 * OAuth 2.0: a session with "auth": "oauth2" logs in with the built-in
 * token provider (postie/posix/oauth.h) built from its oauth2 object; the
 * notifier keeps it, so its access token serves later notifications
 * through the same session until shortly before it expires (in memory
 * only, never on disk).
 *
 * RAM: sizeof(postie_notifier_t), 218 560 octets on x86-64 with the
 * default sizes (the loaded registry 57 168, the SMTP client 149 080, the
 * OAuth 2.0 token provider 6 048, of
 * which its 128 KiB host transmit buffer, the message writer 2 480, the
 * spool and queue handles 1 528, the From name,
 * subject and password buffers); the result, sizeof(postie_notify_result_t),
 * 3 600 octets for POSTIE_NOTIFY_RCPT_MAX recipients. Loading the registry
 * borrows a POSTIE_REGISTRY_ARENA_SIZE (128 KiB) parse arena from the heap
 * for the duration of postie_notifier_open() only; a queued send
 * allocates the delivery run's work area during the run (see
 * postie/posix/queue_run.h). Keep the notifier static or on the heap, not
 * on a small stack.
 *
 * Threads: one call at a time per notifier; notifiers share nothing but
 * the spool, which is safe to share between processes and threads.
 */
#ifndef POSTIE_NOTIFY_H
#define POSTIE_NOTIFY_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"
#include "postie/mime/mime.h"
#include "postie/posix/oauth.h"
#include "postie/posix/queue_spool.h"
#include "postie/posix/smtp_client.h"
#include "postie/queue/queue.h"
#include "postie/session/registry.h"
#include "postie/session/session_map.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most recipients (To + Cc + Bcc) one notification may have. */
#ifndef POSTIE_NOTIFY_RCPT_MAX
#define POSTIE_NOTIFY_RCPT_MAX 16
#endif

typedef enum {
    POSTIE_NOTIFY_NOW = 0,   /* send now, keep nothing */
    POSTIE_NOTIFY_QUEUE,     /* queue, then try now; a temporary failure stays queued */
    POSTIE_NOTIFY_QUEUE_ONLY /* queue; a later queue run sends it */
} postie_notify_mode_t;

/* What to send. Zero-fill it, then set what you need. All strings UTF-8
 * and NUL-terminated; they are only read during the call. */
typedef struct {
    const char *session;    /* registry name, e.g. "java:comp/env/mail/Notify" */
    const char *user_name;  /* the acting user for the session's From template; NULL: none */
    const char *user_email; /* the acting user's address for the template; NULL: none */
    const char *const *to;  /* header To and envelope */
    size_t to_count;
    const char *const *cc; /* header Cc and envelope */
    size_t cc_count;
    const char *const *bcc; /* envelope only: never in a header */
    size_t bcc_count;
    const char *subject;            /* the session's subject_prefix goes before it; NULL: none */
    const char *text;               /* plain text body; NULL: empty (or only html) */
    const char *html;               /* NULL: none; with text, multipart/alternative */
    const postie_header_t *headers; /* extra header fields; may be NULL when header_count is 0 */
    size_t header_count;
    /* A raw RFC 5322 message instead of composing one (sendmail): when
     * raw_read is not NULL, the fields from subject to header_count are
     * ignored, to/cc/bcc are the envelope only, and raw_read must give
     * exactly raw_size octets with CRLF line ends. It is read once. */
    postie_read_fn raw_read;
    void *raw_ctx;
    uint64_t raw_size;
    bool raw_8bit;             /* the raw message has octets over 127 */
    const char *envelope_from; /* MAIL FROM instead of the session's; NULL: the session's */
    postie_notify_mode_t mode; /* default NOW */
    const char *spool_dir;  /* queued modes: NULL: $POSTIE_SPOOL, else POSTIE_SPOOL_DEFAULT_DIR */
    const char *connect_to; /* test hook: connect here instead of the session's host */
} postie_notification_t;

/* What happened. */
typedef struct {
    postie_status_t status; /* what postie_notify returned */
    postie_error_t error;   /* the detail when status is not POSTIE_OK: phase, server reply,
                               session field or address (never a secret) */
    const char *session;    /* the session's registry name, once found; else NULL */
    /* one per envelope recipient (to, cc, bcc in that order) with the
     * server's answer, and the server's reply to the message in reply; in
     * the queued modes as far as the attempt made now got (a recipient not
     * tried stays POSTIE_RCPT_NOT_TRIED) */
    postie_smtp_rcpt_t rcpt[POSTIE_NOTIFY_RCPT_MAX];
    size_t rcpt_count;
    size_t refused;            /* recipients refused or not tried */
    postie_reply_info_t reply; /* the server's reply to the message, code 0 when none */
    /* queued modes */
    postie_queue_id_t queue_id; /* 0 when nothing was queued */
    bool queued;                /* it waits in the queue for a later run */
    bool in_error_queue;        /* it failed for good and was moved to the error queue */
} postie_notify_result_t;

/* The one object. Treat every field as private. */
typedef struct {
    postie_registry_t registry;   /* loaded by postie_notifier_open */
    const postie_registry_t *reg; /* the registry in use (own or the caller's) */
    postie_queue_limits_t limits; /* queue limits: zero for the defaults; set before a call */
    postie_smtp_client_t client;
    postie_mime_writer_t writer;
    postie_message_t msg;
    postie_mailbox_t to[POSTIE_NOTIFY_RCPT_MAX];
    postie_mailbox_t cc[POSTIE_NOTIFY_RCPT_MAX];
    char from_name[POSTIE_MIME_FIELD_MAX + 1];
    char subject[POSTIE_MIME_SUBJECT_MAX + 1];
    char password[POSTIE_AUTH_FIELD_MAX + 1]; /* wiped after each call */
    postie_oauth_provider_t oauth; /* an oauth2 session's tokens (postie/posix/oauth.h) */
    postie_spool_t spool;
    postie_queue_t queue;
} postie_notifier_t;

/* Load the registry file (path; NULL: $POSTIE_REGISTRY, else
 * POSTIE_REGISTRY_DEFAULT_PATH, see postie/posix/registry_file.h) into n.
 * Errors: POSTIE_E_FILE (err->subject names the file; errno says why),
 * POSTIE_E_NO_SPACE when the parse arena cannot be had, or the loader's
 * status with err->subject holding the first problem's registry path and
 * message. err may be NULL. */
postie_status_t postie_notifier_open(postie_notifier_t *n, const char *registry_path,
                                     postie_error_t *err);

/* Use a registry the caller has loaded (it must outlive the notifier's
 * use) instead of loading one; or NULL for none (then only
 * postie_notify_session with POSTIE_NOTIFY_NOW works). */
void postie_notifier_use(postie_notifier_t *n, const postie_registry_t *reg);

/* Look up m->session in the registry and send or queue the notification
 * (see the top of this file). Returns r->status: POSTIE_OK when the server
 * accepted the message for every recipient (NOW), or when it was queued
 * (QUEUE_ONLY) or queued and delivered (QUEUE); r->queued true with a
 * transient status when it stays in the queue for a retry. Errors:
 *   POSTIE_E_NOT_FOUND          no such session
 *   POSTIE_E_INVALID_ARGUMENT   no recipient, or more than POSTIE_NOTIFY_RCPT_MAX
 *   the session's errors (its password, its From template, the subject
 *   with the prefix too long), the message writer's, the spool's, the
 *   queue's and the server's, each with r->error saying where. A
 *   recipient refused while others were accepted is
 *   POSTIE_E_RCPT_REJECTED with r->refused > 0 (the message went to the
 *   others). */
postie_status_t postie_notify(postie_notifier_t *n, const postie_notification_t *m,
                              postie_notify_result_t *r);

/* postie_notify with the session given (m->session is ignored). The queued
 * modes need the session to be the registry's (n's registry delivers the
 * queue). */
postie_status_t postie_notify_session(postie_notifier_t *n, const postie_session_t *s,
                                      const postie_notification_t *m, postie_notify_result_t *r);

/* One line for a person or a log: "queued 00000000000004d2; delivered",
 * "session mail/Notify: RCPT TO: recipient refused (550 5.1.1 ...)". Never
 * a secret. Returns buf. */
const char *postie_notify_describe(const postie_notify_result_t *r, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_NOTIFY_H */
