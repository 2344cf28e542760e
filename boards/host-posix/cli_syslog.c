/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging what happened to mail (see cli_log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "postie/common/text.h"

#include "cli_syslog.h"

static const char *log_ident = "postie";
static bool log_on;
static bool log_opened;

void cli_syslog_open(const char *ident)
{
    log_ident = ident;
}

void cli_syslog_enable(bool on)
{
    log_on = on;
}

bool cli_syslog_enabled(void)
{
    return log_on;
}

static void emit(cli_syslog_level_t level, const char *text)
{
    static const int prio[] = {LOG_INFO, LOG_WARNING, LOG_ERR};
    static const char *const names[] = {"info", "warning", "error"};
    const char *file = getenv("POSTIE_LOG_FILE");
    if (file != NULL && file[0] != '\0') {
        FILE *f = fopen(file, "a");
        if (f != NULL) {
            fprintf(f, "%s[%s]: %s\n", log_ident, names[level], text);
            fclose(f);
        }
        return;
    }
    if (!log_opened) {
        openlog(log_ident, LOG_PID, LOG_MAIL);
        log_opened = true;
    }
    syslog(prio[level], "%s", text);
}

void cli_syslog_line(cli_syslog_level_t level, const char *fmt, ...)
{
    char raw[1024];
    char line[1024];
    va_list ap;
    if (!log_on) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    postie_text_copy_printable(line, sizeof(line), raw, strlen(raw));
    emit(level, line);
}

void cli_syslog_mail(const char *event, postie_queue_id_t id, const char *session,
                     const char *const *rcpt, size_t n, const postie_reply_info_t *reply,
                     const char *detail)
{
    char line[1024];
    size_t len = 0;
    cli_syslog_level_t level = strcmp(event, "failed") == 0     ? CLI_SYSLOG_ERROR
                               : strcmp(event, "deferred") == 0 ? CLI_SYSLOG_WARNING
                                                                : CLI_SYSLOG_INFO;
#define ADD(...)                                                            \
    do {                                                                    \
        if (len < sizeof(line)) {                                           \
            int w_ = snprintf(line + len, sizeof(line) - len, __VA_ARGS__); \
            len = w_ < 0 ? sizeof(line) : len + (size_t)w_;                 \
        }                                                                   \
    } while (0)
    if (!log_on) {
        return;
    }
    ADD("%s", event);
    if (id != 0) {
        char name[POSTIE_QUEUE_ID_TEXT];
        postie_queue_id_format(id, name);
        ADD(" id=%s", name);
    }
    if (session != NULL) {
        ADD(" session=%s", session);
    }
    for (size_t i = 0; i < n; i++) {
        ADD("%s%s", i == 0 ? " rcpt=" : ",", rcpt[i]);
    }
    if (reply != NULL && reply->code != 0) {
        ADD(" reply=%u%s%s", (unsigned)reply->code, reply->enhanced[0] != '\0' ? " " : "",
            reply->enhanced);
    }
    if (detail != NULL && detail[0] != '\0') {
        ADD(" detail=\"%s\"", detail);
    }
#undef ADD
    cli_syslog_line(level, "%s", line);
}

void cli_syslog_notify(const postie_notify_result_t *r, const char *const *rcpt, size_t n)
{
    const char *event;
    char detail[512] = "";
    const postie_reply_info_t *reply = &r->reply;
    if (r->status == POSTIE_OK) {
        event = r->queue_id == 0 ? "sent" : r->queued ? "queued" : "delivered";
    } else if (r->status == POSTIE_E_DEFERRED) {
        event = "deferred";
    } else {
        event = "failed";
    }
    if (r->status != POSTIE_OK) {
        snprintf(detail, sizeof(detail), "%s: %s%s%s",
                 r->error.phase != NULL ? r->error.phase : "?", postie_status_str(r->status),
                 r->error.subject[0] != '\0' ? ": " : "", r->error.subject);
        if (r->error.reply.code != 0) {
            reply = &r->error.reply;
        }
    }
    cli_syslog_mail(event, r->queue_id, r->session, rcpt, n, reply, detail);
}

void cli_syslog_run_report(void *ctx, const postie_run_report_t *rep)
{
    const char *rcpt[POSTIE_QUEUE_RCPT_MAX];
    size_t n = 0;
    const char *event = rep->outcome->state == POSTIE_QSTATE_DONE    ? "delivered"
                        : rep->outcome->state == POSTIE_QSTATE_ERROR ? "failed"
                                                                     : "deferred";
    (void)ctx;
    if (rep->envelope != NULL) {
        for (size_t i = 0; i < rep->envelope->rcpt_count && n < POSTIE_QUEUE_RCPT_MAX; i++) {
            rcpt[n++] = rep->envelope->rcpt[i].address;
        }
    }
    cli_syslog_mail(event, rep->id, rep->session, rcpt, n, rep->reply, rep->error);
}
