/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OAuth 2.0 on a POSIX host: the HTTPS exchange with a token or device
 * endpoint, the JSON replies, the token store and the built-in token
 * provider. See postie/posix/oauth.h for the contract.
 */
#include "postie/posix/oauth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "postie/common/http.h"
#include "postie/common/text.h"
#include "postie/mbedtls/tls.h"
#include "postie/posix/registry_file.h"
#include "postie/posix/tcp.h"

#define DEFAULT_LIFETIME_S 3600u /* an access token whose reply gave no expires_in */

uint64_t postie_oauth_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n-- > 0) {
        *v++ = 0;
    }
}

void postie_oauth_mask(const char *token, char *out, size_t cap)
{
    if (token == NULL || token[0] == '\0') {
        snprintf(out, cap, "(none)");
        return;
    }
    snprintf(out, cap, "%.4s...", token);
}

/* ---- configuration ---------------------------------------------------------------- */

postie_status_t postie_oauth_store_path(const postie_endpoint_t *ep, bool account, const char *name,
                                        const char *registry_path, char *out, size_t cap)
{
    char dir[POSTIE_REGISTRY_TEXT_MAX * 2];
    char safe[POSTIE_REGISTRY_NAME_MAX];
    const char *state = getenv("STATE_DIRECTORY");
    size_t i;
    int n;
    if (ep->oauth2.token_store[0] != '\0') {
        n = snprintf(out, cap, "%s", ep->oauth2.token_store);
        return n < 0 || (size_t)n >= cap ? POSTIE_E_NO_SPACE : POSTIE_OK;
    }
    if (state != NULL && state[0] != '\0') {
        size_t len = strcspn(state, ":");
        if (len >= sizeof(dir)) {
            return POSTIE_E_NO_SPACE;
        }
        memcpy(dir, state, len);
        dir[len] = '\0';
    } else if (registry_path != NULL && strrchr(registry_path, '/') != NULL) {
        size_t len = (size_t)(strrchr(registry_path, '/') - registry_path);
        if (len >= sizeof(dir)) {
            return POSTIE_E_NO_SPACE;
        }
        memcpy(dir, registry_path, len);
        dir[len] = '\0';
        if (len == 0) {
            dir[0] = '/', dir[1] = '\0';
        }
    } else {
        dir[0] = '.', dir[1] = '\0';
    }
    for (i = 0; name[i] != '\0' && i + 1 < sizeof(safe); i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        safe[i] = ok ? c : '_';
    }
    safe[i] = '\0';
    n = snprintf(out, cap, "%s%soauth-%s-%s.json", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                 account ? "account" : "session", safe);
    return n < 0 || (size_t)n >= cap ? POSTIE_E_NO_SPACE : POSTIE_OK;
}

postie_status_t postie_oauth_config_from_entry(postie_oauth_config_t *cfg,
                                               const postie_endpoint_t *ep, bool account,
                                               const char *name, const char *registry_path,
                                               char *err, size_t err_cap)
{
    const postie_oauth2_t *o = &ep->oauth2;
    memset(cfg, 0, sizeof(*cfg));
    if (ep->auth != POSTIE_AUTH_OAUTH2) {
        snprintf(err, err_cap, "%s does not log in with OAuth 2.0 (\"auth\" is not \"oauth2\")",
                 name);
        return POSTIE_E_INVALID_ARGUMENT;
    }
    (void)postie_text_copy(cfg->token_endpoint, sizeof(cfg->token_endpoint),
                           postie_oauth2_token_endpoint(o));
    (void)postie_text_copy(cfg->device_endpoint, sizeof(cfg->device_endpoint),
                           postie_oauth2_device_endpoint(o));
    (void)postie_text_copy(cfg->client_id, sizeof(cfg->client_id), o->client_id);
    cfg->client_secret = o->client_secret;
    (void)postie_text_copy(cfg->scopes, sizeof(cfg->scopes), postie_oauth2_scopes(o, ep->protocol));
    (void)postie_text_copy(cfg->ca_file, sizeof(cfg->ca_file), ep->ca_file);
    cfg->verify = ep->verify;
    cfg->timeout_ms = ep->connect_timeout_ms;
    if (postie_oauth_store_path(ep, account, name, registry_path, cfg->store, sizeof(cfg->store)) !=
        POSTIE_OK) {
        snprintf(err, err_cap, "%s: the token store's path is too long", name);
        return POSTIE_E_NO_SPACE;
    }
    return POSTIE_OK;
}

/* ---- JSON replies ------------------------------------------------------------------- */

/* A printable copy of a server's text (for error_description). */
static void copy_printable(char *dst, size_t cap, const char *src)
{
    postie_text_copy_printable(dst, cap, src, strlen(src));
}

