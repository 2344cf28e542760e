/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry loader: JSON text into the session model, on cJSON. See
 * postie/session/registry_json.h for the contract; the model it fills is
 * postie/session/registry.h (registry.c), and this is the only file of
 * Postie that includes cJSON.
 *
 * Shape: check size and nesting on the raw text; parse with cJSON on the
 * caller's arena; walk each entry once through a key table that maps both
 * Postie's names and JavaMail's property names onto fields (recording which
 * key set each field, so a field set twice is an error and "session show"
 * can say where a value came from); resolve "jndi" references; apply
 * defaults; validate; and only then publish (fail closed).
 */
#include "postie/session/registry_json.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "postie/common/address.h"
#include "postie/common/http.h"
#include "postie/common/sasl.h"
#include "postie/common/text.h"
#include "postie/common/utf8.h"
#include "postie/session/template.h"

/* ---- the parse arena --------------------------------------------------------- */

static struct {
    uint8_t *base;
    size_t size;
    size_t used;
    bool exhausted;
} arena;

static void *arena_alloc(size_t n)
{
    size_t at = (arena.used + 15u) & ~(size_t)15u;
    if (n > arena.size || at > arena.size - n) {
        arena.exhausted = true;
        return NULL;
    }
    arena.used = at + n;
    return arena.base + at;
}

static void arena_free(void *p)
{
    (void)p; /* the whole arena is dropped after the load */
}

/* ---- problems ---------------------------------------------------------------- */

typedef struct {
    postie_registry_t *reg;
    const postie_registry_source_t *src;
    const char *kind;  /* "sessions" or "accounts" */
    const char *entry; /* the entry's name as written */
} ctx_t;

static void problem(ctx_t *c, bool warning, const char *key, const char *msg, const char *detail)
{
    postie_registry_t *r = c->reg;
    postie_registry_problem_t *p;
    postie_text_t t;
    if (!warning) {
        r->error_count++;
    }
    if (r->problem_count >= POSTIE_REGISTRY_PROBLEMS_MAX) {
        r->problems_dropped++;
        return;
    }
    p = &r->problems[r->problem_count++];
    p->warning = warning;
    /* paths and messages are better cut than lost */
    postie_text_init_str(&t, p->path, sizeof(p->path));
    if (c->kind != NULL) {
        postie_text_put_cut(&t, c->kind);
        postie_text_put_cut(&t, "[\"");
        postie_text_put_cut(&t, c->entry);
        postie_text_put_cut(&t, "\"]");
        if (key != NULL) {
            postie_text_put_cut(&t, ".");
        }
    }
    if (key != NULL) {
        postie_text_put_cut(&t, key);
    }
    postie_text_init_str(&t, p->message, sizeof(p->message));
    postie_text_put_cut(&t, msg);
    if (detail != NULL) {
        postie_text_put_cut(&t, detail);
    }
    /* problem text is shown to people: keep it printable, and valid UTF-8 */
    postie_text_copy_printable(p->path, sizeof(p->path), p->path, strlen(p->path));
    postie_text_copy_printable(p->message, sizeof(p->message), p->message, strlen(p->message));
    if (!postie_utf8_valid((const uint8_t *)p->path, strlen(p->path), NULL)) {
        for (char *q = p->path; *q; q++) {
            *q = (unsigned char)*q >= 0x80 ? '?' : *q;
        }
    }
}

