/* SPDX-License-Identifier: Apache-2.0 */
/* A blocking-with-timeouts transport over lwIP's sockets (see postie/lwip/sock.h). */
#include "postie/lwip/sock.h"

#include <stdio.h>
#include <string.h>

#include "lwip/errno.h"
#include "lwip/netdb.h"
#include "lwip/sockets.h"

#include "postie/common/clock.h"

static const postie_transport_ops_t sock_ops;

void postie_lwip_sock_init(postie_lwip_sock_t *t)
{
    memset(t, 0, sizeof(*t));
    t->base.ops = &sock_ops;
    t->fd = -1;
}

static uint32_t remaining(uint32_t start, uint32_t timeout_ms)
{
    uint32_t spent = postie_clock_ms() - start;
    return spent < timeout_ms ? timeout_ms - spent : 0;
}

/* Wait until fd is readable (write false) or writable, at most ms.
 * POSTIE_OK, POSTIE_E_TIMEOUT or POSTIE_E_IO. */
static postie_status_t wait_fd(postie_lwip_sock_t *t, bool write, uint32_t ms)
{
    fd_set set;
    struct timeval tv;
    int n;

    FD_ZERO(&set);
    FD_SET(t->fd, &set);
    tv.tv_sec = (long)(ms / 1000u);
    tv.tv_usec = (long)(ms % 1000u) * 1000;
    n = lwip_select(t->fd + 1, write ? NULL : &set, write ? &set : NULL, NULL, &tv);
    if (n > 0) {
        return POSTIE_OK;
    }
    if (n == 0) {
        return POSTIE_E_TIMEOUT;
    }
    t->last_errno = errno;
    return POSTIE_E_IO;
}

static postie_status_t errno_status(int e)
{
    switch (e) {
    case ECONNRESET:
    case ECONNABORTED:
        return POSTIE_E_CONNECTION_RESET;
    case ENOTCONN:
        return POSTIE_E_CONNECTION_CLOSED;
    default:
        return POSTIE_E_IO;
    }
}

static void sock_close(postie_transport_t *base)
{
    postie_lwip_sock_t *t = (postie_lwip_sock_t *)base;
    if (t->fd >= 0) {
        (void)lwip_close(t->fd);
        t->fd = -1;
    }
}

/* Connect the socket to one address, within what is left of the deadline. */
static postie_status_t connect_one(postie_lwip_sock_t *t, const struct addrinfo *ai, uint32_t start,
                                   uint32_t timeout_ms)
{
    int one = 1;
    int err = 0;
    socklen_t len = sizeof(err);
    postie_status_t st;

    t->fd = lwip_socket(ai->ai_family, SOCK_STREAM, 0);
    if (t->fd < 0) {
        t->last_errno = errno;
        return POSTIE_E_CONNECT_FAILED;
    }
    (void)lwip_fcntl(t->fd, F_SETFL, O_NONBLOCK);
    (void)lwip_setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (lwip_connect(t->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        return POSTIE_OK;
    }
    if (errno != EINPROGRESS) {
        t->last_errno = errno;
        sock_close(&t->base);
        return POSTIE_E_CONNECT_FAILED;
    }
    st = wait_fd(t, true, remaining(start, timeout_ms));
    if (st == POSTIE_OK &&
        (lwip_getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
        t->last_errno = err;
        st = POSTIE_E_CONNECT_FAILED;
    }
    if (st != POSTIE_OK) {
        sock_close(&t->base);
    }
    return st;
}

static postie_status_t sock_connect(postie_transport_t *base, const char *host, uint16_t port,
                                    uint32_t timeout_ms)
{
    postie_lwip_sock_t *t = (postie_lwip_sock_t *)base;
    uint32_t start = postie_clock_ms();
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    const struct addrinfo *ai;
    char service[8];
    postie_status_t st = POSTIE_E_CONNECT_FAILED;

    if (host == NULL || host[0] == '\0') {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    sock_close(base);
    t->last_errno = 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    (void)snprintf(service, sizeof(service), "%u", (unsigned)port);
    if (lwip_getaddrinfo(host, service, &hints, &res) != 0 || res == NULL) {
        return POSTIE_E_DNS;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        st = connect_one(t, ai, start, timeout_ms);
        if (st == POSTIE_OK || st == POSTIE_E_TIMEOUT) {
            break;
        }
    }
    lwip_freeaddrinfo(res);
    return st;
}

static postie_status_t sock_send(postie_transport_t *base, const uint8_t *buf, size_t len,
                                 size_t *sent, uint32_t timeout_ms)
{
    postie_lwip_sock_t *t = (postie_lwip_sock_t *)base;
    uint32_t start = postie_clock_ms();

    *sent = 0;
    if (t->fd < 0) {
        return POSTIE_E_BAD_STATE;
    }
    if (len == 0) {
        return POSTIE_OK;
    }
    for (;;) {
        ssize_t n = lwip_send(t->fd, buf, len, 0);
        postie_status_t st;
        if (n > 0) {
            *sent = (size_t)n;
            return POSTIE_OK;
        }
        if (n < 0 && errno != EWOULDBLOCK && errno != EAGAIN) {
            t->last_errno = errno;
            return errno_status(errno);
        }
        st = wait_fd(t, true, remaining(start, timeout_ms));
        if (st != POSTIE_OK) {
            return st;
        }
    }
}

static postie_status_t sock_recv(postie_transport_t *base, uint8_t *buf, size_t cap, size_t *got,
                                 uint32_t timeout_ms)
{
    postie_lwip_sock_t *t = (postie_lwip_sock_t *)base;
    uint32_t start = postie_clock_ms();

    *got = 0;
    if (t->fd < 0) {
        return POSTIE_E_BAD_STATE;
    }
    for (;;) {
        ssize_t n = lwip_recv(t->fd, buf, cap, 0);
        postie_status_t st;
        if (n > 0) {
            *got = (size_t)n;
            return POSTIE_OK;
        }
        if (n == 0) {
            return POSTIE_E_CONNECTION_CLOSED;
        }
        if (errno != EWOULDBLOCK && errno != EAGAIN) {
            t->last_errno = errno;
            return errno_status(errno);
        }
        st = wait_fd(t, false, remaining(start, timeout_ms));
        if (st != POSTIE_OK) {
            return st;
        }
    }
}

static const postie_transport_ops_t sock_ops = {
    sock_connect,
    sock_send,
    sock_recv,
    sock_close,
};
