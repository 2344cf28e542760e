/* SPDX-License-Identifier: Apache-2.0 */
/*
 * postie: command-line front end of the Postie mail library (host build).
 * Reads the global options before the command and hands the rest to the
 * command's file (cli_commands.h); `postie --help` is the overview,
 * `postie COMMAND --help` a command's options.
 */
#include <stdio.h>
#include <string.h>

#include "postie/posix/registry_file.h"
#include "postie/posix/queue_spool.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_options.h"
#include "cli_output.h"

static const char overview[] =
    "usage: postie [--registry FILE] COMMAND [OPTIONS] [ARGUMENTS]\n"
    "       postie --version | --help\n"
    "\n"
    "Commands:\n"
    "  send             send a message, raw or composed, to a server or through a\n"
    "                   named session, now or through the outgoing queue\n"
    "  compose          write the message Postie would send, without sending it\n"
    "  sessions         list the registry's sessions and accounts\n"
    "  session show     one session's values and where each came from\n"
    "  test-email       send a labelled test message through a session\n"
    "  test-connection  try a session step by step: DNS, TCP, TLS, SMTP, login\n"
    "  queue            the outgoing queue: list, errors, flush, run, resend, delete\n"
    "  sendmail         the sendmail(8) interface: a message on stdin, through the\n"
    "                   queue (also when postie runs as `sendmail`)\n"
    "  accounts         list the registry's mail accounts (mailboxes to archive)\n"
    "  account          show, test, add, edit, delete, enable or disable an account\n"
    "  fetch            archive an account's mail now, or work on a server given on\n"
    "                   the command line (--list, --message N, --maildir DIR)\n"
    "  poll             fetch every enabled account on its interval, until SIGTERM\n"
    "  oauth            OAuth 2.0: authorize an entry without a browser here (device\n"
    "                   code), show its token state, import a refresh token\n"
    "\n"
    "'postie COMMAND --help' shows a command's options. Options may come anywhere\n"
    "after the command, in any order; --registry FILE may also come before it.\n"
    "The registry is --registry FILE, else $POSTIE_REGISTRY, else\n"
    "" POSTIE_REGISTRY_DEFAULT_PATH "; the queue's spool is --spool DIR, else\n"
    "$POSTIE_SPOOL, else " POSTIE_SPOOL_DEFAULT_DIR ".\n"
    "Exit: 0 all accepted, 1 refused, 2 usage, 3 session failed, 4 temporary failure.\n";

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"send", cmd_send},
    {"compose", cmd_compose},
    {"sessions", cmd_sessions},
    {"session", cmd_session},
    {"test-email", cmd_test_email},
    {"test-connection", cmd_test_connection},
    {"queue", cmd_queue},
    {"sendmail", cmd_sendmail},
    {"accounts", cmd_accounts},
    {"account", cmd_account},
    {"fetch", cmd_fetch},
    {"poll", cmd_poll},
    {"oauth", cmd_oauth},
};

int main(int argc, char **argv)
{
    static const cli_option_t *const no_options[] = {NULL};
    const char *name;
    char *command;
    cli_args_t args;

    /* installed or linked as sendmail (cron, smartd, mdadm run it so) */
    {
        const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
        base = base != NULL ? base + 1 : (argc > 0 ? argv[0] : "");
        if (strcmp(base, "sendmail") == 0) {
            cli_tls_arena_from_env(); /* POSTIE_TLS_ARENA, before any TLS use */
            return cmd_sendmail(argc - 1, argv + 1);
        }
    }
    /* the global options, up to the command */
    cli_args_init(&args, NULL, overview, no_options, argc - 1, argv + 1);
    if (cli_args_next(&args, &command, &name) == CLI_ARGS_END) {
        fputs(overview, stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(command, commands[i].name) == 0) {
            cli_tls_arena_from_env(); /* POSTIE_TLS_ARENA, before any TLS use */
            return commands[i].run(args.argc - args.next, args.argv + args.next);
        }
    }
    cli_usage_error(NULL, "unknown command", command);
}
