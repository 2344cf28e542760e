/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mbedTLS arena a board needs for one TLS mail session, measured on the
 * host: mbedTLS runs from a static arena as on firmware (build Postie with
 * -DPOSTIE_MBEDTLS_ROOT pointing at boards/build-mbedtls.sh --firmware's
 * install tree to measure the firmware configuration), the CA comes from a
 * memory blob, and one session runs: connect, TLS (implicit or STARTTLS),
 * EHLO, AUTH, one message, QUIT. Prints the high-water mark in the
 * firmware's own words ("tls-arena-high-water: N"), so
 * tests/bench/footprint.sh reads either. Run by tests/bench/tls_arena.sh.
 *
 * Usage: tls_arena_bench PORT CA.pem smtps|starttls
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/mbedtls/tls.h"
#include "postie/posix/smtp_client.h"

typedef struct {
    const char *text;
    size_t len;
    size_t off;
} source_t;

static postie_status_t read_source(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    source_t *s = ctx;
    size_t n = s->len - s->off < cap ? s->len - s->off : cap;
    memcpy(buf, s->text + s->off, n);
    s->off += n;
    *got = n;
    return POSTIE_OK;
}

static postie_smtp_client_t client; /* large: keep it off the stack */
static unsigned char arena[256 * 1024];
static uint8_t ca_blob[32768];

int main(int argc, char **argv)
{
    static const char msg[] = "From: <alice@example.test>\r\n"
                              "To: <bob@example.test>\r\n"
                              "Subject: one session from the arena\r\n"
                              "\r\n"
                              "A notification.\r\n";
    postie_smtp_client_config_t cfg;
    postie_smtp_envelope_t env;
    postie_smtp_rcpt_t rcpt;
    postie_tls_arena_stats_t st;
    postie_tls_info_t info;
    source_t src = {msg, sizeof(msg) - 1, 0};
    postie_status_t rc;
    FILE *f;

    if (argc != 4 || (strcmp(argv[3], "smtps") != 0 && strcmp(argv[3], "starttls") != 0)) {
        fprintf(stderr, "usage: tls_arena_bench PORT CA.pem smtps|starttls\n");
        return 2;
    }
    if (postie_tls_arena_set(arena, sizeof(arena)) != POSTIE_OK) {
        fprintf(stderr, "tls_arena_bench: this mbedTLS has no static arena "
                        "(MBEDTLS_MEMORY_BUFFER_ALLOC_C)\n");
        return 1;
    }
    f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    postie_smtp_client_config_defaults(&cfg);
    cfg.tls.ca_blob_len = fread(ca_blob, 1, sizeof(ca_blob) - 1, f);
    fclose(f);
    cfg.tls.ca_blob = ca_blob;
    cfg.tls.ca_file = NULL;
    cfg.host = "localhost";
    cfg.connect_to = "127.0.0.1";
    cfg.port = (uint16_t)strtoul(argv[1], NULL, 10);
    cfg.connect_timeout_ms = 10000;
    cfg.smtp.ehlo_name = "board.postie.test";
    cfg.smtp.tls_mode =
        strcmp(argv[3], "smtps") == 0 ? POSTIE_TLS_IMPLICIT : POSTIE_TLS_STARTTLS_REQUIRED;
    cfg.smtp.username = "board";
    cfg.smtp.password = "not-a-secret";

    postie_tls_arena_reset_high_water();
    rc = postie_smtp_client_open(&client, &cfg);
    if (rc == POSTIE_OK) {
        memset(&env, 0, sizeof(env));
        memset(&rcpt, 0, sizeof(rcpt));
        rcpt.address = "bob@example.test";
        env.from = "alice@example.test";
        env.rcpt = &rcpt;
        env.rcpt_count = 1;
        env.size = src.len;
        (void)postie_smtp_client_tls_info(&client, &info);
        rc = postie_smtp_client_send(&client, &env, read_source, &src);
    }
    if (rc != POSTIE_OK) {
        const postie_error_t *e = postie_smtp_client_error(&client);
        fprintf(stderr, "tls_arena_bench: %s (%s): %s %s\n", postie_status_name(rc), e->phase,
                e->subject, e->reply.text);
        postie_smtp_client_quit(&client);
        return 1;
    }
    postie_smtp_client_quit(&client);
    postie_tls_arena_stats(&st);
    printf("tls: %s %s, %s\n", info.version, info.cipher, argv[3]);
    printf("tls-arena-size: %lu\n", (unsigned long)st.size);
    printf("tls-arena-blocks-high-water: %lu\n", (unsigned long)st.blocks_high_water);
    printf("tls-arena-high-water: %lu\n", (unsigned long)st.high_water);
    return st.high_water > 0 && st.used == 0 ? 0 : 1;
}
