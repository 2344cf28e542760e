/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lwIP bare metal (NO_SYS=1) in a Linux process: one main loop reads the tap
 * device and runs lwIP's timers, as firmware's main loop would poll its
 * Ethernet controller. Postie's SMTP engine runs from lwIP's callbacks: the
 * event-driven runner (postie/common/runner.h) over the raw-API transport
 * (postie/lwip/tcp_raw.h), with Postie's TLS layer stepped without blocking
 * over that transport for SMTPS and for STARTTLS. Nothing here blocks but
 * the main loop's select() on the tap device.
 *
 * See host_lwip.h for the command line. With --fetch the same runner drives
 * the POP3 or IMAP engine instead, to fetch the message back from Dovecot. Scenarios besides "send"
 * test the transport's close and abort paths: "abort-in-callback" aborts from inside the recv
 * callback once the greeting arrived (the callback must return ERR_ABRT), "close-early" closes from
 * inside the recv callback mid-session, "close-connecting" closes while TCP connects,
 * "close-resolving" closes while DNS resolves. Each must leave no pcb and no pbuf behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/mem.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h" /* tcp_active_pcbs, tcp_tw_pcbs: the leak check */
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "netif/tapif.h"

#include "postie/common/clock.h"
#include "postie/common/driver_imap.h"
#include "postie/common/driver_pop3.h"
#include "postie/common/driver_smtp.h"
#include "postie/common/mailbox.h"
#include "postie/imap/imap.h"
#include "postie/pop3/pop3.h"
#include "postie/common/runner.h"
#include "postie/lwip/tcp_raw.h"
#include "postie/mbedtls/tls.h"
#include "postie/smtp/smtp.h"

#include "host_lwip.h"

typedef enum { J_CONNECT, J_TLS, J_SESSION, J_DONE } job_phase_t;

typedef struct {
    host_lwip_options_t o;
    postie_lwip_tcp_t tcp;
    postie_tls_t tls;
    bool tls_init;
    bool tls_begun;
    uint32_t tls_start;
    postie_tls_config_t tls_cfg;
    postie_smtp_config_t cfg;
    postie_smtp_t smtp;
    postie_runner_t runner;
    uint8_t stage[1024];
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt;
    host_lwip_body_t body;
    job_phase_t phase;
    int goal; /* 0 ready, 1 message, 2 quit */
    postie_status_t result;
    postie_error_t error;
    bool done;
    char tls_version_seen[16]; /* the TLS version negotiated, or "none" */
    /* --fetch: the POP3 or IMAP engine on the same runner */
    union {
        postie_pop3_t pop3;
        postie_imap_t imap;
    } mbox;
    const postie_engine_ops_t *glue; /* the runner's engine table */
    const postie_mailbox_ops_t *mb;  /* NULL: SMTP */
    uint32_t ids[64];
    size_t nids;
    size_t next_id;
    char want[128]; /* "Subject: postie over lwIP TAG" */
    size_t matched;
    bool found;
} job_t;

static job_t job;

static const uint32_t TLS_TIMEOUT_MS = 30000;

static void finish(job_t *j, postie_status_t st, const postie_error_t *err)
{
    if (j->done) {
        return;
    }
    j->result = st;
    if (err != NULL) {
        j->error = *err;
    }
    if (j->tls_init) {
        postie_tls_free(&j->tls); /* close_notify, then closes the TCP transport */
        j->tls_init = false;
    } else {
        postie_transport_close(&j->tcp.base);
    }
    j->phase = J_DONE;
    j->done = true;
}

