/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A non-blocking transport on lwIP's raw TCP API (see postie/lwip/tcp_raw.h).
 *
 * Every lwIP callback runs through enter()/leave(): leave() turns an abort
 * that happened on this pcb while its callback was on the stack into
 * ERR_ABRT, the one value that tells lwIP the pcb is gone.
 */
#include "postie/lwip/tcp_raw.h"

#include <string.h>

#include "lwip/dns.h"
#include "lwip/err.h"

#include "postie/common/clock.h"

enum {
    ST_IDLE,
    ST_RESOLVING,
    ST_CONNECTING,
    ST_CONNECTED,
    ST_DONE, /* failed, aborted or closed: status says which */
};

static const postie_transport_ops_t raw_ops;

void postie_lwip_tcp_init(postie_lwip_tcp_t *t, postie_lwip_wake_fn wake, void *ctx)
{
    memset(t, 0, sizeof(*t));
    t->base.ops = &raw_ops;
    t->wake = wake;
    t->wake_ctx = ctx;
    t->state = ST_IDLE;
    t->status = POSTIE_OK;
}

bool postie_lwip_tcp_busy(const postie_lwip_tcp_t *t)
{
    return t->dns_pending;
}

postie_status_t postie_lwip_tcp_status(const postie_lwip_tcp_t *t)
{
    switch (t->state) {
    case ST_RESOLVING:
    case ST_CONNECTING:
        return POSTIE_E_AGAIN;
    case ST_CONNECTED:
        return POSTIE_OK;
    case ST_DONE:
        return t->status != POSTIE_OK ? t->status : POSTIE_E_BAD_STATE;
    default:
        return POSTIE_E_BAD_STATE;
    }
}

static void wake(postie_lwip_tcp_t *t)
{
    if (t->wake != NULL) {
        t->wake(t->wake_ctx);
    }
}

static void free_rx(postie_lwip_tcp_t *t)
{
    if (t->rx != NULL) {
        (void)pbuf_free(t->rx);
        t->rx = NULL;
    }
}

/* Stop every callback of the pcb reaching this transport. */
static void detach(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
}

/* The connection ends here with status (the first reason is kept). */
static void finish(postie_lwip_tcp_t *t, postie_status_t status)
{
    if (t->state != ST_DONE || t->status == POSTIE_OK) {
        t->status = status;
    }
    t->state = ST_DONE;
}

static void do_abort(postie_lwip_tcp_t *t, postie_status_t status)
{
    if (t->pcb != NULL) {
        struct tcp_pcb *pcb = t->pcb;
        t->pcb = NULL;
        detach(pcb); /* tcp_abort calls the err callback: not ours any more */
        tcp_abort(pcb);
        if (t->in_callback > 0) {
            t->aborted_in_callback = true;
        }
    }
    free_rx(t);
    finish(t, status);
}

static void enter(postie_lwip_tcp_t *t)
{
    t->in_callback++;
}

/* ERR_ABRT when this pcb was aborted while its callback ran. */
static err_t leave(postie_lwip_tcp_t *t)
{
    t->in_callback--;
    if (t->in_callback == 0 && t->aborted_in_callback) {
        t->aborted_in_callback = false;
        return ERR_ABRT;
    }
    return ERR_OK;
}

/* ---- lwIP callbacks ----------------------------------------------------- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    postie_lwip_tcp_t *t = arg;
    (void)pcb;
    if (t == NULL) {
        /* detached (never happens: detach clears recv too); drop the data */
        if (p != NULL) {
            tcp_recved(pcb, p->tot_len);
            (void)pbuf_free(p);
        }
        return ERR_OK;
    }
    enter(t);
    if (p == NULL) {
        t->peer_closed = true; /* FIN: what is queued can still be read */
    } else if (err != ERR_OK) {
        (void)pbuf_free(p); /* lwIP does not do this today, but the API allows it */
    } else if (t->rx == NULL) {
        t->rx = p;
    } else {
        pbuf_cat(t->rx, p); /* bounded by TCP_WND: only what was taken is recved */
    }
    wake(t);
    return leave(t);
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    postie_lwip_tcp_t *t = arg;
    (void)pcb;
    (void)len;
    if (t == NULL) {
        return ERR_OK;
    }
    enter(t);
    wake(t); /* room to send */
    return leave(t);
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
    postie_lwip_tcp_t *t = arg;
    (void)pcb;
    if (t == NULL) {
        return ERR_OK;
    }
    enter(t);
    if (t->state == ST_CONNECTING && postie_clock_ms() - t->start_ms >= t->timeout_ms) {
        do_abort(t, POSTIE_E_TIMEOUT);
    }
    wake(t); /* deadlines: the runner checks the engine's */
    return leave(t);
}

