/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in token provider (postie/posix/oauth.h) against the suite's
 * token endpoint (oauth_server.py, HTTPS with the test CA): the cache (a
 * second get without refresh makes no request, refresh=true does, expiry
 * minus the margin), rotation stored atomically with mode 0600, invalid
 * grants, no store, malformed and error replies, a silent and a trickling
 * endpoint bounded by the timeout, and a client secret. Every error text
 * is checked never to hold a token, the refresh token or the secret.
 *
 * Usage: oauth_provider_test SERVER_WORKDIR CA_FILE SCRATCH_DIR
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "postie/common/sasl.h"
#include "postie/posix/oauth.h"

static int failures;
static const char *server_dir;
static const char *ca_file;
static const char *scratch;
static unsigned port;

/* cond is evaluated once (it often calls the provider) */
#define CHECK(cond, ...)                           \
    do {                                           \
        bool ok_ = (cond);                         \
        printf(ok_ ? "ok - " : "FAIL - ");         \
        failures += ok_ ? 0 : 1;                   \
        printf(__VA_ARGS__);                       \
        printf("%s\n", ok_ ? "" : " (" #cond ")"); \
    } while (0)

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (f == NULL) {
        buf = calloc(1, 1);
        return buf;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        buf[0] = '\0';
    }
    fclose(f);
    return buf;
}

/* Requests the server logged for client_id so far. */
static int requests_for(const char *client)
{
    char path[512];
    char needle[96];
    char *log;
    int n = 0;
    snprintf(path, sizeof(path), "%s/requests.jsonl", server_dir);
    snprintf(needle, sizeof(needle), "\"client_id\": \"%s\"", client);
    log = slurp(path);
    for (char *p = log; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    free(log);
    return n;
}

/* No token the server ever issued, no seed and no secret in text. */
static bool clean(const char *text)
{
    char path[512];
    char *issued;
    bool ok = strstr(text, "seed-") == NULL && strstr(text, "s3cr3t") == NULL &&
              strstr(text, "AT-") == NULL && strstr(text, "RT-") == NULL;
    snprintf(path, sizeof(path), "%s/issued.jsonl", server_dir);
    issued = slurp(path);
    for (char *p = issued; ok && (p = strstr(p, "\"token\": \"")) != NULL;) {
        char tok[128];
        size_t n;
        p += 10;
        n = strcspn(p, "\"");
        if (n < sizeof(tok)) {
            memcpy(tok, p, n);
            tok[n] = '\0';
            ok = strstr(text, tok) == NULL;
        }
    }
    free(issued);
    return ok;
}

static void config(postie_oauth_config_t *cfg, const char *client, uint32_t timeout_ms)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->token_endpoint, sizeof(cfg->token_endpoint), "https://localhost:%u/token", port);
    snprintf(cfg->device_endpoint, sizeof(cfg->device_endpoint), "https://localhost:%u/device",
             port);
    snprintf(cfg->client_id, sizeof(cfg->client_id), "%s", client);
    snprintf(cfg->scopes, sizeof(cfg->scopes), "mail offline_access");
    snprintf(cfg->store, sizeof(cfg->store), "%s/%s.json", scratch, client);
    snprintf(cfg->ca_file, sizeof(cfg->ca_file), "%s", ca_file);
    cfg->verify = true;
    cfg->timeout_ms = timeout_ms;
}

static void seed(const postie_oauth_config_t *cfg, const char *client)
{
    char rt[96];
    char err[256];
    snprintf(rt, sizeof(rt), "seed-%s", client);
    if (postie_oauth_store_write(cfg->store, rt, err, sizeof(err)) != POSTIE_OK) {
        printf("FAIL - seed %s: %s\n", client, err);
        exit(1);
    }
}

static postie_oauth_provider_t prov;
static char tokbuf[POSTIE_OAUTH_TOKEN_MAX + 1];
static char err[768];

static postie_status_t get(bool refresh, size_t *len)
{
    postie_token_provider_t tp = postie_oauth_provider(&prov);
    err[0] = '\0';
    return tp.get(tp.ctx, refresh, tokbuf, sizeof(tokbuf), len, err, sizeof(err));
}

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
    return fake_now;
}

