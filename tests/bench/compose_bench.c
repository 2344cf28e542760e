/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message writer benchmark: a message with a 25 MiB attachment composed
 * into a sink, read 8 KiB at a time, as the SMTP client would.
 *
 * Reports throughput, the writer's fixed RAM (sizeof), the heap the run
 * used (must be zero: core/ never allocates) and the process's peak RSS.
 * The attachment comes from a generator callback, so the input never sits
 * in memory either.
 *
 * Usage: compose_bench [MiB]   (default 25)
 */
#define _GNU_SOURCE /* mallinfo2 */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "postie/mime/mime.h"

typedef struct {
    uint64_t left;
    uint32_t rng;
} generator_t;

static postie_status_t generate(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    generator_t *g = ctx;
    size_t n = cap < g->left ? cap : (size_t)g->left;
    for (size_t i = 0; i < n; i++) {
        g->rng = g->rng * 1103515245u + 12345u;
        buf[i] = (uint8_t)(g->rng >> 16);
    }
    g->left -= n;
    *got = n;
    return POSTIE_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static postie_mime_writer_t w;
    static uint8_t out[8192];
    unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 25;
    generator_t gen = {(uint64_t)mib << 20, 1};
    postie_attachment_t att = {"capture.pcap", NULL, generate, &gen};
    postie_mailbox_t to = {"Ops", "ops@example.com"};
    postie_message_t m;
    struct mallinfo2 before;
    struct mallinfo2 after;
    struct rusage ru;
    uint64_t total = 0;
    size_t got = 0;
    double t0;
    double t1;

    memset(&m, 0, sizeof(m));
    m.from.name = "NAS-01 (Appliance)";
    m.from.address = "nas@example.com";
    m.to = &to;
    m.to_count = 1;
    m.subject = "【診断】パケットキャプチャ";
    m.date = 1795600000;
    m.text = (const uint8_t *)"Capture attached.\n";
    m.text_len = 18;
    m.attachments = &att;
    m.attachment_count = 1;

    before = mallinfo2();
    t0 = now_s();
    if (postie_mime_init(&w, &m) != POSTIE_OK) {
        fprintf(stderr, "init failed: %s\n", postie_mime_error(&w)->subject);
        return 1;
    }
    while (postie_mime_read(&w, out, sizeof(out), &got) == POSTIE_OK && got > 0) {
        total += got;
    }
    t1 = now_s();
    after = mallinfo2();
    getrusage(RUSAGE_SELF, &ru);

    printf("compose: %lu MiB attachment -> %llu octets in %.3f s = %.1f MiB/s of input\n", mib,
           (unsigned long long)total, t1 - t0, (double)mib / (t1 - t0));
    printf("compose: writer RAM sizeof(postie_mime_writer_t) = %zu octets (stage %d + read "
           "chunk %d + state), output buffer %zu\n",
           sizeof(w), POSTIE_MIME_STAGE_SIZE, POSTIE_MIME_READ_CHUNK, sizeof(out));
    printf("compose: heap in use before %zu, after %zu (delta %ld); peak RSS %ld KiB\n",
           before.uordblks, after.uordblks, (long)after.uordblks - (long)before.uordblks,
           ru.ru_maxrss);
    return after.uordblks == before.uordblks && gen.left == 0 ? 0 : 1;
}
