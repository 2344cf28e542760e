/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie fetch NAME`: archive a registry account now.
 * `postie fetch --protocol pop3|imap --host ... --list | --message N --out
 * FILE | --maildir DIR`: the same for a server given on the command line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/posix/fetch_account.h"
#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_fetch.h"
#include "cli_oauth.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_registry.h"

static const char fetch_usage[] =
    "usage: postie fetch NAME [--keep] [--verbose] [--registry FILE]\n"
    "       postie fetch SERVER OPTIONS (--list | --message N --out FILE |\n"
    "                                    --maildir DIR [--keep] [--state-file FILE])\n"
    "\n"
    "With NAME: archive the registry account NAME now (enabled or not) into its\n"
    "Maildir, recording what was archived in its state file, and delete each\n"
    "archived message on the server unless the account keeps them (or --keep is\n"
    "given). On a terminal the progress (messages, octets, rate) is shown on stderr;\n"
    "a summary goes to stdout. SIGINT/SIGTERM stop after the message in hand.\n"
    "\n"
    "SERVER OPTIONS (a server not in the registry):\n"
    "  --protocol pop3|imap   --host NAME   --port N (default 110/995/143/993)\n"
    "  --connect-to ADDR      connect there instead; the certificate is checked for --host\n"
    "  --tls starttls|starttls-optional|none|implicit   (default starttls: STLS or\n"
    "                         STARTTLS required)\n"
    "  --ca-file FILE   --timeout SECONDS (connect and each reply)\n"
    "  --user NAME  --password-env VAR | --password-file FILE\n"
    "  --allow-plaintext-auth (log in without TLS)   --apop (POP3)   --folder NAME (IMAP)\n"
    "  --verbose              the dialogue on stderr, secrets redacted\n"
    "ACTIONS (one):\n"
    "  --list                 one line per message: the POP3 number or the IMAP UID,\n"
    "                         then its size in octets\n"
    "  --message N --out FILE message N (POP3 number, IMAP UID) exactly as the server\n"
    "                         holds it, into FILE ('-': standard output)\n"
    "  --maildir DIR          archive every message into the Maildir DIR (created when\n"
    "                         missing) and delete it on the server unless --keep; what\n"
    "                         was archived is kept in --state-file FILE (default\n"
    "                         DIR/" POSTIE_ACCOUNT_STATE_FILE_DEFAULT
    "), so a second run archives nothing twice\n"
    "--list and --message never change the mailbox.\n"
    "Exit: 0 ok, 2 usage, 3 the session failed, 4 temporary failure (worth a retry).\n";

enum {
    F_PROTOCOL = 1,
    F_HOST,
    F_PORT,
    F_CONNECT_TO,
    F_TLS,
    F_CA_FILE,
    F_TIMEOUT,
    F_USER,
    F_PASSWORD_ENV,
    F_PASSWORD_FILE,
    F_PASSWORD,
    F_ALLOW_PLAINTEXT_AUTH,
    F_APOP,
    F_FOLDER,
    F_VERBOSE,
    F_LIST,
    F_MESSAGE,
    F_OUT,
    F_MAILDIR,
    F_STATE_FILE,
    F_KEEP,
    F_COUNT
};

static const cli_option_t fetch_options[] = {
    {"--protocol", F_PROTOCOL, true},
    {"--host", F_HOST, true},
    {"--port", F_PORT, true},
    {"--connect-to", F_CONNECT_TO, true},
    {"--tls", F_TLS, true},
    {"--ca-file", F_CA_FILE, true},
    {"--timeout", F_TIMEOUT, true},
    {"--user", F_USER, true},
    {"--password-env", F_PASSWORD_ENV, true},
    {"--password-file", F_PASSWORD_FILE, true},
    {"--password", F_PASSWORD, true},
    {"--allow-plaintext-auth", F_ALLOW_PLAINTEXT_AUTH, false},
    {"--apop", F_APOP, false},
    {"--folder", F_FOLDER, true},
    {"--verbose", F_VERBOSE, false},
    {"-v", F_VERBOSE, false},
    {"--list", F_LIST, false},
    {"--message", F_MESSAGE, true},
    {"--out", F_OUT, true},
    {"--maildir", F_MAILDIR, true},
    {"--state-file", F_STATE_FILE, true},
    {"--keep", F_KEEP, false},
    CLI_OPTIONS_END,
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
}

/* ---- --list ------------------------------------------------------------------------ */

typedef struct {
    uint32_t last_id;
    bool any;
} list_ctx_t;

static void print_item(void *ctx, const postie_mail_item_t *item)
{
    list_ctx_t *l = ctx;
    if (l->any && item->id == l->last_id) {
        return; /* POP3: LIST and UIDL may report one message twice */
    }
    l->any = true;
    l->last_id = item->id;
    printf("%lu %llu\n", (unsigned long)item->id, (unsigned long long)item->size);
}

/* ---- the two forms ------------------------------------------------------------------ */

static int run_archive(const char *who, const postie_mailbox_client_config_t *cfg,
                       const char *maildir, const char *state_file, bool keep)
{
    static postie_fetch_account_report_t report;
    catch_stop_signals();
    return cli_fetch_exit_code(
        cli_archive(who, cfg, maildir, state_file, keep, &stop_requested, true, &report));
}

static int fetch_account(const char *name, bool keep, bool verbose)
{
    static char password[CLI_PASSWORD_CAP];
    static char who[POSTIE_REGISTRY_NAME_MAX + 8];
    const postie_account_t *a = cli_find_account(name);
    postie_mailbox_client_config_t cfg;
    int rc;

    snprintf(who, sizeof(who), "fetch %s", a->name);
    if (a->maildir[0] == '\0') {
        fprintf(stderr,
                "postie: %s: accounts[\"%s\"].maildir is not set: nowhere to archive (postie "
                "account edit %s --maildir DIR)\n",
                who, a->name, a->name);
        return EXIT_USAGE;
    }
    cli_oauth_set_verbose(verbose);
    if (cli_account_mailbox_config(who, a, &cfg, password) != POSTIE_OK) {
        return EXIT_USAGE;
    }
    if (verbose) {
        cfg.log = cli_log_line;
    }
    rc = run_archive(who, &cfg, a->maildir, a->state_file, keep || !a->delete_after_archive);
    memset(password, 0, sizeof(password));
    return rc;
}

/* The password of an ad-hoc server from --password-env or --password-file. */
static void adhoc_password(const char *env, const char *file, char *out)
{
    postie_secret_t s;
    const char *why = NULL;
    memset(&s, 0, sizeof(s));
    s.kind = env != NULL ? POSTIE_SECRET_ENV : POSTIE_SECRET_FILE;
    snprintf(s.value, sizeof(s.value), "%s", env != NULL ? env : file);
    if (postie_secret_read(&s, out, CLI_PASSWORD_CAP, &why) != POSTIE_OK) {
        fprintf(stderr, "postie: fetch: %s %s: %s\n",
                env != NULL ? "--password-env" : "--password-file", s.value,
                why != NULL ? why : "unusable");
        exit(EXIT_USAGE);
    }
    if (file != NULL && postie_secret_exposed(&s)) {
        fprintf(stderr, "postie: warning: --password-file %s: %s\n", file,
                POSTIE_SECRET_EXPOSED_WARNING);
    }
}

int cmd_fetch(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {fetch_options, NULL};
    static char password[CLI_PASSWORD_CAP];
    static char state_buf[POSTIE_REGISTRY_TEXT_MAX * 2];
    const char *v_[F_COUNT] = {NULL};
    const char *name = NULL;
    const char *typed;
    postie_mailbox_client_config_t cfg;
    postie_error_t err;
    cli_args_t args;
    char *v;
    int id;
    int actions;
    postie_status_t st;

    cli_args_init(&args, "fetch", fetch_usage, tables, argc, argv);
    while ((id = cli_args_next(&args, &v, &typed)) != CLI_ARGS_END) {
        if (id == CLI_ARGS_OPERAND) {
            if (name != NULL) {
                cli_args_unexpected(&args, v);
            }
            name = v;
            continue;
        }
        if (id == F_PASSWORD) {
            cli_usage_error("fetch",
                            "passwords are not taken from the command line; use --password-env "
                            "VAR or --password-file FILE",
                            NULL);
        }
        v_[id] = v != NULL ? v : "";
    }
    if (name != NULL) {
        for (int o = 1; o < F_COUNT; o++) {
            if (v_[o] != NULL && o != F_KEEP && o != F_VERBOSE) {
                fprintf(stderr, "postie: fetch NAME takes --keep and --verbose only; the server "
                                "options are for a server not in the registry\n");
                fprintf(stderr, "Try 'postie fetch --help'.\n");
                return EXIT_USAGE;
            }
        }
        return fetch_account(name, v_[F_KEEP] != NULL, v_[F_VERBOSE] != NULL);
    }

    /* a server on the command line */
    if (v_[F_PROTOCOL] == NULL || v_[F_HOST] == NULL) {
        cli_usage_error("fetch", "give NAME (an account), or --protocol and --host", NULL);
    }
    actions = (v_[F_LIST] != NULL) + (v_[F_MESSAGE] != NULL) + (v_[F_MAILDIR] != NULL);
    if (actions != 1) {
        cli_usage_error("fetch", "give one of --list, --message N --out FILE and --maildir DIR",
                        NULL);
    }
    if ((v_[F_MESSAGE] != NULL) != (v_[F_OUT] != NULL)) {
        cli_usage_error("fetch", "--message N goes with --out FILE", NULL);
    }
    if ((v_[F_KEEP] != NULL || v_[F_STATE_FILE] != NULL) && v_[F_MAILDIR] == NULL) {
        cli_usage_error("fetch", "--keep and --state-file go with --maildir", NULL);
    }
    postie_mailbox_client_config_defaults(&cfg);
    if (strcmp(v_[F_PROTOCOL], "pop3") == 0 || strcmp(v_[F_PROTOCOL], "pop3s") == 0) {
        cfg.protocol = POSTIE_FETCH_POP3;
    } else if (strcmp(v_[F_PROTOCOL], "imap") == 0 || strcmp(v_[F_PROTOCOL], "imaps") == 0) {
        cfg.protocol = POSTIE_FETCH_IMAP;
    } else {
        cli_bad_value("fetch", "--protocol", v_[F_PROTOCOL], "must be pop3 or imap");
    }
    if (v_[F_PROTOCOL][4] == 's' || v_[F_PROTOCOL][3] == 's') {
        cfg.tls_mode = POSTIE_TLS_IMPLICIT; /* pop3s, imaps: shorthand for --tls implicit */
    }
    if (v_[F_HOST][0] == '\0') {
        cli_bad_value("fetch", "--host", v_[F_HOST], "must not be empty");
    }
    cfg.host = v_[F_HOST];
    cfg.connect_to = v_[F_CONNECT_TO];
    if (v_[F_PORT] != NULL) {
        cfg.port = (uint16_t)cli_parse_number("fetch", "bad --port", v_[F_PORT], 65535);
        if (cfg.port == 0) {
            cli_usage_error("fetch", "bad --port", v_[F_PORT]);
        }
    }
    if (v_[F_TLS] != NULL) {
        if (strcmp(v_[F_TLS], "none") == 0) {
            cfg.tls_mode = POSTIE_TLS_NONE;
        } else if (strcmp(v_[F_TLS], "starttls") == 0) {
            cfg.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
        } else if (strcmp(v_[F_TLS], "starttls-optional") == 0) {
            cfg.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
        } else if (strcmp(v_[F_TLS], "implicit") == 0) {
            cfg.tls_mode = POSTIE_TLS_IMPLICIT;
        } else {
            cli_usage_error("fetch", "--tls must be none, starttls, starttls-optional or implicit",
                            v_[F_TLS]);
        }
    }
    cfg.tls.ca_file = v_[F_CA_FILE];
    if (v_[F_TIMEOUT] != NULL) {
        unsigned long t =
            cli_parse_number("fetch", "bad --timeout (seconds, 1..86400)", v_[F_TIMEOUT], 86400);
        if (t == 0) {
            cli_usage_error("fetch", "bad --timeout (seconds, 1..86400)", v_[F_TIMEOUT]);
        }
        cfg.connect_timeout_ms = cfg.reply_timeout_ms = (uint32_t)(t * 1000u);
    }
    if (v_[F_USER] == NULL) {
        cli_usage_error("fetch", "--user is required (mailboxes always log in)", NULL);
    }
    if (v_[F_USER][0] == '\0' || strlen(v_[F_USER]) > POSTIE_AUTH_FIELD_MAX) {
        cli_bad_value("fetch", "--user", v_[F_USER], "must be 1..255 octets");
    }
    if ((v_[F_PASSWORD_ENV] != NULL) == (v_[F_PASSWORD_FILE] != NULL)) {
        cli_usage_error("fetch", "give one of --password-env VAR and --password-file FILE", NULL);
    }
    adhoc_password(v_[F_PASSWORD_ENV], v_[F_PASSWORD_FILE], password);
    cfg.user = v_[F_USER];
    cfg.password = password;
    cfg.allow_plaintext_auth = v_[F_ALLOW_PLAINTEXT_AUTH] != NULL;
    cfg.use_apop = v_[F_APOP] != NULL;
    cfg.folder = v_[F_FOLDER];
    if (v_[F_VERBOSE] != NULL) {
        cfg.log = cli_log_line;
    }
    if (v_[F_APOP] != NULL && cfg.protocol != POSTIE_FETCH_POP3) {
        cli_usage_error("fetch", "--apop is for POP3", NULL);
    }
    if (v_[F_FOLDER] != NULL && cfg.protocol != POSTIE_FETCH_IMAP) {
        cli_usage_error("fetch", "--folder is for IMAP (POP3 has one mailbox)", NULL);
    }

    memset(&err, 0, sizeof(err));
    if (v_[F_LIST] != NULL) {
        list_ctx_t l = {0, false};
        st = postie_fetch_list(&cfg, print_item, &l, NULL, &err);
        memset(password, 0, sizeof(password));
        return st == POSTIE_OK ? 0 : cli_report_fetch_failure("fetch --list", st, &err);
    }
    if (v_[F_MESSAGE] != NULL) {
        unsigned long n = cli_parse_number("fetch", "bad --message (a POP3 number or an IMAP UID)",
                                           v_[F_MESSAGE], 0xFFFFFFFFul);
        uint64_t octets = 0;
        if (n == 0) {
            cli_usage_error("fetch", "bad --message (a POP3 number or an IMAP UID)", v_[F_MESSAGE]);
        }
        if (v_[F_OUT][0] == '\0') {
            cli_bad_value("fetch", "--out", v_[F_OUT], "must not be empty");
        }
        st = postie_fetch_message_to_file(&cfg, (uint32_t)n, v_[F_OUT], 0, &octets, &err);
        memset(password, 0, sizeof(password));
        if (st != POSTIE_OK) {
            return cli_report_fetch_failure("fetch --message", st, &err);
        }
        if (strcmp(v_[F_OUT], "-") != 0) {
            printf("message %lu: %llu octets written to %s\n", n, (unsigned long long)octets,
                   v_[F_OUT]);
        }
        return 0;
    }
    if (v_[F_MAILDIR][0] == '\0') {
        cli_bad_value("fetch", "--maildir", v_[F_MAILDIR], "must not be empty");
    }
    if (v_[F_STATE_FILE] == NULL) {
        size_t n = strlen(v_[F_MAILDIR]);
        snprintf(state_buf, sizeof(state_buf), "%s%s%s", v_[F_MAILDIR],
                 n > 0 && v_[F_MAILDIR][n - 1] == '/' ? "" : "/",
                 POSTIE_ACCOUNT_STATE_FILE_DEFAULT);
    }
    {
        int rc = run_archive("fetch", &cfg, v_[F_MAILDIR],
                             v_[F_STATE_FILE] != NULL ? v_[F_STATE_FILE] : state_buf,
                             v_[F_KEEP] != NULL);
        memset(password, 0, sizeof(password));
        return rc;
    }
}
