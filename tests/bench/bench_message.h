/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message the SMTP benchmark clients send (postie_send_bench.c,
 * curl_send_bench.c; smtp_bench.py builds the same one for the command-line
 * peers): headers, then lines of 76 printable characters, CRLF-ended, to
 * the size asked for.
 */
#ifndef POSTIE_BENCH_MESSAGE_H
#define POSTIE_BENCH_MESSAGE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd message of exactly size octets (at least 200). */
static char *bench_message(size_t size)
{
    static const char head[] = "From: bench@example.test\r\nTo: sink@example.test\r\n"
                               "Subject: benchmark\r\nMessage-ID: <bench@example.test>\r\n\r\n";
    char *m = malloc(size + 1);
    size_t n = strlen(head);
    size_t col = 0;
    if (m == NULL || size < 200) {
        fprintf(stderr, "bench_message: bad size\n");
        exit(2);
    }
    memcpy(m, head, n);
    while (n < size - 2) {
        if (col == 76 && n + 2 <= size - 2) {
            m[n++] = '\r';
            m[n++] = '\n';
            col = 0;
            continue;
        }
        m[n] = (char)('a' + (n * 7 + col) % 26);
        n++;
        col++;
    }
    m[n++] = '\r';
    m[n++] = '\n';
    m[size] = '\0';
    return m;
}

#endif /* POSTIE_BENCH_MESSAGE_H */
