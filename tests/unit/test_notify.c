/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one-call notification API (postie/posix/notify.h) where no server is
 * needed: the registry load and its errors, the session lookup, recipient
 * and address checks before any connection, the session's message defaults
 * (a subject too long once prefixed), a queued notification stored
 * in a spool with the From template and subject prefix applied
 * (POSTIE_NOTIFY_QUEUE_ONLY), the description line, and
 * postie_session_prepare's explanation of a missing secret (never the
 * secret). Delivery through a real server is in integration.install_check
 * and integration.sendmail_cli.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "postie/posix/notify.h"
#include "postie/posix/registry_file.h"

static postie_notifier_t n;
static postie_notify_result_t r;
static char dir[] = "/tmp/postie-test-notify.XXXXXX";
static char reg_path[256];
static char spool_path[256];

static const char registry_json[] =
    "{\"sessions\": {"
    "\"java:comp/env/mail/Notify\": {\"host\": \"127.0.0.1\", \"port\": 1, \"tls\": \"none\","
    " \"from\": \"nas@example.test\", \"from_name\": \"${fullname} (NAS)\","
    " \"subject_prefix\": \"[NAS]\"},"
    "\"mail/Secret\": {\"host\": \"127.0.0.1\", \"port\": 1, \"username\": \"u\","
    " \"password\": {\"env\": \"POSTIE_TEST_NOTIFY_UNSET\"}, \"from\": \"nas@example.test\"}"
    "}}";

