/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TEMPORARY: stand-ins for the fetch branch's port/posix implementations
 * (fetch_account.c, mailbox_client.c, mailbox_check.c) until they are
 * merged, so this branch builds and its commands can be tried. Each says
 * POSTIE_E_BAD_STATE ("not available in this build"). Removed by the merge
 * that brings the real ones (see the fetchcli report).
 */
#include <string.h>

#include "postie/posix/fetch_account.h"
#include "postie/posix/mailbox_check.h"

static void pending(postie_error_t *e)
{
    if (e != NULL) {
        memset(e, 0, sizeof(*e));
        e->status = POSTIE_E_BAD_STATE;
        e->phase = "fetching (not in this build yet)";
    }
}

void postie_mailbox_client_config_defaults(postie_mailbox_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->protocol = POSTIE_FETCH_POP3;
}

void postie_fetch_account_options_defaults(postie_fetch_account_options_t *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->delete_after_archive = true;
}

postie_status_t postie_fetch_account(const postie_mailbox_client_config_t *cfg,
                                     const postie_fetch_account_options_t *opt,
                                     postie_fetch_account_report_t *report)
{
    (void)cfg;
    (void)opt;
    pending(&report->run.error);
    report->run.status = POSTIE_E_BAD_STATE;
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_fetch_list(const postie_mailbox_client_config_t *cfg,
                                  postie_fetch_list_fn fn, void *ctx, postie_mailbox_info_t *info,
                                  postie_error_t *error)
{
    (void)cfg;
    (void)fn;
    (void)ctx;
    (void)info;
    pending(error);
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_fetch_message_to_file(const postie_mailbox_client_config_t *cfg, uint32_t id,
                                             const char *out_path, uint64_t size_max,
                                             uint64_t *octets, postie_error_t *error)
{
    (void)cfg;
    (void)id;
    (void)out_path;
    (void)size_max;
    (void)octets;
    pending(error);
    return POSTIE_E_BAD_STATE;
}

postie_status_t postie_mailbox_test_connection(const postie_mailbox_client_config_t *cfg,
                                               postie_mailbox_check_report_t *report)
{
    (void)cfg;
    memset(report, 0, sizeof(*report));
    report->result[POSTIE_MCHECK_DNS] = POSTIE_STEP_FAILED;
    report->status = POSTIE_E_BAD_STATE;
    pending(&report->error);
    return POSTIE_E_BAD_STATE;
}

const char *postie_mailbox_check_step_name(postie_mailbox_check_step_t step)
{
    static const char *const names[] = {"DNS", "TCP", "TLS", "capabilities", "login", "mailbox"};
    return (unsigned)step < POSTIE_MCHECK_COUNT ? names[step] : "?";
}
