/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SMTP engine as the driver sees it (postie/common/driver.h).
 *
 *   postie_driver_init(&d, &postie_driver_smtp_ops, &smtp, transport,
 *                      stage, sizeof(stage), &hooks);
 *   postie_driver_run(&d, POSTIE_SMTP_READY, 0);              greeting .. AUTH
 *   postie_smtp_send(&smtp, &env, postie_clock_ms());
 *   postie_driver_set_body(&d, read, ctx);
 *   postie_driver_run(&d, 0, POSTIE_SMTP_EV_MESSAGE_DONE);    one message
 *   postie_smtp_quit(&smtp, postie_clock_ms());
 *   postie_driver_run(&d, POSTIE_SMTP_CLOSED, 0);             QUIT
 *
 * Events reach the hook with type = postie_smtp_event_type_t.
 */
#ifndef POSTIE_DRIVER_SMTP_H
#define POSTIE_DRIVER_SMTP_H

#include "postie/common/driver.h"
#include "postie/smtp/smtp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The engine pointer given to the driver is a postie_smtp_t *. */
extern const postie_engine_ops_t postie_driver_smtp_ops;

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_DRIVER_SMTP_H */
