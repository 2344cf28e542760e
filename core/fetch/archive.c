/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The callback sink for firmware. See postie/fetch/archive.h.
 */
#include "postie/fetch/archive.h"

#include <string.h>

static postie_status_t cb_begin(void *ctx, const char *key, uint64_t size)
{
    postie_archive_cb_t *cs = ctx;
    if (cs->open) {
        return POSTIE_E_BAD_STATE; /* the run aborts or commits first */
    }
    cs->octets = 0;
    cs->failed = false;
    if (!cs->cb->open(cs->ctx, key, size)) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    cs->open = true;
    return POSTIE_OK;
}

static postie_status_t cb_write(void *ctx, const uint8_t *data, size_t len)
{
    postie_archive_cb_t *cs = ctx;
    if (!cs->open || cs->failed) {
        return POSTIE_E_BAD_STATE;
    }
    if (len == 0) {
        return POSTIE_OK;
    }
    if (cs->size_max != 0 && (uint64_t)len > cs->size_max - cs->octets) {
        cs->failed = true;
        return POSTIE_E_MESSAGE_TOO_LARGE;
    }
    if (!cs->cb->append(cs->ctx, data, len)) {
        cs->failed = true;
        return POSTIE_E_ARCHIVE_FAILED;
    }
    cs->octets += len;
    return POSTIE_OK;
}

static postie_status_t cb_commit(void *ctx)
{
    postie_archive_cb_t *cs = ctx;
    if (!cs->open || cs->failed) {
        return POSTIE_E_BAD_STATE;
    }
    if (!cs->cb->persist(cs->ctx)) {
        cs->failed = true;
        return POSTIE_E_ARCHIVE_FAILED;
    }
    cs->open = false;
    return POSTIE_OK;
}

static void cb_abort(void *ctx)
{
    postie_archive_cb_t *cs = ctx;
    if (cs->open) {
        cs->cb->discard(cs->ctx);
    }
    cs->open = false;
    cs->failed = false;
}

static postie_status_t cb_contains(void *ctx, const char *key, bool *found)
{
    postie_archive_cb_t *cs = ctx;
    *found = false;
    if (cs->open) {
        return POSTIE_E_BAD_STATE;
    }
    return cs->cb->exists(cs->ctx, key, found) ? POSTIE_OK : POSTIE_E_ARCHIVE_FAILED;
}

static const postie_archive_ops_t cb_ops = {
    cb_begin, cb_write, cb_commit, cb_abort, cb_contains, NULL,
};
static const postie_archive_ops_t cb_ops_no_contains = {
    cb_begin, cb_write, cb_commit, cb_abort, NULL, NULL,
};

void postie_archive_cb_init(postie_archive_cb_t *cs, const postie_archive_callbacks_t *cb,
                            void *ctx, uint64_t size_max, postie_archive_t *out)
{
    memset(cs, 0, sizeof(*cs));
    cs->cb = cb;
    cs->ctx = ctx;
    cs->size_max = size_max;
    out->ops = cb->exists != NULL ? &cb_ops : &cb_ops_no_contains;
    out->ctx = cs;
}
