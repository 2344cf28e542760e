/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl's side of the SMTP benchmark: one easy handle reused for N
 * messages (libcurl keeps the connection), plain or STARTTLS with the
 * certificate verified, each message from memory. Prints the wall time.
 *
 * Usage: curl_send_bench PORT SIZE RCPTS N plain|starttls [CA_FILE]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "bench_message.h"

typedef struct {
    const char *msg;
    size_t len;
    size_t pos;
} source_t;

static size_t read_message(char *buf, size_t size, size_t nitems, void *ctx)
{
    source_t *s = ctx;
    size_t cap = size * nitems;
    size_t n = s->len - s->pos < cap ? s->len - s->pos : cap;
    memcpy(buf, s->msg + s->pos, n);
    s->pos += n;
    return n;
}

int main(int argc, char **argv)
{
    struct curl_slist *to = NULL;
    char url[64];
    struct timespec t0;
    struct timespec t1;
    source_t src;

    if (argc < 6) {
        fprintf(stderr, "usage: curl_send_bench PORT SIZE RCPTS N plain|starttls [CA_FILE]\n");
        return 2;
    }
    size_t size = strtoul(argv[2], NULL, 10);
    size_t nrcpt = strtoul(argv[3], NULL, 10);
    unsigned long n = strtoul(argv[4], NULL, 10);
    int tls = strcmp(argv[5], "starttls") == 0;
    char *msg = bench_message(size);
    CURL *h;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    snprintf(url, sizeof(url), "smtp://localhost:%s/bench.example.test", argv[1]);
    for (size_t i = 0; i < nrcpt; i++) {
        char a[40];
        snprintf(a, sizeof(a), "<rcpt%zu@example.test>", i);
        to = curl_slist_append(to, a);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, "<bench@example.test>");
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(h, CURLOPT_READDATA, &src);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    if (tls) {
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        if (argc > 6) {
            curl_easy_setopt(h, CURLOPT_CAINFO, argv[6]);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < n; i++) {
        CURLcode rc;
        src.msg = msg;
        src.len = size;
        src.pos = 0;
        rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            fprintf(stderr, "curl_send_bench: message %lu: %s\n", i, curl_easy_strerror(rc));
            return 1;
        }
    }
    curl_easy_cleanup(h);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    curl_slist_free_all(to);
    curl_global_cleanup();
    free(msg);
    return 0;
}
