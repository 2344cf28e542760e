/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry of named mail sessions and accounts: the model. A registry
 * file (JSON, read by postie/session/registry_json.h) stands in for an
 * application server's JNDI directory; a host asks for
 * "java:comp/env/mail/Notify" and gets a ready session. This header is the
 * part that knows no JSON: the structs, name normalisation and lookups,
 * so code that only uses sessions (firmware with a registry built in, the
 * mappings in postie/session/session_map.h) needs no JSON parser.
 *
 * Names: "java:comp/env/mail/Notify", "java:/comp/env/mail/Notify" and
 * "mail/Notify" are the same entry. The rule: drop a leading "java:", then
 * a leading "/", then a leading "comp/env/". What is left is compared
 * exactly (JNDI names are case-sensitive).
 *
 * Thread model: lookups only read, so they need no lock. To reload while
 * sessions are in use, load into a second postie_registry_t and then
 * publish it; a send copies the session it uses (postie_session_t is plain
 * data), so a reload never disturbs a message in flight.
 *
 * RAM: sizeof(postie_registry_t) = 57 168 octets on x86-64 with the
 * defaults: POSTIE_REGISTRY_SESSIONS_MAX x 4464 (postie_session_t) +
 * POSTIE_REGISTRY_ACCOUNTS_MAX x 4308 (postie_account_t) + the problem list.
 * Each endpoint carries its OAuth 2.0 settings (postie_oauth2_t, 1 548
 * octets), used or not.
 * The session mappings (postie/session/session_map.h) point into the
 * session they are given: copy the session first (plain data, as postie
 * send does) when a reload may happen meanwhile.
 */
#ifndef POSTIE_REGISTRY_H
#define POSTIE_REGISTRY_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"
#include "postie/common/tls_mode.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTIE_REGISTRY_NAME_MAX 64
#define POSTIE_REGISTRY_TEXT_MAX 256

typedef enum {
    POSTIE_PROTO_SMTP = 0, /* plain + STARTTLS per tls */
    POSTIE_PROTO_SMTPS,    /* implicit TLS */
    POSTIE_PROTO_POP3,
    POSTIE_PROTO_POP3S,
    POSTIE_PROTO_IMAP,
    POSTIE_PROTO_IMAPS
} postie_protocol_t;

typedef enum {
    POSTIE_AUTH_NONE = 0,
    POSTIE_AUTH_BASIC, /* username + password: AUTH PLAIN/LOGIN */
    POSTIE_AUTH_OAUTH2 /* an access token from the endpoint's oauth2 settings */
} postie_auth_kind_t;

typedef enum {
    POSTIE_SECRET_NONE = 0,
    POSTIE_SECRET_INLINE, /* value holds the secret itself */
    POSTIE_SECRET_ENV,    /* value names an environment variable */
    POSTIE_SECRET_FILE    /* value is a file path; first line is the secret */
} postie_secret_kind_t;

typedef struct {
    postie_secret_kind_t kind;
    char value[POSTIE_REGISTRY_TEXT_MAX];
} postie_secret_t;

/* Who issues the access tokens. The presets fill in the endpoints and the
 * scopes an entry leaves empty. */
typedef enum {
    POSTIE_OAUTH2_CUSTOM = 0, /* endpoints and scopes from the registry */
    POSTIE_OAUTH2_MICROSOFT,
    POSTIE_OAUTH2_GOOGLE
} postie_oauth2_provider_t;

/* The "oauth2" object of a session or account ("auth": "oauth2"). */
typedef struct {
    postie_oauth2_provider_t provider;
    uint32_t mechanism; /* POSTIE_SASL_XOAUTH2 (default) or POSTIE_SASL_OAUTHBEARER
                           (postie/common/sasl.h); chosen here, never swapped */
    char client_id[POSTIE_REGISTRY_TEXT_MAX];
    postie_secret_t client_secret;                 /* kind NONE: a public client */
    char token_endpoint[POSTIE_REGISTRY_TEXT_MAX]; /* https URL; "" : the preset's */
    char device_endpoint[POSTIE_REGISTRY_TEXT_MAX];
    char scopes[POSTIE_REGISTRY_TEXT_MAX];      /* space-separated; "" : the preset's */
    char token_store[POSTIE_REGISTRY_TEXT_MAX]; /* file of the refresh token (0600);
                                                   "" : the port's default */
} postie_oauth2_t;

