/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blocking SMTP client: runs the sans-IO engine over TCP and mbedTLS.
 *
 * The loop asks the engine what it wants and does the one thing:
 * body bytes first (so commands and the first chunk leave in one write),
 * then sending, then the TLS handshake, then receiving. Every receive is
 * bounded by what is left of the engine's reply deadline, which received
 * bytes do not extend; the STARTTLS handshake has one deadline of its own
 * (connect_timeout_ms) that covers all of its reads and writes.
 */
#include "postie/posix/smtp_client.h"

#include <string.h>

#include "postie/common/clock.h"

void postie_smtp_client_config_defaults(postie_smtp_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    postie_smtp_config_defaults(&cfg->smtp);
    cfg->connect_timeout_ms = POSTIE_CONNECT_TIMEOUT_MS;
}

const postie_error_t *postie_smtp_client_error(const postie_smtp_client_t *c)
{
    if (c->error.status != POSTIE_OK) {
        return &c->error;
    }
    return postie_smtp_error(&c->engine);
}

bool postie_smtp_client_data_sent(const postie_smtp_client_t *c)
{
    return c->data_sent;
}

bool postie_smtp_client_tls_info(const postie_smtp_client_t *c, postie_tls_info_t *info)
{
    if (!c->tls_initialised || c->io != &c->tls.base) {
        return false;
    }
    postie_tls_get_info(&c->tls, info);
    return true;
}

/* A transport failure: keep the transport's detail, tell the engine. */
static void transport_failed(postie_smtp_client_t *c, postie_status_t st, const char *what)
{
    if (c->error.status == POSTIE_OK) {
        if (c->tls_initialised && c->tls.last_error.status != POSTIE_OK) {
            c->error = c->tls.last_error;
        } else {
            postie_error_clear(&c->error);
            c->error.status = st;
            c->error.phase = what;
            postie_copy_printable(c->error.subject, sizeof(c->error.subject), c->cfg.host,
                                  strlen(c->cfg.host));
        }
    }
    postie_smtp_transport_failed(&c->engine, st, what);
    if (postie_smtp_phase(&c->engine) == POSTIE_SMTP_PHASE_FAILED) {
        /* the engine's record names the step; keep the transport detail */
        c->error.phase = postie_smtp_error(&c->engine)->phase;
    }
}

static bool feed_body(postie_smtp_client_t *c, postie_read_fn read, void *ctx, bool *eof)
{
    uint32_t now = postie_clock_ms();
    if (c->stage_pos == c->stage_len && !*eof) {
        size_t got = 0;
        postie_status_t st = read(ctx, c->stage, sizeof(c->stage), &got);
        if (st != POSTIE_OK) {
            /* The body source failed: the message cannot be completed, and
             * DATA cannot be cancelled, so the session ends here. */
            postie_smtp_transport_failed(&c->engine, st, "reading the message body");
            return false;
        }
        c->stage_pos = 0;
        c->stage_len = got;
        *eof = (got == 0);
    }
    if (c->stage_pos < c->stage_len) {
        size_t used = 0;
        postie_status_t st = postie_smtp_body_write(&c->engine, c->stage + c->stage_pos,
                                                    c->stage_len - c->stage_pos, &used, now);
        c->stage_pos += used;
        return st == POSTIE_OK && used > 0;
    }
    return postie_smtp_body_end(&c->engine, now) == POSTIE_OK;
}

/* Run the engine until stop(state) is true, or it fails or closes. */
static postie_status_t run(postie_smtp_client_t *c, uint32_t stop_mask, postie_read_fn read,
                           void *ctx, bool *done_flag)
{
    bool eof = false;
    postie_smtp_t *e = &c->engine;

    for (;;) {
        uint32_t st;
        postie_smtp_event_t ev;

        while (postie_smtp_next_event(e, &ev)) {
            if (ev.type == POSTIE_SMTP_EV_MESSAGE_DONE && done_flag != NULL) {
                *done_flag = true;
            }
            if (ev.type == POSTIE_SMTP_EV_DATA_SENT) {
                c->data_sent = true;
            }
        }
        st = postie_smtp_state(e);
        if (st & (POSTIE_SMTP_FAILED | POSTIE_SMTP_CLOSED)) {
            return (st & POSTIE_SMTP_FAILED) ? postie_smtp_error(e)->status : POSTIE_OK;
        }
        if ((st & stop_mask) || (done_flag != NULL && *done_flag)) {
            return POSTIE_OK;
        }
        if ((st & POSTIE_SMTP_WANT_BODY) && read != NULL) {
            if (feed_body(c, read, ctx, &eof)) {
                continue;
            }
            /* a refused body (NUL, undeclared 8-bit) or a failed source ends
             * the session: let the top of the loop report it */
            if (postie_smtp_state(e) & (POSTIE_SMTP_FAILED | POSTIE_SMTP_EVENT)) {
                continue;
            }
        }
        st = postie_smtp_state(e);
        if (st & POSTIE_SMTP_HAVE_TX) {
            size_t len;
            const uint8_t *buf = postie_smtp_tx_buf(e, &len);
            postie_status_t rc =
                postie_transport_send_all(c->io, buf, len, postie_smtp_send_timeout_ms(e));
            if (rc != POSTIE_OK) {
                transport_failed(c, rc, "sending");
                continue;
            }
            postie_smtp_tx_ack(e, len, postie_clock_ms());
            continue;
        }
        if (st & POSTIE_SMTP_NEED_TLS) {
            postie_status_t rc = POSTIE_OK;
            if (!c->tls_initialised) {
                rc = postie_tls_init(&c->tls, &c->tcp.base, &c->cfg.tls);
                c->tls_initialised = (rc == POSTIE_OK);
            }
            if (rc == POSTIE_OK) {
                /* one total deadline for the whole handshake */
                rc = postie_tls_handshake(&c->tls, c->cfg.host, c->cfg.connect_timeout_ms);
            }
            if (rc != POSTIE_OK) {
                transport_failed(c, rc, "TLS handshake after STARTTLS");
                c->error.phase = "TLS handshake after STARTTLS"; /* not the engine's phase name */
                continue;
            }
            c->io = &c->tls.base;
            (void)postie_smtp_tls_done(e, postie_clock_ms());
            continue;
        }
        if (st & POSTIE_SMTP_WANT_RX) {
            size_t cap = 0;
            size_t got = 0;
            uint8_t *buf = postie_smtp_rx_buf(e, &cap);
            /* What is left of the reply's deadline: it shrinks while a reply
             * trickles in. At 0 the transport still hands over bytes that are
             * already there, then reports the timeout that poll enforces. */
            uint32_t wait = postie_smtp_timeout_ms(e, postie_clock_ms());
            postie_status_t rc = postie_transport_recv(c->io, buf, cap, &got, wait);
            if (rc == POSTIE_OK) {
                (void)postie_smtp_rx_ack(e, got, postie_clock_ms());
            } else if (rc == POSTIE_E_TIMEOUT) {
                (void)postie_smtp_poll(e, postie_clock_ms());
            } else if (rc == POSTIE_E_CONNECTION_CLOSED) {
                postie_smtp_rx_eof(e);
            } else {
                transport_failed(c, rc, "receiving");
            }
            continue;
        }
        if (st & POSTIE_SMTP_WANT_BODY) {
            /* The engine wants a body but none was given: a caller bug. */
            return POSTIE_E_BAD_STATE;
        }
        return POSTIE_OK; /* nothing left to do */
    }
}

