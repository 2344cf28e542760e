/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fetch run (core/fetch/fetch.c) over a fake mailbox engine, a fake
 * archive and a fake state store: core only, as firmware would run it.
 *
 * The fake server holds messages with an id (POP3: the number in the
 * session; IMAP: the UID), a UIDL and their octets. POP3 deletes become
 * final at finish only (a crash undoes them); IMAP removes expunge at once
 * (UIDPLUS). Commands queue up like a pipelining engine (depth set per
 * test: 1 means one at a time) and complete in order when the test's
 * driver pumps the engine.
 *
 * Crashes: a crash point names a step and which occurrence of it; when it
 * comes, everything stops (the sink, the store and the server ignore every
 * later call, the driver abandons the run). A second run over the same
 * server, archive and stored state must then end with every message
 * archived exactly once, and (delete mode) nothing left on the server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postie/fetch/fetch.h"

#define MSG_MAX  80
/* The batch the tests run with (opts() sets it): small enough that MSG_MAX
 * messages take several rounds whatever POSTIE_FETCH_BATCH is. */
#define BATCH    (POSTIE_FETCH_BATCH < 16 ? POSTIE_FETCH_BATCH : 16)
#define DATA_MAX 96

/* ---- crash points ------------------------------------------------------------ */

typedef enum {
    CRASH_NONE = 0,
    CRASH_BEFORE_COMMIT,
    CRASH_AFTER_COMMIT,
    CRASH_BEFORE_SAVE,
    CRASH_AFTER_SAVE,
    CRASH_BEFORE_REMOVE,
    CRASH_AFTER_REMOVE,
    CRASH_BEFORE_FINISH,
    CRASH_IN_DATA,      /* the connection drops inside a message */
    CRASH_BEFORE_FLUSH, /* group commit: the batch is committed, not durable */
    CRASH_IN_FLUSH,     /* half the batch durable and visible */
    CRASH_AFTER_FLUSH,  /* the batch durable, the state not saved */
    CRASH_COUNT
} crash_point_t;

static crash_point_t crash_at;
static int crash_nth; /* the occurrence that crashes (1-based) */
static int crash_seen[CRASH_COUNT];
static bool crashed;

/* Whether this occurrence of point crashes now. */
static bool crash_here(crash_point_t point)
{
    if (crashed) {
        return true;
    }
    crash_seen[point]++;
    if (point == crash_at && crash_seen[point] == crash_nth) {
        crashed = true;
    }
    return crashed;
}

/* ---- the fake server --------------------------------------------------------- */

typedef struct {
    uint32_t uid; /* IMAP UID; POP3: only for ordering */
    char uidl[POSTIE_MAILBOX_UIDL_MAX + 1];
    char data[DATA_MAX];
    bool gone;    /* deleted for good */
    bool pending; /* POP3: DELE in this session */
} srv_msg_t;

typedef enum { CMD_LIST, CMD_RETR, CMD_DELE, CMD_FINISH } cmd_kind_t;

typedef struct {
    cmd_kind_t kind;
    uint32_t id;
    uint32_t want;
    postie_mailbox_item_fn item_fn;
    postie_mailbox_data_fn data_fn;
    void *ctx;
    uint32_t count; /* CMD_LIST: at most this many (0: all) */
} cmd_t;

typedef struct {
    postie_fetch_protocol_t protocol;
    srv_msg_t msg[MSG_MAX];
    size_t n;
    uint32_t uidvalidity;
    uint32_t next_uid;
    /* the session */
    size_t view[MSG_MAX]; /* POP3: message number i+1 is msg[view[i]] */
    size_t view_n;
    postie_mailbox_info_t info;
    cmd_t q[16];
    size_t q_head, q_n;
    size_t depth; /* commands outstanding at most (1: no pipelining) */
    bool failed, closed;
    postie_status_t fail_status;
    uint32_t fail_retr_id; /* RETR of this id fails after half the data (0: none) */
    size_t retrieves, removes, lists, max_outstanding;
    size_t range_lists;   /* lists through list_range (counted in lists too) */
    uint32_t range_max;   /* the largest count asked for */
    bool list_while_busy; /* a list was started while commands were outstanding */
    bool refused;         /* a command was refused (depth) since the last one taken */
    size_t refills;       /* commands taken first after a refusal */
    size_t refill_q_max;  /* the most outstanding when such a command came */
} server_t;

static server_t srv;

static void srv_init(postie_fetch_protocol_t protocol, size_t n)
{
    memset(&srv, 0, sizeof(srv));
    srv.protocol = protocol;
    srv.uidvalidity = 777;
    srv.next_uid = 1;
    srv.depth = 4;
    for (size_t i = 0; i < n; i++) {
        srv_msg_t *m = &srv.msg[srv.n++];
        m->uid = srv.next_uid++;
        snprintf(m->uidl, sizeof(m->uidl), "u%zu:/%%x", i + 1);
        snprintf(m->data, sizeof(m->data), "Subject: %u\r\n\r\nbody of message %u\r\n",
                 (unsigned)(i + 1), (unsigned)(i + 1));
    }
}

static void srv_add(const char *data)
{
    srv_msg_t *m = &srv.msg[srv.n++];
    m->uid = srv.next_uid++;
    snprintf(m->uidl, sizeof(m->uidl), "added-%u", (unsigned)m->uid);
    snprintf(m->data, sizeof(m->data), "%s", data);
}

static size_t srv_present(void)
{
    size_t k = 0;
    for (size_t i = 0; i < srv.n; i++) {
        k += srv.msg[i].gone ? 0u : 1u;
    }
    return k;
}

/* A new session: POP3 numbers its messages afresh; undecided deletes are
 * undone (a crash or a failed session never reached QUIT). */
static void srv_open(void)
{
    srv.view_n = 0;
    for (size_t i = 0; i < srv.n; i++) {
        srv.msg[i].pending = false;
        if (!srv.msg[i].gone) {
            srv.view[srv.view_n++] = i;
        }
    }
    memset(&srv.info, 0, sizeof(srv.info));
    srv.info.messages = (uint32_t)srv.view_n;
    srv.info.uidvalidity = srv.protocol == POSTIE_FETCH_IMAP ? srv.uidvalidity : 0;
    srv.q_head = srv.q_n = 0;
    srv.failed = srv.closed = false;
}

/* The message an id names in this session, or NULL. */
static srv_msg_t *srv_find(uint32_t id)
{
    if (srv.protocol == POSTIE_FETCH_POP3) {
        return id >= 1 && id <= srv.view_n ? &srv.msg[srv.view[id - 1u]] : NULL;
    }
    for (size_t i = 0; i < srv.n; i++) {
        if (srv.msg[i].uid == id && !srv.msg[i].gone) {
            return &srv.msg[i];
        }
    }
    return NULL;
}

static postie_status_t srv_push(cmd_t c)
{
    if (srv.failed || srv.closed || crashed) {
        return POSTIE_E_BAD_STATE;
    }
    if (srv.q_n >= srv.depth) {
        srv.refused = true;
        return POSTIE_E_BAD_STATE;
    }
    if (srv.refused) {
        srv.refused = false;
        srv.refills++;
        if (srv.q_n > srv.refill_q_max) {
            srv.refill_q_max = srv.q_n;
        }
    }
    if (c.kind == CMD_LIST && srv.q_n > 0) {
        srv.list_while_busy = true;
    }
    srv.q[(srv.q_head + srv.q_n) % 16u] = c;
    srv.q_n++;
    if (srv.q_n > srv.max_outstanding) {
        srv.max_outstanding = srv.q_n;
    }
    return POSTIE_OK;
}

