/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry loader: the example file, the three spellings of a name, the
 * JavaMail mapping, "jndi" references, every error with its JSON path, the
 * limits, fail-closed loading, and proof that a load never calls the
 * system allocator.
 */
#define _GNU_SOURCE /* __libc_malloc and friends for the allocator count */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/session/registry_json.h"
#include "postie/common/sasl.h"

/* ---- counting the system allocator (not under ASan, which owns malloc) ---- */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCATIONS 0
#else
#define COUNT_ALLOCATIONS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static volatile int counting;
static volatile long allocations;
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void free(void *p);
void *malloc(size_t n)
{
    if (counting) {
        allocations++;
    }
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (counting) {
        allocations++;
    }
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (counting) {
        allocations++;
    }
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (counting && p != NULL) {
        allocations++;
    }
    __libc_free(p);
}
#endif

/* ---- helpers ------------------------------------------------------------------- */

static postie_registry_t reg;
static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE];

static postie_status_t load(const char *json)
{
    return postie_registry_load(&reg, json, strlen(json), arena, sizeof(arena), NULL);
}

/* Some problem has exactly this path and a message containing text. */
static void expect_problem(bool warning, const char *path, const char *text)
{
    for (size_t i = 0; i < reg.problem_count; i++) {
        const postie_registry_problem_t *p = &reg.problems[i];
        if (p->warning == warning && strcmp(p->path, path) == 0 && strstr(p->message, text)) {
            return;
        }
    }
    for (size_t i = 0; i < reg.problem_count; i++) {
        print_message("  have: %s %s: %s\n", reg.problems[i].warning ? "warning" : "error",
                      reg.problems[i].path, reg.problems[i].message);
    }
    fail_msg("no %s at %s containing \"%s\"", warning ? "warning" : "error", path, text);
}

static void expect_invalid(const char *json, const char *path, const char *text)
{
    postie_status_t st = load(json);
    if (st != POSTIE_E_REGISTRY_INVALID) {
        fail_msg("%s: status %s", json, postie_status_name(st));
    }
    expect_problem(false, path, text);
    assert_false(reg.loaded);
    assert_int_equal(reg.session_count, 0); /* fail closed */
    assert_null(postie_registry_session(&reg, "mail/A"));
}

