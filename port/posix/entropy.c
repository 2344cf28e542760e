/* SPDX-License-Identifier: Apache-2.0 */
/*
 * postie_entropy_fill() for POSIX hosts: the kernel's random generator,
 * through getrandom() where the C library has it, else /dev/urandom.
 *
 * Kept alone in its file: a test (or an application) that links its own
 * postie_entropy_fill() before libpostie_port.a replaces this one.
 */
#include "postie/common/entropy.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#if defined(__linux__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
#include <sys/random.h>
#define POSTIE_HAVE_GETRANDOM 1
#endif

/* Most read attempts (each interrupted by a signal or short) before giving up. */
#define ENTROPY_MAX_TRIES 64

static postie_status_t fill_from_urandom(uint8_t *buf, size_t len)
{
    size_t done = 0;
    int tries = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return POSTIE_E_IO;
    }
    while (done < len && tries++ < ENTROPY_MAX_TRIES) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    (void)close(fd);
    return done == len ? POSTIE_OK : POSTIE_E_IO;
}

postie_status_t postie_entropy_fill(uint8_t *buf, size_t len)
{
    if (buf == NULL && len > 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
#ifdef POSTIE_HAVE_GETRANDOM
    {
        size_t done = 0;
        int tries = 0;
        while (done < len && tries++ < ENTROPY_MAX_TRIES) {
            /* Blocks only until the kernel's pool is first initialised. */
            ssize_t n = getrandom(buf + done, len - done, 0);
            if (n > 0) {
                done += (size_t)n;
            } else if (n < 0 && errno == ENOSYS) {
                return fill_from_urandom(buf, len); /* kernel older than 3.17 */
            } else if (n < 0 && errno != EINTR) {
                return POSTIE_E_IO;
            }
        }
        return done == len ? POSTIE_OK : POSTIE_E_IO;
    }
#else
    return fill_from_urandom(buf, len);
#endif
}
