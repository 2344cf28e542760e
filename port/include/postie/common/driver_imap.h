/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IMAP engine as the driver sees it (postie/common/driver.h).
 *
 *   postie_imap_init(&imap, &cfg);
 *   postie_imap_start(&imap, postie_clock_ms());
 *   postie_driver_init(&d, &postie_driver_imap_ops, &imap, transport,
 *                      NULL, 0, &hooks);
 *   postie_driver_run(&d, 0, POSTIE_MAILBOX_EV_READY);        greeting .. SELECT
 *   postie_imap_mailbox_ops.retrieve(&imap, uid, 0, fn, ctx, postie_clock_ms());
 *   postie_driver_run(&d, 0, POSTIE_MAILBOX_EV_RETRIEVED);    one message
 *   postie_imap_mailbox_ops.finish(&imap, postie_clock_ms());
 *   postie_driver_run(&d, POSTIE_IMAP_CLOSED, 0);             (EXPUNGE,) LOGOUT
 *
 * Events reach the hook with type = postie_mailbox_event_type_t and index =
 * the low 16 bits of the UID (RETRIEVED, REMOVED). The engine never wants a
 * body: no staging buffer is needed.
 */
#ifndef POSTIE_DRIVER_IMAP_H
#define POSTIE_DRIVER_IMAP_H

#include "postie/common/driver.h"
#include "postie/imap/imap.h"

/* The engine pointer given to the driver is a postie_imap_t *. */
extern const postie_engine_ops_t postie_driver_imap_ops;

#endif /* POSTIE_DRIVER_IMAP_H */
