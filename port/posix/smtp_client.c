/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blocking SMTP client: the sans-IO engine run by the one driver
 * (port/common/driver.c) over TCP and mbedTLS. This file connects (with
 * implicit TLS when asked), gives the driver its STARTTLS upgrade (one
 * deadline of its own, connect_timeout_ms, for the whole handshake) and
 * keeps the transport's detail when the connection fails.
 */
#include "postie/posix/smtp_client.h"

#include <string.h>

#include "postie/common/clock.h"
#include "postie/common/driver_smtp.h"
#include "postie/common/oauth_login.h"
#include "postie/common/text.h"

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

bool postie_smtp_client_tls_info(const postie_smtp_client_t *c, postie_tls_info_t *info)
{
    if (!c->tls_initialised || c->driver.io != &c->tls.base) {
        return false;
    }
    postie_tls_get_info(&c->tls, info);
    return true;
}

/* A transport failure: keep the transport's detail (the first failure's).
 * Called by the driver once the engine has been told, so the engine's record
 * names the step; and by open for a failed connect. */
static void record_failure(void *ctx, postie_status_t st, const char *what)
{
    postie_smtp_client_t *c = ctx;
    if (c->error.status != POSTIE_OK) {
        return;
    }
    if (c->tls_initialised && c->tls.last_error.status != POSTIE_OK) {
        c->error = c->tls.last_error;
    } else {
        postie_error_clear(&c->error);
        c->error.status = st;
        c->error.phase = what;
        postie_text_copy_printable(c->error.subject, sizeof(c->error.subject), c->cfg.host,
                                   strlen(c->cfg.host));
    }
    if (postie_smtp_phase(&c->engine) == POSTIE_SMTP_PHASE_FAILED) {
        /* the engine's record names the step; keep the transport detail */
        c->error.phase = postie_smtp_error(&c->engine)->phase;
    }
}

/* STARTTLS: the TLS layer over the connected TCP transport, one deadline
 * (connect_timeout_ms) for the whole handshake. */
static postie_status_t upgrade_tls(void *ctx, postie_transport_t *lower,
                                   postie_transport_t **upgraded)
{
    postie_smtp_client_t *c = ctx;
    postie_status_t rc = POSTIE_OK;
    if (!c->tls_initialised) {
        rc = postie_tls_init(&c->tls, lower, &c->cfg.tls);
        c->tls_initialised = (rc == POSTIE_OK);
    }
    if (rc == POSTIE_OK) {
        rc = postie_tls_handshake(&c->tls, c->cfg.host, c->cfg.connect_timeout_ms);
    }
    if (rc != POSTIE_OK) {
        const char *what = "TLS handshake after STARTTLS";
        record_failure(c, rc, what);
        c->error.phase = what; /* not the engine's phase name */
        return rc;
    }
    *upgraded = &c->tls.base;
    return POSTIE_OK;
}

bool postie_smtp_client_data_sent(const postie_smtp_client_t *c)
{
    return c->data_sent;
}

/* The driver hands on every engine event: note when a message's data has
 * ended on the wire (the queue records on it). */
static void on_event(void *ctx, const postie_engine_event_t *ev)
{
    postie_smtp_client_t *c = ctx;
    if (ev->type == POSTIE_SMTP_EV_DATA_SENT) {
        c->data_sent = true;
    }
}

/* Connect and run the session up to READY with c->cfg as it stands. */
static postie_status_t open_once(void *ctx)
{
    postie_smtp_client_t *c = ctx;
    const postie_driver_hooks_t hooks = {.tls_upgrade = upgrade_tls,
                                         .transport_failed = record_failure,
                                         .event = on_event,
                                         .ctx = c};
    postie_status_t st;
    bool implicit = c->cfg.smtp.tls_mode == POSTIE_TLS_IMPLICIT;
    const char *target = c->cfg.connect_to != NULL ? c->cfg.connect_to : c->cfg.host;
    uint16_t port = c->cfg.port != 0 ? c->cfg.port : (implicit ? 465 : 25);

    postie_error_clear(&c->error);
    c->tls_initialised = false;
    /* The transport exists from here on, so quit can close it after any
     * early return below (it holds no descriptor until connect). */
    postie_tcp_init(&c->tcp);
    postie_driver_init(&c->driver, &postie_driver_smtp_ops, &c->engine, &c->tcp.base, c->stage,
                       sizeof(c->stage), &hooks);
    if (c->cfg.token != NULL && c->cfg.smtp.oauth_port == 0) {
        c->cfg.smtp.oauth_port = port;
    }
    st = postie_smtp_init(&c->engine, &c->cfg.smtp, postie_clock_ms());
    if (st != POSTIE_OK) {
        c->error = *postie_smtp_error(&c->engine);
        return st;
    }
    if (implicit) {
        st = postie_tls_init(&c->tls, &c->tcp.base, &c->cfg.tls);
        c->tls_initialised = (st == POSTIE_OK);
        if (st == POSTIE_OK) {
            c->driver.io = &c->tls.base;
        }
    }
    if (st == POSTIE_OK) {
        st = postie_transport_connect(c->driver.io, target, port, c->cfg.connect_timeout_ms);
    }
    if (st != POSTIE_OK) {
        const char *what = implicit ? "connect and TLS handshake" : "connect";
        postie_smtp_transport_failed(&c->engine, st, what);
        record_failure(c, st, what);
        /* the engine only knows it was about to wait for the greeting */
        c->error.phase = what;
        return st;
    }
    /* Restart the greeting clock now that the connection is up. */
    (void)postie_smtp_init(&c->engine, &c->cfg.smtp, postie_clock_ms());
    return postie_driver_run(&c->driver, POSTIE_SMTP_READY, 0);
}

