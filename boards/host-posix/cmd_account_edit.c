/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie account add|edit|delete|enable|disable NAME`: rewrite the
 * registry file.
 *
 * The file is read as JSON (cJSON), the account's entry changed, the whole
 * printed to a temporary file next to the original with the original's
 * mode (600 for a new file), flushed (fsync), then loaded by the registry
 * loader exactly as every command loads it: only when that load has no
 * error does the temporary replace the original (rename, then fsync of the
 * directory). Otherwise the original stays as it was and every problem is
 * listed. Secrets are never printed: --password-stdin's value goes into
 * the file only.
 */
#define _GNU_SOURCE /* fchown, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_account.h"
#include "cli_options.h"
#include "cli_registry.h"

/* How an option's value goes into JSON. */
typedef enum {
    K_STRING,
    K_PATH,     /* a string; a relative path is made absolute */
    K_PROTOCOL, /* pop3 | pop3s | imap | imaps */
    K_TLS,      /* starttls | starttls-optional | none */
    K_PORT,
    K_SECONDS,
    K_BOOL,
    K_KEEP /* --keep: delete_after_archive false */
} kind_t;

/* A registry key and every other key that sets the same field: Postie's
 * aliases and JavaMail's mail.PROTOCOL.SUFFIX properties. Setting a field
 * drops them all first, so a field is never set twice. */
typedef struct {
    int option;
    const char *key;
    kind_t kind;
    const char *aliases[4];
    const char *javamail[3]; /* suffixes after "mail.pop3." etc. */
} field_t;

static const field_t fields[] = {
    {ACC_DESCRIPTION, "description", K_STRING, {NULL}, {NULL}},
    {ACC_PROTOCOL, "protocol", K_PROTOCOL, {"mail.store.protocol", NULL}, {"ssl.enable", NULL}},
    {ACC_HOST, "host", K_STRING, {NULL}, {"host", NULL}},
    {ACC_PORT, "port", K_PORT, {NULL}, {"port", NULL}},
    {ACC_USER, "user", K_STRING, {"username", "mail.user", NULL}, {"user", NULL}},
    {ACC_TLS, "tls", K_TLS, {NULL}, {"starttls.enable", "starttls.required", NULL}},
    {ACC_CA_FILE, "ca_file", K_PATH, {NULL}, {NULL}},
    {ACC_VERIFY, "verify", K_BOOL, {NULL}, {"ssl.checkserveridentity", NULL}},
    {ACC_ALLOW_PLAINTEXT_AUTH, "allow_plaintext_auth", K_BOOL, {NULL}, {NULL}},
    {ACC_APOP, "apop", K_BOOL, {NULL}, {"apop.enable", NULL}},
    {ACC_FOLDER, "folder", K_STRING, {NULL}, {NULL}},
    {ACC_ENABLED, "enabled", K_BOOL, {NULL}, {NULL}},
    {ACC_POLL_INTERVAL, "poll_interval", K_SECONDS, {NULL}, {NULL}},
    {ACC_DELETE_AFTER_ARCHIVE, "delete_after_archive", K_BOOL, {"keep_on_server", NULL}, {NULL}},
    {ACC_KEEP, "delete_after_archive", K_KEEP, {"keep_on_server", NULL}, {NULL}},
    {ACC_MAILDIR, "maildir", K_PATH, {NULL}, {NULL}},
    {ACC_STATE_FILE, "state_file", K_PATH, {NULL}, {NULL}},
    {ACC_TIMEOUT, "timeout", K_SECONDS, {NULL}, {"timeout", NULL}},
    /* the password: one of three options, see set_password() */
    {ACC_PASSWORD_ENV, "password", K_STRING, {NULL}, {"password", NULL}},
};

#define FIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *const protocols[] = {"pop3", "pop3s", "imap", "imaps", NULL};

static bool key_sets(const field_t *f, const char *key)
{
    if (strcmp(key, f->key) == 0) {
        return true;
    }
    for (size_t i = 0; i < 4 && f->aliases[i] != NULL; i++) {
        if (strcmp(key, f->aliases[i]) == 0) {
            return true;
        }
    }
    if (strncmp(key, "mail.", 5) != 0) {
        return false;
    }
    for (size_t p = 0; protocols[p] != NULL; p++) {
        size_t pl = strlen(protocols[p]);
        if (strncmp(key + 5, protocols[p], pl) != 0 || key[5 + pl] != '.') {
            continue;
        }
        for (size_t i = 0; i < 3 && f->javamail[i] != NULL; i++) {
            if (strcmp(key + 6 + pl, f->javamail[i]) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* Remove every key of the entry that sets f's field. */
static void drop_field(cJSON *entry, const field_t *f)
{
    cJSON *item = entry->child;
    while (item != NULL) {
        cJSON *next = item->next;
        if (item->string != NULL && key_sets(f, item->string)) {
            cJSON_Delete(cJSON_DetachItemViaPointer(entry, item));
        }
        item = next;
    }
}

static const field_t *field_of_option(int option)
{
    for (size_t i = 0; i < FIELDS; i++) {
        if (fields[i].option == option) {
            return &fields[i];
        }
    }
    return NULL;
}

static void oom(void)
{
    fputs("postie: out of memory\n", stderr);
    exit(EXIT_SESSION);
}

static void put(cJSON *entry, const field_t *f, cJSON *value)
{
    if (value == NULL) {
        oom();
    }
    drop_field(entry, f);
    cJSON_AddItemToObject(entry, f->key, value);
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *out = strcmp(v, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* A path as given, or made absolute against the current directory: the
 * poll service does not run where the command was typed. */
static cJSON *path_value(const char *v)
{
    char cwd[4096];
    char *joined;
    cJSON *item;
    if (v[0] == '/' || v[0] == '\0' || getcwd(cwd, sizeof(cwd)) == NULL) {
        return cJSON_CreateString(v);
    }
    if (asprintf(&joined, "%s/%s", cwd, strncmp(v, "./", 2) == 0 ? v + 2 : v) < 0) {
        oom();
    }
    item = cJSON_CreateString(joined);
    free(joined);
    return item;
}

/* The first line of standard input, without echo on a terminal. */
static char *read_password_line(char *buf, size_t cap)
{
    struct termios old;
    struct termios quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    char *line;
    if (tty) {
        fputs("Password: ", stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    line = fgets(buf, (int)cap, stdin);
    if (tty) {
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (line == NULL) {
        return NULL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

/* Apply one option with its value to the entry (exit 2 on a bad value). */
static void apply(cJSON *entry, const char *cmd, const field_t *f, const char *typed, const char *v)
{
    unsigned long n;
    bool b = false;
    switch (f->kind) {
    case K_STRING:
        put(entry, f, cJSON_CreateString(v));
        return;
    case K_PATH:
        put(entry, f, path_value(v));
        return;
    case K_PROTOCOL:
        for (size_t i = 0; protocols[i] != NULL; i++) {
            if (strcmp(v, protocols[i]) == 0) {
                put(entry, f, cJSON_CreateString(v));
                return;
            }
        }
        cli_bad_value(cmd, typed, v, "must be pop3, pop3s, imap or imaps");
    case K_TLS:
        if (strcmp(v, "starttls") != 0 && strcmp(v, "starttls-optional") != 0 &&
            strcmp(v, "none") != 0) {
            cli_bad_value(cmd, typed, v,
                          "must be starttls, starttls-optional or none (pop3s and imaps are TLS "
                          "from the first byte: choose them with --protocol)");
        }
        put(entry, f, cJSON_CreateString(v));
        return;
    case K_PORT:
        n = cli_parse_number(cmd, "bad --port (1..65535)", v, 65535);
        if (n == 0) {
            cli_usage_error(cmd, "bad --port (1..65535)", v);
        }
        put(entry, f, cJSON_CreateNumber((double)n));
        return;
    case K_SECONDS:
        n = cli_parse_number(cmd, "bad seconds (1..86400)", v, 86400);
        if (n == 0) {
            cli_usage_error(cmd, "bad seconds (1..86400)", v);
        }
        put(entry, f, cJSON_CreateNumber((double)n));
        return;
    case K_BOOL:
        if (!parse_bool(v, &b)) {
            cli_bad_value(cmd, typed, v, "must be on or off");
        }
        put(entry, f, cJSON_CreateBool(b));
        return;
    case K_KEEP:
        put(entry, f, cJSON_CreateBool(false));
        return;
    }
}

/* --password-env, --password-file or --password-stdin (one of them). */
static void set_password(cJSON *entry, const cli_account_args_t *a, char *line, size_t cap)
{
    const field_t *f = field_of_option(ACC_PASSWORD_ENV);
    int given = (a->value[ACC_PASSWORD_ENV] != NULL) + (a->value[ACC_PASSWORD_FILE] != NULL) +
                (a->value[ACC_PASSWORD_STDIN] != NULL);
    cJSON *obj;
    if (given == 0) {
        return;
    }
    if (given > 1) {
        cli_usage_error("account",
                        "give one of --password-env, --password-file and --password-stdin", NULL);
    }
    if (a->value[ACC_PASSWORD_STDIN] != NULL) {
        if (read_password_line(line, cap) == NULL || line[0] == '\0') {
            cli_usage_error("account", "--password-stdin: no password on standard input", NULL);
        }
        put(entry, f, cJSON_CreateString(line));
        return;
    }
    obj = cJSON_CreateObject();
    if (obj == NULL) {
        oom();
    }
    if (a->value[ACC_PASSWORD_ENV] != NULL) {
        if (cJSON_AddStringToObject(obj, "env", a->value[ACC_PASSWORD_ENV]) == NULL) {
            oom();
        }
    } else if (cJSON_AddItemToObject(obj, "file", path_value(a->value[ACC_PASSWORD_FILE])),
               cJSON_GetObjectItemCaseSensitive(obj, "file") == NULL) {
        oom();
    }
    put(entry, f, obj);
}

/* ---- the file ------------------------------------------------------------------------ */

static const char *registry_path(void)
{
    /* the same rule as every other command (postie_registry_load_file) */
    const char *p = cli_registry_path();
    if (p == NULL || p[0] == '\0') {
        p = getenv("POSTIE_REGISTRY");
    }
    return p != NULL && p[0] != '\0' ? p : POSTIE_REGISTRY_DEFAULT_PATH;
}

/* The file's text (NUL-terminated, malloc'd), or NULL with errno set. */
static char *read_text(const char *path, struct stat *sb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    char *text;
    size_t len = 0;
    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    text = malloc(POSTIE_REGISTRY_FILE_MAX + 2);
    if (text == NULL) {
        oom();
    }
    while (len <= POSTIE_REGISTRY_FILE_MAX) {
        ssize_t n = read(fd, text + len, POSTIE_REGISTRY_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    text[len] = '\0';
    return text;
}

static int fsync_dir_of(const char *path)
{
    char *dir = strdup(path);
    char *slash;
    int fd;
    int rc;
    if (dir == NULL) {
        oom();
    }
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        free(dir);
        dir = strdup(".");
        if (dir == NULL) {
            oom();
        }
    } else if (slash == dir) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Write text to a temporary file beside path with mode (and owner, when
 * we may set it), flushed. Returns the temporary's name (malloc'd), or
 * NULL with a message printed. */
static char *write_temp(const char *path, const char *text, const struct stat *orig)
{
    char *tmp;
    size_t len = strlen(text);
    size_t done = 0;
    int fd;
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        oom();
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "postie: cannot write %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return NULL;
    }
    if (orig != NULL) {
        /* keep the owner (root can); the mode below is kept in any case */
        if (geteuid() == 0 && fchown(fd, orig->st_uid, orig->st_gid) != 0) {
            fprintf(stderr, "postie: warning: %s keeps its mode but not its owner: %s\n", path,
                    strerror(errno));
        }
        (void)fchmod(fd, orig->st_mode & 07777);
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    if (done < len || fsync(fd) != 0) {
        fprintf(stderr, "postie: cannot write %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    if (close(fd) != 0) {
        fprintf(stderr, "postie: cannot write %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    return tmp;
}

/* Load the temporary as the registry; list its problems under path. */
static bool loads(const char *tmp, const char *path)
{
    static postie_registry_t reg;
    static uint8_t arena[POSTIE_REGISTRY_ARENA_SIZE];
    postie_status_t st = postie_registry_load_file(&reg, tmp, arena, sizeof(arena), NULL);
    for (size_t i = 0; i < reg.problem_count; i++) {
        const postie_registry_problem_t *p = &reg.problems[i];
        fprintf(stderr, "%s: %s: %s: %s\n", path, p->warning ? "warning" : "error", p->path,
                p->message);
    }
    if (reg.problems_dropped > 0) {
        fprintf(stderr, "%s: %zu more problems not shown\n", path, reg.problems_dropped);
    }
    if (st == POSTIE_E_FILE) {
        fprintf(stderr, "postie: cannot read back %s: %s\n", tmp, strerror(errno));
    }
    return st == POSTIE_OK;
}

/* The entry in accounts whose name normalises as name does, or NULL. */
static cJSON *find_entry(cJSON *accounts, const char *name)
{
    char want[POSTIE_REGISTRY_NAME_MAX];
    char have[POSTIE_REGISTRY_NAME_MAX];
    cJSON *item;
    if (!postie_registry_normalise(name, want, sizeof(want))) {
        return NULL;
    }
    cJSON_ArrayForEach(item, accounts)
    {
        if (item->string != NULL && postie_registry_normalise(item->string, have, sizeof(have)) &&
            strcmp(have, want) == 0) {
            return item;
        }
    }
    return NULL;
}

int cli_account_edit(const cli_account_args_t *a)
{
    const char *cmd = a->sub;
    const char *path = registry_path();
    bool add = strcmp(cmd, "add") == 0;
    bool edit = add || strcmp(cmd, "edit") == 0;
    char normal[POSTIE_REGISTRY_NAME_MAX];
    char line[POSTIE_REGISTRY_TEXT_MAX + 2];
    struct stat sb;
    bool exists = true;
    cJSON *root;
    cJSON *accounts;
    cJSON *entry;
    char *text;
    char *tmp;
    const char *done;

    if (!edit) {
        cli_account_no_edit_options(a);
    }
    if (a->typed[ACC_VERBOSE] != NULL) {
        fprintf(stderr, "postie: account %s: unknown option %s\n", cmd, a->typed[ACC_VERBOSE]);
        fprintf(stderr, "Try 'postie account %s --help'.\n", cmd);
        return EXIT_USAGE;
    }
    if (add && a->nunset > 0) {
        cli_usage_error("account", "--unset is for edit", a->unset[0]);
    }
    if (!postie_registry_normalise(a->name, normal, sizeof(normal))) {
        cli_bad_value("account", "NAME", a->name,
                      "is not a usable name (empty, too long, or with spaces or control "
                      "characters)");
    }
    text = read_text(path, &sb);
    if (text == NULL) {
        if (errno != ENOENT || !add) {
            fprintf(stderr, "postie: cannot read the registry %s: %s\n", path,
                    errno == EINVAL ? "not a regular file" : strerror(errno));
            return EXIT_USAGE;
        }
        exists = false;
        root = cJSON_CreateObject();
    } else {
        if (strlen(text) > POSTIE_REGISTRY_FILE_MAX) {
            fprintf(stderr, "postie: the registry %s is too large to edit\n", path);
            return EXIT_USAGE;
        }
        root = cJSON_Parse(text);
        memset(text, 0, strlen(text)); /* inline secrets */
        free(text);
        if (root == NULL || !cJSON_IsObject(root)) {
            fprintf(stderr,
                    "postie: the registry %s is not a JSON object; 'postie accounts' shows "
                    "where it is broken; fix it first\n",
                    path);
            goto refuse; /* root may be NULL: cJSON_Delete takes it */
        }
    }
    if (root == NULL) {
        oom();
    }
    accounts = cJSON_GetObjectItemCaseSensitive(root, "accounts");
    if (accounts == NULL && add) {
        accounts = cJSON_AddObjectToObject(root, "accounts");
        if (accounts == NULL) {
            oom();
        }
    }
    if (accounts != NULL && !cJSON_IsObject(accounts)) {
        fprintf(stderr, "postie: %s: \"accounts\" is not an object; fix it first\n", path);
        goto refuse;
    }
    entry = accounts != NULL ? find_entry(accounts, a->name) : NULL;
    if (add && entry != NULL) {
        fprintf(stderr,
                "postie: account add: %s already exists in %s (as \"%s\"); use 'postie "
                "account edit'\n",
                a->name, path, entry->string);
        goto refuse;
    }
    if (!add && entry == NULL) {
        fprintf(stderr, "postie: no account %s in %s\n", a->name, path);
        goto refuse;
    }
    if (add) {
        entry = cJSON_AddObjectToObject(accounts, a->name);
        if (entry == NULL) {
            oom();
        }
    } else if (!cJSON_IsObject(entry)) {
        fprintf(stderr, "postie: %s: accounts[\"%s\"] is not an object; fix it first\n", path,
                entry->string);
        goto refuse;
    }

    if (strcmp(cmd, "delete") == 0) {
        cJSON_Delete(cJSON_DetachItemViaPointer(accounts, entry));
        done = "deleted from";
    } else if (strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0) {
        put(entry, field_of_option(ACC_ENABLED), cJSON_CreateBool(cmd[0] == 'e'));
        done = cmd[0] == 'e' ? "enabled in" : "disabled in";
    } else {
        for (size_t i = 0; i < a->nunset; i++) {
            bool known = false;
            for (size_t k = 0; k < FIELDS; k++) {
                if (strcmp(a->unset[i], fields[k].key) == 0) {
                    drop_field(entry, &fields[k]);
                    known = true;
                }
            }
            if (!known) {
                cli_bad_value("account", "--unset", a->unset[i],
                              "is not an account key (protocol, host, port, user, password, "
                              "tls, ca_file, verify, allow_plaintext_auth, apop, folder, enabled, "
                              "poll_interval, delete_after_archive, maildir, state_file, "
                              "timeout, description)");
            }
        }
        if (a->value[ACC_KEEP] != NULL && a->value[ACC_DELETE_AFTER_ARCHIVE] != NULL) {
            cli_usage_error("account", "--keep and --delete-after-archive: give one", NULL);
        }
        for (size_t k = 0; k < FIELDS; k++) {
            const field_t *f = &fields[k];
            if (f->option != ACC_PASSWORD_ENV && a->value[f->option] != NULL) {
                apply(entry, "account", f, a->typed[f->option], a->value[f->option]);
            }
        }
        if (a->value[ACC_PROTOCOL] != NULL && a->value[ACC_TLS] == NULL &&
            (strcmp(a->value[ACC_PROTOCOL], "pop3s") == 0 ||
             strcmp(a->value[ACC_PROTOCOL], "imaps") == 0)) {
            drop_field(entry, field_of_option(ACC_TLS)); /* TLS from the first byte */
        }
        set_password(entry, a, line, sizeof(line));
        memset(line, 0, sizeof(line));
        done = add ? "added to" : "changed in";
    }

    text = cJSON_Print(root);
    cJSON_Delete(root);
    root = NULL;
    if (text == NULL) {
        oom();
    }
    {
        size_t n = strlen(text);
        char *with_nl = realloc(text, n + 2);
        if (with_nl == NULL) {
            oom();
        }
        text = with_nl;
        memcpy(text + n, "\n", 2);
    }
    tmp = write_temp(path, text, exists ? &sb : NULL);
    memset(text, 0, strlen(text));
    free(text);
    if (tmp == NULL) {
        return EXIT_USAGE;
    }
    if (!loads(tmp, path)) {
        unlink(tmp);
        free(tmp);
        fprintf(stderr, "postie: account %s: %s not changed: the result would not load\n", a->name,
                path);
        return EXIT_USAGE;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "postie: cannot replace %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return EXIT_USAGE;
    }
    free(tmp);
    if (fsync_dir_of(path) != 0) {
        fprintf(stderr,
                "postie: warning: %s replaced, but its directory could not be flushed: %s\n", path,
                strerror(errno));
    }
    printf("account %s %s %s\n", normal, done, path);
    return 0;

refuse: /* nothing written: the file stays as it was */
    cJSON_Delete(root);
    return EXIT_USAGE;
}
