/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the registry loader (core/session/registry_json.c, on cJSON).
 *
 * The input is the registry text. When its last octet is 0xE0 or above
 * (never the end of a sensible JSON file), that octet is not part of the
 * text: it picks a smaller parse arena, 40000 + (octet & 0x1f) x 800
 * octets (40000..64800), so both "smaller than the working storage" and
 * running out in the middle of cJSON's parse are exercised. Otherwise the
 * arena is POSTIE_REGISTRY_ARENA_SIZE. Checked:
 *   no crash, no sanitizer report;
 *   the status is POSTIE_OK, POSTIE_E_REGISTRY_INVALID or
 *     POSTIE_E_REGISTRY_TOO_LARGE;
 *   every kept problem has a NUL-terminated path and message without
 *     control octets, and at most POSTIE_REGISTRY_PROBLEMS_MAX are kept;
 *   on POSTIE_OK: loaded, no error counted, every session has a host, a
 *     From address that is one mailbox (so is envelope_from when set), an
 *     EHLO name that passes postie_address_check_hostname when set, a user
 *     name and an inline password of at most POSTIE_AUTH_FIELD_MAX
 *     octets, and a port, every account a host and a port,
 *     smtps exactly when TLS is implicit, and each entry is found again
 *     (the same entry) by its name, also with "java:comp/env/" and
 *     "java:/comp/env/" in front;
 *   on an error: nothing loaded (no sessions, no accounts, lookups fail),
 *     at least one problem kept and one error counted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/session/registry_json.h"
#include "postie/smtp/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

#define SMALL_ARENA_BASE 40000u
#define SMALL_ARENA_STEP 800u

/* The arena must be aligned for the loader's working storage. */
static union {
    uint8_t bytes[POSTIE_REGISTRY_ARENA_SIZE];
    long double ld;
    void *p;
    uint64_t u;
} arena;

static postie_registry_t reg;

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void check_printable(const char *s, size_t cap)
{
    CHECK(terminated(s, cap));
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        CHECK(c >= 0x20 && c != 0x7f);
    }
}

static void check_found(const char *name, bool session, const void *want)
{
    static const char *const prefixes[] = {"", "java:comp/env/", "java:/comp/env/"};
    char spelled[POSTIE_REGISTRY_NAME_MAX + 16];
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        size_t nl = strlen(name);
        const void *got;
        CHECK(pl + nl < sizeof(spelled));
        memcpy(spelled, prefixes[i], pl);
        memcpy(spelled + pl, name, nl + 1);
        got = session ? (const void *)postie_registry_session(&reg, spelled)
                      : (const void *)postie_registry_account(&reg, spelled);
        CHECK(got == want);
    }
}

static void check_endpoint(const postie_endpoint_t *ep)
{
    CHECK(terminated(ep->host, sizeof(ep->host)));
    CHECK(ep->host[0] != '\0');
    CHECK(ep->port != 0);
    CHECK(terminated(ep->username, sizeof(ep->username)));
    CHECK(terminated(ep->password.value, sizeof(ep->password.value)));
    CHECK(terminated(ep->ca_file, sizeof(ep->ca_file)));
    CHECK(terminated(ep->ehlo, sizeof(ep->ehlo)));
    CHECK(ep->ehlo[0] == '\0' || postie_address_check_hostname(ep->ehlo) == POSTIE_OK);
    CHECK(strlen(ep->username) <= POSTIE_AUTH_FIELD_MAX);
    CHECK(ep->password.kind != POSTIE_SECRET_INLINE ||
          strlen(ep->password.value) <= POSTIE_AUTH_FIELD_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t arena_size = sizeof(arena.bytes);
    postie_status_t st;

    if (size > 0 && data[size - 1] >= 0xe0) {
        arena_size = SMALL_ARENA_BASE + (size_t)(data[size - 1] & 0x1fu) * SMALL_ARENA_STEP;
        size--;
    }
    st = postie_registry_load(&reg, (const char *)data, size, arena.bytes, arena_size, NULL);
    CHECK(st == POSTIE_OK || st == POSTIE_E_REGISTRY_INVALID || st == POSTIE_E_REGISTRY_TOO_LARGE);

    CHECK(reg.problem_count <= POSTIE_REGISTRY_PROBLEMS_MAX);
    for (size_t i = 0; i < reg.problem_count; i++) {
        check_printable(reg.problems[i].path, sizeof(reg.problems[i].path));
        check_printable(reg.problems[i].message, sizeof(reg.problems[i].message));
        CHECK(reg.problems[i].message[0] != '\0');
    }
    CHECK(terminated(reg.product, sizeof(reg.product)));

    if (st != POSTIE_OK) {
        CHECK(!reg.loaded);
        CHECK(reg.session_count == 0);
        CHECK(reg.account_count == 0);
        CHECK(reg.problem_count >= 1);
        CHECK(reg.error_count >= 1);
        CHECK(postie_registry_session(&reg, "mail/Notify") == NULL);
        CHECK(postie_registry_account(&reg, "mail/Archive") == NULL);
        return 0;
    }

    CHECK(reg.loaded);
    CHECK(reg.error_count == 0);
    CHECK(reg.session_count <= POSTIE_REGISTRY_SESSIONS_MAX);
    CHECK(reg.account_count <= POSTIE_REGISTRY_ACCOUNTS_MAX);
    for (size_t i = 0; i < reg.session_count; i++) {
        const postie_session_t *s = &reg.sessions[i];
        CHECK(terminated(s->name, sizeof(s->name)));
        CHECK(s->name[0] != '\0');
        check_endpoint(&s->ep);
        CHECK(terminated(s->from, sizeof(s->from)));
        CHECK(postie_address_check(s->from, false, NULL) == POSTIE_OK);
        CHECK(terminated(s->envelope_from, sizeof(s->envelope_from)));
        CHECK(s->envelope_from[0] == '\0' ||
              postie_address_check(s->envelope_from, false, NULL) == POSTIE_OK);
        CHECK(terminated(s->from_name, sizeof(s->from_name)));
        CHECK(s->from_name[0] != '\0');
        CHECK(terminated(s->subject_prefix, sizeof(s->subject_prefix)));
        CHECK(s->ep.protocol == POSTIE_PROTO_SMTP || s->ep.protocol == POSTIE_PROTO_SMTPS);
        CHECK((s->ep.protocol == POSTIE_PROTO_SMTPS) == (s->ep.tls == POSTIE_TLS_IMPLICIT));
        check_found(s->name, true, s);
    }
    for (size_t i = 0; i < reg.account_count; i++) {
        const postie_account_t *a = &reg.accounts[i];
        CHECK(terminated(a->name, sizeof(a->name)));
        CHECK(a->name[0] != '\0');
        check_endpoint(&a->ep);
        CHECK(a->ep.protocol >= POSTIE_PROTO_POP3 && a->ep.protocol <= POSTIE_PROTO_IMAPS);
        CHECK(a->poll_interval_s != 0);
        CHECK(terminated(a->folder, sizeof(a->folder)));
        CHECK(a->folder[0] != '\0');
        check_found(a->name, false, a);
    }
    return 0;
}
