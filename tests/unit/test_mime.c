/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message writer: byte-exact output for each shape of message, the same
 * bytes whatever the read size, errors naming the field, readers that fail
 * or are not ready, dates, and Content-Type by extension. The round trip
 * through a real MIME parser is in mime_roundtrip.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postie/mime/mime.h"

/* ---- fixtures ------------------------------------------------------------ */

typedef struct {
    const char *data;
    size_t pos;
    int again_every; /* return POSTIE_E_AGAIN on every n-th call (0: never) */
    int calls;
    size_t fail_at; /* fail once this many octets were given (0: never) */
} source_t;

static postie_status_t read_source(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    source_t *s = ctx;
    size_t n = strlen(s->data) - s->pos;
    *got = 0;
    s->calls++;
    if (s->again_every != 0 && s->calls % s->again_every == 0) {
        return POSTIE_E_AGAIN;
    }
    if (s->fail_at != 0 && s->pos >= s->fail_at) {
        return POSTIE_E_FILE;
    }
    if (n > cap) {
        n = cap;
    }
    if (n > 7) {
        n = 7; /* small reads: the writer must cope with any size */
    }
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    *got = n;
    return POSTIE_OK;
}

static postie_message_t base_message(void)
{
    postie_message_t m;
    memset(&m, 0, sizeof(m));
    m.from.name = "Postie Test";
    m.from.address = "nas@example.com";
    m.date = 1795600000; /* 2026-11-25 09:46:40 UTC */
    m.utc_offset_min = 540;
    for (int i = 0; i < 16; i++) {
        m.entropy[i] = (uint8_t)(i * 17);
    }
    return m;
}

static postie_mime_writer_t writer;
static char out[1 << 16];

/* Compose m reading cap octets at a time; returns the length. */
static size_t compose(const postie_message_t *m, size_t cap)
{
    size_t len = 0;
    postie_status_t st = postie_mime_init(&writer, m);
    if (st != POSTIE_OK) {
        fail_msg("init: %s (%s)", postie_status_name(st), postie_mime_error(&writer)->subject);
    }
    for (int guard = 0; guard < 1000000; guard++) {
        size_t got = 0;
        st = postie_mime_read(&writer, (uint8_t *)out + len, cap, &got);
        if (st == POSTIE_E_AGAIN) {
            continue;
        }
        assert_int_equal(st, POSTIE_OK);
        if (got == 0) {
            out[len] = '\0';
            return len;
        }
        assert_true(got <= cap);
        len += got;
        assert_true(len + cap < sizeof(out));
    }
    fail_msg("writer did not end");
    return 0;
}

/* Compose with several read sizes; all must give want exactly. */
static void expect_message(const postie_message_t *m, const char *want, source_t *sources,
                           size_t nsources)
{
    static const size_t caps[] = {1, 2, 3, 7, 64, 1000, 4096};
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        size_t len;
        for (size_t i = 0; i < nsources; i++) {
            sources[i].pos = 0;
            sources[i].calls = 0;
        }
        len = compose(m, caps[c]);
        if (len != strlen(want) || memcmp(out, want, len) != 0) {
            fail_msg("read size %zu:\n---- got\n%s\n---- want\n%s", caps[c], out, want);
        }
    }
}

/* ---- byte-exact shapes ------------------------------------------------------ */

static void test_plain_text_message(void **state)
{
    (void)state;
    postie_mailbox_t to[] = {{"山田 太郎", "taro@example.jp"}};
    postie_message_t m = base_message();
    m.to = to;
    m.to_count = 1;
    m.subject = "Disk 3 SMART warning";
    m.text = (const uint8_t *)"Hello\nsecond line\r\n.dot";
    m.text_len = strlen((const char *)m.text);
    expect_message(&m,
                   "Date: Wed, 25 Nov 2026 18:46:40 +0900\r\n"
                   "From: Postie Test <nas@example.com>\r\n"
                   "To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <taro@example.jp>\r\n"
                   "Subject: Disk 3 SMART warning\r\n"
                   "Message-ID: <00112233445566778899aabbccddeeff.1795600000@example.com>\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=UTF-8\r\n"
                   "Content-Transfer-Encoding: 7bit\r\n"
                   "\r\n"
                   "Hello\r\n"
                   "second line\r\n"
                   ".dot\r\n",
                   NULL, 0);
    assert_false(postie_mime_needs_8bit(&writer));
    assert_false(postie_mime_needs_smtputf8(&writer));
}

