/* SPDX-License-Identifier: Apache-2.0 */
/*
 * postie: command-line front end of the Postie mail library (host build).
 *
 *   postie send --host HOST [options] --from ADDR --to ADDR [--to ADDR...]
 *               [--message FILE]           (default: the message on stdin)
 *   postie send --host HOST [options] --from ADDR --to ADDR --subject TEXT
 *               [--body-file FILE] [--attach FILE ...] ...   (Postie composes)
 *   postie compose [compose options]       (the composed message on stdout)
 *
 * Exit status: 0 every recipient accepted; 1 the message or some recipient
 * was refused; 2 bad usage or input; 3 the session failed (connect, TLS,
 * authentication, timeout, protocol); 4 like 3 but temporary (worth a retry).
 */

#define _DEFAULT_SOURCE /* getnameinfo's NI_MAXHOST, access() */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <netdb.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "postie/common/text.h"
#include "postie/posix/host.h"
#include "postie/mime/mime.h"
#include "postie/posix/registry_file.h"
#include "postie/posix/session_check.h"
#include "postie/posix/smtp_client.h"
#include "postie/session/session_map.h"
#include "postie/session/template.h"

#include "cli.h"

#define MAX_RCPT    1000
#define MAX_ATTACH  64
#define MAX_HEADERS 32
#define MAX_TEXT    (16u * 1024u * 1024u) /* text and HTML bodies are read into memory */

/* A message from a pipe, FIFO, socket or terminal is spooled to an unlinked
 * temporary file first (so SIZE= and BODY=8BITMIME are exact and a NUL is
 * found before connecting); this bounds the spool. */
#define MAX_STREAMED_MESSAGE ((uint64_t)256u * 1024u * 1024u)
#define ENVID_XTEXT_MAX      100 /* RFC 3461 4.4 */
#define NAME_MAX_OCTETS      255 /* a domain name (RFC 1035), for --host and --ehlo */

static const char usage_text[] =
    "usage: postie send --host HOST [--port N] [--connect-to ADDR]\n"
    "                   [--tls none|starttls|starttls-optional|implicit] [--ca-file FILE]\n"
    "                   [--timeout SECONDS] [--ehlo NAME]\n"
    "                   [--user NAME (--password-env VAR | --password-file FILE)]\n"
    "                   [--allow-plaintext-auth] [--no-pipelining] [--no-chunking]\n"
    "                   [--dsn-notify never|success,failure,delay] [--dsn-ret full|hdrs]\n"
    "                   [--envid ID] [--verbose]\n"
    "                   --from ADDR --to ADDR [--to ADDR ...]\n"
    "                   (--message FILE|- | COMPOSE OPTIONS)\n"
    "       postie compose --from ADDR [--to ADDR ...] COMPOSE OPTIONS [--output FILE]\n"
    "       postie [--registry FILE] sessions\n"
    "       postie [--registry FILE] session show NAME\n"
    "       postie [--registry FILE] send --session NAME [--as-user NAME] [--as-email ADDR]\n"
    "                   --to ADDR ... COMPOSE OPTIONS\n"
    "       postie [--registry FILE] test-email NAME --to ADDR\n"
    "       postie [--registry FILE] test-connection NAME\n"
    "       postie [--registry FILE] send --queue|--queue-only [--spool DIR] --session NAME ...\n"
    "                   (store the message in the outgoing queue, then try it now;\n"
    "                   --queue-only leaves sending to `postie queue run` or a flush)\n"
    "       postie [--registry FILE] queue [--spool DIR] list|errors|flush|run|resend|delete\n"
    "                   (see postie queue --help)\n"
    "\n"
    "COMPOSE OPTIONS (Postie writes the MIME message):\n"
    "  --subject TEXT  --from-name NAME  --body-file FILE|-  --html-file FILE\n"
    "  --attach FILE (repeat)  --cc ADDR  --bcc ADDR  --reply-to ADDR  (repeat)\n"
    "  --header 'Name: value' (repeat)  --utf8-headers (raw UTF-8 when SMTPUTF8)\n"
    "  compose only: --8bit (allow 8bit parts, as if the server offered 8BITMIME)\n"
    "\n"
    "NAME is a registry entry: java:comp/env/mail/Notify, java:/comp/env/mail/Notify\n"
    "and mail/Notify are the same. The registry is --registry FILE, else\n"
    "$POSTIE_REGISTRY, else " POSTIE_REGISTRY_DEFAULT_PATH ".\n"
    "\n"
    "With --message, sends a raw RFC 5322 message (line ends are normalised to\n"
    "CRLF): a regular file, or a stream (-, a pipe, a FIFO, /dev/stdin, <(cmd),\n"
    "a terminal) that is spooled to $TMPDIR first (at most 256 MiB) so SIZE= is\n"
    "exact. Devices and directories are refused; an attachment must be a\n"
    "regular file. An empty message or one holding a NUL is refused.\n"
    "Passwords are read from an environment variable or a file (a regular\n"
    "file, its first line), never from the command line. --tls defaults to\n"
    "starttls (required); certificates and host names are always verified.\n"
    "With --session, the session owns the server, port, TLS, CA file, login\n"
    "and From: --host, --port, --tls, --ca-file, --allow-plaintext-auth,\n"
    "--user, --password-*, --from and --from-name are refused; --connect-to,\n"
    "--ehlo, --timeout, --no-pipelining, --no-chunking, --verbose and the DSN\n"
    "options are honoured and override the session.\n"
    "Exit: 0 all accepted, 1 refused, 2 usage, 3 session failed, 4 temporary failure.\n";

static void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "postie: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "Try 'postie send --help'.\n");
    exit(EXIT_USAGE);
}

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

/* Text from the server (or anything else outside our control) for a
 * terminal: control characters, DEL, C1 controls and octets that are not
 * UTF-8 become \xNN, a backslash becomes \\; so no escape sequence (colour,
 * title, cursor moves, bell) ever reaches the terminal. */
static void put_escaped(FILE *out, const char *text, size_t len)
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

static void put_escaped_str(FILE *out, const char *text)
{
    put_escaped(out, text, strlen(text));
}

/* The --verbose sink: every line, sent or received, escaped. */
static void log_line(void *ctx, postie_log_dir_t dir, const char *line, size_t len)
{
    const char *prefix = dir == POSTIE_LOG_SENT ? "C: " : dir == POSTIE_LOG_RECEIVED ? "S: " : "* ";
    (void)ctx;
    fputs(prefix, stderr);
    put_escaped(stderr, line, len);
    fputc('\n', stderr);
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

/* ---- checks on option values (before connecting) ------------------------------ */

/* Exit 2: "postie: OPTION VALUE: why" (the value made printable). */
static void bad_value(const char *opt, const char *value, const char *why)
{
    char shown[128];
    postie_text_copy_printable(shown, sizeof(shown), value, strlen(value));
    fprintf(stderr, "postie: %s '%s': %s\n", opt, shown, why);
    fprintf(stderr, "Try 'postie send --help'.\n");
    exit(EXIT_USAGE);
}

/* --host and --connect-to: a name or address, 1..255 printable ASCII
 * octets without spaces. */
static void check_host_option(const char *opt, const char *v)
{
    size_t n = strlen(v);
    if (n == 0) {
        bad_value(opt, v, "must not be empty");
    }
    if (n > NAME_MAX_OCTETS) {
        bad_value(opt, v, "is longer than 255 octets");
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f) {
            bad_value(opt, v,
                      "must be a host name or address: no spaces, control characters or "
                      "non-ASCII octets (use the xn-- form of an international name)");
        }
    }
}

/* The EHLO name, by the engine's own rule (postie_address_check_hostname):
 * a domain or an address literal ([192.0.2.1], [IPv6:2001:db8::1]).
 * Returns why the name is refused, or NULL. */
