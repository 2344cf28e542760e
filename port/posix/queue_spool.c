/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The queue's spool directory store. See postie/posix/queue_spool.h.
 */
#define _GNU_SOURCE
#include "postie/posix/queue_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "postie/common/text.h"

#define STALE_TMP_S 3600

static postie_status_t errno_status(int e)
{
    switch (e) {
    case ENOENT:
        return POSTIE_E_NOT_FOUND;
    case ENOSPC:
    case EDQUOT:
        return POSTIE_E_QUEUE_FULL;
    default:
        return POSTIE_E_IO;
    }
}

static int open_subdir(int dir_fd, const char *name)
{
    if (mkdirat(dir_fd, name, 0700) != 0 && errno != EEXIST) {
        return -1;
    }
    /* never through a link: q/, tmp/ and corrupt/ are the spool's own */
    return openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* A spool directory only its owner can write to, and that owner is this
 * user or root: anyone else who can write there could plant links or
 * entries. NULL when fine, else why not (err->subject: the path, mode). */
static const char *unsafe_dir(int fd, const char *path, postie_error_t *err)
{
    struct stat st;
    const char *why = NULL;
    char text[sizeof(err->subject)];
    if (fstat(fd, &st) != 0) {
        return NULL; /* cannot tell; the calls that follow will fail */
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        why = "its group or others can write to it (chmod go-w it)";
    } else if (st.st_uid != geteuid() && st.st_uid != 0) {
        why = "it belongs to another user (chown it to this user)";
    }
    if (why != NULL) {
        snprintf(text, sizeof(text), "%s (mode %04o, owner uid %lu)", path,
                 (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid);
        postie_text_copy_printable(err->subject, sizeof(err->subject), text, strlen(text));
    }
    return why;
}

postie_status_t postie_spool_open(postie_spool_t *s, const char *dir, postie_error_t *err)
{
    memset(s, 0, sizeof(*s));
    s->dir_fd = s->q_fd = s->tmp_fd = s->corrupt_fd = -1;
    for (size_t i = 0; i < POSTIE_SPOOL_HANDLES; i++) {
        s->h[i].fd = -1;
    }
    if (dir == NULL) {
        dir = getenv("POSTIE_SPOOL");
    }
    if (dir == NULL || dir[0] == '\0') {
        dir = POSTIE_SPOOL_DEFAULT_DIR;
    }
    postie_error_clear(err);
    err->phase = "spool";
    postie_text_copy_printable(err->subject, sizeof(err->subject), dir, strlen(dir));
    if (strlen(dir) >= sizeof(s->path)) {
        err->status = POSTIE_E_FIELD_TOO_LONG;
        return err->status;
    }
    memcpy(s->path, dir, strlen(dir) + 1);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        err->status = POSTIE_E_FILE;
        return err->status;
    }
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd >= 0) {
        static const char *const names[] = {"q", "tmp", "corrupt"};
        int *fds[] = {&s->q_fd, &s->tmp_fd, &s->corrupt_fd};
        const char *why = unsafe_dir(s->dir_fd, dir, err);
        for (size_t i = 0; i < 3 && why == NULL; i++) {
            char sub[sizeof(s->path) + 8];
            *fds[i] = open_subdir(s->dir_fd, names[i]);
            if (*fds[i] < 0) {
                snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]);
                postie_text_copy_printable(err->subject, sizeof(err->subject), sub, strlen(sub));
                if (errno == ELOOP || errno == ENOTDIR) {
                    why = "it is a link or not a directory";
                }
                break;
            }
            snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]);
            why = unsafe_dir(*fds[i], sub, err);
        }
        if (why != NULL) {
            postie_spool_close(s);
            err->status = POSTIE_E_FILE;
            err->phase = why;
            return err->status;
        }
    }
    if (s->dir_fd < 0 || s->q_fd < 0 || s->tmp_fd < 0 || s->corrupt_fd < 0) {
        postie_spool_close(s);
        err->status = POSTIE_E_FILE;
        return err->status;
    }
    postie_error_clear(err);
    return POSTIE_OK;
}

void postie_spool_close(postie_spool_t *s)
{
    int *fds[] = {&s->dir_fd, &s->q_fd, &s->tmp_fd, &s->corrupt_fd};
    for (size_t i = 0; i < POSTIE_SPOOL_HANDLES; i++) {
        if (s->h[i].fd >= 0) {
            close(s->h[i].fd);
            s->h[i].fd = -1;
        }
    }
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    }
}

static void id_name(postie_queue_id_t id, char out[POSTIE_QUEUE_ID_TEXT])
{
    postie_queue_id_format(id, out);
}

static void tmp_name(postie_queue_id_t id, char *out, size_t cap)
{
    char name[POSTIE_QUEUE_ID_TEXT];
    id_name(id, name);
    snprintf(out, cap, "%s.%ld", name, (long)getpid());
}

