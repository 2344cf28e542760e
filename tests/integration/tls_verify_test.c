/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of the transport layer: POSIX TCP and the mbedTLS layer
 * against real `openssl s_server` instances on 127.0.0.1.
 *
 * Run by tls_verify.sh, which makes the certificates, starts one server per
 * certificate and passes their ports in the environment:
 *   POSTIE_CERTS              directory made by certs.sh
 *   POSTIE_PORT_GOOD          good.pem (s_server -rev: echoes each line reversed)
 *   POSTIE_PORT_SELFSIGNED    selfsigned.pem
 *   POSTIE_PORT_WRONGHOST     wronghost.pem
 *   POSTIE_PORT_EXPIRED       expired.pem
 *   POSTIE_PORT_TLS11         good.pem, TLS 1.1 only (unset: that test is skipped)
 *   POSTIE_PORT_TLS13         good.pem, TLS 1.3 only
 *   POSTIE_PORT_TLS12         good.pem, TLS 1.2 only
 * With an mbedTLS that has a static arena (POSTIE_TLS_HAVE_ARENA: the 3.6
 * build of boards/build-mbedtls.sh), every test runs from one, as firmware
 * would, and test_arena_high_water reports what a handshake needed.
 * The plain TCP cases (refused, silent, closing peers, IPv6) use listeners
 * this program opens itself on 127.0.0.1 / ::1, so they need no server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>

#include "postie/common/clock.h"
#include "postie/posix/tcp.h"
#include "postie/mbedtls/tls.h"
#include "postie/common/transport.h"

#define TIMEOUT_MS 5000u

/* ---- helpers ----------------------------------------------------------- */

static uint16_t env_port(const char *name)
{
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long n;
    if (v == NULL || v[0] == '\0') {
        fail_msg("%s is not set; run this program through tls_verify.sh", name);
    }
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n == 0 || n > 65535) {
        fail_msg("%s=%s is not a port", name, v);
    }
    return (uint16_t)n;
}

/* Path of a file in POSTIE_CERTS, in a static buffer. */
static const char *cert_path(const char *file)
{
    static char path[512];
    const char *dir = getenv("POSTIE_CERTS");
    int n;
    if (dir == NULL || dir[0] == '\0') {
        fail_msg("POSTIE_CERTS is not set; run this program through tls_verify.sh");
    }
    n = snprintf(path, sizeof(path), "%s/%s", dir, file);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    return path;
}

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    (void)nanosleep(&ts, NULL);
}

/* A TCP socket bound to the loopback of family on an ephemeral port; listening
 * when backlog >= 0. Returns -1 when the family is unavailable. */
static int loopback_socket(int family, int backlog, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || (backlog >= 0 && listen(fd, backlog) != 0) ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* accept() with a bounded wait. */
static int accept_within(int lfd, int ms)
{
    struct pollfd p;
    p.fd = lfd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, ms) != 1) {
        return -1;
    }
    return accept(lfd, NULL, NULL);
}

/* Receive until a '\n' arrives or cap-1 octets; returns the status of the
 * last receive. At most 64 receives. */
static postie_status_t recv_line(postie_transport_t *t, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int i;
    *len = 0;
    for (i = 0; i < 64 && n + 1 < cap; i++) {
        size_t got = 0;
        postie_status_t st =
            postie_transport_recv(t, (uint8_t *)buf + n, cap - 1 - n, &got, TIMEOUT_MS);
        if (st != POSTIE_OK) {
            buf[n] = '\0';
            *len = n;
            return st;
        }
        n += got;
        if (memchr(buf + n - got, '\n', got) != NULL) {
            break;
        }
    }
    buf[n] = '\0';
    *len = n;
    return POSTIE_OK;
}

/* Send line over t (s_server -rev) and expect it back reversed. */
static void assert_reversed_echo(postie_transport_t *t, const char *line)
{
    char want[8192];
    char got[8192];
    size_t len = strlen(line);
    size_t got_len = 0;
    size_t i;

    assert_true(len >= 2 && len < sizeof(want) && line[len - 1] == '\n');
    for (i = 0; i + 1 < len; i++) {
        want[i] = line[len - 2 - i];
    }
    want[len - 1] = '\n';
    want[len] = '\0';
    assert_int_equal(postie_transport_send_all(t, (const uint8_t *)line, len, TIMEOUT_MS),
                     POSTIE_OK);
    assert_int_equal(recv_line(t, got, sizeof(got), &got_len), POSTIE_OK);
    assert_int_equal(got_len, len);
    assert_string_equal(got, want);
}

typedef struct {
    postie_tcp_t tcp;
    postie_tls_t tls;
} tls_conn_t;

/* What a test opened, released by teardown() even when an assertion fails
 * part-way (cmocka leaves the test by longjmp). A connection left open would
 * stall the next test: s_server serves one client at a time. */
