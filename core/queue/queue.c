/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outgoing queue over a storage port. See postie/queue/queue.h for the
 * entry format and the guarantees.
 */
#include "postie/queue/queue.h"

#include <stddef.h>
#include <string.h>

#include "postie/common/text.h"
#define MAGIC_0        'P'
#define MAGIC_1        'S'
#define MAGIC_2        'T'
#define MAGIC_3        'Q'
#define FORMAT_VERSION 1u

#define FIXED_HEADER   40u /* magic .. body_size */
/* Error text room in each slot: recorded in the header, so a build with a
 * different POSTIE_QUEUE_ERROR_TEXT_MAX still reads the entry. */
#define ERROR_ROOM     (POSTIE_QUEUE_ERROR_TEXT_MAX - 1u)
#define ERROR_ROOM_MIN 16u
#define SLOT_FIXED     40u /* seq .. last_attempt */
#define FLAG_8BIT      0x01u
#define FLAG_SMTPUTF8  0x02u

/* Largest header this build accepts: fixed part, session, envelope text
 * with a 2-octet length per string instead of a terminator, CRC. */
#define HEADER_MAX                                                              \
    (FIXED_HEADER + 1u + POSTIE_QUEUE_SESSION_MAX + POSTIE_QUEUE_ENVELOPE_MAX + \
     2u * (POSTIE_QUEUE_RCPT_MAX + 1u) + 4u)

_Static_assert(SLOT_FIXED + 255u + POSTIE_QUEUE_RCPT_MAX + 4u <= POSTIE_QUEUE_IO_CHUNK,
               "one state slot must fit the queue's copy buffer");

/* ---- CRC-32 (IEEE 802.3, reflected), four bits at a time ---------------- */

static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
    }
    return ~crc;
}

/* ---- little-endian fields ------------------------------------------------ */

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* ---- errors ---------------------------------------------------------------- */

static postie_status_t fail(postie_error_t *err, postie_status_t st, const char *phase,
                            const char *subject)
{
    if (err != NULL) {
        postie_error_clear(err);
        err->status = st;
        err->phase = phase;
        postie_text_copy_printable(err->subject, sizeof(err->subject), subject, strlen(subject));
    }
    return st;
}

/* "rcpt[12]" style subject */
static void indexed_name(char *out, size_t cap, const char *name, size_t index)
{
    char digits[POSTIE_TEXT_U64_DIGITS];
    size_t nd = postie_text_format_u64(index, digits);
    size_t n = strlen(name);
    if (n + nd + 3 > cap) {
        out[0] = '\0';
        return;
    }
    memcpy(out, name, n);
    out[n] = '[';
    memcpy(out + n + 1, digits, nd);
    out[n + 1 + nd] = ']';
    out[n + 2 + nd] = '\0';
}

/* A session name: printable UTF-8 or ASCII without CR, LF, NUL, other
 * controls, or <>. (Addresses go through postie_address_check.) */
static bool text_ok(const char *s, size_t max, bool allow_empty)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || n + 1 >= max) {
            return false;
        }
    }
    return allow_empty || n > 0;
}

/* ---- ids ------------------------------------------------------------------- */

void postie_queue_id_format(postie_queue_id_t id, char out[POSTIE_QUEUE_ID_TEXT])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = hex[id & 15u];
        id >>= 4;
    }
    out[16] = '\0';
}

bool postie_queue_id_parse(const char *text, postie_queue_id_t *id)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; text[i] != '\0'; i++) {
        char c = text[i];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (unsigned)(c - 'A' + 10);
        } else {
            return false;
        }
        if (i >= 16) {
            return false;
        }
        v = (v << 4) | d;
    }
    if (i != 16) {
        return false;
    }
    *id = v;
    return true;
}

const char *postie_queue_state_name(postie_queue_state_t s)
{
    switch (s) {
    case POSTIE_QSTATE_QUEUED:
        return "queued";
    case POSTIE_QSTATE_ERROR:
        return "error";
    case POSTIE_QSTATE_DONE:
        return "done";
    default:
        return "unknown";
    }
}

/* ---- queue ----------------------------------------------------------------- */

void postie_queue_init(postie_queue_t *q, postie_queue_store_t store,
                       const postie_queue_limits_t *limits)
{
    memset(q, 0, sizeof(*q));
    q->store = store;
    if (limits != NULL) {
        q->limits = *limits;
    }
    if (q->limits.messages_max == 0) {
        q->limits.messages_max = POSTIE_QUEUE_MESSAGES_MAX;
    }
    if (q->limits.bytes_max == 0) {
        q->limits.bytes_max = POSTIE_QUEUE_BYTES_MAX;
    }
    if (q->limits.max_age_s == 0) {
        q->limits.max_age_s = POSTIE_QUEUE_MAX_AGE_S;
    }
}

