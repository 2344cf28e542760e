/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One status enum for the whole library, with a name table, a human message
 * and the transient/permanent split the queue acts on.
 *
 * Transient: worth retrying later (4xx replies, timeouts, resets, DNS).
 * Permanent: retrying the same thing will fail the same way (5xx, bad input,
 * bad configuration, certificate that does not verify).
 */
#ifndef POSTIE_STATUS_H
#define POSTIE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie_config_defaults.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * NULL arguments, throughout Postie's public API: a pointer argument is
 * required (must not be NULL) unless its description says "may be NULL"
 * or gives NULL a meaning ("NULL: the defaults"); the same holds for the
 * pointer fields of configuration and message structs. Where NULL is
 * allowed, the function handles it as described. Passing NULL where a
 * pointer is required is a programming error: some functions catch it and
 * return POSTIE_E_INVALID_ARGUMENT, but none promises to.
 */

/* X(name, transient, message) */
#define POSTIE_STATUS_LIST(X)                                                                     \
    X(POSTIE_OK, 0, "success")                                                                    \
    X(POSTIE_E_AGAIN, 1, "operation would block; call again with more input")                     \
    X(POSTIE_E_INVALID_ARGUMENT, 0, "invalid argument")                                           \
    X(POSTIE_E_BAD_STATE, 0, "call not allowed in the current state")                             \
    X(POSTIE_E_NO_SPACE, 0, "buffer too small for the value")                                     \
    X(POSTIE_E_ADDRESS_INVALID, 0, "address is not one mailbox (local-part@domain, RFC 5321)")    \
    X(POSTIE_E_ADDRESS_TOO_LONG, 0, "address longer than 256 octets (RFC 5321 4.5.3.1.3)")        \
    X(POSTIE_E_ADDRESS_NEEDS_SMTPUTF8, 0, "non-ASCII address but the server lacks SMTPUTF8")      \
    X(POSTIE_E_BODY_NUL, 0, "message contains a NUL octet")                                       \
    X(POSTIE_E_BODY_8BIT_UNSUPPORTED, 0, "8-bit message but the server lacks 8BITMIME")           \
    X(POSTIE_E_BODY_8BIT_UNDECLARED, 0, "message has 8-bit octets but was declared 7-bit")        \
    X(POSTIE_E_MESSAGE_TOO_LARGE, 0, "message larger than the server's SIZE limit")               \
    X(POSTIE_E_REPLY_LINE_TOO_LONG, 0, "server reply line longer than the configured limit")      \
    X(POSTIE_E_REPLY_TOO_MANY_LINES, 0, "server multi-line reply has too many lines")             \
    X(POSTIE_E_REPLY_MALFORMED, 0, "server reply is not valid SMTP, POP3 or IMAP")                \
    X(POSTIE_E_REPLY_UNEXPECTED, 0, "server sent a reply nobody asked for")                       \
    X(POSTIE_E_REPLY_TRANSIENT, 1, "server answered with a temporary failure (4xx)")              \
    X(POSTIE_E_REPLY_PERMANENT, 0, "server answered with a permanent failure (5xx)")              \
    X(POSTIE_E_SERVER_SHUTDOWN, 1, "server is closing the connection (421)")                      \
    X(POSTIE_E_STARTTLS_UNAVAILABLE, 0, "STARTTLS required but the server does not offer it")     \
    X(POSTIE_E_STARTTLS_REFUSED, 0, "STARTTLS required but the server refused it")                \
    X(POSTIE_E_STARTTLS_INJECTION, 0,                                                             \
      "bytes arrived between the STARTTLS go-ahead and the handshake")                            \
    X(POSTIE_E_AUTH_CLEARTEXT_REFUSED, 0,                                                         \
      "refusing to send credentials over an unencrypted channel")                                 \
    X(POSTIE_E_AUTH_NO_MECHANISM, 0, "server offers no authentication mechanism Postie supports") \
    X(POSTIE_E_AUTH_FAILED, 0, "authentication failed")                                           \
    X(POSTIE_E_AUTH_TEMPORARY, 1, "authentication failed temporarily")                            \
    X(POSTIE_E_RECIPIENTS_REJECTED, 0, "every recipient was rejected")                            \
    X(POSTIE_E_TIMEOUT, 1, "timed out waiting for the server")                                    \
    X(POSTIE_E_CONNECTION_CLOSED, 1, "connection closed by the peer")                             \
    X(POSTIE_E_CONNECTION_RESET, 1, "connection reset by the peer")                               \
    X(POSTIE_E_DNS, 1, "host name could not be resolved")                                         \
    X(POSTIE_E_CONNECT_FAILED, 1, "could not connect to the server")                              \
    X(POSTIE_E_IO, 1, "input/output error")                                                       \
    X(POSTIE_E_TLS_HANDSHAKE, 1, "TLS handshake failed")                                          \
    X(POSTIE_E_TLS_CERT_UNTRUSTED, 0, "server certificate not signed by a trusted CA")            \
    X(POSTIE_E_TLS_CERT_EXPIRED, 0, "server certificate expired or not yet valid")                \
    X(POSTIE_E_TLS_CERT_NAME_MISMATCH, 0, "server certificate does not match the host name")      \
    X(POSTIE_E_TLS_CERT_INVALID, 0, "server certificate failed verification")                     \
    X(POSTIE_E_TLS_CA_LOAD, 0, "could not load the CA certificates")                              \
    X(POSTIE_E_TLS_SETUP, 0, "TLS could not be set up")                                           \
    X(POSTIE_E_TLS_PROTOCOL, 1, "TLS protocol error")                                             \
    X(POSTIE_E_FILE, 0, "file could not be read")                                                 \
    X(POSTIE_E_FIELD_INVALID, 0, "message field contains CR, LF, NUL or a control character")     \
    X(POSTIE_E_FIELD_TOO_LONG, 0, "message field longer than the configured limit")               \
    X(POSTIE_E_UTF8_INVALID, 0, "text is not valid UTF-8")                                        \
    X(POSTIE_E_HEADER_NAME_INVALID, 0, "header name must be printable ASCII without ':'")         \
    X(POSTIE_E_HEADER_RESERVED, 0, "header is written by Postie; set it through the message")     \
    X(POSTIE_E_SOURCE_FAILED, 0, "reading the message content failed")                            \
    X(POSTIE_E_REGISTRY_INVALID, 0, "the mail registry has errors; nothing was loaded")           \
    X(POSTIE_E_REGISTRY_TOO_LARGE, 0, "the mail registry passes a size, depth or count limit")    \
    X(POSTIE_E_NOT_FOUND, 0, "no such session or account")                                        \
    X(POSTIE_E_TEMPLATE_SYNTAX, 0, "from-name template has a ${ without a closing }")             \
    X(POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE, 0, "from-name template uses an unknown variable")       \
    X(POSTIE_E_QUEUE_FULL, 0, "the outgoing queue is full")                                       \
    X(POSTIE_E_QUEUE_CORRUPT, 0, "a queue entry is damaged")                                      \
    X(POSTIE_E_BUSY, 1, "another process is working on this queue entry")                         \
    X(POSTIE_E_EXPIRED, 0, "the message stayed in the queue too long")                            \
    X(POSTIE_E_COMMAND_REFUSED, 0, "server refused the command (-ERR, NO or BAD)")                \
    X(POSTIE_E_MAILBOX_IN_USE, 1, "mailbox is busy or locked; try again later")                   \
    X(POSTIE_E_PREAUTH_REFUSED, 0, "server greeted PREAUTH but TLS is required")                  \
    X(POSTIE_E_FOLDER_NOT_FOUND, 0, "the folder could not be selected")                           \
    X(POSTIE_E_LITERAL_TOO_LARGE, 0, "server announced a size beyond the configured limit")       \
    X(POSTIE_E_MESSAGE_TRUNCATED, 1, "message data ended before its end (no final dot, short)")   \
    X(POSTIE_E_SIZE_MISMATCH, 0, "message data disagrees with the size the server announced")     \
    X(POSTIE_E_UIDVALIDITY_CHANGED, 0, "the folder's UIDVALIDITY changed since the last fetch")   \
    X(POSTIE_E_ARCHIVE_FAILED, 1, "the archive could not store the message")                      \
    X(POSTIE_E_FETCH_STATE, 0, "the fetch state could not be read or written")                    \
    X(POSTIE_E_DEFERRED, 1, "not delivered yet; the message waits in the queue for a retry")      \
    X(POSTIE_E_DELIVERY_FAILED, 0, "delivery failed; the message was moved to the error queue")   \
    X(POSTIE_E_TOKEN_REJECTED, 0, "the server refused the OAuth 2.0 access token")                \
    X(POSTIE_E_TOKEN_UNAVAILABLE, 0, "no OAuth 2.0 access token (not authorized yet, or lost)")   \
    X(POSTIE_E_OAUTH_GRANT, 0, "the token endpoint refused the grant")                            \
    X(POSTIE_E_HTTP, 1, "the HTTP exchange failed (no reply, malformed reply or error status)")