static char *read_file(const char *path, size_t *len)
{
    static char buf[POSTIE_REGISTRY_FILE_MAX + 1];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

/* ---- the example file ------------------------------------------------------------ */

static void test_example_file(void **state)
{
    (void)state;
    size_t len;
    char *json = read_file(POSTIE_EXAMPLE_REGISTRY, &len);
    const postie_session_t *s;
    const postie_account_t *a;

    assert_int_equal(postie_registry_load(&reg, json, len, arena, sizeof(arena), NULL), POSTIE_OK);
    assert_true(reg.loaded);
    assert_int_equal(reg.error_count, 0);
    assert_string_equal(reg.product, "Appliance");
    assert_int_equal(reg.session_count, 6);
    assert_int_equal(reg.account_count, 2);

    /* the three spellings find the same entry */
    s = postie_registry_session(&reg, "java:comp/env/mail/Notify");
    assert_non_null(s);
    assert_ptr_equal(s, postie_registry_session(&reg, "java:/comp/env/mail/Notify"));
    assert_ptr_equal(s, postie_registry_session(&reg, "mail/Notify"));
    assert_null(postie_registry_session(&reg, "mail/notify")); /* case-sensitive */

    /* the transport came from mail/Base, and the origin says so */
    assert_string_equal(s->ep.host, "smtp.example.com");
    assert_int_equal(s->ep.port, 587);
    assert_int_equal(s->ep.tls, POSTIE_TLS_STARTTLS_REQUIRED);
    assert_int_equal(s->ep.password.kind, POSTIE_SECRET_FILE);
    assert_string_equal(postie_registry_origin_entry(&reg, &s->origin[POSTIE_F_HOST]), "mail/Base");
    assert_null(postie_registry_origin_entry(&reg, &s->origin[POSTIE_F_FROM])); /* its own */
    assert_string_equal(s->origin[POSTIE_F_HOST].key, "host");
    assert_string_equal(s->from, "confluence-administrator@example-company.com");
    assert_string_equal(s->envelope_from, "bounces@example-company.com");
    assert_string_equal(s->from_name, "${fullname} (Confluence)");
    assert_string_equal(s->subject_prefix, "[NAS-01] ");
    assert_string_equal(s->jndi, "mail/Base");

    /* default template uses the product name */
    s = postie_registry_session(&reg, "mail/Base");
    assert_string_equal(s->from_name, "${fullname} (Appliance)");
    assert_int_equal(s->ep.connect_timeout_ms, 30000);
    assert_string_equal(s->ep.ehlo, "nas01.example.com");

    /* JavaMail spelling */
    s = postie_registry_session(&reg, "mail/Tomcat");
    assert_int_equal(s->ep.protocol, POSTIE_PROTO_SMTP);
    assert_string_equal(s->ep.host, "mail.example.org");
    assert_int_equal(s->ep.port, 25);
    assert_int_equal(s->ep.tls, POSTIE_TLS_STARTTLS_REQUIRED);
    assert_int_equal(s->ep.auth, POSTIE_AUTH_BASIC);
    assert_string_equal(s->ep.username, "alerts@example.org");
    assert_int_equal(s->ep.password.kind, POSTIE_SECRET_ENV);
    assert_string_equal(s->ep.password.value, "POSTIE_TOMCAT_PASSWORD");
    assert_int_equal(s->ep.connect_timeout_ms, 10000);
    assert_int_equal(s->ep.timeout_ms, 60000);
    assert_int_equal(s->ep.write_timeout_ms, 60000);
    assert_string_equal(s->ep.ehlo, "nas01.example.org");
    assert_string_equal(s->from, "alerts@example.org");
    assert_string_equal(s->envelope_from, "bounces@example.org");
    assert_string_equal(s->origin[POSTIE_F_HOST].key, "mail.smtp.host");

    s = postie_registry_session(&reg, "mail/Lab");
    assert_int_equal(s->ep.tls, POSTIE_TLS_NONE);
    assert_true(s->ep.allow_plaintext_auth);
    s = postie_registry_session(&reg, "mail/Cloud");
    assert_int_equal(s->ep.auth, POSTIE_AUTH_OAUTH2);
    assert_string_equal(s->ep.host, "smtp.example.com");
    assert_int_equal(s->ep.oauth2.provider, POSTIE_OAUTH2_MICROSOFT);
    assert_string_equal(s->ep.oauth2.token_store, "/var/lib/postie/oauth/mail-Cloud.json");
    for (size_t i = 0; i < reg.problem_count; i++) {
        assert_null(strstr(reg.problems[i].path, "mail/Cloud")); /* loads cleanly */
    }

    s = postie_registry_session(&reg, "mail/Secure");
    assert_int_equal(s->ep.protocol, POSTIE_PROTO_SMTPS);
    assert_int_equal(s->ep.port, 465);
    assert_int_equal(s->ep.tls, POSTIE_TLS_IMPLICIT);

    a = postie_registry_account(&reg, "java:comp/env/mail/Archive");
    assert_non_null(a);
    assert_int_equal(a->ep.protocol, POSTIE_PROTO_IMAPS);
    assert_int_equal(a->ep.port, 993);
    assert_int_equal(a->poll_interval_s, 1800);
    assert_true(a->enabled);
    a = postie_registry_account(&reg, "mail/Tickets");
    assert_int_equal(a->ep.protocol, POSTIE_PROTO_POP3);
    assert_int_equal(a->ep.port, 110);
    assert_int_equal(a->ep.tls, POSTIE_TLS_STARTTLS_REQUIRED);
    assert_false(a->enabled);
    assert_string_equal(a->folder, "INBOX");
}

/* ---- accounts ------------------------------------------------------------------------ */

#define ACCOUNT(body) "{\"accounts\": {\"Support\": {" body "}}}"
#define LOGIN         "\"user\": \"u\", \"password\": \"p\""

static void test_accounts(void **state)
{
    (void)state;
    const postie_account_t *a;

    /* defaults per protocol: ports, TLS required for the plain ones, INBOX,
     * 30 minutes, delete after archive, the state file next to the Maildir */
    assert_int_equal(load(ACCOUNT("\"protocol\": \"pop3\", \"host\": \"h\", " LOGIN
                                  ", \"maildir\": \"/var/mail/s\"")),
                     POSTIE_OK);
    a = postie_registry_account(&reg, "Support");
    assert_non_null(a);
    assert_int_equal(a->ep.port, 110);
    assert_int_equal(a->ep.tls, POSTIE_TLS_STARTTLS_REQUIRED);
    assert_int_equal(a->ep.auth, POSTIE_AUTH_BASIC);
    assert_false(a->ep.allow_plaintext_auth);
    assert_false(a->apop);
    assert_true(a->enabled);
    assert_true(a->delete_after_archive);
    assert_int_equal(a->poll_interval_s, 1800);
    assert_string_equal(a->folder, "INBOX");
    assert_string_equal(a->maildir, "/var/mail/s");
    assert_string_equal(a->state_file, "/var/mail/s/" POSTIE_ACCOUNT_STATE_FILE_DEFAULT);
    assert_string_equal(a->origin[POSTIE_F_MAILDIR].key, "maildir");
    assert_string_equal(a->origin[POSTIE_F_STATE_FILE].key, "");

    assert_int_equal(load(ACCOUNT("\"protocol\": \"pop3s\", \"host\": \"h\", " LOGIN)), POSTIE_OK);
    a = postie_registry_account(&reg, "Support");
    assert_int_equal(a->ep.port, 995);
    assert_int_equal(a->ep.tls, POSTIE_TLS_IMPLICIT);
    assert_string_equal(a->maildir, ""); /* testable, not fetchable */
    assert_string_equal(a->state_file, "");
    assert_int_equal(load(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", " LOGIN)), POSTIE_OK);
    assert_int_equal(postie_registry_account(&reg, "Support")->ep.port, 143);
    assert_int_equal(postie_registry_account(&reg, "Support")->ep.tls,
                     POSTIE_TLS_STARTTLS_REQUIRED);
    assert_int_equal(load(ACCOUNT("\"protocol\": \"imaps\", \"host\": \"h\", " LOGIN)), POSTIE_OK);
    assert_int_equal(postie_registry_account(&reg, "Support")->ep.port, 993);

    /* every field given */
    assert_int_equal(
        load(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"port\": 1143, " LOGIN
                     ", \"tls\": \"none\", \"allow_plaintext_auth\": true, \"ca_file\": \"/ca\", "
                     "\"verify\": true, \"folder\": \"Archive/In\", \"enabled\": false, "
                     "\"poll_interval\": 60, \"keep_on_server\": true, \"maildir\": \"/m/\", "
                     "\"state_file\": \"/var/lib/postie/s.state\"")),
        POSTIE_OK);
    a = postie_registry_account(&reg, "Support");
    assert_int_equal(a->ep.port, 1143);
    assert_int_equal(a->ep.tls, POSTIE_TLS_NONE);
    assert_true(a->ep.allow_plaintext_auth);
    assert_string_equal(a->ep.ca_file, "/ca");
    assert_string_equal(a->folder, "Archive/In");
    assert_false(a->enabled);
    assert_int_equal(a->poll_interval_s, 60);
    assert_false(a->delete_after_archive);
    assert_string_equal(a->origin[POSTIE_F_DELETE].key, "keep_on_server");
    assert_string_equal(a->state_file, "/var/lib/postie/s.state");
    assert_int_equal(load(ACCOUNT("\"protocol\": \"pop3\", \"host\": \"h\", " LOGIN
                                  ", \"apop\": true, \"delete_after_archive\": false, "
                                  "\"maildir\": \"/m/\"")),
                     POSTIE_OK);
    a = postie_registry_account(&reg, "Support");
    assert_true(a->apop);
    assert_false(a->delete_after_archive);
    assert_string_equal(a->state_file, "/m/" POSTIE_ACCOUNT_STATE_FILE_DEFAULT);

    /* JavaMail's names, as sessions accept mail.smtp.* */
    assert_int_equal(load(ACCOUNT("\"mail.store.protocol\": \"pop3\", \"mail.pop3.host\": \"h\", "
                                  "\"mail.pop3.port\": \"2110\", \"mail.pop3.user\": \"u\", "
                                  "\"mail.pop3.password\": {\"env\": \"P\"}, "
                                  "\"mail.pop3.apop.enable\": \"true\"")),
                     POSTIE_OK);
    a = postie_registry_account(&reg, "Support");
    assert_int_equal(a->ep.port, 2110);
    assert_true(a->apop);
    assert_int_equal(a->ep.password.kind, POSTIE_SECRET_ENV);
    assert_string_equal(a->origin[POSTIE_F_PORT].key, "mail.pop3.port");
    assert_int_equal(load(ACCOUNT("\"mail.store.protocol\": \"imap\", \"mail.imap.host\": \"h\", "
                                  "\"mail.imap.ssl.enable\": \"true\", \"mail.imap.user\": \"u\", "
                                  "\"mail.imap.password\": \"p\"")),
                     POSTIE_OK);
    a = postie_registry_account(&reg, "Support");
    assert_int_equal(a->ep.protocol, POSTIE_PROTO_IMAPS);
    assert_int_equal(a->ep.port, 993);

    /* each mistake named by its JSON path */
    expect_invalid(ACCOUNT("\"protocol\": \"pop3\", \"host\": \"h\", \"port\": 0, " LOGIN),
                   "accounts[\"Support\"].port", "1..65535");
    expect_invalid(ACCOUNT("\"protocol\": \"pop\", \"host\": \"h\", " LOGIN),
                   "accounts[\"Support\"].protocol", "pop3, pop3s, imap or imaps");
    expect_invalid(ACCOUNT("\"protocol\": \"pop3\", \"host\": \"h\", \"password\": \"p\""),
                   "accounts[\"Support\"].username", "is required");
    expect_invalid(ACCOUNT("\"protocol\": \"pop3\", \"host\": \"h\", \"user\": \"u\""),
                   "accounts[\"Support\"].password", "is required");
    expect_invalid(ACCOUNT("\"protocol\": \"pop3\", \"host\": \"h\", \"tls\": \"none\", " LOGIN),
                   "accounts[\"Support\"].tls", "in clear");
    expect_invalid(
        ACCOUNT("\"protocol\": \"pop3s\", \"host\": \"h\", \"tls\": \"starttls\", " LOGIN),
        "accounts[\"Support\"].tls", "does not apply");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"apop\": true, " LOGIN),
                   "accounts[\"Support\"].apop", "pop3 and pop3s only");
    expect_invalid(ACCOUNT("\"protocol\": \"pop3\", \"host\": \"h\", \"folder\": \"Sent\", " LOGIN),
                   "accounts[\"Support\"].folder", "imap and imaps only");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"folder\": \"\", " LOGIN),
                   "accounts[\"Support\"].folder", "must not be empty");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"maildir\": \"\", " LOGIN),
                   "accounts[\"Support\"].maildir", "must not be empty");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"maildir\": 3, " LOGIN),
                   "accounts[\"Support\"].maildir", "must be a string");
    expect_invalid(
        ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"state_file\": \"a\\nb\", " LOGIN),
        "accounts[\"Support\"].state_file", "control character");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"poll_interval\": 0, " LOGIN),
                   "accounts[\"Support\"].poll_interval", "1..86400");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"enabled\": \"yes\", " LOGIN),
                   "accounts[\"Support\"].enabled", "true or false");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"keep_on_server\": true, "
                           "\"delete_after_archive\": true, " LOGIN),
                   "accounts[\"Support\"].delete_after_archive", "set twice");
    expect_invalid(ACCOUNT("\"protocol\": \"imap\", \"host\": \"h\", \"from\": \"a@b.c\", " LOGIN),
                   "accounts[\"Support\"].from", "unknown key");
    assert_int_equal(reg.account_count, 0); /* fail closed */
}