static void test_names_folding_sender_8bit(void **state)
{
    (void)state;
    postie_mailbox_t to[] = {{"山田 太郎", "taro@example.jp"},
                             {"Joe Bloggs (Appliance)", "joe@example.com"},
                             {NULL, "ops@example.com"}};
    postie_message_t m = base_message();
    m.from.name = "NAS-01 (Appliance)";
    m.sender.address = "robot@example.com";
    m.to = to;
    m.to_count = 3;
    m.subject = "【警告】ディスク 3 の SMART 値が閾値を超えました。至急確認してください。";
    m.text = (const uint8_t *)"caf\xc3\xa9\n";
    m.text_len = 6;
    m.allow_8bit = true;
    expect_message(
        &m,
        "Date: Wed, 25 Nov 2026 18:46:40 +0900\r\n"
        "From: \"NAS-01 (Appliance)\" <nas@example.com>\r\n"
        "Sender: robot@example.com\r\n"
        "To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <taro@example.jp>,\r\n"
        " \"Joe Bloggs (Appliance)\" <joe@example.com>, ops@example.com\r\n"
        "Subject: =?UTF-8?B?44CQ6K2m5ZGK44CR44OH44Kj44K544KvIDMg44GuIFNNQVJUIOWApA==?=\r\n"
        " =?UTF-8?B?44GM6Za+5YCk44KS6LaF44GI44G+44GX44Gf44CC6Iez5oCl56K66KqN44GX?=\r\n"
        " =?UTF-8?B?44Gm44GP44Gg44GV44GE44CC?=\r\n"
        "Message-ID: <00112233445566778899aabbccddeeff.1795600000@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "caf\xc3\xa9\r\n",
        NULL, 0);
    assert_true(postie_mime_needs_8bit(&writer));

    /* the same Sender as From is left out */
    m.sender.address = "NAS@example.com";
    compose(&m, 4096);
    assert_null(strstr(out, "Sender:"));
}

static void test_alternative_and_attachment(void **state)
{
    (void)state;
    source_t src = {"attachment\n", 0, 0, 0, 0};
    postie_attachment_t att[] = {{"報告書.txt", NULL, read_source, &src}};
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}};
    postie_message_t m = base_message();
    m.from.name = NULL;
    m.to = to;
    m.to_count = 1;
    m.subject = "files";
    m.text = (const uint8_t *)"caf\xc3\xa9\n";
    m.text_len = 6;
    m.html = (const uint8_t *)"<p>caf\xc3\xa9</p>";
    m.html_len = strlen((const char *)m.html);
    m.attachments = att;
    m.attachment_count = 1;
    expect_message(&m,
                   "Date: Wed, 25 Nov 2026 18:46:40 +0900\r\n"
                   "From: nas@example.com\r\n"
                   "To: bob@example.com\r\n"
                   "Subject: files\r\n"
                   "Message-ID: <00112233445566778899aabbccddeeff.1795600000@example.com>\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: multipart/mixed;\r\n"
                   " boundary=\"=_postie_m_0011223344556677\"\r\n"
                   "\r\n"
                   "--=_postie_m_0011223344556677\r\n"
                   "Content-Type: multipart/alternative;\r\n"
                   " boundary=\"=_postie_a_8899aabbccddeeff\"\r\n"
                   "\r\n"
                   "--=_postie_a_8899aabbccddeeff\r\n"
                   "Content-Type: text/plain; charset=UTF-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n"
                   "\r\n"
                   "caf=C3=A9\r\n"
                   "\r\n"
                   "--=_postie_a_8899aabbccddeeff\r\n"
                   "Content-Type: text/html; charset=UTF-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n"
                   "\r\n"
                   "<p>caf=C3=A9</p>\r\n"
                   "\r\n"
                   "--=_postie_a_8899aabbccddeeff--\r\n"
                   "\r\n"
                   "--=_postie_m_0011223344556677\r\n"
                   "Content-Type: text/plain\r\n"
                   "Content-Disposition: attachment;\r\n"
                   " filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.txt\r\n"
                   "Content-Transfer-Encoding: base64\r\n"
                   "\r\n"
                   "YXR0YWNobWVudAo=\r\n"
                   "\r\n"
                   "--=_postie_m_0011223344556677--\r\n",
                   &src, 1);
    assert_false(postie_mime_needs_8bit(&writer)); /* 8BITMIME not offered: QP */
}

