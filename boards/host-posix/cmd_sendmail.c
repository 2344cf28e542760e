/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie sendmail` (also the binary run as `sendmail`): the interface
 * cron, smartd (through mail(1)), mdadm, zfs-zed and apcupsd use to send
 * mail. Reads a message on stdin, takes the recipients from the arguments
 * and/or (-t) its To, Cc and Bcc fields, removes Bcc, and sends it through
 * the durable queue with the registry's default session (or the one named
 * by --session or $POSTIE_SENDMAIL_SESSION): queued first, then tried
 * once; a temporary failure leaves it queued for `postie queue run` and
 * exits 0, as sendmail does. Exit codes are sysexits(3).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "postie/common/address.h"
#include "postie/common/text.h"
#include "postie/common/version.h"
#include "postie/mime/mime.h"
#include "postie/posix/host.h"
#include "postie/posix/notify.h"
#include "postie/posix/queue_spool.h"
#include "postie/posix/registry_file.h"
#include "postie/session/session_map.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_syslog.h"
#include "cli_queue.h"
#include "cli_registry.h"

/* sysexits(3) */
#define EX_OK          0
#define EX_USAGE       64
#define EX_DATAERR     65
#define EX_NOUSER      67
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_OSERR       71
#define EX_CANTCREAT   73
#define EX_IOERR       74
#define EX_TEMPFAIL    75
#define EX_CONFIG      78

#define SENDMAIL_STR_(x)         #x
#define SENDMAIL_STR(x)          SENDMAIL_STR_(x)
#define SENDMAIL_MESSAGE_MAX     (64u * 1024u * 1024u) /* octets read from stdin */
#define SENDMAIL_DEFAULT_SESSION "mail/Default"
#define SENDMAIL_ALIASES_DEFAULT "/etc/postie/aliases"

static const char sendmail_usage[] =
    "usage: postie sendmail [-t] [-i|-oi] [-f ADDR] [-F NAME] [--session NAME]\n"
    "                       [--spool DIR] [--registry FILE] [--aliases FILE]\n"
    "                       [--queue-only|-odq] [--no-syslog] [-v] [--] [ADDR ...] < MESSAGE\n"
    "       sendmail ... (the same, when postie is installed or linked as sendmail)\n"
    "Send the message on standard input the way sendmail(8) does, through the\n"
    "outgoing queue: it is stored first, then tried once; when the server cannot\n"
    "take it now it stays queued for `postie queue run` and the exit status is 0.\n"
    "  -t              also take recipients from the To, Cc and Bcc fields\n"
    "  -i, -oi         a line holding a single dot is not the end of the message\n"
    "  -f ADDR, -r ADDR  envelope sender (a bare local name is ignored: the\n"
    "                  session's sender is used)\n"
    "  -F NAME         full name for the From field Postie writes\n"
    "  --session NAME  the session (else $POSTIE_SENDMAIL_SESSION, else the\n"
    "                  registry's " SENDMAIL_DEFAULT_SESSION ", else its only session)\n"
    "  --queue-only, -odq  store only; a later `postie queue run` sends it\n"
    "  --aliases FILE  local names (root: admin@example.com); else $POSTIE_ALIASES,\n"
    "                  else " SENDMAIL_ALIASES_DEFAULT " when it exists\n"
    "  --no-syslog     do not log the outcome to syslog (facility mail; on by default)\n"
    "  -v              print the outcome on stderr\n"
    "Ignored, as msmtp does: -oem -oee -oep -oeq -oew -odi -odb -om -oo -o*,\n"
    "-B TYPE, -N DSN, -R RET, -V ENVID, -X FILE, -h N, -L TAG, -C FILE, -O OPT,\n"
    "-bm, -m, -n, -U, -G, -Ac, -Am, -d*.\n"
    "Bcc fields are removed. A missing From (or one without a domain, such as\n"
    "'root') becomes the session's From; Date and Message-ID are added when\n"
    "missing. Recipients without a domain (root) go through the aliases file.\n"
    "Exit (sysexits): 0 sent or queued, 64 usage, 65 bad message, 67 unknown\n"
    "local recipient, 69 refused for good (kept in the error queue), 73 spool\n"
    "not usable, 75 queue full, 78 registry or session unusable.\n";

typedef struct {
    bool extract;     /* -t */
    bool ignore_dots; /* -i, -oi */
    bool queue_only;
    bool verbose;
    const char *from;      /* -f */
    const char *full_name; /* -F */
    const char *session;
    const char *spool;
    const char *aliases;
    const char *rcpt_args[POSTIE_NOTIFY_RCPT_MAX];
    size_t nrcpt_args;
} sendmail_opts_t;

/* A growing buffer. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buf_t;

static void die(int code, const char *fmt, const char *arg)
{
    fputs("postie: sendmail: ", stderr);
    fprintf(stderr, fmt, arg != NULL ? arg : "");
    fputc('\n', stderr);
    exit(code);
}

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->data = realloc(b->data, cap);
        if (b->data == NULL) {
            die(EX_OSERR, "out of memory%s", NULL);
        }
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* ---- options -------------------------------------------------------------------- */

/* The value of a sendmail option: attached (-fADDR) or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *arg)
{
    if (arg[2] != '\0') {
        return arg + 2;
    }
    if (*i + 1 >= argc) {
        die(EX_USAGE, "option %s needs a value", arg);
    }
    return argv[++*i];
}

static void add_rcpt_arg(sendmail_opts_t *o, const char *a)
{
    if (o->nrcpt_args >= POSTIE_NOTIFY_RCPT_MAX) {
        die(EX_USAGE, "too many recipients (at most %s)", SENDMAIL_STR(POSTIE_NOTIFY_RCPT_MAX));
    }
    o->rcpt_args[o->nrcpt_args++] = a;
}

static void parse_options(sendmail_opts_t *o, int argc, char **argv)
{
    int i;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            add_rcpt_arg(o, a);
            continue;
        }
        if (a[1] == '-') {
            if (strcmp(a, "--help") == 0) {
                fputs(sendmail_usage, stdout);
                exit(EX_OK);
            } else if (strcmp(a, "--version") == 0) {
                printf("postie %s\n", postie_version());
                exit(EX_OK);
            } else if (strcmp(a, "--queue-only") == 0) {
                o->queue_only = true;
            } else if (strcmp(a, "--syslog") == 0) {
                cli_syslog_enable(true);
            } else if (strcmp(a, "--no-syslog") == 0) {
                cli_syslog_enable(false);
            } else if (strcmp(a, "--session") == 0 || strcmp(a, "--spool") == 0 ||
                       strcmp(a, "--registry") == 0 || strcmp(a, "--aliases") == 0) {
                const char *v;
                if (i + 1 >= argc) {
                    die(EX_USAGE, "option %s needs a value", a);
                }
                v = argv[++i];
                if (a[2] == 's' && a[3] == 'e') {
                    o->session = v;
                } else if (a[2] == 's') {
                    o->spool = v;
                } else if (a[2] == 'r') {
                    cli_registry_set_path(v);
                } else {
                    o->aliases = v;
                }
            } else {
                die(EX_USAGE, "unknown option %s (try 'postie sendmail --help')", a);
            }
            continue;
        }
        switch (a[1]) {
        case 't':
            o->extract = true;
            break;
        case 'i':
            o->ignore_dots = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'f':
        case 'r':
            o->from = option_value(argc, argv, &i, a);
            break;
        case 'F':
            o->full_name = option_value(argc, argv, &i, a);
            break;
        case 'o':
            if (strcmp(a, "-oi") == 0) {
                o->ignore_dots = true;
            } else if (strcmp(a, "-odq") == 0) {
                o->queue_only = true;
            } /* -oem, -odi, -oQ..., any other -o: no meaning here */
            break;
        case 'B':
        case 'N':
        case 'R':
        case 'V':
        case 'X':
        case 'h':
        case 'L':
        case 'C':
        case 'O':
        case 'p':
            (void)option_value(argc, argv, &i, a); /* value ignored */
            break;
        case 'b':
            if (strcmp(a, "-bm") != 0) {
                die(EX_USAGE, "%s is not supported (only -bm, the default)", a);
            }
            break;
        case 'm':
        case 'n':
        case 'U':
        case 'G':
        case 'A':
        case 'd':
            break;
        default:
            die(EX_USAGE, "unknown option %s (try 'postie sendmail --help')", a);
        }
    }
    for (; i < argc; i++) {
        add_rcpt_arg(o, argv[i]);
    }
}

/* ---- the message ---------------------------------------------------------------- */

/* Standard input, whole, or exit. */
static void read_stdin(buf_t *in)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            die(EX_IOERR, "cannot read the message: %s", strerror(errno));
        }
        if (n == 0) {
            return;
        }
        if (in->len + (size_t)n > SENDMAIL_MESSAGE_MAX) {
            die(EX_DATAERR, "the message is larger than %s octets", "64 Mi");
        }
        buf_add(in, chunk, (size_t)n);
    }
}

/* One line of the input, without its line end. */
typedef struct {
    const char *p;
    size_t len;
} line_t;

static bool next_line(const buf_t *in, size_t *pos, line_t *l)
{
    const char *nl;
    if (*pos >= in->len) {
        return false;
    }
    l->p = in->data + *pos;
    nl = memchr(l->p, '\n', in->len - *pos);
    l->len = nl != NULL ? (size_t)(nl - l->p) : in->len - *pos;
    *pos += l->len + (nl != NULL ? 1 : 0);
    if (l->len > 0 && l->p[l->len - 1] == '\r') {
        l->len--;
    }
    return true;
}

/* A header field's name (RFC 5322: printable ASCII but ':', then ':'). */
static size_t field_name_len(const line_t *l)
{
    size_t i = 0;
    while (i < l->len && l->p[i] > ' ' && l->p[i] < 127 && l->p[i] != ':') {
        i++;
    }
    return i > 0 && i < l->len && l->p[i] == ':' ? i : 0;
}

static bool is_field(const char *field, size_t name_len, const char *name)
{
    return strlen(name) == name_len && strncasecmp(field, name, name_len) == 0;
}

/* ---- addresses ------------------------------------------------------------------ */

typedef struct {
    char *addr[POSTIE_NOTIFY_RCPT_MAX];
    size_t n;
} rcpt_list_t;

static void add_rcpt(rcpt_list_t *r, const char *a, size_t len)
{
    while (len > 0 && (*a == ' ' || *a == '\t')) {
        a++;
        len--;
    }
    while (len > 0 && (a[len - 1] == ' ' || a[len - 1] == '\t')) {
        len--;
    }
    if (len == 0) {
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (strlen(r->addr[i]) == len && strncasecmp(r->addr[i], a, len) == 0) {
            return; /* once each */
        }
    }
    if (r->n >= POSTIE_NOTIFY_RCPT_MAX) {
        die(EX_USAGE, "too many recipients (at most %s)", SENDMAIL_STR(POSTIE_NOTIFY_RCPT_MAX));
    }
    r->addr[r->n] = strndup(a, len);
    if (r->addr[r->n] == NULL) {
        die(EX_OSERR, "out of memory%s", NULL);
    }
    r->n++;
}

/* The addresses of an address-list field value (RFC 5322 3.4): display
 * names, quoted strings, comments and groups are skipped; the address in
 * angle brackets, or the bare one, is kept. */
static void parse_address_list(const char *v, size_t len, rcpt_list_t *out)
{
    char bare[512];
    char angle[512];
    size_t nb = 0;
    size_t na = 0;
    bool in_quote = false;
    bool in_angle = false;
    bool have_angle = false;
    int paren = 0;

    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? v[i] : ',';
        if (in_quote) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_quote = false;
            }
            continue;
        }
        if (paren > 0) {
            if (c == '\\') {
                i++;
            } else if (c == '(') {
                paren++;
            } else if (c == ')') {
                paren--;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_quote = true;
            break;
        case '(':
            paren = 1;
            break;
        case '<':
            in_angle = true;
            have_angle = true;
            na = 0;
            break;
        case '>':
            in_angle = false;
            break;
        case ':':
            if (!in_angle) {
                nb = 0; /* a group's name */
            }
            break;
        case ',':
        case ';':
            if (!in_angle) {
                if (have_angle) {
                    add_rcpt(out, angle, na);
                } else {
                    add_rcpt(out, bare, nb);
                }
                nb = na = 0;
                have_angle = false;
            }
            break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;
        default:
            if (in_angle && na < sizeof(angle)) {
                angle[na++] = c;
            } else if (!in_angle && nb < sizeof(bare)) {
                bare[nb++] = c;
            }
        }
    }
}

/* Local names (no domain) through the aliases file: "name: addr, addr". */
static void expand_aliases(rcpt_list_t *r, const char *path, bool path_given)
{
    rcpt_list_t out;
    FILE *f = NULL;
    memset(&out, 0, sizeof(out));
    for (size_t i = 0; i < r->n; i++) {
        char line[1024];
        const char *name = r->addr[i];
        bool found = false;
        if (strchr(name, '@') != NULL) {
            add_rcpt(&out, name, strlen(name));
            continue;
        }
        if (f == NULL && path != NULL) {
            f = fopen(path, "r");
            if (f == NULL && (path_given || errno != ENOENT)) {
                die(EX_CONFIG, "cannot read the aliases file %s", path);
            }
        }
        if (f != NULL) {
            rewind(f);
            while (!found && fgets(line, sizeof(line), f) != NULL) {
                char *colon = strchr(line, ':');
                size_t nlen = strlen(name);
                if (line[0] == '#' || colon == NULL) {
                    continue;
                }
                if ((size_t)(colon - line) == nlen && strncasecmp(line, name, nlen) == 0) {
                    rcpt_list_t targets;
                    memset(&targets, 0, sizeof(targets));
                    parse_address_list(colon + 1, strlen(colon + 1), &targets);
                    for (size_t t = 0; t < targets.n; t++) {
                        if (strchr(targets.addr[t], '@') == NULL) {
                            die(EX_CONFIG, "alias %s: every target needs a domain", name);
                        }
                        add_rcpt(&out, targets.addr[t], strlen(targets.addr[t]));
                        free(targets.addr[t]);
                    }
                    found = true;
                }
            }
        }
        if (!found) {
            char shown[128];
            postie_text_copy_printable(shown, sizeof(shown), name, strlen(name));
            fprintf(stderr,
                    "postie: sendmail: %s: a local name without a domain and no alias for it "
                    "(add '%s: you@example.com' to %s)\n",
                    shown, shown, path != NULL ? path : SENDMAIL_ALIASES_DEFAULT);
            exit(EX_NOUSER);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    for (size_t i = 0; i < r->n; i++) {
        free(r->addr[i]);
    }
    *r = out;
}

/* ---- rewriting ------------------------------------------------------------------ */

/* The display name of a From value for the replacement: "Name <x>" or
 * "x (Name)". Empty when there is none. */
static void from_display_name(const char *v, size_t len, char *out, size_t cap)
{
    const char *lt = memchr(v, '<', len);
    const char *lp = memchr(v, '(', len);
    size_t n = 0;
    out[0] = '\0';
    if (lt != NULL) {
        for (const char *p = v; p < lt && n + 1 < cap; p++) {
            if (*p != '"') {
                out[n++] = *p;
            }
        }
    } else if (lp != NULL) {
        for (const char *p = lp + 1; p < v + len && *p != ')' && n + 1 < cap; p++) {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t')) {
        out[--n] = '\0';
    }
    n = 0;
    while (out[n] == ' ' || out[n] == '\t') {
        n++;
    }
    memmove(out, out + n, strlen(out + n) + 1);
}

/* "From: NAME <addr>": NAME quoted when printable ASCII, else left out
 * (the session's From is what counts). */
static void write_from(buf_t *out, const char *name, const char *addr)
{
    bool ascii = name != NULL && name[0] != '\0';
    for (const char *p = name; ascii && *p != '\0'; p++) {
        ascii = (unsigned char)*p >= ' ' && (unsigned char)*p < 127;
    }
    buf_str(out, "From: ");
    if (ascii) {
        buf_str(out, "\"");
        for (const char *p = name; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\') {
                buf_str(out, "\\");
            }
            buf_add(out, p, 1);
        }
        buf_str(out, "\" ");
    }
    buf_str(out, "<");
    buf_str(out, addr);
    buf_str(out, ">\r\n");
}

typedef struct {
    bool has_from;
    bool has_date;
    bool has_message_id;
} rewrite_info_t;

/* The message to send: CRLF line ends, Bcc removed, From replaced when it
 * is missing or has no domain, Date and Message-ID added when missing. The
 * recipients of To, Cc and Bcc go to fields when it is not NULL. */
static void rewrite(const buf_t *in, const sendmail_opts_t *o, const char *session_from,
                    const char *default_name, rcpt_list_t *fields, buf_t *out)
{
    buf_t head = {0};
    size_t pos = 0;
    line_t l;
    bool in_headers = true;
    bool dropping = false; /* inside a removed field (Bcc, a replaced From) */
    bool in_address_field = false;
    buf_t field_value = {0};
    char old_from_name[256] = "";
    rewrite_info_t info = {false, false, false};
    size_t first = in->len; /* where the body starts */

    /* no header at all (echo text | sendmail root): all of it is body */
    {
        size_t p0 = 0;
        line_t l0;
        if (!next_line(in, &p0, &l0) || field_name_len(&l0) == 0) {
            in_headers = false;
            first = 0;
        }
    }
    for (size_t i = 0; i < in->len; i++) {
        if (in->data[i] == '\0') {
            die(EX_DATAERR, "the message holds a NUL octet%s", NULL);
        }
    }
    while (in_headers && next_line(in, &pos, &l)) {
        if (!o->ignore_dots && l.len == 1 && l.p[0] == '.') {
            break; /* the end of the message, without -i: no body */
        }
        {
            size_t nl;
            if (l.len > 0 && (l.p[0] == ' ' || l.p[0] == '\t')) {
                /* a continuation of the field before */
                if (in_address_field) {
                    buf_add(&field_value, l.p, l.len);
                }
                if (!dropping) {
                    buf_add(&head, l.p, l.len);
                    buf_str(&head, "\r\n");
                }
                continue;
            }
            if (in_address_field && fields != NULL) {
                parse_address_list(field_value.data, field_value.len, fields);
            }
            in_address_field = false;
            field_value.len = 0;
            if (l.len == 0) {
                in_headers = false;
                first = pos;
                break;
            }
            nl = field_name_len(&l);
            if (nl == 0) {
                /* not a field: the headers ended without an empty line */
                in_headers = false;
                first = (size_t)(l.p - in->data);
                break;
            }
            dropping = false;
            if (is_field(l.p, nl, "To") || is_field(l.p, nl, "Cc") || is_field(l.p, nl, "Bcc")) {
                in_address_field = true;
                buf_add(&field_value, l.p + nl + 1, l.len - nl - 1);
            }
            if (is_field(l.p, nl, "Bcc") || is_field(l.p, nl, "Resent-Bcc")) {
                dropping = true;
                continue;
            }
            if (is_field(l.p, nl, "From")) {
                const char *v = l.p + nl + 1;
                size_t vlen = l.len - nl - 1;
                if (memchr(v, '@', vlen) == NULL) {
                    /* "root", "mdadm monitoring <root>": the session's From */
                    char name[256];
                    size_t n = vlen < sizeof(name) - 1 ? vlen : sizeof(name) - 1;
                    memcpy(name, v, n);
                    name[n] = '\0';
                    from_display_name(name, n, old_from_name, sizeof(old_from_name));
                    dropping = true;
                    continue;
                }
                info.has_from = true;
            }
            if (is_field(l.p, nl, "Date")) {
                info.has_date = true;
            }
            if (is_field(l.p, nl, "Message-ID")) {
                info.has_message_id = true;
            }
            buf_add(&head, l.p, l.len);
            buf_str(&head, "\r\n");
            continue;
        }
    }
    if (in_address_field && fields != NULL) {
        parse_address_list(field_value.data, field_value.len, fields);
    }

    /* the fields Postie adds, then the message's own, then the body */
    if (!info.has_from) {
        const char *name = o->full_name != NULL       ? o->full_name
                           : old_from_name[0] != '\0' ? old_from_name
                                                      : default_name;
        write_from(out, name, session_from);
    }
    if (!info.has_date) {
        char date[40];
        int64_t now;
        int16_t off;
        postie_wall_clock(&now, &off);
        postie_mime_format_date(now, off, date);
        buf_str(out, "Date: ");
        buf_str(out, date);
        buf_str(out, "\r\n");
    }
    if (!info.has_message_id) {
        uint8_t rnd[12];
        char id[80];
        const char *at = strchr(session_from, '@');
        size_t n = 0;
        if (postie_random_bytes(rnd, sizeof(rnd)) != POSTIE_OK) {
            die(EX_OSERR, "no random numbers from the kernel%s", NULL);
        }
        for (size_t i = 0; i < sizeof(rnd); i++) {
            n += (size_t)snprintf(id + n, sizeof(id) - n, "%02x", rnd[i]);
        }
        buf_str(out, "Message-ID: <");
        buf_str(out, id);
        buf_str(out, ".postie@");
        buf_str(out, at != NULL ? at + 1 : "localhost");
        buf_str(out, ">\r\n");
    }
    if (head.len > 0) {
        buf_add(out, head.data, head.len);
    }
    buf_str(out, "\r\n");
    pos = first;
    while (next_line(in, &pos, &l)) {
        if (!o->ignore_dots && l.len == 1 && l.p[0] == '.') {
            break;
        }
        buf_add(out, l.p, l.len);
        buf_str(out, "\r\n");
    }
    free(head.data);
    free(field_value.data);
}

/* ---- sending -------------------------------------------------------------------- */

typedef struct {
    const buf_t *b;
    size_t pos;
} mem_reader_t;

static postie_status_t mem_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    mem_reader_t *r = ctx;
    size_t n = r->b->len - r->pos;
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, r->b->data + r->pos, n);
    r->pos += n;
    *got = n;
    return POSTIE_OK;
}

/* The session: --session, $POSTIE_SENDMAIL_SESSION, mail/Default, or the
 * registry's only session. */
static const postie_session_t *choose_session(const postie_registry_t *reg, const char *name)
{
    const postie_session_t *s;
    if (name == NULL || name[0] == '\0') {
        name = getenv("POSTIE_SENDMAIL_SESSION");
    }
    if (name != NULL && name[0] != '\0') {
        s = postie_registry_session(reg, name);
        if (s == NULL) {
            die(EX_CONFIG, "no session %s in the registry", name);
        }
        return s;
    }
    s = postie_registry_session(reg, SENDMAIL_DEFAULT_SESSION);
    if (s != NULL) {
        return s;
    }
    if (reg->session_count == 1) {
        return &reg->sessions[0];
    }
    die(EX_CONFIG,
        "which session? name one with --session NAME or $POSTIE_SENDMAIL_SESSION, or call "
        "one %s in the registry",
        SENDMAIL_DEFAULT_SESSION);
    return NULL;
}

static int exit_for(const postie_notify_result_t *r)
{
    switch (r->status) {
    case POSTIE_OK:
    case POSTIE_E_DEFERRED:
        return EX_OK; /* sent, or queued for a retry: sendmail's 0 */
    case POSTIE_E_DELIVERY_FAILED:
        return EX_UNAVAILABLE;
    case POSTIE_E_QUEUE_FULL:
        return EX_TEMPFAIL;
    case POSTIE_E_ADDRESS_INVALID:
    case POSTIE_E_ADDRESS_TOO_LONG:
        return EX_DATAERR;
    case POSTIE_E_FILE:
        return r->queue_id == 0 ? EX_CANTCREAT : EX_IOERR;
    case POSTIE_E_NOT_FOUND:
    case POSTIE_E_AUTH_NO_MECHANISM:
    case POSTIE_E_TEMPLATE_SYNTAX:
    case POSTIE_E_TEMPLATE_UNKNOWN_VARIABLE:
        return EX_CONFIG;
    default:
        return postie_status_is_transient(r->status) ? EX_TEMPFAIL : EX_SOFTWARE;
    }
}

/* The invoking user's full name from the password database, or NULL. */
static const char *user_full_name(void)
{
    struct passwd *pw = getpwuid(getuid());
    static char name[128];
    if (pw == NULL || pw->pw_gecos == NULL || pw->pw_gecos[0] == '\0') {
        return pw != NULL ? pw->pw_name : NULL;
    }
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(pw->pw_gecos, ","), pw->pw_gecos);
    return name;
}

int cmd_sendmail(int argc, char **argv)
{
    static sendmail_opts_t o;
    static postie_notifier_t notifier;
    static postie_notify_result_t res;
    static char from_name[POSTIE_MIME_FIELD_MAX + 1];
    postie_session_message_t def;
    postie_template_user_t user;
    postie_notification_t m;
    const postie_registry_t *reg;
    const postie_session_t *s;
    const char *aliases;
    rcpt_list_t rcpt;
    buf_t in = {0};
    buf_t out = {0};
    mem_reader_t reader;
    char line[512];
    int rc;

    memset(&rcpt, 0, sizeof(rcpt));
    cli_syslog_open("postie-sendmail");
    cli_syslog_enable(true); /* an MTA logs each message; --no-syslog turns it off */
    parse_options(&o, argc, argv);
    read_stdin(&in);
    if (in.len == 0) {
        die(EX_DATAERR, "the message is empty%s", NULL);
    }

    cli_registry_set_exit(EX_CONFIG);
    reg = cli_registry();
    s = choose_session(reg, o.session);
    user.fullname = o.full_name != NULL ? o.full_name : user_full_name();
    user.email = NULL;
    if (postie_session_map_message(s, &user, NULL, from_name, sizeof(from_name), NULL, 0, &def) !=
        POSTIE_OK) {
        def.from_name = NULL; /* the template does not fit: no display name */
    }

    for (size_t i = 0; i < o.nrcpt_args; i++) {
        parse_address_list(o.rcpt_args[i], strlen(o.rcpt_args[i]), &rcpt);
    }
    {
        rcpt_list_t fields;
        memset(&fields, 0, sizeof(fields));
        rewrite(&in, &o, def.from, def.from_name, o.extract ? &fields : NULL, &out);
        for (size_t i = 0; i < fields.n; i++) {
            add_rcpt(&rcpt, fields.addr[i], strlen(fields.addr[i]));
            free(fields.addr[i]);
        }
    }
    free(in.data);
    if (rcpt.n == 0) {
        die(EX_USAGE, "no recipients (give them as arguments, or -t with To, Cc or Bcc)%s", NULL);
    }
    aliases = o.aliases != NULL ? o.aliases : getenv("POSTIE_ALIASES");
    expand_aliases(&rcpt,
                   aliases != NULL && aliases[0] != '\0' ? aliases : SENDMAIL_ALIASES_DEFAULT,
                   aliases != NULL && aliases[0] != '\0');

    memset(&m, 0, sizeof(m));
    m.to = (const char *const *)rcpt.addr;
    m.to_count = rcpt.n;
    reader.b = &out;
    reader.pos = 0;
    m.raw_read = mem_read;
    m.raw_ctx = &reader;
    m.raw_size = out.len;
    for (size_t i = 0; i < out.len && !m.raw_8bit; i++) {
        m.raw_8bit = (unsigned char)out.data[i] > 127;
    }
    if (o.from != NULL && strchr(o.from, '@') != NULL) {
        m.envelope_from = o.from;
    } else if (o.from != NULL && o.from[0] == '\0') {
        m.envelope_from = ""; /* -f '': the null sender (a bounce) */
    }
    m.mode = o.queue_only ? POSTIE_NOTIFY_QUEUE_ONLY : POSTIE_NOTIFY_QUEUE;
    m.spool_dir = o.spool;
    cli_queue_limits(&notifier.limits);
    postie_notifier_use(&notifier, reg);
    postie_notify_session(&notifier, s, &m, &res);
    rc = exit_for(&res);

    postie_notify_describe(&res, line, sizeof(line));
    cli_syslog_notify(&res, rcpt.n > 0 ? (const char *const *)rcpt.addr : NULL, rcpt.n);
    if (rc != EX_OK) {
        fprintf(stderr, "postie: sendmail: %s\n", line);
    } else if (o.verbose || res.status == POSTIE_E_DEFERRED) {
        fprintf(stderr, "postie: sendmail: %s\n", line);
    }
    for (size_t i = 0; i < rcpt.n; i++) {
        free(rcpt.addr[i]);
    }
    free(out.data);
    return rc;
}