static void test_cache(void)
{
    postie_oauth_config_t cfg;
    char first[POSTIE_OAUTH_TOKEN_MAX + 1];
    size_t len = 0;
    int base = requests_for("good");
    config(&cfg, "good", 5000);
    seed(&cfg, "good");
    postie_oauth_provider_init(&prov, &cfg);
    CHECK(get(false, &len) == POSTIE_OK && len > 3 && strncmp(tokbuf, "AT-", 3) == 0,
          "cache: the first get fetches an access token (%s)", err);
    CHECK(requests_for("good") == base + 1, "cache: one request so far");
    memcpy(first, tokbuf, len + 1);
    CHECK(get(false, &len) == POSTIE_OK && strcmp(tokbuf, first) == 0,
          "cache: a second get without refresh gives the cached token");
    CHECK(requests_for("good") == base + 1, "cache: ... and makes no HTTP request");
    CHECK(get(true, &len) == POSTIE_OK && strcmp(tokbuf, first) != 0,
          "cache: refresh=true gets a new token");
    CHECK(requests_for("good") == base + 2, "cache: ... with one more request");
    CHECK(prov.requests == 2, "cache: the provider counted 2 requests (%u)", prov.requests);
    postie_oauth_provider_clear(&prov);
}

/* attach: the same entry keeps the provider's cache (a queue run, postie
 * poll); another entry starts afresh; a basic-auth entry gets none. */
static void test_attach(void)
{
    static postie_endpoint_t ep;
    static postie_oauth_provider_t ap;
    const postie_token_provider_t *tp;
    postie_error_t why;
    postie_oauth_config_t cfg;
    char tok[POSTIE_OAUTH_TOKEN_MAX + 1];
    size_t len = 0;
    int base = requests_for("good");
    config(&cfg, "good", 5000);
    seed(&cfg, "good");
    memset(&ep, 0, sizeof(ep));
    ep.auth = POSTIE_AUTH_OAUTH2;
    ep.verify = true;
    snprintf(ep.ca_file, sizeof(ep.ca_file), "%s", ca_file);
    ep.oauth2.mechanism = POSTIE_SASL_XOAUTH2;
    snprintf(ep.oauth2.client_id, sizeof(ep.oauth2.client_id), "good");
    snprintf(ep.oauth2.token_endpoint, sizeof(ep.oauth2.token_endpoint), "%s", cfg.token_endpoint);
    snprintf(ep.oauth2.scopes, sizeof(ep.oauth2.scopes), "mail");
    snprintf(ep.oauth2.token_store, sizeof(ep.oauth2.token_store), "%.200s", cfg.store);
    tp = postie_oauth_provider_attach(&ap, &ep, false, "mail/A", NULL, NULL, &why);
    CHECK(tp != NULL &&
              tp->get(tp->ctx, false, tok, sizeof(tok), &len, err, sizeof(err)) == POSTIE_OK,
          "attach: a token (%s)", err);
    tp = postie_oauth_provider_attach(&ap, &ep, false, "mail/A", NULL, NULL, &why);
    CHECK(tp != NULL &&
              tp->get(tp->ctx, false, tok, sizeof(tok), &len, err, sizeof(err)) == POSTIE_OK,
          "attach again: a token");
    CHECK(requests_for("good") == base + 1, "attach again to the same entry: the cache is kept");
    snprintf(ep.oauth2.scopes, sizeof(ep.oauth2.scopes), "other");
    tp = postie_oauth_provider_attach(&ap, &ep, false, "mail/A", NULL, NULL, &why);
    CHECK(tp != NULL &&
              tp->get(tp->ctx, false, tok, sizeof(tok), &len, err, sizeof(err)) == POSTIE_OK &&
              requests_for("good") == base + 2,
          "attach to changed settings: a new token");
    ep.auth = POSTIE_AUTH_BASIC;
    CHECK(postie_oauth_provider_attach(&ap, &ep, false, "mail/A", NULL, NULL, &why) == NULL &&
              why.status == POSTIE_E_INVALID_ARGUMENT,
          "attach to a basic-auth entry: none");
}

static void test_expiry(void)
{
    postie_oauth_config_t cfg;
    size_t len = 0;
    int base = requests_for("short");
    config(&cfg, "short", 5000); /* expires_in 61: cached for 1 s with the 60 s margin */
    seed(&cfg, "short");
    postie_oauth_provider_init(&prov, &cfg);
    prov.now_ms = fake_clock;
    fake_now = 1000000;
    CHECK(get(false, &len) == POSTIE_OK, "expiry: a token (%s)", err);
    fake_now += 999;
    CHECK(get(false, &len) == POSTIE_OK && requests_for("short") == base + 1,
          "expiry: cached until expires_in minus the margin");
    fake_now += 2;
    CHECK(get(false, &len) == POSTIE_OK && requests_for("short") == base + 2,
          "expiry: a new request once within the margin of the expiry");
}