static void test_names(void **state)
{
    (void)state;
    char out[POSTIE_REGISTRY_NAME_MAX];
    assert_true(postie_registry_normalise("java:comp/env/mail/X", out, sizeof(out)));
    assert_string_equal(out, "mail/X");
    assert_true(postie_registry_normalise("java:/comp/env/mail/X", out, sizeof(out)));
    assert_string_equal(out, "mail/X");
    assert_true(postie_registry_normalise("mail/X", out, sizeof(out)));
    assert_string_equal(out, "mail/X");
    assert_true(postie_registry_normalise("java:global/mail/X", out, sizeof(out)));
    assert_string_equal(out, "global/mail/X");
    assert_false(postie_registry_normalise("java:comp/env/", out, sizeof(out)));
    assert_false(postie_registry_normalise("mail/with space", out, sizeof(out)));
    assert_false(postie_registry_normalise("mail/X", out, 4));
}

/* ---- JavaMail details and references ---------------------------------------------- */

static void test_javamail_tls_flags(void **state)
{
    (void)state;
    const postie_session_t *s;
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {\"mail.smtp.host\": \"h\", \"mail.from\": "
                          "\"a@b.c\", \"mail.smtp.starttls.enable\": \"true\"}}}"),
                     POSTIE_OK);
    s = postie_registry_session(&reg, "mail/A");
    assert_int_equal(s->ep.tls, POSTIE_TLS_STARTTLS_OPPORTUNISTIC);
    assert_int_equal(s->ep.auth, POSTIE_AUTH_NONE);

    assert_int_equal(load("{\"sessions\": {\"mail/A\": {\"mail.smtp.host\": \"h\", \"mail.from\": "
                          "\"a@b.c\", \"mail.smtp.ssl.enable\": true}}}"),
                     POSTIE_OK);
    s = postie_registry_session(&reg, "mail/A");
    assert_int_equal(s->ep.protocol, POSTIE_PROTO_SMTPS);
    assert_int_equal(s->ep.port, 465);

    /* plain SMTP without credentials is allowed when asked for */
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                          "\"mail.smtp.starttls.enable\": \"false\"}}}"),
                     POSTIE_OK);
    assert_int_equal(postie_registry_session(&reg, "mail/A")->ep.tls, POSTIE_TLS_NONE);

    /* insecure JavaMail knobs are warnings, never obeyed */
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                          "\"mail.smtp.ssl.trust\": \"*\", \"mail.smtp.ssl.checkserveridentity\": "
                          "\"false\", \"mail.smtp.quitwait\": \"false\"}}}"),
                     POSTIE_OK);
    expect_problem(true, "sessions[\"mail/A\"].mail.smtp.ssl.trust", "ignored");
    expect_problem(true, "sessions[\"mail/A\"].mail.smtp.ssl.checkserveridentity",
                   "always verifies");
    expect_problem(true, "sessions[\"mail/A\"].mail.smtp.quitwait", "unknown JavaMail property");
    assert_true(postie_registry_session(&reg, "mail/A")->ep.verify);
}