static uint32_t slot_bytes(uint16_t rcpt_count, uint8_t error_room)
{
    return SLOT_FIXED + error_room + rcpt_count + 4u;
}

static uint64_t align8(uint64_t v)
{
    return (v + 7u) & ~(uint64_t)7u;
}

/* Encode slot s into q->io and write it to its place (seq decides A or
 * B), then sync when asked: the entry's state changes only when this
 * returns OK. A new entry skips the sync; publishing syncs it whole. */
static postie_status_t slot_write(postie_queue_t *q, int32_t h, uint64_t slot_offset,
                                  uint16_t rcpt_count, uint8_t error_room,
                                  const postie_queue_slot_t *s, bool sync)
{
    uint8_t *p = q->io;
    uint32_t n = slot_bytes(rcpt_count, error_room);
    size_t elen = strlen(s->last_error);
    postie_status_t st;

    if (elen > error_room) {
        elen = error_room;
    }

    memset(p, 0, n);
    put_u32(p, s->seq);
    p[4] = s->state;
    p[5] = (uint8_t)elen;
    put_u16(p + 6, s->last_status);
    put_u32(p + 8, s->attempts);
    put_u64(p + 16, (uint64_t)s->next_attempt);
    put_u64(p + 24, (uint64_t)s->age_base);
    put_u64(p + 32, (uint64_t)s->last_attempt);
    memcpy(p + SLOT_FIXED, s->last_error, elen);
    memcpy(p + SLOT_FIXED + error_room, s->rcpt, rcpt_count);
    put_u32(p + n - 4u, crc_update(0, p, n - 4u));

    st = q->store.ops->write(q->store.ctx, h, slot_offset + (s->seq & 1u) * n, p, n);
    if (st != POSTIE_OK || !sync) {
        return st;
    }
    return q->store.ops->sync(q->store.ctx, h);
}

/* Decode one slot from q->io; false when its check fails. */
static bool slot_decode(const uint8_t *p, uint16_t rcpt_count, uint8_t error_room,
                        postie_queue_slot_t *s)
{
    uint32_t n = slot_bytes(rcpt_count, error_room);
    size_t elen;
    if (get_u32(p + n - 4u) != crc_update(0, p, n - 4u)) {
        return false;
    }
    memset(s, 0, sizeof(*s));
    s->seq = get_u32(p);
    s->state = p[4];
    elen = p[5];
    s->last_status = get_u16(p + 6);
    s->attempts = get_u32(p + 8);
    s->next_attempt = (int64_t)get_u64(p + 16);
    s->age_base = (int64_t)get_u64(p + 24);
    s->last_attempt = (int64_t)get_u64(p + 32);
    if (s->seq == 0 || s->state < POSTIE_QSTATE_QUEUED || s->state > POSTIE_QSTATE_DONE) {
        return false;
    }
    if (elen > error_room) {
        return false;
    }
    if (elen >= POSTIE_QUEUE_ERROR_TEXT_MAX) {
        elen = POSTIE_QUEUE_ERROR_TEXT_MAX - 1u;
    }
    postie_text_copy_printable(s->last_error, sizeof(s->last_error), (const char *)p + SLOT_FIXED,
                               elen);
    for (uint16_t i = 0; i < rcpt_count; i++) {
        uint8_t r = p[SLOT_FIXED + error_room + i];
        if (r > POSTIE_QRCPT_FAILED) {
            return false;
        }
        s->rcpt[i] = r;
    }
    return true;
}

/* ---- enqueue ---------------------------------------------------------------- */

/* Buffered header writer: fills q->io, writes it out at off, keeps a CRC. */
typedef struct {
    postie_queue_t *q;
    int32_t h;
    uint64_t off;
    size_t fill;
    uint32_t crc;
    postie_status_t st;
} out_t;

static void out_flush(out_t *o)
{
    if (o->st == POSTIE_OK && o->fill > 0) {
        o->st = o->q->store.ops->write(o->q->store.ctx, o->h, o->off, o->q->io, o->fill);
        o->off += o->fill;
    }
    o->fill = 0;
}

static void out_put(out_t *o, const void *data, size_t n)
{
    const uint8_t *p = data;
    o->crc = crc_update(o->crc, p, n);
    while (n > 0 && o->st == POSTIE_OK) {
        size_t room = sizeof(o->q->io) - o->fill;
        size_t take = n < room ? n : room;
        memcpy(o->q->io + o->fill, p, take);
        o->fill += take;
        p += take;
        n -= take;
        if (o->fill == sizeof(o->q->io)) {
            out_flush(o);
        }
    }
}

static void out_string16(out_t *o, const char *s)
{
    uint8_t len[2];
    size_t n = strlen(s);
    put_u16(len, (uint16_t)n);
    out_put(o, len, 2);
    out_put(o, s, n);
}

