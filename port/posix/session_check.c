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
#include "postie/posix/registry_file.h"
#include "postie/session/session_map.h"

const char *postie_check_step_name(postie_check_step_t step)
{
    static const char *const names[] = {"DNS", "TCP", "TLS", "SMTP", "login"};
    return (unsigned)step < (unsigned)POSTIE_CHECK_COUNT ? names[step] : "?";
}

/* Why the session's password could not be read, into e->subject. */
static void explain_secret(const postie_session_t *s, postie_status_t st, postie_error_t *e)
{
    char scratch[POSTIE_AUTH_FIELD_MAX + 1];
    char what[96];
    char text[512];
    const char *why = NULL;
    if (st == POSTIE_E_AUTH_NO_MECHANISM) {
        return; /* OAuth 2.0: no secret was read */
    }
    (void)postie_secret_read(&s->ep.password, scratch, sizeof(scratch), &why);
    memset(scratch, 0, sizeof(scratch));
    postie_secret_describe(&s->ep.password, what, sizeof(what));
    snprintf(text, sizeof(text), "%s: %s", what, why != NULL ? why : postie_status_str(st));
    postie_text_copy_printable(e->subject, sizeof(e->subject), text, strlen(text));
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
    st = postie_session_client_config(s, &cfg, password, sizeof(password));
    if (st != POSTIE_OK) {
        r->result[POSTIE_CHECK_TCP] = POSTIE_STEP_SKIPPED;
        r->result[POSTIE_CHECK_LOGIN] = POSTIE_STEP_FAILED;
        r->status = r->error.status = st;
        r->error.phase = postie_session_config_step(st);
        explain_secret(s, st, &r->error);
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
    static postie_smtp_client_t client;
    static postie_smtp_client_config_t cfg;
    static postie_mime_writer_t writer;
    static postie_mailbox_t to_boxes[16];
    static char password[POSTIE_AUTH_FIELD_MAX + 1];
    static char body[1024];
    static char from_name[256];
    static char subject[192];
    static const postie_template_user_t user = {"Postie test", NULL};
    postie_session_message_t defaults;
    postie_message_t msg;
    postie_smtp_envelope_t env;
    char date[40];
    postie_status_t st;

    postie_error_clear(error);
    memset(final, 0, sizeof(*final));
    if (n == 0 || n > sizeof(to_boxes) / sizeof(to_boxes[0])) {
        error->status = POSTIE_E_INVALID_ARGUMENT;
        error->phase = "test email: 1..16 recipients";
        return error->status;
    }
    postie_smtp_client_config_defaults(&cfg);
    st = postie_session_client_config(s, &cfg, password, sizeof(password));
    if (st != POSTIE_OK) {
        error->status = st;
        error->phase = postie_session_config_step(st);
        explain_secret(s, st, error);
        return st;
    }
    memset(&msg, 0, sizeof(msg));
    postie_wall_clock(&msg.date, &msg.utc_offset_min);
    postie_mime_format_date(msg.date, msg.utc_offset_min, date);
    snprintf(body, sizeof(body),
             "This is a test email sent by Postie through the mail session \"%s\".\n\n"
             "Server:  %s://%s:%u\n"
             "From:    %s\n"
             "Sent:    %s\n\n"
             "If you can read this, the session works. No action is needed.\n",
             s->name, postie_registry_protocol_name(s->ep.protocol), s->ep.host, s->ep.port,
             s->from, date);
    /* From, its display name, the envelope sender and the subject prefix:
     * the same mapping as postie send --session */
    st = postie_session_map_message(s, &user, "Postie test email", from_name, sizeof(from_name),
                                    subject, sizeof(subject), &defaults);
    if (st != POSTIE_OK) {
        error->status = st;
        error->phase = "the session's message defaults";
        postie_text_copy_printable(error->subject, sizeof(error->subject),
                                   postie_registry_field_name(defaults.failed),
                                   strlen(postie_registry_field_name(defaults.failed)));
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        to_boxes[i].name = NULL;
        to_boxes[i].address = to[i];
        memset(&rcpt[i], 0, sizeof(rcpt[i]));
        rcpt[i].address = to[i];
    }
    msg.from.name = defaults.from_name;
    msg.from.address = defaults.from;
    msg.to = to_boxes;
    msg.to_count = n;
    msg.subject = defaults.subject;
    msg.text = (const uint8_t *)body;
    msg.text_len = strlen(body);
    if (postie_random_bytes(msg.entropy, sizeof(msg.entropy)) != POSTIE_OK) {
        error->status = POSTIE_E_IO;
        error->phase = "random octets for the Message-ID";
        return error->status;
    }

    st = postie_smtp_client_open(&client, &cfg);
    if (st == POSTIE_OK) {
        const postie_smtp_caps_t *caps = postie_smtp_caps(&client.engine);
        msg.allow_8bit = (caps->flags & POSTIE_SMTP_CAP_8BITMIME) != 0;
        st = postie_mime_init(&writer, &msg);
        if (st != POSTIE_OK) {
            *error = *postie_mime_error(&writer);
        } else {
            memset(&env, 0, sizeof(env));
            env.from = defaults.envelope_from;
            env.rcpt = rcpt;
            env.rcpt_count = n;
            env.body_8bit = postie_mime_needs_8bit(&writer);
            st = postie_smtp_client_send(&client, &env, postie_mime_read, &writer);
            *final = postie_smtp_message_result(&client.engine)->reply;
            if (st != POSTIE_OK) {
                *error = postie_smtp_phase(&client.engine) == POSTIE_SMTP_PHASE_FAILED
                             ? *postie_smtp_client_error(&client)
                             : *postie_smtp_message_result(&client.engine);
                error->status = st;
            }
        }
    } else {
        *error = *postie_smtp_client_error(&client);
        error->status = st;
    }
    postie_smtp_client_quit(&client);
    memset(password, 0, sizeof(password));
    return st;
}
