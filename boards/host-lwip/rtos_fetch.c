/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RTOS program's fetch mode: the POP3 or IMAP engine, run by the shared
 * driver over the lwIP socket transport with Postie's TLS layer (implicit
 * TLS, or STLS / STARTTLS), lists the mailbox and retrieves messages until
 * one carries the Subject the send mode wrote (--tag). The sequence is that
 * of port/posix/mailbox_client.c with the lwIP transport underneath.
 */
#include "rtos_fetch.h"

#include <string.h>

#include "postie/common/clock.h"
#include "postie/common/driver_imap.h"
#include "postie/common/driver_pop3.h"
#include "postie/common/mailbox.h"
#include "postie/imap/imap.h"
#include "postie/lwip/sock.h"
#include "postie/pop3/pop3.h"

#define IDS_MAX 64

typedef struct {
    const host_lwip_options_t *o;
    union {
        postie_pop3_t pop3;
        postie_imap_t imap;
    } engine;
    const postie_engine_ops_t *glue;
    const postie_mailbox_ops_t *mb;
    postie_lwip_sock_t sock;
    postie_tls_t tls;
    bool tls_init;
    postie_tls_config_t tls_cfg;
    postie_driver_t driver;
    postie_error_t error;
    uint32_t ids[IDS_MAX];
    size_t nids;
    char want[128]; /* "Subject: postie over lwIP TAG" */
    size_t matched; /* octets of want matched so far */
    bool found;
} fetcher_t;

static fetcher_t fetcher;

static postie_status_t upgrade(void *ctx, postie_transport_t *lower, postie_transport_t **upgraded)
{
    fetcher_t *f = ctx;
    postie_status_t st = POSTIE_OK;
    if (!f->tls_init) {
        st = postie_tls_init(&f->tls, lower, &f->tls_cfg);
        f->tls_init = (st == POSTIE_OK);
    }
    if (st == POSTIE_OK) {
        st = postie_tls_handshake(&f->tls, f->o->verify_name, 30000);
    }
    if (st != POSTIE_OK) {
        f->error = f->tls.last_error;
        return st;
    }
    *upgraded = postie_tls_transport(&f->tls);
    return POSTIE_OK;
}

static void failed(void *ctx, postie_status_t st, const char *what)
{
    fetcher_t *f = ctx;
    if (f->error.status == POSTIE_OK) {
        f->error.status = st;
        f->error.phase = what;
    }
}

static postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
{
    fetcher_t *f = ctx;
    if (f->nids < IDS_MAX && (f->nids == 0 || f->ids[f->nids - 1] != item->id)) {
        f->ids[f->nids++] = item->id;
    }
    return POSTIE_OK;
}

/* Look for want in the message's octets, across chunk boundaries (the
 * pattern has no repeated prefix, so a plain restart is exact). */
static postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
{
    fetcher_t *f = ctx;
    size_t want_len = strlen(f->want);
    for (size_t i = 0; i < len && !f->found; i++) {
        if ((char)data[i] == f->want[f->matched]) {
            if (++f->matched == want_len) {
                f->found = true;
            }
        } else {
            f->matched = (char)data[i] == f->want[0] ? 1 : 0;
        }
    }
    return POSTIE_OK;
}

static postie_status_t run_to(fetcher_t *f, postie_status_t started, int event)
{
    postie_status_t st;
    if (started != POSTIE_OK) {
        return started;
    }
    st = postie_driver_run(&f->driver, 0, event);
    return st == POSTIE_OK && !postie_driver_reached(&f->driver) ? POSTIE_E_BAD_STATE : st;
}

static const postie_error_t *why(fetcher_t *f)
{
    return f->error.status != POSTIE_OK ? &f->error : f->glue->error(&f->engine);
}