static tls_conn_t conn; /* mbedTLS contexts are large; keep them off the stack */
static bool conn_tls_used;
static int test_fds[16];
static int test_nfds;

static int setup(void **state)
{
    (void)state;
    memset(&conn, 0, sizeof(conn));
    postie_tcp_init(&conn.tcp);
    conn_tls_used = false;
    test_nfds = 0;
    return 0;
}

static int teardown(void **state)
{
    int i;
    (void)state;
    if (conn_tls_used) {
        postie_tls_free(&conn.tls); /* closes conn.tcp too */
    }
    postie_transport_close(postie_tcp_transport(&conn.tcp));
    for (i = 0; i < test_nfds; i++) {
        close(test_fds[i]);
    }
    test_nfds = 0;
    return 0;
}

/* Keep fd for teardown() to close; returns fd. */
static int track_fd(int fd)
{
    if (fd >= 0 && test_nfds < (int)(sizeof(test_fds) / sizeof(test_fds[0]))) {
        test_fds[test_nfds++] = fd;
    }
    return fd;
}

/* Close a tracked fd now. */
static void close_fd(int fd)
{
    int i;
    for (i = 0; i < test_nfds; i++) {
        if (test_fds[i] == fd) {
            test_fds[i] = test_fds[--test_nfds];
            break;
        }
    }
    close(fd);
}

/* postie_tls_init on conn over conn.tcp. */
static postie_status_t conn_tls_init(const postie_tls_config_t *cfg)
{
    conn_tls_used = true;
    return postie_tls_init(&conn.tls, postie_tcp_transport(&conn.tcp), cfg);
}

/* Implicit TLS on conn to host:port; returns the connect status. */
static postie_status_t tls_open(const char *host, uint16_t port, const postie_tls_config_t *cfg)
{
    postie_status_t st = conn_tls_init(cfg);
    if (st != POSTIE_OK) {
        return st;
    }
    return postie_transport_connect(postie_tls_transport(&conn.tls), host, port, TIMEOUT_MS);
}

/* Expect a certificate failure with its detail record filled. */
static void assert_cert_failure(uint16_t port, const char *ca_file, postie_status_t want,
                                const char *text_part)
{
    postie_tls_config_t cfg = {ca_file, NULL, false, NULL, 0};
    postie_status_t st = tls_open("localhost", port, &cfg);

    assert_string_equal(postie_status_name(st), postie_status_name(want));
    assert_int_equal(conn.tls.last_error.status, want);
    assert_string_equal(conn.tls.last_error.phase, "TLS handshake");
    assert_string_equal(conn.tls.last_error.subject, "localhost");
    assert_true(conn.tls.last_error.reply.text[0] != '\0');
    if (text_part != NULL && strstr(conn.tls.last_error.reply.text, text_part) == NULL) {
        fail_msg("reply.text \"%s\" lacks \"%s\"", conn.tls.last_error.reply.text, text_part);
    }
    print_message("  %s: %s\n", postie_status_name(st), conn.tls.last_error.reply.text);
    assert_int_equal(conn.tcp.fd, -1); /* a failed implicit-TLS connect closes TCP */
    postie_tls_free(&conn.tls);
}

/* ---- TLS: verification succeeds ---------------------------------------- */

static void test_good_cert_round_trip(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};
    postie_tls_info_t info;
    char long_line[5001];
    size_t i;

    (void)state;
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(tls_open("localhost", env_port("POSTIE_PORT_GOOD"), &cfg), POSTIE_OK);
    assert_string_equal(conn.tcp.peer, "127.0.0.1");
    assert_true(conn.tls.active);

    postie_tls_get_info(&conn.tls, &info);
    print_message("  %s %s subject \"%s\" not after %s (TCP connect %u ms)\n", info.version,
                  info.cipher, info.peer_subject, info.peer_not_after,
                  (unsigned)conn.tcp.connect_ms);
    /* s_server offers TLS 1.3: the client takes it when it can */
    assert_string_equal(info.version, POSTIE_TLS_HAVE_TLS13 ? "TLSv1.3" : "TLSv1.2");
    assert_true(info.cipher[0] != '\0');
    assert_non_null(strstr(info.peer_subject, "CN=localhost"));
    assert_int_equal(strlen(info.peer_not_after), 19);
    assert_true(info.peer_not_after[4] == '-' && info.peer_not_after[10] == ' ');
    assert_int_equal(info.verify_flags, 0);

    assert_reversed_echo(postie_tls_transport(&conn.tls), "hello postie\n");
    for (i = 0; i + 1 < sizeof(long_line) - 1; i++) {
        long_line[i] = (char)('a' + i % 26);
    }
    long_line[i++] = '\n';
    long_line[i] = '\0';
    assert_reversed_echo(postie_tls_transport(&conn.tls), long_line);

    postie_transport_close(postie_tls_transport(&conn.tls));
    assert_false(conn.tls.active);
    assert_int_equal(conn.tcp.fd, -1);
    postie_transport_close(postie_tls_transport(&conn.tls)); /* twice is harmless */
    postie_tls_free(&conn.tls);
}

