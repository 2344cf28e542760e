/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From display-name templates (core/session/template.c): the documented example,
 * every variable, the escape, errors with their offsets, control
 * characters in the user's values, cuts on UTF-8 boundaries, and the
 * expanded name written by the message writer as a From header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postie/mime/mime.h"
#include "postie/session/template.h"

#define GUARD 'Z'

static char out[256];

/* Expand with a roomy buffer, expecting st; returns out. */
static const char *expand(const char *tpl, const char *fullname, const char *email,
                          postie_status_t want)
{
    postie_template_user_t user = {fullname, email};
    size_t len = 12345;
    postie_status_t st;

    memset(out, GUARD, sizeof(out));
    st = postie_template_expand(tpl, &user, out, sizeof(out), &len);
    if (st != want) {
        fail_msg("expand \"%s\": %s, want %s", tpl, postie_status_name(st),
                 postie_status_name(want));
    }
    assert_int_equal(len, strlen(out));
    return out;
}

static void check_is(const char *tpl, postie_status_t want, size_t want_offset)
{
    size_t off = 999;
    const char *why = NULL;
    postie_status_t st = postie_template_check(tpl, &off, &why);
    if (st != want || off != want_offset) {
        fail_msg("check \"%s\": %s at %zu, want %s at %zu", tpl, postie_status_name(st), off,
                 postie_status_name(want), want_offset);
    }
    assert_non_null(why);
    if (want == POSTIE_OK) {
        assert_string_equal(why, "");
    } else {
        assert_true(strlen(why) > 0);
        /* expand refuses the same template with the same status, writing "" */
        assert_string_equal(expand(tpl, "Joe Bloggs", "joe@example.com", want), "");
    }
}

/* ---- expansion ------------------------------------------------------------ */

static void test_confluence_example(void **state)
{
    postie_template_user_t user = {"Joe Bloggs", "joe@example.com"};
    size_t len = 0;
    (void)state;

    check_is("${fullname} (Confluence)", POSTIE_OK, 0);
    memset(out, GUARD, sizeof(out));
    assert_int_equal(
        postie_template_expand("${fullname} (Confluence)", &user, out, sizeof(out), &len),
        POSTIE_OK);
    assert_string_equal(out, "Joe Bloggs (Confluence)");
    assert_int_equal(len, 23);
    assert_int_equal(out[24], GUARD);
}

static void test_every_variable(void **state)
{
    (void)state;
    assert_string_equal(expand("${fullname}", "Joe Bloggs", "joe@example.com", POSTIE_OK),
                        "Joe Bloggs");
    assert_string_equal(expand("${email}", "Joe Bloggs", "joe@example.com", POSTIE_OK),
                        "joe@example.com");
    assert_string_equal(expand("${email.hostname}", "Joe Bloggs", "joe@example.com", POSTIE_OK),
                        "example.com");
    assert_string_equal(expand("${fullname}|${email}|${email.hostname}|${fullname}", "Joe",
                               "joe@example.com", POSTIE_OK),
                        "Joe|joe@example.com|example.com|Joe");
    /* NULL values are "" */
    assert_string_equal(expand("[${fullname}|${email}|${email.hostname}]", NULL, NULL, POSTIE_OK),
                        "[||]");
    assert_string_equal(expand("", "Joe", "joe@example.com", POSTIE_OK), "");
}

static void test_email_hostname(void **state)
{
    (void)state;
    /* no '@': nothing */
    assert_string_equal(expand("<${email.hostname}>", "Joe", "localuser", POSTIE_OK), "<>");
    /* two '@': the part after the last */
    assert_string_equal(expand("<${email.hostname}>", "Joe", "\"a@b\"@mail.example.org", POSTIE_OK),
                        "<mail.example.org>");
    assert_string_equal(expand("<${email.hostname}>", "Joe", "a@b@c.example", POSTIE_OK),
                        "<c.example>");
    /* '@' last: nothing after it */
    assert_string_equal(expand("<${email.hostname}>", "Joe", "joe@", POSTIE_OK), "<>");
    assert_string_equal(expand("<${email.hostname}>", "Joe", "", POSTIE_OK), "<>");
}

