/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event-driven runner: any engine over a non-blocking transport, one
 * step at a time (see runner.h for the order in which the state bits are
 * served; it is the driver's).
 */
#include "postie/common/runner.h"

#include <string.h>

#include "postie/common/clock.h"

static const char WHAT_SEND[] = "sending";
static const char WHAT_RECV[] = "receiving";
static const char WHAT_TLS[] = "TLS handshake after STARTTLS";
static const char WHAT_BODY[] = "reading the message body";

/* What one pass of the loop below did. */
typedef enum { MOVED, WAIT, STOP } pass_t;

void postie_runner_init(postie_runner_t *r, const postie_engine_ops_t *ops, void *engine,
                        postie_transport_t *io, uint8_t *stage, size_t stage_cap,
                        const postie_runner_hooks_t *hooks)
{
    memset(r, 0, sizeof(*r));
    r->ops = ops;
    r->engine = engine;
    r->io = io;
    r->stage = stage;
    r->stage_cap = stage != NULL ? stage_cap : 0;
    if (hooks != NULL) {
        r->hooks = *hooks;
    }
}

void postie_runner_set_body(postie_runner_t *r, postie_read_fn read, void *ctx)
{
    r->body = read;
    r->body_ctx = ctx;
    r->body_eof = false;
    r->stage_pos = r->stage_len = 0;
}

void postie_runner_set_goal(postie_runner_t *r, uint32_t until_state, int until_event)
{
    r->until_state = until_state;
    r->until_event = until_event;
    r->reached = false;
}

bool postie_runner_reached(const postie_runner_t *r)
{
    return r->reached;
}

static void transport_failed(postie_runner_t *r, postie_status_t st, const char *what)
{
    r->ops->fail(r->engine, st, what);
    if (r->hooks.transport_failed != NULL) {
        r->hooks.transport_failed(r->hooks.ctx, st, what);
    }
}

/* Body bytes: refill the staging buffer when it is empty, hand over what
 * the engine takes, end the body at the end of the source. */
static pass_t feed_body(postie_runner_t *r, uint32_t now)
{
    if (r->stage_pos == r->stage_len && !r->body_eof) {
        size_t got = 0;
        postie_status_t st = r->body(r->body_ctx, r->stage, r->stage_cap, &got);
        if (st == POSTIE_E_AGAIN) {
            return WAIT; /* nothing yet: the source's owner steps again */
        }
        if (st == POSTIE_OK && got > r->stage_cap) {
            st = POSTIE_E_SOURCE_FAILED; /* the source broke its contract */
        }
        if (st != POSTIE_OK) {
            r->ops->fail(r->engine, st, WHAT_BODY);
            return MOVED; /* the top of the loop reports it */
        }
        r->stage_pos = 0;
        r->stage_len = got;
        r->body_eof = (got == 0);
    }
    if (r->stage_pos < r->stage_len) {
        size_t used = 0;
        postie_status_t st = r->ops->body_write(r->engine, r->stage + r->stage_pos,
                                                r->stage_len - r->stage_pos, &used, now);
        if (used > r->stage_len - r->stage_pos) {
            used = r->stage_len - r->stage_pos;
        }
        r->stage_pos += used;
        return st == POSTIE_OK && used > 0 ? MOVED : STOP;
    }
    return r->ops->body_end(r->engine, now) == POSTIE_OK ? MOVED : STOP;
}

/* Send what the transport takes now. WAIT: no room (the flight's deadline
 * is checked here, on every step). */
static pass_t send_some(postie_runner_t *r, uint32_t now)
{
    size_t len = 0;
    size_t sent = 0;
    const uint8_t *buf = r->ops->tx_buf(r->engine, &len);
    postie_status_t rc;

    if (!r->in_flight) {
        r->in_flight = true;
        r->flight_start = now;
    }
    if (len == 0) {
        transport_failed(r, POSTIE_E_BAD_STATE, WHAT_SEND); /* the engine broke its word */
        return MOVED;
    }
    rc = postie_transport_send(r->io, buf, len, &sent, 0);
    if (rc == POSTIE_E_TIMEOUT) {
        if (now - r->flight_start >= r->ops->send_timeout_ms(r->engine)) {
            transport_failed(r, POSTIE_E_TIMEOUT, WHAT_SEND);
            return MOVED;
        }
        return WAIT;
    }
    if (rc == POSTIE_OK && (sent == 0 || sent > len)) {
        rc = POSTIE_E_IO; /* OK means 1..len octets went */
    }
    if (rc != POSTIE_OK) {
        transport_failed(r, rc, WHAT_SEND);
        return MOVED;
    }
    r->ops->tx_ack(r->engine, sent, postie_clock_ms());
    return MOVED;
}

static pass_t step_tls(postie_runner_t *r, uint32_t now)
{
    postie_transport_t *upgraded = NULL;
    postie_status_t rc = POSTIE_E_TLS_SETUP;

    if (r->hooks.tls_step != NULL) {
        rc = r->hooks.tls_step(r->hooks.ctx, r->io, &upgraded, now);
        if (rc == POSTIE_E_AGAIN) {
            return WAIT;
        }
        if (rc == POSTIE_OK && upgraded == NULL) {
            rc = POSTIE_E_TLS_SETUP;
        }
    }
    if (rc != POSTIE_OK) {
        transport_failed(r, rc, WHAT_TLS);
        return MOVED;
    }
    r->io = upgraded;
    r->ops->tls_done(r->engine, postie_clock_ms());
    return MOVED;
}

/* Take what has arrived; with nothing there, enforce the reply deadline
 * once it is over. */
static pass_t receive_some(postie_runner_t *r, uint32_t now)
{
    size_t cap = 0;
    size_t got = 0;
    uint8_t *buf = r->ops->rx_buf(r->engine, &cap);
    postie_status_t rc;

    if (cap == 0) {
        transport_failed(r, POSTIE_E_BAD_STATE, WHAT_RECV); /* the engine broke its word */
        return MOVED;
    }
    rc = postie_transport_recv(r->io, buf, cap, &got, 0);
    if (rc == POSTIE_OK && (got == 0 || got > cap)) {
        rc = POSTIE_E_IO; /* OK means 1..cap octets came */
    }
    if (rc == POSTIE_OK) {
        r->ops->rx_ack(r->engine, got, postie_clock_ms());
        return MOVED;
    }
    if (rc == POSTIE_E_TIMEOUT) {
        if (r->ops->timeout_ms(r->engine, now) == 0) {
            r->ops->poll(r->engine, now);
            return MOVED;
        }
        return WAIT;
    }
    if (rc == POSTIE_E_CONNECTION_CLOSED) {
        r->ops->rx_eof(r->engine);
    } else {
        transport_failed(r, rc, WHAT_RECV);
    }
    return MOVED;
}

/* One pass: the next thing the engine wants, or the verdict. */
static postie_status_t pass(postie_runner_t *r, pass_t *did)
{
    postie_engine_event_t ev;
    uint32_t now = postie_clock_ms();
    uint32_t st;
    pass_t body = STOP;

    *did = STOP;
    while (r->ops->next_event(r->engine, &ev)) {
        if (r->hooks.event != NULL) {
            r->hooks.event(r->hooks.ctx, &ev);
        }
        if (r->until_event != 0 && ev.type == r->until_event) {
            r->reached = true;
        }
    }
    st = r->ops->state(r->engine);
    if (!(st & POSTIE_ENGINE_HAVE_TX)) {
        r->in_flight = false;
    }
    if (st & POSTIE_ENGINE_FAILED) {
        postie_status_t why = r->ops->error(r->engine)->status;
        return why != POSTIE_OK ? why : POSTIE_E_BAD_STATE;
    }
    if (r->reached || (st & r->until_state)) {
        r->reached = true;
        return POSTIE_OK;
    }
    if (st & POSTIE_ENGINE_CLOSED) {
        return POSTIE_E_BAD_STATE;
    }
    if ((st & POSTIE_ENGINE_WANT_BODY) && r->body != NULL && r->ops->body_write != NULL &&
        r->stage_cap > 0) {
        body = feed_body(r, now);
        if (body == MOVED ||
            (r->ops->state(r->engine) & (POSTIE_ENGINE_FAILED | POSTIE_ENGINE_EVENT))) {
            *did = MOVED; /* bytes moved, or a refused body the top reports */
            return POSTIE_E_AGAIN;
        }
        st = r->ops->state(r->engine);
    }
    if (st & POSTIE_ENGINE_HAVE_TX) {
        *did = send_some(r, now);
        if (*did == WAIT && (st & POSTIE_ENGINE_WANT_RX)) {
            /* no room to send: take a reply that may explain why */
            *did = receive_some(r, now);
        }
        return POSTIE_E_AGAIN;
    }
    if (st & POSTIE_ENGINE_NEED_TLS) {
        *did = step_tls(r, now);
        return POSTIE_E_AGAIN;
    }
    if (st & POSTIE_ENGINE_WANT_RX) {
        *did = receive_some(r, now);
        return POSTIE_E_AGAIN;
    }
    if (body == WAIT) {
        *did = WAIT; /* the body source has nothing yet */
        return POSTIE_E_AGAIN;
    }
    return POSTIE_E_BAD_STATE; /* idle short of the goal, or a body and no source */
}

postie_status_t postie_runner_step(postie_runner_t *r)
{
    postie_status_t rc;

    if (r->busy) {
        r->again = true; /* called from a hook: the running step goes round again */
        return POSTIE_E_AGAIN;
    }
    r->busy = true;
    do {
        pass_t did = STOP;
        r->again = false;
        do {
            rc = pass(r, &did);
        } while (rc == POSTIE_E_AGAIN && did == MOVED);
    } while (rc == POSTIE_E_AGAIN && r->again);
    r->busy = false;
    return rc;
}
