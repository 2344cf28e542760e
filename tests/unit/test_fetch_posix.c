/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POSIX fetch pieces without a server: the Maildir sink (tmp/ -> new/,
 * exact bytes, contains() after a reader moved the file to cur/ with
 * flags, abort, odd keys) and the state file (atomic save, mode 0600, the
 * lock, damage, set-aside).
 */
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postie/posix/fetch_account.h"
#include "postie/posix/fetch_state_file.h"
#include "postie/posix/mailbox_check.h"
#include "postie/posix/maildir.h"

static char base[256];

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/postie-fetch-posix-XXXXXX");
    assert_non_null(mkdtemp(base));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* The only file in dir (its name into name); fails unless exactly one. */
static size_t files_in(const char *dir, char *name, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        n++;
        if (name != NULL) {
            snprintf(name, cap, "%s", de->d_name);
        }
    }
    closedir(d);
    return n;
}

static void store(postie_archive_t *s, const char *key, const char *data)
{
    assert_int_equal(s->ops->begin(s->ctx, key, strlen(data)), POSTIE_OK);
    size_t len = strlen(data);
    for (size_t i = 0; i < len; i += 3) {
        size_t n = len - i < 3 ? len - i : 3;
        assert_int_equal(s->ops->write(s->ctx, (const uint8_t *)data + i, n), POSTIE_OK);
    }
    assert_int_equal(s->ops->commit(s->ctx), POSTIE_OK);
    assert_int_equal(s->ops->flush(s->ctx), POSTIE_OK);
}

/* Group commit: committed messages stay in tmp/ (invisible) until flush
 * moves them all into new/; abort drops the ones not flushed. */
static void test_maildir_group_commit(void **state)
{
    postie_maildir_t md;
    postie_archive_t sink;
    char dir[600];
    char path[1200];
    bool found = true;
    (void)state;
    snprintf(dir, sizeof(dir), "%s/group/Maildir", base);
    assert_int_equal(postie_maildir_open(&md, dir, &sink), POSTIE_OK);
    assert_non_null(sink.ops->flush);
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof(key), "imap-1-%d", i + 1);
        assert_int_equal(sink.ops->begin(sink.ctx, key, 3), POSTIE_OK);
        assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"x\r\n", 3), POSTIE_OK);
        assert_int_equal(sink.ops->commit(sink.ctx), POSTIE_OK);
    }
    snprintf(path, sizeof(path), "%s/new", dir);
    assert_int_equal(files_in(path, NULL, 0), 0);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-2", &found), POSTIE_OK);
    assert_false(found);
    snprintf(path, sizeof(path), "%s/tmp", dir);
    assert_int_equal(files_in(path, NULL, 0), 3);
    assert_int_equal(sink.ops->flush(sink.ctx), POSTIE_OK);
    snprintf(path, sizeof(path), "%s/new", dir);
    assert_int_equal(files_in(path, NULL, 0), 3);
    snprintf(path, sizeof(path), "%s/tmp", dir);
    assert_int_equal(files_in(path, NULL, 0), 0);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-2", &found), POSTIE_OK);
    assert_true(found);
    /* committed, then aborted before a flush: nothing kept */
    assert_int_equal(sink.ops->begin(sink.ctx, "imap-1-9", 3), POSTIE_OK);
    assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"x\r\n", 3), POSTIE_OK);
    assert_int_equal(sink.ops->commit(sink.ctx), POSTIE_OK);
    sink.ops->abort(sink.ctx);
    assert_int_equal(files_in(path, NULL, 0), 0);
    snprintf(path, sizeof(path), "%s/new", dir);
    assert_int_equal(files_in(path, NULL, 0), 3);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-9", &found), POSTIE_OK);
    assert_false(found);
    postie_maildir_close(&md);
}

/* Commit n messages under keys "<tag>-<i>" and flush them; the sync calls
 * that took. */
static uint32_t batch_syncs(postie_maildir_t *md, postie_archive_t *sink, const char *tag, int n)
{
    uint32_t before = postie_maildir_syncs(md);
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "%s-%d", tag, i + 1);
        assert_int_equal(sink->ops->begin(sink->ctx, key, 3), POSTIE_OK);
        assert_int_equal(sink->ops->write(sink->ctx, (const uint8_t *)"x\r\n", 3), POSTIE_OK);
        assert_int_equal(sink->ops->commit(sink->ctx), POSTIE_OK);
    }
    assert_int_equal(sink->ops->flush(sink->ctx), POSTIE_OK);
    return postie_maildir_syncs(md) - before;
}