static postie_status_t op_list(void *e, uint32_t from, uint32_t want, postie_mailbox_item_fn fn,
                               void *ctx, uint32_t now)
{
    cmd_t c = {CMD_LIST, from, want, fn, NULL, ctx, 0};
    (void)e;
    (void)now;
    if (from == 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    if (srv.protocol == POSTIE_FETCH_POP3 && from > srv.view_n) {
        return POSTIE_E_INVALID_ARGUMENT; /* as the POP3 engine does */
    }
    srv.lists++;
    return srv_push(c);
}

static postie_status_t op_retrieve(void *e, uint32_t id, uint64_t size_max,
                                   postie_mailbox_data_fn fn, void *ctx, uint32_t now)
{
    cmd_t c = {CMD_RETR, id, 0, NULL, fn, ctx, 0};
    (void)e;
    (void)now;
    (void)size_max;
    if (srv_find(id) == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    srv.retrieves++;
    return srv_push(c);
}

static postie_status_t op_remove(void *e, uint32_t id, uint32_t now)
{
    cmd_t c = {CMD_DELE, id, 0, NULL, NULL, NULL, 0};
    (void)e;
    (void)now;
    if (srv_find(id) == NULL) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    srv.removes++;
    return srv_push(c);
}

static postie_status_t op_finish(void *e, uint32_t now)
{
    cmd_t c = {CMD_FINISH, 0, 0, NULL, NULL, NULL, 0};
    (void)e;
    (void)now;
    return srv_push(c);
}

static const postie_mailbox_info_t *op_info(const void *e)
{
    (void)e;
    return &srv.info;
}

static const char *op_alert(const void *e)
{
    (void)e;
    return "";
}

static postie_status_t op_list_range(void *e, uint32_t from, uint32_t count, uint32_t want,
                                     postie_mailbox_item_fn fn, void *ctx, uint32_t now)
{
    cmd_t c = {CMD_LIST, from, want, fn, NULL, ctx, count};
    (void)e;
    (void)now;
    if (from == 0 || count == 0) {
        return POSTIE_E_INVALID_ARGUMENT;
    }
    srv.lists++;
    srv.range_lists++;
    if (count > srv.range_max) {
        srv.range_max = count;
    }
    return srv_push(c);
}

/* With list_range (as the POP3 engine) and without (as the IMAP engine). */
static const postie_mailbox_ops_t fake_ops = {op_list, op_retrieve, op_remove,    op_finish,
                                              op_info, op_alert,    op_list_range};
static const postie_mailbox_ops_t fake_ops_full = {op_list, op_retrieve, op_remove, op_finish,
                                                   op_info, op_alert,    NULL};
static bool no_range; /* run with fake_ops_full */

/* Run the oldest command; its events go to *ev (at most 1). */
static bool srv_step(int *ev, postie_status_t *ev_status)
{
    cmd_t c;
    postie_status_t rc = POSTIE_OK;
    *ev = 0;
    *ev_status = POSTIE_OK;
    if (srv.q_n == 0 || crashed) {
        return false;
    }
    c = srv.q[srv.q_head];
    srv.q_head = (srv.q_head + 1u) % 16u;
    srv.q_n--;
    switch (c.kind) {
    case CMD_LIST: {
        uint32_t listed = 0;
        for (size_t i = 0; i < (srv.protocol == POSTIE_FETCH_POP3 ? srv.view_n : srv.n); i++) {
            postie_mail_item_t item;
            srv_msg_t *m = srv.protocol == POSTIE_FETCH_POP3 ? &srv.msg[srv.view[i]] : &srv.msg[i];
            uint32_t id = srv.protocol == POSTIE_FETCH_POP3 ? (uint32_t)(i + 1u) : m->uid;
            if (m->gone || m->pending || id < c.id) {
                continue;
            }
            if (c.count != 0 && listed++ >= c.count) {
                break;
            }
            memset(&item, 0, sizeof(item));
            item.id = id;
            item.have = POSTIE_MAIL_ITEM_SIZE;
            item.size = strlen(m->data);
            rc = c.item_fn(c.ctx, &item);
            if (rc == POSTIE_OK && srv.protocol == POSTIE_FETCH_POP3 &&
                (c.want & POSTIE_MAIL_ITEM_UIDL) != 0) {
                /* POP3 gives the UIDL in a second call for the same id */
                memset(&item, 0, sizeof(item));
                item.id = id;
                item.have = POSTIE_MAIL_ITEM_UIDL;
                snprintf(item.uidl, sizeof(item.uidl), "%s", m->uidl);
                rc = c.item_fn(c.ctx, &item);
            }
            if (rc != POSTIE_OK) {
                break;
            }
        }
        *ev = POSTIE_MAILBOX_EV_LISTED;
        break;
    }
    case CMD_RETR: {
        srv_msg_t *m = srv_find(c.id);
        size_t len = strlen(m->data);
        size_t half = len / 2u;
        bool drop = (c.id == srv.fail_retr_id);
        if (crash_at == CRASH_IN_DATA && crash_here(CRASH_IN_DATA)) {
            rc = c.data_fn(c.ctx, (const uint8_t *)m->data, half);
            return true; /* the power went */
        }
        rc = c.data_fn(c.ctx, (const uint8_t *)m->data, half);
        if (rc == POSTIE_OK && drop) {
            rc = POSTIE_E_MESSAGE_TRUNCATED;
        } else if (rc == POSTIE_OK) {
            rc = c.data_fn(c.ctx, (const uint8_t *)m->data + half, len - half);
        }
        *ev = POSTIE_MAILBOX_EV_RETRIEVED;
        break;
    }
    case CMD_DELE: {
        srv_msg_t *m = srv_find(c.id);
        if (crash_here(CRASH_BEFORE_REMOVE)) {
            return true;
        }
        if (m != NULL) {
            if (srv.protocol == POSTIE_FETCH_IMAP) {
                m->gone = true; /* UID EXPUNGE at once */
            } else {
                m->pending = true;
            }
        }
        *ev = POSTIE_MAILBOX_EV_REMOVED;
        break;
    }
    case CMD_FINISH:
        if (crash_here(CRASH_BEFORE_FINISH)) {
            return true;
        }
        for (size_t i = 0; i < srv.n; i++) {
            if (srv.msg[i].pending) {
                srv.msg[i].gone = true;
                srv.msg[i].pending = false;
            }
        }
        srv.closed = true;
        *ev = POSTIE_MAILBOX_EV_CLOSED;
        break;
    }
    if (rc != POSTIE_OK) {
        srv.failed = true;
        srv.fail_status = rc;
        srv.q_n = 0;
        *ev = POSTIE_MAILBOX_EV_FAILED;
        *ev_status = rc;
    }
    return true;
}

/* ---- the fake archive -------------------------------------------------------- */

typedef struct {
    char key[POSTIE_ARCHIVE_KEY_MAX];
    char data[DATA_MAX];
    int commits;
} arc_msg_t;

typedef struct {
    arc_msg_t msg[MSG_MAX * 2];
    size_t n;
    bool open;
    char key[POSTIE_ARCHIVE_KEY_MAX];
    char data[DATA_MAX];
    size_t len;
    int fail_write_at; /* the nth write fails (0: never) */
    int fail_commit_at;
    int writes, commits_tried, aborts, contains_calls;
    bool no_contains;
    bool with_flush; /* group commit: commit holds, flush makes durable */
    arc_msg_t pend[MSG_MAX];
    size_t pend_n;
    int flushes;
} archive_t;

static archive_t arc;

static arc_msg_t *arc_find(const char *key)
{
    for (size_t i = 0; i < arc.n; i++) {
        if (strcmp(arc.msg[i].key, key) == 0) {
            return &arc.msg[i];
        }
    }
    return NULL;
}

static postie_status_t arc_begin(void *ctx, const char *key, uint64_t size)
{
    (void)ctx;
    (void)size;
    if (crashed) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    assert_false(arc.open);
    arc.open = true;
    snprintf(arc.key, sizeof(arc.key), "%s", key);
    arc.len = 0;
    return POSTIE_OK;
}

static postie_status_t arc_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (crashed) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    assert_true(arc.open);
    assert_true(len > 0);
    if (++arc.writes == arc.fail_write_at) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    assert_true(arc.len + len < DATA_MAX);
    memcpy(arc.data + arc.len, data, len);
    arc.len += len;
    return POSTIE_OK;
}

static postie_status_t arc_commit(void *ctx)
{
    arc_msg_t *m;
    (void)ctx;
    if (crash_here(CRASH_BEFORE_COMMIT)) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    assert_true(arc.open);
    if (++arc.commits_tried == arc.fail_commit_at) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    if (arc.with_flush) {
        /* held until flush; a crash before it loses it, as a power cut would */
        m = &arc.pend[arc.pend_n++];
        snprintf(m->key, sizeof(m->key), "%s", arc.key);
        memcpy(m->data, arc.data, arc.len);
        m->data[arc.len] = '\0';
        arc.open = false;
        (void)crash_here(CRASH_AFTER_COMMIT);
        return crashed ? POSTIE_E_ARCHIVE_FAILED : POSTIE_OK;
    }
    m = arc_find(arc.key);
    if (m == NULL) {
        m = &arc.msg[arc.n++];
        snprintf(m->key, sizeof(m->key), "%s", arc.key);
    }
    memcpy(m->data, arc.data, arc.len);
    m->data[arc.len] = '\0';
    m->commits++;
    arc.open = false;
    (void)crash_here(CRASH_AFTER_COMMIT);
    return crashed ? POSTIE_E_ARCHIVE_FAILED : POSTIE_OK;
}

static void arc_abort(void *ctx)
{
    (void)ctx;
    arc.open = false;
    arc.pend_n = 0;
    arc.aborts++;
}

/* Make one held message durable and visible. */
static void arc_publish(const arc_msg_t *p)
{
    arc_msg_t *m = arc_find(p->key);
    if (m == NULL) {
        m = &arc.msg[arc.n++];
        snprintf(m->key, sizeof(m->key), "%s", p->key);
    }
    memcpy(m->data, p->data, sizeof(m->data));
    m->commits++;
}

static postie_status_t arc_flush(void *ctx)
{
    size_t half = arc.pend_n / 2;
    (void)ctx;
    if (crash_here(CRASH_BEFORE_FLUSH)) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    assert_false(arc.open);
    arc.flushes++;
    for (size_t i = 0; i < arc.pend_n; i++) {
        if (i == half && half > 0 && crash_here(CRASH_IN_FLUSH)) {
            return POSTIE_E_ARCHIVE_FAILED; /* the rest never reached the disk */
        }
        arc_publish(&arc.pend[i]);
    }
    arc.pend_n = 0;
    (void)crash_here(CRASH_AFTER_FLUSH);
    return crashed ? POSTIE_E_ARCHIVE_FAILED : POSTIE_OK;
}

static postie_status_t arc_contains(void *ctx, const char *key, bool *found)
{
    (void)ctx;
    if (crashed) {
        return POSTIE_E_ARCHIVE_FAILED;
    }
    arc.contains_calls++;
    *found = arc_find(key) != NULL;
    return POSTIE_OK;
}

static const postie_archive_ops_t arc_ops = {arc_begin, arc_write,    arc_commit,
                                             arc_abort, arc_contains, NULL};
static const postie_archive_ops_t arc_ops_nc = {arc_begin, arc_write, arc_commit,
                                                arc_abort, NULL,      NULL};
static const postie_archive_ops_t arc_ops_flush = {arc_begin, arc_write,    arc_commit,
                                                   arc_abort, arc_contains, arc_flush};
static const postie_archive_ops_t arc_ops_flush_nc = {arc_begin, arc_write, arc_commit,
                                                      arc_abort, NULL,      arc_flush};

/* ---- the fake state store ---------------------------------------------------- */

typedef struct {
    char text[POSTIE_FETCH_STATE_TEXT_MAX + 1];
    size_t len;
    bool exists;
    int saves;
    int fail_save_at; /* the nth save fails (0: never) */
    char aside[4096];
    size_t aside_len;
    int set_asides;
} store_t;

static store_t sto;
static char scratch[POSTIE_FETCH_STATE_TEXT_MAX];
static size_t scratch_len;

static postie_status_t collect(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    assert_true(scratch_len + len <= sizeof(scratch));
    memcpy(scratch + scratch_len, data, len);
    scratch_len += len;
    return POSTIE_OK;
}

static postie_status_t sto_load(void *ctx, postie_fetch_state_t *st)
{
    (void)ctx;
    if (!sto.exists) {
        return POSTIE_E_NOT_FOUND;
    }
    return postie_fetch_state_parse(st, sto.text, sto.len, NULL);
}

static postie_status_t sto_save(void *ctx, const postie_fetch_state_t *st)
{
    (void)ctx;
    if (crash_here(CRASH_BEFORE_SAVE)) {
        return POSTIE_E_FETCH_STATE;
    }
    if (++sto.saves == sto.fail_save_at) {
        return POSTIE_E_FETCH_STATE;
    }
    scratch_len = 0;
    assert_int_equal(postie_fetch_state_format(st, collect, NULL), POSTIE_OK);
    memcpy(sto.text, scratch, scratch_len);
    sto.text[scratch_len] = '\0';
    sto.len = scratch_len;
    sto.exists = true;
    (void)crash_here(CRASH_AFTER_SAVE);
    return crashed ? POSTIE_E_FETCH_STATE : POSTIE_OK;
}

static postie_status_t sto_set_aside(void *ctx, const postie_fetch_state_t *old)
{
    (void)ctx;
    scratch_len = 0;
    assert_int_equal(postie_fetch_state_format(old, collect, NULL), POSTIE_OK);
    assert_true(scratch_len < sizeof(sto.aside));
    memcpy(sto.aside, scratch, scratch_len);
    sto.aside_len = scratch_len;
    sto.set_asides++;
    return POSTIE_OK;
}

static const postie_fetch_store_ops_t sto_ops = {sto_load, sto_save, sto_set_aside};

/* ---- the driver -------------------------------------------------------------- */

static postie_fetch_t run; /* about 40 KiB: off the stack */
static char trace_text[8192];
static char log_text[1024];
static int stop_after; /* stop once this many messages were archived (0: never) */
static int stop_asks;

static void on_trace(void *ctx, const char *event, const char *key)
{
    size_t have = strlen(trace_text);
    (void)ctx;
    snprintf(trace_text + have, sizeof(trace_text) - have, "%s %s|", event, key);
}

static void on_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    size_t have = strlen(log_text);
    (void)ctx;
    (void)dir;
    snprintf(log_text + have, sizeof(log_text) - have, "%.*s|", (int)len, line);
}