static void test_rotation(void)
{
    postie_oauth_config_t cfg;
    size_t len = 0;
    struct stat sb;
    char *store;
    char tmp[600];
    int base = requests_for("rotate");
    config(&cfg, "rotate", 5000);
    seed(&cfg, "rotate");
    postie_oauth_provider_init(&prov, &cfg);
    CHECK(get(false, &len) == POSTIE_OK, "rotation: a token (%s)", err);
    store = slurp(cfg.store);
    CHECK(strstr(store, "\"refresh_token\": \"RT-") != NULL && strstr(store, "seed-") == NULL,
          "rotation: the new refresh token replaced the seed in the store");
    free(store);
    CHECK(stat(cfg.store, &sb) == 0 && (sb.st_mode & 0777) == 0600,
          "rotation: the store is 0600 (%o)", (unsigned)(sb.st_mode & 0777));
    snprintf(tmp, sizeof(tmp), "%s.tmp", cfg.store);
    CHECK(stat(tmp, &sb) != 0, "rotation: no temporary file is left");
    CHECK(get(true, &len) == POSTIE_OK,
          "rotation: the rotated token works for the next refresh (%s)", err);
    CHECK(get(true, &len) == POSTIE_OK, "rotation: and again (%s)", err);
    CHECK(requests_for("rotate") == base + 3, "rotation: three requests");
    /* a second provider on the same store (another process) picks up the
     * rotated token, not a stale copy */
    postie_oauth_provider_init(&prov, &cfg);
    CHECK(get(false, &len) == POSTIE_OK, "rotation: a fresh provider reads the rotated token (%s)",
          err);
    CHECK(clean(err), "rotation: no secret in the last message");
}

/* Four processes share one store whose refresh token rotates on every
 * use: the store's lock keeps each from spending a token another already
 * spent, so every refresh succeeds. */
