/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch side's C API against the real Dovecot of with_mailserver.sh:
 * messages are put into a user's Maildir (files owned by the mail user,
 * as Dovecot's own delivery would), fetched over POP3+STLS, POP3S,
 * IMAP+STARTTLS and IMAPS into a temporary Maildir, compared byte for
 * byte, and the server's copies checked gone (delete mode) or kept (keep
 * mode). Also: the list and one-message helpers leave the mailbox as it
 * was, the account test reports every step, a second run on a locked
 * account is refused.
 *
 * Environment (mailserver.sh): POSTIE_TEST_POP3_PORT, POSTIE_TEST_POP3S_PORT,
 * POSTIE_TEST_IMAP_PORT, POSTIE_TEST_IMAPS_PORT, POSTIE_TEST_CA,
 * POSTIE_TEST_PASSWORD, POSTIE_TEST_MAILDIR_ROOT.
 */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "postie/posix/fetch_account.h"
#include "postie/posix/fetch_state_file.h"
#include "postie/posix/mailbox_check.h"

/* ---- environment --------------------------------------------------------------- */

static const char *env_str(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fail_msg("%s is not set; run this program through with_mailserver.sh", name);
    }
    return v;
}

static uint16_t env_port(const char *name)
{
    const char *v = env_str(name);
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n == 0 || n > 65535) {
        fail_msg("%s=%s is not a port", name, v);
    }
    return (uint16_t)n;
}

static char work[256]; /* the test's own temporary directory */

static void account(postie_mailbox_client_config_t *cfg, postie_fetch_protocol_t protocol,
                    bool implicit, const char *user)
{
    static char login[3][64];
    static int next;
    char *l = login[next++ % 3];
    postie_mailbox_client_config_defaults(cfg);
    cfg->protocol = protocol;
    cfg->host = "localhost";
    cfg->connect_to = "127.0.0.1";
    cfg->tls_mode = implicit ? POSTIE_TLS_IMPLICIT : POSTIE_TLS_STARTTLS_REQUIRED;
    cfg->tls.ca_file = env_str("POSTIE_TEST_CA");
    if (protocol == POSTIE_FETCH_POP3) {
        cfg->port = env_port(implicit ? "POSTIE_TEST_POP3S_PORT" : "POSTIE_TEST_POP3_PORT");
    } else {
        cfg->port = env_port(implicit ? "POSTIE_TEST_IMAPS_PORT" : "POSTIE_TEST_IMAP_PORT");
    }
    snprintf(l, 64, "%s@example.test", user);
    cfg->user = l;
    cfg->password = env_str("POSTIE_TEST_PASSWORD");
    cfg->connect_timeout_ms = 10000;
    cfg->reply_timeout_ms = 20000;
}

/* ---- messages ------------------------------------------------------------------ */

#define SEED_MAX 80

typedef struct {
    char data[SEED_MAX][4096];
    size_t len[SEED_MAX];
    size_t n;
} seed_t;

/* Message i of a set tagged tag: CRLF lines, among them lines that start
 * with a dot, a long line and 8-bit octets. */
static size_t make_message(char *out, size_t cap, const char *tag, size_t i)
{
    int n = snprintf(out, cap,
                     "From: alice@example.test\r\nTo: alice@example.test\r\n"
                     "Subject: %s %zu\r\nMessage-ID: <%s.%zu.%ld@example.test>\r\n\r\n"
                     ".a line that starts with a dot\r\n..two dots\r\n.\r\n"
                     "8-bit: caf\xc3\xa9 \xff\xfe\r\n",
                     tag, i, tag, i, (long)getpid());
    size_t len = (size_t)n;
    for (size_t k = 0; k < 200 + (i % 8) * 300 && len + 9 < cap; k++) {
        out[len++] = (char)('A' + (k + i) % 26);
    }
    memcpy(out + len, "\r\nend\r\n", 7);
    return len + 7;
}

/* Put messages into user's Maildir new/ as Dovecot would, owned by the
 * Maildir's owner. */
static void seed(const char *user, seed_t *s, const char *tag, size_t n)
{
    static unsigned serial; /* file names never repeat, across seeds too */
    char root[512];
    struct stat sb;
    snprintf(root, sizeof(root), "%s/%s", env_str("POSTIE_TEST_MAILDIR_ROOT"), user);
    assert_int_equal(stat(root, &sb), 0);
    for (size_t i = 0; i < n; i++) {
        char tmp[1024];
        char final[1024];
        FILE *f;
        size_t k = s->n++;
        assert_true(k < SEED_MAX);
        s->len[k] = make_message(s->data[k], sizeof(s->data[k]), tag, k);
        serial++;
        snprintf(tmp, sizeof(tmp), "%s/tmp/%ld.M%uP%ld.seed,S=%zu", root, (long)time(NULL), serial,
                 (long)getpid(), s->len[k]);
        snprintf(final, sizeof(final), "%s/new/%ld.M%uP%ld.seed,S=%zu", root, (long)time(NULL),
                 serial, (long)getpid(), s->len[k]);
        f = fopen(tmp, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(s->data[k], 1, s->len[k], f), s->len[k]);
        fclose(f);
        assert_int_equal(chown(tmp, sb.st_uid, sb.st_gid), 0);
        assert_int_equal(rename(tmp, final), 0);
    }
}