static bool on_stop(void *ctx)
{
    (void)ctx;
    /* asked once per message picked: stop after stop_after messages */
    return stop_after > 0 && ++stop_asks > stop_after;
}

static postie_fetch_options_t opts(postie_fetch_protocol_t protocol, bool del)
{
    postie_fetch_options_t o;
    postie_fetch_options_defaults(&o, protocol);
    o.delete_after_archive = del;
    o.batch = BATCH;
    o.trace = on_trace;
    o.log = on_log;
    o.stop = on_stop;
    return o;
}

/* One run over a fresh session. Returns the run's status (POSTIE_E_IO when
 * it crashed). */
static postie_status_t fetch_once(const postie_fetch_options_t *o)
{
    postie_fetch_store_t store = {&sto_ops, NULL};
    postie_archive_t sink = {arc.with_flush ? (arc.no_contains ? &arc_ops_flush_nc : &arc_ops_flush)
                                            : (arc.no_contains ? &arc_ops_nc : &arc_ops),
                             NULL};
    int guard = 0;
    srv_open();
    arc.pend_n = 0; /* a new process: what a crash left unflushed never reached the disk */
    arc.open = false;
    trace_text[0] = '\0';
    arc.open = false;
    if (postie_fetch_init(&run, o, no_range ? &fake_ops_full : &fake_ops, NULL, &store, &sink) !=
        POSTIE_OK) {
        return run.report.status;
    }
    for (;;) {
        postie_fetch_action_t act = postie_fetch_next(&run, 0);
        bool taken = false;
        if (crashed) {
            return POSTIE_E_IO;
        }
        if (act.type == POSTIE_FETCH_DONE) {
            return act.status;
        }
        while (!taken) {
            int ev;
            postie_status_t evst;
            assert_true(++guard < 100000);
            if (!srv_step(&ev, &evst)) {
                if (crashed) {
                    return POSTIE_E_IO;
                }
                fail_msg("the run waits for event %d but nothing is outstanding", act.event);
            }
            if (crashed) {
                return POSTIE_E_IO;
            }
            if (ev != 0) {
                postie_fetch_event(&run, ev, evst, 0);
                taken = ev == act.event || ev == POSTIE_MAILBOX_EV_FAILED;
            }
        }
    }
}