static postie_status_t check_message(const postie_queue_message_t *m, postie_error_t *err)
{
    size_t text = 0;
    char name[24];
    bool non_ascii;
    postie_status_t st;
    if (m->session == NULL || !text_ok(m->session, POSTIE_QUEUE_SESSION_MAX, false)) {
        return fail(err, POSTIE_E_FIELD_INVALID, "enqueue", "session");
    }
    /* the same rule the engine applies when the message is sent, so a
     * message the engine would refuse never enters the queue */
    st = postie_address_check(m->from, true, &non_ascii);
    if (st != POSTIE_OK) {
        return fail(err, st, "enqueue", "from");
    }
    text += strlen(m->from) + 1u;
    if (m->rcpt_count == 0 || m->rcpt_count > POSTIE_QUEUE_RCPT_MAX || m->rcpt == NULL) {
        return fail(err, POSTIE_E_INVALID_ARGUMENT, "enqueue",
                    "rcpt_count (1..POSTIE_QUEUE_RCPT_MAX)");
    }
    for (size_t i = 0; i < m->rcpt_count; i++) {
        st = postie_address_check(m->rcpt[i], false, &non_ascii);
        if (st != POSTIE_OK) {
            indexed_name(name, sizeof(name), "rcpt", i);
            return fail(err, st, "enqueue", name);
        }
        text += strlen(m->rcpt[i]) + 1u;
    }
    if (text > POSTIE_QUEUE_ENVELOPE_MAX) {
        return fail(err, POSTIE_E_FIELD_TOO_LONG, "enqueue",
                    "addresses (POSTIE_QUEUE_ENVELOPE_MAX)");
    }
    return POSTIE_OK;
}

postie_status_t postie_queue_enqueue(postie_queue_t *q, const postie_queue_message_t *m,
                                     postie_read_fn read, void *read_ctx, int64_t now,
                                     uint32_t random, postie_queue_id_t *id, postie_error_t *err)
{
    const postie_queue_store_ops_t *ops = q->store.ops;
    uint8_t fixed[FIXED_HEADER];
    uint8_t crc[4];
    uint8_t len1;
    uint32_t count = 0;
    uint64_t bytes = 0;
    uint64_t header_len;
    uint64_t slot_offset;
    uint64_t body_offset;
    uint64_t size;
    uint64_t copied = 0;
    postie_queue_slot_t slot;
    postie_queue_id_t new_id;
    int32_t h = -1;
    out_t o;
    postie_status_t st = check_message(m, err);

    if (st != POSTIE_OK) {
        return st;
    }
    header_len = FIXED_HEADER + 1u + strlen(m->session) + 2u + strlen(m->from) + 4u;
    for (size_t i = 0; i < m->rcpt_count; i++) {
        header_len += 2u + strlen(m->rcpt[i]);
    }
    slot_offset = align8(header_len);
    body_offset = slot_offset + 2u * slot_bytes((uint16_t)m->rcpt_count, ERROR_ROOM);
    size = body_offset + m->size;
    if (m->size > UINT64_MAX / 2u) {
        return fail(err, POSTIE_E_INVALID_ARGUMENT, "enqueue", "size");
    }

    st = ops->usage(q->store.ctx, &count, &bytes);
    if (st != POSTIE_OK) {
        return fail(err, st, "enqueue", "queue usage");
    }
    if (count >= q->limits.messages_max) {
        return fail(err, POSTIE_E_QUEUE_FULL, "enqueue", "message count limit reached");
    }
    if (size > q->limits.bytes_max || bytes > q->limits.bytes_max - size) {
        return fail(err, POSTIE_E_QUEUE_FULL, "enqueue", "size limit reached (octets)");
    }

    new_id = ((uint64_t)(uint32_t)now << 32) | random;
    st = ops->create(q->store.ctx, new_id, size, &h);
    if (st != POSTIE_OK) {
        return fail(err, st, "enqueue", "store: create");
    }

    /* header */
    memset(fixed, 0, sizeof(fixed));
    fixed[0] = MAGIC_0;
    fixed[1] = MAGIC_1;
    fixed[2] = MAGIC_2;
    fixed[3] = MAGIC_3;
    fixed[4] = FORMAT_VERSION;
    fixed[5] = (uint8_t)((m->body_8bit ? FLAG_8BIT : 0u) | (m->smtputf8 ? FLAG_SMTPUTF8 : 0u));
    put_u16(fixed + 6, (uint16_t)m->rcpt_count);
    put_u32(fixed + 8, (uint32_t)header_len);
    fixed[12] = ERROR_ROOM;
    put_u64(fixed + 16, new_id);
    put_u64(fixed + 24, (uint64_t)now);
    put_u64(fixed + 32, m->size);
    o.q = q;
    o.h = h;
    o.off = 0;
    o.fill = 0;
    o.crc = 0;
    o.st = POSTIE_OK;
    out_put(&o, fixed, sizeof(fixed));
    len1 = (uint8_t)strlen(m->session);
    out_put(&o, &len1, 1);
    out_put(&o, m->session, len1);
    out_string16(&o, m->from);
    for (size_t i = 0; i < m->rcpt_count; i++) {
        out_string16(&o, m->rcpt[i]);
    }
    put_u32(crc, o.crc);
    out_put(&o, crc, 4);
    out_flush(&o);
    st = o.st;

    /* first state: queued, due now, in slot B (seq 1); slot A stays empty */
    if (st == POSTIE_OK) {
        uint32_t n = slot_bytes((uint16_t)m->rcpt_count, ERROR_ROOM);
        memset(q->io, 0, n);
        st = ops->write(q->store.ctx, h, slot_offset, q->io, n);
    }
    if (st == POSTIE_OK) {
        memset(&slot, 0, sizeof(slot));
        slot.seq = 1;
        slot.state = POSTIE_QSTATE_QUEUED;
        slot.next_attempt = now;
        slot.age_base = now;
        st = slot_write(q, h, slot_offset, (uint16_t)m->rcpt_count, ERROR_ROOM, &slot, false);
    }
    if (st != POSTIE_OK) {
        ops->abandon(q->store.ctx, h);
        return fail(err, st, "enqueue", "store: write");
    }

    /* message */
    for (;;) {
        size_t got = 0;
        st = read(read_ctx, q->io, sizeof(q->io), &got);
        if (st != POSTIE_OK) {
            ops->abandon(q->store.ctx, h);
            return fail(err, POSTIE_E_SOURCE_FAILED, "enqueue", "message source");
        }
        if (got == 0) {
            break;
        }
        if (got > m->size - copied) {
            ops->abandon(q->store.ctx, h);
            return fail(err, POSTIE_E_SOURCE_FAILED, "enqueue",
                        "message source gave more octets than its size");
        }
        st = ops->write(q->store.ctx, h, body_offset + copied, q->io, got);
        if (st != POSTIE_OK) {
            ops->abandon(q->store.ctx, h);
            return fail(err, st, "enqueue", "store: write");
        }
        copied += got;
    }
    if (copied != m->size) {
        ops->abandon(q->store.ctx, h);
        return fail(err, POSTIE_E_SOURCE_FAILED, "enqueue",
                    "message source gave fewer octets than its size");
    }
    st = ops->publish(q->store.ctx, h);
    if (st != POSTIE_OK) {
        return fail(err, st, "enqueue", "store: publish");
    }
    *id = new_id;
    if (err != NULL) {
        postie_error_clear(err);
    }
    return POSTIE_OK;
}

