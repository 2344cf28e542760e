/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP transport over POSIX sockets.
 *
 * Resolves with getaddrinfo (IPv4 and IPv6, every address tried in order
 * until one connects), connects non-blocking with a deadline, sets
 * TCP_NODELAY, and bounds every send and receive with poll().
 *
 * RAM: sizeof(postie_tcp_t), a few dozen octets. No allocation besides what
 * getaddrinfo does internally.
 */
#ifndef POSTIE_TCP_POSIX_H
#define POSTIE_TCP_POSIX_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/common/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    postie_transport_t base; /* must stay first */
    int fd;                  /* -1 when closed */
    char peer[64];           /* numeric address connected to, "" before */
    uint32_t connect_ms;     /* time the TCP connect took */
} postie_tcp_t;

/* Prepare a closed TCP transport. */
void postie_tcp_init(postie_tcp_t *tcp);

/* The generic view of the transport. */
static inline postie_transport_t *postie_tcp_transport(postie_tcp_t *tcp)
{
    return &tcp->base;
}

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_TCP_POSIX_H */
