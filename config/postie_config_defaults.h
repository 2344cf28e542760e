/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Postie compile-time configuration: every maximum, timeout and switch.
 *
 * Override any value by defining it before this header is included, most
 * simply with -DNAME=value or by pointing POSTIE_CONFIG_FILE at a header of
 * your own (-DPOSTIE_CONFIG_FILE='"my_postie_config.h"'), which is included
 * first. Each entry gives its unit, its allowed range, its default and what it
 * costs in RAM. config/postie_config_small.h is such a file: a preset for
 * firmware with the smallest sizes the protocols allow
 * (-DPOSTIE_CONFIG_FILE='"postie_config_small.h"'; tests/bench/footprint.sh
 * measures both).
 */
#ifndef POSTIE_CONFIG_DEFAULTS_H
#define POSTIE_CONFIG_DEFAULTS_H

#ifdef POSTIE_CONFIG_FILE
#include POSTIE_CONFIG_FILE
#endif

/* ---- Status texts ------------------------------------------------------ */

/* Human messages of the statuses (postie_status_str()). 1: every status has
 * a short English message, about 3.3 KiB of flash on a Cortex-M4. 0: terse
 * firmware; postie_status_str() returns the status's name
 * ("POSTIE_E_TIMEOUT"), as postie_status_name() does. Names are always kept.
 * Range 0..1. Default 1. RAM: none. */
#ifndef POSTIE_STATUS_TEXTS
#define POSTIE_STATUS_TEXTS 1
#endif

/* ---- Reply reader ------------------------------------------------------ */

/* Longest server reply line accepted, in octets including CRLF.
 * RFC 5321 4.5.3.1.5 sets 512 as the minimum a client must accept.
 * Range 512..8192. Default 512. RAM: none by itself; the receive buffer of
 * each engine must hold at least one such line. */
#ifndef POSTIE_REPLY_LINE_MAX
#define POSTIE_REPLY_LINE_MAX 512
#endif

/* Most lines one multi-line reply may have before it is refused as endless.
 * Range 8..1000. Default 100 (an EHLO reply has about 10). RAM: none. */
#ifndef POSTIE_REPLY_LINES_MAX
#define POSTIE_REPLY_LINES_MAX 100
#endif

/* ---- SMTP engine ------------------------------------------------------- */

/* Receive buffer inside each postie_smtp_t, in octets.
 * Range POSTIE_REPLY_LINE_MAX..65536. Default 1024. RAM: exactly this. */
#ifndef POSTIE_SMTP_RX_BUFFER_SIZE
#define POSTIE_SMTP_RX_BUFFER_SIZE 1024
#endif

/* Transmit buffer inside each postie_smtp_t, in octets. It holds a whole
 * pipelined command group, and one CHUNKING (BDAT) chunk of the body, so it
 * bounds the chunk size and the size of each write: a message whose wire
 * form fits leaves with its envelope in one write (one round trip with
 * PIPELINING and CHUNKING); a larger one leaves one buffer at a time, the
 * chunks pipelined without waiting for their replies.
 * Range 2048..1048576. Default 131072 on hosts (Unix, macOS, Windows: a
 * 100 KiB message in one write), 8192 elsewhere (firmware).
 * RAM: exactly this. */
#ifndef POSTIE_SMTP_TX_BUFFER_SIZE
#if defined(__unix__) || defined(__APPLE__) || defined(_WIN32)
#define POSTIE_SMTP_TX_BUFFER_SIZE 131072
#else
#define POSTIE_SMTP_TX_BUFFER_SIZE 8192
#endif
#endif

/* Most commands awaiting a reply at once when the server offers PIPELINING
 * (MAIL, each RCPT, DATA or BDAT chunks). Range 1..255. Default 32.
 * RAM: 8 octets each (the command, and where its octets end in the stream). */
#ifndef POSTIE_SMTP_PIPELINE_MAX
#define POSTIE_SMTP_PIPELINE_MAX 32
#endif

/* Longest user name and password accepted for AUTH, in octets.
 * Range 64..1024. Default 255. RAM: none (the caller owns the strings); the
 * transmit buffer must hold the base64 of both (checked below). */
#ifndef POSTIE_AUTH_FIELD_MAX
#define POSTIE_AUTH_FIELD_MAX 255
#endif

/* Longest OAuth 2.0 access token accepted from a token provider, in
 * octets (Microsoft's run to about 2.5 KiB, Google's to a few hundred).
 * Range 256..8192. Default 4096. RAM: the caller's token buffer; engines
 * that send it need room for its SASL response in base64 (the OAuth 2.0
 * work checks their buffers against it). */
#ifndef POSTIE_OAUTH_TOKEN_MAX
#define POSTIE_OAUTH_TOKEN_MAX 4096
#endif

/* The longest OAuth 2.0 SASL response before base64 for a token of t octets
 * (postie/common/sasl.h): OAUTHBEARER's "n,a=" + the user name with every
 * octet escaped (3 * POSTIE_AUTH_FIELD_MAX) + "," ^A "host=" + 255 octets +
 * ^A "port=65535" ^A "auth=Bearer " + t + ^A ^A. XOAUTH2's is shorter.
 * POSTIE_SASL_OAUTH_B64_MAX is its base64 length, what an engine sends. */
#define POSTIE_SASL_OAUTH_RAW_MAX_OF(t) (292 + 3 * POSTIE_AUTH_FIELD_MAX + (t))
#define POSTIE_SASL_OAUTH_B64_MAX \
    (((POSTIE_SASL_OAUTH_RAW_MAX_OF(POSTIE_OAUTH_TOKEN_MAX) + 2) / 3) * 4)

