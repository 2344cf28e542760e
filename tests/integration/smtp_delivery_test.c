/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end delivery through a real Postfix (started by with_mailserver.sh): the blocking client,
 * the engine, POSIX TCP and mbedTLS, with mail checked byte for byte in the recipients' Maildirs.
 *
 * Environment (written by mailserver.sh): POSTIE_TEST_SMTP_PORT (STARTTLS),
 * POSTIE_TEST_SMTPS_PORT (implicit TLS), POSTIE_TEST_SELFSIGNED_PORT,
 * POSTIE_TEST_WRONGHOST_PORT, POSTIE_TEST_EXPIRED_PORT, POSTIE_TEST_CA,
 * POSTIE_TEST_USER, POSTIE_TEST_PASSWORD, POSTIE_TEST_MAILDIR_ROOT.
 */
#define _DEFAULT_SOURCE /* usleep */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "postie/posix/smtp_client.h"

/* ---- environment ------------------------------------------------------- */

static const char *env_str(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fail_msg("%s is not set; run this program through with_mailserver.sh", name);
    }
    return v;
}

static uint16_t env_port(const char *name)
{
    const char *v = env_str(name);
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n == 0 || n > 65535) {
        fail_msg("%s=%s is not a port", name, v);
    }
    return (uint16_t)n;
}

/* ---- message sources ---------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
} memory_source_t;

static postie_status_t read_memory(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    memory_source_t *m = ctx;
    size_t n = m->len - m->pos;
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *got = n;
    return POSTIE_OK;
}

/* A unique token per message so the test finds its own delivery. */
static void make_token(char *out, size_t cap, const char *what)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, cap, "%s-%ld-%ld-%u-%u", what, (long)ts.tv_sec, ts.tv_nsec, (unsigned)getpid(),
             counter++);
}

/* ---- Maildir ------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Find the delivered message containing token in user's Maildir (new/),
 * waiting up to 15 s for Postfix to deliver it. Returns its text or NULL. */
static char *find_delivery(const char *user, const char *token, size_t *len)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s/new", env_str("POSTIE_TEST_MAILDIR_ROOT"), user);
    for (int tries = 0; tries < 150; tries++) {
        DIR *d = opendir(dir);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                char path[1024];
                char *text;
                if (e->d_name[0] == '.') {
                    continue;
                }
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                text = slurp(path, len);
                if (text != NULL && strstr(text, token) != NULL) {
                    closedir(d);
                    return text;
                }
                free(text);
            }
            closedir(d);
        }
        usleep(100 * 1000);
    }
    return NULL;
}

/* What a Maildir holds for a message we sent: line ends as LF, dot-stuffing
 * undone by the server, so the original with CRLF turned into LF. */
static size_t as_delivered(const char *msg, char *out)
{
    size_t o = 0;
    for (size_t i = 0; msg[i] != '\0'; i++) {
        if (msg[i] == '\r' && msg[i + 1] == '\n') {
            continue;
        }
        out[o++] = msg[i] == '\r' ? '\n' : msg[i];
    }
    if (o > 0 && out[o - 1] != '\n') {
        out[o++] = '\n';
    }
    out[o] = '\0';
    return o;
}

static void assert_delivered_exactly(const char *user, const char *token, const char *msg)
{
    size_t len = 0;
    char *got = find_delivery(user, token, &len);
    char *want;
    size_t wlen;
    if (got == NULL) {
        fail_msg("no message with %s reached %s's Maildir", token, user);
    }
    want = malloc(strlen(msg) + 2);
    assert_non_null(want);
    wlen = as_delivered(msg, want);
    /* Postfix prepends Return-Path, Delivered-To and Received; the rest must
     * be our message, byte for byte. */
    if (len < wlen || memcmp(got + len - wlen, want, wlen) != 0) {
        FILE *f = fopen("delivery-got.txt", "wb");
        if (f != NULL) {
            fwrite(got, 1, len, f);
            fclose(f);
        }
        f = fopen("delivery-want.txt", "wb");
        if (f != NULL) {
            fwrite(want, 1, wlen, f);
            fclose(f);
        }
        fail_msg("message %s for %s differs from what was sent: see delivery-got.txt and "
                 "delivery-want.txt in the working directory",
                 token, user);
    }
    assert_non_null(strstr(got, "Return-Path: <alice@example.test>"));
    free(got);
    free(want);
}

/* ---- client helpers ----------------------------------------------------- */

