/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The clients' OAuth 2.0 login around a token provider: ask, log in; on a
 * refused token ask once more with refresh and log in once more on a new
 * connection; a second refusal is final; the provider's own failures come
 * back with its message. The provider is a fake, and so is the server: a
 * small SMTP/POP3/IMAP responder in a thread on 127.0.0.1 that accepts the
 * token "tok-good" and refuses any other with the RFC 7628 error exchange.
 * (The real servers, Dovecot and Postfix, are in tests/integration.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "postie/common/base64.h"
#include "postie/posix/mailbox_client.h"
#include "postie/posix/smtp_client.h"

typedef enum { P_SMTP, P_POP3, P_IMAP } proto_t;

/* {"status":"invalid_token","scope":"mail"} */
static const char error_b64[] = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJtYWlsIn0=";

/* ---- the fake server ---------------------------------------------------- */

typedef struct {
    proto_t proto;
    int listener;
    uint16_t port;
    int connections;
    int logins_refused;
    char last_user[64];
    bool write_failed;
    pthread_t thread;
} server_t;

static server_t server;

static bool read_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char ch;
        if (poll(&p, 1, 5000) <= 0 || read(fd, &ch, 1) != 1) {
            return false;
        }
        if (ch == '\n') {
            if (n > 0 && line[n - 1] == '\r') {
                n--;
            }
            line[n] = '\0';
            return true;
        }
        line[n++] = ch;
    }
    return false;
}

/* No cmocka assert in the server's thread: a client that left early shows
 * as a failed check in the test's own thread instead. */
static void say(int fd, const char *text)
{
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        server.write_failed = true;
    }
}

/* The token in a XOAUTH2 or OAUTHBEARER response; also notes the user. */
static bool token_is_good(const char *b64)
{
    uint8_t raw[512];
    size_t n = 0;
    const char *user;
    const char *auth;
    if (postie_base64_decode(b64, strlen(b64), raw, sizeof(raw) - 1, &n) != POSTIE_OK) {
        return false;
    }
    raw[n] = '\0';
    user = strncmp((const char *)raw, "user=", 5) == 0  ? (const char *)raw + 5
           : strncmp((const char *)raw, "n,a=", 4) == 0 ? (const char *)raw + 4
                                                        : NULL;
    if (user != NULL) {
        size_t ul = strcspn(user, ",\001");
        snprintf(server.last_user, sizeof(server.last_user), "%.*s", (int)ul, user);
    }
    auth = strstr((const char *)raw, "\001auth=Bearer ");
    return auth != NULL && strncmp(auth + 13, "tok-good\001\001", 10) == 0;
}