typedef enum {
#define POSTIE_STATUS_ENUM(name, transient, message) name,
    POSTIE_STATUS_LIST(POSTIE_STATUS_ENUM)
#undef POSTIE_STATUS_ENUM
        POSTIE_STATUS_COUNT
} postie_status_t;

/* The enum's name, e.g. "POSTIE_E_TIMEOUT". Never NULL. */
const char *postie_status_name(postie_status_t status);

/* A short human message, e.g. "timed out waiting for the server". Never NULL.
 * Built with POSTIE_STATUS_TEXTS 0 (config/postie_config_defaults.h) there
 * are no messages: this returns the name, as postie_status_name() does. */
const char *postie_status_str(postie_status_t status);

/* True when retrying later may succeed (4xx, network, timeout). */
bool postie_status_is_transient(postie_status_t status);

/*
 * A server reply kept for the caller: code, enhanced status code and text,
 * copied (not a view) so it outlives the receive buffer. RAM:
 * 8 + 16 + POSTIE_REPLY_TEXT_MAX octets.
 */
typedef struct {
    uint16_t code;                    /* 3-digit reply code, 0 when there was no reply */
    char enhanced[16];                /* "5.1.1" when the server gave one, else "" */
    char text[POSTIE_REPLY_TEXT_MAX]; /* reply text without code, NUL-terminated, may be cut */
} postie_reply_info_t;

/*
 * The detail behind a failure: the status, the command that was in progress
 * ("MAIL FROM", "RCPT TO", "greeting", ...), the server reply when there was
 * one, and for address errors the offending value.
 */
typedef struct {
    postie_status_t status;
    const char *phase;         /* static string naming the step, never NULL once set */
    postie_reply_info_t reply; /* code 0 when the failure was not a server reply */
    char subject[96];          /* the address, field or host the error is about, or "" */
} postie_error_t;

/* Clear an error record to POSTIE_OK. */
void postie_error_clear(postie_error_t *err);

/* A source of octets (a message body, an attachment, a stored entry): fill
 * buf with up to cap octets and set *got; *got = 0 at the end. Any status
 * but POSTIE_OK is a failure of the source, except POSTIE_E_AGAIN where the
 * consumer says it takes non-blocking sources (nothing available yet). The
 * message writer, the queue and the SMTP clients all take this one type. */
typedef postie_status_t (*postie_read_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *got);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_STATUS_H */
