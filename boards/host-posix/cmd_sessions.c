/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie sessions` and `postie session show NAME`: the registry as it
 * was understood, secrets masked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_oauth.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_registry.h"

#define REGISTRY_HELP                                                                   \
    "NAME is a registry entry: java:comp/env/mail/Notify, java:/comp/env/mail/Notify\n" \
    "and mail/Notify are the same. The registry is --registry FILE, else\n"             \
    "$POSTIE_REGISTRY, else " POSTIE_REGISTRY_DEFAULT_PATH ".\n"

static const char sessions_usage[] =
    "usage: postie sessions [--registry FILE]\n"
    "Every session and account in the registry: name, server, From (or polling),\n"
    "description. Problems in the registry are listed on stderr.\n" REGISTRY_HELP;

static const char session_usage[] =
    "usage: postie session show NAME [--registry FILE]\n"
    "The session's resolved values, each with where it came from (its own key,\n"
    "or the entry it takes it from, or the default); secrets masked, password\n"
    "files and variables checked.\n" REGISTRY_HELP;

static void print_origin(const postie_origin_t *origin)
{
    if (origin->key[0] == '\0') {
        printf("  (default)");
    } else {
        printf("  (%s", origin->key);
        const char *via = postie_registry_origin_entry(cli_registry(), origin);
        if (via != NULL) {
            printf(" of %s", via);
        }
        printf(")");
    }
    putchar('\n');
}

int cmd_sessions(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {NULL};
    const postie_registry_t *registry;
    const char *used = NULL;
    const char *name;
    char *v;
    cli_args_t args;

    cli_args_init(&args, "sessions", sessions_usage, tables, argc, argv);
    if (cli_args_next(&args, &v, &name) != CLI_ARGS_END) {
        cli_args_unexpected(&args, v);
    }
    registry = cli_registry_load(&used);
    printf("registry %s: %zu sessions, %zu accounts\n", used, registry->session_count,
           registry->account_count);
    for (size_t i = 0; i < registry->session_count; i++) {
        const postie_session_t *s = &registry->sessions[i];
        printf("session  %-24s %s://%s:%u  from %s  %s\n", s->name,
               postie_registry_protocol_name(s->ep.protocol), s->ep.host, s->ep.port, s->from,
               s->description);
    }
    for (size_t i = 0; i < registry->account_count; i++) {
        const postie_account_t *a = &registry->accounts[i];
        printf("account  %-24s %s://%s:%u  %s every %us  %s\n", a->name,
               postie_registry_protocol_name(a->ep.protocol), a->ep.host, a->ep.port,
               a->enabled ? "polled" : "disabled,", a->poll_interval_s, a->description);
    }
    return 0;
}

/* "30000 ms", or what the library uses when the registry says nothing. */
static const char *ms_text(uint32_t ms, int slot)
{
    static char text[3][48];
    if (ms == 0) {
        if (slot != 0) {
            return "library default (RFC 5321 values)";
        }
        snprintf(text[slot], sizeof(text[slot]), "library default (%u ms)",
                 (unsigned)POSTIE_CONNECT_TIMEOUT_MS);
        return text[slot];
    }
    snprintf(text[slot], sizeof(text[slot]), "%u ms", ms);
    return text[slot];
}

int cmd_session(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {NULL};
    const char *operand[2] = {NULL, NULL};
    const postie_session_t *s;
    const postie_endpoint_t *ep;
    const char *name;
    char *v;
    cli_args_t args;
    int n = 0;

    cli_args_init(&args, "session", session_usage, tables, argc, argv);
    while (cli_args_next(&args, &v, &name) != CLI_ARGS_END) {
        if (n == 2) {
            cli_args_unexpected(&args, v);
        }
        operand[n++] = v;
    }
    if (n != 2 || strcmp(operand[0], "show") != 0) {
        cli_usage_error("session", "usage: postie session show NAME", NULL);
    }
    s = cli_find_session(operand[1]);
    ep = &s->ep;
    printf("session %s%s%s\n", s->name, s->description[0] ? ": " : "", s->description);
    if (s->jndi[0] != '\0') {
        printf("  transport from: %s\n", s->jndi);
    }
#define SHOW(label, field, fmt, ...)                \
    do {                                            \
        printf("  %-15s " fmt, label, __VA_ARGS__); \
        print_origin(&s->origin[field]);            \
    } while (0)
    SHOW("protocol", POSTIE_F_PROTOCOL, "%s", postie_registry_protocol_name(ep->protocol));
    SHOW("host", POSTIE_F_HOST, "%s", ep->host);
    SHOW("port", POSTIE_F_PORT, "%u", ep->port);
    SHOW("tls", POSTIE_F_TLS, "%s", cli_tls_name(ep->tls));
    SHOW("ca_file", POSTIE_F_CA_FILE, "%s", ep->ca_file[0] ? ep->ca_file : "(system bundle)");
    SHOW("verify", POSTIE_F_VERIFY, "%s", ep->verify ? "yes" : "NO");
    SHOW("auth", POSTIE_F_AUTH, "%s",
         ep->auth == POSTIE_AUTH_BASIC    ? "basic"
         : ep->auth == POSTIE_AUTH_OAUTH2 ? "oauth2"
                                          : "none");
    if (ep->auth != POSTIE_AUTH_NONE) {
        SHOW("username", POSTIE_F_USERNAME, "%s", ep->username);
    }
    if (ep->auth == POSTIE_AUTH_BASIC) {
        printf("  %-15s ", "password");
        cli_print_secret(&ep->password);
        print_origin(&s->origin[POSTIE_F_PASSWORD]);
    }
    cli_print_oauth_state(ep, false, s->name, 15);
    SHOW("ehlo", POSTIE_F_EHLO, "%s", ep->ehlo[0] ? ep->ehlo : "(default)");
    SHOW("connect_timeout", POSTIE_F_CONNECT_TIMEOUT, "%s", ms_text(ep->connect_timeout_ms, 0));
    SHOW("timeout", POSTIE_F_TIMEOUT, "%s", ms_text(ep->timeout_ms, 1));
    SHOW("write_timeout", POSTIE_F_WRITE_TIMEOUT, "%s", ms_text(ep->write_timeout_ms, 2));
    SHOW("from", POSTIE_F_FROM, "%s", s->from);
    SHOW("envelope_from", POSTIE_F_ENVELOPE_FROM, "%s",
         s->envelope_from[0] ? s->envelope_from : "(from)");
    SHOW("from_name", POSTIE_F_FROM_NAME, "%s", s->from_name);
    SHOW("subject_prefix", POSTIE_F_SUBJECT_PREFIX, "\"%s\"", s->subject_prefix);
#undef SHOW
    return 0;
}
