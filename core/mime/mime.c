/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message writer. See postie/mime/mime.h for the contract.
 *
 * Shape: a step machine. Each call of make_unit() writes one small unit into
 * the stage (a header token with its separator or fold, a boundary line and
 * part headers, or a slice of an encoded body); postie_mime_read() copies
 * the stage out and asks for the next unit. So the writer's memory is the
 * stage and the attachment read buffer, whatever the message's size.
 */
#include "postie/mime/mime.h"

#include <string.h>

#include "postie/common/address.h"
#include "postie/common/text.h"

#define LINE_WIDTH      78u  /* RFC 5322 2.1.1: fold header lines at 78 columns */
#define LINE_HARD_MAX   998u /* RFC 5322 2.1.1: no line longer than 998 octets */
#define LONG_WORD       900u /* ASCII words longer than this force encoded words */
#define BODY_SLICE_ROOM 64u  /* leave this much of the stage for a body encoder's finish */

/* How a header field's text is written. */
enum { TOK_ATOMS, TOK_QUOTED, TOK_ENCODED, TOK_RAW };

/* ---- small helpers ------------------------------------------------------ */

static bool ascii_ieq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 'a' + 'A') : *a;
        char y = *b >= 'a' && *b <= 'z' ? (char)(*b - 'a' + 'A') : *b;
        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
}

static bool is_atext(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool has_non_ascii(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x80) {
            return true;
        }
    }
    return false;
}

static bool contains(const uint8_t *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        if (memcmp(s + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

static void set_error(postie_mime_writer_t *w, postie_status_t st, const char *field, size_t index,
                      bool indexed, const char *what)
{
    char buf[96];
    size_t n = 0;
    size_t flen = strlen(field);

    postie_error_clear(&w->error);
    w->error.status = st;
    w->error.phase = "composing the message";
    if (flen > 40) {
        flen = 40;
    }
    memcpy(buf, field, flen);
    n = flen;
    if (indexed) {
        buf[n++] = '[';
        n += postie_text_format_u64(index, buf + n);
        buf[n++] = ']';
    }
    if (what != NULL) {
        size_t wlen = strlen(what);
        if (wlen > sizeof(buf) - n - 1) {
            wlen = sizeof(buf) - n - 1;
        }
        memcpy(buf + n, what, wlen);
        n += wlen;
    }
    postie_text_copy_printable(w->error.subject, sizeof(w->error.subject), buf, n);
    w->step = POSTIE_MIME_STEP_FAILED;
}

/* "text body at octet 12" */
static void set_error_at(postie_mime_writer_t *w, postie_status_t st, const char *field,
                         size_t offset)
{
    char what[16 + POSTIE_TEXT_U64_DIGITS];
    size_t n = 15;
    memcpy(what, " body at octet ", 15);
    n += postie_text_format_u64(offset, what + n);
    what[n] = '\0';
    set_error(w, st, field, 0, false, what);
}

/* ---- checking the message ------------------------------------------------- */

/* A header text: valid UTF-8, no control character (tab allowed in
 * unstructured text), at most max octets. */
static postie_status_t check_text(const char *s, size_t max, bool allow_tab)
{
    size_t n = strlen(s);
    if (n > max) {
        return POSTIE_E_FIELD_TOO_LONG;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f) {
            return POSTIE_E_FIELD_INVALID;
        }
    }
    if (!postie_utf8_valid((const uint8_t *)s, n, NULL)) {
        return POSTIE_E_UTF8_INVALID;
    }
    return POSTIE_OK;
}

static postie_status_t check_mailbox(postie_mime_writer_t *w, const postie_mailbox_t *m,
                                     const char *field, size_t index, bool indexed)
{
    bool non_ascii = false;
    postie_status_t st;

    if (m->address == NULL) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT, field, index, indexed, ".address missing");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    st = postie_address_check(m->address, false, &non_ascii);
    if (st == POSTIE_OK && non_ascii && !w->msg->allow_utf8_headers) {
        st = POSTIE_E_ADDRESS_NEEDS_SMTPUTF8;
    }
    if (st != POSTIE_OK) {
        set_error(w, st, field, index, indexed, ".address");
        return st;
    }
    if (non_ascii) {
        w->needs_smtputf8 = true;
    }
    if (m->name != NULL) {
        st = check_text(m->name, POSTIE_MIME_FIELD_MAX, false);
        if (st != POSTIE_OK) {
            set_error(w, st, field, index, indexed, ".name");
            return st;
        }
        if (w->msg->allow_utf8_headers &&
            has_non_ascii((const uint8_t *)m->name, strlen(m->name))) {
            w->needs_smtputf8 = true;
        }
    }
    return POSTIE_OK;
}

static postie_status_t check_list(postie_mime_writer_t *w, const postie_mailbox_t *list, size_t n,
                                  const char *field)
{
    if (n > 0 && list == NULL) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT, field, 0, false, " list missing");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        postie_status_t st = check_mailbox(w, &list[i], field, i, true);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    return POSTIE_OK;
}

static const char *const reserved_headers[] = {
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
};