/* lwIP has freed the pcb already (RST, retransmissions exhausted, out of
 * memory): forget it without touching it. */
static void on_err(void *arg, err_t err)
{
    postie_lwip_tcp_t *t = arg;
    postie_status_t st;
    if (t == NULL) {
        return;
    }
    t->pcb = NULL;
    if (t->state == ST_CONNECTING) {
        st = POSTIE_E_CONNECT_FAILED; /* refused (RST) or SYN retries exhausted */
    } else if (err == ERR_RST || err == ERR_ABRT) {
        st = POSTIE_E_CONNECTION_RESET;
    } else {
        st = POSTIE_E_IO;
    }
    finish(t, st);
    /* received bytes stay readable? no: the stream is broken, drop them */
    free_rx(t);
    enter(t);
    wake(t);
    t->in_callback--; /* nothing to return to lwIP: the pcb is gone */
    t->aborted_in_callback = false;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    postie_lwip_tcp_t *t = arg;
    (void)pcb;
    if (t == NULL) {
        return ERR_OK;
    }
    enter(t);
    if (err == ERR_OK && t->state == ST_CONNECTING) {
        t->state = ST_CONNECTED;
    }
    wake(t);
    return leave(t);
}

/* ---- connecting --------------------------------------------------------- */

static void connect_addr(postie_lwip_tcp_t *t)
{
    err_t err;
    t->pcb = tcp_new_ip_type(IP_GET_TYPE(&t->addr));
    if (t->pcb == NULL) {
        finish(t, POSTIE_E_CONNECT_FAILED); /* MEMP_NUM_TCP_PCB too small */
        return;
    }
    tcp_arg(t->pcb, t);
    tcp_recv(t->pcb, on_recv);
    tcp_sent(t->pcb, on_sent);
    tcp_err(t->pcb, on_err);
    tcp_poll(t->pcb, on_poll, POSTIE_LWIP_POLL_INTERVAL);
    tcp_nagle_disable(t->pcb); /* each flight is written whole: no delayed-ACK stall */
    t->state = ST_CONNECTING;
    err = tcp_connect(t->pcb, &t->addr, t->port, on_connected);
    if (err != ERR_OK) {
        struct tcp_pcb *pcb = t->pcb;
        t->pcb = NULL;
        detach(pcb);
        tcp_abort(pcb); /* never connected: nothing to say to the peer */
        finish(t, POSTIE_E_CONNECT_FAILED);
    }
}

static void on_dns(const char *name, const ip_addr_t *addr, void *arg)
{
    postie_lwip_tcp_t *t = arg;
    (void)name;
    t->dns_pending = false;
    if (t->state != ST_RESOLVING) {
        return; /* closed meanwhile: lwIP let go of t now */
    }
    if (addr == NULL) {
        finish(t, POSTIE_E_DNS);
    } else {
        ip_addr_copy(t->addr, *addr);
        connect_addr(t);
    }
    enter(t);
    wake(t);
    t->in_callback--;
    t->aborted_in_callback = false;
}

