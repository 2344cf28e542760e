/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The session mappings (core/session/session_map.c): session -> connection
 * and session -> message defaults, field by field; a JavaMail-keyed session
 * from the loader; and the POSIX client configuration built on them
 * (postie_session_client_config, port/posix/registry_file.c), and an
 * account into a mailbox client configuration (postie_account_client_config).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/posix/registry_file.h"
#include "postie/session/registry_json.h"
#include "postie/session/session_map.h"

/* A session as the loader leaves it: defaults resolved, no login. */
static void plain_session(postie_session_t *s)
{
    memset(s, 0, sizeof(*s));
    strcpy(s->name, "mail/Notify");
    s->ep.protocol = POSTIE_PROTO_SMTP;
    strcpy(s->ep.host, "mail.example.com");
    s->ep.port = 25;
    s->ep.tls = POSTIE_TLS_STARTTLS_REQUIRED;
    s->ep.verify = true;
    s->ep.auth = POSTIE_AUTH_NONE;
    strcpy(s->from, "nas01@example.com");
    strcpy(s->from_name, "${fullname} (Postie)");
}

/* ---- session -> connection ---------------------------------------------------------- */

static void test_defaults(void **state)
{
    postie_session_connection_t c;
    postie_smtp_config_t smtp;
    (void)state;

    memset(&c, 0x5a, sizeof(c));
    postie_session_map_defaults(&c);
    postie_smtp_config_defaults(&smtp);
    assert_null(c.host);
    assert_int_equal(c.port, 0);
    assert_null(c.ca_file);
    assert_true(c.verify);
    assert_int_equal(c.connect_timeout_ms, POSTIE_CONNECT_TIMEOUT_MS);
    assert_memory_equal(&c.smtp, &smtp, sizeof(smtp));
}

static void test_every_connection_field_maps(void **state)
{
    postie_session_t s;
    postie_session_connection_t c;
    (void)state;

    plain_session(&s);
    s.ep.protocol = POSTIE_PROTO_SMTPS;
    s.ep.port = 2465;
    s.ep.tls = POSTIE_TLS_IMPLICIT;
    strcpy(s.ep.ca_file, "/etc/postie/ca.pem");
    s.ep.verify = false;
    s.ep.auth = POSTIE_AUTH_BASIC;
    strcpy(s.ep.username, "nas01@example.com");
    s.ep.allow_plaintext_auth = true;
    strcpy(s.ep.ehlo, "nas01.example.com");
    s.ep.connect_timeout_ms = 5000;
    s.ep.timeout_ms = 7000;
    s.ep.write_timeout_ms = 9000;

    postie_session_map_defaults(&c);
    assert_int_equal(postie_session_map_connection(&s, "s3cret", &c), POSTIE_OK);
    assert_ptr_equal(c.host, s.ep.host);
    assert_string_equal(c.host, "mail.example.com");
    assert_int_equal(c.port, 2465);
    assert_string_equal(c.ca_file, "/etc/postie/ca.pem");
    assert_false(c.verify);
    assert_int_equal(c.connect_timeout_ms, 5000);
    assert_int_equal(c.smtp.tls_mode, POSTIE_TLS_IMPLICIT);
    assert_true(c.smtp.allow_plaintext_auth);
    assert_string_equal(c.smtp.ehlo_name, "nas01.example.com");
    assert_string_equal(c.smtp.username, "nas01@example.com");
    assert_string_equal(c.smtp.password, "s3cret");
    assert_int_equal(c.smtp.timeout_greeting_ms, 7000);
    assert_int_equal(c.smtp.timeout_command_ms, 7000);
    assert_int_equal(c.smtp.timeout_data_init_ms, 7000);
    assert_int_equal(c.smtp.timeout_data_end_ms, 7000);
    assert_int_equal(c.smtp.timeout_data_block_ms, 9000);
}

/* What the session leaves unset keeps what conn held: the defaults, or the
 * caller's own choices (postie send --ehlo, --no-pipelining, --timeout). */
