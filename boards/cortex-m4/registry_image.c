/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A link check, not firmware: the smallest image that loads a registry held
 * in flash and looks up a named session, linked as firmware links (newlib,
 * --gc-sections). boards/cortex-m4/build.sh checks that no allocator symbol
 * made it into this image: cJSON runs on the registry's arena and parses
 * numbers with postie_cjson_strtod (see postie/cjson/cjson_static.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "postie/session/registry_json.h"

extern const char registry_json[];      /* registry_flash.c, made by build.sh */
extern const size_t registry_json_size; /* from config/registry.example.json */

static postie_registry_t registry;
static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE] __attribute__((aligned(16)));

const postie_session_t *volatile found;
volatile postie_status_t load_status;

void registry_image_entry(void);

void registry_image_entry(void)
{
    load_status = postie_registry_load(&registry, registry_json, registry_json_size, arena,
                                       sizeof(arena), NULL);
    found = postie_registry_session(&registry, "java:comp/env/mail/Notify");
    for (;;) {
    }
}
