/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Maildir archive sink. See postie/posix/maildir.h.
 */
#define _GNU_SOURCE /* gethostname, sync_file_range */

#include "postie/posix/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "postie/common/text.h"

/* A message committed and not yet flushed: its open tmp/ file. */
struct postie_maildir_pending {
    int fd;
    char *name; /* the final name (heap) */
};

/* Write-back ahead (see maildir.h): a thread of the sink's own that runs a
 * syncfs each time it is asked, while the caller goes on receiving. It
 * makes nothing durable that the flush relies on: the flush still runs its
 * own syncfs, on the batch's first file, which reports every write-back
 * error since that file was opened (the thread's syncfs runs on its own
 * descriptor, so it does not take that report away). */
struct postie_maildir_writeback {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int fd;    /* the Maildir directory, the thread's own descriptor */
    bool kick; /* asked for a syncfs, not started yet */
    bool busy; /* a syncfs runs */
    bool stop;
    uint32_t runs; /* syncfs calls made */
};

/* Longest encoded key kept as it is in a file name; longer keys are named by
 * a hash (file names stop at 255 octets). */
#define KEY_NAME_MAX 160

static postie_status_t fail(postie_maildir_t *md, postie_status_t st, const char *phase,
                            const char *path, int err)
{
    char text[sizeof(md->error.subject)];
    postie_error_clear(&md->error);
    md->error.status = st;
    md->error.phase = phase;
    postie_text_t t; /* cut, not truncated by snprintf: -Wformat-truncation in Release */
    postie_text_init_str(&t, text, sizeof(text));
    postie_text_put_cut(&t, path);
    postie_text_put_cut(&t, ": ");
    postie_text_put_cut(&t, err != 0 ? strerror(err) : "too long");
    postie_text_copy_printable(md->error.subject, sizeof(md->error.subject), text, strlen(text));
    return st;
}

postie_status_t postie_maildir_key_encode(const char *key, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    char enc[3 * POSTIE_ARCHIVE_KEY_MAX + 1];
    postie_text_t t;
    postie_text_init_str(&t, enc, sizeof(enc));
    for (const char *p = key; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-') {
            postie_text_put_char(&t, (char)c);
        } else {
            postie_text_put_char(&t, '%');
            postie_text_put_char(&t, hex[c >> 4]);
            postie_text_put_char(&t, hex[c & 0xFu]);
        }
    }
    if (t.overflow || t.len > KEY_NAME_MAX) {
        /* too long for a file name: "#" and the FNV-1a 64 hash of the key */
        uint64_t h = 14695981039346656037u;
        for (const char *p = key; *p != '\0'; p++) {
            h ^= (unsigned char)*p;
            h *= 1099511628211u;
        }
        postie_text_init_str(&t, enc, sizeof(enc));
        postie_text_put_char(&t, '#');
        for (int shift = 60; shift >= 0; shift -= 4) {
            postie_text_put_char(&t, hex[(h >> shift) & 0xFu]);
        }
    }
    return postie_text_copy(out, cap, enc) ? POSTIE_OK : POSTIE_E_NO_SPACE;
}

/* path/sub into out. */
static bool join(char *out, size_t cap, const char *dir, const char *sub)
{
    int n = snprintf(out, cap, "%s/%s", dir, sub);
    return n > 0 && (size_t)n < cap;
}

/* mkdir -p with mode 0700 for what is made. */
static int make_dirs(char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
    }
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                int err = errno;
                *p = '/';
                return err;
            }
            *p = '/';
        }
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return errno;
    }
    return 0;
}

static int sync_dir(postie_maildir_t *md, const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    int err = 0;
    if (fd < 0) {
        return errno;
    }
    md->syncs++;
    if (fsync(fd) != 0) {
        err = errno;
    }
    close(fd);
    return err;
}