static const char *check_ehlo_name(const char *v)
{
    if (v[0] == '\0') {
        return "must not be empty";
    }
    if (strlen(v) > NAME_MAX_OCTETS) {
        return "is longer than 255 octets";
    }
    if (postie_address_check_hostname(v) != POSTIE_OK) {
        return "must be an ASCII domain name (letters, digits, '-' and dots; an international "
               "name in its xn-- form) or an address literal in brackets ([192.0.2.1])";
    }
    return NULL;
}

/* The login name: what the engine can carry (POSTIE_AUTH_FIELD_MAX). */
static void check_user_option(const char *v)
{
    if (v[0] == '\0') {
        bad_value("--user", v, "must not be empty");
    }
    if (strlen(v) > POSTIE_AUTH_FIELD_MAX) {
        fprintf(stderr, "postie: --user: longer than %u octets (POSTIE_AUTH_FIELD_MAX)\n",
                (unsigned)POSTIE_AUTH_FIELD_MAX);
        exit(EXIT_USAGE);
    }
}

/* --envid: printable ASCII (RFC 3461 4.4), at most 100 characters once
 * xtext-encoded for the wire. */
static void check_envid_option(const char *v)
{
    size_t xtext = 0;
    for (const char *p = v; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e) {
            bad_value("--envid", v, "must be printable ASCII (RFC 3461)");
        }
        xtext += (c > 0x20 && c != '+' && c != '=') ? 1u : 3u;
    }
    if (v[0] == '\0') {
        bad_value("--envid", v, "must not be empty");
    }
    if (xtext > ENVID_XTEXT_MAX) {
        fprintf(stderr,
                "postie: --envid: %zu characters once xtext-encoded; RFC 3461 allows at most "
                "%u\n",
                xtext, (unsigned)ENVID_XTEXT_MAX);
        exit(EXIT_USAGE);
    }
}

/* The password from --password-env VAR or --password-file FILE: the same
 * rules as a registry secret (postie_secret_read): never empty, never cut,
 * a file must be a regular file and is never waited on. A file that group
 * or others can read gets the registry's warning. Exits 2 naming the
 * option. */
static const char *read_password(const char *opt, postie_secret_kind_t kind, const char *name)
{
    static char secret[POSTIE_AUTH_FIELD_MAX + 1];
    postie_secret_t src = {kind, ""};
    const char *why = NULL;
    if (strlen(name) >= sizeof(src.value)) {
        bad_value(opt, name, "is too long a name");
    }
    memcpy(src.value, name, strlen(name) + 1);
    if (postie_secret_read(&src, secret, sizeof(secret), &why) != POSTIE_OK) {
        bad_value(opt, name, why != NULL ? why : "cannot be read");
    }
    if (postie_secret_exposed(&src)) {
        char shown[128];
        postie_text_copy_printable(shown, sizeof(shown), name, strlen(name));
        fprintf(stderr, "postie: warning: %s '%s': %s\n", opt, shown,
                POSTIE_SECRET_EXPOSED_WARNING);
    }
    return secret;
}

/* ---- input files ---------------------------------------------------------------- */

/* Exit 2: "postie: OPTION PATH: why". */
static void input_error(const char *opt, const char *path, const char *why)
{
    char shown[256];
    postie_text_copy_printable(shown, sizeof(shown), path, strlen(path));
    fprintf(stderr, "postie: %s %s: %s\n", opt, shown, why);
    exit(EXIT_USAGE);
}

/* Open an input for reading ("-": standard input) without ever waiting on
 * a FIFO that is not accepted, and decide what it is. Accepted: a regular
 * file (symbolic links followed); with streams_ok also a pipe, a FIFO, a
 * socket or a terminal, which can be read only once (*stream set). Any
 * other device (/dev/zero, /dev/null, a disk) and a directory are refused
 * naming opt. A FIFO accepted as a stream is opened like `cat` opens it:
 * postie waits for its writer. Returns a blocking descriptor. */
static int open_input(const char *opt, const char *path, bool streams_ok, bool *stream)
{
    struct stat sb;
    bool std_in = strcmp(path, "-") == 0;
    int fd = std_in ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    int flags;

    if (fd < 0 || fstat(fd, &sb) != 0) {
        input_error(opt, path, strerror(errno));
    }
    *stream = !S_ISREG(sb.st_mode);
    if (*stream && !(streams_ok && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode) ||
                                    (S_ISCHR(sb.st_mode) && isatty(fd))))) {
        char why[192];
        snprintf(why, sizeof(why), "%s%s", postie_file_type_problem(sb.st_mode),
                 !streams_ok ? " (it is read twice: copy it to a file first)"
                 : S_ISDIR(sb.st_mode)
                     ? ""
                     : " (accepted: a regular file, a pipe, a FIFO, a socket or a terminal)");
        input_error(opt, path, why);
    }
    if (S_ISFIFO(sb.st_mode) && !std_in) {
        /* opened without waiting; now wait for the writer, as a reader should */
        struct stat again;
        close(fd);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &again) != 0) {
            input_error(opt, path, strerror(errno));
        }
        if (again.st_dev != sb.st_dev || again.st_ino != sb.st_ino) {
            input_error(opt, path, "was replaced while it was opened");
        }
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        input_error(opt, path, strerror(errno));
    }
    return fd;
}

/* Copy a stream into an unlinked temporary file (mode 0600, in $TMPDIR or
 * /tmp), at most MAX_STREAMED_MESSAGE octets. Returns the spool, at 0. */
static int spool_stream(const char *opt, const char *path, int in)
{
    static uint8_t buf[65536];
    const char *dir = getenv("TMPDIR");
    char name[4096];
    uint64_t total = 0;
    int out;

    if (dir == NULL || dir[0] == '\0') {
        dir = "/tmp";
    }
    if ((size_t)snprintf(name, sizeof(name), "%s/postie-message.XXXXXX", dir) >= sizeof(name)) {
        input_error(opt, path, "$TMPDIR is too long a path for the spool");
    }
    out = mkstemp(name);
    if (out < 0) {
        char why[160];
        snprintf(why, sizeof(why), "cannot create a spool file in %.80s: %s", dir, strerror(errno));
        input_error(opt, path, why);
    }
    (void)unlink(name);
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        size_t done = 0;
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            input_error(opt, path, strerror(errno));
        }
        if (n == 0) {
            break;
        }
        total += (uint64_t)n;
        if (total > MAX_STREAMED_MESSAGE) {
            input_error(opt, path, "a streamed message larger than 256 MiB is refused");
        }
        while (done < (size_t)n) {
            ssize_t w = write(out, buf + done, (size_t)n - done);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                char why[160];
                snprintf(why, sizeof(why), "cannot spool it in %.80s: %s", dir,
                         strerror(w < 0 ? errno : EIO));
                input_error(opt, path, why);
            }
            done += (size_t)w;
        }
    }
    close(in);
    if (lseek(out, 0, SEEK_SET) != 0) {
        input_error(opt, path, strerror(errno));
    }
    return out;
}

/* The raw message (--message FILE|-): a regular file read in place, or a
 * stream spooled first. scanned is what the scan pass counted; reading
 * must give exactly that many octets, or the message changed under us and
 * the body fails (the session ends without the final dot: nothing half
 * sent is ever delivered). */
typedef struct {
    FILE *file;
    uint64_t scanned;
    uint64_t read;
} message_source_t;

static postie_status_t read_message(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    message_source_t *m = ctx;
    *got = fread(buf, 1, cap, m->file);
    m->read += *got;
    if (ferror(m->file) || m->read > m->scanned || (*got == 0 && m->read != m->scanned)) {
        return POSTIE_E_FILE;
    }
    return POSTIE_OK;
}

/* Open and check the message before connecting: its size (for SIZE=), its
 * 8-bit content (for BODY=8BITMIME), no NUL octet, not empty. Exits 2
 * naming --message otherwise. */