/* Every message ever on the server is in the archive exactly once, with
 * its octets; in delete mode none is left on the server. */
static void assert_exactly_once(postie_fetch_protocol_t protocol, bool del)
{
    for (size_t i = 0; i < srv.n; i++) {
        char key[POSTIE_ARCHIVE_KEY_MAX];
        postie_mail_item_t item;
        arc_msg_t *a;
        memset(&item, 0, sizeof(item));
        item.id = srv.msg[i].uid;
        item.have = POSTIE_MAIL_ITEM_UIDL;
        snprintf(item.uidl, sizeof(item.uidl), "%s", srv.msg[i].uidl);
        assert_int_equal(postie_fetch_key(protocol, "", srv.uidvalidity, &item, key, sizeof(key)),
                         POSTIE_OK);
        a = arc_find(key);
        if (a == NULL) {
            fail_msg("message %zu (%s) was lost", i + 1, key);
        }
        assert_int_equal(a->commits, 1);
        assert_string_equal(a->data, srv.msg[i].data);
        assert_true(srv.msg[i].gone == del);
    }
    assert_int_equal(arc.n, srv.n);
}

static void reset(postie_fetch_protocol_t protocol, size_t n)
{
    srv_init(protocol, n);
    memset(&arc, 0, sizeof(arc));
    memset(&sto, 0, sizeof(sto));
    crash_at = CRASH_NONE;
    crash_nth = 0;
    memset(crash_seen, 0, sizeof(crash_seen));
    crashed = false;
    stop_after = 0;
    stop_asks = 0;
    log_text[0] = '\0';
}

/* ---- tests ------------------------------------------------------------------- */

static void plain_run(postie_fetch_protocol_t protocol, bool del, size_t n)
{
    postie_fetch_options_t o = opts(protocol, del);
    uint32_t archived = 0;
    uint32_t deleted = 0;
    int runs = 0;
    reset(protocol, n);
    do { /* again: a POP3 state full of this session's deletes */
        if (fetch_once(&o) != POSTIE_OK) {
            fail_msg("%s: %s %s", postie_status_name(run.report.status), run.report.error.phase,
                     run.report.error.subject);
        }
        archived += run.report.archived;
        deleted += run.report.deleted;
        runs++;
    } while (run.report.again && runs < 100);
    assert_int_equal(archived, n);
    assert_int_equal(deleted, del ? n : 0);
    if (runs == 1) {
        assert_int_equal(run.report.listed, n);
    }
    assert_exactly_once(protocol, del);
    assert_false(srv.list_while_busy);
    /* the state is clean; a second run archives nothing more */
    assert_true(strstr(sto.text, "clean 1\n") != NULL);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.archived, 0);
    /* keep mode: POP3 lists all and finds them recorded; IMAP lists only
     * above the watermark */
    assert_int_equal(run.report.already, del || protocol == POSTIE_FETCH_IMAP ? 0 : n);
    assert_exactly_once(protocol, del);
}

static void test_pop3_delete(void **state)
{
    (void)state;
    plain_run(POSTIE_FETCH_POP3, true, 5);
    /* delete mode: the state forgets what the server no longer has */
    assert_true(strstr(sto.text, "uidl") == NULL);
}

static void test_imap_delete(void **state)
{
    (void)state;
    plain_run(POSTIE_FETCH_IMAP, true, 5);
    assert_true(strstr(sto.text, "watermark 5\n") != NULL);
    assert_true(strstr(sto.text, "\nuid ") == NULL);
}

static void test_pop3_keep(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, false);
    (void)state;
    plain_run(POSTIE_FETCH_POP3, false, 5);
    assert_int_equal(srv.removes, 0);
    /* a new message: only it is archived */
    srv_add("Subject: new\r\n\r\nnew one\r\n");
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.archived, 1);
    assert_int_equal(run.report.already, 5);
    assert_exactly_once(POSTIE_FETCH_POP3, false);
    /* a message deleted by someone else: its entry is dropped */
    srv.msg[0].gone = true;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.dropped, 1);
    assert_true(strstr(sto.text, "uidl u1:/%x\n") == NULL);
    assert_true(strstr(sto.text, "uidl u2:/%x\n") != NULL);
}

static void test_imap_keep(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_IMAP, false);
    (void)state;
    plain_run(POSTIE_FETCH_IMAP, false, 5);
    assert_int_equal(srv.removes, 0);
    assert_true(strstr(sto.text, "watermark 5\n") != NULL);
    srv_add("Subject: new\r\n\r\nnew one\r\n");
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.archived, 1);
    /* the listing starts above the watermark: old ones are not listed */
    assert_int_equal(run.report.listed, 1);
    assert_true(strstr(sto.text, "watermark 6\n") != NULL);
}

/* More messages than one batch: rounds of listings, fixed RAM. */
static void test_many_rounds(void **state)
{
    (void)state;
    plain_run(POSTIE_FETCH_POP3, true, MSG_MAX);
    assert_true(srv.lists >= (MSG_MAX + BATCH - 1) / BATCH);
    no_range = true; /* an engine without list_range: every round lists everything */
    plain_run(POSTIE_FETCH_POP3, true, MSG_MAX);
    plain_run(POSTIE_FETCH_POP3, false,
              MSG_MAX < POSTIE_FETCH_UIDLS_MAX ? MSG_MAX : POSTIE_FETCH_UIDLS_MAX);
    assert_int_equal(srv.range_lists, 0);
    no_range = false;
    plain_run(POSTIE_FETCH_IMAP, false, MSG_MAX);
    plain_run(POSTIE_FETCH_IMAP, true, MSG_MAX);
    plain_run(POSTIE_FETCH_POP3, false,
              MSG_MAX < POSTIE_FETCH_UIDLS_MAX ? MSG_MAX : POSTIE_FETCH_UIDLS_MAX);
}