/* Connect to 127.0.0.1 but verify "localhost" (curl --connect-to style). */
static void test_connect_ip_verify_name(void **state)
{
    postie_tls_config_t cfg = {NULL, "localhost", false, NULL, 0};

    (void)state;
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(tls_open("127.0.0.1", env_port("POSTIE_PORT_GOOD"), &cfg), POSTIE_OK);
    assert_string_equal(conn.tls.hostname, "localhost");
    assert_reversed_echo(postie_tls_transport(&conn.tls), "connect-to\n");
    postie_tls_free(&conn.tls);
    assert_int_equal(conn.tcp.fd, -1);
}

/* The whole of a file in POSTIE_CERTS, in memory as a flash blob would be. */
static const uint8_t *cert_blob(const char *file, size_t *len)
{
    static uint8_t blob[16384];
    FILE *f = fopen(cert_path(file), "rb");
    assert_non_null(f);
    *len = fread(blob, 1, sizeof(blob), f);
    fclose(f);
    assert_true(*len > 0 && *len < sizeof(blob));
    return blob;
}

/* Trust anchors from memory: the test CA as a PEM blob verifies the good
 * server; another certificate as the only anchor does not. */
static void test_ca_blob_verifies(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};

    (void)state;
    cfg.ca_blob = cert_blob("ca.pem", &cfg.ca_blob_len);
    assert_int_equal(tls_open("localhost", env_port("POSTIE_PORT_GOOD"), &cfg), POSTIE_OK);
    assert_reversed_echo(postie_tls_transport(&conn.tls), "ca blob\n");
    postie_tls_free(&conn.tls);

    cfg.ca_blob = cert_blob("selfsigned.pem", &cfg.ca_blob_len);
    assert_int_equal(conn_tls_init(&cfg), POSTIE_OK);
    assert_string_equal(
        postie_status_name(postie_transport_connect(postie_tls_transport(&conn.tls), "localhost",
                                                    env_port("POSTIE_PORT_GOOD"), TIMEOUT_MS)),
        "POSTIE_E_TLS_CERT_UNTRUSTED");
    postie_tls_free(&conn.tls);
}

/* STARTTLS shape: TCP first, then the handshake over the open transport. */
static void test_starttls_over_connected_tcp(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};

    (void)state;
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1",
                                              env_port("POSTIE_PORT_GOOD"), TIMEOUT_MS),
                     POSTIE_OK);
    assert_int_equal(conn_tls_init(&cfg), POSTIE_OK);
    /* Nothing may pass through the TLS layer before the handshake. */
    {
        size_t sent = 9;
        assert_int_equal(postie_transport_send(postie_tls_transport(&conn.tls),
                                               (const uint8_t *)"x", 1, &sent, 100),
                         POSTIE_E_BAD_STATE);
        assert_int_equal(sent, 0);
    }
    assert_int_equal(postie_tls_handshake(&conn.tls, "localhost", TIMEOUT_MS), POSTIE_OK);
    assert_int_equal(postie_tls_handshake(&conn.tls, "localhost", TIMEOUT_MS), POSTIE_E_BAD_STATE);
    assert_reversed_echo(postie_tls_transport(&conn.tls), "starttls\n");
    postie_tls_free(&conn.tls);
    assert_int_equal(conn.tcp.fd, -1); /* free closes the lower transport */
}

/* The test switch really switches verification off (and only when asked). */
static void test_insecure_skip_verify(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, true, NULL, 0};
    postie_tls_info_t info;

    (void)state;
    assert_int_equal(tls_open("localhost", env_port("POSTIE_PORT_SELFSIGNED"), &cfg), POSTIE_OK);
    postie_tls_get_info(&conn.tls, &info);
    assert_true((info.verify_flags & MBEDTLS_X509_BADCERT_SKIP_VERIFY) != 0);
    postie_tls_free(&conn.tls);
}

/* ---- TLS: verification fails, each with its own status ----------------- */

static void test_selfsigned_untrusted(void **state)
{
    (void)state;
    assert_cert_failure(env_port("POSTIE_PORT_SELFSIGNED"), cert_path("ca.pem"),
                        POSTIE_E_TLS_CERT_UNTRUSTED, "trusted");
}

static void test_expired(void **state)
{
    (void)state;
    assert_cert_failure(env_port("POSTIE_PORT_EXPIRED"), cert_path("ca.pem"),
                        POSTIE_E_TLS_CERT_EXPIRED, "expired");
}

