/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Maildir archive sink (postie/fetch/archive.h) for hosts.
 *
 * Group commit: each message is written to tmp/; commit only completes its
 * writes (the file stays open in tmp/, invisible). flush makes the batch
 * durable: on Linux 5.8 and later, when two or more files wait, one
 * syncfs(2) of the file system (it writes back every dirty page and commits
 * the journal once, and reports any write-back error since the batch's
 * first file was opened); otherwise it starts the write-back of every
 * pending file at commit (sync_file_range) and waits for each (fdatasync).
 * Then it links each into new/ under its final name (link, never
 * overwriting; then the tmp/ name is removed) and flushes new/ once
 * (fsync). Data reach the disk before any name in new/ does, so a power
 * cut at any moment leaves each message either complete in new/ or only
 * in tmp/. Once flush returns POSTIE_OK the batch survives a power cut.
 * abort drops the message in progress and the pending ones (their tmp/
 * files are removed). A syncfs also writes back what other programs left
 * dirty on the same file system: that is the price of one journal commit
 * per batch instead of one per message.
 *
 * Write-back ahead (with syncfs): every POSTIE_MAILDIR_WRITEBACK_EVERY
 * (64) commits, a thread of the sink's own runs a syncfs while the caller
 * goes on receiving, so the disk writes the first messages of a batch
 * while the rest arrive and the flush finds little left to write (on this
 * project's benchmark machine, 1,000 x 4 KiB to a Maildir on disk,
 * median of 9 runs in turns: POP3 4 646 -> 4 929 messages/s, IMAP
 * 4 382 -> 5 407). It is advisory: the flush still waits for it,
 * then runs its own syncfs, whose error report covers the whole batch.
 * The thread is started at the first such commit (never for smaller
 * batches), takes no signals, and ends in postie_maildir_close; if it
 * cannot be started the sink works on without it. Names follow the Maildir
 * convention plus the fetch key:
 *
 *   <seconds>.M<microseconds>P<pid>Q<counter>.<host>,K=<key>
 *
 * where <host> has '/' and ':' replaced (\057, \072) and <key> is the
 * fetch key with every octet outside [A-Za-z0-9._-] written as %XX (a key
 * whose encoding passes 160 octets is named by '#' and the 16 hex digits of
 * its 64-bit FNV-1a hash instead, to keep names under 255 octets). A mail
 * reader may move the file to cur/ and append ":2,<flags>"; contains(key)
 * finds it in new/ or cur/ by the ",K=<key>" part followed by ':' or the
 * end of the name. The first contains reads both directories once and
 * keeps an index of the keys found (on the heap, freed by
 * postie_maildir_close; messages this sink commits are added to it), so a
 * run that must ask for every message costs one directory scan, not one
 * per message. The fetch run asks only after a run that did not end
 * cleanly, or when it has no saved state.
 *
 * postie_maildir_open creates the directory and its tmp/, new/ and cur/
 * (mode 0700) when missing. abort removes the tmp/ file; a crash leaves at
 * most a file in tmp/, which readers ignore (Maildir readers clean tmp/ of
 * files older than 36 hours).
 *
 * RAM: sizeof(postie_maildir_t), 7 136 octets on x86-64 (paths and a write
 * buffer of POSTIE_MAILDIR_BUFFER octets), plus the key index once built:
 * about 40 octets per message in the Maildir, plus the pending list (one
 * open descriptor and name per message committed and not yet flushed:
 * POSTIE_FETCH_BATCH at most under the fetch run), plus, once started,
 * the write-back thread (its stack, and 112 octets). Thread model: one
 * sink per thread at a time (its own write-back thread aside); several
 * processes may write into one Maildir (names are unique).
 */
#ifndef POSTIE_MAILDIR_H
#define POSTIE_MAILDIR_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/fetch/archive.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTIE_MAILDIR_PATH_MAX        1024
#define POSTIE_MAILDIR_BUFFER          4096
/* Committed messages between two background write-backs (see above). */
#define POSTIE_MAILDIR_WRITEBACK_EVERY 64

/* Treat every field as private except octets (the message in progress). */
typedef struct {
    char dir[POSTIE_MAILDIR_PATH_MAX];
    char tmp_path[POSTIE_MAILDIR_PATH_MAX]; /* the message in progress */
    char name[POSTIE_MAILDIR_PATH_MAX / 2]; /* its final name (without new/) */
    char host[64];
    int fd; /* -1 when no message is in progress */
    uint64_t octets;
    uint32_t counter;
    size_t buffered;
    uint8_t buf[POSTIE_MAILDIR_BUFFER];
    postie_error_t error; /* the last failure's detail (subject: the path) */
    char **keys;          /* index of the encoded keys in new/ and cur/ (heap) */
    size_t keys_n;
    size_t keys_cap;
    bool indexed; /* keys holds the index (built by the first contains) */
    bool sorted;
    struct postie_maildir_pending *pend; /* committed, not flushed (heap) */
    size_t pend_n;
    size_t pend_cap;
    long pid;       /* for names (read once at open) */
    bool syncfs;    /* a batch is made durable by one syncfs (Linux >= 5.8) */
    uint32_t syncs; /* fsync, fdatasync and syncfs calls so far */
    struct postie_maildir_writeback *writeback; /* the write-back thread (heap), once started */
    bool writeback_off;                         /* it could not be started: none */
    uint32_t writeback_runs;                    /* syncfs calls of ended threads */
} postie_maildir_t;

/* Open (and create when missing) the Maildir at path. *out is the sink;
 * it points into md. POSTIE_E_ARCHIVE_FAILED (error says which path and
 * why) when the directories cannot be made or used;
 * POSTIE_E_FIELD_TOO_LONG for a path over the limit. */
postie_status_t postie_maildir_open(postie_maildir_t *md, const char *path, postie_archive_t *out);

/* Abort a message in progress, if any, and free the key index. Safe to
 * call again. */
void postie_maildir_close(postie_maildir_t *md);

/* The last failure's detail. */
const postie_error_t *postie_maildir_error(const postie_maildir_t *md);

/* How many fsync, fdatasync and syncfs calls the sink made since open (for
 * tests and measurements: a flush of a batch costs two with syncfs, one
 * per message plus one without). */
uint32_t postie_maildir_syncs(const postie_maildir_t *md);

/* How many background write-backs (syncfs calls of the sink's thread) ran
 * since open (for tests and measurements). */
uint32_t postie_maildir_writebacks(const postie_maildir_t *md);

/* The file name (in new/ once committed) of the last message begun ("" none). */
const char *postie_maildir_last_name(const postie_maildir_t *md);

/* Encode key the way it appears in file names (",K=" not included).
 * POSTIE_E_NO_SPACE when out is too small. */
postie_status_t postie_maildir_key_encode(const char *key, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_MAILDIR_H */
