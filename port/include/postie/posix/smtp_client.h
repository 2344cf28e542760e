/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A blocking SMTP client for hosts: the sans-IO engine run by the one driver
 * (postie/common/driver.h) over POSIX TCP and, when asked, mbedTLS
 * (implicit TLS or STARTTLS).
 *
 *   postie_smtp_client_open()   connect, greeting, EHLO, STARTTLS, AUTH
 *   postie_smtp_client_send()   one message; call again for the next one
 *   postie_smtp_client_quit()   QUIT and close
 *
 * Every wait is bounded:
 *  - connect_timeout_ms bounds the TCP connect (name resolution aside, see
 *    tcp_posix.h); with implicit TLS the connect and the TLS handshake
 *    together; with STARTTLS, the handshake on its own, counted from its
 *    start. Each is one total deadline, however the peer paces its bytes.
 *  - each reply, all its lines, must be complete within the engine's RFC 5321
 *    timeout for its command (cfg.smtp.timeout_*_ms), counted from when it
 *    was awaited; bytes trickling in do not extend it (see postie_smtp_poll).
 *  - each send of commands or body within timeout_command_ms, or
 *    timeout_data_block_ms while the body goes out.
 * A timeout ends the session with POSTIE_E_TIMEOUT (a temporary failure);
 * the error's phase names the step ("greeting", "EHLO", "DATA", "end of data
 * (final dot)", "TLS handshake after STARTTLS", "connect and TLS
 * handshake"...). Failure details (the server reply, or the TLS
 * verification result) are in postie_smtp_client_error().
 *
 * OAuth 2.0 (cfg.token set): open asks the provider for a token
 * (refresh false) and logs in with it. When the server refuses it
 * (POSTIE_E_TOKEN_REJECTED), open closes that connection, asks the provider
 * again with refresh true, connects again and tries once more; a second
 * refusal is final (POSTIE_E_TOKEN_REJECTED, the error's subject the
 * server's decoded JSON, e.g. "invalid_token: {...}"). SMTP would allow a
 * second AUTH on the same connection after 535, but the engine's failures
 * are final by design, and a refused token is rare enough that one more
 * connection costs nothing that matters. When the provider fails (first or
 * second ask), open returns its status (POSTIE_E_TOKEN_UNAVAILABLE,
 * POSTIE_E_OAUTH_GRANT, POSTIE_E_HTTP, ...) with phase "OAuth 2.0 token" and
 * its message as the subject, having connected nowhere (first ask) or
 * having closed the refused session (second). A configuration with
 * smtp.oauth_mechanism set (an OAuth 2.0 session mapped from the registry)
 * but neither a provider, smtp.oauth_token nor a password fails the same
 * way, with POSTIE_E_TOKEN_UNAVAILABLE and "no token provider configured". smtp.oauth_host and
 * smtp.oauth_port default to host and the port connected to. The token is
 * wiped from the client when open returns; it never reaches the log or an
 * error record.
 *
 * RAM: sizeof(postie_smtp_client_t), 149 080 octets on x86-64 with Debian's
 * mbedTLS 2.28: the engine (133 704, of which 128 KiB transmit buffer on
 * hosts), the TLS layer (2 392), the driver
 * (112), the body staging buffer (POSTIE_CLIENT_BODY_CHUNK), the token
 * buffer (POSTIE_OAUTH_TOKEN_MAX + 1, 4 097) and small fields; plus the process-wide DRBG (392,
 * once) and mbedTLS's record buffers (about 2 x 16 KiB) on the heap during a TLS session.
 *
 * Thread model: one client per thread at a time; clients share only the TLS
 * layer's DRBG (and arena), which mbedTLS locks. Before starting threads
 * that open clients, call postie_tls_global_init() once (see the thread
 * model in postie/mbedtls/tls.h).
 */
#ifndef POSTIE_SMTP_CLIENT_H
#define POSTIE_SMTP_CLIENT_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include "postie/smtp/smtp.h"
#include "postie/common/driver.h"
#include "postie/common/token.h"
#include "postie/posix/tcp.h"
#include "postie/mbedtls/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *host;            /* server name: verified in its certificate */
    uint16_t port;               /* 0: 25 for plain/STARTTLS, 465 for implicit TLS */
    const char *connect_to;      /* address or name to connect to instead of host; NULL: host */
    uint32_t connect_timeout_ms; /* connect, and TLS handshake; 0: POSTIE_CONNECT_TIMEOUT_MS */
    postie_smtp_config_t smtp;
    postie_tls_config_t tls; /* verify_name defaults to host */
    /* OAuth 2.0: non-NULL logs in as smtp.username with an access token from
     * this provider, by smtp.oauth_mechanism (POSTIE_SASL_XOAUTH2 or
     * POSTIE_SASL_OAUTHBEARER; never another, never the password); see
     * "OAuth 2.0" above. The provider (and its ctx) must outlive open.
     * NULL: smtp.oauth_token as the caller set it (or the password). */
    const postie_token_provider_t *token;
} postie_smtp_client_config_t;