/* One session; returns when the client leaves. */
static void serve(int fd)
{
    char line[1024];
    const char *greeting = server.proto == P_SMTP   ? "220 fake ESMTP\r\n"
                           : server.proto == P_POP3 ? "+OK fake\r\n"
                                                    : "* OK fake\r\n";
    say(fd, greeting);
    for (int i = 0; i < 20 && read_line(fd, line, sizeof(line)); i++) {
        char tag[16] = "";
        const char *cmd = line;
        char out[256];
        if (server.proto == P_IMAP) {
            const char *sp = strchr(line, ' ');
            if (sp == NULL) {
                return;
            }
            snprintf(tag, sizeof(tag), "%.*s", (int)(sp - line), line);
            cmd = sp + 1;
        }
        if (strncmp(cmd, "EHLO", 4) == 0) {
            say(fd, "250-fake\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n");
        } else if (strcmp(cmd, "CAPA") == 0) {
            say(fd, "+OK\r\nSASL XOAUTH2 OAUTHBEARER\r\n.\r\n");
        } else if (strcmp(cmd, "CAPABILITY") == 0) {
            snprintf(out, sizeof(out),
                     "* CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER\r\n%s OK\r\n",
                     tag);
            say(fd, out);
        } else if (strncmp(cmd, "AUTH", 4) == 0) {
            const char *b64 = strrchr(cmd, ' ') + 1;
            if (token_is_good(b64)) {
                snprintf(out, sizeof(out), "%s%s",
                         server.proto == P_SMTP   ? "235 2.7.0 ok\r\n"
                         : server.proto == P_POP3 ? "+OK ok\r\n"
                                                  : tag,
                         server.proto == P_IMAP ? " OK Logged in\r\n" : "");
                say(fd, out);
                continue;
            }
            server.logins_refused++;
            snprintf(out, sizeof(out), "%s%s\r\n", server.proto == P_SMTP ? "334 " : "+ ",
                     error_b64);
            say(fd, out);
            if (!read_line(fd, line, sizeof(line))) {
                return;
            }
            snprintf(out, sizeof(out), "%s%s",
                     server.proto == P_SMTP   ? "535 5.7.8 no\r\n"
                     : server.proto == P_POP3 ? "-ERR [AUTH] no\r\n"
                                              : tag,
                     server.proto == P_IMAP ? " NO [AUTHENTICATIONFAILED] no\r\n" : "");
            say(fd, out);
        } else if (strcmp(cmd, "STAT") == 0) {
            say(fd, "+OK 0 0\r\n");
        } else if (strncmp(cmd, "SELECT", 6) == 0) {
            snprintf(out, sizeof(out), "* 0 EXISTS\r\n* OK [UIDVALIDITY 1] x\r\n%s OK done\r\n",
                     tag);
            say(fd, out);
        } else if (strcmp(cmd, "QUIT") == 0) {
            say(fd, server.proto == P_SMTP ? "221 bye\r\n" : "+OK bye\r\n");
            return;
        } else {
            say(fd, server.proto == P_SMTP ? "502 no\r\n" : "-ERR no\r\n");
        }
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = server.listener, .events = POLLIN};
        int fd;
        if (poll(&p, 1, 3000) <= 0) {
            break;
        }
        fd = accept(server.listener, NULL, NULL);
        if (fd < 0) {
            break;
        }
        server.connections++;
        serve(fd);
        close(fd);
    }
    return NULL;
}

static void server_start(proto_t proto)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    memset(&server, 0, sizeof(server));
    server.proto = proto;
    server.listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(server.listener >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(server.listener, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(server.listener, 4), 0);
    assert_int_equal(getsockname(server.listener, (struct sockaddr *)&a, &alen), 0);
    server.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&server.thread, NULL, server_main, NULL), 0);
}

static void server_stop(void)
{
    /* wakes the accept loop: its poll sees the shutdown */
    shutdown(server.listener, SHUT_RDWR);
    pthread_join(server.thread, NULL);
    close(server.listener);
}

/* ---- the fake provider --------------------------------------------------- */

typedef struct {
    const char *tokens[2];    /* what the first and second ask give */
    postie_status_t fails[2]; /* or how they fail */
    bool refresh[2];          /* what each ask said */
    int calls;
} provider_t;

static postie_status_t fake_get(void *ctx, bool refresh, char *token, size_t cap, size_t *len,
                                char *err, size_t err_cap)
{
    provider_t *p = ctx;
    int i = p->calls < 2 ? p->calls : 1;
    p->refresh[i] = refresh;
    p->calls++;
    if (p->fails[i] != POSTIE_OK) {
        snprintf(err, err_cap, "fake provider: failure %d", i + 1);
        return p->fails[i];
    }
    *len = strlen(p->tokens[i]);
    assert_true(*len < cap);
    memcpy(token, p->tokens[i], *len + 1);
    return POSTIE_OK;
}

/* ---- the clients ---------------------------------------------------------- */

static char logged[1 << 14];
static size_t logged_len;

static void collect_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    (void)dir;
    logged_len += (size_t)snprintf(logged + logged_len, sizeof(logged) - logged_len, "%.*s\n",
                                   (int)len, line);
}

static postie_smtp_client_t smtp;
static postie_mailbox_client_t mbox;

/* Open a client of proto against the fake server with provider p; returns
 * open's status and copies its error. */