static void test_wrong_host(void **state)
{
    (void)state;
    assert_cert_failure(env_port("POSTIE_PORT_WRONGHOST"), cert_path("ca.pem"),
                        POSTIE_E_TLS_CERT_NAME_MISMATCH, "CN");
}

/* The test CA is not in the system bundle. */
static void test_system_bundle_rejects_test_ca(void **state)
{
    (void)state;
    assert_cert_failure(env_port("POSTIE_PORT_GOOD"), NULL, POSTIE_E_TLS_CERT_UNTRUSTED, NULL);
}

static void test_missing_ca_file(void **state)
{
    postie_tls_config_t cfg = {"/nonexistent/postie/ca.pem", NULL, false, NULL, 0};

    (void)state;
    assert_int_equal(conn_tls_init(&cfg), POSTIE_E_TLS_CA_LOAD);
    assert_int_equal(conn.tls.last_error.status, POSTIE_E_TLS_CA_LOAD);
    assert_string_equal(conn.tls.last_error.subject, "/nonexistent/postie/ca.pem");
    /* A failed init leaves nothing usable, and free stays safe. */
    assert_int_equal(postie_transport_connect(postie_tls_transport(&conn.tls), "localhost",
                                              env_port("POSTIE_PORT_GOOD"), TIMEOUT_MS),
                     POSTIE_E_BAD_STATE);
    postie_tls_free(&conn.tls);
}

/* No name to verify: refuse rather than let mbedTLS skip the name check. */
static void test_no_name_refused(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};

    (void)state;
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1",
                                              env_port("POSTIE_PORT_GOOD"), TIMEOUT_MS),
                     POSTIE_OK);
    assert_int_equal(conn_tls_init(&cfg), POSTIE_OK);
    assert_int_equal(postie_tls_handshake(&conn.tls, NULL, TIMEOUT_MS), POSTIE_E_INVALID_ARGUMENT);
    postie_tls_free(&conn.tls);
}

/* TLS 1.2 is the minimum, although this mbedTLS build still has TLS 1.1. */
static void test_tls11_refused(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};
    const char *p = getenv("POSTIE_PORT_TLS11");

    (void)state;
    if (p == NULL || p[0] == '\0') {
        print_message("  no TLS 1.1 server (OpenSSL without TLS 1.1); skipping\n");
        skip();
    }
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(tls_open("localhost", env_port("POSTIE_PORT_TLS11"), &cfg),
                     POSTIE_E_TLS_HANDSHAKE);
    assert_string_equal(conn.tls.last_error.phase, "TLS handshake");
    print_message("  %s: %s\n", postie_status_name(conn.tls.last_error.status),
                  conn.tls.last_error.reply.text);
}

/* mbedTLS 2.28 ignores IP addresses in subjectAltName (good.pem has
 * IP:127.0.0.1): verifying "127.0.0.1" fails closed, which is why callers
 * reaching a server by address set verify_name. */
static void test_ip_address_name(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};
    postie_status_t st;

    (void)state;
    cfg.ca_file = cert_path("ca.pem");
    st = tls_open("127.0.0.1", env_port("POSTIE_PORT_GOOD"), &cfg);
#if MBEDTLS_VERSION_NUMBER < 0x03000000
    assert_string_equal(postie_status_name(st), "POSTIE_E_TLS_CERT_NAME_MISMATCH");
#else
    print_message("  mbedTLS %s: %s\n", MBEDTLS_VERSION_STRING, postie_status_name(st));
    assert_true(st == POSTIE_OK || st == POSTIE_E_TLS_CERT_NAME_MISMATCH);
#endif
}

/* ---- TLS: the peer misbehaves ------------------------------------------ */

/* A server that accepts (in the kernel backlog) but never speaks. */
static void test_handshake_timeout(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};
    uint16_t port = 0;
    int lfd = track_fd(loopback_socket(AF_INET, 4, &port));
    uint32_t t0;
    uint32_t took;

    (void)state;
    assert_true(lfd >= 0);
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(conn_tls_init(&cfg), POSTIE_OK);
    t0 = postie_clock_ms();
    assert_int_equal(
        postie_transport_connect(postie_tls_transport(&conn.tls), "127.0.0.1", port, 500),
        POSTIE_E_TIMEOUT);
    took = postie_clock_ms() - t0;
    print_message("  handshake gave up after %u ms (timeout 500)\n", (unsigned)took);
    assert_in_range(took, 450, 3000);
    assert_int_equal(conn.tls.last_error.status, POSTIE_E_TIMEOUT);
    postie_tls_free(&conn.tls);
}

