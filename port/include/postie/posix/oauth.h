/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OAuth 2.0 on a POSIX host: Postie's built-in token provider
 * (postie/common/token.h) and the device authorization grant behind
 * `postie oauth authorize`.
 *
 *  - The provider keeps a refresh token in a token store (a small JSON
 *    file, mode 0600) and gets access tokens from the token endpoint with
 *    the refresh-token grant (RFC 6749 section 6). It caches the access
 *    token in memory until POSTIE_OAUTH_EXPIRY_MARGIN_S seconds before
 *    expires_in runs out; refresh=true skips the cache. A rotated refresh
 *    token (a refresh_token in the reply) replaces the stored one
 *    atomically: a temporary file (0600) written and fsync'd, renamed over
 *    the store, the directory fsync'd. When that write fails the access
 *    token is still handed out and one warning line goes to stderr
 *    (whatever cfg.log is): the store's path and the errno text, never a
 *    token. Access tokens are never written to disk: each process gets its
 *    own when it first needs one.
 *  - The device grant (RFC 8628): postie_oauth_device_start() asks the
 *    device endpoint for a user code, postie_oauth_device_poll() asks the
 *    token endpoint once whether the user has entered it.
 *
 * HTTP: HTTP/1.1 over Postie's own transports (port/posix/tcp.c and the
 * mbedTLS layer) with the certificate verified against the entry's
 * ca_file (else the system bundle) and the host name checked, unless the
 * entry says "verify": false. The connect (TCP and TLS) and each read are
 * bounded by cfg.timeout_ms, the whole exchange by four times it: a silent
 * or slow endpoint gives POSTIE_E_TIMEOUT and a message saying which
 * endpoint and which step. The reply is parsed by postie/common/http.h
 * (bounded) and cJSON (on the heap, as the registry file loader is).
 *
 * Secrets: no access token, refresh token, device code or client secret
 * is ever written into an error message or passed to the log callback.
 * Buffers that held one are wiped before they are released.
 *
 * Token store: one refresh token per file,
 *   {"refresh_token": "...", "updated": 1767225600}
 * (updated: seconds since the epoch). A process holds an exclusive lock on
 * STORE.lock (flock) while it reads, refreshes and writes, so two
 * processes sharing a store do not both spend a refresh token the server
 * rotates.
 *
 * RAM: sizeof(postie_oauth_provider_t), 6 048 octets on x86-64 with the default
 * sizes (the cached access token and the configuration), plus a
 * POSTIE_HTTP_BODY_MAX reply buffer and the TLS context on the heap during
 * an exchange.
 *
 * Thread model: one provider per thread at a time (the engines call it
 * from the thread that runs them); distinct providers may run
 * concurrently.
 */
#ifndef POSTIE_OAUTH_POSIX_H
#define POSTIE_OAUTH_POSIX_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie_config_defaults.h"

#include "postie/common/status.h"
#include "postie/common/token.h"
#include "postie/session/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A line about an HTTP exchange for --verbose ("POST https://host/token
 * (refresh_token grant): HTTP 200, 1234 octets"); never a secret. */
typedef void (*postie_oauth_log_fn)(void *ctx, const char *line);

/* What the exchanges need, resolved from a registry entry. */
typedef struct {
    char token_endpoint[POSTIE_REGISTRY_TEXT_MAX];
    char device_endpoint[POSTIE_REGISTRY_TEXT_MAX];
    char client_id[POSTIE_REGISTRY_TEXT_MAX];
    postie_secret_t client_secret; /* kind NONE: a public client */
    char scopes[POSTIE_REGISTRY_TEXT_MAX];
    char store[POSTIE_REGISTRY_TEXT_MAX + 64]; /* the token store's path */
    char ca_file[POSTIE_REGISTRY_TEXT_MAX];    /* "" : the system bundle */
    bool verify;                               /* false: no certificate check (warned) */
    uint32_t timeout_ms;                       /* connect and each read; 0: default */
    postie_oauth_log_fn log;                   /* may be NULL */
    void *log_ctx;
} postie_oauth_config_t;

