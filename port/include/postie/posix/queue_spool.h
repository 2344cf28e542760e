/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The queue's POSIX store: a spool directory.
 *
 *   DIR/q/<id>        published entries (16 hex digits), one file each
 *   DIR/tmp/<id>.<pid> entries being written; invisible to the queue
 *   DIR/corrupt/<id>  damaged entries set aside for inspection
 *
 * Durability: a new entry is written in tmp/, fdatasync'ed, hard-linked
 * into q/ (never replacing an existing name), and q/ is fsync'ed before
 * enqueue returns. State changes are written in place into the entry's
 * spare state slot and fdatasync'ed (see postie/queue/queue.h).
 *
 * Claims are flock(2) locks on the entry's file: exclusive, per open file,
 * and dropped by the kernel when their holder dies, so a killed flusher
 * never leaves a message stuck.
 *
 * Leftovers of an interrupted enqueue in tmp/ are removed by the next
 * list once they are an hour old.
 *
 * Trust: the spool and its q/, tmp/ and corrupt/ must be writable by
 * their owner only (no group or other write bit), and owned by this user
 * or root; q/, tmp/ and corrupt/ must be directories, not links. Anything
 * in q/ that is not a regular file (a link, a FIFO, a device, a
 * directory) is never followed or opened: it counts for no capacity, and
 * a load reports it as damaged (POSTIE_E_QUEUE_CORRUPT), so a run sets it
 * aside and delete removes it from the queue.
 *
 * RAM: sizeof(postie_spool_t), about 420 octets; no allocation.
 */
#ifndef POSTIE_QUEUE_SPOOL_H
#define POSTIE_QUEUE_SPOOL_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/queue/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTIE_SPOOL_DEFAULT_DIR "/var/spool/postie"
#define POSTIE_SPOOL_HANDLES     8 /* entries open at once */

typedef struct {
    int fd; /* -1: free */
    postie_queue_id_t id;
    bool creating;
} postie_spool_handle_t;

typedef struct {
    int dir_fd;
    int q_fd;
    int tmp_fd;
    int corrupt_fd;
    char path[256];
    postie_spool_handle_t h[POSTIE_SPOOL_HANDLES];
} postie_spool_t;

/* Open (creating with mode 0700 where missing) the spool at dir. dir NULL:
 * $POSTIE_SPOOL, else POSTIE_SPOOL_DEFAULT_DIR. POSTIE_E_FILE on failure
 * (err is required, unlike the queue's own err arguments), err->subject
 * naming the directory: err->phase is "spool" when a system call failed
 * (errno says why), else why the spool is refused ("its group or others can
 * write to it ...", "it belongs to another user ...", "it is a link or not a
 * directory"), err->subject then adding the mode and owner. */
postie_status_t postie_spool_open(postie_spool_t *s, const char *dir, postie_error_t *err);
void postie_spool_close(postie_spool_t *s);
postie_queue_store_t postie_spool_store(postie_spool_t *s);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_QUEUE_SPOOL_H */