/* ---- list and load ---------------------------------------------------------- */

postie_status_t postie_queue_list(postie_queue_t *q, postie_queue_id_t *ids, size_t cap,
                                  size_t *total)
{
    size_t n;
    postie_status_t st = q->store.ops->list(q->store.ctx, ids, cap, total);
    if (st != POSTIE_OK) {
        return st;
    }
    n = *total < cap ? *total : cap;
    /* insertion sort: lists are short and often nearly sorted */
    for (size_t i = 1; i < n; i++) {
        postie_queue_id_t v = ids[i];
        size_t j = i;
        while (j > 0 && ids[j - 1] > v) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = v;
    }
    return POSTIE_OK;
}

/* Buffered header reader over the store, keeping a CRC of what it gave. */
typedef struct {
    postie_queue_t *q;
    int32_t h;
    uint64_t off;   /* store offset of io[0] */
    size_t fill;    /* valid octets in io */
    size_t pos;     /* next octet in io */
    uint64_t limit; /* readable octets (the header) */
    uint32_t crc;
    postie_status_t st;
} in_t;

static bool in_get(in_t *r, void *dst, size_t n)
{
    uint8_t *d = dst;
    while (n > 0) {
        size_t take;
        if (r->pos == r->fill) {
            uint64_t next = r->off + r->fill;
            uint64_t left = r->limit > next ? r->limit - next : 0;
            size_t want = left < sizeof(r->q->io) ? (size_t)left : sizeof(r->q->io);
            if (want == 0) {
                return false;
            }
            r->st = r->q->store.ops->read(r->q->store.ctx, r->h, next, r->q->io, want);
            if (r->st != POSTIE_OK) {
                return false;
            }
            r->off = next;
            r->fill = want;
            r->pos = 0;
        }
        take = r->fill - r->pos < n ? r->fill - r->pos : n;
        memcpy(d, r->q->io + r->pos, take);
        r->crc = crc_update(r->crc, d, take);
        r->pos += take;
        d += take;
        n -= take;
    }
    return true;
}

