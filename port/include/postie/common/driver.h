/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one driver: runs any sans-IO engine (SMTP now; POP3 and IMAP with the
 * same shape) over any postie_transport_t, blocking until a goal is reached.
 *
 * The engine says what it wants through state bits; the driver does that one
 * thing and asks again, serving the bits in this order:
 *
 *   EVENT      take every event (the event hook sees each; one may be the goal)
 *   FAILED     stop: the engine's error says why
 *   goal       stop: a state bit of the goal is set, or its event was taken
 *   WANT_BODY  read the body source into the staging buffer and give the
 *              engine what it takes, before sending (so commands and the
 *              first body octets leave in one write)
 *   HAVE_TX    first, when the engine also waits for replies (pipelined
 *              commands, BDAT chunks), take those already received without
 *              waiting (a receive with timeout 0), up to the first reply
 *              that raises an event; then (unless the engine failed) send
 *              the engine's bytes, acknowledging each partial send, until
 *              none are left, before the events are taken: queued commands
 *              never wait behind replies still arriving; the whole flight
 *              within the engine's send timeout (send_timeout_ms, taken
 *              when the flight starts)
 *   NEED_TLS   (once HAVE_TX is clear) the TLS hook wraps the connected
 *              transport and handshakes; the driver then runs over what the
 *              hook returned and tells the engine (tls_done)
 *   WANT_RX    receive into the engine's window, waiting at most what is left
 *              of the engine's reply deadline (timeout_ms); on POSTIE_E_TIMEOUT
 *              let the engine enforce its deadline (poll); on
 *              POSTIE_E_CONNECTION_CLOSED tell it the peer closed (rx_eof)
 *   otherwise  stop short of the goal
 *
 * Deadlines come from the engine alone: the driver keeps no timer of its own.
 * Received bytes do not extend a reply's deadline (the engine counts it from
 * when the reply was awaited), so a peer that trickles its bytes still ends
 * in POSTIE_E_TIMEOUT on time. A transport that returns POSTIE_E_TIMEOUT
 * early (a would-block) is simply called again: the engine's deadline, on
 * postie_clock_ms(), decides when waiting is over. The clock must advance
 * (postie/common/clock.h; the port provides it, a test may fake it).
 *
 * Transport failures (an error from send or recv, a send timeout, a failed
 * TLS upgrade, a transport that breaks its contract: POSTIE_E_IO) end the
 * session through the engine's fail op, naming what the driver was doing
 * ("sending", "receiving", "TLS handshake after STARTTLS"); the transport
 * hook then sees the status, to keep a transport's own detail. A failed
 * body source ends the session through fail too ("reading the message
 * body"), without the transport hook.
 *
 * RAM: sizeof(postie_driver_t), 112 octets on x86-64 (56 on Cortex-M4),
 * plus the caller's staging buffer for body bytes (any size; the SMTP
 * client's is POSTIE_CLIENT_BODY_CHUNK), plus the stack of one call. No
 * allocation; nothing static. Code: about 1 kB on Cortex-M4 (-Os).
 *
 * Thread model: a driver, its engine and its transport belong to one thread
 * at a time; drivers share nothing.
 */
#ifndef POSTIE_DRIVER_H
#define POSTIE_DRIVER_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"
#include "postie/common/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The engine interface ----------------------------------------------- */

/* State bits an engine reports (the SMTP engine's POSTIE_SMTP_* bits have
 * these values). An engine sets only those it uses. */
#define POSTIE_ENGINE_WANT_RX   0x01u /* waiting for peer bytes */
#define POSTIE_ENGINE_HAVE_TX   0x02u /* bytes to send */
#define POSTIE_ENGINE_NEED_TLS  0x04u /* upgrade the connection to TLS now, then tls_done */
#define POSTIE_ENGINE_WANT_BODY 0x08u /* give body bytes (body_write, then body_end) */
#define POSTIE_ENGINE_READY     0x10u /* idle: the caller may start the next command */
#define POSTIE_ENGINE_EVENT     0x20u /* an event is waiting */
#define POSTIE_ENGINE_CLOSED    0x40u /* the session ended politely */
#define POSTIE_ENGINE_FAILED    0x80u /* the session is over; error says why */

/* An engine's event, as the driver hands it on. type is the engine's own
 * code (POSTIE_SMTP_EV_*, ...), never 0 for a real event. */
typedef struct {
    int type;
    uint16_t index;
    postie_status_t status;
} postie_engine_event_t;

/* What the driver calls. e is the engine the driver was given. Every `now`
 * is postie_clock_ms(). All ops are required except body_write and
 * body_end, which an engine that never sets WANT_BODY may leave NULL. */
typedef struct {
    uint32_t (*state)(const void *e); /* POSTIE_ENGINE_* bits */
    /* Bytes to send (len > 0 while HAVE_TX); sent of them have left. */
    const uint8_t *(*tx_buf)(const void *e, size_t *len);
    void (*tx_ack)(void *e, size_t sent, uint32_t now);
    /* Window to receive into (cap > 0 while WANT_RX); got octets landed. */
    uint8_t *(*rx_buf)(void *e, size_t *cap);
    void (*rx_ack)(void *e, size_t got, uint32_t now);
    void (*rx_eof)(void *e); /* the peer closed the connection */
    /* The transport or the body source failed: end the session, recording
     * status and what (a short phrase that stays valid: a literal). */
    void (*fail)(void *e, postie_status_t status, const char *what);
    void (*tls_done)(void *e, uint32_t now); /* the TLS upgrade asked for succeeded */
    /* Milliseconds a receive may wait now: what is left of the awaited
     * reply's deadline (0: call poll now). */
    uint32_t (*timeout_ms)(const void *e, uint32_t now);
    uint32_t (*send_timeout_ms)(const void *e); /* how long one flight of sends may take */
    void (*poll)(void *e, uint32_t now);        /* enforce the deadlines */
    bool (*next_event)(void *e, postie_engine_event_t *ev); /* false: none left */
    /* Give body bytes; *used says how many were taken (0 is allowed). */
    postie_status_t (*body_write)(void *e, const uint8_t *data, size_t len, size_t *used,
                                  uint32_t now);
    /* The body is complete; POSTIE_E_AGAIN: send what is buffered first. */
    postie_status_t (*body_end)(void *e, uint32_t now);
    /* Why the session failed (read once FAILED is set). */
    const postie_error_t *(*error)(const void *e);
} postie_engine_ops_t;

/* ---- Hooks -------------------------------------------------------------- */

/* STARTTLS: wrap the connected transport lower in TLS and handshake over it
 * (bounding the handshake by a deadline of its own; the engine has none for
 * it), then set *upgraded to the transport to use from now on. On failure
 * return the status (lower stays open; the caller closes it). */
typedef postie_status_t (*postie_driver_tls_fn)(void *ctx, postie_transport_t *lower,
                                                postie_transport_t **upgraded);

/* A transport failure, after the engine has been told (so its error names
 * the step): keep the transport's detail. what is the driver's phrase. */
typedef void (*postie_driver_failed_fn)(void *ctx, postie_status_t status, const char *what);

/* Every event the driver takes from the engine, in order. */
typedef void (*postie_driver_event_fn)(void *ctx, const postie_engine_event_t *ev);

typedef struct {
    postie_driver_tls_fn tls_upgrade;         /* NULL: NEED_TLS fails with POSTIE_E_TLS_SETUP */
    postie_driver_failed_fn transport_failed; /* may be NULL */
    postie_driver_event_fn event;             /* may be NULL */
    void *ctx;                                /* passed to each hook */
} postie_driver_hooks_t;

/* ---- The driver --------------------------------------------------------- */

/* Treat every field as private except io, which the caller may read (and
 * set before a run, e.g. to the TLS layer after an implicit-TLS connect). */
typedef struct {
    const postie_engine_ops_t *ops;
    void *engine;
    postie_transport_t *io; /* the transport in use; after STARTTLS the hook's */
    postie_driver_hooks_t hooks;
    uint8_t *stage; /* the caller's buffer for body bytes */
    size_t stage_cap;
    size_t stage_pos;
    size_t stage_len;
    postie_read_fn body; /* the body source of the message in progress */
    void *body_ctx;
    bool body_eof;
    bool reached; /* the last run reached its goal */
} postie_driver_t;

/* Set a driver up over an engine (already initialised) and a transport
 * (connected, or connected before the first run). stage (stage_cap > 0) is
 * where body bytes are read to; it may be NULL (cap 0) for an engine that
 * never wants a body. hooks may be NULL (no hooks); it is copied. engine,
 * io and stage must stay valid while the driver is used. */
void postie_driver_init(postie_driver_t *d, const postie_engine_ops_t *ops, void *engine,
                        postie_transport_t *io, uint8_t *stage, size_t stage_cap,
                        const postie_driver_hooks_t *hooks);

/* The body source for the next runs (a new message: staging starts empty),
 * read when the engine wants body bytes; *got = 0 ends the body. NULL:
 * none (a run that meets WANT_BODY then returns POSTIE_E_BAD_STATE). */
void postie_driver_set_body(postie_driver_t *d, postie_read_fn read, void *ctx);

/* Run the engine until the goal: until_state (any of those state bits set)
 * or until_event (an event of that type taken; 0: none), whichever comes
 * first. Returns:
 *   POSTIE_OK           the goal was reached;
 *   the engine's error  the session failed (error op); an event goal taken
 *                       along the way still counts (postie_driver_reached);
 *   POSTIE_E_BAD_STATE  the engine stopped short of the goal: it closed, or
 *                       is idle, or wants body bytes and no source was set.
 * Blocks at most as long as the engine's deadlines (and the TLS hook's). */
postie_status_t postie_driver_run(postie_driver_t *d, uint32_t until_state, int until_event);

/* Whether the last run reached its goal (also when the engine failed right
 * after, as when a message ends together with the session). */
bool postie_driver_reached(const postie_driver_t *d);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_DRIVER_H */