/* The token store a registry entry uses: its oauth2.token_store, else
 * DIR/oauth-KIND-NAME.json with KIND "session" or "account", NAME the
 * entry's name with every octet outside A-Z a-z 0-9 . _ - as '_', and DIR
 * $STATE_DIRECTORY (its first path when systemd gives several, colon
 * separated) when set, else the directory of registry_path (NULL or "":
 * "."). POSTIE_E_NO_SPACE when it does not fit in cap. */
postie_status_t postie_oauth_store_path(const postie_endpoint_t *ep, bool account, const char *name,
                                        const char *registry_path, char *out, size_t cap);

/* Fill cfg from an entry's endpoint (presets applied: postie_oauth2_*()
 * in postie/session/registry.h), with the store path as
 * postie_oauth_store_path() gives it. POSTIE_E_INVALID_ARGUMENT when the
 * entry's auth is not oauth2; err gets why. */
postie_status_t postie_oauth_config_from_entry(postie_oauth_config_t *cfg,
                                               const postie_endpoint_t *ep, bool account,
                                               const char *name, const char *registry_path,
                                               char *err, size_t err_cap);

/* ---- replies ----------------------------------------------------------------------- */

/* A token endpoint's reply (RFC 6749 5.1 and 5.2). */
typedef struct {
    char access_token[POSTIE_OAUTH_TOKEN_MAX + 1];
    size_t access_len;
    char refresh_token[POSTIE_OAUTH_REFRESH_TOKEN_MAX + 1]; /* "" : not rotated */
    uint32_t expires_in;                                    /* seconds; 0: not given */
    char error[48];        /* the OAuth error code ("invalid_grant"), "" on success */
    char description[160]; /* error_description, printable, may be cut; "" when none */
} postie_oauth_token_reply_t;

/* Read a token endpoint's reply: HTTP status, Content-Type and body.
 *   POSTIE_OK                 an access token (token_type Bearer, if given)
 *   POSTIE_E_OAUTH_GRANT      a JSON error reply; out->error says which
 *                             (authorization_pending and slow_down too)
 *   POSTIE_E_HTTP             malformed JSON, a non-JSON error page, an
 *                             HTTP error without an OAuth error, a missing
 *                             or oversized access token, another token type
 * err (err_cap octets) gets a message for people that quotes no token. */
postie_status_t postie_oauth_parse_token_reply(uint16_t http_status, const char *body, size_t len,
                                               postie_oauth_token_reply_t *out, char *err,
                                               size_t err_cap);

/* A device authorization reply (RFC 8628 3.2). */
typedef struct {
    char device_code[1024];
    char user_code[64];
    char verification_uri[POSTIE_REGISTRY_TEXT_MAX];          /* verification_url (Google) too */
    char verification_uri_complete[POSTIE_REGISTRY_TEXT_MAX]; /* "" when not given */
    uint32_t expires_in;                                      /* seconds */
    uint32_t interval;                                        /* seconds; 5 when not given */
    char error[48];
    char description[160];
} postie_oauth_device_reply_t;

/* Read a device authorization reply. POSTIE_OK, POSTIE_E_OAUTH_GRANT (an
 * OAuth error: out->error) or POSTIE_E_HTTP (malformed, a field missing),
 * with a message in err. */
postie_status_t postie_oauth_parse_device_reply(uint16_t http_status, const char *body, size_t len,
                                                postie_oauth_device_reply_t *out, char *err,
                                                size_t err_cap);

/* ---- the token store ------------------------------------------------------------------ */

/* Read the refresh token (cap octets with its NUL) and when it was stored
 * (*updated, seconds since the epoch; may be NULL).
 *   POSTIE_E_NOT_FOUND   no store file (not authorized yet)
 *   POSTIE_E_FILE        unreadable, not a regular file, malformed, no token
 * err gets the path and why. */
postie_status_t postie_oauth_store_read(const char *path, char *refresh, size_t cap,
                                        uint64_t *updated, char *err, size_t err_cap);

/* Store a refresh token atomically: PATH.tmp written with mode 0600,
 * fsync'd, renamed over path, the directory fsync'd. POSTIE_E_FILE (err
 * says which step failed); the old store is then left as it was. */
postie_status_t postie_oauth_store_write(const char *path, const char *refresh, char *err,
                                         size_t err_cap);

/* ---- exchanges -------------------------------------------------------------------------- */

