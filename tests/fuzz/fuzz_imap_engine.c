/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary server bytes against the IMAP engine, its
 * response parser included (tagged and untagged responses, FETCH lists,
 * literals of every announced size, a SEARCH answer longer than a line).
 *
 * The first input octet picks the configuration (TLS mode, plaintext
 * permission, a LOGIN value that needs a literal, sizes in the list); the
 * rest is what the server sends, cut into pieces whose sizes come from the
 * input too. Whenever the engine is READY the client goes on with a fixed
 * plan: list, retrieve, remove and retrieve in one flight, finish.
 * Properties checked beyond "no crash, no sanitizer report": the engine
 * never asks to transmit more than its buffer, never logs a credential it
 * sent, never hands the data callback an empty chunk or more octets than
 * literal_max for one message, and a failed session always has a status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/imap/imap.h"

static const char password[] = "fuzz-secret-pw";
static const char literal_password[] = "fuzz-secret-pw\r\n\xc3\xa9";

#define LITERAL_MAX 4096u

static uint64_t message_octets;
static char plain_b64[128]; /* the AUTHENTICATE PLAIN response of this run */

static int contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) {
            return 1;
        }
    }
    return 0;
}

static void check_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    if (dir != POSTIE_LOG_SENT) {
        return; /* the server may echo anything, the password included */
    }
    if (contains(line, len, password) || contains(line, len, plain_b64)) {
        abort();
    }
}

static postie_status_t on_item(void *ctx, const postie_mail_item_t *item)
{
    (void)ctx;
    if (item->id == 0) {
        abort();
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
    message_octets += len;
    if (message_octets > LITERAL_MAX) {
        abort();
    }
    return POSTIE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static postie_imap_t m;
    postie_imap_config_t cfg;
    uint32_t now = 0;
    size_t pos = 1;
    int step = 0;
    uint8_t mode;

    if (size < 1) {
        return 0;
    }
    mode = data[0];
    postie_imap_config_defaults(&cfg);
    cfg.tls_mode = (postie_tls_mode_t)(mode & 3u);
    cfg.allow_plaintext_auth = (mode & 4u) != 0;
    cfg.username = "user@example.com";
    cfg.password = (mode & 8u) ? literal_password : password;
    cfg.folder = (mode & 16u) ? "Archiv/\xc3\xa9t\xc3\xa9 &2024" : NULL;
    cfg.literal_max = LITERAL_MAX;
    cfg.log = check_log;
    if (postie_sasl_plain(cfg.username, cfg.password, plain_b64, sizeof(plain_b64), NULL) !=
        POSTIE_OK) {
        abort();
    }
    if (postie_imap_init(&m, &cfg) != POSTIE_OK || postie_imap_start(&m, now) != POSTIE_OK) {
        abort();
    }
    message_octets = 0;
    for (int guard = 0; guard < 100000; guard++) {
        uint32_t st = postie_imap_state(&m);
        postie_imap_event_t ev;
        now += 1000;
        if (st & POSTIE_IMAP_FAILED) {
            if (postie_imap_error(&m)->status == POSTIE_OK) {
                abort();
            }
            break;
        }
        if (st & POSTIE_IMAP_CLOSED) {
            break;
        }
        if (st & POSTIE_IMAP_EVENT) {
            while (postie_imap_next_event(&m, &ev)) {
                if (ev.type == POSTIE_MAILBOX_EV_RETRIEVED) {
                    message_octets = 0;
                }
            }
            continue;
        }
        if (st & POSTIE_IMAP_HAVE_TX) {
            size_t len;
            (void)postie_imap_tx_buf(&m, &len);
            if (len == 0 || len > POSTIE_IMAP_TX_BUFFER_SIZE) {
                abort();
            }
            postie_imap_tx_ack(&m, len, now);
            continue;
        }
        if (st & POSTIE_IMAP_NEED_TLS) {
            (void)postie_imap_tls_done(&m, now);
            continue;
        }
        if ((st & POSTIE_IMAP_READY) && step < 6) {
            switch (step++) {
            case 0:
                (void)postie_imap_list(&m, 1u + (mode >> 6),
                                       (mode & 32u) ? POSTIE_MAIL_ITEM_SIZE : 0, on_item, NULL,
                                       now);
                break;
            case 1:
            case 3:
                (void)postie_imap_retrieve(&m, (uint32_t)(7 + step), 0, on_data, NULL, now);
                break;
            case 2:
                (void)postie_imap_remove(&m, 8, now);
                break;
            case 4:
                break; /* let the flight complete */
            default:
                (void)postie_imap_finish(&m, now);
                break;
            }
            continue;
        }
        if (st & POSTIE_IMAP_WANT_RX) {
            size_t cap;
            size_t n;
            uint8_t *w;
            if (pos >= size) {
                postie_imap_rx_eof(&m);
                continue;
            }
            w = postie_imap_rx_buf(&m, &cap);
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
            (void)postie_imap_rx_ack(&m, n, now);
            continue;
        }
        (void)postie_imap_poll(&m, now + 3600u * 1000u); /* stuck: let the timeout end it */
    }
    return 0;
}
