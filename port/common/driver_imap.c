/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IMAP engine behind the driver's engine interface: one line per op.
 */
#include "postie/common/driver_imap.h"

_Static_assert(POSTIE_IMAP_WANT_RX == POSTIE_ENGINE_WANT_RX &&
                   POSTIE_IMAP_HAVE_TX == POSTIE_ENGINE_HAVE_TX &&
                   POSTIE_IMAP_NEED_TLS == POSTIE_ENGINE_NEED_TLS &&
                   POSTIE_IMAP_READY == POSTIE_ENGINE_READY &&
                   POSTIE_IMAP_EVENT == POSTIE_ENGINE_EVENT &&
                   POSTIE_IMAP_CLOSED == POSTIE_ENGINE_CLOSED &&
                   POSTIE_IMAP_FAILED == POSTIE_ENGINE_FAILED,
               "the IMAP state bits are the driver's");

static uint32_t imap_state(const void *e)
{
    return postie_imap_state(e);
}

static const uint8_t *imap_tx_buf(const void *e, size_t *len)
{
    return postie_imap_tx_buf(e, len);
}

static void imap_tx_ack(void *e, size_t sent, uint32_t now)
{
    postie_imap_tx_ack(e, sent, now);
}

static uint8_t *imap_rx_buf(void *e, size_t *cap)
{
    return postie_imap_rx_buf(e, cap);
}

static void imap_rx_ack(void *e, size_t got, uint32_t now)
{
    (void)postie_imap_rx_ack(e, got, now); /* a failure shows in the state */
}

static void imap_rx_eof(void *e)
{
    postie_imap_rx_eof(e);
}

static void imap_fail(void *e, postie_status_t status, const char *what)
{
    postie_imap_transport_failed(e, status, what);
}

static void imap_tls_done(void *e, uint32_t now)
{
    (void)postie_imap_tls_done(e, now);
}

static uint32_t imap_timeout_ms(const void *e, uint32_t now)
{
    return postie_imap_timeout_ms(e, now);
}

static uint32_t imap_send_timeout_ms(const void *e)
{
    return postie_imap_send_timeout_ms(e);
}

static void imap_poll(void *e, uint32_t now)
{
    (void)postie_imap_poll(e, now); /* a timeout shows in the state */
}

static bool imap_next_event(void *e, postie_engine_event_t *ev)
{
    postie_imap_event_t iev;
    if (!postie_imap_next_event(e, &iev)) {
        return false;
    }
    ev->type = (int)iev.type;
    ev->index = (uint16_t)(iev.id & 0xFFFFu);
    ev->status = iev.status;
    return true;
}

static const postie_error_t *imap_error(const void *e)
{
    return postie_imap_error(e);
}

const postie_engine_ops_t postie_driver_imap_ops = {
    .state = imap_state,
    .tx_buf = imap_tx_buf,
    .tx_ack = imap_tx_ack,
    .rx_buf = imap_rx_buf,
    .rx_ack = imap_rx_ack,
    .rx_eof = imap_rx_eof,
    .fail = imap_fail,
    .tls_done = imap_tls_done,
    .timeout_ms = imap_timeout_ms,
    .send_timeout_ms = imap_send_timeout_ms,
    .poll = imap_poll,
    .next_event = imap_next_event,
    .body_write = NULL, /* the IMAP engine never wants a body */
    .body_end = NULL,
    .error = imap_error,
};
