/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie queue list|errors|flush|run|resend|delete`: the outgoing queue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postie/posix/host.h"
#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_options.h"
#include "cli_queue.h"
#include "cli_syslog.h"
#include "cli_registry.h"

static const char queue_usage[] =
    "usage: postie queue COMMAND [--spool DIR] [--registry FILE]\n"
    "  list [--json]            queued messages: id, session, attempts, next attempt,\n"
    "                           recipients still pending, last error\n"
    "  errors [--json]          the error queue (failed for good): the same columns\n"
    "  flush [--session NAME]   try every queued message now, ignoring backoff\n"
    "  run [--every SECONDS]    send the messages that are due (once, or every SECONDS\n"
    "                           until SIGTERM/SIGINT)\n"
    "  resend ID | --all        put messages from the error queue back, due now\n"
    "  delete ID                remove a message (queued or failed)\n"
    "  --json                   with list and errors: every entry (queued, failed,\n"
    "                           damaged) as one JSON array, for monitoring\n"
    "  --syslog, --no-syslog    with run and flush: a line per message delivered,\n"
    "                           deferred or failed to syslog (facility mail); on by\n"
    "                           default for run --every\n"
    "\n"
    "Options may come before or after COMMAND: `postie queue flush --spool DIR`\n"
    "and `postie queue --spool DIR flush` are the same.\n"
    "The spool is --spool DIR, else $POSTIE_SPOOL, else " POSTIE_SPOOL_DEFAULT_DIR ".\n"
    "The registry (the sessions that deliver) is --registry FILE, else\n"
    "$POSTIE_REGISTRY, else " POSTIE_REGISTRY_DEFAULT_PATH ".\n"
    "Limits: $POSTIE_QUEUE_MAX_MESSAGES (default 1000, also the most a run reads),\n"
    "$POSTIE_QUEUE_MAX_BYTES (default 64 MiB), $POSTIE_QUEUE_MAX_AGE seconds before\n"
    "a message still failing is given up (default 432000, 5 days).\n"
    "Exit: 0 done, 1 some message failed for good (or was damaged and set aside),\n"
    "2 usage, 4 some message waits for a retry.\n";

/* ---- list and errors ------------------------------------------------------------- */

static void print_time(int64_t t, int64_t now)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= now) {
        printf("%-19s", "now");
        return;
    }
    localtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    printf("%-19s", buf);
}

static int queue_list(postie_queue_t *q, postie_queue_state_t want)
{
    static postie_queue_id_t ids[POSTIE_QUEUE_MESSAGES_MAX];
    static postie_queue_entry_t e;
    size_t total = 0;
    size_t shown = 0;
    int64_t now;
    int16_t off;
    postie_status_t st = postie_queue_list(q, ids, POSTIE_QUEUE_MESSAGES_MAX, &total);
    int rc = 0;

    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: cannot read the queue: %s\n", postie_status_str(st));
        return EXIT_SESSION;
    }
    postie_wall_clock(&now, &off);
    if (total > POSTIE_QUEUE_MESSAGES_MAX) {
        total = POSTIE_QUEUE_MESSAGES_MAX;
    }
    for (size_t i = 0; i < total; i++) {
        postie_error_t err;
        char name[POSTIE_QUEUE_ID_TEXT];
        bool first = true;
        postie_queue_id_format(ids[i], name);
        st = postie_queue_load(q, ids[i], false, &e, &err);
        if (st == POSTIE_E_QUEUE_CORRUPT) {
            fprintf(stderr, "postie: %s: damaged: %s (a flush sets it aside)\n", name, err.subject);
            rc = EXIT_REFUSED;
            continue;
        }
        if (st != POSTIE_OK) {
            continue;
        }
        postie_queue_release(q, &e);
        if (e.slot.state != want) {
            continue;
        }
        if (shown++ == 0) {
            printf("%-16s  %-16s  %8s  %-19s  %s\n", "ID", "SESSION", "ATTEMPTS",
                   want == POSTIE_QSTATE_QUEUED ? "NEXT ATTEMPT" : "FAILED AT",
                   want == POSTIE_QSTATE_QUEUED ? "PENDING RECIPIENTS / LAST ERROR"
                                                : "FAILED RECIPIENTS / LAST ERROR");
        }
        printf("%-16s  %-16s  %8u  ", name, e.session, (unsigned)e.slot.attempts);
        if (want == POSTIE_QSTATE_QUEUED) {
            print_time(e.slot.next_attempt, now);
        } else {
            print_time(e.slot.last_attempt, INT64_MIN);
        }
        printf("  ");
        for (uint16_t r = 0; r < e.rcpt_count; r++) {
            uint8_t s = e.slot.rcpt[r];
            if ((want == POSTIE_QSTATE_QUEUED && s == POSTIE_QRCPT_PENDING) ||
                (want == POSTIE_QSTATE_ERROR && s == POSTIE_QRCPT_FAILED)) {
                printf("%s%s", first ? "" : ",", e.rcpt[r]);
                first = false;
            }
        }
        printf(" / %s\n", e.slot.last_error[0] != '\0' ? e.slot.last_error : "-");
    }
    if (shown == 0) {
        printf(want == POSTIE_QSTATE_QUEUED ? "the queue is empty\n"
                                            : "the error queue is empty\n");
    }
    return rc;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            printf("\\u%04x", *p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

/* list --json / errors --json: every entry (queued, failed and damaged) as
 * one array, for monitoring; the state field tells them apart. */
static int queue_list_json(postie_queue_t *q)
{
    static postie_queue_id_t ids[POSTIE_QUEUE_MESSAGES_MAX];
    static postie_queue_entry_t e;
    static const char *const rcpt_states[] = {"pending", "delivered", "failed"};
    size_t total = 0;
    bool first = true;
    postie_status_t st = postie_queue_list(q, ids, POSTIE_QUEUE_MESSAGES_MAX, &total);

    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: cannot read the queue: %s\n", postie_status_str(st));
        return EXIT_SESSION;
    }
    if (total > POSTIE_QUEUE_MESSAGES_MAX) {
        total = POSTIE_QUEUE_MESSAGES_MAX;
    }
    putchar('[');
    for (size_t i = 0; i < total; i++) {
        postie_error_t err;
        char name[POSTIE_QUEUE_ID_TEXT];
        postie_queue_id_format(ids[i], name);
        st = postie_queue_load(q, ids[i], false, &e, &err);
        if (st != POSTIE_OK && st != POSTIE_E_QUEUE_CORRUPT) {
            continue; /* gone meanwhile */
        }
        printf("%s\n {\"id\": \"%s\", ", first ? "" : ",", name);
        first = false;
        if (st == POSTIE_E_QUEUE_CORRUPT) {
            printf("\"state\": \"damaged\", \"error\": ");
            json_str(err.subject);
            putchar('}');
            continue;
        }
        postie_queue_release(q, &e);
        printf("\"state\": \"%s\", \"session\": ", e.slot.state == POSTIE_QSTATE_QUEUED  ? "queued"
                                                   : e.slot.state == POSTIE_QSTATE_ERROR ? "error"
                                                   : e.slot.state == POSTIE_QSTATE_DONE  ? "done"
                                                                                         : "other");
        json_str(e.session);
        printf(", \"from\": ");
        json_str(e.from != NULL ? e.from : "");
        printf(", \"size\": %llu, \"created\": %lld, \"attempts\": %u, \"next_attempt\": %lld, "
               "\"last_attempt\": %lld, \"last_status\": \"%s\", \"last_error\": ",
               (unsigned long long)e.body_size, (long long)e.created, (unsigned)e.slot.attempts,
               (long long)e.slot.next_attempt, (long long)e.slot.last_attempt,
               e.slot.last_status != 0 ? postie_status_name((postie_status_t)e.slot.last_status)
                                       : "");
        json_str(e.slot.last_error);
        printf(", \"recipients\": [");
        for (uint16_t r = 0; r < e.rcpt_count; r++) {
            uint8_t rs = e.slot.rcpt[r];
            printf("%s{\"address\": ", r == 0 ? "" : ", ");
            json_str(e.rcpt[r]);
            printf(", \"state\": \"%s\"}", rs < 3 ? rcpt_states[rs] : "unknown");
        }
        printf("]}");
    }
    printf("%s]\n", first ? "" : "\n");
    return 0;
}

/* ---- resend and delete ------------------------------------------------------------ */

static postie_queue_id_t parse_id(const char *text)
{
    postie_queue_id_t id;
    if (!postie_queue_id_parse(text, &id)) {
        cli_usage_error("queue", "a message id is 16 hex digits, as `postie queue list` shows",
                        text);
    }
    return id;
}

static int report_id_error(const char *what, const char *text, postie_status_t st,
                           const postie_error_t *err)
{
    fprintf(stderr, "postie: %s %s: %s", what, text,
            st == POSTIE_E_NOT_FOUND ? "no such message in the queue" : postie_status_str(st));
    if (st != POSTIE_E_NOT_FOUND && err->subject[0] != '\0') {
        fprintf(stderr, " (%s)", err->subject);
    }
    fputc('\n', stderr);
    return st == POSTIE_E_BUSY ? EXIT_TEMP : EXIT_REFUSED;
}

/* resend ID, or every message of the error queue (id_text NULL: --all). */
static int queue_resend(postie_queue_t *q, const char *id_text)
{
    static postie_queue_entry_t work;
    static postie_queue_id_t ids[POSTIE_QUEUE_MESSAGES_MAX];
    postie_error_t err;
    int64_t now;
    int16_t off;
    postie_status_t st;

    postie_wall_clock(&now, &off);
    if (id_text == NULL) {
        size_t total = 0;
        size_t moved = 0;
        int rc = 0;
        st = postie_queue_list(q, ids, POSTIE_QUEUE_MESSAGES_MAX, &total);
        if (st != POSTIE_OK) {
            fprintf(stderr, "postie: cannot read the queue: %s\n", postie_status_str(st));
            return EXIT_SESSION;
        }
        for (size_t i = 0; i < total && i < POSTIE_QUEUE_MESSAGES_MAX; i++) {
            st = postie_queue_resend(q, ids[i], now, &work, &err);
            if (st == POSTIE_OK) {
                moved++;
            } else if (st != POSTIE_E_BAD_STATE && st != POSTIE_E_NOT_FOUND) {
                char name[POSTIE_QUEUE_ID_TEXT];
                postie_queue_id_format(ids[i], name);
                rc = report_id_error("resend", name, st, &err);
            }
        }
        printf("%zu messages back in the queue\n", moved);
        return rc;
    }
    st = postie_queue_resend(q, parse_id(id_text), now, &work, &err);
    if (st != POSTIE_OK) {
        return report_id_error("resend", id_text, st, &err);
    }
    printf("%s back in the queue, due now\n", id_text);
    return 0;
}

static int queue_delete(postie_queue_t *q, const char *id_text)
{
    static postie_queue_entry_t work;
    postie_error_t err;
    postie_status_t st = postie_queue_delete(q, parse_id(id_text), &work, &err);
    if (st != POSTIE_OK) {
        return report_id_error("delete", id_text, st, &err);
    }
    printf("%s deleted\n", id_text);
    return 0;
}

/* ---- run --every ------------------------------------------------------------------ */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* run: once (every 0), or every so many seconds until SIGTERM or SIGINT. */
static int queue_run(postie_queue_t *q, unsigned long every)
{
    int rc;
    struct sigaction sa;
    if (every == 0) {
        return cli_run_queue(q, POSTIE_RUN_DUE, NULL, 0, NULL, NULL, 0);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    do {
        struct timespec pause = {(time_t)every, 0};
        rc = cli_run_queue(q, POSTIE_RUN_DUE, NULL, 0, NULL, NULL, 0);
        fflush(stdout);
        while (!stop_requested && nanosleep(&pause, &pause) != 0 && errno == EINTR) {
        }
    } while (!stop_requested);
    return rc;
}

/* ---- the command ------------------------------------------------------------------ */

enum { Q_SPOOL = 1, Q_SESSION, Q_EVERY, Q_ALL, Q_JSON, Q_SYSLOG, Q_NO_SYSLOG };

static const cli_option_t queue_options[] = {
    {"--spool", Q_SPOOL, true},     /* every subcommand */
    {"--session", Q_SESSION, true}, /* flush */
    {"--every", Q_EVERY, true},     /* run */
    {"--all", Q_ALL, false},        /* resend */
    {"--json", Q_JSON, false},      /* list, errors */
    {"--syslog", Q_SYSLOG, false},  /* flush, run */
    {"--no-syslog", Q_NO_SYSLOG, false},
    CLI_OPTIONS_END,
};

/* The subcommands: the option each may take besides --spool, and whether
 * it takes an ID. */
static const struct {
    const char *name;
    int option; /* 0: none */
    bool takes_id;
} subcommands[] = {
    {"list", 0, false},      {"errors", 0, false},    {"flush", Q_SESSION, false},
    {"run", Q_EVERY, false}, {"resend", Q_ALL, true}, {"delete", 0, true},
};

int cmd_queue(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {queue_options, NULL};
    static postie_spool_t spool;
    static postie_queue_t q;
    const char *seen[Q_NO_SYSLOG + 1] = {NULL}; /* each option as typed, when given */
    const char *spool_dir = NULL;
    const char *session = NULL;
    const char *every_text = NULL;
    const char *cmd = NULL;
    const char *id_text = NULL;
    unsigned long every = 0;
    size_t sub = sizeof(subcommands) / sizeof(subcommands[0]);
    cli_args_t args;
    const char *name;
    char *v;
    int id;
    int rc;

    cli_args_init(&args, "queue", queue_usage, tables, argc, argv);
    while ((id = cli_args_next(&args, &v, &name)) != CLI_ARGS_END) {
        if (id == CLI_ARGS_OPERAND) {
            if (cmd == NULL) {
                cmd = v;
            } else if (id_text == NULL) {
                id_text = v;
            } else {
                cli_args_unexpected(&args, v);
            }
            continue;
        }
        seen[id] = name;
        if (id == Q_SPOOL) {
            spool_dir = v;
        } else if (id == Q_SESSION) {
            session = v;
        } else if (id == Q_EVERY) {
            every_text = v;
        }
    }
    if (cmd == NULL) {
        fputs(queue_usage, stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(cmd, subcommands[i].name) == 0) {
            sub = i;
        }
    }
    if (sub == sizeof(subcommands) / sizeof(subcommands[0])) {
        cli_usage_error("queue", "unknown queue command", cmd);
    }
    for (int opt = Q_SESSION; opt <= Q_ALL; opt++) {
        if (seen[opt] != NULL && opt != subcommands[sub].option) {
            fprintf(stderr, "postie: queue %s: unknown option %s\n", cmd, seen[opt]);
            fprintf(stderr, "Try 'postie queue --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (seen[Q_JSON] != NULL && strcmp(cmd, "list") != 0 && strcmp(cmd, "errors") != 0) {
        cli_usage_error("queue", "--json goes with list and errors", NULL);
    }
    if ((seen[Q_SYSLOG] != NULL || seen[Q_NO_SYSLOG] != NULL) && strcmp(cmd, "run") != 0 &&
        strcmp(cmd, "flush") != 0) {
        cli_usage_error("queue", "--syslog and --no-syslog go with run and flush", NULL);
    }
    /* syslog: on by default for the daemon (run --every), else on request */
    cli_syslog_open("postie");
    cli_syslog_enable((every_text != NULL || seen[Q_SYSLOG] != NULL) && seen[Q_NO_SYSLOG] == NULL);
    if (id_text != NULL && !subcommands[sub].takes_id) {
        fprintf(stderr, "postie: queue %s: unexpected argument '%s'\n", cmd, id_text);
        fprintf(stderr, "Try 'postie queue --help'.\n");
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "resend") == 0 && (id_text == NULL) == (seen[Q_ALL] == NULL)) {
        cli_usage_error("queue", "resend takes one ID or --all", NULL);
    }
    if (strcmp(cmd, "delete") == 0 && id_text == NULL) {
        cli_usage_error("queue", "delete takes one ID", NULL);
    }
    if (id_text != NULL) {
        (void)parse_id(id_text); /* a bad ID exits 2 before the spool is opened */
    }
    if (every_text != NULL) {
        char *end = NULL;
        every = strtoul(every_text, &end, 10);
        if (end == every_text || *end != '\0' || every == 0 || every > 86400) {
            cli_usage_error("queue", "--every takes 1..86400 seconds", every_text);
        }
    }

    cli_open_queue(spool_dir, &spool, &q);
    if (seen[Q_JSON] != NULL) {
        rc = queue_list_json(&q);
    } else if (strcmp(cmd, "list") == 0) {
        rc = queue_list(&q, POSTIE_QSTATE_QUEUED);
    } else if (strcmp(cmd, "errors") == 0) {
        rc = queue_list(&q, POSTIE_QSTATE_ERROR);
    } else if (strcmp(cmd, "flush") == 0) {
        if (session != NULL && postie_registry_session(cli_registry(), session) == NULL) {
            fprintf(stderr, "postie: no session %s in the registry\n", session);
            rc = EXIT_USAGE;
        } else {
            rc = cli_run_queue(&q, POSTIE_RUN_FLUSH, session, 0, NULL, NULL, 0);
        }
    } else if (strcmp(cmd, "run") == 0) {
        rc = queue_run(&q, every);
    } else if (strcmp(cmd, "resend") == 0) {
        rc = queue_resend(&q, id_text);
    } else {
        rc = queue_delete(&q, id_text);
    }
    postie_spool_close(&spool);
    return rc;
}
