/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `postie oauth authorize NAME` (the device authorization grant, RFC 8628:
 * a URL and a code for the user, then the refresh token into the token
 * store) and `postie oauth status NAME` (the entry's OAuth 2.0 settings
 * and the token store's state, secrets masked).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "postie/common/text.h"
#include "postie/posix/oauth.h"
#include "postie/posix/registry_file.h"

#include "cli.h"
#include "cli_commands.h"
#include "cli_oauth.h"
#include "cli_options.h"
#include "cli_output.h"
#include "cli_registry.h"

#define NAME_HELP                                                                        \
    "NAME is a session or an account of the registry with \"auth\": \"oauth2\" (any\n"   \
    "spelling of a session's name); --session or --account chooses when both have it.\n" \
    "The registry is --registry FILE, else $POSTIE_REGISTRY, else\n"                     \
    "" POSTIE_REGISTRY_DEFAULT_PATH ".\n"

static const char oauth_usage[] =
    "usage: postie oauth COMMAND NAME [OPTIONS]\n"
    "  authorize NAME [--verbose]  first authorization without a browser on this\n"
    "                              machine: prints a URL and a code to enter there,\n"
    "                              waits, and stores the refresh token\n"
    "  status NAME                 the OAuth 2.0 settings and the token store's state,\n"
    "                              secrets masked\n"
    "  import NAME                 store a refresh token obtained elsewhere (the first\n"
    "                              line of standard input)\n"
    "'postie oauth COMMAND --help' shows a command's options.\n" NAME_HELP;

static const char import_usage[] =
    "usage: postie oauth import NAME [--session|--account] [--registry FILE] < FILE\n"
    "Store a refresh token obtained by another flow (for providers whose device\n"
    "endpoint refuses the mail scope, such as Google's): the first line of standard\n"
    "input, without its line end, goes into the entry's token store (mode 0600,\n"
    "replaced atomically). The token is checked for its characters and length,\n"
    "never printed; nothing is sent anywhere.\n" NAME_HELP
    "Exit: 0 stored, 2 usage or an unusable token, 3 the store could not be written.\n";

static const char authorize_usage[] =
    "usage: postie oauth authorize NAME [--session|--account] [--verbose] [--registry FILE]\n"
    "The device authorization grant (RFC 8628): asks the entry's device endpoint for\n"
    "a code, prints the verification URL and the code to enter there (on any device\n"
    "with a browser), then polls the token endpoint at the interval the server gives\n"
    "(5 s slower after each slow_down) until the code is entered, declined or\n"
    "expired. The refresh token goes into the token store (mode 0600, replaced\n"
    "atomically); its directory is created (0700) when missing. --verbose shows each\n"
    "HTTP exchange on stderr (never a token or a secret).\n" NAME_HELP
    "Exit: 0 authorized, 2 usage, 3 refused, declined or expired, 4 the endpoint\n"
    "could not be reached (temporary).\n";

static const char status_usage[] =
    "usage: postie oauth status NAME [--session|--account] [--registry FILE]\n"
    "The entry's OAuth 2.0 settings (presets applied) and its token store: the path,\n"
    "whether a refresh token is stored (its first 4 characters only) and when.\n"
    "Access tokens are never written to disk: each process gets its own from the\n"
    "token endpoint and keeps it in memory until shortly before it expires.\n" NAME_HELP
    "Exit: 0 a refresh token is stored, 2 usage, 3 none is stored (not authorized).\n";

enum { OPT_VERBOSE = 1, OPT_SESSION, OPT_ACCOUNT };

static const cli_option_t oauth_options[] = {
    {"--verbose", OPT_VERBOSE, false},
    {"-v", OPT_VERBOSE, false},
    {"--session", OPT_SESSION, false},
    {"--account", OPT_ACCOUNT, false},
    CLI_OPTIONS_END,
};

typedef struct {
    const char *kind; /* "session" or "account" */
    const char *name;
    const postie_endpoint_t *ep;
    bool account;
} entry_t;

/* NAME as a session or an account; exits 2 when it is neither, or both
 * without --session/--account, or not an oauth2 entry. */
static void find_entry(const char *name, int only, entry_t *e)
{
    const postie_registry_t *reg = cli_registry();
    const postie_session_t *s = only == OPT_ACCOUNT ? NULL : postie_registry_session(reg, name);
    const postie_account_t *a = only == OPT_SESSION ? NULL : postie_registry_account(reg, name);
    if (s != NULL && a != NULL) {
        fprintf(stderr,
                "postie oauth: %s is both a session and an account: add --session or "
                "--account\n",
                name);
        exit(EXIT_USAGE);
    }
    if (s == NULL && a == NULL) {
        fprintf(stderr, "postie oauth: no %s %s in the registry\n",
                only == OPT_SESSION   ? "session"
                : only == OPT_ACCOUNT ? "account"
                                      : "session or account",
                name);
        exit(EXIT_USAGE);
    }
    e->account = a != NULL;
    e->kind = a != NULL ? "account" : "session";
    e->name = a != NULL ? a->name : s->name;
    e->ep = a != NULL ? &a->ep : &s->ep;
    if (e->ep->auth != POSTIE_AUTH_OAUTH2) {
        fprintf(stderr,
                "postie oauth: %s %s does not log in with OAuth 2.0 (set \"auth\": \"oauth2\" "
                "and an \"oauth2\" object)\n",
                e->kind, e->name);
        exit(EXIT_USAGE);
    }
}

static void verbose_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "postie: %s\n", line);
}