postie_status_t postie_lwip_tcp_start(postie_lwip_tcp_t *t, const char *host, uint16_t port,
                                      uint32_t timeout_ms)
{
    err_t err;
    if (host == NULL || host[0] == '\0') {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (t->state != ST_IDLE || t->dns_pending) {
        return POSTIE_E_BAD_STATE;
    }
    t->port = port;
    t->start_ms = postie_clock_ms();
    t->timeout_ms = timeout_ms;
    t->state = ST_RESOLVING;
    err = dns_gethostbyname(host, &t->addr, on_dns, t);
    if (err == ERR_INPROGRESS) {
        t->dns_pending = true;
        return POSTIE_E_AGAIN;
    }
    if (err != ERR_OK) {
        finish(t, POSTIE_E_DNS);
        return POSTIE_E_DNS;
    }
    connect_addr(t); /* an IP literal, or a name in DNS's cache */
    return t->state == ST_CONNECTING ? POSTIE_E_AGAIN : t->status;
}

void postie_lwip_tcp_abort(postie_lwip_tcp_t *t)
{
    do_abort(t, POSTIE_E_BAD_STATE);
}

/* ---- transport operations ------------------------------------------------ */

static postie_status_t raw_connect(postie_transport_t *base, const char *host, uint16_t port,
                                   uint32_t timeout_ms)
{
    return postie_lwip_tcp_start((postie_lwip_tcp_t *)base, host, port, timeout_ms);
}

static postie_status_t raw_send(postie_transport_t *base, const uint8_t *buf, size_t len,
                                size_t *sent, uint32_t timeout_ms)
{
    postie_lwip_tcp_t *t = (postie_lwip_tcp_t *)base;
    size_t room;
    err_t err;
    (void)timeout_ms; /* never blocks */

    *sent = 0;
    if (t->state != ST_CONNECTED || t->pcb == NULL) {
        return t->state == ST_DONE ? postie_lwip_tcp_status(t) : POSTIE_E_BAD_STATE;
    }
    if (len == 0) {
        return POSTIE_OK;
    }
    room = tcp_sndbuf(t->pcb);
    if (len > room) {
        len = room;
    }
    if (len > 0xffffu) {
        len = 0xffffu;
    }
    if (len == 0 || tcp_sndqueuelen(t->pcb) >= TCP_SND_QUEUELEN) {
        return POSTIE_E_TIMEOUT; /* window full: the sent callback wakes us */
    }
    err = tcp_write(t->pcb, buf, (u16_t)len, TCP_WRITE_FLAG_COPY);
    if (err == ERR_MEM) {
        (void)tcp_output(t->pcb); /* out of segments or pbufs now: retry on sent/poll */
        return POSTIE_E_TIMEOUT;
    }
    if (err != ERR_OK) {
        return POSTIE_E_IO;
    }
    (void)tcp_output(t->pcb);
    *sent = len;
    return POSTIE_OK;
}

static postie_status_t raw_recv(postie_transport_t *base, uint8_t *buf, size_t cap, size_t *got,
                                uint32_t timeout_ms)
{
    postie_lwip_tcp_t *t = (postie_lwip_tcp_t *)base;
    size_t n;
    (void)timeout_ms; /* never blocks */

    *got = 0;
    if (t->rx != NULL) {
        n = t->rx->tot_len;
        if (n > cap) {
            n = cap;
        }
        if (n > 0xffffu) {
            n = 0xffffu;
        }
        (void)pbuf_copy_partial(t->rx, buf, (u16_t)n, 0);
        t->rx = pbuf_free_header(t->rx, (u16_t)n); /* frees each pbuf once copied */
        if (t->pcb != NULL) {
            tcp_recved(t->pcb, (u16_t)n); /* open the window by what was taken */
        }
        *got = n;
        return POSTIE_OK;
    }
    if (t->state == ST_DONE) {
        return postie_lwip_tcp_status(t);
    }
    if (t->state != ST_CONNECTED) {
        return POSTIE_E_BAD_STATE;
    }
    return t->peer_closed ? POSTIE_E_CONNECTION_CLOSED : POSTIE_E_TIMEOUT;
}

static void raw_close(postie_transport_t *base)
{
    postie_lwip_tcp_t *t = (postie_lwip_tcp_t *)base;
    if (t->pcb != NULL) {
        struct tcp_pcb *pcb = t->pcb;
        if (t->state != ST_CONNECTED) {
            do_abort(t, POSTIE_E_BAD_STATE); /* still connecting: nothing to close politely */
            return;
        }
        if (t->rx != NULL) {
            /* unread bytes would make tcp_close answer with an RST */
            tcp_recved(pcb, t->rx->tot_len);
        }
        free_rx(t);
        t->pcb = NULL;
        detach(pcb);
        if (tcp_close(pcb) != ERR_OK) {
            t->pcb = pcb; /* no memory for the FIN: abort instead */
            do_abort(t, POSTIE_E_BAD_STATE);
            return;
        }
    }
    free_rx(t);
    finish(t, POSTIE_E_BAD_STATE);
}

static const postie_transport_ops_t raw_ops = {
    raw_connect,
    raw_send,
    raw_recv,
    raw_close,
};
