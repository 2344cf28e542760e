/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the message writer with arbitrary field contents.
 *
 * The input is cut at 0xFF octets into: display name, subject, extra header
 * value, text body, HTML body, attachment name, attachment bytes; the first
 * octet picks the options (8bit, UTF-8 headers, HTML or not, read size).
 * Either postie_mime_init refuses (with a status and a named field) or the
 * output must obey the wire rules whatever the input: only CRLF line ends,
 * no line over 998 octets, no NUL, ASCII headers unless UTF-8 headers were
 * allowed, and no header line that starts a new field from inside a value
 * (an injected "Bcc:" would show up as one).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *p;
    size_t n;
    size_t pos;
} blob_t;

static postie_status_t read_blob(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    blob_t *b = ctx;
    size_t n = b->n - b->pos < cap ? b->n - b->pos : cap;
    memcpy(buf, b->p + b->pos, n);
    b->pos += n;
    *got = n;
    return POSTIE_OK;
}

static const char *const allowed_fields[] = {
    "Date:",
    "From:",
    "To:",
    "Subject:",
    "Message-ID:",
    "MIME-Version:",
    "X-Fuzz:",
    "Content-Type:",
    "Content-Transfer-Encoding:",
    "Content-Disposition:",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static postie_mime_writer_t w;
    static char fields[7][600];
    static uint8_t out[1 << 17];
    size_t lens[7] = {0};
    size_t f = 0;
    size_t total = 0;
    size_t got = 0;
    uint8_t opt;
    postie_message_t m;
    postie_mailbox_t to = {NULL, "bob@example.com"};
    postie_header_t h = {"X-Fuzz", NULL};
    postie_attachment_t att;
    blob_t blob;
    size_t cap;

    if (size < 1) {
        return 0;
    }
    opt = data[0];
    for (size_t i = 1; i < size && f < 7; i++) {
        if (data[i] == 0xff) {
            f++;
        } else if (lens[f] < sizeof(fields[0]) - 1) {
            fields[f][lens[f]++] = (char)data[i];
        }
    }
    for (size_t k = 0; k < 7; k++) {
        fields[k][lens[k]] = '\0';
    }
    memset(&m, 0, sizeof(m));
    m.from.name = fields[0];
    m.from.address = "nas@example.com";
    to.name = fields[0];
    m.to = &to;
    m.to_count = 1;
    m.subject = fields[1];
    h.value = fields[2];
    m.headers = &h;
    m.header_count = 1;
    m.text = (const uint8_t *)fields[3];
    m.text_len = lens[3];
    if (opt & 4u) {
        m.html = (const uint8_t *)fields[4];
        m.html_len = lens[4];
    }
    blob.p = (const uint8_t *)fields[6];
    blob.n = lens[6];
    blob.pos = 0;
    att.filename = fields[5];
    att.content_type = NULL;
    att.read = read_blob;
    att.read_ctx = &blob;
    if (lens[5] > 0) {
        m.attachments = &att;
        m.attachment_count = 1;
    }
    m.allow_8bit = (opt & 1u) != 0;
    m.allow_utf8_headers = (opt & 2u) != 0;
    m.date = 1795600000;

    if (postie_mime_init(&w, &m) != POSTIE_OK) {
        if (postie_mime_error(&w)->status == POSTIE_OK || postie_mime_error(&w)->subject[0] == 0) {
            abort(); /* a refusal must say why and where */
        }
        return 0;
    }
    cap = 1u + (opt >> 3) * 37u;
    for (int guard = 0; guard < 1000000; guard++) {
        if (postie_mime_read(&w, out + total, cap, &got) != POSTIE_OK) {
            abort(); /* the in-memory reader never fails */
        }
        if (got == 0) {
            break;
        }
        total += got;
        if (total + cap > sizeof(out)) {
            abort(); /* bounded input cannot make unbounded output */
        }
    }
    /* wire rules */
    {
        size_t line_start = 0;
        bool in_headers = true;
        for (size_t i = 0; i < total; i++) {
            uint8_t c = out[i];
            if (c == 0) {
                abort();
            }
            if (c == '\r') {
                if (i + 1 >= total || out[i + 1] != '\n') {
                    abort();
                }
                if (i - line_start > 998) {
                    abort();
                }
                if (in_headers && i == line_start) {
                    in_headers = false;
                } else if (in_headers && out[line_start] != ' ') {
                    bool known = false;
                    for (size_t k = 0; k < sizeof(allowed_fields) / sizeof(allowed_fields[0]);
                         k++) {
                        size_t n = strlen(allowed_fields[k]);
                        known = known || (i - line_start >= n &&
                                          memcmp(out + line_start, allowed_fields[k], n) == 0);
                    }
                    if (!known) {
                        abort(); /* a header field nobody asked for: injection */
                    }
                }
                i++;
                line_start = i + 1;
                continue;
            }
            if (c == '\n') {
                abort(); /* bare LF */
            }
            if (in_headers && c >= 0x80 && !m.allow_utf8_headers) {
                abort();
            }
        }
        if (total == 0 || out[total - 1] != '\n') {
            abort();
        }
    }
    return 0;
}