static void test_unset_fields_keep_the_callers(void **state)
{
    postie_session_t s;
    postie_session_connection_t c;
    postie_smtp_config_t smtp;
    (void)state;

    plain_session(&s);
    postie_session_map_defaults(&c);
    assert_int_equal(postie_session_map_connection(&s, NULL, &c), POSTIE_OK);
    postie_smtp_config_defaults(&smtp);
    assert_null(c.ca_file); /* the system bundle */
    assert_true(c.verify);
    assert_string_equal(c.smtp.ehlo_name, "localhost"); /* the default */
    assert_null(c.smtp.username);                       /* no login */
    assert_null(c.smtp.password);
    assert_false(c.smtp.allow_plaintext_auth);
    assert_int_equal(c.connect_timeout_ms, POSTIE_CONNECT_TIMEOUT_MS);
    assert_int_equal(c.smtp.timeout_greeting_ms, smtp.timeout_greeting_ms);
    assert_int_equal(c.smtp.timeout_command_ms, smtp.timeout_command_ms);
    assert_int_equal(c.smtp.timeout_data_init_ms, smtp.timeout_data_init_ms);
    assert_int_equal(c.smtp.timeout_data_block_ms, smtp.timeout_data_block_ms);
    assert_int_equal(c.smtp.timeout_data_end_ms, smtp.timeout_data_end_ms);

    postie_session_map_defaults(&c);
    c.smtp.ehlo_name = "caller.example.com";
    c.smtp.use_pipelining = false;
    c.smtp.use_chunking = false;
    c.smtp.sasl_allowed = POSTIE_SASL_LOGIN;
    c.connect_timeout_ms = 1234;
    c.smtp.timeout_command_ms = 4321;
    assert_int_equal(postie_session_map_connection(&s, NULL, &c), POSTIE_OK);
    assert_string_equal(c.smtp.ehlo_name, "caller.example.com");
    assert_false(c.smtp.use_pipelining);
    assert_false(c.smtp.use_chunking);
    assert_int_equal(c.smtp.sasl_allowed, POSTIE_SASL_LOGIN);
    assert_int_equal(c.connect_timeout_ms, 1234);
    assert_int_equal(c.smtp.timeout_command_ms, 4321);

    /* ... and what the session sets wins over them */
    strcpy(s.ep.ehlo, "session.example.com");
    s.ep.timeout_ms = 60000;
    assert_int_equal(postie_session_map_connection(&s, NULL, &c), POSTIE_OK);
    assert_string_equal(c.smtp.ehlo_name, "session.example.com");
    assert_int_equal(c.smtp.timeout_command_ms, 60000);
}

