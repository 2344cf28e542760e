/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie account SUBCOMMAND`: the arguments every subcommand shares, read
 * once by cmd_account.c, and the subcommands, one file each:
 *   show                       cmd_accounts.c
 *   add, edit, delete, enable, disable    cmd_account_edit.c
 *   test                       cmd_account_test.c
 */
#ifndef POSTIE_CLI_ACCOUNT_H
#define POSTIE_CLI_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli_options.h"

/* The options of `postie account`, as cli_args_next() returns them. */
enum {
    ACC_PROTOCOL = 1,
    ACC_HOST,
    ACC_PORT,
    ACC_USER,
    ACC_PASSWORD_ENV,
    ACC_PASSWORD_FILE,
    ACC_PASSWORD_STDIN,
    ACC_PASSWORD, /* refused: passwords never come from the command line */
    ACC_TLS,
    ACC_CA_FILE,
    ACC_VERIFY,
    ACC_ALLOW_PLAINTEXT_AUTH,
    ACC_APOP,
    ACC_FOLDER,
    ACC_POLL_INTERVAL,
    ACC_DELETE_AFTER_ARCHIVE,
    ACC_KEEP,
    ACC_MAILDIR,
    ACC_STATE_FILE,
    ACC_ENABLED,
    ACC_DESCRIPTION,
    ACC_TIMEOUT,
    ACC_UNSET,
    ACC_VERBOSE,
    ACC_COUNT
};

#define CLI_ACCOUNT_UNSET_MAX 16

typedef struct {
    const char *sub;              /* "add", "edit", ... */
    const char *name;             /* NAME as typed */
    const char *value[ACC_COUNT]; /* each option's value ("" for a flag), NULL when not given */
    const char *typed[ACC_COUNT]; /* each option as typed */
    const char *unset[CLI_ACCOUNT_UNSET_MAX]; /* --unset KEY, in order */
    size_t nunset;
} cli_account_args_t;

/* Each returns the exit code (usage errors exit 2 at once). */
int cli_account_show(const cli_account_args_t *a);
int cli_account_edit(const cli_account_args_t *a);
int cli_account_test(const cli_account_args_t *a);

/* The edit options a subcommand takes (everything but --verbose): exit 2
 * naming the first one given to a subcommand that takes none. */
void cli_account_no_edit_options(const cli_account_args_t *a);

#endif /* POSTIE_CLI_ACCOUNT_H */