static void test_jndi_oauth_override(void **state)
{
    (void)state;
    const postie_session_t *s;
    assert_int_equal(load("{\"sessions\": {"
                          "\"mail/Base\": {\"host\": \"h\", \"from\": \"a@b.c\", \"username\": "
                          "\"u\", \"password\": {\"env\": \"P\"}},"
                          "\"mail/O\": {\"jndi\": \"java:comp/env/mail/Base\", \"from\": "
                          "\"o@b.c\", \"auth\": \"oauth2\", \"username\": \"robot\", \"oauth2\": "
                          "{\"provider\": \"google\", \"client_id\": \"cid\", \"token_store\": "
                          "\"/s/o.json\", \"mechanism\": \"oauthbearer\"}},"
                          "\"mail/OB\": {\"host\": \"h2\", \"from\": \"a@b.c\", \"auth\": "
                          "\"oauth2\", \"username\": \"ob\", \"oauth2\": {\"provider\": "
                          "\"microsoft\", \"client_id\": \"mid\"}},"
                          "\"mail/R\": {\"jndi\": \"mail/OB\", \"from\": \"r@b.c\"}}}"),
                     POSTIE_OK);
    s = postie_registry_session(&reg, "mail/O");
    assert_string_equal(s->ep.host, "h");
    assert_int_equal(s->ep.auth, POSTIE_AUTH_OAUTH2);
    assert_string_equal(s->ep.username, "robot");
    assert_int_equal(s->ep.password.kind, POSTIE_SECRET_NONE); /* the base's is not taken */
    assert_int_equal(s->ep.oauth2.provider, POSTIE_OAUTH2_GOOGLE);
    assert_int_equal(s->ep.oauth2.mechanism, POSTIE_SASL_OAUTHBEARER);
    assert_string_equal(s->ep.oauth2.client_id, "cid");
    assert_string_equal(s->ep.oauth2.token_store, "/s/o.json");
    assert_string_equal(s->origin[POSTIE_F_OAUTH2].key, "oauth2");
    assert_int_equal(s->origin[POSTIE_F_OAUTH2].via, 0);
    /* a plain reference takes the referenced entry's OAuth 2.0 login whole */
    s = postie_registry_session(&reg, "mail/R");
    assert_int_equal(s->ep.auth, POSTIE_AUTH_OAUTH2);
    assert_string_equal(s->ep.username, "ob");
    assert_string_equal(s->ep.oauth2.client_id, "mid");
    assert_string_equal(postie_registry_origin_entry(&reg, &s->origin[POSTIE_F_OAUTH2]), "mail/OB");
    for (size_t i = 0; i < reg.problem_count; i++) {
        print_message("%s: %s\n", reg.problems[i].path, reg.problems[i].message);
    }
    assert_int_equal(reg.problem_count, 0);
    /* an oauth2 object next to jndi without "auth": "oauth2" is a transport field */
    expect_invalid("{\"sessions\": {\"mail/B\": {\"host\": \"h\", \"from\": \"a@b.c\"},"
                   "\"mail/A\": {\"jndi\": \"mail/B\", \"from\": \"a@b.c\", \"oauth2\": "
                   "{\"provider\": \"google\", \"client_id\": \"x\"}}}}",
                   "sessions[\"mail/A\"].oauth2", "the transport comes from jndi");
}

#define OAUTH_SESSION(fields)                                                                   \
    "{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"auth\": \"oauth2\", " \
    "\"username\": \"u@b.c\", \"oauth2\": {" fields "}}}}"

