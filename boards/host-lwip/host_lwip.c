/* SPDX-License-Identifier: Apache-2.0 */
/* What the host-lwip programs share (see host_lwip.h). */
#include "host_lwip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/memp.h"
#include "postie/common/clock.h"
#include "lwip/stats.h"

static uint32_t started_ms; /* when the options were parsed: the result line's ms= */

static unsigned long number(const char *s)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    return (end == s || *end != '\0') ? 0 : v;
}

bool host_lwip_parse(host_lwip_options_t *o, int argc, char **argv)
{
    int i;
    memset(o, 0, sizeof(*o));
    started_ms = postie_clock_ms();
    o->mode = "starttls";
    o->size = 2000;
    o->scenario = "send";
    o->verify_name = "localhost";
    o->tag = "-";
    for (i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        const char *v = argv[i + 1];
        if (strcmp(k, "--tap") == 0) {
            o->tap = v;
        } else if (strcmp(k, "--ip") == 0) {
            o->ip = v;
        } else if (strcmp(k, "--dns") == 0) {
            o->dns = v;
        } else if (strcmp(k, "--server") == 0) {
            o->server = v;
        } else if (strcmp(k, "--port") == 0) {
            o->port = (uint16_t)number(v);
        } else if (strcmp(k, "--mode") == 0) {
            o->mode = v;
        } else if (strcmp(k, "--ca") == 0) {
            o->ca = v;
        } else if (strcmp(k, "--verify-name") == 0) {
            o->verify_name = v;
        } else if (strcmp(k, "--from") == 0) {
            o->from = v;
        } else if (strcmp(k, "--to") == 0) {
            o->to = v;
        } else if (strcmp(k, "--size") == 0) {
            o->size = number(v);
        } else if (strcmp(k, "--timeout-ms") == 0) {
            o->timeout_ms = (uint32_t)number(v);
        } else if (strcmp(k, "--fetch") == 0) {
            o->fetch = v;
        } else if (strcmp(k, "--user") == 0) {
            o->user = v;
        } else if (strcmp(k, "--password") == 0) {
            o->password = v;
        } else if (strcmp(k, "--tag") == 0) {
            o->tag = v;
        } else if (strcmp(k, "--scenario") == 0) {
            o->scenario = v;
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return false;
        }
    }
    if (i != argc || o->tap == NULL || o->ip == NULL || o->server == NULL || o->port == 0 ||
        ((o->from == NULL || o->to == NULL) && o->fetch == NULL)) {
        fprintf(stderr, "usage: --tap T --ip A --server S --port N --from F --to T [...]\n");
        return false;
    }
    return true;
}

void host_lwip_body_init(host_lwip_body_t *b, const host_lwip_options_t *o)
{
    b->o = o;
    b->pos = 0;
}

/* The message as a function of the position: the headers, then lines of
 * 76 octets ("line NNNNNNNN ...") up to o->size. */
postie_status_t host_lwip_body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    host_lwip_body_t *b = ctx;
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "From: <%s>\r\nTo: <%s>\r\nSubject: postie over lwIP %s\r\n\r\n", b->o->from,
                      b->o->to, b->o->tag);
    size_t total = (size_t)hn + b->o->size;
    size_t n = 0;
    while (n < cap && b->pos < total) {
        if (b->pos < (size_t)hn) {
            buf[n++] = (uint8_t)head[b->pos++];
        } else {
            size_t off = b->pos - (size_t)hn;
            size_t col = off % 78;
            static const char fill[] = "abcdefghijklmnopqrstuvwxyz0123456789";
            char num[16];
            (void)snprintf(num, sizeof(num), "line %08lu ",
                           (unsigned long)(off / 78) % 100000000ul);
            if (col < 14) {
                buf[n++] = (uint8_t)num[col];
            } else if (col < 76) {
                buf[n++] = (uint8_t)fill[col % (sizeof(fill) - 1)];
            } else {
                buf[n++] = col == 76 ? '\r' : '\n';
            }
            b->pos++;
        }
    }
    *got = n;
    return POSTIE_OK;
}

void host_lwip_print_result(postie_status_t st, const postie_error_t *err, const char *tls)
{
    printf("result: %s ms=%lu code=%u tls=%s phase=%s\n", postie_status_name(st),
           (unsigned long)(postie_clock_ms() - started_ms),
           err != NULL ? (unsigned)err->reply.code : 0u, tls != NULL ? tls : "none",
           err != NULL && err->phase != NULL ? err->phase : "-");
    if (err != NULL && err->reply.text[0] != '\0') {
        printf("reply: %s\n", err->reply.text);
    }
    fflush(stdout);
}

static mem_size_t base_memp[MEMP_MAX];
static mem_size_t base_mem;

void host_lwip_stats_baseline(void)
{
    int i;
    for (i = 0; i < MEMP_MAX; i++) {
        base_memp[i] = lwip_stats.memp[i]->used;
    }
    base_mem = lwip_stats.mem.used;
}

bool host_lwip_stats_settled(void)
{
    int i;
    for (i = 0; i < MEMP_MAX; i++) {
        if (i != MEMP_SYS_TIMEOUT && lwip_stats.memp[i]->used != base_memp[i]) {
            return false;
        }
    }
    return lwip_stats.mem.used == base_mem;
}

bool host_lwip_stats_check(void)
{
    bool ok = true;
    int i;
    printf("leaks:");
    for (i = 0; i < MEMP_MAX; i++) {
        const struct stats_mem *m = lwip_stats.memp[i];
        if (i == MEMP_SYS_TIMEOUT) {
            continue;
        }
        if (m->used != base_memp[i]) {
            printf(" %s used %u (was %u)", m->name, (unsigned)m->used, (unsigned)base_memp[i]);
            ok = false;
        }
        if (m->illegal != 0) {
            printf(" %s illegal %u", m->name, (unsigned)m->illegal);
            ok = false;
        }
    }
    if (lwip_stats.mem.used != base_mem) {
        printf(" heap used %u (was %u)", (unsigned)lwip_stats.mem.used, (unsigned)base_mem);
        ok = false;
    }
    printf("%s\n", ok ? " none" : "");
    fflush(stdout);
    return ok;
}
