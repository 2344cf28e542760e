/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A byte transport over lwIP's sockets API, for an RTOS (NO_SYS=0,
 * LWIP_SOCKET=1): blocking calls with timeouts, so the shared driver
 * (postie/common/driver.h) and everything written for it (the TLS layer's
 * blocking handshake, smtp_client-style code) runs unchanged over lwIP.
 *
 * It uses the lwip_* names (lwip_socket, lwip_connect, lwip_select...), so
 * it builds with LWIP_COMPAT_SOCKETS=0 next to a C library's own sockets.
 *
 *  - connect resolves host with lwip_getaddrinfo() (lwIP's DNS: a name or
 *    an IP literal), then connects a non-blocking socket and waits with
 *    lwip_select() for at most timeout_ms (the name lookup itself is bounded
 *    by lwIP's DNS retries, not by timeout_ms). TCP_NODELAY is set: Postie
 *    writes each flight whole.
 *  - send waits for room with lwip_select() and sends what lwIP takes (at
 *    least one octet on POSTIE_OK), within timeout_ms.
 *  - recv waits for bytes with lwip_select() within timeout_ms and returns
 *    as soon as any arrived; POSTIE_E_CONNECTION_CLOSED after the peer's FIN,
 *    POSTIE_E_CONNECTION_RESET after an RST.
 *  - close is lwip_close(); safe twice.
 * Errors: POSTIE_E_DNS, POSTIE_E_CONNECT_FAILED, POSTIE_E_TIMEOUT,
 * POSTIE_E_CONNECTION_RESET, POSTIE_E_IO (errno is kept in last_errno).
 *
 * RAM: sizeof(postie_lwip_sock_t) (16 octets on x86-64), plus lwIP's netconn,
 * pcb and buffers per socket.
 *
 * Thread model: one transport per application thread at a time, never from
 * the tcpip thread itself (a socket call there would deadlock).
 */
#ifndef POSTIE_LWIP_SOCK_H
#define POSTIE_LWIP_SOCK_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/common/transport.h"

typedef struct {
    postie_transport_t base; /* must stay first */
    int fd;                  /* lwIP socket, -1 when closed */
    int last_errno;          /* errno of the last failed socket call, 0 if none */
} postie_lwip_sock_t;

/* Set up an unconnected transport. */
void postie_lwip_sock_init(postie_lwip_sock_t *t);

static inline postie_transport_t *postie_lwip_sock_transport(postie_lwip_sock_t *t)
{
    return &t->base;
}

#endif /* POSTIE_LWIP_SOCK_H */