static postie_smtp_client_config_t base_config(uint16_t port, postie_tls_mode_t mode, bool auth)
{
    postie_smtp_client_config_t cfg;
    postie_smtp_client_config_defaults(&cfg);
    cfg.host = "localhost";
    cfg.connect_to = "127.0.0.1";
    cfg.port = port;
    cfg.connect_timeout_ms = 10000;
    cfg.tls.ca_file = env_str("POSTIE_TEST_CA");
    cfg.smtp.ehlo_name = "client.postie.test";
    cfg.smtp.tls_mode = mode;
    cfg.smtp.timeout_command_ms = 20000;
    cfg.smtp.timeout_greeting_ms = 20000;
    if (auth) {
        cfg.smtp.username = env_str("POSTIE_TEST_USER");
        cfg.smtp.password = env_str("POSTIE_TEST_PASSWORD");
    }
    return cfg;
}

static postie_smtp_client_t client; /* ~20 KiB: keep it off the stack */

static postie_status_t send_one(const char *msg, const char *const *to, size_t nto,
                                postie_smtp_rcpt_t *rcpt, bool body_8bit)
{
    postie_smtp_envelope_t env;
    memory_source_t src = {(const uint8_t *)msg, strlen(msg), 0};
    memset(&env, 0, sizeof(env));
    env.from = "alice@example.test";
    env.rcpt = rcpt;
    env.rcpt_count = nto;
    env.size = strlen(msg);
    env.body_8bit = body_8bit;
    for (size_t i = 0; i < nto; i++) {
        memset(&rcpt[i], 0, sizeof(rcpt[i]));
        rcpt[i].address = to[i];
    }
    return postie_smtp_client_send(&client, &env, read_memory, &src);
}

static char *make_message(const char *token, const char *extra_body)
{
    static const char fmt[] = "From: Alice <alice@example.test>\r\n"
                              "To: Bob <bob@example.test>\r\n"
                              "Subject: postie integration %s\r\n"
                              "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
                              "Message-ID: <%s@postie.test>\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n"
                              "\r\n"
                              "Token %s\r\n"
                              ".a line starting with a dot\r\n"
                              "..two dots\r\n"
                              ".\r\n"
                              "above was a lone dot; below a line with trailing spaces   \r\n"
                              "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n"
                              "%s";
    size_t n = sizeof(fmt) + 3 * strlen(token) + strlen(extra_body);
    char *m = malloc(n);
    assert_non_null(m);
    snprintf(m, n, fmt, token, token, token, extra_body);
    return m;
}

/* ---- tests -------------------------------------------------------------- */

static void test_starttls_auth_several_recipients_one_refused(void **state)
{
    (void)state;
    char token[96];
    postie_smtp_rcpt_t rcpt[3];
    const char *to[] = {"bob@example.test", "nosuch@example.test", "carol@example.test"};
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTP_PORT"), POSTIE_TLS_STARTTLS_REQUIRED, true);
    postie_status_t st;
    char *msg;
    postie_tls_info_t info;

    make_token(token, sizeof(token), "starttls");
    msg = make_message(token, "last line without a line end");
    st = postie_smtp_client_open(&client, &cfg);
    if (st != POSTIE_OK) {
        fail_msg("open: %s (%s)", postie_status_name(st), postie_smtp_client_error(&client)->phase);
    }
    assert_true(postie_smtp_caps(&client.engine)->secure);
    assert_true(postie_smtp_caps(&client.engine)->authenticated);
    assert_true(postie_smtp_client_tls_info(&client, &info));
    assert_int_equal(info.verify_flags, 0);
    /* Postfix (OpenSSL 3) offers TLS 1.3: taken when this mbedTLS has it */
    print_message("  STARTTLS: %s %s (mbedTLS %s)\n", info.version, info.cipher,
                  MBEDTLS_VERSION_STRING);
    assert_string_equal(info.version, POSTIE_TLS_HAVE_TLS13 ? "TLSv1.3" : "TLSv1.2");

    st = send_one(msg, to, 3, rcpt, true);
    assert_int_equal(st, POSTIE_OK);
    assert_int_equal(rcpt[0].state, POSTIE_RCPT_ACCEPTED);
    assert_int_equal(rcpt[1].state, POSTIE_RCPT_REJECTED);
    assert_int_equal(rcpt[1].reply.code, 550);
    assert_string_equal(rcpt[1].reply.enhanced, "5.1.1");
    assert_non_null(strstr(rcpt[1].reply.text, "nosuch@example.test"));
    assert_int_equal(rcpt[2].state, POSTIE_RCPT_ACCEPTED);
    assert_int_equal(postie_smtp_message_result(&client.engine)->reply.code, 250);
    postie_smtp_client_quit(&client);

    assert_delivered_exactly("bob", token, msg);
    assert_delivered_exactly("carol", token, msg);
    free(msg);
}