static void test_login_errors(void **state)
{
    postie_session_t s;
    postie_session_connection_t c;
    char longest[POSTIE_AUTH_FIELD_MAX + 2];
    (void)state;

    plain_session(&s);
    s.ep.auth = POSTIE_AUTH_BASIC;
    strcpy(s.ep.username, "nas01");
    postie_session_map_defaults(&c);
    assert_int_equal(postie_session_map_connection(&s, NULL, &c), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_session_map_connection(&s, "", &c), POSTIE_E_INVALID_ARGUMENT);
    assert_null(c.smtp.password);

    memset(longest, 'p', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0'; /* POSTIE_AUTH_FIELD_MAX + 1 octets */
    assert_int_equal(postie_session_map_connection(&s, longest, &c), POSTIE_E_NO_SPACE);
    longest[POSTIE_AUTH_FIELD_MAX] = '\0'; /* exactly the limit */
    assert_int_equal(postie_session_map_connection(&s, longest, &c), POSTIE_OK);
    assert_ptr_equal(c.smtp.password, longest);

    /* OAuth 2.0: the user and the mechanism, never a password; the token
     * is the caller's provider's */
    s.ep.auth = POSTIE_AUTH_OAUTH2;
    s.ep.oauth2.mechanism = POSTIE_SASL_OAUTHBEARER;
    postie_session_map_defaults(&c);
    assert_int_equal(postie_session_map_connection(&s, "x", &c), POSTIE_OK);
    assert_null(c.smtp.password);
    assert_null(c.smtp.oauth_token);
    assert_string_equal(c.smtp.username, "nas01");
    assert_int_equal(c.smtp.oauth_mechanism, POSTIE_SASL_OAUTHBEARER);
    assert_string_equal(c.smtp.oauth_host, s.ep.host);
    s.ep.oauth2.mechanism = 0; /* the registry's default */
    assert_int_equal(postie_session_map_connection(&s, NULL, &c), POSTIE_OK);
    assert_int_equal(c.smtp.oauth_mechanism, POSTIE_SASL_XOAUTH2);

    /* a user name without a login is not sent */
    s.ep.auth = POSTIE_AUTH_NONE;
    postie_session_map_defaults(&c);
    assert_int_equal(postie_session_map_connection(&s, "x", &c), POSTIE_OK);
    assert_null(c.smtp.username);
    assert_null(c.smtp.password);
}

/* ---- session -> message defaults ------------------------------------------------------- */

static void test_envelope_sender_default(void **state)
{
    postie_session_t s;
    postie_session_message_t m;
    char name[128];
    (void)state;

    plain_session(&s);
    assert_int_equal(postie_session_map_message(&s, NULL, "x", name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_string_equal(m.from, "nas01@example.com");
    assert_ptr_equal(m.envelope_from, s.from); /* no envelope_from: the From address */
    assert_int_equal(m.failed, POSTIE_F_COUNT);

    strcpy(s.envelope_from, "bounces@example.com");
    assert_int_equal(postie_session_map_message(&s, NULL, "x", name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_string_equal(m.from, "nas01@example.com");
    assert_string_equal(m.envelope_from, "bounces@example.com");
}

static void test_from_name_japanese_full_name(void **state)
{
    postie_session_t s;
    postie_session_message_t m;
    postie_template_user_t user = {"山田 太郎", "taro.yamada@example.co.jp"};
    char name[128];
    (void)state;

    plain_session(&s);
    assert_int_equal(postie_session_map_message(&s, &user, NULL, name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_string_equal(m.from_name, "山田 太郎 (Postie)");

    strcpy(s.from_name, "${fullname}（${email.hostname}）");
    assert_int_equal(postie_session_map_message(&s, &user, NULL, name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_string_equal(m.from_name, "山田 太郎（example.co.jp）");
    assert_ptr_equal(m.from_name, name);

    /* too small: cut between characters, reported with the field */
    assert_int_equal(postie_session_map_message(&s, &user, NULL, name, 8, NULL, 0, &m),
                     POSTIE_E_NO_SPACE);
    assert_int_equal(m.failed, POSTIE_F_FROM_NAME);
    assert_null(m.from_name);
    assert_string_equal(m.from, "nas01@example.com"); /* set whatever happens */
}

static void test_from_name_trimmed(void **state)
{
    postie_session_t s;
    postie_session_message_t m;
    postie_template_user_t nameless = {NULL, "joe@example.com"};
    postie_template_user_t spaced = {"  Joe Bloggs ", NULL};
    char name[128];
    (void)state;

    plain_session(&s); /* "${fullname} (Postie)" */
    assert_int_equal(
        postie_session_map_message(&s, &nameless, NULL, name, sizeof(name), NULL, 0, &m),
        POSTIE_OK);
    assert_string_equal(m.from_name, "(Postie)");
    assert_int_equal(postie_session_map_message(&s, &spaced, NULL, name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_string_equal(m.from_name, "Joe Bloggs  (Postie)"); /* inside spaces stay */

    strcpy(s.from_name, "${fullname}");
    assert_int_equal(
        postie_session_map_message(&s, &nameless, NULL, name, sizeof(name), NULL, 0, &m),
        POSTIE_OK);
    assert_null(m.from_name); /* nothing left: no display name */
    assert_int_equal(postie_session_map_message(&s, &spaced, NULL, name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_string_equal(m.from_name, "Joe Bloggs"); /* both ends */
    assert_int_equal(postie_session_map_message(&s, NULL, NULL, name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_null(m.from_name);
}

static void test_subject_prefix_spacing(void **state)
{
    postie_session_t s;
    postie_session_message_t m;
    char name[128];
    char subject[64];
    const char *mine = "Disk alert";
    (void)state;

    plain_session(&s);
    /* no prefix: the caller's subject itself, NULL included */
    assert_int_equal(postie_session_map_message(&s, NULL, mine, name, sizeof(name), subject,
                                                sizeof(subject), &m),
                     POSTIE_OK);
    assert_ptr_equal(m.subject, mine);
    assert_int_equal(postie_session_map_message(&s, NULL, NULL, name, sizeof(name), subject,
                                                sizeof(subject), &m),
                     POSTIE_OK);
    assert_null(m.subject);

    strcpy(s.subject_prefix, "[NAS-01]");
    assert_int_equal(postie_session_map_message(&s, NULL, mine, name, sizeof(name), subject,
                                                sizeof(subject), &m),
                     POSTIE_OK);
    assert_string_equal(m.subject, "[NAS-01] Disk alert");
    assert_ptr_equal(m.subject, subject);

    strcpy(s.subject_prefix, "[NAS-01] "); /* brings its own space: one space */
    assert_int_equal(postie_session_map_message(&s, NULL, mine, name, sizeof(name), subject,
                                                sizeof(subject), &m),
                     POSTIE_OK);
    assert_string_equal(m.subject, "[NAS-01] Disk alert");

    /* no subject: the prefix alone, as written */
    assert_int_equal(postie_session_map_message(&s, NULL, NULL, name, sizeof(name), subject,
                                                sizeof(subject), &m),
                     POSTIE_OK);
    assert_string_equal(m.subject, "[NAS-01] ");

    /* does not fit: an error naming the prefix, nothing cut */
    assert_int_equal(
        postie_session_map_message(&s, NULL, mine, name, sizeof(name), subject, 12, &m),
        POSTIE_E_NO_SPACE);
    assert_int_equal(m.failed, POSTIE_F_SUBJECT_PREFIX);
    assert_null(m.subject);
    assert_null(m.from_name);
    assert_int_equal(postie_session_map_message(&s, NULL, mine, name, sizeof(name), NULL, 0, &m),
                     POSTIE_E_NO_SPACE);
}

/* ---- a JavaMail-keyed session, through the loader ---------------------------------------- */

static postie_registry_t reg;
static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE];

static void test_javamail_session(void **state)
{
    static const char json[] = "{\"sessions\": {\"java:comp/env/mail/Legacy\": {"
                               "\"mail.transport.protocol\": \"smtp\","
                               "\"mail.smtp.host\": \"mail.example.com\","
                               "\"mail.smtp.port\": \"587\","
                               "\"mail.smtp.starttls.enable\": \"true\","
                               "\"mail.smtp.auth\": \"true\","
                               "\"mail.smtp.user\": \"nas01\","
                               "\"mail.smtp.password\": {\"env\": \"NAS01_PASSWORD\"},"
                               "\"mail.smtp.connectiontimeout\": \"5000\","
                               "\"mail.smtp.timeout\": \"7000\","
                               "\"mail.smtp.writetimeout\": \"9000\","
                               "\"mail.smtp.localhost\": \"nas01.example.com\","
                               "\"mail.from\": \"nas01@example.com\","
                               "\"mail.smtp.from\": \"bounces@example.com\"}}}";
    const postie_session_t *s;
    postie_session_connection_t c;
    postie_session_message_t m;
    postie_template_user_t user = {"Joe Bloggs", NULL};
    char name[128];
    (void)state;

    assert_int_equal(postie_registry_load(&reg, json, strlen(json), arena, sizeof(arena), NULL),
                     POSTIE_OK);
    s = postie_registry_session(&reg, "mail/Legacy");
    assert_non_null(s);

    postie_session_map_defaults(&c);
    assert_int_equal(postie_session_map_connection(s, "pw", &c), POSTIE_OK);
    assert_string_equal(c.host, "mail.example.com");
    assert_int_equal(c.port, 587);
    assert_int_equal(c.smtp.tls_mode, POSTIE_TLS_STARTTLS_OPPORTUNISTIC);
    assert_true(c.verify);
    assert_null(c.ca_file);
    assert_string_equal(c.smtp.username, "nas01");
    assert_string_equal(c.smtp.password, "pw");
    assert_string_equal(c.smtp.ehlo_name, "nas01.example.com");
    assert_int_equal(c.connect_timeout_ms, 5000);
    assert_int_equal(c.smtp.timeout_command_ms, 7000);
    assert_int_equal(c.smtp.timeout_data_block_ms, 9000);

    assert_int_equal(postie_session_map_message(s, &user, "Hello", name, sizeof(name), NULL, 0, &m),
                     POSTIE_OK);
    assert_string_equal(m.from, "nas01@example.com");
    assert_string_equal(m.envelope_from, "bounces@example.com");
    assert_string_equal(m.from_name, "Joe Bloggs (Postie)"); /* the default template */
    assert_string_equal(m.subject, "Hello");
}

/* ---- the POSIX client configuration on top ---------------------------------------------- */

static void test_posix_client_config(void **state)
{
    postie_session_t s;
    postie_smtp_client_config_t cfg;
    char password[POSTIE_AUTH_FIELD_MAX + 1];
    (void)state;

    plain_session(&s);
    s.ep.port = 2525;
    s.ep.tls = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
    strcpy(s.ep.ca_file, "/tmp/ca.pem");
    s.ep.verify = false;
    s.ep.auth = POSTIE_AUTH_BASIC;
    strcpy(s.ep.username, "nas01");
    s.ep.password.kind = POSTIE_SECRET_INLINE;
    strcpy(s.ep.password.value, "inline-secret");
    s.ep.connect_timeout_ms = 3000;

    postie_smtp_client_config_defaults(&cfg);
    cfg.connect_to = "127.0.0.1"; /* the caller's: untouched */
    cfg.smtp.use_pipelining = false;
    assert_int_equal(postie_session_client_config(&s, &cfg, password, sizeof(password)), POSTIE_OK);
    assert_string_equal(cfg.host, "mail.example.com");
    assert_int_equal(cfg.port, 2525);
    assert_string_equal(cfg.connect_to, "127.0.0.1");
    assert_int_equal(cfg.connect_timeout_ms, 3000);
    assert_int_equal(cfg.smtp.tls_mode, POSTIE_TLS_STARTTLS_OPPORTUNISTIC);
    assert_false(cfg.smtp.use_pipelining);
    assert_string_equal(cfg.tls.ca_file, "/tmp/ca.pem");
    assert_true(cfg.tls.insecure_skip_verify);
    assert_null(cfg.tls.verify_name);
    assert_string_equal(cfg.smtp.username, "nas01");
    assert_ptr_equal(cfg.smtp.password, password);
    assert_string_equal(password, "inline-secret");

    /* a secret that cannot be read: its status, as before */
    s.ep.password.kind = POSTIE_SECRET_ENV;
    strcpy(s.ep.password.value, "POSTIE_TEST_SESSION_MAP_UNSET");
    unsetenv("POSTIE_TEST_SESSION_MAP_UNSET");
    postie_smtp_client_config_defaults(&cfg);
    assert_int_equal(postie_session_client_config(&s, &cfg, password, sizeof(password)),
                     POSTIE_E_NOT_FOUND);

    /* OAuth 2.0 reads no secret (the unset variable does not matter) */
    s.ep.auth = POSTIE_AUTH_OAUTH2;
    s.ep.oauth2.mechanism = POSTIE_SASL_XOAUTH2;
    postie_smtp_client_config_defaults(&cfg);
    password[0] = '\0';
    assert_int_equal(postie_session_client_config(&s, &cfg, password, sizeof(password)), POSTIE_OK);
    assert_string_equal(cfg.smtp.username, "nas01");
    assert_null(cfg.smtp.password);
    assert_int_equal(cfg.smtp.oauth_mechanism, POSTIE_SASL_XOAUTH2);
    assert_null(cfg.token); /* the caller's to set */
    assert_string_equal(password, "");
}

/* An account as loaded from JSON, into a mailbox client configuration. */
static void test_posix_account_config(void **state)
{
    static const char json[] =
        "{\"accounts\": {"
        "\"Support\": {\"protocol\": \"pop3\", \"host\": \"pop.example.com\", \"port\": 2110, "
        "\"user\": \"support\", \"password\": \"pop-secret\", \"apop\": true, "
        "\"tls\": \"starttls-optional\", \"ca_file\": \"/ca.pem\", \"verify\": false, "
        "\"timeout\": 7, \"connect_timeout\": 3, \"maildir\": \"/m\"},"
        "\"Archive\": {\"protocol\": \"imaps\", \"host\": \"imap.example.com\", "
        "\"user\": \"archive\", \"password\": {\"env\": \"POSTIE_TEST_ACCOUNT_UNSET\"}, "
        "\"folder\": \"Lists/ops\"}}}";
    postie_mailbox_client_config_t cfg;
    char password[POSTIE_AUTH_FIELD_MAX + 1];
    const postie_account_t *a;
    (void)state;

    assert_int_equal(postie_registry_load(&reg, json, strlen(json), arena, sizeof(arena), NULL),
                     POSTIE_OK);
    a = postie_registry_account(&reg, "Support");
    assert_non_null(a);
    postie_mailbox_client_config_defaults(&cfg);
    assert_int_equal(postie_account_client_config(a, &cfg, password, sizeof(password)), POSTIE_OK);
    assert_int_equal(cfg.protocol, POSTIE_FETCH_POP3);
    assert_string_equal(cfg.host, "pop.example.com");
    assert_int_equal(cfg.port, 2110);
    assert_int_equal(cfg.tls_mode, POSTIE_TLS_STARTTLS_OPPORTUNISTIC);
    assert_string_equal(cfg.tls.ca_file, "/ca.pem");
    assert_true(cfg.tls.insecure_skip_verify);
    assert_int_equal(cfg.reply_timeout_ms, 7000);
    assert_int_equal(cfg.connect_timeout_ms, 3000);
    assert_string_equal(cfg.user, "support");
    assert_ptr_equal(cfg.password, password);
    assert_string_equal(password, "pop-secret");
    assert_true(cfg.use_apop);
    assert_false(cfg.allow_plaintext_auth);

    a = postie_registry_account(&reg, "Archive");
    assert_non_null(a);
    postie_mailbox_client_config_defaults(&cfg);
    unsetenv("POSTIE_TEST_ACCOUNT_UNSET");
    assert_int_equal(postie_account_client_config(a, &cfg, password, sizeof(password)),
                     POSTIE_E_NOT_FOUND);
    assert_null(cfg.password); /* never a half-read secret */
    setenv("POSTIE_TEST_ACCOUNT_UNSET", "imap-secret", 1);
    postie_mailbox_client_config_defaults(&cfg);
    assert_int_equal(postie_account_client_config(a, &cfg, password, sizeof(password)), POSTIE_OK);
    assert_int_equal(cfg.protocol, POSTIE_FETCH_IMAP);
    assert_int_equal(cfg.port, 993);
    assert_int_equal(cfg.tls_mode, POSTIE_TLS_IMPLICIT);
    assert_null(cfg.tls.ca_file); /* the system bundle */
    assert_false(cfg.tls.insecure_skip_verify);
    assert_string_equal(cfg.folder, "Lists/ops");
    assert_string_equal(password, "imap-secret");
    assert_false(cfg.use_apop);

    /* OAuth 2.0: the user and the mechanism, no secret read */
    {
        static postie_account_t o;
        o = *a;
        o.ep.auth = POSTIE_AUTH_OAUTH2;
        o.ep.oauth2.mechanism = POSTIE_SASL_OAUTHBEARER;
        unsetenv("POSTIE_TEST_ACCOUNT_UNSET");
        postie_mailbox_client_config_defaults(&cfg);
        assert_int_equal(postie_account_client_config(&o, &cfg, password, sizeof(password)),
                         POSTIE_OK);
        assert_string_equal(cfg.user, "archive");
        assert_null(cfg.password);
        assert_null(cfg.token);
        assert_int_equal(cfg.oauth_mechanism, POSTIE_SASL_OAUTHBEARER);
        o.ep.oauth2.mechanism = 0;
        assert_int_equal(postie_account_client_config(&o, &cfg, password, sizeof(password)),
                         POSTIE_OK);
        assert_int_equal(cfg.oauth_mechanism, POSTIE_SASL_XOAUTH2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_connection_field_maps),
        cmocka_unit_test(test_unset_fields_keep_the_callers),
        cmocka_unit_test(test_login_errors),
        cmocka_unit_test(test_envelope_sender_default),
        cmocka_unit_test(test_from_name_japanese_full_name),
        cmocka_unit_test(test_from_name_trimmed),
        cmocka_unit_test(test_subject_prefix_spacing),
        cmocka_unit_test(test_javamail_session),
        cmocka_unit_test(test_posix_client_config),
        cmocka_unit_test(test_posix_account_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
