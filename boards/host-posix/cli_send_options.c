/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The options send, compose and test-email share (see cli_send_options.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/text.h"
#include "postie/common/address.h"

#include "cli.h"
#include "cli_output.h"
#include "cli_send_options.h"

#define ENVID_XTEXT_MAX 100 /* RFC 3461 4.4 */
#define NAME_MAX_OCTETS 255 /* a domain name (RFC 1035), for --host and --ehlo */

const cli_option_t cli_server_options[] = {
    {"--host", OPT_HOST, true},
    {"--port", OPT_PORT, true},
    {"--connect-to", OPT_CONNECT_TO, true},
    {"--tls", OPT_TLS, true},
    {"--ca-file", OPT_CA_FILE, true},
    {"--timeout", OPT_TIMEOUT, true},
    {"--ehlo", OPT_EHLO, true},
    {"--user", OPT_USER, true},
    {"--password-env", OPT_PASSWORD_ENV, true},
    {"--password-file", OPT_PASSWORD_FILE, true},
    {"--password", OPT_PASSWORD, false},
    {"--allow-plaintext-auth", OPT_ALLOW_PLAINTEXT_AUTH, false},
    {"--no-pipelining", OPT_NO_PIPELINING, false},
    {"--no-chunking", OPT_NO_CHUNKING, false},
    {"--dsn-notify", OPT_DSN_NOTIFY, true},
    {"--dsn-ret", OPT_DSN_RET, true},
    {"--envid", OPT_ENVID, true},
    {"--verbose", OPT_VERBOSE, false},
    {"-v", OPT_VERBOSE, false},
    {"--message", OPT_MESSAGE, true},
    CLI_OPTIONS_END,
};

const cli_option_t cli_envelope_options[] = {
    {"--from", OPT_FROM, true},
    {"--to", OPT_TO, true},
    CLI_OPTIONS_END,
};

const cli_option_t cli_compose_options[] = {
    {"--subject", OPT_SUBJECT, true},
    {"--from-name", OPT_FROM_NAME, true},
    {"--body-file", OPT_BODY_FILE, true},
    {"--html-file", OPT_HTML_FILE, true},
    {"--attach", OPT_ATTACH, true},
    {"--cc", OPT_CC, true},
    {"--bcc", OPT_BCC, true},
    {"--reply-to", OPT_REPLY_TO, true},
    {"--header", OPT_HEADER, true},
    {"--utf8-headers", OPT_UTF8_HEADERS, false},
    CLI_OPTIONS_END,
};

const cli_option_t cli_session_options[] = {
    {"--session", OPT_SESSION, true},
    {"--as-user", OPT_AS_USER, true},
    {"--as-email", OPT_AS_EMAIL, true},
    CLI_OPTIONS_END,
};

const cli_option_t cli_queue_send_options[] = {
    {"--queue", OPT_QUEUE, false},
    {"--queue-only", OPT_QUEUE_ONLY, false},
    {"--spool", OPT_SPOOL, true},
    {"--syslog", OPT_SYSLOG, false},
    CLI_OPTIONS_END,
};

const cli_option_t cli_preview_options[] = {
    {"--8bit", OPT_8BIT, false},
    {"--output", OPT_OUTPUT, true},
    CLI_OPTIONS_END,
};

/* ---- checks on option values (before connecting) ------------------------------ */

/* --host and --connect-to: a name or address, 1..255 printable ASCII
 * octets without spaces. */
static void check_host_option(const char *cmd, const char *opt, const char *v)
{
    size_t n = strlen(v);
    if (n == 0) {
        cli_bad_value(cmd, opt, v, "must not be empty");
    }
    if (n > NAME_MAX_OCTETS) {
        cli_bad_value(cmd, opt, v, "is longer than 255 octets");
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f) {
            cli_bad_value(cmd, opt, v,
                          "must be a host name or address: no spaces, control characters or "
                          "non-ASCII octets (use the xn-- form of an international name)");
        }
    }
}

/* The EHLO name, by the engine's own rule (postie_address_check_hostname):
 * a domain or an address literal ([192.0.2.1], [IPv6:2001:db8::1]).
 * Returns why the name is refused, or NULL. */
static const char *check_ehlo_name(const char *v)
{
    if (v[0] == '\0') {
        return "must not be empty";
    }
    if (strlen(v) > NAME_MAX_OCTETS) {
        return "is longer than 255 octets";
    }
    if (postie_address_check_hostname(v) != POSTIE_OK) {
        return "must be an ASCII domain name (letters, digits, '-' and dots; an international "
               "name in its xn-- form) or an address literal in brackets ([192.0.2.1])";
    }
    return NULL;
}

/* The login name: what the engine can carry (POSTIE_AUTH_FIELD_MAX). */
static void check_user_option(const char *cmd, const char *v)
{
    if (v[0] == '\0') {
        cli_bad_value(cmd, "--user", v, "must not be empty");
    }
    if (strlen(v) > POSTIE_AUTH_FIELD_MAX) {
        fprintf(stderr, "postie: --user: longer than %u octets (POSTIE_AUTH_FIELD_MAX)\n",
                (unsigned)POSTIE_AUTH_FIELD_MAX);
        exit(EXIT_USAGE);
    }
}

