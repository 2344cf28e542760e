/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notifications through a named session in one call. See
 * postie/posix/notify.h.
 */
#include "postie/posix/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/common/text.h"
#include "postie/posix/host.h"
#include "postie/posix/queue_run.h"
#include "postie/posix/registry_file.h"

static void set_subject(postie_error_t *e, const char *text)
{
    postie_text_copy_printable(e->subject, sizeof(e->subject), text, strlen(text));
}

static postie_status_t fail(postie_notify_result_t *r, postie_status_t st, const char *phase,
                            const char *subject)
{
    r->status = st;
    r->error.status = st;
    r->error.phase = phase;
    set_subject(&r->error, subject != NULL ? subject : "");
    return st;
}

postie_status_t postie_notifier_open(postie_notifier_t *n, const char *registry_path,
                                     postie_error_t *err)
{
    postie_error_t ignored;
    const char *used = NULL;
    uint8_t *arena;
    postie_status_t st;

    if (err == NULL) {
        err = &ignored;
    }
    memset(n, 0, sizeof(*n));
    postie_error_clear(err);
    /* the parse arena is needed during the load only */
    arena = malloc(POSTIE_REGISTRY_ARENA_SIZE);
    if (arena == NULL) {
        err->status = POSTIE_E_NO_SPACE;
        err->phase = "the registry's parse arena";
        return err->status;
    }
    st = postie_registry_load_file(&n->registry, registry_path, arena, POSTIE_REGISTRY_ARENA_SIZE,
                                   &used);
    free(arena);
    if (st == POSTIE_E_FILE) {
        int saved = errno;
        err->status = st;
        err->phase = "reading the registry file";
        set_subject(err, used != NULL ? used : "");
        errno = saved;
        return st;
    }
    if (st != POSTIE_OK) {
        char text[600];
        err->status = st;
        err->phase = "loading the registry";
        if (n->registry.problem_count > 0) {
            snprintf(text, sizeof(text), "%s: %s", n->registry.problems[0].path,
                     n->registry.problems[0].message);
            set_subject(err, text);
        } else {
            set_subject(err, used != NULL ? used : "");
        }
        return st;
    }
    n->reg = &n->registry;
    return POSTIE_OK;
}

void postie_notifier_use(postie_notifier_t *n, const postie_registry_t *reg)
{
    n->reg = reg;
}

postie_status_t postie_notify(postie_notifier_t *n, const postie_notification_t *m,
                              postie_notify_result_t *r)
{
    const postie_session_t *s;
    memset(r, 0, sizeof(*r));
    postie_error_clear(&r->error);
    if (m->session == NULL) {
        return fail(r, POSTIE_E_INVALID_ARGUMENT, "session", "no session name");
    }
    s = n->reg != NULL ? postie_registry_session(n->reg, m->session) : NULL;
    if (s == NULL) {
        return fail(r, POSTIE_E_NOT_FOUND, "session", m->session);
    }
    return postie_notify_session(n, s, m, r);
}

/* ---- composing ------------------------------------------------------------------ */

/* The message from the notification and the session's defaults into n->msg
 * (not yet started). */
static postie_status_t build_message(postie_notifier_t *n, const postie_notification_t *m,
                                     const postie_session_message_t *def, postie_notify_result_t *r)
{
    postie_message_t *msg = &n->msg;
    memset(msg, 0, sizeof(*msg));
    msg->from.address = def->from;
    msg->from.name = def->from_name;
    for (size_t i = 0; i < m->to_count; i++) {
        n->to[i].name = NULL;
        n->to[i].address = m->to[i];
    }
    for (size_t i = 0; i < m->cc_count; i++) {
        n->cc[i].name = NULL;
        n->cc[i].address = m->cc[i];
    }
    msg->to = n->to;
    msg->to_count = m->to_count;
    msg->cc = n->cc;
    msg->cc_count = m->cc_count;
    msg->subject = def->subject;
    msg->headers = m->headers;
    msg->header_count = m->header_count;
    if (m->text != NULL || m->html == NULL) {
        msg->text = (const uint8_t *)(m->text != NULL ? m->text : "");
        msg->text_len = strlen((const char *)msg->text);
    }
    if (m->html != NULL) {
        msg->html = (const uint8_t *)m->html;
        msg->html_len = strlen(m->html);
    }
    postie_wall_clock(&msg->date, &msg->utc_offset_min);
    if (postie_random_bytes(msg->entropy, sizeof(msg->entropy)) != POSTIE_OK) {
        return fail(r, POSTIE_E_IO, "random octets for the Message-ID", "");
    }
    return POSTIE_OK;
}

