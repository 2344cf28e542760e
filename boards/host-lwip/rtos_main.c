/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lwIP with an OS (NO_SYS=0) in a Linux process: lwIP's tcpip thread and the
 * tap reader thread of its unix port, and the application in its own thread
 * (main) using lwIP's sockets. Postie runs as a blocking client would on an
 * RTOS task: the shared driver (postie/common/driver.h) over the lwIP socket
 * transport (postie/lwip/sock.h), with Postie's TLS layer's ordinary
 * blocking handshake for SMTPS and STARTTLS. The code below is
 * port/posix/smtp_client.c's sequence with another transport underneath.
 *
 * See host_lwip.h for the command line (scenario: send only). With --fetch
 * it fetches the message back from Dovecot instead (rtos_fetch.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lwip/dns.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h" /* tcp_active_pcbs, tcp_tw_pcbs: the leak check */
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"

#include "postie/common/clock.h"
#include "postie/common/driver_smtp.h"
#include "postie/lwip/sock.h"
#include "postie/mbedtls/tls.h"
#include "postie/smtp/smtp.h"

#include "host_lwip.h"
#include "rtos_fetch.h"

typedef struct {
    host_lwip_options_t o;
    postie_lwip_sock_t sock;
    postie_tls_t tls;
    bool tls_init;
    postie_tls_config_t tls_cfg;
    postie_smtp_config_t cfg;
    postie_smtp_t smtp;
    postie_driver_t driver;
    uint8_t stage[1024];
    postie_error_t error; /* a transport failure's detail */
    char tls_version[16];
} client_t;

static client_t client;

static void tcpip_ready(void *arg)
{
    sys_sem_signal((sys_sem_t *)arg);
}

static void keep_tls_version(client_t *c)
{
    postie_tls_info_t info;
    postie_tls_get_info(&c->tls, &info);
    memcpy(c->tls_version, info.version, sizeof(c->tls_version));
    c->tls_version[sizeof(c->tls_version) - 1] = '\0';
}

static postie_status_t upgrade_tls(void *ctx, postie_transport_t *lower,
                                   postie_transport_t **upgraded)
{
    client_t *c = ctx;
    postie_status_t st = POSTIE_OK;
    if (!c->tls_init) {
        st = postie_tls_init(&c->tls, lower, &c->tls_cfg);
        c->tls_init = (st == POSTIE_OK);
    }
    if (st == POSTIE_OK) {
        st = postie_tls_handshake(&c->tls, c->o.verify_name, 30000);
    }
    if (st != POSTIE_OK) {
        c->error = c->tls.last_error;
        return st;
    }
    keep_tls_version(c);
    *upgraded = postie_tls_transport(&c->tls);
    return POSTIE_OK;
}

static void transport_failed(void *ctx, postie_status_t st, const char *what)
{
    client_t *c = ctx;
    if (c->error.status == POSTIE_OK) {
        c->error.status = st;
        c->error.phase = what;
    }
}

/* The session: connect, greeting .. STARTTLS, one message, QUIT. */
static postie_status_t run(client_t *c, const postie_error_t **err)
{
    const postie_driver_hooks_t hooks = {
        .tls_upgrade = upgrade_tls, .transport_failed = transport_failed, .ctx = c};
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt;
    host_lwip_body_t body;
    postie_status_t st;
    bool implicit = c->cfg.tls_mode == POSTIE_TLS_IMPLICIT;

    postie_error_clear(&c->error);
    postie_lwip_sock_init(&c->sock);
    *err = &c->error;
    st = postie_smtp_init(&c->smtp, &c->cfg, postie_clock_ms());
    if (st != POSTIE_OK) {
        *err = postie_smtp_error(&c->smtp);
        return st;
    }
    postie_driver_init(&c->driver, &postie_driver_smtp_ops, &c->smtp, &c->sock.base, c->stage,
                       sizeof(c->stage), &hooks);
    if (implicit) {
        st = postie_tls_init(&c->tls, &c->sock.base, &c->tls_cfg);
        c->tls_init = (st == POSTIE_OK);
        c->driver.io = postie_tls_transport(&c->tls);
    }
    if (st == POSTIE_OK) {
        st = postie_transport_connect(c->driver.io, c->o.server, c->o.port, 20000);
    }
    if (st != POSTIE_OK) {
        c->error = implicit ? c->tls.last_error : c->error;
        c->error.status = st;
        c->error.phase = implicit ? "connect and TLS handshake" : "connect";
        return st;
    }
    if (implicit) {
        keep_tls_version(c);
    }
    (void)postie_smtp_init(&c->smtp, &c->cfg, postie_clock_ms());
    st = postie_driver_run(&c->driver, POSTIE_SMTP_READY, 0);
    if (st != POSTIE_OK) {
        *err = c->error.status != POSTIE_OK ? &c->error : postie_smtp_error(&c->smtp);
        return st;
    }
    memset(&env, 0, sizeof(env));
    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = c->o.to;
    env.from = c->o.from;
    env.rcpt = &rcpt;
    env.rcpt_count = 1;
    st = postie_smtp_send(&c->smtp, &env, postie_clock_ms());
    if (st != POSTIE_OK) {
        *err = postie_smtp_error(&c->smtp);
        return st;
    }
    host_lwip_body_init(&body, &c->o);
    postie_driver_set_body(&c->driver, host_lwip_body_read, &body);
    st = postie_driver_run(&c->driver, 0, POSTIE_SMTP_EV_MESSAGE_DONE);
    if (!postie_driver_reached(&c->driver)) {
        *err = c->error.status != POSTIE_OK ? &c->error : postie_smtp_error(&c->smtp);
        return st;
    }
    *err = postie_smtp_message_result(&c->smtp);
    st = (*err)->status;
    if (st == POSTIE_OK && postie_smtp_quit(&c->smtp, postie_clock_ms()) == POSTIE_OK) {
        (void)postie_driver_run(&c->driver, POSTIE_SMTP_CLOSED, 0);
    }
    return st;
}

static bool settled(void)
{
    bool idle;
    LOCK_TCPIP_CORE();
    idle = tcp_active_pcbs == NULL && tcp_tw_pcbs == NULL && host_lwip_stats_settled();
    UNLOCK_TCPIP_CORE();
    return idle;
}

int main(int argc, char **argv)
{
    client_t *c = &client;
    struct netif netif;
    ip4_addr_t ip, mask, gw;
    sys_sem_t ready;
    postie_status_t st;
    const postie_error_t *err = NULL;
    uint32_t start;
    bool leaks_ok;

    if (!host_lwip_parse(&c->o, argc, argv) || !ip4addr_aton(c->o.ip, &ip)) {
        return 2;
    }
    IP4_ADDR(&mask, 255, 255, 255, 0);
    gw.addr = (ip.addr & mask.addr) | PP_HTONL(1);
    srand((unsigned)time(NULL) ^ (unsigned)getpid()); /* lwIP's LWIP_RAND: ports, DNS ids */
    setenv("PRECONFIGURED_TAPIF", c->o.tap, 1);       /* lwIP's tapif: attach, do not configure */

    if (sys_sem_new(&ready, 0) != ERR_OK) {
        return 2;
    }
    tcpip_init(tcpip_ready, &ready);
    sys_sem_wait(&ready);
    sys_sem_free(&ready);

    LOCK_TCPIP_CORE();
    if (netif_add(&netif, &ip, &mask, &gw, NULL, tapif_init, tcpip_input) == NULL) {
        UNLOCK_TCPIP_CORE();
        return 2;
    }
    netif_set_default(&netif);
    netif_set_up(&netif);
    if (c->o.dns != NULL) {
        ip_addr_t dns;
        if (!ipaddr_aton(c->o.dns, &dns)) {
            UNLOCK_TCPIP_CORE();
            return 2;
        }
        dns_setserver(0, &dns);
    }
    UNLOCK_TCPIP_CORE();
    /* the baseline at a quiet moment: no frame on its way to the tcpip
     * thread (the tap reader queues them) */
    start = postie_clock_ms();
    for (;;) {
        bool quiet;
        LOCK_TCPIP_CORE();
        quiet = lwip_stats.memp[MEMP_TCPIP_MSG_INPKT]->used == 0 &&
                lwip_stats.memp[MEMP_PBUF_POOL]->used == 0;
        if (quiet || postie_clock_ms() - start > 2000u) {
            host_lwip_stats_baseline();
            UNLOCK_TCPIP_CORE();
            break;
        }
        UNLOCK_TCPIP_CORE();
        usleep(10000);
    }

    postie_smtp_config_defaults(&c->cfg);
    c->cfg.ehlo_name = "lwip.example.test";
    c->cfg.tls_mode = strcmp(c->o.mode, "plain") == 0   ? POSTIE_TLS_NONE
                      : strcmp(c->o.mode, "smtps") == 0 ? POSTIE_TLS_IMPLICIT
                                                        : POSTIE_TLS_STARTTLS_REQUIRED;
    if (c->o.timeout_ms != 0) {
        c->cfg.timeout_greeting_ms = c->cfg.timeout_command_ms = c->o.timeout_ms;
        c->cfg.timeout_data_init_ms = c->cfg.timeout_data_block_ms = c->o.timeout_ms;
        c->cfg.timeout_data_end_ms = c->o.timeout_ms;
    }
    c->tls_cfg.ca_file = c->o.ca;
    c->tls_cfg.verify_name = c->o.verify_name;

    if (c->o.fetch != NULL) {
        bool found = false;
        st = rtos_fetch(&c->o, &found, c->tls_version, sizeof(c->tls_version), &err);
        host_lwip_print_result(st, err, c->tls_version[0] != '\0' ? c->tls_version : NULL);
        printf("fetched: %s\n", found ? "found" : "missing");
        if (st == POSTIE_OK && !found) {
            st = POSTIE_E_NOT_FOUND;
        }
    } else {
        st = run(c, &err);
        host_lwip_print_result(st, err, c->tls_version[0] != '\0' ? c->tls_version : NULL);
        if (c->tls_init) {
            postie_tls_free(&c->tls); /* close_notify, then closes the socket */
        } else {
            postie_transport_close(&c->sock.base);
        }
    }

    start = postie_clock_ms();
    while (!settled() && postie_clock_ms() - start < 20000u) {
        usleep(20000);
    }
    LOCK_TCPIP_CORE();
    leaks_ok = host_lwip_stats_check();
    UNLOCK_TCPIP_CORE();
    return !leaks_ok ? 3 : st == POSTIE_OK ? 0 : 1;
}
