/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The archive sink: where fetched messages go, one at a time, under a
 * stable key.
 *
 *   begin(key, size)   a new message; nothing of it is visible yet
 *   write(data, len)   its octets, in order, in chunks of any size (> 0)
 *   commit()           the message is complete. Without flush (NULL) it is
 *                      durable when this returns POSTIE_OK: a power cut from
 *                      then on keeps it whole. With flush, it may stay
 *                      invisible (and not durable) until the next flush.
 *   flush()            may be NULL. Make every message committed since the
 *                      last flush durable and visible under its key: when it
 *                      returns POSTIE_OK a power cut keeps them all. At any
 *                      moment before, each of them is either absent or
 *                      complete and durable (never a partial or not yet
 *                      durable message under its key): the data reach
 *                      stable storage before the name does.
 *   abort()            drop the message in progress (after begin, before a
 *                      successful commit) and every message committed since
 *                      the last flush; leaves nothing visible behind
 *   contains(key)      whether a message was committed (and, with flush,
 *                      flushed) under key
 *
 * Group commit: the fetch run (postie/fetch/fetch.h) works a batch of
 * messages as one durability unit: it commits each message of the batch,
 * flushes once, records the whole batch in the fetch state and saves it
 * once, and only then removes the batch's messages on the server. A sink
 * that can make many messages durable at once (one pass of fsyncs and one
 * directory sync for a Maildir) gains most from a flush op; a sink without
 * one pays its durability per commit, as before.
 *
 * The run deletes a message on the server only after commit (and flush)
 * returned POSTIE_OK and the fetch state recording it was saved.
 * contains() closes the window between those two: a crash after the
 * flush and before the state was saved leaves messages in the archive that
 * the state does not know; the next run asks contains() before archiving a
 * message the state does not know (only after a run that did not end
 * cleanly, or with no saved state), and records it instead of archiving it
 * again. A sink without contains() (NULL) cannot close that window: a crash
 * exactly there archives those messages twice (never loses one).
 *
 * Keys are built by the fetch run: printable ASCII 0x21..0x7E (no space),
 * at most POSTIE_ARCHIVE_KEY_MAX - 1 octets, unique per account and message:
 *   IMAP  "<prefix>imap-<UIDVALIDITY>-<UID>"   e.g. "imap-1700000000-42"
 *   POP3  "<prefix>pop3-<UIDL>"                e.g. "pop3-000000015f3a2b10"
 * The prefix is the run's key_prefix option (e.g. the account name and a
 * '.', so several accounts can share one archive). A POP3 UIDL may hold any
 * of 0x21..0x7E ('/', ':', '%' ...): a sink that makes file names of keys
 * encodes them.
 *
 * Calls come one message at a time from one thread (the run's): begin,
 * write..., then exactly one of commit or abort; flush and contains only
 * between messages; abort also when no message is in progress but commits
 * await a flush. Data arrive inside the mailbox engine's receive path: write must
 * not block for long (it may do file I/O; the engine's reply deadline keeps
 * running).
 */
#ifndef POSTIE_ARCHIVE_H
#define POSTIE_ARCHIVE_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest key with its NUL. */
#define POSTIE_ARCHIVE_KEY_MAX 128

/* The sink's operations. ctx is the sink's own. Every op returns POSTIE_OK
 * or a failure (POSTIE_E_ARCHIVE_FAILED, or a more precise status: the run
 * reports it and stops, losing nothing). */
typedef struct {
    /* Start a message under key (NUL-terminated, see above). size is what
     * the server announced (octets; 0 when not known): a hint, the data may
     * differ. */
    postie_status_t (*begin)(void *ctx, const char *key, uint64_t size);
    postie_status_t (*write)(void *ctx, const uint8_t *data, size_t len);
    /* The message is complete: durable now (flush NULL) or at the next
     * flush. On failure the message must not be considered stored (the run
     * calls abort next). */
    postie_status_t (*commit)(void *ctx);
    /* Drop the message in progress and the commits not yet flushed. Never
     * fails (a sink that cannot clean up leaves a stray temporary, never a
     * message under key). */
    void (*abort)(void *ctx);
    /* *found = whether a message was committed under key. May be NULL (see
     * above). A failure stops the run. */
    postie_status_t (*contains)(void *ctx, const char *key, bool *found);
    /* Make the commits since the last flush durable and visible (see
     * above). May be NULL: commit is durable by itself. On failure some of
     * them may be visible (each complete and durable), others not; the run
     * records none of them and stops (the next run's contains() sorts them
     * out). */
    postie_status_t (*flush)(void *ctx);
} postie_archive_ops_t;

/* A sink: ops plus the sink's context. */
typedef struct {
    const postie_archive_ops_t *ops;
    void *ctx;
} postie_archive_t;

/* ---- The callback sink, for firmware ----------------------------------------
 *
 * The board supplies plain functions (for a flash file system, a
 * USB stick, an upload to another host); this sink checks the call order,
 * counts the octets, bounds the message size and turns the board's
 * failures into POSTIE_E_ARCHIVE_FAILED. What each function must guarantee:
 *
 *   open(ctx, key, size)     prepare a new, invisible message under key
 *                            (a temporary file, a flash area). Return false
 *                            on failure. Called again only after commit or
 *                            discard of the previous one.
 *   append(ctx, data, len)   add len > 0 octets at the end, in order. May
 *                            buffer. Return false on failure (the message is
 *                            then discarded).
 *   persist(ctx)             make the whole message durable and visible
 *                            under key, atomically: after a power cut at any
 *                            time either the complete message is stored under
 *                            key or nothing is (a partial one must never be
 *                            found by exists()). Only return true once it is
 *                            durable (flushed to flash, synced).
 *   discard(ctx)             forget the message in progress (the invisible
 *                            part may be reclaimed later).
 *   exists(ctx, key, &found) whether persist() completed for key, also in
 *                            an earlier boot. May be NULL (then the crash
 *                            window above is not closed). Return false when
 *                            the answer is not known (the run stops).
 *
 * This sink has no flush op: each persist() is its own durability unit
 * (the group commit of the run still saves the fetch state once per batch
 * and pipelines the retrieves and removes).
 */
typedef struct {
    bool (*open)(void *ctx, const char *key, uint64_t size);
    bool (*append)(void *ctx, const uint8_t *data, size_t len);
    bool (*persist)(void *ctx);
    void (*discard)(void *ctx);
    bool (*exists)(void *ctx, const char *key, bool *found); /* may be NULL */
} postie_archive_callbacks_t;

/* The callback sink's state. RAM: sizeof(postie_archive_cb_t), 40 octets on
 * x86-64 (32 on Cortex-M4). Treat every field as private but octets. */
typedef struct {
    const postie_archive_callbacks_t *cb;
    void *ctx;
    uint64_t size_max; /* 0: no bound */
    uint64_t octets;   /* of the message in progress (or the last committed) */
    bool open;         /* a message is in progress */
    bool failed;       /* append failed: only abort is accepted */
} postie_archive_cb_t;

/* A sink over the board's callbacks (cb and ctx stay owned by the caller
 * and must outlive the sink). size_max: refuse a message whose data pass it
 * (POSTIE_E_MESSAGE_TOO_LARGE from write); 0: no bound. *out is the sink to
 * hand to the run; it points into cs. exists NULL makes contains NULL. */
void postie_archive_cb_init(postie_archive_cb_t *cs, const postie_archive_callbacks_t *cb,
                            void *ctx, uint64_t size_max, postie_archive_t *out);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_ARCHIVE_H */
