/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the CLI prints that comes from outside: server replies, names and
 * certificate subjects, made safe for a terminal; the --verbose dialogue;
 * the report of a failed session.
 */
#ifndef POSTIE_CLI_OUTPUT_H
#define POSTIE_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "postie/posix/smtp_client.h"

/* Text from the server (or anything else outside our control) for a
 * terminal: control characters, DEL, C1 controls and octets that are not
 * UTF-8 become \xNN, a backslash becomes \\; so no escape sequence (colour,
 * title, cursor moves, bell) ever reaches the terminal. */
void cli_put_escaped(FILE *out, const char *text, size_t len);
void cli_put_escaped_str(FILE *out, const char *text);

/* "250 2.0.0 Ok: queued as X" (escaped); nothing for code 0. */
void cli_print_reply(FILE *out, const postie_reply_info_t *r);

/* The --verbose sink (a postie_smtp_log_fn): every line, sent ("C: ") or
 * received ("S: "), escaped, on stderr. ctx is unused. */
void cli_log_line(void *ctx, postie_log_dir_t dir, const char *line, size_t len);

/* "postie: PHASE: what (NAME); subject; server said: REPLY" on stderr for a
 * session that failed. Returns the exit code: 4 when the failure is
 * temporary, else 3. */
int cli_report_session_failure(const postie_smtp_client_t *c, postie_status_t st);

/* "STARTTLS required", "STARTTLS if offered", "none", "implicit TLS". */
const char *cli_tls_name(postie_tls_mode_t t);

/* POSTIE_TLS_ARENA=OCTETS in the environment (16384..268435456): run mbedTLS
 * from a static arena of that size, as firmware does, to see what a session
 * needs. Called once, before any TLS use. Needs an mbedTLS with
 * MBEDTLS_MEMORY_BUFFER_ALLOC_C (the 3.6 build of boards/build-mbedtls.sh);
 * otherwise, or for a bad value, says why on stderr and exits 2. */
void cli_tls_arena_from_env(void);

/* With an arena: "* TLS arena: high-water N octets (B blocks) of M" on
 * stderr (for --verbose, after a session), then a new measurement starts. */
void cli_tls_arena_report(void);

#endif /* POSTIE_CLI_OUTPUT_H */
