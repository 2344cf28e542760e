/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie test-email NAME --to ADDR ...`: a labelled test message through
 * a session; prints the final reply.
 */
#include <stdio.h>
#include <string.h>

#include "postie/posix/registry_file.h"
#include "postie/posix/session_check.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_registry.h"
#include "cli_send_options.h"

#define TEST_EMAIL_RCPT_MAX 16

static const char test_email_usage[] =
    "usage: postie test-email NAME --to ADDR [--to ADDR ...] [--registry FILE]\n"
    "Send a labelled test message through the session NAME to up to 16\n"
    "recipients and print the server's final reply. The session defines the\n"
    "server, login and From; test-email takes nothing but --to.\n"
    "NAME is a registry entry: java:comp/env/mail/Notify, java:/comp/env/mail/Notify\n"
    "and mail/Notify are the same. The registry is --registry FILE, else\n"
    "$POSTIE_REGISTRY, else " POSTIE_REGISTRY_DEFAULT_PATH ".\n"
    "Exit: 0 all accepted, 1 refused, 2 usage, 3 session failed, 4 temporary failure.\n";

int cmd_test_email(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {cli_envelope_options, NULL};
    static cli_send_options_t o;
    static postie_smtp_rcpt_t rcpt[TEST_EMAIL_RCPT_MAX];
    postie_reply_info_t final;
    postie_error_t error;
    const postie_session_t *s;
    const char *session = NULL;
    const char *name;
    char *v;
    cli_args_t args;
    postie_status_t st;
    int id;
    int rc = 0;

    cli_send_options_init(&o);
    cli_args_init(&args, "test-email", test_email_usage, tables, argc, argv);
    args.hint = "test-email takes only --to ADDR (the session defines the rest)";
    while ((id = cli_args_next(&args, &v, &name)) != CLI_ARGS_END) {
        if (id == CLI_ARGS_OPERAND) {
            if (session != NULL) {
                cli_args_unexpected(&args, v);
            }
            session = v;
        } else if (id == OPT_TO) {
            cli_send_option(&o, "test-email", id, name, v);
        } else {
            cli_usage_error("test-email",
                            "test-email takes only --to ADDR (the session defines the rest)", name);
        }
    }
    if (session == NULL || o.nto == 0 || o.nto > TEST_EMAIL_RCPT_MAX) {
        cli_usage_error("test-email",
                        "usage: postie test-email NAME --to ADDR [--to ADDR ...] (up to 16)", NULL);
    }
    s = cli_find_session(session);
    st = postie_session_test_email(s, o.to, o.nto, rcpt, &final, &error);
    for (size_t i = 0; i < o.nto; i++) {
        if (rcpt[i].state == POSTIE_RCPT_REJECTED || rcpt[i].state == POSTIE_RCPT_NOT_TRIED) {
            fprintf(stderr, "postie: recipient %s %s", rcpt[i].address,
                    rcpt[i].state == POSTIE_RCPT_REJECTED ? "refused: " : "not tried");
            cli_print_reply(stderr, &rcpt[i].reply);
            fputc('\n', stderr);
            rc = EXIT_REFUSED;
        }
    }
    if (st == POSTIE_OK) {
        cli_print_reply(stdout, &final);
        fputc('\n', stdout);
        return rc;
    }
    fprintf(stderr, "postie: test email through %s failed at %s: %s (%s)", s->name,
            error.phase != NULL ? error.phase : "?", postie_status_str(st), postie_status_name(st));
    if (error.reply.code != 0) {
        fprintf(stderr, "; server said: ");
        cli_print_reply(stderr, &error.reply);
    }
    fputc('\n', stderr);
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}