static const char *json_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A number of seconds, as a number or a numeric string; false when absent
 * or not one. */
static bool json_seconds(const cJSON *obj, const char *key, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring[0] >= '0' && v->valuestring[0] <= '9') {
        char *end = NULL;
        d = strtod(v->valuestring, &end);
        if (end == NULL || *end != '\0') {
            return false;
        }
    } else {
        return false;
    }
    if (!(d >= 0)) {
        return false;
    }
    *out = d > 86400.0 * 366 ? 86400u * 366u : (uint32_t)d;
    return true;
}

/* A token's characters: visible ASCII only (RFC 6750 b64token and the
 * opaque tokens providers issue), without a quote or a backslash: nothing
 * that could end a SASL line or need escaping in the token store. */
static bool token_chars_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\') {
            return false;
        }
    }
    return true;
}

/* Parse body as a JSON object; NULL with a message when it is not one. */
static cJSON *parse_object(uint16_t http_status, const char *body, size_t len, const char *who,
                           char *err, size_t err_cap)
{
    cJSON *root = len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
    if (root != NULL && cJSON_IsObject(root)) {
        return root;
    }
    cJSON_Delete(root);
    if (http_status >= 200 && http_status < 300) {
        snprintf(err, err_cap, "the %s's reply (HTTP %u) is not a JSON object", who,
                 (unsigned)http_status);
    } else {
        snprintf(err, err_cap, "the %s answered HTTP %u without an OAuth error reply", who,
                 (unsigned)http_status);
    }
    return NULL;
}

/* An OAuth error reply ({"error": ...}) into error/description; true when
 * it is one. */
static bool oauth_error(const cJSON *root, char *error, size_t ecap, char *desc, size_t dcap)
{
    const char *e = json_string(root, "error");
    const char *d = json_string(root, "error_description");
    if (e == NULL) {
        return false;
    }
    copy_printable(error, ecap, e);
    copy_printable(desc, dcap, d != NULL ? d : "");
    return true;
}

static void grant_message(char *err, size_t err_cap, const char *who, const char *error,
                          const char *desc)
{
    snprintf(err, err_cap, "the %s refused the request: %s%s%s%s", who, error, desc[0] ? " (" : "",
             desc, desc[0] ? ")" : "");
}

postie_status_t postie_oauth_parse_token_reply(uint16_t http_status, const char *body, size_t len,
                                               postie_oauth_token_reply_t *out, char *err,
                                               size_t err_cap)
{
    static const char who[] = "token endpoint";
    cJSON *root;
    const char *access;
    const char *refresh;
    const char *type;
    postie_status_t st = POSTIE_OK;
    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    root = parse_object(http_status, body, len, who, err, err_cap);
    if (root == NULL) {
        return POSTIE_E_HTTP;
    }
    if (oauth_error(root, out->error, sizeof(out->error), out->description,
                    sizeof(out->description))) {
        grant_message(err, err_cap, who, out->error, out->description);
        cJSON_Delete(root);
        return POSTIE_E_OAUTH_GRANT;
    }
    access = json_string(root, "access_token");
    refresh = json_string(root, "refresh_token");
    type = json_string(root, "token_type");
    if (http_status < 200 || http_status > 299) {
        snprintf(err, err_cap, "the %s answered HTTP %u without an OAuth error reply", who,
                 (unsigned)http_status);
        st = POSTIE_E_HTTP;
    } else if (access == NULL || access[0] == '\0') {
        snprintf(err, err_cap, "the %s's reply has no access_token", who);
        st = POSTIE_E_HTTP;
    } else if (strlen(access) > POSTIE_OAUTH_TOKEN_MAX) {
        snprintf(err, err_cap,
                 "the %s's access token is longer than %u octets "
                 "(POSTIE_OAUTH_TOKEN_MAX)",
                 who, (unsigned)POSTIE_OAUTH_TOKEN_MAX);
        st = POSTIE_E_HTTP;
    } else if (!token_chars_ok(access)) {
        snprintf(err, err_cap, "the %s's access token holds characters a token cannot have", who);
        st = POSTIE_E_HTTP;
    } else if (type != NULL && strcmp(type, "bearer") != 0 && strcmp(type, "Bearer") != 0 &&
               strcmp(type, "BEARER") != 0) {
        snprintf(err, err_cap, "the %s issued a token of type \"%.32s\", not Bearer", who, type);
        copy_printable(err, err_cap, err);
        st = POSTIE_E_HTTP;
    } else if (refresh != NULL &&
               (strlen(refresh) > POSTIE_OAUTH_REFRESH_TOKEN_MAX || !token_chars_ok(refresh))) {
        snprintf(err, err_cap,
                 "the %s's refresh token is longer than %u octets "
                 "(POSTIE_OAUTH_REFRESH_TOKEN_MAX) or holds characters a token cannot have",
                 who, (unsigned)POSTIE_OAUTH_REFRESH_TOKEN_MAX);
        st = POSTIE_E_HTTP;
    } else {
        out->access_len = strlen(access);
        memcpy(out->access_token, access, out->access_len + 1);
        if (refresh != NULL) {
            memcpy(out->refresh_token, refresh, strlen(refresh) + 1);
        }
        if (!json_seconds(root, "expires_in", &out->expires_in)) {
            out->expires_in = 0;
        }
    }
    /* cJSON's copies of the tokens go back to the heap: wipe them first */
    if (access != NULL) {
        wipe((void *)access, strlen(access));
    }
    if (refresh != NULL) {
        wipe((void *)refresh, strlen(refresh));
    }
    cJSON_Delete(root);
    return st;
}