static void test_oauth2_object(void **state)
{
    (void)state;
    const postie_session_t *s;
    const postie_account_t *a;
    assert_int_equal(
        load(OAUTH_SESSION("\"provider\": \"custom\", \"client_id\": \"c\", \"client_secret\": "
                           "{\"env\": \"SECRET\"}, \"token_endpoint\": "
                           "\"https://127.0.0.1:8443/token\", \"device_endpoint\": "
                           "\"https://127.0.0.1:8443/device\", \"scopes\": \"mail offline\", "
                           "\"token_store\": \"/t/a.json\", \"_note\": 1")),
        POSTIE_OK);
    s = postie_registry_session(&reg, "mail/A");
    assert_int_equal(s->ep.oauth2.provider, POSTIE_OAUTH2_CUSTOM);
    assert_int_equal(s->ep.oauth2.mechanism, POSTIE_SASL_XOAUTH2); /* the default */
    assert_int_equal(s->ep.oauth2.client_secret.kind, POSTIE_SECRET_ENV);
    assert_string_equal(s->ep.oauth2.client_secret.value, "SECRET");
    assert_string_equal(postie_oauth2_token_endpoint(&s->ep.oauth2),
                        "https://127.0.0.1:8443/token");
    assert_string_equal(postie_oauth2_device_endpoint(&s->ep.oauth2),
                        "https://127.0.0.1:8443/device");
    assert_string_equal(postie_oauth2_scopes(&s->ep.oauth2, s->ep.protocol), "mail offline");
    assert_string_equal(s->ep.oauth2.token_store, "/t/a.json");

    /* presets: endpoints and scopes by provider and protocol */
    assert_int_equal(load(OAUTH_SESSION("\"provider\": \"microsoft\", \"client_id\": \"c\"")),
                     POSTIE_OK);
    s = postie_registry_session(&reg, "mail/A");
    assert_string_equal(postie_oauth2_token_endpoint(&s->ep.oauth2),
                        "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    assert_string_equal(postie_oauth2_device_endpoint(&s->ep.oauth2),
                        "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode");
    assert_string_equal(postie_oauth2_scopes(&s->ep.oauth2, s->ep.protocol),
                        "https://outlook.office.com/SMTP.Send offline_access");
    assert_int_equal(
        load("{\"sessions\": {}, \"accounts\": {"
             "\"I\": {\"protocol\": \"imaps\", \"host\": \"h\", \"auth\": \"oauth2\", \"user\": "
             "\"u\", \"oauth2\": {\"provider\": \"microsoft\", \"client_id\": \"c\"}},"
             "\"P\": {\"protocol\": \"pop3s\", \"host\": \"h\", \"auth\": \"oauth2\", \"user\": "
             "\"u\", \"oauth2\": {\"provider\": \"microsoft\", \"client_id\": \"c\"}},"
             "\"G\": {\"protocol\": \"imaps\", \"host\": \"h\", \"auth\": \"oauth2\", \"user\": "
             "\"u\", \"oauth2\": {\"provider\": \"google\", \"client_id\": \"c\"}}}}"),
        POSTIE_OK);
    a = postie_registry_account(&reg, "I");
    assert_string_equal(postie_oauth2_scopes(&a->ep.oauth2, a->ep.protocol),
                        "https://outlook.office.com/IMAP.AccessAsUser.All offline_access");
    a = postie_registry_account(&reg, "P");
    assert_string_equal(postie_oauth2_scopes(&a->ep.oauth2, a->ep.protocol),
                        "https://outlook.office.com/POP.AccessAsUser.All offline_access");
    a = postie_registry_account(&reg, "G");
    assert_string_equal(postie_oauth2_scopes(&a->ep.oauth2, a->ep.protocol),
                        "https://mail.google.com/");
    assert_string_equal(postie_oauth2_token_endpoint(&a->ep.oauth2),
                        "https://oauth2.googleapis.com/token");
    assert_string_equal(postie_oauth2_device_endpoint(&a->ep.oauth2),
                        "https://oauth2.googleapis.com/device/code");

    /* every error names its path */
    expect_invalid(OAUTH_SESSION("\"provider\": \"yahoo\", \"client_id\": \"c\""),
                   "sessions[\"mail/A\"].oauth2.provider", "microsoft, google or custom");
    expect_invalid(OAUTH_SESSION("\"provider\": \"google\", \"client_id\": \"c\", \"mechanism\": "
                                 "\"plain\""),
                   "sessions[\"mail/A\"].oauth2.mechanism", "xoauth2 or oauthbearer");
    expect_invalid(OAUTH_SESSION("\"provider\": \"google\""),
                   "sessions[\"mail/A\"].oauth2.client_id", "is required");
    expect_invalid(OAUTH_SESSION("\"provider\": \"google\", \"client_id\": 5"),
                   "sessions[\"mail/A\"].oauth2.client_id", "must be a string");
    expect_invalid(
        OAUTH_SESSION("\"provider\": \"custom\", \"client_id\": \"c\", \"scopes\": \"s\""),
        "sessions[\"mail/A\"].oauth2.token_endpoint", "required for the custom provider");
    expect_invalid(OAUTH_SESSION("\"provider\": \"custom\", \"client_id\": \"c\", \"scopes\": "
                                 "\"s\", \"token_endpoint\": \"http://127.0.0.1/token\""),
                   "sessions[\"mail/A\"].oauth2.token_endpoint", "must be an https:// URL");
    expect_invalid(OAUTH_SESSION("\"provider\": \"google\", \"client_id\": \"c\", "
                                 "\"device_endpoint\": \"https://user@h/x\""),
                   "sessions[\"mail/A\"].oauth2.device_endpoint", "user name");
    expect_invalid(
        OAUTH_SESSION("\"provider\": \"google\", \"client_id\": \"c\", \"scopes\": \"  \""),
        "sessions[\"mail/A\"].oauth2.scopes", "at least one scope");
    expect_invalid(
        OAUTH_SESSION("\"provider\": \"google\", \"client_id\": \"c\", \"token_store\": \"\""),
        "sessions[\"mail/A\"].oauth2.token_store", "must not be empty");
    expect_invalid(
        OAUTH_SESSION("\"provider\": \"google\", \"client_id\": \"c\", \"client_secret\": "
                      "{\"vault\": \"x\"}"),
        "sessions[\"mail/A\"].oauth2.client_secret", "{\"env\": \"NAME\"}");
    expect_invalid(
        OAUTH_SESSION("\"provider\": \"google\", \"client_id\": \"c\", \"refresh\": \"x\""),
        "sessions[\"mail/A\"].oauth2.refresh", "unknown key");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"auth\": "
                   "\"oauth2\", \"username\": \"u\"}}}",
                   "sessions[\"mail/A\"].oauth2", "is required with");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"auth\": "
                   "\"oauth2\", \"username\": \"u\", \"oauth2\": []}}}",
                   "sessions[\"mail/A\"].oauth2", "must be an object");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"auth\": "
                   "\"oauth2\", \"oauth2\": {\"provider\": \"google\", \"client_id\": \"c\"}}}}",
                   "sessions[\"mail/A\"].username", "required for oauth2");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"tls\": "
                   "\"none\", \"auth\": \"oauth2\", \"username\": \"u\", \"oauth2\": "
                   "{\"provider\": \"google\", \"client_id\": \"c\"}}}}",
                   "sessions[\"mail/A\"].tls", "access token would go in clear");
    /* warnings: a password that is not used, an object that is not used */
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                          "\"auth\": \"oauth2\", \"username\": \"u\", \"password\": {\"env\": "
                          "\"P\"}, \"oauth2\": {\"provider\": \"google\", \"client_id\": \"c\"}},"
                          "\"mail/B\": {\"host\": \"h\", \"from\": \"a@b.c\", \"oauth2\": "
                          "{\"provider\": \"google\", \"client_id\": \"c\"}}}}"),
                     POSTIE_OK);
    expect_problem(true, "sessions[\"mail/A\"].password", "ignored");
    expect_problem(true, "sessions[\"mail/B\"].oauth2", "ignored: \"auth\" is not \"oauth2\"");
}

