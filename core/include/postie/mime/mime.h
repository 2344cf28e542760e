/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message writer: turns a description of a message (addresses,
 * subject, text, HTML, attachments) into RFC 5322 / MIME bytes, streamed in
 * pieces the caller asks for, never holding the whole message.
 *
 *   postie_mime_init(&w, &msg)      check every field; nothing is written
 *                                   when anything is wrong, and the error
 *                                   names the field
 *   postie_mime_read(&w, buf, cap, &got)
 *                                   the next bytes; got == 0 at the end.
 *                                   Same shape as the SMTP client's body
 *                                   reader, so the writer plugs straight in.
 *
 * Headers: Date, From, Sender (only when it differs from From), To, Cc,
 * Reply-To, Subject, Message-ID, MIME-Version, the caller's extra headers,
 * then the content headers. Bcc never appears: Bcc recipients belong in the
 * SMTP envelope only. Display names are written as atoms when they are
 * plain words, as a quoted string when they hold specials such as
 * parentheses, and as RFC 2047 encoded words (UTF-8, B or Q, whichever is
 * shorter) when they are not ASCII; the subject and extra header values
 * likewise. Header lines are folded at 78 columns.
 *
 * Body: text/plain; text/html as a multipart/alternative when given;
 * attachments in a multipart/mixed, base64 with 76-column lines, file names
 * in RFC 2231 form when not plain ASCII, Content-Type from the extension.
 * Each text part gets 7bit when it is ASCII with lines of at most 998
 * octets, 8bit when it is not ASCII and allow_8bit is set (the server
 * offers 8BITMIME), quoted-printable otherwise. Every line ends in CRLF.
 *
 * With allow_utf8_headers (the server offers SMTPUTF8 and the caller wants
 * it) non-ASCII header text and addresses go raw as UTF-8.
 *
 * RAM: sizeof(postie_mime_writer_t): POSTIE_MIME_STAGE_SIZE (header work
 * area) + POSTIE_MIME_READ_CHUNK (attachment read buffer) + about 200
 * octets. The caller keeps the message description and everything it
 * points to alive until the end.
 */
#ifndef POSTIE_MIME_H
#define POSTIE_MIME_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/mime/mime_encode.h"
#include "postie/common/status.h"
#include "postie/common/text.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name;    /* display name, UTF-8; NULL or "" for none */
    const char *address; /* one mailbox, e.g. "joe@example.com" (postie_address_check) */
} postie_mailbox_t;

typedef struct {
    const char *name;  /* field name: printable ASCII, no ':'; not one Postie writes */
    const char *value; /* UTF-8; encoded when not ASCII */
} postie_header_t;

typedef struct {
    const char *filename;     /* UTF-8 name shown to the reader (no directory) */
    const char *content_type; /* NULL: chosen from the file name's extension */
    postie_read_fn read;      /* the attachment's bytes */
    void *read_ctx;
} postie_attachment_t;

typedef struct {
    postie_mailbox_t from;   /* required */
    postie_mailbox_t sender; /* address NULL: none; written only when it differs from From */
    const postie_mailbox_t *to;
    size_t to_count;
    const postie_mailbox_t *cc;
    size_t cc_count;
    const postie_mailbox_t *reply_to;
    size_t reply_to_count;
    const char *subject;            /* UTF-8; NULL: no Subject header */
    int64_t date;                   /* seconds since 1970-01-01 UTC, from the port's clock */
    int16_t utc_offset_min;         /* the Date header's zone, -1439..1439 minutes */
    const char *message_id_domain;  /* NULL: the From address's domain */
    uint8_t entropy[16];            /* random octets from the port: Message-ID, boundaries */
    const postie_header_t *headers; /* extra header fields */
    size_t header_count;
    const uint8_t *text; /* text/plain body, UTF-8; NULL: none (empty when nothing else) */
    size_t text_len;
    const uint8_t *html; /* text/html body, UTF-8; NULL: none */
    size_t html_len;
    const postie_attachment_t *attachments;
    size_t attachment_count;
    bool allow_8bit;         /* the server offers 8BITMIME */
    bool allow_utf8_headers; /* the server offers SMTPUTF8 and raw UTF-8 headers are wanted */
} postie_message_t;

