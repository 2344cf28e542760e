/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NULL convention (postie/common/status.h): every argument a public header
 * calls optional ("may be NULL", "NULL: ...") is called here with NULL, and
 * the function does what its header says instead of crashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/common/base64.h"
#include "postie/mime/mime.h"
#include "postie/mime/mime_encode.h"
#include "postie/queue/queue.h"
#include "postie/session/registry.h"
#include "postie/session/registry_json.h"
#include "postie/posix/registry_file.h"
#include "postie/imap/imap.h"
#include "postie/smtp/smtp.h"
#include "postie/session/template.h"

static postie_registry_t reg;
static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE];

static void test_registry_load_file_without_used_path(void **state)
{
    (void)state;
    const char *used = NULL;

    /* the optional last argument: it used to be written through unchecked */
    assert_int_equal(
        postie_registry_load_file(&reg, POSTIE_EXAMPLE_REGISTRY, arena, sizeof(arena), NULL),
        POSTIE_OK);
    assert_true(reg.loaded);
    assert_int_equal(
        postie_registry_load_file(&reg, "/nonexistent/registry.json", arena, sizeof(arena), NULL),
        POSTIE_E_FILE);
    /* path NULL: $POSTIE_REGISTRY, with or without used_path */
    assert_int_equal(setenv("POSTIE_REGISTRY", POSTIE_EXAMPLE_REGISTRY, 1), 0);
    assert_int_equal(postie_registry_load_file(&reg, NULL, arena, sizeof(arena), NULL), POSTIE_OK);
    assert_int_equal(postie_registry_load_file(&reg, NULL, arena, sizeof(arena), &used), POSTIE_OK);
    assert_string_equal(used, POSTIE_EXAMPLE_REGISTRY);
    unsetenv("POSTIE_REGISTRY");
}

static void test_registry_lookups(void **state)
{
    (void)state;
    static const char json[] = "{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": "
                               "\"a@b.c\"}}}";
    char out[64];

    assert_int_equal(postie_registry_load(&reg, json, strlen(json), arena, sizeof(arena), NULL),
                     POSTIE_OK);
    assert_non_null(postie_registry_session(&reg, "mail/A"));
    assert_null(postie_registry_session(&reg, NULL));
    assert_null(postie_registry_session(NULL, "mail/A"));
    assert_null(postie_registry_account(&reg, NULL));
    assert_null(postie_registry_account(NULL, "mail/A"));
    assert_false(postie_registry_normalise(NULL, out, sizeof(out)));
}

static void test_core_helpers(void **state)
{
    (void)state;
    const char *why = "unset";
    size_t bad = 99;
    char text[64];
    uint8_t raw[16];
    postie_template_user_t user = {NULL, NULL}; /* both "" */

    assert_int_equal(postie_address_check("j\xc3\xb6rg@example.com", false, NULL), POSTIE_OK);
    assert_int_equal(postie_address_check("a@b,c@d", false, NULL), POSTIE_E_ADDRESS_INVALID);

    assert_int_equal(postie_template_check("x ${nope}", NULL, NULL),
                     POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE);
    assert_int_equal(postie_template_check("x ${nope}", &bad, &why),
                     POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE);
    assert_int_equal(bad, 2);
    assert_int_equal(
        postie_template_expand("${fullname}<${email}>", &user, text, sizeof(text), NULL),
        POSTIE_OK);
    assert_string_equal(text, "<>");

    assert_false(postie_utf8_valid((const uint8_t *)"\xc3", 1, NULL));
    assert_true(postie_utf8_valid((const uint8_t *)"ok", 2, NULL));

    assert_int_equal(postie_base64_encode((const uint8_t *)"hi", 2, text, sizeof(text), NULL),
                     POSTIE_OK);
    assert_string_equal(text, "aGk=");
    assert_int_equal(postie_base64_decode("aGk=", 4, raw, sizeof(raw), NULL), POSTIE_OK);
    assert_memory_equal(raw, "hi", 2);
}

static void test_smtp_config_optional_fields(void **state)
{
    (void)state;
    static postie_smtp_t s;
    postie_smtp_config_t cfg;

    postie_smtp_config_defaults(&cfg);
    cfg.ehlo_name = NULL; /* "localhost" */
    cfg.username = NULL;  /* no AUTH */
    cfg.password = NULL;
    cfg.log = NULL;
    assert_int_equal(postie_smtp_init(&s, &cfg, 0), POSTIE_OK);
}

