/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMAP client engine. See postie/imap/imap.h for the contract.
 * (Stub: the API compiles; the engine follows.)
 */
#include "postie/imap/imap.h"

#include <string.h>

static const char *const state_names[] = {
#define POSTIE_IMAP_STATE_NAME(name) #name,
    POSTIE_IMAP_STATES(POSTIE_IMAP_STATE_NAME)
#undef POSTIE_IMAP_STATE_NAME
};

const char *postie_imap_state_name(postie_imap_state_t state)
{
    if ((unsigned)state >= (unsigned)POSTIE_IMAP_STATE_COUNT) {
        return "UNKNOWN";
    }
    return state_names[state];
}

void postie_imap_config_defaults(postie_imap_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    cfg->sasl_allowed = POSTIE_SASL_PLAIN;
    cfg->timeout_greeting_ms = POSTIE_IMAP_TIMEOUT_GREETING_MS;
    cfg->timeout_command_ms = POSTIE_IMAP_TIMEOUT_COMMAND_MS;
    cfg->timeout_data_ms = POSTIE_IMAP_TIMEOUT_DATA_MS;
    cfg->literal_max = POSTIE_IMAP_LITERAL_MAX;
}

postie_status_t postie_imap_init(postie_imap_t *m, const postie_imap_config_t *cfg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    postie_error_clear(&m->error);
    m->state = POSTIE_IMAP_STATE_IDLE;
    return POSTIE_OK;
}

postie_status_t postie_imap_start(postie_imap_t *m, uint32_t now)
{
    (void)m;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

uint32_t postie_imap_state(const postie_imap_t *m)
{
    (void)m;
    return 0;
}

postie_imap_state_t postie_imap_current_state(const postie_imap_t *m)
{
    return m->state;
}

const uint8_t *postie_imap_tx_buf(const postie_imap_t *m, size_t *len)
{
    *len = m->tx_len - m->tx_start;
    return m->tx_buf + m->tx_start;
}

void postie_imap_tx_ack(postie_imap_t *m, size_t sent, uint32_t now)
{
    (void)m;
    (void)sent;
    (void)now;
}

uint8_t *postie_imap_rx_buf(postie_imap_t *m, size_t *cap)
{
    *cap = 0;
    return m->rx_buf;
}

postie_status_t postie_imap_rx_ack(postie_imap_t *m, size_t got, uint32_t now)
{
    (void)m;
    (void)got;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

void postie_imap_rx_eof(postie_imap_t *m)
{
    (void)m;
}

void postie_imap_transport_failed(postie_imap_t *m, postie_status_t status, const char *what)
{
    (void)m;
    (void)status;
    (void)what;
}

postie_status_t postie_imap_tls_done(postie_imap_t *m, uint32_t now)
{
    (void)m;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_imap_poll(postie_imap_t *m, uint32_t now)
{
    (void)m;
    (void)now;
    return POSTIE_OK;
}

uint32_t postie_imap_timeout_ms(const postie_imap_t *m, uint32_t now)
{
    (void)m;
    (void)now;
    return UINT32_MAX;
}

uint32_t postie_imap_send_timeout_ms(const postie_imap_t *m)
{
    return m->cfg.timeout_command_ms;
}

bool postie_imap_next_event(postie_imap_t *m, postie_imap_event_t *ev)
{
    (void)m;
    ev->type = POSTIE_MAILBOX_EV_NONE;
    return false;
}

postie_status_t postie_imap_list(void *m, uint32_t from_id, uint32_t want,
                                 postie_mailbox_item_fn fn, void *ctx, uint32_t now)
{
    (void)m;
    (void)from_id;
    (void)want;
    (void)fn;
    (void)ctx;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_imap_retrieve(void *m, uint32_t uid, uint64_t size_max,
                                     postie_mailbox_data_fn fn, void *ctx, uint32_t now)
{
    (void)m;
    (void)uid;
    (void)size_max;
    (void)fn;
    (void)ctx;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_imap_remove(void *m, uint32_t uid, uint32_t now)
{
    (void)m;
    (void)uid;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_imap_finish(void *m, uint32_t now)
{
    (void)m;
    (void)now;
    return POSTIE_E_BAD_STATE;
}

const postie_mailbox_info_t *postie_imap_info(const void *m)
{
    return &((const postie_imap_t *)m)->info;
}

const char *postie_imap_alert_text(const void *m)
{
    return ((const postie_imap_t *)m)->alert;
}

const postie_mailbox_ops_t postie_imap_mailbox_ops = {
    .list = postie_imap_list,
    .retrieve = postie_imap_retrieve,
    .remove = postie_imap_remove,
    .finish = postie_imap_finish,
    .info = postie_imap_info,
    .alert_text = postie_imap_alert_text,
};

const postie_imap_caps_t *postie_imap_caps(const postie_imap_t *m)
{
    return &m->caps;
}

const postie_error_t *postie_imap_error(const postie_imap_t *m)
{
    return &m->error;
}