static void open_message(const char *path, message_source_t *m, uint64_t *size, bool *eight_bit)
{
    static uint8_t buf[65536];
    const char *opt = "--message";
    bool stream = false;
    int fd = open_input(opt, path, true, &stream);
    off_t start;
    size_t n;

    if (stream) {
        fd = spool_stream(opt, path, fd);
    }
    m->file = fdopen(fd, "rb");
    if (m->file == NULL) {
        input_error(opt, path, strerror(errno));
    }
    start = ftello(m->file); /* stdin may be a file read from the middle */
    if (start < 0) {
        input_error(opt, path, strerror(errno));
    }
    *size = 0;
    *eight_bit = false;
    while ((n = fread(buf, 1, sizeof(buf), m->file)) > 0) {
        const uint8_t *nul = memchr(buf, 0, n);
        if (nul != NULL) {
            char why[160];
            snprintf(why, sizeof(why),
                     "NUL octet at offset %llu: a message cannot carry NUL (send binary data as "
                     "an attachment)",
                     (unsigned long long)(*size + (uint64_t)(nul - buf)));
            input_error(opt, path, why);
        }
        for (size_t i = 0; i < n && !*eight_bit; i++) {
            *eight_bit = buf[i] >= 0x80;
        }
        *size += n;
    }
    if (ferror(m->file)) {
        input_error(opt, path, strerror(errno));
    }
    if (*size == 0) {
        input_error(opt, path, "the message is empty");
    }
    if (fseeko(m->file, start, SEEK_SET) != 0) {
        input_error(opt, path, strerror(errno));
    }
    m->scanned = *size;
    m->read = 0;
}

static void print_reply(FILE *out, const postie_reply_info_t *r)
{
    if (r->code != 0) {
        fprintf(out, "%u%s", r->code, r->enhanced[0] ? " " : "");
        put_escaped_str(out, r->enhanced);
        fputc(' ', out);
        put_escaped_str(out, r->text);
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
        fprintf(stderr, "; ");
        put_escaped_str(stderr, e->subject);
    }
    if (e->reply.code != 0) {
        fprintf(stderr, "; server said: ");
        print_reply(stderr, &e->reply);
    } else if (e->reply.text[0]) {
        fprintf(stderr, "; ");
        put_escaped_str(stderr, e->reply.text);
    }
    fputc('\n', stderr);
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}

/* ---- options ---------------------------------------------------------------- */

typedef struct {
    postie_smtp_client_config_t cfg;
    postie_smtp_envelope_t env;
    const char *message_path; /* raw message; NULL: compose (or stdin when nothing to compose) */

    const char *session_conflict; /* first option --session refuses, or NULL */
    const char *ehlo;             /* --ehlo NAME: overrides the session's */

    const char *password_env;
    const char *password_file;
    unsigned long timeout_s;
    const char *to[MAX_RCPT];
    size_t nto;
    /* composing */
    bool compose;
    const char *from_name;
    const char *subject;
    const char *body_file;
    const char *html_file;
    const char *attach[MAX_ATTACH];
    size_t nattach;
    const char *cc[MAX_RCPT];
    size_t ncc;
    const char *bcc[MAX_RCPT];
    size_t nbcc;
    const char *reply_to[MAX_RCPT];
    size_t nreply_to;
    postie_header_t headers[MAX_HEADERS];
    size_t nheaders;
    bool utf8_headers;
    bool eight_bit;
    const char *output;
    const char *header_from; /* From header address when it differs from MAIL FROM */
    const char *session;     /* --session NAME: transport, From, template and prefix */
    const char *as_user;
    const char *as_email;
    const char *session_name; /* the session's normalised name, once applied */
    bool queue;               /* --queue: through the outgoing queue */
    bool queue_only;          /* --queue-only: enqueue; a later run sends it */
    const char *spool;        /* --spool DIR */
    char from_name_buf[512];
    char subject_buf[1024];
    uint8_t *text; /* --body-file and --html-file contents, read once */
    size_t text_len;
    uint8_t *html;
    size_t html_len;
} options_t;

/* One option value is one mailbox (postie_address_check): a list or a
 * group in one value is refused here, naming the option. */
static void check_address_option(const char *opt, const char *v, bool allow_empty)
{
    postie_status_t st = postie_address_check(v, allow_empty, NULL);
    if (st != POSTIE_OK) {
        char shown[96];
        postie_text_copy_printable(shown, sizeof(shown), v, strlen(v));
        fprintf(stderr, "postie: %s \"%s\": %s (give one address per %s)\n", opt, shown,
                postie_status_str(st), opt);
        fprintf(stderr, "Try 'postie send --help'.\n");
        exit(EXIT_USAGE);
    }
}

static void add_address(const char **list, size_t *n, const char *opt, const char *v)
{
    check_address_option(opt, v, false);
    if (*n >= MAX_RCPT) {
        usage_error("too many addresses (limit 1000) for", opt);
    }
    list[(*n)++] = v;
}