static bool provider_verbose;

void cli_oauth_set_verbose(bool on)
{
    provider_verbose = on;
}

const postie_token_provider_t *cli_oauth_provider(const postie_endpoint_t *ep, bool account,
                                                  const char *name, postie_error_t *why)
{
    /* one per registry entry: sessions, then accounts */
    static postie_oauth_provider_t
        providers[POSTIE_REGISTRY_SESSIONS_MAX + POSTIE_REGISTRY_ACCOUNTS_MAX];
    static char names[POSTIE_REGISTRY_SESSIONS_MAX + POSTIE_REGISTRY_ACCOUNTS_MAX]
                     [POSTIE_REGISTRY_NAME_MAX + 1];
    size_t i;
    if (ep->auth != POSTIE_AUTH_OAUTH2) {
        return NULL;
    }
    for (i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        if (names[i][0] == '\0' ||
            (names[i][0] == (account ? 'a' : 's') && strcmp(names[i] + 1, name) == 0)) {
            break;
        }
    }
    if (i == sizeof(providers) / sizeof(providers[0])) {
        i = 0; /* more entries than the registry holds: cannot happen; reuse */
    }
    names[i][0] = account ? 'a' : 's';
    (void)postie_text_copy(names[i] + 1, sizeof(names[i]) - 1, name);
    return postie_oauth_provider_attach(&providers[i], ep, account, name,
                                        provider_verbose ? verbose_line : NULL, NULL, why);
}

static void config_for(const entry_t *e, postie_oauth_config_t *cfg, bool verbose)
{
    char err[512];
    const char *used = NULL;
    (void)cli_registry_load(&used);
    if (postie_oauth_config_from_entry(cfg, e->ep, e->account, e->name, used, err, sizeof(err)) !=
        POSTIE_OK) {
        fprintf(stderr, "postie oauth: %s\n", err);
        exit(EXIT_USAGE);
    }
    if (verbose) {
        cfg->log = verbose_line;
    }
}

/* The store's directory, created (0700, with its missing parents) when it
 * is missing. */
static void make_store_dir(const char *store)
{
    char dir[POSTIE_REGISTRY_TEXT_MAX + 64];
    const char *slash = strrchr(store, '/');
    if (slash == NULL || slash == store || (size_t)(slash - store) >= sizeof(dir)) {
        return;
    }
    memcpy(dir, store, (size_t)(slash - store));
    dir[slash - store] = '\0';
    for (char *p = dir + 1;; p++) {
        char c = *p;
        if (c != '/' && c != '\0') {
            continue;
        }
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "postie oauth: cannot create the token store's directory %s: %s\n", dir,
                    strerror(errno));
            exit(EXIT_SESSION);
        }
        *p = c;
        if (c == '\0') {
            break;
        }
    }
}

static int exit_for(postie_status_t st)
{
    return postie_status_is_transient(st) ? EXIT_TEMP : EXIT_SESSION;
}