/* Start the writer; on failure the writer's error goes to r. */
static postie_status_t start_writer(postie_notifier_t *n, postie_notify_result_t *r)
{
    postie_status_t st = postie_mime_init(&n->writer, &n->msg);
    if (st != POSTIE_OK) {
        r->status = st;
        r->error = *postie_mime_error(&n->writer);
        r->error.status = st;
    }
    return st;
}

/* ---- sending now ---------------------------------------------------------------- */

static postie_status_t send_now(postie_notifier_t *n, const postie_session_t *s,
                                const postie_notification_t *m, const char *envelope_from,
                                postie_notify_result_t *r)
{
    postie_smtp_client_config_t cfg;
    postie_smtp_envelope_t env;
    postie_status_t st;

    postie_smtp_client_config_defaults(&cfg);
    st = postie_session_prepare(s, &cfg, n->password, sizeof(n->password), &r->error);
    if (st == POSTIE_OK && s->ep.auth == POSTIE_AUTH_OAUTH2) {
        /* the built-in token provider; the same session keeps its token */
        cfg.token =
            postie_oauth_provider_attach(&n->oauth, &s->ep, false, s->name, NULL, NULL, &r->error);
        st = cfg.token != NULL ? POSTIE_OK : r->error.status;
    }
    if (st != POSTIE_OK) {
        r->status = st;
        return st;
    }
    if (m->connect_to != NULL) {
        cfg.connect_to = m->connect_to;
    }
    memset(&env, 0, sizeof(env));
    env.from = envelope_from;
    env.rcpt = r->rcpt;
    env.rcpt_count = r->rcpt_count;

    st = postie_smtp_client_open(&n->client, &cfg);
    if (st != POSTIE_OK) {
        r->error = *postie_smtp_client_error(&n->client);
        r->error.status = st;
        r->refused = r->rcpt_count;
        goto out;
    }
    if (m->raw_read != NULL) {
        env.size = m->raw_size;
        env.body_8bit = m->raw_8bit;
        st = postie_smtp_client_send(&n->client, &env, m->raw_read, m->raw_ctx);
    } else {
        const postie_smtp_caps_t *caps = postie_smtp_caps(&n->client.engine);
        n->msg.allow_8bit = (caps->flags & POSTIE_SMTP_CAP_8BITMIME) != 0;
        st = start_writer(n, r);
        if (st != POSTIE_OK) {
            goto out;
        }
        env.body_8bit = postie_mime_needs_8bit(&n->writer);
        st = postie_smtp_client_send(&n->client, &env, postie_mime_read, &n->writer);
    }
    r->reply = postie_smtp_message_result(&n->client.engine)->reply;
    for (size_t i = 0; i < r->rcpt_count; i++) {
        if (r->rcpt[i].state != POSTIE_RCPT_ACCEPTED) {
            r->refused++;
        }
    }
    if (st != POSTIE_OK) {
        r->error = postie_smtp_phase(&n->client.engine) == POSTIE_SMTP_PHASE_FAILED
                       ? *postie_smtp_client_error(&n->client)
                       : *postie_smtp_message_result(&n->client.engine);
        r->error.status = st;
    } else if (r->refused > 0) {
        /* accepted for the others: say which one was refused */
        for (size_t i = 0; i < r->rcpt_count; i++) {
            if (r->rcpt[i].state != POSTIE_RCPT_ACCEPTED) {
                st = r->rcpt[i].reply.code >= 400 && r->rcpt[i].reply.code < 500
                         ? POSTIE_E_REPLY_TRANSIENT
                         : POSTIE_E_REPLY_PERMANENT;
                r->error.status = st;
                r->error.phase = "RCPT TO";
                r->error.reply = r->rcpt[i].reply;
                set_subject(&r->error, r->rcpt[i].address);
                break;
            }
        }
    }
out:
    postie_smtp_client_quit(&n->client);
    memset(n->password, 0, sizeof(n->password));
    r->status = st;
    return st;
}

