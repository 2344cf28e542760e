/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The session model: names, lookups and the names of protocols and
 * fields. See postie/session/registry.h for the contract. It knows no
 * JSON: the loader (registry_json.c, on cJSON) fills the structs.
 */
#include "postie/session/registry.h"

#include "postie/common/sasl.h"

#include <string.h>

/* ---- names -------------------------------------------------------------------- */

bool postie_registry_normalise(const char *name, char *out, size_t cap)
{
    const char *p = name;
    size_t n;
    if (name == NULL) {
        return false;
    }
    if (strncmp(p, "java:", 5) == 0) {
        p += 5;
    }
    if (*p == '/') {
        p++;
    }
    if (strncmp(p, "comp/env/", 9) == 0) {
        p += 9;
    }
    if (strncmp(p, "java:", 5) == 0 || *p == '/' || strncmp(p, "comp/env/", 9) == 0) {
        return false; /* "//x", "java:java:x": the result must normalise to itself */
    }
    n = strlen(p);
    if (n == 0 || n >= cap) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] < 0x21 || p[i] == 0x7f) {
            return false; /* no spaces or control characters in names */
        }
    }
    memcpy(out, p, n + 1);
    return true;
}

const char *postie_registry_origin_entry(const postie_registry_t *reg, const postie_origin_t *o)
{
    if (o->via == 0 || (size_t)o->via > reg->session_count) {
        return NULL;
    }
    return reg->sessions[o->via - 1].name;
}

const postie_session_t *postie_registry_session(const postie_registry_t *reg, const char *name)
{
    char n[POSTIE_REGISTRY_NAME_MAX];
    if (reg == NULL || !reg->loaded || !postie_registry_normalise(name, n, sizeof(n))) {
        return NULL; /* reg or name NULL included */
    }
    for (size_t i = 0; i < reg->session_count; i++) {
        if (strcmp(reg->sessions[i].name, n) == 0) {
            return &reg->sessions[i];
        }
    }
    return NULL;
}

const postie_account_t *postie_registry_account(const postie_registry_t *reg, const char *name)
{
    char n[POSTIE_REGISTRY_NAME_MAX];
    if (reg == NULL || !reg->loaded || !postie_registry_normalise(name, n, sizeof(n))) {
        return NULL;
    }
    for (size_t i = 0; i < reg->account_count; i++) {
        if (strcmp(reg->accounts[i].name, n) == 0) {
            return &reg->accounts[i];
        }
    }
    return NULL;
}

const char *postie_registry_protocol_name(postie_protocol_t p)
{
    static const char *const names[] = {"smtp", "smtps", "pop3", "pop3s", "imap", "imaps"};
    return (unsigned)p < 6u ? names[p] : "?";
}

static const char *const field_names[POSTIE_F_COUNT] = {
    "protocol",
    "host",
    "port",
    "tls",
    "ca_file",
    "verify",
    "auth",
    "username",
    "password",
    "ehlo",
    "connect_timeout",
    "timeout",
    "write_timeout",
    "from",
    "envelope_from",
    "from_name",
    "subject_prefix",
    "poll_interval",
    "enabled",
    "folder",
    "apop",
    "delete_after_archive",
    "maildir",
    "state_file",
    "oauth2",
};

const char *postie_registry_field_name(postie_field_t f)
{
    return (unsigned)f < (unsigned)POSTIE_F_COUNT ? field_names[f] : "?";
}

/* ---- OAuth 2.0 presets ------------------------------------------------------------ */

#define MS_BASE "https://login.microsoftonline.com/common/oauth2/v2.0/"

const char *postie_oauth2_provider_name(postie_oauth2_provider_t p)
{
    return p == POSTIE_OAUTH2_MICROSOFT ? "microsoft"
           : p == POSTIE_OAUTH2_GOOGLE  ? "google"
                                        : "custom";
}

const char *postie_oauth2_mechanism_name(uint32_t mechanism)
{
    return mechanism == POSTIE_SASL_OAUTHBEARER ? "oauthbearer" : "xoauth2";
}

const char *postie_oauth2_token_endpoint(const postie_oauth2_t *o)
{
    if (o->token_endpoint[0] != '\0') {
        return o->token_endpoint;
    }
    return o->provider == POSTIE_OAUTH2_MICROSOFT ? MS_BASE "token"
           : o->provider == POSTIE_OAUTH2_GOOGLE  ? "https://oauth2.googleapis.com/token"
                                                  : "";
}

const char *postie_oauth2_device_endpoint(const postie_oauth2_t *o)
{
    if (o->device_endpoint[0] != '\0') {
        return o->device_endpoint;
    }
    return o->provider == POSTIE_OAUTH2_MICROSOFT ? MS_BASE "devicecode"
           : o->provider == POSTIE_OAUTH2_GOOGLE  ? "https://oauth2.googleapis.com/device/code"
                                                  : "";
}

const char *postie_oauth2_scopes(const postie_oauth2_t *o, postie_protocol_t protocol)
{
    if (o->scopes[0] != '\0') {
        return o->scopes;
    }
    if (o->provider == POSTIE_OAUTH2_GOOGLE) {
        return "https://mail.google.com/";
    }
    if (o->provider != POSTIE_OAUTH2_MICROSOFT) {
        return "";
    }
    switch (protocol) {
    case POSTIE_PROTO_IMAP:
    case POSTIE_PROTO_IMAPS:
        return "https://outlook.office.com/IMAP.AccessAsUser.All offline_access";
    case POSTIE_PROTO_POP3:
    case POSTIE_PROTO_POP3S:
        return "https://outlook.office.com/POP.AccessAsUser.All offline_access";
    default:
        return "https://outlook.office.com/SMTP.Send offline_access";
    }
}