static postie_status_t check_header(postie_mime_writer_t *w, const postie_header_t *h, size_t i)
{
    size_t n;
    postie_status_t st;

    if (h->name == NULL || h->value == NULL) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT, "headers", i, true, " name or value missing");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    n = strlen(h->name);
    if (n == 0 || n > 76) {
        set_error(w, POSTIE_E_HEADER_NAME_INVALID, "headers", i, true, ".name");
        return POSTIE_E_HEADER_NAME_INVALID;
    }
    for (size_t k = 0; k < n; k++) {
        uint8_t c = (uint8_t)h->name[k];
        if (c < 33 || c > 126 || c == ':') {
            set_error(w, POSTIE_E_HEADER_NAME_INVALID, "headers", i, true, ".name");
            return POSTIE_E_HEADER_NAME_INVALID;
        }
    }
    for (size_t k = 0; k < sizeof(reserved_headers) / sizeof(reserved_headers[0]); k++) {
        if (ascii_ieq(h->name, reserved_headers[k])) {
            set_error(w, POSTIE_E_HEADER_RESERVED, "headers", i, true, ".name");
            return POSTIE_E_HEADER_RESERVED;
        }
    }
    st = check_text(h->value, POSTIE_MIME_FIELD_MAX, true);
    if (st != POSTIE_OK) {
        set_error(w, st, "headers", i, true, ".value");
        return st;
    }
    return POSTIE_OK;
}

/* Scan a text body: valid UTF-8, no NUL; choose its transfer encoding. */
static postie_status_t check_body(postie_mime_writer_t *w, const uint8_t *s, size_t n,
                                  const char *field, postie_cte_t *cte)
{
    size_t bad = 0;
    size_t line = 0;
    size_t longest = 0;
    bool eight = false;

    if (s == NULL && n > 0) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT, field, 0, false, " missing");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == 0) {
            set_error_at(w, POSTIE_E_BODY_NUL, field, i);
            return POSTIE_E_BODY_NUL;
        }
        if (c == '\r' || c == '\n') {
            line = 0;
            continue;
        }
        eight = eight || c >= 0x80;
        if (++line > longest) {
            longest = line;
        }
    }
    if (n > 0 && !postie_utf8_valid(s, n, &bad)) {
        set_error_at(w, POSTIE_E_UTF8_INVALID, field, bad);
        return POSTIE_E_UTF8_INVALID;
    }
    /* Text holding our boundary prefix goes quoted-printable, which cannot
     * contain "=_" and so can never end a part early. */
    if (longest > LINE_HARD_MAX || contains(s, n, "=_postie_")) {
        *cte = POSTIE_CTE_QUOTED_PRINTABLE;
    } else if (!eight) {
        *cte = POSTIE_CTE_7BIT;
    } else if (w->msg->allow_8bit) {
        *cte = POSTIE_CTE_8BIT;
        w->needs_8bit = true;
    } else {
        *cte = POSTIE_CTE_QUOTED_PRINTABLE;
    }
    return POSTIE_OK;
}

static void make_boundary(char *out, const uint8_t *entropy, size_t from, char kind)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    memcpy(out, "=_postie_", 9);
    n = 9;
    out[n++] = kind;
    out[n++] = '_';
    for (size_t i = from; i < from + 8; i++) {
        out[n++] = hex[entropy[i % 16] >> 4];
        out[n++] = hex[entropy[i % 16] & 15];
    }
    out[n] = '\0';
}

/* The domain for the Message-ID: configured, or the From address's. */
static const char *id_domain(const postie_message_t *m, size_t *len)
{
    const char *d = m->message_id_domain;
    if (d == NULL) {
        const char *at = strrchr(m->from.address, '@');
        d = at != NULL ? at + 1 : "";
    }
    *len = strlen(d);
    return d;
}

static bool dot_atom_domain(const char *d, size_t n)
{
    if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.')) {
            return false;
        }
    }
    return true;
}

/* Room a part's delimiter line takes before its headers ("\r\n--", the
 * boundary, "\r\n") and the blank line after them. */
#define PART_DELIMITER_ROOM (sizeof(((postie_mime_writer_t *)0)->boundary_mixed) + 8u)

static void put_attachment_headers(postie_mime_writer_t *w, const postie_attachment_t *a);