/* Octets of server reply text kept in an error or recipient result.
 * Range 32..512. Default 160. RAM: this much per postie_reply_info_t. */
#ifndef POSTIE_REPLY_TEXT_MAX
#define POSTIE_REPLY_TEXT_MAX 160
#endif

/* Queued events per engine (recipient results, message done, ...).
 * Range 4..64. Default 8. RAM: 8 octets each. */
#ifndef POSTIE_SMTP_EVENTS_MAX
#define POSTIE_SMTP_EVENTS_MAX 8
#endif

/* Timeouts, in milliseconds. Defaults are RFC 5321 section 4.5.3.2. A
 * reply timeout bounds the whole reply, every line of it, from when it was
 * awaited; bytes that trickle in do not extend it. The connect timeout is
 * one deadline for the TCP connect (plus the handshake with implicit TLS)
 * and another for the handshake after STARTTLS. */
#ifndef POSTIE_SMTP_TIMEOUT_GREETING_MS
#define POSTIE_SMTP_TIMEOUT_GREETING_MS (5u * 60u * 1000u) /* 220 banner */
#endif
#ifndef POSTIE_SMTP_TIMEOUT_COMMAND_MS
#define POSTIE_SMTP_TIMEOUT_COMMAND_MS (5u * 60u * 1000u) /* EHLO, MAIL, RCPT, AUTH, ... */
#endif
#ifndef POSTIE_SMTP_TIMEOUT_DATA_INIT_MS
#define POSTIE_SMTP_TIMEOUT_DATA_INIT_MS (2u * 60u * 1000u) /* DATA -> 354 */
#endif
#ifndef POSTIE_SMTP_TIMEOUT_DATA_BLOCK_MS
#define POSTIE_SMTP_TIMEOUT_DATA_BLOCK_MS (3u * 60u * 1000u) /* each body send */
#endif
#ifndef POSTIE_SMTP_TIMEOUT_DATA_END_MS
#define POSTIE_SMTP_TIMEOUT_DATA_END_MS (10u * 60u * 1000u) /* final dot / each BDAT */
#endif
#ifndef POSTIE_CONNECT_TIMEOUT_MS
#define POSTIE_CONNECT_TIMEOUT_MS (30u * 1000u) /* TCP connect and TLS handshake */
#endif

/* ---- POP3 engine ------------------------------------------------------- */

/* Receive buffer inside each postie_pop3_t, in octets. Message data streams
 * through it in pieces of at most this size, whatever the length of its
 * lines. Range POSTIE_POP3_LINE_MAX..65536. Default 4096. RAM: exactly this. */
#ifndef POSTIE_POP3_RX_BUFFER_SIZE
#define POSTIE_POP3_RX_BUFFER_SIZE 4096
#endif

/* Transmit buffer inside each postie_pop3_t, in octets: a pipelined flight
 * of commands, one AUTH PLAIN line with the longest credentials, or one
 * OAuth 2.0 response (XOAUTH2, OAUTHBEARER) with the longest token.
 * Range 1024..65536. Default: the smallest of 2048, 4096, 8192 and 16384
 * that holds POSTIE_SASL_OAUTH_B64_MAX + 64 (8192 with the default
 * POSTIE_OAUTH_TOKEN_MAX of 4096; 2048 with one of 256). A
 * build that never uses OAuth may set 1024. RAM: exactly this. */
#ifndef POSTIE_POP3_TX_BUFFER_SIZE
#if POSTIE_SASL_OAUTH_B64_MAX + 64 <= 2048
#define POSTIE_POP3_TX_BUFFER_SIZE 2048
#elif POSTIE_SASL_OAUTH_B64_MAX + 64 <= 4096
#define POSTIE_POP3_TX_BUFFER_SIZE 4096
#elif POSTIE_SASL_OAUTH_B64_MAX + 64 <= 8192
#define POSTIE_POP3_TX_BUFFER_SIZE 8192
#else
#define POSTIE_POP3_TX_BUFFER_SIZE 16384
#endif
#endif

/* Longest response line (status lines, CAPA, LIST and UIDL lines) accepted,
 * in octets including CRLF. RFC 2449 section 4 bounds them at 512. Message
 * data lines are not bound by it (they stream). Range 512..RX_BUFFER_SIZE.
 * Default 1024. RAM: none. */
#ifndef POSTIE_POP3_LINE_MAX
#define POSTIE_POP3_LINE_MAX 1024
#endif

/* Most commands awaiting a response at once when the server offers
 * PIPELINING (RFC 2449): LIST + UIDL, or DELE n + RETR n+1 ... A deeper
 * pipeline keeps the server busy while the client stores what came.
 * Range 2..32. Default 32 on hosts (Unix, macOS, Windows), 8 elsewhere
 * (firmware). RAM: 48 octets each on x86-64 (40 on Cortex-M4). */
#ifndef POSTIE_POP3_PIPELINE_MAX
#if defined(__unix__) || defined(__APPLE__) || defined(_WIN32)
#define POSTIE_POP3_PIPELINE_MAX 32
#else
#define POSTIE_POP3_PIPELINE_MAX 8
#endif
#endif

/* Queued events per POP3 engine. Range 4..64. Default 8. RAM: 12 octets
 * each. */
#ifndef POSTIE_POP3_EVENTS_MAX
#define POSTIE_POP3_EVENTS_MAX 8
#endif

