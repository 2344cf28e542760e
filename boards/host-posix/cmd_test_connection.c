/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie test-connection NAME`: DNS, TCP, TLS, SMTP and login through a
 * session, each step reported.
 */
#include <stdio.h>
#include <string.h>

#include "postie/posix/registry_file.h"
#include "postie/posix/session_check.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_registry.h"

static const char test_connection_usage[] =
    "usage: postie test-connection NAME [--registry FILE]\n"
    "Try the session NAME step by step (DNS, TCP, TLS, SMTP, login) and report\n"
    "each step; the steps after a failure are marked skipped. A session that\n"
    "does not verify the server's certificate is reported as such.\n"
    "NAME is a registry entry: java:comp/env/mail/Notify, java:/comp/env/mail/Notify\n"
    "and mail/Notify are the same. The registry is --registry FILE, else\n"
    "$POSTIE_REGISTRY, else " POSTIE_REGISTRY_DEFAULT_PATH ".\n"
    "Exit: 0 the session works, 2 usage, 3 it fails, 4 it fails for now (temporary).\n";

int cmd_test_connection(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {NULL};
    static postie_connection_report_t r;
    const postie_session_t *s;
    const char *session = NULL;
    const char *typed;
    char *v;
    cli_args_t args;
    postie_status_t st;

    cli_args_init(&args, "test-connection", test_connection_usage, tables, argc, argv);
    while (cli_args_next(&args, &v, &typed) != CLI_ARGS_END) {
        if (session != NULL) {
            cli_args_unexpected(&args, v);
        }
        session = v;
    }
    if (session == NULL) {
        cli_usage_error("test-connection", "usage: postie test-connection NAME", NULL);
    }
    s = cli_find_session(session);
    printf("session %s: %s://%s:%u, TLS %s%s, login %s\n", s->name,
           postie_registry_protocol_name(s->ep.protocol), s->ep.host, s->ep.port,
           cli_tls_name(s->ep.tls),
           s->ep.verify || s->ep.tls == POSTIE_TLS_NONE ? "" : " (certificate NOT verified)",
           s->ep.auth == POSTIE_AUTH_BASIC ? s->ep.username : "none");
    st = postie_session_test_connection(s, &r);
    for (int step = 0; step < POSTIE_CHECK_COUNT; step++) {
        const char *name = postie_check_step_name((postie_check_step_t)step);
        switch (r.result[step]) {
        case POSTIE_STEP_SKIPPED:
            printf("  %-6s skipped\n", name);
            break;
        case POSTIE_STEP_NOT_USED:
            printf("  %-6s none    (not used by this session)\n", name);
            break;
        case POSTIE_STEP_FAILED:
            printf("  %-6s FAILED  %s (%s)", name, postie_status_str(st), postie_status_name(st));
            if (r.error.subject[0]) {
                printf("; ");
                cli_put_escaped_str(stdout, r.error.subject);
            }
            if (r.error.reply.code != 0) {
                printf("; server said: ");
                cli_print_reply(stdout, &r.error.reply);
            }
            putchar('\n');
            break;
        case POSTIE_STEP_OK:
            switch (step) {
            case POSTIE_CHECK_DNS:
                printf("  DNS    ok      %s -> %s (%u ms)\n", s->ep.host, r.addresses, r.dns_ms);
                break;
            case POSTIE_CHECK_TCP:
                printf("  TCP    ok      connected to %s in %u ms\n", r.peer, r.connect_ms);
                break;
            case POSTIE_CHECK_TLS:
                printf("  TLS    ok      %s %s; certificate ", r.tls.version, r.tls.cipher);
                cli_put_escaped_str(stdout, r.tls.peer_subject);
                printf(", valid until %s\n", r.tls.peer_not_after);
                if (!s->ep.verify || r.tls.verify_flags != 0) {
                    printf("  TLS    WARNING the certificate was NOT verified (the session says "
                           "\"verify\": false): anyone on the path could pose as the server\n");
                }
                break;
            case POSTIE_CHECK_SMTP: {
                char caps[256];
                postie_smtp_caps_format(&r.caps, caps, sizeof(caps));
                printf("  SMTP   ok      ");
                cli_put_escaped_str(stdout, r.caps.server_name);
                printf(" offers ");
                cli_put_escaped_str(stdout, caps);
                putchar('\n');
                break;
            }
            default:
                printf("  login  ok      authenticated as %s\n", s->ep.username);
                break;
            }
            break;
        }
    }
    if (st == POSTIE_OK) {
        if (r.result[POSTIE_CHECK_TLS] == POSTIE_STEP_OK &&
            (!s->ep.verify || r.tls.verify_flags != 0)) {
            printf("result: the session works, but the server's certificate was NOT verified\n");
        } else {
            printf("result: the session works\n");
        }
        return 0;
    }
    for (int step = 0; step < POSTIE_CHECK_COUNT; step++) {
        if (r.result[step] == POSTIE_STEP_FAILED) {
            printf("result: %s failed\n", postie_check_step_name((postie_check_step_t)step));
        }
    }
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}
