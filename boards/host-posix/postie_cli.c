/*
 * postie: command-line front end of the Postie mail library (host build).
 *
 *   postie send --host HOST [options] --from ADDR --to ADDR [--to ADDR...]
 *               [--message FILE]           (default: the message on stdin)
 *
 * Exit status: 0 every recipient accepted; 1 the message or some recipient
 * was refused; 2 bad usage or input; 3 the session failed (connect, TLS,
 * authentication, timeout, protocol); 4 like 3 but temporary (worth a retry).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "postie/smtp_client.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_SESSION 3
#define EXIT_TEMP    4
#define MAX_RCPT     1000

static const char usage_text[] =
    "usage: postie send --host HOST [--port N] [--connect-to ADDR]\n"
    "                   [--tls none|starttls|starttls-optional|implicit] [--ca-file FILE]\n"
    "                   [--timeout SECONDS] [--ehlo NAME]\n"
    "                   [--user NAME (--password-env VAR | --password-file FILE)]\n"
    "                   [--allow-plaintext-auth] [--no-pipelining] [--no-chunking]\n"
    "                   [--dsn-notify never|success,failure,delay] [--dsn-ret full|hdrs]\n"
    "                   [--envid ID] [--verbose]\n"
    "                   --from ADDR --to ADDR [--to ADDR ...] [--message FILE|-]\n"
    "\n"
    "Sends a raw RFC 5322 message (line ends are normalised to CRLF) to the\n"
    "given recipients. Passwords are read from an environment variable or a\n"
    "file, never from the command line. --tls defaults to starttls (required);\n"
    "certificates and host names are always verified.\n"
    "Exit: 0 all accepted, 1 refused, 2 usage, 3 session failed, 4 temporary failure.\n";

static void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "postie: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "Try 'postie send --help'.\n");
    exit(EXIT_USAGE);
}

static void log_line(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    const char *prefix = dir == POSTIE_LOG_SENT ? "C: " : dir == POSTIE_LOG_RECEIVED ? "S: " : "* ";
    (void)ctx;
    fprintf(stderr, "%s%.*s\n", prefix, (int)len, line);
}

static unsigned long parse_number(const char *what, const char *s, unsigned long max)
{
    char *end = NULL;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        usage_error(what, s);
    }
    return v;
}

/* Read a secret from a file: first line, without its line end. */
static char *read_secret_file(const char *path)
{
    static char secret[POSTIE_AUTH_FIELD_MAX + 2];
    FILE *f = fopen(path, "r");
    size_t n;
    if (f == NULL) {
        fprintf(stderr, "postie: cannot read password file %s: %s\n", path, strerror(errno));
        exit(EXIT_USAGE);
    }
    n = fread(secret, 1, sizeof(secret) - 1, f);
    fclose(f);
    secret[n] = '\0';
    secret[strcspn(secret, "\r\n")] = '\0';
    if (strlen(secret) > POSTIE_AUTH_FIELD_MAX) {
        usage_error("password longer than the supported maximum in file", path);
    }
    return secret;
}

/* Message source: a file streamed in chunks, or stdin held in memory. */
typedef struct {
    FILE *file;
    const uint8_t *mem;
    size_t mem_len;
    size_t mem_pos;
} message_source_t;

static postie_status_t read_message(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    message_source_t *m = ctx;
    if (m->file != NULL) {
        *got = fread(buf, 1, cap, m->file);
        return ferror(m->file) ? POSTIE_E_FILE : POSTIE_OK;
    }
    *got = m->mem_len - m->mem_pos < cap ? m->mem_len - m->mem_pos : cap;
    memcpy(buf, m->mem + m->mem_pos, *got);
    m->mem_pos += *got;
    return POSTIE_OK;
}