static postie_spool_handle_t *handle(postie_spool_t *s, int32_t h)
{
    if (h < 0 || h >= POSTIE_SPOOL_HANDLES || s->h[h].fd < 0) {
        return NULL;
    }
    return &s->h[h];
}

static int32_t new_handle(postie_spool_t *s)
{
    for (int32_t i = 0; i < POSTIE_SPOOL_HANDLES; i++) {
        if (s->h[i].fd < 0) {
            return i;
        }
    }
    return -1;
}

static postie_status_t sp_create(void *ctx, postie_queue_id_t id, uint64_t size, int32_t *h)
{
    postie_spool_t *s = ctx;
    char name[64];
    int32_t i = new_handle(s);
    int fd;
    (void)size;
    if (i < 0) {
        return POSTIE_E_BUSY;
    }
    tmp_name(id, name, sizeof(name));
    fd = openat(s->tmp_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno_status(errno);
    }
    s->h[i].fd = fd;
    s->h[i].id = id;
    s->h[i].creating = true;
    *h = i;
    return POSTIE_OK;
}

static postie_status_t sp_write(void *ctx, int32_t h, uint64_t off, const uint8_t *buf, size_t len)
{
    postie_spool_handle_t *x = handle(ctx, h);
    if (x == NULL) {
        return POSTIE_E_BAD_STATE;
    }
    while (len > 0) {
        ssize_t n = pwrite(x->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? errno_status(errno) : POSTIE_E_IO;
        }
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return POSTIE_OK;
}

static postie_status_t sp_sync(void *ctx, int32_t h)
{
    postie_spool_handle_t *x = handle(ctx, h);
    if (x == NULL) {
        return POSTIE_E_BAD_STATE;
    }
    return fdatasync(x->fd) == 0 ? POSTIE_OK : errno_status(errno);
}

static void sp_close(void *ctx, int32_t h)
{
    postie_spool_handle_t *x = handle(ctx, h);
    if (x != NULL) {
        close(x->fd); /* ends the flock claim */
        x->fd = -1;
    }
}

static void sp_abandon(void *ctx, int32_t h)
{
    postie_spool_t *s = ctx;
    postie_spool_handle_t *x = handle(s, h);
    char name[64];
    if (x == NULL) {
        return;
    }
    tmp_name(x->id, name, sizeof(name));
    (void)unlinkat(s->tmp_fd, name, 0);
    sp_close(ctx, h);
}

static postie_status_t sp_publish(void *ctx, int32_t h)
{
    postie_spool_t *s = ctx;
    postie_spool_handle_t *x = handle(s, h);
    char tmp[64];
    char name[POSTIE_QUEUE_ID_TEXT];
    postie_status_t st = POSTIE_OK;
    if (x == NULL || !x->creating) {
        return POSTIE_E_BAD_STATE;
    }
    tmp_name(x->id, tmp, sizeof(tmp));
    id_name(x->id, name);
    if (fdatasync(x->fd) != 0) {
        st = errno_status(errno);
    } else if (linkat(s->tmp_fd, tmp, s->q_fd, name, 0) != 0) {
        /* EEXIST: an entry with this id exists; never replace it */
        st = errno == EEXIST ? POSTIE_E_BUSY : errno_status(errno);
    } else if (fsync(s->q_fd) != 0) {
        st = errno_status(errno);
        (void)unlinkat(s->q_fd, name, 0);
    }
    (void)unlinkat(s->tmp_fd, tmp, 0);
    sp_close(ctx, h);
    return st;
}

static bool parse_name(const char *name, postie_queue_id_t *id)
{
    return strlen(name) == 16 && postie_queue_id_parse(name, id);
}

/* Call fn for each name in the directory dir_fd (but . and ..) with its
 * lstat: links are reported as links, never followed. */
static postie_status_t
each_file(int dir_fd, void (*fn)(void *arg, const char *name, const struct stat *st), void *arg)
{
    int fd = dup(dir_fd);
    DIR *d;
    struct dirent *de;
    if (fd < 0) {
        return POSTIE_E_IO;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return POSTIE_E_IO;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue; /* removed meanwhile, or not an entry */
        }
        fn(arg, de->d_name, &st);
    }
    closedir(d);
    return POSTIE_OK;
}

static void remove_if_stale(void *arg, const char *name, const struct stat *st)
{
    postie_spool_t *s = arg;
    if (S_ISREG(st->st_mode) && time(NULL) - st->st_mtime > STALE_TMP_S) {
        (void)unlinkat(s->tmp_fd, name, 0);
    }
}

typedef struct {
    postie_queue_id_t *ids;
    size_t cap;
    size_t n;
    uint32_t count;
    uint64_t bytes;
} walk_acc_t;

