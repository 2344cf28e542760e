/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetching for hosts: the fetch run (core/fetch/fetch.c) over the blocking
 * mailbox client, the Maildir sink and the locked state file. See
 * postie/posix/fetch_account.h.
 */
#include "postie/posix/fetch_account.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postie/common/clock.h"
#include "postie/common/text.h"
#include "postie/posix/fetch_state_file.h"
#include "postie/posix/maildir.h"

/* Sessions one call may open while the run asks for another (a POP3 state
 * full of this session's deletes). */
#define AGAIN_MAX 1000

void postie_fetch_account_options_defaults(postie_fetch_account_options_t *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->delete_after_archive = true;
}

static uint32_t ms_since(const struct timespec *t0)
{
    struct timespec t1;
    long long ms;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (long long)(t1.tv_sec - t0->tv_sec) * 1000LL + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
    return ms > 0 ? (uint32_t)ms : 0;
}

static void set_error(postie_error_t *e, postie_status_t st, const char *phase, const char *subject)
{
    postie_error_clear(e);
    e->status = st;
    e->phase = phase;
    if (subject != NULL) {
        postie_text_copy_printable(e->subject, sizeof(e->subject), subject, strlen(subject));
    }
}

/* Everything one call needs, on the heap (about 90 KiB). */
typedef struct {
    postie_mailbox_client_t client;
    postie_fetch_t run;
    postie_maildir_t maildir;
    postie_state_file_t state;
} job_t;

static bool stop_flag(void *ctx)
{
    volatile sig_atomic_t *stop = ctx;
    return *stop != 0;
}

static void on_event(void *ctx, const postie_engine_event_t *ev)
{
    postie_fetch_event(ctx, ev->type, ev->status, postie_clock_ms());
}

/* One session: open, run until the run is done, close. Returns false when
 * the session could not be opened (report says why). */
static bool one_session(job_t *job, const postie_mailbox_client_config_t *cfg,
                        const postie_fetch_options_t *fo, const postie_fetch_store_t *store,
                        const postie_archive_t *sink, postie_fetch_account_report_t *report)
{
    postie_mailbox_client_t *c = &job->client;
    postie_status_t st = postie_mailbox_client_open(c, cfg);
    if (st != POSTIE_OK) {
        report->run.status = st;
        report->run.error = *postie_mailbox_client_error(c);
        report->run.error.status = st;
        postie_mailbox_client_close(c);
        return false;
    }
    report->messages = postie_mailbox_client_info(c)->messages;
    report->secure = postie_mailbox_client_info(c)->secure;
    (void)postie_fetch_init(&job->run, fo, postie_mailbox_client_ops(c),
                            postie_mailbox_client_engine(c), store, sink);
    for (;;) {
        postie_fetch_action_t act = postie_fetch_next(&job->run, postie_clock_ms());
        if (act.type == POSTIE_FETCH_DONE) {
            break;
        }
        st = postie_mailbox_client_wait(c, act.event, on_event, &job->run);
        if (st != POSTIE_OK) {
            postie_fetch_failed(&job->run, st, postie_mailbox_client_error(c));
        }
    }
    postie_mailbox_client_close(c);
    return true;
}

static void add_counts(postie_fetch_report_t *sum, const postie_fetch_report_t *r)
{
    sum->listed += r->listed;
    sum->archived += r->archived;
    sum->octets += r->octets;
    sum->deleted += r->deleted;
    sum->already += r->already;
    sum->too_large += r->too_large;
    sum->dropped += r->dropped;
    if (r->uidvalidity_changed) {
        sum->uidvalidity_changed = true;
        sum->old_uidvalidity = r->old_uidvalidity;
    }
    sum->uidvalidity = r->uidvalidity;
    sum->stopped = r->stopped;
    sum->again = r->again;
    sum->status = r->status;
    sum->error = r->error;
}