/* postie_oauth_login's view of the client (open_once is its open). */
static const postie_error_t *oauth_error(void *ctx)
{
    return postie_smtp_client_error(ctx);
}

static void oauth_close(void *ctx)
{
    postie_smtp_client_quit(ctx);
}

postie_status_t postie_smtp_client_open(postie_smtp_client_t *c,
                                        const postie_smtp_client_config_t *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    postie_error_clear(&c->error);
    postie_tcp_init(&c->tcp); /* quit closes nothing after an early return */
    if (c->cfg.host == NULL || c->cfg.host[0] == '\0') {
        c->error.status = POSTIE_E_INVALID_ARGUMENT;
        c->error.phase = "configuration";
        postie_text_copy_printable(c->error.subject, sizeof(c->error.subject), "host: empty", 11);
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (c->cfg.tls.verify_name == NULL) {
        c->cfg.tls.verify_name = c->cfg.host;
    }
    if (c->cfg.connect_timeout_ms == 0) {
        c->cfg.connect_timeout_ms = POSTIE_CONNECT_TIMEOUT_MS;
    }
    if (c->cfg.token != NULL) {
        if (c->cfg.smtp.oauth_host == NULL) {
            c->cfg.smtp.oauth_host = c->cfg.host;
        }
        c->cfg.smtp.oauth_token = c->token;
    }
    /* an OAuth 2.0 session (postie_session_client_config) with neither a
     * provider, a fixed token nor a password */
    const bool required = c->cfg.smtp.oauth_token == NULL && c->cfg.smtp.oauth_mechanism != 0 &&
                          c->cfg.smtp.password == NULL;
    const postie_oauth_session_t login = {.provider = c->cfg.token,
                                          .provider_required = required,
                                          .token = c->token,
                                          .cap = sizeof(c->token),
                                          .asks = &c->token_asks,
                                          .open = open_once,
                                          .error = oauth_error,
                                          .close = oauth_close,
                                          .ctx = c};
    return postie_oauth_login(&login, &c->error);
}

postie_status_t postie_smtp_client_send(postie_smtp_client_t *c, postie_smtp_envelope_t *env,
                                        postie_read_fn read, void *read_ctx)
{
    postie_status_t st;
    c->data_sent = false;
    if (c->driver.io == NULL) {
        return POSTIE_E_BAD_STATE; /* not open, or already quit */
    }
    st = postie_smtp_send(&c->engine, env, postie_clock_ms());
    if (st != POSTIE_OK) {
        return st;
    }
    postie_driver_set_body(&c->driver, read, read_ctx);
    st = postie_driver_run(&c->driver, 0, POSTIE_SMTP_EV_MESSAGE_DONE);
    postie_driver_set_body(&c->driver, NULL, NULL);
    if (!postie_driver_reached(&c->driver)) {
        return st; /* never POSTIE_OK short of the goal */
    }
    /* Let the RSET after a failed message finish, so the session stays usable. */
    if (postie_smtp_phase(&c->engine) == POSTIE_SMTP_PHASE_RSET) {
        (void)postie_driver_run(&c->driver, POSTIE_SMTP_READY, 0);
    }
    return postie_smtp_message_result(&c->engine)->status;
}

void postie_smtp_client_quit(postie_smtp_client_t *c)
{
    memset(c->token, 0, sizeof(c->token));
    if (c->driver.io == NULL) {
        return; /* never opened, or quit already */
    }
    if (postie_smtp_quit(&c->engine, postie_clock_ms()) == POSTIE_OK) {
        (void)postie_driver_run(&c->driver, POSTIE_SMTP_CLOSED, 0);
    }
    if (c->tls_initialised) {
        postie_tls_free(&c->tls); /* closes the TCP connection too */
        c->tls_initialised = false;
    } else {
        postie_transport_close(&c->tcp.base);
    }
    c->driver.io = NULL;
}