/* A string with a 2-octet length into text at *used; NULL when damaged. */
static const char *in_string16(in_t *r, postie_queue_entry_t *e, size_t *used)
{
    uint8_t len[2];
    uint16_t n;
    char *s;
    if (!in_get(r, len, 2)) {
        return NULL;
    }
    n = get_u16(len);
    if (n > 256u || *used + n + 1u > sizeof(e->text)) {
        return NULL;
    }
    s = e->text + *used;
    if (!in_get(r, s, n) || memchr(s, '\0', n) != NULL) {
        return NULL;
    }
    s[n] = '\0';
    *used += n + 1u;
    return s;
}

static postie_status_t corrupt(postie_queue_t *q, postie_queue_entry_t *e, postie_error_t *err,
                               const char *what)
{
    q->store.ops->close(q->store.ctx, e->handle);
    e->handle = -1;
    e->claimed = false;
    return fail(err, POSTIE_E_QUEUE_CORRUPT, "queue entry", what);
}

postie_status_t postie_queue_load(postie_queue_t *q, postie_queue_id_t id, bool claim,
                                  postie_queue_entry_t *e, postie_error_t *err)
{
    const postie_queue_store_ops_t *ops = q->store.ops;
    uint8_t fixed[FIXED_HEADER];
    uint8_t crc[4];
    uint8_t len1;
    uint32_t header_len;
    uint32_t computed;
    uint32_t n;
    size_t used = 0;
    postie_queue_slot_t other;
    bool a_ok;
    bool b_ok;
    in_t r;
    postie_status_t st;

    memset(e, 0, offsetof(postie_queue_entry_t, text));
    e->handle = -1;
    st = ops->open(q->store.ctx, id, claim, &e->handle, &e->size);
    if (st != POSTIE_OK) {
        e->handle = -1;
        return fail(err, st, "queue entry",
                    st == POSTIE_E_BUSY            ? "claimed by another sender"
                    : st == POSTIE_E_QUEUE_CORRUPT ? "not a regular file (a link or a special file)"
                                                   : "");
    }
    e->claimed = claim;
    e->id = id;

    memset(&r, 0, sizeof(r));
    r.q = q;
    r.h = e->handle;
    r.limit = e->size < FIXED_HEADER ? e->size : FIXED_HEADER;
    if (!in_get(&r, fixed, sizeof(fixed))) {
        return r.st != POSTIE_OK ? corrupt(q, e, err, "unreadable")
                                 : corrupt(q, e, err, "shorter than its header");
    }
    if (fixed[0] != MAGIC_0 || fixed[1] != MAGIC_1 || fixed[2] != MAGIC_2 || fixed[3] != MAGIC_3) {
        return corrupt(q, e, err, "not a queue entry (bad magic)");
    }
    if (fixed[4] != FORMAT_VERSION) {
        return corrupt(q, e, err, "unknown format version");
    }
    e->body_8bit = (fixed[5] & FLAG_8BIT) != 0;
    e->smtputf8 = (fixed[5] & FLAG_SMTPUTF8) != 0;
    e->rcpt_count = get_u16(fixed + 6);
    header_len = get_u32(fixed + 8);
    e->error_room = fixed[12];
    if (e->error_room < ERROR_ROOM_MIN) {
        return corrupt(q, e, err, "state slot size out of range");
    }
    if (get_u64(fixed + 16) != id) {
        return corrupt(q, e, err, "id inside does not match its name");
    }
    e->created = (int64_t)get_u64(fixed + 24);
    e->body_size = get_u64(fixed + 32);
    if (e->rcpt_count == 0 || e->rcpt_count > POSTIE_QUEUE_RCPT_MAX) {
        return corrupt(q, e, err, "recipient count out of range");
    }
    if (header_len < FIXED_HEADER + 7u || header_len > HEADER_MAX || header_len > e->size) {
        return corrupt(q, e, err, "header length out of range");
    }
    e->slot_offset = align8(header_len);
    n = slot_bytes(e->rcpt_count, e->error_room);
    e->body_offset = e->slot_offset + 2u * n;
    if (e->body_size > UINT64_MAX / 2u || e->body_offset + e->body_size != e->size) {
        return corrupt(q, e, err, "size does not match its header (truncated?)");
    }

    r.limit = header_len - 4u;
    if (!in_get(&r, &len1, 1) || len1 == 0 || len1 >= POSTIE_QUEUE_SESSION_MAX ||
        !in_get(&r, e->session, len1)) {
        return corrupt(q, e, err, "session name damaged");
    }
    e->session[len1] = '\0';
    if (strlen(e->session) != len1) {
        return corrupt(q, e, err, "session name damaged");
    }
    e->from = in_string16(&r, e, &used);
    if (e->from == NULL) {
        return corrupt(q, e, err, "sender damaged");
    }
    for (uint16_t i = 0; i < e->rcpt_count; i++) {
        e->rcpt[i] = in_string16(&r, e, &used);
        if (e->rcpt[i] == NULL) {
            return corrupt(q, e, err, "recipient list damaged");
        }
    }
    if (r.off + r.pos != header_len - 4u) {
        return corrupt(q, e, err, "header length does not match its fields");
    }
    computed = r.crc;
    r.limit = header_len;
    if (!in_get(&r, crc, 4) || get_u32(crc) != computed) {
        return corrupt(q, e, err, "header checksum mismatch");
    }

    /* the newest valid slot */
    st = ops->read(q->store.ctx, e->handle, e->slot_offset, q->io, n);
    if (st != POSTIE_OK) {
        return corrupt(q, e, err, "state unreadable");
    }
    a_ok = slot_decode(q->io, e->rcpt_count, e->error_room, &e->slot);
    st = ops->read(q->store.ctx, e->handle, e->slot_offset + n, q->io, n);
    if (st != POSTIE_OK) {
        return corrupt(q, e, err, "state unreadable");
    }
    b_ok = slot_decode(q->io, e->rcpt_count, e->error_room, &other);
    if (!a_ok && !b_ok) {
        return corrupt(q, e, err, "both state slots damaged");
    }
    if (b_ok && (!a_ok || other.seq > e->slot.seq)) {
        e->slot = other;
    }

    if (e->slot.state == POSTIE_QSTATE_DONE) {
        /* delivered; its removal was interrupted */
        if (claim) {
            (void)ops->remove(q->store.ctx, e->handle);
        }
        postie_queue_release(q, e);
        return fail(err, POSTIE_E_NOT_FOUND, "queue entry", "already delivered");
    }
    if (err != NULL) {
        postie_error_clear(err);
    }
    return POSTIE_OK;
}