static void *writeback_main(void *arg)
{
    struct postie_maildir_writeback *wb = arg;
    pthread_mutex_lock(&wb->mu);
    for (;;) {
        while (!wb->kick && !wb->stop) {
            pthread_cond_wait(&wb->cv, &wb->mu);
        }
        if (wb->stop) {
            break;
        }
        wb->kick = false;
        wb->busy = true;
        pthread_mutex_unlock(&wb->mu);
#ifdef __linux__
        (void)syncfs(wb->fd); /* advisory: the flush's own syncfs reports errors */
#endif
        pthread_mutex_lock(&wb->mu);
        wb->busy = false;
        wb->runs++;
        pthread_cond_broadcast(&wb->cv);
    }
    pthread_mutex_unlock(&wb->mu);
    return NULL;
}

/* Start the thread (first use). false: it could not be started; the sink
 * works on without it. */
static bool writeback_start(postie_maildir_t *md)
{
    struct postie_maildir_writeback *wb = calloc(1, sizeof(*wb));
    sigset_t all;
    sigset_t old;
    int rc;
    if (wb == NULL) {
        return false;
    }
    wb->fd = open(md->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (wb->fd < 0) {
        free(wb);
        return false;
    }
    if (pthread_mutex_init(&wb->mu, NULL) != 0) {
        close(wb->fd);
        free(wb);
        return false;
    }
    if (pthread_cond_init(&wb->cv, NULL) != 0) {
        pthread_mutex_destroy(&wb->mu);
        close(wb->fd);
        free(wb);
        return false;
    }
    /* every signal stays with the caller's threads (SIGTERM must reach the
     * fetch loop, SIGHUP the poller) */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&wb->thread, NULL, writeback_main, wb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&wb->cv);
        pthread_mutex_destroy(&wb->mu);
        close(wb->fd);
        free(wb);
        return false;
    }
    md->writeback = wb;
    return true;
}

/* Ask the thread for a syncfs now, unless one runs already. */
static void writeback_kick(postie_maildir_t *md)
{
    struct postie_maildir_writeback *wb;
    if (md->writeback == NULL && (md->writeback_off || !writeback_start(md))) {
        md->writeback_off = true;
        return;
    }
    wb = md->writeback;
    pthread_mutex_lock(&wb->mu);
    if (!wb->busy) {
        wb->kick = true;
        pthread_cond_broadcast(&wb->cv);
    }
    pthread_mutex_unlock(&wb->mu);
}

/* Wait until the thread is idle (before the flush's own syncfs). */
static void writeback_wait(postie_maildir_t *md)
{
    struct postie_maildir_writeback *wb = md->writeback;
    if (wb == NULL) {
        return;
    }
    pthread_mutex_lock(&wb->mu);
    while (wb->busy || wb->kick) {
        pthread_cond_wait(&wb->cv, &wb->mu);
    }
    pthread_mutex_unlock(&wb->mu);
}

static void writeback_end(postie_maildir_t *md)
{
    struct postie_maildir_writeback *wb = md->writeback;
    if (wb == NULL) {
        return;
    }
    pthread_mutex_lock(&wb->mu);
    wb->stop = true;
    pthread_cond_broadcast(&wb->cv);
    pthread_mutex_unlock(&wb->mu);
    pthread_join(wb->thread, NULL);
    md->writeback_runs += wb->runs;
    pthread_cond_destroy(&wb->cv);
    pthread_mutex_destroy(&wb->mu);
    close(wb->fd);
    free(wb);
    md->writeback = NULL;
}

/* Whether syncfs(2) both makes a file system durable and reports the
 * write-back errors it meets: Linux from 5.8 on (before, it returned 0
 * whatever failed, which would hide a lost message; then each file gets its
 * own fdatasync). */
static bool syncfs_reports_errors(void)
{
#ifdef __linux__
    struct utsname u;
    unsigned long major = 0;
    unsigned long minor = 0;
    char *end = NULL;
    if (uname(&u) != 0) {
        return false;
    }
    major = strtoul(u.release, &end, 10);
    if (end == NULL || *end != '.') {
        return false;
    }
    minor = strtoul(end + 1, NULL, 10);
    return major > 5 || (major == 5 && minor >= 8);
#else
    return false;
#endif
}

/* ---- the key index ----------------------------------------------------------- */

