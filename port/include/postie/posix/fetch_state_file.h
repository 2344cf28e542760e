/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch state (postie/fetch/fetch_state.h) in a file, for hosts.
 *
 * save writes the text form to "<path>.tmp" (mode 0600), flushes it
 * (fsync), renames it over path and flushes the directory: a crash at any
 * point leaves the old state or the new one, never a mix. load parses the
 * file strictly: a missing file is POSTIE_E_NOT_FOUND (a first run), a
 * damaged one POSTIE_E_FETCH_STATE (the run refuses to guess). set_aside
 * keeps the state of a folder whose UIDVALIDITY changed as
 * "<path>.uidvalidity-<old>" (same atomic write).
 *
 * Lock: open takes an exclusive flock on "<path>.lock" (created 0600,
 * never removed), held until close, so two runs on one account cannot
 * interleave: the second gets POSTIE_E_BUSY at once. The lock goes with the
 * process (a crash releases it).
 *
 * RAM: sizeof(postie_state_file_t), 1 328 octets on x86-64 (the path and
 * an error record); a save uses about 3 KiB of stack. Thread model: one per thread; the lock is per
 * open file.
 */
#ifndef POSTIE_FETCH_STATE_FILE_H
#define POSTIE_FETCH_STATE_FILE_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/fetch/fetch_state.h"

#define POSTIE_STATE_PATH_MAX 1024

/* Treat every field as private. */
typedef struct {
    char path[POSTIE_STATE_PATH_MAX];
    int lock_fd; /* -1 when not locked */
    postie_error_t error;
} postie_state_file_t;

/* Lock the state at path and make *out the store over it (it points into
 * sf). POSTIE_E_BUSY when another process holds the lock;
 * POSTIE_E_FETCH_STATE when the lock file cannot be made (error says why);
 * POSTIE_E_FIELD_TOO_LONG for a path over the limit. The state's directory
 * must exist. */
postie_status_t postie_state_file_open(postie_state_file_t *sf, const char *path,
                                       postie_fetch_store_t *out);

/* Release the lock. Safe to call again, and after a failed open. */
void postie_state_file_close(postie_state_file_t *sf);

const postie_error_t *postie_state_file_error(const postie_state_file_t *sf);

/* Read the state at path without locking (for showing it). */
postie_status_t postie_state_file_read(const char *path, postie_fetch_state_t *st,
                                       postie_error_t *error);

#endif /* POSTIE_FETCH_STATE_FILE_H */