postie_status_t postie_smtp_client_open(postie_smtp_client_t *c,
                                        const postie_smtp_client_config_t *cfg)
{
    postie_status_t st;
    bool implicit = cfg->smtp.tls_mode == POSTIE_TLS_IMPLICIT;
    const char *target;
    uint16_t port;

    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    postie_error_clear(&c->error);
    /* The transport exists from here on, so quit can close it after any
     * early return below (it holds no descriptor until connect). */
    postie_tcp_init(&c->tcp);
    c->io = &c->tcp.base;
    if (c->cfg.host == NULL || c->cfg.host[0] == '\0') {
        c->error.status = POSTIE_E_INVALID_ARGUMENT;
        c->error.phase = "configuration";
        postie_copy_printable(c->error.subject, sizeof(c->error.subject), "host: empty", 11);
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (c->cfg.tls.verify_name == NULL) {
        c->cfg.tls.verify_name = c->cfg.host;
    }
    if (c->cfg.connect_timeout_ms == 0) {
        c->cfg.connect_timeout_ms = POSTIE_CONNECT_TIMEOUT_MS;
    }
    target = c->cfg.connect_to != NULL ? c->cfg.connect_to : c->cfg.host;
    port = c->cfg.port != 0 ? c->cfg.port : (implicit ? 465 : 25);

    st = postie_smtp_init(&c->engine, &c->cfg.smtp, postie_clock_ms());
    if (st != POSTIE_OK) {
        c->error = *postie_smtp_error(&c->engine);
        return st;
    }
    if (implicit) {
        st = postie_tls_init(&c->tls, &c->tcp.base, &c->cfg.tls);
        c->tls_initialised = (st == POSTIE_OK);
        if (st == POSTIE_OK) {
            c->io = &c->tls.base;
        }
    }
    if (st == POSTIE_OK) {
        st = postie_transport_connect(c->io, target, port, c->cfg.connect_timeout_ms);
    }
    if (st != POSTIE_OK) {
        const char *what = implicit ? "connect and TLS handshake" : "connect";
        transport_failed(c, st, what);
        /* the engine only knows it was about to wait for the greeting */
        c->error.phase = what;
        return st;
    }
    /* Restart the greeting clock now that the connection is up. */
    (void)postie_smtp_init(&c->engine, &c->cfg.smtp, postie_clock_ms());
    return run(c, POSTIE_SMTP_READY, NULL, NULL, NULL);
}

postie_status_t postie_smtp_client_send(postie_smtp_client_t *c, postie_smtp_envelope_t *env,
                                        postie_read_fn read, void *read_ctx)
{
    bool done = false;
    postie_status_t st;
    c->data_sent = false;
    if (c->io == NULL) {
        return POSTIE_E_BAD_STATE; /* not open, or already quit */
    }
    st = postie_smtp_send(&c->engine, env, postie_clock_ms());
    if (st != POSTIE_OK) {
        return st;
    }
    c->stage_pos = c->stage_len = 0;
    st = run(c, 0, read, read_ctx, &done);
    if (!done) {
        return st != POSTIE_OK ? st : POSTIE_E_BAD_STATE;
    }
    /* Let the RSET after a failed message finish, so the session stays usable. */
    if (postie_smtp_phase(&c->engine) == POSTIE_SMTP_PHASE_RSET) {
        (void)run(c, POSTIE_SMTP_READY, NULL, NULL, NULL);
    }
    return postie_smtp_message_result(&c->engine)->status;
}

void postie_smtp_client_quit(postie_smtp_client_t *c)
{
    if (c->io == NULL) {
        return; /* never opened, or quit already */
    }
    if (postie_smtp_quit(&c->engine, postie_clock_ms()) == POSTIE_OK) {
        (void)run(c, 0, NULL, NULL, NULL);
    }
    if (c->tls_initialised) {
        postie_tls_free(&c->tls); /* closes the TCP connection too */
        c->tls_initialised = false;
    } else {
        postie_transport_close(&c->tcp.base);
    }
    c->io = NULL;
}
