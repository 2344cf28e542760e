/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Postie's side of the SMTP benchmark: one connection (plain or STARTTLS,
 * the certificate verified), N messages sent one after another over it,
 * each from memory through the library's blocking client (the one driver
 * over POSIX TCP and mbedTLS), then QUIT. Prints the wall time; the runner
 * (smtp_bench.py) measures CPU and reads the sink's counts.
 *
 * Usage: postie_send_bench PORT SIZE RCPTS N plain|starttls [CA_FILE [data]]
 *   data: do not use CHUNKING (DATA and the final dot) even when offered
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_message.h"
#include "postie/posix/smtp_client.h"

typedef struct {
    const char *msg;
    size_t len;
    size_t pos;
} source_t;

static postie_status_t read_message(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    source_t *s = ctx;
    size_t n = s->len - s->pos < cap ? s->len - s->pos : cap;
    memcpy(buf, s->msg + s->pos, n);
    s->pos += n;
    *got = n;
    return POSTIE_OK;
}

int main(int argc, char **argv)
{
    static postie_smtp_client_t client;
    static postie_smtp_rcpt_t rcpt[10];
    static char addr[10][32];
    postie_smtp_client_config_t cfg;
    postie_smtp_envelope_t env;
    struct timespec t0;
    struct timespec t1;

    if (argc < 6) {
        fprintf(stderr,
                "usage: postie_send_bench PORT SIZE RCPTS N plain|starttls [CA_FILE [data]]\n");
        return 2;
    }
    size_t size = strtoul(argv[2], NULL, 10);
    size_t nrcpt = strtoul(argv[3], NULL, 10);
    unsigned long n = strtoul(argv[4], NULL, 10);
    bool tls = strcmp(argv[5], "starttls") == 0;
    char *msg = bench_message(size);
    if (nrcpt < 1 || nrcpt > 10) {
        return 2;
    }
    postie_smtp_client_config_defaults(&cfg);
    cfg.host = "localhost";
    cfg.connect_to = "127.0.0.1";
    cfg.port = (uint16_t)strtoul(argv[1], NULL, 10);
    cfg.smtp.ehlo_name = "bench.example.test";
    cfg.smtp.tls_mode = tls ? POSTIE_TLS_STARTTLS_REQUIRED : POSTIE_TLS_NONE;
    cfg.tls.ca_file = argc > 6 ? argv[6] : NULL;
    cfg.smtp.use_chunking = !(argc > 7 && strcmp(argv[7], "data") == 0);
    memset(&env, 0, sizeof(env));
    for (size_t i = 0; i < nrcpt; i++) {
        snprintf(addr[i], sizeof(addr[i]), "rcpt%zu@example.test", i);
        rcpt[i].address = addr[i];
    }
    env.from = "bench@example.test";
    env.rcpt = rcpt;
    env.rcpt_count = nrcpt;
    env.size = size;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (postie_smtp_client_open(&client, &cfg) != POSTIE_OK) {
        fprintf(stderr, "postie_send_bench: open: %s\n",
                postie_status_str(postie_smtp_client_error(&client)->status));
        return 1;
    }
    for (unsigned long i = 0; i < n; i++) {
        source_t src = {msg, size, 0};
        if (postie_smtp_client_send(&client, &env, read_message, &src) != POSTIE_OK) {
            fprintf(stderr, "postie_send_bench: message %lu: %s\n", i,
                    postie_status_str(postie_smtp_client_error(&client)->status));
            return 1;
        }
    }
    postie_smtp_client_quit(&client);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    free(msg);
    return 0;
}