static void test_smtps_large_message_and_reuse(void **state)
{
    (void)state;
    static const char *const to[] = {"bob@example.test"};
    postie_smtp_rcpt_t rcpt[1];
    char token[96];
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTPS_PORT"), POSTIE_TLS_IMPLICIT, true);
    size_t big_len = 1500 * 1000;
    char *big = malloc(big_len + 1);
    char *msg;

    assert_non_null(big);
    /* lines of varying length, some starting with a dot, LF and CRLF mixed */
    for (size_t i = 0, line = 0; i < big_len; line++) {
        size_t n = 1 + (line * 7919) % 900;
        for (size_t k = 0; k < n && i < big_len; k++) {
            big[i++] = (k == 0 && line % 5 == 0) ? '.' : (char)('A' + (line + k) % 26);
        }
        if (i < big_len) {
            big[i++] = '\n';
        }
    }
    big[big_len] = '\0';

    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_OK);
    assert_true(postie_smtp_caps(&client.engine)->flags & POSTIE_SMTP_CAP_CHUNKING);
    assert_false(postie_smtp_client_data_sent(&client));
    for (int round = 0; round < 2; round++) {
        make_token(token, sizeof(token), round == 0 ? "smtps-big" : "smtps-reuse");
        msg = make_message(token, round == 0 ? big : "second message, same connection\r\n");
        assert_int_equal(send_one(msg, to, 1, rcpt, true), POSTIE_OK);
        assert_true(postie_smtp_client_data_sent(&client)); /* BDAT LAST left */
        assert_int_equal(rcpt[0].state, POSTIE_RCPT_ACCEPTED);
        assert_delivered_exactly("bob", token, msg);
        free(msg);
    }
    postie_smtp_client_quit(&client);
    free(big);
}

/* One SMTPS session (connect, TLS, EHLO, AUTH, one message, QUIT) with
 * mbedTLS running from the static arena and the CA from a memory blob, as
 * on a board: the high-water mark is what a board needs for a session
 * (README, "TLS"). Skipped without an arena. */
static void test_smtps_session_arena_high_water(void **state)
{
    static const char *const to[] = {"bob@example.test"};
    postie_smtp_rcpt_t rcpt[1];
    char token[96];
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTPS_PORT"), POSTIE_TLS_IMPLICIT, true);
    postie_tls_arena_stats_t before;
    postie_tls_arena_stats_t after;
    postie_tls_info_t info;
    char *msg;

    (void)state;
    postie_tls_arena_stats(&before);
    if (before.size == 0) {
        print_message("  mbedTLS %s has no static arena; skipping\n", MBEDTLS_VERSION_STRING);
        skip();
    }
    /* the CA as a board holds it: a blob in memory, not a file */
    {
        static uint8_t ca_blob[16384];
        FILE *f = fopen(env_str("POSTIE_TEST_CA"), "rb");
        assert_non_null(f);
        cfg.tls.ca_blob_len = fread(ca_blob, 1, sizeof(ca_blob), f);
        fclose(f);
        assert_true(cfg.tls.ca_blob_len > 0 && cfg.tls.ca_blob_len < sizeof(ca_blob));
        cfg.tls.ca_blob = ca_blob;
        cfg.tls.ca_file = NULL;
    }
    postie_tls_arena_reset_high_water();
    make_token(token, sizeof(token), "smtps-arena");
    msg = make_message(token, "one session from the arena\r\n");
    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_OK);
    assert_true(postie_smtp_client_tls_info(&client, &info));
    assert_int_equal(send_one(msg, to, 1, rcpt, true), POSTIE_OK);
    postie_smtp_client_quit(&client);
    postie_tls_arena_stats(&after);
    print_message("  SMTPS session (%s %s) to Postfix: arena high-water %lu octets in %lu "
                  "blocks, of %lu\n",
                  info.version, info.cipher, (unsigned long)after.high_water,
                  (unsigned long)after.blocks_high_water, (unsigned long)after.size);
    assert_true(after.high_water > before.used);
    assert_true(after.high_water <= after.size);
    assert_int_equal(after.used, before.used); /* nothing left behind */
    assert_delivered_exactly("bob", token, msg);
    free(msg);
}