/* ---- through the queue ---------------------------------------------------------- */

typedef struct {
    postie_queue_id_t id;
    postie_queue_outcome_t outcome;
    bool seen;
    char error[POSTIE_QUEUE_ERROR_TEXT_MAX];
    postie_notify_result_t *r; /* per-recipient results and the reply, from the report */
} watch_t;

static void on_report(void *ctx, const postie_run_report_t *rep)
{
    watch_t *w = ctx;
    if (rep->id != w->id) {
        return;
    }
    if (rep->reply != NULL) {
        w->r->reply = *rep->reply;
    }
    if (rep->envelope == NULL) {
        return;
    }
    for (size_t i = 0; i < rep->envelope->rcpt_count; i++) {
        const postie_smtp_rcpt_t *sent = &rep->envelope->rcpt[i];
        for (size_t j = 0; j < w->r->rcpt_count; j++) {
            if (strcmp(w->r->rcpt[j].address, sent->address) == 0) {
                w->r->rcpt[j].state = sent->state;
                w->r->rcpt[j].reply = sent->reply;
            }
        }
    }
}

static void on_progress(void *ctx, const postie_run_summary_t *sum, postie_queue_id_t id,
                        const postie_queue_outcome_t *out, const char *error)
{
    watch_t *w = ctx;
    (void)sum;
    if (id == w->id && out != NULL) {
        w->outcome = *out;
        w->seen = true;
        snprintf(w->error, sizeof(w->error), "%s", error != NULL ? error : "");
    }
}

/* Counts what the writer gives. */
static postie_status_t count_message(postie_notifier_t *n, uint64_t *size)
{
    uint8_t scratch[4096];
    size_t got = 0;
    postie_status_t st;
    *size = 0;
    while ((st = postie_mime_read(&n->writer, scratch, sizeof(scratch), &got)) == POSTIE_OK &&
           got > 0) {
        *size += got;
    }
    return st;
}