/* Timeouts, in milliseconds. Greeting and command: the whole response line
 * (and a whole CAPA or STAT answer) within this, from when it was awaited.
 * Data: the longest silence while a multi-line answer (RETR, LIST, UIDL)
 * arrives after its +OK line; a 25 MiB message may take minutes in all.
 * Range 1000..3600000. Defaults 60 s, 120 s, 120 s. RAM: none. */
#ifndef POSTIE_POP3_TIMEOUT_GREETING_MS
#define POSTIE_POP3_TIMEOUT_GREETING_MS (60u * 1000u)
#endif
#ifndef POSTIE_POP3_TIMEOUT_COMMAND_MS
#define POSTIE_POP3_TIMEOUT_COMMAND_MS (120u * 1000u)
#endif
#ifndef POSTIE_POP3_TIMEOUT_DATA_MS
#define POSTIE_POP3_TIMEOUT_DATA_MS (120u * 1000u)
#endif

/* ---- IMAP engine ------------------------------------------------------- */

/* Receive buffer inside each postie_imap_t, in octets. Message literals
 * stream through it, so it is also the largest chunk handed to the data
 * callback. Range POSTIE_IMAP_LINE_MAX..65536. Default 4096. RAM: exactly
 * this. */
#ifndef POSTIE_IMAP_RX_BUFFER_SIZE
#define POSTIE_IMAP_RX_BUFFER_SIZE 4096
#endif

/* Transmit buffer inside each postie_imap_t, in octets: a flight of
 * pipelined commands, LOGIN or AUTHENTICATE with the longest credentials,
 * or AUTHENTICATE XOAUTH2/OAUTHBEARER with the longest token.
 * Range 1024..65536. Default: the smallest of 2048, 4096, 8192 and 16384
 * that holds POSTIE_SASL_OAUTH_B64_MAX + 64 (8192 with the default
 * POSTIE_OAUTH_TOKEN_MAX of 4096). A build that never uses OAuth may set
 * 2048. RAM: exactly this. */
#ifndef POSTIE_IMAP_TX_BUFFER_SIZE
#if POSTIE_SASL_OAUTH_B64_MAX + 64 <= 2048
#define POSTIE_IMAP_TX_BUFFER_SIZE 2048
#elif POSTIE_SASL_OAUTH_B64_MAX + 64 <= 4096
#define POSTIE_IMAP_TX_BUFFER_SIZE 4096
#elif POSTIE_SASL_OAUTH_B64_MAX + 64 <= 8192
#define POSTIE_IMAP_TX_BUFFER_SIZE 8192
#else
#define POSTIE_IMAP_TX_BUFFER_SIZE 16384
#endif
#endif

/* Longest response line accepted, in octets including CRLF (a literal
 * splits a response into lines; each counts alone). Only an untagged
 * SEARCH answer may be longer: it is read in parts. Range 1024..65536, at
 * most POSTIE_IMAP_RX_BUFFER_SIZE. Default 2048 (long CAPABILITY lines).
 * RAM: none by itself. */
#ifndef POSTIE_IMAP_LINE_MAX
#define POSTIE_IMAP_LINE_MAX 2048
#endif

/* Tagged commands awaiting completion at once (a remove is two with
 * UIDPLUS). Range 2..255. Default 8. RAM: 48 octets each (x86-64). */
#ifndef POSTIE_IMAP_PIPELINE_MAX
#define POSTIE_IMAP_PIPELINE_MAX 8
#endif

/* Queued events per IMAP engine. Range 4..64. Default 8. RAM: 12 octets
 * each. */
#ifndef POSTIE_IMAP_EVENTS_MAX
#define POSTIE_IMAP_EVENTS_MAX 8
#endif

/* UID ranges a list with sizes fetches at most (UID FETCH lo:hi
 * (RFC822.SIZE), one command each). Range 1..255. Default 32. RAM: 4
 * octets each. */
#ifndef POSTIE_IMAP_LIST_WINDOWS
#define POSTIE_IMAP_LIST_WINDOWS 32
#endif

/* Messages one UID FETCH (BODY.PEEK[]) asks for at most, and UIDs one UID
 * STORE / UID EXPUNGE removes at most: retrieves (removes) started one after
 * the other before the command leaves join it as a UID set, so a batch
 * costs one round trip, not one per message. Range 1..1024. Default the
 * fetch batch: 256 on hosts (Unix, macOS, Windows), 32 elsewhere
 * (firmware). RAM: 4 octets each for the removes, plus a UID and a
 * callback context (12 octets on x86-64, 8 on Cortex-M4) each for the
 * retrieves. */
#ifndef POSTIE_IMAP_SET_MAX
#if defined(__unix__) || defined(__APPLE__) || defined(_WIN32)
#define POSTIE_IMAP_SET_MAX 256
#else
#define POSTIE_IMAP_SET_MAX 32
#endif
#endif

/* Largest literal (message) accepted, in octets: the default of
 * postie_imap_config_t.literal_max. Range 1 MiB..2^63. Default 100 MiB.
 * RAM: none (literals stream). */
#ifndef POSTIE_IMAP_LITERAL_MAX
#define POSTIE_IMAP_LITERAL_MAX (100u * 1024u * 1024u)
#endif

/* Longest folder name, in octets of UTF-8. Range 64..512. Default 255.
 * RAM: none (the encoded name is built in the transmit buffer). */
#ifndef POSTIE_IMAP_FOLDER_MAX
#define POSTIE_IMAP_FOLDER_MAX 255
#endif

/* Timeouts, in milliseconds (IMAP sets none; these are generous). The
 * greeting and each response, all its lines, from when it was awaited;
 * the data timeout is the silence allowed while a message literal streams. */