postie_status_t postie_oauth_parse_device_reply(uint16_t http_status, const char *body, size_t len,
                                                postie_oauth_device_reply_t *out, char *err,
                                                size_t err_cap)
{
    static const char who[] = "device endpoint";
    cJSON *root;
    const char *device;
    const char *user;
    const char *uri;
    const char *complete;
    postie_status_t st = POSTIE_OK;
    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    root = parse_object(http_status, body, len, who, err, err_cap);
    if (root == NULL) {
        return POSTIE_E_HTTP;
    }
    if (oauth_error(root, out->error, sizeof(out->error), out->description,
                    sizeof(out->description))) {
        grant_message(err, err_cap, who, out->error, out->description);
        cJSON_Delete(root);
        return POSTIE_E_OAUTH_GRANT;
    }
    device = json_string(root, "device_code");
    user = json_string(root, "user_code");
    uri = json_string(root, "verification_uri");
    if (uri == NULL) {
        uri = json_string(root, "verification_url"); /* Google's spelling */
    }
    complete = json_string(root, "verification_uri_complete");
    if (http_status < 200 || http_status > 299) {
        snprintf(err, err_cap, "the %s answered HTTP %u without an OAuth error reply", who,
                 (unsigned)http_status);
        st = POSTIE_E_HTTP;
    } else if (device == NULL || device[0] == '\0' || strlen(device) >= sizeof(out->device_code) ||
               !token_chars_ok(device)) {
        snprintf(err, err_cap, "the %s's reply has no usable device_code", who);
        st = POSTIE_E_HTTP;
    } else if (user == NULL || user[0] == '\0' || strlen(user) >= sizeof(out->user_code)) {
        snprintf(err, err_cap, "the %s's reply has no usable user_code", who);
        st = POSTIE_E_HTTP;
    } else if (uri == NULL || strlen(uri) >= sizeof(out->verification_uri) ||
               strncmp(uri, "http", 4) != 0) {
        snprintf(err, err_cap, "the %s's reply has no usable verification_uri", who);
        st = POSTIE_E_HTTP;
    } else {
        memcpy(out->device_code, device, strlen(device) + 1);
        copy_printable(out->user_code, sizeof(out->user_code), user);
        copy_printable(out->verification_uri, sizeof(out->verification_uri), uri);
        if (complete != NULL && strlen(complete) < sizeof(out->verification_uri_complete)) {
            copy_printable(out->verification_uri_complete, sizeof(out->verification_uri_complete),
                           complete);
        }
        if (!json_seconds(root, "expires_in", &out->expires_in) || out->expires_in == 0) {
            out->expires_in = 900; /* RFC 8628 makes it required; 15 minutes is usual */
        }
        if (!json_seconds(root, "interval", &out->interval) || out->interval == 0) {
            out->interval = 5; /* RFC 8628 3.2 */
        }
    }
    if (device != NULL) {
        wipe((void *)device, strlen(device));
    }
    cJSON_Delete(root);
    return st;
}

/* ---- the token store ----------------------------------------------------------------------- */

#define STORE_FILE_MAX (POSTIE_OAUTH_REFRESH_TOKEN_MAX + 1024)

