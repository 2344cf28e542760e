/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A blocking POP3 or IMAP client for hosts, like the SMTP client
 * (postie/posix/smtp_client.h): the sans-IO engine run by the one driver
 * (postie/common/driver.h) over POSIX TCP and, when asked, mbedTLS
 * (implicit TLS, or STLS / STARTTLS).
 *
 *   postie_mailbox_client_open()      connect, greeting, capabilities, TLS,
 *                                     login (and IMAP SELECT): READY
 *   postie_mailbox_client_list()      every message from an id up
 *   postie_mailbox_client_retrieve()  one message, streamed to a callback
 *   postie_mailbox_client_remove()    mark one message deleted
 *   postie_mailbox_client_finish()    make deletions final and log out
 *   postie_mailbox_client_close()     (finish if still open, then) close
 *
 * Each call blocks until its command's event (or the session's failure),
 * bounded by the engine's reply deadlines and connect_timeout_ms for the
 * connect and every TLS handshake. After any failure the session is over:
 * postie_mailbox_client_error() says why (status, step, the server's text
 * or the transport's detail); call close.
 *
 * The fetch run (postie/fetch/fetch.h) drives the engine itself through
 * postie_mailbox_client_ops()/engine() and postie_mailbox_client_wait(), to
 * put commands in one flight where the engine pipelines.
 *
 * OAuth 2.0 (cfg.token set): open asks the provider for a token
 * (refresh false) and logs in with it (AUTH or AUTHENTICATE with
 * oauth_mechanism, see postie/pop3/pop3.h and postie/imap/imap.h). When
 * the server refuses it (POSTIE_E_TOKEN_REJECTED): both protocols end the
 * login there (POP3 after -ERR, IMAP after the tagged NO; the engines'
 * failures are final), so open closes that connection, asks the provider
 * again with refresh true, connects again and tries exactly once more; a
 * second refusal is final (POSTIE_E_TOKEN_REJECTED, subject the server's
 * decoded JSON). A failing provider's status (POSTIE_E_TOKEN_UNAVAILABLE,
 * POSTIE_E_OAUTH_GRANT, POSTIE_E_HTTP, ...) is open's, with phase
 * "OAuth 2.0 token" and its message as the subject. oauth_mechanism set
 * (an OAuth 2.0 account mapped from the registry) without a provider or a
 * password: POSTIE_E_TOKEN_UNAVAILABLE, "no token provider configured",
 * before any connection. OAUTHBEARER's host and
 * port are host and the port connected to. The token is wiped from the
 * client when open returns and never reaches the log or an error record.
 *
 * RAM: sizeof(postie_mailbox_client_t), 25 072 octets on x86-64 with the
 * defaults: the larger of the two engines (see postie/pop3/pop3.h and
 * postie/imap/imap.h), the TLS layer (2 376 with mbedTLS 2.28), the driver
 * (112), the token buffer (POSTIE_OAUTH_TOKEN_MAX + 1) and small fields;
 * plus the
 * process-wide DRBG and mbedTLS's record buffers during a TLS session (see
 * postie/mbedtls/tls.h).
 *
 * Thread model: one client per thread at a time; clients share nothing.
 */
#ifndef POSTIE_MAILBOX_CLIENT_H
#define POSTIE_MAILBOX_CLIENT_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stdint.h>

#include "postie/common/driver.h"
#include "postie/common/mailbox.h"
#include "postie/common/sasl.h"
#include "postie/common/tls_mode.h"
#include "postie/common/token.h"
#include "postie/fetch/fetch_state.h"
#include "postie/imap/imap.h"
#include "postie/mbedtls/tls.h"
#include "postie/pop3/pop3.h"
#include "postie/posix/tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    postie_fetch_protocol_t protocol; /* POSTIE_FETCH_POP3 or POSTIE_FETCH_IMAP */
    const char *host;                 /* server name: verified in its certificate */
    uint16_t port;               /* 0: from protocol and tls_mode: 110/995 (POP3), 143/993 (IMAP) */
    const char *connect_to;      /* address or name to connect to instead of host; NULL: host */
    uint32_t connect_timeout_ms; /* connect, and each TLS handshake; 0: POSTIE_CONNECT_TIMEOUT_MS */
    uint32_t reply_timeout_ms;   /* each reply (and each message's data); 0: the engine's
                                  * defaults (POSTIE_POP3_TIMEOUT_*, POSTIE_IMAP_TIMEOUT_*) */
    postie_tls_mode_t tls_mode;  /* zero: STLS/STARTTLS required */
    postie_tls_config_t tls;     /* CA file, verification; verify_name defaults to host */
    const char *user;            /* NULL: no login (capabilities only) */
    const char *password;
    bool allow_plaintext_auth; /* log in over a clear channel (never the default) */
    bool use_apop;             /* POP3: APOP when the greeting offers it */
    const char *folder;        /* IMAP folder; NULL or "": INBOX */
    /* OAuth 2.0: non-NULL logs in as user with an access token from this
     * provider by oauth_mechanism, and by nothing else (password unused);
     * see "OAuth 2.0" above. The provider (and its ctx) must outlive open. */
    const postie_token_provider_t *token;
    uint32_t oauth_mechanism; /* POSTIE_SASL_XOAUTH2 or POSTIE_SASL_OAUTHBEARER */
    postie_log_fn log;        /* every line sent and received, secrets redacted; may be NULL */
    void *log_ctx;
} postie_mailbox_client_config_t;