/* Defaults: STARTTLS required, verification on, RFC timeouts. */
void postie_smtp_client_config_defaults(postie_smtp_client_config_t *cfg);

typedef struct {
    postie_smtp_client_config_t cfg;
    postie_smtp_t engine;
    postie_tcp_t tcp;
    postie_tls_t tls;
    postie_driver_t driver; /* runs the engine over tcp, or tls once it is up */
    bool tls_initialised;
    postie_error_t error;
    uint8_t stage[POSTIE_CLIENT_BODY_CHUNK]; /* the driver's body staging buffer */
    bool data_sent;      /* the last send's data ended on the wire (POSTIE_SMTP_EV_DATA_SENT) */
    unsigned token_asks; /* how often open asked the token provider (0, 1 or 2) */
    char token[POSTIE_OAUTH_TOKEN_MAX + 1]; /* during open only; wiped after */
} postie_smtp_client_t;

/* Connect, read the greeting, EHLO, STARTTLS and AUTH as configured. On
 * failure postie_smtp_client_error() says why: POSTIE_E_INVALID_ARGUMENT
 * before any connection for an empty host, a bad EHLO name or credentials
 * over POSTIE_AUTH_FIELD_MAX octets; else the transport's or the server's
 * error. Call postie_smtp_client_quit() afterwards whatever it returned. */
#define postie_smtp_client_open POSTIE_TLS_CONFIGURED(postie_smtp_client_open)
postie_status_t postie_smtp_client_open(postie_smtp_client_t *c,
                                        const postie_smtp_client_config_t *cfg);

/* Send one message. Per-recipient results land in env->rcpt[]; the outcome
 * (final reply) in postie_smtp_message_result(&c->engine). Returns POSTIE_OK
 * when the server accepted the message for at least one recipient. After a
 * failure that ended the session, postie_smtp_client_error() says why.
 * POSTIE_E_BAD_STATE when the client is not open (after quit, or after an
 * open that failed). */
postie_status_t postie_smtp_client_send(postie_smtp_client_t *c, postie_smtp_envelope_t *env,
                                        postie_read_fn read, void *read_ctx);

/* QUIT (when the session is still up) and close. Safe after any return of
 * postie_smtp_client_open (a failure, even one before the connection was
 * tried: bad EHLO name, empty host, credentials too long), and safe to call
 * again: later calls do nothing. Also a no-op on a zero-filled client that
 * was never opened. */
void postie_smtp_client_quit(postie_smtp_client_t *c);

const postie_error_t *postie_smtp_client_error(const postie_smtp_client_t *c);

/* Whether the last postie_smtp_client_send got the end of its message's
 * data onto the connection (the engine's POSTIE_SMTP_EV_DATA_SENT): true
 * even when the server then refused the message or its reply never came,
 * in which case the server may still deliver it. False before any send,
 * and for a message that stopped before its data ended. */
bool postie_smtp_client_data_sent(const postie_smtp_client_t *c);

/* TLS details when the session is encrypted (returns false otherwise). */
bool postie_smtp_client_tls_info(const postie_smtp_client_t *c, postie_tls_info_t *info);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_SMTP_CLIENT_H */