/* Parse argv; sending: the SMTP options are allowed. */
static void parse_options(int argc, char **argv, options_t *o, bool sending)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        bool smtp_option = true;
#define NEEDS_VALUE()                            \
    do {                                         \
        if (v == NULL)                           \
            usage_error("missing value for", a); \
        i++;                                     \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (!strcmp(a, "--queue") && sending) {
            o->queue = true;
        } else if (!strcmp(a, "--queue-only") && sending) {
            o->queue = true;
            o->queue_only = true;
        } else if (!strcmp(a, "--spool") && sending) {
            NEEDS_VALUE();
            o->spool = v;
        } else if (!strcmp(a, "--host")) {
            NEEDS_VALUE();
            check_host_option(a, v);
            o->cfg.host = v;
        } else if (!strcmp(a, "--port")) {
            NEEDS_VALUE();
            o->cfg.port = (uint16_t)parse_number("bad --port", v, 65535);
        } else if (!strcmp(a, "--connect-to")) {
            NEEDS_VALUE();
            check_host_option(a, v);
            o->cfg.connect_to = v;
        } else if (!strcmp(a, "--tls")) {
            NEEDS_VALUE();
            if (!strcmp(v, "none")) {
                o->cfg.smtp.tls_mode = POSTIE_TLS_NONE;
            } else if (!strcmp(v, "starttls")) {
                o->cfg.smtp.tls_mode = POSTIE_TLS_STARTTLS_REQUIRED;
            } else if (!strcmp(v, "starttls-optional")) {
                o->cfg.smtp.tls_mode = POSTIE_TLS_STARTTLS_OPPORTUNISTIC;
            } else if (!strcmp(v, "implicit")) {
                o->cfg.smtp.tls_mode = POSTIE_TLS_IMPLICIT;
            } else {
                usage_error("--tls must be none, starttls, starttls-optional or implicit", v);
            }
        } else if (!strcmp(a, "--ca-file")) {
            NEEDS_VALUE();
            o->cfg.tls.ca_file = v;
        } else if (!strcmp(a, "--timeout")) {
            NEEDS_VALUE();
            o->timeout_s = parse_number("bad --timeout (seconds, 1..86400)", v, 86400);
            if (o->timeout_s == 0) {
                usage_error("bad --timeout (seconds, 1..86400)", v);
            }
        } else if (!strcmp(a, "--ehlo")) {
            const char *why;
            NEEDS_VALUE();
            if ((why = check_ehlo_name(v)) != NULL) {
                bad_value(a, v, why);
            }
            o->cfg.smtp.ehlo_name = v;
            o->ehlo = v;
        } else if (!strcmp(a, "--user")) {
            NEEDS_VALUE();
            check_user_option(v);
            o->cfg.smtp.username = v;
        } else if (!strcmp(a, "--password-env")) {
            NEEDS_VALUE();
            o->password_env = v;
        } else if (!strcmp(a, "--password-file")) {
            NEEDS_VALUE();
            o->password_file = v;
        } else if (!strcmp(a, "--password")) {
            usage_error("passwords are not taken from the command line; use --password-env VAR "
                        "or --password-file FILE",
                        NULL);
        } else if (!strcmp(a, "--allow-plaintext-auth")) {
            o->cfg.smtp.allow_plaintext_auth = true;
        } else if (!strcmp(a, "--no-pipelining")) {
            o->cfg.smtp.use_pipelining = false;
        } else if (!strcmp(a, "--no-chunking")) {
            o->cfg.smtp.use_chunking = false;
        } else if (!strcmp(a, "--dsn-notify")) {
            NEEDS_VALUE();
            if (!strcmp(v, "never")) {
                o->env.dsn_notify = POSTIE_DSN_NOTIFY_NEVER;
            } else {
                o->env.dsn_notify =
                    (uint8_t)((strstr(v, "success") ? POSTIE_DSN_NOTIFY_SUCCESS : 0) |
                              (strstr(v, "failure") ? POSTIE_DSN_NOTIFY_FAILURE : 0) |
                              (strstr(v, "delay") ? POSTIE_DSN_NOTIFY_DELAY : 0));
                if (o->env.dsn_notify == 0) {
                    usage_error("bad --dsn-notify", v);
                }
            }
        } else if (!strcmp(a, "--dsn-ret")) {
            NEEDS_VALUE();
            o->env.dsn_ret = !strcmp(v, "full")   ? POSTIE_DSN_RET_FULL
                             : !strcmp(v, "hdrs") ? POSTIE_DSN_RET_HDRS
                                                  : POSTIE_DSN_RET_DEFAULT;
            if (o->env.dsn_ret == POSTIE_DSN_RET_DEFAULT) {
                usage_error("--dsn-ret must be full or hdrs", v);
            }
        } else if (!strcmp(a, "--envid")) {
            NEEDS_VALUE();
            check_envid_option(v);
            o->env.dsn_envid = v;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o->cfg.smtp.log = log_line;
        } else if (!strcmp(a, "--message")) {
            NEEDS_VALUE();
            o->message_path = v;
        } else {
            smtp_option = false;
        }
        if (o->session_conflict == NULL &&
            (!strcmp(a, "--host") || !strcmp(a, "--port") || !strcmp(a, "--tls") ||
             !strcmp(a, "--ca-file") || !strcmp(a, "--allow-plaintext-auth") ||
             !strcmp(a, "--user") || !strcmp(a, "--password-env") ||
             !strcmp(a, "--password-file") || !strcmp(a, "--from") || !strcmp(a, "--from-name"))) {
            o->session_conflict = a;
        }
        if (smtp_option) {
            if (!sending) {
                usage_error("option only for postie send", a);
            }
            continue;
        }
        if (!strcmp(a, "--from")) {
            NEEDS_VALUE();
            check_address_option(a, v, true); /* "" is the null sender */
            o->env.from = v;
        } else if (!strcmp(a, "--to")) {
            NEEDS_VALUE();
            add_address(o->to, &o->nto, a, v);
        } else if (!strcmp(a, "--cc")) {
            NEEDS_VALUE();
            add_address(o->cc, &o->ncc, a, v);
            o->compose = true;
        } else if (!strcmp(a, "--bcc")) {
            NEEDS_VALUE();
            add_address(o->bcc, &o->nbcc, a, v);
            o->compose = true;
        } else if (!strcmp(a, "--reply-to")) {
            NEEDS_VALUE();
            add_address(o->reply_to, &o->nreply_to, a, v);
            o->compose = true;
        } else if (!strcmp(a, "--subject")) {
            NEEDS_VALUE();
            o->subject = v;
            o->compose = true;
        } else if (!strcmp(a, "--from-name")) {
            NEEDS_VALUE();
            o->from_name = v;
            o->compose = true;
        } else if (!strcmp(a, "--body-file")) {
            NEEDS_VALUE();
            o->body_file = v;
            o->compose = true;
        } else if (!strcmp(a, "--html-file")) {
            NEEDS_VALUE();
            o->html_file = v;
            o->compose = true;
        } else if (!strcmp(a, "--attach")) {
            NEEDS_VALUE();
            if (o->nattach >= MAX_ATTACH) {
                usage_error("too many --attach (limit 64)", v);
            }
            o->attach[o->nattach++] = v;
            o->compose = true;
        } else if (!strcmp(a, "--header")) {
            char *line = argv[i + 1];
            char *colon = line != NULL ? strchr(line, ':') : NULL;
            NEEDS_VALUE();
            if (o->nheaders >= MAX_HEADERS) {
                usage_error("too many --header (limit 32)", v);
            }
            if (colon == NULL) {
                usage_error("--header needs 'Name: value'", v);
            }
            *colon = '\0'; /* split in place: argv strings are ours */
            o->headers[o->nheaders].name = line;
            o->headers[o->nheaders].value = colon + 1 + strspn(colon + 1, " \t");
            o->nheaders++;
            o->compose = true;
        } else if (!strcmp(a, "--session") && sending) {
            NEEDS_VALUE();
            o->session = v;
            o->compose = true;
        } else if (!strcmp(a, "--as-user") && sending) {
            NEEDS_VALUE();
            o->as_user = v;
        } else if (!strcmp(a, "--as-email") && sending) {
            NEEDS_VALUE();
            o->as_email = v;
        } else if (!strcmp(a, "--utf8-headers")) {
            o->utf8_headers = true;
            o->compose = true;
        } else if (!strcmp(a, "--8bit") && !sending) {
            o->eight_bit = true;
        } else if (!strcmp(a, "--output") && !sending) {
            NEEDS_VALUE();
            o->output = v;
        } else {
            usage_error("unknown option", a);
        }
#undef NEEDS_VALUE
    }
    if (!sending) {
        o->compose = true;
    }
    if (o->compose && o->message_path != NULL) {
        usage_error("--message sends a ready message; it cannot be combined with compose options",
                    NULL);
    }
}

/* ---- composing ---------------------------------------------------------------- */

typedef struct {
    postie_message_t msg;
    postie_mime_writer_t writer;
    postie_mailbox_t to[MAX_RCPT];
    postie_mailbox_t cc[MAX_RCPT];
    postie_mailbox_t reply_to[MAX_RCPT];
    postie_attachment_t attachments[MAX_ATTACH];
    postie_file_reader_t files[MAX_ATTACH];
    bool files_open; /* a second compose rereads them: same sizes, same octets */
} composition_t;

/* A text or HTML body, read whole (at most MAX_TEXT): a regular file or a
 * stream ("-", a pipe, a FIFO, a terminal); anything else exits 2. */