static void test_attachment_only_and_empty_parts(void **state)
{
    (void)state;
    source_t empty = {"", 0, 0, 0, 0};
    postie_attachment_t att[] = {{"log.txt", "text/x-log", read_source, &empty}};
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}};
    postie_message_t m = base_message();
    m.from.name = NULL;
    m.to = to;
    m.to_count = 1;
    m.attachments = att;
    m.attachment_count = 1;
    expect_message(&m,
                   "Date: Wed, 25 Nov 2026 18:46:40 +0900\r\n"
                   "From: nas@example.com\r\n"
                   "To: bob@example.com\r\n"
                   "Message-ID: <00112233445566778899aabbccddeeff.1795600000@example.com>\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: multipart/mixed;\r\n"
                   " boundary=\"=_postie_m_0011223344556677\"\r\n"
                   "\r\n"
                   "--=_postie_m_0011223344556677\r\n"
                   "Content-Type: text/x-log;\r\n"
                   " name=\"log.txt\"\r\n"
                   "Content-Disposition: attachment;\r\n"
                   " filename=\"log.txt\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n"
                   "\r\n"
                   "\r\n"
                   "--=_postie_m_0011223344556677--\r\n",
                   &empty, 1);
}

static void test_long_lines_and_boundary_lookalike_force_qp(void **state)
{
    (void)state;
    static char text[1200];
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}};
    postie_message_t m = base_message();
    m.to = to;
    m.to_count = 1;
    memset(text, 'x', 999);
    text[999] = '\n';
    m.text = (const uint8_t *)text;
    m.text_len = 1000;
    compose(&m, 4096);
    assert_non_null(strstr(out, "Content-Transfer-Encoding: quoted-printable"));
    for (char *line = out; (line = strstr(line, "\r\n")) != NULL; line += 2) {
        char *next = strstr(line + 2, "\r\n");
        assert_true(next == NULL || next - (line + 2) <= 76 || strncmp(line + 2, "Date", 4) == 0);
    }
    m.text = (const uint8_t *)"--=_postie_m_0011223344556677--\n";
    m.text_len = strlen((const char *)m.text);
    compose(&m, 4096);
    assert_non_null(strstr(out, "Content-Transfer-Encoding: quoted-printable"));
    assert_non_null(strstr(out, "--=3D_postie_m_"));
}

static void test_utf8_headers_raw_when_allowed(void **state)
{
    (void)state;
    postie_mailbox_t to[] = {{"山田 太郎", "taro@example.jp"}};
    postie_message_t m = base_message();
    m.to = to;
    m.to_count = 1;
    m.subject = "件名";
    m.allow_utf8_headers = true;
    compose(&m, 4096);
    assert_non_null(strstr(out, "To: 山田 太郎 <taro@example.jp>\r\n"));
    assert_non_null(strstr(out, "Subject: 件名\r\n"));
    assert_true(postie_mime_needs_smtputf8(&writer));
}

static void test_extra_headers(void **state)
{
    (void)state;
    postie_header_t h[] = {{"X-Appliance", "NAS-01"}, {"X-Note", "注意"}};
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}};
    postie_message_t m = base_message();
    m.to = to;
    m.to_count = 1;
    m.headers = h;
    m.header_count = 2;
    compose(&m, 4096);
    assert_non_null(strstr(out, "MIME-Version: 1.0\r\nX-Appliance: NAS-01\r\n"
                                "X-Note: =?UTF-8?B?5rOo5oSP?=\r\n"));
}

/* ---- errors name the field ---------------------------------------------------- */

