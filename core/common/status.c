/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/status.h"

#include <string.h>

static const char *const status_names[] = {
#define POSTIE_STATUS_NAME(name, transient, message) #name,
    POSTIE_STATUS_LIST(POSTIE_STATUS_NAME)
#undef POSTIE_STATUS_NAME
};

static const char *const status_messages[] = {
#define POSTIE_STATUS_MESSAGE(name, transient, message) message,
    POSTIE_STATUS_LIST(POSTIE_STATUS_MESSAGE)
#undef POSTIE_STATUS_MESSAGE
};

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
    if ((unsigned)status >= (unsigned)POSTIE_STATUS_COUNT) {
        return "unknown status";
    }
    return status_messages[status];
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

void postie_copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    if (cap == 0) {
        return;
    }
    while (n < len && n + 1 < cap) {
        unsigned char c = (unsigned char)src[n];
        dst[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        n++;
    }
    dst[n] = '\0';
}

size_t postie_format_u64(uint64_t v, char *out)
{
    char rev[POSTIE_U64_DIGITS];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = rev[n - 1 - i];
    }
    return n;
}