static void test_imap_config_optional_fields(void **state)
{
    (void)state;
    static postie_imap_t m;
    postie_imap_config_t cfg;

    postie_imap_config_defaults(&cfg);
    cfg.username = NULL; /* no login: only a PREAUTH server will do */
    cfg.password = NULL;
    cfg.folder = NULL; /* INBOX */
    cfg.log = NULL;
    assert_int_equal(postie_imap_init(&m, &cfg), POSTIE_OK);
    assert_int_equal(postie_imap_start(&m, 0), POSTIE_OK);
    cfg.folder = ""; /* INBOX too */
    assert_int_equal(postie_imap_init(&m, &cfg), POSTIE_OK);
}

static postie_status_t read_message(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    const char **p = ctx;
    size_t n = strlen(*p);
    n = n < cap ? n : cap;
    memcpy(buf, *p, n);
    *p += n;
    *got = n;
    return POSTIE_OK;
}

static void test_queue_without_error_details(void **state)
{
    (void)state;
    static postie_queue_ram_t ram;
    static uint8_t mem[8192];
    static postie_queue_t q;
    static postie_queue_entry_t e;
    static const char body[] = "Subject: x\r\n\r\nhi\r\n";
    const char *const rcpt[] = {"bob@example.com"};
    const char *const bad_rcpt[] = {"bob@example.com, eve@example.com"};
    postie_queue_message_t m = {"mail/A", "a@example.com", rcpt, 1, sizeof(body) - 1, false, false};
    postie_smtp_rcpt_t env_rcpt[POSTIE_QUEUE_RCPT_MAX];
    postie_smtp_envelope_t env;
    postie_queue_outcome_t out;
    postie_queue_id_t id = 0;
    const char *p = body;

    postie_queue_ram_init(&ram, mem, sizeof(mem));
    postie_queue_init(&q, postie_queue_ram_store(&ram), NULL); /* NULL: the defaults */
    assert_int_equal(q.limits.messages_max, POSTIE_QUEUE_MESSAGES_MAX);

    m.rcpt = bad_rcpt;
    assert_int_equal(postie_queue_enqueue(&q, &m, read_message, &p, 1000, 1, &id, NULL),
                     POSTIE_E_ADDRESS_INVALID);
    m.rcpt = rcpt;
    assert_int_equal(postie_queue_enqueue(&q, &m, read_message, &p, 1000, 1, &id, NULL), POSTIE_OK);
    assert_int_equal(postie_queue_load(&q, id + 1, true, &e, NULL), POSTIE_E_NOT_FOUND);
    assert_int_equal(postie_queue_load(&q, id, true, &e, NULL), POSTIE_OK);
    postie_queue_envelope(&e, &env, env_rcpt);
    env_rcpt[0].state = POSTIE_RCPT_REJECTED;
    env_rcpt[0].reply.code = 550;
    /* why may be NULL, also for a failure */
    assert_int_equal(
        postie_queue_record(&q, &e, env_rcpt, POSTIE_E_RECIPIENTS_REJECTED, NULL, 1001, 7, &out),
        POSTIE_OK);
    assert_int_equal(out.state, POSTIE_QSTATE_ERROR);
    postie_queue_release(&q, &e);
    assert_int_equal(postie_queue_resend(&q, id, 1002, &e, NULL), POSTIE_OK);
    assert_int_equal(postie_queue_delete(&q, id, &e, NULL), POSTIE_OK);
    assert_int_equal(postie_queue_delete(&q, id, &e, NULL), POSTIE_E_NOT_FOUND);
}

static void test_message_optional_fields(void **state)
{
    (void)state;
    static postie_mime_writer_t w;
    static uint8_t buf[4096];
    postie_mailbox_t to = {NULL, "bob@example.com"};
    postie_message_t m;
    size_t got = 0;

    memset(&m, 0, sizeof(m)); /* no name, sender, subject, Message-ID domain, bodies, lists */
    m.from.address = "nas@example.com";
    m.to = &to;
    m.to_count = 1;
    assert_int_equal(postie_mime_init(&w, &m), POSTIE_OK);
    assert_int_equal(postie_mime_read(&w, buf, sizeof(buf), &got), POSTIE_OK);
    assert_true(got > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_load_file_without_used_path),
        cmocka_unit_test(test_registry_lookups),
        cmocka_unit_test(test_core_helpers),
        cmocka_unit_test(test_smtp_config_optional_fields),
        cmocka_unit_test(test_imap_config_optional_fields),
        cmocka_unit_test(test_queue_without_error_details),
        cmocka_unit_test(test_message_optional_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
