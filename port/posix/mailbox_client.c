/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blocking POP3 / IMAP client: the sans-IO engine run by the one driver
 * (port/common/driver.c) over TCP and mbedTLS, as smtp_client.c does for
 * SMTP. See postie/posix/mailbox_client.h.
 */
#include "postie/posix/mailbox_client.h"

#include <string.h>

#include "postie/common/clock.h"
#include "postie/common/driver_imap.h"
#include "postie/common/driver_pop3.h"
#include "postie/common/oauth_login.h"
#include "postie/common/text.h"

void postie_mailbox_client_config_defaults(postie_mailbox_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->protocol = POSTIE_FETCH_POP3;
    cfg->tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    cfg->connect_timeout_ms = POSTIE_CONNECT_TIMEOUT_MS;
}

uint16_t postie_mailbox_client_port(const postie_mailbox_client_config_t *cfg)
{
    bool implicit = cfg->tls_mode == POSTIE_TLS_IMPLICIT;
    if (cfg->port != 0) {
        return cfg->port;
    }
    if (cfg->protocol == POSTIE_FETCH_IMAP) {
        return implicit ? 993 : 143;
    }
    return implicit ? 995 : 110;
}

const postie_error_t *postie_mailbox_client_error(const postie_mailbox_client_t *c)
{
    if (c->error.status != POSTIE_OK || c->glue == NULL) {
        return &c->error;
    }
    return c->glue->error(&c->engine);
}

const postie_mailbox_info_t *postie_mailbox_client_info(const postie_mailbox_client_t *c)
{
    static const postie_mailbox_info_t none;
    return c->mb != NULL ? c->mb->info(&c->engine) : &none;
}

bool postie_mailbox_client_tls_info(const postie_mailbox_client_t *c, postie_tls_info_t *info)
{
    if (!c->tls_initialised || c->driver.io != &c->tls.base || !c->tls.active) {
        return false;
    }
    postie_tls_get_info(&c->tls, info);
    return true;
}

const postie_mailbox_ops_t *postie_mailbox_client_ops(const postie_mailbox_client_t *c)
{
    return c->mb;
}

void *postie_mailbox_client_engine(postie_mailbox_client_t *c)
{
    return &c->engine;
}

/* A transport failure: keep the transport's detail (the first failure's),
 * with the engine's step as the phase when it has one. */
static void record_failure(void *ctx, postie_status_t st, const char *what)
{
    postie_mailbox_client_t *c = ctx;
    const postie_error_t *eng;
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
    eng = c->glue->error(&c->engine);
    if (eng->status != POSTIE_OK && eng->phase != NULL) {
        c->error.phase = eng->phase;
    }
}

/* STLS / STARTTLS: the TLS layer over the connected TCP transport, one
 * deadline (connect_timeout_ms) for the whole handshake. */
static postie_status_t upgrade_tls(void *ctx, postie_transport_t *lower,
                                   postie_transport_t **upgraded)
{
    postie_mailbox_client_t *c = ctx;
    postie_status_t rc = POSTIE_OK;
    if (!c->tls_initialised) {
        rc = postie_tls_init(&c->tls, lower, &c->cfg.tls);
        c->tls_initialised = (rc == POSTIE_OK);
    }
    if (rc == POSTIE_OK) {
        rc = postie_tls_handshake(&c->tls, c->cfg.host, c->cfg.connect_timeout_ms);
    }
    if (rc != POSTIE_OK) {
        const char *what = c->cfg.protocol == POSTIE_FETCH_IMAP ? "TLS handshake after STARTTLS"
                                                                : "TLS handshake after STLS";
        record_failure(c, rc, what);
        c->error.phase = what;
        return rc;
    }
    *upgraded = &c->tls.base;
    return POSTIE_OK;
}

static void on_event(void *ctx, const postie_engine_event_t *ev)
{
    postie_mailbox_client_t *c = ctx;
    if (c->event != NULL) {
        c->event(c->event_ctx, ev);
    }
}

static void config_error(postie_mailbox_client_t *c, postie_status_t st, const char *what)
{
    postie_error_clear(&c->error);
    c->error.status = st;
    c->error.phase = "configuration";
    postie_text_copy_printable(c->error.subject, sizeof(c->error.subject), what, strlen(what));
}