static void test_shared_store(void)
{
    postie_oauth_config_t cfg;
    pid_t kids[4];
    int ok = 0;
    config(&cfg, "rotate", 5000);
    snprintf(cfg.store, sizeof(cfg.store), "%s/shared.json", scratch);
    {
        char rt[64];
        char e2[256];
        /* the rotated token a fresh provider left in rotate.json */
        postie_oauth_config_t prev;
        config(&prev, "rotate", 5000);
        if (postie_oauth_store_read(prev.store, rt, sizeof(rt), NULL, e2, sizeof(e2)) !=
                POSTIE_OK ||
            postie_oauth_store_write(cfg.store, rt, e2, sizeof(e2)) != POSTIE_OK) {
            printf("FAIL - shared store: seed: %s\n", e2);
            failures++;
            return;
        }
    }
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            size_t len = 0;
            postie_oauth_provider_init(&prov, &cfg);
            for (int k = 0; k < 3; k++) {
                if (get(true, &len) != POSTIE_OK) {
                    printf("# child %d: %s\n", i, err);
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    for (int i = 0; i < 4; i++) {
        int status = 0;
        if (kids[i] > 0 && waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0) {
            ok++;
        }
    }
    CHECK(ok == 4, "shared store: 4 processes x 3 refreshes with rotation, all succeed (%d)", ok);
}

static void test_failures(void)
{
    postie_oauth_config_t cfg;
    size_t len = 0;
    postie_status_t st;
    uint64_t t0;

    config(&cfg, "good", 5000);
    snprintf(cfg.store, sizeof(cfg.store), "%s/bogus.json", scratch);
    if (postie_oauth_store_write(cfg.store, "RT-not-issued-by-the-server", err, sizeof(err)) !=
        POSTIE_OK) {
        printf("FAIL - store write: %s\n", err);
        failures++;
    }
    postie_oauth_provider_init(&prov, &cfg);
    st = get(false, &len);
    CHECK(st == POSTIE_E_OAUTH_GRANT && strstr(err, "invalid_grant") != NULL &&
              strstr(err, "authorize again") != NULL,
          "invalid_grant: POSTIE_E_OAUTH_GRANT, says to authorize again: %s", err);
    CHECK(clean(err) && strstr(err, "RT-not-issued") == NULL, "invalid_grant: no token in it");

    config(&cfg, "good", 5000);
    snprintf(cfg.store, sizeof(cfg.store), "%s/none.json", scratch);
    postie_oauth_provider_init(&prov, &cfg);
    st = get(false, &len);
    CHECK(st == POSTIE_E_TOKEN_UNAVAILABLE && strstr(err, "postie oauth authorize") != NULL,
          "no store: POSTIE_E_TOKEN_UNAVAILABLE: %s", err);
    snprintf(cfg.store, sizeof(cfg.store), "%s/no-such-dir/x.json", scratch);
    postie_oauth_provider_init(&prov, &cfg);
    CHECK(get(false, &len) == POSTIE_E_TOKEN_UNAVAILABLE,
          "no store directory: POSTIE_E_TOKEN_UNAVAILABLE: %s", err);

    static const struct {
        const char *client;
        postie_status_t want;
        const char *says;
    } bad[] = {
        {"badjson", POSTIE_E_HTTP, "not a JSON object"},
        {"http500", POSTIE_E_HTTP, "HTTP 500"},
        {"http400", POSTIE_E_HTTP, "HTTP 400 without an OAuth error"},
        {"secret", POSTIE_E_OAUTH_GRANT, "invalid_client"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config(&cfg, bad[i].client, 5000);
        seed(&cfg, bad[i].client);
        postie_oauth_provider_init(&prov, &cfg);
        st = get(false, &len);
        CHECK(st == bad[i].want && strstr(err, bad[i].says) != NULL, "%s: %s: %s", bad[i].client,
              postie_status_name(st), err);
        CHECK(clean(err), "%s: no secret in the message", bad[i].client);
    }

    /* silent: every read bounded by the timeout */
    config(&cfg, "silent", 1500);
    seed(&cfg, "silent");
    postie_oauth_provider_init(&prov, &cfg);
    t0 = postie_oauth_now_ms();
    st = get(false, &len);
    CHECK(st == POSTIE_E_TIMEOUT && strstr(err, "within 1500 ms") != NULL,
          "silent endpoint: POSTIE_E_TIMEOUT with a clear message: %s", err);
    CHECK(postie_oauth_now_ms() - t0 < 4000, "silent endpoint: gave up in %llu ms",
          (unsigned long long)(postie_oauth_now_ms() - t0));
    /* trickle: each byte in time, the whole exchange bounded (4 x timeout) */
    config(&cfg, "trickle", 1000);
    seed(&cfg, "trickle");
    postie_oauth_provider_init(&prov, &cfg);
    t0 = postie_oauth_now_ms();
    st = get(false, &len);
    CHECK(st == POSTIE_E_TIMEOUT, "trickling endpoint: POSTIE_E_TIMEOUT: %s", err);
    CHECK(postie_oauth_now_ms() - t0 < 6000, "trickling endpoint: gave up in %llu ms",
          (unsigned long long)(postie_oauth_now_ms() - t0));
    /* the wrong CA: the certificate is not trusted */
    config(&cfg, "good", 5000);
    seed(&cfg, "good");
    snprintf(cfg.ca_file, sizeof(cfg.ca_file), "/etc/ssl/certs/ca-certificates.crt");
    postie_oauth_provider_init(&prov, &cfg);
    st = get(false, &len);
    CHECK(st == POSTIE_E_TLS_CERT_UNTRUSTED, "another CA: %s: %s", postie_status_name(st), err);
}

static void test_secret_and_chunked(void)
{
    postie_oauth_config_t cfg;
    size_t len = 0;
    postie_status_t st;
    config(&cfg, "secret", 5000);
    cfg.client_secret.kind = POSTIE_SECRET_ENV;
    snprintf(cfg.client_secret.value, sizeof(cfg.client_secret.value), "OAUTH_TEST_SECRET");
    setenv("OAUTH_TEST_SECRET", "s3cr3t-client-VALUE", 1);
    seed(&cfg, "secret");
    postie_oauth_provider_init(&prov, &cfg);
    st = get(false, &len);
    CHECK(st == POSTIE_OK, "client secret from the environment: accepted (%s)", err);
    unsetenv("OAUTH_TEST_SECRET");
    postie_oauth_provider_init(&prov, &cfg);
    st = get(false, &len);
    CHECK(st != POSTIE_OK && strstr(err, "OAUTH_TEST_SECRET") != NULL,
          "client secret variable unset: says which: %s", err);

    config(&cfg, "chunked", 5000);
    seed(&cfg, "chunked");
    postie_oauth_provider_init(&prov, &cfg);
    CHECK(get(false, &len) == POSTIE_OK && strncmp(tokbuf, "AT-", 3) == 0,
          "chunked reply: a token (%s)", err);
}

int main(int argc, char **argv)
{
    char path[512];
    char *p;
    if (argc != 4) {
        fprintf(stderr, "usage: oauth_provider_test SERVER_WORKDIR CA_FILE SCRATCH_DIR\n");
        return 2;
    }
    server_dir = argv[1];
    ca_file = argv[2];
    scratch = argv[3];
    snprintf(path, sizeof(path), "%s/port", server_dir);
    p = slurp(path);
    port = (unsigned)strtoul(p, NULL, 10);
    free(p);
    if (port == 0) {
        fprintf(stderr, "no server port in %s\n", path);
        return 2;
    }
    test_cache();
    test_attach();
    test_expiry();
    test_rotation();
    test_shared_store();
    test_failures();
    test_secret_and_chunked();
    printf("%s: %d failure(s)\n", argv[0], failures);
    return failures == 0 ? 0 : 1;
}
