/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message, body and HTML inputs (see cli_input.h).
 */
#define _DEFAULT_SOURCE /* fdopen, ftello, fseeko */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postie/common/text.h"
#include "postie/posix/host.h"

#include "cli_input.h"

void cli_input_error(const char *opt, const char *path, const char *why)
{
    char shown[256];
    postie_text_copy_printable(shown, sizeof(shown), path, strlen(path));
    fprintf(stderr, "postie: %s %s: %s\n", opt, shown, why);
    exit(EXIT_USAGE);
}

int cli_open_input(const char *opt, const char *path, bool streams_ok, bool *stream)
{
    struct stat sb;
    bool std_in = strcmp(path, "-") == 0;
    int fd = std_in ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    int flags;

    if (fd < 0 || fstat(fd, &sb) != 0) {
        cli_input_error(opt, path, strerror(errno));
    }
    *stream = !S_ISREG(sb.st_mode);
    if (*stream && !(streams_ok && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode) ||
                                    (S_ISCHR(sb.st_mode) && isatty(fd))))) {
        char why[192];
        snprintf(why, sizeof(why), "%s%s", postie_file_type_problem(sb.st_mode),
                 !streams_ok ? " (it is read twice: copy it to a file first)"
                 : S_ISDIR(sb.st_mode)
                     ? ""
                     : " (accepted: a regular file, a pipe, a FIFO, a socket or a terminal)");
        cli_input_error(opt, path, why);
    }
    if (S_ISFIFO(sb.st_mode) && !std_in) {
        /* opened without waiting; now wait for the writer, as a reader should */
        struct stat again;
        close(fd);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &again) != 0) {
            cli_input_error(opt, path, strerror(errno));
        }
        if (again.st_dev != sb.st_dev || again.st_ino != sb.st_ino) {
            cli_input_error(opt, path, "was replaced while it was opened");
        }
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        cli_input_error(opt, path, strerror(errno));
    }
    return fd;
}

/* Copy a stream into an unlinked temporary file (mode 0600, in $TMPDIR or
 * /tmp), at most CLI_MAX_STREAMED_MESSAGE octets. Returns the spool, at 0. */
static int spool_stream(const char *opt, const char *path, int in)
{
    static uint8_t buf[65536];
    const char *dir = getenv("TMPDIR");
    char name[4096];
    uint64_t total = 0;
    int out;

    if (dir == NULL || dir[0] == '\0') {
        dir = "/tmp";
    }
    if ((size_t)snprintf(name, sizeof(name), "%s/postie-message.XXXXXX", dir) >= sizeof(name)) {
        cli_input_error(opt, path, "$TMPDIR is too long a path for the spool");
    }
    out = mkstemp(name);
    if (out < 0) {
        char why[160];
        snprintf(why, sizeof(why), "cannot create a spool file in %.80s: %s", dir, strerror(errno));
        cli_input_error(opt, path, why);
    }
    (void)unlink(name);
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        size_t done = 0;
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            cli_input_error(opt, path, strerror(errno));
        }
        if (n == 0) {
            break;
        }
        total += (uint64_t)n;
        if (total > CLI_MAX_STREAMED_MESSAGE) {
            cli_input_error(opt, path, "a streamed message larger than 256 MiB is refused");
        }
        while (done < (size_t)n) {
            ssize_t w = write(out, buf + done, (size_t)n - done);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                char why[160];
                snprintf(why, sizeof(why), "cannot spool it in %.80s: %s", dir,
                         strerror(w < 0 ? errno : EIO));
                cli_input_error(opt, path, why);
            }
            done += (size_t)w;
        }
    }
    close(in);
    if (lseek(out, 0, SEEK_SET) != 0) {
        cli_input_error(opt, path, strerror(errno));
    }
    return out;
}

postie_status_t cli_read_message(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    cli_message_source_t *m = ctx;
    *got = fread(buf, 1, cap, m->file);
    m->read += *got;
    if (ferror(m->file) || m->read > m->scanned || (*got == 0 && m->read != m->scanned)) {
        return POSTIE_E_FILE;
    }
    return POSTIE_OK;
}

void cli_open_message(const char *path, cli_message_source_t *m, uint64_t *size, bool *eight_bit)
{
    static uint8_t buf[65536];
    const char *opt = "--message";
    bool stream = false;
    int fd = cli_open_input(opt, path, true, &stream);
    off_t start;
    size_t n;

    if (stream) {
        fd = spool_stream(opt, path, fd);
    }
    m->file = fdopen(fd, "rb");
    if (m->file == NULL) {
        cli_input_error(opt, path, strerror(errno));
    }
    start = ftello(m->file); /* stdin may be a file read from the middle */
    if (start < 0) {
        cli_input_error(opt, path, strerror(errno));
    }
    *size = 0;
    *eight_bit = false;
    while ((n = fread(buf, 1, sizeof(buf), m->file)) > 0) {
        const uint8_t *nul = memchr(buf, 0, n);
        if (nul != NULL) {
            char why[160];
            snprintf(why, sizeof(why),
                     "NUL octet at offset %llu: a message cannot carry NUL (send binary data as "
                     "an attachment)",
                     (unsigned long long)(*size + (uint64_t)(nul - buf)));
            cli_input_error(opt, path, why);
        }
        for (size_t i = 0; i < n && !*eight_bit; i++) {
            *eight_bit = buf[i] >= 0x80;
        }
        *size += n;
    }
    if (ferror(m->file)) {
        cli_input_error(opt, path, strerror(errno));
    }
    if (*size == 0) {
        cli_input_error(opt, path, "the message is empty");
    }
    if (fseeko(m->file, start, SEEK_SET) != 0) {
        cli_input_error(opt, path, strerror(errno));
    }
    m->scanned = *size;
    m->read = 0;
}

uint8_t *cli_read_text_file(const char *opt, const char *path, size_t *len)
{
    bool stream = false;
    int fd = cli_open_input(opt, path, true, &stream);
    uint8_t *buf = malloc(CLI_MAX_TEXT + 1);
    size_t n = 0;
    if (buf == NULL) {
        cli_input_error(opt, path, "out of memory");
    }
    while (n <= CLI_MAX_TEXT) {
        ssize_t got = read(fd, buf + n, CLI_MAX_TEXT + 1 - n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            cli_input_error(opt, path, strerror(errno));
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    if (n > CLI_MAX_TEXT) {
        cli_input_error(opt, path, "larger than 16 MiB; send it as an attachment");
    }
    close(fd);
    *len = n;
    return buf;
}
