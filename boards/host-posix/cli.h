/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The postie CLI's exit codes, shared by every file of the CLI.
 *
 * How the CLI is built (boards/host-posix/):
 *   main.c           global options (--registry, --help, --version) and the
 *                    dispatch to a command
 *   cmd_*.c          one file per command; their entry points are in
 *                    cli_commands.h, which only main.c and the commands use
 *   cli_options.c    the option scanner every command uses: options anywhere
 *                    after the command, unknown options named
 *   cli_output.c     server text made safe for a terminal, replies, --verbose
 *   cli_input.c      the message, body and HTML inputs (files, pipes, FIFOs)
 *   cli_registry.c   the registry file, loaded once
 *   cli_queue.c      opening the spool; a queue run with progress
 *   cli_send_options.c  the options send, compose and test-email share
 *   cli_compose.c    a MIME message composed from those options
 * Commands call helpers; helpers never call a command. Each .c includes
 * only headers, and a header includes only headers below it:
 * cli_compose.h -> cli_send_options.h -> cli_options.h; the others
 * include no header of the CLI but this one.
 */
#ifndef POSTIE_CLI_H
#define POSTIE_CLI_H

#define EXIT_REFUSED 1 /* the message or some recipient was refused */
#define EXIT_USAGE   2 /* bad usage or input */
#define EXIT_SESSION 3 /* the session failed */
#define EXIT_TEMP    4 /* the session failed, worth a retry */

/* A function that never returns (it exits). */
#if defined(__GNUC__)
#define CLI_NORETURN __attribute__((noreturn))
#else
#define CLI_NORETURN
#endif

#endif /* POSTIE_CLI_H */
