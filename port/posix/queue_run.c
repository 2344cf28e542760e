/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivering the queue on a host. See postie/posix/queue_run.h.
 */
#include "postie/posix/queue_run.h"

#include <stdlib.h>
#include <string.h>

#include "postie/common/clock.h"
#include "postie/common/text.h"
#include "postie/posix/host.h"
#include "postie/posix/registry_file.h"
#include "postie/posix/smtp_client.h"

typedef struct {
    postie_queue_id_t id;
    uint32_t group; /* index of the first message of its session in the scan */
} candidate_t;

typedef struct {
    postie_queue_t *q;
    const postie_registry_t *reg;
    const postie_run_options_t *opt;
    postie_run_summary_t *sum;
    postie_smtp_client_t client;
    bool open;
    bool session_down; /* connecting failed: the rest of the group shares it */
    postie_status_t down_status;
    postie_error_t down_error;
    int64_t down_retry;        /* when the session is tried again (0: not known yet) */
    postie_queue_id_t current; /* for the trace of the end of data */
    char password[POSTIE_AUTH_FIELD_MAX + 1];
    postie_queue_entry_t entry;
    postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
} run_t;

static uint32_t random32(void)
{
    uint32_t r = 0;
    if (postie_random_bytes((uint8_t *)&r, sizeof(r)) != POSTIE_OK) {
        r = (uint32_t)postie_clock_ms(); /* spread only: any value will do */
    }
    return r;
}

static int64_t now_s(void)
{
    int64_t now;
    int16_t off;
    postie_wall_clock(&now, &off);
    return now;
}

static void trace(run_t *r, const char *event, postie_queue_id_t id)
{
    if (r->opt->trace != NULL) {
        r->opt->trace(r->opt->trace_ctx, event, id);
    }
}

/* The SMTP log, watched for the end of the message. */
static void watch_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    run_t *r = ctx;
    if (dir != POSTIE_LOG_SENT) {
        return;
    }
    if ((len == 1 && line[0] == '.') ||
        (len > 10 && memcmp(line, "BDAT ", 5) == 0 && memcmp(line + len - 5, " LAST", 5) == 0)) {
        trace(r, "data-end", r->current);
    }
}

static void progress(run_t *r, postie_queue_id_t id, const postie_queue_outcome_t *out,
                     const char *error)
{
    r->sum->done++;
    if (r->opt->progress != NULL) {
        r->opt->progress(r->opt->progress_ctx, r->sum, id, out, error);
    }
}

static void close_client(run_t *r)
{
    if (r->open) {
        postie_smtp_client_quit(&r->client);
        r->open = false;
    }
    memset(r->password, 0, sizeof(r->password));
}

/* The rest of the group gets this failure without another attempt. */
static void mark_down(run_t *r, postie_status_t st, const char *phase, const char *subject)
{
    r->down_status = st;
    postie_error_clear(&r->down_error);
    r->down_error.status = st;
    r->down_error.phase = phase;
    postie_text_copy_printable(r->down_error.subject, sizeof(r->down_error.subject), subject,
                               strlen(subject));
    r->session_down = true;
    r->down_retry = 0;
}

/* Connect for the entry's session; on failure fill down_* for the group. */
static bool open_session(run_t *r, const postie_session_t *s)
{
    postie_smtp_client_config_t cfg;
    postie_status_t st;
    postie_smtp_client_config_defaults(&cfg);
    if (s == NULL) {
        mark_down(r, POSTIE_E_NOT_FOUND, "session", r->entry.session);
        return false;
    }
    st = postie_session_client_config(s, &cfg, r->password, sizeof(r->password));
    if (st != POSTIE_OK) {
        mark_down(r, st, postie_session_config_step(st), s->name);
        return false;
    }
    if (r->opt->connect_to != NULL) {
        cfg.connect_to = r->opt->connect_to;
    }
    cfg.smtp.log = watch_log;
    cfg.smtp.log_ctx = r;
    st = postie_smtp_client_open(&r->client, &cfg);
    if (st != POSTIE_OK) {
        r->down_status = st;
        r->down_error = *postie_smtp_client_error(&r->client);
        if (r->down_error.status == POSTIE_OK) {
            r->down_error.status = st;
        }
        postie_smtp_client_quit(&r->client);
        r->session_down = true;
        r->down_retry = 0;
        return false;
    }
    r->open = true;
    return true;
}