#ifndef POSTIE_IMAP_TIMEOUT_GREETING_MS
#define POSTIE_IMAP_TIMEOUT_GREETING_MS (60u * 1000u)
#endif
#ifndef POSTIE_IMAP_TIMEOUT_COMMAND_MS
#define POSTIE_IMAP_TIMEOUT_COMMAND_MS (5u * 60u * 1000u)
#endif
#ifndef POSTIE_IMAP_TIMEOUT_DATA_MS
#define POSTIE_IMAP_TIMEOUT_DATA_MS (2u * 60u * 1000u)
#endif

/* ---- Message writer ---------------------------------------------------- */

/* Work area of each postie_mime_writer_t for one header token (an encoded
 * word, a quoted display name, an address, a MIME parameter) and the fixed
 * text around it. Range 1024..8192. Default 1024. RAM: exactly this. */
#ifndef POSTIE_MIME_STAGE_SIZE
#define POSTIE_MIME_STAGE_SIZE 1024
#endif

/* Attachment octets read at a time by each writer; a multiple of 57 keeps
 * base64 lines whole per read. Range 57..65536. Default 912. RAM: exactly
 * this. */
#ifndef POSTIE_MIME_READ_CHUNK
#define POSTIE_MIME_READ_CHUNK 912
#endif

/* Longest display name, file name or extra header value, in octets of
 * UTF-8. Range 64..400 (a quoted name must fit the work area). Default 256.
 * RAM: none. */
#ifndef POSTIE_MIME_FIELD_MAX
#define POSTIE_MIME_FIELD_MAX 256
#endif

/* Longest subject, in octets of UTF-8 (it is written word by word, so this
 * bounds only the time spent). Range 64..4096. Default 998. RAM: none. */
#ifndef POSTIE_MIME_SUBJECT_MAX
#define POSTIE_MIME_SUBJECT_MAX 998
#endif

/* ---- Registry (named sessions) ----------------------------------------- */

/* Sessions and accounts a postie_registry_t holds. RAM: 2748 octets per
 * session and 2052 per account (x86-64), whether used or not. Defaults 8
 * and 4. */
#ifndef POSTIE_REGISTRY_SESSIONS_MAX
#define POSTIE_REGISTRY_SESSIONS_MAX 8
#endif
#ifndef POSTIE_REGISTRY_ACCOUNTS_MAX
#define POSTIE_REGISTRY_ACCOUNTS_MAX 4
#endif

/* Problems (errors and warnings) kept from one load; more are counted.
 * RAM: 256 octets each. Default 16. */
#ifndef POSTIE_REGISTRY_PROBLEMS_MAX
#define POSTIE_REGISTRY_PROBLEMS_MAX 16
#endif

/* Largest registry text accepted, in octets. Default 32768. RAM: none (the
 * caller holds the text). */
#ifndef POSTIE_REGISTRY_FILE_MAX
#define POSTIE_REGISTRY_FILE_MAX 32768
#endif

/* Deepest nesting of objects and arrays accepted. Default 6 (the schema
 * needs 4). */
#ifndef POSTIE_REGISTRY_DEPTH_MAX
#define POSTIE_REGISTRY_DEPTH_MAX 6
#endif

/* Recommended parse arena for a load, in octets: the loader's working
 * storage (36 864 octets with the defaults, about 3 KiB per session and
 * account slot) plus about 3 octets per octet of JSON for cJSON (the
 * example registry, 2976 octets, needs 45 001 in all). Default 131072,
 * enough for a registry of POSTIE_REGISTRY_FILE_MAX. RAM: only while
 * loading; reuse it afterwards. */
#ifndef POSTIE_REGISTRY_ARENA_SIZE
#define POSTIE_REGISTRY_ARENA_SIZE 131072
#endif

/* ---- Outgoing queue ---------------------------------------------------- */

/* First retry delay after a transient failure, in seconds; doubled per
 * attempt. Range 10..3600. Default 60. RAM: none. */
#ifndef POSTIE_QUEUE_BACKOFF_BASE_S
#define POSTIE_QUEUE_BACKOFF_BASE_S 60u
#endif

/* Longest retry delay, in seconds. Range BASE..86400. Default 14400 (4 h). */
#ifndef POSTIE_QUEUE_BACKOFF_MAX_S
#define POSTIE_QUEUE_BACKOFF_MAX_S 14400u
#endif

/* Age after which a message still failing transiently is given up (moved
 * to the error queue), in seconds. Range 3600..2592000 (1 h..30 d).
 * Default 432000 (5 days, like common MTAs). */
#ifndef POSTIE_QUEUE_MAX_AGE_S
#define POSTIE_QUEUE_MAX_AGE_S 432000u
#endif

/* Messages the queue holds at most (queued and error queue together);
 * enqueue fails with POSTIE_E_QUEUE_FULL beyond it. A queue may set a
 * lower limit at run time. Range 1..100000. Default 1000. */
#ifndef POSTIE_QUEUE_MESSAGES_MAX
#define POSTIE_QUEUE_MESSAGES_MAX 1000u
#endif

/* Octets the queue's entries may occupy in all (headers, state and
 * message). A queue may set a lower limit at run time. Default 64 MiB. */
#ifndef POSTIE_QUEUE_BYTES_MAX
#define POSTIE_QUEUE_BYTES_MAX (64u * 1024u * 1024u)
#endif

/* Recipients per queued message. Range 1..200. Default 32. RAM: one octet
 * per recipient in each state slot, one pointer in a loaded entry. */
#ifndef POSTIE_QUEUE_RCPT_MAX
#define POSTIE_QUEUE_RCPT_MAX 32
#endif

