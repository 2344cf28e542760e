/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry on a POSIX host. See postie/posix/registry_file.h.
 */
#include "postie/posix/registry_file.h"

#include "postie/posix/oauth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postie/common/text.h"
#include "postie/posix/host.h"
#include "postie/session/registry_json.h"
#include "postie/session/session_map.h"

#define STRINGIFY(x) #x
#define TEXT_OF(x)   STRINGIFY(x)
#define LIMIT_TEXT   TEXT_OF(POSTIE_AUTH_FIELD_MAX)

/* A warning in the registry's problem list (dropped when it is full). */
static void add_warning(postie_registry_t *reg, const char *kind, const char *name, const char *key,
                        const char *message)
{
    postie_registry_problem_t *p;
    if (reg->problem_count >= POSTIE_REGISTRY_PROBLEMS_MAX) {
        reg->problems_dropped++;
        return;
    }
    p = &reg->problems[reg->problem_count++];
    memset(p, 0, sizeof(*p));
    p->warning = true;
    snprintf(p->path, sizeof(p->path), "%s[\"%s\"].%s", kind, name,
             key[0] != '\0' ? key : "password");
    snprintf(p->message, sizeof(p->message), "%s", message);
}

/* An OAuth 2.0 entry without oauth2.token_store gets the default one
 * (postie_oauth_store_path(): $STATE_DIRECTORY, else next to the registry
 * file), so every user of the entry finds the same store without knowing
 * which file the registry came from. */
static void fill_token_store(postie_registry_t *reg, postie_endpoint_t *ep, bool account,
                             const char *name, const char *path)
{
    char store[sizeof(ep->oauth2.token_store)];
    if (ep->auth != POSTIE_AUTH_OAUTH2 || ep->oauth2.token_store[0] != '\0') {
        return;
    }
    if (postie_oauth_store_path(ep, account, name, path, store, sizeof(store)) != POSTIE_OK) {
        add_warning(reg, account ? "accounts" : "sessions", name, "oauth2.token_store",
                    "the default token store's path is too long: set oauth2.token_store");
        return;
    }
    memcpy(ep->oauth2.token_store, store, sizeof(store));
}

static void fill_token_stores(postie_registry_t *reg, const char *path)
{
    for (size_t i = 0; i < reg->session_count; i++) {
        fill_token_store(reg, &reg->sessions[i].ep, false, reg->sessions[i].name, path);
    }
    for (size_t i = 0; i < reg->account_count; i++) {
        fill_token_store(reg, &reg->accounts[i].ep, true, reg->accounts[i].name, path);
    }
}

/* The file-secret counterpart of the loader's warning for an inline
 * password in a readable registry: the loader in core/ cannot look at
 * files, so the POSIX loader does it. An entry that took its password
 * through "jndi" is not warned twice. */
static void warn_exposed_secret_files(postie_registry_t *reg)
{
    for (size_t i = 0; i < reg->session_count; i++) {
        const postie_session_t *s = &reg->sessions[i];
        if (s->origin[POSTIE_F_PASSWORD].via == 0 && postie_secret_exposed(&s->ep.password)) {
            add_warning(reg, "sessions", s->name, s->origin[POSTIE_F_PASSWORD].key,
                        POSTIE_SECRET_EXPOSED_WARNING);
        }
        if (s->origin[POSTIE_F_OAUTH2].via == 0 &&
            postie_secret_exposed(&s->ep.oauth2.client_secret)) {
            add_warning(reg, "sessions", s->name, "oauth2.client_secret",
                        "client secret file group or others can read; chmod 600 it");
        }
    }
    for (size_t i = 0; i < reg->account_count; i++) {
        const postie_account_t *a = &reg->accounts[i];
        if (a->origin[POSTIE_F_PASSWORD].via == 0 && postie_secret_exposed(&a->ep.password)) {
            add_warning(reg, "accounts", a->name, a->origin[POSTIE_F_PASSWORD].key,
                        POSTIE_SECRET_EXPOSED_WARNING);
        }
        if (postie_secret_exposed(&a->ep.oauth2.client_secret)) {
            add_warning(reg, "accounts", a->name, "oauth2.client_secret",
                        "client secret file group or others can read; chmod 600 it");
        }
    }
}

