/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The small configuration: a preset for firmware that sends notifications
 * (and may fetch a small mailbox) with as little RAM as the protocols
 * allow. Use it as Postie's configuration file, for the library and the
 * application alike (the configuration fingerprint refuses a mix):
 *
 *   -DPOSTIE_CONFIG_FILE='"postie_config_small.h"'
 *
 * Every value stays inside the range config/postie_config_defaults.h
 * documents, and the RFC minimums are kept (512-octet reply lines,
 * 1000-octet text lines, AUTH with 255-octet credentials), so nothing a
 * conforming server sends is refused that the defaults accept; what
 * shrinks is how much is in flight at once and how much reply text an
 * error keeps. A value defined before this file (-D) wins.
 * tests/bench/footprint.sh measures code and RAM with it, beside the
 * defaults; the README's "Footprint" section has the numbers.
 */
#ifndef POSTIE_CONFIG_SMALL_H
#define POSTIE_CONFIG_SMALL_H

/* Status texts: names only (postie_status_str() returns the name), which
 * saves the table of human messages. */
#ifndef POSTIE_STATUS_TEXTS
#define POSTIE_STATUS_TEXTS 0
#endif

/* OAuth 2.0: access tokens of up to 256 octets (Google's fit; Microsoft's,
 * about 2.5 KiB, need the default 4096), so the SASL response fits the
 * small transmit buffers below (checked at build time). */
#ifndef POSTIE_OAUTH_TOKEN_MAX
#define POSTIE_OAUTH_TOKEN_MAX 256
#endif

/* SMTP: one reply line in (RFC 5321's 512), a 2 KiB transmit buffer (the
 * smallest allowed: the longest command line, AUTH PLAIN with the longest
 * credentials, and BDAT chunks of up to 2 KiB), 8 commands in flight, 96
 * octets of reply text kept per error or recipient. */
#ifndef POSTIE_SMTP_RX_BUFFER_SIZE
#define POSTIE_SMTP_RX_BUFFER_SIZE 512
#endif
#ifndef POSTIE_SMTP_TX_BUFFER_SIZE
#define POSTIE_SMTP_TX_BUFFER_SIZE 2048
#endif
#ifndef POSTIE_SMTP_PIPELINE_MAX
#define POSTIE_SMTP_PIPELINE_MAX 8
#endif
#ifndef POSTIE_REPLY_TEXT_MAX
#define POSTIE_REPLY_TEXT_MAX 96
#endif

/* POP3 and IMAP: 2 KiB in, the smallest transmit buffers, 4 commands in
 * flight, response lines of RFC 2449's 512 (POP3) and 1024 (IMAP). */
#ifndef POSTIE_POP3_RX_BUFFER_SIZE
#define POSTIE_POP3_RX_BUFFER_SIZE 2048
#endif
#ifndef POSTIE_POP3_LINE_MAX
#define POSTIE_POP3_LINE_MAX 512
#endif
#ifndef POSTIE_POP3_PIPELINE_MAX
#define POSTIE_POP3_PIPELINE_MAX 4
#endif
#ifndef POSTIE_IMAP_RX_BUFFER_SIZE
#define POSTIE_IMAP_RX_BUFFER_SIZE 2048
#endif
#ifndef POSTIE_IMAP_TX_BUFFER_SIZE
#define POSTIE_IMAP_TX_BUFFER_SIZE 2048 /* AUTHENTICATE with a 256-octet OAuth token */
#endif
#ifndef POSTIE_IMAP_LINE_MAX
#define POSTIE_IMAP_LINE_MAX 1024
#endif
#ifndef POSTIE_IMAP_PIPELINE_MAX
#define POSTIE_IMAP_PIPELINE_MAX 4
#endif
#ifndef POSTIE_IMAP_LIST_WINDOWS
#define POSTIE_IMAP_LIST_WINDOWS 8
#endif

/* Message writer: attachments read 456 octets (8 base64 lines) at a time. */
#ifndef POSTIE_MIME_READ_CHUNK
#define POSTIE_MIME_READ_CHUNK 456
#endif

/* Registry: two sessions, one account, four problems kept per load. */
#ifndef POSTIE_REGISTRY_SESSIONS_MAX
#define POSTIE_REGISTRY_SESSIONS_MAX 2
#endif
#ifndef POSTIE_REGISTRY_ACCOUNTS_MAX
#define POSTIE_REGISTRY_ACCOUNTS_MAX 1
#endif
#ifndef POSTIE_REGISTRY_PROBLEMS_MAX
#define POSTIE_REGISTRY_PROBLEMS_MAX 4
#endif

/* Queue: 8 recipients and 1 KiB of addresses per message, copies of 512
 * octets (one state slot must fit). */
#ifndef POSTIE_QUEUE_RCPT_MAX
#define POSTIE_QUEUE_RCPT_MAX 8
#endif
#ifndef POSTIE_QUEUE_ENVELOPE_MAX
#define POSTIE_QUEUE_ENVELOPE_MAX 1024
#endif
#ifndef POSTIE_QUEUE_ERROR_TEXT_MAX
#define POSTIE_QUEUE_ERROR_TEXT_MAX 128
#endif
#ifndef POSTIE_QUEUE_IO_CHUNK
#define POSTIE_QUEUE_IO_CHUNK 512
#endif

/* Fetching: batches of 8; the state keeps 256 IMAP UIDs and 128 POP3
 * UIDLs in 4 KiB (enough for delete mode, where UIDLs stay only until the
 * delete is final; keep mode needs one per message left on the server). */
#ifndef POSTIE_FETCH_BATCH
#define POSTIE_FETCH_BATCH 8
#endif
#ifndef POSTIE_FETCH_UIDS_MAX
#define POSTIE_FETCH_UIDS_MAX 256
#endif
#ifndef POSTIE_FETCH_UIDLS_MAX
#define POSTIE_FETCH_UIDLS_MAX 128
#endif
#ifndef POSTIE_FETCH_UIDL_ARENA
#define POSTIE_FETCH_UIDL_ARENA 4096
#endif

/* Host client only (port/posix): body read chunk. */
#ifndef POSTIE_CLIENT_BODY_CHUNK
#define POSTIE_CLIENT_BODY_CHUNK 2048
#endif

#endif /* POSTIE_CONFIG_SMALL_H */