/* "line 3, column 7" for an offset into the text */
static void put_position(postie_text_t *t, const char *json, size_t len, size_t offset)
{
    uint64_t line = 1;
    uint64_t col = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (json[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    postie_text_put_cut(t, "line ");
    postie_text_put_u64(t, line);
    postie_text_put_cut(t, ", column ");
    postie_text_put_u64(t, col);
}

/* ---- the key table ------------------------------------------------------------- */

/* How a key's value is read. */
typedef enum {
    V_TEXT,     /* string into a char array */
    V_NAME,     /* like V_TEXT, shorter destination */
    V_PORT,     /* number or numeric string, 1..65535 */
    V_SECONDS,  /* Postie: number of seconds */
    V_MILLIS,   /* JavaMail: milliseconds, number or string */
    V_BOOL,     /* true/false or "true"/"false" */
    V_PROTOCOL, /* smtp | smtps | pop3 | ... */
    V_TLS,      /* starttls | starttls-optional | none */
    V_AUTH,     /* none | basic | oauth2 */
    V_JM_AUTH,  /* mail.smtp.auth: "true" -> basic, "false" -> none */
    V_JM_STARTTLS_ENABLE,
    V_JM_STARTTLS_REQUIRED,
    V_JM_SSL_ENABLE,
    V_JM_CHECK_IDENTITY,
    V_JM_TRUST,
    V_SECRET,
    V_JNDI,
    V_OAUTH2, /* the oauth2 object */
    V_PLAINTEXT_OK,
    V_DESCRIPTION,
    V_KEEP /* keep_on_server: the inverse of delete_after_archive */
} value_kind_t;

/* which entries a key belongs to */
#define FOR_SESSION 1u
#define FOR_ACCOUNT 2u

typedef struct {
    const char *key; /* exact key; "mail.*." stands for every protocol prefix */
    uint8_t field;   /* postie_field_t, or POSTIE_F_COUNT when not tracked */
    uint8_t kind;    /* value_kind_t */
    uint8_t applies; /* FOR_SESSION | FOR_ACCOUNT */
} key_t_;

/* JavaMail keys are written with "*" for the protocol part: mail.*.host
 * matches mail.smtp.host, mail.smtps.host (sessions) or mail.imap.host,
 * mail.imaps.host, mail.pop3.host, mail.pop3s.host (accounts). */
static const key_t_ keys[] = {
    {"description", POSTIE_F_COUNT, V_DESCRIPTION, FOR_SESSION | FOR_ACCOUNT},
    {"protocol", POSTIE_F_PROTOCOL, V_PROTOCOL, FOR_SESSION | FOR_ACCOUNT},
    {"mail.transport.protocol", POSTIE_F_PROTOCOL, V_PROTOCOL, FOR_SESSION},
    {"mail.store.protocol", POSTIE_F_PROTOCOL, V_PROTOCOL, FOR_ACCOUNT},
    {"host", POSTIE_F_HOST, V_TEXT, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.host", POSTIE_F_HOST, V_TEXT, FOR_SESSION | FOR_ACCOUNT},
    {"port", POSTIE_F_PORT, V_PORT, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.port", POSTIE_F_PORT, V_PORT, FOR_SESSION | FOR_ACCOUNT},
    {"tls", POSTIE_F_TLS, V_TLS, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.starttls.enable", POSTIE_F_COUNT, V_JM_STARTTLS_ENABLE, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.starttls.required", POSTIE_F_COUNT, V_JM_STARTTLS_REQUIRED, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.ssl.enable", POSTIE_F_COUNT, V_JM_SSL_ENABLE, FOR_SESSION | FOR_ACCOUNT},
    {"ca_file", POSTIE_F_CA_FILE, V_TEXT, FOR_SESSION | FOR_ACCOUNT},
    {"verify", POSTIE_F_VERIFY, V_BOOL, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.ssl.checkserveridentity", POSTIE_F_COUNT, V_JM_CHECK_IDENTITY,
     FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.ssl.trust", POSTIE_F_COUNT, V_JM_TRUST, FOR_SESSION | FOR_ACCOUNT},
    {"auth", POSTIE_F_AUTH, V_AUTH, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.auth", POSTIE_F_AUTH, V_JM_AUTH, FOR_SESSION},
    {"oauth2", POSTIE_F_OAUTH2, V_OAUTH2, FOR_SESSION | FOR_ACCOUNT},
    {"allow_plaintext_auth", POSTIE_F_COUNT, V_PLAINTEXT_OK, FOR_SESSION | FOR_ACCOUNT},
    {"username", POSTIE_F_USERNAME, V_TEXT, FOR_SESSION | FOR_ACCOUNT},
    {"user", POSTIE_F_USERNAME, V_TEXT, FOR_SESSION | FOR_ACCOUNT},
    {"mail.user", POSTIE_F_USERNAME, V_TEXT, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.user", POSTIE_F_USERNAME, V_TEXT, FOR_SESSION | FOR_ACCOUNT},
    {"password", POSTIE_F_PASSWORD, V_SECRET, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.password", POSTIE_F_PASSWORD, V_SECRET, FOR_SESSION | FOR_ACCOUNT},
    {"ehlo", POSTIE_F_EHLO, V_NAME, FOR_SESSION},
    {"mail.*.localhost", POSTIE_F_EHLO, V_NAME, FOR_SESSION},
    {"connect_timeout", POSTIE_F_CONNECT_TIMEOUT, V_SECONDS, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.connectiontimeout", POSTIE_F_CONNECT_TIMEOUT, V_MILLIS, FOR_SESSION | FOR_ACCOUNT},
    {"timeout", POSTIE_F_TIMEOUT, V_SECONDS, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.timeout", POSTIE_F_TIMEOUT, V_MILLIS, FOR_SESSION | FOR_ACCOUNT},
    {"write_timeout", POSTIE_F_WRITE_TIMEOUT, V_SECONDS, FOR_SESSION | FOR_ACCOUNT},
    {"mail.*.writetimeout", POSTIE_F_WRITE_TIMEOUT, V_MILLIS, FOR_SESSION | FOR_ACCOUNT},
    {"from", POSTIE_F_FROM, V_TEXT, FOR_SESSION},
    {"mail.from", POSTIE_F_FROM, V_TEXT, FOR_SESSION},
    {"envelope_from", POSTIE_F_ENVELOPE_FROM, V_TEXT, FOR_SESSION},
    {"mail.*.from", POSTIE_F_ENVELOPE_FROM, V_TEXT, FOR_SESSION},
    {"from_name", POSTIE_F_FROM_NAME, V_TEXT, FOR_SESSION},
    {"subject_prefix", POSTIE_F_SUBJECT_PREFIX, V_NAME, FOR_SESSION},
    {"jndi", POSTIE_F_COUNT, V_JNDI, FOR_SESSION},
    {"poll_interval", POSTIE_F_POLL_INTERVAL, V_SECONDS, FOR_ACCOUNT},
    {"enabled", POSTIE_F_ENABLED, V_BOOL, FOR_ACCOUNT},
    {"folder", POSTIE_F_FOLDER, V_NAME, FOR_ACCOUNT},
    {"apop", POSTIE_F_APOP, V_BOOL, FOR_ACCOUNT},
    {"mail.*.apop.enable", POSTIE_F_APOP, V_BOOL, FOR_ACCOUNT},
    {"delete_after_archive", POSTIE_F_DELETE, V_BOOL, FOR_ACCOUNT},
    {"keep_on_server", POSTIE_F_DELETE, V_KEEP, FOR_ACCOUNT},
    {"maildir", POSTIE_F_MAILDIR, V_TEXT, FOR_ACCOUNT},
    {"state_file", POSTIE_F_STATE_FILE, V_TEXT, FOR_ACCOUNT},
};

static const char *const session_prefixes[] = {"smtp", "smtps", NULL};
static const char *const account_prefixes[] = {"imap", "imaps", "pop3", "pop3s", NULL};

/* Does key match pattern ("mail.*.host" style) for this kind of entry? */
static bool key_matches(const char *pattern, const char *key, bool session)
{
    const char *star = strchr(pattern, '*');
    size_t head;
    const char *const *prefixes = session ? session_prefixes : account_prefixes;
    if (star == NULL) {
        return strcmp(pattern, key) == 0;
    }
    head = (size_t)(star - pattern);
    if (strncmp(key, pattern, head) != 0) {
        return false;
    }
    for (size_t i = 0; prefixes[i] != NULL; i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(key + head, prefixes[i], pl) == 0 && strcmp(key + head + pl, star + 1) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- reading one entry ---------------------------------------------------------- */

/* What an entry said, before references and defaults. */
typedef struct {
    char name[POSTIE_REGISTRY_NAME_MAX];
    char written[POSTIE_REGISTRY_NAME_MAX]; /* the name as written, for problem paths */
    char description[POSTIE_REGISTRY_NAME_MAX * 2];
    char jndi[POSTIE_REGISTRY_NAME_MAX];
    bool has_protocol;
    postie_endpoint_t ep;
    char from[POSTIE_REGISTRY_TEXT_MAX];
    char envelope_from[POSTIE_REGISTRY_TEXT_MAX];
    char from_name[POSTIE_REGISTRY_NAME_MAX * 2];
    char subject_prefix[POSTIE_REGISTRY_NAME_MAX];
    uint32_t poll_interval_s;
    bool enabled;
    bool apop;
    bool delete_after_archive;
    char folder[POSTIE_REGISTRY_NAME_MAX];
    char maildir[POSTIE_REGISTRY_TEXT_MAX];
    char state_file[POSTIE_REGISTRY_TEXT_MAX];
    postie_origin_t origin[POSTIE_F_COUNT];
    const char *set_by[POSTIE_F_COUNT]; /* key that set each field, NULL when unset */
    /* JavaMail TLS flags, resolved after the walk */
    int8_t jm_starttls_enable; /* -1 unset, 0 false, 1 true */
    int8_t jm_starttls_required;
    int8_t jm_ssl_enable;
    bool plaintext_ok;
    bool broken_ref;           /* its "jndi" failed: the transport checks would only repeat that */
    const char *plaintext_set; /* key that set allow_plaintext_auth, or NULL */
} raw_t;

static bool read_bool(const cJSON *v, bool *out)
{
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return true;
    }
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "true") == 0) {
            *out = true;
            return true;
        }
        if (strcmp(v->valuestring, "false") == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool read_number(const cJSON *v, uint64_t max, uint64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d < 0 || d > (double)max || d != (double)(uint64_t)d) {
            return false;
        }
        *out = (uint64_t)d;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        uint64_t n = 0;
        for (const char *p = v->valuestring; *p; p++) {
            if (*p < '0' || *p > '9' || n > max) {
                return false;
            }
            n = n * 10 + (uint64_t)(*p - '0');
        }
        if (n > max) {
            return false;
        }
        *out = n;
        return true;
    }
    return false;
}

/* Copy a string value: printable, valid UTF-8, fits. */
static bool read_text(ctx_t *c, const char *key, const cJSON *v, char *dst, size_t cap)
{
    size_t n;
    if (!cJSON_IsString(v)) {
        problem(c, false, key, "must be a string", NULL);
        return false;
    }
    n = strlen(v->valuestring);
    if (n >= cap) {
        problem(c, false, key, "too long", NULL);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v->valuestring[i];
        if (ch < 0x20 || ch == 0x7f) {
            problem(c, false, key, "contains a control character (CR, LF, tab...)", NULL);
            return false;
        }
    }
    if (!postie_utf8_valid((const uint8_t *)v->valuestring, n, NULL)) {
        problem(c, false, key, "is not valid UTF-8", NULL);
        return false;
    }
    memcpy(dst, v->valuestring, n + 1);
    return true;
}

/* A user name or password goes into SMTP AUTH, which carries at most
 * POSTIE_AUTH_FIELD_MAX octets of each: refuse a longer one here, naming
 * its key, rather than when a message is sent. */
static bool auth_field_too_long(ctx_t *c, const char *key, const cJSON *v)
{
    char detail[48];
    postie_text_t t;
    if (!cJSON_IsString(v) || strlen(v->valuestring) <= POSTIE_AUTH_FIELD_MAX) {
        return false;
    }
    postie_text_init_str(&t, detail, sizeof(detail));
    postie_text_put_u64(&t, POSTIE_AUTH_FIELD_MAX);
    postie_text_put_cut(&t, " octets (POSTIE_AUTH_FIELD_MAX)");
    problem(c, false, key, "is longer than SMTP AUTH allows: ", detail);
    return true;
}

static void read_secret(ctx_t *c, const char *key, const cJSON *v, postie_secret_t *s,
                        bool auth_field)
{
    if (cJSON_IsString(v)) {
        if (!(auth_field && auth_field_too_long(c, key, v)) &&
            read_text(c, key, v, s->value, sizeof(s->value))) {
            s->kind = POSTIE_SECRET_INLINE;
            if (c->src != NULL && c->src->readable_by_others) {
                problem(c, true, key,
                        "inline password in a file others can read; use {\"env\": NAME} or "
                        "{\"file\": PATH}, or chmod 600",
                        NULL);
            }
        }
        return;
    }
    if (cJSON_IsObject(v) && cJSON_GetArraySize(v) == 1) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "env");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, "file");
        if (e != NULL && read_text(c, key, e, s->value, sizeof(s->value))) {
            s->kind = POSTIE_SECRET_ENV;
            return;
        }
        if (f != NULL && read_text(c, key, f, s->value, sizeof(s->value))) {
            s->kind = POSTIE_SECRET_FILE;
            return;
        }
        if (e != NULL || f != NULL) {
            return; /* read_text reported it */
        }
    }
    problem(c, false, key, "must be a string, {\"env\": \"NAME\"} or {\"file\": \"PATH\"}", NULL);
}

static void set_field(ctx_t *c, raw_t *r, postie_field_t f, const char *key)
{
    if (f >= POSTIE_F_COUNT) {
        return;
    }
    if (r->set_by[f] != NULL && strcmp(r->set_by[f], key) == 0) {
        return; /* the same key twice: reported as a duplicate key */
    }
    if (r->set_by[f] != NULL) {
        char detail[96];
        postie_text_t t;
        postie_text_init_str(&t, detail, sizeof(detail));
        postie_text_put_cut(&t, r->set_by[f]);
        postie_text_put_cut(&t, " and ");
        postie_text_put_cut(&t, key);
        problem(c, false, key, "set twice: by ", detail);
        return;
    }
    r->set_by[f] = key;
    (void)postie_text_copy(r->origin[f].key, sizeof(r->origin[f].key), key);
}

/* An https:// URL for a token or device endpoint. */
static void read_endpoint_url(ctx_t *c, const char *path, const cJSON *v, char *dst, size_t cap)
{
    postie_http_url_t url;
    const char *why = NULL;
    if (!read_text(c, path, v, dst, cap)) {
        return;
    }
    if (postie_http_url_parse(dst, &url, &why) != POSTIE_OK) {
        problem(c, false, path, "is not a usable URL: it ", why);
        dst[0] = '\0';
    } else if (!url.https) {
        problem(c, false, path, "must be an https:// URL (tokens never travel in clear)", NULL);
        dst[0] = '\0';
    }
}

/* The "oauth2" object: every member checked, each problem at its own path
 * (sessions["mail/A"].oauth2.client_id). */
/* Whether s holds anything but spaces. */
static bool has_non_space(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s != ' ') {
            return true;
        }
    }
    return false;
}

static void read_oauth2(ctx_t *c, raw_t *r, const char *key, const cJSON *v)
{
    postie_oauth2_t *o = &r->ep.oauth2;
    const cJSON *item;
    if (!cJSON_IsObject(v)) {
        problem(c, false, key,
                "must be an object, e.g. {\"provider\": \"microsoft\", \"client_id\": \"...\"}",
                NULL);
        return;
    }
    memset(o, 0, sizeof(*o));
    o->mechanism = POSTIE_SASL_XOAUTH2;
    cJSON_ArrayForEach(item, v)
    {
        const char *k = item->string;
        char path[POSTIE_REGISTRY_NAME_MAX];
        postie_text_t t;
        if (k[0] == '_' || strcmp(k, "comment") == 0) {
            continue;
        }
        postie_text_init_str(&t, path, sizeof(path));
        postie_text_put_cut(&t, key);
        postie_text_put_cut(&t, ".");
        postie_text_put_cut(&t, k);
        if (strcmp(k, "provider") == 0) {
            if (cJSON_IsString(item) && strcmp(item->valuestring, "microsoft") == 0) {
                o->provider = POSTIE_OAUTH2_MICROSOFT;
            } else if (cJSON_IsString(item) && strcmp(item->valuestring, "google") == 0) {
                o->provider = POSTIE_OAUTH2_GOOGLE;
            } else if (cJSON_IsString(item) && strcmp(item->valuestring, "custom") == 0) {
                o->provider = POSTIE_OAUTH2_CUSTOM;
            } else {
                problem(c, false, path, "must be microsoft, google or custom", NULL);
            }
        } else if (strcmp(k, "mechanism") == 0) {
            if (cJSON_IsString(item) && strcmp(item->valuestring, "xoauth2") == 0) {
                o->mechanism = POSTIE_SASL_XOAUTH2;
            } else if (cJSON_IsString(item) && strcmp(item->valuestring, "oauthbearer") == 0) {
                o->mechanism = POSTIE_SASL_OAUTHBEARER;
            } else {
                problem(c, false, path, "must be xoauth2 or oauthbearer", NULL);
            }
        } else if (strcmp(k, "client_id") == 0) {
            if (read_text(c, path, item, o->client_id, sizeof(o->client_id)) &&
                o->client_id[0] == '\0') {
                problem(c, false, path, "must not be empty", NULL);
            }
        } else if (strcmp(k, "client_secret") == 0) {
            read_secret(c, path, item, &o->client_secret, false);
        } else if (strcmp(k, "token_endpoint") == 0) {
            read_endpoint_url(c, path, item, o->token_endpoint, sizeof(o->token_endpoint));
        } else if (strcmp(k, "device_endpoint") == 0) {
            read_endpoint_url(c, path, item, o->device_endpoint, sizeof(o->device_endpoint));
        } else if (strcmp(k, "scopes") == 0) {
            if (read_text(c, path, item, o->scopes, sizeof(o->scopes)) &&
                !has_non_space(o->scopes)) {
                problem(c, false, path, "must name at least one scope (or leave it out)", NULL);
            }
        } else if (strcmp(k, "token_store") == 0) {
            if (read_text(c, path, item, o->token_store, sizeof(o->token_store)) &&
                o->token_store[0] == '\0') {
                problem(c, false, path, "must not be empty: give a path (or leave it out)", NULL);
            }
        } else {
            problem(c, false, path,
                    "unknown key (expected provider, mechanism, client_id, client_secret, "
                    "token_endpoint, device_endpoint, scopes, token_store)",
                    NULL);
        }
    }
    set_field(c, r, POSTIE_F_OAUTH2, key);
}

static void read_entry_key(ctx_t *c, raw_t *r, const key_t_ *k, const char *key, const cJSON *v,
                           bool session)
{
    postie_endpoint_t *ep = &r->ep;
    bool b = false;
    uint64_t n = 0;
    postie_field_t f = (postie_field_t)k->field;

    switch ((value_kind_t)k->kind) {
    case V_DESCRIPTION:
        (void)read_text(c, key, v, r->description, sizeof(r->description));
        return;
    case V_TEXT:
    case V_NAME: {
        char *dst = NULL;
        size_t cap = 0;
        switch (f) {
        case POSTIE_F_HOST:
            dst = ep->host, cap = sizeof(ep->host);
            break;
        case POSTIE_F_CA_FILE:
            dst = ep->ca_file, cap = sizeof(ep->ca_file);
            break;
        case POSTIE_F_USERNAME:
            dst = ep->username, cap = sizeof(ep->username);
            break;
        case POSTIE_F_EHLO:
            dst = ep->ehlo, cap = sizeof(ep->ehlo);
            break;
        case POSTIE_F_FROM:
            dst = r->from, cap = sizeof(r->from);
            break;
        case POSTIE_F_ENVELOPE_FROM:
            dst = r->envelope_from, cap = sizeof(r->envelope_from);
            break;
        case POSTIE_F_FROM_NAME:
            dst = r->from_name, cap = sizeof(r->from_name);
            break;
        case POSTIE_F_SUBJECT_PREFIX:
            dst = r->subject_prefix, cap = sizeof(r->subject_prefix);
            break;
        case POSTIE_F_FOLDER:
            dst = r->folder, cap = sizeof(r->folder);
            break;
        case POSTIE_F_MAILDIR:
            dst = r->maildir, cap = sizeof(r->maildir);
            break;
        case POSTIE_F_STATE_FILE:
            dst = r->state_file, cap = sizeof(r->state_file);
            break;
        default:
            return;
        }
        if (f == POSTIE_F_USERNAME && auth_field_too_long(c, key, v)) {
            return;
        }
        if (!read_text(c, key, v, dst, cap)) {
            return;
        }
        if (f == POSTIE_F_HOST && dst[0] == '\0') {
            problem(c, false, key, "must not be empty: give the server's name or address", NULL);
        } else if ((f == POSTIE_F_MAILDIR || f == POSTIE_F_STATE_FILE || f == POSTIE_F_FOLDER) &&
                   dst[0] == '\0') {
            problem(c, false, key,
                    f == POSTIE_F_FOLDER ? "must not be empty (leave it out for INBOX)"
                                         : "must not be empty: give a path (or leave it out)",
                    NULL);
        } else if (f == POSTIE_F_EHLO && postie_address_check_hostname(dst) != POSTIE_OK) {
            problem(c, false, key,
                    "must be a domain name (no spaces) or an address literal such as "
                    "[192.0.2.1]",
                    NULL);
            dst[0] = '\0';
            return;
        }
        set_field(c, r, f, key);
        return;
    }
    case V_PORT:
        if (!read_number(v, 65535, &n) || n == 0) {
            problem(c, false, key, "must be a port number 1..65535", NULL);
            return;
        }
        ep->port = (uint16_t)n;
        set_field(c, r, f, key);
        return;
    case V_SECONDS:
    case V_MILLIS: {
        uint64_t max = k->kind == V_SECONDS ? 86400u : 86400000u;
        uint32_t ms;
        if (!read_number(v, max, &n) || n == 0) {
            problem(c, false, key,
                    k->kind == V_SECONDS ? "must be seconds, 1..86400"
                                         : "must be milliseconds, 1..86400000",
                    NULL);
            return;
        }
        ms = (uint32_t)(k->kind == V_SECONDS ? n * 1000u : n);
        if (f == POSTIE_F_CONNECT_TIMEOUT) {
            ep->connect_timeout_ms = ms;
        } else if (f == POSTIE_F_TIMEOUT) {
            ep->timeout_ms = ms;
        } else if (f == POSTIE_F_WRITE_TIMEOUT) {
            ep->write_timeout_ms = ms;
        } else if (f == POSTIE_F_POLL_INTERVAL) {
            r->poll_interval_s = ms / 1000u;
        }
        set_field(c, r, f, key);
        return;
    }
    case V_BOOL:
    case V_KEEP:
        if (!read_bool(v, &b)) {
            problem(c, false, key, "must be true or false", NULL);
            return;
        }
        if (f == POSTIE_F_VERIFY) {
            ep->verify = b;
        } else if (f == POSTIE_F_APOP) {
            r->apop = b;
        } else if (f == POSTIE_F_DELETE) {
            r->delete_after_archive = k->kind == V_KEEP ? !b : b;
        } else {
            r->enabled = b;
        }
        set_field(c, r, f, key);
        return;
    case V_PROTOCOL: {
        static const char *const names[] = {"smtp", "smtps", "pop3", "pop3s", "imap", "imaps"};
        size_t i;
        if (!cJSON_IsString(v)) {
            problem(c, false, key, "must be a string", NULL);
            return;
        }
        for (i = 0; i < 6; i++) {
            if (strcmp(v->valuestring, names[i]) == 0) {
                break;
            }
        }
        if (i == 6 || (session && i > 1) || (!session && i < 2)) {
            problem(c, false, key,
                    session ? "must be smtp or smtps" : "must be pop3, pop3s, imap or imaps", NULL);
            return;
        }
        ep->protocol = (postie_protocol_t)i;
        r->has_protocol = true;
        set_field(c, r, f, key);
        return;
    }
    case V_TLS:
        if (cJSON_IsString(v) && strcmp(v->valuestring, "starttls") == 0) {
            ep->tls = POSTIE_TLS_STARTTLS_REQUIRED;
        } else if (cJSON_IsString(v) && strcmp(v->valuestring, "starttls-optional") == 0) {
            ep->tls = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
        } else if (cJSON_IsString(v) && strcmp(v->valuestring, "none") == 0) {
            ep->tls = POSTIE_TLS_NONE;
        } else {
            problem(c, false, key, "must be starttls, starttls-optional or none", NULL);
            return;
        }
        set_field(c, r, f, key);
        return;
    case V_AUTH:
        if (cJSON_IsString(v) && strcmp(v->valuestring, "none") == 0) {
            ep->auth = POSTIE_AUTH_NONE;
        } else if (cJSON_IsString(v) && strcmp(v->valuestring, "basic") == 0) {
            ep->auth = POSTIE_AUTH_BASIC;
        } else if (cJSON_IsString(v) && strcmp(v->valuestring, "oauth2") == 0) {
            ep->auth = POSTIE_AUTH_OAUTH2;
        } else {
            problem(c, false, key, "must be none, basic or oauth2", NULL);
            return;
        }
        set_field(c, r, f, key);
        return;
    case V_JM_AUTH:
        if (!read_bool(v, &b)) {
            problem(c, false, key, "must be \"true\" or \"false\"", NULL);
            return;
        }
        ep->auth = b ? POSTIE_AUTH_BASIC : POSTIE_AUTH_NONE;
        set_field(c, r, f, key);
        return;
    case V_JM_STARTTLS_ENABLE:
    case V_JM_STARTTLS_REQUIRED:
    case V_JM_SSL_ENABLE:
        if (!read_bool(v, &b)) {
            problem(c, false, key, "must be \"true\" or \"false\"", NULL);
            return;
        }
        if (k->kind == V_JM_STARTTLS_ENABLE) {
            r->jm_starttls_enable = b ? 1 : 0;
        } else if (k->kind == V_JM_STARTTLS_REQUIRED) {
            r->jm_starttls_required = b ? 1 : 0;
        } else {
            r->jm_ssl_enable = b ? 1 : 0;
        }
        if (r->set_by[POSTIE_F_TLS] == NULL || strncmp(r->set_by[POSTIE_F_TLS], "mail.", 5) == 0) {
            r->set_by[POSTIE_F_TLS] = key;
            (void)postie_text_copy(r->origin[POSTIE_F_TLS].key, sizeof(r->origin[POSTIE_F_TLS].key),
                                   key);
        } else {
            problem(c, false, key, "conflicts with ", r->set_by[POSTIE_F_TLS]);
        }
        return;
    case V_JM_CHECK_IDENTITY:
        if (!read_bool(v, &b)) {
            problem(c, false, key, "must be \"true\" or \"false\"", NULL);
        } else if (!b) {
            problem(c, true, key,
                    "ignored: Postie always verifies the server's certificate and name "
                    "(set \"verify\": false to turn all checks off)",
                    NULL);
        }
        return;
    case V_JM_TRUST:
        problem(c, true, key,
                "ignored: Postie trusts the CAs in ca_file or the system bundle; put the "
                "server's CA in ca_file",
                NULL);
        return;
    case V_SECRET:
        read_secret(c, key, v, &ep->password, true);
        if (ep->password.kind != POSTIE_SECRET_NONE) {
            set_field(c, r, f, key);
        }
        return;
    case V_JNDI:
        if (!cJSON_IsString(v) ||
            !postie_registry_normalise(v->valuestring, r->jndi, sizeof(r->jndi))) {
            problem(c, false, key, "must name another session, e.g. \"java:comp/env/mail/Base\"",
                    NULL);
        }
        return;
    case V_OAUTH2:
        read_oauth2(c, r, key, v);
        return;
    case V_PLAINTEXT_OK:
        if (!read_bool(v, &r->plaintext_ok)) {
            problem(c, false, key, "must be true or false", NULL);
        }
        ep->allow_plaintext_auth = r->plaintext_ok;
        r->plaintext_set = key;
        return;
    }
}

static void read_entry(ctx_t *c, raw_t *r, const cJSON *obj, bool session)
{
    const cJSON *item;
    r->jm_starttls_enable = r->jm_starttls_required = r->jm_ssl_enable = -1;
    r->ep.verify = true;
    r->enabled = true;
    r->delete_after_archive = true;
    cJSON_ArrayForEach(item, obj)
    {
        const char *key = item->string;
        bool known = false;
        if (key[0] == '_' || strcmp(key, "comment") == 0) {
            continue; /* room for notes in the file */
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !known; i++) {
            if ((keys[i].applies & (session ? FOR_SESSION : FOR_ACCOUNT)) != 0 &&
                key_matches(keys[i].key, key, session)) {
                known = true;
                read_entry_key(c, r, &keys[i], key, item, session);
            }
        }
        if (!known) {
            if (strncmp(key, "mail.", 5) == 0) {
                problem(c, true, key, "unknown JavaMail property, ignored", NULL);
            } else {
                problem(c, false, key, "unknown key", NULL);
            }
        }
    }
}

/* JavaMail's TLS flags into protocol and tls. */
static void resolve_javamail_tls(ctx_t *c, raw_t *r, bool session)
{
    postie_endpoint_t *ep = &r->ep;
    if (r->jm_ssl_enable == 1) {
        if (r->has_protocol && ep->protocol != POSTIE_PROTO_SMTPS &&
            ep->protocol != POSTIE_PROTO_POP3S && ep->protocol != POSTIE_PROTO_IMAPS) {
            /* mail.smtp.ssl.enable turns smtp into implicit TLS */
            ep->protocol = (postie_protocol_t)((int)ep->protocol + 1);
        } else if (!r->has_protocol) {
            ep->protocol = session ? POSTIE_PROTO_SMTPS : POSTIE_PROTO_IMAPS;
            r->has_protocol = true;
        }
    }
    if (r->jm_starttls_required == 1) {
        ep->tls = POSTIE_TLS_STARTTLS_REQUIRED;
    } else if (r->jm_starttls_enable == 1) {
        ep->tls = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
    } else if (r->jm_starttls_enable == 0) {
        ep->tls = POSTIE_TLS_NONE;
    }
    (void)c;
}

/* ---- checks after references and defaults ----------------------------------------- */

static bool implicit_tls(postie_protocol_t p)
{
    return p == POSTIE_PROTO_SMTPS || p == POSTIE_PROTO_POP3S || p == POSTIE_PROTO_IMAPS;
}

static uint16_t default_port(postie_protocol_t p)
{
    static const uint16_t ports[] = {25, 465, 110, 995, 143, 993};
    return (unsigned)p < 6u ? ports[p] : 0;
}

static bool address_ok(const char *a)
{
    return postie_address_check(a, false, NULL) == POSTIE_OK;
}

/* "auth": "oauth2": what a token request and the login need. */
static void check_oauth2(ctx_t *c, raw_t *r)
{
    postie_endpoint_t *ep = &r->ep;
    const postie_oauth2_t *o = &ep->oauth2;
    if (r->set_by[POSTIE_F_OAUTH2] == NULL) {
        problem(c, false, "oauth2",
                "is required with \"auth\": \"oauth2\" (at least {\"provider\": ..., "
                "\"client_id\": ...})",
                NULL);
        return;
    }
    if (o->client_id[0] == '\0') {
        problem(c, false, "oauth2.client_id", "is required (the application's id at the provider)",
                NULL);
    }
    if (o->provider == POSTIE_OAUTH2_CUSTOM && o->token_endpoint[0] == '\0') {
        problem(c, false, "oauth2.token_endpoint", "is required for the custom provider", NULL);
    }
    if (o->provider == POSTIE_OAUTH2_CUSTOM && o->scopes[0] == '\0') {
        problem(c, false, "oauth2.scopes", "is required for the custom provider", NULL);
    }
    if (ep->username[0] == '\0') {
        problem(c, false, "username", "is required for oauth2 (the mailbox the token is for)",
                NULL);
    }
    if (ep->password.kind != POSTIE_SECRET_NONE) {
        problem(c, true, r->set_by[POSTIE_F_PASSWORD] ? r->set_by[POSTIE_F_PASSWORD] : "password",
                "ignored: the entry logs in with an OAuth 2.0 token", NULL);
    }
    if (ep->tls == POSTIE_TLS_NONE && !r->plaintext_ok) {
        problem(c, false, r->set_by[POSTIE_F_TLS] ? r->set_by[POSTIE_F_TLS] : "tls",
                "is none but the entry logs in: the access token would go in clear (set "
                "\"allow_plaintext_auth\": true to allow it)",
                NULL);
    }
}

static void check_endpoint(ctx_t *c, raw_t *r)
{
    postie_endpoint_t *ep = &r->ep;
    if (ep->host[0] == '\0') {
        if (r->set_by[POSTIE_F_HOST] == NULL) { /* "host": "" is reported where it is read */
            problem(c, false, "host", "is required (or mail.smtp.host, or \"jndi\")", NULL);
        }
    } else if (strchr(ep->host, ' ') != NULL) {
        problem(c, false, r->set_by[POSTIE_F_HOST], "must be a host name or address", NULL);
    }
    if (implicit_tls(ep->protocol)) {
        if (r->set_by[POSTIE_F_TLS] != NULL && strncmp(r->set_by[POSTIE_F_TLS], "mail.", 5) != 0) {
            problem(c, false, "tls", "does not apply: the protocol is TLS from the first byte",
                    NULL);
        }
        ep->tls = POSTIE_TLS_IMPLICIT;
    }
    if (ep->port == 0) {
        ep->port = default_port(ep->protocol);
    }
    if (ep->auth == POSTIE_AUTH_NONE && ep->username[0] != '\0' &&
        r->set_by[POSTIE_F_AUTH] == NULL) {
        ep->auth = POSTIE_AUTH_BASIC; /* a user name means "log in" */
    }
    if (ep->auth == POSTIE_AUTH_BASIC) {
        if (ep->username[0] == '\0') {
            problem(c, false, "username", "is required for basic authentication", NULL);
        }
        if (ep->password.kind == POSTIE_SECRET_NONE) {
            problem(c, false, "password", "is required for basic authentication", NULL);
        }
        if (ep->tls == POSTIE_TLS_NONE && !r->plaintext_ok) {
            problem(c, false, r->set_by[POSTIE_F_TLS] ? r->set_by[POSTIE_F_TLS] : "tls",
                    "is none but the entry logs in: the password would go in clear (set "
                    "\"allow_plaintext_auth\": true to allow it)",
                    NULL);
        }
    } else if (ep->auth == POSTIE_AUTH_NONE && ep->username[0] != '\0') {
        problem(c, true, "username", "ignored: authentication is off", NULL);
    } else if (ep->auth == POSTIE_AUTH_OAUTH2) {
        check_oauth2(c, r);
    }
    if (ep->auth != POSTIE_AUTH_OAUTH2 && r->set_by[POSTIE_F_OAUTH2] != NULL) {
        problem(c, true, r->set_by[POSTIE_F_OAUTH2], "ignored: \"auth\" is not \"oauth2\"", NULL);
    }
    if (!ep->verify) {
        problem(c, true, "verify",
                "certificate verification is off: anyone on the path can "
                "read the password and the mail",
                NULL);
    }
}

/* The fields a "jndi" reference supplies: the transport. */
static const postie_field_t transport_fields[] = {
    POSTIE_F_PROTOCOL, POSTIE_F_HOST,          POSTIE_F_PORT, POSTIE_F_TLS,
    POSTIE_F_CA_FILE,  POSTIE_F_VERIFY,        POSTIE_F_AUTH, POSTIE_F_USERNAME,
    POSTIE_F_PASSWORD, POSTIE_F_OAUTH2,        POSTIE_F_EHLO, POSTIE_F_CONNECT_TIMEOUT,
    POSTIE_F_TIMEOUT,  POSTIE_F_WRITE_TIMEOUT,
};

/* Is f part of the login an entry with its own "auth": "oauth2" keeps? */
static bool own_login_field(postie_field_t f)
{
    return f == POSTIE_F_AUTH || f == POSTIE_F_USERNAME || f == POSTIE_F_PASSWORD ||
           f == POSTIE_F_OAUTH2;
}

/* Copy the transport of a referenced session into r (its own auth,
 * username, password and oauth2 object stay when it chose OAuth 2.0
 * itself; without an oauth2 object of its own it takes the referenced
 * one's). */
static void take_transport(raw_t *r, const raw_t *base, size_t base_index)
{
    postie_endpoint_t own = r->ep;
    bool own_oauth = own.auth == POSTIE_AUTH_OAUTH2 && r->set_by[POSTIE_F_AUTH] != NULL;
    bool own_object = own_oauth && r->set_by[POSTIE_F_OAUTH2] != NULL;
    r->ep = base->ep;
    r->plaintext_ok = base->plaintext_ok;
    for (size_t i = 0; i < sizeof(transport_fields) / sizeof(transport_fields[0]); i++) {
        postie_field_t f = transport_fields[i];
        if (own_oauth && own_login_field(f) && (f != POSTIE_F_OAUTH2 || own_object)) {
            continue;
        }
        r->origin[f] = base->origin[f];
        r->set_by[f] = base->set_by[f];
        if (r->origin[f].via == 0 && base->set_by[f] != NULL) {
            r->origin[f].via = (uint8_t)(base_index + 1);
        }
    }
    if (own_oauth) {
        r->ep.auth = own.auth;
        memcpy(r->ep.username, own.username, sizeof(own.username));
        r->ep.password = own.password;
        if (own_object) {
            r->ep.oauth2 = own.oauth2;
        }
    }
}

/* ---- the load ------------------------------------------------------------------------ */

static bool depth_ok(const char *json, size_t len, size_t *where)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char ch = json[i];
        if (in_string) {
            if (ch == '\\') {
                i++;
            } else if (ch == '"') {
                in_string = false;
            }
            continue;
        }
        if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > POSTIE_REGISTRY_DEPTH_MAX) {
                *where = i;
                return false;
            }
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return true;
}

/* ---- NUL characters and duplicate keys -------------------------------------------------- */

/* Extend a problem path by one object key: "product" at the top,
 * sessions["mail/A"] for an entry, sessions["mail/A"].password.env below. */
static void path_key(postie_text_t *path, int level, const char *key, size_t n)
{
    size_t shown = 0;
    while (shown < n && key[shown] != '\0') {
        shown++; /* a raw NUL in a key of the raw text ends what a path shows of it */
    }
    postie_text_put_cut(path, level == 1 ? "" : level == 2 ? "[\"" : ".");
    postie_text_put_cut_n(path, key, shown);
    if (level == 2) {
        postie_text_put_cut(path, "\"]");
    }
}

static void path_index(postie_text_t *path, size_t index)
{
    char digits[POSTIE_TEXT_U64_DIGITS];
    postie_text_put_cut(path, "[");
    postie_text_put_cut_n(path, digits, postie_text_format_u64(index, digits));
    postie_text_put_cut(path, "]");
}

/* A walk over the raw text (which cJSON has accepted) to find strings that
 * hold a NUL: cJSON decodes "\u0000" into the string, so the C string would
 * end there and, say, a password would be cut short without a word. */
typedef struct {
    ctx_t *c;
    const char *json;
    size_t len;
    size_t i;
    postie_text_t path; /* over path_buf */
    char path_buf[POSTIE_REGISTRY_NAME_MAX * 2];
} nul_scan_t;

static void scan_ws(nul_scan_t *t)
{
    while (t->i < t->len && (unsigned char)t->json[t->i] <= 32u) {
        t->i++; /* what cJSON skips as white space */
    }
}

/* The string whose opening quote is at t->i; moves past it. Its raw text
 * is json[*start..*end). Returns the offset of the first NUL in it ("\u0000"
 * or a raw octet), or len when there is none. */
static size_t scan_string(nul_scan_t *t, size_t *start, size_t *end)
{
    size_t nul = t->len;
    *start = ++t->i;
    while (t->i < t->len && t->json[t->i] != '"') {
        if (t->json[t->i] == '\\') {
            if (nul == t->len && t->len - t->i > 5 && memcmp(t->json + t->i + 1, "u0000", 5) == 0) {
                nul = t->i;
            }
            t->i += 2;
        } else {
            if (nul == t->len && t->json[t->i] == '\0') {
                nul = t->i;
            }
            t->i++;
        }
    }
    *end = t->i < t->len ? t->i : t->len;
    t->i++;
    return nul;
}

static void report_nul(nul_scan_t *t, size_t at)
{
    char detail[64];
    postie_text_t d;
    postie_text_init_str(&d, detail, sizeof(detail));
    put_position(&d, t->json, t->len, at);
    postie_text_put_cut(&d, ")");
    problem(t->c, false, t->path.len > 0 ? t->path_buf : "(top)",
            "holds a NUL character (\\u0000), which would cut the text short (", detail);
}

static void scan_value(nul_scan_t *t, int level)
{
    size_t start;
    size_t end;
    size_t nul;
    size_t mark = t->path.len;
    size_t index = 0;
    char open;

    scan_ws(t);
    if (t->i >= t->len || level > POSTIE_REGISTRY_DEPTH_MAX + 1) {
        return;
    }
    open = t->json[t->i];
    if (open == '"') {
        nul = scan_string(t, &start, &end);
        if (nul != t->len) {
            report_nul(t, nul);
        }
        return;
    }
    if (open != '{' && open != '[') {
        while (t->i < t->len && (unsigned char)t->json[t->i] > 32u && t->json[t->i] != ',' &&
               t->json[t->i] != '}' && t->json[t->i] != ']') {
            t->i++; /* a number, true, false or null */
        }
        return;
    }
    t->i++;
    for (;;) {
        scan_ws(t);
        if (t->i >= t->len || t->json[t->i] == '}' || t->json[t->i] == ']') {
            t->i++;
            return;
        }
        if (open == '{') {
            if (t->json[t->i] != '"') {
                return;
            }
            nul = scan_string(t, &start, &end);
            path_key(&t->path, level, t->json + start, end - start);
            if (nul != t->len) {
                report_nul(t, nul);
            }
            scan_ws(t);
            if (t->i >= t->len || t->json[t->i] != ':') {
                return;
            }
            t->i++;
        } else {
            path_index(&t->path, index++);
        }
        scan_value(t, level + 1);
        postie_text_rewind(&t->path, mark);
        scan_ws(t);
        if (t->i < t->len && t->json[t->i] == ',') {
            t->i++;
        }
    }
}

/* cJSON keeps every member of an object, a key given twice included; the
 * registry takes each key once, at every level. */
static void check_duplicates(ctx_t *c, const cJSON *node, postie_text_t *path, int level)
{
    size_t index = 0;
    if (level > POSTIE_REGISTRY_DEPTH_MAX + 1) {
        return;
    }
    for (const cJSON *item = node->child; item != NULL; item = item->next, index++) {
        size_t mark = path->len;
        if (cJSON_IsObject(node)) {
            path_key(path, level, item->string, strlen(item->string));
            for (const cJSON *prev = node->child; prev != item; prev = prev->next) {
                if (strcmp(prev->string, item->string) == 0) {
                    problem(c, false, path->buf, "duplicate key: give each key once", NULL);
                    break;
                }
            }
        } else {
            path_index(path, index);
        }
        if (cJSON_IsObject(item) || cJSON_IsArray(item)) {
            check_duplicates(c, item, path, level + 1);
        }
        postie_text_rewind(path, mark);
    }
}

/* Working storage for one load; lives in the caller's arena so nothing of
 * this size sits on the stack of a small task. */
typedef struct {
    raw_t raw[POSTIE_REGISTRY_SESSIONS_MAX];
    size_t nraw;
    raw_t accounts[POSTIE_REGISTRY_ACCOUNTS_MAX];
    size_t naccounts;
    uint8_t state[POSTIE_REGISTRY_SESSIONS_MAX]; /* reference resolution: 0 new, 1 busy, 2 done */
} work_t;

static void resolve_refs(ctx_t *c, work_t *wk, size_t i, int hops)
{
    raw_t *r = &wk->raw[i];
    size_t j;
    if (wk->state[i] == 2 || r->jndi[0] == '\0') {
        wk->state[i] = 2;
        return;
    }
    c->kind = "sessions";
    c->entry = r->written;
    if (wk->state[i] == 1 || hops > POSTIE_REGISTRY_SESSIONS_MAX) {
        problem(c, false, "jndi", "references form a cycle through ", r->jndi);
        r->broken_ref = true;
        wk->state[i] = 2;
        return;
    }
    for (j = 0; j < wk->nraw; j++) {
        if (strcmp(wk->raw[j].name, r->jndi) == 0) {
            break;
        }
    }
    if (j == wk->nraw) {
        problem(c, false, "jndi", "names no session in this registry: ", r->jndi);
        r->broken_ref = true;
        wk->state[i] = 2;
        return;
    }
    wk->state[i] = 1;
    resolve_refs(c, wk, j, hops + 1);
    c->kind = "sessions";
    c->entry = r->written;
    if (wk->state[i] == 2 || wk->raw[j].broken_ref) {
        r->broken_ref = true; /* a cycle or dangling reference further down */
        wk->state[i] = 2;
        return;
    }
    take_transport(r, &wk->raw[j], j);
    wk->state[i] = 2;
}

static void read_section(ctx_t *c, work_t *wk, const cJSON *section, bool session)
{
    const cJSON *item;
    c->kind = NULL;
    if (!cJSON_IsObject(section)) {
        problem(c, false, session ? "sessions" : "accounts", "must be an object of entries", NULL);
        return;
    }
    cJSON_ArrayForEach(item, section)
    {
        raw_t *r;
        size_t *count = session ? &wk->nraw : &wk->naccounts;
        size_t max = session ? POSTIE_REGISTRY_SESSIONS_MAX : POSTIE_REGISTRY_ACCOUNTS_MAX;
        c->kind = session ? "sessions" : "accounts";
        c->entry = item->string;
        if (*count >= max) {
            problem(c, false, NULL,
                    session ? "too many sessions (POSTIE_REGISTRY_SESSIONS_MAX)"
                            : "too many accounts (POSTIE_REGISTRY_ACCOUNTS_MAX)",
                    NULL);
            return;
        }
        r = session ? &wk->raw[*count] : &wk->accounts[*count];
        memset(r, 0, sizeof(*r));
        (void)postie_text_copy(r->written, sizeof(r->written), item->string);
        if (!postie_utf8_valid((const uint8_t *)item->string, strlen(item->string), NULL) ||
            !postie_registry_normalise(item->string, r->name, sizeof(r->name))) {
            problem(c, false, NULL, "is not a usable name (empty, too long or with spaces)", NULL);
            continue;
        }
        for (size_t k = 0; k < *count; k++) {
            const raw_t *other = session ? &wk->raw[k] : &wk->accounts[k];
            /* the very same key twice is reported as a duplicate key */
            if (strcmp(other->name, r->name) == 0 && strcmp(other->written, r->written) != 0) {
                problem(c, false, NULL, "is the same name as ", other->written);
            }
        }
        if (!cJSON_IsObject(item)) {
            problem(c, false, NULL, "must be an object", NULL);
            continue;
        }
        read_entry(c, r, item, session);
        resolve_javamail_tls(c, r, session);
        if (session && r->jndi[0] != '\0') {
            for (size_t k = 0; k < sizeof(transport_fields) / sizeof(transport_fields[0]); k++) {
                postie_field_t f = transport_fields[k];
                const char *by = r->set_by[f];
                bool own_login = r->ep.auth == POSTIE_AUTH_OAUTH2 && r->set_by[POSTIE_F_AUTH] &&
                                 own_login_field(f);
                if (by != NULL && !own_login && f != POSTIE_F_AUTH) { /* AUTH: checked below */
                    problem(c, false, by, "cannot be set here: the transport comes from jndi ",
                            r->jndi);
                }
            }
            if (r->plaintext_set != NULL) {
                problem(c, false, r->plaintext_set,
                        "cannot be set here: the transport comes from jndi ", r->jndi);
            }
            if (r->set_by[POSTIE_F_AUTH] != NULL && r->ep.auth != POSTIE_AUTH_OAUTH2) {
                problem(c, false, r->set_by[POSTIE_F_AUTH],
                        "only oauth2 may override the referenced entry's authentication", NULL);
            }
        }
        (*count)++;
    }
}

static void publish_session(ctx_t *c, postie_session_t *s, raw_t *r)
{
    size_t bad = 0;
    const char *why = "";
    c->kind = "sessions";
    c->entry = r->written;
    if (!r->broken_ref) {
        check_endpoint(c, r);
    }
    if (r->from[0] == '\0') {
        problem(c, false, "from", "is required (a plain address, e.g. alerts@example.com)", NULL);
    } else if (strstr(r->from, "${") != NULL) {
        problem(c, false, r->set_by[POSTIE_F_FROM],
                "must be a plain address; templates belong in from_name", NULL);
    } else if (!address_ok(r->from)) {
        problem(c, false, r->set_by[POSTIE_F_FROM],
                "is not one mailbox (local-part@domain, e.g. alerts@example.com)", NULL);
    }
    if (r->envelope_from[0] != '\0' && !address_ok(r->envelope_from)) {
        problem(c, false, r->set_by[POSTIE_F_ENVELOPE_FROM],
                "is not one mailbox (local-part@domain, e.g. bounces@example.com)", NULL);
    }
    if (r->from_name[0] == '\0') {
        postie_text_t t;
        postie_text_init_str(&t, r->from_name, sizeof(r->from_name));
        postie_text_put_cut(&t, "${fullname} (");
        postie_text_put_cut(&t, c->reg->product);
        postie_text_put_cut(&t, ")");
    } else if (postie_template_check(r->from_name, &bad, &why) != POSTIE_OK) {
        char detail[128];
        postie_text_t t;
        postie_text_init_str(&t, detail, sizeof(detail));
        postie_text_put_cut(&t, " at octet ");
        postie_text_put_u64(&t, bad);
        postie_text_put_cut(&t, ": ");
        postie_text_put_cut(&t, why);
        problem(c, false, r->set_by[POSTIE_F_FROM_NAME], "is not a valid template", detail);
    }
    memset(s, 0, sizeof(*s));
    (void)postie_text_copy(s->name, sizeof(s->name), r->name);
    (void)postie_text_copy(s->description, sizeof(s->description), r->description);
    (void)postie_text_copy(s->jndi, sizeof(s->jndi), r->jndi);
    s->ep = r->ep;
    (void)postie_text_copy(s->from, sizeof(s->from), r->from);
    (void)postie_text_copy(s->envelope_from, sizeof(s->envelope_from), r->envelope_from);
    (void)postie_text_copy(s->from_name, sizeof(s->from_name), r->from_name);
    (void)postie_text_copy(s->subject_prefix, sizeof(s->subject_prefix), r->subject_prefix);
    memcpy(s->origin, r->origin, sizeof(s->origin));
}

static void publish_account(ctx_t *c, postie_account_t *a, raw_t *r)
{
    bool pop3;
    c->kind = "accounts";
    c->entry = r->written;
    if (!r->has_protocol) {
        problem(c, false, "protocol", "is required: pop3, pop3s, imap or imaps", NULL);
    }
    if (r->ep.auth == POSTIE_AUTH_NONE && r->set_by[POSTIE_F_AUTH] == NULL) {
        r->ep.auth = POSTIE_AUTH_BASIC; /* mailboxes always need a login */
    }
    check_endpoint(c, r);
    pop3 = r->ep.protocol == POSTIE_PROTO_POP3 || r->ep.protocol == POSTIE_PROTO_POP3S;
    if (r->has_protocol && !pop3 && r->set_by[POSTIE_F_APOP] != NULL && r->apop) {
        problem(c, false, r->set_by[POSTIE_F_APOP], "applies to pop3 and pop3s only", NULL);
    }
    if (r->has_protocol && pop3 && r->set_by[POSTIE_F_FOLDER] != NULL &&
        strcmp(r->folder, "INBOX") != 0) {
        problem(c, false, r->set_by[POSTIE_F_FOLDER],
                "applies to imap and imaps only (POP3 has one mailbox)", NULL);
    }
    memset(a, 0, sizeof(*a));
    (void)postie_text_copy(a->name, sizeof(a->name), r->name);
    (void)postie_text_copy(a->description, sizeof(a->description), r->description);
    a->ep = r->ep;
    a->poll_interval_s = r->poll_interval_s != 0 ? r->poll_interval_s : 1800u;
    a->enabled = r->enabled;
    a->apop = r->apop;
    a->delete_after_archive = r->delete_after_archive;
    (void)postie_text_copy(a->folder, sizeof(a->folder), r->folder[0] ? r->folder : "INBOX");
    (void)postie_text_copy(a->maildir, sizeof(a->maildir), r->maildir);
    if (r->state_file[0] != '\0') {
        (void)postie_text_copy(a->state_file, sizeof(a->state_file), r->state_file);
    } else if (r->maildir[0] != '\0') {
        /* MAILDIR/.postie-fetch-state: fits, a->state_file has room for it */
        postie_text_t t;
        size_t n = strlen(r->maildir);
        postie_text_init_str(&t, a->state_file, sizeof(a->state_file));
        postie_text_put_cut(&t, r->maildir);
        if (n > 0 && r->maildir[n - 1] != '/') {
            postie_text_put_cut(&t, "/");
        }
        postie_text_put_cut(&t, POSTIE_ACCOUNT_STATE_FILE_DEFAULT);
    }
    memcpy(a->origin, r->origin, sizeof(a->origin));
}

postie_status_t postie_registry_load(postie_registry_t *reg, const char *json, size_t len,
                                     uint8_t *arena_mem, size_t arena_size,
                                     const postie_registry_source_t *src)
{
    ctx_t c = {reg, src, NULL, NULL};
    cJSON_Hooks hooks = {arena_alloc, arena_free};
    const char *end = NULL;
    cJSON *root;
    work_t *wk;
    size_t where = 0;
    char pos[48];
    postie_text_t t;

    memset(reg, 0, sizeof(*reg));
    (void)postie_text_copy(reg->product, sizeof(reg->product), "Postie");
    if (len > POSTIE_REGISTRY_FILE_MAX) {
        problem(&c, false, "(file)", "larger than POSTIE_REGISTRY_FILE_MAX octets", NULL);
        return POSTIE_E_REGISTRY_TOO_LARGE;
    }
    if (!depth_ok(json, len, &where)) {
        postie_text_init_str(&t, pos, sizeof(pos));
        put_position(&t, json, len, where);
        problem(&c, false, pos, "nested deeper than POSTIE_REGISTRY_DEPTH_MAX", NULL);
        return POSTIE_E_REGISTRY_TOO_LARGE;
    }
    /* our working storage first, then cJSON's nodes, all in the arena */
    {
        /* the working storage holds pointers: align the start */
        size_t skip = (size_t)(-(uintptr_t)arena_mem & 15u);
        arena.base = arena_mem + (skip < arena_size ? skip : arena_size);
        arena.size = skip < arena_size ? arena_size - skip : 0;
    }
    arena.used = 0;
    arena.exhausted = false;
    wk = arena_alloc(sizeof(*wk));
    if (wk == NULL) {
        problem(&c, false, "(arena)",
                "the parse arena is smaller than the loader's working "
                "storage; use POSTIE_REGISTRY_ARENA_SIZE",
                NULL);
        return POSTIE_E_REGISTRY_TOO_LARGE;
    }
    memset(wk, 0, sizeof(*wk));
    cJSON_InitHooks(&hooks);
    root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (root != NULL) {
        /* nothing but white space may follow the value */
        size_t at = (size_t)(end - json);
        while (at < len &&
               (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r')) {
            at++;
        }
        if (at < len) {
            cJSON_Delete(root);
            root = NULL;
            end = json + at;
        }
    }
    if (root == NULL) {
        cJSON_InitHooks(NULL);
        memset(arena.base, 0, arena.used); /* inline secrets may have passed through */
        arena.base = NULL;
        if (arena.exhausted) {
            problem(&c, false, "(arena)",
                    "the registry needs a larger parse arena than given (see "
                    "POSTIE_REGISTRY_ARENA_SIZE)",
                    NULL);
            return POSTIE_E_REGISTRY_TOO_LARGE;
        }
        postie_text_init_str(&t, pos, sizeof(pos));
        put_position(&t, json, len, end != NULL ? (size_t)(end - json) : 0);
        problem(&c, false, pos, "JSON syntax error", NULL);
        return POSTIE_E_REGISTRY_INVALID;
    }
    {
        nul_scan_t scan;
        char path_buf[POSTIE_REGISTRY_NAME_MAX * 2];
        postie_text_t path;
        memset(&scan, 0, sizeof(scan));
        postie_text_init_str(&scan.path, scan.path_buf, sizeof(scan.path_buf));
        postie_text_init_str(&path, path_buf, sizeof(path_buf));
        scan.c = &c;
        scan.json = json;
        scan.len = len;
        if (len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0) {
            scan.i = 3; /* cJSON skips a UTF-8 byte order mark */
        }
        scan_value(&scan, 1);
        check_duplicates(&c, root, &path, 1);
    }
    if (!cJSON_IsObject(root)) {
        problem(&c, false, "(top)", "must be a JSON object with \"sessions\"", NULL);
    } else {
        const cJSON *item;
        cJSON_ArrayForEach(item, root)
        {
            const char *key = item->string;
            if (strcmp(key, "product") == 0) {
                if (read_text(&c, "product", item, reg->product, sizeof(reg->product)) &&
                    strstr(reg->product, "${") != NULL) {
                    problem(&c, false, "product",
                            "must be plain text (it goes into the default from_name template)",
                            NULL);
                }
            } else if (strcmp(key, "sessions") == 0) {
                read_section(&c, wk, item, true);
            } else if (strcmp(key, "accounts") == 0) {
                read_section(&c, wk, item, false);
            } else if (key[0] != '_' && strcmp(key, "comment") != 0) {
                c.kind = NULL;
                problem(&c, false, key, "unknown key (expected product, sessions, accounts)", NULL);
            }
        }
    }
    for (size_t i = 0; i < wk->nraw; i++) {
        resolve_refs(&c, wk, i, 0);
    }
    for (size_t i = 0; i < wk->nraw; i++) {
        publish_session(&c, &reg->sessions[i], &wk->raw[i]);
    }
    reg->session_count = wk->nraw;
    for (size_t i = 0; i < wk->naccounts; i++) {
        publish_account(&c, &reg->accounts[i], &wk->accounts[i]);
    }
    reg->account_count = wk->naccounts;
    cJSON_Delete(root);
    cJSON_InitHooks(NULL);
    memset(arena.base, 0, arena.used); /* inline secrets passed through here */
    arena.base = NULL;

    if (reg->error_count > 0) {
        /* fail closed: keep the problem list, drop everything else */
        memset(reg->sessions, 0, sizeof(reg->sessions));
        memset(reg->accounts, 0, sizeof(reg->accounts));
        reg->session_count = reg->account_count = 0;
        return POSTIE_E_REGISTRY_INVALID;
    }
    reg->loaded = true;
    return POSTIE_OK;
}
