/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two host-lwip test programs share: their command line, the
 * message they send, the result line the test scripts read, and the leak
 * check on lwIP's statistics (LWIP_STATS).
 *
 * Command line (both programs):
 *   --tap NAME           tap device to attach lwIP to (made by the test)
 *   --ip A.B.C.D         lwIP's address (/24); the gateway is .1
 *   --dns A.B.C.D        DNS server (default: none)
 *   --server NAME|IP     the SMTP server, resolved by lwIP's DNS
 *   --port N
 *   --mode plain|starttls|smtps
 *   --ca FILE            CA to verify the server with
 *   --verify-name NAME   name to verify in the certificate
 *   --from ADDR --to ADDR
 *   --size N             body size in octets (default 2000)
 *   --timeout-ms N       every reply and send deadline (default: RFC values)
 *   --fetch pop3|imap    instead of sending, fetch the message
 *                        tagged --tag back (--mode smtps: implicit TLS, else
 *                        STLS/STARTTLS), logging in as --user/--password
 *   --tag TEXT           put into the Subject, for the test to find the message
 *   --scenario NAME      what the program does to its own connection:
 *                        send (default), abort-in-callback, close-early,
 *                        close-connecting, close-resolving (bare metal only)
 *
 * Output: one line "result: STATUS ms=MS code=CODE tls=VERSION phase=PHASE"
 * (MS: milliseconds from the start to the result), and
 * "leaks: none" or "leaks: POOL used N ..." after the stack has settled.
 * Exit status: 0 the message was accepted (or the scenario behaved),
 * 1 it was not, 3 lwIP leaked, 2 usage.
 */
#ifndef POSTIE_HOST_LWIP_H
#define POSTIE_HOST_LWIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "postie/common/status.h"

typedef struct {
    const char *tap;
    const char *ip;
    const char *dns;
    const char *server;
    uint16_t port;
    const char *mode;
    const char *ca;
    const char *verify_name;
    const char *from;
    const char *to;
    size_t size;
    uint32_t timeout_ms;
    const char *scenario;
    const char *tag;
    const char *fetch;
    const char *user;
    const char *password;
} host_lwip_options_t;

/* Parse argv; false (after a message) on a usage error. */
bool host_lwip_parse(host_lwip_options_t *o, int argc, char **argv);

/* The message: headers then text lines up to o->size octets. */
typedef struct {
    const host_lwip_options_t *o;
    size_t pos;
} host_lwip_body_t;

void host_lwip_body_init(host_lwip_body_t *b, const host_lwip_options_t *o);
postie_status_t host_lwip_body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got);

/* Print the result line. */
void host_lwip_print_result(postie_status_t st, const postie_error_t *err, const char *tls);

/* Remember lwIP's pool and heap use now (after the stack and netif are up). */
void host_lwip_stats_baseline(void);

/* The same, quietly: the programs wait for it (a packet waiting for an ARP
 * reply, a FIN not yet acknowledged) before the check, for a bounded time. */
bool host_lwip_stats_settled(void);

/* Whether every pool, the pbuf pool and the heap are back at the baseline
 * (SYS_TIMEOUT aside: lwIP's own timers come and go). Prints "leaks: ...". */
bool host_lwip_stats_check(void);

#endif /* POSTIE_HOST_LWIP_H */
