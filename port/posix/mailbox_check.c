/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "Test connection" for a mail account. See postie/posix/mailbox_check.h.
 */
#define _DEFAULT_SOURCE /* getnameinfo's NI_MAXHOST */

#include "postie/posix/mailbox_check.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "postie/common/text.h"

const char *postie_mailbox_check_step_name(postie_mailbox_check_step_t step)
{
    static const char *const names[] = {"DNS", "TCP", "TLS", "capabilities", "login", "mailbox"};
    return (unsigned)step < (unsigned)POSTIE_MCHECK_COUNT ? names[step] : "?";
}

static uint32_t elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    long ms = (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
    return ms > 0 ? (uint32_t)ms : 0;
}

static bool phase_is(const char *phase, const char *const *names)
{
    if (phase == NULL) {
        return false;
    }
    for (; *names != NULL; names++) {
        if (strncmp(phase, *names, strlen(*names)) == 0) {
            return true;
        }
    }
    return false;
}

/* Which step a failure of the client's open belongs to. */
static postie_mailbox_check_step_t failed_step(postie_status_t st, const char *phase)
{
    static const char *const login[] = {"USER", "PASS", "AUTH", "APOP", "LOGIN", NULL};
    static const char *const mailbox[] = {"STAT", "SELECT", NULL};
    static const char *const tls[] = {"STLS", "STARTTLS", "TLS", NULL};
    switch (st) {
    case POSTIE_E_DNS:
        return POSTIE_MCHECK_DNS;
    case POSTIE_E_CONNECT_FAILED:
        return POSTIE_MCHECK_TCP;
    case POSTIE_E_TLS_HANDSHAKE:
    case POSTIE_E_TLS_CERT_UNTRUSTED:
    case POSTIE_E_TLS_CERT_EXPIRED:
    case POSTIE_E_TLS_CERT_NAME_MISMATCH:
    case POSTIE_E_TLS_CERT_INVALID:
    case POSTIE_E_TLS_CA_LOAD:
    case POSTIE_E_TLS_SETUP:
    case POSTIE_E_TLS_PROTOCOL:
    case POSTIE_E_STARTTLS_UNAVAILABLE:
    case POSTIE_E_STARTTLS_REFUSED:
    case POSTIE_E_STARTTLS_INJECTION:
    case POSTIE_E_PREAUTH_REFUSED:
        return POSTIE_MCHECK_TLS;
    case POSTIE_E_AUTH_CLEARTEXT_REFUSED:
    case POSTIE_E_AUTH_NO_MECHANISM:
    case POSTIE_E_AUTH_FAILED:
    case POSTIE_E_AUTH_TEMPORARY:
        return POSTIE_MCHECK_LOGIN;
    case POSTIE_E_FOLDER_NOT_FOUND:
    case POSTIE_E_MAILBOX_IN_USE:
        return POSTIE_MCHECK_MAILBOX;
    default:
        break;
    }
    if (phase != NULL && strstr(phase, "connect") != NULL) {
        return POSTIE_MCHECK_TCP;
    }
    if (phase_is(phase, tls) || (phase != NULL && strstr(phase, "TLS handshake") != NULL)) {
        return POSTIE_MCHECK_TLS;
    }
    if (phase_is(phase, login)) {
        return POSTIE_MCHECK_LOGIN;
    }
    if (phase_is(phase, mailbox)) {
        return POSTIE_MCHECK_MAILBOX;
    }
    return POSTIE_MCHECK_CAPABILITIES;
}