/* Octets for the sender and all recipient addresses of one message,
 * one terminator each. Default 4096. RAM: in each loaded entry. */
#ifndef POSTIE_QUEUE_ENVELOPE_MAX
#define POSTIE_QUEUE_ENVELOPE_MAX 4096
#endif

/* Octets of the last error kept with a message ("RCPT bob@...: 450 4.2.1
 * Mailbox busy"). Default 200. */
#ifndef POSTIE_QUEUE_ERROR_TEXT_MAX
#define POSTIE_QUEUE_ERROR_TEXT_MAX 200
#endif

/* Octets the queue copies at a time between a source and the store.
 * Default 1024. RAM: in postie_queue_t. */
#ifndef POSTIE_QUEUE_IO_CHUNK
#define POSTIE_QUEUE_IO_CHUNK 1024
#endif

/* Entry slots of the queue's RAM store (postie_queue_ram_t), for boards
 * without a file system. Range 1..65535. Default 16. RAM: 24 octets each. */
#ifndef POSTIE_QUEUE_RAM_ENTRIES
#define POSTIE_QUEUE_RAM_ENTRIES 16
#endif

/* ---- Fetching (core/fetch) ------------------------------------------------ */

/* Messages one round of a fetch run takes from a listing before it lists
 * again from the next id: one group commit (one sink flush, one state save)
 * per round, so fewer, larger rounds cost fewer waits for the disk and
 * fewer pipeline drains (postie_fetch_options_t.batch lowers it per run).
 * Range 1..4096. Default 256 on hosts (Unix, macOS, Windows), 32 elsewhere
 * (firmware). RAM: 112 octets each in postie_fetch_t on x86-64 (120 on
 * Cortex-M4: a postie_mail_item_t with its UIDL, flags and two ring
 * entries). */
#ifndef POSTIE_FETCH_BATCH
#if defined(__unix__) || defined(__APPLE__) || defined(_WIN32)
#define POSTIE_FETCH_BATCH 256
#else
#define POSTIE_FETCH_BATCH 32
#endif
#endif

/* IMAP: archived UIDs the fetch state holds above its watermark (those
 * past a message that was not archived, e.g. one over the size limit).
 * When full, a run stops before archiving more (POSTIE_E_FETCH_STATE).
 * Range 16..65535. Default 1024. RAM: 4 octets each plus a bit, in
 * postie_fetch_state_t. */
#ifndef POSTIE_FETCH_UIDS_MAX
#define POSTIE_FETCH_UIDS_MAX 1024
#endif

/* POP3: archived UIDLs the fetch state holds (in keep mode one per
 * archived message still on the server; in delete mode only those whose
 * delete is not final yet). Range 16..65535. Default 2048. RAM: 2 octets
 * each plus a bit, in postie_fetch_state_t. */
#ifndef POSTIE_FETCH_UIDLS_MAX
#define POSTIE_FETCH_UIDLS_MAX 2048
#endif

/* POP3: octets for those UIDLs, each with a NUL (Dovecot's are 16 octets:
 * 32768 holds about 1900). Range 1024..65535. Default 32768. RAM: as
 * much, in postie_fetch_state_t. */
#ifndef POSTIE_FETCH_UIDL_ARENA
#define POSTIE_FETCH_UIDL_ARENA 32768
#endif

/* Longest key prefix of a fetch run (the account's name in the archive
 * keys). Range 0..64. Default 48. RAM: as much, in postie_fetch_t. */
#ifndef POSTIE_FETCH_KEY_PREFIX_MAX
#define POSTIE_FETCH_KEY_PREFIX_MAX 48
#endif

/* ---- Host SMTP client (port/posix) --------------------------------------- */

/* Octets the host client reads from a message body source at a time.
 * Range 512..1048576. Default 8192. RAM: in postie_smtp_client_t. */
#ifndef POSTIE_CLIENT_BODY_CHUNK
#define POSTIE_CLIENT_BODY_CHUNK 8192
#endif

/* ---- TLS layer (port/mbedtls) -------------------------------------------- */

/* Where the system trust store lives when a session names no CA blob and
 * no CA file (Debian's layout): a bundle file, else a directory of
 * certificates. POSIX hosts only: elsewhere (firmware) there is no default,
 * and a session without a CA blob fails with POSTIE_E_TLS_CA_LOAD unless a
 * board defines these. */
#if defined(__unix__) || defined(__APPLE__)
#ifndef POSTIE_TLS_CA_BUNDLE
#define POSTIE_TLS_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#endif
#ifndef POSTIE_TLS_CA_DIR
#define POSTIE_TLS_CA_DIR "/etc/ssl/certs"
#endif
#endif

/* How long closing a TLS connection waits to send close_notify, in
 * milliseconds. Range 0..60000. Default 1000. RAM: none. */
#ifndef POSTIE_TLS_CLOSE_TIMEOUT_MS
#define POSTIE_TLS_CLOSE_TIMEOUT_MS 1000u
#endif

/* ---- Configuration fingerprint ----------------------------------------- */

/* Every size above that changes a public struct is pasted into the link
 * name of each function that sets such a struct up (postie_smtp_init,
 * postie_mime_init, postie_queue_init, postie_queue_ram_init,
 * postie_delivery_init, postie_registry_load, postie_smtp_client_open,
 * postie_imap_init, which adds POSTIE_CONFIG_IMAP_TAG; postie_pop3_init, which
 * adds the POP3 sizes; postie_fetch_init, which adds the fetch sizes):
 * the header says
 * `#define postie_smtp_init POSTIE_CONFIGURED(postie_smtp_init)`. An
 * application compiled with other sizes than its Postie library then fails
 * to link, with an error that shows the application's sizes:
 *
 *   undefined reference to `postie_smtp_init_cfg_1024_4096_32_8_160_...'
 *
 * instead of corrupting memory at run time. The order of the numbers is the
 * order of the list below. Overrides of these sizes must be plain decimal
 * literals without a suffix (-DPOSTIE_SMTP_TX_BUFFER_SIZE=4096: not 4096u,
 * not an expression), as the defaults are, so equal sizes paste equally. */
