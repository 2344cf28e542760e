/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The option scanner and usage errors (see cli_options.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/text.h"
#include "postie/common/status.h"
#include "postie/common/version.h"

#include "cli.h"
#include "cli_options.h"
#include "cli_registry.h"

/* An argument as it may be shown: control characters replaced. */
typedef struct {
    char text[160];
} shown_t;

static const char *shown(shown_t *s, const char *arg)
{
    postie_text_copy_printable(s->text, sizeof(s->text), arg, strlen(arg));
    return s->text;
}

static void try_help(const char *command)
{
    fprintf(stderr, "Try 'postie%s%s --help'.\n", command != NULL ? " " : "",
            command != NULL ? command : "");
}

void cli_usage_error(const char *command, const char *msg, const char *arg)
{
    fprintf(stderr, "postie: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    try_help(command);
    exit(EXIT_USAGE);
}

void cli_bad_value(const char *command, const char *opt, const char *value, const char *why)
{
    shown_t s;
    fprintf(stderr, "postie: %s '%s': %s\n", opt, shown(&s, value), why);
    try_help(command);
    exit(EXIT_USAGE);
}

unsigned long cli_parse_number(const char *command, const char *what, const char *s,
                               unsigned long max)
{
    char *end = NULL;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        cli_usage_error(command, what, s);
    }
    return v;
}

/* "postie: send: WHAT ARG" (or "postie: WHAT ARG" before a command). */
static void args_error(const cli_args_t *a, const char *what, const char *arg, const char *hint)
{
    shown_t s;
    fprintf(stderr, "postie: %s%s%s %s%s%s\n", a->command != NULL ? a->command : "",
            a->command != NULL ? ": " : "", what, shown(&s, arg), hint != NULL ? ": " : "",
            hint != NULL ? hint : "");
    try_help(a->command);
    exit(EXIT_USAGE);
}

void cli_args_unexpected(const cli_args_t *a, const char *arg)
{
    shown_t s;
    fprintf(stderr, "postie: %s%sunexpected argument '%s'\n", a->command != NULL ? a->command : "",
            a->command != NULL ? ": " : "", shown(&s, arg));
    try_help(a->command);
    exit(EXIT_USAGE);
}

void cli_args_init(cli_args_t *a, const char *command, const char *usage,
                   const cli_option_t *const *tables, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    a->command = command;
    a->usage = usage;
    a->tables = tables;
    a->argc = argc;
    a->argv = argv;
}

static const cli_option_t *find_option(const cli_args_t *a, const char *arg)
{
    for (const cli_option_t *const *t = a->tables; t != NULL && *t != NULL; t++) {
        for (const cli_option_t *o = *t; o->name != NULL; o++) {
            if (strcmp(o->name, arg) == 0) {
                return o;
            }
        }
    }
    return NULL;
}

/* The value after the option at a->next - 1, or exit 2. */
static char *take_value(cli_args_t *a, const char *opt)
{
    if (a->next >= a->argc) {
        shown_t s;
        fprintf(stderr, "postie: %s%s%s needs a value\n", a->command != NULL ? a->command : "",
                a->command != NULL ? ": " : "", shown(&s, opt));
        try_help(a->command);
        exit(EXIT_USAGE);
    }
    return a->argv[a->next++];
}

int cli_args_next(cli_args_t *a, char **value, const char **name)
{
    while (a->next < a->argc) {
        char *arg = a->argv[a->next++];
        const cli_option_t *o;
        *value = NULL;
        *name = arg;
        if (a->operands_only || arg[0] != '-' || arg[1] == '\0') {
            *value = arg;
            return CLI_ARGS_OPERAND;
        }
        if (strcmp(arg, "--") == 0) {
            a->operands_only = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(a->usage, stdout);
            exit(0);
        }
        if (strcmp(arg, "--version") == 0) {
            printf("postie %s\n", postie_version());
            exit(0);
        }
        if (strcmp(arg, "--registry") == 0) {
            cli_registry_set_path(take_value(a, arg));
            continue;
        }
        o = find_option(a, arg);
        if (o == NULL) {
            args_error(a, "unknown option", arg, a->hint);
        }
        if (o->has_value) {
            *value = take_value(a, arg);
        }
        return o->id;
    }
    return CLI_ARGS_END;
}
