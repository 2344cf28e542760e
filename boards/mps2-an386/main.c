/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Postie's example firmware for QEMU's mps2-an386 (Cortex-M4): a network
 * appliance that sends a notification through a named mail session.
 *
 *  1. boot: console, clock, the LAN9118 and lwIP (bare metal, NO_SYS=1)
 *     with the address QEMU's user networking expects (10.0.2.15/24,
 *     gateway 10.0.2.2);
 *  2. load the registry held in flash (JSON text in .rodata, parsed with
 *     cJSON on a static arena) and look up java:comp/env/mail/Notify;
 *  3. compose a notification on behalf of an acting user (the session's
 *     From-name template and subject prefix) and queue it in the RAM queue;
 *  4. deliver the queue: the delivery run (postie/queue/delivery.h) says
 *     what to do, the SMTP engine runs over lwIP's raw TCP API through the
 *     event-driven runner, STARTTLS with the CA blob in flash; a transient
 *     failure (4xx) leaves the message queued and the run is repeated when
 *     the retry is due, until the queue is empty or POSTIE_BOARD_DEADLINE_S
 *     is over;
 *  5. print the TLS arena's high-water mark and "postie: done status=ok"
 *     (or status=failed), then idle.
 *
 * Every step is a console line. Nothing is allocated: every object below
 * is static, mbedTLS runs from tls_arena, lwIP from its own static pools.
 *
 * The server: the registry names "localhost", the name the server's
 * certificate carries. The board's hosts table maps it to 10.0.2.2, the
 * address QEMU's user networking gives the host's loopback, so the TCP
 * connection goes to 10.0.2.2 while the certificate is checked for
 * "localhost" (as `curl --connect-to` does).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "mbedtls/sha256.h"

#include "postie/common/clock.h"
#include "postie/common/driver_smtp.h"
#include "postie/common/entropy.h"
#include "postie/common/runner.h"
#include "postie/common/version.h"
#include "postie/lwip/tcp_raw.h"
#include "postie/mbedtls/tls.h"
#include "postie/mime/mime.h"
#include "postie/queue/delivery.h"
#include "postie/queue/queue.h"
#include "postie/session/registry_json.h"
#include "postie/session/session_map.h"
#include "postie/smtp/smtp.h"

#include "board.h"
#include "lan9118.h"

/* ---- what build.sh puts in flash (board_data.c) ---------------------------------- */

extern const char board_registry_json[];
extern const size_t board_registry_json_size;
extern const uint8_t board_ca_blob[];
extern const size_t board_ca_blob_size;

/* ---- the demo's settings ------------------------------------------------------- */

#ifndef POSTIE_BOARD_SESSION
#define POSTIE_BOARD_SESSION "java:comp/env/mail/Notify"
#endif
#ifndef POSTIE_BOARD_NOTIFY_TO
#define POSTIE_BOARD_NOTIFY_TO "bob@example.test"
#endif
#ifndef POSTIE_BOARD_DEADLINE_S
#define POSTIE_BOARD_DEADLINE_S 120u /* give up on the queue after this long */
#endif
#ifndef POSTIE_BOARD_TLS_ARENA
#define POSTIE_BOARD_TLS_ARENA (48u * 1024u)
#endif
#ifndef POSTIE_BOARD_QUEUE_RAM
#define POSTIE_BOARD_QUEUE_RAM (32u * 1024u)
#endif

/* The acting user: a notification sent on their behalf. */
static const postie_template_user_t acting_user = {
    .fullname = "山田 太郎",
    .email = "taro.yamada@example.test",
};
static const char notify_subject[] = "Disk 2 of volume1 is failing";
static const char notify_text[] = "Hello,\n"
                                  "\n"
                                  "山田 太郎 asked NAS-01 to tell you: disk 2 of volume1 reports\n"
                                  "reallocated sectors (SMART attribute 5 over its threshold).\n"
                                  "Replace it soon.\n"
                                  "\n"
                                  "-- \n"
                                  "NAS-01 (mps2-an386)\n";

/* The board's hosts table: server names the firmware connects to by
 * another address. QEMU's user networking maps 10.0.2.2 to the host's
 * 127.0.0.1. */
static const struct {
    const char *name;
    const char *address;
} hosts[] = {
    {"localhost", "10.0.2.2"},
};

static const char *host_address(const char *name)
{
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        if (strcmp(hosts[i].name, name) == 0) {
            return hosts[i].address;
        }
    }
    return name;
}