/* The files of a Maildir (new/ and cur/): count, and whether each seeded
 * message is among them exactly once (file contents byte for byte). */
static size_t maildir_count(const char *dir, const seed_t *s, int *matches)
{
    static const char *const subs[] = {"new", "cur"};
    static char buf[8192];
    size_t n = 0;
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        matches[i] = 0;
    }
    for (size_t j = 0; j < 2; j++) {
        char path[600];
        DIR *d;
        struct dirent *de;
        snprintf(path, sizeof(path), "%s/%s", dir, subs[j]);
        d = opendir(path);
        if (d == NULL) {
            continue;
        }
        while ((de = readdir(d)) != NULL) {
            char file[1200];
            FILE *f;
            size_t len;
            if (de->d_name[0] == '.') {
                continue;
            }
            n++;
            snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
            f = fopen(file, "rb");
            assert_non_null(f);
            len = fread(buf, 1, sizeof(buf), f);
            fclose(f);
            for (size_t i = 0; s != NULL && i < s->n; i++) {
                if (len == s->len[i] && memcmp(buf, s->data[i], len) == 0) {
                    matches[i]++;
                }
            }
        }
        closedir(d);
    }
    return n;
}

static size_t server_count(const char *user)
{
    char root[512];
    snprintf(root, sizeof(root), "%s/%s", env_str("POSTIE_TEST_MAILDIR_ROOT"), user);
    return maildir_count(root, NULL, NULL);
}

static void paths(const char *name, char *maildir, char *state)
{
    snprintf(maildir, 512, "%s/%s/Maildir", work, name);
    snprintf(state, 512, "%s/%s.state", work, name);
}

/* Messages per round for fetch() (0: POSTIE_FETCH_BATCH). */
static uint32_t fetch_batch;

static void fetch(const postie_mailbox_client_config_t *cfg, const char *name, bool del,
                  postie_fetch_account_report_t *r)
{
    static char maildir[512];
    static char state[512];
    postie_fetch_account_options_t opt;
    postie_status_t st;
    paths(name, maildir, state);
    postie_fetch_account_options_defaults(&opt);
    opt.maildir = maildir;
    opt.state_path = state;
    opt.delete_after_archive = del;
    opt.key_prefix = "t.";
    opt.batch = fetch_batch;
    st = postie_fetch_account(cfg, &opt, r);
    if (st != POSTIE_OK) {
        fail_msg("fetch %s: %s: %s (%s)", name, postie_status_name(st),
                 r->run.error.phase != NULL ? r->run.error.phase : "", r->run.error.subject);
    }
}

/* Seed, fetch (delete mode), compare, check the server is empty; a second
 * run finds nothing. */
static void delete_mode(postie_fetch_protocol_t protocol, bool implicit, const char *user,
                        const char *name)
{
    static seed_t s;
    postie_mailbox_client_config_t cfg;
    postie_fetch_account_report_t r;
    char maildir[512];
    char state[512];
    int matches[SEED_MAX];

    memset(&s, 0, sizeof(s));
    account(&cfg, protocol, implicit, user);
    assert_int_equal(server_count(user), 0);
    seed(user, &s, name, 4);
    fetch(&cfg, name, true, &r);
    assert_true(r.secure);
    assert_int_equal(r.run.archived, 4);
    assert_int_equal(r.run.deleted, 4);
    paths(name, maildir, state);
    assert_int_equal(maildir_count(maildir, &s, matches), 4);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(matches[i], 1);
    }
    assert_int_equal(server_count(user), 0);
    /* again: nothing new, nothing twice */
    fetch(&cfg, name, true, &r);
    assert_int_equal(r.run.archived, 0);
    assert_int_equal(maildir_count(maildir, &s, matches), 4);
    /* one more arrives */
    seed(user, &s, name, 1);
    fetch(&cfg, name, true, &r);
    assert_int_equal(r.run.archived, 1);
    assert_int_equal(maildir_count(maildir, &s, matches), 5);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(matches[i], 1);
    }
    assert_int_equal(server_count(user), 0);
}

static void test_pop3_stls(void **state)
{
    (void)state;
    delete_mode(POSTIE_FETCH_POP3, false, "alice", "pop3-stls");
}

static void test_pop3s(void **state)
{
    (void)state;
    delete_mode(POSTIE_FETCH_POP3, true, "alice", "pop3s");
}