/* A batch's flush costs one syncfs and one fsync of new/ on Linux >= 5.8,
 * not one fdatasync per message; a single message, or a system without a
 * syncfs that reports errors, syncs each file. Every message lands. */
static void test_maildir_batch_sync(void **state)
{
    postie_maildir_t md;
    postie_archive_t sink;
    char dir[600];
    char path[1200];
    size_t stored = 0;
    (void)state;
    snprintf(dir, sizeof(dir), "%s/batchsync/Maildir", base);
    assert_int_equal(postie_maildir_open(&md, dir, &sink), POSTIE_OK);
#ifdef __linux__
    assert_true(md.syncfs); /* this machine's kernel is newer than 5.8 */
#endif
    if (md.syncfs) {
        assert_int_equal(batch_syncs(&md, &sink, "pop3-a", 32), 2);
        stored += 32;
    }
    assert_int_equal(batch_syncs(&md, &sink, "pop3-b", 1), 2);
    md.syncfs = false; /* the fallback: each file on its own */
    assert_int_equal(batch_syncs(&md, &sink, "pop3-c", 5), 6);
    snprintf(path, sizeof(path), "%s/new", dir);
    assert_int_equal(files_in(path, NULL, 0), stored + 6);
    snprintf(path, sizeof(path), "%s/tmp", dir);
    assert_int_equal(files_in(path, NULL, 0), 0);
    postie_maildir_close(&md);
}

/* Threads of this process (/proc/self/task). */
static size_t threads(void)
{
    return files_in("/proc/self/task", NULL, 0);
}

/* Write-back ahead: every POSTIE_MAILDIR_WRITEBACK_EVERY commits the
 * sink's own thread runs a syncfs; the flush waits for it, then makes the
 * batch durable as before; close ends the thread. Fewer commits start no
 * thread. */
static void test_maildir_writeback(void **state)
{
    postie_maildir_t md;
    postie_archive_t sink;
    char dir[600];
    char path[1200];
    size_t before = threads();
    int n = 2 * POSTIE_MAILDIR_WRITEBACK_EVERY + 3;
    (void)state;
    snprintf(dir, sizeof(dir), "%s/writeback/Maildir", base);
    assert_int_equal(postie_maildir_open(&md, dir, &sink), POSTIE_OK);
    if (!md.syncfs) {
        postie_maildir_close(&md);
        skip(); /* a kernel without an error-reporting syncfs: no write-back ahead */
    }
    /* a batch under the mark: no thread */
    assert_int_equal(batch_syncs(&md, &sink, "pop3-small", POSTIE_MAILDIR_WRITEBACK_EVERY - 1), 2);
    assert_int_equal(threads(), before);
    assert_int_equal(postie_maildir_writebacks(&md), 0);
    /* a batch past it twice: the thread ran (once or twice: a kick while a
     * syncfs runs is not queued), and every message is in new/ */
    assert_int_equal(batch_syncs(&md, &sink, "pop3-big", n), 2);
    assert_int_equal(threads(), before + 1);
    assert_true(postie_maildir_writebacks(&md) >= 1);
    assert_true(postie_maildir_writebacks(&md) <= 2);
    snprintf(path, sizeof(path), "%s/new", dir);
    assert_int_equal(files_in(path, NULL, 0), (size_t)(POSTIE_MAILDIR_WRITEBACK_EVERY - 1 + n));
    snprintf(path, sizeof(path), "%s/tmp", dir);
    assert_int_equal(files_in(path, NULL, 0), 0);
    postie_maildir_close(&md);
    assert_int_equal(threads(), before);
    assert_true(postie_maildir_writebacks(&md) >= 1);
}

