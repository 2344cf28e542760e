/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outgoing queue's decisions. See postie/queue/queue_policy.h.
 */
#include "postie/queue/queue_policy.h"

const char *postie_queue_outcome_name(postie_outcome_t o)
{
    switch (o) {
    case POSTIE_OUTCOME_DELIVERED:
        return "delivered";
    case POSTIE_OUTCOME_RETRY:
        return "retry";
    default:
        return "failed";
    }
}

static postie_outcome_t by_status(postie_status_t st)
{
    return postie_status_is_transient(st) ? POSTIE_OUTCOME_RETRY : POSTIE_OUTCOME_FAILED;
}

postie_outcome_t postie_queue_rcpt_outcome(const postie_smtp_rcpt_t *r,
                                           postie_status_t message_status)
{
    switch (r->state) {
    case POSTIE_RCPT_ACCEPTED:
        /* accepted at RCPT, but only the reply to the end of the message
         * makes it delivered */
        if (message_status == POSTIE_OK) {
            return POSTIE_OUTCOME_DELIVERED;
        }
        return by_status(message_status);
    case POSTIE_RCPT_REJECTED:
        if (r->reply.code >= 400 && r->reply.code < 500) {
            return POSTIE_OUTCOME_RETRY;
        }
        if (r->reply.code >= 500 && r->reply.code < 600) {
            return POSTIE_OUTCOME_FAILED;
        }
        return POSTIE_OUTCOME_RETRY; /* no usable reply code: assume it may pass */
    case POSTIE_RCPT_NOT_TRIED:
    case POSTIE_RCPT_PENDING:
    default:
        /* the attempt ended before this recipient: its fate is the
         * attempt's (a refused sender is permanent, a lost link is not) */
        if (message_status == POSTIE_OK || message_status == POSTIE_E_RECIPIENTS_REJECTED) {
            return POSTIE_OUTCOME_RETRY;
        }
        return by_status(message_status);
    }
}

uint32_t postie_queue_backoff_s(uint32_t attempt, uint32_t random)
{
    uint64_t delay = POSTIE_QUEUE_BACKOFF_BASE_S;
    uint64_t spread;
    for (uint32_t i = 1; i < attempt && delay < POSTIE_QUEUE_BACKOFF_MAX_S; i++) {
        delay *= 2u;
    }
    if (delay > POSTIE_QUEUE_BACKOFF_MAX_S) {
        delay = POSTIE_QUEUE_BACKOFF_MAX_S;
    }
    /* +-25 %: delay * (0.75 + 0.5 * random / 2^32) */
    spread = (delay * (uint64_t)random) >> 33; /* 0 .. delay/2 */
    delay = delay - delay / 4u + spread;
    return delay == 0 ? 1u : (uint32_t)delay;
}

bool postie_queue_expired(int64_t created_s, int64_t now_s, uint32_t max_age_s)
{
    return now_s - created_s >= (int64_t)max_age_s;
}