static void test_imap_starttls(void **state)
{
    (void)state;
    delete_mode(POSTIE_FETCH_IMAP, false, "bob", "imap-starttls");
}

static void test_imaps(void **state)
{
    (void)state;
    delete_mode(POSTIE_FETCH_IMAP, true, "bob", "imaps");
}

/* Keep mode: the server keeps its copies; a second run archives nothing;
 * a new message alone is archived. Then delete mode on the same state
 * removes what was archived without archiving it again. */
static void keep_mode(postie_fetch_protocol_t protocol, const char *name)
{
    static seed_t s;
    postie_mailbox_client_config_t cfg;
    postie_fetch_account_report_t r;
    char maildir[512];
    char state[512];
    int matches[SEED_MAX];

    memset(&s, 0, sizeof(s));
    account(&cfg, protocol, true, "carol");
    assert_int_equal(server_count("carol"), 0);
    seed("carol", &s, name, 3);
    paths(name, maildir, state);
    fetch(&cfg, name, false, &r);
    assert_int_equal(r.run.archived, 3);
    assert_int_equal(r.run.deleted, 0);
    assert_int_equal(server_count("carol"), 3);
    fetch(&cfg, name, false, &r);
    assert_int_equal(r.run.archived, 0);
    seed("carol", &s, name, 1);
    fetch(&cfg, name, false, &r);
    assert_int_equal(r.run.archived, 1);
    assert_int_equal(maildir_count(maildir, &s, matches), 4);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(matches[i], 1);
    }
    assert_int_equal(server_count("carol"), 4);
    /* switched to delete mode: removes what was archived, stores nothing twice */
    fetch(&cfg, name, true, &r);
    assert_int_equal(r.run.archived, 0);
    assert_int_equal(r.run.deleted, 4);
    assert_int_equal(server_count("carol"), 0);
    assert_int_equal(maildir_count(maildir, &s, matches), 4);
}

/* More messages than one round of the run takes (batch): several
 * listings in one session, every message once. */
static void many(postie_fetch_protocol_t protocol, const char *name, uint32_t batch)
{
    static seed_t s;
    static int matches[SEED_MAX];
    postie_mailbox_client_config_t cfg;
    postie_fetch_account_report_t r;
    char maildir[512];
    char state[512];

    memset(&s, 0, sizeof(s));
    account(&cfg, protocol, true, "carol");
    seed("carol", &s, name, SEED_MAX);
    paths(name, maildir, state);
    fetch_batch = batch;
    fetch(&cfg, name, true, &r);
    fetch_batch = 0;
    assert_int_equal(r.run.archived, SEED_MAX);
    assert_int_equal(r.run.deleted, SEED_MAX);
    assert_int_equal(maildir_count(maildir, &s, matches), SEED_MAX);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(matches[i], 1);
    }
    assert_int_equal(server_count("carol"), 0);
}

static void test_many(void **state)
{
    (void)state;
    _Static_assert(SEED_MAX > 2 * 8, "more than two rounds of 8");
    many(POSTIE_FETCH_POP3, "many-pop3", 8);
    many(POSTIE_FETCH_IMAP, "many-imap", 8);
    /* the default batch: one round or several, as POSTIE_FETCH_BATCH says */
    many(POSTIE_FETCH_POP3, "many-pop3-default", 0);
    many(POSTIE_FETCH_IMAP, "many-imap-default", 0);
}

static void test_pop3_keep(void **state)
{
    (void)state;
    keep_mode(POSTIE_FETCH_POP3, "pop3-keep");
}

static void test_imap_keep(void **state)
{
    (void)state;
    keep_mode(POSTIE_FETCH_IMAP, "imap-keep");
}

/* --list and --message never change the mailbox; the message comes out
 * exactly as the server holds it. */
static size_t listed;
static uint64_t listed_size[SEED_MAX];
static uint32_t listed_id[SEED_MAX];
static void on_list(void *ctx, const postie_mail_item_t *item)
{
    (void)ctx;
    if (listed < SEED_MAX) {
        listed_id[listed] = item->id;
        listed_size[listed] = item->size;
    }
    listed++;
}

