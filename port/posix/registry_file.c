/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry on a POSIX host. See postie/registry_posix.h.
 */
#include "postie/registry_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

postie_status_t postie_registry_load_file(postie_registry_t *reg, const char *path, uint8_t *arena,
                                          size_t arena_size, const char **used_path)
{
    static char text[POSTIE_REGISTRY_FILE_MAX + 1];
    postie_registry_source_t src = {false};
    struct stat sb;
    ssize_t n;
    size_t len = 0;
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
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return POSTIE_E_FILE;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
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
    return postie_registry_load(reg, text, len, arena, arena_size, &src);
}

postie_status_t postie_secret_resolve(const postie_secret_t *s, char *out, size_t cap)
{
    const char *v = NULL;
    size_t n;
    if (cap == 0) {
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
            return POSTIE_E_NOT_FOUND;
        }
        break;
    case POSTIE_SECRET_FILE: {
        FILE *f = fopen(s->value, "r");
        if (f == NULL) {
            return POSTIE_E_FILE;
        }
        n = fread(out, 1, cap - 1, f);
        fclose(f);
        out[n] = '\0';
        out[strcspn(out, "\r\n")] = '\0';
        if (n == cap - 1 && strlen(out) == n) {
            memset(out, 0, cap);
            return POSTIE_E_NO_SPACE;
        }
        return POSTIE_OK;
    }
    }
    n = strlen(v);
    if (n >= cap) {
        return POSTIE_E_NO_SPACE;
    }
    memcpy(out, v, n + 1);
    return POSTIE_OK;
}

postie_status_t postie_session_client_config(const postie_session_t *s,
                                             postie_smtp_client_config_t *cfg, char *password,
                                             size_t cap)
{
    const postie_endpoint_t *ep = &s->ep;
    static const postie_tls_mode_t modes[] = {
        POSTIE_TLS_STARTTLS_REQUIRED, /* POSTIE_REG_TLS_REQUIRED */
        POSTIE_TLS_STARTTLS_OPPORTUNISTIC,
        POSTIE_TLS_NONE,
        POSTIE_TLS_IMPLICIT,
    };
    postie_status_t st;

    cfg->host = ep->host;
    cfg->port = ep->port;
    cfg->smtp.tls_mode = modes[ep->tls];
    cfg->tls.ca_file = ep->ca_file[0] != '\0' ? ep->ca_file : NULL;
    cfg->tls.insecure_skip_verify = !ep->verify;
    if (ep->ehlo[0] != '\0') {
        cfg->smtp.ehlo_name = ep->ehlo;
    }
    if (ep->connect_timeout_ms != 0) {
        cfg->connect_timeout_ms = ep->connect_timeout_ms;
    }
    if (ep->timeout_ms != 0) {
        cfg->smtp.timeout_greeting_ms = ep->timeout_ms;
        cfg->smtp.timeout_command_ms = ep->timeout_ms;
        cfg->smtp.timeout_data_init_ms = ep->timeout_ms;
        cfg->smtp.timeout_data_end_ms = ep->timeout_ms;
    }
    if (ep->write_timeout_ms != 0) {
        cfg->smtp.timeout_data_block_ms = ep->write_timeout_ms;
    }
    cfg->smtp.allow_plaintext_auth = ep->allow_plaintext_auth;
    if (ep->auth == POSTIE_AUTH_OAUTH2) {
        return POSTIE_E_AUTH_NO_MECHANISM; /* reserved until OAuth 2.0 lands */
    }
    if (ep->auth == POSTIE_AUTH_BASIC) {
        st = postie_secret_resolve(&ep->password, password, cap);
        if (st != POSTIE_OK) {
            return st;
        }
        cfg->smtp.username = ep->username;
        cfg->smtp.password = password;
    }
    return POSTIE_OK;
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
    case POSTIE_E_AUTH_NO_MECHANISM:
        return "the session's login (OAuth 2.0 is not available yet)";
    default:
        return "the session's secret";
    }
}
