/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark's own SMTP sink: accepts every message and throws it away,
 * fast enough not to be what is measured, and counts what the clients do.
 *
 * It offers PIPELINING, CHUNKING, SIZE, 8BITMIME and STARTTLS (mbedTLS,
 * TLS 1.2) and serves one connection at a time on 127.0.0.1. Replies are
 * written the way a pipelining server writes them (RFC 2920 3.2): held
 * until the input is used up, then all in one write, and only at a command
 * boundary (never in the middle of a line, a DATA body or a BDAT chunk,
 * where no client can be waiting for one).
 *
 * Counted per connection, printed as one line on stdout when it ends:
 *   messages    transactions that ended with 250 (final dot or BDAT LAST)
 *   round_trips writes of replies that answer a transaction command (MAIL,
 *               RCPT, DATA, BDAT, the final dot, RSET): each is a time the
 *               client had to hear from the server before going on, or
 *               at least could have; EHLO, STARTTLS and QUIT are not counted
 *   reads       socket reads that returned data while a transaction was
 *               open (from MAIL to its final reply), TLS records included
 *   octets      octets read in all
 * A client that sends a whole message in one flight costs 1 round trip; one
 * that waits for each reply costs one per command. A client that writes a
 * message in several pieces may be counted a round trip per piece when the
 * sink drains each before the next arrives, even if the client never waited.
 *
 * Usage: smtp_sink PORT CERT KEY   (prints "ready" when listening)
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define IN_CAP    (256u * 1024u)
#define OUT_CAP   65536u
#define LINE_MAX_ 4096u

typedef enum { MODE_CMD, MODE_DATA, MODE_BDAT } mode_t_;

typedef struct {
    int fd;
    bool tls;
    mbedtls_ssl_context ssl;
    uint8_t in[IN_CAP];
    size_t in_len;
    char out[OUT_CAP];
    size_t out_len;
    bool out_txn; /* the pending replies answer a transaction command */
    mode_t_ mode;
    uint64_t chunk_left;
    bool chunk_last;
    unsigned data_state; /* how much of "\r\n.\r\n" was just seen */
    bool in_txn;
    bool saw_mail;     /* a MAIL came in the current read */
    bool data_started; /* DATA: body octets came after the 354 */
    bool want_tls;
    bool quit;
    unsigned long messages, round_trips, reads;
    unsigned long sock_reads; /* socket reads since the last was counted */
    unsigned long long octets;
} conn_t;

static conn_t conn;
static mbedtls_ssl_config ssl_conf;
static mbedtls_x509_crt cert;
static mbedtls_pk_context key;
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

static void reply(conn_t *c, const char *text, bool txn)
{
    size_t n = strlen(text);
    if (c->out_len + n <= OUT_CAP) {
        memcpy(c->out + c->out_len, text, n);
        c->out_len += n;
    }
    c->out_txn = c->out_txn || txn;
}

static int write_all(conn_t *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w;
        if (c->tls) {
            int r = mbedtls_ssl_write(&c->ssl, (const unsigned char *)p, n);
            if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
                continue;
            }
            w = r;
        } else {
            w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) {
                continue;
            }
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int flush(conn_t *c)
{
    if (c->out_len == 0) {
        return 0;
    }
    if (c->out_txn) {
        c->round_trips++;
    }
    int rc = write_all(c, c->out, c->out_len);
    c->out_len = 0;
    c->out_txn = false;
    return rc;
}

static bool verb(const char *line, size_t len, const char *v)
{
    size_t n = strlen(v);
    return len >= n && strncasecmp(line, v, n) == 0;
}

/* One command line (without CRLF). */
static void command(conn_t *c, const char *line, size_t len)
{
    if (verb(line, len, "EHLO")) {
        reply(c,
              c->tls ? "250-sink\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-SIZE 104857600\r\n"
                       "250 8BITMIME\r\n"
                     : "250-sink\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-SIZE 104857600\r\n"
                       "250-8BITMIME\r\n250 STARTTLS\r\n",
              false);
    } else if (verb(line, len, "HELO")) {
        reply(c, "250 sink\r\n", false);
    } else if (verb(line, len, "STARTTLS") && !c->tls) {
        reply(c, "220 2.0.0 ready to start TLS\r\n", false);
        c->want_tls = true;
    } else if (verb(line, len, "MAIL FROM:")) {
        c->in_txn = true;
        c->saw_mail = true;
        reply(c, "250 2.1.0 Ok\r\n", true);
    } else if (verb(line, len, "RCPT TO:")) {
        reply(c, "250 2.1.5 Ok\r\n", true);
    } else if (verb(line, len, "DATA")) {
        reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n", true);
        c->mode = MODE_DATA;
        c->data_started = false;
        c->data_state = 2; /* as if "\r\n" was just seen: a lone "." ends it */
    } else if (verb(line, len, "BDAT ")) {
        size_t i = 5;
        c->chunk_left = 0;
        while (i < len && line[i] >= '0' && line[i] <= '9') {
            c->chunk_left = c->chunk_left * 10u + (uint64_t)(line[i++] - '0');
        }
        while (i < len && line[i] == ' ') {
            i++;
        }
        c->chunk_last = len - i == 4 && strncasecmp(line + i, "LAST", 4) == 0;
        c->mode = MODE_BDAT;
    } else if (verb(line, len, "RSET")) {
        reply(c, "250 2.0.0 Ok\r\n", true);
        c->in_txn = false;
    } else if (verb(line, len, "NOOP")) {
        reply(c, "250 2.0.0 Ok\r\n", false);
    } else if (verb(line, len, "QUIT")) {
        reply(c, "221 2.0.0 Bye\r\n", false);
        c->quit = true;
    } else {
        reply(c, "502 5.5.2 not implemented\r\n", false);
    }
}