postie_status_t postie_mime_init(postie_mime_writer_t *w, const postie_message_t *msg)
{
    postie_status_t st;
    const postie_message_t *m = msg;
    size_t dlen;
    const char *dom;

    memset(w, 0, sizeof(*w));
    w->msg = msg;
    postie_error_clear(&w->error);
    w->step = POSTIE_MIME_STEP_DATE;

    if ((st = check_mailbox(w, &m->from, "from", 0, false)) != POSTIE_OK) {
        return st;
    }
    if (m->sender.address != NULL &&
        (st = check_mailbox(w, &m->sender, "sender", 0, false)) != POSTIE_OK) {
        return st;
    }
    if ((st = check_list(w, m->to, m->to_count, "to")) != POSTIE_OK ||
        (st = check_list(w, m->cc, m->cc_count, "cc")) != POSTIE_OK ||
        (st = check_list(w, m->reply_to, m->reply_to_count, "reply_to")) != POSTIE_OK) {
        return st;
    }
    if (m->subject != NULL) {
        st = check_text(m->subject, POSTIE_MIME_SUBJECT_MAX, true);
        if (st != POSTIE_OK) {
            set_error(w, st, "subject", 0, false, NULL);
            return st;
        }
        if (m->allow_utf8_headers &&
            has_non_ascii((const uint8_t *)m->subject, strlen(m->subject))) {
            w->needs_smtputf8 = true;
        }
    }
    if (m->utc_offset_min < -1439 || m->utc_offset_min > 1439) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT, "utc_offset_min", 0, false, NULL);
        return POSTIE_E_INVALID_ARGUMENT;
    }
    dom = id_domain(m, &dlen);
    if (!dot_atom_domain(dom, dlen)) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT,
                  m->message_id_domain != NULL ? "message_id_domain" : "from", 0, false,
                  m->message_id_domain != NULL ? NULL : ".address domain unusable for Message-ID");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (m->header_count > 0 && m->headers == NULL) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT, "headers", 0, false, " list missing");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < m->header_count; i++) {
        if ((st = check_header(w, &m->headers[i], i)) != POSTIE_OK) {
            return st;
        }
        if (m->allow_utf8_headers &&
            has_non_ascii((const uint8_t *)m->headers[i].value, strlen(m->headers[i].value))) {
            w->needs_smtputf8 = true;
        }
    }
    if ((st = check_body(w, m->text, m->text_len, "text", &w->text_cte)) != POSTIE_OK) {
        return st;
    }
    if (m->html != NULL &&
        (st = check_body(w, m->html, m->html_len, "html", &w->html_cte)) != POSTIE_OK) {
        return st;
    }
    if (m->attachment_count > 0 && m->attachments == NULL) {
        set_error(w, POSTIE_E_INVALID_ARGUMENT, "attachments", 0, false, " list missing");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < m->attachment_count; i++) {
        const postie_attachment_t *a = &m->attachments[i];
        bool too_long;
        if (a->filename == NULL || a->read == NULL || a->filename[0] == '\0') {
            set_error(w, POSTIE_E_INVALID_ARGUMENT, "attachments", i, true,
                      " needs a file name and a reader");
            return POSTIE_E_INVALID_ARGUMENT;
        }
        st = check_text(a->filename, POSTIE_MIME_FIELD_MAX, false);
        if (st == POSTIE_OK && (strchr(a->filename, '/') || strchr(a->filename, '\\'))) {
            st = POSTIE_E_FIELD_INVALID; /* a name, not a path */
        }
        if (st != POSTIE_OK) {
            set_error(w, st, "attachments", i, true, ".filename");
            return st;
        }
        if (a->content_type != NULL) {
            size_t n = strlen(a->content_type);
            bool ok = n > 2 && n < 128 && strchr(a->content_type, '/') != NULL;
            for (size_t k = 0; ok && k < n; k++) {
                uint8_t c = (uint8_t)a->content_type[k];
                ok = c > 32 && c < 127 && c != ';' && c != '"';
            }
            if (!ok) {
                set_error(w, POSTIE_E_FIELD_INVALID, "attachments", i, true, ".content_type");
                return POSTIE_E_FIELD_INVALID;
            }
        }
        /* The part's header lines, with the delimiter line before them, must
         * fit the stage: a file name RFC 2231 has to percent-encode can
         * triple in size. Written once here to measure, never sent. */
        postie_text_init(&w->out, (char *)w->stage, sizeof(w->stage) - PART_DELIMITER_ROOM);
        put_attachment_headers(w, a);
        too_long = w->out.overflow;
        postie_text_init(&w->out, (char *)w->stage, sizeof(w->stage)); /* nothing staged */
        if (w->error.status != POSTIE_OK) {
            return w->error.status;
        }
        if (too_long) {
            set_error(w, POSTIE_E_FIELD_TOO_LONG, "attachments", i, true,
                      ".filename (too long once encoded for the header)");
            return POSTIE_E_FIELD_TOO_LONG;
        }
    }
    w->multipart_alternative = m->html != NULL && m->text != NULL;
    w->multipart_mixed = m->attachment_count > 0;
    make_boundary(w->boundary_mixed, m->entropy, 0, 'm');
    make_boundary(w->boundary_alt, m->entropy, 8, 'a');
    return POSTIE_OK;
}

bool postie_mime_needs_8bit(const postie_mime_writer_t *w)
{
    return w->needs_8bit;
}

bool postie_mime_needs_smtputf8(const postie_mime_writer_t *w)
{
    return w->needs_smtputf8;
}

const postie_error_t *postie_mime_error(const postie_mime_writer_t *w)
{
    return &w->error;
}

/* ---- Date --------------------------------------------------------------- */

/* Seconds from 0000-01-01 00:00:00 to the epoch (proleptic Gregorian), and
 * the last second of 9999: RFC 5322 dates have four-digit years. */
#define DATE_YEAR0_TO_EPOCH 62167219200
#define DATE_LAST           253402300799

/* All in 32-bit arithmetic after one 64-bit range check: 64-bit division
 * would link libgcc's on 32-bit targets (about 0.9 KiB on a Cortex-M4). */