static void test_literal_text_around_variables(void **state)
{
    (void)state;
    assert_string_equal(expand("Mail from ${fullname} via ${email.hostname}!", "Joe Bloggs",
                               "joe@example.com", POSTIE_OK),
                        "Mail from Joe Bloggs via example.com!");
    assert_string_equal(expand("${fullname}${email}", "A", "b@c", POSTIE_OK), "Ab@c");
    /* non-ASCII literal text and braces that are not references */
    assert_string_equal(expand("【${fullname}】 {x} }", "Joe", "j@e", POSTIE_OK), "【Joe】 {x} }");
}

static void test_escape_and_lone_dollar(void **state)
{
    (void)state;
    check_is("$${fullname}", POSTIE_OK, 0);
    assert_string_equal(expand("$${fullname}", "Joe", "j@e", POSTIE_OK), "${fullname}");
    assert_string_equal(expand("$${", "Joe", "j@e", POSTIE_OK), "${");
    assert_string_equal(expand("a$${b}${fullname}$${", "Joe", "j@e", POSTIE_OK), "a${b}Joe${");
    /* a '$' not followed by '{' is literal, also before the escape */
    assert_string_equal(expand("$", "Joe", "j@e", POSTIE_OK), "$");
    assert_string_equal(expand("$$", "Joe", "j@e", POSTIE_OK), "$$");
    assert_string_equal(expand("Cost $5 ${fullname}$", "Joe", "j@e", POSTIE_OK), "Cost $5 Joe$");
    assert_string_equal(expand("$$${fullname}", "Joe", "j@e", POSTIE_OK), "$${fullname}");
    assert_string_equal(expand("$ {fullname} $}", "Joe", "j@e", POSTIE_OK), "$ {fullname} $}");
    /* the values are not templates */
    assert_string_equal(expand("${fullname}", "${email}", "j@e", POSTIE_OK), "${email}");
}

/* ---- errors ----------------------------------------------------------------- */