static uint8_t *read_text_file(const char *opt, const char *path, size_t *len)
{
    bool stream = false;
    int fd = open_input(opt, path, true, &stream);
    uint8_t *buf = malloc(MAX_TEXT + 1);
    size_t n = 0;
    if (buf == NULL) {
        input_error(opt, path, "out of memory");
    }
    while (n <= MAX_TEXT) {
        ssize_t got = read(fd, buf + n, MAX_TEXT + 1 - n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            input_error(opt, path, strerror(errno));
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    if (n > MAX_TEXT) {
        input_error(opt, path, "larger than 16 MiB; send it as an attachment");
    }
    close(fd);
    *len = n;
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Fill c from the options and start the writer. Exits with a usage error
 * naming the field when the message is not acceptable. */
static void compose(composition_t *c, options_t *o, bool allow_8bit, bool allow_utf8)
{
    postie_message_t *m = &c->msg;
    postie_status_t st;

    memset(m, 0, sizeof(*m));
    m->from.address = o->header_from != NULL ? o->header_from : o->env.from;
    m->from.name = o->from_name;
    for (size_t i = 0; i < o->nto; i++) {
        c->to[i].address = o->to[i];
    }
    for (size_t i = 0; i < o->ncc; i++) {
        c->cc[i].address = o->cc[i];
    }
    for (size_t i = 0; i < o->nreply_to; i++) {
        c->reply_to[i].address = o->reply_to[i];
    }
    m->to = c->to;
    m->to_count = o->nto;
    m->cc = c->cc;
    m->cc_count = o->ncc;
    m->reply_to = c->reply_to;
    m->reply_to_count = o->nreply_to;
    m->subject = o->subject;
    postie_wall_clock(&m->date, &m->utc_offset_min);
    if (postie_random_bytes(m->entropy, sizeof(m->entropy)) != POSTIE_OK) {
        fprintf(stderr, "postie: no random numbers from the kernel\n");
        exit(EXIT_USAGE);
    }
    m->headers = o->headers;
    m->header_count = o->nheaders;
    if (o->body_file != NULL && o->text == NULL) {
        o->text = read_text_file("--body-file", o->body_file, &o->text_len);
    }
    if (o->html_file != NULL && o->html == NULL) {
        o->html = read_text_file("--html-file", o->html_file, &o->html_len);
    }
    m->text = o->text != NULL ? o->text : (o->html == NULL ? (const uint8_t *)"" : NULL);
    m->text_len = o->text_len;
    m->html = o->html;
    m->html_len = o->html_len;
    for (size_t i = 0; i < o->nattach; i++) {
        if (c->files_open) {
            postie_file_reader_rewind(&c->files[i]);
        } else if (postie_file_reader_open(&c->files[i], o->attach[i]) != POSTIE_OK) {
            int err = errno;
            struct stat sb;
            char why[192];
            const char *type =
                stat(o->attach[i], &sb) == 0 ? postie_file_type_problem(sb.st_mode) : NULL;
            if (type == NULL) {
                input_error("--attach", o->attach[i], strerror(err));
            }
            snprintf(why, sizeof(why), "%s%s", type,
                     S_ISDIR(sb.st_mode) ? "" : " (it is read twice: copy it to a file first)");
            input_error("--attach", o->attach[i], why);
        }
        c->attachments[i].filename = base_name(o->attach[i]);
        c->attachments[i].read = postie_file_read;
        c->attachments[i].read_ctx = &c->files[i];
    }
    c->files_open = true;
    m->attachments = c->attachments;
    m->attachment_count = o->nattach;
    m->allow_8bit = allow_8bit;
    m->allow_utf8_headers = allow_utf8 && o->utf8_headers;

    st = postie_mime_init(&c->writer, m);
    if (st != POSTIE_OK) {
        const postie_error_t *e = postie_mime_error(&c->writer);
        fprintf(stderr, "postie: cannot compose the message: %s: %s (%s)\n", e->subject,
                postie_status_str(st), postie_status_name(st));
        exit(EXIT_USAGE);
    }
}

static void compose_done(composition_t *c, options_t *o)
{
    for (size_t i = 0; i < o->nattach; i++) {
        postie_file_reader_close(&c->files[i]);
    }
    c->files_open = false;
}

/* An attachment that ended before the size it had when it was opened (a
 * log truncated or rotated in place meanwhile): say which. */
static void report_shrunk_attachments(const composition_t *c, const options_t *o)
{
    for (size_t i = 0; i < o->nattach; i++) {
        if (c->files[i].shrank) {
            fprintf(stderr,
                    "postie: attachment %s shrank while it was being read (it had %llu "
                    "octets when opened)\n",
                    o->attach[i], (unsigned long long)c->files[i].size);
        }
    }
}

/* Compose twice: a counting pass for the exact size, then the pass to
 * read. The attachments stay open between the passes and each gives the
 * size it had when opened, so a file that grows meanwhile (a live log)
 * cannot change the length; only the random and date digits differ
 * between passes. Returns the size; c->writer is ready for
 * postie_mime_read. */
static uint64_t compose_counted(composition_t *c, options_t *o, bool allow_8bit, bool allow_utf8)
{
    uint8_t scratch[16384];
    size_t got = 0;
    uint64_t size = 0;
    postie_status_t st;
    compose(c, o, allow_8bit, allow_utf8);
    while ((st = postie_mime_read(&c->writer, scratch, sizeof(scratch), &got)) == POSTIE_OK &&
           got > 0) {
        size += got;
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: cannot compose the message: %s: %s\n",
                postie_mime_error(&c->writer)->subject, postie_status_str(st));
        report_shrunk_attachments(c, o);
        exit(EXIT_USAGE);
    }
    compose(c, o, allow_8bit, allow_utf8);
    return size;
}

static int cmd_compose(int argc, char **argv)
{
    static options_t o;
    static composition_t c;
    FILE *out = stdout;
    uint8_t buf[16384];
    size_t got = 0;
    postie_status_t st;

    postie_smtp_client_config_defaults(&o.cfg);
    parse_options(argc, argv, &o, false);
    if (o.env.from == NULL) {
        usage_error("--from is required", NULL);
    }
    compose(&c, &o, o.eight_bit, true);
    if (o.output != NULL && (out = fopen(o.output, "wb")) == NULL) {
        fprintf(stderr, "postie: cannot write %s: %s\n", o.output, strerror(errno));
        return EXIT_USAGE;
    }
    while ((st = postie_mime_read(&c.writer, buf, sizeof(buf), &got)) == POSTIE_OK && got > 0) {
        fwrite(buf, 1, got, out);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: composing failed: %s: %s\n", postie_mime_error(&c.writer)->subject,
                postie_status_str(st));
    }
    if (out != stdout) {
        fclose(out);
    }
    compose_done(&c, &o);
    free(o.text);
    free(o.html);
    return st == POSTIE_OK ? 0 : EXIT_USAGE;
}

/* ---- the registry ----------------------------------------------------------------- */

static int run_send(options_t *op);

static const char *registry_path; /* --registry FILE, before the command */
static postie_registry_t registry;

/* Load the registry or exit 2 listing every problem; warnings go to stderr. */
static const char *load_registry(void)
{
    static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE];
    const char *used = NULL;
    postie_status_t st =
        postie_registry_load_file(&registry, registry_path, arena, sizeof(arena), &used);
    if (st == POSTIE_E_FILE) {
        int err = errno;
        struct stat sb;
        const char *type = stat(used, &sb) == 0 ? postie_file_type_problem(sb.st_mode) : NULL;
        fprintf(stderr, "postie: cannot read the registry %s: %s\n", used,
                type != NULL ? type : strerror(err));
        exit(EXIT_USAGE);
    }
    for (size_t i = 0; i < registry.problem_count; i++) {
        const postie_registry_problem_t *p = &registry.problems[i];
        fprintf(stderr, "%s: %s: %s: %s\n", used, p->warning ? "warning" : "error", p->path,
                p->message);
    }
    if (registry.problems_dropped > 0) {
        fprintf(stderr, "%s: %zu more problems not shown\n", used, registry.problems_dropped);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: the registry %s was not loaded (%s)\n", used,
                postie_status_str(st));
        exit(EXIT_USAGE);
    }
    return used;
}

const postie_registry_t *cli_registry(void)
{
    static bool loaded;
    if (!loaded) {
        (void)load_registry();
        loaded = true;
    }
    return &registry;
}

static const postie_session_t *find_session(const char *name)
{
    const char *used = load_registry();
    const postie_session_t *s = postie_registry_session(&registry, name);
    if (s == NULL) {
        fprintf(stderr, "postie: no session %s in %s\n", name, used);
        exit(EXIT_USAGE);
    }
    return s;
}

static const char *tls_name(postie_tls_mode_t t)
{
    static const char *const names[] = {"STARTTLS required", "STARTTLS if offered", "none",
                                        "implicit TLS"};
    return (unsigned)t < 4u ? names[t] : "?";
}

/* Take transport, From, template and subject prefix from the session.
 *
 * The rule for options next to --session: the session decides where mail
 * goes and how safely (server, port, TLS, CA file, plaintext login, login,
 * From), so those options are refused (exit 2, naming the option); the
 * options that only tune the connection (--connect-to, --ehlo, --timeout,
 * --no-pipelining, --no-chunking, --verbose) and the DSN options are
 * honoured and override the session. */
