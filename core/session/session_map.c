/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session -> connection and session -> message defaults. See
 * postie/session/session_map.h for the contract.
 */
#include "postie/session/session_map.h"

#include <string.h>

void postie_session_map_defaults(postie_session_connection_t *conn)
{
    memset(conn, 0, sizeof(*conn));
    conn->verify = true;
    conn->connect_timeout_ms = POSTIE_CONNECT_TIMEOUT_MS;
    postie_smtp_config_defaults(&conn->smtp);
}

postie_status_t postie_session_map_connection(const postie_session_t *s, const char *password,
                                              postie_session_connection_t *conn)
{
    const postie_endpoint_t *ep = &s->ep;

    conn->host = ep->host;
    conn->port = ep->port;
    conn->ca_file = ep->ca_file[0] != '\0' ? ep->ca_file : NULL;
    conn->verify = ep->verify;
    conn->smtp.tls_mode = ep->tls;
    conn->smtp.allow_plaintext_auth = ep->allow_plaintext_auth;
    if (ep->ehlo[0] != '\0') {
        conn->smtp.ehlo_name = ep->ehlo;
    }
    if (ep->connect_timeout_ms != 0) {
        conn->connect_timeout_ms = ep->connect_timeout_ms;
    }
    if (ep->timeout_ms != 0) {
        /* one "timeout" for every whole reply but the body's own */
        conn->smtp.timeout_greeting_ms = ep->timeout_ms;
        conn->smtp.timeout_command_ms = ep->timeout_ms;
        conn->smtp.timeout_data_init_ms = ep->timeout_ms;
        conn->smtp.timeout_data_end_ms = ep->timeout_ms;
    }
    if (ep->write_timeout_ms != 0) {
        conn->smtp.timeout_data_block_ms = ep->write_timeout_ms;
    }
    if (ep->auth == POSTIE_AUTH_OAUTH2) {
        /* the token comes from the caller's provider at login */
        conn->smtp.username = ep->username;
        conn->smtp.password = NULL;
        conn->smtp.oauth_mechanism =
            ep->oauth2.mechanism != 0 ? ep->oauth2.mechanism : POSTIE_SASL_XOAUTH2;
        conn->smtp.oauth_host = ep->host;
        return POSTIE_OK;
    }
    if (ep->auth == POSTIE_AUTH_BASIC) {
        if (password == NULL || password[0] == '\0') {
            return POSTIE_E_INVALID_ARGUMENT; /* an empty password is never sent */
        }
        if (strlen(password) > POSTIE_AUTH_FIELD_MAX) {
            return POSTIE_E_NO_SPACE;
        }
        conn->smtp.username = ep->username;
        conn->smtp.password = password;
    }
    return POSTIE_OK;
}

/* The display name: the template over the user, without the spaces an
 * empty variable leaves at either end ("${fullname} (NAS)" with no name
 * gives "(NAS)"); NULL when nothing is left. */
static postie_status_t map_name(const postie_session_t *s, const postie_template_user_t *user,
                                char *buf, size_t cap, const char **name)
{
    static const postie_template_user_t nobody = {NULL, NULL};
    size_t len = 0;
    size_t start = 0;
    postie_status_t st;

    st = postie_template_expand(s->from_name, user != NULL ? user : &nobody, buf, cap, &len);
    if (st != POSTIE_OK) {
        return st;
    }
    while (len > 0 && buf[len - 1] == ' ') {
        buf[--len] = '\0';
    }
    while (start < len && buf[start] == ' ') {
        start++;
    }
    *name = start < len ? buf + start : NULL;
    return POSTIE_OK;
}

postie_status_t postie_session_map_message(const postie_session_t *s,
                                           const postie_template_user_t *user, const char *subject,
                                           char *name_buf, size_t name_cap, char *subject_buf,
                                           size_t subject_cap, postie_session_message_t *out)
{
    postie_status_t st;

    out->from = s->from;
    out->envelope_from = s->envelope_from[0] != '\0' ? s->envelope_from : s->from;
    out->from_name = NULL;
    out->subject = NULL;
    out->failed = POSTIE_F_COUNT;

    st = map_name(s, user, name_buf, name_cap, &out->from_name);
    if (st != POSTIE_OK) {
        out->failed = POSTIE_F_FROM_NAME;
        return st;
    }
    if (s->subject_prefix[0] == '\0') {
        out->subject = subject;
        return POSTIE_OK;
    }
    /* "[Confluence]" + "Page edited": "[Confluence] Page edited" */
    st = postie_template_subject(s->subject_prefix, subject, subject_buf, subject_cap, NULL);
    if (st != POSTIE_OK) {
        out->from_name = NULL;
        out->failed = POSTIE_F_SUBJECT_PREFIX;
        return st;
    }
    out->subject = subject_buf;
    return POSTIE_OK;
}