static void test_without_pipelining_or_chunking(void **state)
{
    (void)state;
    static const char *const to[] = {"carol@example.test", "nobody@example.test"};
    postie_smtp_rcpt_t rcpt[2];
    char token[96];
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTP_PORT"), POSTIE_TLS_STARTTLS_REQUIRED, true);
    char *msg;

    cfg.smtp.use_pipelining = false;
    cfg.smtp.use_chunking = false;
    make_token(token, sizeof(token), "lockstep");
    msg = make_message(token, "sent one command at a time, body by DATA\r\n");
    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_OK);
    assert_int_equal(send_one(msg, to, 2, rcpt, true), POSTIE_OK);
    assert_true(postie_smtp_client_data_sent(&client)); /* the final dot left */
    assert_int_equal(rcpt[0].state, POSTIE_RCPT_ACCEPTED);
    assert_int_equal(rcpt[1].state, POSTIE_RCPT_REJECTED);
    postie_smtp_client_quit(&client);
    assert_delivered_exactly("carol", token, msg);
    free(msg);
}

static void test_all_recipients_refused_then_next_message(void **state)
{
    (void)state;
    static const char *const nobody[] = {"ghost@example.test", "phantom@example.test"};
    static const char *const bob[] = {"bob@example.test"};
    postie_smtp_rcpt_t rcpt[2];
    char token[96];
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTP_PORT"), POSTIE_TLS_STARTTLS_REQUIRED, true);
    char *msg;

    make_token(token, sizeof(token), "after-refusal");
    msg = make_message(token, "");
    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_OK);
    assert_int_equal(send_one(msg, nobody, 2, rcpt, true), POSTIE_E_RECIPIENTS_REJECTED);
    assert_int_equal(rcpt[0].state, POSTIE_RCPT_REJECTED);
    assert_int_equal(rcpt[1].state, POSTIE_RCPT_REJECTED);
    /* the session survives a refused message */
    assert_int_equal(send_one(msg, bob, 1, rcpt, true), POSTIE_OK);
    postie_smtp_client_quit(&client);
    assert_delivered_exactly("bob", token, msg);
    free(msg);
}

static void test_relay_refused_without_auth(void **state)
{
    (void)state;
    static const char *const outside[] = {"someone@elsewhere.invalid"};
    postie_smtp_rcpt_t rcpt[1];
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTP_PORT"), POSTIE_TLS_STARTTLS_REQUIRED, false);
    char *msg = make_message("relay", "");

    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_OK);
    assert_false(postie_smtp_caps(&client.engine)->authenticated);
    assert_int_equal(send_one(msg, outside, 1, rcpt, true), POSTIE_E_RECIPIENTS_REJECTED);
    assert_int_equal(rcpt[0].state, POSTIE_RCPT_REJECTED);
    assert_true(rcpt[0].reply.code >= 500);
    postie_smtp_client_quit(&client);
    free(msg);
}

static void test_wrong_password(void **state)
{
    (void)state;
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTP_PORT"), POSTIE_TLS_STARTTLS_REQUIRED, true);
    cfg.smtp.password = "not-the-password";
    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_E_AUTH_FAILED);
    assert_int_equal(postie_smtp_client_error(&client)->reply.code, 535);
    postie_smtp_client_quit(&client);
}

static void test_no_credentials_in_clear(void **state)
{
    (void)state;
    /* TLS off but credentials given: refused before anything is sent */
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTP_PORT"), POSTIE_TLS_NONE, true);
    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_E_AUTH_CLEARTEXT_REFUSED);
    postie_smtp_client_quit(&client);
}

static void expect_tls_failure(const char *port_var, const char *host, postie_status_t want)
{
    postie_smtp_client_config_t cfg = base_config(env_port(port_var), POSTIE_TLS_IMPLICIT, true);
    postie_status_t st;
    cfg.host = host;
    st = postie_smtp_client_open(&client, &cfg);
    if (st != want) {
        fail_msg("%s: got %s, want %s", port_var, postie_status_name(st), postie_status_name(want));
    }
    assert_int_equal(postie_smtp_client_error(&client)->status, want);
    postie_smtp_client_quit(&client);
}

static void test_bad_certificates_refused(void **state)
{
    (void)state;
    expect_tls_failure("POSTIE_TEST_SELFSIGNED_PORT", "localhost", POSTIE_E_TLS_CERT_UNTRUSTED);
    expect_tls_failure("POSTIE_TEST_WRONGHOST_PORT", "localhost", POSTIE_E_TLS_CERT_NAME_MISMATCH);
    expect_tls_failure("POSTIE_TEST_EXPIRED_PORT", "localhost", POSTIE_E_TLS_CERT_EXPIRED);
    /* a good certificate, but not for the name we asked for */
    expect_tls_failure("POSTIE_TEST_SMTPS_PORT", "mail.example.net",
                       POSTIE_E_TLS_CERT_NAME_MISMATCH);
}

static void test_nothing_listening(void **state)
{
    (void)state;
    postie_smtp_client_config_t cfg = base_config(1, POSTIE_TLS_STARTTLS_REQUIRED, false);
    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_E_CONNECT_FAILED);
    postie_smtp_client_quit(&client);
}