/* --envid: printable ASCII (RFC 3461 4.4), at most 100 characters once
 * xtext-encoded for the wire. */
static void check_envid_option(const char *cmd, const char *v)
{
    size_t xtext = 0;
    for (const char *p = v; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e) {
            cli_bad_value(cmd, "--envid", v, "must be printable ASCII (RFC 3461)");
        }
        xtext += (c > 0x20 && c != '+' && c != '=') ? 1u : 3u;
    }
    if (v[0] == '\0') {
        cli_bad_value(cmd, "--envid", v, "must not be empty");
    }
    if (xtext > ENVID_XTEXT_MAX) {
        fprintf(stderr,
                "postie: --envid: %zu characters once xtext-encoded; RFC 3461 allows at most "
                "%u\n",
                xtext, (unsigned)ENVID_XTEXT_MAX);
        exit(EXIT_USAGE);
    }
}

/* One option value is one mailbox (postie_address_check): a list or a
 * group in one value is refused here, naming the option. */
static void check_address_option(const char *cmd, const char *opt, const char *v, bool allow_empty)
{
    postie_status_t st = postie_address_check(v, allow_empty, NULL);
    if (st != POSTIE_OK) {
        char shown[96];
        postie_text_copy_printable(shown, sizeof(shown), v, strlen(v));
        fprintf(stderr, "postie: %s \"%s\": %s (give one address per %s)\n", opt, shown,
                postie_status_str(st), opt);
        fprintf(stderr, "Try 'postie %s --help'.\n", cmd);
        exit(EXIT_USAGE);
    }
}

static void add_address(const char *cmd, const char **list, size_t *n, const char *opt,
                        const char *v)
{
    check_address_option(cmd, opt, v, false);
    if (*n >= CLI_MAX_RCPT) {
        cli_usage_error(cmd, "too many addresses (limit 1000) for", opt);
    }
    list[(*n)++] = v;
}

/* ---- options ---------------------------------------------------------------- */

void cli_send_options_init(cli_send_options_t *o)
{
    memset(o, 0, sizeof(*o));
    postie_smtp_client_config_defaults(&o->cfg);
}

/* The options a session owns (see apply_session in cmd_send.c). */
static bool owned_by_session(int id)
{
    switch (id) {
    case OPT_HOST:
    case OPT_PORT:
    case OPT_TLS:
    case OPT_CA_FILE:
    case OPT_ALLOW_PLAINTEXT_AUTH:
    case OPT_USER:
    case OPT_PASSWORD_ENV:
    case OPT_PASSWORD_FILE:
    case OPT_FROM:
    case OPT_FROM_NAME:
        return true;
    default:
        return false;
    }
}