void postie_queue_release(postie_queue_t *q, postie_queue_entry_t *e)
{
    if (e->handle >= 0) {
        q->store.ops->close(q->store.ctx, e->handle);
    }
    e->handle = -1;
    e->claimed = false;
}

postie_status_t postie_queue_set_aside(postie_queue_t *q, postie_queue_id_t id)
{
    return q->store.ops->set_aside(q->store.ctx, id);
}

bool postie_queue_due(const postie_queue_entry_t *e, int64_t now)
{
    return e->slot.state == POSTIE_QSTATE_QUEUED && e->slot.next_attempt <= now;
}

void postie_queue_envelope(const postie_queue_entry_t *e, postie_smtp_envelope_t *env,
                           postie_smtp_rcpt_t *rcpt)
{
    size_t n = 0;
    memset(env, 0, sizeof(*env));
    for (uint16_t i = 0; i < e->rcpt_count; i++) {
        if (e->slot.rcpt[i] == POSTIE_QRCPT_PENDING) {
            memset(&rcpt[n], 0, sizeof(rcpt[n]));
            rcpt[n].address = e->rcpt[i];
            n++;
        }
    }
    env->from = e->from;
    env->rcpt = rcpt;
    env->rcpt_count = n;
    env->size = e->body_size;
    env->body_8bit = e->body_8bit;
    env->smtputf8 = e->smtputf8;
}

void postie_queue_body_reader_init(postie_queue_body_reader_t *r, postie_queue_t *q,
                                   const postie_queue_entry_t *e)
{
    r->q = q;
    r->e = e;
    r->pos = 0;
}

postie_status_t postie_queue_body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    postie_queue_body_reader_t *r = ctx;
    uint64_t left = r->e->body_size - r->pos;
    size_t n = left < cap ? (size_t)left : cap;
    postie_status_t st;
    *got = 0;
    if (n == 0) {
        return POSTIE_OK;
    }
    st = r->q->store.ops->read(r->q->store.ctx, r->e->handle, r->e->body_offset + r->pos, buf, n);
    if (st != POSTIE_OK) {
        return st;
    }
    r->pos += n;
    *got = n;
    return POSTIE_OK;
}

/* ---- recording attempts ------------------------------------------------------ */

/* Append src to the slot's error text, cut to fit. */
static void err_append(postie_queue_slot_t *s, const char *src)
{
    size_t have = strlen(s->last_error);
    size_t room = sizeof(s->last_error) - 1u - have;
    size_t n = strlen(src);
    if (n > room) {
        n = room;
    }
    memcpy(s->last_error + have, src, n);
    s->last_error[have + n] = '\0';
}

