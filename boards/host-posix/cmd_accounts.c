/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie accounts` and `postie account show NAME`: the registry's mail
 * accounts as they were understood, secrets masked.
 */
#include <stdio.h>
#include <string.h>

#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_account.h"
#include "cli_commands.h"
#include "cli_oauth.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_registry.h"

static const char accounts_usage[] =
    "usage: postie accounts [--registry FILE]\n"
    "Every mail account in the registry, one per line: name, server, whether it is\n"
    "polled and how often, delete or keep on the server, the archive Maildir.\n"
    "Problems in the registry are listed on stderr. 'postie account show NAME' shows\n"
    "one account in full. The registry is --registry FILE, else $POSTIE_REGISTRY,\n"
    "else " POSTIE_REGISTRY_DEFAULT_PATH ".\n";

int cmd_accounts(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {NULL};
    const postie_registry_t *registry;
    const char *used = NULL;
    const char *name;
    char *v;
    cli_args_t args;

    cli_args_init(&args, "accounts", accounts_usage, tables, argc, argv);
    if (cli_args_next(&args, &v, &name) != CLI_ARGS_END) {
        cli_args_unexpected(&args, v);
    }
    registry = cli_registry_load(&used);
    if (registry->account_count == 0) {
        printf("registry %s: no accounts\n", used);
        return 0;
    }
    printf("%-20s %-36s %-8s %8s  %-6s %s\n", "NAME", "SERVER", "POLLED", "EVERY", "SERVER",
           "MAILDIR");
    for (size_t i = 0; i < registry->account_count; i++) {
        const postie_account_t *a = &registry->accounts[i];
        char server[POSTIE_REGISTRY_TEXT_MAX + 32];
        char every[24];
        snprintf(server, sizeof(server), "%s://%s:%u",
                 postie_registry_protocol_name(a->ep.protocol), a->ep.host, a->ep.port);
        snprintf(every, sizeof(every), "%us", a->poll_interval_s);
        printf("%-20s %-36s %-8s %8s  %-6s %s\n", a->name, server, a->enabled ? "yes" : "no", every,
               a->delete_after_archive ? "delete" : "keep",
               a->maildir[0] != '\0' ? a->maildir : "(not set: cannot fetch)");
    }
    return 0;
}

static void print_origin(const postie_origin_t *origin)
{
    if (origin->key[0] == '\0') {
        printf("  (default)\n");
    } else {
        printf("  (%s)\n", origin->key);
    }
}

int cli_account_show(const cli_account_args_t *args)
{
    const postie_account_t *a;
    const postie_endpoint_t *ep;
    bool pop3;

    cli_account_no_edit_options(args);
    if (args->typed[ACC_VERBOSE] != NULL) {
        fprintf(stderr, "postie: account show: unknown option %s\n", args->typed[ACC_VERBOSE]);
        return EXIT_USAGE;
    }
    a = cli_find_account(args->name);
    ep = &a->ep;
    pop3 = ep->protocol == POSTIE_PROTO_POP3 || ep->protocol == POSTIE_PROTO_POP3S;
    printf("account %s%s%s\n", a->name, a->description[0] ? ": " : "", a->description);
#define SHOW(label, field, fmt, ...)                \
    do {                                            \
        printf("  %-20s " fmt, label, __VA_ARGS__); \
        print_origin(&a->origin[field]);            \
    } while (0)
    SHOW("protocol", POSTIE_F_PROTOCOL, "%s", postie_registry_protocol_name(ep->protocol));
    SHOW("host", POSTIE_F_HOST, "%s", ep->host);
    SHOW("port", POSTIE_F_PORT, "%u", ep->port);
    SHOW("tls", POSTIE_F_TLS, "%s",
         ep->tls == POSTIE_TLS_STARTTLS_REQUIRED ? (pop3 ? "STLS required" : "STARTTLS required")
         : ep->tls == POSTIE_TLS_STARTTLS_OPPORTUNISTIC
             ? (pop3 ? "STLS if offered" : "STARTTLS if offered")
             : cli_tls_name(ep->tls));
    SHOW("ca_file", POSTIE_F_CA_FILE, "%s", ep->ca_file[0] ? ep->ca_file : "(system bundle)");
    SHOW("verify", POSTIE_F_VERIFY, "%s", ep->verify ? "yes" : "NO");
    printf("  %-20s %s\n", "allow_plaintext_auth", ep->allow_plaintext_auth ? "YES" : "no");
    SHOW("username", POSTIE_F_USERNAME, "%s", ep->username);
    if (ep->auth == POSTIE_AUTH_OAUTH2) {
        cli_print_oauth_state(ep, true, a->name, 20);
    } else {
        printf("  %-20s ", "password");
        cli_print_secret(&ep->password);
        print_origin(&a->origin[POSTIE_F_PASSWORD]);
    }
    if (pop3) {
        SHOW("apop", POSTIE_F_APOP, "%s", a->apop ? "yes (when offered)" : "no");
    } else {
        SHOW("folder", POSTIE_F_FOLDER, "%s", a->folder);
    }
    SHOW("enabled", POSTIE_F_ENABLED, "%s", a->enabled ? "yes" : "no");
    SHOW("poll_interval", POSTIE_F_POLL_INTERVAL, "%u s", a->poll_interval_s);
    SHOW("delete_after_archive", POSTIE_F_DELETE, "%s",
         a->delete_after_archive ? "yes" : "no (keep on server)");
    SHOW("maildir", POSTIE_F_MAILDIR, "%s",
         a->maildir[0] ? a->maildir : "(not set: the account cannot be fetched)");
    SHOW("state_file", POSTIE_F_STATE_FILE, "%s", a->state_file[0] ? a->state_file : "(none)");
    if (ep->timeout_ms != 0) {
        SHOW("timeout", POSTIE_F_TIMEOUT, "%u ms", ep->timeout_ms);
    }
#undef SHOW
    return 0;
}
