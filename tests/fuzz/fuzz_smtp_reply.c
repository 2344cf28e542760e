/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the reply reader alone (line reader + reply parser).
 *
 * Input bytes arrive in pieces whose sizes come from the input. Checked:
 * every accepted line fits the configured maximum and holds no CR, LF or
 * NUL; every parsed line has a code in 200..599; text views stay inside the
 * line; an enhanced code, when found, is "d.d{1,3}.d{1,3}"-shaped; the
 * reply info copy is NUL-terminated and printable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/line.h"
#include "postie/smtp/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line, size_t len, postie_smtp_reply_t *reply)
{
    postie_smtp_line_t pl;
    postie_reply_info_t info;
    const char *why = NULL;
    if (len > POSTIE_REPLY_LINE_MAX - 2 || memchr(line, '\r', len) || memchr(line, '\n', len) ||
        memchr(line, '\0', len)) {
        abort();
    }
    if (postie_smtp_reply_line(reply, line, len, &pl, &why) != POSTIE_OK) {
        postie_smtp_reply_init(reply);
        return;
    }
    if (pl.code < 200 || pl.code > 599) {
        abort();
    }
    if (pl.text < line || pl.text + pl.text_len > line + len) {
        abort();
    }
    if (pl.enhanced != NULL) {
        if (pl.enhanced < line || pl.enhanced + pl.enhanced_len > line + len ||
            pl.enhanced_len < 5 || pl.enhanced[0] != line[0]) {
            abort();
        }
    }
    if (pl.first) {
        postie_smtp_reply_info(&info, &pl);
        if (memchr(info.text, '\0', sizeof(info.text)) == NULL) {
            abort();
        }
        for (const char *p = info.text; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[POSTIE_REPLY_LINE_MAX * 2];
    postie_line_reader_t rd;
    postie_smtp_reply_t reply;
    size_t pos = 0;

    postie_line_init(&rd, buf, sizeof(buf), POSTIE_REPLY_LINE_MAX);
    postie_smtp_reply_init(&reply);
    while (pos < size) {
        size_t cap;
        uint8_t *w = postie_line_rx_window(&rd, &cap);
        size_t n = 1u + data[pos] % 97u;
        const char *line;
        size_t len;
        postie_status_t st;
        pos++;
        if (n > size - pos) {
            n = size - pos;
        }
        if (n > cap) {
            n = cap;
        }
        memcpy(w, data + pos, n);
        pos += n;
        postie_line_rx_commit(&rd, n);
        while ((st = postie_line_next(&rd, &line, &len)) == POSTIE_OK) {
            check_line(line, len, &reply);
        }
        if (st != POSTIE_E_AGAIN) {
            return 0; /* the reader reported a bad line; the session would end */
        }
        if (cap == 0) {
            abort(); /* a reader that neither yields a line nor fails is stuck */
        }
    }
    return 0;
}
