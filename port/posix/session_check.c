/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-connection and test-email for a named session. See
 * postie/posix/session_check.h.
 */
#define _DEFAULT_SOURCE /* getnameinfo's NI_MAXHOST */

#include "postie/posix/session_check.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "postie/common/text.h"
#include "postie/posix/host.h"
#include "postie/mime/mime.h"
#include "postie/posix/notify.h"
#include "postie/posix/oauth.h"
#include "postie/posix/registry_file.h"
#include "postie/session/session_map.h"

const char *postie_check_step_name(postie_check_step_t step)
{
    static const char *const names[] = {"DNS", "TCP", "TLS", "SMTP", "login"};
    return (unsigned)step < (unsigned)POSTIE_CHECK_COUNT ? names[step] : "?";
}

static uint32_t elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    long ms = (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
    return ms > 0 ? (uint32_t)ms : 0;
}

/* Which step a failure of the client's open belongs to. */
static postie_check_step_t failed_step(postie_status_t st, const char *phase)
{
    switch (st) {
    case POSTIE_E_DNS:
        return POSTIE_CHECK_DNS;
    case POSTIE_E_CONNECT_FAILED:
        return POSTIE_CHECK_TCP;
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
        return POSTIE_CHECK_TLS;
    case POSTIE_E_AUTH_CLEARTEXT_REFUSED:
    case POSTIE_E_AUTH_NO_MECHANISM:
    case POSTIE_E_AUTH_FAILED:
    case POSTIE_E_AUTH_TEMPORARY:
        return POSTIE_CHECK_LOGIN;
    case POSTIE_E_TIMEOUT:
        if (phase != NULL && strstr(phase, "connect") != NULL) {
            return POSTIE_CHECK_TCP;
        }
        return phase != NULL && strstr(phase, "TLS handshake") != NULL ? POSTIE_CHECK_TLS
                                                                       : POSTIE_CHECK_SMTP;
    default:
        return POSTIE_CHECK_SMTP;
    }
}

postie_status_t postie_session_test_connection(const postie_session_t *s,
                                               postie_connection_report_t *r)
{
    static postie_smtp_client_t client;
    static postie_smtp_client_config_t cfg;
    static char password[POSTIE_AUTH_FIELD_MAX + 1];
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    struct timespec t0;
    struct timespec t1;
    postie_check_step_t failed;
    postie_status_t st;
    int gai;

    memset(r, 0, sizeof(*r));
    postie_error_clear(&r->error);

    /* DNS */
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gai = getaddrinfo(s->ep.host, NULL, &hints, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->dns_ms = elapsed_ms(&t0, &t1);
    if (gai != 0) {
        r->result[POSTIE_CHECK_DNS] = POSTIE_STEP_FAILED;
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
    r->result[POSTIE_CHECK_DNS] = POSTIE_STEP_OK;

    /* TCP, TLS, SMTP, login: the real client */
    postie_smtp_client_config_defaults(&cfg);
    st = postie_session_prepare(s, &cfg, password, sizeof(password), &r->error);
    if (st == POSTIE_OK && s->ep.auth == POSTIE_AUTH_OAUTH2) {
        /* the built-in token provider, from the session's oauth2 object */
        static postie_oauth_provider_t oauth;
        cfg.token =
            postie_oauth_provider_attach(&oauth, &s->ep, false, s->name, NULL, NULL, &r->error);
        st = cfg.token != NULL ? POSTIE_OK : r->error.status;
    }
    if (st != POSTIE_OK) {
        r->result[POSTIE_CHECK_TCP] = POSTIE_STEP_SKIPPED;
        r->result[POSTIE_CHECK_LOGIN] = POSTIE_STEP_FAILED;
        r->status = st;
        return st;
    }
    st = postie_smtp_client_open(&client, &cfg);
    failed = st == POSTIE_OK ? POSTIE_CHECK_COUNT
                             : failed_step(st, postie_smtp_client_error(&client)->phase);
    for (int step = POSTIE_CHECK_TCP; step < POSTIE_CHECK_COUNT; step++) {
        if (step > (int)failed) {
            r->result[step] = POSTIE_STEP_SKIPPED;
        } else if (step == (int)failed) {
            r->result[step] = POSTIE_STEP_FAILED;
        } else if (step == POSTIE_CHECK_TLS && !postie_smtp_client_tls_info(&client, &r->tls)) {
            r->result[step] = POSTIE_STEP_NOT_USED;
        } else if (step == POSTIE_CHECK_LOGIN && s->ep.auth == POSTIE_AUTH_NONE) {
            r->result[step] = POSTIE_STEP_NOT_USED;
        } else {
            r->result[step] = POSTIE_STEP_OK;
        }
    }
    memcpy(r->peer, client.tcp.peer, sizeof(r->peer));
    r->peer[sizeof(r->peer) - 1] = '\0';
    r->connect_ms = client.tcp.connect_ms;
    if (r->result[POSTIE_CHECK_SMTP] == POSTIE_STEP_OK) {
        r->caps = *postie_smtp_caps(&client.engine);
    }
    if (st != POSTIE_OK) {
        r->error = *postie_smtp_client_error(&client);
        r->error.status = st;
    }
    r->status = st;
    postie_smtp_client_quit(&client);
    memset(password, 0, sizeof(password));
    return st;
}

postie_status_t postie_session_test_email(const postie_session_t *s, const char *const *to,
                                          size_t n, postie_smtp_rcpt_t *rcpt,
                                          postie_reply_info_t *final, postie_error_t *error)
{
    static postie_notifier_t notifier; /* no registry: sent now, never queued */
    static postie_notify_result_t res;
    static char body[1024];
    postie_notification_t m;
    char date[40];
    int64_t now;
    int16_t off;
    postie_status_t st;

    postie_error_clear(error);
    memset(final, 0, sizeof(*final));
    if (n == 0 || n > POSTIE_NOTIFY_RCPT_MAX) {
        error->status = POSTIE_E_INVALID_ARGUMENT;
        error->phase = "test email: 1..16 recipients";
        return error->status;
    }
    postie_wall_clock(&now, &off);
    postie_mime_format_date(now, off, date);
    snprintf(body, sizeof(body),
             "This is a test email sent by Postie through the mail session \"%s\".\n\n"
             "Server:  %s://%s:%u\n"
             "From:    %s\n"
             "Sent:    %s\n\n"
             "If you can read this, the session works. No action is needed.\n",
             s->name, postie_registry_protocol_name(s->ep.protocol), s->ep.host, s->ep.port,
             s->from, date);
    /* the one-call API: From from the template over the user "Postie
     * test", the subject prefix, the session's envelope sender */
    memset(&m, 0, sizeof(m));
    m.user_name = "Postie test";
    m.to = to;
    m.to_count = n;
    m.subject = "Postie test email";
    m.text = body;
    m.mode = POSTIE_NOTIFY_NOW;
    st = postie_notify_session(&notifier, s, &m, &res);
    for (size_t i = 0; i < n; i++) {
        rcpt[i] = res.rcpt[i];
    }
    *final = res.reply;
    if (st != POSTIE_OK && res.refused > 0 && res.refused < n && res.reply.code >= 200 &&
        res.reply.code < 300) {
        return POSTIE_OK; /* accepted for the others; the refusals are in rcpt[] */
    }
    if (st != POSTIE_OK) {
        *error = res.error;
        error->status = st;
    }
    return st;
}