/* Size and 8-bit content of the message, for SIZE= and BODY=8BITMIME. */
static void scan_message(message_source_t *m, uint64_t *size, bool *eight_bit)
{
    uint8_t buf[65536];
    size_t n;
    *size = 0;
    *eight_bit = false;
    if (m->file == NULL) {
        for (size_t i = 0; i < m->mem_len && !*eight_bit; i++) {
            *eight_bit = m->mem[i] >= 0x80;
        }
        *size = m->mem_len;
        return;
    }
    while ((n = fread(buf, 1, sizeof(buf), m->file)) > 0) {
        *size += n;
        for (size_t i = 0; i < n && !*eight_bit; i++) {
            *eight_bit = buf[i] >= 0x80;
        }
    }
    rewind(m->file);
}

static uint8_t *slurp_stdin(size_t *len)
{
    size_t cap = 65536;
    size_t n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) {
            break;
        }
        if (n == cap) {
            uint8_t *bigger = cap < ((size_t)1 << 30) ? realloc(buf, cap * 2) : NULL;
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf == NULL) {
        fprintf(stderr, "postie: cannot hold the message from stdin in memory\n");
        exit(EXIT_USAGE);
    }
    *len = n;
    return buf;
}

static void print_reply(FILE *out, const postie_reply_info_t *r)
{
    if (r->code != 0) {
        fprintf(out, "%u%s%s %s", r->code, r->enhanced[0] ? " " : "", r->enhanced, r->text);
    }
}

static int report_session_failure(const postie_smtp_client_t *c, postie_status_t st)
{
    const postie_error_t *e = postie_smtp_client_error(c);
    if (e->status != POSTIE_OK) {
        st = e->status;
    }
    fprintf(stderr, "postie: %s: %s (%s)", e->phase[0] ? e->phase : "session",
            postie_status_str(st), postie_status_name(st));
    if (e->subject[0]) {
        fprintf(stderr, "; %s", e->subject);
    }
    if (e->reply.code != 0) {
        fprintf(stderr, "; server said: ");
        print_reply(stderr, &e->reply);
    } else if (e->reply.text[0]) {
        fprintf(stderr, "; %s", e->reply.text);
    }
    fputc('\n', stderr);
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}

