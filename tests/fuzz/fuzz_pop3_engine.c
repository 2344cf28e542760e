/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary server bytes against the POP3 engine (its
 * response parsing: status lines, CAPA, STAT, LIST/UIDL listings, SASL
 * continuations, RETR data with dot-unstuffing).
 *
 * The first input octet picks the configuration (TLS mode, APOP,
 * pipelining, credentials); the rest is what the server sends, cut into
 * pieces whose sizes come from the input too. Whenever the engine is
 * ready the client lists (size and UIDL), retrieves and removes each
 * listed message and finally quits; NEED_TLS is answered at once.
 * Properties checked beyond "no crash, no sanitizer report": the engine
 * never offers more bytes than its buffers hold, never logs the password
 * or its base64 forms, listed ids ascend and stay within the STAT count,
 * message data never comes in empty chunks nor past size_max, and a
 * failed session always has a status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/pop3/pop3.h"

static const char password[] = "fuzz-secret-pw";
/* the PLAIN responses (base64 of "\0user\0password") for the two user names */
static const char plain_short[] = "AHVzZXIAZnV6ei1zZWNyZXQtcHc=";
static const char plain_long[] =
    "AGEtbXVjaC1sb25nZXItdXNlci1uYW1lLWZvci10aGUtc2FzbC1saW5lAGZ1enotc2VjcmV0LXB3";

typedef struct {
    postie_pop3_t p;
    uint32_t last_id;
    uint32_t ids[16];
    size_t nids;
    uint64_t got;
    uint64_t size_max;
} fuzz_t;

static fuzz_t f;

static bool contains(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(s + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static void check_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    if (dir == POSTIE_LOG_RECEIVED) {
        return; /* the server may echo anything */
    }
    if (contains(line, len, password) || contains(line, len, plain_short) ||
        contains(line, len, plain_long)) {
        abort();
    }
}

static postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
{
    (void)ctx;
    if (item->id == 0 || item->id > postie_pop3_info(&f.p)->messages) {
        abort();
    }
    if ((item->have & POSTIE_MAIL_ITEM_UIDL) && strlen(item->uidl) == 0) {
        abort();
    }
    if ((item->have & POSTIE_MAIL_ITEM_SIZE) && f.nids < sizeof(f.ids) / sizeof(f.ids[0])) {
        if (f.nids > 0 && item->id <= f.ids[f.nids - 1]) {
            abort(); /* ascending within one listing */
        }
        f.ids[f.nids++] = item->id;
    }
    return POSTIE_OK;
}

static postie_status_t on_data(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    if (len == 0) {
        abort();
    }
    f.got += len;
    if (f.size_max != 0 && f.got > f.size_max) {
        abort();
    }
    return POSTIE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    postie_pop3_config_t cfg;
    uint32_t now = 0;
    size_t pos = 1;
    size_t next = 0; /* next listed id to fetch */
    bool listed = false;
    bool retrieving = false;
    uint8_t mode;

    if (size < 1) {
        return 0;
    }
    memset(&f, 0, sizeof(f));
    mode = data[0];
    postie_pop3_config_defaults(&cfg);
    cfg.tls_mode = (postie_tls_mode_t)(mode & 3u);
    cfg.use_pipelining = (mode & 4u) != 0;
    cfg.use_apop = (mode & 8u) != 0;
    cfg.allow_plaintext_auth = (mode & 16u) != 0;
    if (!(mode & 32u)) {
        cfg.username = (mode & 64u) ? "user" : "a-much-longer-user-name-for-the-sasl-line";
        cfg.password = password;
    }
    f.size_max = (mode & 128u) ? 64u : 0u;
    cfg.log = check_log;

    if (postie_pop3_init(&f.p, &cfg) != POSTIE_OK || postie_pop3_start(&f.p, now) != POSTIE_OK) {
        return 0;
    }
    for (int guard = 0; guard < 100000; guard++) {
        uint32_t st = postie_pop3_state(&f.p);
        postie_pop3_event_t ev;
        now += 1000;
        if (st & POSTIE_POP3_EVENT) {
            while (postie_pop3_next_event(&f.p, &ev)) {
                if (ev.type == POSTIE_MAILBOX_EV_LISTED) {
                    listed = true;
                }
                if (ev.type == POSTIE_MAILBOX_EV_RETRIEVED) {
                    retrieving = false;
                }
                if (ev.type == POSTIE_MAILBOX_EV_FAILED && ev.status == POSTIE_OK) {
                    abort();
                }
            }
            continue;
        }
        if (st & POSTIE_POP3_FAILED) {
            if (postie_pop3_error(&f.p)->status == POSTIE_OK) {
                abort();
            }
            break;
        }
        if (st & POSTIE_POP3_CLOSED) {
            break;
        }
        if (st & POSTIE_POP3_HAVE_TX) {
            size_t len;
            (void)postie_pop3_tx_buf(&f.p, &len);
            if (len > POSTIE_POP3_TX_BUFFER_SIZE) {
                abort();
            }
            postie_pop3_tx_ack(&f.p, len, now);
            continue;
        }
        if (st & POSTIE_POP3_NEED_TLS) {
            (void)postie_pop3_tls_done(&f.p, now);
            continue;
        }
        if ((st & POSTIE_POP3_READY) && !retrieving) {
            if (!listed && f.nids == 0 && next == 0) {
                if (postie_pop3_list(&f.p, 1, POSTIE_MAIL_ITEM_SIZE | POSTIE_MAIL_ITEM_UIDL,
                                     on_item, NULL, now) != POSTIE_OK) {
                    (void)postie_pop3_finish(&f.p, now);
                }
                next = 1; /* listing started */
                continue;
            }
            if (listed && next - 1 < f.nids) {
                uint32_t id = f.ids[next - 1];
                f.got = 0;
                if (postie_pop3_retrieve(&f.p, id, f.size_max, on_data, NULL, now) == POSTIE_OK) {
                    retrieving = true;
                    (void)postie_pop3_remove(&f.p, id, now); /* pipelined when allowed */
                }
                next++;
                continue;
            }
            if (listed || !(st & POSTIE_POP3_WANT_RX)) {
                (void)postie_pop3_finish(&f.p, now);
                continue;
            }
        }
        if (st & POSTIE_POP3_WANT_RX) {
            size_t cap;
            size_t n;
            uint8_t *w;
            if (pos >= size) {
                postie_pop3_rx_eof(&f.p);
                continue;
            }
            w = postie_pop3_rx_buf(&f.p, &cap);
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
            (void)postie_pop3_rx_ack(&f.p, n, now);
            continue;
        }
        (void)postie_pop3_poll(&f.p, now + 3600u * 1000u); /* stuck: let the timeout end it */
    }
    return 0;
}