postie_status_t rtos_fetch(const host_lwip_options_t *o, bool *found, char *tls_version,
                           size_t tls_cap, const postie_error_t **err)
{
    fetcher_t *f = &fetcher;
    const postie_driver_hooks_t hooks = {
        .tls_upgrade = upgrade, .transport_failed = failed, .ctx = f};
    bool implicit = strcmp(o->mode, "smtps") == 0; /* "smtps" = implicit TLS for any protocol */
    bool imap = strcmp(o->fetch, "imap") == 0;
    postie_status_t st;

    memset(f, 0, sizeof(*f));
    f->o = o;
    postie_error_clear(&f->error);
    *err = &f->error;
    *found = false;
    (void)snprintf(f->want, sizeof(f->want), "Subject: postie over lwIP %s", o->tag);
    f->tls_cfg.ca_file = o->ca;
    f->tls_cfg.verify_name = o->verify_name;
    if (imap) {
        postie_imap_config_t c;
        postie_imap_config_defaults(&c);
        c.tls_mode = implicit ? POSTIE_TLS_IMPLICIT : POSTIE_TLS_STARTTLS_REQUIRED;
        c.username = o->user;
        c.password = o->password;
        f->glue = &postie_driver_imap_ops;
        f->mb = &postie_imap_mailbox_ops;
        st = postie_imap_init(&f->engine.imap, &c);
    } else {
        postie_pop3_config_t c;
        postie_pop3_config_defaults(&c);
        c.tls_mode = implicit ? POSTIE_TLS_IMPLICIT : POSTIE_TLS_STARTTLS_REQUIRED;
        c.username = o->user;
        c.password = o->password;
        f->glue = &postie_driver_pop3_ops;
        f->mb = &postie_pop3_mailbox_ops;
        st = postie_pop3_init(&f->engine.pop3, &c);
    }
    if (st != POSTIE_OK) {
        *err = why(f);
        return st;
    }
    postie_lwip_sock_init(&f->sock);
    postie_driver_init(&f->driver, f->glue, &f->engine, &f->sock.base, NULL, 0, &hooks);
    if (implicit) {
        st = postie_tls_init(&f->tls, &f->sock.base, &f->tls_cfg);
        f->tls_init = (st == POSTIE_OK);
        f->driver.io = postie_tls_transport(&f->tls);
    }
    if (st == POSTIE_OK) {
        st = postie_transport_connect(f->driver.io, o->server, o->port, 20000);
        if (st != POSTIE_OK) {
            f->error = implicit ? f->tls.last_error : f->error;
            f->error.status = st;
            f->error.phase = "connect";
        }
    }
    if (st == POSTIE_OK) {
        st = imap ? postie_imap_start(&f->engine.imap, postie_clock_ms())
                  : postie_pop3_start(&f->engine.pop3, postie_clock_ms());
        st = run_to(f, st, POSTIE_MAILBOX_EV_READY);
    }
    if (st == POSTIE_OK) {
        st = run_to(f, f->mb->list(&f->engine, 1, 0, on_item, f, postie_clock_ms()),
                    POSTIE_MAILBOX_EV_LISTED);
    }
    for (size_t i = 0; st == POSTIE_OK && i < f->nids && !f->found; i++) {
        f->matched = 0;
        st = run_to(f, f->mb->retrieve(&f->engine, f->ids[i], 0, on_data, f, postie_clock_ms()),
                    POSTIE_MAILBOX_EV_RETRIEVED);
    }
    if (st == POSTIE_OK) {
        if (f->tls_init && f->tls.active) {
            postie_tls_info_t info;
            postie_tls_get_info(&f->tls, &info);
            (void)snprintf(tls_version, tls_cap, "%s", info.version);
        }
        st = run_to(f, f->mb->finish(&f->engine, postie_clock_ms()), POSTIE_MAILBOX_EV_CLOSED);
    }
    if (st != POSTIE_OK) {
        *err = why(f);
    }
    if (f->tls_init) {
        postie_tls_free(&f->tls); /* closes the socket too */
    } else {
        postie_transport_close(&f->sock.base);
    }
    *found = f->found;
    return st;
}
