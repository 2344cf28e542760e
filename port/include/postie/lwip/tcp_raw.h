/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A non-blocking byte transport on lwIP's raw TCP API, for bare metal
 * (NO_SYS=1) or the tcpip thread: the transport an event-driven runner
 * (postie/common/runner.h) drives an engine over, from lwIP's callbacks.
 *
 *   postie_lwip_tcp_init(&t, wake, ctx);
 *   postie_lwip_tcp_start(&t, "mail.example.com", 587, 30000);
 *   ... in wake(): postie_lwip_tcp_status(&t) is POSTIE_E_AGAIN while the
 *   name resolves and TCP connects, POSTIE_OK once connected; from then on
 *   step the runner from wake().
 *
 * wake(ctx) is called from lwIP's callbacks after anything changed: the
 * name resolved, the connection opened or failed, bytes arrived (recv),
 * sent bytes were acknowledged (sent: room to send), the peer closed,
 * and from the poll timer (every poll_interval x 500 ms) so deadlines are
 * enforced without a timer of the caller's.
 *
 * Operations (postie_transport_t): send and recv never block, whatever
 * timeout they are given.
 *  - send copies into lwIP (tcp_write with TCP_WRITE_FLAG_COPY) what fits
 *    in tcp_sndbuf() now, pushes it out (tcp_output) and says how much;
 *    POSTIE_E_TIMEOUT when nothing fits (the send window is full: wait for
 *    wake, which the sent callback calls). That is TCP backpressure.
 *  - recv copies from the received pbufs, frees each pbuf once copied and
 *    calls tcp_recved() for exactly what was copied, so the window the peer
 *    sees is what the engine has taken; POSTIE_E_TIMEOUT when nothing is
 *    there, POSTIE_E_CONNECTION_CLOSED after the peer's FIN once every byte
 *    before it was taken, POSTIE_E_CONNECTION_RESET after an RST.
 *  - connect is postie_lwip_tcp_start() (returns POSTIE_E_AGAIN, the
 *    connection in progress).
 *  - close closes gracefully (tcp_close), or aborts when lwIP cannot (no
 *    memory for the FIN).
 *
 * The pcb never dangles:
 *  - lwIP's err callback means lwIP has already freed the pcb: the
 *    transport forgets it without touching it and reports the error.
 *  - close and abort first detach every callback and the arg, so lwIP never
 *    calls back into a closed transport.
 *  - close or abort called from inside one of this pcb's own callbacks
 *    (wake() deciding to give up, a deadline in the poll callback) makes
 *    that callback return ERR_ABRT to lwIP when the pcb was aborted, as
 *    lwIP requires.
 *  - a name still resolving when the transport is closed: lwIP's DNS has no
 *    cancel, and its callback will still come with this transport as its
 *    argument; the transport ignores it, but its memory must stay valid
 *    until then: postie_lwip_tcp_busy() says when it may be reused.
 *
 * Names resolve through lwIP's DNS (dns_gethostbyname, LWIP_DNS=1), bounded
 * by lwIP's own DNS retries; IP literals need no DNS. The connect deadline
 * (timeout_ms of start) is enforced from the poll timer once TCP is
 * connecting.
 *
 * RAM: sizeof(postie_lwip_tcp_t) (64 octets on x86-64, 44 on Cortex-M4), plus lwIP's pcb and
 * the pbufs received and not yet taken (bounded by TCP_WND) and the bytes
 * sent and not yet acknowledged (bounded by TCP_SND_BUF).
 *
 * Thread model: lwIP's core context only (the NO_SYS main loop, or the
 * tcpip thread / LOCK_TCPIP_CORE with NO_SYS=0). wake() runs there too.
 * Do not re-initialise the transport from inside its own wake().
 */
#ifndef POSTIE_LWIP_TCP_RAW_H
#define POSTIE_LWIP_TCP_RAW_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "postie/common/transport.h"

/* Called from lwIP's callbacks when something may have changed. */
typedef void (*postie_lwip_wake_fn)(void *ctx);

typedef struct {
    postie_transport_t base; /* must stay first */
    struct tcp_pcb *pcb;     /* NULL once closed, aborted or freed by lwIP */
    struct pbuf *rx;         /* received, not yet taken (a chain) */
    postie_lwip_wake_fn wake;
    void *wake_ctx;
    ip_addr_t addr;
    postie_status_t status; /* why the connection ended (sticky) */
    uint32_t start_ms;      /* postie_clock_ms() at start */
    uint32_t timeout_ms;    /* connect deadline */
    uint16_t port;
    uint8_t state;       /* private: see tcp_raw.c */
    uint8_t in_callback; /* depth of this pcb's callbacks on the stack */
    bool aborted_in_callback;
    bool dns_pending; /* lwIP's DNS still holds a pointer to this transport */
    bool peer_closed; /* the peer's FIN arrived */
} postie_lwip_tcp_t;

/* Interval of the poll timer, in lwIP's coarse timer ticks (500 ms). */
#ifndef POSTIE_LWIP_POLL_INTERVAL
#define POSTIE_LWIP_POLL_INTERVAL 1
#endif

/* Set up an idle transport. wake may be NULL (nothing is told). */
void postie_lwip_tcp_init(postie_lwip_tcp_t *t, postie_lwip_wake_fn wake, void *ctx);

/* Resolve host (a name through lwIP's DNS, or an IP literal) and connect to
 * port, in the background. POSTIE_E_AGAIN: in progress (wake says when it
 * changes); else the failure: POSTIE_E_INVALID_ARGUMENT (empty host),
 * POSTIE_E_BAD_STATE (not idle), POSTIE_E_DNS (DNS refused the name at
 * once), POSTIE_E_CONNECT_FAILED (no pcb: MEMP_NUM_TCP_PCB). host is not
 * kept. */
postie_status_t postie_lwip_tcp_start(postie_lwip_tcp_t *t, const char *host, uint16_t port,
                                      uint32_t timeout_ms);

/* POSTIE_OK: connected (or the peer closed after connecting, with bytes
 * possibly left to read); POSTIE_E_AGAIN: resolving or connecting; else why
 * the connection failed or ended: POSTIE_E_DNS, POSTIE_E_TIMEOUT (connect
 * deadline), POSTIE_E_CONNECT_FAILED (refused), POSTIE_E_CONNECTION_RESET,
 * POSTIE_E_IO, POSTIE_E_BAD_STATE (closed by the caller, never started). */
postie_status_t postie_lwip_tcp_status(const postie_lwip_tcp_t *t);

/* Abort the connection at once (an RST, tcp_abort); the transport is
 * closed afterwards. Safe at any time, also from inside wake(). */
void postie_lwip_tcp_abort(postie_lwip_tcp_t *t);

/* Whether lwIP still holds a pointer to t (a DNS request in flight): t
 * must not be freed or re-initialised while this is true. */
bool postie_lwip_tcp_busy(const postie_lwip_tcp_t *t);

static inline postie_transport_t *postie_lwip_tcp_transport(postie_lwip_tcp_t *t)
{
    return &t->base;
}

#endif /* POSTIE_LWIP_TCP_RAW_H */
