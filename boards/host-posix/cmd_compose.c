/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie compose`: the message Postie would send, written to stdout or a
 * file, without sending it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_commands.h"
#include "cli_compose.h"
#include "cli_options.h"
#include "cli_send_options.h"

static const char compose_usage[] =
    "usage: postie compose --from ADDR [--to ADDR ...] COMPOSE OPTIONS [--8bit]\n"
    "                      [--output FILE]\n"
    "Write the message Postie would send to stdout (or --output FILE), without\n"
    "sending it. Options may come in any order.\n"
    "\n" CLI_COMPOSE_OPTIONS_HELP "  --8bit (allow 8bit parts, as if the server offered 8BITMIME)\n"
    "  --output FILE (write the message there instead of stdout)\n"
    "Exit: 0 written, 2 usage or a message that cannot be composed.\n";

int cmd_compose(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {cli_envelope_options, cli_compose_options,
                                                 cli_preview_options, NULL};
    static cli_send_options_t o;
    static cli_composition_t c;
    FILE *out = stdout;
    uint8_t buf[16384];
    size_t got = 0;
    postie_status_t st;
    const char *name;
    char *v;
    cli_args_t args;
    int id;

    cli_send_options_init(&o);
    cli_args_init(&args, "compose", compose_usage, tables, argc, argv);
    while ((id = cli_args_next(&args, &v, &name)) != CLI_ARGS_END) {
        if (id == CLI_ARGS_OPERAND) {
            cli_args_unexpected(&args, v);
        }
        cli_send_option(&o, "compose", id, name, v);
    }
    o.compose = true;
    cli_send_options_done(&o, "compose");
    if (o.env.from == NULL) {
        cli_usage_error("compose", "--from is required", NULL);
    }
    cli_compose(&c, &o, o.eight_bit, true);
    if (o.output != NULL && (out = fopen(o.output, "wb")) == NULL) {
        fprintf(stderr, "postie: cannot write %s: %s\n", o.output, strerror(errno));
        return EXIT_USAGE;
    }
    while ((st = postie_mime_read(&c.writer, buf, sizeof(buf), &got)) == POSTIE_OK && got > 0) {
        fwrite(buf, 1, got, out);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: composing failed: %s: %s\n", postie_mime_error(&c.writer)->subject,
                postie_status_str(st));
    }
    if (out != stdout) {
        fclose(out);
    }
    cli_compose_done(&c, &o);
    free(o.text);
    free(o.html);
    return st == POSTIE_OK ? 0 : EXIT_USAGE;
}
