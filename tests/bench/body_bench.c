/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Body path microbenchmark: MB/s (10^6 octets of input per second) of
 *  - the SMTP body encoder (line-end normalisation, dot-stuffing) on plain
 *    CRLF text, on text full of bare LFs and leading dots, in DATA mode
 *    (dot-stuffing) and BDAT mode;
 *  - the MIME writer's base64 and quoted-printable encoders;
 *  - a whole message with a base64 attachment through the MIME writer.
 * Input is encoded from a 1 MiB buffer into an 8 KiB output window, as the
 * engine does. Time is the process's CPU time (CLOCK_PROCESS_CPUTIME_ID),
 * so time spent waiting for a core on a busy machine does not count; each
 * figure is the best of a few runs.
 * Prints the plain-text target (>= 1000 MB/s) and its distance.
 *
 * Usage: body_bench [MiB per run]   (default 256)
 */
#define _POSIX_C_SOURCE 200809L /* CLOCK_PROCESS_CPUTIME_ID */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postie/mime/mime.h"
#include "postie/mime/mime_encode.h"
#include "postie/smtp/body.h"

#define INPUT_SIZE (1u << 20)
#define OUT_SIZE   8192u
#define RUNS       5

static uint8_t input[INPUT_SIZE];
static uint8_t out[OUT_SIZE];
static volatile uint64_t sink_total; /* keeps the work from being optimised away */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rng_state = 1;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 16;
}

/* Lines of 20..78 printable octets; `eol` ends each, `dots` starts each with '.' */
static void make_text(const char *eol, int dots)
{
    size_t i = 0;
    size_t eol_len = strlen(eol);
    while (i < INPUT_SIZE) {
        size_t n = 20 + rng() % 59;
        for (size_t k = 0; k < n && i < INPUT_SIZE; k++) {
            input[i++] = (k == 0 && dots) ? '.' : (uint8_t)(' ' + 1 + rng() % 94);
        }
        for (size_t k = 0; k < eol_len && i < INPUT_SIZE; k++) {
            input[i++] = (uint8_t)eol[k];
        }
    }
}

typedef enum { BODY_DATA, BODY_BDAT, MIME_B64, MIME_QP } kind_t;

static double run(kind_t kind, uint64_t total)
{
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        postie_body_encoder_t e;
        postie_mime_b64_t b;
        postie_mime_qp_t q;
        uint64_t done = 0;
        uint64_t produced_total = 0;
        double t0 = now_s();

        postie_body_init(&e, kind == BODY_DATA, true);
        postie_mime_b64_init(&b);
        postie_mime_qp_init(&q);
        while (done < total) {
            size_t pos = 0;
            while (pos < INPUT_SIZE) {
                size_t used = 0;
                size_t produced = 0;
                if (kind == BODY_DATA || kind == BODY_BDAT) {
                    if (postie_body_encode(&e, input + pos, INPUT_SIZE - pos, &used, out, OUT_SIZE,
                                           &produced) != POSTIE_OK) {
                        fprintf(stderr, "body_bench: encoder refused the input\n");
                        exit(1);
                    }
                } else if (kind == MIME_B64) {
                    postie_mime_b64_encode(&b, input + pos, INPUT_SIZE - pos, &used, out, OUT_SIZE,
                                           &produced);
                } else {
                    postie_mime_qp_encode(&q, input + pos, INPUT_SIZE - pos, &used, out, OUT_SIZE,
                                          &produced);
                }
                pos += used;
                produced_total += produced;
            }
            done += INPUT_SIZE;
        }
        double mbs = (double)total / (now_s() - t0) / 1e6;
        sink_total += produced_total;
        if (mbs > best) {
            best = mbs;
        }
    }
    return best;
}

typedef struct {
    uint64_t left;
} gen_t;

static postie_status_t generate(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    gen_t *g = ctx;
    size_t n = cap < g->left ? cap : (size_t)g->left;
    size_t off = (size_t)(g->left % INPUT_SIZE);
    if (n > INPUT_SIZE - off) {
        n = INPUT_SIZE - off;
    }
    memcpy(buf, input + off, n);
    g->left -= n;
    *got = n;
    return POSTIE_OK;
}

/* A message with one attachment of `total` random octets through the writer. */
static double run_writer(uint64_t total)
{
    static postie_mime_writer_t w;
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        gen_t gen = {total};
        postie_attachment_t att = {"capture.pcap", NULL, generate, &gen};
        postie_mailbox_t to = {"Ops", "ops@example.com"};
        postie_message_t m;
        size_t got = 0;
        double t0;

        memset(&m, 0, sizeof(m));
        m.from.address = "nas@example.com";
        m.to = &to;
        m.to_count = 1;
        m.subject = "capture";
        m.date = 1795600000;
        m.text = (const uint8_t *)"Capture attached.\n";
        m.text_len = 18;
        m.attachments = &att;
        m.attachment_count = 1;
        t0 = now_s();
        if (postie_mime_init(&w, &m) != POSTIE_OK) {
            fprintf(stderr, "body_bench: writer init failed\n");
            exit(1);
        }
        while (postie_mime_read(&w, out, sizeof(out), &got) == POSTIE_OK && got > 0) {
            sink_total += got;
        }
        double mbs = (double)total / (now_s() - t0) / 1e6;
        if (mbs > best) {
            best = mbs;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    uint64_t total = (uint64_t)(mib == 0 ? 1 : mib) << 20;
    double plain;

    make_text("\r\n", 0);
    plain = run(BODY_DATA, total);
    printf("body: plain CRLF text, DATA (dot-stuffing)   %8.0f MB/s\n", plain);
    printf("body: plain CRLF text, BDAT                  %8.0f MB/s\n", run(BODY_BDAT, total));
    make_text("\n", 1);
    printf("body: bare LFs, every line starts with '.'  %8.0f MB/s\n", run(BODY_DATA, total));
    printf("mime: quoted-printable of plain text         %8.0f MB/s\n", run(MIME_QP, total));
    for (size_t i = 0; i < INPUT_SIZE; i++) {
        input[i] = (uint8_t)rng();
    }
    printf("mime: base64 of random octets                %8.0f MB/s\n", run(MIME_B64, total));
    printf("mime: message with a base64 attachment       %8.0f MB/s of attachment\n",
           run_writer(total / 4));
    printf("body: target >= 1000 MB/s for plain text: %s (%.2fx the target)\n",
           plain >= 1000 ? "met" : "NOT met", plain / 1000);
    return sink_total == 0;
}
