/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch state: what has been archived from one account's mailbox, so a
 * message is archived once however often it is listed again.
 *
 *   IMAP  the folder's UIDVALIDITY, a watermark W (every UID <= W is
 *         archived or gone for good: UIDs only grow) and a bounded set of
 *         archived UIDs above W (those past a message that was not archived,
 *         e.g. one over the size limit kept on the server)
 *   POP3  the UIDLs of archived messages still on the server (bounded):
 *         in delete mode only those whose delete has not become final yet,
 *         in keep mode every archived message
 *
 * An entry is dropped once a complete listing proves its message has left
 * the server (postie_fetch_state_sweep); the IMAP watermark moves up past
 * every UID that is archived or gone.
 *
 * The state has a text form (a few short lines; fits any flash file or
 * NVS blob) written by postie_fetch_state_format and read back, strictly,
 * by the parser: a truncated, damaged or unknown state is
 * POSTIE_E_FETCH_STATE, never an empty state (an empty state would archive
 * the whole mailbox again). The last line holds the number of entries and
 * a checksum of everything before it:
 *
 *   postie-fetch-state 1
 *   protocol imap
 *   uidvalidity 1700000000
 *   watermark 41
 *   clean 1
 *   uid 45
 *   uid 46
 *   end 2 8c1f03a2
 *
 *   postie-fetch-state 1
 *   protocol pop3
 *   clean 0
 *   uidl 000000015f3a2b10
 *   end 1 0e2b9c77
 *
 * "clean 0" says a run was archiving and did not finish cleanly: a message
 * may be in the archive that the state does not record (the run asks the
 * sink, see postie/fetch/archive.h).
 *
 * RAM: sizeof(postie_fetch_state_t), 41 256 octets on x86-64 with the
 * defaults (41 240 on Cortex-M4): the UIDL arena POSTIE_FETCH_UIDL_ARENA
 * (32 768), 2 octets of index per UIDL slot POSTIE_FETCH_UIDLS_MAX, 4 octets
 * per IMAP UID POSTIE_FETCH_UIDS_MAX, a seen bit per entry. The parser: 152
 * octets (132 on Cortex-M4). Nothing is allocated.
 *
 * Thread model: a state belongs to one thread at a time.
 */
#ifndef POSTIE_FETCH_STATE_H
#define POSTIE_FETCH_STATE_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/mailbox.h"
#include "postie/common/status.h"

typedef enum { POSTIE_FETCH_POP3 = 1, POSTIE_FETCH_IMAP = 2 } postie_fetch_protocol_t;

/* Treat every field as private; use the functions below. */
typedef struct {
    postie_fetch_protocol_t protocol;
    bool clean;                          /* false: a run may have committed what is not recorded */
    uint32_t uidvalidity;                /* IMAP; 0: not known yet */
    uint32_t watermark;                  /* IMAP: every UID <= watermark is archived or gone */
    size_t count;                        /* entries: UIDs (IMAP) or UIDLs (POP3) */
    uint32_t uid[POSTIE_FETCH_UIDS_MAX]; /* IMAP: ascending, all > watermark */
    uint16_t uidl_at[POSTIE_FETCH_UIDLS_MAX]; /* POP3: offset of entry i in arena */
    size_t arena_used;
    char arena[POSTIE_FETCH_UIDL_ARENA]; /* POP3: NUL-terminated UIDLs, in insertion order */
    uint8_t seen[(POSTIE_FETCH_UIDS_MAX > POSTIE_FETCH_UIDLS_MAX ? POSTIE_FETCH_UIDS_MAX
                                                                 : POSTIE_FETCH_UIDLS_MAX) /
                     8u +
                 1u]; /* marks of the listing in progress */
} postie_fetch_state_t;

/* An empty state for protocol (clean false: nothing is known about the
 * archive). */
void postie_fetch_state_init(postie_fetch_state_t *st, postie_fetch_protocol_t protocol);

/* IMAP: whether uid is recorded as archived (<= watermark or in the set). */
bool postie_fetch_state_has_uid(const postie_fetch_state_t *st, uint32_t uid);
/* POP3: whether uidl is recorded. */
bool postie_fetch_state_has_uidl(const postie_fetch_state_t *st, const char *uidl);

/* Record an archived message. IMAP: chain true says every listed UID below
 * uid is archived or gone (the watermark then moves to uid); else uid joins
 * the set. POP3: the UIDL joins the set (1..POSTIE_MAILBOX_UIDL_MAX octets of
 * 0x21..0x7E, else POSTIE_E_INVALID_ARGUMENT). Recording what is already
 * recorded is fine. POSTIE_E_NO_SPACE when the set is full (nothing
 * changed). */
