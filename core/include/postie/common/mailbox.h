/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a mailbox engine (POP3, IMAP) offers the fetch run: the shared shape
 * of both, so the code that archives and deletes is written once.
 *
 * A mailbox engine is a sans-IO engine like the SMTP engine. The driver
 * runs it through a glue table in port/common (driver_pop3.c,
 * driver_imap.c, as driver_smtp.c does for SMTP); the engine itself exports
 * a postie_mailbox_ops_t (postie_pop3_mailbox_ops, postie_imap_mailbox_ops)
 * with the commands below, each started when the engine is READY and
 * reported by an event when it completes:
 *
 *   open      greeting, capabilities, STLS/STARTTLS as configured, login,
 *             and for IMAP the SELECT of the folder: POSTIE_MAILBOX_EV_READY
 *             (info() is then valid). Started by the engine's own start call
 *             (postie_pop3_start, postie_imap_start), not through the ops.
 *   list      every message from a given id up, in ascending id order,
 *             through the item callback: POSTIE_MAILBOX_EV_LISTED
 *   retrieve  one message, its octets exactly as the server holds them
 *             (POP3: dot-unstuffed; IMAP: the literal), in chunks through
 *             the data callback: POSTIE_MAILBOX_EV_RETRIEVED. A message that
 *             ends early (no terminating dot, a short literal, a dropped
 *             connection) is an error, never a complete message.
 *   remove    mark one message for deletion: POSTIE_MAILBOX_EV_REMOVED
 *             (POP3 DELE; IMAP UID STORE +FLAGS.SILENT (\Deleted), and
 *             UID EXPUNGE of that UID when UIDPLUS is offered)
 *
 * An engine may join commands of one kind started one after the other into
 * one protocol command (the IMAP engine sends the retrieves started before
 * its command leaves as one UID FETCH over a UID set, and the removes as
 * one UID STORE and one UID EXPUNGE); each still has its own data callback
 * context and its own completion event. Such an engine may refuse
 * (POSTIE_E_BAD_STATE) a command of a kind while an earlier one of that
 * kind is out; start it again after that one's event.
 *   finish    make the deletions final and log out: POSTIE_MAILBOX_EV_CLOSED
 *             (POP3 QUIT, which is when a POP3 server deletes; IMAP
 *             EXPUNGE when UIDPLUS was not offered, then LOGOUT)
 *
 * Pipelining: when the server allows it (POP3 PIPELINING, RFC 2449; IMAP
 * always, RFC 9051 section 5.5), the engine may report READY again while
 * earlier commands still await their replies, up to its pipeline depth, so
 * the fetch run can put "remove N" and "retrieve N+1" in one flight.
 * Completion events of one kind come in the order those commands were
 * started; across kinds there is no order: a retrieve completes as soon as
 * its message is complete (IMAP: at the end of its FETCH response, before
 * the tagged completion of the UID FETCH), an IMAP remove with UIDPLUS only
 * when its UID EXPUNGE, sent after the store was answered, is answered, so
 * either may complete before an older command of the other kind. A
 * retrieve's data callback runs only for the message being received.
 * Without pipelining READY means no command is outstanding.
 *
 * A failure ends the session: FAILED is set, POSTIE_MAILBOX_EV_FAILED is
 * queued, and the engine's error op says why (status, the step, the server's
 * text). Deletions a POP3 server had not made final are then undone by the
 * server; that is why the fetch state, not the server, says what has been
 * archived.
 *
 * Ids: POP3 message numbers are valid for one session only; the UIDL is the
 * stable name. IMAP ids are UIDs, stable while UIDVALIDITY stays the same.
 *
 * Callbacks run inside the engine's rx_ack (or poll); they must not call
 * back into the engine. A callback that returns anything but POSTIE_OK ends
 * the session with that status (the step says "storing the message" or
 * "listing").
 */
#ifndef POSTIE_MAILBOX_H
#define POSTIE_MAILBOX_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A UIDL is 1 to 70 octets in 0x21..0x7E (RFC 1939 section 7). */
#define POSTIE_MAILBOX_UIDL_MAX 70

/* What list() fills in for each message (bits of postie_mail_item_t.have). */
#define POSTIE_MAIL_ITEM_SIZE 0x01u /* size is the server's count (POP3 LIST, IMAP RFC822.SIZE) */
#define POSTIE_MAIL_ITEM_UIDL 0x02u /* uidl is set (POP3 only) */

