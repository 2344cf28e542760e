/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outgoing queue: messages waiting to be delivered, kept in a store
 * that survives the sender (a spool directory on POSIX, RAM or flash on a
 * board), retried with backoff, and moved to an error queue when they fail
 * for good. This file holds everything that does not depend on the store
 * or the network: the entry format, enqueue, claims, recording an attempt,
 * the error queue. The delivery run (postie/queue/delivery.h) decides
 * which entries to send and records the outcomes; its driver
 * (port/posix/queue_run.c on hosts) connects them to an SMTP client.
 *
 * Entry format (one per message, written once, then only its state slots
 * change):
 *
 *   header  "PSTQ", version, id, creation time, message size and flags,
 *           session name, sender, recipients; CRC-32 at the end
 *   slot A  state: queued / error / done, attempts, next attempt, last
 *   slot B  error, one octet per recipient (pending, delivered, failed),
 *           a sequence number and a CRC-32 each
 *   message the composed message, exactly as it will be sent
 *
 * A state change writes the slot not holding the newest state and syncs
 * it, so a crash mid-write leaves the previous state readable: the newest
 * slot whose CRC matches wins. An entry whose header or both slots fail
 * their checks, or that is shorter than its header says, is reported as
 * POSTIE_E_QUEUE_CORRUPT with the reason, and set aside by the caller.
 *
 * Exactly once, as far as SMTP allows: the driver calls
 * postie_queue_record() as soon as the server has answered the end of the
 * message, before anything else; a recipient recorded delivered is never
 * sent again. The only window left is between the server's acceptance
 * and that record (a crash there resends the message).
 *
 * Claims: a driver works only on entries it has claimed (the store makes
 * the claim exclusive, e.g. with a file lock that dies with its process),
 * so two flushers never send the same message.
 *
 * RAM: sizeof(postie_queue_t) = POSTIE_QUEUE_IO_CHUNK + 64 octets;
 * sizeof(postie_queue_entry_t) = POSTIE_QUEUE_ENVELOPE_MAX + 9 x
 * POSTIE_QUEUE_RCPT_MAX + POSTIE_QUEUE_ERROR_TEXT_MAX + about 180 octets
 * (4 736 with the defaults on x86-64). No allocation.
 */
#ifndef POSTIE_QUEUE_H
#define POSTIE_QUEUE_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/queue/queue_policy.h"
#include "postie/smtp/smtp.h"
#include "postie/common/status.h"
#include "postie_config_defaults.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Entry ids: creation second in the high 32 bits, random low bits, so
 * sorting ids gives arrival order. Printed as 16 lower-case hex digits. */
typedef uint64_t postie_queue_id_t;
#define POSTIE_QUEUE_ID_TEXT 17 /* 16 digits and a terminator */

/* Session names in the queue, as given to enqueue (at most 63 octets). */
#define POSTIE_QUEUE_SESSION_MAX 64

/* ---- Storage port -------------------------------------------------------
 *
 * A store keeps entries as byte strings addressed by id. Handles are
 * small non-negative integers chosen by the store. Every call returns
 * POSTIE_OK or a status; POSTIE_E_NOT_FOUND when the id does not exist,
 * POSTIE_E_BUSY when another holder has claimed it.
 */