static void index_free(postie_maildir_t *md)
{
    for (size_t i = 0; i < md->keys_n; i++) {
        free(md->keys[i]);
    }
    free(md->keys);
    md->keys = NULL;
    md->keys_n = md->keys_cap = 0;
    md->indexed = false;
}

/* Add the encoded key of a file name (after ",K=", up to ':' or the end). */
static bool index_add(postie_maildir_t *md, const char *name)
{
    const char *k = strstr(name, ",K=");
    size_t len;
    char *copy;
    if (k == NULL) {
        return true;
    }
    k += 3;
    len = strcspn(k, ":");
    if (md->keys_n == md->keys_cap) {
        size_t cap = md->keys_cap == 0 ? 256 : md->keys_cap * 2;
        char **grown = realloc(md->keys, cap * sizeof(*grown));
        if (grown == NULL) {
            return false;
        }
        md->keys = grown;
        md->keys_cap = cap;
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        return false;
    }
    memcpy(copy, k, len);
    copy[len] = '\0';
    md->keys[md->keys_n++] = copy;
    md->sorted = false;
    return true;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add a name committed now, keeping a sorted index sorted (no re-sort per
 * message). */
static bool index_insert(postie_maildir_t *md, const char *name)
{
    size_t lo = 0;
    size_t hi;
    char *last;
    bool was_sorted = md->sorted || md->keys_n < 2;
    if (!index_add(md, name)) {
        return false;
    }
    if (!was_sorted) {
        return true; /* sorted by the next contains */
    }
    if (md->keys_n < 2) {
        md->sorted = true;
        return true;
    }
    /* the index was sorted before this key: move the key into place */
    last = md->keys[md->keys_n - 1];
    hi = md->keys_n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(md->keys[mid], last) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    memmove(md->keys + lo + 1, md->keys + lo, (md->keys_n - 1 - lo) * sizeof(md->keys[0]));
    md->keys[lo] = last;
    md->sorted = true;
    return true;
}

/* Read new/ and cur/ into the index. false: a directory could not be read
 * (md->error says why) or memory ran out (index left unbuilt). */
static postie_status_t index_build(postie_maildir_t *md)
{
    static const char *const subs[] = {"new", "cur"};
    for (size_t i = 0; i < 2; i++) {
        char path[POSTIE_MAILDIR_PATH_MAX];
        DIR *d;
        struct dirent *de;
        bool ok = true;
        if (!join(path, sizeof(path), md->dir, subs[i])) {
            index_free(md);
            return fail(md, POSTIE_E_ARCHIVE_FAILED, "Maildir path", md->dir, 0);
        }
        d = opendir(path);
        if (d == NULL) {
            int err = errno;
            index_free(md);
            return fail(md, POSTIE_E_ARCHIVE_FAILED, "reading the Maildir", path, err);
        }
        while (ok && (de = readdir(d)) != NULL) {
            ok = index_add(md, de->d_name);
        }
        closedir(d);
        if (!ok) {
            index_free(md);
            return fail(md, POSTIE_E_ARCHIVE_FAILED, "indexing the Maildir", md->dir, ENOMEM);
        }
    }
    md->indexed = true;
    return POSTIE_OK;
}

static postie_status_t md_begin(void *ctx, const char *key, uint64_t size)
{
    postie_maildir_t *md = ctx;
    char enc[KEY_NAME_MAX + 4];
    struct timeval tv;
    int n;
    (void)size;
    if (md->fd >= 0) {
        return POSTIE_E_BAD_STATE;
    }
    if (postie_maildir_key_encode(key, enc, sizeof(enc)) != POSTIE_OK) {
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "Maildir file name", key, 0);
    }
    gettimeofday(&tv, NULL);
    md->counter++;
    n = snprintf(md->name, sizeof(md->name), "%lld.M%06ldP%ldQ%u.%s,K=%s", (long long)tv.tv_sec,
                 (long)tv.tv_usec, md->pid, (unsigned)md->counter, md->host, enc);
    if (n <= 0 || (size_t)n >= sizeof(md->name) ||
        snprintf(md->tmp_path, sizeof(md->tmp_path), "%s/tmp/%s", md->dir, md->name) >=
            (int)sizeof(md->tmp_path)) {
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "Maildir file name", md->dir, 0);
    }
    md->fd = open(md->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (md->fd < 0) {
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "creating the message in tmp/", md->tmp_path,
                    errno);
    }
    md->octets = 0;
    md->buffered = 0;
    return POSTIE_OK;
}

