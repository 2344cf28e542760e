/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POP3 engine as the driver sees it (postie/common/driver.h).
 *
 *   postie_pop3_init(&pop, &cfg);
 *   postie_pop3_start(&pop, postie_clock_ms());
 *   postie_driver_init(&d, &postie_driver_pop3_ops, &pop, transport,
 *                      NULL, 0, &hooks);
 *   postie_driver_run(&d, 0, POSTIE_MAILBOX_EV_READY);        greeting .. STAT
 *   postie_pop3_retrieve(&pop, 1, 0, sink, ctx, postie_clock_ms());
 *   postie_driver_run(&d, 0, POSTIE_MAILBOX_EV_RETRIEVED);    one message
 *   postie_pop3_finish(&pop, postie_clock_ms());
 *   postie_driver_run(&d, POSTIE_POP3_CLOSED, 0);             QUIT
 *
 * Events reach the hook with type = postie_mailbox_event_type_t and index
 * = the low 16 bits of the message number (the full number is in the
 * engine's event; the mailbox callbacks carry it too).
 */
#ifndef POSTIE_DRIVER_POP3_H
#define POSTIE_DRIVER_POP3_H

#include "postie/common/driver.h"
#include "postie/pop3/pop3.h"

/* The engine pointer given to the driver is a postie_pop3_t *. */
extern const postie_engine_ops_t postie_driver_pop3_ops;

#endif /* POSTIE_DRIVER_POP3_H */