typedef struct {
    /* Start a new, invisible entry of exactly size octets. */
    postie_status_t (*create)(void *ctx, postie_queue_id_t id, uint64_t size, int32_t *h);
    /* Write len octets at offset off of an entry opened by create or
     * open(claim = true). */
    postie_status_t (*write)(void *ctx, int32_t h, uint64_t off, const uint8_t *buf, size_t len);
    /* Make the written octets durable (fsync on POSIX). */
    postie_status_t (*sync)(void *ctx, int32_t h);
    /* Make a created entry visible to list and open, durably, and close
     * the handle. On failure the entry does not exist. */
    postie_status_t (*publish)(void *ctx, int32_t h);
    /* Drop a created entry that was not published, and close the handle. */
    void (*abandon)(void *ctx, int32_t h);
    /* Every visible id, in any order, into ids[0..cap); *total counts all
     * of them even past cap. */
    postie_status_t (*list)(void *ctx, postie_queue_id_t *ids, size_t cap, size_t *total);
    /* Open an entry; with claim, exclusively (POSTIE_E_BUSY when another
     * holder has it). *size: the entry's length. POSTIE_E_QUEUE_CORRUPT
     * when the name holds something that is not an entry (a link, a
     * special file): it is reported as damaged and set aside. */
    postie_status_t (*open)(void *ctx, postie_queue_id_t id, bool claim, int32_t *h,
                            uint64_t *size);
    postie_status_t (*read)(void *ctx, int32_t h, uint64_t off, uint8_t *buf, size_t len);
    /* Close a handle; ends its claim. */
    void (*close)(void *ctx, int32_t h);
    /* Delete a claimed entry (its handle stays open until close). */
    postie_status_t (*remove)(void *ctx, int32_t h);
    /* Move a damaged entry out of the queue, keeping it for inspection
     * where the store can (POSIX: the spool's "corrupt" directory). */
    postie_status_t (*set_aside)(void *ctx, postie_queue_id_t id);
    /* Visible entries and the octets they occupy (what is not an entry,
     * e.g. a link, counts for neither). */
    postie_status_t (*usage)(void *ctx, uint32_t *count, uint64_t *bytes);
} postie_queue_store_ops_t;

typedef struct {
    const postie_queue_store_ops_t *ops;
    void *ctx;
} postie_queue_store_t;

/* ---- Queue -------------------------------------------------------------
 *
 * Every postie_error_t *err argument of the functions below may be NULL
 * (no detail wanted; the status still says what happened). */

typedef struct {
    uint32_t messages_max; /* 0: POSTIE_QUEUE_MESSAGES_MAX */
    uint64_t bytes_max;    /* 0: POSTIE_QUEUE_BYTES_MAX */
    uint32_t max_age_s;    /* 0: POSTIE_QUEUE_MAX_AGE_S */
} postie_queue_limits_t;

typedef struct {
    postie_queue_store_t store;
    postie_queue_limits_t limits;
    uint8_t io[POSTIE_QUEUE_IO_CHUNK];
} postie_queue_t;

#define postie_queue_init POSTIE_CONFIGURED(postie_queue_init)
void postie_queue_init(postie_queue_t *q, postie_queue_store_t store,
                       const postie_queue_limits_t *limits /* NULL: defaults */);

/* A message to enqueue. The message octets come from read (the composed
 * message, e.g. postie_mime_read, or a file) and must be exactly size. */
typedef struct {
    const char *session; /* name the driver resolves when sending */
    const char *from;    /* reverse path, "" for <> */
    const char *const *rcpt;
    size_t rcpt_count; /* 1..POSTIE_QUEUE_RCPT_MAX */
    uint64_t size;
    bool body_8bit;
    bool smtputf8;
} postie_queue_message_t;

/* Store the message durably, due now. *id names it. Errors:
 * POSTIE_E_QUEUE_FULL (err->subject says which limit), field errors naming
 * the field (session, from, rcpt[i]), POSTIE_E_SOURCE_FAILED when read
 * fails or gives a different number of octets, the store's errors.
 * Nothing is left behind on failure. */
postie_status_t postie_queue_enqueue(postie_queue_t *q, const postie_queue_message_t *m,
                                     postie_read_fn read, void *read_ctx, int64_t now,
                                     uint32_t random, postie_queue_id_t *id, postie_error_t *err);

typedef enum {
    POSTIE_QSTATE_QUEUED = 1, /* some recipients still to deliver */
    POSTIE_QSTATE_ERROR = 2,  /* nothing left to try; some recipient failed */
    POSTIE_QSTATE_DONE = 3    /* every recipient delivered; being removed */
} postie_queue_state_t;

