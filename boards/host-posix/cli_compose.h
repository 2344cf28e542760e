/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A MIME message composed from the send and compose options: the writer,
 * its mailboxes and the attachments' readers, all in one static-sized
 * struct (about 40 KiB: keep it static).
 */
#ifndef POSTIE_CLI_COMPOSE_H
#define POSTIE_CLI_COMPOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "postie/mime/mime.h"
#include "postie/posix/host.h"

#include "cli_send_options.h"

typedef struct {
    postie_message_t msg;
    postie_mime_writer_t writer;
    postie_mailbox_t to[CLI_MAX_RCPT];
    postie_mailbox_t cc[CLI_MAX_RCPT];
    postie_mailbox_t reply_to[CLI_MAX_RCPT];
    postie_attachment_t attachments[CLI_MAX_ATTACH];
    postie_file_reader_t files[CLI_MAX_ATTACH];
    bool files_open; /* a second compose rereads them: same sizes, same octets */
} cli_composition_t;

/* Fill c from the options and start the writer (postie_mime_read(&c->writer)
 * then gives the message). Reads --body-file and --html-file once (into
 * o->text and o->html, which the caller frees) and opens the attachments,
 * or rewinds them when they are open. Exits 2 naming the field or the file
 * when the message is not acceptable. */
void cli_compose(cli_composition_t *c, cli_send_options_t *o, bool allow_8bit, bool allow_utf8);

/* Compose twice: a counting pass for the exact size, then the pass to
 * read. The attachments stay open between the passes and each gives the
 * size it had when opened, so a file that grows meanwhile (a live log)
 * cannot change the length; only the random and date digits differ
 * between passes. Returns the size; c->writer is ready for
 * postie_mime_read. Exits 2 when composing fails. */
uint64_t cli_compose_counted(cli_composition_t *c, cli_send_options_t *o, bool allow_8bit,
                             bool allow_utf8);

/* Close the attachments. */
void cli_compose_done(cli_composition_t *c, const cli_send_options_t *o);

/* An attachment that ended before the size it had when it was opened (a
 * log truncated or rotated in place meanwhile): say which, on stderr. */
void cli_report_shrunk_attachments(const cli_composition_t *c, const cli_send_options_t *o);

#endif /* POSTIE_CLI_COMPOSE_H */