/* Entries in q/: ids into ids[0..cap), all of them listed (a link or a
 * special file too, so a load reports it as damaged); only regular files
 * count toward capacity. */
static void acc_entry(void *arg, const char *name, const struct stat *st)
{
    walk_acc_t *a = arg;
    postie_queue_id_t id;
    if (!parse_name(name, &id)) {
        return;
    }
    if (a->n < a->cap) {
        a->ids[a->n] = id;
    }
    a->n++;
    if (S_ISREG(st->st_mode)) {
        a->count++;
        a->bytes += (uint64_t)st->st_size;
    }
}

static postie_status_t sp_list(void *ctx, postie_queue_id_t *ids, size_t cap, size_t *total)
{
    postie_spool_t *s = ctx;
    walk_acc_t a = {ids, cap, 0, 0, 0};
    postie_status_t st;
    (void)each_file(s->tmp_fd, remove_if_stale, s);
    st = each_file(s->q_fd, acc_entry, &a);
    *total = a.n;
    return st;
}

static postie_status_t sp_usage(void *ctx, uint32_t *count, uint64_t *bytes)
{
    postie_spool_t *s = ctx;
    walk_acc_t a = {NULL, 0, 0, 0, 0};
    postie_status_t st = each_file(s->q_fd, acc_entry, &a);
    *count = a.count;
    *bytes = a.bytes;
    return st;
}

static postie_status_t sp_open(void *ctx, postie_queue_id_t id, bool claim, int32_t *h,
                               uint64_t *size)
{
    postie_spool_t *s = ctx;
    char name[POSTIE_QUEUE_ID_TEXT];
    struct stat st;
    int32_t i = new_handle(s);
    int fd;
    if (i < 0) {
        return POSTIE_E_BUSY;
    }
    id_name(id, name);
    /* a link, a FIFO, a device or a directory is damage: never followed,
     * never opened (O_NONBLOCK: a FIFO that appears meanwhile cannot block) */
    if (fstatat(s->q_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno_status(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return POSTIE_E_QUEUE_CORRUPT;
    }
    fd = openat(s->q_fd, name,
                (claim ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        return errno == ELOOP ? POSTIE_E_QUEUE_CORRUPT : errno_status(errno);
    }
    if (claim && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK ? POSTIE_E_BUSY : errno_status(e);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return POSTIE_E_QUEUE_CORRUPT;
    }
    if (st.st_nlink == 0) {
        /* removed by the claim holder we waited for */
        close(fd);
        return POSTIE_E_NOT_FOUND;
    }
    s->h[i].fd = fd;
    s->h[i].id = id;
    s->h[i].creating = false;
    *h = i;
    *size = (uint64_t)st.st_size;
    return POSTIE_OK;
}

static postie_status_t sp_read(void *ctx, int32_t h, uint64_t off, uint8_t *buf, size_t len)
{
    postie_spool_handle_t *x = handle(ctx, h);
    if (x == NULL) {
        return POSTIE_E_BAD_STATE;
    }
    while (len > 0) {
        ssize_t n = pread(x->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return POSTIE_E_IO; /* error, or the file is shorter than it was */
        }
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return POSTIE_OK;
}

static postie_status_t sp_remove(void *ctx, int32_t h)
{
    postie_spool_t *s = ctx;
    postie_spool_handle_t *x = handle(s, h);
    char name[POSTIE_QUEUE_ID_TEXT];
    if (x == NULL || x->creating) {
        return POSTIE_E_BAD_STATE;
    }
    id_name(x->id, name);
    if (unlinkat(s->q_fd, name, 0) != 0 && errno != ENOENT) {
        return errno_status(errno);
    }
    return POSTIE_OK;
}

static postie_status_t sp_set_aside(void *ctx, postie_queue_id_t id)
{
    postie_spool_t *s = ctx;
    char name[POSTIE_QUEUE_ID_TEXT];
    id_name(id, name);
    if (renameat(s->q_fd, name, s->corrupt_fd, name) != 0) {
        return errno_status(errno);
    }
    (void)fsync(s->corrupt_fd);
    (void)fsync(s->q_fd);
    return POSTIE_OK;
}

static const postie_queue_store_ops_t spool_ops = {
    .create = sp_create,
    .write = sp_write,
    .sync = sp_sync,
    .publish = sp_publish,
    .abandon = sp_abandon,
    .list = sp_list,
    .open = sp_open,
    .read = sp_read,
    .close = sp_close,
    .remove = sp_remove,
    .set_aside = sp_set_aside,
    .usage = sp_usage,
};

postie_queue_store_t postie_spool_store(postie_spool_t *s)
{
    postie_queue_store_t st = {&spool_ops, s};
    return st;
}