static void sleep_s(uint32_t s)
{
    struct timespec ts = {(time_t)s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int authorize(const entry_t *e, bool verbose)
{
    static postie_oauth_config_t cfg;
    static postie_oauth_device_reply_t dev;
    static postie_oauth_token_reply_t tok;
    char err[768];
    char masked[16];
    postie_status_t st;
    uint64_t deadline;
    uint32_t interval;

    config_for(e, &cfg, verbose);
    make_store_dir(cfg.store);
    st = postie_oauth_device_start(&cfg, &dev, err, sizeof(err));
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie oauth authorize %s: %s\n", e->name, err);
        return exit_for(st);
    }
    printf("To authorize Postie for %s %s (%s as %s):\n", e->kind, e->name,
           postie_oauth2_provider_name(e->ep->oauth2.provider), e->ep->username);
    printf("  open     %s\n", dev.verification_uri);
    printf("  and enter the code  %s\n", dev.user_code);
    if (dev.verification_uri_complete[0] != '\0') {
        printf("  (or open %s)\n", dev.verification_uri_complete);
    }
    printf("The code expires in %u s. Waiting for the sign-in...\n", (unsigned)dev.expires_in);
    fflush(stdout);
    interval = dev.interval;
    deadline = postie_oauth_now_ms() + (uint64_t)dev.expires_in * 1000u;
    for (;;) {
        if (postie_oauth_now_ms() + (uint64_t)interval * 1000u > deadline) {
            fprintf(stderr,
                    "postie oauth authorize %s: the code expired (after %u s) before it was "
                    "entered; run postie oauth authorize %s again\n",
                    e->name, (unsigned)dev.expires_in, e->name);
            return EXIT_SESSION;
        }
        sleep_s(interval);
        st = postie_oauth_device_poll(&cfg, dev.device_code, &tok, err, sizeof(err));
        if (st == POSTIE_E_OAUTH_GRANT && strcmp(tok.error, "authorization_pending") == 0) {
            continue;
        }
        if (st == POSTIE_E_OAUTH_GRANT && strcmp(tok.error, "slow_down") == 0) {
            interval += 5; /* RFC 8628 3.5 */
            if (verbose) {
                fprintf(stderr, "postie: oauth: slow_down: polling every %u s now\n",
                        (unsigned)interval);
            }
            continue;
        }
        break;
    }
    memset(dev.device_code, 0, sizeof(dev.device_code));
    if (st == POSTIE_E_OAUTH_GRANT && strcmp(tok.error, "expired_token") == 0) {
        fprintf(stderr,
                "postie oauth authorize %s: the code expired before it was entered; run "
                "postie oauth authorize %s again\n",
                e->name, e->name);
        return EXIT_SESSION;
    }
    if (st == POSTIE_E_OAUTH_GRANT && strcmp(tok.error, "access_denied") == 0) {
        fprintf(stderr, "postie oauth authorize %s: the sign-in was declined (access_denied)\n",
                e->name);
        return EXIT_SESSION;
    }
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie oauth authorize %s: %s\n", e->name, err);
        return exit_for(st);
    }
    if (tok.refresh_token[0] == '\0') {
        memset(&tok, 0, sizeof(tok));
        fprintf(stderr,
                "postie oauth authorize %s: the token endpoint issued no refresh token (is "
                "offline_access among the scopes?)\n",
                e->name);
        return EXIT_SESSION;
    }
    st = postie_oauth_store_write(cfg.store, tok.refresh_token, err, sizeof(err));
    postie_oauth_mask(tok.refresh_token, masked, sizeof(masked));
    memset(&tok, 0, sizeof(tok));
    if (st != POSTIE_OK) {
        fprintf(stderr, "postie oauth authorize %s: %s\n", e->name, err);
        return EXIT_SESSION;
    }
    printf("authorized: refresh token %s stored in %s\n", masked, cfg.store);
    return 0;
}