/* Where a resolved value came from, for "session show". */
typedef struct {
    char key[32]; /* the JSON key that set it ("host", "mail.smtp.host"), or "" */
    uint8_t via;  /* 1 + index in sessions[] of the entry it came from through "jndi"; 0 none */
} postie_origin_t;

/* Fields with a tracked origin. */
typedef enum {
    POSTIE_F_PROTOCOL,
    POSTIE_F_HOST,
    POSTIE_F_PORT,
    POSTIE_F_TLS,
    POSTIE_F_CA_FILE,
    POSTIE_F_VERIFY,
    POSTIE_F_AUTH,
    POSTIE_F_USERNAME,
    POSTIE_F_PASSWORD,
    POSTIE_F_EHLO,
    POSTIE_F_CONNECT_TIMEOUT,
    POSTIE_F_TIMEOUT,
    POSTIE_F_WRITE_TIMEOUT,
    POSTIE_F_FROM,
    POSTIE_F_ENVELOPE_FROM,
    POSTIE_F_FROM_NAME,
    POSTIE_F_SUBJECT_PREFIX,
    POSTIE_F_POLL_INTERVAL,
    POSTIE_F_ENABLED,
    POSTIE_F_FOLDER,
    POSTIE_F_APOP,       /* accounts: POP3 APOP when offered */
    POSTIE_F_DELETE,     /* accounts: delete_after_archive / keep_on_server */
    POSTIE_F_MAILDIR,    /* accounts: the archive Maildir */
    POSTIE_F_STATE_FILE, /* accounts: the fetch state file */
    POSTIE_F_OAUTH2,     /* the oauth2 object */
    POSTIE_F_COUNT
} postie_field_t;

/* The transport part shared by sessions and accounts. */
typedef struct {
    postie_protocol_t protocol;
    char host[POSTIE_REGISTRY_TEXT_MAX];
    uint16_t port; /* resolved: defaults 25/465/110/995/143/993 */
    postie_tls_mode_t tls;
    char ca_file[POSTIE_REGISTRY_TEXT_MAX]; /* "" : the system bundle */
    bool verify;                            /* always true unless "verify": false */
    postie_auth_kind_t auth;
    char username[POSTIE_REGISTRY_TEXT_MAX];
    postie_secret_t password;
    postie_oauth2_t oauth2;              /* read when auth is POSTIE_AUTH_OAUTH2 */
    bool allow_plaintext_auth;           /* log in without TLS (default false) */
    char ehlo[POSTIE_REGISTRY_NAME_MAX]; /* "" : the engine's default, "localhost" */
    uint32_t connect_timeout_ms;         /* 0: the library default */
    uint32_t timeout_ms;                 /* per reply; 0: RFC 5321 defaults */
    uint32_t write_timeout_ms;
} postie_endpoint_t;

typedef struct {
    char name[POSTIE_REGISTRY_NAME_MAX]; /* normalised, e.g. "mail/Notify" */
    char description[POSTIE_REGISTRY_NAME_MAX * 2];
    char jndi[POSTIE_REGISTRY_NAME_MAX]; /* the entry the transport came from, or "" */
    postie_endpoint_t ep;
    char from[POSTIE_REGISTRY_TEXT_MAX];          /* header From address (required) */
    char envelope_from[POSTIE_REGISTRY_TEXT_MAX]; /* MAIL FROM; "" : from */
    char from_name[POSTIE_REGISTRY_NAME_MAX * 2]; /* template, see postie/session/template.h */
    char subject_prefix[POSTIE_REGISTRY_NAME_MAX];
    postie_origin_t origin[POSTIE_F_COUNT];
} postie_session_t;

/* The default name of an account's fetch state file, inside its Maildir
 * (a dot file, so Maildir readers skip it, next to Dovecot's own files). */
#define POSTIE_ACCOUNT_STATE_FILE_DEFAULT ".postie-fetch-state"

/* A mailbox to archive. JSON keys (JavaMail's in brackets):
 *   protocol (mail.store.protocol)  pop3 | pop3s | imap | imaps, required
 *   host, port (mail.pop3.host ...)  port defaults 110 / 995 / 143 / 993
 *   user/username, password          password as for sessions: inline,
 *                                    {"env": NAME} or {"file": PATH}
 *   tls                              plain protocols: starttls (STLS /
 *                                    STARTTLS required, the default),
 *                                    starttls-optional, none
 *   ca_file, verify, allow_plaintext_auth, timeouts   as for sessions
 *   apop (mail.pop3.apop.enable)     POP3 APOP when offered (default false)
 *   folder                           IMAP folder (default "INBOX")
 *   enabled, poll_interval           polled every poll_interval seconds
 *                                    (default 1800) while enabled
 *   delete_after_archive             default true; keep_on_server is its
 *                                    inverse (give one of the two)
 *   maildir                          the archive (a Maildir path); an
 *                                    account without one can be tested
 *                                    but not fetched
 *   state_file                       what was archived (UIDVALIDITY + UIDs,
 *                                    or UIDLs); default MAILDIR/
 *                                    POSTIE_ACCOUNT_STATE_FILE_DEFAULT */
