/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/smtp/smtp_reply.h"

#include <string.h>

#include "postie/common/text.h"
void postie_smtp_reply_init(postie_smtp_reply_t *r)
{
    r->code = 0;
    r->lines = 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of "class.subject.detail" (RFC 3463: class 2, 4 or 5 matching the
 * reply, 1-3 digits, 1-3 digits) at the start of s, or 0 when there is none. */
static size_t enhanced_code_len(const char *s, size_t n, char reply_class)
{
    size_t i = 0;
    if (reply_class == '3') {
        return 0; /* RFC 3463 has no class 3: a 3xx reply carries no enhanced code */
    }
    if (n < 5 || s[0] != reply_class || s[1] != '.') {
        return 0;
    }
    i = 2;
    for (int part = 0; part < 2; part++) {
        size_t digits = 0;
        while (i < n && is_digit(s[i]) && digits < 3) {
            i++;
            digits++;
        }
        if (digits == 0) {
            return 0;
        }
        if (part == 0) {
            if (i >= n || s[i] != '.') {
                return 0;
            }
            i++;
        }
    }
    if (i < n && s[i] != ' ') {
        return 0;
    }
    return i;
}

postie_status_t postie_smtp_reply_line(postie_smtp_reply_t *r, const char *line, size_t len,
                                       postie_smtp_line_t *out, const char **why)
{
    uint16_t code;

    if (len < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
        *why = "reply line does not start with a 3-digit code";
        return POSTIE_E_REPLY_MALFORMED;
    }
    if (line[0] < '2' || line[0] > '5' || line[1] > '5') {
        *why = "reply code outside 200-559";
        return POSTIE_E_REPLY_MALFORMED;
    }
    if (len > 3 && line[3] != ' ' && line[3] != '-') {
        *why = "reply code not followed by space or hyphen";
        return POSTIE_E_REPLY_MALFORMED;
    }
    code = (uint16_t)((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    if (r->code != 0 && code != r->code) {
        *why = "lines of one multi-line reply carry different codes";
        return POSTIE_E_REPLY_MALFORMED;
    }
    if (r->lines >= POSTIE_REPLY_LINES_MAX) {
        *why = "multi-line reply has too many lines";
        return POSTIE_E_REPLY_TOO_MANY_LINES;
    }

    out->code = code;
    out->first = (r->code == 0);
    out->last = (len == 3 || line[3] == ' ');
    out->text = len > 4 ? line + 4 : line + len;
    out->text_len = len > 4 ? len - 4 : 0;
    out->enhanced = NULL;
    out->enhanced_len = enhanced_code_len(out->text, out->text_len, line[0]);
    if (out->enhanced_len > 0) {
        out->enhanced = out->text;
        out->text += out->enhanced_len;
        out->text_len -= out->enhanced_len;
        if (out->text_len > 0) { /* the space after the code */
            out->text++;
            out->text_len--;
        }
    }

    if (out->last) {
        r->code = 0;
        r->lines = 0;
    } else {
        r->code = code;
        r->lines++;
    }
    return POSTIE_OK;
}

void postie_smtp_reply_info(postie_reply_info_t *info, const postie_smtp_line_t *line)
{
    info->code = line->code;
    postie_text_copy_printable(info->enhanced, sizeof(info->enhanced), line->enhanced,
                               line->enhanced ? line->enhanced_len : 0);
    postie_text_copy_printable(info->text, sizeof(info->text), line->text, line->text_len);
}