size_t postie_mime_format_date(int64_t t, int16_t utc_offset_min, char *out)
{
    static const char days[] = "ThuFriSatSunMonTueWed"; /* 1970-01-01 was a Thursday */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t zone = (int64_t)utc_offset_min * 60;
    int64_t local;
    uint64_t u;
    uint32_t q, d0, secs, zz, era, doe, yoe, doy, mp, day, month, year;
    unsigned off = (unsigned)(utc_offset_min < 0 ? -utc_offset_min : utc_offset_min);
    size_t n = 0;
    char num[4];

    /* outside the years 0000..9999 in that zone: the epoch, in that zone,
     * rather than a made-up year (t is compared before adding the zone, so
     * nothing overflows) */
    if (t < -DATE_YEAR0_TO_EPOCH - 86400 || t > DATE_LAST + 86400 ||
        t + zone < -DATE_YEAR0_TO_EPOCH || t + zone > DATE_LAST) {
        local = zone;
    } else {
        local = t + zone;
    }
    /* seconds since 0000-01-01, below 2^39: days and seconds of the day by
     * 86400 = 128 * 675, the quotient by 128 fitting 32 bits */
    u = (uint64_t)(local + DATE_YEAR0_TO_EPOCH);
    q = (uint32_t)(u >> 7);
    d0 = q / 675u;
    secs = (q % 675u) * 128u + (uint32_t)(u & 127u);
    /* civil date from the day count, counted from -0400-03-01 so that
     * everything stays unsigned (year 0 is a leap year: March 1st is day 60) */
    zz = d0 + 146097u - 60u;
    era = zz / 146097u;
    doe = zz - era * 146097u;
    yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    mp = (5u * doy + 2u) / 153u;
    day = doy - (153u * mp + 2u) / 5u + 1u;
    month = mp < 10u ? mp + 3u : mp - 9u;
    year = yoe + era * 400u + (month <= 2u ? 1u : 0u) - 400u;

    /* 1970-01-01 is day 719528, 5 more than a multiple of 7 */
    memcpy(out + n, days + ((d0 + 2u) % 7u) * 3u, 3);
    n += 3;
    memcpy(out + n, ", ", 2);
    n += 2;
    out[n++] = (char)('0' + day / 10u);
    out[n++] = (char)('0' + day % 10u);
    out[n++] = ' ';
    memcpy(out + n, months + (month - 1u) * 3u, 3);
    n += 3;
    out[n++] = ' ';
    for (int i = 3; i >= 0; i--) {
        num[i] = (char)('0' + year % 10u);
        year /= 10u;
    }
    memcpy(out + n, num, 4);
    n += 4;
    out[n++] = ' ';
    out[n++] = (char)('0' + secs / 36000u);
    out[n++] = (char)('0' + (secs / 3600u) % 10u);
    out[n++] = ':';
    out[n++] = (char)('0' + (secs / 600u) % 6u);
    out[n++] = (char)('0' + (secs / 60u) % 10u);
    out[n++] = ':';
    out[n++] = (char)('0' + (secs % 60u) / 10u);
    out[n++] = (char)('0' + secs % 10u);
    out[n++] = ' ';
    out[n++] = utc_offset_min < 0 ? '-' : '+';
    out[n++] = (char)('0' + (off / 60u) / 10u);
    out[n++] = (char)('0' + (off / 60u) % 10u);
    out[n++] = (char)('0' + (off % 60u) / 10u);
    out[n++] = (char)('0' + (off % 60u) % 10u);
    out[n] = '\0';
    return n;
}

/* ---- header tokens and folding -------------------------------------------- */

static void start_field(postie_mime_writer_t *w, const char *name)
{
    postie_text_put(&w->out, name);
    postie_text_put(&w->out, ":");
    w->col = strlen(name) + 1;
    w->sub = 1;
}

/* Put a token, preceded by a space or, when it would pass 78 columns and
 * the line already holds a token, by a fold. */
static void put_token(postie_mime_writer_t *w, const char *tok, size_t len, bool first)
{
    if (!first && w->col + 1 + len > LINE_WIDTH) {
        postie_text_put(&w->out, "\r\n ");
        w->col = 1;
    } else {
        postie_text_put(&w->out, " ");
        w->col += 1;
    }
    postie_text_put_n(&w->out, tok, len);
    w->col += len;
}

static void end_field(postie_mime_writer_t *w)
{
    postie_text_put(&w->out, "\r\n");
    w->col = 0;
    w->sub = 0;
}

/* Set up the token source for an unstructured text (subject, header value). */
static void begin_unstructured(postie_mime_writer_t *w, const char *text)
{
    postie_mime_tokens_t *t = &w->tokens;
    size_t n = strlen(text);
    size_t word = 0;
    bool long_word = false;

    for (size_t i = 0; i <= n; i++) {
        if (i == n || text[i] == ' ') {
            long_word = long_word || word > LONG_WORD;
            word = 0;
        } else {
            word++;
        }
    }
    t->text = (const uint8_t *)text;
    t->len = n;
    t->pos = 0;
    if (has_non_ascii(t->text, n) && w->msg->allow_utf8_headers && !long_word) {
        t->how = TOK_RAW;
    } else if (has_non_ascii(t->text, n) || contains(t->text, n, "=?") || long_word ||
               strchr(text, '\t') != NULL) {
        t->how = TOK_ENCODED;
        t->enc = postie_mime_ew_choose(t->text, n);
    } else {
        t->how = TOK_ATOMS;
    }
}

/* Set up the token source for a display name (RFC 5322 phrase). */
static void begin_phrase(postie_mime_writer_t *w, const char *name)
{
    postie_mime_tokens_t *t = &w->tokens;
    size_t n = strlen(name);
    bool atoms = n > 0 && name[0] != ' ' && name[n - 1] != ' ';

    t->text = (const uint8_t *)name;
    t->len = n;
    t->pos = 0;
    for (size_t i = 0; i < n && atoms; i++) {
        uint8_t c = (uint8_t)name[i];
        atoms = is_atext(c) || (c == ' ' && name[i + 1] != ' ') ||
                (c >= 0x80 && w->msg->allow_utf8_headers);
    }
    /* "=?" could be taken for an encoded word (some decoders look even
     * inside quoted strings): encode the name so it reads back literally */
    if ((has_non_ascii(t->text, n) && !w->msg->allow_utf8_headers) || contains(t->text, n, "=?")) {
        t->how = TOK_ENCODED;
        t->enc = postie_mime_ew_choose(t->text, n);
    } else {
        t->how = atoms ? (uint8_t)TOK_ATOMS : (uint8_t)TOK_QUOTED;
    }
}