/* Rounds after the first list only the next batch and one more (whether
 * more follow) through list_range when the engine offers it: not the
 * whole mailbox again each round. The first lists everything. */
static void test_later_rounds_list_a_range(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, false);
    size_t n = MSG_MAX < POSTIE_FETCH_UIDLS_MAX ? MSG_MAX : POSTIE_FETCH_UIDLS_MAX;
    size_t rounds = (n + BATCH - 1u) / BATCH;
    (void)state;
    reset(POSTIE_FETCH_POP3, n);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.archived, n);
    assert_int_equal(run.report.listed, n);
    assert_int_equal(srv.lists - srv.range_lists, 1);
    assert_true(srv.range_lists >= rounds - 1u);
    assert_int_equal(srv.range_max, BATCH + 1u);
    assert_exactly_once(POSTIE_FETCH_POP3, false);
}

/* Keep mode with more messages than the state holds: the run stops with
 * POSTIE_E_FETCH_STATE before archiving what it could not record. */
static void test_state_full(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, false);
    (void)state;
    if (MSG_MAX <= POSTIE_FETCH_UIDLS_MAX) {
        skip();
    }
    reset(POSTIE_FETCH_POP3, MSG_MAX);
    assert_int_equal(fetch_once(&o), POSTIE_E_FETCH_STATE);
    assert_int_equal(run.report.archived, POSTIE_FETCH_UIDLS_MAX);
    assert_int_equal(arc.n, POSTIE_FETCH_UIDLS_MAX);
    assert_int_equal(srv_present(), MSG_MAX);
    assert_true(strstr(sto.text, "clean 0\n") != NULL);
    assert_int_equal(fetch_once(&o), POSTIE_E_FETCH_STATE);
    assert_int_equal(run.report.archived, 0);
    assert_int_equal(arc.n, POSTIE_FETCH_UIDLS_MAX);
}

/* remove N and retrieve N+1 leave together when the engine pipelines;
 * one at a time when it does not. */
static void test_pipelining(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_IMAP, true);
    (void)state;
    /* IMAP: as many as the engine takes too (the IMAP engine joins them
     * into one UID set per command; see in_flight_max in fetch.c) */
    reset(POSTIE_FETCH_IMAP, 6);
    srv.depth = 4;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(srv.max_outstanding, BATCH < 4u ? BATCH : 4u);
    assert_exactly_once(POSTIE_FETCH_IMAP, true);

    /* POP3 retrieves ahead up to the engine's depth */
    reset(POSTIE_FETCH_POP3, 6);
    srv.depth = 4;
    o = opts(POSTIE_FETCH_POP3, true);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(srv.max_outstanding, BATCH < 4u ? BATCH : 4u);
    assert_exactly_once(POSTIE_FETCH_POP3, true);

    reset(POSTIE_FETCH_POP3, 6);
    srv.depth = 1;
    o = opts(POSTIE_FETCH_POP3, true);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(srv.max_outstanding, 1);
    assert_exactly_once(POSTIE_FETCH_POP3, true);
}

/* Once the engine is full, the run refills it when half its depth is
 * free, not one retrieve per completion: the next retrieves leave
 * together while the rest keep the server busy. */
static void test_refill_at_half(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, false);
    (void)state;
    if (BATCH < 10u) {
        skip(); /* the batch must outlast a refill of a depth of 8 */
    }
    reset(POSTIE_FETCH_POP3, 40);
    srv.depth = 8;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(srv.max_outstanding, 8);
    assert_true(srv.refills > 0);
    assert_true(srv.refill_q_max <= 4u);
    assert_exactly_once(POSTIE_FETCH_POP3, false);
}

/* The order per message: committed, recorded, then removed. */
static void test_order(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_IMAP, true);
    (void)state;
    reset(POSTIE_FETCH_IMAP, 2);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_string_equal(trace_text, "begin imap-777-1|committed imap-777-1|"
                                    "begin imap-777-2|committed imap-777-2|"
                                    "recorded imap-777-1|recorded imap-777-2|"
                                    "remove imap-777-1|remove imap-777-2|"
                                    "removed imap-777-1|removed imap-777-2|finish |");
    /* with a flushing sink: one flush for the batch, before the records */
    reset(POSTIE_FETCH_IMAP, 2);
    arc.with_flush = true;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_string_equal(trace_text, "begin imap-777-1|committed imap-777-1|"
                                    "begin imap-777-2|committed imap-777-2|flushed |"
                                    "recorded imap-777-1|recorded imap-777-2|"
                                    "remove imap-777-1|remove imap-777-2|"
                                    "removed imap-777-1|removed imap-777-2|finish |");
}

/* Group commit: a batch costs one flush and one state save, and the
 * retrieves and removes of a batch are all on the wire together (up to the
 * engine's depth). */
static void test_group_commit(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    reset(POSTIE_FETCH_POP3, 6);
    arc.with_flush = true;
    srv.depth = 8;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(arc.flushes, (int)((6u + BATCH - 1u) / BATCH));
    assert_int_equal(sto.saves, 2 + arc.flushes); /* clean 0, one per batch, clean 1 */
    assert_int_equal(srv.max_outstanding, BATCH < 6u ? BATCH : 6u);
    assert_exactly_once(POSTIE_FETCH_POP3, true);

    /* more messages than a batch: one flush and one save per batch */
    reset(POSTIE_FETCH_IMAP, BATCH + 2u <= MSG_MAX ? BATCH + 2u : MSG_MAX);
    arc.with_flush = true;
    o = opts(POSTIE_FETCH_IMAP, true);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(arc.flushes, (int)((srv.n + BATCH - 1u) / BATCH));
    assert_int_equal(sto.saves, 2 + arc.flushes);
    assert_exactly_once(POSTIE_FETCH_IMAP, true);
}

/* opt.batch: 0, and anything over POSTIE_FETCH_BATCH, mean
 * POSTIE_FETCH_BATCH; fewer means that many per round (one flush, one
 * save, a range of batch + 1 listed per later round). */
static void batch_run(uint32_t batch, size_t n, size_t per_round)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    o.batch = batch;
    reset(POSTIE_FETCH_POP3, n);
    arc.with_flush = true;
    srv.depth = 8;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.archived, n);
    assert_int_equal(arc.flushes, (int)((n + per_round - 1u) / per_round));
    assert_int_equal(sto.saves, 2 + arc.flushes);
    if (n > per_round) {
        assert_int_equal(srv.range_max, per_round + 1u);
    } else {
        assert_int_equal(srv.range_lists, 0);
    }
    assert_exactly_once(POSTIE_FETCH_POP3, true);
}

static void test_batch_option(void **state)
{
    /* room in the state for every UIDL of the session (a full state
     * commits early: more rounds than the batch says) */
    size_t n = MSG_MAX < POSTIE_FETCH_UIDLS_MAX / 2u ? MSG_MAX : POSTIE_FETCH_UIDLS_MAX / 2u;
    (void)state;
    batch_run(0, n, POSTIE_FETCH_BATCH);
    batch_run(POSTIE_FETCH_BATCH + 1000u, n, POSTIE_FETCH_BATCH);
    batch_run(1, 5, 1);
    batch_run(5, n, POSTIE_FETCH_BATCH < 5u ? POSTIE_FETCH_BATCH : 5u);
    batch_run(POSTIE_FETCH_BATCH, n, POSTIE_FETCH_BATCH);
}

