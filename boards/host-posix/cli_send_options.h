/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The options `postie send`, `postie compose` and `postie test-email`
 * share: the server and its TLS and login, the envelope, what to compose,
 * the session and the queue. Each command lists the tables it accepts;
 * cli_send_option() applies any of them, checking its value at once (exit
 * 2 naming the option).
 */
#ifndef POSTIE_CLI_SEND_OPTIONS_H
#define POSTIE_CLI_SEND_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/mime/mime.h"
#include "postie/posix/smtp_client.h"

#include "cli_options.h"

#define CLI_MAX_RCPT    1000 /* per --to, --cc, --bcc and --reply-to */
#define CLI_MAX_ATTACH  64
#define CLI_MAX_HEADERS 32

typedef struct {
    postie_smtp_client_config_t cfg;
    postie_smtp_envelope_t env;
    const char *message_path; /* raw message; NULL: compose (or stdin when nothing to compose) */

    const char *session_conflict; /* first option --session refuses, or NULL */
    const char *ehlo;             /* --ehlo NAME: overrides the session's */

    const char *password_env;
    const char *password_file;
    unsigned long timeout_s;
    const char *to[CLI_MAX_RCPT];
    size_t nto;
    /* composing */
    bool compose;
    const char *from_name;
    const char *subject;
    const char *body_file;
    const char *html_file;
    const char *attach[CLI_MAX_ATTACH];
    size_t nattach;
    const char *cc[CLI_MAX_RCPT];
    size_t ncc;
    const char *bcc[CLI_MAX_RCPT];
    size_t nbcc;
    const char *reply_to[CLI_MAX_RCPT];
    size_t nreply_to;
    postie_header_t headers[CLI_MAX_HEADERS];
    size_t nheaders;
    bool utf8_headers;
    bool eight_bit;
    const char *output;
    const char *header_from; /* From header address when it differs from MAIL FROM */
    const char *session;     /* --session NAME: transport, From, template and prefix */
    const char *as_user;
    const char *as_email;
    const char *session_name; /* the session's normalised name, once applied */
    bool queue;               /* --queue: through the outgoing queue */
    bool queue_only;          /* --queue-only: enqueue; a later run sends it */
    const char *spool;        /* --spool DIR */
    bool syslog;              /* --syslog: a line per message to syslog (cli_syslog.h) */
    char from_name_buf[512];
    char subject_buf[1024];
    uint8_t *text; /* --body-file and --html-file contents, read once */
    size_t text_len;
    uint8_t *html;
    size_t html_len;
} cli_send_options_t;

/* What cli_args_next() returns for each option of the tables below. */
enum {
    /* cli_server_options: send only */
    OPT_HOST = 1,
    OPT_PORT,
    OPT_CONNECT_TO,
    OPT_TLS,
    OPT_CA_FILE,
    OPT_TIMEOUT,
    OPT_EHLO,
    OPT_USER,
    OPT_PASSWORD_ENV,
    OPT_PASSWORD_FILE,
    OPT_PASSWORD, /* refused: passwords never come from the command line */
    OPT_ALLOW_PLAINTEXT_AUTH,
    OPT_NO_PIPELINING,
    OPT_NO_CHUNKING,
    OPT_DSN_NOTIFY,
    OPT_DSN_RET,
    OPT_ENVID,
    OPT_VERBOSE,
    OPT_MESSAGE,
    /* cli_envelope_options */
    OPT_FROM,
    OPT_TO,
    /* cli_compose_options */
    OPT_SUBJECT,
    OPT_FROM_NAME,
    OPT_BODY_FILE,
    OPT_HTML_FILE,
    OPT_ATTACH,
    OPT_CC,
    OPT_BCC,
    OPT_REPLY_TO,
    OPT_HEADER,
    OPT_UTF8_HEADERS,
    /* cli_session_options: send */
    OPT_SESSION,
    OPT_AS_USER,
    OPT_AS_EMAIL,
    /* cli_queue_send_options: send */
    OPT_QUEUE,
    OPT_QUEUE_ONLY,
    OPT_SPOOL,
    OPT_SYSLOG,
    /* cli_preview_options: compose */
    OPT_8BIT,
    OPT_OUTPUT,
};

/* The compose options, for the usage texts of send and compose. */
#define CLI_COMPOSE_OPTIONS_HELP                                                   \
    "COMPOSE OPTIONS (Postie writes the MIME message):\n"                          \
    "  --subject TEXT  --from-name NAME  --body-file FILE|-  --html-file FILE\n"   \
    "  --attach FILE (repeat)  --cc ADDR  --bcc ADDR  --reply-to ADDR  (repeat)\n" \
    "  --header 'Name: value' (repeat)  --utf8-headers (raw UTF-8 when SMTPUTF8)\n"

/* --host ... --verbose, --message */
extern const cli_option_t cli_server_options[];
/* --from, --to */
extern const cli_option_t cli_envelope_options[];
/* --subject, --from-name, --body-file, --html-file, --attach, --cc, --bcc,
 * --reply-to, --header, --utf8-headers */
extern const cli_option_t cli_compose_options[];
/* --session, --as-user, --as-email */
extern const cli_option_t cli_session_options[];
/* --queue, --queue-only, --spool, --syslog */
extern const cli_option_t cli_queue_send_options[];
/* --8bit, --output */
extern const cli_option_t cli_preview_options[];

/* Empty options with the client's defaults. */
void cli_send_options_init(cli_send_options_t *o);

/* Apply option id (from the tables above) with its value (NULL for a
 * flag; an argv string, which --header splits in place). name is the
 * option as typed. Bad values exit 2 naming the option; command is named
 * in the "Try 'postie COMMAND --help'" line. */
void cli_send_option(cli_send_options_t *o, const char *command, int id, const char *name,
                     char *value);

/* After the last option: --message cannot go with compose options (exit 2). */
void cli_send_options_done(cli_send_options_t *o, const char *command);

#endif /* POSTIE_CLI_SEND_OPTIONS_H */