/* One TLS handshake step (implicit TLS and STARTTLS share it). */
static postie_status_t tls_step(job_t *j, postie_transport_t *lower, uint32_t now)
{
    postie_status_t st;
    if (!j->tls_init) {
        st = postie_tls_init(&j->tls, lower, &j->tls_cfg);
        if (st != POSTIE_OK) {
            postie_tls_free(&j->tls);
            return st;
        }
        j->tls_init = true;
    }
    if (!j->tls_begun) {
        st = postie_tls_handshake_begin(&j->tls, j->o.verify_name);
        if (st != POSTIE_OK) {
            return st;
        }
        j->tls_begun = true;
        j->tls_start = now;
    }
    st = postie_tls_handshake_step(&j->tls);
    if (st == POSTIE_E_AGAIN && now - j->tls_start >= TLS_TIMEOUT_MS) {
        st = POSTIE_E_TIMEOUT;
    }
    if (st == POSTIE_OK) {
        postie_tls_info_t info;
        postie_tls_get_info(&j->tls, &info);
        memcpy(j->tls_version_seen, info.version, sizeof(j->tls_version_seen));
        j->tls_version_seen[sizeof(j->tls_version_seen) - 1] = '\0';
    }
    return st;
}

static postie_status_t starttls_hook(void *ctx, postie_transport_t *lower,
                                     postie_transport_t **upgraded, uint32_t now)
{
    job_t *j = ctx;
    postie_status_t st = tls_step(j, lower, now);
    if (st == POSTIE_OK) {
        *upgraded = postie_tls_transport(&j->tls);
    }
    return st;
}

static void scenario_in_session(job_t *j)
{
    /* called from inside the recv callback (wake) once bytes arrived */
    if (strcmp(j->o.scenario, "abort-in-callback") == 0 && j->tcp.rx != NULL) {
        postie_error_t e;
        postie_error_clear(&e);
        e.phase = "aborted in the recv callback";
        postie_lwip_tcp_abort(&j->tcp);
        finish(j, POSTIE_OK, &e);
    } else if (strcmp(j->o.scenario, "close-early") == 0 && j->tcp.rx != NULL) {
        postie_error_t e;
        postie_error_clear(&e);
        e.phase = "closed in the recv callback";
        finish(j, POSTIE_OK, &e);
    }
}

/* (Re)start the engine's clock once the connection (and implicit TLS) is up. */
static void start_engine(job_t *j)
{
    if (j->mb == NULL) {
        (void)postie_smtp_init(&j->smtp, &j->cfg, postie_clock_ms());
    } else if (j->mb == &postie_imap_mailbox_ops) {
        (void)postie_imap_start(&j->mbox.imap, postie_clock_ms());
    } else {
        (void)postie_pop3_start(&j->mbox.pop3, postie_clock_ms());
    }
}

static postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
{
    job_t *j = ctx;
    if (j->nids < sizeof(j->ids) / sizeof(j->ids[0]) &&
        (j->nids == 0 || j->ids[j->nids - 1] != item->id)) {
        j->ids[j->nids++] = item->id;
    }
    return POSTIE_OK;
}

/* Look for want across chunks (it has no repeated prefix: a restart is exact). */
static postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
{
    job_t *j = ctx;
    size_t want_len = strlen(j->want);
    for (size_t i = 0; i < len && !j->found; i++) {
        if ((char)data[i] == j->want[j->matched]) {
            j->found = ++j->matched == want_len;
        } else {
            j->matched = (char)data[i] == j->want[0] ? 1 : 0;
        }
    }
    return POSTIE_OK;
}

/* --fetch: READY, list, retrieve until the tagged message is found, finish;
 * each command run to its event by the same runner, from lwIP's callbacks. */