static postie_status_t send_queued(postie_notifier_t *n, const postie_session_t *s,
                                   const postie_notification_t *m, const char *envelope_from,
                                   postie_notify_result_t *r)
{
    const char *rcpts[POSTIE_NOTIFY_RCPT_MAX];
    postie_queue_message_t qm;
    postie_error_t err;
    postie_run_options_t opt;
    postie_run_summary_t sum;
    watch_t w;
    uint32_t rnd = 0;
    int64_t now;
    int16_t off;
    postie_status_t st;

    if (n->reg == NULL || postie_registry_session(n->reg, s->name) != s) {
        return fail(r, POSTIE_E_INVALID_ARGUMENT, "queue: the session must be the registry's",
                    s->name);
    }
    if (r->rcpt_count > POSTIE_QUEUE_RCPT_MAX) {
        return fail(r, POSTIE_E_INVALID_ARGUMENT, "queue: too many recipients", "");
    }
    for (size_t i = 0; i < r->rcpt_count; i++) {
        rcpts[i] = r->rcpt[i].address;
    }
    memset(&qm, 0, sizeof(qm));
    qm.session = s->name;
    qm.from = envelope_from;
    qm.rcpt = rcpts;
    qm.rcpt_count = r->rcpt_count;

    st = postie_spool_open(&n->spool, m->spool_dir, &err);
    if (st != POSTIE_OK) {
        r->status = st;
        r->error = err;
        return st;
    }
    postie_queue_init(&n->queue, postie_spool_store(&n->spool), &n->limits);
    postie_wall_clock(&now, &off);
    if (postie_random_bytes((uint8_t *)&rnd, sizeof(rnd)) != POSTIE_OK) {
        postie_spool_close(&n->spool);
        return fail(r, POSTIE_E_IO, "random octets for the queue id", "");
    }
    if (m->raw_read != NULL) {
        qm.size = m->raw_size;
        qm.body_8bit = m->raw_8bit;
        st = postie_queue_enqueue(&n->queue, &qm, m->raw_read, m->raw_ctx, now, rnd, &r->queue_id,
                                  &err);
    } else {
        /* for any server: 7bit with encoded words (its extensions are not
         * known yet); counted first, since an entry has an exact size */
        n->msg.allow_8bit = false;
        st = start_writer(n, r);
        if (st == POSTIE_OK && (st = count_message(n, &qm.size)) != POSTIE_OK) {
            r->error = *postie_mime_error(&n->writer);
            r->error.status = st;
        }
        if (st == POSTIE_OK) {
            st = start_writer(n, r);
        }
        if (st != POSTIE_OK) {
            postie_spool_close(&n->spool);
            r->status = st;
            return st;
        }
        st = postie_queue_enqueue(&n->queue, &qm, postie_mime_read, &n->writer, now, rnd,
                                  &r->queue_id, &err);
    }
    if (st != POSTIE_OK) {
        postie_spool_close(&n->spool);
        r->queue_id = 0;
        r->status = st;
        r->error = err;
        r->error.status = st;
        if (r->error.phase == NULL) {
            r->error.phase = "queue";
        }
        return st;
    }
    r->queued = true;
    if (m->mode == POSTIE_NOTIFY_QUEUE_ONLY) {
        postie_spool_close(&n->spool);
        r->status = POSTIE_OK;
        return POSTIE_OK;
    }

    memset(&opt, 0, sizeof(opt));
    memset(&w, 0, sizeof(w));
    w.id = r->queue_id;
    opt.mode = POSTIE_RUN_FLUSH;
    opt.session = s->name;
    opt.only = r->queue_id;
    opt.connect_to = m->connect_to;
    opt.progress = on_progress;
    opt.progress_ctx = &w;
    opt.report = on_report;
    opt.report_ctx = &w;
    w.r = r;
    st = postie_queue_run(&n->queue, n->reg, &opt, &sum);
    postie_spool_close(&n->spool);
    if (st != POSTIE_OK) {
        /* the run could not read the queue: the message is stored anyway */
        return fail(r, st, "queue run", "");
    }
    r->refused = 0;
    for (size_t i = 0; i < r->rcpt_count; i++) {
        if (r->rcpt[i].state != POSTIE_RCPT_ACCEPTED) {
            r->refused++;
        }
    }
    if (w.seen && w.outcome.state == POSTIE_QSTATE_DONE) {
        r->queued = false;
        r->status = POSTIE_OK;
        return POSTIE_OK;
    }
    if (w.seen && w.outcome.state == POSTIE_QSTATE_ERROR) {
        r->queued = false;
        r->in_error_queue = true;
        return fail(r, POSTIE_E_DELIVERY_FAILED, "delivery", w.error);
    }
    /* still queued: a transient failure, or another sender has it */
    return fail(r, POSTIE_E_DEFERRED, "delivery", w.seen ? w.error : "another sender has it");
}

