/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one driver: any sans-IO engine over any transport (see driver.h for
 * the order in which the state bits are served and why).
 */
#include "postie/common/driver.h"

#include <string.h>

#include "postie/common/clock.h"

/* What the driver was doing when the transport failed (the engine records
 * it as the subject of its error). */
static const char WHAT_SEND[] = "sending";
static const char WHAT_RECV[] = "receiving";
static const char WHAT_TLS[] = "TLS handshake after STARTTLS";
static const char WHAT_BODY[] = "reading the message body";

void postie_driver_init(postie_driver_t *d, const postie_engine_ops_t *ops, void *engine,
                        postie_transport_t *io, uint8_t *stage, size_t stage_cap,
                        const postie_driver_hooks_t *hooks)
{
    memset(d, 0, sizeof(*d));
    d->ops = ops;
    d->engine = engine;
    d->io = io;
    d->stage = stage;
    d->stage_cap = stage != NULL ? stage_cap : 0;
    if (hooks != NULL) {
        d->hooks = *hooks;
    }
}

void postie_driver_set_body(postie_driver_t *d, postie_read_fn read, void *ctx)
{
    d->body = read;
    d->body_ctx = ctx;
    d->body_eof = false;
    d->stage_pos = d->stage_len = 0;
}

bool postie_driver_reached(const postie_driver_t *d)
{
    return d->reached;
}

/* The transport failed: the engine ends the session (its error names the
 * step), then the hook keeps the transport's detail. */
static void transport_failed(postie_driver_t *d, postie_status_t st, const char *what)
{
    d->ops->fail(d->engine, st, what);
    if (d->hooks.transport_failed != NULL) {
        d->hooks.transport_failed(d->hooks.ctx, st, what);
    }
}

/* Give the engine body bytes: refill the staging buffer from the source
 * when it is empty, hand over what the engine takes, and at the end of the
 * source end the body. False when nothing moved (the engine's buffer is
 * full, the engine refused the bytes, or the source failed). */
static bool feed_body(postie_driver_t *d)
{
    uint32_t now = postie_clock_ms();
    if (d->stage_pos == d->stage_len && !d->body_eof) {
        size_t got = 0;
        postie_status_t st = d->body(d->body_ctx, d->stage, d->stage_cap, &got);
        if (st == POSTIE_OK && got > d->stage_cap) {
            st = POSTIE_E_SOURCE_FAILED; /* the source broke its contract */
        }
        if (st != POSTIE_OK) {
            /* The message cannot be completed, and DATA cannot be taken
             * back, so the session ends here. */
            d->ops->fail(d->engine, st, WHAT_BODY);
            return false;
        }
        d->stage_pos = 0;
        d->stage_len = got;
        d->body_eof = (got == 0);
    }
    if (d->stage_pos < d->stage_len) {
        size_t used = 0;
        postie_status_t st = d->ops->body_write(d->engine, d->stage + d->stage_pos,
                                                d->stage_len - d->stage_pos, &used, now);
        if (used > d->stage_len - d->stage_pos) {
            used = d->stage_len - d->stage_pos;
        }
        d->stage_pos += used;
        return st == POSTIE_OK && used > 0;
    }
    return d->ops->body_end(d->engine, now) == POSTIE_OK;
}

/* Take the replies that have already arrived, without waiting: while a
 * long body goes out in pipelined chunks (BDAT), each chunk's reply would
 * otherwise wait in the transport until the body ends. A host kernel
 * buffers them; lwIP holds each in a pbuf of its small pool, and once the
 * pool is empty it drops every incoming segment, the ACKs of the body
 * too, and the session stalls. */
static void drain(postie_driver_t *d)
{
    for (;;) {
        size_t cap = 0;
        size_t got = 0;
        uint8_t *buf;
        postie_status_t rc;

        if ((d->ops->state(d->engine) & (POSTIE_ENGINE_WANT_RX | POSTIE_ENGINE_FAILED |
                                         POSTIE_ENGINE_EVENT)) != POSTIE_ENGINE_WANT_RX) {
            return; /* an event first stops the drain: the flight leaves now */
        }
        buf = d->ops->rx_buf(d->engine, &cap);
        if (cap == 0) {
            return; /* the engine's window is full: the reply step reports it */
        }
        rc = postie_transport_recv(d->io, buf, cap, &got, 0);
        if (rc == POSTIE_OK && (got == 0 || got > cap)) {
            rc = POSTIE_E_IO;
        }
        if (rc == POSTIE_OK) {
            d->ops->rx_ack(d->engine, got, postie_clock_ms());
        } else if (rc == POSTIE_E_CONNECTION_CLOSED) {
            d->ops->rx_eof(d->engine);
            return;
        } else if (rc != POSTIE_E_TIMEOUT) {
            transport_failed(d, rc, WHAT_RECV);
            return;
        } else {
            return; /* nothing more there */
        }
    }
}

/* Send everything the engine has queued, as one flight bounded by the
 * engine's send timeout. Each partial send is acknowledged as it goes, so
 * the engine knows exactly what has left (and starts reply clocks then). */
