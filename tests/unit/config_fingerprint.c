/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An application that sets up an SMTP, a POP3 and an IMAP engine and an HTTP
 * response parser. Built five times by tests/unit/CMakeLists.txt: with the
 * library's sizes it links and runs; with another SMTP transmit buffer size
 * (-DPOSTIE_SMTP_TX_BUFFER_SIZE=16384), another POP3 receive buffer size
 * (-DPOSTIE_POP3_RX_BUFFER_SIZE=2048), another IMAP receive buffer size
 * (-DPOSTIE_IMAP_RX_BUFFER_SIZE=8192) or another HTTP header line bound
 * (-DPOSTIE_HTTP_LINE_MAX=2048), it must fail to link, naming the
 * sizes it was compiled with, instead of handing the library a struct of
 * the wrong size.
 */
#include <stdio.h>

#include "postie/common/http.h"
#include "postie/imap/imap.h"
#include "postie/pop3/pop3.h"
#include "postie/smtp/smtp.h"

int main(void)
{
    static postie_smtp_t engine;
    postie_smtp_config_t cfg;
    postie_smtp_config_defaults(&cfg);
    cfg.ehlo_name = "client.example";
    if (postie_smtp_init(&engine, &cfg, 0) != POSTIE_OK) {
        fprintf(stderr, "postie_smtp_init failed\n");
        return 1;
    }
    static postie_pop3_t pop3;
    postie_pop3_config_t pop3_cfg;
    postie_pop3_config_defaults(&pop3_cfg);
    if (postie_pop3_init(&pop3, &pop3_cfg) != POSTIE_OK) {
        fprintf(stderr, "postie_pop3_init failed\n");
        return 1;
    }
    printf("engines set up with the library's sizes (%zu and %zu octets)\n", sizeof(engine),
           sizeof(pop3));
    /* the IMAP engine's link name carries its own sizes too */
    static postie_imap_t imap;
    postie_imap_config_t imap_cfg;
    postie_imap_config_defaults(&imap_cfg);
    if (postie_imap_init(&imap, &imap_cfg) != POSTIE_OK) {
        fprintf(stderr, "postie_imap_init failed\n");
        return 1;
    }
    printf("IMAP engine set up with the library's sizes (%zu octets)\n", sizeof(imap));
    /* and the HTTP response parser's link name carries its line bound */
    static postie_http_resp_t resp;
    static uint8_t body[64];
    postie_http_resp_init(&resp, body, sizeof(body));
    printf("HTTP parser set up with the library's sizes (%zu octets)\n", sizeof(resp));
    return 0;
}