/* Initialise the engine the configuration names. */
static postie_status_t engine_init(postie_mailbox_client_t *c)
{
    const postie_mailbox_client_config_t *cfg = &c->cfg;
    postie_status_t st;
    if (cfg->protocol == POSTIE_FETCH_IMAP) {
        postie_imap_config_t ic;
        postie_imap_config_defaults(&ic);
        ic.tls_mode = cfg->tls_mode;
        ic.allow_plaintext_auth = cfg->allow_plaintext_auth;
        ic.username = cfg->user;
        ic.password = cfg->password;
        ic.folder = cfg->folder;
        if (cfg->token != NULL) {
            ic.oauth_token = c->token;
            ic.oauth_mechanism = cfg->oauth_mechanism;
            ic.oauth_host = cfg->host;
            ic.oauth_port = postie_mailbox_client_port(cfg);
        }
        ic.log = cfg->log;
        ic.log_ctx = cfg->log_ctx;
        if (cfg->reply_timeout_ms != 0) {
            ic.timeout_greeting_ms = cfg->reply_timeout_ms;
            ic.timeout_command_ms = cfg->reply_timeout_ms;
            ic.timeout_data_ms = cfg->reply_timeout_ms;
        }
        c->glue = &postie_driver_imap_ops;
        c->mb = &postie_imap_mailbox_ops;
        st = postie_imap_init(&c->engine.imap, &ic);
    } else {
        postie_pop3_config_t pc;
        postie_pop3_config_defaults(&pc);
        pc.tls_mode = cfg->tls_mode;
        pc.allow_plaintext_auth = cfg->allow_plaintext_auth;
        pc.username = cfg->user;
        pc.password = cfg->password;
        pc.use_apop = cfg->use_apop;
        if (cfg->token != NULL) {
            pc.oauth_token = c->token;
            pc.oauth_mechanism = cfg->oauth_mechanism;
            pc.oauth_host = cfg->host;
            pc.oauth_port = postie_mailbox_client_port(cfg);
        }
        pc.log = cfg->log;
        pc.log_ctx = cfg->log_ctx;
        if (cfg->reply_timeout_ms != 0) {
            pc.timeout_greeting_ms = cfg->reply_timeout_ms;
            pc.timeout_command_ms = cfg->reply_timeout_ms;
            pc.timeout_data_ms = cfg->reply_timeout_ms;
        }
        c->glue = &postie_driver_pop3_ops;
        c->mb = &postie_pop3_mailbox_ops;
        st = postie_pop3_init(&c->engine.pop3, &pc);
    }
    if (st != POSTIE_OK) {
        c->error = *c->glue->error(&c->engine);
        if (c->error.status == POSTIE_OK) {
            config_error(c, st, "the mail account's fields");
        }
    }
    return st;
}

static postie_status_t engine_start(postie_mailbox_client_t *c, uint32_t now)
{
    if (c->cfg.protocol == POSTIE_FETCH_IMAP) {
        return postie_imap_start(&c->engine.imap, now);
    }
    return postie_pop3_start(&c->engine.pop3, now);
}

/* Connect and open the session up to READY with c->cfg as it stands. */
static postie_status_t open_once(void *ctx)
{
    postie_mailbox_client_t *c = ctx;
    const postie_driver_hooks_t hooks = {.tls_upgrade = upgrade_tls,
                                         .transport_failed = record_failure,
                                         .event = on_event,
                                         .ctx = c};
    bool implicit = c->cfg.tls_mode == POSTIE_TLS_IMPLICIT;
    const char *target = c->cfg.connect_to != NULL ? c->cfg.connect_to : c->cfg.host;
    postie_status_t st;

    postie_error_clear(&c->error);
    postie_tcp_init(&c->tcp);
    c->tls_initialised = false;
    st = engine_init(c);
    if (st != POSTIE_OK) {
        return st;
    }
    postie_driver_init(&c->driver, c->glue, &c->engine, &c->tcp.base, NULL, 0, &hooks);
    c->open = true;
    if (implicit) {
        st = postie_tls_init(&c->tls, &c->tcp.base, &c->cfg.tls);
        c->tls_initialised = (st == POSTIE_OK);
        if (st == POSTIE_OK) {
            c->driver.io = &c->tls.base;
        }
    }
    if (st == POSTIE_OK) {
        st = postie_transport_connect(c->driver.io, target, postie_mailbox_client_port(&c->cfg),
                                      c->cfg.connect_timeout_ms);
    }
    if (st != POSTIE_OK) {
        const char *what = implicit ? "connect and TLS handshake" : "connect";
        c->glue->fail(&c->engine, st, what);
        record_failure(c, st, what);
        c->error.phase = what;
        return st;
    }
    /* the greeting's deadline counts from now */
    st = engine_start(c, postie_clock_ms());
    if (st != POSTIE_OK) {
        c->error = *c->glue->error(&c->engine);
        c->error.status = st;
        return st;
    }
    st = postie_driver_run(&c->driver, 0, POSTIE_MAILBOX_EV_READY);
    if (st == POSTIE_OK && !postie_driver_reached(&c->driver)) {
        st = POSTIE_E_BAD_STATE;
    }
    return st;
}