static void test_maildir(void **state)
{
    static postie_maildir_t md;
    static char big[20000];
    postie_archive_t sink;
    char dir[400];
    char path[1200];
    char name[600];
    char moved[1200];
    struct stat sb;
    bool found = true;
    FILE *f;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/a/b/Maildir", base);
    assert_int_equal(postie_maildir_open(&md, dir, &sink), POSTIE_OK);
    snprintf(path, sizeof(path), "%s/tmp", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);

    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-1", &found), POSTIE_OK);
    assert_false(found);
    store(&sink, "imap-1-1", "Subject: one\r\n\r\nbody\r\n");
    snprintf(path, sizeof(path), "%s/new", dir);
    assert_int_equal(files_in(path, name, sizeof(name)), 1);
    assert_non_null(strstr(name, ",K=imap-1-1"));
    snprintf(path, sizeof(path), "%s/tmp", dir);
    assert_int_equal(files_in(path, NULL, 0), 0);
    snprintf(path, sizeof(path), "%s/new/%s", dir, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(big, 1, sizeof(big), f), 22);
    fclose(f);
    assert_memory_equal(big, "Subject: one\r\n\r\nbody\r\n", 22);

    /* found in new/, then in cur/ after a reader moved it with flags; a
     * key that is a prefix of another is not confused with it */
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-1", &found), POSTIE_OK);
    assert_true(found);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-", &found), POSTIE_OK);
    assert_false(found);
    snprintf(moved, sizeof(moved), "%s/cur/%s:2,S", dir, name);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-1", &found), POSTIE_OK);
    assert_true(found);
    /* a new sink reads the directories afresh: found in cur/ */
    postie_maildir_close(&md);
    assert_int_equal(postie_maildir_open(&md, dir, &sink), POSTIE_OK);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-1", &found), POSTIE_OK);
    assert_true(found);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-11", &found), POSTIE_OK);
    assert_false(found);

    /* a POP3 UIDL with '/', ':' and '%' */
    store(&sink, "acct.pop3-a/b:c%d", "x\r\n");
    assert_int_equal(sink.ops->contains(sink.ctx, "acct.pop3-a/b:c%d", &found), POSTIE_OK);
    assert_true(found);
    assert_int_equal(sink.ops->contains(sink.ctx, "acct.pop3-a/b:c", &found), POSTIE_OK);
    assert_false(found);
    {
        char enc[200];
        assert_int_equal(postie_maildir_key_encode("pop3-a/b:c%d", enc, sizeof(enc)), POSTIE_OK);
        assert_string_equal(enc, "pop3-a%2Fb%3Ac%25d");
    }
    /* a key too long for a file name in plain: named by its hash */
    {
        char key[POSTIE_ARCHIVE_KEY_MAX];
        memset(key, '/', sizeof(key) - 1);
        key[sizeof(key) - 1] = '\0';
        memcpy(key, "pop3-", 5);
        store(&sink, key, "y\r\n");
        assert_int_equal(sink.ops->contains(sink.ctx, key, &found), POSTIE_OK);
        assert_true(found);
        key[10] = 'z';
        assert_int_equal(sink.ops->contains(sink.ctx, key, &found), POSTIE_OK);
        assert_false(found);
    }

    /* abort leaves nothing behind */
    assert_int_equal(sink.ops->begin(sink.ctx, "imap-1-2", 0), POSTIE_OK);
    assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"partial", 7), POSTIE_OK);
    sink.ops->abort(sink.ctx);
    snprintf(path, sizeof(path), "%s/tmp", dir);
    assert_int_equal(files_in(path, NULL, 0), 0);
    assert_int_equal(sink.ops->contains(sink.ctx, "imap-1-2", &found), POSTIE_OK);
    assert_false(found);

    /* a large message in many writes, byte-exact */
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[sizeof(big) - 1] = '\0';
    store(&sink, "imap-1-3", big);
    snprintf(path, sizeof(path), "%s/new", dir);
    assert_int_equal(files_in(path, NULL, 0), 3);
    postie_maildir_close(&md);

    /* a path that is a file */
    snprintf(path, sizeof(path), "%s/plainfile", base);
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(postie_maildir_open(&md, path, &sink), POSTIE_E_ARCHIVE_FAILED);
    assert_non_null(strstr(postie_maildir_error(&md)->subject, "plainfile"));
}

