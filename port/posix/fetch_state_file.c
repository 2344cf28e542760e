/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch state in a file: atomic writes, a lock. See
 * postie/posix/fetch_state_file.h.
 */
#define _DEFAULT_SOURCE /* flock */

#include "postie/posix/fetch_state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postie/common/text.h"

static postie_status_t fail(postie_error_t *e, postie_status_t st, const char *phase,
                            const char *path, const char *why)
{
    char text[sizeof(e->subject)];
    postie_error_clear(e);
    e->status = st;
    e->phase = phase;
    snprintf(text, sizeof(text), "%s: %s", path, why);
    postie_text_copy_printable(e->subject, sizeof(e->subject), text, strlen(text));
    return st;
}

/* ---- reading ----------------------------------------------------------------- */

static postie_status_t read_state(const char *path, postie_fetch_state_t *st, postie_error_t *e)
{
    postie_fetch_state_parser_t p;
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            postie_error_clear(e);
            e->status = POSTIE_E_NOT_FOUND;
            return POSTIE_E_NOT_FOUND;
        }
        return fail(e, POSTIE_E_FETCH_STATE, "reading the fetch state", path, strerror(errno));
    }
    postie_fetch_state_parse_begin(&p, st);
    for (;;) {
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            int err = errno;
            close(fd);
            return fail(e, POSTIE_E_FETCH_STATE, "reading the fetch state", path, strerror(err));
        }
        if (got == 0 || postie_fetch_state_parse_feed(&p, buf, (size_t)got) != POSTIE_OK) {
            break;
        }
    }
    close(fd);
    if (postie_fetch_state_parse_end(&p) != POSTIE_OK) {
        char why[160];
        snprintf(why, sizeof(why), "line %u: %s", (unsigned)p.lineno, p.why);
        return fail(e, POSTIE_E_FETCH_STATE, "the fetch state is damaged", path, why);
    }
    postie_error_clear(e);
    return POSTIE_OK;
}

postie_status_t postie_state_file_read(const char *path, postie_fetch_state_t *st,
                                       postie_error_t *error)
{
    return read_state(path, st, error);
}

/* ---- writing ----------------------------------------------------------------- */

typedef struct {
    int fd;
    char buf[2048];
    size_t len;
    int err;
} out_t;

static void out_flush(out_t *o)
{
    size_t done = 0;
    while (o->err == 0 && done < o->len) {
        ssize_t w = write(o->fd, o->buf + done, o->len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            o->err = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    o->len = 0;
}

static postie_status_t out_write(void *ctx, const char *data, size_t len)
{
    out_t *o = ctx;
    while (len > 0 && o->err == 0) {
        size_t take = sizeof(o->buf) - o->len;
        take = take < len ? take : len;
        memcpy(o->buf + o->len, data, take);
        o->len += take;
        data += take;
        len -= take;
        if (o->len == sizeof(o->buf)) {
            out_flush(o);
        }
    }
    return o->err == 0 ? POSTIE_OK : POSTIE_E_FETCH_STATE;
}

/* The directory part of path into dir ("." when none). */
static void dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        postie_text_copy(dir, cap, ".");
    } else if (slash == path) {
        postie_text_copy(dir, cap, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= cap) {
            n = cap - 1u;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
}

/* Write st to path atomically: path.tmp, fsync, rename, fsync the
 * directory. */
static postie_status_t write_state(const char *path, const postie_fetch_state_t *st,
                                   postie_error_t *e)
{
    char tmp[POSTIE_STATE_PATH_MAX + 8];
    char dir[POSTIE_STATE_PATH_MAX];
    out_t o;
    int dfd;
    const char *phase = "saving the fetch state";

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return fail(e, POSTIE_E_FETCH_STATE, phase, path, "path too long");
    }
    o.len = 0;
    o.err = 0;
    o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (o.fd < 0) {
        return fail(e, POSTIE_E_FETCH_STATE, phase, tmp, strerror(errno));
    }
    (void)fchmod(o.fd, 0600); /* an older file of another mode */
    (void)postie_fetch_state_format(st, out_write, &o);
    out_flush(&o);
    if (o.err == 0 && fsync(o.fd) != 0) {
        o.err = errno;
    }
    if (close(o.fd) != 0 && o.err == 0) {
        o.err = errno;
    }
    if (o.err == 0 && rename(tmp, path) != 0) {
        o.err = errno;
    }
    if (o.err != 0) {
        (void)unlink(tmp);
        return fail(e, POSTIE_E_FETCH_STATE, phase, path, strerror(o.err));
    }
    dir_of(path, dir, sizeof(dir));
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        int err = errno;
        if (dfd >= 0) {
            close(dfd);
        }
        return fail(e, POSTIE_E_FETCH_STATE, "flushing the fetch state's directory (fsync)", dir,
                    strerror(err));
    }
    close(dfd);
    return POSTIE_OK;
}

/* ---- the store --------------------------------------------------------------- */

static postie_status_t sf_load(void *ctx, postie_fetch_state_t *st)
{
    postie_state_file_t *sf = ctx;
    return read_state(sf->path, st, &sf->error);
}

static postie_status_t sf_save(void *ctx, const postie_fetch_state_t *st)
{
    postie_state_file_t *sf = ctx;
    return write_state(sf->path, st, &sf->error);
}

static postie_status_t sf_set_aside(void *ctx, const postie_fetch_state_t *old)
{
    postie_state_file_t *sf = ctx;
    char aside[POSTIE_STATE_PATH_MAX + 32];
    if (snprintf(aside, sizeof(aside), "%s.uidvalidity-%u", sf->path, (unsigned)old->uidvalidity) >=
        (int)sizeof(aside)) {
        return fail(&sf->error, POSTIE_E_FETCH_STATE, "setting the fetch state aside", sf->path,
                    "path too long");
    }
    return write_state(aside, old, &sf->error);
}

static const postie_fetch_store_ops_t state_file_ops = {sf_load, sf_save, sf_set_aside};

postie_status_t postie_state_file_open(postie_state_file_t *sf, const char *path,
                                       postie_fetch_store_t *out)
{
    char lock[POSTIE_STATE_PATH_MAX + 8];
    memset(sf, 0, sizeof(*sf));
    sf->lock_fd = -1;
    postie_error_clear(&sf->error);
    out->ops = &state_file_ops;
    out->ctx = sf;
    if (!postie_text_copy(sf->path, sizeof(sf->path), path) || path[0] == '\0') {
        return fail(&sf->error, POSTIE_E_FIELD_TOO_LONG, "fetch state path", path,
                    path[0] == '\0' ? "empty" : "too long");
    }
    snprintf(lock, sizeof(lock), "%s.lock", path);
    sf->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sf->lock_fd < 0) {
        return fail(&sf->error, POSTIE_E_FETCH_STATE, "locking the fetch state", lock,
                    strerror(errno));
    }
    if (flock(sf->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(sf->lock_fd);
        sf->lock_fd = -1;
        if (err == EWOULDBLOCK) {
            return fail(&sf->error, POSTIE_E_BUSY, "locking the fetch state", lock,
                        "another fetch of this account is running");
        }
        return fail(&sf->error, POSTIE_E_FETCH_STATE, "locking the fetch state", lock,
                    strerror(err));
    }
    return POSTIE_OK;
}

void postie_state_file_close(postie_state_file_t *sf)
{
    if (sf->lock_fd >= 0) {
        close(sf->lock_fd); /* releases the flock */
        sf->lock_fd = -1;
    }
}

const postie_error_t *postie_state_file_error(const postie_state_file_t *sf)
{
    return &sf->error;
}