static void expect_error(const postie_message_t *m, postie_status_t want, const char *subject)
{
    postie_status_t st = postie_mime_init(&writer, m);
    size_t got = 1;
    uint8_t buf[16];
    if (st != want || strcmp(postie_mime_error(&writer)->subject, subject) != 0) {
        fail_msg("got %s \"%s\", want %s \"%s\"", postie_status_name(st),
                 postie_mime_error(&writer)->subject, postie_status_name(want), subject);
    }
    /* nothing can be read after a refused init */
    assert_int_equal(postie_mime_read(&writer, buf, sizeof(buf), &got), want);
    assert_int_equal(got, 0);
}

/* A file name the header must percent-encode (RFC 2231) triples in size. At
 * the longest name the writer takes, that no longer fits its stage: init
 * refuses it by name, where it used to run out of room while writing. A
 * plain name of the same length goes out in RFC 2231 sections, unencoded. */
static void test_long_file_names(void **state)
{
    static char name[POSTIE_MIME_FIELD_MAX];
    source_t src = {"x", 0, 0, 0, 0};
    postie_attachment_t att[] = {{name, NULL, read_source, &src}};
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}};
    postie_message_t m = base_message();
    (void)state;
    m.to = to;
    m.to_count = 1;
    m.attachments = att;
    m.attachment_count = 1;

    memset(name, '@', sizeof(name) - 1);
    memcpy(name + sizeof(name) - 5, ".txt", 5);
    expect_error(&m, POSTIE_E_FIELD_TOO_LONG,
                 "attachments[0].filename (too long once encoded for the header)");

    memset(name, 'a', sizeof(name) - 1);
    memcpy(name + sizeof(name) - 5, ".txt", 5);
    compose(&m, 8192);
    /* in RFC 2231 sections, none percent-encoded */
    assert_non_null(strstr(out, "Content-Disposition: attachment;\r\n filename*0*=UTF-8''aaaa"));
    assert_non_null(strstr(out, ";\r\n filename*4*=aaaaaaaaaaaaaaaaaa.txt\r\n"));
    assert_null(strstr(out, "%"));
    assert_non_null(strstr(out, "Content-Transfer-Encoding: base64\r\n\r\neA==\r\n"));
}

static void test_injection_and_bad_fields(void **state)
{
    (void)state;
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}, {"Eve\r\nBcc: x@example.com", "e@e.com"}};
    postie_header_t h[] = {{"X-Ok", "fine"}, {"X-Bad", "a\nb"}};
    postie_attachment_t att[] = {{"a\rb.txt", NULL, read_source, NULL}};
    postie_message_t m = base_message();

    m.to = to;
    m.to_count = 2;
    expect_error(&m, POSTIE_E_FIELD_INVALID, "to[1].name");
    m.to_count = 1;

    m.subject = "hi\r\nBcc: victim@example.com";
    expect_error(&m, POSTIE_E_FIELD_INVALID, "subject");
    m.subject = "bad \xc3\x28 utf-8";
    expect_error(&m, POSTIE_E_UTF8_INVALID, "subject");
    m.subject = NULL;

    m.from.address = "nas@example.com>\r\nX: y";
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "from.address");
    m.from.address = "no-at-sign";
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "from.address");
    m.from.address = "nas@example.com";

    m.headers = h;
    m.header_count = 2;
    expect_error(&m, POSTIE_E_FIELD_INVALID, "headers[1].value");
    h[1].value = "ok";
    h[1].name = "Content-Type";
    expect_error(&m, POSTIE_E_HEADER_RESERVED, "headers[1].name");
    h[1].name = "x-bad:";
    expect_error(&m, POSTIE_E_HEADER_NAME_INVALID, "headers[1].name");
    m.header_count = 0;

    m.attachments = att;
    m.attachment_count = 1;
    expect_error(&m, POSTIE_E_FIELD_INVALID, "attachments[0].filename");
    att[0].filename = "dir/file.txt";
    expect_error(&m, POSTIE_E_FIELD_INVALID, "attachments[0].filename");
    att[0].filename = "ok.txt";
    att[0].content_type = "text/plain\r\nX: y";
    expect_error(&m, POSTIE_E_FIELD_INVALID, "attachments[0].content_type");
    m.attachment_count = 0;

    m.text = (const uint8_t *)"ab\0c";
    m.text_len = 4;
    expect_error(&m, POSTIE_E_BODY_NUL, "text body at octet 2");
    m.text = (const uint8_t *)"ok \xff";
    m.text_len = 4;
    expect_error(&m, POSTIE_E_UTF8_INVALID, "text body at octet 3");
    m.text = NULL;

    to[0].address = "\xe5\xb1\xb1@example.jp";
    expect_error(&m, POSTIE_E_ADDRESS_NEEDS_SMTPUTF8, "to[0].address");
    to[0].address = "bob@example.com";

    m.message_id_domain = "bad domain";
    expect_error(&m, POSTIE_E_INVALID_ARGUMENT, "message_id_domain");
    m.message_id_domain = NULL;

    static char long_name[POSTIE_MIME_FIELD_MAX + 2];
    memset(long_name, 'n', sizeof(long_name) - 1);
    m.from.name = long_name;
    expect_error(&m, POSTIE_E_FIELD_TOO_LONG, "from.name");
}

