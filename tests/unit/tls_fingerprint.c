/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An application that sets up the TLS layer and the host SMTP client, whose
 * structs embed mbedTLS contexts. Built by tests/unit/CMakeLists.txt: in the
 * normal build it links and runs; in a build against another mbedTLS
 * (POSTIE_MBEDTLS_ROOT, 3.6) it is compiled once more against the system's
 * headers (Debian's 2.28) and must fail to link, naming the release it was
 * compiled for (..._mbedtls_2_28), instead of handing the library structs of
 * the wrong size and layout.
 */
#include <stdio.h>
#include <string.h>

#include "postie/posix/smtp_client.h"

int main(void)
{
    static postie_tls_t tls;
    static postie_tcp_t tcp; /* never connected: set-up only */
    static postie_smtp_client_t client;
    postie_tls_config_t cfg;
    postie_smtp_client_config_t ccfg;
    postie_status_t st;

    memset(&cfg, 0, sizeof(cfg));
    cfg.insecure_skip_verify = true; /* no CA needed to set up */
    postie_tcp_init(&tcp);
    st = postie_tls_init(&tls, postie_tcp_transport(&tcp), &cfg);
    postie_tls_free(&tls);
    postie_smtp_client_config_defaults(&ccfg);
    ccfg.host = ""; /* refused before any connection */
    (void)postie_smtp_client_open(&client, &ccfg);
    postie_smtp_client_quit(&client);
    printf("TLS layer for mbedTLS %s set up: %s (%zu octets)\n", MBEDTLS_VERSION_STRING,
           postie_status_name(st), sizeof(tls));
    return st == POSTIE_OK ? 0 : 1;
}