/* ---- every error names its path ------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    postie_status_t st;

    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"hots\": "
                   "1}}}",
                   "sessions[\"mail/A\"].hots", "unknown key");
    expect_invalid("{\"sesions\": {}}", "sesions", "unknown key");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"port\": "
                   "70000}}}",
                   "sessions[\"mail/A\"].port", "1..65535");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"mail.smtp.port\": \"25x\"}}}",
                   "sessions[\"mail/A\"].mail.smtp.port", "1..65535");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"mail.smtp.host\": \"h\", "
                   "\"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"].mail.smtp.host", "set twice");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"].host", "is required");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\"}}}", "sessions[\"mail/A\"].from",
                   "is required");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"${email}\"}}}",
                   "sessions[\"mail/A\"].from", "plain address");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"from_name\": \"x ${user}\"}}}",
                   "sessions[\"mail/A\"].from_name", "at octet 2");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"subject_prefix\": \"a\\r\\nBcc: x\"}}}",
                   "sessions[\"mail/A\"].subject_prefix", "control character");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"description\": \"\xc3\x28\"}}}",
                   "sessions[\"mail/A\"].description", "UTF-8");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", \"tls\": "
                   "\"none\", \"username\": \"u\", \"password\": \"p\"}}}",
                   "sessions[\"mail/A\"].tls", "in clear");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"protocol\": \"smtps\", \"tls\": \"starttls\"}}}",
                   "sessions[\"mail/A\"].tls", "does not apply");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"protocol\": \"imap\"}}}",
                   "sessions[\"mail/A\"].protocol", "smtp or smtps");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"username\": \"u\"}}}",
                   "sessions[\"mail/A\"].password", "is required");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"username\": \"u\", \"password\": {\"env\": \"A\", \"file\": \"B\"}}}}",
                   "sessions[\"mail/A\"].password", "{\"env\"");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
                   "\"verify\": \"maybe\"}}}",
                   "sessions[\"mail/A\"].verify", "true or false");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"jndi\": \"mail/B\", \"from\": \"a@b.c\"}, "
                   "\"mail/B\": {\"jndi\": \"mail/A\", \"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"].jndi", "cycle");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"jndi\": \"mail/Z\", \"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"].jndi", "names no session");
    expect_invalid("{\"sessions\": {\"mail/B\": {\"host\": \"h\", \"from\": \"a@b.c\"}, "
                   "\"mail/A\": {\"jndi\": \"mail/B\", \"host\": \"x\", \"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"].host", "comes from jndi");
    expect_invalid("{\"sessions\": {\"java:comp/env/mail/A\": {\"host\": \"h\", \"from\": "
                   "\"a@b.c\"}, \"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"]", "same name");
    expect_invalid("{\"accounts\": {\"mail/A\": {\"host\": \"h\", \"username\": \"u\", "
                   "\"password\": \"p\"}}}",
                   "accounts[\"mail/A\"].protocol", "is required");
    expect_invalid("{\"accounts\": {\"mail/A\": {\"protocol\": \"smtp\", \"host\": \"h\"}}}",
                   "accounts[\"mail/A\"].protocol", "pop3, pop3s, imap or imaps");

    expect_invalid("{\"product\": \"X ${oops\", \"sessions\": {}}", "product", "plain text");
    expect_invalid("{\"sessions\": {\"mail/B\": {\"host\": \"h\", \"from\": \"a@b.c\"}, "
                   "\"mail/A\": {\"jndi\": \"mail/B\", \"from\": \"a@b.c\", "
                   "\"allow_plaintext_auth\": true}}}",
                   "sessions[\"mail/A\"].allow_plaintext_auth", "comes from jndi");
    expect_invalid("{\"sessions\": {\"mail/\xff\": {\"host\": \"h\", \"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/?\"]", "not a usable name");
    expect_invalid("{\"sessions\": {}} {\"more\": 1}", "line 1, column 18", "syntax");

    /* syntax errors say where */
    expect_invalid("{\"sessions\": {\n  \"mail/A\": {\"host\": \"h\",, }}}", "line 2, column 27",
                   "syntax");
    expect_invalid("", "line 1, column 1", "syntax");

    /* limits */
    st = load("[[[[[[[[[[]]]]]]]]]]");
    assert_int_equal(st, POSTIE_E_REGISTRY_TOO_LARGE);
    expect_problem(false, "line 1, column 7", "nested deeper");
    st = postie_registry_load(&reg, "{}", POSTIE_REGISTRY_FILE_MAX + 1, arena, sizeof(arena), NULL);
    assert_int_equal(st, POSTIE_E_REGISTRY_TOO_LARGE);
    st = postie_registry_load(&reg, "{\"sessions\": {}}", 16, arena, 1024, NULL);
    assert_int_equal(st, POSTIE_E_REGISTRY_TOO_LARGE);
    expect_problem(false, "(arena)", "arena");
    {
        /* an arena that runs out inside cJSON: a clear error, and no secret left in it */
        static const char big[] = "{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": "
                                  "\"a@b.c\", \"username\": \"u\", \"password\": \"pw-in-arena\", "
                                  "\"description\": \"padding padding padding\"}}}";
        size_t size = 30000;
        size_t inside = 0; /* sizes that ran out inside cJSON */
        for (; size < 90000; size += 64) {
            st = postie_registry_load(&reg, big, strlen(big), arena, size, NULL);
            if (st == POSTIE_OK) {
                break;
            }
            assert_int_equal(st, POSTIE_E_REGISTRY_TOO_LARGE);
            if (strstr(reg.problems[0].message, "working storage") != NULL) {
                assert_int_equal(inside, 0); /* too small for the loader itself: below those */
                continue;
            }
            inside++;
            expect_problem(false, "(arena)", "larger parse arena");
            assert_null(memmem(arena, size, "pw-in-arena", 11));
        }
        assert_int_equal(st, POSTIE_OK);
        assert_true(inside > 0);
        /* a syntax error after the secret: wiped too */
        st = load("{\"sessions\": {\"mail/A\": {\"password\": \"pw-in-arena\",, }}}");
        assert_int_equal(st, POSTIE_E_REGISTRY_INVALID);
        assert_null(memmem(arena, sizeof(arena), "pw-in-arena", 11));
    }
}

/* A problem at path that is not an error's only because of something else:
 * no problem at all at this path with a message containing text. */
static void expect_no_problem(const char *path, const char *text)
{
    for (size_t i = 0; i < reg.problem_count; i++) {
        const postie_registry_problem_t *p = &reg.problems[i];
        if (strcmp(p->path, path) == 0 && strstr(p->message, text) != NULL) {
            fail_msg("unexpected problem at %s: %s", path, p->message);
        }
    }
}

#define A_SESSION "\"host\": \"h\", \"from\": \"a@b.c\""