/* postie_oauth_login's view of the client (open_once is its open). */
static const postie_error_t *oauth_error(void *ctx)
{
    return postie_mailbox_client_error(ctx);
}

static void oauth_close(void *ctx)
{
    postie_mailbox_client_close(ctx);
}

postie_status_t postie_mailbox_client_open(postie_mailbox_client_t *c,
                                           const postie_mailbox_client_config_t *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    postie_error_clear(&c->error);
    postie_tcp_init(&c->tcp);
    /* ops for the error and info calls, whatever happens below */
    c->glue = &postie_driver_pop3_ops;
    c->mb = &postie_pop3_mailbox_ops;
    if (cfg->protocol != POSTIE_FETCH_POP3 && cfg->protocol != POSTIE_FETCH_IMAP) {
        config_error(c, POSTIE_E_INVALID_ARGUMENT, "protocol: not POP3 or IMAP");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (c->cfg.host == NULL || c->cfg.host[0] == '\0') {
        config_error(c, POSTIE_E_INVALID_ARGUMENT, "host: empty");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (c->cfg.tls.verify_name == NULL) {
        c->cfg.tls.verify_name = c->cfg.host;
    }
    if (c->cfg.connect_timeout_ms == 0) {
        c->cfg.connect_timeout_ms = POSTIE_CONNECT_TIMEOUT_MS;
    }
    /* an OAuth 2.0 account (postie_account_client_config) with neither a
     * provider nor a password */
    const bool required = c->cfg.oauth_mechanism != 0 && c->cfg.password == NULL;
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

postie_status_t postie_mailbox_client_wait(postie_mailbox_client_t *c, int event,
                                           postie_driver_event_fn fn, void *ctx)
{
    postie_status_t st;
    if (!c->open) {
        return POSTIE_E_BAD_STATE;
    }
    c->event = fn;
    c->event_ctx = ctx;
    st = postie_driver_run(&c->driver, 0, event);
    c->event = NULL;
    c->event_ctx = NULL;
    if (st == POSTIE_OK && !postie_driver_reached(&c->driver)) {
        st = POSTIE_E_BAD_STATE;
    }
    return st;
}

/* Start a command (rc from the engine) and run it to its event. */
static postie_status_t run_to(postie_mailbox_client_t *c, postie_status_t rc, int event)
{
    if (rc != POSTIE_OK) {
        return rc;
    }
    rc = postie_mailbox_client_wait(c, event, NULL, NULL);
    if (rc != POSTIE_OK && postie_driver_reached(&c->driver)) {
        return POSTIE_OK; /* it completed, then the session ended */
    }
    return rc;
}

postie_status_t postie_mailbox_client_list(postie_mailbox_client_t *c, uint32_t from_id,
                                           uint32_t want, postie_mailbox_item_fn fn, void *ctx)
{
    if (!c->open) {
        return POSTIE_E_BAD_STATE;
    }
    return run_to(c, c->mb->list(&c->engine, from_id, want, fn, ctx, postie_clock_ms()),
                  POSTIE_MAILBOX_EV_LISTED);
}

postie_status_t postie_mailbox_client_retrieve(postie_mailbox_client_t *c, uint32_t id,
                                               uint64_t size_max, postie_mailbox_data_fn fn,
                                               void *ctx)
{
    if (!c->open) {
        return POSTIE_E_BAD_STATE;
    }
    return run_to(c, c->mb->retrieve(&c->engine, id, size_max, fn, ctx, postie_clock_ms()),
                  POSTIE_MAILBOX_EV_RETRIEVED);
}

postie_status_t postie_mailbox_client_remove(postie_mailbox_client_t *c, uint32_t id)
{
    if (!c->open) {
        return POSTIE_E_BAD_STATE;
    }
    return run_to(c, c->mb->remove(&c->engine, id, postie_clock_ms()), POSTIE_MAILBOX_EV_REMOVED);
}

postie_status_t postie_mailbox_client_finish(postie_mailbox_client_t *c)
{
    if (!c->open) {
        return POSTIE_E_BAD_STATE;
    }
    return run_to(c, c->mb->finish(&c->engine, postie_clock_ms()), POSTIE_MAILBOX_EV_CLOSED);
}

void postie_mailbox_client_close(postie_mailbox_client_t *c)
{
    memset(c->token, 0, sizeof(c->token));
    if (!c->open) {
        return;
    }
    if (c->tls_initialised) {
        postie_tls_free(&c->tls); /* closes the TCP connection too */
        c->tls_initialised = false;
    } else {
        postie_transport_close(&c->tcp.base);
    }
    c->open = false;
}