typedef enum {
    POSTIE_QRCPT_PENDING = 0,
    POSTIE_QRCPT_DELIVERED = 1,
    POSTIE_QRCPT_FAILED = 2
} postie_queue_rcpt_state_t;

/* The mutable part of an entry (one slot). */
typedef struct {
    uint32_t seq;
    uint8_t state; /* postie_queue_state_t */
    uint32_t attempts;
    int64_t next_attempt;
    int64_t age_base;     /* expiry counts from here; resend restarts it */
    int64_t last_attempt; /* the last attempt, or when it was given up without one */
    uint16_t last_status; /* postie_status_t of the last failure, 0 none */
    char last_error[POSTIE_QUEUE_ERROR_TEXT_MAX];
    uint8_t rcpt[POSTIE_QUEUE_RCPT_MAX]; /* postie_queue_rcpt_state_t */
} postie_queue_slot_t;

/* A loaded entry: the header decoded and the newest valid slot. */
typedef struct {
    postie_queue_id_t id;
    int64_t created;
    uint64_t size;        /* whole entry in the store */
    uint64_t body_offset; /* the message starts here */
    uint64_t body_size;
    bool body_8bit;
    bool smtputf8;
    char session[POSTIE_QUEUE_SESSION_MAX];
    const char *from; /* into text */
    const char *rcpt[POSTIE_QUEUE_RCPT_MAX];
    uint16_t rcpt_count;
    char text[POSTIE_QUEUE_ENVELOPE_MAX];
    uint64_t slot_offset;
    uint8_t error_room; /* error text octets in each slot */
    postie_queue_slot_t slot;
    int32_t handle; /* -1 when not open */
    bool claimed;
} postie_queue_entry_t;

/* Every id in the store, sorted (arrival order), into ids[0..cap); *total
 * counts them all. */
postie_status_t postie_queue_list(postie_queue_t *q, postie_queue_id_t *ids, size_t cap,
                                  size_t *total);

/* Open and decode an entry; with claim, exclusively. On POSTIE_OK the
 * entry stays open until postie_queue_release(). POSTIE_E_NOT_FOUND when
 * it is gone (delivered or deleted meanwhile), POSTIE_E_BUSY when another
 * driver holds it, POSTIE_E_QUEUE_CORRUPT with err->subject naming the
 * damage. An entry found in state DONE (its removal was interrupted) is
 * removed when claimed, and reported as POSTIE_E_NOT_FOUND. */
postie_status_t postie_queue_load(postie_queue_t *q, postie_queue_id_t id, bool claim,
                                  postie_queue_entry_t *e, postie_error_t *err);

void postie_queue_release(postie_queue_t *q, postie_queue_entry_t *e);

/* Move a damaged entry aside (see the store's set_aside). */
postie_status_t postie_queue_set_aside(postie_queue_t *q, postie_queue_id_t id);

/* True when a queued entry is due at now. */
bool postie_queue_due(const postie_queue_entry_t *e, int64_t now);

/* Recipients still pending, as an envelope for postie_smtp_client_send:
 * rcpt[] (cap >= POSTIE_QUEUE_RCPT_MAX) gets their addresses in entry
 * order. */
void postie_queue_envelope(const postie_queue_entry_t *e, postie_smtp_envelope_t *env,
                           postie_smtp_rcpt_t *rcpt);

/* Reads the message of an open entry, for the SMTP client's body source. */
typedef struct {
    postie_queue_t *q;
    const postie_queue_entry_t *e;
    uint64_t pos;
} postie_queue_body_reader_t;

void postie_queue_body_reader_init(postie_queue_body_reader_t *r, postie_queue_t *q,
                                   const postie_queue_entry_t *e);
postie_status_t postie_queue_body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got);

/* What an attempt did to the entry. */
typedef struct {
    uint16_t delivered; /* recipients delivered by this attempt */
    uint16_t failed;    /* recipients failed for good by this attempt */
    uint16_t pending;   /* recipients left for a later attempt */
    postie_queue_state_t state;
} postie_queue_outcome_t;

