/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SMTP engine behind the driver's engine interface: one line per op.
 */
#include "postie/common/driver_smtp.h"

_Static_assert(POSTIE_SMTP_WANT_RX == POSTIE_ENGINE_WANT_RX &&
                   POSTIE_SMTP_HAVE_TX == POSTIE_ENGINE_HAVE_TX &&
                   POSTIE_SMTP_NEED_TLS == POSTIE_ENGINE_NEED_TLS &&
                   POSTIE_SMTP_WANT_BODY == POSTIE_ENGINE_WANT_BODY &&
                   POSTIE_SMTP_READY == POSTIE_ENGINE_READY &&
                   POSTIE_SMTP_EVENT == POSTIE_ENGINE_EVENT &&
                   POSTIE_SMTP_CLOSED == POSTIE_ENGINE_CLOSED &&
                   POSTIE_SMTP_FAILED == POSTIE_ENGINE_FAILED,
               "the SMTP state bits are the driver's");

static uint32_t smtp_state(const void *e)
{
    return postie_smtp_state(e);
}

static const uint8_t *smtp_tx_buf(const void *e, size_t *len)
{
    return postie_smtp_tx_buf(e, len);
}

static void smtp_tx_ack(void *e, size_t sent, uint32_t now)
{
    postie_smtp_tx_ack(e, sent, now);
}

static uint8_t *smtp_rx_buf(void *e, size_t *cap)
{
    return postie_smtp_rx_buf(e, cap);
}

static void smtp_rx_ack(void *e, size_t got, uint32_t now)
{
    (void)postie_smtp_rx_ack(e, got, now); /* a failure shows in the state */
}

static void smtp_rx_eof(void *e)
{
    postie_smtp_rx_eof(e);
}

static void smtp_fail(void *e, postie_status_t status, const char *what)
{
    postie_smtp_transport_failed(e, status, what);
}

static void smtp_tls_done(void *e, uint32_t now)
{
    (void)postie_smtp_tls_done(e, now);
}

static uint32_t smtp_timeout_ms(const void *e, uint32_t now)
{
    return postie_smtp_timeout_ms(e, now);
}

static uint32_t smtp_send_timeout_ms(const void *e)
{
    return postie_smtp_send_timeout_ms(e);
}

static void smtp_poll(void *e, uint32_t now)
{
    (void)postie_smtp_poll(e, now); /* a timeout shows in the state */
}

static bool smtp_next_event(void *e, postie_engine_event_t *ev)
{
    postie_smtp_event_t sev;
    if (!postie_smtp_next_event(e, &sev)) {
        return false;
    }
    ev->type = (int)sev.type;
    ev->index = sev.index;
    ev->status = sev.status;
    return true;
}

static postie_status_t smtp_body_write(void *e, const uint8_t *data, size_t len, size_t *used,
                                       uint32_t now)
{
    return postie_smtp_body_write(e, data, len, used, now);
}

static postie_status_t smtp_body_end(void *e, uint32_t now)
{
    return postie_smtp_body_end(e, now);
}

static const postie_error_t *smtp_error(const void *e)
{
    return postie_smtp_error(e);
}

const postie_engine_ops_t postie_driver_smtp_ops = {
    .state = smtp_state,
    .tx_buf = smtp_tx_buf,
    .tx_ack = smtp_tx_ack,
    .rx_buf = smtp_rx_buf,
    .rx_ack = smtp_rx_ack,
    .rx_eof = smtp_rx_eof,
    .fail = smtp_fail,
    .tls_done = smtp_tls_done,
    .timeout_ms = smtp_timeout_ms,
    .send_timeout_ms = smtp_send_timeout_ms,
    .poll = smtp_poll,
    .next_event = smtp_next_event,
    .body_write = smtp_body_write,
    .body_end = smtp_body_end,
    .error = smtp_error,
};
