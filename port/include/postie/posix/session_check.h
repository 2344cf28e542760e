/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operations on a named session, as library calls (the CLI's
 * test-connection and test-email print what these return):
 *
 *   postie_session_test_connection()  a structured diagnosis: DNS, TCP,
 *       TLS, SMTP, login, each step reported even when a later one fails
 *       (the steps after a failure are marked skipped)
 *   postie_session_test_email()       a clearly labelled test message to
 *       the given recipients; the server's final reply comes back
 *
 * Both are blocking and bounded by the session's timeouts. RAM: the SMTP
 * client (see postie/posix/smtp_client.h) for the diagnosis and, for the
 * test email, a notifier (postie/posix/notify.h: the test email is sent
 * with postie_notify_session), both static inside: one call at a time per
 * process.
 */
#ifndef POSTIE_SESSION_CHECK_H
#define POSTIE_SESSION_CHECK_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/session/registry.h"
#include "postie/posix/smtp_client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    POSTIE_CHECK_DNS,
    POSTIE_CHECK_TCP,
    POSTIE_CHECK_TLS,
    POSTIE_CHECK_SMTP,
    POSTIE_CHECK_LOGIN,
    POSTIE_CHECK_COUNT
} postie_check_step_t;

typedef enum {
    POSTIE_STEP_SKIPPED = 0, /* not reached: an earlier step failed */
    POSTIE_STEP_OK,
    POSTIE_STEP_NOT_USED, /* the session does not use it (no TLS, no login) */
    POSTIE_STEP_FAILED
} postie_step_result_t;

typedef struct {
    postie_step_result_t result[POSTIE_CHECK_COUNT];
    postie_status_t status; /* POSTIE_OK when every step passed */
    postie_error_t error;   /* the failing step's detail (server reply, host, ...) */
    char addresses[160];    /* what DNS gave, space-separated */
    uint32_t dns_ms;
    char peer[64]; /* the address TCP connected to */
    uint32_t connect_ms;
    postie_tls_info_t tls;   /* valid when result[TLS] is OK */
    postie_smtp_caps_t caps; /* valid when result[SMTP] is OK */
} postie_connection_report_t;

/* Diagnose the session's server. Returns report->status. */
postie_status_t postie_session_test_connection(const postie_session_t *s,
                                               postie_connection_report_t *report);

const char *postie_check_step_name(postie_check_step_t step);

/* Send a labelled test message ("Postie test email", naming the session,
 * the server and the time) to to[0..n) through the session, From its
 * template over the user "Postie test". Per-recipient results land in
 * rcpt[0..n); *final gets the server's reply to the message; on failure
 * *error says why. */
postie_status_t postie_session_test_email(const postie_session_t *s, const char *const *to,
                                          size_t n, postie_smtp_rcpt_t *rcpt,
                                          postie_reply_info_t *final, postie_error_t *error);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SESSION_CHECK_H */