static void test_nul_in_strings_is_refused(void **state)
{
    (void)state;
    static const char raw[] = "{\"sessions\": {\"mail/A\": {" A_SESSION ", \"username\": \"u\", "
                              "\"password\": \"pw\0cut\"}}}";

    /* a password cut short at \u0000 would be sent cut short: refused */
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"username\": \"u\",\n"
                   "  \"password\": \"secret\\u0000tail\"}}}",
                   "sessions[\"mail/A\"].password", "NUL character (\\u0000)");
    expect_problem(false, "sessions[\"mail/A\"].password", "(line 2, column 22)");
    /* in a key, an entry name, the top level, a nested object */
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"pass\\u0000word\": \"p\"}}}",
                   "sessions[\"mail/A\"].pass\\u0000word", "NUL character");
    expect_invalid("{\"sessions\": {\"mail/A\\u0000x\": {" A_SESSION "}}}",
                   "sessions[\"mail/A\\u0000x\"]", "NUL character");
    expect_invalid("{\"product\": \"P\\u0000\", \"sessions\": {}}", "product", "NUL character");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"username\": \"u\", "
                   "\"password\": {\"env\": \"PW\\u0000X\"}}}}",
                   "sessions[\"mail/A\"].password.env", "NUL character");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"_notes\": [\"ok\", "
                   "\"\\u0000\"]}}}",
                   "sessions[\"mail/A\"]._notes[1]", "NUL character");
    /* a raw NUL octet inside a string, too */
    assert_int_equal(postie_registry_load(&reg, raw, sizeof(raw) - 1, arena, sizeof(arena), NULL),
                     POSTIE_E_REGISTRY_INVALID);
    expect_problem(false, "sessions[\"mail/A\"].password", "NUL character");
    /* an escaped backslash before "u0000" is no NUL; nor is \u0001 a NUL */
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"username\": \"u\", "
                          "\"password\": \"a\\\\u0000b\"}}}"),
                     POSTIE_OK);
    assert_string_equal(reg.sessions[0].ep.password.value, "a\\u0000b");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"description\": \"\\u0001\"}}}",
                   "sessions[\"mail/A\"].description", "control character");
    /* after a UTF-8 byte order mark (cJSON skips it) */
    expect_invalid("\xef\xbb\xbf{\"sessions\": {\"mail/A\": {" A_SESSION ", \"username\": \"u\", "
                   "\"password\": \"p\\u0000\"}}}",
                   "sessions[\"mail/A\"].password", "NUL character");
}

static void test_duplicate_keys_are_refused(void **state)
{
    (void)state;
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"port\": 25, \"port\": 26}}}",
                   "sessions[\"mail/A\"].port", "duplicate key");
    expect_no_problem("sessions[\"mail/A\"].port", "set twice");
    /* the top-level sessions key: the first entries would silently vanish */
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION
                   "}}, \"sessions\": {\"mail/B\": {" A_SESSION "}}}",
                   "sessions", "duplicate key");
    expect_invalid("{\"product\": \"P\", \"product\": \"Q\", \"sessions\": {}}", "product",
                   "duplicate key");
    /* an entry name, an account's key, a nested object, a key Postie ignores */
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION "}, \"mail/A\": {" A_SESSION "}}}",
                   "sessions[\"mail/A\"]", "duplicate key");
    expect_no_problem("sessions[\"mail/A\"]", "same name");
    expect_invalid("{\"accounts\": {\"mail/In\": {\"protocol\": \"imaps\", \"host\": \"h\", "
                   "\"username\": \"u\", \"password\": \"p\", \"folder\": \"A\", \"folder\": "
                   "\"B\"}}}",
                   "accounts[\"mail/In\"].folder", "duplicate key");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"username\": \"u\", "
                   "\"password\": {\"env\": \"A\", \"env\": \"B\"}}}}",
                   "sessions[\"mail/A\"].password.env", "duplicate key");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"comment\": \"x\", \"comment\": "
                   "\"y\"}}}",
                   "sessions[\"mail/A\"].comment", "duplicate key");
    /* two JavaMail spellings of one field stay a "set twice" error */
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"port\": 25, \"mail.smtp.port\": "
                   "26}}}",
                   "sessions[\"mail/A\"].mail.smtp.port", "set twice");
    /* keys that differ only in case are different keys */
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"_n\": 1, \"_N\": 2}}}"),
                     POSTIE_OK);
}

static void test_transport_fields_are_checked_when_loaded(void **state)
{
    (void)state;
    static char json[2048];
    char long_value[POSTIE_AUTH_FIELD_MAX + 2];

    /* EHLO names: a domain or an address literal */
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"ehlo\": \"my host\"}}}",
                   "sessions[\"mail/A\"].ehlo", "domain name");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"mail.smtp.localhost\": "
                   "\"nas_01\"}}}",
                   "sessions[\"mail/A\"].mail.smtp.localhost", "address literal");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"ehlo\": \"\"}}}",
                   "sessions[\"mail/A\"].ehlo", "domain name");
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"ehlo\": \"[127.0.0.1]\"}, "
                          "\"mail/B\": {" A_SESSION ", \"ehlo\": \"nas-01.example.com\"}}}"),
                     POSTIE_OK);
    assert_string_equal(reg.sessions[0].ep.ehlo, "[127.0.0.1]");

    /* an empty host, named where it is written, and only there */
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"\", \"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"].host", "must not be empty");
    expect_no_problem("sessions[\"mail/A\"].host", "is required");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"mail.smtp.host\": \"\", \"from\": \"a@b.c\"}}}",
                   "sessions[\"mail/A\"].mail.smtp.host", "must not be empty");
    expect_invalid("{\"accounts\": {\"mail/In\": {\"protocol\": \"imaps\", \"host\": \"\", "
                   "\"username\": \"u\", \"password\": \"p\"}}}",
                   "accounts[\"mail/In\"].host", "must not be empty");

    /* a user name or inline password SMTP AUTH cannot carry */
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    snprintf(json, sizeof(json),
             "{\"sessions\": {\"mail/A\": {" A_SESSION ", \"username\": \"%s\", \"password\": "
             "\"p\"}}}",
             long_value);
    expect_invalid(json, "sessions[\"mail/A\"].username", "longer than SMTP AUTH allows: 255");
    snprintf(json, sizeof(json),
             "{\"sessions\": {\"mail/A\": {" A_SESSION ", \"mail.smtp.user\": \"u\", "
             "\"mail.smtp.password\": \"%s\"}}}",
             long_value);
    expect_invalid(json, "sessions[\"mail/A\"].mail.smtp.password",
                   "longer than SMTP AUTH allows: 255");
    /* 255 octets fit */
    long_value[POSTIE_AUTH_FIELD_MAX] = '\0';
    snprintf(json, sizeof(json),
             "{\"sessions\": {\"mail/A\": {" A_SESSION
             ", \"user\": \"%s\", \"password\": \"%s\"}}}",
             long_value, long_value);
    assert_int_equal(load(json), POSTIE_OK);
    assert_int_equal(strlen(reg.sessions[0].ep.username), POSTIE_AUTH_FIELD_MAX);
    assert_int_equal(strlen(reg.sessions[0].ep.password.value), POSTIE_AUTH_FIELD_MAX);
}

/* One address is one mailbox (postie_address_check): from and
 * envelope_from refuse lists, groups and comments, naming the key. */