static int status(const entry_t *e)
{
    static postie_oauth_config_t cfg;
    static char refresh[POSTIE_OAUTH_REFRESH_TOKEN_MAX + 1];
    const postie_oauth2_t *o = &e->ep->oauth2;
    char err[512];
    char masked[16];
    uint64_t updated = 0;
    struct stat sb;
    postie_status_t st;

    config_for(e, &cfg, false);
    printf("%s %s: OAuth 2.0\n", e->kind, e->name);
    printf("  %-16s %s\n", "provider", postie_oauth2_provider_name(o->provider));
    printf("  %-16s %s\n", "mechanism", postie_oauth2_mechanism_name(o->mechanism));
    printf("  %-16s %s\n", "username", e->ep->username);
    printf("  %-16s %s\n", "client_id", cfg.client_id);
    printf("  %-16s ", "client_secret");
    if (o->client_secret.kind == POSTIE_SECRET_NONE) {
        printf("(none: a public client)\n");
    } else {
        cli_print_secret(&o->client_secret);
        putchar('\n');
    }
    printf("  %-16s %s\n", "token_endpoint", cfg.token_endpoint);
    printf("  %-16s %s\n", "device_endpoint",
           cfg.device_endpoint[0] ? cfg.device_endpoint : "(none)");
    printf("  %-16s %s\n", "scopes", cfg.scopes);
    {
        /* the loader filled in the default path: say when it is that one */
        static postie_endpoint_t bare;
        char dflt[sizeof(cfg.store)];
        const char *used = NULL;
        bool is_default;
        (void)cli_registry_load(&used);
        bare = *e->ep;
        bare.oauth2.token_store[0] = '\0';
        is_default = postie_oauth_store_path(&bare, e->account, e->name, used, dflt,
                                             sizeof(dflt)) == POSTIE_OK &&
                     strcmp(dflt, cfg.store) == 0;
        printf("  %-16s %s%s\n", "token store", cfg.store, is_default ? " (default)" : "");
    }
    st = postie_oauth_store_read(cfg.store, refresh, sizeof(refresh), &updated, err, sizeof(err));
    postie_oauth_mask(refresh, masked, sizeof(masked));
    memset(refresh, 0, sizeof(refresh));
    if (st == POSTIE_OK) {
        char when[40] = "unknown";
        time_t t = (time_t)updated;
        struct tm tm;
        if (updated != 0 && gmtime_r(&t, &tm) != NULL) {
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        }
        printf("  %-16s stored: %s (since %s)\n", "refresh token", masked, when);
        if (stat(cfg.store, &sb) == 0 && (sb.st_mode & 077) != 0) {
            printf("  %-16s WARNING: group or others can read the store (mode %03o); chmod "
                   "600 it\n",
                   "", (unsigned)(sb.st_mode & 0777));
        }
    } else if (st == POSTIE_E_NOT_FOUND) {
        printf("  %-16s none: not authorized yet (postie oauth authorize %s)\n", "refresh token",
               e->name);
    } else {
        printf("  %-16s unusable: %s\n", "refresh token", err);
    }
    printf("  %-16s not kept on disk (each process gets its own and caches it in memory\n"
           "  %-16s until %u s before it expires)\n",
           "access token", "", (unsigned)POSTIE_OAUTH_EXPIRY_MARGIN_S);
    return st == POSTIE_OK ? 0 : EXIT_SESSION;
}

static int import(const entry_t *e)
{
    static postie_oauth_config_t cfg;
    static char line[POSTIE_OAUTH_REFRESH_TOKEN_MAX + 4];
    char err[512];
    char masked[16];
    size_t n;
    bool ok = true;
    config_for(e, &cfg, false);
    if (fgets(line, sizeof(line), stdin) == NULL) {
        fprintf(stderr, "postie oauth import %s: no refresh token on standard input\n", e->name);
        return EXIT_USAGE;
    }
    n = strcspn(line, "\r\n");
    if (line[n] == '\0' && n + 1 >= sizeof(line) - 1) {
        ok = false; /* no line end within the bound: longer than a refresh token may be */
    }
    line[n] = '\0';
    for (size_t i = 0; i < n && ok; i++) {
        unsigned char c = (unsigned char)line[i];
        ok = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
    }
    if (!ok || n == 0 || n > POSTIE_OAUTH_REFRESH_TOKEN_MAX) {
        memset(line, 0, sizeof(line));
        fprintf(stderr,
                "postie oauth import %s: not a refresh token (1..%u visible ASCII characters, "
                "no quote or backslash)\n",
                e->name, (unsigned)POSTIE_OAUTH_REFRESH_TOKEN_MAX);
        return EXIT_USAGE;
    }
    make_store_dir(cfg.store);
    if (postie_oauth_store_write(cfg.store, line, err, sizeof(err)) != POSTIE_OK) {
        memset(line, 0, sizeof(line));
        fprintf(stderr, "postie oauth import %s: %s\n", e->name, err);
        return EXIT_SESSION;
    }
    postie_oauth_mask(line, masked, sizeof(masked));
    memset(line, 0, sizeof(line));
    printf("stored: refresh token %s in %s\n", masked, cfg.store);
    return 0;
}