static void test_undeclared_8bit_body_is_refused_with_its_reason(void **state)
{
    (void)state;
    static const char *const to[] = {"bob@example.test"};
    postie_smtp_rcpt_t rcpt[1];
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTPS_PORT"), POSTIE_TLS_IMPLICIT, true);
    char *msg = make_message("undeclared-8bit", "");

    assert_int_equal(postie_smtp_client_open(&client, &cfg), POSTIE_OK);
    /* declared 7-bit, but the body holds UTF-8: the client must stop and say why */
    assert_int_equal(send_one(msg, to, 1, rcpt, false), POSTIE_E_BODY_8BIT_UNDECLARED);
    assert_false(postie_smtp_client_data_sent(&client)); /* the data never ended */
    assert_int_equal(postie_smtp_client_error(&client)->status, POSTIE_E_BODY_8BIT_UNDECLARED);
    assert_string_equal(postie_smtp_client_error(&client)->phase, "message body");
    postie_smtp_client_quit(&client);
    free(msg);
}

/* Four clients in four threads at once: engines share nothing, and the TLS
 * layers share only the process-wide DRBG (and the arena, with 3.6), which
 * mbedTLS locks. main() ran postie_tls_global_init() before any thread, as
 * the thread model in postie/mbedtls/tls.h asks. */
typedef struct {
    int index;
    char token[96];
    postie_status_t status;
} worker_t;

static void *parallel_worker(void *arg)
{
    worker_t *wk = arg;
    postie_smtp_client_t *c = calloc(1, sizeof(*c));
    postie_smtp_client_config_t cfg =
        base_config(env_port("POSTIE_TEST_SMTPS_PORT"), POSTIE_TLS_IMPLICIT, true);
    postie_smtp_rcpt_t rcpt = {"bob@example.test", POSTIE_RCPT_PENDING, {0, "", ""}};
    postie_smtp_envelope_t env;
    char *msg = make_message(wk->token, "sent from a thread\r\n");
    memory_source_t src = {(const uint8_t *)msg, strlen(msg), 0};

    memset(&env, 0, sizeof(env));
    env.from = "alice@example.test";
    env.rcpt = &rcpt;
    env.rcpt_count = 1;
    env.body_8bit = true; /* make_message writes UTF-8 */
    wk->status = postie_smtp_client_open(c, &cfg);
    if (wk->status == POSTIE_OK) {
        wk->status = postie_smtp_client_send(c, &env, read_memory, &src);
    }

    postie_smtp_client_quit(c);
    free(c);
    free(msg);
    return NULL;
}

static void test_parallel_sessions(void **state)
{
    (void)state;
    worker_t wk[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        wk[i].index = i;
        make_token(wk[i].token, sizeof(wk[i].token), "parallel");
        assert_int_equal(pthread_create(&th[i], NULL, parallel_worker, &wk[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    for (int i = 0; i < 4; i++) {
        size_t len;
        char *got;
        if (wk[i].status != POSTIE_OK) {
            fail_msg("thread %d: %s", i, postie_status_name(wk[i].status));
        }
        got = find_delivery("bob", wk[i].token, &len);
        assert_non_null(got);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_auth_several_recipients_one_refused),
        cmocka_unit_test(test_smtps_large_message_and_reuse),
        cmocka_unit_test(test_smtps_session_arena_high_water),
        cmocka_unit_test(test_without_pipelining_or_chunking),
        cmocka_unit_test(test_all_recipients_refused_then_next_message),
        cmocka_unit_test(test_relay_refused_without_auth),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_no_credentials_in_clear),
        cmocka_unit_test(test_bad_certificates_refused),
        cmocka_unit_test(test_nothing_listening),
        cmocka_unit_test(test_undeclared_8bit_body_is_refused_with_its_reason),
        cmocka_unit_test(test_parallel_sessions),
    };
    postie_error_t err;
#if POSTIE_TLS_HAVE_ARENA
    /* mbedTLS from a static arena, as on a board (3.6 build); large enough
     * for four parallel sessions */
    static unsigned char arena[1024 * 1024];
    if (postie_tls_arena_set(arena, sizeof(arena)) != POSTIE_OK) {
        fprintf(stderr, "smtp_delivery_test: postie_tls_arena_set failed\n");
        return 1;
    }
#endif
    /* before any thread (test_parallel_sessions) */
    if (postie_tls_global_init(&err) != POSTIE_OK) {
        fprintf(stderr, "smtp_delivery_test: TLS init: %s\n", err.reply.text);
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