/* Ask the device endpoint for a user code (client_id and scopes, and the
 * client secret when there is one). */
postie_status_t postie_oauth_device_start(const postie_oauth_config_t *cfg,
                                          postie_oauth_device_reply_t *out, char *err,
                                          size_t err_cap);

/* Ask the token endpoint once whether the user has entered the code
 * (grant_type urn:ietf:params:oauth:grant-type:device_code). POSTIE_OK
 * with the tokens; POSTIE_E_OAUTH_GRANT with out->error
 * "authorization_pending", "slow_down", "expired_token", "access_denied"
 * or another; else as the HTTP exchange fails. The caller waits the
 * interval between calls (adding 5 s on each slow_down) and stores the
 * refresh token. */
postie_status_t postie_oauth_device_poll(const postie_oauth_config_t *cfg, const char *device_code,
                                         postie_oauth_token_reply_t *out, char *err,
                                         size_t err_cap);

/* ---- the provider ------------------------------------------------------------------------- */

typedef struct {
    postie_oauth_config_t cfg;
    char access[POSTIE_OAUTH_TOKEN_MAX + 1]; /* the cached access token */
    size_t access_len;
    bool cached;
    uint64_t expires_ms;           /* postie_oauth_now_ms() after which it is not handed out */
    uint64_t (*now_ms)(void);      /* the clock; postie_oauth_now_ms unless a test sets one */
    uint32_t requests;             /* token requests made (for tests and --verbose) */
    postie_token_provider_t iface; /* what postie_oauth_provider_iface() hands out */
} postie_oauth_provider_t;

/* A monotonic clock in milliseconds (CLOCK_MONOTONIC). */
uint64_t postie_oauth_now_ms(void);

/* Prepare a provider over a copy of cfg: nothing is cached. */
void postie_oauth_provider_init(postie_oauth_provider_t *p, const postie_oauth_config_t *cfg);

/* The provider as the SMTP, IMAP and POP3 clients take it. p must outlive
 * every use of the result. Its get: the cached access token unless refresh
 * is set or it is within the margin of its expiry; else the refresh-token
 * grant with the stored refresh token (POSTIE_E_TOKEN_UNAVAILABLE when
 * there is none: "run postie oauth authorize"; POSTIE_E_OAUTH_GRANT when
 * the endpoint refuses it, invalid_grant included: the message says to
 * authorize again), storing a rotated refresh token. */
postie_token_provider_t postie_oauth_provider(postie_oauth_provider_t *p);

/* The same as a pointer that lives in p (for a client config's token
 * field): valid as long as p is. */
const postie_token_provider_t *postie_oauth_provider_iface(postie_oauth_provider_t *p);

/* Prepare p for a registry entry (postie_oauth_config_from_entry() with
 * the store the POSIX loader filled in) with log (may be NULL) for its
 * --verbose lines. POSTIE_E_INVALID_ARGUMENT when the entry's auth is not
 * oauth2 (err says so). */
postie_status_t postie_oauth_provider_for_entry(postie_oauth_provider_t *p,
                                                const postie_endpoint_t *ep, bool account,
                                                const char *name, postie_oauth_log_fn log,
                                                void *log_ctx, char *err, size_t err_cap);

/* What a client needs for an entry with "auth": "oauth2": p prepared for
 * it (postie_oauth_provider_for_entry) unless p already serves the same
 * entry with the same settings, so its cached access token carries over
 * from one connection to the next (a queue run, postie poll). Returns p's
 * interface for the client config's token field; NULL when the entry's
 * auth is not oauth2 or p cannot serve it, with why (may be NULL) set:
 * status, phase "OAuth 2.0 token", subject the reason. */
const postie_token_provider_t *postie_oauth_provider_attach(postie_oauth_provider_t *p,
                                                            const postie_endpoint_t *ep,
                                                            bool account, const char *name,
                                                            postie_oauth_log_fn log, void *log_ctx,
                                                            postie_error_t *why);

/* Forget the cached access token and wipe it. */
void postie_oauth_provider_clear(postie_oauth_provider_t *p);

/* The first 4 characters of a token and "...", or "(none)" for "", into
 * out; never more of it. */
void postie_oauth_mask(const char *token, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_OAUTH_POSIX_H */
