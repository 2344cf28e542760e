/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: queue entries read back from a store (core/queue/queue.c).
 * A spool file is input like any other: a damaged disk, a truncated write
 * or a hand-edited file must give POSTIE_E_QUEUE_CORRUPT, never a crash or
 * a read outside the entry.
 *
 * Input: the raw octets of one entry, placed in a RAM store under a fixed
 * id. Checked:
 *   load (claimed) returns OK, NOT_FOUND (a DONE entry) or QUEUE_CORRUPT
 *     naming a reason; on OK every decoded field is in range: session and
 *     addresses NUL-terminated inside the entry struct, recipients 1..max,
 *     the message inside the entry, state QUEUED or ERROR;
 *   the message reads back to exactly body_size octets;
 *   a QUEUED entry accepts a recorded attempt, and loads again afterwards
 *     with the newer slot (sequence + 1).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/queue/queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID 0x6b000000deadbeefULL

#define CHECK(c)     \
    do {             \
        if (!(c)) {  \
            abort(); \
        }            \
    } while (0)

static uint8_t mem[64 * 1024];

static bool inside(const postie_queue_entry_t *e, const char *p)
{
    return p >= e->text && p < e->text + sizeof(e->text) &&
           memchr(p, '\0', (size_t)(e->text + sizeof(e->text) - p)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static postie_queue_ram_t ram;
    static postie_queue_t q;
    static postie_queue_entry_t e;
    postie_queue_store_t store;
    postie_error_t err;
    postie_status_t st;
    int32_t h;

    if (size > sizeof(mem) / 2) {
        return 0;
    }
    postie_queue_ram_init(&ram, mem, sizeof(mem));
    store = postie_queue_ram_store(&ram);
    postie_queue_init(&q, store, NULL);
    /* plant the input as a published entry */
    CHECK(store.ops->create(store.ctx, ID, size, &h) == POSTIE_OK);
    CHECK(size == 0 || store.ops->write(store.ctx, h, 0, data, size) == POSTIE_OK);
    CHECK(store.ops->publish(store.ctx, h) == POSTIE_OK);

    st = postie_queue_load(&q, ID, true, &e, &err);
    if (st == POSTIE_E_QUEUE_CORRUPT) {
        CHECK(err.subject[0] != '\0');
        CHECK(e.handle == -1);
        return 0;
    }
    if (st == POSTIE_E_NOT_FOUND) {
        return 0; /* a DONE entry: removed */
    }
    CHECK(st == POSTIE_OK);
    CHECK(e.rcpt_count >= 1 && e.rcpt_count <= POSTIE_QUEUE_RCPT_MAX);
    CHECK(memchr(e.session, '\0', sizeof(e.session)) != NULL && e.session[0] != '\0');
    CHECK(inside(&e, e.from));
    for (uint16_t i = 0; i < e.rcpt_count; i++) {
        CHECK(inside(&e, e.rcpt[i]));
    }
    CHECK(e.body_offset <= e.size && e.body_size == e.size - e.body_offset);
    CHECK(e.slot.state == POSTIE_QSTATE_QUEUED || e.slot.state == POSTIE_QSTATE_ERROR);
    CHECK(memchr(e.slot.last_error, '\0', sizeof(e.slot.last_error)) != NULL);

    {
        postie_queue_body_reader_t r;
        uint8_t buf[700];
        uint64_t total = 0;
        size_t got = 0;
        postie_queue_body_reader_init(&r, &q, &e);
        do {
            CHECK(postie_queue_body_read(&r, buf, sizeof(buf), &got) == POSTIE_OK);
            total += got;
        } while (got > 0);
        CHECK(total == e.body_size);
    }

    if (e.slot.state == POSTIE_QSTATE_QUEUED) {
        postie_smtp_envelope_t env;
        postie_smtp_rcpt_t rcpt[POSTIE_QUEUE_RCPT_MAX];
        postie_queue_outcome_t out;
        uint32_t seq = e.slot.seq;
        postie_queue_envelope(&e, &env, rcpt);
        for (size_t i = 0; i < env.rcpt_count; i++) {
            rcpt[i].state = POSTIE_RCPT_REJECTED;
            rcpt[i].reply.code = 451;
        }
        st = postie_queue_record(&q, &e, rcpt, POSTIE_OK, NULL, 1800000000, 7, &out);
        CHECK(st == POSTIE_OK);
        postie_queue_release(&q, &e);
        if (env.rcpt_count > 0) {
            CHECK(postie_queue_load(&q, ID, false, &e, &err) == POSTIE_OK);
            CHECK(e.slot.seq == seq + 1);
        }
    }
    postie_queue_release(&q, &e);
    return 0;
}