static void send_flight(postie_driver_t *d)
{
    uint32_t start = postie_clock_ms();
    uint32_t limit = d->ops->send_timeout_ms(d->engine);

    while (d->ops->state(d->engine) & POSTIE_ENGINE_HAVE_TX) {
        size_t len = 0;
        size_t sent = 0;
        const uint8_t *buf = d->ops->tx_buf(d->engine, &len);
        uint32_t elapsed = postie_clock_ms() - start;
        postie_status_t rc;

        if (len == 0) {
            transport_failed(d, POSTIE_E_BAD_STATE, WHAT_SEND); /* the engine broke its word */
            return;
        }
        rc = postie_transport_send(d->io, buf, len, &sent, elapsed < limit ? limit - elapsed : 0);
        if (rc == POSTIE_E_TIMEOUT && postie_clock_ms() - start < limit) {
            continue; /* returned early (would block): try again while time is left */
        }
        if (rc == POSTIE_OK && (sent == 0 || sent > len)) {
            rc = POSTIE_E_IO; /* OK means 1..len octets went; stop rather than spin */
        }
        if (rc != POSTIE_OK) {
            transport_failed(d, rc, WHAT_SEND);
            return;
        }
        d->ops->tx_ack(d->engine, sent, postie_clock_ms());
    }
}

static void upgrade_tls(postie_driver_t *d)
{
    postie_transport_t *upgraded = NULL;
    postie_status_t rc = POSTIE_E_TLS_SETUP;

    if (d->hooks.tls_upgrade != NULL) {
        rc = d->hooks.tls_upgrade(d->hooks.ctx, d->io, &upgraded);
        if (rc == POSTIE_OK && upgraded == NULL) {
            rc = POSTIE_E_TLS_SETUP;
        }
    }
    if (rc != POSTIE_OK) {
        transport_failed(d, rc, WHAT_TLS);
        return;
    }
    d->io = upgraded;
    d->ops->tls_done(d->engine, postie_clock_ms());
}

/* One receive, bounded by what is left of the reply's deadline. At 0 the
 * transport still hands over bytes already there, then reports the timeout
 * that poll enforces. */
static void receive(postie_driver_t *d)
{
    size_t cap = 0;
    size_t got = 0;
    uint8_t *buf = d->ops->rx_buf(d->engine, &cap);
    uint32_t wait = d->ops->timeout_ms(d->engine, postie_clock_ms());
    postie_status_t rc;

    if (cap == 0) {
        transport_failed(d, POSTIE_E_BAD_STATE, WHAT_RECV); /* the engine broke its word */
        return;
    }
    rc = postie_transport_recv(d->io, buf, cap, &got, wait);
    if (rc == POSTIE_OK && (got == 0 || got > cap)) {
        rc = POSTIE_E_IO; /* OK means 1..cap octets came */
    }
    if (rc == POSTIE_OK) {
        d->ops->rx_ack(d->engine, got, postie_clock_ms());
    } else if (rc == POSTIE_E_TIMEOUT) {
        d->ops->poll(d->engine, postie_clock_ms());
    } else if (rc == POSTIE_E_CONNECTION_CLOSED) {
        d->ops->rx_eof(d->engine);
    } else {
        transport_failed(d, rc, WHAT_RECV);
    }
}

postie_status_t postie_driver_run(postie_driver_t *d, uint32_t until_state, int until_event)
{
    d->reached = false;
    for (;;) {
        postie_engine_event_t ev;
        uint32_t st;

        while (d->ops->next_event(d->engine, &ev)) {
            if (d->hooks.event != NULL) {
                d->hooks.event(d->hooks.ctx, &ev);
            }
            if (until_event != 0 && ev.type == until_event) {
                d->reached = true;
            }
        }
        st = d->ops->state(d->engine);
        if (st & POSTIE_ENGINE_FAILED) {
            postie_status_t why = d->ops->error(d->engine)->status;
            return why != POSTIE_OK ? why : POSTIE_E_BAD_STATE;
        }
        if (d->reached || (st & until_state)) {
            d->reached = true;
            return POSTIE_OK;
        }
        if (st & POSTIE_ENGINE_CLOSED) {
            return POSTIE_E_BAD_STATE; /* over, short of the goal */
        }
        if ((st & POSTIE_ENGINE_WANT_BODY) && d->body != NULL && d->ops->body_write != NULL &&
            d->stage_cap > 0) {
            if (feed_body(d)) {
                continue;
            }
            /* a refused body (NUL, undeclared 8-bit) or a failed source ends
             * the session: let the top of the loop report it */
            if (d->ops->state(d->engine) & (POSTIE_ENGINE_FAILED | POSTIE_ENGINE_EVENT)) {
                continue;
            }
            st = d->ops->state(d->engine);
        }
        if (st & POSTIE_ENGINE_HAVE_TX) {
            if (st & POSTIE_ENGINE_WANT_RX) {
                drain(d); /* replies to earlier chunks, before the next flight */
                if (d->ops->state(d->engine) & POSTIE_ENGINE_FAILED) {
                    continue;
                }
                /* Events the drain raised wait until the flight is out:
                 * the bytes queued are the caller's, already decided, and
                 * holding them while replies keep coming would leave a
                 * pipelined peer idle (a fetch's next RETR queued behind
                 * every answer already on the way). */
            }
            send_flight(d);
        } else if (st & POSTIE_ENGINE_NEED_TLS) {
            upgrade_tls(d);
        } else if (st & POSTIE_ENGINE_WANT_RX) {
            receive(d);
        } else {
            /* idle short of the goal, or it wants a body and has no source */
            return POSTIE_E_BAD_STATE;
        }
    }
}