postie_status_t postie_notify_session(postie_notifier_t *n, const postie_session_t *s,
                                      const postie_notification_t *m, postie_notify_result_t *r)
{
    postie_template_user_t user;
    postie_session_message_t def;
    const char *envelope_from;
    size_t total = m->to_count + m->cc_count + m->bcc_count;
    postie_status_t st;

    memset(r, 0, sizeof(*r));
    postie_error_clear(&r->error);
    r->session = s->name;
    if (total == 0 || total > POSTIE_NOTIFY_RCPT_MAX) {
        return fail(r, POSTIE_E_INVALID_ARGUMENT, "recipients",
                    total == 0 ? "no recipient" : "more than POSTIE_NOTIFY_RCPT_MAX");
    }
    for (size_t i = 0; i < total; i++) {
        const char *a = i < m->to_count                 ? m->to[i]
                        : i < m->to_count + m->cc_count ? m->cc[i - m->to_count]
                                                        : m->bcc[i - m->to_count - m->cc_count];
        bool non_ascii;
        r->rcpt[i].address = a;
        r->rcpt[i].state = POSTIE_RCPT_NOT_TRIED;
        st = a != NULL ? postie_address_check(a, false, &non_ascii) : POSTIE_E_INVALID_ARGUMENT;
        if (st != POSTIE_OK) {
            return fail(r, st, "recipient address", a != NULL ? a : "(null)");
        }
    }
    r->rcpt_count = total;

    /* From (the template over the acting user), envelope sender, prefix */
    user.fullname = m->user_name;
    user.email = m->user_email;
    st = postie_session_map_message(s, &user, m->raw_read != NULL ? NULL : m->subject, n->from_name,
                                    sizeof(n->from_name), n->subject, sizeof(n->subject), &def);
    if (st != POSTIE_OK) {
        return fail(r, st, "the session's message defaults",
                    postie_registry_field_name(def.failed));
    }
    envelope_from = m->envelope_from != NULL ? m->envelope_from : def.envelope_from;
    {
        bool non_ascii;
        st = postie_address_check(envelope_from, true, &non_ascii);
        if (st != POSTIE_OK) {
            return fail(r, st, "sender address", envelope_from);
        }
    }
    if (m->raw_read == NULL && (st = build_message(n, m, &def, r)) != POSTIE_OK) {
        return st;
    }
    if (m->mode == POSTIE_NOTIFY_NOW) {
        return send_now(n, s, m, envelope_from, r);
    }
    return send_queued(n, s, m, envelope_from, r);
}

/* Append to buf (cap octets, len used so far), cutting at the end. */
static void append(char *buf, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + 1 >= cap) {
        return;
    }
    if (n > cap - 1 - *len) {
        n = cap - 1 - *len;
    }
    memcpy(buf + *len, text, n);
    *len += n;
    buf[*len] = '\0';
}

static void append_reply(char *buf, size_t cap, size_t *len, const postie_reply_info_t *reply)
{
    char code[8];
    snprintf(code, sizeof(code), "%u", (unsigned)reply->code);
    append(buf, cap, len, code);
    if (reply->enhanced[0] != '\0') {
        append(buf, cap, len, " ");
        append(buf, cap, len, reply->enhanced);
    }
    if (reply->text[0] != '\0') {
        append(buf, cap, len, " ");
        append(buf, cap, len, reply->text);
    }
}

const char *postie_notify_describe(const postie_notify_result_t *r, char *buf, size_t cap)
{
    char id[POSTIE_QUEUE_ID_TEXT];
    size_t len = 0;

    if (cap == 0) {
        return buf;
    }
    buf[0] = '\0';
    id[0] = '\0';
    if (r->queue_id != 0) {
        postie_queue_id_format(r->queue_id, id);
    }
    if (r->status == POSTIE_OK) {
        append(buf, cap, &len, r->queue_id == 0 ? "sent" : r->queued ? "queued " : "delivered ");
        append(buf, cap, &len, id);
        if (r->reply.code != 0) {
            append(buf, cap, &len, " (");
            append_reply(buf, cap, &len, &r->reply);
            append(buf, cap, &len, ")");
        }
        return buf;
    }
    if (r->queue_id != 0) {
        append(buf, cap, &len, r->queued ? "deferred " : "failed ");
        append(buf, cap, &len, id);
        append(buf, cap, &len, ": ");
    }
    if (r->session != NULL) {
        append(buf, cap, &len, "session ");
        append(buf, cap, &len, r->session);
        append(buf, cap, &len, ": ");
    }
    append(buf, cap, &len, r->error.phase != NULL ? r->error.phase : "?");
    append(buf, cap, &len, ": ");
    append(buf, cap, &len, postie_status_str(r->status));
    if (r->error.subject[0] != '\0') {
        append(buf, cap, &len, ": ");
        append(buf, cap, &len, r->error.subject);
    }
    if (r->error.reply.code != 0) {
        append(buf, cap, &len, "; server said: ");
        append_reply(buf, cap, &len, &r->error.reply);
    }
    return buf;
}