static void test_unknown_and_unterminated(void **state)
{
    size_t off = 0;
    const char *why = NULL;
    (void)state;

    check_is("Hi ${user} there", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 3);
    assert_int_equal(postie_template_check("Hi ${user} there", &off, &why),
                     POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE);
    assert_string_equal(why, "unknown variable; known: ${fullname} ${email} ${email.hostname}");

    check_is("${}", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 0);
    check_is("ab${}", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 2);
    check_is("${FULLNAME}", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 0);
    check_is("${ fullname}", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 0);
    check_is("${email.host}", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 0);
    check_is("${email.hostname.x}", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 0);
    check_is("${fullname}${emai}", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 11);

    check_is("Hi ${fullname", POSTIE_E_TEMPLATE_SYNTAX, 3);
    assert_int_equal(postie_template_check("Hi ${fullname", &off, &why), POSTIE_E_TEMPLATE_SYNTAX);
    assert_true(strstr(why, "}") != NULL);
    check_is("${", POSTIE_E_TEMPLATE_SYNTAX, 0);
    check_is("x $${ ${", POSTIE_E_TEMPLATE_SYNTAX, 6);
    /* another "${" before the '}': the first reference is the unterminated one */
    check_is("${fullname (Acme) ${email}", POSTIE_E_TEMPLATE_SYNTAX, 0);

    /* the first problem wins */
    check_is("${bad} ${", POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 0);
    check_is("a\r${bad}", POSTIE_E_FIELD_INVALID, 1);

    /* NULL arguments */
    assert_int_equal(postie_template_check(NULL, &off, &why), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(off, 0);
    assert_true(strlen(why) > 0);
    assert_int_equal(postie_template_check("${x}", NULL, NULL), POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE);
    assert_int_equal(postie_template_check("ok", NULL, NULL), POSTIE_OK);
}

static void test_control_characters_in_literal(void **state)
{
    size_t off = 0;
    const char *why = NULL;
    (void)state;

    check_is("a\rb", POSTIE_E_FIELD_INVALID, 1);
    check_is("ab\n", POSTIE_E_FIELD_INVALID, 2);
    check_is("${fullname}\r\nBcc: x", POSTIE_E_FIELD_INVALID, 11);
    check_is("tab\there", POSTIE_E_FIELD_INVALID, 3);
    check_is("\x01", POSTIE_E_FIELD_INVALID, 0);
    check_is("del\x7f", POSTIE_E_FIELD_INVALID, 3);
    check_is("$\n", POSTIE_E_FIELD_INVALID, 1);
    assert_int_equal(postie_template_check("a\rb", &off, &why), POSTIE_E_FIELD_INVALID);
    assert_true(strlen(why) > 0);

    /* a NUL octet ends the C string: what follows is never read */
    check_is("ab\0${user}\r\n", POSTIE_OK, 0);
    assert_string_equal(expand("ab\0${user}", "Joe", "j@e", POSTIE_OK), "ab");
}

static void test_invalid_utf8_in_template(void **state)
{
    (void)state;
    check_is("\xff", POSTIE_E_UTF8_INVALID, 0);
    check_is("caf\xc3", POSTIE_E_UTF8_INVALID, 3);            /* truncated at the end */
    check_is("caf\xc3${fullname}", POSTIE_E_UTF8_INVALID, 3); /* truncated by '$' */
    check_is("a\xc3\xa9\x80", POSTIE_E_UTF8_INVALID, 3);      /* stray continuation */
    check_is("${email} \xc0\xaf", POSTIE_E_UTF8_INVALID, 9);  /* overlong '/' */
    check_is("\xed\xa0\x80", POSTIE_E_UTF8_INVALID, 0);       /* surrogate U+D800 */
    check_is("\xf4\x90\x80\x80", POSTIE_E_UTF8_INVALID, 0);   /* above U+10FFFF */
    check_is("\xe5\xb1\xb1\xe7\x94\xb0", POSTIE_OK, 0);       /* 山田 */
    check_is("\xf0\x9f\x93\xa7 ${fullname}", POSTIE_OK, 0);   /* U+1F4E7 */
}

/* ---- the user's values ------------------------------------------------------- */

static void test_japanese_full_name(void **state)
{
    (void)state;
    assert_string_equal(
        expand("${fullname} (Confluence)", "山田 太郎", "taro@example.jp", POSTIE_OK),
        "山田 太郎 (Confluence)");
}

static void test_control_characters_in_values_become_spaces(void **state)
{
    (void)state;
    assert_string_equal(expand("${fullname}", "\r\nBcc: x", "j@e", POSTIE_OK), "  Bcc: x");
    assert_string_equal(expand("${fullname} (Confluence)", "Joe\r\nBcc: x", "j@e", POSTIE_OK),
                        "Joe  Bcc: x (Confluence)");
    assert_string_equal(expand("${fullname}",
                               "a\tb\x01"
                               "c\x1f\x7f"
                               "d",
                               "j@e", POSTIE_OK),
                        "a b c  d");
    assert_string_equal(expand("${email}|${email.hostname}", "Joe", "j@ex\r\nample", POSTIE_OK),
                        "j@ex  ample|ex  ample");
    /* 8-bit octets are not controls */
    assert_string_equal(expand("${fullname}", "caf\xc3\xa9", "j@e", POSTIE_OK), "caf\xc3\xa9");
}

/* ---- room ------------------------------------------------------------------- */

static postie_status_t expand_cap(const char *tpl, const char *fullname, size_t cap, size_t *len)
{
    postie_template_user_t user = {fullname, "joe@example.com"};
    memset(out, GUARD, sizeof(out));
    return postie_template_expand(tpl, &user, out, cap, len);
}

static void assert_untouched_from(size_t from)
{
    for (size_t i = from; i < sizeof(out); i++) {
        assert_int_equal(out[i], GUARD);
    }
}

static void test_cut_on_utf8_boundary(void **state)
{
    /* "山田 太郎": 3 + 3 + 1 + 3 + 3 = 13 octets */
    static const char *name = "山田 太郎";
    size_t len = 0;
    (void)state;

    assert_int_equal(expand_cap("${fullname}", name, 14, &len), POSTIE_OK);
    assert_string_equal(out, name);
    assert_int_equal(len, 13);
    assert_untouched_from(14);

    /* one octet short: the last character goes whole */
    assert_int_equal(expand_cap("${fullname}", name, 13, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "山田 太");
    assert_int_equal(len, 10);
    assert_untouched_from(11);

    /* cap 6: room for 5 octets lands inside 田 (octets 3..5) */
    assert_int_equal(expand_cap("${fullname}", name, 6, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "山");
    assert_int_equal(len, 3);
    assert_untouched_from(4);

    /* room for 2: inside 山, nothing */
    assert_int_equal(expand_cap("${fullname}", name, 3, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    assert_untouched_from(1);

    /* a prefix: after a piece that does not fit, nothing more, even if it would */
    assert_int_equal(expand_cap("${fullname}x", "山", 3, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);

    /* cut inside literal text: "【Joe】" is 3 + 3 + 3 octets */
    assert_int_equal(expand_cap("【${fullname}】", "Joe", 3, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "");
    assert_int_equal(expand_cap("【${fullname}】", "Joe", 4, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "【");
    assert_int_equal(expand_cap("【${fullname}】", "Joe", 6, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "【Jo");
    assert_int_equal(expand_cap("【${fullname}】", "Joe", 8, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "【Joe");
    assert_int_equal(expand_cap("【${fullname}】", "Joe", 9, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "【Joe");
    assert_int_equal(len, 6);
    assert_untouched_from(7);
    assert_int_equal(expand_cap("【${fullname}】", "Joe", 10, &len), POSTIE_OK);
    assert_string_equal(out, "【Joe】");
    assert_int_equal(len, 9);
    /* and inside the escape's "${" */
    assert_int_equal(expand_cap("ab$${", "Joe", 4, &len), POSTIE_E_NO_SPACE);
    assert_string_equal(out, "ab$");
    assert_int_equal(len, 3);

    /* the Confluence example exactly fits in 24 */
    assert_int_equal(expand_cap("${fullname} (Confluence)", "Joe Bloggs", 24, &len), POSTIE_OK);
    assert_string_equal(out, "Joe Bloggs (Confluence)");
    assert_int_equal(expand_cap("${fullname} (Confluence)", "Joe Bloggs", 23, &len),
                     POSTIE_E_NO_SPACE);
    assert_string_equal(out, "Joe Bloggs (Confluence");
    assert_int_equal(len, 22);
}

static void test_cap_zero_and_one(void **state)
{
    postie_template_user_t user = {"Joe", "joe@example.com"};
    size_t len = 99;
    (void)state;

    /* cap 0: nothing written, not even a NUL; never fits */
    assert_int_equal(expand_cap("${fullname}", "Joe", 0, &len), POSTIE_E_NO_SPACE);
    assert_int_equal(len, 0);
    assert_untouched_from(0);
    assert_int_equal(expand_cap("", "Joe", 0, &len), POSTIE_E_NO_SPACE);
    assert_untouched_from(0);
    assert_int_equal(postie_template_expand("", &user, NULL, 0, &len), POSTIE_E_NO_SPACE);
    /* template errors come before room */
    assert_int_equal(expand_cap("${x}", "Joe", 0, &len), POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE);
    assert_untouched_from(0);

    /* cap 1: only the NUL */
    len = 99;
    assert_int_equal(expand_cap("${fullname}", "Joe", 1, &len), POSTIE_E_NO_SPACE);
    assert_int_equal(out[0], '\0');
    assert_int_equal(len, 0);
    assert_untouched_from(1);
    assert_int_equal(expand_cap("", "Joe", 1, &len), POSTIE_OK);
    assert_int_equal(out[0], '\0');
    assert_untouched_from(1);
    assert_int_equal(expand_cap("${fullname}", "", 1, &len), POSTIE_OK);
    assert_int_equal(out[0], '\0');

    /* bad arguments; len may be NULL */
    assert_int_equal(postie_template_expand("x", NULL, out, sizeof(out), &len),
                     POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_template_expand("x", &user, NULL, 4, &len), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_template_expand(NULL, &user, out, sizeof(out), &len),
                     POSTIE_E_INVALID_ARGUMENT);
    assert_string_equal(out, "");
    assert_int_equal(postie_template_expand("x${fullname}", &user, out, sizeof(out), NULL),
                     POSTIE_OK);
    assert_string_equal(out, "xJoe");
}

/* ---- end to end: the expanded name in a From header ------------------------------ */

static postie_mime_writer_t writer;
static char message[1 << 14];

static const char *compose_from(const char *fullname)
{
    static char name[POSTIE_MIME_FIELD_MAX + 1];
    postie_template_user_t user = {fullname, "joe@example.com"};
    postie_message_t m;
    size_t len = 0;

    assert_int_equal(
        postie_template_expand("${fullname} (Confluence)", &user, name, sizeof(name), NULL),
        POSTIE_OK);
    memset(&m, 0, sizeof(m));
    m.from.name = name;
    m.from.address = "confluence-administrator@example-company.com";
    m.date = 1795600000;
    m.utc_offset_min = 0;
    m.subject = "Page updated";
    m.text = (const uint8_t *)"hello\n";
    m.text_len = 6;
    assert_int_equal(postie_mime_init(&writer, &m), POSTIE_OK);
    for (;;) {
        size_t got = 0;
        assert_int_equal(postie_mime_read(&writer, (uint8_t *)message + len, 512, &got), POSTIE_OK);
        if (got == 0) {
            break;
        }
        len += got;
        assert_true(len + 512 < sizeof(message));
    }
    message[len] = '\0';
    return message;
}

/* True when some line of msg (CRLF-separated) starts with prefix. */
static int line_starts_with(const char *msg, const char *prefix)
{
    const char *p = msg;
    size_t n = strlen(prefix);
    while (p != NULL) {
        if (strncmp(p, prefix, n) == 0) {
            return 1;
        }
        p = strstr(p, "\r\n");
        if (p != NULL) {
            p += 2;
        }
    }
    return 0;
}

static void test_from_header_end_to_end(void **state)
{
    const char *msg;
    (void)state;

    msg = compose_from("Joe Bloggs");
    /* parentheses are specials: the phrase is a quoted string; the line is exactly 78 */
    if (strstr(msg, "\r\nFrom: \"Joe Bloggs (Confluence)\" "
                    "<confluence-administrator@example-company.com>\r\n") == NULL) {
        fail_msg("no From line in:\n%s", msg);
    }
}

static void test_from_header_injection(void **state)
{
    const char *msg;
    (void)state;

    msg = compose_from("Joe\r\nBcc: victim@example.com");
    assert_false(line_starts_with(msg, "Bcc:"));
    assert_null(strstr(msg, "\r\nBcc"));
    /* no bare CR or LF anywhere: every LF is part of a CRLF */
    for (const char *p = msg; *p != '\0'; p++) {
        if (*p == '\n') {
            assert_true(p > msg && p[-1] == '\r');
        }
        if (*p == '\r') {
            assert_int_equal(p[1], '\n');
        }
    }
    /* the text stays in the From display name (possibly folded) */
    assert_true(line_starts_with(msg, "From: \"Joe  Bcc: victim@example.com (Confluence)\""));
    assert_non_null(strstr(msg, "<confluence-administrator@example-company.com>"));
    /* and so does a name that is only CR LF */
    msg = compose_from("\r\n");
    assert_true(line_starts_with(msg, "From: \"   (Confluence)\""));
}

/* ---- the subject prefix ---------------------------------------------------------- */

static void expect_subject(const char *prefix, const char *subject, const char *want)
{
    char got[128];
    size_t len = 99;
    postie_status_t st = postie_template_subject(prefix, subject, got, sizeof(got), &len);
    if (st != POSTIE_OK || strcmp(got, want) != 0 || len != strlen(want)) {
        fail_msg("\"%s\" + \"%s\": %s \"%s\" (%zu), want \"%s\"", prefix ? prefix : "(null)",
                 subject ? subject : "(null)", postie_status_name(st), got, len, want);
    }
}

static void test_subject_prefix_spacing(void **state)
{
    (void)state;
    char small[16];
    size_t len = 99;

    /* Confluence's prefix and what Confluence makes of it */
    expect_subject("[Confluence]", "Page edited", "[Confluence] Page edited");
    /* a prefix that brings its own white space gets no second space */
    expect_subject("[NAS-01] ", "Disk alert", "[NAS-01] Disk alert");
    expect_subject("[NAS-01]\t", "Disk alert", "[NAS-01]\tDisk alert");
    /* only one space, whatever the subject starts with */
    expect_subject("[X]", " lead", "[X]  lead");
    /* empty or NULL: no space added */
    expect_subject("", "Page edited", "Page edited");
    expect_subject(NULL, "Page edited", "Page edited");
    expect_subject("[Confluence]", "", "[Confluence]");
    expect_subject("[Confluence]", NULL, "[Confluence]");
    expect_subject("[NAS-01] ", "", "[NAS-01] ");
    expect_subject(NULL, NULL, "");
    /* UTF-8 passes through */
    expect_subject("[\xe8\xad\xa6\xe5\x91\x8a]", "\xe3\x83\x87\xe3\x82\xa3\xe3\x82\xb9\xe3\x82\xaf",
                   "[\xe8\xad\xa6\xe5\x91\x8a] \xe3\x83\x87\xe3\x82\xa3\xe3\x82\xb9\xe3\x82\xaf");

    /* exactly full, one octet short (nothing cut), and no room at all */
    assert_int_equal(postie_template_subject("[ab]", "0123456789", small, sizeof(small), &len),
                     POSTIE_OK);
    assert_string_equal(small, "[ab] 0123456789");
    assert_int_equal(len, 15);
    assert_int_equal(postie_template_subject("[abc]", "0123456789", small, sizeof(small), &len),
                     POSTIE_E_NO_SPACE);
    assert_string_equal(small, "");
    assert_int_equal(len, 0);
    assert_int_equal(postie_template_subject("[abc]", "x", small, 0, NULL), POSTIE_E_NO_SPACE);
    assert_int_equal(postie_template_subject("[abc]", "x", NULL, 4, NULL),
                     POSTIE_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confluence_example),
        cmocka_unit_test(test_every_variable),
        cmocka_unit_test(test_email_hostname),
        cmocka_unit_test(test_literal_text_around_variables),
        cmocka_unit_test(test_escape_and_lone_dollar),
        cmocka_unit_test(test_unknown_and_unterminated),
        cmocka_unit_test(test_control_characters_in_literal),
        cmocka_unit_test(test_invalid_utf8_in_template),
        cmocka_unit_test(test_japanese_full_name),
        cmocka_unit_test(test_control_characters_in_values_become_spaces),
        cmocka_unit_test(test_cut_on_utf8_boundary),
        cmocka_unit_test(test_cap_zero_and_one),
        cmocka_unit_test(test_from_header_end_to_end),
        cmocka_unit_test(test_from_header_injection),
        cmocka_unit_test(test_subject_prefix_spacing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