void cli_print_oauth_state(const postie_endpoint_t *ep, bool account, const char *name, int width)
{
    static postie_oauth_config_t cfg;
    static char refresh[POSTIE_OAUTH_REFRESH_TOKEN_MAX + 1];
    const postie_oauth2_t *o = &ep->oauth2;
    const char *used = NULL;
    char err[512];
    char masked[16];
    postie_status_t st;
    if (ep->auth != POSTIE_AUTH_OAUTH2) {
        return;
    }
    (void)cli_registry_load(&used);
    if (postie_oauth_config_from_entry(&cfg, ep, account, name, used, err, sizeof(err)) !=
        POSTIE_OK) {
        printf("  %-*s %s\n", width, "oauth2", err);
        return;
    }
    printf("  %-*s %s, %s\n", width, "oauth2", postie_oauth2_provider_name(o->provider),
           postie_oauth2_mechanism_name(o->mechanism));
    printf("  %-*s %s\n", width, "  client_id", cfg.client_id);
    printf("  %-*s ", width, "  client_secret");
    if (o->client_secret.kind == POSTIE_SECRET_NONE) {
        printf("(none: a public client)\n");
    } else {
        cli_print_secret(&o->client_secret);
        putchar('\n');
    }
    printf("  %-*s %s\n", width, "  token_endpoint", cfg.token_endpoint);
    printf("  %-*s %s\n", width, "  scopes", cfg.scopes);
    printf("  %-*s %s\n", width, "  token_store", cfg.store);
    st = postie_oauth_store_read(cfg.store, refresh, sizeof(refresh), NULL, err, sizeof(err));
    postie_oauth_mask(refresh, masked, sizeof(masked));
    memset(refresh, 0, sizeof(refresh));
    printf("  %-*s %s%s\n", width, "  refresh token",
           st == POSTIE_OK            ? "stored: "
           : st == POSTIE_E_NOT_FOUND ? "none: not authorized yet (postie oauth authorize NAME)"
                                      : "unusable: ",
           st == POSTIE_OK            ? masked
           : st == POSTIE_E_NOT_FOUND ? ""
                                      : err);
}

int cmd_oauth(int argc, char **argv)
{
    static const cli_option_t *const tables[] = {oauth_options, NULL};
    const char *operand[2] = {NULL, NULL};
    const char *usage = oauth_usage;
    const char *name;
    char *v;
    bool verbose = false;
    int only = 0;
    int n = 0;
    int id;
    cli_args_t args;
    entry_t e;

    /* the subcommand's own usage for `postie oauth SUB --help` */
    if (argc > 0 && strcmp(argv[0], "authorize") == 0) {
        usage = authorize_usage;
    } else if (argc > 0 && strcmp(argv[0], "status") == 0) {
        usage = status_usage;
    } else if (argc > 0 && strcmp(argv[0], "import") == 0) {
        usage = import_usage;
    }
    cli_args_init(&args, "oauth", usage, tables, argc, argv);
    while ((id = cli_args_next(&args, &v, &name)) != CLI_ARGS_END) {
        if (id == OPT_VERBOSE) {
            verbose = true;
        } else if (id == OPT_SESSION || id == OPT_ACCOUNT) {
            if (only != 0 && only != id) {
                cli_usage_error("oauth", "--session and --account exclude each other", NULL);
            }
            only = id;
        } else {
            if (n == 2) {
                cli_args_unexpected(&args, v);
            }
            operand[n++] = v;
        }
    }
    if (n != 2 || (strcmp(operand[0], "authorize") != 0 && strcmp(operand[0], "status") != 0 &&
                   strcmp(operand[0], "import") != 0)) {
        cli_usage_error("oauth", "usage: postie oauth authorize|status|import NAME", NULL);
    }
    find_entry(operand[1], only, &e);
    if (strcmp(operand[0], "authorize") == 0) {
        return authorize(&e, verbose);
    }
    if (verbose) {
        cli_usage_error("oauth", "--verbose applies to authorize", NULL);
    }
    return strcmp(operand[0], "import") == 0 ? import(&e) : status(&e);
}
