/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host services for the message writer: file reader, random octets, wall
 * clock. See postie/posix/host.h.
 */
#define _DEFAULT_SOURCE /* tm_gmtoff */

#include "postie/posix/host.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *postie_file_type_problem(unsigned int st_mode)
{
    mode_t m = (mode_t)st_mode;
    if (S_ISREG(m)) {
        return NULL;
    }
    if (S_ISDIR(m)) {
        return "Is a directory";
    }
    if (S_ISFIFO(m)) {
        return "is a FIFO (named pipe), not a regular file";
    }
    if (S_ISCHR(m)) {
        return "is a character device, not a regular file";
    }
    if (S_ISBLK(m)) {
        return "is a block device, not a regular file";
    }
    if (S_ISSOCK(m)) {
        return "is a socket, not a regular file";
    }
    return "is not a regular file";
}

postie_status_t postie_file_reader_open(postie_file_reader_t *r, const char *path)
{
    struct stat sb;
    int flags;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; the type is
     * checked before anything is read, and the flag is cleared after. */
    r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    r->size = 0;
    r->pos = 0;
    r->shrank = false;
    if (r->fd < 0) {
        return POSTIE_E_FILE;
    }
    if (fstat(r->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int err = errno; /* from fstat, when it failed */
        if (fstat(r->fd, &sb) == 0) {
            err = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        }
        close(r->fd);
        r->fd = -1;
        errno = err;
        return POSTIE_E_FILE;
    }
    flags = fcntl(r->fd, F_GETFL);
    if (flags < 0 || fcntl(r->fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int err = errno;
        close(r->fd);
        r->fd = -1;
        errno = err;
        return POSTIE_E_FILE;
    }
    r->size = (uint64_t)sb.st_size;
    return POSTIE_OK;
}

postie_status_t postie_file_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    postie_file_reader_t *r = ctx;
    ssize_t n;
    *got = 0;
    if (r->fd < 0) {
        return POSTIE_E_FILE;
    }
    if (r->pos >= r->size) {
        return POSTIE_OK; /* the end of the snapshot, whatever came after */
    }
    if (cap > r->size - r->pos) {
        cap = (size_t)(r->size - r->pos);
    }
    do {
        n = pread(r->fd, buf, cap, (off_t)r->pos);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return POSTIE_E_FILE;
    }
    if (n == 0) {
        r->shrank = true; /* truncated since it was opened */
        return POSTIE_E_FILE;
    }
    r->pos += (uint64_t)n;
    *got = (size_t)n;
    return POSTIE_OK;
}

void postie_file_reader_rewind(postie_file_reader_t *r)
{
    r->pos = 0;
    r->shrank = false;
}

void postie_file_reader_close(postie_file_reader_t *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}

postie_status_t postie_random_bytes(uint8_t *out, size_t n)
{
    size_t done = 0;
    for (int guard = 0; done < n && guard < 100; guard++) {
        ssize_t got = getrandom(out + done, n - done, 0);
        if (got < 0 && errno != EINTR) {
            return POSTIE_E_IO;
        }
        if (got > 0) {
            done += (size_t)got;
        }
    }
    return done == n ? POSTIE_OK : POSTIE_E_IO;
}

void postie_wall_clock(int64_t *now, int16_t *utc_offset_min)
{
    time_t t = time(NULL);
    struct tm local;
    *now = (int64_t)t;
    *utc_offset_min = 0;
    if (localtime_r(&t, &local) != NULL) {
        *utc_offset_min = (int16_t)(local.tm_gmtoff / 60);
    }
}
