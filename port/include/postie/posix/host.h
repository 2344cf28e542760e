/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host services the message writer needs on POSIX: a file reader for
 * attachments, random octets for Message-IDs and boundaries, and the wall
 * clock with the local zone for the Date header. Firmware ports provide the
 * same three from their file system (or none), RNG peripheral and RTC.
 */
#ifndef POSTIE_HOST_H
#define POSTIE_HOST_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int fd;        /* -1 when closed */
    uint64_t size; /* taken at open: the reader gives exactly this many octets */
    uint64_t pos;
    bool shrank; /* the file ended before size: read failed */
} postie_file_reader_t;

/* Open path for reading and take its size. Only a regular file is accepted
 * (symbolic links are followed): an attachment is read twice, once to count
 * and once to send. A FIFO is refused without waiting for a writer.
 * POSTIE_E_FILE when it cannot be opened (errno from open), is a directory
 * (errno EISDIR) or is any other kind of file (errno EINVAL;
 * postie_file_type_problem() on its st_mode says which). */
postie_status_t postie_file_reader_open(postie_file_reader_t *r, const char *path);

/* Why a file with this st_mode is not a regular file: "Is a directory"
 * (the words of strerror(EISDIR)), "is a FIFO (named pipe), not a regular
 * file", "is a character device, ...", ...; NULL for a regular file. The
 * text is static. */
const char *postie_file_type_problem(unsigned int st_mode);

/* A postie_read_fn over the open file (ctx is the reader): exactly
 * the size taken at open, so a file that grows meanwhile (a live log)
 * gives the octets it had then. A file that ends sooner (truncated
 * meanwhile) is an error, POSTIE_E_FILE with r->shrank set, never a short
 * message. */
postie_status_t postie_file_read(void *ctx, uint8_t *buf, size_t cap, size_t *got);

/* Read again from the start, the same size: two passes over one reader
 * (count, then send) give the same octets however the file grows. */
void postie_file_reader_rewind(postie_file_reader_t *r);

void postie_file_reader_close(postie_file_reader_t *r);

/* n random octets from the kernel (getrandom). POSTIE_E_IO on failure. */
postie_status_t postie_random_bytes(uint8_t *out, size_t n);

/* Seconds since 1970 UTC and the local zone's offset in minutes. */
void postie_wall_clock(int64_t *now, int16_t *utc_offset_min);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_HOST_H */