/* ---- static storage --------------------------------------------------------------- */

static struct netif netif;
static postie_registry_t registry;
static uint8_t registry_arena[POSTIE_REGISTRY_ARENA_SIZE] __attribute__((aligned(16)));
static uint8_t tls_arena[POSTIE_BOARD_TLS_ARENA] __attribute__((aligned(16)));
static uint8_t queue_mem[POSTIE_BOARD_QUEUE_RAM] __attribute__((aligned(8)));
static postie_queue_ram_t queue_ram;
static postie_queue_t queue;
static postie_mime_writer_t writer;
static postie_message_t message;
static postie_queue_entry_t scratch_entry; /* an entry looked at outside a run */

#define RUN_CAP 8u

typedef enum {
    P_RUN,     /* ask the delivery run what to do next */
    P_CONNECT, /* TCP connecting */
    P_OPEN,    /* greeting, EHLO, STARTTLS, EHLO */
    P_SEND,    /* one message */
    P_CLOSE,   /* QUIT */
    P_WAIT,    /* the run is over; messages wait for their retry */
    P_FINISHED
} phase_t;

typedef struct {
    phase_t phase;
    postie_delivery_t run;
    postie_queue_id_t work[POSTIE_DELIVERY_WORK(RUN_CAP)];
    unsigned runs;
    int64_t wait_until;
    /* the session */
    const postie_session_t *session;
    postie_session_connection_t conn;
    const char *address;
    postie_lwip_tcp_t tcp;
    postie_tls_t tls;
    postie_tls_config_t tls_cfg;
    bool tls_init;
    bool tls_begun;
    uint32_t tls_start;
    postie_smtp_t smtp;
    postie_runner_t runner;
    uint8_t stage[1024];
    bool data_sent;
    bool rset;                   /* a failed message's RSET is being answered */
    postie_status_t sent_status; /* the message's outcome, kept across the RSET */
    postie_error_t sent_why;
    unsigned sessions;
    size_t arena_max; /* the highest high-water mark of any session */
    bool ok;
} app_t;

static app_t app;

/* ---- small helpers ---------------------------------------------------------------- */

static int64_t now_s(void)
{
    return board_wall_clock();
}

static uint32_t random32(void)
{
    uint32_t r = 0;
    (void)postie_entropy_fill((uint8_t *)&r, sizeof(r));
    return r;
}

static void log_error(const char *what, postie_status_t st, const postie_error_t *e)
{
    if (e == NULL) {
        board_log("%s: %s", what, postie_status_str(st));
    } else if (e->reply.code != 0) {
        board_log("%s: %s (%s): %u %s%s%s", what, postie_status_str(st),
                  e->phase != NULL ? e->phase : "", e->reply.code, e->reply.enhanced,
                  e->reply.enhanced[0] != '\0' ? " " : "", e->reply.text);
    } else {
        board_log("%s: %s (%s%s%s%s%s)", what, postie_status_str(st),
                  e->phase != NULL ? e->phase : "", e->subject[0] != '\0' ? ": " : "", e->subject,
                  e->reply.text[0] != '\0' ? ": " : "", e->reply.text);
    }
}

/* The SMTP engine's transcript on the console (credentials never reach it). */
static void smtp_log(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    (void)ctx;
    board_log("%s %.*s",
              dir == POSTIE_LOG_SENT       ? "C:"
              : dir == POSTIE_LOG_RECEIVED ? "S:"
                                           : "  ",
              (int)(len > 400u ? 400u : len), line);
}

/* ---- the network ------------------------------------------------------------------ */

u32_t sys_now(void)
{
    return postie_clock_ms();
}

static bool net_up(void)
{
    ip4_addr_t ip, mask, gw;
    IP4_ADDR(&ip, 10, 0, 2, 15);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 10, 0, 2, 2);
    lwip_init();
    if (netif_add(&netif, &ip, &mask, &gw, NULL, lan9118_netif_init, ethernet_input) == NULL) {
        board_log("net: no LAN9118 at 0x%08" PRIx32, (uint32_t)LAN9118_BASE);
        return false;
    }
    netif_set_default(&netif);
    netif_set_up(&netif);
    board_log("net: LAN9118 (id 0x%08" PRIx32 ") at 0x%08" PRIx32
              ", MAC %02x:%02x:%02x:%02x:%02x:%02x, lwIP %s",
              lan9118_id(), (uint32_t)LAN9118_BASE, netif.hwaddr[0], netif.hwaddr[1],
              netif.hwaddr[2], netif.hwaddr[3], netif.hwaddr[4], netif.hwaddr[5],
              LWIP_VERSION_STRING);
    board_log("net: address 10.0.2.15/24, gateway 10.0.2.2 (QEMU user networking)");
    return true;
}

