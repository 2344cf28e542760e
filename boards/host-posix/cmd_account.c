/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie account show|test|add|edit|delete|enable|disable NAME`: reads the
 * arguments (options anywhere, before or after the subcommand) and hands
 * them to the subcommand's file (cli_account.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_account.h"
#include "cli_commands.h"
#include "cli_options.h"

#define NAME_HELP                                                                             \
    "NAME is the account's name in the registry (\"Support\", or a JNDI-style name such as\n" \
    "java:comp/env/mail/Support, which is the same as mail/Support). The registry is\n"       \
    "--registry FILE, else $POSTIE_REGISTRY, else " POSTIE_REGISTRY_DEFAULT_PATH ".\n"

#define FIELD_HELP                                                                            \
    "FIELDS (each sets the key of the same name in the registry; see README, Accounts):\n"    \
    "  --protocol pop3|pop3s|imap|imaps   --host NAME   --port N (default 110/995/143/993)\n" \
    "  --user NAME   --password-env VAR | --password-file FILE | --password-stdin\n"          \
    "      (env and file store a reference; --password-stdin stores the first line of\n"      \
    "      standard input in the registry itself, which should then be chmod 600)\n"          \
    "  --tls starttls|starttls-optional|none (plain protocols; default starttls: STLS or\n"   \
    "      STARTTLS required)   --ca-file FILE   --verify on|off\n"                           \
    "  --allow-plaintext-auth on|off   --apop on|off (POP3)   --folder NAME (IMAP, INBOX)\n"  \
    "  --poll-interval SECONDS (default 1800)   --enabled on|off   --description TEXT\n"      \
    "  --delete-after-archive on|off (default on)   --keep (the same as ... off)\n"           \
    "  --maildir DIR (the archive)   --state-file FILE (default\n"                            \
    "      DIR/" POSTIE_ACCOUNT_STATE_FILE_DEFAULT ")   --timeout SECONDS (per reply)\n"

static const char account_usage[] =
    "usage: postie account COMMAND NAME [OPTIONS]\n"
    "  show NAME                 the account's values, secrets masked\n"
    "  test NAME [--verbose]     try it step by step: DNS, TCP, TLS, capabilities, login,\n"
    "                            messages\n"
    "  add NAME FIELDS...        add an account to the registry file\n"
    "  edit NAME FIELDS...       change some of its fields (--unset KEY drops one)\n"
    "  delete NAME               remove it (its Maildir and state file stay)\n"
    "  enable NAME, disable NAME  poll it or not\n"
    "'postie account COMMAND --help' shows a command's options.\n"
    "Edits rewrite the registry file atomically (a temporary file, fsync, rename, with\n"
    "the file's mode kept) and only after the new file loads without an error; the\n"
    "file is rewritten as cJSON prints it (keys in order, tabs). Secrets are never\n"
    "printed.\n" NAME_HELP
    "Exit: 0 done, 2 usage or a registry that would not load, 3 the test failed,\n"
    "4 the test failed for now (temporary).\n";

static const char show_usage[] =
    "usage: postie account show NAME [--registry FILE]\n"
    "The account's resolved values, each with the key that set it (or the default);\n"
    "secrets masked, password files and variables checked.\n" NAME_HELP;

static const char test_usage[] =
    "usage: postie account test NAME [--verbose] [--registry FILE]\n"
    "Try the account step by step and report each step: DNS, TCP, TLS (version,\n"
    "cipher, certificate subject and expiry), the server's capabilities, login\n"
    "(and the folder for IMAP), the message count. The steps after a failure are\n"
    "marked skipped. Nothing in the mailbox changes. --verbose shows the dialogue\n"
    "on stderr (secrets redacted).\n" NAME_HELP
    "Exit: 0 the account works, 2 usage, 3 it fails, 4 it fails for now (temporary).\n";

static const char add_usage[] = "usage: postie account add NAME FIELDS... [--registry FILE]\n"
                                "Add an account; --protocol, --host, --user and a password option "
                                "are required.\n" FIELD_HELP NAME_HELP
                                "The registry file is created (mode 600) when it does not exist.\n"
                                "Exit: 0 added, 2 usage or the result would not load.\n";

static const char edit_usage[] =
    "usage: postie account edit NAME FIELDS... [--unset KEY]... [--registry FILE]\n"
    "Change the fields given; --unset KEY removes a key (back to its default), e.g.\n"
    "--unset state_file. A field written in JavaMail's spelling (mail.pop3.host) is\n"
    "replaced by Postie's. Changing --protocol to pop3s or imaps drops \"tls\".\n" FIELD_HELP
        NAME_HELP "Exit: 0 changed, 2 usage or the result would not load.\n";

static const char delete_usage[] =
    "usage: postie account delete NAME [--registry FILE]\n"
    "Remove the account from the registry. Its Maildir and fetch state stay on disk.\n" NAME_HELP;

static const char enable_usage[] = "usage: postie account enable|disable NAME [--registry FILE]\n"
                                   "Poll the account (enable) or not (disable): sets \"enabled\".\n"
                                   "A disabled account can still be fetched with 'postie fetch "
                                   "NAME'.\n" NAME_HELP;

static const cli_option_t account_options[] = {
    {"--protocol", ACC_PROTOCOL, true},
    {"--host", ACC_HOST, true},
    {"--port", ACC_PORT, true},
    {"--user", ACC_USER, true},
    {"--password-env", ACC_PASSWORD_ENV, true},
    {"--password-file", ACC_PASSWORD_FILE, true},
    {"--password-stdin", ACC_PASSWORD_STDIN, false},
    {"--password", ACC_PASSWORD, true},
    {"--tls", ACC_TLS, true},
    {"--ca-file", ACC_CA_FILE, true},
    {"--verify", ACC_VERIFY, true},
    {"--allow-plaintext-auth", ACC_ALLOW_PLAINTEXT_AUTH, true},
    {"--apop", ACC_APOP, true},
    {"--folder", ACC_FOLDER, true},
    {"--poll-interval", ACC_POLL_INTERVAL, true},
    {"--delete-after-archive", ACC_DELETE_AFTER_ARCHIVE, true},
    {"--keep", ACC_KEEP, false},
    {"--maildir", ACC_MAILDIR, true},
    {"--state-file", ACC_STATE_FILE, true},
    {"--enabled", ACC_ENABLED, true},
    {"--description", ACC_DESCRIPTION, true},
    {"--timeout", ACC_TIMEOUT, true},
    {"--unset", ACC_UNSET, true},
    {"--verbose", ACC_VERBOSE, false},
    {"-v", ACC_VERBOSE, false},
    CLI_OPTIONS_END,
};

static const struct {
    const char *name;
    const char *usage;
    int (*run)(const cli_account_args_t *a);
} subcommands[] = {
    {"show", show_usage, cli_account_show},      {"test", test_usage, cli_account_test},
    {"add", add_usage, cli_account_edit},        {"edit", edit_usage, cli_account_edit},
    {"delete", delete_usage, cli_account_edit},  {"enable", enable_usage, cli_account_edit},
    {"disable", enable_usage, cli_account_edit},
};

#define SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

void cli_account_no_edit_options(const cli_account_args_t *a)
{
    for (int id = 1; id < ACC_COUNT; id++) {
        if (a->typed[id] != NULL && id != ACC_VERBOSE) {
            fprintf(stderr, "postie: account %s: unknown option %s\n", a->sub, a->typed[id]);
            fprintf(stderr, "Try 'postie account %s --help'.\n", a->sub);
            exit(EXIT_USAGE);
        }
    }
}

int cmd_account(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {account_options, NULL};
    static cli_account_args_t a;
    size_t sub = SUBCOMMANDS;
    const char *typed;
    cli_args_t args;
    char *v;
    int id;

    memset(&a, 0, sizeof(a));
    cli_args_init(&args, "account", account_usage, tables, argc, argv);
    while ((id = cli_args_next(&args, &v, &typed)) != CLI_ARGS_END) {
        if (id == CLI_ARGS_OPERAND) {
            if (a.sub == NULL) {
                a.sub = v;
                for (sub = 0; sub < SUBCOMMANDS && strcmp(v, subcommands[sub].name) != 0; sub++) {
                }
                if (sub == SUBCOMMANDS) {
                    cli_usage_error("account", "unknown account command", v);
                }
                args.usage = subcommands[sub].usage; /* --help from here on: this command's */
            } else if (a.name == NULL) {
                a.name = v;
            } else {
                cli_args_unexpected(&args, v);
            }
            continue;
        }
        if (id == ACC_PASSWORD) {
            cli_usage_error("account",
                            "passwords are not taken from the command line; use --password-env "
                            "VAR, --password-file FILE or --password-stdin",
                            NULL);
        }
        if (id == ACC_UNSET) {
            if (a.nunset == CLI_ACCOUNT_UNSET_MAX) {
                cli_usage_error("account", "too many --unset options", v);
            }
            a.unset[a.nunset++] = v;
        } else if (a.typed[id] != NULL) {
            fprintf(stderr, "postie: account: %s given twice\n", typed);
            fprintf(stderr, "Try 'postie account --help'.\n");
            return EXIT_USAGE;
        }
        a.typed[id] = typed;
        a.value[id] = v != NULL ? v : "";
    }
    if (a.sub == NULL) {
        fputs(account_usage, stderr);
        return EXIT_USAGE;
    }
    if (a.name == NULL) {
        fprintf(stderr, "postie: account %s: NAME is missing\n", a.sub);
        fprintf(stderr, "Try 'postie account %s --help'.\n", a.sub);
        return EXIT_USAGE;
    }
    return subcommands[sub].run(&a);
}