/* Write the next token of the current source; false when none is left. */
static bool next_token(postie_mime_writer_t *w, bool first)
{
    postie_mime_tokens_t *t = &w->tokens;
    char word[POSTIE_MIME_EW_MAX + 1];

    if (t->how == TOK_QUOTED ? t->pos > t->len : t->pos >= t->len) {
        return false; /* a quoted string is one token: done once pos passed the end */
    }
    switch (t->how) {
    case TOK_ATOMS:
    case TOK_RAW: {
        size_t end = t->pos;
        while (end < t->len && t->text[end] != ' ') {
            end++;
        }
        put_token(w, (const char *)t->text + t->pos, end - t->pos, first);
        t->pos = end < t->len ? end + 1 : end;
        return true;
    }
    case TOK_QUOTED: {
        /* one token; fits the stage (FIELD_MAX is checked against it) */
        size_t need = 2;
        for (size_t i = 0; i < t->len; i++) {
            need += (t->text[i] == '"' || t->text[i] == '\\') ? 2u : 1u;
        }
        if (!first && w->col + 1 + need > LINE_WIDTH) {
            postie_text_put(&w->out, "\r\n ");
            w->col = 1;
        } else {
            postie_text_put(&w->out, " ");
            w->col += 1;
        }
        postie_text_put(&w->out, "\"");
        for (size_t i = 0; i < t->len; i++) {
            if (t->text[i] == '"' || t->text[i] == '\\') {
                postie_text_put(&w->out, "\\");
            }
            postie_text_put_n(&w->out, &t->text[i], 1);
        }
        postie_text_put(&w->out, "\"");
        w->col += need;
        t->pos = t->len + 1;
        return true;
    }
    default: {
        size_t room = w->col + 1 < LINE_WIDTH ? LINE_WIDTH - w->col - 1 : 0;
        size_t len = 0;
        size_t at = t->pos;
        if (room > POSTIE_MIME_EW_MAX) {
            room = POSTIE_MIME_EW_MAX;
        }
        if (room >= 12) {
            len = postie_mime_ew_word(t->text, t->len, &t->pos, t->enc, room, word);
        }
        if (len == 0) {
            t->pos = at;
            len = postie_mime_ew_word(t->text, t->len, &t->pos, t->enc, POSTIE_MIME_EW_MAX, word);
            if (len == 0) {
                set_error(w, POSTIE_E_FIELD_INVALID, "encoded word", 0, false, NULL);
                return false;
            }
            postie_text_put(&w->out, "\r\n ");
            w->col = 1;
            postie_text_put_n(&w->out, word, len);
            w->col += len;
            return true;
        }
        postie_text_put(&w->out, " ");
        postie_text_put_n(&w->out, word, len);
        w->col += 1 + len;
        return true;
    }
    }
}

/* One unit of an address field. Returns true when the field is complete. */
static bool mailbox_field(postie_mime_writer_t *w, const char *field, const postie_mailbox_t *list,
                          size_t n)
{
    const postie_mailbox_t *m;
    bool named;

    if (w->sub == 0) {
        start_field(w, field);
        w->index = 0;
        m = &list[0];
        named = m->name != NULL && m->name[0] != '\0';
        if (named) {
            begin_phrase(w, m->name);
        }
        w->sub = named ? 2 : 3;
        return false;
    }
    m = &list[w->index];
    if (w->sub == 2) {
        bool first = w->tokens.pos == 0 && w->index == 0;
        if (next_token(w, first)) {
            return false;
        }
        w->sub = 3;
    }
    /* the address, with the list comma glued to it */
    {
        char tok[2 * POSTIE_MIME_FIELD_MAX];
        size_t alen = strlen(m->address);
        size_t k = 0;
        named = m->name != NULL && m->name[0] != '\0';
        if (named) {
            tok[k++] = '<';
        }
        memcpy(tok + k, m->address, alen);
        k += alen;
        if (named) {
            tok[k++] = '>';
        }
        if (w->index + 1 < n) {
            tok[k++] = ',';
        }
        put_token(w, tok, k, !named && w->index == 0);
    }
    w->index++;
    if (w->index == n) {
        end_field(w);
        return true;
    }
    m = &list[w->index];
    named = m->name != NULL && m->name[0] != '\0';
    if (named) {
        begin_phrase(w, m->name);
        w->sub = 2;
    } else {
        w->sub = 3;
    }
    return false;
}

/* One unit of an unstructured field. Returns true when complete. */
static bool text_field(postie_mime_writer_t *w, const char *field, const char *value)
{
    if (w->sub == 0) {
        start_field(w, field);
        begin_unstructured(w, value);
        w->sub = 1;
        return false;
    }
    if (next_token(w, w->tokens.pos == 0)) {
        return false;
    }
    end_field(w);
    return true;
}

/* ---- parts ---------------------------------------------------------------- */

/* Parts in order: 0 text, 1 html, 2.. attachments. Which come first. */
static bool part_present(const postie_mime_writer_t *w, size_t part)
{
    const postie_message_t *m = w->msg;
    if (part == 0) {
        /* an empty text part when there is nothing else at all */
        return m->text != NULL || (m->html == NULL && m->attachment_count == 0);
    }
    if (part == 1) {
        return m->html != NULL;
    }
    return part - 2 < m->attachment_count;
}

static size_t next_part(const postie_mime_writer_t *w, size_t part)
{
    while (part < 2 + w->msg->attachment_count && !part_present(w, part)) {
        part++;
    }
    return part;
}

static const char *cte_name(postie_cte_t cte)
{
    switch (cte) {
    case POSTIE_CTE_8BIT:
        return "8bit";
    case POSTIE_CTE_QUOTED_PRINTABLE:
        return "quoted-printable";
    case POSTIE_CTE_BASE64:
        return "base64";
    default:
        return "7bit";
    }
}

static void put_boundary_param(postie_mime_writer_t *w, const char *type, const char *boundary)
{
    postie_text_put(&w->out, "Content-Type: ");
    postie_text_put(&w->out, type);
    postie_text_put(&w->out, ";\r\n boundary=\"");
    postie_text_put(&w->out, boundary);
    postie_text_put(&w->out, "\"\r\n");
}

