/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "Test connection" for a mail account (the CLI's `account test`), like
 * postie_session_test_connection for sessions: DNS, TCP, TLS (version,
 * cipher, certificate subject and expiry), the server's capabilities, the
 * login (and for IMAP the folder), the message count. Every step is
 * reported; after a failure the later steps are marked skipped. Nothing
 * on the server is changed.
 *
 * Blocking, bounded by the account's timeouts. RAM: a mailbox client on
 * the heap for the call.
 */
#ifndef POSTIE_MAILBOX_CHECK_H
#define POSTIE_MAILBOX_CHECK_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/posix/mailbox_client.h"
#include "postie/posix/session_check.h" /* postie_step_result_t */

typedef enum {
    POSTIE_MCHECK_DNS,
    POSTIE_MCHECK_TCP,
    POSTIE_MCHECK_TLS,
    POSTIE_MCHECK_CAPABILITIES,
    POSTIE_MCHECK_LOGIN,
    POSTIE_MCHECK_MAILBOX, /* STAT (POP3) or SELECT (IMAP): the message count */
    POSTIE_MCHECK_COUNT
} postie_mailbox_check_step_t;

typedef struct {
    postie_step_result_t result[POSTIE_MCHECK_COUNT];
    postie_status_t status; /* POSTIE_OK when every step passed */
    postie_error_t error;   /* the failing step's detail */
    char addresses[160];    /* what DNS gave, space-separated */
    uint32_t dns_ms;
    char peer[64]; /* the address TCP connected to */
    uint16_t port;
    uint32_t connect_ms;
    postie_tls_info_t tls;  /* valid when result[TLS] is OK */
    char capabilities[160]; /* valid when result[CAPABILITIES] is OK */
    uint32_t messages;      /* valid when result[MAILBOX] is OK */
    uint64_t octets;        /* POP3: the mailbox size; IMAP: 0 */
    uint32_t uidvalidity;   /* IMAP */
} postie_mailbox_check_report_t;

/* Diagnose the account's server. Returns report->status. */
postie_status_t postie_mailbox_test_connection(const postie_mailbox_client_config_t *cfg,
                                               postie_mailbox_check_report_t *report);

const char *postie_mailbox_check_step_name(postie_mailbox_check_step_t step);

#endif /* POSTIE_MAILBOX_CHECK_H */
