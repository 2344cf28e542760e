/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An application that sets up an SMTP, a POP3 and an IMAP engine. Built
 * four times by tests/unit/CMakeLists.txt: with the library's sizes it
 * links and runs; with another SMTP transmit buffer size
 * (-DPOSTIE_SMTP_TX_BUFFER_SIZE=16384), another POP3 receive buffer size
 * (-DPOSTIE_POP3_RX_BUFFER_SIZE=2048) or another IMAP receive buffer size
 * (-DPOSTIE_IMAP_RX_BUFFER_SIZE=8192), it must fail to link, naming the
 * sizes it was compiled with, instead of handing the library a struct of
 * the wrong size.
 */
#include <stdio.h>

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
    return 0;
}