#define POSTIE_CFG_PASTE_(a, b) a##_##b
#define POSTIE_CFG_PASTE(a, b)  POSTIE_CFG_PASTE_(a, b)
#define POSTIE_CONFIG_SMTP_TAG                                                          \
    POSTIE_CFG_PASTE(                                                                   \
        POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_SMTP_RX_BUFFER_SIZE,  \
                                                           POSTIE_SMTP_TX_BUFFER_SIZE), \
                                          POSTIE_SMTP_PIPELINE_MAX),                    \
                         POSTIE_SMTP_EVENTS_MAX),                                       \
        POSTIE_REPLY_TEXT_MAX)
#define POSTIE_CONFIG_QUEUE_TAG                                                          \
    POSTIE_CFG_PASTE(                                                                    \
        POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_QUEUE_ENVELOPE_MAX,    \
                                                           POSTIE_QUEUE_ERROR_TEXT_MAX), \
                                          POSTIE_QUEUE_IO_CHUNK),                        \
                         POSTIE_QUEUE_RAM_ENTRIES),                                      \
        POSTIE_QUEUE_RCPT_MAX)
#define POSTIE_CONFIG_REGISTRY_TAG                                                                 \
    POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_REGISTRY_SESSIONS_MAX, POSTIE_REGISTRY_ACCOUNTS_MAX), \
                     POSTIE_REGISTRY_PROBLEMS_MAX)
#define POSTIE_CONFIG_TAG                                                                        \
    POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CONFIG_SMTP_TAG,  \
                                                                        POSTIE_MIME_STAGE_SIZE), \
                                                       POSTIE_MIME_READ_CHUNK),                  \
                                      POSTIE_CONFIG_QUEUE_TAG),                                  \
                     POSTIE_CFG_PASTE(POSTIE_CONFIG_REGISTRY_TAG, POSTIE_CLIENT_BODY_CHUNK))
#define POSTIE_CONFIGURED(name) POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(name, cfg), POSTIE_CONFIG_TAG)
/* The POP3 engine's sizes are pasted after the common ones, into
 * postie_pop3_init only: `postie_pop3_init_cfg_<common>_pop3_<rx>_<tx>_...`. */
#define POSTIE_CONFIG_POP3_TAG                                                          \
    POSTIE_CFG_PASTE(                                                                   \
        POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_POP3_RX_BUFFER_SIZE,  \
                                                           POSTIE_POP3_TX_BUFFER_SIZE), \
                                          POSTIE_POP3_PIPELINE_MAX),                    \
                         POSTIE_POP3_EVENTS_MAX),                                       \
        POSTIE_POP3_LINE_MAX)
#define POSTIE_POP3_CONFIGURED(name) \
    POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CONFIGURED(name), pop3), POSTIE_CONFIG_POP3_TAG)
/* The fetch run's sizes are pasted after the common ones, into
 * postie_fetch_init only: `postie_fetch_init_cfg_<common>_fetch_<batch>_...`. */
#define POSTIE_CONFIG_FETCH_TAG                                                                 \
    POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_FETCH_BATCH,     \
                                                                        POSTIE_FETCH_UIDS_MAX), \
                                                       POSTIE_FETCH_UIDLS_MAX),                 \
                                      POSTIE_FETCH_UIDL_ARENA),                                 \
                     POSTIE_FETCH_KEY_PREFIX_MAX)
#define POSTIE_FETCH_CONFIGURED(name) \
    POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CONFIGURED(name), fetch), POSTIE_CONFIG_FETCH_TAG)
/* The IMAP engine's sizes, pasted after the common tag in postie_imap_init's
 * link name (postie_imap_init_cfg_..._4096_2048_2048_8_8_32_32). */
#define POSTIE_CONFIG_IMAP_TAG                                                                  \
    POSTIE_CFG_PASTE(                                                                           \
        POSTIE_CFG_PASTE(                                                                       \
            POSTIE_CFG_PASTE(                                                                   \
                POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_IMAP_RX_BUFFER_SIZE,  \
                                                                   POSTIE_IMAP_TX_BUFFER_SIZE), \
                                                  POSTIE_IMAP_LINE_MAX),                        \
                                 POSTIE_IMAP_PIPELINE_MAX),                                     \
                POSTIE_IMAP_EVENTS_MAX),                                                        \
            POSTIE_IMAP_LIST_WINDOWS),                                                          \
        POSTIE_IMAP_SET_MAX)

/* The TLS layer (port/mbedtls) and whatever embeds its context (the host SMTP
 * client) also depend on the mbedTLS release: its structs change size and
 * layout between 2.28 and 3.6. Their link names carry the release too,
 * e.g. postie_tls_init_cfg_..._mbedtls_3_6, so an application compiled
 * against mbedTLS 2.28's headers fails to link with a Postie built against
 * 3.6 (and the reverse) instead of corrupting memory. It is not in
 * POSTIE_CONFIGURED itself because core/ must not depend on mbedTLS: the
 * headers using this macro include <mbedtls/version.h> first. */
