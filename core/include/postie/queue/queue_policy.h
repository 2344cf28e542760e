/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outgoing queue's decisions, as pure functions: what one delivery
 * attempt means for each recipient, when to try again, and when to give up.
 * The spool, the flush loop and the CLI (issue "Outgoing mail queue") are
 * built on these; keeping them pure makes every rule testable in isolation.
 *
 * Outcome of an attempt, per recipient:
 *   DELIVERED  the server accepted the recipient and the message (250 after
 *              the final dot or BDAT LAST): never send it again
 *   RETRY      worth trying later: 4xx for the recipient or the message,
 *              timeouts, lost connections, TLS handshakes that may pass, or
 *              the attempt stopped before the recipient was tried
 *   FAILED     retrying would fail the same way: 5xx for the recipient or
 *              the message, certificates that do not verify, bad
 *              configuration; the message goes to the error queue
 *
 * Backoff: POSTIE_QUEUE_BACKOFF_BASE_S doubled per attempt, capped at
 * POSTIE_QUEUE_BACKOFF_MAX_S, then spread by +-25 % with the caller's
 * random number so a burst of failures does not retry in lockstep.
 * A message older than POSTIE_QUEUE_MAX_AGE_S is FAILED (expired).
 *
 * RAM: none.
 */
#ifndef POSTIE_QUEUE_POLICY_H
#define POSTIE_QUEUE_POLICY_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stdint.h>

#include "postie/smtp/smtp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    POSTIE_OUTCOME_DELIVERED = 0,
    POSTIE_OUTCOME_RETRY,
    POSTIE_OUTCOME_FAILED
} postie_outcome_t;

/* What one attempt means for recipient r. message_status is the outcome of
 * the message (postie_smtp_client_send's result, or the session's failure
 * when it ended the attempt); POSTIE_OK when the server took the message. */
postie_outcome_t postie_queue_rcpt_outcome(const postie_smtp_rcpt_t *r,
                                           postie_status_t message_status);

/* Seconds to wait after failed attempt number attempt (1 = the first),
 * spread by random (any 32-bit value, e.g. from the port's RNG). */
uint32_t postie_queue_backoff_s(uint32_t attempt, uint32_t random);

/* True when a message created at created_s (seconds) is too old at now_s
 * to try again. */
bool postie_queue_expired(int64_t created_s, int64_t now_s, uint32_t max_age_s);

const char *postie_queue_outcome_name(postie_outcome_t o);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_QUEUE_POLICY_H */
