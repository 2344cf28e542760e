/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivering the queue on a host: the delivery run of core
 * (postie/queue/delivery.h) driven with the blocking SMTP client. See
 * postie/posix/queue_run.h.
 */
#include "postie/posix/queue_run.h"

#include <stdlib.h>
#include <string.h>

#include "postie/common/clock.h"
#include "postie/common/text.h"
#include "postie/posix/host.h"
#include "postie/posix/oauth.h"
#include "postie/posix/registry_file.h"
#include "postie/posix/smtp_client.h"

typedef struct {
    const postie_registry_t *reg;
    const postie_run_options_t *opt;
    postie_delivery_t run;
    postie_smtp_client_t client;
    char password[POSTIE_AUTH_FIELD_MAX + 1];
    postie_oauth_provider_t oauth; /* an oauth2 session's tokens, cached for the run */
    /* for opt->report: the session opened last, the message sent last */
    char session[POSTIE_REGISTRY_NAME_MAX];
    postie_reply_info_t open_reply;
    postie_queue_id_t sent_id;
    const postie_smtp_envelope_t *sent_env;
    postie_reply_info_t sent_reply;
} driver_t;

/* The run's progress: the caller's, then its report with what the driver
 * knows about the message (session, recipients, the server's reply). */
static void on_progress(void *ctx, const postie_run_summary_t *sum, postie_queue_id_t id,
                        const postie_queue_outcome_t *out, const char *error)
{
    driver_t *d = ctx;
    postie_run_report_t rep;
    if (d->opt->progress != NULL) {
        d->opt->progress(d->opt->progress_ctx, sum, id, out, error);
    }
    if (d->opt->report == NULL || out == NULL) {
        return;
    }
    memset(&rep, 0, sizeof(rep));
    rep.id = id;
    rep.session = d->session;
    rep.outcome = out;
    rep.error = error != NULL ? error : "";
    if (id == d->sent_id) {
        rep.envelope = d->sent_env;
        rep.reply = &d->sent_reply;
    } else {
        rep.reply = &d->open_reply;
    }
    d->opt->report(d->opt->report_ctx, &rep);
}

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

/* The session filter: the same registry entry when the name asked for is
 * one, else the same name. */
static bool same_session(void *ctx, const char *wanted, const char *queued)
{
    const postie_registry_t *reg = ctx;
    const postie_session_t *want = postie_registry_session(reg, wanted);
    if (want != NULL) {
        return want == postie_registry_session(reg, queued);
    }
    return strcmp(wanted, queued) == 0;
}

static void close_client(driver_t *d)
{
    postie_smtp_client_quit(&d->client);
    memset(d->password, 0, sizeof(d->password));
}

/* Connect for a session and report how it went. */
static void open_session(driver_t *d, const char *name)
{
    const postie_session_t *s = postie_registry_session(d->reg, name);
    postie_smtp_client_config_t cfg;
    postie_error_t why;
    postie_status_t st;

    postie_error_clear(&why);
    postie_smtp_client_config_defaults(&cfg);
    postie_text_copy_printable(d->session, sizeof(d->session), name, strlen(name));
    memset(&d->open_reply, 0, sizeof(d->open_reply));
    d->sent_id = 0;
    if (s == NULL) {
        why.status = POSTIE_E_NOT_FOUND;
        why.phase = "session";
        postie_text_copy_printable(why.subject, sizeof(why.subject), name, strlen(name));
        (void)postie_delivery_report_open(&d->run, why.status, &why);
        return;
    }
    st = postie_session_prepare(s, &cfg, d->password, sizeof(d->password), &why);
    if (st == POSTIE_OK && s->ep.auth == POSTIE_AUTH_OAUTH2) {
        /* the built-in token provider; the same session keeps its token */
        cfg.token =
            postie_oauth_provider_attach(&d->oauth, &s->ep, false, s->name, NULL, NULL, &why);
        st = cfg.token != NULL ? POSTIE_OK : why.status;
    }
    if (st != POSTIE_OK) {
        (void)postie_delivery_report_open(&d->run, st, &why);
        return;
    }
    if (d->opt->connect_to != NULL) {
        cfg.connect_to = d->opt->connect_to;
    }
    st = postie_smtp_client_open(&d->client, &cfg);
    if (st != POSTIE_OK) {
        why = *postie_smtp_client_error(&d->client);
        d->open_reply = why.reply;
        close_client(d);
    }
    (void)postie_delivery_report_open(&d->run, st, st != POSTIE_OK ? &why : NULL);
}

/* Send one message and report what the server said. */
static void send_message(driver_t *d, const postie_delivery_action_t *act)
{
    postie_delivery_result_t res;
    postie_status_t st =
        postie_smtp_client_send(&d->client, act->envelope, act->read, act->read_ctx);
    const postie_error_t *why = postie_smtp_message_result(&d->client.engine);
    if (why->status != st) {
        why = postie_smtp_client_error(&d->client);
    }
    memset(&res, 0, sizeof(res));
    res.status = st;
    res.why = why;
    res.data_sent = postie_smtp_client_data_sent(&d->client);
    res.session_ended = postie_smtp_phase(&d->client.engine) != POSTIE_SMTP_PHASE_READY;
    d->sent_id = act->id;
    d->sent_env = act->envelope;
    d->sent_reply = why->reply;
    (void)postie_delivery_report_sent(&d->run, &res);
}

postie_status_t postie_queue_run(postie_queue_t *q, const postie_registry_t *reg,
                                 const postie_run_options_t *opt, postie_run_summary_t *sum)
{
    size_t cap = q->limits.messages_max;
    postie_queue_id_t *work;
    postie_delivery_options_t dopt;
    postie_delivery_action_t act;
    driver_t *d;

    memset(sum, 0, sizeof(*sum));
    work = calloc(POSTIE_DELIVERY_WORK(cap), sizeof(*work));
    d = calloc(1, sizeof(*d));
    if (work == NULL || d == NULL) {
        free(work);
        free(d);
        return POSTIE_E_NO_SPACE;
    }
    d->reg = reg;
    d->opt = opt;

    memset(&dopt, 0, sizeof(dopt));
    dopt.mode = opt->mode;
    dopt.session = opt->session;
    dopt.only = opt->only;
    dopt.same_session = same_session;
    dopt.same_session_ctx = (void *)reg; /* only read */
    dopt.progress = on_progress;
    dopt.progress_ctx = d;
    dopt.trace = opt->trace;
    dopt.trace_ctx = opt->trace_ctx;
    postie_delivery_init(&d->run, q, &dopt, work, cap, now_s());

    while (postie_delivery_next(&d->run, now_s(), random32(), &act) != POSTIE_DELIVERY_DONE) {
        switch (act.type) {
        case POSTIE_DELIVERY_OPEN:
            open_session(d, act.session);
            break;
        case POSTIE_DELIVERY_SEND:
            send_message(d, &act);
            break;
        case POSTIE_DELIVERY_CLOSE:
            close_client(d);
            break;
        default:
            break;
        }
    }
    close_client(d); /* nothing open by now; wipes the password anyway */
    postie_oauth_provider_clear(&d->oauth);
    *sum = *postie_delivery_summary(&d->run);
    free(work);
    free(d);
    return act.status;
}