static postie_status_t open_with(proto_t proto, provider_t *p, uint32_t mech, postie_error_t *err,
                                 unsigned *asks)
{
    postie_token_provider_t provider = {fake_get, p};
    postie_status_t st;
    logged_len = 0;
    logged[0] = '\0';
    server_start(proto);
    if (proto == P_SMTP) {
        postie_smtp_client_config_t cfg;
        postie_smtp_client_config_defaults(&cfg);
        cfg.host = "127.0.0.1";
        cfg.port = server.port;
        cfg.smtp.tls_mode = POSTIE_TLS_NONE;
        cfg.smtp.allow_plaintext_auth = true;
        cfg.smtp.username = "alice@example.test";
        cfg.smtp.oauth_mechanism = mech;
        cfg.smtp.log = collect_log;
        cfg.token = &provider;
        st = postie_smtp_client_open(&smtp, &cfg);
        *err = *postie_smtp_client_error(&smtp);
        *asks = smtp.token_asks;
        postie_smtp_client_quit(&smtp);
    } else {
        postie_mailbox_client_config_t cfg;
        postie_mailbox_client_config_defaults(&cfg);
        cfg.protocol = proto == P_POP3 ? POSTIE_FETCH_POP3 : POSTIE_FETCH_IMAP;
        cfg.host = "127.0.0.1";
        cfg.port = server.port;
        cfg.tls_mode = POSTIE_TLS_NONE;
        cfg.allow_plaintext_auth = true;
        cfg.user = "alice@example.test";
        cfg.oauth_mechanism = mech;
        cfg.log = collect_log;
        cfg.token = &provider;
        st = postie_mailbox_client_open(&mbox, &cfg);
        *err = *postie_mailbox_client_error(&mbox);
        *asks = mbox.token_asks;
        postie_mailbox_client_close(&mbox);
    }
    server_stop();
    assert_false(server.write_failed);
    assert_null(strstr(logged, "tok-"));
    return st;
}

static const proto_t protos[] = {P_SMTP, P_POP3, P_IMAP};
static const uint32_t mechs[] = {POSTIE_SASL_XOAUTH2, POSTIE_SASL_OAUTHBEARER};

/* Refused, refreshed, accepted: two asks (the second with refresh), two
 * connections, success. */
static void test_refresh_once_then_success(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        for (size_t m = 0; m < 2; m++) {
            provider_t p = {{"tok-expired", "tok-good"}, {POSTIE_OK, POSTIE_OK}, {0, 0}, 0};
            postie_error_t err;
            unsigned asks = 0;
            assert_int_equal(open_with(protos[i], &p, mechs[m], &err, &asks), POSTIE_OK);
            assert_int_equal(p.calls, 2);
            assert_int_equal(asks, 2);
            assert_false(p.refresh[0]);
            assert_true(p.refresh[1]);
            assert_int_equal(server.connections, 2);
            assert_int_equal(server.logins_refused, 1);
            assert_string_equal(server.last_user, "alice@example.test");
        }
    }
}

/* A good token at once: one ask, one connection. */
static void test_first_token_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        provider_t p = {{"tok-good", "tok-good"}, {POSTIE_OK, POSTIE_OK}, {0, 0}, 0};
        postie_error_t err;
        unsigned asks = 0;
        assert_int_equal(open_with(protos[i], &p, POSTIE_SASL_XOAUTH2, &err, &asks), POSTIE_OK);
        assert_int_equal(p.calls, 1);
        assert_int_equal(server.connections, 1);
    }
}

/* Refused twice: final, exactly two tries, the server's JSON in the error. */
static void test_second_refusal_is_final(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        provider_t p = {{"tok-expired", "tok-also-bad"}, {POSTIE_OK, POSTIE_OK}, {0, 0}, 0};
        postie_error_t err;
        unsigned asks = 0;
        assert_int_equal(open_with(protos[i], &p, POSTIE_SASL_OAUTHBEARER, &err, &asks),
                         POSTIE_E_TOKEN_REJECTED);
        assert_int_equal(err.status, POSTIE_E_TOKEN_REJECTED);
        assert_string_equal(err.subject,
                            "invalid_token: {\"status\":\"invalid_token\",\"scope\":\"mail\"}");
        assert_int_equal(p.calls, 2);
        assert_int_equal(server.connections, 2);
        assert_int_equal(server.logins_refused, 2);
    }
}