static void message_done(conn_t *c)
{
    reply(c, "250 2.0.0 Ok: queued\r\n", true);
    c->messages++;
    c->in_txn = false;
    c->mode = MODE_CMD;
}

/* Use what is in c->in; keep an incomplete line. */
static void process(conn_t *c)
{
    size_t pos = 0;
    while (pos < c->in_len && !c->quit && !c->want_tls) {
        uint8_t *p = c->in + pos;
        size_t avail = c->in_len - pos;
        if (c->mode == MODE_BDAT) {
            size_t take = c->chunk_left < avail ? (size_t)c->chunk_left : avail;
            pos += take;
            c->chunk_left -= take;
            if (c->chunk_left == 0) {
                if (c->chunk_last) {
                    message_done(c);
                } else {
                    reply(c, "250 2.0.0 chunk Ok\r\n", true);
                    c->mode = MODE_CMD;
                }
            }
            continue;
        }
        if (c->mode == MODE_DATA) {
            /* find the end "\r\n.\r\n" a state at a time, skipping to each '\r' */
            static const char end[] = "\r\n.\r\n";
            size_t i = 0;
            c->data_started = true;
            while (i < avail) {
                if (c->data_state == 0) {
                    uint8_t *cr = memchr(p + i, '\r', avail - i);
                    if (cr == NULL) {
                        i = avail;
                        break;
                    }
                    i = (size_t)(cr - p) + 1;
                    c->data_state = 1;
                    continue;
                }
                if (p[i] == (uint8_t)end[c->data_state]) {
                    c->data_state++;
                    i++;
                    if (c->data_state == 5) {
                        break;
                    }
                } else {
                    c->data_state = p[i] == '\r' ? 1 : 0;
                    i++;
                }
            }
            pos += i;
            if (c->data_state == 5) {
                c->data_state = 0;
                message_done(c);
            }
            continue;
        }
        uint8_t *nl = memchr(p, '\n', avail);
        if (nl == NULL) {
            if (avail > LINE_MAX_) {
                c->quit = true; /* garbage: hang up */
            }
            break;
        }
        size_t len = (size_t)(nl - p);
        pos += len + 1;
        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
        command(c, (const char *)p, len);
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    conn_t *c = ctx;
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    conn_t *c = ctx;
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n > 0) {
        c->octets += (unsigned long long)n;
        c->sock_reads++;
    }
    return n < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)n;
}

static int start_tls(conn_t *c)
{
    int rc;
    mbedtls_ssl_init(&c->ssl);
    if (mbedtls_ssl_setup(&c->ssl, &ssl_conf) != 0) {
        return -1;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    while ((rc = mbedtls_ssl_handshake(&c->ssl)) != 0) {
        if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
            return -1;
        }
    }
    c->tls = true;
    c->want_tls = false;
    c->in_len = 0;
    c->mode = MODE_CMD;
    return 0;
}

static void serve(int fd)
{
    conn_t *c = &conn;
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    reply(c, "220 sink ESMTP\r\n", false);
    if (flush(c) != 0) {
        return;
    }
    while (!c->quit) {
        ssize_t n;
        bool txn_before = c->in_txn;
        c->saw_mail = false;
        if (c->tls) {
            int r = mbedtls_ssl_read(&c->ssl, c->in + c->in_len, IN_CAP - c->in_len);
            if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
                continue;
            }
            n = r;
        } else {
            n = recv(fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n > 0) {
                c->octets += (unsigned long long)n;
                c->sock_reads++;
            }
        }
        if (n <= 0) {
            break;
        }
        c->in_len += (size_t)n;
        process(c);
        if (txn_before || c->saw_mail) {
            c->reads += c->sock_reads; /* with TLS, every socket read of the record */
        }
        c->sock_reads = 0;
        /* a pipelining server answers when the input is used up, at a
         * command boundary */
        char peek;
        bool more = (c->tls && mbedtls_ssl_get_bytes_avail(&c->ssl) > 0) ||
                    recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
        if (!more && ((c->mode == MODE_CMD && c->in_len == 0) ||
                      (c->mode == MODE_DATA && !c->data_started))) {
            if (flush(c) != 0) {
                break;
            }
        } else if (c->want_tls || c->quit) {
            if (flush(c) != 0) {
                break;
            }
        }
        if (c->want_tls && start_tls(c) != 0) {
            break;
        }
    }
    (void)flush(c);
    if (c->tls) {
        (void)mbedtls_ssl_close_notify(&c->ssl);
        mbedtls_ssl_free(&c->ssl);
    }
    printf("conn messages=%lu round_trips=%lu reads=%lu octets=%llu\n", c->messages, c->round_trips,
           c->reads, c->octets);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    int one = 1;
    int lfd;

    if (argc != 4) {
        fprintf(stderr, "usage: smtp_sink PORT CERT KEY\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    mbedtls_ssl_config_init(&ssl_conf);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
        mbedtls_x509_crt_parse_file(&cert, argv[2]) != 0 ||
        mbedtls_pk_parse_keyfile(&key, argv[3], NULL) != 0 ||
        mbedtls_ssl_config_defaults(&ssl_conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
        mbedtls_ssl_conf_own_cert(&ssl_conf, &cert, &key) != 0) {
        fprintf(stderr, "smtp_sink: TLS set-up failed\n");
        return 1;
    }
    mbedtls_ssl_conf_rng(&ssl_conf, mbedtls_ctr_drbg_random, &drbg);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 16) != 0) {
        perror("smtp_sink: bind");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        serve(fd);
        close(fd);
    }
}