/* ---- registry and message --------------------------------------------------------- */

static const postie_session_t *load_registry(void)
{
    const postie_session_t *s;
    postie_status_t st =
        postie_registry_load(&registry, board_registry_json, board_registry_json_size,
                             registry_arena, sizeof(registry_arena), NULL);
    if (st != POSTIE_OK) {
        board_log("registry: %s", postie_status_str(st));
        for (size_t i = 0; i < registry.problem_count; i++) {
            board_log("registry: %s: %s", registry.problems[i].path, registry.problems[i].message);
        }
        return NULL;
    }
    board_log("registry: %u octets of JSON in flash at %p, loaded: %u sessions",
              (unsigned)board_registry_json_size, (const void *)board_registry_json,
              (unsigned)registry.session_count);
    s = postie_registry_session(&registry, POSTIE_BOARD_SESSION);
    if (s == NULL) {
        board_log("registry: no session %s", POSTIE_BOARD_SESSION);
        return NULL;
    }
    board_log("registry: %s -> %s port %u, tls %s", POSTIE_BOARD_SESSION, s->ep.host,
              (unsigned)s->ep.port, s->ep.tls == POSTIE_TLS_NONE ? "none" : "starttls");
    return s;
}

/* Message size: the writer run once to count its octets. */
static postie_status_t message_size(uint64_t *size)
{
    uint8_t buf[256];
    size_t got;
    postie_status_t st = postie_mime_init(&writer, &message);
    *size = 0;
    while (st == POSTIE_OK) {
        st = postie_mime_read(&writer, buf, sizeof(buf), &got);
        if (st == POSTIE_OK && got == 0) {
            return POSTIE_OK;
        }
        *size += got;
    }
    return st;
}

static char from_name[POSTIE_MIME_FIELD_MAX + 1];
static char subject[POSTIE_MIME_SUBJECT_MAX + 1];
static const postie_mailbox_t notify_to = {NULL, POSTIE_BOARD_NOTIFY_TO};

static bool queue_notification(const postie_session_t *s)
{
    postie_session_message_t def;
    postie_queue_message_t qm;
    const char *rcpt[1] = {POSTIE_BOARD_NOTIFY_TO};
    postie_queue_id_t id;
    char id_text[POSTIE_QUEUE_ID_TEXT];
    postie_error_t err;
    postie_status_t st;
    uint64_t size;

    st = postie_session_map_message(s, &acting_user, notify_subject, from_name, sizeof(from_name),
                                    subject, sizeof(subject), &def);
    if (st != POSTIE_OK) {
        board_log("message: %s (field %d)", postie_status_str(st), (int)def.failed);
        return false;
    }
    board_log("message: from \"%s\" <%s>, envelope <%s>",
              def.from_name != NULL ? def.from_name : "", def.from, def.envelope_from);
    board_log("message: to <%s>, subject \"%s\"", POSTIE_BOARD_NOTIFY_TO, def.subject);
    memset(&message, 0, sizeof(message));
    message.from.name = def.from_name;
    message.from.address = def.from;
    message.to = &notify_to;
    message.to_count = 1;
    message.subject = def.subject;
    message.text = (const uint8_t *)notify_text;
    message.text_len = sizeof(notify_text) - 1u;
    message.date = now_s();
    message.utc_offset_min = 0;
    if (postie_entropy_fill(message.entropy, sizeof(message.entropy)) != POSTIE_OK) {
        board_log("message: no entropy");
        return false;
    }
    st = message_size(&size);
    if (st != POSTIE_OK) {
        log_error("message", st, postie_mime_error(&writer));
        return false;
    }

    /* the same message again (same date and entropy), into the queue */
    st = postie_mime_init(&writer, &message);
    if (st != POSTIE_OK) {
        log_error("message", st, postie_mime_error(&writer));
        return false;
    }
    memset(&qm, 0, sizeof(qm));
    qm.session = POSTIE_BOARD_SESSION;
    qm.from = def.envelope_from;
    qm.rcpt = rcpt;
    qm.rcpt_count = 1;
    qm.size = size;
    qm.body_8bit = postie_mime_needs_8bit(&writer);
    qm.smtputf8 = false;
    st = postie_queue_enqueue(&queue, &qm, postie_mime_read, &writer, now_s(), random32(), &id,
                              &err);
    if (st != POSTIE_OK) {
        log_error("queue", st, &err);
        return false;
    }
    postie_queue_id_format(id, id_text);
    board_log("queue: %s queued in RAM (%u octets of message)", id_text, (unsigned)size);
    return true;
}