/* The provider fails: its status and message, and no connection at all; or
 * it fails on the refresh after a refusal: its status, one connection. */
static void test_provider_failures(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        provider_t p = {{NULL, NULL}, {POSTIE_E_TOKEN_UNAVAILABLE, POSTIE_OK}, {0, 0}, 0};
        provider_t q = {{"tok-expired", NULL}, {POSTIE_OK, POSTIE_E_OAUTH_GRANT}, {0, 0}, 0};
        postie_error_t err;
        unsigned asks = 0;
        assert_int_equal(open_with(protos[i], &p, POSTIE_SASL_XOAUTH2, &err, &asks),
                         POSTIE_E_TOKEN_UNAVAILABLE);
        assert_string_equal(err.phase, "OAuth 2.0 token");
        assert_string_equal(err.subject, "fake provider: failure 1");
        assert_int_equal(p.calls, 1);
        assert_int_equal(server.connections, 0);

        assert_int_equal(open_with(protos[i], &q, POSTIE_SASL_XOAUTH2, &err, &asks),
                         POSTIE_E_OAUTH_GRANT);
        assert_string_equal(err.subject, "fake provider: failure 2");
        assert_int_equal(q.calls, 2);
        assert_true(q.refresh[1]);
        assert_int_equal(server.connections, 1);
    }
}

/* The chosen mechanism must be one of the two: refused before connecting. */
static void test_bad_mechanism(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        provider_t p = {{"tok-good", "tok-good"}, {POSTIE_OK, POSTIE_OK}, {0, 0}, 0};
        postie_error_t err;
        unsigned asks = 0;
        assert_int_equal(open_with(protos[i], &p, POSTIE_SASL_PLAIN, &err, &asks),
                         POSTIE_E_INVALID_ARGUMENT);
        assert_int_equal(server.connections, 0);
    }
}

/* An OAuth 2.0 configuration (the mechanism set, as the registry mapping
 * does) without a provider: TOKEN_UNAVAILABLE saying so, no connection. */
static void test_no_provider(void **state)
{
    postie_smtp_client_config_t sc;
    postie_mailbox_client_config_t mc;
    (void)state;
    postie_smtp_client_config_defaults(&sc);
    sc.host = "127.0.0.1";
    sc.port = 1;
    sc.smtp.username = "alice@example.test";
    sc.smtp.oauth_mechanism = POSTIE_SASL_XOAUTH2;
    assert_int_equal(postie_smtp_client_open(&smtp, &sc), POSTIE_E_TOKEN_UNAVAILABLE);
    assert_string_equal(postie_smtp_client_error(&smtp)->phase, "OAuth 2.0 token");
    assert_string_equal(postie_smtp_client_error(&smtp)->subject, "no token provider configured");
    postie_smtp_client_quit(&smtp);

    postie_mailbox_client_config_defaults(&mc);
    mc.protocol = POSTIE_FETCH_IMAP;
    mc.host = "127.0.0.1";
    mc.port = 1;
    mc.user = "alice@example.test";
    mc.oauth_mechanism = POSTIE_SASL_OAUTHBEARER;
    assert_int_equal(postie_mailbox_client_open(&mbox, &mc), POSTIE_E_TOKEN_UNAVAILABLE);
    assert_string_equal(postie_mailbox_client_error(&mbox)->subject,
                        "no token provider configured");
    postie_mailbox_client_close(&mbox);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh_once_then_success),
        cmocka_unit_test(test_first_token_accepted),
        cmocka_unit_test(test_second_refusal_is_final),
        cmocka_unit_test(test_provider_failures),
        cmocka_unit_test(test_bad_mechanism),
        cmocka_unit_test(test_no_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
