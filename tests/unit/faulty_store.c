/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault-injecting store wrapper of the queue tests: see faulty_store.h.
 */
#include "faulty_store.h"

faulty_t faulty;

#define INNER faulty.inner.ops
#define ICTX  faulty.inner.ctx

static postie_status_t f_create(void *c, postie_queue_id_t id, uint64_t n, int32_t *h)
{
    (void)c;
    return INNER->create(ICTX, id, n, h);
}
static postie_status_t f_write(void *c, int32_t h, uint64_t off, const uint8_t *b, size_t n)
{
    (void)c;
    faulty.writes++;
    if (faulty.fail_write_from != 0 && faulty.writes >= faulty.fail_write_from) {
        return POSTIE_E_IO;
    }
    return INNER->write(ICTX, h, off, b, n);
}
static postie_status_t f_sync(void *c, int32_t h)
{
    (void)c;
    return INNER->sync(ICTX, h);
}
static postie_status_t f_publish(void *c, int32_t h)
{
    (void)c;
    return INNER->publish(ICTX, h);
}
static void f_abandon(void *c, int32_t h)
{
    (void)c;
    INNER->abandon(ICTX, h);
}
static postie_status_t f_list(void *c, postie_queue_id_t *ids, size_t cap, size_t *total)
{
    (void)c;
    return faulty.fail_list ? POSTIE_E_IO : INNER->list(ICTX, ids, cap, total);
}
static postie_status_t f_open(void *c, postie_queue_id_t id, bool claim, int32_t *h, uint64_t *n)
{
    (void)c;
    return INNER->open(ICTX, id, claim, h, n);
}
static postie_status_t f_read(void *c, int32_t h, uint64_t off, uint8_t *b, size_t n)
{
    (void)c;
    return INNER->read(ICTX, h, off, b, n);
}
static void f_close(void *c, int32_t h)
{
    (void)c;
    INNER->close(ICTX, h);
}
static postie_status_t f_remove(void *c, int32_t h)
{
    (void)c;
    if (faulty.fail_remove > 0) {
        faulty.fail_remove--;
        return POSTIE_E_IO;
    }
    return INNER->remove(ICTX, h);
}
static postie_status_t f_set_aside(void *c, postie_queue_id_t id)
{
    (void)c;
    return INNER->set_aside(ICTX, id);
}
static postie_status_t f_usage(void *c, uint32_t *count, uint64_t *bytes)
{
    (void)c;
    return INNER->usage(ICTX, count, bytes);
}
static const postie_queue_store_ops_t faulty_ops = {
    f_create, f_write, f_sync,  f_publish, f_abandon,   f_list,
    f_open,   f_read,  f_close, f_remove,  f_set_aside, f_usage,
};

postie_queue_store_t faulty_store(void)
{
    postie_queue_store_t outer = {&faulty_ops, &faulty};
    return outer;
}
