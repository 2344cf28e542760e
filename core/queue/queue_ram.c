/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The queue's RAM store: entries packed in a caller's byte array. See
 * postie/queue/queue.h. A handle is the table index times two, plus one when it
 * holds the entry's claim.
 */
#include <string.h>

#include "postie/queue/queue.h"

#define F_USED    0x01u /* table slot in use */
#define F_VISIBLE 0x02u /* published */
#define F_CLAIMED 0x04u
#define F_REMOVED 0x08u /* data freed; waiting for its handles to close */

void postie_queue_ram_init(postie_queue_ram_t *r, uint8_t *mem, uint32_t cap)
{
    memset(r, 0, sizeof(*r));
    r->mem = mem;
    r->cap = cap;
}

static postie_queue_ram_entry_t *by_handle(postie_queue_ram_t *r, int32_t h)
{
    uint32_t i;
    if (h < 0) {
        return NULL;
    }
    i = (uint32_t)h / 2u;
    if (i >= POSTIE_QUEUE_RAM_ENTRIES || (r->e[i].flags & F_USED) == 0 ||
        (r->e[i].flags & F_REMOVED) != 0) {
        return NULL;
    }
    return &r->e[i];
}

/* Free an entry's octets by sliding the later entries down. */
static void free_data(postie_queue_ram_t *r, postie_queue_ram_entry_t *x)
{
    uint32_t end = x->offset + x->size;
    memmove(r->mem + x->offset, r->mem + end, r->used - end);
    for (uint32_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        postie_queue_ram_entry_t *y = &r->e[i];
        if ((y->flags & F_USED) != 0 && (y->flags & F_REMOVED) == 0 && y->offset >= end) {
            y->offset -= x->size;
        }
    }
    r->used -= x->size;
    x->size = 0;
    x->flags |= F_REMOVED;
    x->flags &= (uint8_t)~F_VISIBLE;
    if (x->opens == 0) {
        x->flags = 0;
    }
}

static postie_status_t ram_create(void *ctx, postie_queue_id_t id, uint64_t size, int32_t *h)
{
    postie_queue_ram_t *r = ctx;
    if (size > r->cap - r->used) {
        return POSTIE_E_QUEUE_FULL;
    }
    for (uint32_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        if ((r->e[i].flags & F_USED) != 0 && r->e[i].id == id) {
            return POSTIE_E_BUSY; /* same id already here */
        }
    }
    for (uint32_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        postie_queue_ram_entry_t *x = &r->e[i];
        if (x->flags == 0) {
            x->id = id;
            x->offset = r->used;
            x->size = (uint32_t)size;
            x->flags = F_USED | F_CLAIMED;
            x->opens = 1;
            memset(r->mem + x->offset, 0, x->size);
            r->used += x->size;
            *h = (int32_t)(i * 2u + 1u);
            return POSTIE_OK;
        }
    }
    return POSTIE_E_QUEUE_FULL; /* no table slot */
}

static postie_status_t ram_write(void *ctx, int32_t h, uint64_t off, const uint8_t *buf, size_t len)
{
    postie_queue_ram_t *r = ctx;
    postie_queue_ram_entry_t *x = by_handle(r, h);
    if (x == NULL || (h & 1) == 0) {
        return POSTIE_E_BAD_STATE;
    }
    if (off > x->size || len > x->size - off) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    memcpy(r->mem + x->offset + off, buf, len);
    return POSTIE_OK;
}

static postie_status_t ram_sync(void *ctx, int32_t h)
{
    return by_handle(ctx, h) != NULL ? POSTIE_OK : POSTIE_E_BAD_STATE;
}

static void ram_close(void *ctx, int32_t h)
{
    postie_queue_ram_t *r = ctx;
    postie_queue_ram_entry_t *x;
    uint32_t i = (uint32_t)h / 2u;
    if (h < 0 || i >= POSTIE_QUEUE_RAM_ENTRIES || (r->e[i].flags & F_USED) == 0) {
        return;
    }
    x = &r->e[i];
    if ((h & 1) != 0) {
        x->flags &= (uint8_t)~F_CLAIMED;
    }
    if (x->opens > 0) {
        x->opens--;
    }
    if ((x->flags & F_REMOVED) != 0 && x->opens == 0) {
        x->flags = 0;
    }
}