typedef struct {
    uint32_t id;   /* POP3: the message number in this session; IMAP: the UID */
    uint32_t have; /* POSTIE_MAIL_ITEM_* bits: which fields below are set */
    uint64_t size; /* octets, as the server counts them */
    char uidl[POSTIE_MAILBOX_UIDL_MAX + 1]; /* POP3 UIDL, NUL-terminated; "" for IMAP */
} postie_mail_item_t;

/* Called once per listed message, ids ascending. POP3 asked for both size
 * and UIDL may call twice for the same id (once from LIST, once from UIDL),
 * each time with the bits of what that answer gave. */
typedef postie_status_t (*postie_mailbox_item_fn)(void *ctx, const postie_mail_item_t *item);

/* Called with the message's octets in order, in chunks of any size (never
 * 0); the last chunk is followed by POSTIE_MAILBOX_EV_RETRIEVED. */
typedef postie_status_t (*postie_mailbox_data_fn)(void *ctx, const uint8_t *data, size_t len);

/* What the engine learned at open. */
typedef struct {
    bool secure;            /* the channel is TLS (implicit or upgraded) */
    uint32_t messages;      /* POP3 STAT count; IMAP EXISTS (updated as it changes) */
    uint64_t octets;        /* POP3 STAT size; IMAP 0 (not known) */
    uint32_t uidvalidity;   /* IMAP UIDVALIDITY of the selected folder; 0 for POP3 */
    uint32_t uidnext;       /* IMAP UIDNEXT when the server gave it, else 0 */
    char capabilities[160]; /* one line, for "account test": "UIDL PIPELINING ..." (may be cut) */
} postie_mailbox_info_t;

/* Event types (postie_engine_event_t.type) every mailbox engine uses. */
typedef enum {
    POSTIE_MAILBOX_EV_NONE = 0,
    POSTIE_MAILBOX_EV_READY,     /* logged in (and the folder selected): info() valid */
    POSTIE_MAILBOX_EV_LISTED,    /* the list is complete */
    POSTIE_MAILBOX_EV_RETRIEVED, /* the whole message went to the data callback */
    POSTIE_MAILBOX_EV_REMOVED,   /* the message is marked deleted (see remove) */
    POSTIE_MAILBOX_EV_CLOSED,    /* finish done: deletions final, logged out */
    POSTIE_MAILBOX_EV_ALERT,     /* IMAP [ALERT] or a POP3 notice: alert_text() */
    POSTIE_MAILBOX_EV_FAILED     /* the session failed (error op) */
} postie_mailbox_event_type_t;

/* The commands, as the fetch run calls them. Each returns POSTIE_OK when
 * the command was started, POSTIE_E_BAD_STATE when the engine is not READY,
 * POSTIE_E_INVALID_ARGUMENT for a bad id. now is postie_clock_ms(). */
typedef struct {
    /* from_id: list ids >= from_id (1: all). want: POSTIE_MAIL_ITEM_* bits
     * the caller needs (IMAP always gives the UID; POP3 sends LIST for
     * SIZE and UIDL for UIDL). */
    postie_status_t (*list)(void *e, uint32_t from_id, uint32_t want, postie_mailbox_item_fn fn,
                            void *ctx, uint32_t now);
    /* size_max: refuse a message whose announced or received size passes
     * it (POSTIE_E_MESSAGE_TOO_LARGE); 0: no bound beyond the engine's. */
    postie_status_t (*retrieve)(void *e, uint32_t id, uint64_t size_max, postie_mailbox_data_fn fn,
                                void *ctx, uint32_t now);
    postie_status_t (*remove)(void *e, uint32_t id, uint32_t now);
    postie_status_t (*finish)(void *e, uint32_t now);
    const postie_mailbox_info_t *(*info)(const void *e);
    /* The text of the last POSTIE_MAILBOX_EV_ALERT, NUL-terminated. */
    const char *(*alert_text)(const void *e);
    /* May be NULL. As list, but only the count (>= 1) lowest ids from
     * from_id up, for a caller that works a bounded window per round: an
     * engine offers it when it can answer that without listing the whole
     * mailbox (POP3: LIST n and UIDL n per message, pipelined, instead of a
     * LIST and a UIDL of every message each round). */
    postie_status_t (*list_range)(void *e, uint32_t from_id, uint32_t count, uint32_t want,
                                  postie_mailbox_item_fn fn, void *ctx, uint32_t now);
} postie_mailbox_ops_t;

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_MAILBOX_H */
