/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the CLI reads: the raw message (--message FILE|-), text and HTML
 * bodies. Regular files, and streams (standard input, pipes, FIFOs,
 * sockets, terminals) where a stream can do; devices and directories are
 * refused, a FIFO is never waited on unless it is accepted. Every refusal
 * exits 2 naming the option and the file.
 */
#ifndef POSTIE_CLI_INPUT_H
#define POSTIE_CLI_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "postie/common/status.h"

#include "cli.h"

#define CLI_MAX_TEXT (16u * 1024u * 1024u) /* text and HTML bodies are read into memory */

/* A message from a pipe, FIFO, socket or terminal is spooled to an unlinked
 * temporary file first (so SIZE= and BODY=8BITMIME are exact and a NUL is
 * found before connecting); this bounds the spool. */
#define CLI_MAX_STREAMED_MESSAGE ((uint64_t)256u * 1024u * 1024u)

/* Exit 2: "postie: OPTION PATH: why" (the path made printable). */
void cli_input_error(const char *opt, const char *path, const char *why) CLI_NORETURN;

/* Open an input for reading ("-": standard input) without ever waiting on
 * a FIFO that is not accepted, and decide what it is. Accepted: a regular
 * file (symbolic links followed); with streams_ok also a pipe, a FIFO, a
 * socket or a terminal, which can be read only once (*stream set). Any
 * other device (/dev/zero, /dev/null, a disk) and a directory are refused
 * naming opt. A FIFO accepted as a stream is opened like `cat` opens it:
 * postie waits for its writer. Returns a blocking descriptor. */
int cli_open_input(const char *opt, const char *path, bool streams_ok, bool *stream);

/* The raw message (--message FILE|-): a regular file read in place, or a
 * stream spooled first. scanned is what the scan pass counted; reading
 * must give exactly that many octets, or the message changed under us and
 * the body fails (the session ends without the final dot: nothing half
 * sent is ever delivered). */
typedef struct {
    FILE *file; /* NULL until opened; the caller fcloses it */
    uint64_t scanned;
    uint64_t read;
} cli_message_source_t;

/* Open and check the message before connecting: its size (for SIZE=), its
 * 8-bit content (for BODY=8BITMIME), no NUL octet, not empty. Exits 2
 * naming --message otherwise. */
void cli_open_message(const char *path, cli_message_source_t *m, uint64_t *size, bool *eight_bit);

/* The body reader for a message opened by cli_open_message (ctx: the
 * cli_message_source_t): POSTIE_E_FILE when the file changed. */
postie_status_t cli_read_message(void *ctx, uint8_t *buf, size_t cap, size_t *got);

/* A text or HTML body, read whole (at most CLI_MAX_TEXT): a regular file or
 * a stream ("-", a pipe, a FIFO, a terminal); anything else exits 2.
 * Returns a malloc'd buffer of *len octets (the caller frees it). */
uint8_t *cli_read_text_file(const char *opt, const char *path, size_t *len);

#endif /* POSTIE_CLI_INPUT_H */
