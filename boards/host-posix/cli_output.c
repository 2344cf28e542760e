/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Terminal-safe output (see cli_output.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"

/* Octets of the UTF-8 sequence at p that a terminal can show as text, or 0
 * for an invalid sequence or a C1 control (U+0080..U+009F: some terminals
 * act on them like ESC [). */
static size_t utf8_text_len(const unsigned char *p, size_t avail)
{
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    size_t n;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
        lo = p[0] == 0xC2 ? 0xA0 : 0x80;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        lo = p[0] == 0xE0 ? 0xA0 : 0x80;
        hi = p[0] == 0xED ? 0x9F : 0xBF;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        lo = p[0] == 0xF0 ? 0x90 : 0x80;
        hi = p[0] == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (avail < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return n;
}

void cli_put_escaped(FILE *out, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        size_t n;
        if (p[i] == '\\') {
            fputs("\\\\", out);
        } else if (p[i] >= 0x20 && p[i] < 0x7f) {
            fputc(p[i], out);
        } else if (p[i] >= 0x80 && (n = utf8_text_len(p + i, len - i)) > 0) {
            fwrite(p + i, 1, n, out);
            i += n - 1;
        } else {
            fprintf(out, "\\x%02X", p[i]);
        }
    }
}

void cli_put_escaped_str(FILE *out, const char *text)
{
    cli_put_escaped(out, text, strlen(text));
}

void cli_log_line(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    const char *prefix = dir == POSTIE_LOG_SENT ? "C: " : dir == POSTIE_LOG_RECEIVED ? "S: " : "* ";
    (void)ctx;
    fputs(prefix, stderr);
    cli_put_escaped(stderr, line, len);
    fputc('\n', stderr);
}

void cli_print_reply(FILE *out, const postie_reply_info_t *r)
{
    if (r->code != 0) {
        fprintf(out, "%u%s", r->code, r->enhanced[0] ? " " : "");
        cli_put_escaped_str(out, r->enhanced);
        fputc(' ', out);
        cli_put_escaped_str(out, r->text);
    }
}

int cli_report_session_failure(const postie_smtp_client_t *c, postie_status_t st)
{
    const postie_error_t *e = postie_smtp_client_error(c);
    if (e->status != POSTIE_OK) {
        st = e->status;
    }
    fprintf(stderr, "postie: %s: %s (%s)", e->phase[0] ? e->phase : "session",
            postie_status_str(st), postie_status_name(st));
    if (e->subject[0]) {
        fprintf(stderr, "; ");
        cli_put_escaped_str(stderr, e->subject);
    }
    if (e->reply.code != 0) {
        fprintf(stderr, "; server said: ");
        cli_print_reply(stderr, &e->reply);
    } else if (e->reply.text[0]) {
        fprintf(stderr, "; ");
        cli_put_escaped_str(stderr, e->reply.text);
    }
    fputc('\n', stderr);
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}

const char *cli_tls_name(postie_tls_mode_t t)
{
    static const char *const names[] = {"STARTTLS required", "STARTTLS if offered", "none",
                                        "implicit TLS"};
    return (unsigned)t < 4u ? names[t] : "?";
}

void cli_tls_arena_from_env(void)
{
    const char *v = getenv("POSTIE_TLS_ARENA");
    char *end = NULL;
    unsigned long n;
    void *arena;
    postie_status_t st;

    if (v == NULL || v[0] == '\0') {
        return;
    }
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < 16384ul || n > 268435456ul) {
        fprintf(stderr, "postie: POSTIE_TLS_ARENA: \"");
        cli_put_escaped_str(stderr, v);
        fprintf(stderr, "\" is not a size in octets from 16384 to 268435456\n");
        exit(EXIT_USAGE);
    }
    if (!POSTIE_TLS_HAVE_ARENA) {
        fprintf(stderr,
                "postie: POSTIE_TLS_ARENA: this build's mbedTLS (%s) has no static arena "
                "(MBEDTLS_MEMORY_BUFFER_ALLOC_C); see the README, \"TLS\"\n",
                MBEDTLS_VERSION_STRING);
        exit(EXIT_USAGE);
    }
    arena = malloc(n); /* the process's lifetime: never freed */
    st = arena == NULL ? POSTIE_E_NO_SPACE : postie_tls_arena_set(arena, n);
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: POSTIE_TLS_ARENA: %s\n", postie_status_str(st));
        exit(EXIT_USAGE);
    }
}

void cli_tls_arena_report(void)
{
    postie_tls_arena_stats_t a;
    postie_tls_arena_stats(&a);
    if (a.size == 0) {
        return;
    }
    fprintf(stderr, "* TLS arena: high-water %lu octets (%lu blocks) of %lu\n",
            (unsigned long)a.high_water, (unsigned long)a.blocks_high_water, (unsigned long)a.size);
    postie_tls_arena_reset_high_water();
}
