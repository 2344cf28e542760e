/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie account test NAME`: DNS, TCP, TLS, capabilities, login and the
 * message count of a mail account, each step reported (the fetch side's
 * postie_mailbox_test_connection); nothing in the mailbox changes.
 */
#include <stdio.h>
#include <string.h>

#include "postie/posix/mailbox_check.h"
#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_account.h"
#include "cli_fetch.h"
#include "cli_oauth.h"
#include "cli_output.h"
#include "cli_registry.h"

int cli_account_test(const cli_account_args_t *args)
{
    static postie_mailbox_check_report_t r;
    static char password[CLI_PASSWORD_CAP];
    const postie_account_t *a;
    postie_mailbox_client_config_t cfg;
    char who[POSTIE_REGISTRY_NAME_MAX + 16];
    postie_status_t st;

    cli_account_no_edit_options(args);
    a = cli_find_account(args->name);
    snprintf(who, sizeof(who), "account test %s", a->name);
    bool pop3 = a->ep.protocol == POSTIE_PROTO_POP3 || a->ep.protocol == POSTIE_PROTO_POP3S;
    printf("account %s: %s://%s:%u, TLS %s%s, login %s%s\n", a->name,
           postie_registry_protocol_name(a->ep.protocol), a->ep.host, a->ep.port,
           pop3 && a->ep.tls == POSTIE_TLS_STARTTLS_REQUIRED        ? "STLS required"
           : pop3 && a->ep.tls == POSTIE_TLS_STARTTLS_OPPORTUNISTIC ? "STLS if offered"
                                                                    : cli_tls_name(a->ep.tls),
           a->ep.verify || a->ep.tls == POSTIE_TLS_NONE ? "" : " (certificate NOT verified)",
           a->ep.username, a->ep.allow_plaintext_auth ? " (plaintext login allowed)" : "");
    cli_print_oauth_state(&a->ep, true, a->name, 13);
    cli_oauth_set_verbose(args->typed[ACC_VERBOSE] != NULL);
    if (cli_account_mailbox_config(who, a, &cfg, password) != POSTIE_OK) {
        printf("result: the account's password is not usable\n");
        return EXIT_USAGE;
    }
    if (args->typed[ACC_VERBOSE] != NULL) {
        cfg.log = cli_log_line;
    }
    st = postie_mailbox_test_connection(&cfg, &r);
    memset(password, 0, sizeof(password));
    for (int step = 0; step < POSTIE_MCHECK_COUNT; step++) {
        const char *name = postie_mailbox_check_step_name((postie_mailbox_check_step_t)step);
        switch (r.result[step]) {
        case POSTIE_STEP_SKIPPED:
            printf("  %-13s skipped\n", name);
            break;
        case POSTIE_STEP_NOT_USED:
            printf("  %-13s none    (not used by this account)\n", name);
            break;
        case POSTIE_STEP_FAILED:
            printf("  %-13s FAILED  %s (%s)", name, postie_status_str(r.status),
                   postie_status_name(r.status));
            if (r.error.subject[0]) {
                printf("; ");
                cli_put_escaped_str(stdout, r.error.subject);
            }
            if (r.error.reply.text[0]) {
                printf("; server said: ");
                cli_put_escaped_str(stdout, r.error.reply.text);
            }
            putchar('\n');
            break;
        case POSTIE_STEP_OK:
            printf("  %-13s ok      ", name);
            switch (step) {
            case POSTIE_MCHECK_DNS:
                printf("%s -> %s (%u ms)\n", a->ep.host, r.addresses, (unsigned)r.dns_ms);
                break;
            case POSTIE_MCHECK_TCP:
                printf("connected to %s port %u in %u ms\n", r.peer, (unsigned)r.port,
                       (unsigned)r.connect_ms);
                break;
            case POSTIE_MCHECK_TLS:
                printf("%s %s; certificate ", r.tls.version, r.tls.cipher);
                cli_put_escaped_str(stdout, r.tls.peer_subject);
                printf(", valid until %s\n", r.tls.peer_not_after);
                if (!a->ep.verify || r.tls.verify_flags != 0) {
                    printf("  %-13s WARNING the certificate was NOT verified (the account says "
                           "\"verify\": false): anyone on the path could pose as the server\n",
                           name);
                }
                break;
            case POSTIE_MCHECK_CAPABILITIES:
                cli_put_escaped_str(stdout, r.capabilities);
                putchar('\n');
                break;
            case POSTIE_MCHECK_LOGIN:
                printf("logged in as %s\n", a->ep.username);
                break;
            default:
                if (a->ep.protocol == POSTIE_PROTO_IMAP || a->ep.protocol == POSTIE_PROTO_IMAPS) {
                    printf("%s: %u messages (UIDVALIDITY %u)\n", a->folder, (unsigned)r.messages,
                           (unsigned)r.uidvalidity);
                } else {
                    printf("%u messages, %llu octets\n", (unsigned)r.messages,
                           (unsigned long long)r.octets);
                }
                break;
            }
            break;
        }
    }
    if (st == POSTIE_OK) {
        printf("result: the account works%s\n",
               r.result[POSTIE_MCHECK_TLS] == POSTIE_STEP_OK &&
                       (!a->ep.verify || r.tls.verify_flags != 0)
                   ? ", but the server's certificate was NOT verified"
               : r.result[POSTIE_MCHECK_TLS] != POSTIE_STEP_OK ? ", but NOT encrypted"
                                                               : "");
        return 0;
    }
    for (int step = 0; step < POSTIE_MCHECK_COUNT; step++) {
        if (r.result[step] == POSTIE_STEP_FAILED) {
            printf("result: %s failed\n",
                   postie_mailbox_check_step_name((postie_mailbox_check_step_t)step));
        }
    }
    return cli_fetch_exit_code(st);
}
