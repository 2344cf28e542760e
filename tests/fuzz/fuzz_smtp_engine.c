/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary server bytes against the SMTP engine.
 *
 * The first input octet picks the configuration (TLS mode, credentials,
 * pipelining, chunking); the rest is what the server sends, cut into
 * pieces whose sizes come from the input too. The client sends one message
 * whenever the engine is ready, answers NEED_TLS at once, and writes body
 * bytes when asked. Properties checked beyond "no crash, no sanitizer
 * report": the engine never asks to transmit more than its buffer, never
 * logs a credential it sent, and a failed session always has a status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/smtp/smtp.h"

static const char password[] = "fuzz-secret-pw";

static void check_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    if (dir != POSTIE_LOG_SENT) {
        return; /* the server may echo anything, the password included */
    }
    for (size_t i = 0; i + sizeof(password) - 1 <= len; i++) {
        if (memcmp(line + i, password, sizeof(password) - 1) == 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static postie_smtp_t s;
    postie_smtp_config_t cfg;
    postie_smtp_rcpt_t rcpt[3] = {{"a@example.com", POSTIE_RCPT_PENDING, {0, "", ""}},
                                  {"b@example.com", POSTIE_RCPT_PENDING, {0, "", ""}},
                                  {"c@example.com", POSTIE_RCPT_PENDING, {0, "", ""}}};
    postie_smtp_envelope_t env;
    static const uint8_t body[] = "Subject: fuzz\r\n\r\n.line\r\nend\r\n";
    uint32_t now = 0;
    size_t pos = 1;
    int messages = 0;
    uint8_t mode;

    if (size < 1) {
        return 0;
    }
    mode = data[0];
    postie_smtp_config_defaults(&cfg);
    cfg.tls_mode = (postie_tls_mode_t)(mode & 3u);
    cfg.use_pipelining = (mode & 4u) != 0;
    cfg.use_chunking = (mode & 8u) != 0;
    if (mode & 16u) {
        cfg.username = "user@example.com";
        cfg.password = password;
        cfg.allow_plaintext_auth = (mode & 32u) != 0;
    }
    cfg.log = check_log;
    memset(&env, 0, sizeof(env));
    env.from = "sender@example.com";
    env.rcpt = rcpt;
    env.rcpt_count = 1u + (mode >> 6) % 3u;
    env.size = 100;

    if (postie_smtp_init(&s, &cfg, now) != POSTIE_OK) {
        return 0;
    }
    for (int guard = 0; guard < 100000; guard++) {
        uint32_t st = postie_smtp_state(&s);
        postie_smtp_event_t ev;
        now += 1000;
        if (st & POSTIE_SMTP_FAILED) {
            if (postie_smtp_error(&s)->status == POSTIE_OK) {
                abort();
            }
            break;
        }
        if (st & POSTIE_SMTP_CLOSED) {
            break;
        }
        if (st & POSTIE_SMTP_EVENT) {
            while (postie_smtp_next_event(&s, &ev)) {
            }
            continue;
        }
        if (st & POSTIE_SMTP_HAVE_TX) {
            size_t len;
            (void)postie_smtp_tx_buf(&s, &len);
            if (len > POSTIE_SMTP_TX_BUFFER_SIZE) {
                abort();
            }
            postie_smtp_tx_ack(&s, len, now);
            continue;
        }
        if (st & POSTIE_SMTP_NEED_TLS) {
            (void)postie_smtp_tls_done(&s, now);
            continue;
        }
        if (st & POSTIE_SMTP_WANT_BODY) {
            size_t used = 0;
            if (postie_smtp_body_write(&s, body, sizeof(body) - 1, &used, now) == POSTIE_OK &&
                used == sizeof(body) - 1) {
                (void)postie_smtp_body_end(&s, now);
            }
            continue;
        }
        if (st & POSTIE_SMTP_READY) {
            if (messages++ < 2) {
                (void)postie_smtp_send(&s, &env, now);
            } else {
                (void)postie_smtp_quit(&s, now);
            }
            continue;
        }
        if (st & POSTIE_SMTP_WANT_RX) {
            size_t cap;
            size_t n;
            uint8_t *w;
            if (pos >= size) {
                postie_smtp_rx_eof(&s);
                continue;
            }
            w = postie_smtp_rx_buf(&s, &cap);
            n = 1u + data[pos] % 64u; /* piece size from the input itself */
            pos++;
            if (n > size - pos) {
                n = size - pos;
            }
            if (n > cap) {
                n = cap;
            }
            memcpy(w, data + pos, n);
            pos += n;
            (void)postie_smtp_rx_ack(&s, n, now);
            continue;
        }
        (void)postie_smtp_poll(&s, now + 3600u * 1000u); /* stuck: let the timeout end it */
    }
    return 0;
}