postie_status_t postie_oauth_store_read(const char *path, char *refresh, size_t cap,
                                        uint64_t *updated, char *err, size_t err_cap)
{
    char *buf;
    int fd;
    struct stat sb;
    ssize_t got;
    size_t len = 0;
    cJSON *root;
    const char *tok;
    const cJSON *when;
    postie_status_t st = POSTIE_OK;
    refresh[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_cap, "token store %s: %s", path, strerror(e));
        return e == ENOENT ? POSTIE_E_NOT_FOUND : POSTIE_E_FILE;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > STORE_FILE_MAX) {
        snprintf(err, err_cap, "token store %s: not a regular file of at most %u octets", path,
                 (unsigned)STORE_FILE_MAX);
        close(fd);
        return POSTIE_E_FILE;
    }
    buf = malloc(STORE_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        snprintf(err, err_cap, "token store %s: out of memory", path);
        return POSTIE_E_FILE;
    }
    while (len < STORE_FILE_MAX && (got = read(fd, buf + len, STORE_FILE_MAX - len)) != 0) {
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(err, err_cap, "token store %s: %s", path, strerror(errno));
            st = POSTIE_E_FILE;
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    if (st == POSTIE_OK) {
        root = cJSON_ParseWithLength(buf, len);
        tok = root != NULL ? json_string(root, "refresh_token") : NULL;
        when = root != NULL ? cJSON_GetObjectItemCaseSensitive(root, "updated") : NULL;
        if (root == NULL || !cJSON_IsObject(root)) {
            snprintf(err, err_cap, "token store %s: not a JSON object", path);
            st = POSTIE_E_FILE;
        } else if (tok == NULL || tok[0] == '\0' || !token_chars_ok(tok)) {
            snprintf(err, err_cap, "token store %s: no usable refresh_token in it", path);
            st = POSTIE_E_FILE;
        } else if (strlen(tok) >= cap) {
            snprintf(err, err_cap, "token store %s: the refresh token is too long", path);
            st = POSTIE_E_FILE;
        } else {
            memcpy(refresh, tok, strlen(tok) + 1);
            if (updated != NULL) {
                *updated =
                    cJSON_IsNumber(when) && when->valuedouble > 0 ? (uint64_t)when->valuedouble : 0;
            }
        }
        if (tok != NULL) {
            wipe((void *)tok, strlen(tok));
        }
        cJSON_Delete(root);
    }
    wipe(buf, STORE_FILE_MAX + 1);
    free(buf);
    return st;
}

static postie_status_t write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return POSTIE_E_FILE;
        }
        p += w;
        n -= (size_t)w;
    }
    return POSTIE_OK;
}

/* The write itself; the caller holds the store's lock. */
static postie_status_t store_write_locked(const char *path, const char *refresh, char *err,
                                          size_t err_cap)
{
    char tmp[POSTIE_REGISTRY_TEXT_MAX + 80];
    char dir[POSTIE_REGISTRY_TEXT_MAX + 80];
    char *text;
    size_t cap = strlen(refresh) + 96;
    int n;
    int fd;
    int dfd;
    const char *slash;
    postie_status_t st;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, err_cap, "token store %s: the path is too long", path);
        return POSTIE_E_FILE;
    }
    text = malloc(cap);
    if (text == NULL) {
        snprintf(err, err_cap, "token store %s: out of memory", path);
        return POSTIE_E_FILE;
    }
    n = snprintf(text, cap, "{\"refresh_token\": \"%s\", \"updated\": %lld}\n", refresh,
                 (long long)time(NULL));
    (void)unlink(tmp); /* a leftover of a crash: O_EXCL below must create it anew, mode 0600 */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, err_cap, "token store %s: cannot create %s: %s", path, tmp, strerror(errno));
        wipe(text, cap);
        free(text);
        return POSTIE_E_FILE;
    }
    st = (n > 0 && (size_t)n < cap) ? write_all(fd, text, (size_t)n) : POSTIE_E_FILE;
    wipe(text, cap);
    free(text);
    if (st != POSTIE_OK || fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
        snprintf(err, err_cap, "token store %s: cannot write %s: %s", path, tmp, strerror(errno));
        close(fd);
        (void)unlink(tmp);
        return POSTIE_E_FILE;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, err_cap, "token store %s: cannot replace it: %s", path, strerror(errno));
        (void)unlink(tmp);
        return POSTIE_E_FILE;
    }
    slash = strrchr(path, '/');
    if (slash == NULL) {
        dir[0] = '.', dir[1] = '\0';
    } else {
        size_t dl = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, dl);
        dir[dl] = '\0';
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        snprintf(err, err_cap, "token store %s: cannot flush its directory: %s", path,
                 strerror(errno));
        if (dfd >= 0) {
            close(dfd);
        }
        return POSTIE_E_FILE;
    }
    close(dfd);
    return POSTIE_OK;
}

/* An exclusive lock on PATH.lock, waiting at most timeout_ms; the fd, or
 * -1 with err set (-2 when the store's directory does not exist). */
static int store_lock(const char *path, uint32_t timeout_ms, char *err, size_t err_cap)
{
    char lock[POSTIE_REGISTRY_TEXT_MAX + 80];
    uint64_t deadline = postie_oauth_now_ms() + timeout_ms;
    int fd;
    if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
        snprintf(err, err_cap, "token store %s: the path is too long", path);
        return -1;
    }
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_cap, "token store %s: cannot open its lock %s: %s", path, lock,
                 strerror(e));
        return e == ENOENT ? -2 : -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        if ((errno != EWOULDBLOCK && errno != EINTR) || postie_oauth_now_ms() >= deadline) {
            snprintf(err, err_cap, "token store %s: another process holds its lock %s", path, lock);
            close(fd);
            return -1;
        }
        nanosleep(&pause, NULL);
    }
    return fd;
}

