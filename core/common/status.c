/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/status.h"

#include <stddef.h>
#include <string.h>

/* The names and messages are packed: each table is one struct of char
 * arrays, one per status and sized by its text (so nothing pads them), read
 * through a table of 16-bit offsets, instead of an array of pointers to
 * separate strings: 2 octets per status instead of 4 (8 on 64-bit hosts). */
typedef struct {
#define POSTIE_STATUS_NAME_FIELD(name, transient, message) char name[sizeof(#name)];
    POSTIE_STATUS_LIST(POSTIE_STATUS_NAME_FIELD)
#undef POSTIE_STATUS_NAME_FIELD
} status_names_t;

static const status_names_t status_names = {
#define POSTIE_STATUS_NAME(name, transient, message) #name,
    POSTIE_STATUS_LIST(POSTIE_STATUS_NAME)
#undef POSTIE_STATUS_NAME
};

static const uint16_t status_name_at[] = {
#define POSTIE_STATUS_NAME_AT(name, transient, message) (uint16_t) offsetof(status_names_t, name),
    POSTIE_STATUS_LIST(POSTIE_STATUS_NAME_AT)
#undef POSTIE_STATUS_NAME_AT
};
POSTIE_STATIC_ASSERT(sizeof(status_names_t) <= 65535, "status names fit 16-bit offsets");

#if POSTIE_STATUS_TEXTS
typedef struct {
#define POSTIE_STATUS_MESSAGE_FIELD(name, transient, message) char name[sizeof(message)];
    POSTIE_STATUS_LIST(POSTIE_STATUS_MESSAGE_FIELD)
#undef POSTIE_STATUS_MESSAGE_FIELD
} status_messages_t;

static const status_messages_t status_messages = {
#define POSTIE_STATUS_MESSAGE(name, transient, message) message,
    POSTIE_STATUS_LIST(POSTIE_STATUS_MESSAGE)
#undef POSTIE_STATUS_MESSAGE
};

static const uint16_t status_message_at[] = {
#define POSTIE_STATUS_MESSAGE_AT(name, transient, message) \
    (uint16_t) offsetof(status_messages_t, name),
    POSTIE_STATUS_LIST(POSTIE_STATUS_MESSAGE_AT)
#undef POSTIE_STATUS_MESSAGE_AT
};
POSTIE_STATIC_ASSERT(sizeof(status_messages_t) <= 65535, "status messages fit 16-bit offsets");
#endif

static const bool status_transient[] = {
#define POSTIE_STATUS_TRANSIENT(name, transient, message) (transient) != 0,
    POSTIE_STATUS_LIST(POSTIE_STATUS_TRANSIENT)
#undef POSTIE_STATUS_TRANSIENT
};

const char *postie_status_name(postie_status_t status)
{
    if ((unsigned)status >= (unsigned)POSTIE_STATUS_COUNT) {
        return "POSTIE_STATUS_UNKNOWN";
    }
    return (const char *)&status_names + status_name_at[status];
}

const char *postie_status_str(postie_status_t status)
{
#if POSTIE_STATUS_TEXTS
    if ((unsigned)status >= (unsigned)POSTIE_STATUS_COUNT) {
        return "unknown status";
    }
    return (const char *)&status_messages + status_message_at[status];
#else
    return postie_status_name(status); /* names only: see POSTIE_STATUS_TEXTS */
#endif
}

bool postie_status_is_transient(postie_status_t status)
{
    if ((unsigned)status >= (unsigned)POSTIE_STATUS_COUNT) {
        return false;
    }
    return status_transient[status];
}

void postie_error_clear(postie_error_t *err)
{
    memset(err, 0, sizeof(*err));
    err->status = POSTIE_OK;
    err->phase = "";
}