postie_status_t postie_mailbox_test_connection(const postie_mailbox_client_config_t *cfg,
                                               postie_mailbox_check_report_t *r)
{
    postie_mailbox_client_t *c;
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    struct timespec t0;
    struct timespec t1;
    postie_mailbox_check_step_t failed;
    const char *target = cfg->connect_to != NULL ? cfg->connect_to : cfg->host;
    postie_status_t st;
    int gai;

    memset(r, 0, sizeof(*r));
    postie_error_clear(&r->error);
    r->port = postie_mailbox_client_port(cfg);
    if (target == NULL || target[0] == '\0') {
        r->result[POSTIE_MCHECK_DNS] = POSTIE_STEP_FAILED;
        r->status = r->error.status = POSTIE_E_INVALID_ARGUMENT;
        r->error.phase = "configuration";
        postie_text_copy(r->error.subject, sizeof(r->error.subject), "host: empty");
        return r->status;
    }

    /* DNS */
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gai = getaddrinfo(target, NULL, &hints, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->dns_ms = elapsed_ms(&t0, &t1);
    if (gai != 0) {
        r->result[POSTIE_MCHECK_DNS] = POSTIE_STEP_FAILED;
        r->status = r->error.status = POSTIE_E_DNS;
        r->error.phase = "DNS";
        postie_text_copy_printable(r->error.subject, sizeof(r->error.subject), gai_strerror(gai),
                                   strlen(gai_strerror(gai)));
        return r->status;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char addr[NI_MAXHOST];
        size_t have = strlen(r->addresses);
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) ==
                0 &&
            strstr(r->addresses, addr) == NULL && have + strlen(addr) + 2 < sizeof(r->addresses)) {
            size_t alen = strlen(addr);
            if (have > 0) {
                r->addresses[have++] = ' ';
            }
            memcpy(r->addresses + have, addr, alen + 1);
        }
    }
    freeaddrinfo(res);
    r->result[POSTIE_MCHECK_DNS] = POSTIE_STEP_OK;

    /* TCP, TLS, capabilities, login, mailbox: the real client */
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        r->status = r->error.status = POSTIE_E_NO_SPACE;
        r->error.phase = "memory for the client";
        return r->status;
    }
    st = postie_mailbox_client_open(c, cfg);
    failed = st == POSTIE_OK ? POSTIE_MCHECK_COUNT
                             : failed_step(st, postie_mailbox_client_error(c)->phase);
    if (failed == POSTIE_MCHECK_DNS) {
        failed = POSTIE_MCHECK_TCP; /* resolved above, not by the client */
    }
    for (int step = POSTIE_MCHECK_TCP; step < POSTIE_MCHECK_COUNT; step++) {
        if (step > (int)failed) {
            r->result[step] = POSTIE_STEP_SKIPPED;
        } else if (step == (int)failed) {
            r->result[step] = POSTIE_STEP_FAILED;
        } else if (step == POSTIE_MCHECK_TLS && !postie_mailbox_client_tls_info(c, &r->tls)) {
            r->result[step] = POSTIE_STEP_NOT_USED;
        } else if (step == POSTIE_MCHECK_LOGIN && (cfg->user == NULL || cfg->user[0] == '\0')) {
            r->result[step] = POSTIE_STEP_NOT_USED;
        } else {
            r->result[step] = POSTIE_STEP_OK;
        }
    }
    memcpy(r->peer, c->tcp.peer, sizeof(r->peer));
    r->peer[sizeof(r->peer) - 1] = '\0';
    r->connect_ms = c->tcp.connect_ms;
    if (c->glue != NULL && c->mb != NULL) {
        const postie_mailbox_info_t *info = postie_mailbox_client_info(c);
        memcpy(r->capabilities, info->capabilities, sizeof(r->capabilities));
        r->capabilities[sizeof(r->capabilities) - 1] = '\0';
        if (r->result[POSTIE_MCHECK_MAILBOX] == POSTIE_STEP_OK) {
            r->messages = info->messages;
            r->octets = info->octets;
            r->uidvalidity = info->uidvalidity;
        }
    }
    if (st == POSTIE_OK) {
        /* log out politely: nothing was changed */
        (void)postie_mailbox_client_finish(c);
    } else {
        r->error = *postie_mailbox_client_error(c);
        r->error.status = st;
    }
    r->status = st;
    postie_mailbox_client_close(c);
    free(c);
    return st;
}
