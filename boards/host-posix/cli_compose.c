/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Composing a message from the options (see cli_compose.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_compose.h"
#include "cli_input.h"

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

void cli_compose(cli_composition_t *c, cli_send_options_t *o, bool allow_8bit, bool allow_utf8)
{
    postie_message_t *m = &c->msg;
    postie_status_t st;

    memset(m, 0, sizeof(*m));
    m->from.address = o->header_from != NULL ? o->header_from : o->env.from;
    m->from.name = o->from_name;
    for (size_t i = 0; i < o->nto; i++) {
        c->to[i].address = o->to[i];
    }
    for (size_t i = 0; i < o->ncc; i++) {
        c->cc[i].address = o->cc[i];
    }
    for (size_t i = 0; i < o->nreply_to; i++) {
        c->reply_to[i].address = o->reply_to[i];
    }
    m->to = c->to;
    m->to_count = o->nto;
    m->cc = c->cc;
    m->cc_count = o->ncc;
    m->reply_to = c->reply_to;
    m->reply_to_count = o->nreply_to;
    m->subject = o->subject;
    postie_wall_clock(&m->date, &m->utc_offset_min);
    if (postie_random_bytes(m->entropy, sizeof(m->entropy)) != POSTIE_OK) {
        fprintf(stderr, "postie: no random numbers from the kernel\n");
        exit(EXIT_USAGE);
    }
    m->headers = o->headers;
    m->header_count = o->nheaders;
    if (o->body_file != NULL && o->text == NULL) {
        o->text = cli_read_text_file("--body-file", o->body_file, &o->text_len);
    }
    if (o->html_file != NULL && o->html == NULL) {
        o->html = cli_read_text_file("--html-file", o->html_file, &o->html_len);
    }
    m->text = o->text != NULL ? o->text : (o->html == NULL ? (const uint8_t *)"" : NULL);
    m->text_len = o->text_len;
    m->html = o->html;
    m->html_len = o->html_len;
    for (size_t i = 0; i < o->nattach; i++) {
        if (c->files_open) {
            postie_file_reader_rewind(&c->files[i]);
        } else if (postie_file_reader_open(&c->files[i], o->attach[i]) != POSTIE_OK) {
            int err = errno;
            struct stat sb;
            char why[192];
            const char *type =
                stat(o->attach[i], &sb) == 0 ? postie_file_type_problem(sb.st_mode) : NULL;
            if (type == NULL) {
                cli_input_error("--attach", o->attach[i], strerror(err));
            }
            snprintf(why, sizeof(why), "%s%s", type,
                     S_ISDIR(sb.st_mode) ? "" : " (it is read twice: copy it to a file first)");
            cli_input_error("--attach", o->attach[i], why);
        }
        c->attachments[i].filename = base_name(o->attach[i]);
        c->attachments[i].read = postie_file_read;
        c->attachments[i].read_ctx = &c->files[i];
    }
    c->files_open = true;
    m->attachments = c->attachments;
    m->attachment_count = o->nattach;
    m->allow_8bit = allow_8bit;
    m->allow_utf8_headers = allow_utf8 && o->utf8_headers;

    st = postie_mime_init(&c->writer, m);
    if (st != POSTIE_OK) {
        const postie_error_t *e = postie_mime_error(&c->writer);
        fprintf(stderr, "postie: cannot compose the message: %s: %s (%s)\n", e->subject,
                postie_status_str(st), postie_status_name(st));
        exit(EXIT_USAGE);
    }
}

void cli_compose_done(cli_composition_t *c, const cli_send_options_t *o)
{
    for (size_t i = 0; i < o->nattach; i++) {
        postie_file_reader_close(&c->files[i]);
    }
    c->files_open = false;
}

void cli_report_shrunk_attachments(const cli_composition_t *c, const cli_send_options_t *o)
{
    for (size_t i = 0; i < o->nattach; i++) {
        if (c->files[i].shrank) {
            fprintf(stderr,
                    "postie: attachment %s shrank while it was being read (it had %llu "
                    "octets when opened)\n",
                    o->attach[i], (unsigned long long)c->files[i].size);
        }
    }
}

uint64_t cli_compose_counted(cli_composition_t *c, cli_send_options_t *o, bool allow_8bit,
                             bool allow_utf8)
{
    uint8_t scratch[16384];
    size_t got = 0;
    uint64_t size = 0;
    postie_status_t st;
    cli_compose(c, o, allow_8bit, allow_utf8);
    while ((st = postie_mime_read(&c->writer, scratch, sizeof(scratch), &got)) == POSTIE_OK &&
           got > 0) {
        size += got;
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: cannot compose the message: %s: %s\n",
                postie_mime_error(&c->writer)->subject, postie_status_str(st));
        cli_report_shrunk_attachments(c, o);
        exit(EXIT_USAGE);
    }
    cli_compose(c, o, allow_8bit, allow_utf8);
    return size;
}