static int setup(void **state)
{
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(reg_path, sizeof(reg_path), "%s/registry.json", dir);
    snprintf(spool_path, sizeof(spool_path), "%s/spool", dir);
    f = fopen(reg_path, "w");
    assert_non_null(f);
    fputs(registry_json, f);
    fclose(f);
    chmod(reg_path, 0600);
    unsetenv("POSTIE_TEST_NOTIFY_UNSET");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_open_errors(void **state)
{
    postie_error_t err;
    (void)state;
    assert_int_equal(postie_notifier_open(&n, "/nonexistent/registry.json", &err), POSTIE_E_FILE);
    assert_string_equal(err.subject, "/nonexistent/registry.json");
    /* err may be NULL */
    assert_int_equal(postie_notifier_open(&n, "/nonexistent/registry.json", NULL), POSTIE_E_FILE);
    assert_int_equal(postie_notifier_open(&n, reg_path, &err), POSTIE_OK);
}

static void test_checks_before_connecting(void **state)
{
    const char *to[] = {"ops@example.test"};
    const char *bad[] = {"not an address"};
    const char *many[POSTIE_NOTIFY_RCPT_MAX + 1];
    static char long_subject[POSTIE_MIME_SUBJECT_MAX - 2];
    postie_notification_t m;
    char line[256];
    (void)state;

    assert_int_equal(postie_notifier_open(&n, reg_path, NULL), POSTIE_OK);
    memset(&m, 0, sizeof(m));
    m.session = "mail/Nosuch";
    m.to = to;
    m.to_count = 1;
    assert_int_equal(postie_notify(&n, &m, &r), POSTIE_E_NOT_FOUND);
    assert_string_equal(r.error.subject, "mail/Nosuch");
    assert_string_equal(postie_notify_describe(&r, line, sizeof(line)),
                        "session: no such session or account: mail/Nosuch");

    m.session = "mail/Notify"; /* any spelling of java:comp/env/mail/Notify */
    m.to_count = 0;
    assert_int_equal(postie_notify(&n, &m, &r), POSTIE_E_INVALID_ARGUMENT);
    for (size_t i = 0; i < POSTIE_NOTIFY_RCPT_MAX + 1; i++) {
        many[i] = "ops@example.test";
    }
    m.to = many;
    m.to_count = POSTIE_NOTIFY_RCPT_MAX + 1;
    assert_int_equal(postie_notify(&n, &m, &r), POSTIE_E_INVALID_ARGUMENT);
    m.to = bad;
    m.to_count = 1;
    assert_int_equal(postie_notify(&n, &m, &r), POSTIE_E_ADDRESS_INVALID);
    assert_string_equal(r.error.subject, "not an address");

    /* a subject that no longer fits once the session's prefix is added */
    m.to = to;
    memset(long_subject, 'x', sizeof(long_subject) - 1);
    long_subject[sizeof(long_subject) - 1] = '\0';
    m.subject = long_subject;
    assert_int_equal(postie_notify(&n, &m, &r), POSTIE_E_NO_SPACE);
    assert_string_equal(r.error.phase, "the session's message defaults");
}

static void test_secret_explained_not_shown(void **state)
{
    const char *to[] = {"ops@example.test"};
    postie_notification_t m;
    postie_smtp_client_config_t cfg;
    char password[POSTIE_AUTH_FIELD_MAX + 1];
    postie_error_t why;
    (void)state;

    assert_int_equal(postie_notifier_open(&n, reg_path, NULL), POSTIE_OK);
    memset(&m, 0, sizeof(m));
    m.session = "mail/Secret";
    m.to = to;
    m.to_count = 1;
    assert_int_equal(postie_notify(&n, &m, &r), POSTIE_E_NOT_FOUND);
    assert_non_null(strstr(r.error.phase, "password"));
    assert_non_null(strstr(r.error.subject, "POSTIE_TEST_NOTIFY_UNSET"));

    /* the building block, with why NULL and with why */
    postie_smtp_client_config_defaults(&cfg);
    assert_int_equal(postie_session_prepare(postie_registry_session(n.reg, "mail/Secret"), &cfg,
                                            password, sizeof(password), NULL),
                     POSTIE_E_NOT_FOUND);
    setenv("POSTIE_TEST_NOTIFY_UNSET", "s3cret-value", 1);
    postie_smtp_client_config_defaults(&cfg);
    assert_int_equal(postie_session_prepare(postie_registry_session(n.reg, "mail/Secret"), &cfg,
                                            password, sizeof(password), &why),
                     POSTIE_OK);
    assert_string_equal(cfg.smtp.password, "s3cret-value");
    setenv("POSTIE_TEST_NOTIFY_UNSET", "", 1);
    assert_int_equal(postie_session_prepare(postie_registry_session(n.reg, "mail/Secret"), &cfg,
                                            password, sizeof(password), &why),
                     POSTIE_E_INVALID_ARGUMENT);
    assert_null(strstr(why.subject, "s3cret"));
    assert_string_equal(password, ""); /* wiped */
    unsetenv("POSTIE_TEST_NOTIFY_UNSET");
}

/* What the spool holds: the one entry's file, read whole. */
static size_t read_entry(char *buf, size_t cap)
{
    char cmd[600];
    FILE *p;
    size_t got;
    snprintf(cmd, sizeof(cmd), "cat '%s'/q/*", spool_path);
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(buf, 1, cap - 1, p);
    pclose(p);
    buf[got] = '\0';
    return got;
}

static void test_queue_only_applies_the_session(void **state)
{
    const char *to[] = {"ops@example.test"};
    const char *bcc[] = {"audit@example.test"};
    postie_notification_t m;
    char line[256];
    static char entry[65536];
    size_t len;
    (void)state;

    assert_int_equal(postie_notifier_open(&n, reg_path, NULL), POSTIE_OK);
    memset(&m, 0, sizeof(m));
    m.session = "java:comp/env/mail/Notify";
    m.user_name = "Alice Admin";
    m.to = to;
    m.to_count = 1;
    m.bcc = bcc;
    m.bcc_count = 1;
    m.subject = "Disk 3 failed";
    m.text = "Replace disk 3.\n";
    m.mode = POSTIE_NOTIFY_QUEUE_ONLY;
    m.spool_dir = spool_path;
    assert_int_equal(postie_notify(&n, &m, &r), POSTIE_OK);
    assert_true(r.queued);
    assert_true(r.queue_id != 0);
    assert_int_equal(r.rcpt_count, 2);
    assert_string_equal(r.session, "mail/Notify"); /* the registry's normalised name */
    assert_int_equal(strncmp(postie_notify_describe(&r, line, sizeof(line)), "queued ", 7), 0);

    len = read_entry(entry, sizeof(entry));
    assert_true(len > 0);
    assert_non_null(memmem(entry, len, "Subject: [NAS] Disk 3 failed", 28));
    assert_non_null(memmem(entry, len, "From: \"Alice Admin (NAS)\" <nas@example.test>", 44));
    assert_non_null(memmem(entry, len, "audit@example.test", 18)); /* the envelope */
    assert_null(memmem(entry, len, "Bcc:", 4));                    /* never a header */
    assert_non_null(memmem(entry, len, "Replace disk 3.", 15));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_checks_before_connecting),
        cmocka_unit_test(test_secret_explained_not_shown),
        cmocka_unit_test(test_queue_only_applies_the_session),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