typedef struct {
    char name[POSTIE_REGISTRY_NAME_MAX];
    char description[POSTIE_REGISTRY_NAME_MAX * 2];
    postie_endpoint_t ep;
    uint32_t poll_interval_s; /* default 1800 (30 minutes) */
    bool enabled;
    bool apop;                                      /* POP3: use APOP when the greeting offers it */
    bool delete_after_archive;                      /* default true; false: keep on the server */
    char folder[POSTIE_REGISTRY_NAME_MAX];          /* IMAP folder; default "INBOX" */
    char maildir[POSTIE_REGISTRY_TEXT_MAX];         /* "" : not set (cannot fetch) */
    char state_file[POSTIE_REGISTRY_TEXT_MAX + 32]; /* "" only when maildir is "" */
    postie_origin_t origin[POSTIE_F_COUNT];
} postie_account_t;

typedef struct {
    bool warning; /* false: an error (the load failed) */
    char path[POSTIE_REGISTRY_NAME_MAX *
              2]; /* sessions["mail/Notify"].port, or "line 3, column 7" */
    char message[POSTIE_REGISTRY_NAME_MAX * 2];
} postie_registry_problem_t;

typedef struct {
    char product[POSTIE_REGISTRY_NAME_MAX]; /* for the default template; default "Postie" */
    postie_session_t sessions[POSTIE_REGISTRY_SESSIONS_MAX];
    size_t session_count;
    postie_account_t accounts[POSTIE_REGISTRY_ACCOUNTS_MAX];
    size_t account_count;
    postie_registry_problem_t problems[POSTIE_REGISTRY_PROBLEMS_MAX];
    size_t problem_count;    /* kept (at most POSTIE_REGISTRY_PROBLEMS_MAX) */
    size_t problems_dropped; /* found beyond that */
    size_t error_count;
    bool loaded;
} postie_registry_t;

/* Normalise a JNDI name into out (see the rule above). False when it does
 * not fit or is empty; name may be NULL (false). */
bool postie_registry_normalise(const char *name, char *out, size_t cap);

/* The name of the entry a value came from through "jndi", or NULL. */
const char *postie_registry_origin_entry(const postie_registry_t *reg, const postie_origin_t *o);

/* Find a session or account by any spelling of its name; NULL when absent.
 * reg and name may be NULL (the result is then NULL). */
const postie_session_t *postie_registry_session(const postie_registry_t *reg, const char *name);
const postie_account_t *postie_registry_account(const postie_registry_t *reg, const char *name);

const char *postie_registry_protocol_name(postie_protocol_t p);
const char *postie_registry_field_name(postie_field_t f);

/* OAuth 2.0 settings with the presets applied. Each returns the entry's
 * own value when it has one, else the provider's:
 *   microsoft  token  https://login.microsoftonline.com/common/oauth2/v2.0/token
 *              device https://login.microsoftonline.com/common/oauth2/v2.0/devicecode
 *              scopes https://outlook.office.com/SMTP.Send offline_access (sessions),
 *                     .../IMAP.AccessAsUser.All or .../POP.AccessAsUser.All
 *                     offline_access (accounts, by protocol)
 *   google     token  https://oauth2.googleapis.com/token
 *              device https://oauth2.googleapis.com/device/code
 *              scopes https://mail.google.com/
 *   custom     "" where the entry gives nothing (the loader requires a
 *              token endpoint)
 * Static strings or views into o; never NULL. */
const char *postie_oauth2_token_endpoint(const postie_oauth2_t *o);
const char *postie_oauth2_device_endpoint(const postie_oauth2_t *o);
const char *postie_oauth2_scopes(const postie_oauth2_t *o, postie_protocol_t protocol);

/* "microsoft", "google", "custom"; "xoauth2", "oauthbearer". */
const char *postie_oauth2_provider_name(postie_oauth2_provider_t p);
const char *postie_oauth2_mechanism_name(uint32_t mechanism);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_REGISTRY_H */
