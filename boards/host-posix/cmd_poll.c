/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie poll`: the archiving service. Every enabled account with a
 * Maildir is fetched on its poll_interval, plus a random jitter so that
 * many appliances (or many accounts) do not hit a server in step. SIGHUP
 * reloads the registry (a registry that does not load is reported and the
 * old one kept); SIGTERM or SIGINT finishes the message in hand and exits.
 * Sleeps are bounded (at most a second at a time) and woken by signals.
 */
#define _GNU_SOURCE /* random, srandom */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postie/posix/host.h"
#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_fetch.h"
#include "cli_oauth.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_registry.h"
#include "cli_syslog.h"

static const char poll_usage[] =
    "usage: postie poll [--once] [--jitter SECONDS] [--verbose] [--no-syslog]\n"
    "                   [--registry FILE]\n"
    "Fetch every enabled account of the registry on its poll_interval (default 1800 s),\n"
    "each run starting up to --jitter SECONDS later at random (default: a tenth of\n"
    "the interval, at most 60 s); the first runs start within the jitter of the start.\n"
    "Accounts without a maildir are skipped (with a warning). A failed run is retried\n"
    "after the interval, or after 60 s when the failure was temporary.\n"
    "Signals: SIGHUP reloads the registry (kept as it was when the new one does not\n"
    "load); SIGTERM and SIGINT finish the message in hand, save the state and exit 0.\n"
    "--once runs each enabled account once, then exits (for a systemd timer or cron):\n"
    "exit 0 when every run succeeded, else the worst of 3 and 4 as for fetch.\n"
    "One line per run on stdout: the time, the account, what was archived; and one\n"
    "line per run to syslog (ident postie-poll, facility mail: account, messages,\n"
    "octets, deleted, outcome) unless --no-syslog.\n"
    "The registry is --registry FILE, else $POSTIE_REGISTRY, else\n"
    "" POSTIE_REGISTRY_DEFAULT_PATH ". A systemd unit ships as\n"
    "boards/host-posix/postie-poll.service (see README, 'The poll service').\n";

enum { P_ONCE = 1, P_JITTER, P_VERBOSE, P_SYSLOG, P_NO_SYSLOG };

static const cli_option_t poll_options[] = {
    {"--once", P_ONCE, false}, {"--jitter", P_JITTER, true},  {"--verbose", P_VERBOSE, false},
    {"-v", P_VERBOSE, false},  {"--syslog", P_SYSLOG, false}, {"--no-syslog", P_NO_SYSLOG, false},
    CLI_OPTIONS_END,
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_requested = 1;
    } else {
        stop_requested = 1;
    }
}

/* One account's schedule, by name (kept across reloads). */
typedef struct {
    char name[POSTIE_REGISTRY_NAME_MAX];
    uint64_t due_ms; /* monotonic */
    bool warned;     /* "no maildir" said once */
} slot_t;

static postie_registry_t registries[2];
static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE];
static slot_t slots[POSTIE_REGISTRY_ACCOUNTS_MAX];
static size_t nslots;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void stamp(FILE *out)
{
    char buf[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(out, "%s ", buf);
}

/* Random milliseconds in [0, max_ms]. */
static uint64_t jitter_ms(uint64_t max_ms)
{
    return max_ms == 0 ? 0 : (uint64_t)random() % (max_ms + 1);
}

static uint64_t account_jitter(const postie_account_t *a, long jitter_s)
{
    uint64_t max;
    if (jitter_s >= 0) {
        max = (uint64_t)jitter_s * 1000u;
    } else {
        max = (uint64_t)a->poll_interval_s * 100u; /* a tenth of the interval */
        if (max > 60000u) {
            max = 60000u;
        }
    }
    return jitter_ms(max);
}

/* Load the registry into registries[which]; problems on stderr. */
static bool load(int which, const char **used)
{
    postie_status_t st = postie_registry_load_file(&registries[which], cli_registry_path(), arena,
                                                   sizeof(arena), used);
    const postie_registry_t *r = &registries[which];
    for (size_t i = 0; i < r->problem_count; i++) {
        stamp(stderr);
        fprintf(stderr, "%s: %s: %s: %s\n", *used, r->problems[i].warning ? "warning" : "error",
                r->problems[i].path, r->problems[i].message);
    }
    if (st != POSTIE_OK) {
        stamp(stderr);
        fprintf(stderr, "postie: poll: the registry %s did not load (%s)\n", *used,
                st == POSTIE_E_FILE ? strerror(errno) : postie_status_str(st));
    }
    return st == POSTIE_OK;
}

/* Rebuild the schedule for reg: accounts kept keep their time, new ones
 * start within their jitter. */
static void reschedule(const postie_registry_t *reg, long jitter_s)
{
    static slot_t old[POSTIE_REGISTRY_ACCOUNTS_MAX];
    size_t nold = nslots;
    uint64_t now = now_ms();
    memcpy(old, slots, sizeof(old));
    nslots = 0;
    for (size_t i = 0; i < reg->account_count && i < POSTIE_REGISTRY_ACCOUNTS_MAX; i++) {
        const postie_account_t *a = &reg->accounts[i];
        slot_t *s = &slots[nslots++];
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", a->name);
        s->due_ms = now + account_jitter(a, jitter_s);
        for (size_t k = 0; k < nold && k < POSTIE_REGISTRY_ACCOUNTS_MAX; k++) {
            if (strcmp(old[k].name, a->name) == 0) {
                s->due_ms = old[k].due_ms;
                s->warned = old[k].warned;
            }
        }
    }
}

static int worse(int a, int b)
{
    return a == EXIT_SESSION || b == EXIT_SESSION ? EXIT_SESSION : a > b ? a : b;
}

/* Fetch one account now. Returns its exit code. */
static int run_account(const postie_account_t *a, bool verbose, uint64_t *next_ms, long jitter_s)
{
    static char password[CLI_PASSWORD_CAP];
    static postie_fetch_account_report_t report;
    char who[POSTIE_REGISTRY_NAME_MAX + 8];
    postie_mailbox_client_config_t cfg;
    postie_status_t st;
    uint64_t retry_s = a->poll_interval_s;

    memset(&report, 0, sizeof(report));
    snprintf(who, sizeof(who), "poll %s", a->name);
    cli_oauth_set_verbose(verbose);
    st = cli_account_mailbox_config(who, a, &cfg, password);
    if (st == POSTIE_OK) {
        if (verbose) {
            cfg.log = cli_log_line;
        }
        st = cli_archive(who, &cfg, a->maildir, a->state_file, !a->delete_after_archive,
                         &stop_requested, false, &report);
    }
    memset(password, 0, sizeof(password));
    /* one line per account run: names and counts only, never a secret */
    cli_syslog_line(
        st == POSTIE_OK                  ? CLI_SYSLOG_INFO
        : postie_status_is_transient(st) ? CLI_SYSLOG_WARNING
                                         : CLI_SYSLOG_ERROR,
        "fetch account=%s messages=%lu octets=%llu deleted=%lu outcome=%s%s%s", a->name,
        (unsigned long)report.run.archived, (unsigned long long)report.run.octets,
        (unsigned long)report.run.deleted,
        st == POSTIE_OK                  ? "ok"
        : postie_status_is_transient(st) ? "deferred"
                                         : "failed",
        st == POSTIE_OK ? "" : " status=", st == POSTIE_OK ? "" : postie_status_name(st));
    if (st != POSTIE_OK && postie_status_is_transient(st) && retry_s > 60u) {
        retry_s = 60u;
    }
    *next_ms = now_ms() + retry_s * 1000u + account_jitter(a, jitter_s);
    fflush(stdout);
    return cli_fetch_exit_code(st);
}

int cmd_poll(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {poll_options, NULL};
    struct sigaction sa;
    const char *typed;
    const char *used = NULL;
    bool once = false;
    bool verbose = false;
    long jitter_s = -1;
    int live = 0;
    int rc = 0;
    cli_args_t args;
    char *v;
    int id;

    cli_syslog_open("postie-poll");
    cli_syslog_enable(true); /* a daemon's default (issue #17) */
    cli_args_init(&args, "poll", poll_usage, tables, argc, argv);
    while ((id = cli_args_next(&args, &v, &typed)) != CLI_ARGS_END) {
        if (id == CLI_ARGS_OPERAND) {
            cli_args_unexpected(&args, v);
        } else if (id == P_ONCE) {
            once = true;
        } else if (id == P_VERBOSE) {
            verbose = true;
        } else if (id == P_SYSLOG || id == P_NO_SYSLOG) {
            cli_syslog_enable(id == P_SYSLOG);
        } else {
            jitter_s = (long)cli_parse_number("poll", "bad --jitter (seconds, 0..3600)", v, 3600);
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    srandom((unsigned)(getpid() ^ (pid_t)time(NULL)));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);

    if (!load(live, &used)) {
        return EXIT_USAGE;
    }
    reschedule(&registries[live], once ? 0 : jitter_s);
    stamp(stdout);
    printf("poll: %zu accounts in %s%s\n", registries[live].account_count, used,
           once ? " (once)" : "");

    while (!stop_requested) {
        const postie_registry_t *reg = &registries[live];
        uint64_t now = now_ms();
        size_t due = nslots;
        uint64_t soonest = UINT64_MAX;
        bool any = false;

        if (reload_requested) {
            reload_requested = 0;
            stamp(stdout);
            printf("poll: SIGHUP: reloading %s\n", used);
            if (load(1 - live, &used)) {
                live = 1 - live;
                reschedule(&registries[live], jitter_s);
                stamp(stdout);
                printf("poll: %zu accounts in %s\n", registries[live].account_count, used);
            } else {
                stamp(stdout);
                printf("poll: kept the registry as it was\n");
            }
            continue;
        }
        for (size_t i = 0; i < nslots; i++) {
            const postie_account_t *a = &reg->accounts[i];
            if (!a->enabled) {
                continue;
            }
            if (a->maildir[0] == '\0') {
                if (!slots[i].warned) {
                    stamp(stderr);
                    fprintf(stderr, "postie: poll: accounts[\"%s\"].maildir is not set: skipped\n",
                            a->name);
                    slots[i].warned = true;
                }
                continue;
            }
            any = true;
            if (slots[i].due_ms < soonest) {
                soonest = slots[i].due_ms;
                due = i;
            }
        }
        if (!any) {
            if (once) {
                break;
            }
            soonest = now + 1000u; /* nothing to do: wait for a signal */
        } else if (soonest <= now) {
            uint64_t next = 0;
            int r = run_account(&reg->accounts[due], verbose, &next, jitter_s);
            rc = rc == 0 ? r : r == 0 ? rc : worse(rc, r);
            slots[due].due_ms = once ? UINT64_MAX : next;
            if (once) {
                bool left = false;
                for (size_t i = 0; i < nslots; i++) {
                    left = left || (slots[i].due_ms != UINT64_MAX && reg->accounts[i].enabled &&
                                    reg->accounts[i].maildir[0] != '\0');
                }
                if (!left) {
                    break;
                }
            }
            continue;
        }
        {
            /* a bounded sleep: at most a second, woken early by a signal */
            uint64_t wait = soonest - now;
            struct timespec ts;
            if (wait > 1000u) {
                wait = 1000u;
            }
            ts.tv_sec = 0;
            ts.tv_nsec = (long)wait * 1000000L;
            if (wait == 1000u) {
                ts.tv_sec = 1;
                ts.tv_nsec = 0;
            }
            (void)nanosleep(&ts, NULL);
        }
    }
    stamp(stdout);
    printf("poll: %s\n", stop_requested ? "stopped (signal)" : "done");
    return once ? rc : 0;
}
