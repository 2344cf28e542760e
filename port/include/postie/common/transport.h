/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one byte-transport interface every driver runs an engine over.
 *
 * A transport moves bytes; it knows nothing of SMTP. POSIX TCP, lwIP and the
 * mbedTLS layer each implement it; the TLS layer wraps any other transport,
 * which is how STARTTLS upgrades a connection in place.
 *
 * Every call returns a postie_status_t and, where bytes move, how many moved
 * through an out-parameter. No call blocks longer than its timeout.
 *
 * Thread model: one transport is used by one thread at a time.
 */
#ifndef POSTIE_TRANSPORT_H
#define POSTIE_TRANSPORT_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct postie_transport postie_transport_t;

typedef struct {
    /* Open a connection to host:port within timeout_ms (name resolution,
     * TCP connect and, for TLS, the handshake). Errors: POSTIE_E_DNS,
     * POSTIE_E_CONNECT_FAILED, POSTIE_E_TIMEOUT, POSTIE_E_TLS_*. */
    postie_status_t (*connect)(postie_transport_t *t, const char *host, uint16_t port,
                               uint32_t timeout_ms);
    /* Send up to len bytes; *sent tells how many went (at least 1 on
     * POSTIE_OK). Waits at most timeout_ms for room. */
    postie_status_t (*send)(postie_transport_t *t, const uint8_t *buf, size_t len, size_t *sent,
                            uint32_t timeout_ms);
    /* Receive up to cap bytes; returns as soon as any arrived (*got >= 1 on
     * POSTIE_OK). POSTIE_E_TIMEOUT when nothing came in timeout_ms,
     * POSTIE_E_CONNECTION_CLOSED on an orderly close by the peer. */
    postie_status_t (*recv)(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                            uint32_t timeout_ms);
    /* Close the connection; safe to call twice or when never connected. */
    void (*close)(postie_transport_t *t);
} postie_transport_ops_t;

/* Every transport struct starts with this member so a pointer to it can be
 * passed wherever a postie_transport_t * is wanted. */
struct postie_transport {
    const postie_transport_ops_t *ops;
};

static inline postie_status_t postie_transport_connect(postie_transport_t *t, const char *host,
                                                       uint16_t port, uint32_t timeout_ms)
{
    return t->ops->connect(t, host, port, timeout_ms);
}

static inline postie_status_t postie_transport_send(postie_transport_t *t, const uint8_t *buf,
                                                    size_t len, size_t *sent, uint32_t timeout_ms)
{
    return t->ops->send(t, buf, len, sent, timeout_ms);
}

static inline postie_status_t postie_transport_recv(postie_transport_t *t, uint8_t *buf, size_t cap,
                                                    size_t *got, uint32_t timeout_ms)
{
    return t->ops->recv(t, buf, cap, got, timeout_ms);
}

static inline void postie_transport_close(postie_transport_t *t)
{
    t->ops->close(t);
}

/* Send all len bytes, looping over partial sends, within timeout_ms overall. */
postie_status_t postie_transport_send_all(postie_transport_t *t, const uint8_t *buf, size_t len,
                                          uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_TRANSPORT_H */