static int apply_session(options_t *o)
{
    static postie_session_t sess; /* a copy: a reload could not disturb it */
    static char password[POSTIE_AUTH_FIELD_MAX + 1];
    postie_template_user_t user = {o->as_user, o->as_email};
    postie_session_message_t m;
    postie_status_t st;

    if (o->session_conflict != NULL) {
        fprintf(stderr,
                "postie: --session defines the server, port, TLS, CA file, login and From: "
                "drop %s\n",
                o->session_conflict);
        fprintf(stderr, "Try 'postie send --help'.\n");
        exit(EXIT_USAGE);
    }
    sess = *find_session(o->session);
    st = postie_session_client_config(&sess, &o->cfg, password, sizeof(password));
    if (st == POSTIE_E_AUTH_NO_MECHANISM) {
        fprintf(stderr, "postie: session %s: cannot use its OAuth 2.0 login (not available yet)\n",
                sess.name);
        return EXIT_USAGE;
    }
    if (st != POSTIE_OK) {
        char what[320];
        const char *why = NULL;
        (void)postie_secret_read(&sess.ep.password, password, sizeof(password), &why);
        postie_secret_describe(&sess.ep.password, what, sizeof(what));
        fprintf(stderr, "postie: session %s: cannot use its %s: %s\n", sess.name, what,
                why != NULL ? why : postie_status_str(st));
        return EXIT_USAGE;
    }
    if (o->ehlo != NULL) {
        o->cfg.smtp.ehlo_name = o->ehlo;
    }
    o->session_name = sess.name;
    /* From, display name, envelope sender, subject prefix: the core mapping */
    st = postie_session_map_message(&sess, &user, o->subject, o->from_name_buf,
                                    sizeof(o->from_name_buf), o->subject_buf,
                                    sizeof(o->subject_buf), &m);
    if (st != POSTIE_OK && m.failed == POSTIE_F_SUBJECT_PREFIX) {
        usage_error("--subject is too long with the session's subject_prefix", NULL);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: session %s: from_name: %s\n", sess.name, postie_status_str(st));
        return EXIT_USAGE;
    }
    o->header_from = m.from;
    o->env.from = m.envelope_from;
    o->from_name = m.from_name;
    o->subject = m.subject;
    return 0;
}

static void print_origin(const postie_origin_t *origin)
{
    if (origin->key[0] == '\0') {
        printf("  (default)");
    } else {
        printf("  (%s", origin->key);
        const char *via = postie_registry_origin_entry(&registry, origin);
        if (via != NULL) {
            printf(" of %s", via);
        }
        printf(")");
    }
    putchar('\n');
}

static void print_secret(const postie_secret_t *s)
{
    switch (s->kind) {
    case POSTIE_SECRET_INLINE:
        printf("******** (inline in the registry)");
        break;
    case POSTIE_SECRET_ENV:
        printf("******** (environment variable %s, %s)", s->value,
               getenv(s->value) == NULL      ? "NOT SET"
               : getenv(s->value)[0] == '\0' ? "EMPTY"
                                             : "set");
        break;
    case POSTIE_SECRET_FILE: {
        char scratch[POSTIE_AUTH_FIELD_MAX + 1];
        const char *why = NULL;
        (void)postie_secret_read(s, scratch, sizeof(scratch), &why);
        memset(scratch, 0, sizeof(scratch));
        printf("******** (file %s, ", s->value);
        if (why != NULL) {
            printf("NOT USABLE: %s)", why);
        } else {
            printf("readable%s)",
                   postie_secret_exposed(s) ? ", BUT GROUP OR OTHERS CAN READ IT" : "");
        }
    } break;
    default:
        printf("(none)");
    }
}

static int cmd_sessions(int argc, char **argv)
{
    const char *used;
    (void)argv;
    if (argc != 0) {
        usage_error("sessions takes no arguments", NULL);
    }
    used = load_registry();
    printf("registry %s: %zu sessions, %zu accounts\n", used, registry.session_count,
           registry.account_count);
    for (size_t i = 0; i < registry.session_count; i++) {
        const postie_session_t *s = &registry.sessions[i];
        printf("session  %-24s %s://%s:%u  from %s  %s\n", s->name,
               postie_registry_protocol_name(s->ep.protocol), s->ep.host, s->ep.port, s->from,
               s->description);
    }
    for (size_t i = 0; i < registry.account_count; i++) {
        const postie_account_t *a = &registry.accounts[i];
        printf("account  %-24s %s://%s:%u  %s every %us  %s\n", a->name,
               postie_registry_protocol_name(a->ep.protocol), a->ep.host, a->ep.port,
               a->enabled ? "polled" : "disabled,", a->poll_interval_s, a->description);
    }
    return 0;
}

/* "30000 ms", or what the library uses when the registry says nothing. */
static const char *ms_text(uint32_t ms, int slot)
{
    static char text[3][48];
    if (ms == 0) {
        if (slot != 0) {
            return "library default (RFC 5321 values)";
        }
        snprintf(text[slot], sizeof(text[slot]), "library default (%u ms)",
                 (unsigned)POSTIE_CONNECT_TIMEOUT_MS);
        return text[slot];
    }
    snprintf(text[slot], sizeof(text[slot]), "%u ms", ms);
    return text[slot];
}

static int cmd_session_show(int argc, char **argv)
{
    const postie_session_t *s;
    const postie_endpoint_t *ep;
    if (argc != 2 || strcmp(argv[0], "show") != 0) {
        usage_error("usage: postie session show NAME", NULL);
    }
    s = find_session(argv[1]);
    ep = &s->ep;
    printf("session %s%s%s\n", s->name, s->description[0] ? ": " : "", s->description);
    if (s->jndi[0] != '\0') {
        printf("  transport from: %s\n", s->jndi);
    }
#define SHOW(label, field, fmt, ...)                \
    do {                                            \
        printf("  %-15s " fmt, label, __VA_ARGS__); \
        print_origin(&s->origin[field]);            \
    } while (0)
    SHOW("protocol", POSTIE_F_PROTOCOL, "%s", postie_registry_protocol_name(ep->protocol));
    SHOW("host", POSTIE_F_HOST, "%s", ep->host);
    SHOW("port", POSTIE_F_PORT, "%u", ep->port);
    SHOW("tls", POSTIE_F_TLS, "%s", tls_name(ep->tls));
    SHOW("ca_file", POSTIE_F_CA_FILE, "%s", ep->ca_file[0] ? ep->ca_file : "(system bundle)");
    SHOW("verify", POSTIE_F_VERIFY, "%s", ep->verify ? "yes" : "NO");
    SHOW("auth", POSTIE_F_AUTH, "%s",
         ep->auth == POSTIE_AUTH_BASIC    ? "basic"
         : ep->auth == POSTIE_AUTH_OAUTH2 ? "oauth2 (reserved)"
                                          : "none");
    if (ep->auth != POSTIE_AUTH_NONE) {
        SHOW("username", POSTIE_F_USERNAME, "%s", ep->username);
        printf("  %-15s ", "password");
        print_secret(&ep->password);
        print_origin(&s->origin[POSTIE_F_PASSWORD]);
    }
    SHOW("ehlo", POSTIE_F_EHLO, "%s", ep->ehlo[0] ? ep->ehlo : "(default)");
    SHOW("connect_timeout", POSTIE_F_CONNECT_TIMEOUT, "%s", ms_text(ep->connect_timeout_ms, 0));
    SHOW("timeout", POSTIE_F_TIMEOUT, "%s", ms_text(ep->timeout_ms, 1));
    SHOW("write_timeout", POSTIE_F_WRITE_TIMEOUT, "%s", ms_text(ep->write_timeout_ms, 2));
    SHOW("from", POSTIE_F_FROM, "%s", s->from);
    SHOW("envelope_from", POSTIE_F_ENVELOPE_FROM, "%s",
         s->envelope_from[0] ? s->envelope_from : "(from)");
    SHOW("from_name", POSTIE_F_FROM_NAME, "%s", s->from_name);
    SHOW("subject_prefix", POSTIE_F_SUBJECT_PREFIX, "\"%s\"", s->subject_prefix);
#undef SHOW
    return 0;
}