static void count(run_t *r, const postie_queue_outcome_t *out)
{
    switch (out->state) {
    case POSTIE_QSTATE_DONE:
        r->sum->delivered++;
        break;
    case POSTIE_QSTATE_ERROR:
        r->sum->failed++;
        break;
    default:
        r->sum->retry++;
        break;
    }
}

/* Claim, send and record one message. */
static void deliver_one(run_t *r, postie_queue_id_t id, int64_t now)
{
    postie_queue_entry_t *e = &r->entry;
    postie_error_t err;
    postie_smtp_envelope_t env;
    postie_queue_outcome_t out;
    postie_queue_body_reader_t body;
    const postie_error_t *why;
    bool untried = r->session_down; /* its session failed for an earlier message */
    postie_status_t st = postie_queue_load(r->q, id, true, e, &err);

    if (st == POSTIE_E_BUSY) {
        r->sum->busy++;
        progress(r, id, NULL, "claimed by another sender");
        return;
    }
    if (st == POSTIE_E_NOT_FOUND) {
        progress(r, id, NULL, ""); /* delivered or deleted meanwhile */
        return;
    }
    if (st == POSTIE_E_QUEUE_CORRUPT) {
        (void)postie_queue_set_aside(r->q, id);
        r->sum->corrupt++;
        progress(r, id, NULL, err.subject);
        return;
    }
    if (st != POSTIE_OK) {
        progress(r, id, NULL, postie_status_str(st));
        return;
    }
    /* the state may have moved since the scan (another run, a resend) */
    if (e->slot.state != POSTIE_QSTATE_QUEUED ||
        (r->opt->mode == POSTIE_RUN_DUE && !postie_queue_due(e, now))) {
        postie_queue_release(r->q, e);
        progress(r, id, NULL, "");
        return;
    }

    postie_queue_envelope(e, &env, r->rcpt);
    if (!r->open && !r->session_down) {
        (void)open_session(r, postie_registry_session(r->reg, e->session));
    }
    if (untried) {
        /* nothing is tried: no attempt counted, it waits for the session */
        int64_t t = now_s();
        st = postie_queue_record_untried(r->q, e, r->down_status, &r->down_error, t,
                                         r->down_retry != 0 ? r->down_retry : t, &out);
        trace(r, "recorded", id);
        postie_queue_release(r->q, e);
        if (st != POSTIE_OK) {
            progress(r, id, NULL, "could not record the session's failure in the queue");
            return;
        }
        count(r, &out);
        progress(r, id, &out, e->slot.last_error);
        return;
    }
    if (r->session_down) {
        /* connecting for this message failed: that was its attempt */
        st = r->down_status;
        why = &r->down_error;
    } else {
        trace(r, "sending", id);
        r->current = id;
        postie_queue_body_reader_init(&body, r->q, e);
        st = postie_smtp_client_send(&r->client, &env, postie_queue_body_read, &body);
        why = postie_smtp_message_result(&r->client.engine);
        if (why->status != st) {
            why = postie_smtp_client_error(&r->client);
        }
    }
    /* the server has answered: record it before anything else */
    st = postie_queue_record(r->q, e, r->rcpt, st, why, now_s(), random32(), &out);
    trace(r, "recorded", id);
    if (st != POSTIE_OK) {
        postie_queue_release(r->q, e);
        progress(r, id, NULL, "could not record the attempt in the queue");
        close_client(r); /* never send more while the queue cannot record */
        mark_down(r, st, "queue", "recording an attempt");
        return;
    }
    count(r, &out);
    postie_queue_release(r->q, e);
    if (r->session_down && r->down_retry == 0) {
        /* the rest of the group waits for the session's next try */
        r->down_retry = out.state == POSTIE_QSTATE_QUEUED
                            ? e->slot.next_attempt
                            : now_s() + (int64_t)postie_queue_backoff_s(1, random32());
    }
    progress(r, id, &out, out.state == POSTIE_QSTATE_DONE ? "" : e->slot.last_error);

    /* a session that ended (421, lost connection) reconnects for the next */
    if (r->open && postie_smtp_phase(&r->client.engine) != POSTIE_SMTP_PHASE_READY) {
        close_client(r);
    }
}

