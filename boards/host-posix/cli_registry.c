/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry file, loaded once (see cli_registry.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "postie/posix/host.h"
#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_registry.h"

static const char *registry_path; /* --registry FILE */
static postie_registry_t registry;
static const char *registry_used; /* the file read */
static bool loaded;
static int failure_exit = EXIT_USAGE; /* cli_registry_set_exit */

void cli_registry_set_path(const char *path)
{
    registry_path = path;
}

const char *cli_registry_path(void)
{
    return registry_path;
}

void cli_registry_set_exit(int code)
{
    failure_exit = code;
}

const postie_registry_t *cli_registry_load(const char **used)
{
    static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE];
    postie_status_t st;

    if (loaded) {
        if (used != NULL) {
            *used = registry_used;
        }
        return &registry;
    }
    st = postie_registry_load_file(&registry, registry_path, arena, sizeof(arena), &registry_used);
    if (st == POSTIE_E_FILE) {
        int err = errno;
        struct stat sb;
        const char *type =
            stat(registry_used, &sb) == 0 ? postie_file_type_problem(sb.st_mode) : NULL;
        fprintf(stderr, "postie: cannot read the registry %s: %s\n", registry_used,
                type != NULL ? type : strerror(err));
        exit(failure_exit);
    }
    for (size_t i = 0; i < registry.problem_count; i++) {
        const postie_registry_problem_t *p = &registry.problems[i];
        fprintf(stderr, "%s: %s: %s: %s\n", registry_used, p->warning ? "warning" : "error",
                p->path, p->message);
    }
    if (registry.problems_dropped > 0) {
        fprintf(stderr, "%s: %zu more problems not shown\n", registry_used,
                registry.problems_dropped);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: the registry %s was not loaded (%s)\n", registry_used,
                postie_status_str(st));
        exit(failure_exit);
    }
    loaded = true;
    if (used != NULL) {
        *used = registry_used;
    }
    return &registry;
}

const postie_registry_t *cli_registry(void)
{
    return cli_registry_load(NULL);
}

const postie_session_t *cli_find_session(const char *name)
{
    const char *used = NULL;
    const postie_session_t *s = postie_registry_session(cli_registry_load(&used), name);
    if (s == NULL) {
        fprintf(stderr, "postie: no session %s in %s\n", name, used);
        exit(failure_exit);
    }
    return s;
}

const postie_account_t *cli_find_account(const char *name)
{
    const char *used = NULL;
    const postie_account_t *a = postie_registry_account(cli_registry_load(&used), name);
    if (a == NULL) {
        fprintf(stderr, "postie: no account %s in %s\n", name, used);
        exit(EXIT_USAGE);
    }
    return a;
}

void cli_print_secret(const postie_secret_t *s)
{
    switch (s->kind) {
    case POSTIE_SECRET_INLINE:
        printf("******** (inline in the registry)");
        break;
    case POSTIE_SECRET_ENV:
        printf("******** (environment variable %s, %s)", s->value,
               getenv(s->value) == NULL      ? "NOT SET"
               : getenv(s->value)[0] == '\0' ? "EMPTY"
                                             : "set");
        break;
    case POSTIE_SECRET_FILE: {
        char scratch[POSTIE_AUTH_FIELD_MAX + 1];
        const char *why = NULL;
        (void)postie_secret_read(s, scratch, sizeof(scratch), &why);
        memset(scratch, 0, sizeof(scratch));
        printf("******** (file %s, ", s->value);
        if (why != NULL) {
            printf("NOT USABLE: %s)", why);
        } else {
            printf("readable%s)",
                   postie_secret_exposed(s) ? ", BUT GROUP OR OTHERS CAN READ IT" : "");
        }
    } break;
    default:
        printf("(none)");
    }
}