static void list_and_one(postie_fetch_protocol_t protocol)
{
    static seed_t s;
    static char buf[8192];
    postie_mailbox_client_config_t cfg;
    postie_mailbox_info_t info;
    postie_error_t err;
    char out[512];
    uint64_t octets = 0;
    FILE *f;
    size_t len;

    memset(&s, 0, sizeof(s));
    account(&cfg, protocol, false, "carol");
    seed("carol", &s, "list", 2);
    listed = 0;
    assert_int_equal(postie_fetch_list(&cfg, on_list, NULL, &info, &err), POSTIE_OK);
    assert_int_equal(listed, 2);
    assert_int_equal(listed_size[1], s.len[1]);
    snprintf(out, sizeof(out), "%s/one-%d.eml", work, (int)protocol);
    assert_int_equal(postie_fetch_message_to_file(&cfg, listed_id[1], out, 0, &octets, &err),
                     POSTIE_OK);
    assert_int_equal(octets, s.len[1]);
    f = fopen(out, "rb");
    assert_non_null(f);
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(len, s.len[1]);
    assert_memory_equal(buf, s.data[1], len);
    assert_int_equal(server_count("carol"), 2);
    /* a message that is not there: an error, no file */
    snprintf(out, sizeof(out), "%s/none-%d.eml", work, (int)protocol);
    assert_int_not_equal(postie_fetch_message_to_file(&cfg, 999, out, 0, NULL, &err), POSTIE_OK);
    assert_int_not_equal(access(out, F_OK), 0);
    /* clean up for the next test: fetch in delete mode */
    {
        postie_fetch_account_report_t r;
        fetch(&cfg, protocol == POSTIE_FETCH_POP3 ? "list-pop3" : "list-imap", true, &r);
        assert_int_equal(server_count("carol"), 0);
    }
}

static void test_list_and_one(void **state)
{
    (void)state;
    list_and_one(POSTIE_FETCH_POP3);
    list_and_one(POSTIE_FETCH_IMAP);
}

/* The account test: every step reported. */
static void test_check(void **state)
{
    postie_mailbox_client_config_t cfg;
    postie_mailbox_check_report_t r;
    (void)state;
    account(&cfg, POSTIE_FETCH_IMAP, true, "alice");
    assert_int_equal(postie_mailbox_test_connection(&cfg, &r), POSTIE_OK);
    for (int i = 0; i < POSTIE_MCHECK_COUNT; i++) {
        assert_int_equal(r.result[i], POSTIE_STEP_OK);
    }
    assert_true(r.tls.version[0] != '\0');
    assert_non_null(strstr(r.tls.peer_subject, "localhost"));
    assert_true(r.capabilities[0] != '\0');
    assert_true(r.uidvalidity != 0);

    account(&cfg, POSTIE_FETCH_POP3, false, "alice");
    cfg.password = "wrong";
    assert_int_equal(postie_mailbox_test_connection(&cfg, &r), POSTIE_E_AUTH_FAILED);
    assert_int_equal(r.result[POSTIE_MCHECK_TLS], POSTIE_STEP_OK);
    assert_int_equal(r.result[POSTIE_MCHECK_CAPABILITIES], POSTIE_STEP_OK);
    assert_int_equal(r.result[POSTIE_MCHECK_LOGIN], POSTIE_STEP_FAILED);
    assert_int_equal(r.result[POSTIE_MCHECK_MAILBOX], POSTIE_STEP_SKIPPED);

    account(&cfg, POSTIE_FETCH_POP3, false, "alice");
    cfg.port = 1; /* nothing listens there */
    assert_int_not_equal(postie_mailbox_test_connection(&cfg, &r), POSTIE_OK);
    assert_int_equal(r.result[POSTIE_MCHECK_DNS], POSTIE_STEP_OK);
    assert_int_equal(r.result[POSTIE_MCHECK_TCP], POSTIE_STEP_FAILED);
    assert_int_equal(r.result[POSTIE_MCHECK_LOGIN], POSTIE_STEP_SKIPPED);
}

/* A second run on a locked account is refused before connecting. */
static void test_locked(void **state)
{
    static postie_state_file_t held;
    postie_fetch_store_t store;
    postie_mailbox_client_config_t cfg;
    postie_fetch_account_options_t opt;
    postie_fetch_account_report_t r;
    char maildir[512];
    char st[512];
    (void)state;
    paths("locked", maildir, st);
    assert_int_equal(postie_state_file_open(&held, st, &store), POSTIE_OK);
    account(&cfg, POSTIE_FETCH_IMAP, true, "alice");
    postie_fetch_account_options_defaults(&opt);
    opt.maildir = maildir;
    opt.state_path = st;
    assert_int_equal(postie_fetch_account(&cfg, &opt, &r), POSTIE_E_BUSY);
    postie_state_file_close(&held);
    assert_int_equal(postie_fetch_account(&cfg, &opt, &r), POSTIE_OK);
}

static int setup(void **state)
{
    (void)state;
    snprintf(work, sizeof(work), "/tmp/postie-fetch-it-XXXXXX");
    if (mkdtemp(work) == NULL) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pop3_stls),     cmocka_unit_test(test_pop3s),
        cmocka_unit_test(test_imap_starttls), cmocka_unit_test(test_imaps),
        cmocka_unit_test(test_pop3_keep),     cmocka_unit_test(test_imap_keep),
        cmocka_unit_test(test_list_and_one),  cmocka_unit_test(test_check),
        cmocka_unit_test(test_locked),        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