/* One address is one mailbox: a list, a group, a comment or an unbalanced
 * quote in one address field is refused and the error names the field. */
static void test_one_mailbox_per_address(void **state)
{
    (void)state;
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}, {NULL, "a@b,c@d"}};
    postie_mailbox_t cc[] = {{NULL, "undisclosed:;"}};
    postie_mailbox_t reply[] = {{NULL, "\"x@example.com, y@example.com"}};
    postie_message_t m = base_message();

    m.to = to;
    m.to_count = 2;
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "to[1].address");
    to[1].address = "carol@example.com; dave@example.com";
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "to[1].address");
    to[1].address = "carol@example.com";

    m.cc = cc;
    m.cc_count = 1;
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "cc[0].address");
    cc[0].address = "carol@example.com";

    m.reply_to = reply;
    m.reply_to_count = 1;
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "reply_to[0].address");
    reply[0].address = "help@example.com";

    m.from.address = "nas@example.com (NAS)";
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "from.address");
    m.from.address = "nas@example.com";
    m.sender.address = "a:b@example.com";
    expect_error(&m, POSTIE_E_ADDRESS_INVALID, "sender.address");
    m.sender.address = NULL;

    /* a quoted local part is one mailbox, written as given */
    to[1].address = "\"carol smith\"@example.com";
    to[1].name = "Carol";
    m.to_count = 2;
    m.subject = "hi";
    compose(&m, 4096);
    assert_non_null(strstr(out, "To: bob@example.com, Carol <\"carol smith\"@example.com>\r\n"));
}

/* ---- readers ------------------------------------------------------------------ */

static void test_reader_failure_and_not_ready(void **state)
{
    (void)state;
    static char data[5000];
    source_t src = {data, 0, 0, 0, 0};
    postie_attachment_t att[] = {{"data.bin", NULL, read_source, &src}};
    postie_mailbox_t to[] = {{NULL, "bob@example.com"}};
    postie_message_t m = base_message();
    size_t len;
    uint8_t buf[512];
    size_t got = 0;
    postie_status_t st = POSTIE_OK;
    int agains = 0;

    memset(data, 'd', sizeof(data) - 1);
    m.to = to;
    m.to_count = 1;
    m.attachments = att;
    m.attachment_count = 1;

    /* reader says "not yet" now and then: POSTIE_E_AGAIN reaches the caller
     * when nothing else is ready (one-octet reads make that often), and the
     * bytes in the end are the same */
    len = compose(&m, 4096);
    {
        static char first[sizeof(out)];
        memcpy(first, out, len + 1);
        src.pos = 0;
        src.again_every = 3;
        assert_int_equal(postie_mime_init(&writer, &m), POSTIE_OK);
        size_t total = 0;
        for (int guard = 0; guard < 100000; guard++) {
            st = postie_mime_read(&writer, (uint8_t *)out + total, 1, &got);
            if (st == POSTIE_E_AGAIN) {
                agains++;
                continue;
            }
            assert_int_equal(st, POSTIE_OK);
            if (got == 0) {
                break;
            }
            total += got;
        }
        if (agains < 10) {
            fail_msg("only %d AGAIN", agains);
        }
        assert_int_equal(total, len);
        assert_memory_equal(out, first, len);
    }

    /* reader fails half way: the error names the attachment */
    src.pos = 0;
    src.again_every = 0;
    src.fail_at = 2000;
    assert_int_equal(postie_mime_init(&writer, &m), POSTIE_OK);
    for (int guard = 0; guard < 100000; guard++) {
        st = postie_mime_read(&writer, buf, sizeof(buf), &got);
        if (st != POSTIE_OK || got == 0) {
            break;
        }
    }
    assert_int_equal(st, POSTIE_E_SOURCE_FAILED);
    assert_string_equal(postie_mime_error(&writer)->subject, "attachments[0].read");
}