/* Crash at every occurrence of every point, then run again: each message
 * ends archived exactly once (and deleted in delete mode). */
static void crash_matrix_sink(postie_fetch_protocol_t protocol, bool del, bool with_flush)
{
    static const crash_point_t points[] = {
        CRASH_BEFORE_COMMIT, CRASH_AFTER_COMMIT, CRASH_BEFORE_SAVE,   CRASH_AFTER_SAVE,
        CRASH_BEFORE_REMOVE, CRASH_AFTER_REMOVE, CRASH_BEFORE_FINISH, CRASH_IN_DATA,
        CRASH_BEFORE_FLUSH,  CRASH_IN_FLUSH,     CRASH_AFTER_FLUSH,
    };
    int runs = 0;
    for (size_t p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
        for (int nth = 1; nth < 40; nth++) {
            postie_fetch_options_t o = opts(protocol, del);
            postie_status_t rc;
            reset(protocol, with_flush ? BATCH + 3u : 4u);
            arc.with_flush = with_flush;
            crash_at = points[p];
            crash_nth = nth;
            rc = fetch_once(&o);
            if (!crashed) {
                assert_int_equal(rc, POSTIE_OK);
                break; /* no such occurrence: every one was tried */
            }
            runs++;
            /* after a crash: a clean second run */
            crash_at = CRASH_NONE;
            crashed = false;
            if (points[p] == CRASH_AFTER_REMOVE && protocol == POSTIE_FETCH_IMAP) {
                /* already applied: nothing special */
            }
            assert_int_equal(fetch_once(&o), POSTIE_OK);
            assert_exactly_once(protocol, del);
            /* and a third finds nothing to do */
            assert_int_equal(fetch_once(&o), POSTIE_OK);
            assert_int_equal(run.report.archived, 0);
            assert_exactly_once(protocol, del);
        }
    }
    assert_true(runs >= 10);
}

/* Both sink forms: durable at commit, and group commit (flush), with a
 * crash at every point of either, also inside the flush with half the
 * batch made durable. */
static void crash_matrix(postie_fetch_protocol_t protocol, bool del)
{
    crash_matrix_sink(protocol, del, false);
    crash_matrix_sink(protocol, del, true);
}

static void test_crash_pop3_delete(void **state)
{
    (void)state;
    crash_matrix(POSTIE_FETCH_POP3, true);
}

static void test_crash_imap_delete(void **state)
{
    (void)state;
    crash_matrix(POSTIE_FETCH_IMAP, true);
}

static void test_crash_pop3_keep(void **state)
{
    (void)state;
    crash_matrix(POSTIE_FETCH_POP3, false);
}

static void test_crash_imap_keep(void **state)
{
    (void)state;
    crash_matrix(POSTIE_FETCH_IMAP, false);
}

/* Without contains(), the one message between commit and save is stored
 * twice, never lost: the documented limit. */
static void test_crash_without_contains(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    reset(POSTIE_FETCH_POP3, 3);
    arc.no_contains = true;
    crash_at = CRASH_AFTER_COMMIT;
    crash_nth = 2;
    assert_int_equal(fetch_once(&o), POSTIE_E_IO);
    crash_at = CRASH_NONE;
    crashed = false;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(arc.n, 3);
    assert_int_equal(arc_find("pop3-u2:/%x")->commits, 2);
    assert_int_equal(srv_present(), 0);
}

/* The sink refuses a write: nothing is removed, nothing lost; the run
 * stops with the sink's status. The next run archives everything. */
static void test_sink_write_failure(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    reset(POSTIE_FETCH_POP3, 4);
    arc.fail_write_at = 5; /* inside message 3 */
    assert_int_equal(fetch_once(&o), POSTIE_E_ARCHIVE_FAILED);
    /* one batch: stored 1 and 2 are committed, not recorded (no group
     * commit happened), nothing removed */
    assert_int_equal(run.report.archived, 0);
    assert_int_equal(arc.n, 2);
    assert_true(arc.aborts >= 1);
    assert_int_equal(srv_present(), 4);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_exactly_once(POSTIE_FETCH_POP3, true);
    assert_int_equal(run.report.already, 2);
}

/* The sink's commit fails: the message stays on the server; earlier
 * deletes become final (the session is finished). */
static void test_sink_commit_failure(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    reset(POSTIE_FETCH_POP3, 4);
    arc.fail_commit_at = 2;
    assert_int_equal(fetch_once(&o), POSTIE_E_ARCHIVE_FAILED);
    assert_string_equal(run.report.error.phase, "committing the message to the archive");
    assert_int_equal(run.report.archived, 0); /* the batch never reached its group commit */
    assert_int_equal(srv_present(), 4);
    assert_true(srv.closed);
    assert_true(strstr(sto.text, "clean 0\n") != NULL);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_exactly_once(POSTIE_FETCH_POP3, true);
}

/* The state cannot be saved after a commit: the message is not removed;
 * the next run finds it in the archive and does not store it again. */
static void test_state_save_failure(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_IMAP, true);
    (void)state;
    reset(POSTIE_FETCH_IMAP, 3);
    sto.fail_save_at = 2; /* 1: clean 0, 2: the batch (messages 1 to 3) */
    assert_int_equal(fetch_once(&o), POSTIE_E_FETCH_STATE);
    assert_int_equal(srv_present(), 3);
    assert_int_equal(arc.n, 3);
    /* the batch was durable before it was recorded: the finish's save (of
     * an unclean state) keeps the records; the next run removes them */
    assert_true(strstr(sto.text, "clean 0\n") != NULL);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.archived, 0);
    assert_int_equal(run.report.already, 3);
    assert_exactly_once(POSTIE_FETCH_IMAP, true);
    /* clean again: the next run asks the archive nothing */
    arc.contains_calls = 0;
    srv_add("Subject: x\r\n\r\nx\r\n");
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(arc.contains_calls, 0);
    assert_exactly_once(POSTIE_FETCH_IMAP, true);
}

/* The session drops inside a message: nothing stored, nothing removed. */
static void test_session_failure(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_IMAP, true);
    (void)state;
    reset(POSTIE_FETCH_IMAP, 3);
    srv.fail_retr_id = 2;
    assert_int_equal(fetch_once(&o), POSTIE_E_MESSAGE_TRUNCATED);
    assert_int_equal(arc.n, 1); /* committed, not recorded: contains finds it */
    assert_int_equal(arc.aborts, 1);
    assert_int_equal(srv_present(), 3);
    srv.fail_retr_id = 0;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_exactly_once(POSTIE_FETCH_IMAP, true);
}

/* UIDVALIDITY changes: reported, logged, the old state set aside, every
 * message in the folder archived again under new keys. */
static void test_uidvalidity_change(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_IMAP, false);
    (void)state;
    reset(POSTIE_FETCH_IMAP, 3);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(arc.n, 3);
    srv.uidvalidity = 999;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_true(run.report.uidvalidity_changed);
    assert_int_equal(run.report.old_uidvalidity, 777);
    assert_int_equal(run.report.uidvalidity, 999);
    assert_int_equal(run.report.archived, 3);
    assert_int_equal(sto.set_asides, 1);
    assert_true(strstr(sto.aside, "uidvalidity 777\n") != NULL);
    assert_true(strstr(sto.text, "uidvalidity 999\n") != NULL);
    assert_true(strstr(log_text, "UIDVALIDITY changed from 777 to 999") != NULL);
    assert_int_equal(arc.n, 6);
    assert_non_null(arc_find("imap-999-1"));
    /* and only once */
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_false(run.report.uidvalidity_changed);
    assert_int_equal(run.report.archived, 0);
}