/* The key-exchange groups of the ClientHello, fastest first: X25519, then
 * P-256, before P-384 and P-521 (mbedTLS's own order puts P-521 first,
 * and a server that takes the client's order then spends milliseconds per
 * handshake on it). Read off the wire: a server that never answers, the
 * ClientHello taken from its socket after the client gave up. */
static void test_client_hello_groups(void **state)
{
    postie_tls_config_t cfg = {NULL, "localhost", false, NULL, 0};
    uint16_t port = 0;
    int lfd = track_fd(loopback_socket(AF_INET, 4, &port));
    int afd;
    static uint8_t hello[16384];
    size_t got = 0;
    size_t need = 5;
    size_t at;
    size_t end;
    uint16_t groups[32];
    size_t ngroups = 0;
    int pos384 = -1;
    int pos521 = -1;

    (void)state;
    assert_true(lfd >= 0);
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(conn_tls_init(&cfg), POSTIE_OK);
    assert_int_equal(
        postie_transport_connect(postie_tls_transport(&conn.tls), "127.0.0.1", port, 300),
        POSTIE_E_TIMEOUT);
    afd = track_fd(accept_within(lfd, 2000));
    assert_true(afd >= 0);
    while (got < need) { /* one TLS record: the header, then its length */
        struct pollfd p = {afd, POLLIN, 0};
        ssize_t n;
        assert_true(poll(&p, 1, 2000) == 1);
        n = recv(afd, hello + got, sizeof(hello) - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
        if (got >= 5) {
            need = 5u + ((size_t)hello[3] << 8 | hello[4]);
            assert_true(need <= sizeof(hello));
        }
    }
    assert_int_equal(hello[0], 22); /* handshake */
    assert_int_equal(hello[5], 1);  /* ClientHello */
    at = 5 + 4 + 2 + 32;            /* header, handshake header, version, random */
    at += 1u + hello[at];           /* session id */
    at += 2u + ((size_t)hello[at] << 8 | hello[at + 1]); /* cipher suites */
    at += 1u + hello[at];                                /* compression */
    end = at + 2u + ((size_t)hello[at] << 8 | hello[at + 1]);
    assert_true(end <= need);
    at += 2;
    while (at + 4 <= end) {
        unsigned type = (unsigned)hello[at] << 8 | hello[at + 1];
        size_t len = (size_t)hello[at + 2] << 8 | hello[at + 3];
        at += 4;
        assert_true(at + len <= end);
        if (type == 10) { /* supported_groups: a list of 16-bit ids */
            for (size_t i = 2; i + 1 < len && ngroups < 32; i += 2) {
                groups[ngroups++] = (uint16_t)(hello[at + i] << 8 | hello[at + i + 1]);
            }
        }
        at += len;
    }
    assert_true(ngroups >= 2);
    print_message("  groups offered:");
    for (size_t i = 0; i < ngroups; i++) {
        print_message(" 0x%04x", groups[i]);
        if (groups[i] == 0x0018) {
            pos384 = (int)i;
        }
        if (groups[i] == 0x0019) {
            pos521 = (int)i;
        }
    }
    print_message("\n");
    assert_int_equal(groups[0], 0x001d); /* x25519 */
    assert_int_equal(groups[1], 0x0017); /* secp256r1 */
    assert_true(pos521 < 0 || pos521 > 1);
    assert_true(pos384 < 0 || pos521 < 0 || pos384 < pos521);
    postie_tls_free(&conn.tls);
}

/* ---- TLS: protocol versions ------------------------------------------- */

/* A TLS 1.3-only server: 3.6 negotiates TLS 1.3; 2.28 (no TLS 1.3) cannot
 * and fails the handshake rather than fall below what both sides allow. */
static void test_tls13_server(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};
    postie_tls_info_t info;
    postie_status_t st;

    (void)state;
    cfg.ca_file = cert_path("ca.pem");
    st = tls_open("localhost", env_port("POSTIE_PORT_TLS13"), &cfg);
    print_message("  mbedTLS %s against a TLS 1.3-only server: %s\n", MBEDTLS_VERSION_STRING,
                  postie_status_name(st));
#if POSTIE_TLS_HAVE_TLS13
    assert_string_equal(postie_status_name(st), "POSTIE_OK");
    postie_tls_get_info(&conn.tls, &info);
    print_message("  %s %s\n", info.version, info.cipher);
    assert_string_equal(info.version, "TLSv1.3");
    assert_int_equal(info.verify_flags, 0);
    assert_reversed_echo(postie_tls_transport(&conn.tls), "tls 1.3\n");
#else
    (void)info;
    assert_string_equal(postie_status_name(st), "POSTIE_E_TLS_HANDSHAKE");
#endif
    postie_tls_free(&conn.tls);
}

