/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry loader: a JSON text (parsed with cJSON) into the session
 * model of postie/session/registry.h. The only part of the registry that
 * needs cJSON; on CMake hosts it is the library postie_registry, on a
 * board registry_json.c compiled with cJSON (see boards/cortex-m4/build.sh).
 *
 * Loading: postie_registry_load() parses a buffer into caller-owned
 * storage. cJSON allocates only from the caller's arena (through its hooks,
 * only while loading; the system allocator is never called). Nesting depth
 * and size are checked by Postie before cJSON sees the text. Every problem
 * is reported (up to POSTIE_REGISTRY_PROBLEMS_MAX), each naming its JSON
 * path; syntax errors give line and column. A registry with any error is
 * not loaded at all (fails closed).
 *
 * Thread model: loading sets cJSON's process-wide hooks and the loader's
 * arena cursor, so loads must not run in parallel (one loader at a time,
 * and no other cJSON use meanwhile); lookups need no lock.
 *
 * RAM: the parse arena (POSTIE_REGISTRY_ARENA_SIZE recommended; aligned for
 * pointers is best, the loader aligns the start itself) is needed only
 * during a load: 36 864 octets of working storage plus about 3 per octet of
 * JSON. It is wiped before the load returns (inline secrets pass through
 * it), and can be reused afterwards.
 */
#ifndef POSTIE_REGISTRY_JSON_H
#define POSTIE_REGISTRY_JSON_H

/* NULL: pointer arguments are required unless their description says "may
 * be NULL" or gives NULL a meaning (the convention in postie/common/status.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"
#include "postie/session/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the registry file was stored, for warnings the text cannot show. */
typedef struct {
    bool readable_by_others; /* group or other may read it: inline secrets get a warning */
} postie_registry_source_t;

/* Parse json[0..len) into reg, using arena[0..arena_size) for cJSON. src
 * may be NULL (nothing known about where the text came from: no warning
 * about who may read it); reg, json and arena are required.
 * POSTIE_OK: reg holds the sessions (warnings may be listed).
 * POSTIE_E_REGISTRY_INVALID: reg->problems says why; nothing is loaded.
 * POSTIE_E_REGISTRY_TOO_LARGE: the text or the parse passed a limit. */
#define postie_registry_load POSTIE_CONFIGURED(postie_registry_load)
postie_status_t postie_registry_load(postie_registry_t *reg, const char *json, size_t len,
                                     uint8_t *arena, size_t arena_size,
                                     const postie_registry_source_t *src);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_REGISTRY_JSON_H */