static postie_status_t ram_publish(void *ctx, int32_t h)
{
    postie_queue_ram_t *r = ctx;
    postie_queue_ram_entry_t *x = by_handle(r, h);
    if (x == NULL) {
        return POSTIE_E_BAD_STATE;
    }
    x->flags |= F_VISIBLE;
    r->count++;
    ram_close(ctx, h);
    return POSTIE_OK;
}

static void ram_abandon(void *ctx, int32_t h)
{
    postie_queue_ram_t *r = ctx;
    postie_queue_ram_entry_t *x = by_handle(r, h);
    if (x != NULL) {
        free_data(r, x);
        ram_close(ctx, h);
    }
}

static postie_status_t ram_list(void *ctx, postie_queue_id_t *ids, size_t cap, size_t *total)
{
    postie_queue_ram_t *r = ctx;
    size_t n = 0;
    for (uint32_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        if ((r->e[i].flags & (F_VISIBLE | F_REMOVED)) == F_VISIBLE) {
            if (n < cap) {
                ids[n] = r->e[i].id;
            }
            n++;
        }
    }
    *total = n;
    return POSTIE_OK;
}

static postie_status_t ram_open(void *ctx, postie_queue_id_t id, bool claim, int32_t *h,
                                uint64_t *size)
{
    postie_queue_ram_t *r = ctx;
    for (uint32_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        postie_queue_ram_entry_t *x = &r->e[i];
        if ((x->flags & (F_VISIBLE | F_REMOVED)) != F_VISIBLE || x->id != id) {
            continue;
        }
        if (claim && (x->flags & F_CLAIMED) != 0) {
            return POSTIE_E_BUSY;
        }
        if (x->opens == UINT8_MAX) {
            return POSTIE_E_BUSY;
        }
        if (claim) {
            x->flags |= F_CLAIMED;
        }
        x->opens++;
        *h = (int32_t)(i * 2u + (claim ? 1u : 0u));
        *size = x->size;
        return POSTIE_OK;
    }
    return POSTIE_E_NOT_FOUND;
}

static postie_status_t ram_read(void *ctx, int32_t h, uint64_t off, uint8_t *buf, size_t len)
{
    postie_queue_ram_t *r = ctx;
    postie_queue_ram_entry_t *x = by_handle(r, h);
    if (x == NULL) {
        return POSTIE_E_NOT_FOUND;
    }
    if (off > x->size || len > x->size - off) {
        return POSTIE_E_IO;
    }
    memcpy(buf, r->mem + x->offset + off, len);
    return POSTIE_OK;
}

static postie_status_t ram_remove(void *ctx, int32_t h)
{
    postie_queue_ram_t *r = ctx;
    postie_queue_ram_entry_t *x = by_handle(r, h);
    if (x == NULL || (h & 1) == 0) {
        return POSTIE_E_BAD_STATE;
    }
    if ((x->flags & F_VISIBLE) != 0) {
        r->count--;
    }
    free_data(r, x);
    return POSTIE_OK;
}

static postie_status_t ram_set_aside(void *ctx, postie_queue_id_t id)
{
    /* nowhere to keep it: a damaged entry in RAM is dropped */
    postie_queue_ram_t *r = ctx;
    for (uint32_t i = 0; i < POSTIE_QUEUE_RAM_ENTRIES; i++) {
        postie_queue_ram_entry_t *x = &r->e[i];
        if ((x->flags & (F_VISIBLE | F_REMOVED)) == F_VISIBLE && x->id == id) {
            r->count--;
            free_data(r, x);
            return POSTIE_OK;
        }
    }
    return POSTIE_E_NOT_FOUND;
}

static postie_status_t ram_usage(void *ctx, uint32_t *count, uint64_t *bytes)
{
    postie_queue_ram_t *r = ctx;
    *count = r->count;
    *bytes = r->used;
    return POSTIE_OK;
}

static const postie_queue_store_ops_t ram_ops = {
    .create = ram_create,
    .write = ram_write,
    .sync = ram_sync,
    .publish = ram_publish,
    .abandon = ram_abandon,
    .list = ram_list,
    .open = ram_open,
    .read = ram_read,
    .close = ram_close,
    .remove = ram_remove,
    .set_aside = ram_set_aside,
    .usage = ram_usage,
};

postie_queue_store_t postie_queue_ram_store(postie_queue_ram_t *r)
{
    postie_queue_store_t s = {&ram_ops, r};
    return s;
}