static void fetch_steps(job_t *j)
{
    for (;;) {
        postie_status_t st = postie_runner_step(&j->runner);
        int next = 0;
        if (st == POSTIE_E_AGAIN) {
            return;
        }
        if (st == POSTIE_OK && j->goal == 0) { /* READY: list everything */
            st = j->mb->list(&j->mbox, 1, 0, on_item, j, postie_clock_ms());
            next = POSTIE_MAILBOX_EV_LISTED;
        } else if (st == POSTIE_OK && j->goal == 1 && !j->found && j->next_id < j->nids) {
            j->matched = 0; /* LISTED or RETRIEVED: the next message */
            st = j->mb->retrieve(&j->mbox, j->ids[j->next_id++], 0, on_data, j, postie_clock_ms());
            next = POSTIE_MAILBOX_EV_RETRIEVED;
        } else if (st == POSTIE_OK && j->goal == 1) {
            st = j->mb->finish(&j->mbox, postie_clock_ms());
            next = POSTIE_MAILBOX_EV_CLOSED;
            j->goal = 2;
        } else if (st == POSTIE_OK) { /* CLOSED: logged out */
            postie_error_t e;
            postie_error_clear(&e);
            e.phase = j->found ? "found" : "not found";
            finish(j, j->found ? POSTIE_OK : POSTIE_E_NOT_FOUND, &e);
            return;
        }
        if (st != POSTIE_OK) {
            finish(j, st, j->glue->error(&j->mbox));
            return;
        }
        if (j->goal == 0) {
            j->goal = 1;
        }
        postie_runner_set_goal(&j->runner, 0, next);
    }
}

/* Everything happens here, called from lwIP's callbacks. */
static void wake(void *ctx)
{
    job_t *j = ctx;
    postie_status_t st;

    if (j->done) {
        return;
    }
    if (j->phase == J_CONNECT) {
        st = postie_lwip_tcp_status(&j->tcp);
        if (st == POSTIE_E_AGAIN) {
            return;
        }
        if (st != POSTIE_OK) {
            postie_error_t e;
            postie_error_clear(&e);
            e.status = st;
            e.phase = "connect";
            finish(j, st, &e);
            return;
        }
        /* the greeting's clock starts now that the connection is up */
        start_engine(j);
        j->phase = strcmp(j->o.mode, "smtps") == 0 ? J_TLS : J_SESSION;
    }
    if (j->phase == J_TLS) {
        st = tls_step(j, &j->tcp.base, postie_clock_ms());
        if (st == POSTIE_E_AGAIN) {
            return;
        }
        if (st != POSTIE_OK) {
            finish(j, st, &j->tls.last_error);
            return;
        }
        j->runner.io = postie_tls_transport(&j->tls);
        start_engine(j);
        j->phase = J_SESSION;
    }
    scenario_in_session(j);
    if (j->done) {
        return;
    }
    if (j->mb != NULL) {
        fetch_steps(j);
        return;
    }
    for (;;) {
        st = postie_runner_step(&j->runner);
        if (st == POSTIE_E_AGAIN) {
            return;
        }
        if (st != POSTIE_OK) {
            const postie_error_t *e = postie_smtp_error(&j->smtp);
            if (j->goal == 1 && postie_runner_reached(&j->runner)) {
                e = postie_smtp_message_result(&j->smtp);
            }
            finish(j, st, e);
            return;
        }
        if (j->goal == 0) {
            /* greeting, EHLO, STARTTLS, EHLO again: send the message */
            postie_error_t e;
            host_lwip_body_init(&j->body, &j->o);
            st = postie_smtp_send(&j->smtp, &j->env, postie_clock_ms());
            if (st != POSTIE_OK) {
                postie_error_clear(&e);
                e.status = st;
                e.phase = "envelope";
                finish(j, st, &e);
                return;
            }
            postie_runner_set_body(&j->runner, host_lwip_body_read, &j->body);
            postie_runner_set_goal(&j->runner, 0, POSTIE_SMTP_EV_MESSAGE_DONE);
            j->goal = 1;
        } else if (j->goal == 1) {
            j->result = postie_smtp_message_result(&j->smtp)->status;
            j->error = *postie_smtp_message_result(&j->smtp);
            if (j->result != POSTIE_OK ||
                postie_smtp_quit(&j->smtp, postie_clock_ms()) != POSTIE_OK) {
                postie_error_t e = j->error;
                finish(j, j->result != POSTIE_OK ? j->result : POSTIE_E_BAD_STATE, &e);
                return;
            }
            postie_runner_set_goal(&j->runner, POSTIE_SMTP_CLOSED, 0);
            j->goal = 2;
        } else {
            postie_error_t e = j->error;
            finish(j, j->result, &e); /* QUIT answered */
            return;
        }
    }
}

