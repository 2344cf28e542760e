/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/status.h"

#include <string.h>

static const char *const status_names[] = {
#define POSTIE_STATUS_NAME(name, transient, message) #name,
    POSTIE_STATUS_LIST(POSTIE_STATUS_NAME)
#undef POSTIE_STATUS_NAME
};

#if POSTIE_STATUS_TEXTS
static const char *const status_messages[] = {
#define POSTIE_STATUS_MESSAGE(name, transient, message) message,
    POSTIE_STATUS_LIST(POSTIE_STATUS_MESSAGE)
#undef POSTIE_STATUS_MESSAGE
};
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
    return status_names[status];
}

const char *postie_status_str(postie_status_t status)
{
#if POSTIE_STATUS_TEXTS
    if ((unsigned)status >= (unsigned)POSTIE_STATUS_COUNT) {
        return "unknown status";
    }
    return status_messages[status];
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