/* A damaged state stops the run before anything is fetched and is never
 * overwritten. */
static void test_damaged_state(void **state)
{
    static const char *const damaged[] = {
        "",
        "postie-fetch-state 1\nprotocol pop3\nclean 1\n",           /* no end */
        "postie-fetch-state 1\nprotocol pop3\nclean 1\nend 0 0000", /* cut */
        "postie-fetch-state 2\nprotocol pop3\nclean 1\nend 0 00000000\n",
        "garbage\n",
    };
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        reset(POSTIE_FETCH_POP3, 3);
        sto.exists = true;
        sto.len = strlen(damaged[i]);
        memcpy(sto.text, damaged[i], sto.len);
        assert_int_equal(fetch_once(&o), POSTIE_E_FETCH_STATE);
        assert_int_equal(srv.retrieves, 0);
        assert_int_equal(srv.removes, 0);
        assert_int_equal(sto.saves, 0);
        assert_int_equal(srv_present(), 3);
        assert_true(srv.closed); /* logged out politely */
    }
    /* a state of the other protocol */
    reset(POSTIE_FETCH_POP3, 1);
    o = opts(POSTIE_FETCH_IMAP, true);
    srv.protocol = POSTIE_FETCH_IMAP;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    srv.protocol = POSTIE_FETCH_POP3;
    o = opts(POSTIE_FETCH_POP3, true);
    srv_add("x");
    assert_int_equal(fetch_once(&o), POSTIE_E_FETCH_STATE);
    assert_string_equal(run.report.error.subject, "the state is for IMAP");
}

/* Stop request: the message in hand is finished, the state saved, the
 * session finished; the next run goes on. */
static void test_stop(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    reset(POSTIE_FETCH_POP3, 5);
    stop_after = 2;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_true(run.report.stopped);
    assert_int_equal(run.report.archived, 2);
    assert_int_equal(srv_present(), 3);
    assert_true(srv.closed);
    stop_after = 0;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_exactly_once(POSTIE_FETCH_POP3, true);
}

/* size_max: larger messages stay on the server and are not recorded; in
 * IMAP the watermark stops below them and later UIDs go to the set. */
static void test_too_large(void **state)
{
    postie_fetch_options_t o = opts(POSTIE_FETCH_IMAP, false);
    (void)state;
    reset(POSTIE_FETCH_IMAP, 4);
    snprintf(srv.msg[1].data, sizeof(srv.msg[1].data), "%s",
             "Subject: big\r\n\r\nthis one is much larger than the others...\r\n");
    o.size_max = 40;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.too_large, 1);
    assert_int_equal(run.report.archived, 3);
    assert_true(strstr(sto.text, "watermark 1\nclean 1\nuid 3\nuid 4\n") != NULL);
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.too_large, 1);
    assert_int_equal(run.report.archived, 0);
    /* the size bound raised: it comes, and the watermark moves past all */
    o.size_max = 0;
    assert_int_equal(fetch_once(&o), POSTIE_OK);
    assert_int_equal(run.report.archived, 1);
    assert_true(strstr(sto.text, "watermark 4\nclean 1\nend 0 ") != NULL);
}

