/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host services the message writer needs on POSIX: a file reader for
 * attachments, random octets for Message-IDs and boundaries, and the wall
 * clock with the local zone for the Date header. Firmware ports provide the
 * same three from their file system (or none), RNG peripheral and RTC.
 */
#ifndef POSTIE_HOST_H
#define POSTIE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "postie/status.h"

typedef struct {
    int fd; /* -1 when closed */
    uint64_t size;
} postie_file_reader_t;

/* Open path for reading. Only a regular file is accepted (symbolic links
 * are followed): an attachment is read twice, once to count and once to
 * send. A FIFO is refused without waiting for a writer. POSTIE_E_FILE when
 * it cannot be opened (errno from open), is a directory (errno EISDIR) or
 * is any other kind of file (errno EINVAL; postie_file_type_problem() on
 * its st_mode says which). */
postie_status_t postie_file_reader_open(postie_file_reader_t *r, const char *path);

/* Why a file with this st_mode is not a regular file: "Is a directory"
 * (the words of strerror(EISDIR)), "is a FIFO (named pipe), not a regular
 * file", "is a character device, ...", ...; NULL for a regular file. The
 * text is static. */
const char *postie_file_type_problem(unsigned int st_mode);

/* A postie_mime_read_fn over the open file (ctx is the reader). */
postie_status_t postie_file_read(void *ctx, uint8_t *buf, size_t cap, size_t *got);

void postie_file_reader_close(postie_file_reader_t *r);

/* n random octets from the kernel (getrandom). POSTIE_E_IO on failure. */
postie_status_t postie_random_bytes(uint8_t *out, size_t n);

/* Seconds since 1970 UTC and the local zone's offset in minutes. */
void postie_wall_clock(int64_t *now, int16_t *utc_offset_min);

#endif /* POSTIE_HOST_H */