/* An RFC 2231 or quoted parameter of Content-Disposition / Content-Type. */
static void put_filename_param(postie_mime_writer_t *w, const char *param, const char *name)
{
    size_t n = strlen(name);
    const uint8_t *u = (const uint8_t *)name;

    if (postie_mime_param_plain_ok(u, n)) {
        postie_text_put(&w->out, ";\r\n ");
        postie_text_put(&w->out, param);
        postie_text_put(&w->out, "=\"");
        for (size_t i = 0; i < n; i++) {
            if (name[i] == '"' || name[i] == '\\') {
                postie_text_put(&w->out, "\\");
            }
            postie_text_put_n(&w->out, name + i, 1);
        }
        postie_text_put(&w->out, "\"");
        return;
    }
    /* RFC 2231 sections of at most 60 octets: " filename*12*=" + 60 + ";" < 78 */
    {
        size_t pos = 0;
        size_t section = 0;
        char piece[64];
        size_t first_len = postie_mime_param_ext_section(u, n, &pos, true, 60, piece);
        if (pos >= n) {
            postie_text_put(&w->out, ";\r\n ");
            postie_text_put(&w->out, param);
            postie_text_put(&w->out, "*=");
            postie_text_put_n(&w->out, piece, first_len);
            return;
        }
        pos = 0;
        while (pos < n && section < 99) {
            size_t len = postie_mime_param_ext_section(u, n, &pos, section == 0, 60, piece);
            if (len == 0) {
                set_error(w, POSTIE_E_FIELD_INVALID, param, 0, false, NULL);
                return;
            }
            postie_text_put(&w->out, ";\r\n ");
            postie_text_put(&w->out, param);
            postie_text_put(&w->out, "*");
            postie_text_put_u64(&w->out, section);
            postie_text_put(&w->out, "*=");
            postie_text_put_n(&w->out, piece, len);
            section++;
        }
    }
}

/* An attachment's Content-Type, Content-Disposition (with its file name,
 * RFC 2231-encoded when it must be) and Content-Transfer-Encoding lines. */
static void put_attachment_headers(postie_mime_writer_t *w, const postie_attachment_t *a)
{
    const char *type = a->content_type ? a->content_type : postie_mime_type_for(a->filename);
    postie_text_put(&w->out, "Content-Type: ");
    postie_text_put(&w->out, type);
    if (postie_mime_param_plain_ok((const uint8_t *)a->filename, strlen(a->filename))) {
        put_filename_param(w, "name", a->filename);
    }
    postie_text_put(&w->out, "\r\nContent-Disposition: attachment");
    put_filename_param(w, "filename", a->filename);
    postie_text_put(&w->out, "\r\nContent-Transfer-Encoding: base64\r\n");
}

/* Boundary line(s) and headers of a part, with the blank line after them. */
static void part_start(postie_mime_writer_t *w)
{
    size_t p = w->part;

    /* RFC 2046 5.1.1: the CRLF before a delimiter belongs to the delimiter,
     * so every delimiter after a part's body starts with one of its own and
     * the body keeps its last line break. */
    if (w->multipart_mixed && (p >= 2 || !w->multipart_alternative || p == 0)) {
        postie_text_put(&w->out, w->mixed_started ? "\r\n--" : "--");
        w->mixed_started = true;
        postie_text_put(&w->out, w->boundary_mixed);
        postie_text_put(&w->out, "\r\n");
        if (p == 0 && w->multipart_alternative) {
            put_boundary_param(w, "multipart/alternative", w->boundary_alt);
            postie_text_put(&w->out, "\r\n");
        }
    }
    if (w->multipart_alternative && p < 2) {
        postie_text_put(&w->out, p == 1 ? "\r\n--" : "--");
        postie_text_put(&w->out, w->boundary_alt);
        postie_text_put(&w->out, "\r\n");
    }
    if (p < 2) {
        postie_cte_t cte = p == 0 ? w->text_cte : w->html_cte;
        postie_text_put(&w->out, p == 0 ? "Content-Type: text/plain; charset=UTF-8\r\n"
                                        : "Content-Type: text/html; charset=UTF-8\r\n");
        postie_text_put(&w->out, "Content-Transfer-Encoding: ");
        postie_text_put(&w->out, cte_name(cte));
        postie_text_put(&w->out, "\r\n");
        if (cte == POSTIE_CTE_QUOTED_PRINTABLE) {
            postie_mime_qp_init(&w->qp);
        }
    } else {
        put_attachment_headers(w, &w->msg->attachments[p - 2]);
        postie_mime_b64_init(&w->b64);
        w->read_pos = w->read_len = 0;
        w->read_eof = false;
    }
    postie_text_put(&w->out, "\r\n"); /* blank line: end of the part's headers */
    w->body_pos = 0;
    w->body_cr = false;
    w->body_bol = true;
    w->body_any = false;
}

/* 7bit/8bit text: line ends to CRLF. Writes into the stage. */
static void copy_text(postie_mime_writer_t *w, const uint8_t *s, size_t n)
{
    size_t room = 0;
    char *out = postie_text_tail(&w->out, &room);
    size_t o = 0;

    while (w->body_pos < n && o + 2 <= room) {
        uint8_t c = s[w->body_pos];
        if (c == '\n' && w->body_cr) {
            w->body_cr = false;
            w->body_pos++;
            continue; /* the CRLF was written at the CR */
        }
        w->body_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            w->body_bol = true;
        } else {
            out[o++] = (char)c;
            w->body_bol = false;
        }
        w->body_pos++;
    }
    postie_text_advance(&w->out, o);
    w->body_any = w->body_any || o > 0;
}