static void test_from_is_one_mailbox(void **state)
{
    (void)state;
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c, d@e.f\"}}}",
                   "sessions[\"mail/A\"].from", "not one mailbox");
    expect_invalid(
        "{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"mail.from\": \"a@b.c,d@e.f\"}}}",
        "sessions[\"mail/A\"].mail.from", "not one mailbox");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"undisclosed:;\"}}}",
                   "sessions[\"mail/A\"].from", "not one mailbox");
    expect_invalid("{\"sessions\": {\"mail/A\": {" A_SESSION ", \"envelope_from\": \"a@b.c "
                   "(bounces)\"}}}",
                   "sessions[\"mail/A\"].envelope_from", "not one mailbox");
    expect_invalid("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"\\\"a@b.c\"}}}",
                   "sessions[\"mail/A\"].from", "not one mailbox");
    assert_int_equal(load("{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": "
                          "\"\\\"nas 01\\\"@example.com\"}}}"),
                     POSTIE_OK);
}

static void test_many_problems_are_bounded(void **state)
{
    (void)state;
    static char json[8192];
    size_t n = 0;
    n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"sessions\": {\"mail/A\": {");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(json + n, sizeof(json) - n, "\"bad%d\": 1, ", i);
    }
    snprintf(json + n, sizeof(json) - n, "\"host\": \"h\", \"from\": \"a@b.c\"}}}");
    assert_int_equal(load(json), POSTIE_E_REGISTRY_INVALID);
    assert_int_equal(reg.problem_count, POSTIE_REGISTRY_PROBLEMS_MAX);
    assert_int_equal(reg.problems_dropped, 40 - POSTIE_REGISTRY_PROBLEMS_MAX);
    assert_int_equal(reg.error_count, 40);
}

static void test_too_many_sessions(void **state)
{
    (void)state;
    static char json[16384];
    size_t n = (size_t)snprintf(json, sizeof(json), "{\"sessions\": {");
    for (int i = 0; i <= POSTIE_REGISTRY_SESSIONS_MAX; i++) {
        n += (size_t)snprintf(json + n, sizeof(json) - n,
                              "%s\"mail/S%d\": {\"host\": \"h\", \"from\": \"a@b.c\"}",
                              i ? ", " : "", i);
    }
    snprintf(json + n, sizeof(json) - n, "}}");
    assert_int_equal(load(json), POSTIE_E_REGISTRY_INVALID);
    expect_problem(false, "sessions[\"mail/S8\"]", "too many sessions");
}

static void test_inline_secret_warnings(void **state)
{
    (void)state;
    static const char json[] =
        "{\"sessions\": {\"mail/A\": {\"host\": \"h\", \"from\": \"a@b.c\", "
        "\"username\": \"u\", \"password\": \"s3cret\", \"verify\": false}}}";
    postie_registry_source_t open_file = {true};
    postie_registry_source_t private_file = {false};
    assert_int_equal(
        postie_registry_load(&reg, json, strlen(json), arena, sizeof(arena), &open_file),
        POSTIE_OK);
    expect_problem(true, "sessions[\"mail/A\"].password", "others can read");
    expect_problem(true, "sessions[\"mail/A\"].verify", "verification is off");
    for (size_t i = 0; i < reg.problem_count; i++) {
        assert_null(strstr(reg.problems[i].message, "s3cret")); /* never echoed */
    }
    assert_int_equal(
        postie_registry_load(&reg, json, strlen(json), arena, sizeof(arena), &private_file),
        POSTIE_OK);
    assert_int_equal(reg.problem_count, 1); /* only the verify warning */
    /* the arena holds no copy of the secret after the load */
    assert_null(memmem(arena, sizeof(arena), "s3cret", 6));
}

static void test_load_never_calls_the_system_allocator(void **state)
{
    (void)state;
#if COUNT_ALLOCATIONS
    size_t len;
    char *json = read_file(POSTIE_EXAMPLE_REGISTRY, &len);
    allocations = 0;
    counting = 1;
    postie_status_t st = postie_registry_load(&reg, json, len, arena, sizeof(arena), NULL);
    counting = 0;
    assert_int_equal(st, POSTIE_OK);
    assert_int_equal(allocations, 0);
    /* and the counter works: cJSON with its default hooks does allocate */
    counting = 1;
    free(malloc(16));
    counting = 0;
    assert_int_equal(allocations, 2);
#else
    skip(); /* AddressSanitizer owns malloc; the plain build runs this */
#endif
}

static void test_reload_never_disturbs_the_live_registry(void **state)
{
    (void)state;
    static postie_registry_t live;
    static postie_registry_t next;
    static const char v1[] =
        "{\"sessions\": {\"mail/A\": {\"host\": \"one\", \"from\": \"a@b.c\"}}}";
    static const char v2[] =
        "{\"sessions\": {\"mail/A\": {\"host\": \"two\", \"from\": \"a@b.c\"}}}";
    static const char bad[] = "{\"sessions\": {\"mail/A\": {\"host\": \"three\"}}}";
    postie_session_t in_flight;

    assert_int_equal(postie_registry_load(&live, v1, strlen(v1), arena, sizeof(arena), NULL),
                     POSTIE_OK);
    in_flight = *postie_registry_session(&live, "mail/A"); /* a send takes a copy */

    /* a reload goes into a second registry; a failed one is never published */
    assert_int_equal(postie_registry_load(&next, bad, strlen(bad), arena, sizeof(arena), NULL),
                     POSTIE_E_REGISTRY_INVALID);
    assert_string_equal(postie_registry_session(&live, "mail/A")->ep.host, "one");
    assert_null(postie_registry_session(&next, "mail/A"));

    assert_int_equal(postie_registry_load(&next, v2, strlen(v2), arena, sizeof(arena), NULL),
                     POSTIE_OK);
    assert_string_equal(postie_registry_session(&next, "mail/A")->ep.host, "two");
    assert_string_equal(in_flight.ep.host, "one"); /* the message in flight keeps its session */
    assert_string_equal(postie_registry_session(&live, "mail/A")->ep.host, "one");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_accounts),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_javamail_tls_flags),
        cmocka_unit_test(test_jndi_oauth_override),
        cmocka_unit_test(test_oauth2_object),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nul_in_strings_is_refused),
        cmocka_unit_test(test_duplicate_keys_are_refused),
        cmocka_unit_test(test_transport_fields_are_checked_when_loaded),
        cmocka_unit_test(test_from_is_one_mailbox),
        cmocka_unit_test(test_many_problems_are_bounded),
        cmocka_unit_test(test_too_many_sessions),
        cmocka_unit_test(test_inline_secret_warnings),
        cmocka_unit_test(test_load_never_calls_the_system_allocator),
        cmocka_unit_test(test_reload_never_disturbs_the_live_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
