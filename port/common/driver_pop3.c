/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POP3 engine behind the driver's engine interface: one line per op.
 */
#include "postie/common/driver_pop3.h"

_Static_assert(POSTIE_POP3_WANT_RX == POSTIE_ENGINE_WANT_RX &&
                   POSTIE_POP3_HAVE_TX == POSTIE_ENGINE_HAVE_TX &&
                   POSTIE_POP3_NEED_TLS == POSTIE_ENGINE_NEED_TLS &&
                   POSTIE_POP3_READY == POSTIE_ENGINE_READY &&
                   POSTIE_POP3_EVENT == POSTIE_ENGINE_EVENT &&
                   POSTIE_POP3_CLOSED == POSTIE_ENGINE_CLOSED &&
                   POSTIE_POP3_FAILED == POSTIE_ENGINE_FAILED,
               "the POP3 state bits are the driver's");

static uint32_t pop3_state(const void *e)
{
    return postie_pop3_state(e);
}

static const uint8_t *pop3_tx_buf(const void *e, size_t *len)
{
    return postie_pop3_tx_buf(e, len);
}

static void pop3_tx_ack(void *e, size_t sent, uint32_t now)
{
    postie_pop3_tx_ack(e, sent, now);
}

static uint8_t *pop3_rx_buf(void *e, size_t *cap)
{
    return postie_pop3_rx_buf(e, cap);
}

static void pop3_rx_ack(void *e, size_t got, uint32_t now)
{
    (void)postie_pop3_rx_ack(e, got, now); /* a failure shows in the state */
}

static void pop3_rx_eof(void *e)
{
    postie_pop3_rx_eof(e);
}

static void pop3_fail(void *e, postie_status_t status, const char *what)
{
    postie_pop3_transport_failed(e, status, what);
}

static void pop3_tls_done(void *e, uint32_t now)
{
    (void)postie_pop3_tls_done(e, now);
}

static uint32_t pop3_timeout_ms(const void *e, uint32_t now)
{
    return postie_pop3_timeout_ms(e, now);
}

static uint32_t pop3_send_timeout_ms(const void *e)
{
    return postie_pop3_send_timeout_ms(e);
}

static void pop3_poll(void *e, uint32_t now)
{
    (void)postie_pop3_poll(e, now); /* a timeout shows in the state */
}

static bool pop3_next_event(void *e, postie_engine_event_t *ev)
{
    postie_pop3_event_t pev;
    if (!postie_pop3_next_event(e, &pev)) {
        return false;
    }
    ev->type = (int)pev.type;
    ev->index = (uint16_t)(pev.id & 0xFFFFu);
    ev->status = pev.status;
    return true;
}

static const postie_error_t *pop3_error(const void *e)
{
    return postie_pop3_error(e);
}

const postie_engine_ops_t postie_driver_pop3_ops = {
    .state = pop3_state,
    .tx_buf = pop3_tx_buf,
    .tx_ack = pop3_tx_ack,
    .rx_buf = pop3_rx_buf,
    .rx_ack = pop3_rx_ack,
    .rx_eof = pop3_rx_eof,
    .fail = pop3_fail,
    .tls_done = pop3_tls_done,
    .timeout_ms = pop3_timeout_ms,
    .send_timeout_ms = pop3_send_timeout_ms,
    .poll = pop3_poll,
    .next_event = pop3_next_event,
    .body_write = NULL,
    .body_end = NULL,
    .error = pop3_error,
};
