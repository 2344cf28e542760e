/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening the spool and running the queue (see cli_queue.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_syslog.h"
#include "cli_queue.h"
#include "cli_registry.h"

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
    cli_queue_limits(&limits);
    postie_queue_init(q, postie_spool_store(spool), &limits);
}

void cli_queue_limits(postie_queue_limits_t *limits)
{
    memset(limits, 0, sizeof(*limits));
    limits->messages_max =
        (uint32_t)env_limit("POSTIE_QUEUE_MAX_MESSAGES", POSTIE_QUEUE_MESSAGES_MAX);
    limits->bytes_max = env_limit("POSTIE_QUEUE_MAX_BYTES", UINT64_MAX / 4u);
    limits->max_age_s = (uint32_t)env_limit("POSTIE_QUEUE_MAX_AGE", 2592000u);
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
    opt.report = cli_syslog_enabled() ? cli_syslog_run_report : NULL;
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
