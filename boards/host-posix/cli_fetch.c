/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by fetch, poll and account test (see cli_fetch.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_fetch.h"
#include "cli_oauth.h"
#include "cli_output.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

postie_status_t cli_account_mailbox_config(const char *who, const postie_account_t *a,
                                           postie_mailbox_client_config_t *cfg, char *password)
{
    char where[POSTIE_REGISTRY_TEXT_MAX + 32];
    postie_status_t st;
    postie_mailbox_client_config_defaults(cfg);
    st = postie_account_client_config(a, cfg, password, CLI_PASSWORD_CAP);
    if (st == POSTIE_OK && a->ep.auth == POSTIE_AUTH_OAUTH2) {
        /* the built-in token provider, from the account's oauth2 object */
        postie_error_t why;
        cfg->token = cli_oauth_provider(&a->ep, true, a->name, &why);
        if (cfg->token == NULL) {
            fprintf(stderr, "postie: %s: accounts[\"%s\"].oauth2: %s\n", who, a->name, why.subject);
            return why.status;
        }
    }
    if (st == POSTIE_OK) {
        return st;
    }
    postie_secret_describe(&a->ep.password, where, sizeof(where));
    {
        const char *why = NULL;
        char scratch[CLI_PASSWORD_CAP];
        (void)postie_secret_read(&a->ep.password, scratch, sizeof(scratch), &why);
        memset(scratch, 0, sizeof(scratch));
        fprintf(stderr, "postie: %s: accounts[\"%s\"].password (%s): %s\n", who, a->name, where,
                why != NULL ? why : postie_status_str(st));
    }
    return st;
}

int cli_fetch_exit_code(postie_status_t st)
{
    if (st == POSTIE_OK) {
        return 0;
    }
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}

int cli_report_fetch_failure(const char *who, postie_status_t st, const postie_error_t *e)
{
    if (e != NULL && e->status != POSTIE_OK) {
        st = e->status;
    }
    fprintf(stderr, "postie: %s: ", who);
    if (e != NULL && e->phase != NULL && e->phase[0] != '\0') {
        fprintf(stderr, "%s: ", e->phase);
    }
    fprintf(stderr, "%s (%s)", postie_status_str(st), postie_status_name(st));
    if (e != NULL && e->subject[0] != '\0') {
        fprintf(stderr, "; ");
        cli_put_escaped_str(stderr, e->subject);
    }
    if (e != NULL && e->reply.text[0] != '\0') {
        fprintf(stderr, "; server said: ");
        cli_put_escaped_str(stderr, e->reply.text);
    }
    fputc('\n', stderr);
    return cli_fetch_exit_code(st);
}

void cli_progress_init(cli_progress_t *p, const char *who)
{
    memset(p, 0, sizeof(*p));
    p->who = who;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->start_ms = now_ms();
}

static void human_octets(uint64_t n, char *out, size_t cap)
{
    if (n < 1024) {
        snprintf(out, cap, "%llu octets", (unsigned long long)n);
    } else if (n < 1024u * 1024u) {
        snprintf(out, cap, "%.1f KiB", (double)n / 1024.0);
    } else {
        snprintf(out, cap, "%.1f MiB", (double)n / (1024.0 * 1024.0));
    }
}

void cli_progress_event(void *ctx, postie_fetch_msg_event_t what, const postie_mail_item_t *item,
                        const postie_fetch_report_t *sofar)
{
    cli_progress_t *p = ctx;
    uint64_t now;
    double s;
    char octets[32];
    (void)item;
    if (!p->tty || what != POSTIE_FETCH_MSG_ARCHIVED) {
        return;
    }
    now = now_ms();
    if (now - p->last_ms < 100 && p->last_ms != 0) {
        return; /* at most ten redraws a second */
    }
    p->last_ms = now;
    s = (double)(now - p->start_ms) / 1000.0;
    human_octets(sofar->octets, octets, sizeof(octets));
    fprintf(stderr, "\r%s: %u messages, %s, %.1f messages/s, %.2f MiB/s   ", p->who,
            (unsigned)sofar->archived, octets, s > 0 ? sofar->archived / s : 0.0,
            s > 0 ? (double)sofar->octets / (1024.0 * 1024.0) / s : 0.0);
    fflush(stderr);
}

void cli_progress_done(cli_progress_t *p)
{
    if (p->tty && p->last_ms != 0) {
        fputc('\n', stderr);
    }
}

void cli_print_fetch_summary(FILE *out, const char *who, const postie_fetch_account_report_t *r,
                             bool keep)
{
    const postie_fetch_report_t *run = &r->run;
    double s = (double)r->elapsed_ms / 1000.0;
    char octets[32];
    human_octets(run->octets, octets, sizeof(octets));
    fprintf(out, "%s: %u archived (%s)", who, (unsigned)run->archived, octets);
    if (keep) {
        fprintf(out, ", kept on the server");
    } else {
        fprintf(out, ", %u deleted", (unsigned)run->deleted);
    }
    if (run->already > 0) {
        fprintf(out, ", %u archived before", (unsigned)run->already);
    }
    if (run->too_large > 0) {
        fprintf(out, ", %u too large (left on the server)", (unsigned)run->too_large);
    }
    fprintf(out, "; %u on the server at the start; %.2f s", (unsigned)r->messages, s);
    if (s > 0 && run->archived > 0) {
        fprintf(out, " (%.1f messages/s, %.2f MiB/s)", run->archived / s,
                (double)run->octets / (1024.0 * 1024.0) / s);
    }
    fprintf(out, "%s\n", r->secure ? "" : " [NOT encrypted]");
    if (run->uidvalidity_changed) {
        fprintf(out,
                "%s: the folder's UIDVALIDITY changed from %u to %u: the old state was set aside "
                "and the folder archived as new\n",
                who, (unsigned)run->old_uidvalidity, (unsigned)run->uidvalidity);
    }
    if (run->stopped) {
        fprintf(out, "%s: stopped on request after the message in hand\n", who);
    }
}

/* mkdir -p, mode 0700 for what it makes. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            buf[i] = c;
        }
    }
    return 0;
}

postie_status_t cli_archive(const char *who, const postie_mailbox_client_config_t *cfg,
                            const char *maildir, const char *state_file, bool keep,
                            volatile sig_atomic_t *stop, bool show_progress,
                            postie_fetch_account_report_t *report)
{
    postie_fetch_account_options_t opt;
    cli_progress_t progress;
    postie_status_t st;

    memset(report, 0, sizeof(*report));
    /* the default state file lives in the Maildir: make it before the state is locked */
    if (make_dirs(maildir) != 0) {
        fprintf(stderr, "postie: %s: cannot create the Maildir %s: %s\n", who, maildir,
                strerror(errno));
        report->run.status = POSTIE_E_ARCHIVE_FAILED;
        return POSTIE_E_ARCHIVE_FAILED;
    }
    postie_fetch_account_options_defaults(&opt);
    opt.maildir = maildir;
    opt.state_path = state_file;
    opt.delete_after_archive = !keep;
    cli_progress_init(&progress, who);
    if (show_progress) {
        opt.progress = cli_progress_event;
        opt.progress_ctx = &progress;
    }
    opt.stop = stop;
    st = postie_fetch_account(cfg, &opt, report);
    cli_progress_done(&progress);
    if (st == POSTIE_E_BUSY) {
        fprintf(stderr,
                "postie: %s: another fetch of this account is running (its state file %s is "
                "locked); nothing done\n",
                who, state_file);
        return st;
    }
    if (report->run.archived > 0 || report->run.deleted > 0 || st == POSTIE_OK) {
        cli_print_fetch_summary(stdout, who, report, keep);
    }
    if (st != POSTIE_OK) {
        (void)cli_report_fetch_failure(who, st, &report->run.error);
    }
    fflush(stdout);
    return st;
}
