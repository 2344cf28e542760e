/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the IMAP engine: what its three files share. Not a public header
 * (it lives next to the sources); postie/imap/imap.h is the contract.
 *
 *   imap.c         the engine: commands, completions, status responses,
 *                  the session, the public calls
 *   imap_fetch.c   FETCH responses, literals, and the list (the streamed
 *                  SEARCH answer and the UID FETCH windows)
 *   imap_syntax.c  IMAP syntax helpers without state: words, numbers,
 *                  response codes, modified UTF-7, astrings
 *
 * Every name here starts with postie_imapx_ (internal to the engine).
 */
#ifndef POSTIE_IMAP_INTERNAL_H
#define POSTIE_IMAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/text.h"
#include "postie/imap/imap.h"

/* A list with sizes fetches at least this many messages per UID FETCH
 * window (fewer windows than POSTIE_IMAP_LIST_WINDOWS for small lists). */
#define LIST_WINDOW_MIN 512u

/* Tagged commands (and the greeting, which completes like one). */
enum {
    CMD_GREETING,
    CMD_CAPABILITY,
    CMD_STARTTLS,
    CMD_LOGIN,
    CMD_AUTHENTICATE,
    CMD_SELECT,
    CMD_SEARCH,
    CMD_FETCH_SIZES,
    CMD_FETCH_BODY,
    CMD_STORE,
    CMD_UID_EXPUNGE,
    CMD_EXPUNGE,
    CMD_LOGOUT
};

/* What the line after a literal continues. */
enum { RESP_NONE, RESP_FETCH, RESP_SKIP };

/* FETCH parser states. */
enum { FX_OPEN, FX_NAME, FX_VALUE, FX_LIST, FX_END };

/* FETCH items the engine reads (fx_item). */
enum { IT_OTHER, IT_UID, IT_SIZE, IT_BODY };

/* A UID FETCH (BODY.PEEK[]) entry's step: its set still awaits bodies, or
 * every body came (only the tagged OK is due; a next set may start). */
enum { SET_CURRENT, SET_DELIVERED };

#define FX_HAVE_UID  0x1u
#define FX_HAVE_SIZE 0x2u

/* ---- imap.c ---------------------------------------------------------------- */

void postie_imapx_set_state(postie_imap_t *m, postie_imap_state_t st);
void postie_imapx_push_event(postie_imap_t *m, postie_mailbox_event_type_t type, uint32_t id,
                             postie_status_t status);
postie_imap_pending_t *postie_imapx_pending_at(postie_imap_t *m, uint16_t i);
void postie_imapx_describe(const postie_imap_t *m, const postie_imap_pending_t *p, char *out,
                           size_t cap);
void postie_imapx_fail(postie_imap_t *m, postie_status_t st, const char *phase, const char *text,
                       size_t text_len, const char *subject);
void postie_imapx_fail_cmd(postie_imap_t *m, postie_status_t st, const postie_imap_pending_t *p,
                           const char *text, size_t text_len, const char *detail);
void postie_imapx_fail_here(postie_imap_t *m, postie_status_t st, const char *text, size_t text_len,
                            const char *detail);
postie_text_t postie_imapx_tx_builder(postie_imap_t *m);
void postie_imapx_put_tag(postie_text_t *b, uint32_t tag);
postie_imap_pending_t *postie_imapx_commit_command(postie_imap_t *m, postie_text_t *b, uint8_t kind,
                                                   uint8_t step, const char *shown, uint32_t now);
void postie_imapx_put_uid_set(postie_text_t *b, const uint32_t *uids, uint16_t n);

/* ---- imap_fetch.c ------------------------------------------------------------ */

void postie_imapx_search_part(postie_imap_t *m, const char *s, size_t n, bool complete);
void postie_imapx_list_next(postie_imap_t *m, uint32_t now);
bool postie_imapx_literal_at_end(postie_imap_t *m, const char *s, size_t n, bool whole,
                                 uint64_t *size, bool *ok);
void postie_imapx_start_literal(postie_imap_t *m, uint64_t size, bool body, uint32_t now);
postie_imap_pending_t *postie_imapx_body_pending(postie_imap_t *m);
void postie_imapx_deliver(postie_imap_t *m, const uint8_t *data, size_t len);
void postie_imapx_fetch_segment(postie_imap_t *m, const char *s, size_t n, bool after_body,
                                uint32_t now);

/* ---- imap_syntax.c ----------------------------------------------------------- */

bool postie_imapx_is_digit(char c);
bool postie_imapx_parse_u64(const char *s, size_t n, uint64_t *out);
bool postie_imapx_parse_u32(const char *s, size_t n, bool nonzero, uint32_t *out);
void postie_imapx_put_mutf7(postie_text_t *b, const char *name);
void postie_imapx_put_astring_7bit(postie_text_t *b, const char *s, size_t n);
void postie_imapx_response_code(const char *t, size_t n, const char **code, size_t *code_len,
                                const char **args, size_t *args_len);

#endif /* POSTIE_IMAP_INTERNAL_H */