static void test_state_file(void **state)
{
    static postie_state_file_t sf;
    static postie_state_file_t other;
    static postie_fetch_state_t st;
    static postie_fetch_state_t back;
    postie_fetch_store_t store_a;
    postie_fetch_store_t store_b;
    postie_error_t err;
    char path[400];
    char tmp[450];
    struct stat sb;
    FILE *f;
    (void)state;

    snprintf(path, sizeof(path), "%s/acct.state", base);
    assert_int_equal(postie_state_file_open(&sf, path, &store_a), POSTIE_OK);
    /* a second run on the account: busy at once */
    assert_int_equal(postie_state_file_open(&other, path, &store_b), POSTIE_E_BUSY);
    postie_state_file_close(&other);

    assert_int_equal(store_a.ops->load(store_a.ctx, &back), POSTIE_E_NOT_FOUND);
    postie_fetch_state_init(&st, POSTIE_FETCH_POP3);
    assert_int_equal(postie_fetch_state_add_uidl(&st, "abc"), POSTIE_OK);
    st.clean = true;
    assert_int_equal(store_a.ops->save(store_a.ctx, &st), POSTIE_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(stat(tmp, &sb), 0);
    assert_int_equal(store_a.ops->load(store_a.ctx, &back), POSTIE_OK);
    assert_true(postie_fetch_state_has_uidl(&back, "abc"));
    assert_true(back.clean);

    /* set aside */
    postie_fetch_state_init(&st, POSTIE_FETCH_IMAP);
    st.uidvalidity = 42;
    assert_int_equal(store_a.ops->set_aside(store_a.ctx, &st), POSTIE_OK);
    snprintf(tmp, sizeof(tmp), "%s.uidvalidity-42", path);
    assert_int_equal(postie_state_file_read(tmp, &back, &err), POSTIE_OK);
    assert_int_equal(back.uidvalidity, 42);

    /* damage: refused with the line and why */
    f = fopen(path, "a");
    fputs("uidl extra\n", f);
    fclose(f);
    assert_int_equal(store_a.ops->load(store_a.ctx, &back), POSTIE_E_FETCH_STATE);
    assert_non_null(strstr(postie_state_file_error(&sf)->subject, "text after the end line"));
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(store_a.ops->load(store_a.ctx, &back), POSTIE_E_FETCH_STATE);

    /* after close the lock is free */
    postie_state_file_close(&sf);
    assert_int_equal(postie_state_file_open(&other, path, &store_b), POSTIE_OK);
    postie_state_file_close(&other);

    /* a directory that does not exist */
    snprintf(path, sizeof(path), "%s/missing/acct.state", base);
    assert_int_equal(postie_state_file_open(&sf, path, &store_a), POSTIE_E_FETCH_STATE);
    postie_state_file_close(&sf);
}

static void on_item(void *ctx, const postie_mail_item_t *item)
{
    (void)ctx;
    (void)item;
}

/* Every argument the fetch headers call optional, with NULL; and the
 * calls that must be safe on a client that was never opened. */
static void test_optional_arguments(void **state)
{
    static postie_mailbox_client_t zero;
    postie_mailbox_client_config_t cfg;
    postie_fetch_account_options_t opt;
    postie_fetch_account_report_t r;
    postie_mailbox_check_report_t check;
    postie_mail_item_t item;
    char key[POSTIE_ARCHIVE_KEY_MAX];
    (void)state;

    postie_mailbox_client_close(&zero);
    assert_non_null(postie_mailbox_client_error(&zero));
    assert_int_equal(postie_mailbox_client_info(&zero)->messages, 0);

    postie_mailbox_client_config_defaults(&cfg);
    assert_int_equal(postie_mailbox_client_port(&cfg), 110);
    cfg.tls_mode = POSTIE_TLS_IMPLICIT;
    assert_int_equal(postie_mailbox_client_port(&cfg), 995);
    cfg.protocol = POSTIE_FETCH_IMAP;
    assert_int_equal(postie_mailbox_client_port(&cfg), 993);
    cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
    assert_int_equal(postie_mailbox_client_port(&cfg), 143);
    /* no host: refused before any connection, NULL info, error, octets */
    assert_int_equal(postie_fetch_list(&cfg, on_item, NULL, NULL, NULL), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_fetch_message_to_file(&cfg, 1, "/nonexistent/x", 0, NULL, NULL),
                     POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_mailbox_test_connection(&cfg, &check), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(check.result[POSTIE_MCHECK_DNS], POSTIE_STEP_FAILED);

    /* sink NULL and maildir NULL: refused; key_prefix, progress, stop NULL */
    postie_fetch_account_options_defaults(&opt);
    assert_true(opt.delete_after_archive);
    assert_int_equal(postie_fetch_account(&cfg, &opt, &r), POSTIE_E_INVALID_ARGUMENT);

    memset(&item, 0, sizeof(item));
    item.id = 7;
    assert_int_equal(postie_fetch_key(POSTIE_FETCH_IMAP, NULL, 3, &item, key, sizeof(key)),
                     POSTIE_OK);
    assert_string_equal(key, "imap-3-7");
    assert_int_equal(postie_fetch_key(POSTIE_FETCH_POP3, NULL, 0, &item, key, sizeof(key)),
                     POSTIE_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_maildir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maildir_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maildir_batch_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maildir_writeback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
        cmocka_unit_test(test_optional_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