static int cmd_test_email(int argc, char **argv)
{
    static options_t o;
    static postie_smtp_rcpt_t rcpt[16];
    postie_reply_info_t final;
    postie_error_t error;
    const postie_session_t *s;
    postie_status_t st;
    int rc = 0;

    if (argc < 1 || argv[0][0] == '-') {
        usage_error("usage: postie test-email NAME --to ADDR [--to ADDR ...]", NULL);
    }
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--to") != 0 && strcmp(argv[i], "--help") != 0) {
            usage_error("test-email takes only --to ADDR (the session defines the rest)", argv[i]);
        }
    }
    postie_smtp_client_config_defaults(&o.cfg);
    parse_options(argc - 1, argv + 1, &o, true);
    if (o.nto == 0 || o.nto > 16 || o.compose || o.cfg.host != NULL) {
        usage_error("usage: postie test-email NAME --to ADDR [--to ADDR ...] (up to 16)", NULL);
    }
    s = find_session(argv[0]);
    st = postie_session_test_email(s, o.to, o.nto, rcpt, &final, &error);
    for (size_t i = 0; i < o.nto; i++) {
        if (rcpt[i].state == POSTIE_RCPT_REJECTED || rcpt[i].state == POSTIE_RCPT_NOT_TRIED) {
            fprintf(stderr, "postie: recipient %s %s", rcpt[i].address,
                    rcpt[i].state == POSTIE_RCPT_REJECTED ? "refused: " : "not tried");
            print_reply(stderr, &rcpt[i].reply);
            fputc('\n', stderr);
            rc = EXIT_REFUSED;
        }
    }
    if (st == POSTIE_OK) {
        print_reply(stdout, &final);
        fputc('\n', stdout);
        return rc;
    }
    fprintf(stderr, "postie: test email through %s failed at %s: %s (%s)", s->name,
            error.phase != NULL ? error.phase : "?", postie_status_str(st), postie_status_name(st));
    if (error.reply.code != 0) {
        fprintf(stderr, "; server said: ");
        print_reply(stderr, &error.reply);
    }
    fputc('\n', stderr);
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}

static int cmd_test_connection(int argc, char **argv)
{
    static postie_connection_report_t r;
    const postie_session_t *s;
    postie_status_t st;

    if (argc != 1) {
        usage_error("usage: postie test-connection NAME", NULL);
    }
    s = find_session(argv[0]);
    printf("session %s: %s://%s:%u, TLS %s%s, login %s\n", s->name,
           postie_registry_protocol_name(s->ep.protocol), s->ep.host, s->ep.port,
           tls_name(s->ep.tls),
           s->ep.verify || s->ep.tls == POSTIE_TLS_NONE ? "" : " (certificate NOT verified)",
           s->ep.auth == POSTIE_AUTH_BASIC ? s->ep.username : "none");
    st = postie_session_test_connection(s, &r);
    for (int step = 0; step < POSTIE_CHECK_COUNT; step++) {
        const char *name = postie_check_step_name((postie_check_step_t)step);
        switch (r.result[step]) {
        case POSTIE_STEP_SKIPPED:
            printf("  %-6s skipped\n", name);
            break;
        case POSTIE_STEP_NOT_USED:
            printf("  %-6s none    (not used by this session)\n", name);
            break;
        case POSTIE_STEP_FAILED:
            printf("  %-6s FAILED  %s (%s)", name, postie_status_str(st), postie_status_name(st));
            if (r.error.subject[0]) {
                printf("; ");
                put_escaped_str(stdout, r.error.subject);
            }
            if (r.error.reply.code != 0) {
                printf("; server said: ");
                print_reply(stdout, &r.error.reply);
            }
            putchar('\n');
            break;
        case POSTIE_STEP_OK:
            switch (step) {
            case POSTIE_CHECK_DNS:
                printf("  DNS    ok      %s -> %s (%u ms)\n", s->ep.host, r.addresses, r.dns_ms);
                break;
            case POSTIE_CHECK_TCP:
                printf("  TCP    ok      connected to %s in %u ms\n", r.peer, r.connect_ms);
                break;
            case POSTIE_CHECK_TLS:
                printf("  TLS    ok      %s %s; certificate ", r.tls.version, r.tls.cipher);
                put_escaped_str(stdout, r.tls.peer_subject);
                printf(", valid until %s\n", r.tls.peer_not_after);
                if (!s->ep.verify || r.tls.verify_flags != 0) {
                    printf("  TLS    WARNING the certificate was NOT verified (the session says "
                           "\"verify\": false): anyone on the path could pose as the server\n");
                }
                break;
            case POSTIE_CHECK_SMTP: {
                char caps[256];
                postie_smtp_caps_format(&r.caps, caps, sizeof(caps));
                printf("  SMTP   ok      ");
                put_escaped_str(stdout, r.caps.server_name);
                printf(" offers ");
                put_escaped_str(stdout, caps);
                putchar('\n');
                break;
            }
            default:
                printf("  login  ok      authenticated as %s\n", s->ep.username);
                break;
            }
            break;
        }
    }
    if (st == POSTIE_OK) {
        if (r.result[POSTIE_CHECK_TLS] == POSTIE_STEP_OK &&
            (!s->ep.verify || r.tls.verify_flags != 0)) {
            printf("result: the session works, but the server's certificate was NOT verified\n");
        } else {
            printf("result: the session works\n");
        }
        return 0;
    }
    for (int step = 0; step < POSTIE_CHECK_COUNT; step++) {
        if (r.result[step] == POSTIE_STEP_FAILED) {
            printf("result: %s failed\n", postie_check_step_name((postie_check_step_t)step));
        }
    }
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}

/* ---- sending ------------------------------------------------------------------- */

/* send --queue: store the message (composed for any server: 7bit with
 * encoded words, since the server's extensions are not known yet), then
 * try it, and only it, now. Exit as for send, plus 4 when it waits for a
 * retry. */
static int enqueue_and_flush(options_t *o, composition_t *c, message_source_t *msg)
{
    static postie_spool_t spool;
    static postie_queue_t q;
    const char *rcpts[POSTIE_QUEUE_RCPT_MAX];
    postie_queue_message_t m;
    postie_queue_id_t id = 0;
    postie_queue_outcome_t outcome;
    postie_error_t err;
    char error[POSTIE_QUEUE_ERROR_TEXT_MAX];
    char name[POSTIE_QUEUE_ID_TEXT];
    int64_t now;
    int16_t off;
    uint32_t rnd = 0;
    postie_status_t st;
    int rc;

    if (o->session == NULL) {
        usage_error("--queue needs --session NAME: queued mail is sent through a named session",
                    NULL);
    }
    if (o->env.rcpt_count > POSTIE_QUEUE_RCPT_MAX) {
        usage_error("too many recipients for one queued message (POSTIE_QUEUE_RCPT_MAX)", NULL);
    }
    for (size_t i = 0; i < o->env.rcpt_count; i++) {
        rcpts[i] = o->env.rcpt[i].address;
    }
    memset(&m, 0, sizeof(m));
    m.session = o->session_name;
    m.from = o->env.from;
    m.rcpt = rcpts;
    m.rcpt_count = o->env.rcpt_count;
    cli_open_queue(o->spool, &spool, &q);
    postie_wall_clock(&now, &off);
    if (postie_random_bytes((uint8_t *)&rnd, sizeof(rnd)) != POSTIE_OK) {
        fprintf(stderr, "postie: no random numbers from the kernel\n");
        return EXIT_USAGE;
    }
    if (o->compose) {
        m.size = compose_counted(c, o, false, false);
        m.body_8bit = postie_mime_needs_8bit(&c->writer);
        m.smtputf8 = postie_mime_needs_smtputf8(&c->writer);
        st = postie_queue_enqueue(&q, &m, postie_mime_read, &c->writer, now, rnd, &id, &err);
    } else {
        m.size = o->env.size;
        m.body_8bit = o->env.body_8bit;
        st = postie_queue_enqueue(&q, &m, read_message, msg, now, rnd, &id, &err);
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie: the message was not queued: %s (%s)\n", postie_status_str(st),
                err.subject);
        if (o->compose) {
            report_shrunk_attachments(c, o);
        }
        postie_spool_close(&spool);
        return st == POSTIE_E_QUEUE_FULL ? EXIT_TEMP : EXIT_USAGE;
    }
    postie_queue_id_format(id, name);
    printf("queued %s\n", name);
    fflush(stdout);
    if (o->queue_only) {
        postie_spool_close(&spool);
        return 0;
    }
    (void)cli_run_queue(&q, POSTIE_RUN_FLUSH, o->session_name, id, &outcome, error, sizeof(error));
    postie_spool_close(&spool);
    switch (outcome.state) {
    case POSTIE_QSTATE_DONE:
        printf("delivered %s\n", name);
        rc = 0;
        break;
    case POSTIE_QSTATE_ERROR:
        fprintf(stderr, "postie: %s failed, kept in the error queue: %s\n", name, error);
        rc = EXIT_REFUSED;
        break;
    case POSTIE_QSTATE_QUEUED:
        fprintf(stderr, "postie: %s stays queued for a retry: %s\n", name, error);
        rc = EXIT_TEMP;
        break;
    default:
        fprintf(stderr, "postie: %s stays queued (another sender has it)\n", name);
        rc = EXIT_TEMP;
        break;
    }
    return rc;
}

