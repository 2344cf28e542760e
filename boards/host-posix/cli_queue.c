/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie queue ...`: list, flush, run, errors, resend, delete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "postie/posix/host.h"

static const char queue_usage[] =
    "usage: postie [--registry FILE] queue [--spool DIR] COMMAND\n"
    "  list                     queued messages: id, session, attempts, next attempt,\n"
    "                           recipients still pending, last error\n"
    "  errors                   the error queue (failed for good): the same columns\n"
    "  flush [--session NAME]   try every queued message now, ignoring backoff\n"
    "  run [--every SECONDS]    send the messages that are due (once, or every SECONDS\n"
    "                           until SIGTERM/SIGINT)\n"
    "  resend ID | --all        put messages from the error queue back, due now\n"
    "  delete ID                remove a message (queued or failed)\n"
    "\n"
    "The spool is --spool DIR, else $POSTIE_SPOOL, else " POSTIE_SPOOL_DEFAULT_DIR ".\n"
    "Limits: $POSTIE_QUEUE_MAX_MESSAGES (default 1000, also the most a run reads),\n"
    "$POSTIE_QUEUE_MAX_BYTES (default 64 MiB), $POSTIE_QUEUE_MAX_AGE seconds before\n"
    "a message still failing is given up (default 432000, 5 days).\n"
    "Exit: 0 done, 1 some message failed for good (or was damaged and set aside),\n"
    "2 usage, 4 some message waits for a retry.\n";

static void queue_usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "postie: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "Try 'postie queue --help'.\n");
    exit(EXIT_USAGE);
}

/* A limit from the environment, or 0 (the built-in default). */
static uint64_t env_limit(const char *name, uint64_t max)
{
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long long n;
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n == 0 || n > max) {
        fprintf(stderr, "postie: %s must be a number from 1 to %llu\n", name,
                (unsigned long long)max);
        exit(EXIT_USAGE);
    }
    return n;
}

void cli_open_queue(const char *spool_dir, postie_spool_t *spool, postie_queue_t *q)
{
    postie_queue_limits_t limits;
    postie_error_t err;
    if (postie_spool_open(spool, spool_dir, &err) != POSTIE_OK) {
        if (err.status == POSTIE_E_FILE && strcmp(err.phase, "spool") != 0) {
            fprintf(stderr, "postie: refusing the queue spool %s: %s\n", err.subject, err.phase);
        } else {
            fprintf(stderr, "postie: cannot open the queue spool %s: %s\n", err.subject,
                    err.status == POSTIE_E_FIELD_TOO_LONG ? "path too long" : strerror(errno));
        }
        exit(EXIT_USAGE);
    }
    memset(&limits, 0, sizeof(limits));
    limits.messages_max =
        (uint32_t)env_limit("POSTIE_QUEUE_MAX_MESSAGES", POSTIE_QUEUE_MESSAGES_MAX);
    limits.bytes_max = env_limit("POSTIE_QUEUE_MAX_BYTES", UINT64_MAX / 4u);
    limits.max_age_s = (uint32_t)env_limit("POSTIE_QUEUE_MAX_AGE", 2592000u);
    postie_queue_init(q, postie_spool_store(spool), &limits);
}

/* ---- progress and trace --------------------------------------------------------- */

typedef struct {
    bool tty;
    struct timespec start;
    struct timespec last_draw;
    postie_queue_id_t watch;
    postie_queue_outcome_t *watched;
    char *watched_error;
    size_t watched_cap;
} progress_t;

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void on_progress(void *ctx, const postie_run_summary_t *sum, postie_queue_id_t id,
                        const postie_queue_outcome_t *out, const char *error)
{
    progress_t *p = ctx;
    char name[POSTIE_QUEUE_ID_TEXT];
    postie_queue_id_format(id, name);
    if (id == p->watch && out != NULL) {
        *p->watched = *out;
        snprintf(p->watched_error, p->watched_cap, "%s", error);
    }
    if (out == NULL && error[0] != '\0' && strcmp(error, "claimed by another sender") != 0) {
        if (p->tty) {
            fputc('\n', stderr);
        }
        fprintf(stderr, "postie: %s: damaged, set aside: %s\n", name, error);
    } else if (out != NULL && out->state != POSTIE_QSTATE_DONE && id != p->watch) {
        if (p->tty) {
            fputs("\r\033[K", stderr);
        }
        fprintf(stderr, "postie: %s: %s: %s\n", name,
                out->state == POSTIE_QSTATE_ERROR ? "failed, moved to the error queue"
                                                  : "will be retried",
                error);
    }
    if (p->tty && sum->total > 0) {
        double dt = seconds_since(&p->start);
        if (seconds_since(&p->last_draw) >= 0.1 || sum->done == sum->total) {
            clock_gettime(CLOCK_MONOTONIC, &p->last_draw);
            fprintf(stderr, "\r\033[Kpostie: %zu/%zu messages, %.1f/s", sum->done, sum->total,
                    dt > 0 ? (double)sum->done / dt : 0.0);
            if (sum->done == sum->total) {
                fputc('\n', stderr);
            }
            fflush(stderr);
        }
    }
}

/* POSTIE_QUEUE_TRACE=FILE: one line per trace point, written straight to
 * the kernel so a line written before a SIGKILL survives it. */
static int trace_fd = -1;

static void on_trace(void *ctx, const char *event, postie_queue_id_t id)
{
    char line[64];
    char name[POSTIE_QUEUE_ID_TEXT];
    int n;
    (void)ctx;
    postie_queue_id_format(id, name);
    n = snprintf(line, sizeof(line), "%s %s\n", event, name);
    if (n > 0 && write(trace_fd, line, (size_t)n) != n) {
        /* a test harness reads this; nothing to do if it is gone */
    }
}

int cli_run_queue(postie_queue_t *q, postie_run_mode_t mode, const char *session,
                  postie_queue_id_t watch, postie_queue_outcome_t *watched, char *watched_error,
                  size_t cap)
{
    postie_run_options_t opt;
    postie_run_summary_t sum;
    progress_t p;
    postie_queue_outcome_t ignored;
    char ignored_error[8];
    const char *trace_path = getenv("POSTIE_QUEUE_TRACE");
    postie_status_t st;

    memset(&opt, 0, sizeof(opt));
    memset(&p, 0, sizeof(p));
    p.tty = isatty(STDERR_FILENO) == 1;
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    p.watch = watch;
    p.watched = watched != NULL ? watched : &ignored;
    p.watched_error = watched_error != NULL ? watched_error : ignored_error;
    p.watched_cap = watched_error != NULL ? cap : sizeof(ignored_error);
    memset(p.watched, 0, sizeof(*p.watched));
    p.watched_error[0] = '\0';
    opt.mode = mode;
    opt.session = session;
    opt.only = watch;
    opt.progress = on_progress;
    opt.progress_ctx = &p;
    if (trace_path != NULL && trace_path[0] != '\0') {
        trace_fd = open(trace_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (trace_fd >= 0) {
            opt.trace = on_trace;
        }
    }
    st = postie_queue_run(q, cli_registry(), &opt, &sum);
    if (trace_fd >= 0) {
        close(trace_fd);
        trace_fd = -1;
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: cannot read the queue: %s\n", postie_status_str(st));
        return EXIT_SESSION;
    }
    if (watch == 0 && (sum.total > 0 || sum.corrupt > 0)) {
        printf("%zu tried: %zu delivered, %zu to retry, %zu failed", sum.total, sum.delivered,
               sum.retry, sum.failed);
        if (sum.busy > 0) {
            printf(", %zu left to another sender", sum.busy);
        }
        if (sum.corrupt > 0) {
            printf(", %zu damaged (set aside)", sum.corrupt);
        }
        putchar('\n');
    }
    if (sum.failed > 0 || sum.corrupt > 0) {
        return EXIT_REFUSED;
    }
    return sum.retry > 0 ? EXIT_TEMP : 0;
}

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

static int cmd_list(postie_queue_t *q, postie_queue_state_t want)
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

/* ---- resend and delete ------------------------------------------------------------ */

static postie_queue_id_t parse_id(const char *text)
{
    postie_queue_id_t id;
    if (!postie_queue_id_parse(text, &id)) {
        queue_usage_error("a message id is 16 hex digits, as `postie queue list` shows", text);
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

static int cmd_resend(postie_queue_t *q, int argc, char **argv)
{
    static postie_queue_entry_t work;
    static postie_queue_id_t ids[POSTIE_QUEUE_MESSAGES_MAX];
    postie_error_t err;
    int64_t now;
    int16_t off;
    postie_status_t st;

    if (argc != 1) {
        queue_usage_error("resend takes one ID or --all", NULL);
    }
    postie_wall_clock(&now, &off);
    if (strcmp(argv[0], "--all") == 0) {
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
    st = postie_queue_resend(q, parse_id(argv[0]), now, &work, &err);
    if (st != POSTIE_OK) {
        return report_id_error("resend", argv[0], st, &err);
    }
    printf("%s back in the queue, due now\n", argv[0]);
    return 0;
}

static int cmd_delete(postie_queue_t *q, int argc, char **argv)
{
    static postie_queue_entry_t work;
    postie_error_t err;
    postie_status_t st;
    if (argc != 1) {
        queue_usage_error("delete takes one ID", NULL);
    }
    st = postie_queue_delete(q, parse_id(argv[0]), &work, &err);
    if (st != POSTIE_OK) {
        return report_id_error("delete", argv[0], st, &err);
    }
    printf("%s deleted\n", argv[0]);
    return 0;
}

/* ---- run --every ------------------------------------------------------------------ */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int cmd_run(postie_queue_t *q, int argc, char **argv)
{
    unsigned long every = 0;
    int rc;
    struct sigaction sa;
    if (argc == 2 && strcmp(argv[0], "--every") == 0) {
        char *end = NULL;
        every = strtoul(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0' || every == 0 || every > 86400) {
            queue_usage_error("--every takes 1..86400 seconds", argv[1]);
        }
    } else if (argc != 0) {
        queue_usage_error("run takes only --every SECONDS", NULL);
    }
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

int cli_queue(int argc, char **argv)
{
    static postie_spool_t spool;
    static postie_queue_t q;
    const char *spool_dir = NULL;
    const char *cmd;
    int rc;

    if (argc >= 2 && strcmp(argv[0], "--spool") == 0) {
        spool_dir = argv[1];
        argc -= 2;
        argv += 2;
    }
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(queue_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_USAGE : 0;
    }
    cmd = argv[0];
    argc--;
    argv++;
    cli_open_queue(spool_dir, &spool, &q);
    if (strcmp(cmd, "list") == 0 && argc == 0) {
        rc = cmd_list(&q, POSTIE_QSTATE_QUEUED);
    } else if (strcmp(cmd, "errors") == 0 && argc == 0) {
        rc = cmd_list(&q, POSTIE_QSTATE_ERROR);
    } else if (strcmp(cmd, "flush") == 0 && argc == 0) {
        rc = cli_run_queue(&q, POSTIE_RUN_FLUSH, NULL, 0, NULL, NULL, 0);
    } else if (strcmp(cmd, "flush") == 0 && argc == 2 && strcmp(argv[0], "--session") == 0) {
        if (postie_registry_session(cli_registry(), argv[1]) == NULL) {
            fprintf(stderr, "postie: no session %s in the registry\n", argv[1]);
            rc = EXIT_USAGE;
        } else {
            rc = cli_run_queue(&q, POSTIE_RUN_FLUSH, argv[1], 0, NULL, NULL, 0);
        }
    } else if (strcmp(cmd, "run") == 0) {
        rc = cmd_run(&q, argc, argv);
    } else if (strcmp(cmd, "resend") == 0) {
        rc = cmd_resend(&q, argc, argv);
    } else if (strcmp(cmd, "delete") == 0) {
        rc = cmd_delete(&q, argc, argv);
    } else {
        queue_usage_error("unknown queue command or arguments", cmd);
        rc = EXIT_USAGE;
    }
    postie_spool_close(&spool);
    return rc;
}