#define POSTIE_TLS_CONFIGURED(name)                                                       \
    POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CONFIGURED(name), mbedtls), \
                                      MBEDTLS_VERSION_MAJOR),                             \
                     MBEDTLS_VERSION_MINOR)

/* ---- OAuth 2.0 token endpoint (HTTP/1.1 client) ------------------------ */

/* Longest HTTP response header line (status line included), in octets.
 * Range 256..8192. Default 1024. RAM: this much in postie_http_resp_t. */
#ifndef POSTIE_HTTP_LINE_MAX
#define POSTIE_HTTP_LINE_MAX 1024
#endif

/* It sizes postie_http_resp_t, so it is pasted after the common tag (see
 * "Configuration fingerprint" above) into postie_http_resp_init's link name:
 * `postie_http_resp_init_cfg_<common>_http_1024`. */
#define POSTIE_HTTP_CONFIGURED(name) \
    POSTIE_CFG_PASTE(POSTIE_CFG_PASTE(POSTIE_CONFIGURED(name), http), POSTIE_HTTP_LINE_MAX)

/* Most octets of response header lines in all, in octets; more is an
 * error, not an endless read. Range 1024..65536. Default 16384. RAM: none. */
#ifndef POSTIE_HTTP_HEADERS_MAX
#define POSTIE_HTTP_HEADERS_MAX 16384
#endif

/* Largest token or device endpoint reply body accepted, in octets (an
 * access token, a refresh token and an id_token fit with room to spare).
 * Range 1024..65536. Default 16384. RAM: the POSIX token provider's reply
 * buffer, on the heap of the host. */
#ifndef POSTIE_HTTP_BODY_MAX
#define POSTIE_HTTP_BODY_MAX 16384
#endif

/* Longest refresh token kept, in octets. Range 256..8192. Default 4096.
 * RAM: this much in the token provider (and once more while it is written). */
#ifndef POSTIE_OAUTH_REFRESH_TOKEN_MAX
#define POSTIE_OAUTH_REFRESH_TOKEN_MAX 4096
#endif

/* Seconds before an access token's expiry (expires_in) at which the
 * provider stops handing out the cached one and gets a new one, so a
 * token never expires between the hand-out and the login. Range 0..600.
 * Default 60. */
#ifndef POSTIE_OAUTH_EXPIRY_MARGIN_S
#define POSTIE_OAUTH_EXPIRY_MARGIN_S 60u
#endif

/* Each HTTP exchange with a token endpoint: the connect (TCP and TLS)
 * and each read are bounded by this, in milliseconds, and the whole
 * exchange by four times it. Range 1000..600000. Default 30000. */
#ifndef POSTIE_OAUTH_HTTP_TIMEOUT_MS
#define POSTIE_OAUTH_HTTP_TIMEOUT_MS (30u * 1000u)
#endif

/* ---- Checks against protocol minimums ---------------------------------- */

/* A compile-time check that works in C (_Static_assert, which GCC and Clang
 * accept in C99 mode too) and in C++ (static_assert), so the headers can be
 * included from a C++ translation unit. */
#if defined(__cplusplus)
#define POSTIE_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define POSTIE_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

POSTIE_STATIC_ASSERT(POSTIE_REPLY_LINE_MAX >= 512,
                     "RFC 5321 4.5.3.1.5: reply lines up to 512 octets");
POSTIE_STATIC_ASSERT(POSTIE_SMTP_RX_BUFFER_SIZE >= POSTIE_REPLY_LINE_MAX,
                     "the receive buffer must hold one whole reply line");
POSTIE_STATIC_ASSERT(POSTIE_SMTP_TX_BUFFER_SIZE >= 2048,
                     "the transmit buffer must hold the longest command line and a BDAT chunk");
POSTIE_STATIC_ASSERT(POSTIE_SMTP_TX_BUFFER_SIZE >=
                         16 + ((2 * POSTIE_AUTH_FIELD_MAX + 2 + 2) / 3) * 4,
                     "the transmit buffer must hold AUTH PLAIN with the longest credentials");
POSTIE_STATIC_ASSERT(POSTIE_OAUTH_TOKEN_MAX >= 256 && POSTIE_OAUTH_TOKEN_MAX <= 8192,
                     "OAuth 2.0 token max 256..8192");
/* An OAuth 2.0 response goes on a line of its own when it does not fit the
 * AUTH command line (RFC 4954 4, RFC 5034 4): the transmit buffer holds it
 * with its CRLF, or with the IMAP command and tag (SASL-IR). */
POSTIE_STATIC_ASSERT(POSTIE_SMTP_TX_BUFFER_SIZE >= POSTIE_SASL_OAUTH_B64_MAX + 64,
                     "the transmit buffer must hold an OAuth 2.0 response with the longest token "
                     "(POSTIE_OAUTH_TOKEN_MAX)");
POSTIE_STATIC_ASSERT(POSTIE_POP3_TX_BUFFER_SIZE >= POSTIE_SASL_OAUTH_B64_MAX + 64,
                     "the POP3 transmit buffer must hold an OAuth 2.0 response with the longest "
                     "token (POSTIE_OAUTH_TOKEN_MAX)");
POSTIE_STATIC_ASSERT(POSTIE_IMAP_TX_BUFFER_SIZE >= POSTIE_SASL_OAUTH_B64_MAX + 64,
                     "the IMAP transmit buffer must hold AUTHENTICATE with an OAuth 2.0 response "
                     "with the longest token (POSTIE_OAUTH_TOKEN_MAX)");
POSTIE_STATIC_ASSERT(POSTIE_SMTP_PIPELINE_MAX >= 1 && POSTIE_SMTP_PIPELINE_MAX <= 255,
                     "pipeline depth 1..255");