/* ---- dates and types ------------------------------------------------------------ */

static void test_dates(void **state)
{
    (void)state;
    char d[32];
    postie_mime_format_date(0, 0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    postie_mime_format_date(0, -300, d);
    assert_string_equal(d, "Wed, 31 Dec 1969 19:00:00 -0500");
    postie_mime_format_date(951782400, -300, d);
    assert_string_equal(d, "Mon, 28 Feb 2000 19:00:00 -0500");
    postie_mime_format_date(951782400, 0, d);
    assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 +0000");
    postie_mime_format_date(4102444799, -300, d);
    assert_string_equal(d, "Thu, 31 Dec 2099 18:59:59 -0500");
    postie_mime_format_date(1795600000, 540, d);
    assert_string_equal(d, "Wed, 25 Nov 2026 18:46:40 +0900");
    postie_mime_format_date(1795600000, 330, d);
    assert_string_equal(d, "Wed, 25 Nov 2026 15:16:40 +0530");
    /* the four-digit years, first and last second */
    postie_mime_format_date(-62167219200, 0, d);
    assert_string_equal(d, "Sat, 01 Jan 0000 00:00:00 +0000");
    postie_mime_format_date(-62135596800, 0, d);
    assert_string_equal(d, "Mon, 01 Jan 0001 00:00:00 +0000");
    postie_mime_format_date(-62162035200, 0, d);
    assert_string_equal(d, "Wed, 01 Mar 0000 00:00:00 +0000");
    postie_mime_format_date(253402300799, 0, d);
    assert_string_equal(d, "Fri, 31 Dec 9999 23:59:59 +0000");
    postie_mime_format_date(253402300799, -1439, d);
    assert_string_equal(d, "Fri, 31 Dec 9999 00:00:59 -2359");
    postie_mime_format_date(-86400, 0, d);
    assert_string_equal(d, "Wed, 31 Dec 1969 00:00:00 +0000");
    postie_mime_format_date(-1, 0, d);
    assert_string_equal(d, "Wed, 31 Dec 1969 23:59:59 +0000");
    /* outside them in that zone: the epoch, in that zone, not a made-up year */
    postie_mime_format_date(253402300800, 0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    postie_mime_format_date(253402300799, 60, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 01:00:00 +0100");
    postie_mime_format_date(-62167219201, -300, d);
    assert_string_equal(d, "Wed, 31 Dec 1969 19:00:00 -0500");
    postie_mime_format_date(INT64_MAX, 0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    postie_mime_format_date(INT64_MIN, -1439, d);
    assert_string_equal(d, "Wed, 31 Dec 1969 00:01:00 -2359");
}

static void test_types_by_extension(void **state)
{
    (void)state;
    assert_string_equal(postie_mime_type_for("report.PDF"), "application/pdf");
    assert_string_equal(postie_mime_type_for("a.b.csv"), "text/csv");
    assert_string_equal(postie_mime_type_for("photo.jpeg"), "image/jpeg");
    assert_string_equal(postie_mime_type_for("noext"), "application/octet-stream");
    assert_string_equal(postie_mime_type_for("trailing."), "application/octet-stream");
    assert_string_equal(postie_mime_type_for("x.unknownext"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_message),
        cmocka_unit_test(test_names_folding_sender_8bit),
        cmocka_unit_test(test_alternative_and_attachment),
        cmocka_unit_test(test_attachment_only_and_empty_parts),
        cmocka_unit_test(test_long_lines_and_boundary_lookalike_force_qp),
        cmocka_unit_test(test_utf8_headers_raw_when_allowed),
        cmocka_unit_test(test_extra_headers),
        cmocka_unit_test(test_injection_and_bad_fields),
        cmocka_unit_test(test_one_mailbox_per_address),
        cmocka_unit_test(test_reader_failure_and_not_ready),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_types_by_extension),
        cmocka_unit_test(test_long_file_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
