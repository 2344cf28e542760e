/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/line.h"

#include <string.h>

void postie_line_init(postie_line_reader_t *r, uint8_t *buf, size_t cap, size_t line_max)
{
    r->buf = buf;
    r->cap = cap;
    r->line_max = line_max < cap ? line_max : cap;
    if (r->line_max < 2) {
        r->line_max = 2; /* room for CRLF at least; the limit math needs it */
    }
    r->why = "";
    postie_line_reset(r);
}

void postie_line_reset(postie_line_reader_t *r)
{
    r->start = 0;
    r->len = 0;
    r->scan = 0;
}

uint8_t *postie_line_rx_window(postie_line_reader_t *r, size_t *avail)
{
    if (r->start > 0) {
        size_t keep = r->len - r->start;
        memmove(r->buf, r->buf + r->start, keep);
        r->scan -= r->start;
        r->len = keep;
        r->start = 0;
    }
    *avail = r->cap - r->len;
    return r->buf + r->len;
}

void postie_line_rx_commit(postie_line_reader_t *r, size_t n)
{
    if (n > r->cap - r->len) {
        n = r->cap - r->len; /* a driver bug; never overrun the buffer */
    }
    r->len += n;
}

/* Find the end of the line that starts at r->start. With parts allowed,
 * a line that reaches line_max comes out in pieces. */
static postie_status_t next_line(postie_line_reader_t *r, bool parts, const char **line,
                                 size_t *len, bool *complete)
{
    size_t i = r->scan;

    while (i < r->len) {
        uint8_t c = r->buf[i];
        if (c == '\r') {
            if (i + 1 >= r->len) {
                break; /* wait for the LF */
            }
            if (r->buf[i + 1] != '\n') {
                r->why = "bare CR in reply line";
                return POSTIE_E_REPLY_MALFORMED;
            }
            *line = (const char *)r->buf + r->start;
            *len = i - r->start;
            *complete = true;
            r->start = i + 2;
            r->scan = r->start;
            return POSTIE_OK;
        }
        if (c == '\n') {
            r->why = "bare LF in reply line (lines must end in CRLF)";
            return POSTIE_E_REPLY_MALFORMED;
        }
        if (c == '\0') {
            r->why = "NUL octet in reply line";
            return POSTIE_E_REPLY_MALFORMED;
        }
        i++;
        if (i - r->start > r->line_max - 2) { /* no room left for the CRLF */
            if (parts) {
                break;
            }
            r->why = "reply line exceeds the line limit";
            return POSTIE_E_REPLY_LINE_TOO_LONG;
        }
    }
    r->scan = i;
    if (r->len - r->start >= r->line_max || (parts && i - r->start > r->line_max - 2)) {
        if (parts && i > r->start) {
            /* everything scanned so far: never a CR waiting for its LF */
            *line = (const char *)r->buf + r->start;
            *len = i - r->start;
            *complete = false;
            r->start = i;
            return POSTIE_OK;
        }
        if (!parts) {
            r->why = "reply line exceeds the line limit";
            return POSTIE_E_REPLY_LINE_TOO_LONG;
        }
    }
    return POSTIE_E_AGAIN;
}

postie_status_t postie_line_next(postie_line_reader_t *r, const char **line, size_t *len)
{
    bool complete;
    return next_line(r, false, line, len, &complete);
}

postie_status_t postie_line_next_part(postie_line_reader_t *r, const char **part, size_t *len,
                                      bool *complete)
{
    return next_line(r, true, part, len, complete);
}

postie_status_t postie_line_take(postie_line_reader_t *r, size_t max, const uint8_t **data,
                                 size_t *len)
{
    size_t n = r->len - r->start;
    if (n > max) {
        n = max;
    }
    if (n == 0) {
        return POSTIE_E_AGAIN;
    }
    *data = r->buf + r->start;
    *len = n;
    r->start += n;
    if (r->scan < r->start) {
        r->scan = r->start;
    }
    return POSTIE_OK;
}