static int cmd_send(int argc, char **argv)
{
    static options_t o;

    postie_smtp_client_config_defaults(&o.cfg);
    parse_options(argc, argv, &o, true);
    return run_send(&o);
}

static int run_send(options_t *op)
{
    static options_t o;
    static postie_smtp_client_t client;
    static postie_smtp_rcpt_t rcpt[3 * MAX_RCPT];
    static composition_t c;
    postie_smtp_envelope_t *env = &o.env;
    message_source_t msg;
    size_t nrcpt = 0;
    postie_status_t st;
    int rc = 0;

    o = *op;
    memset(&msg, 0, sizeof(msg));
    if (o.session != NULL && (rc = apply_session(&o)) != 0) {
        return rc;
    }

    if (o.cfg.host == NULL) {
        usage_error("--host is required", NULL);
    }
    if (env->from == NULL) {
        usage_error("--from is required (use --from '' for the null sender)", NULL);
    }
    /* envelope: To, Cc and Bcc (Bcc never reaches a header) */
    for (size_t i = 0; i < o.nto; i++) {
        rcpt[nrcpt++].address = o.to[i];
    }
    for (size_t i = 0; i < o.ncc; i++) {
        rcpt[nrcpt++].address = o.cc[i];
    }
    for (size_t i = 0; i < o.nbcc; i++) {
        rcpt[nrcpt++].address = o.bcc[i];
    }
    if (nrcpt == 0) {
        usage_error("at least one --to (or --cc, --bcc) is required", NULL);
    }
    if (o.password_env != NULL && o.password_file != NULL) {
        usage_error("give either --password-env or --password-file, not both", NULL);
    }
    if (o.password_env != NULL) {
        o.cfg.smtp.password = read_password("--password-env", POSTIE_SECRET_ENV, o.password_env);
    } else if (o.password_file != NULL) {
        o.cfg.smtp.password = read_password("--password-file", POSTIE_SECRET_FILE, o.password_file);
    }
    if (o.cfg.smtp.username != NULL && o.cfg.smtp.password == NULL) {
        usage_error("--user needs --password-env or --password-file", NULL);
    }
    if (o.cfg.smtp.username == NULL && o.cfg.smtp.password != NULL) {
        usage_error("a password was given without --user", NULL);
    }
    if (o.timeout_s > 0) {
        uint32_t ms = (uint32_t)o.timeout_s * 1000u;
        o.cfg.connect_timeout_ms = ms;
        o.cfg.smtp.timeout_greeting_ms = ms;
        o.cfg.smtp.timeout_command_ms = ms;
        o.cfg.smtp.timeout_data_init_ms = ms;
        o.cfg.smtp.timeout_data_block_ms = ms;
        o.cfg.smtp.timeout_data_end_ms = ms;
    }

    /* Check addresses before connecting: a bad one never reaches the wire. */
    {
        bool non_ascii;
        st = postie_address_check(env->from, true, &non_ascii);
        if (st != POSTIE_OK) {
            fprintf(stderr, "postie: sender address refused: %s\n", postie_status_str(st));
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < nrcpt; i++) {
            st = postie_address_check(rcpt[i].address, false, &non_ascii);
            if (st != POSTIE_OK) {
                char shown[96];
                postie_text_copy_printable(shown, sizeof(shown), rcpt[i].address,
                                           strlen(rcpt[i].address));
                fprintf(stderr, "postie: recipient address \"%s\" refused: %s\n", shown,
                        postie_status_str(st));
                return EXIT_USAGE;
            }
        }
    }

    if (!o.compose) {
        open_message(o.message_path != NULL ? o.message_path : "-", &msg, &env->size,
                     &env->body_8bit);
    } else {
        /* Check the message before connecting; composed again below with
         * what the server offers. */
        compose(&c, &o, true, true);
        compose_done(&c, &o);
    }
    env->rcpt = rcpt;
    env->rcpt_count = nrcpt;
    if (o.queue) {
        rc = enqueue_and_flush(&o, &c, &msg);
        goto out;
    }

    st = postie_smtp_client_open(&client, &o.cfg);
    if (st != POSTIE_OK) {
        rc = report_session_failure(&client, st);
        postie_smtp_client_quit(&client);
        goto out;
    }
    if (o.cfg.smtp.log != NULL) {
        char caps[256];
        postie_tls_info_t tls;
        postie_smtp_caps_format(postie_smtp_caps(&client.engine), caps, sizeof(caps));
        fputs("* server ", stderr);
        put_escaped_str(stderr, postie_smtp_caps(&client.engine)->server_name);
        fputs(" offers: ", stderr);
        put_escaped_str(stderr, caps);
        fputc('\n', stderr);
        if (postie_smtp_client_tls_info(&client, &tls)) {
            fprintf(stderr, "* TLS %s %s, certificate ", tls.version, tls.cipher);
            put_escaped_str(stderr, tls.peer_subject);
            fprintf(stderr, ", valid until %s%s\n", tls.peer_not_after,
                    tls.verify_flags != 0 ? " (NOT verified)" : "");
        }
    }

    if (o.compose) {
        const postie_smtp_caps_t *caps = postie_smtp_caps(&client.engine);
        bool allow_8bit = (caps->flags & POSTIE_SMTP_CAP_8BITMIME) != 0;
        bool allow_utf8 = (caps->flags & POSTIE_SMTP_CAP_SMTPUTF8) != 0;
        /* the exact size, so SIZE= lets the server refuse an oversized
         * message before its body is sent */
        env->size = compose_counted(&c, &o, allow_8bit, allow_utf8);
        env->body_8bit = postie_mime_needs_8bit(&c.writer);
        env->smtputf8 = postie_mime_needs_smtputf8(&c.writer);
        st = postie_smtp_client_send(&client, env, postie_mime_read, &c.writer);
    } else {
        st = postie_smtp_client_send(&client, env, read_message, &msg);
    }
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
        if (o.compose) {
            report_shrunk_attachments(&c, &o);
        }
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
    if (o.compose) {
        compose_done(&c, &o);
        free(o.text);
        free(o.html);
    }
    if (msg.file != NULL) {
        fclose(msg.file);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--registry")) {
        registry_path = argv[2];
        argc -= 2;
        argv += 2;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "send")) {
        return cmd_send(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "compose")) {
        return cmd_compose(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "sessions")) {
        return cmd_sessions(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "session")) {
        return cmd_session_show(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "test-email")) {
        return cmd_test_email(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "test-connection")) {
        return cmd_test_connection(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "queue")) {
        return cli_queue(argc - 2, argv + 2);
    }
    usage_error("unknown command", argv[1]);
    return EXIT_USAGE;
}