static void err_reply(postie_queue_slot_t *s, const postie_reply_info_t *reply)
{
    char digits[POSTIE_TEXT_U64_DIGITS + 1];
    size_t nd = postie_text_format_u64(reply->code, digits);
    digits[nd] = '\0';
    err_append(s, digits);
    if (reply->enhanced[0] != '\0') {
        err_append(s, " ");
        err_append(s, reply->enhanced);
    }
    if (reply->text[0] != '\0') {
        err_append(s, " ");
        err_append(s, reply->text);
    }
}

/* "RCPT TO bob@example.test: 550 5.1.1 User unknown" */
static void describe_rcpt(postie_queue_slot_t *s, const postie_smtp_rcpt_t *r)
{
    s->last_error[0] = '\0';
    err_append(s, "RCPT TO ");
    err_append(s, r->address);
    err_append(s, ": ");
    err_reply(s, &r->reply);
}

/* "end of data: 451 4.3.0 Try later" or "connect: could not connect to
 * the server (127.0.0.1)" */
static void describe_error(postie_queue_slot_t *s, postie_status_t st, const postie_error_t *why)
{
    s->last_error[0] = '\0';
    if (why != NULL && why->phase != NULL && why->phase[0] != '\0') {
        err_append(s, why->phase);
        err_append(s, ": ");
    }
    if (why != NULL && why->reply.code != 0) {
        err_reply(s, &why->reply);
    } else {
        err_append(s, postie_status_str(st));
    }
    if (why != NULL && why->subject[0] != '\0') {
        err_append(s, " (");
        err_append(s, why->subject);
        err_append(s, ")");
    }
}

/* The end of a record: expiry, the new state (queued again at
 * next_attempt while recipients are pending), written durably; an entry
 * with every recipient delivered is removed. */
static postie_status_t conclude(postie_queue_t *q, postie_queue_entry_t *e,
                                const postie_queue_slot_t *sp, int64_t now, int64_t next_attempt,
                                postie_queue_outcome_t *out)
{
    postie_queue_slot_t s = *sp;
    bool any_failed = false;
    postie_status_t st;

    if (out->pending > 0 && postie_queue_expired(s.age_base, now, q->limits.max_age_s)) {
        char tail[POSTIE_QUEUE_ERROR_TEXT_MAX];
        memcpy(tail, s.last_error, sizeof(tail));
        s.last_error[0] = '\0';
        err_append(&s, "expired in the queue; last: ");
        err_append(&s, tail);
        s.last_status = POSTIE_E_EXPIRED;
        s.last_attempt = now; /* when it was given up, tried now or not */
        for (uint16_t i = 0; i < e->rcpt_count; i++) {
            if (s.rcpt[i] == POSTIE_QRCPT_PENDING) {
                s.rcpt[i] = POSTIE_QRCPT_FAILED;
            }
        }
        out->failed = (uint16_t)(out->failed + out->pending);
        out->pending = 0;
    }
    for (uint16_t i = 0; i < e->rcpt_count; i++) {
        any_failed = any_failed || s.rcpt[i] == POSTIE_QRCPT_FAILED;
    }
    if (out->pending > 0) {
        s.state = POSTIE_QSTATE_QUEUED;
        s.next_attempt = next_attempt;
    } else if (any_failed) {
        s.state = POSTIE_QSTATE_ERROR;
    } else {
        s.state = POSTIE_QSTATE_DONE;
    }

    st = slot_write(q, e->handle, e->slot_offset, e->rcpt_count, e->error_room, &s, true);
    if (st != POSTIE_OK) {
        return st; /* the previous state stands; the attempt will repeat */
    }
    e->slot = s;
    out->state = (postie_queue_state_t)s.state;
    if (s.state == POSTIE_QSTATE_DONE) {
        /* the record above is what counts; a failed removal is retried by
         * the next load that claims the entry */
        (void)q->store.ops->remove(q->store.ctx, e->handle);
    }
    return POSTIE_OK;
}