/* A TLS 1.2-only server: every build negotiates TLS 1.2. */
static void test_tls12_server(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};
    postie_tls_info_t info;
    postie_status_t st;

    (void)state;
    cfg.ca_file = cert_path("ca.pem");
    st = tls_open("localhost", env_port("POSTIE_PORT_TLS12"), &cfg);
    if (st != POSTIE_OK) {
        fail_msg("%s: %s", postie_status_name(st), conn.tls.last_error.reply.text);
    }
    postie_tls_get_info(&conn.tls, &info);
    print_message("  %s %s\n", info.version, info.cipher);
    assert_string_equal(info.version, "TLSv1.2");
    assert_reversed_echo(postie_tls_transport(&conn.tls), "tls 1.2\n");
    postie_tls_free(&conn.tls);
}

/* ---- the static arena --------------------------------------------------- */

#if POSTIE_TLS_HAVE_ARENA
/* Room for the system CA bundle (test_system_bundle_rejects_test_ca parses
 * all of it) besides the sessions. */
static unsigned char arena[4 * 1024 * 1024];
#endif

/* One verified handshake and a round trip from the arena: the high-water
 * mark is nonzero, within the arena, and everything comes back at free. */
static void test_arena_high_water(void **state)
{
    postie_tls_config_t cfg = {NULL, NULL, false, NULL, 0};
    postie_tls_arena_stats_t before;
    postie_tls_arena_stats_t after;
    postie_tls_info_t info;

    (void)state;
    postie_tls_arena_stats(&before);
    if (before.size == 0) {
        print_message("  mbedTLS %s has no static arena (MBEDTLS_MEMORY_BUFFER_ALLOC_C); "
                      "skipping\n",
                      MBEDTLS_VERSION_STRING);
        skip();
    }
    postie_tls_arena_reset_high_water();
    cfg.ca_blob = cert_blob("ca.pem", &cfg.ca_blob_len);
    assert_int_equal(tls_open("localhost", env_port("POSTIE_PORT_GOOD"), &cfg), POSTIE_OK);
    postie_tls_get_info(&conn.tls, &info);
    assert_reversed_echo(postie_tls_transport(&conn.tls), "arena\n");
    postie_tls_free(&conn.tls);
    postie_tls_arena_stats(&after);
    print_message("  %s session from the arena: high-water %lu octets (%lu blocks) of %lu; "
                  "%lu in use before and %lu after\n",
                  info.version, (unsigned long)after.high_water,
                  (unsigned long)after.blocks_high_water, (unsigned long)after.size,
                  (unsigned long)before.used, (unsigned long)after.used);
    assert_true(after.high_water > before.used);
    assert_true(after.high_water <= after.size);
    assert_int_equal(postie_tls_arena_high_water(), after.high_water);
    assert_int_equal(after.used, before.used);
}

/* The server closes (FIN) instead of answering the ClientHello. */
static void test_handshake_peer_closes(void **state)
{
    postie_tls_config_t cfg = {NULL, "localhost", false, NULL, 0};
    uint16_t port = 0;
    int lfd = track_fd(loopback_socket(AF_INET, 4, &port));
    int afd;

    (void)state;
    assert_true(lfd >= 0);
    cfg.ca_file = cert_path("ca.pem");
    assert_int_equal(
        postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1", port, TIMEOUT_MS),
        POSTIE_OK);
    afd = track_fd(accept_within(lfd, 2000));
    assert_true(afd >= 0);
    assert_int_equal(shutdown(afd, SHUT_WR), 0);
    assert_int_equal(conn_tls_init(&cfg), POSTIE_OK);
    assert_int_equal(postie_tls_handshake(&conn.tls, NULL, TIMEOUT_MS), POSTIE_E_CONNECTION_CLOSED);
    assert_string_equal(conn.tls.last_error.phase, "TLS handshake");
    postie_tls_free(&conn.tls);
}

/* ---- TCP --------------------------------------------------------------- */

static void test_tcp_refused(void **state)
{
    uint16_t port = 0;
    int fd = track_fd(loopback_socket(AF_INET, -1, &port)); /* bound, not listening */

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(
        postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1", port, TIMEOUT_MS),
        POSTIE_E_CONNECT_FAILED);
    assert_int_equal(conn.tcp.fd, -1);
}

static void test_tcp_dns_failure(void **state)
{
    uint32_t t0 = postie_clock_ms();

    (void)state;
    assert_int_equal(postie_transport_connect(postie_tcp_transport(&conn.tcp),
                                              "no-such-host.invalid", 25, TIMEOUT_MS),
                     POSTIE_E_DNS);
    print_message("  resolver answered in %u ms\n", (unsigned)(postie_clock_ms() - t0));
    assert_int_equal(conn.tcp.fd, -1);
}