postie_status_t postie_registry_load_file(postie_registry_t *reg, const char *path, uint8_t *arena,
                                          size_t arena_size, const char **used_path)
{
    static char text[POSTIE_REGISTRY_FILE_MAX + 1];
    postie_registry_source_t src = {false};
    struct stat sb;
    ssize_t n;
    size_t len = 0;
    postie_status_t st;
    int fd;

    if (path == NULL) {
        path = getenv("POSTIE_REGISTRY");
    }
    if (path == NULL || path[0] == '\0') {
        path = POSTIE_REGISTRY_DEFAULT_PATH;
    }
    if (used_path != NULL) {
        *used_path = path;
    }
    memset(reg, 0, sizeof(*reg));
    /* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        return POSTIE_E_FILE;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int err = errno;
        if (fstat(fd, &sb) == 0) {
            err = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        }
        close(fd);
        errno = err;
        return POSTIE_E_FILE;
    }
    src.readable_by_others = (sb.st_mode & (S_IRGRP | S_IROTH)) != 0;
    /* read one octet more than allowed, so the loader sees the file is too large */
    while (len < sizeof(text) && (n = read(fd, text + len, sizeof(text) - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            close(fd);
            return POSTIE_E_FILE;
        }
        len += (size_t)n;
    }
    close(fd);
    st = postie_registry_load(reg, text, len, arena, arena_size, &src);
    if (st == POSTIE_OK) {
        warn_exposed_secret_files(reg);
        fill_token_stores(reg, path);
    }
    return st;
}

bool postie_secret_exposed(const postie_secret_t *s)
{
    struct stat sb;
    return s->kind == POSTIE_SECRET_FILE && stat(s->value, &sb) == 0 && S_ISREG(sb.st_mode) &&
           (sb.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

/* The first line of a regular file (symbolic links followed) into out:
 * never waits on a FIFO, never reads more than cap octets and one chunk,
 * and refuses what cannot be a password. */
static postie_status_t read_secret_file(const char *path, char *out, size_t cap, const char **why)
{
    char chunk[64];
    struct stat sb;
    size_t len = 0;
    bool line_end = false;
    postie_status_t st = POSTIE_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

    if (fd < 0) {
        *why = strerror(errno);
        return POSTIE_E_FILE;
    }
    if (fstat(fd, &sb) != 0) {
        *why = strerror(errno);
        close(fd);
        return POSTIE_E_FILE;
    }
    *why = postie_file_type_problem((unsigned int)sb.st_mode);
    if (*why != NULL) {
        close(fd);
        return POSTIE_E_FILE;
    }
    while (!line_end && st == POSTIE_OK) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *why = strerror(errno);
            st = POSTIE_E_FILE;
            break;
        }
        if (n == 0) {
            break;
        }
        for (size_t i = 0; i < (size_t)n; i++) {
            if (chunk[i] == '\r' || chunk[i] == '\n') {
                line_end = true;
                break;
            }
            if (chunk[i] == '\0') {
                *why = "contains a NUL octet";
                st = POSTIE_E_FILE;
                break;
            }
            if (len + 1 >= cap) {
                *why = "is longer than " LIMIT_TEXT " octets (POSTIE_AUTH_FIELD_MAX)";
                st = POSTIE_E_NO_SPACE;
                break;
            }
            out[len++] = chunk[i];
        }
    }
    close(fd);
    memset(chunk, 0, sizeof(chunk));
    if (st == POSTIE_OK && len == 0) {
        *why = "is empty (the password is its first line)";
        st = POSTIE_E_FILE;
    }
    if (st != POSTIE_OK) {
        memset(out, 0, cap);
        return st;
    }
    out[len] = '\0';
    return POSTIE_OK;
}

postie_status_t postie_secret_read(const postie_secret_t *s, char *out, size_t cap,
                                   const char **why)
{
    const char *ignored = NULL;
    const char *v = NULL;
    size_t n;
    if (why == NULL) {
        why = &ignored;
    }
    *why = NULL;
    if (cap == 0) {
        *why = "no room for the password";
        return POSTIE_E_NO_SPACE;
    }
    out[0] = '\0';
    switch (s->kind) {
    case POSTIE_SECRET_NONE:
        return POSTIE_OK;
    case POSTIE_SECRET_INLINE:
        v = s->value;
        break;
    case POSTIE_SECRET_ENV:
        v = getenv(s->value);
        if (v == NULL) {
            *why = "is not set";
            return POSTIE_E_NOT_FOUND;
        }
        break;
    case POSTIE_SECRET_FILE:
        return read_secret_file(s->value, out, cap, why);
    }
    n = v != NULL ? strlen(v) : 0;
    if (n == 0) {
        *why = "is empty";
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (n >= cap) {
        *why = "is longer than " LIMIT_TEXT " octets (POSTIE_AUTH_FIELD_MAX)";
        return POSTIE_E_NO_SPACE;
    }
    memcpy(out, v, n + 1);
    return POSTIE_OK;
}

void postie_secret_describe(const postie_secret_t *s, char *out, size_t cap)
{
    postie_text_t t; /* cut to cap (snprintf would trip -Wformat-truncation in Release) */
    postie_text_init_str(&t, out, cap);
    switch (s->kind) {
    case POSTIE_SECRET_ENV:
        postie_text_put_cut(&t, "password variable ");
        postie_text_put_cut(&t, s->value);
        break;
    case POSTIE_SECRET_FILE:
        postie_text_put_cut(&t, "password file ");
        postie_text_put_cut(&t, s->value);
        break;
    case POSTIE_SECRET_INLINE:
        postie_text_put_cut(&t, "inline password");
        break;
    default:
        postie_text_put_cut(&t, "password");
        break;
    }
}

postie_status_t postie_secret_resolve(const postie_secret_t *s, char *out, size_t cap)
{
    return postie_secret_read(s, out, cap, NULL);
}

postie_status_t postie_session_client_config(const postie_session_t *s,
                                             postie_smtp_client_config_t *cfg, char *password,
                                             size_t cap)
{
    postie_session_connection_t conn;
    postie_status_t st;

    /* the core mapping, over what cfg holds (defaults and the caller's own choices) */
    conn.host = cfg->host;
    conn.port = cfg->port;
    conn.ca_file = cfg->tls.ca_file;
    conn.verify = !cfg->tls.insecure_skip_verify;
    conn.connect_timeout_ms = cfg->connect_timeout_ms;
    conn.smtp = cfg->smtp;
    if (s->ep.auth == POSTIE_AUTH_BASIC) {
        /* the secret from where the registry says: inline, variable or file */
        st = postie_secret_resolve(&s->ep.password, password, cap);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    st = postie_session_map_connection(s, s->ep.auth == POSTIE_AUTH_BASIC ? password : NULL, &conn);
    cfg->host = conn.host;
    cfg->port = conn.port;
    cfg->tls.ca_file = conn.ca_file;
    cfg->tls.insecure_skip_verify = !conn.verify;
    cfg->connect_timeout_ms = conn.connect_timeout_ms;
    cfg->smtp = conn.smtp;
    return st;
}

postie_status_t postie_account_client_config(const postie_account_t *a,
                                             postie_mailbox_client_config_t *cfg, char *password,
                                             size_t cap)
{
    const postie_endpoint_t *ep = &a->ep;
    postie_status_t st;

    cfg->protocol = ep->protocol == POSTIE_PROTO_IMAP || ep->protocol == POSTIE_PROTO_IMAPS
                        ? POSTIE_FETCH_IMAP
                        : POSTIE_FETCH_POP3;
    cfg->host = ep->host;
    cfg->port = ep->port;
    cfg->tls_mode = ep->tls;
    cfg->tls.ca_file = ep->ca_file[0] != '\0' ? ep->ca_file : NULL;
    cfg->tls.insecure_skip_verify = !ep->verify;
    if (ep->connect_timeout_ms != 0) {
        cfg->connect_timeout_ms = ep->connect_timeout_ms;
    }
    if (ep->timeout_ms != 0) {
        cfg->reply_timeout_ms = ep->timeout_ms;
    }
    cfg->allow_plaintext_auth = ep->allow_plaintext_auth;
    cfg->use_apop = a->apop;
    cfg->folder = a->folder;
    cfg->user = ep->username;
    if (ep->auth == POSTIE_AUTH_OAUTH2) {
        /* no secret to read: the caller sets cfg->token, the provider */
        cfg->password = NULL;
        cfg->oauth_mechanism =
            ep->oauth2.mechanism != 0 ? ep->oauth2.mechanism : POSTIE_SASL_XOAUTH2;
        return POSTIE_OK;
    }
    st = postie_secret_resolve(&ep->password, password, cap);
    cfg->password = st == POSTIE_OK ? password : NULL;
    return st;
}

#define STEP_STR2(x) #x
#define STEP_STR(x)  STEP_STR2(x)

const char *postie_session_config_step(postie_status_t st)
{
    switch (st) {
    case POSTIE_E_NO_SPACE:
        return "the session's password (longer than " STEP_STR(POSTIE_AUTH_FIELD_MAX) " octets)";
    case POSTIE_E_NOT_FOUND:
        return "the session's password (its environment variable is not set)";
    case POSTIE_E_FILE:
        return "the session's password (its file cannot be read)";
    case POSTIE_E_INVALID_ARGUMENT:
        return "the session's password (empty)";
    default:
        return "the session's secret";
    }
}

postie_status_t postie_session_prepare(const postie_session_t *s, postie_smtp_client_config_t *cfg,
                                       char *password, size_t cap, postie_error_t *why)
{
    postie_status_t st = postie_session_client_config(s, cfg, password, cap);
    char what[128];
    char text[256];
    const char *reason = NULL;

    if (why != NULL) {
        postie_error_clear(why);
    }
    if (st == POSTIE_OK) {
        return st;
    }
    memset(password, 0, cap);
    if (why == NULL) {
        return st;
    }
    why->status = st;
    why->phase = postie_session_config_step(st);
    if (s->ep.auth != POSTIE_AUTH_BASIC) {
        postie_text_copy_printable(why->subject, sizeof(why->subject), s->name,
                                   strlen(s->name)); /* no secret was read */
        return st;
    }
    /* read it again for the reason only, then wipe it */
    (void)postie_secret_read(&s->ep.password, password, cap, &reason);
    memset(password, 0, cap);
    postie_secret_describe(&s->ep.password, what, sizeof(what));
    snprintf(text, sizeof(text), "%s: %s", what, reason != NULL ? reason : postie_status_str(st));
    postie_text_copy_printable(why->subject, sizeof(why->subject), text, strlen(text));
    return st;
}