static postie_status_t flush(postie_maildir_t *md)
{
    size_t done = 0;
    while (done < md->buffered) {
        ssize_t w = write(md->fd, md->buf + done, md->buffered - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return fail(md, POSTIE_E_ARCHIVE_FAILED, "writing the message", md->tmp_path,
                        w < 0 ? errno : EIO);
        }
        done += (size_t)w;
    }
    md->buffered = 0;
    return POSTIE_OK;
}

static postie_status_t md_write(void *ctx, const uint8_t *data, size_t len)
{
    postie_maildir_t *md = ctx;
    if (md->fd < 0) {
        return POSTIE_E_BAD_STATE;
    }
    while (len > 0) {
        size_t room = sizeof(md->buf) - md->buffered;
        size_t take = len < room ? len : room;
        memcpy(md->buf + md->buffered, data, take);
        md->buffered += take;
        data += take;
        len -= take;
        md->octets += take;
        if (md->buffered == sizeof(md->buf) && flush(md) != POSTIE_OK) {
            return POSTIE_E_ARCHIVE_FAILED;
        }
    }
    return POSTIE_OK;
}

/* Forget the pending messages: close and (unless kept) remove their tmp/
 * files. */
static void pend_drop(postie_maildir_t *md)
{
    for (size_t i = 0; i < md->pend_n; i++) {
        char path[POSTIE_MAILDIR_PATH_MAX];
        if (md->pend[i].fd >= 0) {
            close(md->pend[i].fd);
        }
        if (snprintf(path, sizeof(path), "%s/tmp/%s", md->dir, md->pend[i].name) <
            (int)sizeof(path)) {
            (void)unlink(path);
        }
        free(md->pend[i].name);
    }
    md->pend_n = 0;
}

static void md_abort(void *ctx)
{
    postie_maildir_t *md = ctx;
    if (md->fd >= 0) {
        close(md->fd);
        md->fd = -1;
        (void)unlink(md->tmp_path);
    }
    md->buffered = 0;
    pend_drop(md);
}

/* Commit: the message's octets are written (not yet durable); it joins the
 * pending list until flush. */
static postie_status_t md_commit(void *ctx)
{
    postie_maildir_t *md = ctx;
    size_t len;
    char *name;
    if (md->fd < 0) {
        return POSTIE_E_BAD_STATE;
    }
    if (flush(md) != POSTIE_OK) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    if (md->pend_n == md->pend_cap) {
        size_t cap = md->pend_cap == 0 ? 32 : md->pend_cap * 2;
        struct postie_maildir_pending *grown = realloc(md->pend, cap * sizeof(*grown));
        if (grown == NULL) {
            return fail(md, POSTIE_E_ARCHIVE_FAILED, "committing the message", md->tmp_path,
                        ENOMEM);
        }
        md->pend = grown;
        md->pend_cap = cap;
    }
    len = strlen(md->name);
    name = malloc(len + 1);
    if (name == NULL) {
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "committing the message", md->tmp_path, ENOMEM);
    }
    memcpy(name, md->name, len + 1);
