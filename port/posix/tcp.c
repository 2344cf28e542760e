/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP transport over POSIX sockets (see postie/posix/tcp.h).
 *
 * The socket stays non-blocking for its whole life; every wait is a poll()
 * bounded by the caller's timeout, recomputed after EINTR.
 *
 * Worth knowing:
 *  - getaddrinfo() has no timeout parameter; name resolution is bounded by
 *    the resolver's own settings (resolv.conf "timeout"/"attempts"), not by
 *    timeout_ms. The deadline is checked again once it returns.
 *  - Addresses are tried in getaddrinfo's order (RFC 6724), one at a time,
 *    all within one overall deadline: an address that silently drops SYNs
 *    can use up the whole budget (no Happy Eyeballs).
 *  - SIGPIPE: send() uses MSG_NOSIGNAL, and SO_NOSIGPIPE where that exists
 *    instead (BSD, macOS), so a peer reset never kills the process.
 */
#include "postie/posix/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "postie/common/clock.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE covers it on these systems */
#endif

/* Most poll()/syscall rounds one call makes (EINTR, spurious wake-ups)
 * before giving up with POSTIE_E_IO; the deadline normally ends it first. */
#define TCP_MAX_ROUNDS 1000

/* Most addresses tried for one host name. */
#define TCP_MAX_ADDRESSES 16

/* Milliseconds left of timeout_ms since start, 0 when spent. */
static uint32_t remaining_ms(uint32_t start, uint32_t timeout_ms)
{
    uint32_t elapsed = postie_clock_ms() - start;
    return elapsed < timeout_ms ? timeout_ms - elapsed : 0;
}

static int poll_ms(uint32_t ms)
{
    return ms > (uint32_t)INT_MAX ? INT_MAX : (int)ms;
}

/* Status for an errno from connect() or SO_ERROR. */
static postie_status_t connect_errno_status(int err)
{
    switch (err) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
    case ECONNRESET:
    case ETIMEDOUT: /* the kernel gave up on SYN retries before our deadline */
        return POSTIE_E_CONNECT_FAILED;
    default:
        return POSTIE_E_IO;
    }
}

/* Status for an errno from send() or recv() on a connected socket. */
static postie_status_t io_errno_status(int err)
{
    switch (err) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return POSTIE_E_CONNECTION_RESET;
    case ETIMEDOUT: /* retransmission or keepalive timeout */
        return POSTIE_E_TIMEOUT;
    default:
        return POSTIE_E_IO;
    }
}

static int set_nonblocking_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return -1;
    }
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
        return -1;
    }
    return 0;
}

/* Wait until fd is ready for events, at most ms. Returns POSTIE_OK when
 * ready (or in error: the next syscall reports it), POSTIE_E_TIMEOUT. */
static postie_status_t wait_fd(int fd, short events, uint32_t start, uint32_t timeout_ms)
{
    int round;
    for (round = 0; round < TCP_MAX_ROUNDS; round++) {
        struct pollfd pfd;
        int n;
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        n = poll(&pfd, 1, poll_ms(remaining_ms(start, timeout_ms)));
        if (n > 0) {
            return (pfd.revents & POLLNVAL) != 0 ? POSTIE_E_IO : POSTIE_OK;
        }
        if (n == 0) {
            return POSTIE_E_TIMEOUT;
        }
        if (errno != EINTR) {
            return POSTIE_E_IO;
        }
    }
    return POSTIE_E_IO;
}

/* One connect attempt to one address. On POSTIE_OK *fd_out is the socket. */
static postie_status_t connect_one(const struct addrinfo *ai, uint32_t start, uint32_t timeout_ms,
                                   int *fd_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int err = 0;
    socklen_t errlen = sizeof(err);
    postie_status_t st;

    if (fd < 0) {
        return connect_errno_status(errno);
    }
    if (set_nonblocking_cloexec(fd) != 0) {
        close(fd);
        return POSTIE_E_IO;
    }
#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
    }
#endif
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        *fd_out = fd;
        return POSTIE_OK;
    }
    /* EINTR: the connection carries on asynchronously, like EINPROGRESS. */
    if (errno != EINPROGRESS && errno != EINTR) {
        st = connect_errno_status(errno);
        close(fd);
        return st;
    }
    st = wait_fd(fd, POLLOUT, start, timeout_ms);
    if (st != POSTIE_OK) {
        close(fd);
        return st;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) {
        err = errno;
    }
    if (err != 0) {
        close(fd);
        return connect_errno_status(err);
    }
    *fd_out = fd;
    return POSTIE_OK;
}