static int cmd_send(int argc, char **argv)
{
    postie_smtp_client_config_t cfg;
    static postie_smtp_client_t client;
    static postie_smtp_rcpt_t rcpt[MAX_RCPT];
    postie_smtp_envelope_t env;
    message_source_t msg;
    const char *message_path = "-";
    const char *password_env = NULL;
    const char *password_file = NULL;
    unsigned long timeout_s = 0;
    size_t nrcpt = 0;
    postie_status_t st;
    int rc = 0;

    postie_smtp_client_config_defaults(&cfg);
    memset(&env, 0, sizeof(env));
    memset(&msg, 0, sizeof(msg));

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
#define NEEDS_VALUE()                            \
    do {                                         \
        if (v == NULL)                           \
            usage_error("missing value for", a); \
        i++;                                     \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--host")) {
            NEEDS_VALUE();
            cfg.host = v;
        } else if (!strcmp(a, "--port")) {
            NEEDS_VALUE();
            cfg.port = (uint16_t)parse_number("bad --port", v, 65535);
        } else if (!strcmp(a, "--connect-to")) {
            NEEDS_VALUE();
            cfg.connect_to = v;
        } else if (!strcmp(a, "--tls")) {
            NEEDS_VALUE();
            if (!strcmp(v, "none")) {
                cfg.smtp.tls_mode = POSTIE_TLS_NONE;
            } else if (!strcmp(v, "starttls")) {
                cfg.smtp.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
            } else if (!strcmp(v, "starttls-optional")) {
                cfg.smtp.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
            } else if (!strcmp(v, "implicit")) {
                cfg.smtp.tls_mode = POSTIE_TLS_IMPLICIT;
            } else {
                usage_error("--tls must be none, starttls, starttls-optional or implicit", v);
            }
        } else if (!strcmp(a, "--ca-file")) {
            NEEDS_VALUE();
            cfg.tls.ca_file = v;
        } else if (!strcmp(a, "--timeout")) {
            NEEDS_VALUE();
            timeout_s = parse_number("bad --timeout (seconds, 1..86400)", v, 86400);
            if (timeout_s == 0) {
                usage_error("bad --timeout (seconds, 1..86400)", v);
            }
        } else if (!strcmp(a, "--ehlo")) {
            NEEDS_VALUE();
            cfg.smtp.ehlo_name = v;
        } else if (!strcmp(a, "--user")) {
            NEEDS_VALUE();
            cfg.smtp.username = v;
        } else if (!strcmp(a, "--password-env")) {
            NEEDS_VALUE();
            password_env = v;
        } else if (!strcmp(a, "--password-file")) {
            NEEDS_VALUE();
            password_file = v;
        } else if (!strcmp(a, "--password")) {
            usage_error("passwords are not taken from the command line; use --password-env VAR "
                        "or --password-file FILE",
                        NULL);
        } else if (!strcmp(a, "--allow-plaintext-auth")) {
            cfg.smtp.allow_plaintext_auth = true;
        } else if (!strcmp(a, "--no-pipelining")) {
            cfg.smtp.use_pipelining = false;
        } else if (!strcmp(a, "--no-chunking")) {
            cfg.smtp.use_chunking = false;
        } else if (!strcmp(a, "--dsn-notify")) {
            NEEDS_VALUE();
            if (!strcmp(v, "never")) {
                env.dsn_notify = POSTIE_DSN_NOTIFY_NEVER;
            } else {
                env.dsn_notify = (uint8_t)((strstr(v, "success") ? POSTIE_DSN_NOTIFY_SUCCESS : 0) |
                                           (strstr(v, "failure") ? POSTIE_DSN_NOTIFY_FAILURE : 0) |
                                           (strstr(v, "delay") ? POSTIE_DSN_NOTIFY_DELAY : 0));
                if (env.dsn_notify == 0) {
                    usage_error("bad --dsn-notify", v);
                }
            }
        } else if (!strcmp(a, "--dsn-ret")) {
            NEEDS_VALUE();
            env.dsn_ret = !strcmp(v, "full")   ? POSTIE_DSN_RET_FULL
                          : !strcmp(v, "hdrs") ? POSTIE_DSN_RET_HDRS
                                               : POSTIE_DSN_RET_DEFAULT;
            if (env.dsn_ret == POSTIE_DSN_RET_DEFAULT) {
                usage_error("--dsn-ret must be full or hdrs", v);
            }
        } else if (!strcmp(a, "--envid")) {
            NEEDS_VALUE();
            env.dsn_envid = v;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            cfg.smtp.log = log_line;
        } else if (!strcmp(a, "--from")) {
            NEEDS_VALUE();
            env.from = v;
        } else if (!strcmp(a, "--to")) {
            NEEDS_VALUE();
            if (nrcpt >= MAX_RCPT) {
                usage_error("too many --to (limit 1000)", v);
            }
            rcpt[nrcpt++].address = v;
        } else if (!strcmp(a, "--message")) {
            NEEDS_VALUE();
            message_path = v;
        } else {
            usage_error("unknown option", a);
        }
#undef NEEDS_VALUE
    }

    if (cfg.host == NULL) {
        usage_error("--host is required", NULL);
    }
    if (env.from == NULL) {
        usage_error("--from is required (use --from '' for the null sender)", NULL);
    }
    if (nrcpt == 0) {
        usage_error("at least one --to is required", NULL);
    }
    if (password_env != NULL && password_file != NULL) {
        usage_error("give either --password-env or --password-file, not both", NULL);
    }
    if (password_env != NULL) {
        cfg.smtp.password = getenv(password_env);
        if (cfg.smtp.password == NULL) {
            usage_error("password environment variable is not set", password_env);
        }
    } else if (password_file != NULL) {
        cfg.smtp.password = read_secret_file(password_file);
    }
    if (cfg.smtp.username != NULL && cfg.smtp.password == NULL) {
        usage_error("--user needs --password-env or --password-file", NULL);
    }
    if (cfg.smtp.username == NULL && cfg.smtp.password != NULL) {
        usage_error("a password was given without --user", NULL);
    }
    if (timeout_s > 0) {
        uint32_t ms = (uint32_t)timeout_s * 1000u;
        cfg.connect_timeout_ms = ms;
        cfg.smtp.timeout_greeting_ms = ms;
        cfg.smtp.timeout_command_ms = ms;
        cfg.smtp.timeout_data_init_ms = ms;
        cfg.smtp.timeout_data_block_ms = ms;
        cfg.smtp.timeout_data_end_ms = ms;
    }

    /* Check addresses before connecting: a bad one never reaches the wire. */
    {
        bool non_ascii;
        st = postie_smtp_check_address(env.from, true, &non_ascii);
        if (st != POSTIE_OK) {
            fprintf(stderr, "postie: sender address refused: %s\n", postie_status_str(st));
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < nrcpt; i++) {
            st = postie_smtp_check_address(rcpt[i].address, false, &non_ascii);
            if (st != POSTIE_OK) {
                char shown[96];
                postie_copy_printable(shown, sizeof(shown), rcpt[i].address,
                                      strlen(rcpt[i].address));
                fprintf(stderr, "postie: recipient address \"%s\" refused: %s\n", shown,
                        postie_status_str(st));
                return EXIT_USAGE;
            }
        }
    }

    if (strcmp(message_path, "-") == 0) {
        msg.mem = slurp_stdin(&msg.mem_len);
    } else {
        msg.file = fopen(message_path, "rb");
        if (msg.file == NULL) {
            fprintf(stderr, "postie: cannot open message %s: %s\n", message_path, strerror(errno));
            return EXIT_USAGE;
        }
    }
    scan_message(&msg, &env.size, &env.body_8bit);
    env.rcpt = rcpt;
    env.rcpt_count = nrcpt;

    st = postie_smtp_client_open(&client, &cfg);
    if (st != POSTIE_OK) {
        rc = report_session_failure(&client, st);
        postie_smtp_client_quit(&client);
        goto out;
    }
    if (cfg.smtp.log != NULL) {
        char caps[256];
        postie_tls_info_t tls;
        postie_smtp_caps_format(postie_smtp_caps(&client.engine), caps, sizeof(caps));
        fprintf(stderr, "* server %s offers: %s\n", postie_smtp_caps(&client.engine)->server_name,
                caps);
        if (postie_smtp_client_tls_info(&client, &tls)) {
            fprintf(stderr, "* TLS %s %s, certificate %s, valid until %s\n", tls.version,
                    tls.cipher, tls.peer_subject, tls.peer_not_after);
        }
    }

    st = postie_smtp_client_send(&client, &env, read_message, &msg);
    for (size_t i = 0; i < nrcpt; i++) {
        const postie_smtp_rcpt_t *r = &rcpt[i];
        if (r->state == POSTIE_RCPT_ACCEPTED) {
            continue;
        }
        fprintf(stderr, "postie: recipient %s %s", r->address,
                r->state == POSTIE_RCPT_REJECTED ? "refused: " : "not tried");
        print_reply(stderr, &r->reply);
        fputc('\n', stderr);
        rc = EXIT_REFUSED;
    }
    if (st == POSTIE_OK) {
        const postie_error_t *m = postie_smtp_message_result(&client.engine);
        print_reply(stdout, &m->reply);
        fputc('\n', stdout);
    } else if (postie_smtp_phase(&client.engine) == POSTIE_SMTP_PHASE_FAILED) {
        rc = report_session_failure(&client, st);
    } else {
        const postie_error_t *m = postie_smtp_message_result(&client.engine);
        fprintf(stderr, "postie: message refused at %s: %s", m->phase, postie_status_str(st));
        if (m->subject[0]) {
            fprintf(stderr, "; %s", m->subject);
        }
        if (m->reply.code != 0) {
            fprintf(stderr, "; server said: ");
            print_reply(stderr, &m->reply);
        }
        fputc('\n', stderr);
        rc = postie_status_is_transient(st) ? EXIT_TEMP : EXIT_REFUSED;
    }
    postie_smtp_client_quit(&client);
out:
    if (msg.file != NULL) {
        fclose(msg.file);
    }
    free((void *)msg.mem);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "send")) {
        return cmd_send(argc - 2, argv + 2);
    }
    usage_error("unknown command", argv[1]);
    return EXIT_USAGE;
}
