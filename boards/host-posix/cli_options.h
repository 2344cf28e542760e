/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The option scanner every command uses, and usage errors.
 *
 * A command describes its options in tables and reads its arguments one by
 * one with cli_args_next(): options may come anywhere after the command
 * and between operands, in any order (`postie queue flush --spool DIR` and
 * `postie queue --spool DIR flush` are the same). An option that takes a
 * value takes the next argument, whatever it looks like. "-" is an operand
 * (standard input); "--" ends the options.
 *
 * Three global options are known to every command, before or after its
 * name: --registry FILE (the registry file, see cli_registry.h), --help or
 * -h (the command's usage on stdout, exit 0), and --version ("postie
 * X.Y.Z" on stdout, exit 0).
 *
 * Errors exit 2 at once with a message naming the command and the
 * argument, then "Try 'postie COMMAND --help'.".
 */
#ifndef POSTIE_CLI_OPTIONS_H
#define POSTIE_CLI_OPTIONS_H

#include <stdbool.h>

#include "cli.h"

/* One option. A table is an array of them ending with CLI_OPTIONS_END. */
typedef struct {
    const char *name; /* as typed: "--to", or a short alias ("-v") in a row of its own */
    int id;           /* > 0: what cli_args_next() returns for it */
    bool has_value;   /* takes the next argument as its value */
} cli_option_t;

#define CLI_OPTIONS_END \
    {                   \
        NULL, 0, false  \
    }

#define CLI_ARGS_END     0    /* no more arguments */
#define CLI_ARGS_OPERAND (-1) /* an operand (not an option) */

typedef struct {
    const char *command;               /* "send", "queue": named in messages; NULL before one */
    const char *usage;                 /* printed for --help */
    const char *hint;                  /* NULL, or added to "unknown option X" */
    const cli_option_t *const *tables; /* the command's tables, NULL-terminated */
    int argc;
    char **argv;
    int next;           /* index of the next argument to read */
    bool operands_only; /* after "--" */
} cli_args_t;

/* Start reading argv[0..argc-1] (the arguments after the command). tables
 * is a NULL-terminated list of option tables; command, usage and tables
 * must stay valid while a is used. */
void cli_args_init(cli_args_t *a, const char *command, const char *usage,
                   const cli_option_t *const *tables, int argc, char **argv);

/* The next argument: an option's id, with its value in *value when it
 * takes one (else *value is NULL); CLI_ARGS_OPERAND with the operand in
 * *value; or CLI_ARGS_END. *name is the option as typed (for messages).
 * The global options are handled here and never returned. An option no
 * table knows exits 2: "postie: send: unknown option --frob"; a value
 * missing at the end exits 2: "postie: send: --to needs a value". */
int cli_args_next(cli_args_t *a, char **value, const char **name);

/* Exit 2: "postie: COMMAND: unexpected argument 'ARG'". */
void cli_args_unexpected(const cli_args_t *a, const char *arg) CLI_NORETURN;

/* Exit 2: "postie: MSG: ARG" (": ARG" when arg is not NULL), then
 * "Try 'postie COMMAND --help'." (command may be NULL). */
void cli_usage_error(const char *command, const char *msg, const char *arg) CLI_NORETURN;

/* Exit 2: "postie: OPT 'VALUE': WHY" (the value made printable), then the
 * "Try" line. */
void cli_bad_value(const char *command, const char *opt, const char *value,
                   const char *why) CLI_NORETURN;

/* A decimal number 0..max, or cli_usage_error(command, what, s). */
unsigned long cli_parse_number(const char *command, const char *what, const char *s,
                               unsigned long max);

#endif /* POSTIE_CLI_OPTIONS_H */