/* Record one attempt on a claimed entry, durably, before anything else
 * happens: rcpt[] is the envelope from postie_queue_envelope after the
 * attempt, message_status the attempt's result (POSTIE_OK when the server
 * took the message), why its detail (may be NULL; NULL when POSTIE_OK). Delivered
 * recipients are final; 4xx and transient failures are retried after
 * postie_queue_backoff_s(); 5xx, permanent failures and expiry move the
 * entry to the error queue once nothing is pending. An entry with every
 * recipient delivered is removed. */
postie_status_t postie_queue_record(postie_queue_t *q, postie_queue_entry_t *e,
                                    const postie_smtp_rcpt_t *rcpt, postie_status_t message_status,
                                    const postie_error_t *why, int64_t now, uint32_t random,
                                    postie_queue_outcome_t *out);

/* Record, on a claimed entry, that it was not tried: its session failed
 * earlier in the same run (session_status and why: that failure, which
 * is not POSTIE_OK). No attempt is counted: attempts and the last attempt
 * stay, the error text says "not tried (its session failed): ...". A
 * transient failure leaves the pending recipients queued, next attempt at
 * retry_at (the session's next try) or later if the entry's own schedule
 * says so; a permanent one (bad configuration, a certificate that does
 * not verify) fails them, as it would have failed this message; expiry
 * applies as in postie_queue_record. POSTIE_E_BAD_STATE when the entry is
 * not claimed or not queued. */
postie_status_t postie_queue_record_untried(postie_queue_t *q, postie_queue_entry_t *e,
                                            postie_status_t session_status,
                                            const postie_error_t *why, int64_t now,
                                            int64_t retry_at, postie_queue_outcome_t *out);

/* Error queue: put a failed entry back in the queue, due now, its failed
 * recipients pending again and its age restarted. POSTIE_E_BAD_STATE when
 * the entry is not in the error queue. */
postie_status_t postie_queue_resend(postie_queue_t *q, postie_queue_id_t id, int64_t now,
                                    postie_queue_entry_t *work, postie_error_t *err);

/* Delete an entry, queued or failed (a damaged one is set aside). work
 * is scratch for both calls. */
postie_status_t postie_queue_delete(postie_queue_t *q, postie_queue_id_t id,
                                    postie_queue_entry_t *work, postie_error_t *err);

/* Text form of an id (16 hex digits) and back. */
void postie_queue_id_format(postie_queue_id_t id, char out[POSTIE_QUEUE_ID_TEXT]);
bool postie_queue_id_parse(const char *text, postie_queue_id_t *id);

const char *postie_queue_state_name(postie_queue_state_t s);

/* ---- RAM store ----------------------------------------------------------
 *
 * A store in a caller-provided byte array for boards without a file
 * system: entries are packed one after another; removing one slides the
 * later ones down, so free space is never fragmented and a message
 * waiting for a retry never blocks the space behind it (a ring would).
 * Contents do not survive a reset. Claims are flags: one task drives the
 * queue at a time (or the caller serialises calls).
 *
 * RAM: the array (entries need their message size + a header of about
 * 60 octets + the addresses + 2 state slots) plus sizeof(postie_queue_ram_t)
 * = 24 octets per entry slot + 40.
 */
typedef struct {
    postie_queue_id_t id;
    uint32_t offset;
    uint32_t size;
    uint8_t flags; /* in use, visible, claimed, open */
    uint8_t opens;
} postie_queue_ram_entry_t;

typedef struct {
    uint8_t *mem;
    uint32_t cap;
    uint32_t used;
    uint32_t count;
    postie_queue_ram_entry_t e[POSTIE_QUEUE_RAM_ENTRIES];
} postie_queue_ram_t;

#define postie_queue_ram_init POSTIE_CONFIGURED(postie_queue_ram_init)
void postie_queue_ram_init(postie_queue_ram_t *r, uint8_t *mem, uint32_t cap);
postie_queue_store_t postie_queue_ram_store(postie_queue_ram_t *r);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_QUEUE_H */