POSTIE_STATIC_ASSERT(POSTIE_POP3_LINE_MAX >= 512,
                     "RFC 2449 4: POP3 response lines up to 512 octets");
POSTIE_STATIC_ASSERT(POSTIE_POP3_RX_BUFFER_SIZE >= POSTIE_POP3_LINE_MAX,
                     "the POP3 receive buffer must hold one whole response line");
POSTIE_STATIC_ASSERT(POSTIE_POP3_TX_BUFFER_SIZE >=
                         32 + ((2 * POSTIE_AUTH_FIELD_MAX + 2 + 2) / 3) * 4,
                     "the POP3 transmit buffer must hold AUTH PLAIN with the longest credentials");
POSTIE_STATIC_ASSERT(POSTIE_POP3_PIPELINE_MAX >= 2 && POSTIE_POP3_PIPELINE_MAX <= 32,
                     "POP3 pipeline depth 2..32 (LIST and UIDL go together)");
POSTIE_STATIC_ASSERT(POSTIE_POP3_EVENTS_MAX >= 4 && POSTIE_POP3_EVENTS_MAX <= 64,
                     "POP3 events 4..64");
POSTIE_STATIC_ASSERT(POSTIE_REPLY_TEXT_MAX >= 32, "keep enough reply text to be useful");
POSTIE_STATIC_ASSERT(POSTIE_IMAP_LINE_MAX >= 1024 &&
                         POSTIE_IMAP_LINE_MAX <= POSTIE_IMAP_RX_BUFFER_SIZE,
                     "IMAP lines 1024..the receive buffer");
POSTIE_STATIC_ASSERT(
    POSTIE_IMAP_TX_BUFFER_SIZE >= 1024 &&
        POSTIE_IMAP_TX_BUFFER_SIZE >= 64 + ((2 * POSTIE_AUTH_FIELD_MAX + 2 + 2) / 3) * 4,
    "the IMAP transmit buffer must hold AUTHENTICATE PLAIN with the longest credentials");
POSTIE_STATIC_ASSERT(POSTIE_IMAP_PIPELINE_MAX >= 2 && POSTIE_IMAP_PIPELINE_MAX <= 255,
                     "IMAP pipeline depth 2..255");
POSTIE_STATIC_ASSERT(POSTIE_IMAP_EVENTS_MAX >= 4, "IMAP events: at least 4");
POSTIE_STATIC_ASSERT(POSTIE_IMAP_LIST_WINDOWS >= 1 && POSTIE_IMAP_LIST_WINDOWS <= 255,
                     "IMAP list windows 1..255");
POSTIE_STATIC_ASSERT(POSTIE_IMAP_SET_MAX >= 1 && POSTIE_IMAP_SET_MAX <= 1024,
                     "IMAP UID set 1..1024");
POSTIE_STATIC_ASSERT(POSTIE_MIME_STAGE_SIZE >= 1024,
                     "the writer's work area holds one header token");
POSTIE_STATIC_ASSERT(POSTIE_MIME_FIELD_MAX >= 64 &&
                         2 * POSTIE_MIME_FIELD_MAX + 300 <= POSTIE_MIME_STAGE_SIZE,
                     "a quoted display name and an address must fit the writer's work area");
POSTIE_STATIC_ASSERT(POSTIE_MIME_READ_CHUNK >= 57, "read at least one base64 line of input");
POSTIE_STATIC_ASSERT(POSTIE_QUEUE_BACKOFF_BASE_S >= 1 &&
                         POSTIE_QUEUE_BACKOFF_BASE_S <= POSTIE_QUEUE_BACKOFF_MAX_S,
                     "queue backoff: 1 <= base <= max");
POSTIE_STATIC_ASSERT(POSTIE_QUEUE_RCPT_MAX >= 1 && POSTIE_QUEUE_RCPT_MAX <= 200,
                     "queue recipients 1..200 (one state slot holds them)");
POSTIE_STATIC_ASSERT(POSTIE_QUEUE_ENVELOPE_MAX >= 2 * 257, "hold a sender and a recipient");
POSTIE_STATIC_ASSERT(POSTIE_QUEUE_ERROR_TEXT_MAX >= 64 && POSTIE_QUEUE_ERROR_TEXT_MAX <= 255,
                     "queue error text 64..255 octets");
POSTIE_STATIC_ASSERT(POSTIE_QUEUE_IO_CHUNK >= 256, "queue copy chunk at least 256 octets");
POSTIE_STATIC_ASSERT(POSTIE_FETCH_BATCH >= 1 && POSTIE_FETCH_BATCH <= 4096, "fetch batch 1..4096");
POSTIE_STATIC_ASSERT(POSTIE_FETCH_UIDS_MAX >= 16 && POSTIE_FETCH_UIDS_MAX <= 65535,
                     "fetch state UIDs 16..65535");
POSTIE_STATIC_ASSERT(POSTIE_FETCH_UIDLS_MAX >= 16 && POSTIE_FETCH_UIDLS_MAX <= 65535,
                     "fetch state UIDLs 16..65535");
POSTIE_STATIC_ASSERT(POSTIE_FETCH_UIDL_ARENA >= 1024 && POSTIE_FETCH_UIDL_ARENA <= 65535,
                     "fetch state UIDL arena 1024..65535 (16-bit offsets)");
POSTIE_STATIC_ASSERT(POSTIE_FETCH_KEY_PREFIX_MAX <= 64, "fetch key prefix 0..64");

#endif /* POSTIE_CONFIG_DEFAULTS_H */