/* Internal steps of the writer. */
#define POSTIE_MIME_STEPS(X) \
    X(DATE)                  \
    X(FROM)                  \
    X(SENDER)                \
    X(TO)                    \
    X(CC)                    \
    X(REPLY_TO)              \
    X(SUBJECT)               \
    X(MESSAGE_ID)            \
    X(MIME_VERSION)          \
    X(EXTRA)                 \
    X(TOP_CONTENT)           \
    X(PART_START)            \
    X(PART_BODY)             \
    X(PART_END)              \
    X(CLOSE)                 \
    X(DONE)                  \
    X(FAILED)

typedef enum {
#define POSTIE_MIME_STEP_ENUM(name) POSTIE_MIME_STEP_##name,
    POSTIE_MIME_STEPS(POSTIE_MIME_STEP_ENUM)
#undef POSTIE_MIME_STEP_ENUM
} postie_mime_step_t;

typedef enum {
    POSTIE_CTE_7BIT,
    POSTIE_CTE_8BIT,
    POSTIE_CTE_QUOTED_PRINTABLE,
    POSTIE_CTE_BASE64
} postie_cte_t;

/* Where a header field's text comes from while it is written token by token. */
typedef struct {
    const uint8_t *text;
    size_t len;
    size_t pos;
    uint8_t how; /* internal: atoms, quoted string, encoded words, raw UTF-8 */
    postie_mime_ew_encoding_t enc;
} postie_mime_tokens_t;

/* The writer. Treat every field as private. */
typedef struct {
    const postie_message_t *msg;
    postie_error_t error;
    postie_mime_step_t step;
    size_t index; /* mailbox, header, part or attachment being written */
    uint8_t sub;  /* position inside the current step */
    size_t col;   /* columns used on the current header line */
    postie_mime_tokens_t tokens;
    postie_cte_t text_cte;
    postie_cte_t html_cte;
    bool multipart_mixed;
    bool multipart_alternative;
    bool mixed_started; /* the first multipart/mixed delimiter is written */
    bool needs_8bit;
    bool needs_smtputf8;
    char boundary_mixed[32];
    char boundary_alt[32];
    /* the part being written */
    size_t part;     /* 0 text, 1 html, 2.. attachments */
    size_t body_pos; /* into text/html */
    bool body_cr;    /* 7bit/8bit copy: last octet was CR */
    bool body_bol;   /* at the start of a line */
    bool body_any;   /* the part's body has produced output */
    bool waiting;    /* an attachment reader returned POSTIE_E_AGAIN */
    postie_mime_qp_t qp;
    postie_mime_b64_t b64;
    size_t read_pos;
    size_t read_len;
    bool read_eof;
    /* pending output */
    size_t stage_pos;
    postie_text_t out; /* the unit being made, over stage[]: out.len octets */
    uint8_t stage[POSTIE_MIME_STAGE_SIZE];
    uint8_t read_buf[POSTIE_MIME_READ_CHUNK];
} postie_mime_writer_t;

/* Check the message and prepare to write it. On error nothing can be read
 * and postie_mime_error() names the field (subject) and the step. */
#define postie_mime_init POSTIE_CONFIGURED(postie_mime_init)
postie_status_t postie_mime_init(postie_mime_writer_t *w, const postie_message_t *msg);

/* The next bytes of the message (w is a postie_mime_writer_t *). Returns
 * POSTIE_OK with *got > 0, or POSTIE_OK with *got == 0 at the end; an
 * attachment reader's error ends the message (the SMTP session must then
 * be abandoned, never finished). */
postie_status_t postie_mime_read(void *w, uint8_t *buf, size_t cap, size_t *got);

/* What the SMTP envelope must declare: BODY=8BITMIME, SMTPUTF8. */
bool postie_mime_needs_8bit(const postie_mime_writer_t *w);
bool postie_mime_needs_smtputf8(const postie_mime_writer_t *w);

const postie_error_t *postie_mime_error(const postie_mime_writer_t *w);

/* Content-Type for a file name by its extension (case-insensitive);
 * "application/octet-stream" when unknown. Never NULL. */
const char *postie_mime_type_for(const char *filename);

/* The RFC 5322 date for t (seconds since 1970 UTC) shown in the zone
 * utc_offset_min: "Wed, 25 Nov 2026 10:00:00 +0900". out needs 32 octets;
 * returns the length. A t whose date in that zone falls outside the
 * four-digit years 0000..9999 is shown as the epoch (1970-01-01 00:00:00
 * UTC) in that zone. */
size_t postie_mime_format_date(int64_t t, int16_t utc_offset_min, char *out);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_MIME_H */