/* An encoder wrote made octets at the stage's tail: count them in. */
static void body_made(postie_mime_writer_t *w, size_t made)
{
    postie_text_advance(&w->out, made);
    if (made > 0) {
        w->body_bol = w->stage[w->out.len - 1] == '\n';
        w->body_any = true;
    }
}

/* One slice of the current part's body into the stage. Returns true when
 * the body is complete (its last line ended). */
static bool part_body(postie_mime_writer_t *w)
{
    size_t p = w->part;
    size_t room = 0; /* all of it, for an encoder's finish */
    uint8_t *tail = (uint8_t *)postie_text_tail(&w->out, &room);
    size_t slice = room > BODY_SLICE_ROOM ? room - BODY_SLICE_ROOM : 0;

    if (p < 2) {
        const uint8_t *s = p == 0 ? w->msg->text : w->msg->html;
        size_t n = p == 0 ? w->msg->text_len : w->msg->html_len;
        postie_cte_t cte = p == 0 ? w->text_cte : w->html_cte;
        if (cte == POSTIE_CTE_QUOTED_PRINTABLE) {
            size_t used = 0;
            size_t made = 0;
            if (w->body_pos < n) {
                postie_mime_qp_encode(&w->qp, s + w->body_pos, n - w->body_pos, &used, tail, slice,
                                      &made);
                w->body_pos += used;
                body_made(w, made);
                return false;
            }
            if (postie_mime_qp_finish(&w->qp, tail, room, &made) == POSTIE_OK) {
                body_made(w, made);
            }
        } else if (w->body_pos < n) {
            copy_text(w, s, n);
            return false;
        }
    } else {
        const postie_attachment_t *a = &w->msg->attachments[p - 2];
        size_t made = 0;
        if (w->read_pos == w->read_len && !w->read_eof) {
            size_t got = 0;
            postie_status_t st = a->read(a->read_ctx, w->read_buf, sizeof(w->read_buf), &got);
            if (st == POSTIE_E_AGAIN) {
                w->waiting = true; /* postie_mime_read reports it */
                return false;
            }
            if (st != POSTIE_OK || got > sizeof(w->read_buf)) {
                set_error(w, POSTIE_E_SOURCE_FAILED, "attachments", p - 2, true, ".read");
                return false;
            }
            w->read_pos = 0;
            w->read_len = got;
            w->read_eof = got == 0;
        }
        if (w->read_pos < w->read_len) {
            size_t used = 0;
            postie_mime_b64_encode(&w->b64, w->read_buf + w->read_pos, w->read_len - w->read_pos,
                                   &used, tail, slice, &made);
            w->read_pos += used;
            body_made(w, made);
            return false;
        }
        if (!w->read_eof) {
            return false;
        }
        if (postie_mime_b64_finish(&w->b64, tail, room, &made) == POSTIE_OK) {
            body_made(w, made);
        }
    }
    if (!w->body_bol) {
        postie_text_put(&w->out, "\r\n"); /* every line ends in CRLF, the last one too */
    }
    return true;
}

/* ---- the step machine ------------------------------------------------------- */

