/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POP3 client engine. See postie/pop3/pop3.h for the contract.
 * (A stub that compiles, so code against the header links; the engine
 * follows.)
 */
#include "postie/pop3/pop3.h"

#include <string.h>

void postie_pop3_config_defaults(postie_pop3_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    cfg->sasl_allowed = POSTIE_SASL_PLAIN;
    cfg->use_pipelining = true;
    cfg->timeout_greeting_ms = POSTIE_POP3_TIMEOUT_GREETING_MS;
    cfg->timeout_command_ms = POSTIE_POP3_TIMEOUT_COMMAND_MS;
    cfg->timeout_data_ms = POSTIE_POP3_TIMEOUT_DATA_MS;
}

static const char *const phase_names[] = {
#define POSTIE_POP3_PHASE_NAME(name) #name,
    POSTIE_POP3_PHASES(POSTIE_POP3_PHASE_NAME)
#undef POSTIE_POP3_PHASE_NAME
};

const char *postie_pop3_phase_name(postie_pop3_phase_t phase)
{
    if ((unsigned)phase >= (unsigned)POSTIE_POP3_PHASE_COUNT) {
        return "UNKNOWN";
    }
    return phase_names[phase];
}

postie_status_t postie_pop3_init(postie_pop3_t *p, const postie_pop3_config_t *cfg)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    postie_error_clear(&p->error);
    return POSTIE_OK;
}

postie_status_t postie_pop3_start(postie_pop3_t *p, uint32_t now)
{
    (void)p;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

uint32_t postie_pop3_state(const postie_pop3_t *p)
{
    (void)p;
    return POSTIE_POP3_FAILED;
}

postie_pop3_phase_t postie_pop3_phase(const postie_pop3_t *p)
{
    return p->phase;
}

const uint8_t *postie_pop3_tx_buf(const postie_pop3_t *p, size_t *len)
{
    *len = 0;
    return p->tx_buf;
}

void postie_pop3_tx_ack(postie_pop3_t *p, size_t sent, uint32_t now)
{
    (void)p;
    (void)sent;
    (void)now;
}

uint8_t *postie_pop3_rx_buf(postie_pop3_t *p, size_t *cap)
{
    *cap = 0;
    return p->rx_buf;
}

postie_status_t postie_pop3_rx_ack(postie_pop3_t *p, size_t got, uint32_t now)
{
    (void)p;
    (void)got;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

void postie_pop3_rx_eof(postie_pop3_t *p)
{
    (void)p;
}

void postie_pop3_transport_failed(postie_pop3_t *p, postie_status_t status, const char *what)
{
    (void)p;
    (void)status;
    (void)what;
}

postie_status_t postie_pop3_tls_done(postie_pop3_t *p, uint32_t now)
{
    (void)p;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_pop3_list(postie_pop3_t *p, uint32_t from_id, uint32_t want,
                                 postie_mailbox_item_fn fn, void *ctx, uint32_t now)
{
    (void)p;
    (void)from_id;
    (void)want;
    (void)fn;
    (void)ctx;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_pop3_retrieve(postie_pop3_t *p, uint32_t id, uint64_t size_max,
                                     postie_mailbox_data_fn fn, void *ctx, uint32_t now)
{
    (void)p;
    (void)id;
    (void)size_max;
    (void)fn;
    (void)ctx;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_pop3_remove(postie_pop3_t *p, uint32_t id, uint32_t now)
{
    (void)p;
    (void)id;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_pop3_finish(postie_pop3_t *p, uint32_t now)
{
    (void)p;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_pop3_poll(postie_pop3_t *p, uint32_t now)
{
    (void)p;
    (void)now;
    return POSTIE_OK;
}

uint32_t postie_pop3_timeout_ms(const postie_pop3_t *p, uint32_t now)
{
    (void)p;
    (void)now;
    return UINT32_MAX;
}

uint32_t postie_pop3_send_timeout_ms(const postie_pop3_t *p)
{
    return p->cfg.timeout_command_ms;
}

bool postie_pop3_next_event(postie_pop3_t *p, postie_pop3_event_t *ev)
{
    (void)p;
    ev->type = POSTIE_MAILBOX_EV_NONE;
    return false;
}

const postie_pop3_caps_t *postie_pop3_caps(const postie_pop3_t *p)
{
    return &p->caps;
}

const postie_mailbox_info_t *postie_pop3_info(const postie_pop3_t *p)
{
    return &p->info;
}

const postie_error_t *postie_pop3_error(const postie_pop3_t *p)
{
    return &p->error;
}

const char *postie_pop3_alert_text(const postie_pop3_t *p)
{
    return p->alert;
}

static postie_status_t ops_list(void *e, uint32_t from_id, uint32_t want, postie_mailbox_item_fn fn,
                                void *ctx, uint32_t now)
{
    return postie_pop3_list(e, from_id, want, fn, ctx, now);
}

static postie_status_t ops_retrieve(void *e, uint32_t id, uint64_t size_max,
                                    postie_mailbox_data_fn fn, void *ctx, uint32_t now)
{
    return postie_pop3_retrieve(e, id, size_max, fn, ctx, now);
}

static postie_status_t ops_remove(void *e, uint32_t id, uint32_t now)
{
    return postie_pop3_remove(e, id, now);
}

static postie_status_t ops_finish(void *e, uint32_t now)
{
    return postie_pop3_finish(e, now);
}

static const postie_mailbox_info_t *ops_info(const void *e)
{
    return postie_pop3_info(e);
}

static const char *ops_alert_text(const void *e)
{
    return postie_pop3_alert_text(e);
}

const postie_mailbox_ops_t postie_pop3_mailbox_ops = {
    .list = ops_list,
    .retrieve = ops_retrieve,
    .remove = ops_remove,
    .finish = ops_finish,
    .info = ops_info,
    .alert_text = ops_alert_text,
};