/* The queued message's octets and their SHA-256, for the test to compare
 * with what reached the mailbox. */
static void log_queued_digest(void)
{
    postie_queue_id_t ids[4];
    size_t total = 0;
    postie_queue_entry_t *e = &scratch_entry;
    postie_queue_body_reader_t r;
    mbedtls_sha256_context sha;
    uint8_t buf[256], digest[32];
    char hex[65];
    size_t got;
    if (postie_queue_list(&queue, ids, 4, &total) != POSTIE_OK || total == 0 ||
        postie_queue_load(&queue, ids[0], false, e, NULL) != POSTIE_OK) {
        return;
    }
    postie_queue_body_reader_init(&r, &queue, e);
    mbedtls_sha256_init(&sha);
    (void)mbedtls_sha256_starts(&sha, 0);
    while (postie_queue_body_read(&r, buf, sizeof(buf), &got) == POSTIE_OK && got > 0) {
        (void)mbedtls_sha256_update(&sha, buf, got);
    }
    (void)mbedtls_sha256_finish(&sha, digest);
    mbedtls_sha256_free(&sha);
    postie_queue_release(&queue, e);
    for (size_t i = 0; i < 32; i++) {
        (void)snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
    board_log("message-sha256: %s", hex);
}

/* ---- one session over lwIP -------------------------------------------------------- */

static void wake(void *ctx)
{
    (void)ctx; /* the main loop steps everything; lwIP's callbacks only record */
}

static postie_status_t tls_step(postie_transport_t *lower, uint32_t now)
{
    postie_status_t st;
    if (!app.tls_init) {
        st = postie_tls_init(&app.tls, lower, &app.tls_cfg);
        app.tls_init = true;
        if (st != POSTIE_OK) {
            log_error("tls", st, &app.tls.last_error);
            return st;
        }
    }
    if (!app.tls_begun) {
        board_log("tls: handshake with %s (verify against the CA blob in flash, %u octets)",
                  app.conn.host, (unsigned)board_ca_blob_size);
        st = postie_tls_handshake_begin(&app.tls, app.conn.host);
        if (st != POSTIE_OK) {
            return st;
        }
        app.tls_begun = true;
        app.tls_start = now;
    }
    st = postie_tls_handshake_step(&app.tls);
    if (st == POSTIE_E_AGAIN && now - app.tls_start >= app.conn.connect_timeout_ms) {
        st = POSTIE_E_TIMEOUT;
    }
    if (st == POSTIE_OK) {
        postie_tls_info_t info;
        postie_tls_get_info(&app.tls, &info);
        board_log("tls: %s %s, server certificate \"%s\" verified (valid until %s)", info.version,
                  info.cipher, info.peer_subject, info.peer_not_after);
    } else if (st != POSTIE_E_AGAIN) {
        log_error("tls", st, &app.tls.last_error);
    }
    return st;
}

static postie_status_t starttls_hook(void *ctx, postie_transport_t *lower,
                                     postie_transport_t **upgraded, uint32_t now)
{
    postie_status_t st;
    (void)ctx;
    st = tls_step(lower, now);
    if (st == POSTIE_OK) {
        *upgraded = postie_tls_transport(&app.tls);
    }
    return st;
}

static void on_event(void *ctx, const postie_engine_event_t *ev)
{
    (void)ctx;
    if (ev->type == (int)POSTIE_SMTP_EV_DATA_SENT) {
        app.data_sent = true;
    }
}

/* Close whatever is open and note the session's arena use. */
static void session_end(void)
{
    size_t hw;
    if (app.tls_init) {
        postie_tls_free(&app.tls); /* close_notify, then closes the TCP transport */
        app.tls_init = false;
    } else {
        postie_transport_close(&app.tcp.base);
    }
    hw = postie_tls_arena_high_water();
    if (hw > app.arena_max) {
        app.arena_max = hw;
    }
    board_log("session %u: closed; TLS arena high-water %u of %u octets", app.sessions,
              (unsigned)hw, (unsigned)sizeof(tls_arena));
}

static void start_open(const char *name)
{
    postie_error_t why;
    postie_status_t st;
    postie_error_clear(&why);
    app.session = postie_registry_session(&registry, name);
    if (app.session == NULL) {
        why.status = POSTIE_E_NOT_FOUND;
        why.phase = "session";
        board_log("run: no session %s in the registry", name);
        (void)postie_delivery_report_open(&app.run, why.status, &why);
        return;
    }
    postie_session_map_defaults(&app.conn);
    st = postie_session_map_connection(app.session, NULL, &app.conn);
    if (st != POSTIE_OK) {
        why.status = st;
        why.phase = "session";
        log_error("run", st, &why);
        (void)postie_delivery_report_open(&app.run, st, &why);
        return;
    }
    app.conn.smtp.log = smtp_log;
    app.sessions++;
    postie_tls_arena_reset_high_water();
    memset(&app.tls_cfg, 0, sizeof(app.tls_cfg));
    app.tls_cfg.ca_blob = board_ca_blob;
    app.tls_cfg.ca_blob_len = board_ca_blob_size;
    app.tls_cfg.verify_name = app.conn.host;
    app.tls_cfg.insecure_skip_verify = !app.conn.verify;
    app.tls_init = false;
    app.tls_begun = false;
    app.address = host_address(app.conn.host);
    board_log("session %u: connect to %s port %u (%s, via %s)", app.sessions, app.conn.host,
              (unsigned)app.conn.port, name, app.address);
    postie_lwip_tcp_init(&app.tcp, wake, &app);
    st = postie_lwip_tcp_start(&app.tcp, app.address, app.conn.port, app.conn.connect_timeout_ms);
    if (st != POSTIE_E_AGAIN) {
        why.status = st;
        why.phase = "connect";
        log_error("connect", st, &why);
        session_end();
        (void)postie_delivery_report_open(&app.run, st, &why);
        return;
    }
    app.phase = P_CONNECT;
}

static void step_connect(void)
{
    const postie_runner_hooks_t hooks = {.tls_step = starttls_hook, .event = on_event, .ctx = &app};
    postie_status_t st = postie_lwip_tcp_status(&app.tcp);
    postie_error_t why;
    if (st == POSTIE_E_AGAIN) {
        return;
    }
    if (st != POSTIE_OK) {
        postie_error_clear(&why);
        why.status = st;
        why.phase = "connect";
        log_error("connect", st, &why);
        session_end();
        (void)postie_delivery_report_open(&app.run, st, &why);
        app.phase = P_RUN;
        return;
    }
    board_log("session %u: TCP connected", app.sessions);
    st = postie_smtp_init(&app.smtp, &app.conn.smtp, postie_clock_ms());
    if (st != POSTIE_OK) {
        log_error("smtp", st, postie_smtp_error(&app.smtp));
        session_end();
        (void)postie_delivery_report_open(&app.run, st, postie_smtp_error(&app.smtp));
        app.phase = P_RUN;
        return;
    }
    postie_runner_init(&app.runner, &postie_driver_smtp_ops, &app.smtp, &app.tcp.base, app.stage,
                       sizeof(app.stage), &hooks);
    postie_runner_set_goal(&app.runner, POSTIE_SMTP_READY, 0);
    app.phase = P_OPEN;
}

static void step_open(void)
{
    postie_status_t st = postie_runner_step(&app.runner);
    if (st == POSTIE_E_AGAIN) {
        return;
    }
    if (st != POSTIE_OK) {
        log_error("session", st, postie_smtp_error(&app.smtp));
        session_end();
        (void)postie_delivery_report_open(&app.run, st, postie_smtp_error(&app.smtp));
    } else {
        board_log("session %u: ready", app.sessions);
        (void)postie_delivery_report_open(&app.run, POSTIE_OK, NULL);
    }
    app.phase = P_RUN;
}

static void start_send(const postie_delivery_action_t *act)
{
    char id_text[POSTIE_QUEUE_ID_TEXT];
    postie_status_t st;
    postie_queue_id_format(act->id, id_text);
    board_log("send: %s from the RAM queue", id_text);
    app.data_sent = false;
    app.rset = false;
    st = postie_smtp_send(&app.smtp, act->envelope, postie_clock_ms());
    if (st != POSTIE_OK) {
        postie_delivery_result_t res;
        postie_error_t why;
        postie_error_clear(&why);
        why.status = st;
        why.phase = "envelope";
        memset(&res, 0, sizeof(res));
        res.status = st;
        res.why = &why;
        log_error("send", st, &why);
        (void)postie_delivery_report_sent(&app.run, &res);
        return;
    }
    postie_runner_set_body(&app.runner, act->read, act->read_ctx);
    postie_runner_set_goal(&app.runner, 0, POSTIE_SMTP_EV_MESSAGE_DONE);
    app.phase = P_SEND;
}

static void step_send(void)
{
    postie_delivery_result_t res;
    const postie_error_t *why;
    postie_status_t st = postie_runner_step(&app.runner);
    if (st == POSTIE_E_AGAIN) {
        return;
    }
    if (!app.rset && (st == POSTIE_OK || postie_runner_reached(&app.runner))) {
        app.sent_status = postie_smtp_message_result(&app.smtp)->status;
        app.sent_why = *postie_smtp_message_result(&app.smtp);
        if (st == POSTIE_OK && postie_smtp_phase(&app.smtp) == POSTIE_SMTP_PHASE_RSET) {
            /* a failed message: let its RSET finish so the session stays usable */
            app.rset = true;
            postie_runner_set_goal(&app.runner, POSTIE_SMTP_READY, 0);
            return;
        }
    } else if (!app.rset) {
        app.sent_status = st;
        app.sent_why = *postie_smtp_error(&app.smtp);
    }
    app.rset = false;
    why = &app.sent_why;
    memset(&res, 0, sizeof(res));
    res.status = app.sent_status;
    res.why = why;
    res.data_sent = app.data_sent;
    res.session_ended = postie_smtp_phase(&app.smtp) != POSTIE_SMTP_PHASE_READY;
    if (res.status == POSTIE_OK) {
        board_log("send: accepted: %u %s %s", why->reply.code, why->reply.enhanced,
                  why->reply.text);
        board_log("final-reply: %u %s %s", why->reply.code, why->reply.enhanced, why->reply.text);
    } else {
        log_error("send: not delivered", res.status, why);
    }
    (void)postie_delivery_report_sent(&app.run, &res);
    app.phase = P_RUN;
}

static void start_close(void)
{
    if (postie_smtp_phase(&app.smtp) == POSTIE_SMTP_PHASE_READY &&
        postie_smtp_quit(&app.smtp, postie_clock_ms()) == POSTIE_OK) {
        postie_runner_set_goal(&app.runner, POSTIE_SMTP_CLOSED, 0);
        app.phase = P_CLOSE;
        return;
    }
    session_end();
    app.phase = P_RUN;
}

static void step_close(void)
{
    postie_status_t st = postie_runner_step(&app.runner);
    if (st == POSTIE_E_AGAIN) {
        return;
    }
    session_end();
    app.phase = P_RUN;
}

/* ---- the delivery run ------------------------------------------------------------- */

static void on_progress(void *ctx, const postie_run_summary_t *sum, postie_queue_id_t id,
                        const postie_queue_outcome_t *out, const char *error)
{
    char id_text[POSTIE_QUEUE_ID_TEXT];
    (void)ctx;
    (void)sum;
    postie_queue_id_format(id, id_text);
    if (out == NULL) {
        board_log("queue: %s not tried%s%s", id_text, error[0] != '\0' ? ": " : "", error);
        return;
    }
    board_log("queue: %s %s (%u delivered, %u failed, %u pending)%s%s", id_text,
              postie_queue_state_name(out->state), out->delivered, out->failed, out->pending,
              error[0] != '\0' ? ": " : "", error);
}

static void run_start(void)
{
    postie_delivery_options_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.mode = POSTIE_RUN_DUE;
    opt.progress = on_progress;
    app.runs++;
    board_log("run %u: delivering what is due in the RAM queue", app.runs);
    postie_delivery_init(&app.run, &queue, &opt, app.work, RUN_CAP, now_s());
    app.phase = P_RUN;
}

/* After a run: finished when the queue is empty, else wait for the first
 * retry that is due. */
static void run_over(const postie_delivery_action_t *act)
{
    const postie_run_summary_t *sum = postie_delivery_summary(&app.run);
    postie_queue_id_t ids[RUN_CAP];
    size_t total = 0;
    postie_queue_entry_t *e = &scratch_entry;
    uint32_t attempts = 0;
    int64_t next = 0;
    board_log("run %u: over (%s): %u delivered, %u to retry, %u failed", app.runs,
              postie_status_str(act->status), (unsigned)sum->delivered, (unsigned)sum->retry,
              (unsigned)sum->failed);
    if (postie_queue_list(&queue, ids, RUN_CAP, &total) != POSTIE_OK) {
        total = 0;
    }
    for (size_t i = 0; i < total && i < RUN_CAP; i++) {
        if (postie_queue_load(&queue, ids[i], false, e, NULL) != POSTIE_OK) {
            continue;
        }
        if (e->slot.state == POSTIE_QSTATE_QUEUED && (next == 0 || e->slot.next_attempt < next)) {
            next = e->slot.next_attempt;
            attempts = e->slot.attempts;
        }
        postie_queue_release(&queue, e);
    }
    if (next == 0) {
        app.ok = sum->failed == 0 && act->status == POSTIE_OK;
        board_log("queue: empty");
        app.phase = P_FINISHED;
        return;
    }
    board_log("queue: next attempt in %d s (attempt %u, backoff from the queue policy)",
              (int)(next - now_s()), (unsigned)(attempts + 1u));
    app.wait_until = next;
    app.phase = P_WAIT;
}

static void step_run(void)
{
    postie_delivery_action_t act;
    switch (postie_delivery_next(&app.run, now_s(), random32(), &act)) {
    case POSTIE_DELIVERY_OPEN:
        start_open(act.session);
        break;
    case POSTIE_DELIVERY_SEND:
        start_send(&act);
        break;
    case POSTIE_DELIVERY_CLOSE:
        start_close();
        break;
    case POSTIE_DELIVERY_DONE:
    default:
        run_over(&act);
        break;
    }
}

static void app_step(void)
{
    switch (app.phase) {
    case P_RUN:
        step_run();
        break;
    case P_CONNECT:
        step_connect();
        break;
    case P_OPEN:
        step_open();
        break;
    case P_SEND:
        step_send();
        break;
    case P_CLOSE:
        step_close();
        break;
    case P_WAIT:
        if (now_s() >= app.wait_until) {
            run_start();
        }
        break;
    case P_FINISHED:
    default:
        break;
    }
}

int main(void)
{
    const postie_session_t *s;
    uint32_t start;
    postie_status_t st;

    board_init();
    board_puts("\n");
    board_log("postie %s on mps2-an386 (Cortex-M4, QEMU): boot", POSTIE_VERSION_STRING);
    board_log("entropy: build-time seed + timer jitter (QEMU has no TRNG: not for production)");

    st = postie_tls_arena_set(tls_arena, sizeof(tls_arena));
    if (st != POSTIE_OK) {
        board_log("tls: arena: %s", postie_status_str(st));
        board_puts("postie: done status=failed\n");
        board_halt();
    }
    if (!net_up()) {
        board_puts("postie: done status=failed\n");
        board_halt();
    }
    s = load_registry();
    postie_queue_ram_init(&queue_ram, queue_mem, sizeof(queue_mem));
    postie_queue_init(&queue, postie_queue_ram_store(&queue_ram), NULL);
    if (s == NULL || !queue_notification(s)) {
        board_puts("postie: done status=failed\n");
        board_halt();
    }
    log_queued_digest();

    run_start();
    start = board_ms();
    while (app.phase != P_FINISHED) {
        if (board_ms() - start > POSTIE_BOARD_DEADLINE_S * 1000u) {
            board_log("deadline: %u s over, giving up", (unsigned)POSTIE_BOARD_DEADLINE_S);
            if (app.phase != P_RUN && app.phase != P_WAIT) {
                postie_delivery_abort(&app.run);
                session_end();
            }
            break;
        }
        if (lan9118_poll(&netif) == 0) {
            board_idle(); /* until the next tick */
        }
        sys_check_timeouts();
        app_step();
    }
    board_log("sessions: %u, runs: %u, LAN9118 frames dropped: %u", app.sessions, app.runs,
              (unsigned)lan9118_rx_dropped());
    board_log("tls-arena-size: %u", (unsigned)sizeof(tls_arena));
    board_log("tls-arena-high-water: %u", (unsigned)app.arena_max);
    board_puts(app.ok ? "postie: done status=ok\n" : "postie: done status=failed\n");
    board_halt();
}