#ifdef SYNC_FILE_RANGE_WRITE
    if (!md->syncfs) {
        /* start the write-back now: the flush then waits, it does not start it */
        (void)sync_file_range(md->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
#endif
    md->pend[md->pend_n].fd = md->fd;
    md->pend[md->pend_n].name = name;
    md->pend_n++;
    md->fd = -1;
    if (md->syncfs && md->pend_n % POSTIE_MAILDIR_WRITEBACK_EVERY == 0) {
        writeback_kick(md); /* the disk starts on them while more arrive */
    }
    return POSTIE_OK;
}

/* Flush: every pending message durable, then visible in new/, then new/
 * durable. On a failure the pending messages not yet moved are dropped;
 * those moved are complete and durable (contains may find them). */
static postie_status_t md_flush(void *ctx)
{
    postie_maildir_t *md = ctx;
    char newdir[POSTIE_MAILDIR_PATH_MAX];
    size_t moved = 0;
    int err;
    if (md->pend_n == 0) {
        return POSTIE_OK;
    }
    if (!join(newdir, sizeof(newdir), md->dir, "new")) {
        pend_drop(md);
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "Maildir file name", md->dir, 0);
    }
    /* 1. the data. Several files on Linux >= 5.8: one syncfs writes back
     * every dirty page of the file system and commits its journal once (a
     * pass of fdatasyncs commits and flushes the disk once per file); its
     * error report covers every write since the batch's first file was
     * opened. Otherwise each file on its own (fdatasync). */
    err = 0;
#ifdef __linux__
    if (md->syncfs && md->pend_n > 1) {
        writeback_wait(md);
        md->syncs++;
        err = syncfs(md->pend[0].fd) != 0 ? errno : 0;
        for (size_t i = 0; i < md->pend_n; i++) {
            if (close(md->pend[i].fd) != 0 && err == 0) {
                err = errno;
            }
            md->pend[i].fd = -1;
        }
    }
#endif
    for (size_t i = 0; i < md->pend_n && err == 0; i++) {
        struct postie_maildir_pending *p = &md->pend[i];
        if (p->fd < 0) {
            continue; /* made durable by the syncfs */
        }
        md->syncs++;
        err = fdatasync(p->fd) != 0 ? errno : 0;
        if (err == 0 && close(p->fd) != 0) {
            err = errno;
        }
        p->fd = -1;
    }
    if (err != 0) {
        pend_drop(md);
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "flushing the messages (fdatasync, syncfs)",
                    md->dir, err);
    }
    /* 2. the names: link into new/, never overwriting; a file system
     * without hard links: rename */
    for (; moved < md->pend_n; moved++) {
        char tmp[POSTIE_MAILDIR_PATH_MAX];
        char final[POSTIE_MAILDIR_PATH_MAX];
        const char *name = md->pend[moved].name;
        if (snprintf(tmp, sizeof(tmp), "%s/tmp/%s", md->dir, name) >= (int)sizeof(tmp) ||
            snprintf(final, sizeof(final), "%s/%s", newdir, name) >= (int)sizeof(final)) {
            err = ENAMETOOLONG;
            break;
        }
        if (link(tmp, final) == 0) {
            (void)unlink(tmp);
        } else if ((errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP) &&
                   access(final, F_OK) != 0 && rename(tmp, final) == 0) {
            /* moved */
        } else {
            err = errno;
            (void)snprintf(md->tmp_path, sizeof(md->tmp_path), "%s", final);
            break;
        }
        if (md->indexed && !index_insert(md, name)) {
            index_free(md); /* rebuilt by the next contains */
        }
        free(md->pend[moved].name);
        md->pend[moved].name = NULL;
    }
    if (moved < md->pend_n) {
        /* the rest stays out of new/ (their tmp/ files are removed) */
        memmove(md->pend, md->pend + moved, (md->pend_n - moved) * sizeof(md->pend[0]));
        md->pend_n -= moved;
        pend_drop(md);
        (void)sync_dir(md, newdir);
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "moving the message into new/", md->tmp_path, err);
    }
    md->pend_n = 0;
    /* 3. new/ once for the batch */
    err = sync_dir(md, newdir);
    if (err != 0) {
        /* the names may not be durable: say the flush failed (the run then
         * leaves the messages on the server; contains() may find them later) */
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "flushing new/ (fsync)", newdir, err);
    }
    return POSTIE_OK;
}