postie_status_t postie_fetch_account(const postie_mailbox_client_config_t *cfg,
                                     const postie_fetch_account_options_t *opt,
                                     postie_fetch_account_report_t *report)
{
    job_t *job;
    postie_fetch_store_t store;
    postie_archive_t sink;
    postie_fetch_options_t fo;
    struct timespec t0;
    postie_status_t st;

    memset(report, 0, sizeof(*report));
    postie_error_clear(&report->run.error);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (opt->state_path == NULL || (opt->maildir == NULL && opt->sink == NULL)) {
        set_error(&report->run.error, POSTIE_E_INVALID_ARGUMENT, "fetch options",
                  opt->state_path == NULL ? "state_path: not set" : "maildir: not set");
        report->run.status = POSTIE_E_INVALID_ARGUMENT;
        return report->run.status;
    }
    job = calloc(1, sizeof(*job));
    if (job == NULL) {
        set_error(&report->run.error, POSTIE_E_NO_SPACE, "fetch", "out of memory");
        report->run.status = POSTIE_E_NO_SPACE;
        return report->run.status;
    }
    /* the lock first: a second run on the account stops before connecting */
    st = postie_state_file_open(&job->state, opt->state_path, &store);
    if (st != POSTIE_OK) {
        report->run.status = st;
        report->run.error = *postie_state_file_error(&job->state);
        goto out;
    }
    if (opt->sink != NULL) {
        sink = *opt->sink;
    } else {
        st = postie_maildir_open(&job->maildir, opt->maildir, &sink);
        if (st != POSTIE_OK) {
            report->run.status = st;
            report->run.error = *postie_maildir_error(&job->maildir);
            goto out;
        }
    }
    postie_fetch_options_defaults(&fo, cfg->protocol);
    fo.delete_after_archive = opt->delete_after_archive;
    fo.size_max = opt->size_max;
    fo.batch = opt->batch;
    fo.key_prefix = opt->key_prefix;
    fo.progress = opt->progress;
    fo.progress_ctx = opt->progress_ctx;
    fo.log = cfg->log;
    fo.log_ctx = cfg->log_ctx;
    if (opt->stop != NULL) {
        fo.stop = stop_flag;
        fo.stop_ctx = (void *)opt->stop;
    }
    for (int session = 0; session < AGAIN_MAX; session++) {
        if (!one_session(job, cfg, &fo, &store, &sink, report)) {
            break; /* report has the open's failure */
        }
        add_counts(&report->run, &job->run.report);
        if (!job->run.report.again || job->run.report.status != POSTIE_OK ||
            job->run.report.stopped || (opt->stop != NULL && *opt->stop != 0)) {
            break;
        }
    }
    if (report->run.status != POSTIE_OK && report->run.error.status == POSTIE_OK) {
        report->run.error.status = report->run.status;
    }
    /* a sink failure's detail (the path, the errno text) */
    if (opt->sink == NULL && report->run.status == POSTIE_E_ARCHIVE_FAILED &&
        postie_maildir_error(&job->maildir)->status != POSTIE_OK) {
        report->run.error = *postie_maildir_error(&job->maildir);
    }
    if (report->run.status == POSTIE_E_FETCH_STATE &&
        postie_state_file_error(&job->state)->status == POSTIE_E_FETCH_STATE) {
        report->run.error = *postie_state_file_error(&job->state);
    }
out:
    if (opt->sink == NULL) {
        postie_maildir_close(&job->maildir);
    }
    postie_state_file_close(&job->state);
    free(job);
    report->elapsed_ms = ms_since(&t0);
    return report->run.status;
}

/* ---- list and one message ------------------------------------------------------ */

typedef struct {
    postie_fetch_list_fn fn;
    void *ctx;
} list_ctx_t;

static postie_status_t list_item(void *ctx, const postie_mail_item_t *item)
{
    list_ctx_t *l = ctx;
    l->fn(l->ctx, item);
    return POSTIE_OK;
}

static postie_status_t finish_and_close(postie_mailbox_client_t *c, postie_status_t st,
                                        postie_error_t *error)
{
    if (st == POSTIE_OK) {
        st = postie_mailbox_client_finish(c);
    }
    if (st != POSTIE_OK && error != NULL) {
        *error = *postie_mailbox_client_error(c);
        if (error->status == POSTIE_OK) {
            error->status = st;
        }
    }
    postie_mailbox_client_close(c);
    return st;
}