void cli_send_option(cli_send_options_t *o, const char *cmd, int id, const char *a, char *v)
{
    const char *why;

    if (o->session_conflict == NULL && owned_by_session(id)) {
        o->session_conflict = a;
    }
    switch (id) {
    /* the server, TLS and login */
    case OPT_HOST:
        check_host_option(cmd, a, v);
        o->cfg.host = v;
        break;
    case OPT_PORT:
        o->cfg.port = (uint16_t)cli_parse_number(cmd, "bad --port", v, 65535);
        break;
    case OPT_CONNECT_TO:
        check_host_option(cmd, a, v);
        o->cfg.connect_to = v;
        break;
    case OPT_TLS:
        if (!strcmp(v, "none")) {
            o->cfg.smtp.tls_mode = POSTIE_TLS_NONE;
        } else if (!strcmp(v, "starttls")) {
            o->cfg.smtp.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
        } else if (!strcmp(v, "starttls-optional")) {
            o->cfg.smtp.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
        } else if (!strcmp(v, "implicit")) {
            o->cfg.smtp.tls_mode = POSTIE_TLS_IMPLICIT;
        } else {
            cli_usage_error(cmd, "--tls must be none, starttls, starttls-optional or implicit", v);
        }
        break;
    case OPT_CA_FILE:
        o->cfg.tls.ca_file = v;
        break;
    case OPT_TIMEOUT:
        o->timeout_s = cli_parse_number(cmd, "bad --timeout (seconds, 1..86400)", v, 86400);
        if (o->timeout_s == 0) {
            cli_usage_error(cmd, "bad --timeout (seconds, 1..86400)", v);
        }
        break;
    case OPT_EHLO:
        if ((why = check_ehlo_name(v)) != NULL) {
            cli_bad_value(cmd, a, v, why);
        }
        o->cfg.smtp.ehlo_name = v;
        o->ehlo = v;
        break;
    case OPT_USER:
        check_user_option(cmd, v);
        o->cfg.smtp.username = v;
        break;
    case OPT_PASSWORD_ENV:
        o->password_env = v;
        break;
    case OPT_PASSWORD_FILE:
        o->password_file = v;
        break;
    case OPT_PASSWORD:
        cli_usage_error(cmd,
                        "passwords are not taken from the command line; use --password-env VAR "
                        "or --password-file FILE",
                        NULL);
    case OPT_ALLOW_PLAINTEXT_AUTH:
        o->cfg.smtp.allow_plaintext_auth = true;
        break;
    case OPT_NO_PIPELINING:
        o->cfg.smtp.use_pipelining = false;
        break;
    case OPT_NO_CHUNKING:
        o->cfg.smtp.use_chunking = false;
        break;
    case OPT_DSN_NOTIFY:
        if (!strcmp(v, "never")) {
            o->env.dsn_notify = POSTIE_DSN_NOTIFY_NEVER;
        } else {
            o->env.dsn_notify = (uint8_t)((strstr(v, "success") ? POSTIE_DSN_NOTIFY_SUCCESS : 0) |
                                          (strstr(v, "failure") ? POSTIE_DSN_NOTIFY_FAILURE : 0) |
                                          (strstr(v, "delay") ? POSTIE_DSN_NOTIFY_DELAY : 0));
            if (o->env.dsn_notify == 0) {
                cli_usage_error(cmd, "bad --dsn-notify", v);
            }
        }
        break;
    case OPT_DSN_RET:
        o->env.dsn_ret = !strcmp(v, "full")   ? POSTIE_DSN_RET_FULL
                         : !strcmp(v, "hdrs") ? POSTIE_DSN_RET_HDRS
                                              : POSTIE_DSN_RET_DEFAULT;
        if (o->env.dsn_ret == POSTIE_DSN_RET_DEFAULT) {
            cli_usage_error(cmd, "--dsn-ret must be full or hdrs", v);
        }
        break;
    case OPT_ENVID:
        check_envid_option(cmd, v);
        o->env.dsn_envid = v;
        break;
    case OPT_VERBOSE:
        o->cfg.smtp.log = cli_log_line;
        break;
    case OPT_MESSAGE:
        o->message_path = v;
        break;

    /* the envelope */
    case OPT_FROM:
        check_address_option(cmd, a, v, true); /* "" is the null sender */
        o->env.from = v;
        break;
    case OPT_TO:
        add_address(cmd, o->to, &o->nto, a, v);
        break;

    /* composing */
    case OPT_CC:
        add_address(cmd, o->cc, &o->ncc, a, v);
        o->compose = true;
        break;
    case OPT_BCC:
        add_address(cmd, o->bcc, &o->nbcc, a, v);
        o->compose = true;
        break;
    case OPT_REPLY_TO:
        add_address(cmd, o->reply_to, &o->nreply_to, a, v);
        o->compose = true;
        break;
    case OPT_SUBJECT:
        o->subject = v;
        o->compose = true;
        break;
    case OPT_FROM_NAME:
        o->from_name = v;
        o->compose = true;
        break;
    case OPT_BODY_FILE:
        o->body_file = v;
        o->compose = true;
        break;
    case OPT_HTML_FILE:
        o->html_file = v;
        o->compose = true;
        break;
    case OPT_ATTACH:
        if (o->nattach >= CLI_MAX_ATTACH) {
            cli_usage_error(cmd, "too many --attach (limit 64)", v);
        }
        o->attach[o->nattach++] = v;
        o->compose = true;
        break;
    case OPT_HEADER: {
        char *colon = strchr(v, ':');
        if (o->nheaders >= CLI_MAX_HEADERS) {
            cli_usage_error(cmd, "too many --header (limit 32)", v);
        }
        if (colon == NULL) {
            cli_usage_error(cmd, "--header needs 'Name: value'", v);
        }
        *colon = '\0'; /* split in place: argv strings are ours */
        o->headers[o->nheaders].name = v;
        o->headers[o->nheaders].value = colon + 1 + strspn(colon + 1, " \t");
        o->nheaders++;
        o->compose = true;
        break;
    }
    case OPT_UTF8_HEADERS:
        o->utf8_headers = true;
        o->compose = true;
        break;

    /* the session */
    case OPT_SESSION:
        o->session = v;
        o->compose = true;
        break;
    case OPT_AS_USER:
        o->as_user = v;
        break;
    case OPT_AS_EMAIL:
        o->as_email = v;
        break;

    /* the queue */
    case OPT_QUEUE:
        o->queue = true;
        break;
    case OPT_QUEUE_ONLY:
        o->queue = true;
        o->queue_only = true;
        break;
    case OPT_SPOOL:
        o->spool = v;
        break;
    case OPT_SYSLOG:
        o->syslog = true;
        break;

    /* compose's preview */
    case OPT_8BIT:
        o->eight_bit = true;
        break;
    case OPT_OUTPUT:
        o->output = v;
        break;
    default:
        cli_usage_error(cmd, "unknown option", a); /* a table row without a case */
    }
}

void cli_send_options_done(cli_send_options_t *o, const char *cmd)
{
    if (o->compose && o->message_path != NULL) {
        cli_usage_error(
            cmd, "--message sends a ready message; it cannot be combined with compose options",
            NULL);
    }
}
