/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event-driven runner: the non-blocking twin of the driver
 * (postie/common/driver.h). It runs any sans-IO engine, through the same
 * postie_engine_ops_t, over a transport that never blocks, from whatever
 * wakes the program: lwIP's recv, sent and poll callbacks on bare metal
 * (NO_SYS=1), an event loop, a timer.
 *
 * A non-blocking transport is an ordinary postie_transport_t whose send and
 * recv, called with a timeout of 0, return at once: POSTIE_OK with the bytes
 * that moved, or POSTIE_E_TIMEOUT when nothing can move now (no room to
 * send, nothing received: a would-block), or a real error
 * (POSTIE_E_CONNECTION_CLOSED, _RESET, _IO...). postie/lwip/tcp_raw.h is one.
 *
 * postie_runner_step() does everything that can be done without waiting and
 * returns; call it again whenever something may have changed: bytes arrived,
 * sent bytes were acknowledged (room to send), a timer fired. It serves the
 * engine's state bits in the driver's order:
 *
 *   EVENT      take every event (the event hook sees each; one may be the goal)
 *   FAILED     stop: the engine's error says why
 *   goal       stop: a state bit of the goal is set, or its event was taken
 *   WANT_BODY  read the body source (which must not block) into the staging
 *              buffer and give the engine what it takes (a source may say
 *              POSTIE_E_AGAIN: nothing yet; the runner waits for the next step)
 *   HAVE_TX    send what the transport takes now, acknowledging each partial
 *              send; when it takes nothing, wait (POSTIE_E_AGAIN) for room.
 *              The whole flight must leave within the engine's send timeout
 *              (send_timeout_ms, taken when the flight starts), checked on
 *              every step
 *   NEED_TLS   (once HAVE_TX is clear) the TLS hook steps the handshake over
 *              the transport until it says done (it keeps its own deadline);
 *              the runner then runs over what it returned and tells the engine
 *   WANT_RX    take every byte received; when none is left and the engine's
 *              reply deadline is over (timeout_ms is 0) let the engine
 *              enforce it (poll); on POSTIE_E_CONNECTION_CLOSED tell it the
 *              peer closed (rx_eof)
 *   otherwise  stop short of the goal (POSTIE_E_BAD_STATE)
 *
 * Deadlines come from the engine alone: the runner has no timer. They are
 * only checked when the runner is stepped, so step it from a periodic timer
 * too (lwIP's tcp_poll: every 500 ms at interval 1); a deadline is then
 * enforced at most one period late.
 *
 * Failures end the session through the engine's fail op, as with the driver
 * ("sending", "receiving", "TLS handshake after STARTTLS", "reading the
 * message body"), then the transport_failed hook sees the status.
 *
 * RAM: sizeof(postie_runner_t), 128 octets on x86-64 (72 on Cortex-M4), plus the caller's
 * staging buffer for body bytes. No allocation; nothing static.
 *
 * Thread model: a runner, its engine and its transport belong to one thread
 * (on lwIP: the tcpip thread, or the NO_SYS main loop). A step called from
 * inside the runner's own hooks (an event hook closing the connection,
 * say) does not recurse: it asks the running step to go round once more.
 */
#ifndef POSTIE_RUNNER_H
#define POSTIE_RUNNER_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/driver.h"
#include "postie/common/status.h"
#include "postie/common/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* STARTTLS, one step at a time: start or continue a TLS handshake over the
 * connected transport lower, without blocking. Return POSTIE_E_AGAIN while
 * it waits for the peer (the runner calls again on its next step), POSTIE_OK
 * with *upgraded set to the transport to use from now on, or the failure
 * (lower stays open; the caller closes it). The hook bounds the handshake by
 * a deadline of its own, checked on each call. now is postie_clock_ms(). */
typedef postie_status_t (*postie_runner_tls_fn)(void *ctx, postie_transport_t *lower,
                                                postie_transport_t **upgraded, uint32_t now);

typedef struct {
    postie_runner_tls_fn tls_step;            /* NULL: NEED_TLS fails with POSTIE_E_TLS_SETUP */
    postie_driver_failed_fn transport_failed; /* may be NULL */
    postie_driver_event_fn event;             /* may be NULL */
    void *ctx;                                /* passed to each hook */
} postie_runner_hooks_t;

/* Treat every field as private except io, which the caller may read (and
 * set before the first step, e.g. to a TLS layer after an implicit-TLS
 * handshake). */
typedef struct {
    const postie_engine_ops_t *ops;
    void *engine;
    postie_transport_t *io;
    postie_runner_hooks_t hooks;
    uint8_t *stage;
    size_t stage_cap;
    size_t stage_pos;
    size_t stage_len;
    postie_read_fn body;
    void *body_ctx;
    uint32_t until_state;
    int until_event;
    uint32_t flight_start; /* when the flight of sends in progress began */
    bool in_flight;        /* HAVE_TX was seen and has not cleared since */
    bool body_eof;
    bool reached;
    bool busy;  /* a step is running */
    bool again; /* a step was asked for while busy */
} postie_runner_t;

/* Set a runner up over an engine (already initialised) and a transport
 * (connected, or connected before the first step). stage as for the
 * driver (may be NULL, cap 0, for an engine that never wants a body).
 * hooks may be NULL; it is copied. engine, io and stage must stay valid
 * while the runner is used. The goal starts as "none" (see set_goal). */
void postie_runner_init(postie_runner_t *r, const postie_engine_ops_t *ops, void *engine,
                        postie_transport_t *io, uint8_t *stage, size_t stage_cap,
                        const postie_runner_hooks_t *hooks);

/* The body source for the next steps (a new message; staging starts
 * empty); it must not block: *got = 0 ends the body. NULL: none. */
void postie_runner_set_body(postie_runner_t *r, postie_read_fn read, void *ctx);

/* What the next steps work towards: until_state (any of those state bits
 * set) or until_event (an event of that type taken; 0: none). Clears
 * postie_runner_reached(). */
void postie_runner_set_goal(postie_runner_t *r, uint32_t until_state, int until_event);

/* Do all that can be done now. Returns:
 *   POSTIE_OK           the goal was reached (stepping again changes nothing
 *                       until a new goal is set);
 *   POSTIE_E_AGAIN      waiting for the network or the clock: step again
 *                       when the transport signals, and periodically;
 *   the engine's error  the session failed (an event goal taken along the
 *                       way still counts: postie_runner_reached);
 *   POSTIE_E_BAD_STATE  the engine stopped short of the goal (closed, idle,
 *                       or it wants body bytes and no source was set).
 * Never blocks. */
postie_status_t postie_runner_step(postie_runner_t *r);

/* Whether the goal was reached (also when the engine failed right after). */
bool postie_runner_reached(const postie_runner_t *r);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_RUNNER_H */