static void store_unlock(int fd)
{
    (void)flock(fd, LOCK_UN);
    close(fd);
}

postie_status_t postie_oauth_store_write(const char *path, const char *refresh, char *err,
                                         size_t err_cap)
{
    int lock = store_lock(path, POSTIE_OAUTH_HTTP_TIMEOUT_MS, err, err_cap);
    postie_status_t st;
    if (lock < 0) {
        return POSTIE_E_FILE;
    }
    st = store_write_locked(path, refresh, err, err_cap);
    store_unlock(lock);
    return st;
}

/* ---- the HTTPS exchange ---------------------------------------------------------------------- */

static void logf_(const postie_oauth_config_t *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_(const postie_oauth_config_t *cfg, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (cfg->log == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    cfg->log(cfg->log_ctx, line);
}

static uint32_t timeout_of(const postie_oauth_config_t *cfg)
{
    return cfg->timeout_ms != 0 ? cfg->timeout_ms : POSTIE_OAUTH_HTTP_TIMEOUT_MS;
}

typedef struct {
    postie_tcp_t tcp;
    postie_tls_t tls;
    postie_http_resp_t resp;
    uint8_t body[POSTIE_HTTP_BODY_MAX + 1];
} exchange_t;

/* POST form to url; on POSTIE_OK the reply is in x->resp (status and
 * body, NUL-terminated). label names the request for messages ("refresh
 * token grant"). */
static postie_status_t http_post(const postie_oauth_config_t *cfg, exchange_t *x, const char *url,
                                 const char *who, const char *label, const char *form, char *err,
                                 size_t err_cap)
{
    postie_http_url_t u;
    const char *why = NULL;
    char host[256];
    char *req;
    size_t req_cap;
    postie_text_t t;
    postie_tls_config_t tc;
    uint32_t timeout = timeout_of(cfg);
    uint64_t start = postie_oauth_now_ms();
    uint64_t deadline = start + 4ull * timeout;
    postie_status_t st;
    const char *step = "connect";

    if (postie_http_url_parse(url, &u, &why) != POSTIE_OK || !u.https) {
        snprintf(err, err_cap, "the %s URL %s: %s", who, url,
                 why != NULL ? why : "must start with https://");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    memcpy(host, u.host, u.host_len);
    host[u.host_len] = '\0';
    req_cap = strlen(form) + 1024;
    req = malloc(req_cap);
    if (req == NULL) {
        snprintf(err, err_cap, "the %s: out of memory", who);
        return POSTIE_E_NO_SPACE;
    }
    postie_text_init(&t, req, req_cap);
    postie_http_post_form(&t, &u, form, strlen(form));
    if (t.overflow) {
        wipe(req, req_cap);
        free(req);
        snprintf(err, err_cap, "the %s: the request does not fit", who);
        return POSTIE_E_NO_SPACE;
    }
    memset(&tc, 0, sizeof(tc));
    tc.ca_file = cfg->ca_file[0] != '\0' ? cfg->ca_file : NULL;
    tc.insecure_skip_verify = !cfg->verify;
    postie_tcp_init(&x->tcp);
    st = postie_tls_init(&x->tls, &x->tcp.base, &tc);
    if (st == POSTIE_OK) {
        st = postie_transport_connect(&x->tls.base, host, u.port, timeout);
    }
    if (st == POSTIE_OK) {
        step = "send";
        st = postie_transport_send_all(&x->tls.base, (const uint8_t *)req, t.len, timeout);
    }
    wipe(req, req_cap);
    free(req);
    postie_http_resp_init(&x->resp, x->body, sizeof(x->body) - 1);
    while (st == POSTIE_OK) {
        uint8_t in[2048];
        size_t got = 0;
        size_t used = 0;
        uint64_t now = postie_oauth_now_ms();
        uint32_t wait = timeout;
        step = "reply";
        if (now >= deadline) {
            st = POSTIE_E_TIMEOUT;
            break;
        }
        if (deadline - now < wait) {
            wait = (uint32_t)(deadline - now);
        }
        st = postie_transport_recv(&x->tls.base, in, sizeof(in), &got, wait);
        if (st == POSTIE_E_CONNECTION_CLOSED) {
            st = postie_http_resp_eof(&x->resp);
            break;
        }
        if (st != POSTIE_OK) {
            break;
        }
        st = postie_http_resp_feed(&x->resp, in, got, &used);
        wipe(in, sizeof(in));
        if (st == POSTIE_E_AGAIN) {
            st = POSTIE_OK;
            continue;
        }
        break; /* POSTIE_OK: complete; POSTIE_E_HTTP: malformed */
    }
    if (st == POSTIE_E_HTTP) {
        snprintf(err, err_cap, "the %s %s: %s", who, url, x->resp.why);
    } else if (st == POSTIE_E_TIMEOUT) {
        snprintf(err, err_cap, "the %s %s: no %s within %u ms (%s)", who, url,
                 strcmp(step, "reply") == 0 ? "complete reply" : "connection", (unsigned)timeout,
                 step);
    } else if (st != POSTIE_OK) {
        const char *detail = x->tls.last_error.subject;
        snprintf(err, err_cap, "the %s %s: %s (%s)%s%s", who, url, postie_status_str(st), step,
                 detail[0] ? ": " : "", detail);
    }
    postie_tls_free(&x->tls); /* closes the TCP connection too */
    x->body[x->resp.body_len] = '\0';
    if (st == POSTIE_OK) {
        logf_(cfg, "oauth: POST %s (%s): HTTP %u, %zu octets in %llu ms", url, label,
              (unsigned)x->resp.status, x->resp.body_len,
              (unsigned long long)(postie_oauth_now_ms() - start));
    } else {
        logf_(cfg, "oauth: POST %s (%s): failed (%s) after %llu ms", url, label,
              postie_status_name(st), (unsigned long long)(postie_oauth_now_ms() - start));
    }
    return st;
}

/* client_id, and client_secret when the entry has one. */
static postie_status_t put_client(const postie_oauth_config_t *cfg, postie_text_t *form, char *err,
                                  size_t err_cap)
{
    postie_http_form_put(form, "client_id", cfg->client_id);
    if (cfg->client_secret.kind != POSTIE_SECRET_NONE) {
        char secret[POSTIE_REGISTRY_TEXT_MAX];
        const char *why = NULL;
        postie_status_t st = postie_secret_read(&cfg->client_secret, secret, sizeof(secret), &why);
        if (st != POSTIE_OK) {
            char where[POSTIE_REGISTRY_TEXT_MAX + 32];
            postie_secret_describe(&cfg->client_secret, where, sizeof(where));
            /* "password variable X" -> "variable X": this one is no password */
            snprintf(err, err_cap, "the client secret (%s): %s",
                     strncmp(where, "password ", 9) == 0 ? where + 9 : where,
                     why != NULL ? why : postie_status_str(st));
            return st;
        }
        postie_http_form_put(form, "client_secret", secret);
        wipe(secret, sizeof(secret));
    }
    return POSTIE_OK;
}

/* A form buffer big enough for a refresh token or device code in percent
 * encoding and the rest. */
#define FORM_CAP (3u * POSTIE_OAUTH_REFRESH_TOKEN_MAX + 6u * POSTIE_REGISTRY_TEXT_MAX + 256u)

static postie_status_t token_request(const postie_oauth_config_t *cfg, const char *grant_label,
                                     const char *form, postie_oauth_token_reply_t *out, char *err,
                                     size_t err_cap)
{
    exchange_t *x = malloc(sizeof(*x));
    postie_status_t st;
    if (x == NULL) {
        snprintf(err, err_cap, "out of memory");
        return POSTIE_E_NO_SPACE;
    }
    st = http_post(cfg, x, cfg->token_endpoint, "token endpoint", grant_label, form, err, err_cap);
    if (st == POSTIE_OK) {
        st = postie_oauth_parse_token_reply(x->resp.status, (const char *)x->body, x->resp.body_len,
                                            out, err, err_cap);
    }
    wipe(x, sizeof(*x));
    free(x);
    return st;
}

postie_status_t postie_oauth_device_start(const postie_oauth_config_t *cfg,
                                          postie_oauth_device_reply_t *out, char *err,
                                          size_t err_cap)
{
    char form[FORM_CAP];
    postie_text_t t;
    exchange_t *x;
    postie_status_t st;
    memset(out, 0, sizeof(*out));
    if (cfg->device_endpoint[0] == '\0') {
        snprintf(err, err_cap, "no device endpoint: set oauth2.device_endpoint");
        return POSTIE_E_INVALID_ARGUMENT;
    }
    postie_text_init_str(&t, form, sizeof(form));
    st = put_client(cfg, &t, err, err_cap);
    if (st != POSTIE_OK) {
        return st;
    }
    if (cfg->scopes[0] != '\0') {
        postie_http_form_put(&t, "scope", cfg->scopes);
    }
    x = malloc(sizeof(*x));
    if (x == NULL || t.overflow) {
        wipe(form, sizeof(form));
        free(x);
        snprintf(err, err_cap, "the device request does not fit");
        return POSTIE_E_NO_SPACE;
    }
    st = http_post(cfg, x, cfg->device_endpoint, "device endpoint", "device authorization", form,
                   err, err_cap);
    wipe(form, sizeof(form));
    if (st == POSTIE_OK) {
        st = postie_oauth_parse_device_reply(x->resp.status, (const char *)x->body,
                                             x->resp.body_len, out, err, err_cap);
    }
    wipe(x, sizeof(*x));
    free(x);
    return st;
}

postie_status_t postie_oauth_device_poll(const postie_oauth_config_t *cfg, const char *device_code,
                                         postie_oauth_token_reply_t *out, char *err, size_t err_cap)
{
    char form[FORM_CAP];
    postie_text_t t;
    postie_status_t st;
    memset(out, 0, sizeof(*out));
    postie_text_init_str(&t, form, sizeof(form));
    postie_http_form_put(&t, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
    postie_http_form_put(&t, "device_code", device_code);
    st = put_client(cfg, &t, err, err_cap);
    if (st == POSTIE_OK && t.overflow) {
        snprintf(err, err_cap, "the token request does not fit");
        st = POSTIE_E_NO_SPACE;
    }
    if (st == POSTIE_OK) {
        st = token_request(cfg, "device code grant", form, out, err, err_cap);
    }
    wipe(form, sizeof(form));
    return st;
}

/* ---- the provider ------------------------------------------------------------------------------
 */

static postie_status_t provider_get(void *ctx, bool refresh, char *token, size_t cap, size_t *len,
                                    char *err, size_t err_cap);

void postie_oauth_provider_init(postie_oauth_provider_t *p, const postie_oauth_config_t *cfg)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->now_ms = postie_oauth_now_ms;
    p->iface.get = provider_get;
    p->iface.ctx = p;
}

const postie_token_provider_t *postie_oauth_provider_iface(postie_oauth_provider_t *p)
{
    return &p->iface;
}

postie_status_t postie_oauth_provider_for_entry(postie_oauth_provider_t *p,
                                                const postie_endpoint_t *ep, bool account,
                                                const char *name, postie_oauth_log_fn log,
                                                void *log_ctx, char *err, size_t err_cap)
{
    postie_oauth_config_t cfg;
    postie_status_t st =
        postie_oauth_config_from_entry(&cfg, ep, account, name, NULL, err, err_cap);
    if (st != POSTIE_OK) {
        memset(p, 0, sizeof(*p));
        return st;
    }
    cfg.log = log;
    cfg.log_ctx = log_ctx;
    postie_oauth_provider_init(p, &cfg);
    return POSTIE_OK;
}

const postie_token_provider_t *postie_oauth_provider_attach(postie_oauth_provider_t *p,
                                                            const postie_endpoint_t *ep,
                                                            bool account, const char *name,
                                                            postie_oauth_log_fn log, void *log_ctx,
                                                            postie_error_t *why)
{
    postie_oauth_config_t cfg;
    char err[160];
    postie_status_t st =
        postie_oauth_config_from_entry(&cfg, ep, account, name, NULL, err, sizeof(err));
    if (st != POSTIE_OK) {
        postie_oauth_provider_clear(p);
        if (why != NULL) {
            postie_error_clear(why);
            why->status = st;
            why->phase = "OAuth 2.0 token";
            postie_text_copy_printable(why->subject, sizeof(why->subject), err, strlen(err));
        }
        return NULL;
    }
    cfg.log = log;
    cfg.log_ctx = log_ctx;
    /* the same entry and settings: keep the cached token */
    if (p->iface.get == NULL || memcmp(&p->cfg, &cfg, sizeof(cfg)) != 0) {
        postie_oauth_provider_init(p, &cfg);
    }
    return &p->iface;
}

void postie_oauth_provider_clear(postie_oauth_provider_t *p)
{
    wipe(p->access, sizeof(p->access));
    p->access_len = 0;
    p->cached = false;
}

static postie_status_t hand_out(const postie_oauth_provider_t *p, char *token, size_t cap,
                                size_t *len, char *err, size_t err_cap)
{
    if (p->access_len + 1 > cap) {
        snprintf(err, err_cap, "the access token (%zu octets) does not fit the caller's buffer",
                 p->access_len);
        return POSTIE_E_NO_SPACE;
    }
    memcpy(token, p->access, p->access_len + 1);
    *len = p->access_len;
    return POSTIE_OK;
}

/* The refresh-token grant; the caller holds the store's lock. */
static postie_status_t refresh_locked(postie_oauth_provider_t *p, char *err, size_t err_cap)
{
    const postie_oauth_config_t *cfg = &p->cfg;
    char refresh[POSTIE_OAUTH_REFRESH_TOKEN_MAX + 1];
    char form[FORM_CAP];
    postie_oauth_token_reply_t *reply;
    postie_text_t t;
    postie_status_t st;
    uint32_t lifetime;

    st = postie_oauth_store_read(cfg->store, refresh, sizeof(refresh), NULL, err, err_cap);
    if (st == POSTIE_E_NOT_FOUND) {
        snprintf(err, err_cap,
                 "no refresh token in %s: authorize first (postie oauth authorize NAME)",
                 cfg->store);
        return POSTIE_E_TOKEN_UNAVAILABLE;
    }
    if (st != POSTIE_OK) {
        return POSTIE_E_TOKEN_UNAVAILABLE;
    }
    postie_text_init_str(&t, form, sizeof(form));
    postie_http_form_put(&t, "grant_type", "refresh_token");
    postie_http_form_put(&t, "refresh_token", refresh);
    wipe(refresh, sizeof(refresh));
    st = put_client(cfg, &t, err, err_cap);
    if (st == POSTIE_OK && cfg->scopes[0] != '\0') {
        postie_http_form_put(&t, "scope", cfg->scopes);
    }
    if (st == POSTIE_OK && t.overflow) {
        snprintf(err, err_cap, "the token request does not fit");
        st = POSTIE_E_NO_SPACE;
    }
    reply = st == POSTIE_OK ? malloc(sizeof(*reply)) : NULL;
    if (st == POSTIE_OK && reply == NULL) {
        snprintf(err, err_cap, "out of memory");
        st = POSTIE_E_NO_SPACE;
    }
    if (st != POSTIE_OK) {
        wipe(form, sizeof(form));
        return st;
    }
    p->requests++;
    st = token_request(cfg, "refresh token grant", form, reply, err, err_cap);
    wipe(form, sizeof(form));
    if (st == POSTIE_E_OAUTH_GRANT && strcmp(reply->error, "invalid_grant") == 0) {
        snprintf(err, err_cap,
                 "the token endpoint refused the stored refresh token (invalid_grant%s%s): it "
                 "expired or was revoked; authorize again (postie oauth authorize NAME)",
                 reply->description[0] ? ": " : "", reply->description);
    }
    if (st == POSTIE_OK) {
        memcpy(p->access, reply->access_token, reply->access_len + 1);
        p->access_len = reply->access_len;
        p->cached = true;
        lifetime = reply->expires_in != 0 ? reply->expires_in : DEFAULT_LIFETIME_S;
        lifetime =
            lifetime > POSTIE_OAUTH_EXPIRY_MARGIN_S ? lifetime - POSTIE_OAUTH_EXPIRY_MARGIN_S : 0;
        p->expires_ms = p->now_ms() + (uint64_t)lifetime * 1000u;
        if (reply->refresh_token[0] != '\0') {
            /* room for the store's path twice (STORE and STORE.tmp) and the
             * errno text */
            char werr[2 * (POSTIE_REGISTRY_TEXT_MAX + 80) + 96];
            if (store_write_locked(cfg->store, reply->refresh_token, werr, sizeof(werr)) !=
                POSTIE_OK) {
                /* the access token is good: use it, but say loudly (with or
                 * without --verbose) that the next refresh will need a new
                 * authorization; werr names the store and the errno text */
                fprintf(stderr,
                        "postie: oauth: warning: the rotated refresh token was not stored (%s); "
                        "the stored one may no longer work: if a later refresh fails, authorize "
                        "again (postie oauth authorize NAME)\n",
                        werr);
            } else {
                logf_(cfg, "oauth: stored the rotated refresh token in %s", cfg->store);
            }
        }
    }
    wipe(reply, sizeof(*reply));
    free(reply);
    return st;
}

static postie_status_t provider_get(void *ctx, bool refresh, char *token, size_t cap, size_t *len,
                                    char *err, size_t err_cap)
{
    postie_oauth_provider_t *p = ctx;
    postie_status_t st;
    int lock;
    *len = 0;
    if (err_cap > 0) {
        err[0] = '\0';
    }
    if (!refresh && p->cached && p->now_ms() < p->expires_ms) {
        return hand_out(p, token, cap, len, err, err_cap);
    }
    postie_oauth_provider_clear(p);
    /* another process may be in a whole exchange (4 x the timeout) */
    lock = store_lock(p->cfg.store, 5u * timeout_of(&p->cfg), err, err_cap);
    if (lock < 0) {
        return lock == -2 ? POSTIE_E_TOKEN_UNAVAILABLE : POSTIE_E_FILE;
    }
    st = refresh_locked(p, err, err_cap);
    store_unlock(lock);
    if (st != POSTIE_OK) {
        return st;
    }
    return hand_out(p, token, cap, len, err, err_cap);
}

postie_token_provider_t postie_oauth_provider(postie_oauth_provider_t *p)
{
    postie_token_provider_t t = {provider_get, p};
    return t;
}