/* Make the next unit into the (empty) stage. */
static void make_unit(postie_mime_writer_t *w)
{
    const postie_message_t *m = w->msg;

    switch (w->step) {
    case POSTIE_MIME_STEP_DATE: {
        char date[32];
        size_t n = postie_mime_format_date(m->date, m->utc_offset_min, date);
        postie_text_put(&w->out, "Date: ");
        postie_text_put_n(&w->out, date, n);
        postie_text_put(&w->out, "\r\n");
        w->step = POSTIE_MIME_STEP_FROM;
        break;
    }
    case POSTIE_MIME_STEP_FROM:
        if (mailbox_field(w, "From", &m->from, 1)) {
            w->step = POSTIE_MIME_STEP_SENDER;
        }
        break;
    case POSTIE_MIME_STEP_SENDER:
        if (m->sender.address == NULL || ascii_ieq(m->sender.address, m->from.address) ||
            mailbox_field(w, "Sender", &m->sender, 1)) {
            w->step = POSTIE_MIME_STEP_TO;
        }
        break;
    case POSTIE_MIME_STEP_TO:
        if (m->to_count == 0 || mailbox_field(w, "To", m->to, m->to_count)) {
            w->step = POSTIE_MIME_STEP_CC;
        }
        break;
    case POSTIE_MIME_STEP_CC:
        if (m->cc_count == 0 || mailbox_field(w, "Cc", m->cc, m->cc_count)) {
            w->step = POSTIE_MIME_STEP_REPLY_TO;
        }
        break;
    case POSTIE_MIME_STEP_REPLY_TO:
        if (m->reply_to_count == 0 ||
            mailbox_field(w, "Reply-To", m->reply_to, m->reply_to_count)) {
            w->step = POSTIE_MIME_STEP_SUBJECT;
        }
        break;
    case POSTIE_MIME_STEP_SUBJECT:
        if (m->subject == NULL || text_field(w, "Subject", m->subject)) {
            w->step = POSTIE_MIME_STEP_MESSAGE_ID;
            w->index = 0;
        }
        break;
    case POSTIE_MIME_STEP_MESSAGE_ID: {
        static const char hex[] = "0123456789abcdef";
        size_t dlen;
        const char *dom = id_domain(m, &dlen);
        postie_text_put(&w->out, "Message-ID: <");
        for (size_t i = 0; i < 16; i++) {
            char h[2] = {hex[m->entropy[i] >> 4], hex[m->entropy[i] & 15]};
            postie_text_put_n(&w->out, h, 2);
        }
        postie_text_put(&w->out, ".");
        postie_text_put_u64(&w->out, (uint64_t)(m->date < 0 ? 0 : m->date));
        postie_text_put(&w->out, "@");
        postie_text_put_n(&w->out, dom, dlen);
        postie_text_put(&w->out, ">\r\n");
        w->step = POSTIE_MIME_STEP_MIME_VERSION;
        break;
    }
    case POSTIE_MIME_STEP_MIME_VERSION:
        postie_text_put(&w->out, "MIME-Version: 1.0\r\n");
        w->step = POSTIE_MIME_STEP_EXTRA;
        w->index = 0;
        w->sub = 0;
        break;
    case POSTIE_MIME_STEP_EXTRA:
        if (w->index >= m->header_count) {
            w->step = POSTIE_MIME_STEP_TOP_CONTENT;
            break;
        }
        {
            size_t keep = w->index;
            if (text_field(w, m->headers[keep].name, m->headers[keep].value)) {
                w->index = keep + 1;
            }
        }
        break;
    case POSTIE_MIME_STEP_TOP_CONTENT:
        if (w->multipart_mixed) {
            put_boundary_param(w, "multipart/mixed", w->boundary_mixed);
            postie_text_put(&w->out, "\r\n");
        } else if (w->multipart_alternative) {
            put_boundary_param(w, "multipart/alternative", w->boundary_alt);
            postie_text_put(&w->out, "\r\n");
        }
        w->part = next_part(w, 0);
        w->step = POSTIE_MIME_STEP_PART_START;
        break;
    case POSTIE_MIME_STEP_PART_START:
        if (w->part >= 2 + m->attachment_count) {
            w->step = POSTIE_MIME_STEP_CLOSE;
            break;
        }
        part_start(w);
        w->step = POSTIE_MIME_STEP_PART_BODY;
        break;
    case POSTIE_MIME_STEP_PART_BODY:
        if (part_body(w)) {
            w->step = POSTIE_MIME_STEP_PART_END;
        }
        break;
    case POSTIE_MIME_STEP_PART_END:
        if (w->multipart_alternative && w->part == 1) {
            postie_text_put(&w->out, "\r\n--");
            postie_text_put(&w->out, w->boundary_alt);
            postie_text_put(&w->out, "--\r\n");
        }
        w->part = next_part(w, w->part + 1);
        w->step = POSTIE_MIME_STEP_PART_START;
        break;
    case POSTIE_MIME_STEP_CLOSE:
        if (w->multipart_mixed) {
            postie_text_put(&w->out, "\r\n--");
            postie_text_put(&w->out, w->boundary_mixed);
            postie_text_put(&w->out, "--\r\n");
        }
        w->step = POSTIE_MIME_STEP_DONE;
        break;
    default:
        break;
    }
}

postie_status_t postie_mime_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    postie_mime_writer_t *w = ctx;
    size_t produced = 0;

    *got = 0;
    for (int guard = 0; produced < cap && guard < 1000000; guard++) {
        if (w->stage_pos < w->out.len) {
            size_t n = w->out.len - w->stage_pos;
            if (n > cap - produced) {
                n = cap - produced;
            }
            memcpy(buf + produced, w->stage + w->stage_pos, n);
            produced += n;
            w->stage_pos += n;
            continue;
        }
        if (w->step == POSTIE_MIME_STEP_FAILED) {
            return w->error.status;
        }
        if (w->step == POSTIE_MIME_STEP_DONE) {
            break;
        }
        w->stage_pos = 0;
        postie_text_init(&w->out, (char *)w->stage, sizeof(w->stage));
        make_unit(w);
        if (w->out.overflow && w->step != POSTIE_MIME_STEP_FAILED) {
            /* the limits in config/ make this unreachable; fail loudly if not */
            set_error(w, POSTIE_E_NO_SPACE, "stage", 0, false, NULL);
        }
        if (w->step == POSTIE_MIME_STEP_FAILED) {
            return w->error.status;
        }
        if (w->waiting) {
            /* an attachment reader has nothing yet */
            w->waiting = false;
            if (produced == 0) {
                return POSTIE_E_AGAIN;
            }
            break;
        }
    }
    *got = produced;
    return POSTIE_OK;
}

/* ---- Content-Type by extension --------------------------------------------- */

const char *postie_mime_type_for(const char *filename)
{
    static const char *const table[][2] = {
        {"txt", "text/plain"},
        {"log", "text/plain"},
        {"csv", "text/csv"},
        {"htm", "text/html"},
        {"html", "text/html"},
        {"xml", "application/xml"},
        {"json", "application/json"},
        {"pdf", "application/pdf"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"tgz", "application/gzip"},
        {"tar", "application/x-tar"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"svg", "image/svg+xml"},
        {"webp", "image/webp"},
        {"bmp", "image/bmp"},
        {"ics", "text/calendar"},
        {"eml", "message/rfc822"},
        {"pcap", "application/vnd.tcpdump.pcap"},
        {"doc", "application/msword"},
        {"xls", "application/vnd.ms-excel"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"mp3", "audio/mpeg"},
        {"wav", "audio/wav"},
        {"mp4", "video/mp4"},
        {"bin", "application/octet-stream"},
    };
    const char *dot = filename != NULL ? strrchr(filename, '.') : NULL;
    if (dot == NULL || dot[1] == '\0') {
        return "application/octet-stream";
    }
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (ascii_ieq(dot + 1, table[i][0])) {
            return table[i][1];
        }
    }
    return "application/octet-stream";
}