/* The listener never writes: recv must give up on time. */
static void test_tcp_recv_timeout(void **state)
{
    uint8_t buf[16];
    size_t got = 7;
    uint16_t port = 0;
    int lfd = track_fd(loopback_socket(AF_INET, 4, &port));
    uint32_t t0;
    uint32_t took;

    (void)state;
    assert_true(lfd >= 0);
    assert_int_equal(
        postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1", port, TIMEOUT_MS),
        POSTIE_OK);
    t0 = postie_clock_ms();
    assert_int_equal(
        postie_transport_recv(postie_tcp_transport(&conn.tcp), buf, sizeof(buf), &got, 300),
        POSTIE_E_TIMEOUT);
    took = postie_clock_ms() - t0;
    print_message("  recv gave up after %u ms (timeout 300)\n", (unsigned)took);
    assert_int_equal(got, 0);
    assert_in_range(took, 280, 2000);
    /* timeout 0 polls once and returns at once */
    assert_int_equal(
        postie_transport_recv(postie_tcp_transport(&conn.tcp), buf, sizeof(buf), &got, 0),
        POSTIE_E_TIMEOUT);
    postie_transport_close(postie_tcp_transport(&conn.tcp));
}

/* Orderly close reads as CONNECTION_CLOSED; writing on into the reset
 * connection gives CONNECTION_RESET and no SIGPIPE. */
static void test_tcp_peer_close_and_reset(void **state)
{
    uint8_t buf[16];
    size_t got = 0;
    uint16_t port = 0;
    int lfd = track_fd(loopback_socket(AF_INET, 4, &port));
    int afd;
    int i;
    postie_status_t st = POSTIE_OK;

    (void)state;
    assert_true(lfd >= 0);
    assert_int_equal(
        postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1", port, TIMEOUT_MS),
        POSTIE_OK);
    afd = track_fd(accept_within(lfd, 2000));
    assert_true(afd >= 0);
    assert_int_equal(write(afd, "hi", 2), 2);
    close_fd(afd);
    assert_int_equal(
        postie_transport_recv(postie_tcp_transport(&conn.tcp), buf, sizeof(buf), &got, TIMEOUT_MS),
        POSTIE_OK);
    assert_int_equal(got, 2);
    assert_int_equal(
        postie_transport_recv(postie_tcp_transport(&conn.tcp), buf, sizeof(buf), &got, TIMEOUT_MS),
        POSTIE_E_CONNECTION_CLOSED);
    /* The first send is answered by RST, a later one fails with EPIPE. */
    for (i = 0; i < 50 && st == POSTIE_OK; i++) {
        size_t sent = 0;
        st = postie_transport_send(postie_tcp_transport(&conn.tcp), (const uint8_t *)"x", 1, &sent,
                                   TIMEOUT_MS);
        if (st == POSTIE_OK) {
            sleep_ms(20);
        }
    }
    assert_string_equal(postie_status_name(st), "POSTIE_E_CONNECTION_RESET");
    postie_transport_close(postie_tcp_transport(&conn.tcp));
}

/* Fill a listener's accept queue so further SYNs are dropped; connect must
 * then end at the deadline. Skipped where the kernel does not drop them. */
static void test_tcp_connect_timeout(void **state)
{
    uint16_t port = 0;
    int lfd = track_fd(loopback_socket(AF_INET, 0, &port));
    int nfill = 0;
    int i;
    postie_status_t st;
    uint32_t t0;
    uint32_t took;

    (void)state;
    assert_true(lfd >= 0);
    for (i = 0; i < 8; i++) {
        postie_tcp_init(&conn.tcp);
        st = postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1", port, 300);
        if (st != POSTIE_OK) {
            break;
        }
        (void)track_fd(conn.tcp.fd);
        nfill++;
    }
    if (i == 8) {
        print_message("  accept queue never filled here; skipping\n");
        skip();
    }
    postie_tcp_init(&conn.tcp);
    t0 = postie_clock_ms();
    st = postie_transport_connect(postie_tcp_transport(&conn.tcp), "127.0.0.1", port, 400);
    took = postie_clock_ms() - t0;
    print_message("  connect gave up after %u ms (timeout 400, %d queued)\n", (unsigned)took,
                  nfill);
    assert_string_equal(postie_status_name(st), "POSTIE_E_TIMEOUT");
    assert_in_range(took, 380, 2000);
    assert_int_equal(conn.tcp.fd, -1);
}