static postie_status_t md_contains(void *ctx, const char *key, bool *found)
{
    postie_maildir_t *md = ctx;
    char enc[KEY_NAME_MAX + 8];
    const char *want = enc;
    postie_status_t rc;
    *found = false;
    if (postie_maildir_key_encode(key, enc, sizeof(enc)) != POSTIE_OK) {
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "Maildir file name", key, 0);
    }
    if (!md->indexed) {
        rc = index_build(md);
        if (rc != POSTIE_OK) {
            return rc;
        }
    }
    if (!md->sorted && md->keys_n > 1) {
        qsort(md->keys, md->keys_n, sizeof(md->keys[0]), cmp_key);
    }
    md->sorted = true;
    *found = md->keys_n > 0 &&
             bsearch(&want, md->keys, md->keys_n, sizeof(md->keys[0]), cmp_key) != NULL;
    return POSTIE_OK;
}

static const postie_archive_ops_t maildir_ops = {md_begin, md_write,    md_commit,
                                                 md_abort, md_contains, md_flush};

postie_status_t postie_maildir_open(postie_maildir_t *md, const char *path, postie_archive_t *out)
{
    static const char *const subs[] = {"tmp", "new", "cur"};
    char host[sizeof(md->host)];
    char sub[POSTIE_MAILDIR_PATH_MAX];
    size_t j = 0;
    int err;

    memset(md, 0, sizeof(*md));
    md->fd = -1;
    postie_error_clear(&md->error);
    out->ops = &maildir_ops;
    out->ctx = md;
    if (strlen(path) + 8 >= sizeof(md->dir) / 2) {
        return fail(md, POSTIE_E_FIELD_TOO_LONG, "Maildir path", path, 0);
    }
    memcpy(md->dir, path, strlen(path) + 1);
    err = make_dirs(md->dir);
    if (err != 0) {
        return fail(md, POSTIE_E_ARCHIVE_FAILED, "creating the Maildir", md->dir, err);
    }
    for (size_t i = 0; i < 3; i++) {
        if (!join(sub, sizeof(sub), md->dir, subs[i])) {
            return fail(md, POSTIE_E_FIELD_TOO_LONG, "Maildir path", path, 0);
        }
        if (mkdir(sub, 0700) != 0 && errno != EEXIST) {
            return fail(md, POSTIE_E_ARCHIVE_FAILED, "creating the Maildir", sub, errno);
        }
        if (access(sub, W_OK | X_OK) != 0) {
            return fail(md, POSTIE_E_ARCHIVE_FAILED, "using the Maildir", sub, errno);
        }
    }
    /* the host part of names: '/' and ':' escaped as the convention says */
    if (gethostname(host, sizeof(host)) != 0) {
        memcpy(host, "localhost", 10);
    }
    host[sizeof(host) - 1] = '\0';
    for (size_t i = 0; host[i] != '\0' && j + 5 < sizeof(md->host); i++) {
        if (host[i] == '/' || host[i] == ':') {
            memcpy(md->host + j, host[i] == '/' ? "\\057" : "\\072", 4);
            j += 4;
        } else if (host[i] == ',' || (unsigned char)host[i] <= 0x20) {
            md->host[j++] = '_';
        } else {
            md->host[j++] = host[i];
        }
    }
    md->host[j] = '\0';
    md->pid = (long)getpid();
    md->syncfs = syncfs_reports_errors();
    return POSTIE_OK;
}

void postie_maildir_close(postie_maildir_t *md)
{
    writeback_end(md);
    md_abort(md);
    free(md->pend);
    md->pend = NULL;
    md->pend_cap = 0;
    index_free(md);
}

const postie_error_t *postie_maildir_error(const postie_maildir_t *md)
{
    return &md->error;
}

uint32_t postie_maildir_syncs(const postie_maildir_t *md)
{
    return md->syncs;
}

uint32_t postie_maildir_writebacks(const postie_maildir_t *md)
{
    uint32_t runs = md->writeback_runs;
    if (md->writeback != NULL) {
        pthread_mutex_lock(&md->writeback->mu);
        runs += md->writeback->runs;
        pthread_mutex_unlock(&md->writeback->mu);
    }
    return runs;
}

const char *postie_maildir_last_name(const postie_maildir_t *md)
{
    return md->name;
}