postie_status_t postie_fetch_state_add_uid(postie_fetch_state_t *st, uint32_t uid, bool chain);
postie_status_t postie_fetch_state_add_uidl(postie_fetch_state_t *st, const char *uidl);

/* IMAP: every UID <= uid is archived or gone: move the watermark (never
 * down) and drop the set entries it covers. */
void postie_fetch_state_raise_watermark(postie_fetch_state_t *st, uint32_t uid);

/* A listing: begin clears the marks; mark each listed id (IMAP: the UID;
 * POP3: the UIDL; ids not recorded are ignored); sweep, only after a
 * listing that was complete from from_uid up (POP3: from message 1, pass
 * 0), drops every unmarked entry (IMAP: unmarked UIDs >= from_uid).
 * Returns the number of entries dropped. */
void postie_fetch_state_mark_begin(postie_fetch_state_t *st);
void postie_fetch_state_mark_uid(postie_fetch_state_t *st, uint32_t uid);
void postie_fetch_state_mark_uidl(postie_fetch_state_t *st, const char *uidl);
size_t postie_fetch_state_sweep(postie_fetch_state_t *st, uint32_t from_uid);

/* ---- Text form --------------------------------------------------------- */

/* Receives the text in pieces (never NUL-terminated; len > 0). */
typedef postie_status_t (*postie_fetch_write_fn)(void *ctx, const char *data, size_t len);

/* Write the text form through fn (a few lines at a time). Returns fn's
 * first failure. Longest output: POSTIE_FETCH_STATE_TEXT_MAX octets. */
postie_status_t postie_fetch_state_format(const postie_fetch_state_t *st, postie_fetch_write_fn fn,
                                          void *ctx);

#define POSTIE_FETCH_STATE_TEXT_MAX                                                     \
    (160u + 17u * (size_t)POSTIE_FETCH_UIDS_MAX + 6u * (size_t)POSTIE_FETCH_UIDLS_MAX + \
     (size_t)POSTIE_FETCH_UIDL_ARENA)

/* The parser: feed the text in chunks of any size, then end. Every error is
 * POSTIE_E_FETCH_STATE with line (1-based) and why set; the state is then
 * unusable (parse into a scratch state when the old one must survive). */
typedef struct {
    postie_fetch_state_t *st;
    char line[POSTIE_MAILBOX_UIDL_MAX + 32];
    size_t len;
    uint32_t lineno;
    uint32_t sum;  /* checksum of the lines before "end" */
    uint32_t have; /* which header lines were seen (bits) */
    bool ended;    /* the "end" line was read */
    postie_status_t status;
    const char *why; /* static text: what was wrong */
} postie_fetch_state_parser_t;

void postie_fetch_state_parse_begin(postie_fetch_state_parser_t *p, postie_fetch_state_t *st);
postie_status_t postie_fetch_state_parse_feed(postie_fetch_state_parser_t *p, const char *data,
                                              size_t len);
postie_status_t postie_fetch_state_parse_end(postie_fetch_state_parser_t *p);

/* The whole text at once. why (may be NULL) gets the parser's reason on
 * failure. */
postie_status_t postie_fetch_state_parse(postie_fetch_state_t *st, const char *text, size_t len,
                                         const char **why);

/* ---- Where the state is kept --------------------------------------------- */

/* A store for one account's state (a file on a host, a flash record on a
 * board). ctx is the store's own. */
typedef struct {
    /* Read the saved state into st (with the parser). POSTIE_E_NOT_FOUND
     * when none was ever saved (a first run); POSTIE_E_FETCH_STATE when it
     * is damaged or unreadable (the run stops: it never guesses). */
    postie_status_t (*load)(void *ctx, postie_fetch_state_t *st);
    /* Replace the saved state with st (postie_fetch_state_format),
     * atomically and durably: when this returns POSTIE_OK the new state
     * survives a power cut; when it fails or is cut short, the old one
     * does. Failure: POSTIE_E_FETCH_STATE. */
    postie_status_t (*save)(void *ctx, const postie_fetch_state_t *st);
    /* Keep old (the state of a folder whose UIDVALIDITY changed) somewhere
     * apart, for an administrator, before the run starts over. May be NULL
     * (the old state is then only logged). */
    postie_status_t (*set_aside)(void *ctx, const postie_fetch_state_t *old);
} postie_fetch_store_ops_t;

typedef struct {
    const postie_fetch_store_ops_t *ops;
    void *ctx;
} postie_fetch_store_t;

#endif /* POSTIE_FETCH_STATE_H */