static void test_tcp_ipv6(void **state)
{
    uint8_t buf[16];
    size_t n = 0;
    uint16_t port = 0;
    int lfd = track_fd(loopback_socket(AF_INET6, 4, &port));
    int afd;

    (void)state;
    if (lfd < 0) {
        print_message("  no ::1 on this machine; skipping\n");
        skip();
    }
    assert_int_equal(
        postie_transport_connect(postie_tcp_transport(&conn.tcp), "::1", port, TIMEOUT_MS),
        POSTIE_OK);
    assert_string_equal(conn.tcp.peer, "::1");
    afd = track_fd(accept_within(lfd, 2000));
    assert_true(afd >= 0);
    assert_int_equal(postie_transport_send_all(postie_tcp_transport(&conn.tcp),
                                               (const uint8_t *)"ping", 4, 1000),
                     POSTIE_OK);
    assert_int_equal(read(afd, buf, sizeof(buf)), 4);
    assert_int_equal(write(afd, "pong", 4), 4);
    assert_int_equal(
        postie_transport_recv(postie_tcp_transport(&conn.tcp), buf, sizeof(buf), &n, 1000),
        POSTIE_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "pong", 4);
    postie_transport_close(postie_tcp_transport(&conn.tcp));
}

/* ---- postie_transport_send_all over a transport that sends little ------ */

typedef struct {
    postie_transport_t base;
    size_t max_per_call;
    postie_status_t fail_with; /* returned once `budget` calls are used */
    int budget;
    int calls;
    uint8_t out[64];
    size_t out_len;
} fake_t;

static postie_status_t fake_connect(postie_transport_t *t, const char *host, uint16_t port,
                                    uint32_t timeout_ms)
{
    (void)t;
    (void)host;
    (void)port;
    (void)timeout_ms;
    return POSTIE_OK;
}

static postie_status_t fake_send(postie_transport_t *t, const uint8_t *buf, size_t len,
                                 size_t *sent, uint32_t timeout_ms)
{
    fake_t *f = (fake_t *)t;
    size_t n = len < f->max_per_call ? len : f->max_per_call;
    (void)timeout_ms;
    *sent = 0;
    if (f->calls++ >= f->budget) {
        return f->fail_with;
    }
    if (n > sizeof(f->out) - f->out_len) {
        return POSTIE_E_NO_SPACE;
    }
    memcpy(f->out + f->out_len, buf, n);
    f->out_len += n;
    *sent = n;
    return POSTIE_OK;
}

static postie_status_t fake_recv(postie_transport_t *t, uint8_t *buf, size_t cap, size_t *got,
                                 uint32_t timeout_ms)
{
    (void)t;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    *got = 0;
    return POSTIE_E_TIMEOUT;
}

static void fake_close(postie_transport_t *t)
{
    (void)t;
}

static const postie_transport_ops_t fake_ops = {fake_connect, fake_send, fake_recv, fake_close};

static void test_send_all_partial_sends(void **state)
{
    static const char msg[] = "MAIL FROM:<a@example.org>\r\n";
    fake_t f;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.base.ops = &fake_ops;
    f.max_per_call = 3;
    f.budget = 1000;
    assert_int_equal(
        postie_transport_send_all(&f.base, (const uint8_t *)msg, sizeof(msg) - 1, 1000), POSTIE_OK);
    assert_int_equal(f.out_len, sizeof(msg) - 1);
    assert_memory_equal(f.out, msg, sizeof(msg) - 1);
    assert_int_equal(f.calls, (int)((sizeof(msg) - 1 + 2) / 3));

    /* an error part-way is passed up as is */
    memset(&f, 0, sizeof(f));
    f.base.ops = &fake_ops;
    f.max_per_call = 3;
    f.budget = 2;
    f.fail_with = POSTIE_E_CONNECTION_RESET;
    assert_int_equal(
        postie_transport_send_all(&f.base, (const uint8_t *)msg, sizeof(msg) - 1, 1000),
        POSTIE_E_CONNECTION_RESET);

    /* a transport that claims success but moves nothing cannot make it spin */
    memset(&f, 0, sizeof(f));
    f.base.ops = &fake_ops;
    f.max_per_call = 0;
    f.budget = 1000;
    assert_int_equal(
        postie_transport_send_all(&f.base, (const uint8_t *)msg, sizeof(msg) - 1, 1000),
        POSTIE_E_IO);
    assert_int_equal(f.calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_cert_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_ip_verify_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starttls_over_connected_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_blob_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insecure_skip_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selfsigned_untrusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_bundle_rejects_test_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_ca_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_name_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls11_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_address_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls13_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls12_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_high_water, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_hello_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_peer_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_dns_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_recv_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_peer_close_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_all_partial_sends, setup, teardown),
    };
#if POSTIE_TLS_HAVE_ARENA
    if (postie_tls_arena_set(arena, sizeof(arena)) != POSTIE_OK) {
        fprintf(stderr, "tls_verify_test: postie_tls_arena_set failed\n");
        return 1;
    }
#endif
    return cmocka_run_group_tests_name("tls_verify", tests, NULL, NULL);
}