/* A board has no files: its CA certificates are a blob in flash. Here the
 * blob is read from --ca once, before lwIP starts, and the TLS layer gets it
 * as memory (postie_tls_config_t.ca_blob), as firmware would pass it. */
static uint8_t ca_blob[16384];

static bool load_ca_blob(job_t *j)
{
    FILE *f;
    size_t n;
    if (j->o.ca == NULL) {
        return true; /* the system's trust store */
    }
    f = fopen(j->o.ca, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot read %s\n", j->o.ca);
        return false;
    }
    n = fread(ca_blob, 1, sizeof(ca_blob), f);
    fclose(f);
    if (n == 0 || n == sizeof(ca_blob)) {
        fprintf(stderr, "%s: empty or over %zu octets\n", j->o.ca, sizeof(ca_blob));
        return false;
    }
    j->tls_cfg.ca_blob = ca_blob;
    j->tls_cfg.ca_blob_len = n;
    return true;
}

static bool parse_ip(const char *s, ip4_addr_t *a)
{
    return ip4addr_aton(s, a) != 0;
}

int main(int argc, char **argv)
{
    job_t *j = &job;
    struct netif netif;
    ip4_addr_t ip, mask, gw;
    postie_status_t st;
    const postie_runner_hooks_t hooks = {.tls_step = starttls_hook, .ctx = j};
    uint32_t start;
    bool leaks_ok;
    bool scenario_ok;

    if (!host_lwip_parse(&j->o, argc, argv) || !parse_ip(j->o.ip, &ip)) {
        return 2;
    }
    IP4_ADDR(&mask, 255, 255, 255, 0);
    gw.addr = (ip.addr & mask.addr) | PP_HTONL(1);
    srand((unsigned)time(NULL) ^ (unsigned)getpid()); /* lwIP's LWIP_RAND: ports, DNS ids */
    setenv("PRECONFIGURED_TAPIF", j->o.tap, 1);       /* lwIP's tapif: attach, do not configure */

    lwip_init();
    if (netif_add(&netif, &ip, &mask, &gw, NULL, tapif_init, ethernet_input) == NULL) {
        fprintf(stderr, "netif_add failed\n");
        return 2;
    }
    netif_set_default(&netif);
    netif_set_up(&netif);
    if (j->o.dns != NULL) {
        ip_addr_t dns;
        if (!ipaddr_aton(j->o.dns, &dns)) {
            return 2;
        }
        dns_setserver(0, &dns);
    }
    host_lwip_stats_baseline();

    /* the session */
    postie_smtp_config_defaults(&j->cfg);
    j->cfg.ehlo_name = "lwip.example.test";
    j->cfg.tls_mode = strcmp(j->o.mode, "plain") == 0   ? POSTIE_TLS_NONE
                      : strcmp(j->o.mode, "smtps") == 0 ? POSTIE_TLS_IMPLICIT
                                                        : POSTIE_TLS_STARTTLS_REQUIRED;
    if (j->o.timeout_ms != 0) {
        j->cfg.timeout_greeting_ms = j->cfg.timeout_command_ms = j->o.timeout_ms;
        j->cfg.timeout_data_init_ms = j->cfg.timeout_data_block_ms = j->o.timeout_ms;
        j->cfg.timeout_data_end_ms = j->o.timeout_ms;
    }
    memset(&j->tls_cfg, 0, sizeof(j->tls_cfg));
    if (!load_ca_blob(j)) {
        return 2;
    }
    j->tls_cfg.verify_name = j->o.verify_name;
    j->rcpt.address = j->o.to;
    j->env.from = j->o.from;
    j->env.rcpt = &j->rcpt;
    j->env.rcpt_count = 1;
    st = postie_smtp_init(&j->smtp, &j->cfg, postie_clock_ms());
    if (st != POSTIE_OK) {
        host_lwip_print_result(st, postie_smtp_error(&j->smtp), NULL);
        return 1;
    }
    postie_lwip_tcp_init(&j->tcp, wake, j);
    postie_runner_init(&j->runner, &postie_driver_smtp_ops, &j->smtp, &j->tcp.base, j->stage,
                       sizeof(j->stage), &hooks);
    postie_runner_set_goal(&j->runner, POSTIE_SMTP_READY, 0);
    if (j->o.fetch != NULL) {
        /* the same runner over the POP3 or IMAP engine */
        postie_tls_mode_t mode =
            strcmp(j->o.mode, "smtps") == 0 ? POSTIE_TLS_IMPLICIT : POSTIE_TLS_STARTTLS_REQUIRED;
        (void)snprintf(j->want, sizeof(j->want), "Subject: postie over lwIP %s", j->o.tag);
        if (strcmp(j->o.fetch, "imap") == 0) {
            postie_imap_config_t c;
            postie_imap_config_defaults(&c);
            c.tls_mode = mode;
            c.username = j->o.user;
            c.password = j->o.password;
            j->glue = &postie_driver_imap_ops;
            j->mb = &postie_imap_mailbox_ops;
            st = postie_imap_init(&j->mbox.imap, &c);
        } else {
            postie_pop3_config_t c;
            postie_pop3_config_defaults(&c);
            c.tls_mode = mode;
            c.username = j->o.user;
            c.password = j->o.password;
            j->glue = &postie_driver_pop3_ops;
            j->mb = &postie_pop3_mailbox_ops;
            st = postie_pop3_init(&j->mbox.pop3, &c);
        }
        if (st != POSTIE_OK) {
            host_lwip_print_result(st, j->glue->error(&j->mbox), NULL);
            return 1;
        }
        postie_runner_init(&j->runner, j->glue, &j->mbox, &j->tcp.base, NULL, 0, &hooks);
        postie_runner_set_goal(&j->runner, 0, POSTIE_MAILBOX_EV_READY);
    }

    st = postie_lwip_tcp_start(&j->tcp, j->o.server, j->o.port, 20000);
    if (st != POSTIE_E_AGAIN) {
        postie_error_t e;
        postie_error_clear(&e);
        e.phase = "connect";
        finish(j, st, &e);
    } else if (strcmp(j->o.scenario, "close-resolving") == 0 ||
               strcmp(j->o.scenario, "close-connecting") == 0) {
        postie_error_t e;
        postie_error_clear(&e);
        e.phase = j->tcp.dns_pending ? "closed while resolving" : "closed while connecting";
        finish(j, POSTIE_OK, &e);
    }

    /* the main loop: the tap device and lwIP's timers, nothing else */
    start = postie_clock_ms();
    while (!j->done && postie_clock_ms() - start < 600000u) {
        tapif_select(&netif);
        sys_check_timeouts();
    }
    host_lwip_print_result(j->done ? j->result : POSTIE_E_TIMEOUT, &j->error,
                           j->tls_version_seen[0] != '\0' ? j->tls_version_seen : NULL);
    if (j->mb != NULL) {
        printf("fetched: %s\n", j->found ? "found" : "missing");
    }
    scenario_ok = j->done && j->result == POSTIE_OK;

    /* let lwIP finish: FINs answered, TIME_WAIT over (TCP_MSL is short
     * here), a DNS request answered or timed out */
    start = postie_clock_ms();
    while ((tcp_active_pcbs != NULL || tcp_tw_pcbs != NULL || postie_lwip_tcp_busy(&j->tcp) ||
            !host_lwip_stats_settled()) &&
           postie_clock_ms() - start < 20000u) {
        tapif_select(&netif);
        sys_check_timeouts();
    }
    leaks_ok = host_lwip_stats_check();
    {
        void *state = netif.state; /* tapif's, from lwIP's heap (no deinit of its own) */
        netif_remove(&netif);
        mem_free(state);
    }
    return !leaks_ok ? 3 : scenario_ok ? 0 : 1;
}