postie_status_t postie_queue_record(postie_queue_t *q, postie_queue_entry_t *e,
                                    const postie_smtp_rcpt_t *rcpt, postie_status_t message_status,
                                    const postie_error_t *why, int64_t now, uint32_t random,
                                    postie_queue_outcome_t *out)
{
    postie_queue_slot_t s = e->slot;
    size_t k = 0;
    bool message_failure_noted = false;

    memset(out, 0, sizeof(*out));
    if (!e->claimed || s.state != POSTIE_QSTATE_QUEUED) {
        return POSTIE_E_BAD_STATE;
    }
    s.seq++;
    s.attempts++;
    s.last_attempt = now;
    for (uint16_t i = 0; i < e->rcpt_count; i++) {
        postie_outcome_t o;
        if (s.rcpt[i] != POSTIE_QRCPT_PENDING) {
            continue;
        }
        o = postie_queue_rcpt_outcome(&rcpt[k], message_status);
        if (o == POSTIE_OUTCOME_DELIVERED) {
            s.rcpt[i] = POSTIE_QRCPT_DELIVERED;
            out->delivered++;
        } else {
            if (o == POSTIE_OUTCOME_FAILED) {
                s.rcpt[i] = POSTIE_QRCPT_FAILED;
                out->failed++;
            } else {
                out->pending++;
            }
            /* the reason: the recipient's own refusal, else the message's */
            if (rcpt[k].state == POSTIE_RCPT_REJECTED) {
                describe_rcpt(&s, &rcpt[k]);
                s.last_status = (uint16_t)(rcpt[k].reply.code >= 500 ? POSTIE_E_REPLY_PERMANENT
                                                                     : POSTIE_E_REPLY_TRANSIENT);
            } else if (!message_failure_noted) {
                describe_error(&s, message_status, why);
                s.last_status = (uint16_t)message_status;
                message_failure_noted = true;
            }
        }
        k++;
    }

    return conclude(q, e, &s, now, now + (int64_t)postie_queue_backoff_s(s.attempts, random), out);
}

/* Records that the entry was not tried: its session failed earlier in
 * the same run. See postie/queue/queue.h. */
postie_status_t postie_queue_record_untried(postie_queue_t *q, postie_queue_entry_t *e,
                                            postie_status_t session_status,
                                            const postie_error_t *why, int64_t now,
                                            int64_t retry_at, postie_queue_outcome_t *out)
{
    postie_queue_slot_t s = e->slot;
    bool permanent = !postie_status_is_transient(session_status);
    char detail[POSTIE_QUEUE_ERROR_TEXT_MAX];

    memset(out, 0, sizeof(*out));
    if (!e->claimed || s.state != POSTIE_QSTATE_QUEUED || session_status == POSTIE_OK) {
        return POSTIE_E_BAD_STATE;
    }
    s.seq++; /* attempts and last_attempt stay: nothing was tried */
    describe_error(&s, session_status, why);
    memcpy(detail, s.last_error, sizeof(detail));
    s.last_error[0] = '\0';
    err_append(&s, "not tried (its session failed): ");
    err_append(&s, detail);
    s.last_status = (uint16_t)session_status;
    for (uint16_t i = 0; i < e->rcpt_count; i++) {
        if (s.rcpt[i] != POSTIE_QRCPT_PENDING) {
            continue;
        }
        if (permanent) {
            s.rcpt[i] = POSTIE_QRCPT_FAILED;
            s.last_attempt = now; /* given up now, without an attempt */
            out->failed++;
        } else {
            out->pending++;
        }
    }
    return conclude(q, e, &s, now, retry_at > s.next_attempt ? retry_at : s.next_attempt, out);
}

/* ---- error queue ---------------------------------------------------------------- */

postie_status_t postie_queue_resend(postie_queue_t *q, postie_queue_id_t id, int64_t now,
                                    postie_queue_entry_t *work, postie_error_t *err)
{
    postie_queue_slot_t s;
    postie_status_t st = postie_queue_load(q, id, true, work, err);
    if (st != POSTIE_OK) {
        return st;
    }
    if (work->slot.state != POSTIE_QSTATE_ERROR) {
        postie_queue_release(q, work);
        return fail(err, POSTIE_E_BAD_STATE, "resend", "not in the error queue");
    }
    s = work->slot;
    s.seq++;
    s.state = POSTIE_QSTATE_QUEUED;
    s.attempts = 0;
    s.next_attempt = now;
    s.age_base = now;
    for (uint16_t i = 0; i < work->rcpt_count; i++) {
        if (s.rcpt[i] == POSTIE_QRCPT_FAILED) {
            s.rcpt[i] = POSTIE_QRCPT_PENDING;
        }
    }
    st = slot_write(q, work->handle, work->slot_offset, work->rcpt_count, work->error_room, &s,
                    true);
    postie_queue_release(q, work);
    if (st != POSTIE_OK) {
        return fail(err, st, "resend", "store: write");
    }
    return POSTIE_OK;
}

postie_status_t postie_queue_delete(postie_queue_t *q, postie_queue_id_t id,
                                    postie_queue_entry_t *work, postie_error_t *err)
{
    postie_status_t st = postie_queue_load(q, id, true, work, err);
    if (st == POSTIE_E_QUEUE_CORRUPT) {
        /* a damaged entry can still be deleted: set it aside */
        return postie_queue_set_aside(q, id);
    }
    if (st != POSTIE_OK) {
        return st;
    }
    st = q->store.ops->remove(q->store.ctx, work->handle);
    postie_queue_release(q, work);
    if (st != POSTIE_OK) {
        return fail(err, st, "delete", "store: remove");
    }
    return POSTIE_OK;
}