static void tcp_close(postie_transport_t *t)
{
    postie_tcp_t *tcp = (postie_tcp_t *)t;
    if (tcp->fd >= 0) {
        /* Not retried on EINTR: on Linux the descriptor is gone either way. */
        (void)close(tcp->fd);
        tcp->fd = -1;
    }
}

static postie_status_t tcp_connect(postie_transport_t *t, const char *host, uint16_t port,
                                   uint32_t timeout_ms)
{
    postie_tcp_t *tcp = (postie_tcp_t *)t;
    uint32_t start = postie_clock_ms();
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    const struct addrinfo *ai;
    char service[8];
    postie_status_t st = POSTIE_E_CONNECT_FAILED;
    int tried = 0;
    int rc;

    if (host == NULL || host[0] == '\0' || port == 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (tcp->fd >= 0) {
        return POSTIE_E_BAD_STATE;
    }
    tcp->peer[0] = '\0';
    tcp->connect_ms = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    (void)snprintf(service, sizeof(service), "%u", (unsigned)port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || res == NULL) {
        /* Every EAI_* code, including EAI_SYSTEM and EAI_MEMORY, is reported
         * as a resolution failure: the caller can do nothing finer with it. */
        if (res != NULL) {
            freeaddrinfo(res);
        }
        return POSTIE_E_DNS;
    }

    for (ai = res; ai != NULL && tried < TCP_MAX_ADDRESSES; ai = ai->ai_next, tried++) {
        int fd = -1;
        if (remaining_ms(start, timeout_ms) == 0) {
            st = POSTIE_E_TIMEOUT;
            break;
        }
        st = connect_one(ai, start, timeout_ms, &fd);
        if (st == POSTIE_OK) {
            int one = 1;
            tcp->fd = fd;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (getnameinfo(ai->ai_addr, ai->ai_addrlen, tcp->peer, sizeof(tcp->peer), NULL, 0,
                            NI_NUMERICHOST) != 0) {
                tcp->peer[0] = '\0';
            }
            break;
        }
        if (st == POSTIE_E_TIMEOUT) {
            break; /* the overall deadline is spent */
        }
    }
    freeaddrinfo(res);
    tcp->connect_ms = postie_clock_ms() - start;
    return st;
}

static postie_status_t tcp_send(postie_transport_t *t, const uint8_t *buf, size_t len, size_t *sent,
                                uint32_t timeout_ms)
{
    postie_tcp_t *tcp = (postie_tcp_t *)t;
    uint32_t start = postie_clock_ms();
    int round;

    if (sent == NULL || (buf == NULL && len > 0)) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    *sent = 0;
    if (tcp->fd < 0) {
        return POSTIE_E_BAD_STATE;
    }
    if (len == 0) {
        return POSTIE_OK;
    }
    for (round = 0; round < TCP_MAX_ROUNDS; round++) {
        ssize_t n = send(tcp->fd, buf, len, MSG_NOSIGNAL);
        postie_status_t st;
        if (n > 0) {
            *sent = (size_t)n;
            return POSTIE_OK;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            return n == 0 ? POSTIE_E_IO : io_errno_status(errno);
        }
        st = wait_fd(tcp->fd, POLLOUT, start, timeout_ms);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    return POSTIE_E_IO;
}

static postie_status_t tcp_recv(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                                uint32_t timeout_ms)
{
    postie_tcp_t *tcp = (postie_tcp_t *)t;
    uint32_t start = postie_clock_ms();
    int round;

    if (got == NULL || buf == NULL || cap == 0) {
        return POSTIE_E_INVALID_ARGUMENT; /* recv() of 0 would look like a close */
    }
    *got = 0;
    if (tcp->fd < 0) {
        return POSTIE_E_BAD_STATE;
    }
    for (round = 0; round < TCP_MAX_ROUNDS; round++) {
        ssize_t n = recv(tcp->fd, buf, cap, 0);
        postie_status_t st;
        if (n > 0) {
            *got = (size_t)n;
            return POSTIE_OK;
        }
        if (n == 0) {
            return POSTIE_E_CONNECTION_CLOSED;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return io_errno_status(errno);
        }
        st = wait_fd(tcp->fd, POLLIN, start, timeout_ms);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    return POSTIE_E_IO;
}

static const postie_transport_ops_t tcp_ops = {
    tcp_connect,
    tcp_send,
    tcp_recv,
    tcp_close,
};

void postie_tcp_init(postie_tcp_t *tcp)
{
    memset(tcp, 0, sizeof(*tcp));
    tcp->base.ops = &tcp_ops;
    tcp->fd = -1;
    tcp->peer[0] = '\0';
}