/* Sessions in the order first seen, messages in arrival order. */
static int cmp_candidates(const void *a, const void *b)
{
    const candidate_t *x = a;
    const candidate_t *y = b;
    if (x->group != y->group) {
        return x->group < y->group ? -1 : 1;
    }
    return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}

postie_status_t postie_queue_run(postie_queue_t *q, const postie_registry_t *reg,
                                 const postie_run_options_t *opt, postie_run_summary_t *sum)
{
    size_t total = 0;
    size_t n = 0;
    size_t cap = q->limits.messages_max;
    postie_queue_id_t *ids;
    candidate_t *cand;
    /* one session name per group, in scan order */
    char(*groups)[POSTIE_QUEUE_SESSION_MAX];
    size_t ngroups = 0;
    int64_t now = now_s();
    const postie_session_t *want =
        opt->session != NULL ? postie_registry_session(reg, opt->session) : NULL;
    run_t *r;
    postie_status_t st;

    memset(sum, 0, sizeof(*sum));
    ids = calloc(cap, sizeof(*ids));
    cand = calloc(cap, sizeof(*cand));
    groups = calloc(cap, sizeof(*groups));
    r = calloc(1, sizeof(*r));
    if (ids == NULL || cand == NULL || groups == NULL || r == NULL) {
        free(ids);
        free(cand);
        free(groups);
        free(r);
        return POSTIE_E_NO_SPACE;
    }
    r->q = q;
    r->reg = reg;
    r->opt = opt;
    r->sum = sum;

    if (opt->only != 0) {
        /* one message (send --queue): no scan; the others keep their schedule */
        cand[n++].id = opt->only;
        st = POSTIE_OK;
    } else {
        st = postie_queue_list(q, ids, cap, &total);
    }
    if (st == POSTIE_OK) {
        if (total > cap) {
            total = cap; /* the rest waits for the next run */
        }
        /* scan without claiming: which messages, which sessions */
        for (size_t i = 0; i < total; i++) {
            postie_error_t err;
            size_t g;
            postie_status_t ls = postie_queue_load(q, ids[i], false, &r->entry, &err);
            if (ls == POSTIE_E_QUEUE_CORRUPT) {
                (void)postie_queue_set_aside(q, ids[i]);
                sum->corrupt++;
                if (opt->progress != NULL) {
                    opt->progress(opt->progress_ctx, sum, ids[i], NULL, err.subject);
                }
                continue;
            }
            if (ls == POSTIE_E_NOT_FOUND) {
                /* delivered, but its removal was cut short: a claimed load
                 * finishes it (unless another sender holds it) */
                (void)postie_queue_load(q, ids[i], true, &r->entry, &err);
                postie_queue_release(q, &r->entry);
                continue;
            }
            if (ls != POSTIE_OK) {
                continue;
            }
            postie_queue_release(q, &r->entry);
            if (r->entry.slot.state != POSTIE_QSTATE_QUEUED ||
                (opt->mode == POSTIE_RUN_DUE && !postie_queue_due(&r->entry, now))) {
                continue;
            }
            if (opt->session != NULL) {
                const postie_session_t *have = postie_registry_session(reg, r->entry.session);
                if (want != NULL ? want != have : strcmp(opt->session, r->entry.session) != 0) {
                    continue;
                }
            }
            for (g = 0; g < ngroups && strcmp(groups[g], r->entry.session) != 0; g++) {
            }
            if (g == ngroups) {
                memcpy(groups[ngroups++], r->entry.session, sizeof(groups[0]));
            }
            cand[n].id = ids[i];
            cand[n].group = (uint32_t)g;
            n++;
        }
        qsort(cand, n, sizeof(*cand), cmp_candidates);
        sum->total = n;

        for (size_t i = 0; i < n; i++) {
            if (i > 0 && cand[i].group != cand[i - 1].group) {
                close_client(r);
                r->session_down = false;
            }
            deliver_one(r, cand[i].id, opt->mode == POSTIE_RUN_FLUSH ? INT64_MAX : now);
        }
        close_client(r);
    }
    free(ids);
    free(cand);
    free(groups);
    free(r);
    return st;
}