/* The state's text form: round trip, and every kind of damage refused. */
static void test_state_text(void **state)
{
    static postie_fetch_state_t st;
    static postie_fetch_state_t back;
    const char *why = NULL;
    char text[512];
    (void)state;

    postie_fetch_state_init(&st, POSTIE_FETCH_IMAP);
    st.uidvalidity = 1700000000u;
    assert_int_equal(postie_fetch_state_add_uid(&st, 41, true), POSTIE_OK);
    assert_int_equal(postie_fetch_state_add_uid(&st, 46, false), POSTIE_OK);
    assert_int_equal(postie_fetch_state_add_uid(&st, 45, false), POSTIE_OK);
    st.clean = true;
    scratch_len = 0;
    assert_int_equal(postie_fetch_state_format(&st, collect, NULL), POSTIE_OK);
    memcpy(text, scratch, scratch_len);
    text[scratch_len] = '\0';
    assert_non_null(strstr(text, "postie-fetch-state 1\nprotocol imap\nuidvalidity 1700000000\n"
                                 "watermark 41\nclean 1\nuid 45\nuid 46\nend 2 "));
    assert_int_equal(postie_fetch_state_parse(&back, text, scratch_len, &why), POSTIE_OK);
    assert_int_equal(back.watermark, 41);
    assert_int_equal(back.count, 2);
    assert_true(postie_fetch_state_has_uid(&back, 46));
    assert_false(postie_fetch_state_has_uid(&back, 44));
    assert_true(postie_fetch_state_has_uid(&back, 7));

    /* every single-octet change and every truncation is refused */
    for (size_t i = 0; i < scratch_len; i++) {
        char copy[512];
        memcpy(copy, text, scratch_len);
        copy[i] = (char)(copy[i] ^ 0x01);
        assert_int_equal(postie_fetch_state_parse(&back, copy, scratch_len, NULL),
                         POSTIE_E_FETCH_STATE);
        assert_int_equal(postie_fetch_state_parse(&back, text, i, NULL), POSTIE_E_FETCH_STATE);
    }
    /* byte by byte through the parser */
    {
        postie_fetch_state_parser_t p;
        postie_fetch_state_parse_begin(&p, &back);
        for (size_t i = 0; i < scratch_len; i++) {
            assert_int_equal(postie_fetch_state_parse_feed(&p, text + i, 1), POSTIE_OK);
        }
        assert_int_equal(postie_fetch_state_parse_end(&p), POSTIE_OK);
        assert_int_equal(back.count, 2);
    }

    /* POP3 */
    postie_fetch_state_init(&st, POSTIE_FETCH_POP3);
    assert_int_equal(postie_fetch_state_add_uidl(&st, "abc"), POSTIE_OK);
    assert_int_equal(postie_fetch_state_add_uidl(&st, "d:e/f"), POSTIE_OK);
    assert_int_equal(postie_fetch_state_add_uidl(&st, "abc"), POSTIE_OK);
    assert_int_equal(postie_fetch_state_add_uidl(&st, "bad uidl"), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_fetch_state_add_uidl(&st, ""), POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(st.count, 2);
    scratch_len = 0;
    assert_int_equal(postie_fetch_state_format(&st, collect, NULL), POSTIE_OK);
    assert_int_equal(postie_fetch_state_parse(&back, scratch, scratch_len, NULL), POSTIE_OK);
    assert_true(postie_fetch_state_has_uidl(&back, "d:e/f"));
    /* sweep: what a complete listing did not show goes */
    postie_fetch_state_mark_begin(&back);
    postie_fetch_state_mark_uidl(&back, "d:e/f");
    assert_int_equal(postie_fetch_state_sweep(&back, 0), 1);
    assert_false(postie_fetch_state_has_uidl(&back, "abc"));
    assert_true(postie_fetch_state_has_uidl(&back, "d:e/f"));

    /* hand-made damage */
    {
        static const char *const bad[] = {
            "postie-fetch-state 1\nprotocol imap\nuidvalidity 1\nwatermark 5\nclean 1\nuid 5\n",
            "postie-fetch-state 1\nprotocol imap\nuidvalidity 01\nwatermark 5\nclean 1\n",
            "postie-fetch-state 1\nprotocol imap\nuidvalidity 4294967296\nwatermark 5\nclean 1\n",
            "postie-fetch-state 1\nprotocol pop3\nclean 1\nuidl a\nuidl a\n",
            "postie-fetch-state 1\nprotocol pop3\nclean 2\n",
            "postie-fetch-state 1\r\nprotocol pop3\r\nclean 1\r\n",
            "postie-fetch-state 1\nprotocol smtp\nclean 1\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char copy[512];
            size_t len = strlen(bad[i]);
            uint32_t h = 2166136261u;
            /* a correct end line, so only the damage above is refused */
            for (size_t k = 0; k < len; k++) {
                h ^= (uint8_t)bad[i][k];
                h *= 16777619u;
            }
            snprintf(copy, sizeof(copy), "%send 1 %08x\n", bad[i], (unsigned)h);
            assert_int_equal(postie_fetch_state_parse(&back, copy, strlen(copy), &why),
                             POSTIE_E_FETCH_STATE);
        }
    }
}

/* The callback sink for firmware: order checks, size bound, failures. */
static int cb_log[8];
static bool cb_fail_append;
static bool cb_open(void *ctx, const char *key, uint64_t size)
{
    (void)ctx;
    (void)size;
    cb_log[0]++;
    return strcmp(key, "refuse") != 0;
}
static bool cb_append(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    cb_log[1] += (int)len;
    return !cb_fail_append;
}
static bool cb_persist(void *ctx)
{
    (void)ctx;
    cb_log[2]++;
    return true;
}
static void cb_discard(void *ctx)
{
    (void)ctx;
    cb_log[3]++;
}
static bool cb_exists(void *ctx, const char *key, bool *found)
{
    (void)ctx;
    *found = strcmp(key, "there") == 0;
    return true;
}

static void test_callback_sink(void **state)
{
    static const postie_archive_callbacks_t cbs = {cb_open, cb_append, cb_persist, cb_discard,
                                                   cb_exists};
    static const postie_archive_callbacks_t cbs_nc = {cb_open, cb_append, cb_persist, cb_discard,
                                                      NULL};
    postie_archive_cb_t cs;
    postie_archive_t sink;
    bool found;
    (void)state;
    memset(cb_log, 0, sizeof(cb_log));
    postie_archive_cb_init(&cs, &cbs, NULL, 10, &sink);
    assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"x", 1), POSTIE_E_BAD_STATE);
    assert_int_equal(sink.ops->begin(sink.ctx, "k", 5), POSTIE_OK);
    assert_int_equal(sink.ops->begin(sink.ctx, "k", 5), POSTIE_E_BAD_STATE);
    assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"12345", 5), POSTIE_OK);
    assert_int_equal(sink.ops->commit(sink.ctx), POSTIE_OK);
    assert_int_equal(cs.octets, 5);
    /* over size_max */
    assert_int_equal(sink.ops->begin(sink.ctx, "k2", 0), POSTIE_OK);
    assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"123456", 6), POSTIE_OK);
    assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"12345", 5),
                     POSTIE_E_MESSAGE_TOO_LARGE);
    assert_int_equal(sink.ops->commit(sink.ctx), POSTIE_E_BAD_STATE);
    sink.ops->abort(sink.ctx);
    assert_int_equal(cb_log[3], 1);
    /* the board refuses */
    assert_int_equal(sink.ops->begin(sink.ctx, "refuse", 0), POSTIE_E_ARCHIVE_FAILED);
    cb_fail_append = true;
    assert_int_equal(sink.ops->begin(sink.ctx, "k3", 0), POSTIE_OK);
    assert_int_equal(sink.ops->write(sink.ctx, (const uint8_t *)"1", 1), POSTIE_E_ARCHIVE_FAILED);
    sink.ops->abort(sink.ctx);
    cb_fail_append = false;
    assert_int_equal(sink.ops->contains(sink.ctx, "there", &found), POSTIE_OK);
    assert_true(found);
    assert_int_equal(sink.ops->contains(sink.ctx, "elsewhere", &found), POSTIE_OK);
    assert_false(found);
    postie_archive_cb_init(&cs, &cbs_nc, NULL, 0, &sink);
    assert_null(sink.ops->contains);
}

/* A fetch run into the callback sink, end to end. */
static void test_callback_sink_run(void **state)
{
    static const postie_archive_callbacks_t cbs = {cb_open, cb_append, cb_persist, cb_discard,
                                                   cb_exists};
    postie_archive_cb_t cs;
    postie_archive_t sink;
    postie_fetch_store_t store = {&sto_ops, NULL};
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    reset(POSTIE_FETCH_POP3, 3);
    memset(cb_log, 0, sizeof(cb_log));
    postie_archive_cb_init(&cs, &cbs, NULL, 0, &sink);
    srv_open();
    assert_int_equal(postie_fetch_init(&run, &o, &fake_ops, NULL, &store, &sink), POSTIE_OK);
    for (int guard = 0; guard < 1000; guard++) {
        postie_fetch_action_t act = postie_fetch_next(&run, 0);
        int ev;
        postie_status_t evst;
        if (act.type == POSTIE_FETCH_DONE) {
            assert_int_equal(act.status, POSTIE_OK);
            break;
        }
        while (srv_step(&ev, &evst)) {
            if (ev != 0) {
                postie_fetch_event(&run, ev, evst, 0);
            }
            if (ev == act.event) {
                break;
            }
        }
    }
    assert_int_equal(cb_log[2], 3);
    assert_int_equal(srv_present(), 0);
}

static void test_bad_options(void **state)
{
    postie_fetch_store_t store = {&sto_ops, NULL};
    postie_archive_t sink = {&arc_ops, NULL};
    postie_fetch_options_t o = opts(POSTIE_FETCH_POP3, true);
    (void)state;
    o.key_prefix = "has space";
    assert_int_equal(postie_fetch_init(&run, &o, &fake_ops, NULL, &store, &sink),
                     POSTIE_E_INVALID_ARGUMENT);
    assert_int_equal(postie_fetch_next(&run, 0).type, POSTIE_FETCH_DONE);
    o.key_prefix = "acct.";
    assert_int_equal(postie_fetch_init(&run, &o, &fake_ops, NULL, &store, &sink), POSTIE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pop3_delete),
        cmocka_unit_test(test_imap_delete),
        cmocka_unit_test(test_pop3_keep),
        cmocka_unit_test(test_imap_keep),
        cmocka_unit_test(test_many_rounds),
        cmocka_unit_test(test_later_rounds_list_a_range),
        cmocka_unit_test(test_state_full),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_crash_pop3_delete),
        cmocka_unit_test(test_crash_imap_delete),
        cmocka_unit_test(test_crash_pop3_keep),
        cmocka_unit_test(test_crash_imap_keep),
        cmocka_unit_test(test_crash_without_contains),
        cmocka_unit_test(test_sink_write_failure),
        cmocka_unit_test(test_sink_commit_failure),
        cmocka_unit_test(test_state_save_failure),
        cmocka_unit_test(test_session_failure),
        cmocka_unit_test(test_uidvalidity_change),
        cmocka_unit_test(test_damaged_state),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_state_text),
        cmocka_unit_test(test_callback_sink),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_batch_option),
        cmocka_unit_test(test_refill_at_half),
        cmocka_unit_test(test_callback_sink_run),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