postie_status_t postie_fetch_list(const postie_mailbox_client_config_t *cfg,
                                  postie_fetch_list_fn fn, void *ctx, postie_mailbox_info_t *info,
                                  postie_error_t *error)
{
    postie_mailbox_client_t *c = calloc(1, sizeof(*c));
    list_ctx_t l = {fn, ctx};
    postie_status_t st;
    if (error != NULL) {
        postie_error_clear(error);
    }
    if (c == NULL) {
        return POSTIE_E_NO_SPACE;
    }
    st = postie_mailbox_client_open(c, cfg);
    if (st == POSTIE_OK) {
        if (info != NULL) {
            *info = *postie_mailbox_client_info(c);
        }
        if (cfg->protocol == POSTIE_FETCH_IMAP || postie_mailbox_client_info(c)->messages > 0) {
            st = postie_mailbox_client_list(c, 1, POSTIE_MAIL_ITEM_SIZE, list_item, &l);
        }
    }
    st = finish_and_close(c, st, error);
    free(c);
    return st;
}

typedef struct {
    int fd;
    uint64_t octets;
    int err;
} file_out_t;

static postie_status_t file_data(void *ctx, const uint8_t *data, size_t len)
{
    file_out_t *o = ctx;
    while (len > 0) {
        ssize_t w = write(o->fd, data, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            o->err = w < 0 ? errno : EIO;
            return POSTIE_E_ARCHIVE_FAILED;
        }
        data += w;
        len -= (size_t)w;
        o->octets += (uint64_t)w;
    }
    return POSTIE_OK;
}

postie_status_t postie_fetch_message_to_file(const postie_mailbox_client_config_t *cfg, uint32_t id,
                                             const char *out_path, uint64_t size_max,
                                             uint64_t *octets, postie_error_t *error)
{
    postie_mailbox_client_t *c;
    file_out_t o = {-1, 0, 0};
    char tmp[4096];
    bool to_stdout = strcmp(out_path, "-") == 0;
    postie_status_t st;
    postie_error_t local;

    if (error == NULL) {
        error = &local;
    }
    postie_error_clear(error);
    if (octets != NULL) {
        *octets = 0;
    }
    if (id == 0) {
        set_error(error, POSTIE_E_INVALID_ARGUMENT, "message", "0 (numbers and UIDs start at 1)");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (!to_stdout && snprintf(tmp, sizeof(tmp), "%s.tmp", out_path) >= (int)sizeof(tmp)) {
        set_error(error, POSTIE_E_FIELD_TOO_LONG, "output file", out_path);
        return POSTIE_E_FIELD_TOO_LONG;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return POSTIE_E_NO_SPACE;
    }
    st = postie_mailbox_client_open(c, cfg);
    if (st == POSTIE_OK) {
        o.fd =
            to_stdout ? STDOUT_FILENO : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (o.fd < 0) {
            set_error(error, POSTIE_E_FILE, "creating the output file", tmp);
            postie_mailbox_client_close(c);
            free(c);
            return POSTIE_E_FILE;
        }
        st = postie_mailbox_client_retrieve(c, id, size_max, file_data, &o);
    }
    if (st == POSTIE_OK && !to_stdout) {
        int err = fsync(o.fd) != 0 ? errno : 0;
        if (close(o.fd) != 0 && err == 0) {
            err = errno;
        }
        o.fd = -1;
        if (err == 0 && rename(tmp, out_path) != 0) {
            err = errno;
        }
        if (err != 0) {
            set_error(error, POSTIE_E_FILE, "writing the output file", strerror(err));
            (void)unlink(tmp);
            postie_mailbox_client_close(c);
            free(c);
            return POSTIE_E_FILE;
        }
    }
    if (st != POSTIE_OK && o.fd >= 0 && !to_stdout) {
        close(o.fd);
        (void)unlink(tmp);
    }
    if (st != POSTIE_OK && o.err != 0) {
        set_error(error, POSTIE_E_FILE, "writing the output file", strerror(o.err));
        postie_mailbox_client_close(c);
        free(c);
        return POSTIE_E_FILE;
    }
    if (octets != NULL) {
        *octets = o.octets;
    }
    st = finish_and_close(c, st, error);
    free(c);
    return st;
}