/* Defaults: POP3, STLS/STARTTLS required, verification on, engine timeouts. */
void postie_mailbox_client_config_defaults(postie_mailbox_client_config_t *cfg);

/* The port a configuration connects to (its port, or the default). */
uint16_t postie_mailbox_client_port(const postie_mailbox_client_config_t *cfg);

/* Treat every field as private; use the functions below. */
typedef struct {
    postie_mailbox_client_config_t cfg;
    union {
        postie_pop3_t pop3;
        postie_imap_t imap;
    } engine;
    const postie_mailbox_ops_t *mb;  /* the engine's mailbox ops */
    const postie_engine_ops_t *glue; /* the engine's driver glue */
    postie_tcp_t tcp;
    postie_tls_t tls;
    postie_driver_t driver; /* runs the engine over tcp, or tls once it is up */
    bool tls_initialised;
    bool open; /* connected; close has not run */
    postie_error_t error;
    postie_driver_event_fn event; /* postie_mailbox_client_wait's event sink */
    void *event_ctx;
    unsigned token_asks; /* how often open asked the token provider (0, 1 or 2) */
    char token[POSTIE_OAUTH_TOKEN_MAX + 1]; /* during open only; wiped after */
} postie_mailbox_client_t;

/* Connect and open the session up to READY (POSTIE_MAILBOX_EV_READY). On
 * failure postie_mailbox_client_error() says why: POSTIE_E_INVALID_ARGUMENT
 * before any connection for an empty host, a bad protocol or fields the
 * engine refuses; else the transport's or the server's error. Call
 * postie_mailbox_client_close() afterwards whatever it returned. */
postie_status_t postie_mailbox_client_open(postie_mailbox_client_t *c,
                                           const postie_mailbox_client_config_t *cfg);

/* The commands of postie/common/mailbox.h, each run to its event.
 * POSTIE_E_BAD_STATE when the client is not open and READY. */
postie_status_t postie_mailbox_client_list(postie_mailbox_client_t *c, uint32_t from_id,
                                           uint32_t want, postie_mailbox_item_fn fn, void *ctx);
postie_status_t postie_mailbox_client_retrieve(postie_mailbox_client_t *c, uint32_t id,
                                               uint64_t size_max, postie_mailbox_data_fn fn,
                                               void *ctx);
postie_status_t postie_mailbox_client_remove(postie_mailbox_client_t *c, uint32_t id);
/* Deletions final (POP3 QUIT, IMAP EXPUNGE/LOGOUT); the connection stays
 * until close. */
postie_status_t postie_mailbox_client_finish(postie_mailbox_client_t *c);

/* Close the connection. close never sends QUIT or LOGOUT (finish does):
 * a POP3 server then undoes the session's deletions. Safe after any return
 * of open, and again; a no-op on a zero-filled client. */
void postie_mailbox_client_close(postie_mailbox_client_t *c);

/* What open learned (valid after a successful open). */
const postie_mailbox_info_t *postie_mailbox_client_info(const postie_mailbox_client_t *c);
const postie_error_t *postie_mailbox_client_error(const postie_mailbox_client_t *c);
/* TLS details when the session is encrypted (returns false otherwise). */
bool postie_mailbox_client_tls_info(const postie_mailbox_client_t *c, postie_tls_info_t *info);

/* For a run that drives the engine itself (the fetch run): the engine's
 * mailbox ops and the engine to pass them; wait runs the engine until an
 * event of type `event` is taken, handing every event to fn (may be NULL).
 * Returns POSTIE_OK when it was taken, else the session's failure (the
 * error says why) or POSTIE_E_BAD_STATE when the engine went idle first. */
const postie_mailbox_ops_t *postie_mailbox_client_ops(const postie_mailbox_client_t *c);
void *postie_mailbox_client_engine(postie_mailbox_client_t *c);
postie_status_t postie_mailbox_client_wait(postie_mailbox_client_t *c, int event,
                                           postie_driver_event_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_MAILBOX_CLIENT_H */
